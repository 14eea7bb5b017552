/* plan_steps/recurrent.h -- the recurrent step (recurrent.h): a SimpleRNN, GRU or LSTM
 * layer over each sample's t_steps x features values, its output the last state (rows x
 * units) or every step's (rows x t_steps * units, return_sequences). The steps run
 * time-major (fnn_plan_rnn's buffers), as ops.recurrent_forward / recurrent_backward do,
 * with the same products in the same order: the plan and the per-layer path agree to the
 * bit. W, b, dW, db are W_ih, b_ih and their gradients; rnn->whh etc. the recurrent ones.
 *
 * Reading backwards and padding follow the layer (fastnn/layers_recurrent.py): a row's
 * length is 1 + its last step whose features are not all mask_value; go_backwards reads
 * the steps before that length in reverse and leaves the padding after them; outputs
 * come in the order the steps were read, zero on padding.
 * Included once per REAL by plan_impl.h. */

/* The step of row b's input that is read at step t. */
static inline fnn_idx FNN_SFX(rnn_source)(const fnn_plan_rnn *r, fnn_idx b, fnn_idx t)
{
    if (!r->go_backwards) return t;
    fnn_idx len = r->masked ? (fnn_idx)r->lengths[b] : r->t_steps;
    return t < len ? len - 1 - t : t;
}

/* x (rows, t, d) batch-major -> xt (t, rows, d) in reading order (and back: the mapping
 * is its own inverse) */
static void FNN_SFX(rnn_to_time_major)(const fnn_plan_rnn *r, fnn_idx rows, fnn_idx d,
                                       const REAL *x, REAL *xt)
{
    fnn_idx t_steps = r->t_steps;
    for (fnn_idx b = 0; b < rows; ++b)
        for (fnn_idx t = 0; t < t_steps; ++t)
            memcpy(xt + (t * rows + b) * d, x + (b * t_steps + FNN_SFX(rnn_source)(r, b, t)) * d,
                   (size_t)d * sizeof(REAL));
}

static void FNN_SFX(rnn_to_batch_major)(const fnn_plan_rnn *r, fnn_idx rows, fnn_idx d,
                                        const REAL *xt, REAL *x)
{
    fnn_idx t_steps = r->t_steps;
    for (fnn_idx b = 0; b < rows; ++b)
        for (fnn_idx t = 0; t < t_steps; ++t)
            memcpy(x + (b * t_steps + FNN_SFX(rnn_source)(r, b, t)) * d, xt + (t * rows + b) * d,
                   (size_t)d * sizeof(REAL));
}

/* lengths[b] = 1 + the last step of row b with a feature other than mask_value */
static void FNN_SFX(rnn_lengths)(fnn_plan_rnn *r, fnn_idx rows, fnn_idx d, const REAL *x)
{
    const REAL m = (REAL)r->mask_value;
    for (fnn_idx b = 0; b < rows; ++b) {
        fnn_idx len = 0;
        for (fnn_idx t = r->t_steps; t > 0 && !len; --t) {
            const REAL *v = x + (b * r->t_steps + t - 1) * d;
            for (fnn_idx j = 0; j < d; ++j)
                if (v[j] != m) {
                    len = t;
                    break;
                }
        }
        r->lengths[b] = (int64_t)len;
    }
}

