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
 *
 * forward and backward loop over the steps and call each one's entry in the table of step
 * kinds (plan_steps/table.h); each kind's forward and backward are in plan_steps/.
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

/* Row i of X (float32 when p->x_f32, else REAL) as REAL at dst: copied or widened. */
static inline void FNN_SFX(copy_row)(const fnn_plan *p, const void *X, fnn_idx i, REAL *dst)
{
    fnn_idx d = p->in_dim;
#if FNN_REAL_IS_DOUBLE
    if (p->x_f32) {
        const float *src = (const float *)X + i * d;
        for (fnn_idx j = 0; j < d; ++j) dst[j] = (REAL)src[j];
        return;
    }
#endif
    memcpy(dst, (const REAL *)X + i * d, (size_t)d * sizeof(REAL));
}

/* Ask for the rows perm[start .. start + rows) of X ahead of their gather: a shuffled
 * epoch reads each row from DRAM, and the wait for it, not the copy, was most of the
 * gather of a small batch. Only while those rows fit in L2 with room to spare. */
static void FNN_SFX(prefetch_rows)(const fnn_plan *p, const void *X, const fnn_idx *perm,
                                   fnn_idx start, fnn_idx rows)
{
    size_t row_bytes = (size_t)p->in_dim * (p->x_f32 ? sizeof(float) : sizeof(REAL));
    if ((size_t)rows * row_bytes > FNN_PLAN_PREFETCH_BYTES) return;
    for (fnn_idx r = 0; r < rows; ++r) {
        const char *row = (const char *)X + (size_t)perm[start + r] * row_bytes;
        for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(row + off, 0, 3);
    }
}

/* Copy the rows perm[start .. start + rows) of X, the targets and the weights; `mode`
 * (enum fnn_cols_mode) is how the first layer wants the rows. Returns the mode the batch
 * got: FNN_COLS_COMPACT falls back to FNN_COLS_NONE when too few columns are inactive;
 * -1 if check_rows found a non-finite row (p->bad_row; the batch is then not used). */
