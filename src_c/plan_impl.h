/* plan_impl.h -- type-generic bodies for plan.c (included once per REAL).
 *
 * One training step on a mini-batch, in order:
 *   gather   copy the batch's rows of X (and targets, weights) in shuffled order, or
 *            with active columns (plan.h) pack the columns the first layer needs
 *   forward  each step's output y = f(input), recording the input for backward
 *   loss     loss value and dL/d(output) in one fused kernel
 *   backward from the last step to the first trainable one: parameter gradients,
 *            and the gradient w.r.t. each step's input for the step before it
 *   update   the optimizer's fused in-place update of every trainable parameter
 */

typedef FNN_GEMM_T FNN_SFX(gemm_fn);

/* The run's active-column kernels (plan.h: kernels), FNN_COLS_VARIANT_T for this REAL. */
#ifndef FNN_COLS_KERNELS_OF
#define FNN_COLS_KERNELS_OF(p) ((const FNN_COLS_VARIANT_T *)(p)->kernels)
#endif

/* FNN_COLS_COMPACT: mark the columns that are nonzero in some row of the batch, list
 * them (p->cols, p->nact), the others (p->zcols) and their runs (p->runs); if at least
 * 1/8 of the columns are inactive, pack the active ones of each row into xb (rows x nact)
 * and return 1 (-1: check_rows found a non-finite row, p->bad_row), else return 0 (the
 * caller gathers whole rows). */
static int FNN_SFX(pack_compact)(fnn_plan *p, const REAL *X, const fnn_idx *perm,
                                 fnn_idx start, fnn_idx rows)
{
    fnn_idx d = p->in_dim;
    unsigned char *act = p->act;
    /* zcols lists the columns still zero in every row seen so far: each row checks only
     * those (on MNIST about a quarter of the columns after the first few rows) */
    int nz = 0;
    for (fnn_idx j = 0; j < d; ++j) p->zcols[j] = (int)j;
    nz = (int)d;
    for (fnn_idx r = 0; r < rows && nz > 0; ++r) {
        const REAL *x = X + perm[start + r] * d;
        int keep = 0;
        for (int t = 0; t < nz; ++t) {
            int j = p->zcols[t];
            p->zcols[keep] = j;
            keep += x[j] == (REAL)0;
        }
        nz = keep;
    }
    if (d > 0) memset(act, 1, (size_t)d);
    for (int t = 0; t < nz; ++t) act[p->zcols[t]] = 0;
    int nact = 0, nruns = 0;
    nz = 0;
    for (fnn_idx j = 0; j < d; ++j) {
        if (act[j]) {
            if (j == 0 || !act[j - 1]) {
                p->runs[2 * nruns] = (int)j;
                p->runs[2 * nruns + 1] = 0;
                ++nruns;
            }
            p->runs[2 * nruns - 1] += 1;
            p->cols[nact++] = (int)j;
        } else {
            p->zcols[nz++] = (int)j;
        }
    }
    p->nact = nact;
    p->nruns = nruns;
    if (nact == 0 || (fnn_idx)nact > d - d / 8) return 0;
    REAL *xb = (REAL *)p->xb;
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL *x = X + perm[start + r] * d;
        REAL *dst = xb + r * nact;
        if (p->check_rows && !FNN_LEAF(row_finite)(d, x)) {
            p->bad_row = perm[start + r];
            return -1;
        }
        for (int t = 0; t < nruns; ++t) {
            int j0 = p->runs[2 * t], len = p->runs[2 * t + 1];
            memcpy(dst, x + j0, (size_t)len * sizeof(REAL));
            dst += len;
        }
    }
    return 1;
}

/* Copy the rows perm[start .. start + rows) of X, the targets and the weights; `mode`
 * (enum fnn_cols_mode) is how the first layer wants the rows. Returns the mode the batch
 * got: FNN_COLS_COMPACT falls back to FNN_COLS_NONE when too few columns are inactive;
 * -1 if check_rows found a non-finite row (p->bad_row; the batch is then not used). */