static const REAL *FNN_SFX(recurrent_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                              fnn_idx rows, int training, int cols)
{
    (void)s, (void)training, (void)cols;
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    fnn_plan_rnn *r = st->rnn;
    int nt = p->n_threads, gt = p->gemm_threads;
    fnn_idx t = r->t_steps, h = r->units, f = st->in_dim / t;
    fnn_idx gh = (fnn_idx)fnn_cell_gates(r->cell) * h;
    REAL *xt = (REAL *)r->xt, *gates = (REAL *)r->gates, *hs = (REAL *)r->hs;
    REAL *whh_t = (REAL *)r->whh_t;
    const REAL *whh = (const REAL *)r->whh;
    if (r->masked) FNN_SFX(rnn_lengths)(r, rows, f, x);
    FNN_SFX(rnn_to_time_major)(r, rows, f, x, xt);
    /* the input projection of every step at once: gates = x W_ih^T + b_ih */
    if (st->b) FNN_SFX(fnn_bias_rows)(t * rows, gh, (const REAL *)st->b, gates, nt);
    FNN_SFX(fnn_gemm_team)(gemm, 0, 1, t * rows, gh, f, (REAL)1, xt, (const REAL *)st->W,
                           st->b ? (REAL)1 : (REAL)0, gates, gt);
    for (fnn_idx i = 0; i < gh; ++i)
        for (fnn_idx j = 0; j < h; ++j) whh_t[j * gh + i] = whh[i * h + j];
    FNN_SFX(fnn_recurrent_forward)(gemm, r->cell, t, rows, h, gates, whh_t,
                                   (const REAL *)(r->bhh ? r->bhh : r->bzero), NULL, NULL,
                                   r->masked ? r->lengths : NULL, hs, (REAL *)r->aux,
                                   (REAL *)r->work, gt);
    if (!r->return_sequences) return hs + (t - 1) * rows * h; /* the last state */
    /* every step's state, in reading order; zero on padding */
    REAL *y = (REAL *)st->y;
    for (fnn_idx b = 0; b < rows; ++b)
        for (fnn_idx s1 = 0; s1 < t; ++s1) {
            REAL *dst = y + (b * t + s1) * h;
            if (r->masked && s1 >= (fnn_idx)r->lengths[b])
                memset(dst, 0, (size_t)h * sizeof(REAL));
            else
                memcpy(dst, hs + (s1 * rows + b) * h, (size_t)h * sizeof(REAL));
        }
    return y;
}

/* The recurrent step st's backward from dL/d(output) g: its parameter gradients, and
 * dL/d(input) into dx unless dx is NULL. st need not be one of p->steps: bidirectional.h
 * runs its two directions through this. */
static void FNN_SFX(rnn_backward)(fnn_plan *p, const fnn_step *st, fnn_idx rows,
                                  const REAL *g, REAL *dx)
{
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    const fnn_plan_rnn *r = st->rnn;
    int nt = p->n_threads, gt = p->gemm_threads;
    fnn_idx t = r->t_steps, h = r->units, f = st->in_dim / t;
    fnn_idx gh = (fnn_idx)fnn_cell_gates(r->cell) * h;
    int gru = r->cell == FNN_CELL_GRU;
    REAL *dgx = (REAL *)r->dgx, *dgh = gru ? (REAL *)r->dgh : dgx;
    const REAL *hs = (const REAL *)r->hs, *xt = (const REAL *)r->xt;
    const REAL *dhs = NULL, *dh_n = g;
    if (r->return_sequences) { /* to time-major, in reading order as the outputs are */
        for (fnn_idx b = 0; b < rows; ++b)
            for (fnn_idx s1 = 0; s1 < t; ++s1)
                memcpy((REAL *)r->dhs + (s1 * rows + b) * h, g + (b * t + s1) * h,
                       (size_t)h * sizeof(REAL));
        dhs = (const REAL *)r->dhs;
        dh_n = NULL;
    }
    REAL *work = (REAL *)r->work, *dh0 = work + fnn_recurrent_workspace(r->cell, rows, h);
    FNN_SFX(fnn_recurrent_backward)(gemm, r->cell, t, rows, h, dhs, dh_n, NULL,
                                    (const REAL *)r->gates, hs, (const REAL *)r->aux, NULL,
                                    NULL, (const REAL *)r->whh, r->masked ? r->lengths : NULL,
                                    dgx,
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
    if (dx) { /* dx = dgx W_ih, back to batch-major */
        FNN_SFX(fnn_gemm_team)(gemm, 0, 0, t * rows, f, gh, (REAL)1, dgx, (const REAL *)st->W,
                               (REAL)0, (REAL *)r->dxt, gt);
        FNN_SFX(rnn_to_batch_major)(r, rows, f, (const REAL *)r->dxt, dx);
    }
}

static void FNN_SFX(recurrent_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                        REAL **g, REAL **other)
{
    (void)cols;
    int dx = *s > stop;
    FNN_SFX(rnn_backward)(p, &p->steps[*s], rows, *g, dx ? *other : NULL);
    if (dx) FNN_SFX(swap)(g, other);
}
