/* plan_steps/dense.h -- the dense step: y = x W + b (dense.h's kernels, BLAS through
 * fnn_gemm_team). Included once per REAL by plan_impl.h.
 *
 * Each sample is st->spatial rows of W's inputs (1 for a Dense layer; the steps of a
 * sequence for TimeDistributed(Dense)): the products run over rows * spatial rows of
 * in_dim / spatial inputs and out_dim / spatial outputs, as the layer's own path does.
 *
 * As the plan's first step it also takes a batch in the forms of enum fnn_cols_mode
 * (plan.h): FNN_COLS_KERNELS (x is the packed active columns; the weight update may be
 * fused into backward, p->fused_w0) and FNN_COLS_COMPACT (x is rows x nact). */

/* Adam/AdamW on step 0's W, block by block of rows: the block's dW (zero rows for the
 * inactive columns, x^T g for the active ones) is formed in gblock and applied at once,
 * with the arithmetic of fnn_adam element for element. */
static void FNN_SFX(cols_adam)(fnn_plan *p, fnn_step *st, fnn_idx rows, const REAL *xin,
                               const REAL *g)
{
    fnn_optimizer *o = &p->opt;
    int pi = st->param_index;
    FNN_SFX(fnn_adam_coefs) k;
    FNN_SFX(fnn_adam_prepare)(&k, o->iterations + 1, o->lr, o->beta1, o->beta2, o->eps,
                              o->weight_decay * (o->decay ? o->decay[pi] : 1.0),
                              o->kind == FNN_OPT_ADAMW);
    fnn_idx n = st->out_dim, k_in = st->in_dim, block = FNN_PLAN_GBLOCK / n;
    REAL *gb = (REAL *)p->gblock, *W = (REAL *)st->W;
    REAL *m = (REAL *)o->state0[pi], *v = (REAL *)o->state1[pi];
    REAL *vmax = o->amsgrad ? (REAL *)o->state2[pi] : NULL;
    int nz = (int)k_in - p->nact, j = 0, z = 0;
    for (fnn_idx r0 = 0; r0 < k_in; r0 += block) {
        fnn_idx r1 = r0 + block < k_in ? r0 + block : k_in;
        int j1 = j, z1 = z;
        while (j1 < p->nact && p->cols[j1] < r1) ++j1;
        while (z1 < nz && p->zcols[z1] < r1) ++z1;
        for (int t = z; t < z1; ++t) memset(gb + (p->zcols[t] - r0) * n, 0, (size_t)n * sizeof(REAL));
        for (int t = j; t < j1; ++t) p->gidx[t - j] = (int)(p->cols[t] - r0);
        if (j1 > j)
            FNN_COLS_KERNELS_OF(p)->tn_cols((int)rows, j1 - j, (int)n, xin + j, p->nact, p->gidx,
                                            0, NULL,
                                g, gb, (REAL)1, 0);
        fnn_idx off = r0 * n, len = (r1 - r0) * n;
        FNN_SFX(fnn_adam_apply)(len, W + off, gb, m + off, v + off, vmax ? vmax + off : NULL,
                                &k);
        j = j1;
        z = z1;
    }
}

static const REAL *FNN_SFX(dense_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                          fnn_idx rows, int training, int cols)
{
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    int nt = p->n_threads, gt = p->gemm_threads;
    REAL *y = (REAL *)st->y;
    const fnn_idx m = rows * st->spatial, k = st->in_dim / st->spatial,
                  n = st->out_dim / st->spatial;
    if (st->b) FNN_SFX(fnn_bias_rows)(m, n, (const REAL *)st->b, y, nt);
    if (cols == FNN_COLS_KERNELS && s == 0) { /* x is the packed active columns */
        FNN_COLS_KERNELS_OF(p)->nn_cols((int)rows, p->nact, (int)st->out_dim, x, p->cols,
                            (const REAL *)st->W, y, st->b != NULL);
        return y;
    }
    if (cols == FNN_COLS_COMPACT && s == 0) {
        /* x is rows x nact: W's active rows, copied run by run into wact, make
         * the k = nact product */
        REAL *wa = (REAL *)p->wact;
        const REAL *W = (const REAL *)st->W;
        for (int t = 0; t < p->nruns; ++t) {
            fnn_idx j0 = p->runs[2 * t], len = p->runs[2 * t + 1];
            memcpy(wa, W + j0 * n, (size_t)(len * n) * sizeof(REAL));
            wa += len * n;
        }
        FNN_SFX(fnn_gemm_team)(gemm, 0, 0, rows, n, p->nact, (REAL)1, x,
                               (const REAL *)p->wact, st->b ? (REAL)1 : (REAL)0, y, gt);
        return y;
    }
    FNN_SFX(fnn_gemm_team)(gemm, 0, 0, m, n, k, (REAL)1, x, (const REAL *)st->W,
                           st->b ? (REAL)1 : (REAL)0, y, gt);
    return y;
}

