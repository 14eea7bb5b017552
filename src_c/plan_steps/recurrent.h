/* plan_steps/recurrent.h -- the recurrent step (recurrent.h): a SimpleRNN, GRU or LSTM
 * layer over each sample's t_steps x features values, its output the last state (rows x
 * units) or every step's (rows x t_steps * units, return_sequences). The steps run
 * time-major (fnn_plan_rnn's buffers), as ops.recurrent_forward / recurrent_backward do,
 * with the same products in the same order: the plan and the per-layer path agree to the
 * bit. W, b, dW, db are W_ih, b_ih and their gradients; rnn->whh etc. the recurrent ones.
 * Included once per REAL by plan_impl.h. */

/* dst (b, a, d) = src (a, b, d): batch-major <-> time-major */
static void FNN_SFX(rnn_swap_axes)(fnn_idx a, fnn_idx b, fnn_idx d, const REAL *src, REAL *dst)
{
    for (fnn_idx i = 0; i < a; ++i)
        for (fnn_idx j = 0; j < b; ++j)
            memcpy(dst + (j * a + i) * d, src + (i * b + j) * d, (size_t)d * sizeof(REAL));
}

static const REAL *FNN_SFX(recurrent_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                              fnn_idx rows, int training, int cols)
{
    (void)s, (void)training, (void)cols;
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    const fnn_plan_rnn *r = st->rnn;
    int nt = p->n_threads, gt = p->gemm_threads;
    fnn_idx t = r->t_steps, h = r->units, f = st->in_dim / t;
    fnn_idx gh = (fnn_idx)fnn_cell_gates(r->cell) * h;
    REAL *xt = (REAL *)r->xt, *gates = (REAL *)r->gates, *hs = (REAL *)r->hs;
    REAL *whh_t = (REAL *)r->whh_t;
    const REAL *whh = (const REAL *)r->whh;
    FNN_SFX(rnn_swap_axes)(rows, t, f, x, xt);
    /* the input projection of every step at once: gates = x W_ih^T + b_ih */
    if (st->b) FNN_SFX(fnn_bias_rows)(t * rows, gh, (const REAL *)st->b, gates, nt);
    FNN_SFX(fnn_gemm_team)(gemm, 0, 1, t * rows, gh, f, (REAL)1, xt, (const REAL *)st->W,
                           st->b ? (REAL)1 : (REAL)0, gates, gt);
    for (fnn_idx i = 0; i < gh; ++i)
        for (fnn_idx j = 0; j < h; ++j) whh_t[j * gh + i] = whh[i * h + j];
    FNN_SFX(fnn_recurrent_forward)(gemm, r->cell, t, rows, h, gates, whh_t,
                                   (const REAL *)(r->bhh ? r->bhh : r->bzero), NULL, NULL,
                                   NULL, hs, (REAL *)r->aux, (REAL *)r->work, gt);
    if (!r->return_sequences) return hs + (t - 1) * rows * h; /* the last state */
    FNN_SFX(rnn_swap_axes)(t, rows, h, hs, (REAL *)st->y);
    return (const REAL *)st->y;
}

static void FNN_SFX(recurrent_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                        REAL **g, REAL **other)
{
    (void)cols;
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    fnn_step *st = &p->steps[*s];
    const fnn_plan_rnn *r = st->rnn;
    int nt = p->n_threads, gt = p->gemm_threads;
    fnn_idx t = r->t_steps, h = r->units, f = st->in_dim / t;
    fnn_idx gh = (fnn_idx)fnn_cell_gates(r->cell) * h;
    int gru = r->cell == FNN_CELL_GRU;
    REAL *dgx = (REAL *)r->dgx, *dgh = gru ? (REAL *)r->dgh : dgx;
    const REAL *hs = (const REAL *)r->hs, *xt = (const REAL *)r->xt;
    const REAL *dhs = NULL, *dh_n = *g;
    if (r->return_sequences) {
        FNN_SFX(rnn_swap_axes)(rows, t, h, *g, (REAL *)r->dhs);
        dhs = (const REAL *)r->dhs;
        dh_n = NULL;
    }
    REAL *work = (REAL *)r->work, *dh0 = work + fnn_recurrent_workspace(r->cell, rows, h);
    FNN_SFX(fnn_recurrent_backward)(gemm, r->cell, t, rows, h, dhs, dh_n, NULL,
                                    (const REAL *)r->gates, hs, (const REAL *)r->aux, NULL,
                                    NULL, (const REAL *)r->whh, NULL, dgx,
                                    gru ? dgh : NULL, dh0, NULL, work, gt);
    if (st->trainable) {
        /* dW_ih = dgx^T x, dW_hh = dgh[1:]^T hs[:-1] (zero for one step), the bias sums */
        FNN_SFX(fnn_gemm_team)(gemm, 1, 0, gh, f, t * rows, (REAL)1, dgx, xt, (REAL)0,
                               (REAL *)st->dW, gt);
        if (t > 1)
            FNN_SFX(fnn_gemm_team)(gemm, 1, 0, gh, h, (t - 1) * rows, (REAL)1,
                                   dgh + rows * gh, hs, (REAL)0, (REAL *)r->dwhh, gt);
        else
            memset(r->dwhh, 0, (size_t)(gh * h) * sizeof(REAL));
        if (st->db) {
            FNN_SFX(fnn_column_sums)(t * rows, gh, dgx, (REAL *)st->db, 0, nt);
            FNN_SFX(fnn_column_sums)(t * rows, gh, dgh, (REAL *)r->dbhh, 0, nt);
        }
    }
    if (*s > stop) { /* dx = dgx W_ih, back to batch-major */
        FNN_SFX(fnn_gemm_team)(gemm, 0, 0, t * rows, f, gh, (REAL)1, dgx, (const REAL *)st->W,
                               (REAL)0, (REAL *)r->dxt, gt);
        FNN_SFX(rnn_swap_axes)(t, rows, f, (const REAL *)r->dxt, *other);
        FNN_SFX(swap)(g, other);
    }
}