static int FNN_SFX(gather)(fnn_plan *p, const REAL *X, const void *targets, const REAL *sw,
                           const fnn_idx *perm, fnn_idx start, fnn_idx rows, int mode)
{
    REAL *xb = (REAL *)p->xb;
    fnn_idx d_in = p->in_dim, d_out = p->out_dim;
    /* check_rows: each row is checked where its gather has just brought it into cache */
    if (mode == FNN_COLS_COMPACT) {
        int packed = FNN_SFX(pack_compact)(p, X, perm, start, rows);
        if (packed < 0) return -1;
        if (!packed) mode = FNN_COLS_NONE;
    }
    for (fnn_idx r = 0; r < rows; ++r) {
        fnn_idx i = perm[start + r];
        if (mode == FNN_COLS_KERNELS) {
            p->rowp[r] = X + i * d_in;
        } else if (mode == FNN_COLS_NONE) {
            memcpy(xb + r * d_in, X + i * d_in, (size_t)d_in * sizeof(REAL));
            if (p->check_rows && !FNN_LEAF(row_finite)(d_in, xb + r * d_in)) {
                p->bad_row = i;
                return -1;
            }
        }
        if (p->loss == FNN_LOSS_XENT_LABELS)
            p->lb[r] = ((const fnn_idx *)targets)[i];
        else
            memcpy((REAL *)p->tb + r * d_out, (const REAL *)targets + i * d_out,
                   (size_t)d_out * sizeof(REAL));
        if (sw) ((REAL *)p->wb)[r] = sw[i];
    }
    if (mode == FNN_COLS_KERNELS) {
        p->nact = FNN_COLS_KERNELS_OF(p)->pack_active(
            (int)rows, (int)d_in, (const REAL *const *)p->rowp, xb, p->cols, p->zcols, p->masks);
        if (p->check_rows)
            for (fnn_idx r = 0; r < rows; ++r)
                if (!FNN_LEAF(row_finite)(d_in, (const REAL *)p->rowp[r])) {
                    p->bad_row = perm[start + r];
                    return -1;
                }
    }
    return mode;
}

/* How this run's batches reach the first layer (enum fnn_cols_mode; COMPACT is only
 * tried, batch by batch, see gather). `stop` is the first step that trains. */
static int FNN_SFX(cols_mode)(fnn_plan *p, int stop, int n_fwd)
{
    if (stop >= n_fwd || p->steps[0].kind != FNN_STEP_DENSE || p->in_dim > INT_MAX ||
        p->steps[0].out_dim > INT_MAX)
        return FNN_COLS_NONE;
    if (p->rowp &&
        (p->batch_size <= FNN_PLAN_COLS_ROWS_ANY ||
         (p->batch_size <= FNN_PLAN_COLS_ROWS && p->n_threads <= 1)) &&
        (p->kernels = FNN_COLS_PICK()) != NULL)
        return FNN_COLS_KERNELS;
    if (p->act && p->wact && stop == 0 && p->steps[0].dW &&
        p->steps[0].out_dim >= FNN_PLAN_COMPACT_MIN_OUT)
        return FNN_COLS_COMPACT;
    return FNN_COLS_NONE;
}

