/* losses_leaves.h -- the vector loops of losses.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

#include "fnn_rows_leaves.h"

/* The factor c_i = w_i / sum(w) of row i (losses_impl.h). */
#define FNN_ROW_FACTOR(i) ((weight ? (double)weight[(i)] : 1.0) / wsum)

static void FNN_L(mse_leaf)(fnn_idx rows, fnn_idx d, const REAL *p, const REAL *t,
                            const REAL *weight, double wsum, REAL *grad, double *row_loss)
{
    for (fnn_idx i = 0; i < rows; ++i) {
        const REAL *pi = p + i * d, *ti = t + i * d;
        REAL s = 0;
#pragma omp simd reduction(+ : s)
        for (fnn_idx j = 0; j < d; ++j) {
            REAL diff = pi[j] - ti[j];
            s += diff * diff;
        }
        row_loss[i] = (double)s / (double)d;
        if (grad) {
            REAL f = (REAL)(2.0 / (double)d * FNN_ROW_FACTOR(i));
            REAL *gi = grad + i * d;
#pragma omp simd
            for (fnn_idx j = 0; j < d; ++j) gi[j] = (pi[j] - ti[j]) * f;
        }
    }
}

static void FNN_L(xent_labels_leaf)(fnn_idx rows, fnn_idx c, const REAL *z,
                                    const fnn_idx *labels, const REAL *weight, double wsum,
                                    REAL *grad, double *row_loss)
{
    for (fnn_idx i = 0; i < rows; ++i) {
        const REAL *zi = z + i * c;
        REAL *gi = grad ? grad + i * c : NULL;
        REAL m;
        REAL s = FNN_L(row_sumexp)(c, zi, gi, &m);
        fnn_idx y = labels[i];
        /* lse - z_y = (m - z_y) + log(s), kept apart so large logits lose no digits. */
        row_loss[i] = (double)(m - zi[y]) + (double)FNN_LOG(s);
        if (gi) {
            REAL f = (REAL)FNN_ROW_FACTOR(i);
            REAL scale = f / s;
#pragma omp simd
            for (fnn_idx j = 0; j < c; ++j) gi[j] *= scale;
            gi[y] -= f;
        }
    }
}

static void FNN_L(xent_probs_leaf)(fnn_idx rows, fnn_idx c, const REAL *z, const REAL *t,
                                   const REAL *weight, double wsum, REAL *grad,
                                   double *row_loss)
{
    for (fnn_idx i = 0; i < rows; ++i) {
        const REAL *zi = z + i * c, *ti = t + i * c;
        REAL *gi = grad ? grad + i * c : NULL;
        REAL m;
        REAL s = FNN_L(row_sumexp)(c, zi, gi, &m);
        /* sum_j t_j (lse - z_j) = log(s) sum_j t_j + sum_j t_j (m - z_j) */
        REAL tsum = 0, tgap = 0;
#pragma omp simd reduction(+ : tsum, tgap)
        for (fnn_idx j = 0; j < c; ++j) {
            tsum += ti[j];
            tgap += ti[j] * (m - zi[j]);
        }
        row_loss[i] = (double)FNN_LOG(s) * (double)tsum + (double)tgap;
        if (gi) {
            REAL f = (REAL)FNN_ROW_FACTOR(i);
            REAL scale = tsum / s;
#pragma omp simd
            for (fnn_idx j = 0; j < c; ++j) gi[j] = (gi[j] * scale - ti[j]) * f;
        }
    }
}

static void FNN_L(binary_xent_leaf)(fnn_idx rows, fnn_idx d, const REAL *z, const REAL *t,
                                    const REAL *weight, double wsum, REAL *grad,
                                    double *row_loss)
{
    for (fnn_idx i = 0; i < rows; ++i) {
        const REAL *zi = z + i * d, *ti = t + i * d;
        REAL s = 0;
#pragma omp simd reduction(+ : s)
        for (fnn_idx j = 0; j < d; ++j) {
            REAL zj = zi[j];
            REAL e = FNN_SFX(fnn_exp)(zj < 0 ? zj : -zj); /* exp(-|z|) <= 1 */
            s += (zj > 0 ? zj : (REAL)0) - zj * ti[j] + FNN_SFX(fnn_log1p)(e);
        }
        row_loss[i] = (double)s / (double)d;
        if (grad) {
            REAL f = (REAL)(FNN_ROW_FACTOR(i) / (double)d);
            REAL *gi = grad + i * d;
#pragma omp simd
            for (fnn_idx j = 0; j < d; ++j) gi[j] = (FNN_SFX(fnn_sigmoid)(zi[j]) - ti[j]) * f;
        }
    }
}

#undef FNN_ROW_FACTOR