static void FNN_SFX(dense_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                    REAL **g, REAL **other)
{
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    int nt = p->n_threads, gt = p->gemm_threads;
    fnn_step *st = &p->steps[*s];
    const REAL *xin = (const REAL *)st->x;
    const fnn_idx m = rows * st->spatial, k = st->in_dim / st->spatial,
                  n = st->out_dim / st->spatial;
    if (st->trainable && cols == FNN_COLS_KERNELS && *s == 0) {
        /* x is the packed active columns */
        if (p->fused_w0 == FNN_FUSED_SGD) /* W -= lr x^T g; dW is not formed */
            FNN_COLS_KERNELS_OF(p)->tn_cols((int)rows, p->nact, (int)st->out_dim, xin, p->nact,
                                p->cols, (int)st->in_dim - p->nact, p->zcols, *g,
                                (REAL *)st->W, (REAL)-p->opt.lr, 1);
        else if (p->fused_w0 == FNN_FUSED_ADAM)
            FNN_SFX(cols_adam)(p, st, rows, xin, *g);
        else
            FNN_COLS_KERNELS_OF(p)->tn_cols((int)rows, p->nact, (int)st->out_dim, xin, p->nact,
                                p->cols, (int)st->in_dim - p->nact, p->zcols, *g,
                                (REAL *)st->dW, (REAL)1, 0);
        if (st->b)
            FNN_SFX(fnn_column_sums)(rows, st->out_dim, *g, (REAL *)st->db, 0, nt);
    } else if (st->trainable && cols == FNN_COLS_COMPACT && *s == 0) {
        /* x is rows x nact: dW's first nact rows = x^T g, then each run of rows
         * moves to its columns (last run first: a run only moves down, onto rows
         * already moved or its own) and the inactive rows are zeroed */
        REAL *dW = (REAL *)st->dW;
        fnn_idx t0 = p->nact; /* n = out_dim: one row per sample here */
        FNN_SFX(fnn_gemm_team)(gemm, 1, 0, p->nact, n, rows, (REAL)1, xin, *g, (REAL)0,
                               dW, gt);
        for (int t = p->nruns - 1; t >= 0; --t) {
            fnn_idx j0 = p->runs[2 * t], len = p->runs[2 * t + 1];
            t0 -= len;
            if (j0 != t0)
                memmove(dW + j0 * n, dW + t0 * n, (size_t)(len * n) * sizeof(REAL));
        }
        for (fnn_idx z = 0; z < st->in_dim - p->nact; ++z)
            memset(dW + (fnn_idx)p->zcols[z] * n, 0, (size_t)n * sizeof(REAL));
        if (st->b)
            FNN_SFX(fnn_column_sums)(rows, st->out_dim, *g, (REAL *)st->db, 0, nt);
    } else if (st->trainable) {
        /* dW = x^T g,  db = column sums of g */
        FNN_SFX(fnn_gemm_team)(gemm, 1, 0, k, n, m, (REAL)1, xin, *g, (REAL)0,
                               (REAL *)st->dW, gt);
        if (st->b)
            FNN_SFX(fnn_column_sums)(m, n, *g, (REAL *)st->db, 0, nt);
    }
    if (*s > stop) { /* dx = g W^T, for the step before */
        FNN_SFX(fnn_gemm_team)(gemm, 0, 1, m, k, n, (REAL)1, *g, (const REAL *)st->W,
                               (REAL)0, *other, gt);
        FNN_SFX(swap)(g, other);
    }
}