/* Forward `rows` rows through steps [0, n_steps); returns the last output. */
static const REAL *FNN_SFX(forward)(fnn_plan *p, const REAL *x, fnn_idx rows, int training,
                                    int n_steps, int cols)
{
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    int nt = p->n_threads, gt = p->gemm_threads;
    const REAL *cur = x;
    for (int s = 0; s < n_steps; ++s) {
        fnn_step *st = &p->steps[s];
        REAL *y = (REAL *)st->y;
        st->x = cur;
        switch (st->kind) {
        case FNN_STEP_DENSE:
            if (st->b) FNN_SFX(fnn_bias_rows)(rows, st->out_dim, (const REAL *)st->b, y, nt);
            if (cols == FNN_COLS_KERNELS && s == 0) { /* x is the packed active columns */
                FNN_COLS_KERNELS_OF(p)->nn_cols((int)rows, p->nact, (int)st->out_dim, x, p->cols,
                                    (const REAL *)st->W, y, st->b != NULL);
                cur = y;
                break;
            }
            if (cols == FNN_COLS_COMPACT && s == 0) {
                /* x is rows x nact: W's active rows, copied run by run into wact, make
                 * the k = nact product */
                REAL *wa = (REAL *)p->wact;
                const REAL *W = (const REAL *)st->W;
                fnn_idx n = st->out_dim;
                for (int t = 0; t < p->nruns; ++t) {
                    fnn_idx j0 = p->runs[2 * t], len = p->runs[2 * t + 1];
                    memcpy(wa, W + j0 * n, (size_t)(len * n) * sizeof(REAL));
                    wa += len * n;
                }
                FNN_SFX(fnn_gemm_team)(gemm, 0, 0, rows, n, p->nact, (REAL)1, cur,
                                       (const REAL *)p->wact, st->b ? (REAL)1 : (REAL)0, y, gt);
                cur = y;
                break;
            }
            FNN_SFX(fnn_gemm_team)(gemm, 0, 0, rows, st->out_dim, st->in_dim, (REAL)1, cur,
                                   (const REAL *)st->W, st->b ? (REAL)1 : (REAL)0, y, gt);
            cur = y;
            break;
        case FNN_STEP_ACTIVATION:
            FNN_SFX(fnn_activation_forward)(st->activation)(rows, st->out_dim, cur, y,
                                                            (REAL)st->alpha, nt);
            cur = y;
            break;
        case FNN_STEP_DROPOUT:
            if (training) {
                fnn_idx n = rows * st->out_dim;
                FNN_SFX(fnn_dropout_forward)(n, cur, y, (REAL *)st->mask, st->rate, st->seed,
                                             st->offset, nt);
                st->offset += (uint64_t)n;
                cur = y;
            }
            break;
        case FNN_STEP_CONV:
            FNN_SFX(fnn_conv_forward)(gemm, gt, &st->geom, rows, cur, (const REAL *)st->W,
                                      (const REAL *)st->b, y, (REAL *)st->cols,
                                      (REAL *)p->conv_tmp, nt);
            cur = y;
            break;
        case FNN_STEP_MAXPOOL:
            FNN_SFX(fnn_maxpool_forward)(&st->geom, rows, cur, y, st->argmax, nt);
            cur = y;
            break;
        case FNN_STEP_AVGPOOL:
            FNN_SFX(fnn_avgpool_forward)(&st->geom, rows, cur, y, nt);
            cur = y;
            break;
        case FNN_STEP_GLOBAL_AVGPOOL:
            FNN_SFX(fnn_global_avgpool_forward)(rows * st->channels, st->spatial, cur, y, nt);
            cur = y;
            break;
        case FNN_STEP_BATCHNORM:
            if (training)
                FNN_SFX(fnn_batchnorm_forward_train)(
                    rows, st->channels, st->spatial, cur, (const REAL *)st->W,
                    (const REAL *)st->b, y, (REAL *)st->mean, (REAL *)st->inv_std,
                    (REAL *)st->running_mean, (REAL *)st->running_var, st->momentum, st->eps,
                    nt);
            else
                FNN_SFX(fnn_batchnorm_forward_infer)(
                    rows, st->channels, st->spatial, cur, (const REAL *)st->W,
                    (const REAL *)st->b, (const REAL *)st->running_mean,
                    (const REAL *)st->running_var, st->eps, y, nt);
            cur = y;
            break;
        case FNN_STEP_RES_BEGIN: /* the block's input stays `cur`; st->x remembers it */
            break;
        case FNN_STEP_RES_END: {
            const REAL *xb = (const REAL *)p->steps[st->partner].x;
            if (st->proj == FNN_PROJ_CONV) {
                FNN_SFX(fnn_conv_forward)(gemm, gt, &st->geom, rows, xb, (const REAL *)st->W,
                                          (const REAL *)st->b, y, (REAL *)st->cols,
                                          (REAL *)p->conv_tmp, nt);
                FNN_SFX(fnn_residual_add)(rows * st->out_dim, y, cur, y, nt);
            } else if (st->proj == FNN_PROJ_DENSE) {
                fnn_idx d_in = p->steps[st->partner].in_dim;
                if (st->b) FNN_SFX(fnn_bias_rows)(rows, st->out_dim, (const REAL *)st->b, y, nt);
                FNN_SFX(fnn_gemm_team)(gemm, 0, 0, rows, st->out_dim, d_in, (REAL)1, xb,
                                       (const REAL *)st->W, st->b ? (REAL)1 : (REAL)0, y, gt);
                FNN_SFX(fnn_residual_add)(rows * st->out_dim, y, cur, y, nt);
            } else {
                FNN_SFX(fnn_residual_add)(rows * st->out_dim, cur, xb, y, nt);
            }
            cur = y;
            break;
        }
        }
    }
    return cur;
}