static int FNN_SFX(gather)(fnn_plan *p, const void *X, const void *targets, const REAL *sw,
                           const fnn_idx *perm, fnn_idx start, fnn_idx rows, int mode)
{
    REAL *xb = (REAL *)p->xb;
    fnn_idx d_in = p->in_dim, d_out = p->out_dim;
    /* check_rows: each row is checked where its gather has just brought it into cache */
    if (mode == FNN_COLS_COMPACT) { /* never with x_f32 (cols_mode) */
        int packed = FNN_SFX(pack_compact)(p, (const REAL *)X, perm, start, rows);
        if (packed < 0) return -1;
        if (!packed) mode = FNN_COLS_NONE;
    }
    for (fnn_idx r = 0; r < rows; ++r) {
        fnn_idx i = perm[start + r];
        if (mode == FNN_COLS_KERNELS) {
            if (p->x_f32) {
                REAL *w = (REAL *)p->xw + r * d_in;
                FNN_SFX(copy_row)(p, X, i, w);
                p->rowp[r] = w;
            } else {
                p->rowp[r] = (const REAL *)X + i * d_in;
            }
        } else if (mode == FNN_COLS_NONE) {
            FNN_SFX(copy_row)(p, X, i, xb + r * d_in);
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
    if (stop >= n_fwd || p->steps[0].kind != FNN_STEP_DENSE || p->steps[0].spatial != 1 ||
        p->in_dim > INT_MAX || p->steps[0].out_dim > INT_MAX)
        return FNN_COLS_NONE;
    if (p->rowp &&
        (p->batch_size <= FNN_PLAN_COLS_ROWS_ANY ||
         (p->batch_size <= FNN_PLAN_COLS_ROWS && p->n_threads <= 1)) &&
        (p->kernels = FNN_COLS_PICK()) != NULL)
        return FNN_COLS_KERNELS;
    if (p->act && p->wact && !p->x_f32 && stop == 0 && p->steps[0].dW &&
        p->steps[0].out_dim >= FNN_PLAN_COMPACT_MIN_OUT)
        return FNN_COLS_COMPACT;
    return FNN_COLS_NONE;
}

/* Backward's gradient ping-pong: a step that writes dL/d(input) to `other` swaps the two. */
static inline void FNN_SFX(swap)(REAL **a, REAL **b)
{
    REAL *t = *a;
    *a = *b;
    *b = t;
}

/* Each step kind's forward and backward (one file per kind) and the table of them. */
#include "plan_steps/dense.h"
#include "plan_steps/activation.h"
#include "plan_steps/dropout.h"
#include "plan_steps/conv.h"
#include "plan_steps/pool.h"
#include "plan_steps/batchnorm.h"
#include "plan_steps/residual.h"
#include "plan_steps/recurrent.h"
#include "plan_steps/bidirectional.h"
#include "plan_steps/layernorm.h"
#include "plan_steps/embedding.h"
#include "plan_steps/python.h"
#include "plan_steps/time_avgpool.h"
#include "plan_steps/table.h"

/* Does step st have parameters that training updates? */
static inline int FNN_SFX(step_trains)(const fnn_step *st)
{
    int (*has_params)(const fnn_step *) = FNN_SFX(step_table)[st->kind].has_params;
    return st->trainable && has_params && has_params(st);
}

/* Forward `rows` rows through steps [0, n_steps); returns the last output. */
static const REAL *FNN_SFX(forward)(fnn_plan *p, const REAL *x, fnn_idx rows, int training,
                                    int n_steps, int cols)
{
    const REAL *cur = x;
    for (int s = 0; s < n_steps; ++s) {
        fnn_step *st = &p->steps[s];
        st->x = cur;
        cur = FNN_SFX(step_table)[st->kind].forward(p, st, s, cur, rows, training, cols);
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

/* Backward from dL/d(output of step `last`) in p->grad_a down to step `stop`. */
static void FNN_SFX(backward)(fnn_plan *p, fnn_idx rows, int last, int stop, int cols)
{
    REAL *g = (REAL *)p->grad_a, *other = (REAL *)p->grad_b;
    /* a python step that raised stops it: below, a first layer's fused update would
     * change the weights */
    for (int s = last; s >= stop && !p->interrupted; --s)
        FNN_SFX(step_table)[p->steps[s].kind].backward(p, &s, stop, rows, cols, &g, &other);
}

/* Clip the gradients as fastnn.optimizers.Optimizer.clip does: clipvalue, then clipnorm
 * with the arithmetic of fastnn.ops.clip_grad_norm (each gradient's sum of squares in
 * double, added in parameter order), so both training paths agree to the bit. */
static void FNN_SFX(clip)(fnn_plan *p)
{
    fnn_optimizer *o = &p->opt;
    int nt = p->n_threads;
    if (o->clipvalue > 0)
        for (int i = 0; i < o->n_params; ++i)
            FNN_LEAF(clamp)(o->size[i], (REAL *)o->grad[i], (REAL)o->clipvalue);
    if (o->clipnorm > 0) {
        double sq = 0;
        for (int i = 0; i < o->n_params; ++i)
            sq += FNN_SFX(fnn_sum_squares)(o->size[i], (const REAL *)o->grad[i], nt);
        double coef = o->clipnorm / (sqrt(sq) + 1e-6);
        if (coef < 1.0)
            for (int i = 0; i < o->n_params; ++i)
                FNN_SFX(fnn_scale)(o->size[i], (REAL *)o->grad[i], coef, nt);
    }
}

static void FNN_SFX(update)(fnn_plan *p)
{
    fnn_optimizer *o = &p->opt;
    int nt = p->n_threads;
    long long step = o->iterations + 1;
    FNN_SFX(clip)(p);
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
    /* a fused update would run before the clipping has seen every gradient */
    int clips = o->clipnorm > 0 || o->clipvalue > 0;
    if (cols == FNN_COLS_KERNELS && p->steps[0].trainable && !clips) {
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
        int bcols = FNN_SFX(gather)(p, X, targets, (const REAL *)sample_weight,
                                    perm, start, rows, cols);
        if (bcols < 0) return bad; /* a non-finite row of X (check_rows) */
        if (bcols == FNN_COLS_COMPACT) p->compact_batches += 1;
        if (p->has_weights) {
            double wsum = 0;
            for (fnn_idx r = 0; r < rows; ++r) wsum += ((const REAL *)p->wb)[r];
            if (!(wsum > 0)) continue; /* every weight is 0: nothing to learn */
        }
        if (b + 1 < last_batch && start + rows < n_rows) /* the next batch's rows */
            FNN_SFX(prefetch_rows)(p, X, perm, start + rows,
                                   n_rows - start - rows < p->batch_size ? n_rows - start - rows
                                                                         : p->batch_size);
        const REAL *out = FNN_SFX(forward)(p, (const REAL *)p->xb, rows, 1, n_fwd, bcols);
        if (p->interrupted) break; /* a python step raised */
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
            if (p->interrupted) break; /* a python step raised: no update */
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
        const REAL *x = (const REAL *)X + start * p->in_dim;
        if (p->x_f32) { /* widen the block's rows */
            for (fnn_idx r = 0; r < rows; ++r)
                FNN_SFX(copy_row)(p, X, start + r, (REAL *)p->xw + r * p->in_dim);
            x = (const REAL *)p->xw;
        }
        const REAL *y = FNN_SFX(forward)(p, x, rows, 0, p->n_steps, 0);
        if (p->interrupted) break; /* a python step raised */
        memcpy((REAL *)out + start * d, y, (size_t)(rows * d) * sizeof(REAL));
    }
}