/* Loss of the batch on `out` (rows, d); dL/d(out) goes to grad. Returns the batch loss. */
static double FNN_SFX(loss)(fnn_plan *p, const REAL *out, fnn_idx rows, fnn_idx d, REAL *grad)
{
    const REAL *w = p->has_weights ? (const REAL *)p->wb : NULL;
    const REAL *t = (const REAL *)p->tb;
    int nt = p->n_threads;
    switch (p->loss) {
    case FNN_LOSS_MSE:
        return FNN_SFX(fnn_mse)(rows, d, out, t, w, grad, p->row_loss, nt);
    case FNN_LOSS_SQUARED_ERROR: {
        /* 0.5 * sum_j = mse * d / 2, gradient likewise: the same arithmetic as
         * fastnn.losses.SquaredError, so both training paths agree to the bit. */
        double l = FNN_SFX(fnn_mse)(rows, d, out, t, w, grad, p->row_loss, nt);
        FNN_SFX(fnn_scale)(rows * d, grad, (double)d / 2.0, nt);
        return l * (double)d / 2.0;
    }
    case FNN_LOSS_XENT_LABELS:
        return FNN_SFX(fnn_softmax_xent_labels)(rows, d, out, p->lb, w, grad, p->row_loss, nt);
    case FNN_LOSS_XENT_PROBS:
        return FNN_SFX(fnn_softmax_xent_probs)(rows, d, out, t, w, grad, p->row_loss, nt);
    default:
        return FNN_SFX(fnn_binary_xent)(rows, d, out, t, w, grad, p->row_loss, nt);
    }
}

static fnn_idx FNN_SFX(argmax)(const REAL *v, fnn_idx n)
{
    fnn_idx best = 0;
    for (fnn_idx j = 1; j < n; ++j)
        if (v[j] > v[best]) best = j;
    return best;
}

/* Correct predictions in the batch, from the outputs before the update. */
static double FNN_SFX(correct)(fnn_plan *p, const REAL *out, fnn_idx rows, fnn_idx d)
{
    double c = 0;
    const REAL *t = (const REAL *)p->tb;
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL *o = out + r * d;
        if (p->accuracy == 1) {
            fnn_idx truth = p->loss == FNN_LOSS_XENT_LABELS ? p->lb[r]
                                                            : FNN_SFX(argmax)(t + r * d, d);
            c += FNN_SFX(argmax)(o, d) == truth;
        } else if (p->accuracy == 2) {
            REAL thr = (REAL)p->threshold;
            fnn_idx ok = 0;
            for (fnn_idx j = 0; j < d; ++j) ok += (o[j] > thr) == (t[r * d + j] > (REAL)0.5);
            c += d == 1 ? (double)ok : (double)ok / (double)d;
        }
    }
    return c;
}

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

static inline void FNN_SFX(swap)(REAL **a, REAL **b)
{
    REAL *t = *a;
    *a = *b;
    *b = t;
}

/* Does step st have parameters that training updates? */
static inline int FNN_SFX(step_trains)(const fnn_step *st)
{
    return st->trainable && (st->kind == FNN_STEP_DENSE || st->kind == FNN_STEP_CONV ||
                             st->kind == FNN_STEP_BATCHNORM ||
                             (st->kind == FNN_STEP_RES_END && st->proj));
}

/* Backward from dL/d(output of step `last`) in p->grad_a down to step `stop`. */
static void FNN_SFX(backward)(fnn_plan *p, fnn_idx rows, int last, int stop, int cols)
{
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    int nt = p->n_threads, gt = p->gemm_threads;
    REAL *g = (REAL *)p->grad_a, *other = (REAL *)p->grad_b;
    for (int s = last; s >= stop; --s) {
        fnn_step *st = &p->steps[s];
        const REAL *xin = (const REAL *)st->x;
        switch (st->kind) {
        case FNN_STEP_DENSE:
            if (st->trainable && cols == FNN_COLS_KERNELS && s == 0) {
                /* x is the packed active columns */
                if (p->fused_w0 == FNN_FUSED_SGD) /* W -= lr x^T g; dW is not formed */
                    FNN_COLS_KERNELS_OF(p)->tn_cols((int)rows, p->nact, (int)st->out_dim, xin, p->nact,
                                        p->cols, (int)st->in_dim - p->nact, p->zcols, g,
                                        (REAL *)st->W, (REAL)-p->opt.lr, 1);
                else if (p->fused_w0 == FNN_FUSED_ADAM)
                    FNN_SFX(cols_adam)(p, st, rows, xin, g);
                else
                    FNN_COLS_KERNELS_OF(p)->tn_cols((int)rows, p->nact, (int)st->out_dim, xin, p->nact,
                                        p->cols, (int)st->in_dim - p->nact, p->zcols, g,
                                        (REAL *)st->dW, (REAL)1, 0);
                if (st->b)
                    FNN_SFX(fnn_column_sums)(rows, st->out_dim, g, (REAL *)st->db, 0, nt);
            } else
            if (st->trainable && cols == FNN_COLS_COMPACT && s == 0) {
                /* x is rows x nact: dW's first nact rows = x^T g, then each run of rows
                 * moves to its columns (last run first: a run only moves down, onto rows
                 * already moved or its own) and the inactive rows are zeroed */
                REAL *dW = (REAL *)st->dW;
                fnn_idx n = st->out_dim, t0 = p->nact;
                FNN_SFX(fnn_gemm_team)(gemm, 1, 0, p->nact, n, rows, (REAL)1, xin, g, (REAL)0,
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
                    FNN_SFX(fnn_column_sums)(rows, st->out_dim, g, (REAL *)st->db, 0, nt);
            } else if (st->trainable) {
                /* dW = x^T g,  db = column sums of g */
                FNN_SFX(fnn_gemm_team)(gemm, 1, 0, st->in_dim, st->out_dim, rows, (REAL)1, xin,
                                       g, (REAL)0, (REAL *)st->dW, gt);
                if (st->b)
                    FNN_SFX(fnn_column_sums)(rows, st->out_dim, g, (REAL *)st->db, 0, nt);
            }
            if (s > stop) { /* dx = g W^T, for the step before */
                FNN_SFX(fnn_gemm_team)(gemm, 0, 1, rows, st->in_dim, st->out_dim, (REAL)1, g,
                                       (const REAL *)st->W, (REAL)0, other, gt);
                FNN_SFX(swap)(&g, &other);
            }
            break;
        case FNN_STEP_ACTIVATION:
            FNN_SFX(fnn_activation_backward)(st->activation)(rows, st->out_dim, g, xin,
                                                             (const REAL *)st->y, g,
                                                             (REAL)st->alpha, nt);
            break;
        case FNN_STEP_DROPOUT:
            FNN_SFX(fnn_dropout_backward)(rows * st->out_dim, g, (const REAL *)st->mask, g, nt);
            break;
        case FNN_STEP_CONV:
            /* dW, db always (like dense: into the layer's grads); dx for the step before */
            FNN_SFX(fnn_conv_backward)(gemm, gt, &st->geom, rows, xin, (REAL *)st->cols,
                                       (const REAL *)st->W, g, s > stop ? other : NULL,
                                       (REAL *)st->dW, (REAL *)st->db, (REAL *)p->conv_tmp,
                                       (REAL *)p->conv_dcols, nt);
            if (s > stop) FNN_SFX(swap)(&g, &other);
            break;
        case FNN_STEP_MAXPOOL:
#ifdef FNN_PLAN_POOLED
            if (st->pooled && st->pooled - 1 == stop) {
                /* the first trained layer, a conv on the direct kernels, and this pooling
                 * in one: dW and db straight from the pooled gradient (no dx is due) */
                fnn_step *cv = &p->steps[st->pooled - 1];
                fnn_conv_pooled_dw_run(&cv->geom, &st->geom, rows, (const REAL *)cv->x, g,
                                       st->argmax, (REAL *)cv->dW, (REAL *)cv->db, nt);
                s = st->pooled - 1; /* the conv's step is done */
                break;
            }
#endif
            FNN_SFX(fnn_maxpool_backward)(&st->geom, rows, g, st->argmax, other, nt);
            FNN_SFX(swap)(&g, &other);
            break;
        case FNN_STEP_AVGPOOL:
            FNN_SFX(fnn_avgpool_backward)(&st->geom, rows, g, other, nt);
            FNN_SFX(swap)(&g, &other);
            break;
        case FNN_STEP_GLOBAL_AVGPOOL:
            FNN_SFX(fnn_global_avgpool_backward)(rows * st->channels, st->spatial, g, other, nt);
            FNN_SFX(swap)(&g, &other);
            break;
        case FNN_STEP_BATCHNORM: /* dx in place over g */
            FNN_SFX(fnn_batchnorm_backward)(rows, st->channels, st->spatial, xin, g,
                                            (const REAL *)st->W, (const REAL *)st->mean,
                                            (const REAL *)st->inv_std, s > stop ? g : NULL,
                                            (REAL *)st->dW, (REAL *)st->db, nt);
            break;
        case FNN_STEP_RES_END: {
            /* g flows on unchanged into the inner layers; the skip connection's share
             * waits in st->skip for res_begin (needed only if backward reaches it) */
            int need = st->partner > stop;
            const REAL *xb = (const REAL *)p->steps[st->partner].x;
            REAL *skip = (REAL *)st->skip;
            if (st->proj == FNN_PROJ_CONV) {
                FNN_SFX(fnn_conv_backward)(gemm, gt, &st->geom, rows, xb, (REAL *)st->cols,
                                           (const REAL *)st->W, g, need ? skip : NULL,
                                           (REAL *)st->dW, (REAL *)st->db,
                                           (REAL *)p->conv_tmp, (REAL *)p->conv_dcols, nt);
            } else if (st->proj == FNN_PROJ_DENSE) {
                fnn_idx d_in = p->steps[st->partner].in_dim;
                FNN_SFX(fnn_gemm_team)(gemm, 1, 0, d_in, st->out_dim, rows, (REAL)1, xb, g,
                                       (REAL)0, (REAL *)st->dW, gt);
                if (st->b)
                    FNN_SFX(fnn_column_sums)(rows, st->out_dim, g, (REAL *)st->db, 0, nt);
                if (need)
                    FNN_SFX(fnn_gemm_team)(gemm, 0, 1, rows, d_in, st->out_dim, (REAL)1, g,
                                           (const REAL *)st->W, (REAL)0, skip, gt);
            } else if (need) {
                memcpy(skip, g, (size_t)(rows * st->out_dim) * sizeof(REAL));
            }
            break;
        }
        case FNN_STEP_RES_BEGIN: { /* the block's input gets both paths' gradients */
            const fnn_step *end = &p->steps[st->partner];
            FNN_SFX(fnn_residual_add)(rows * st->in_dim, g, (const REAL *)end->skip, g, nt);
            break;
        }
        }
    }
}

static void FNN_SFX(update)(fnn_plan *p)
{
    fnn_optimizer *o = &p->opt;
    int nt = p->n_threads;
    long long step = o->iterations + 1;
    for (int i = 0; i < o->n_params; ++i) {
        if (p->fused_w0 && i == p->steps[0].param_index) continue; /* done in backward */
        REAL *w = (REAL *)o->param[i];
        const REAL *g = (const REAL *)o->grad[i];
        REAL *s0 = (REAL *)o->state0[i], *s1 = (REAL *)o->state1[i], *s2 = (REAL *)o->state2[i];
        double wd = o->weight_decay * (o->decay ? o->decay[i] : 1.0);
        switch (o->kind) {
        case FNN_OPT_SGD:
            FNN_SFX(fnn_sgd)(o->size[i], w, g, s0, o->lr, o->momentum, o->nesterov,
                             wd, nt);
            break;
        case FNN_OPT_ADAM:
        case FNN_OPT_ADAMW:
            FNN_SFX(fnn_adam)(o->size[i], w, g, s0, s1, o->amsgrad ? s2 : NULL, step, o->lr,
                              o->beta1, o->beta2, o->eps, wd,
                              o->kind == FNN_OPT_ADAMW, nt);
            break;
        default:
            FNN_SFX(fnn_rmsprop)(o->size[i], w, g, s0, o->centered ? s2 : NULL,
                                 o->momentum != 0 ? s1 : NULL, o->lr, o->rho, o->eps,
                                 wd, o->momentum, nt);
        }
    }
    o->iterations += 1;
}

static fnn_idx FNN_SFX(plan_train)(fnn_plan *p, const void *X, fnn_idx n_rows,
                                   const void *targets, const void *sample_weight,
                                   const fnn_idx *perm, fnn_idx first_batch, fnn_idx last_batch,
                                   double *loss_sum, double *correct, fnn_idx *seen)
{
    int n_fwd = p->n_steps - (p->fold_last ? 1 : 0);
    /* Steps below the first trainable one need no gradient. */
    int stop = n_fwd;
    for (int s = 0; s < n_fwd; ++s)
        if (FNN_SFX(step_trains)(&p->steps[s])) {
            stop = s;
            break;
        }
    fnn_idx d = n_fwd > 0 ? p->steps[n_fwd - 1].out_dim : p->in_dim;
    fnn_idx bad = 0;
    int cols = FNN_SFX(cols_mode)(p, stop, n_fwd);
    fnn_optimizer *o = &p->opt;
    p->fused_w0 = FNN_FUSED_NONE;
    if (cols == FNN_COLS_KERNELS && p->steps[0].trainable) {
        int w0 = p->steps[0].param_index;
        double wd0 = o->weight_decay * (o->decay ? o->decay[w0] : 1.0);
        if (o->kind == FNN_OPT_SGD && o->momentum == 0 && wd0 == 0)
            p->fused_w0 = FNN_FUSED_SGD;
        else if ((o->kind == FNN_OPT_ADAM || o->kind == FNN_OPT_ADAMW) && p->gblock &&
                 p->steps[0].out_dim <= FNN_PLAN_GBLOCK)
            p->fused_w0 = FNN_FUSED_ADAM;
    }
    long long polled = p->poll ? fnn_plan_now_ns() : 0;
    for (fnn_idx b = first_batch; b < last_batch; ++b) {
        if (p->poll && b > first_batch && fnn_plan_poll_due(p, &polled)) break;
        fnn_idx start = b * p->batch_size;
        fnn_idx rows = n_rows - start < p->batch_size ? n_rows - start : p->batch_size;
        if (rows <= 0) break;
        int bcols = FNN_SFX(gather)(p, (const REAL *)X, targets, (const REAL *)sample_weight,
                                    perm, start, rows, cols);
        if (bcols < 0) return bad; /* a non-finite row of X (check_rows) */
        if (bcols == FNN_COLS_COMPACT) p->compact_batches += 1;
        if (p->has_weights) {
            double wsum = 0;
            for (fnn_idx r = 0; r < rows; ++r) wsum += ((const REAL *)p->wb)[r];
            if (!(wsum > 0)) continue; /* every weight is 0: nothing to learn */
        }
        const REAL *out = FNN_SFX(forward)(p, (const REAL *)p->xb, rows, 1, n_fwd, bcols);
        double l = FNN_SFX(loss)(p, out, rows, d, (REAL *)p->grad_a);
        if (!(l - l == 0)) { /* NaN or inf */
            if (!bad) bad = b + 1;
            if (p->stop_on_nonfinite) return bad; /* before touching the weights */
        }
        *loss_sum += l * (double)rows;
        *correct += FNN_SFX(correct)(p, out, rows, d);
        *seen += rows;
        if (stop < n_fwd) {
            FNN_SFX(backward)(p, rows, n_fwd - 1, stop, bcols);
            FNN_SFX(update)(p);
        }
    }
    return bad;
}

static void FNN_SFX(plan_predict)(fnn_plan *p, const void *X, fnn_idx n, void *out)
{
    fnn_idx d = p->out_dim;
    long long polled = p->poll ? fnn_plan_now_ns() : 0;
    for (fnn_idx start = 0; start < n; start += p->batch_size) {
        if (p->poll && start > 0 && fnn_plan_poll_due(p, &polled)) break;
        fnn_idx rows = n - start < p->batch_size ? n - start : p->batch_size;
        const REAL *y = FNN_SFX(forward)(p, (const REAL *)X + start * p->in_dim, rows, 0,
                                         p->n_steps, 0);
        memcpy((REAL *)out + start * d, y, (size_t)(rows * d) * sizeof(REAL));
    }
}
