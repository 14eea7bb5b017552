/* losses_impl.h -- type-generic bodies for losses.c (included once per REAL).
 *
 * Each loss has a row leaf (rows [0, rows) of a block, vectorized along the row) and a
 * driver that splits the batch by rows over threads, then sums c_i * l_i serially in
 * row order. The gradient of row i carries its factor c_i = w_i / sum(w).
 */

#include "fnn_rows_impl.h"

/* The sum of the weights (n when unweighted), in double and in row order. */
static double FNN_SFX(weight_sum)(fnn_idx n, const REAL *weight)
{
    if (!weight) return (double)n;
    double s = 0;
    for (fnn_idx i = 0; i < n; ++i) s += weight[i];
    return s;
}

/* L = sum_i c_i l_i over the row losses, in row order (independent of threads). */
static double FNN_SFX(weighted_total)(fnn_idx n, const REAL *weight, double wsum,
                                      const double *row_loss)
{
    double total = 0;
    for (fnn_idx i = 0; i < n; ++i) total += (weight ? weight[i] / wsum : 1.0 / wsum) * row_loss[i];
    return total;
}

#define FNN_ROW_FACTOR(i) ((weight ? (double)weight[(i)] : 1.0) / wsum)

/* ------------------------------------------------------------------------------ MSE */

FNN_SIMD_CLONES
static void FNN_SFX(mse_leaf)(fnn_idx rows, fnn_idx d, const REAL *p, const REAL *t,
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

double FNN_SFX(fnn_mse)(fnn_idx n, fnn_idx d, const REAL *pred, const REAL *target,
                        const REAL *weight, REAL *grad, double *row_loss, int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP / (d + 1) + 1, n_threads, lo, len,
                   FNN_SFX(mse_leaf)(len, d, pred + lo * d, target + lo * d,
                                     weight ? weight + lo : NULL, wsum,
                                     grad ? grad + lo * d : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

/* ------------------------------------------------------------ softmax cross-entropy */

FNN_SIMD_CLONES
static void FNN_SFX(xent_labels_leaf)(fnn_idx rows, fnn_idx c, const REAL *z,
                                      const fnn_idx *labels, const REAL *weight, double wsum,
                                      REAL *grad, double *row_loss)
{
    for (fnn_idx i = 0; i < rows; ++i) {
        const REAL *zi = z + i * c;
        REAL *gi = grad ? grad + i * c : NULL;
        REAL m;
        REAL s = FNN_SFX(row_sumexp)(c, zi, gi, &m);
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

double FNN_SFX(fnn_softmax_xent_labels)(fnn_idx n, fnn_idx c, const REAL *logits,
                                        const fnn_idx *labels, const REAL *weight, REAL *grad,
                                        double *row_loss, int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY / (c + 1) + 1, n_threads, lo, len,
                   FNN_SFX(xent_labels_leaf)(len, c, logits + lo * c, labels + lo,
                                             weight ? weight + lo : NULL, wsum,
                                             grad ? grad + lo * c : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

FNN_SIMD_CLONES
static void FNN_SFX(xent_probs_leaf)(fnn_idx rows, fnn_idx c, const REAL *z, const REAL *t,
                                     const REAL *weight, double wsum, REAL *grad,
                                     double *row_loss)
{
    for (fnn_idx i = 0; i < rows; ++i) {
        const REAL *zi = z + i * c, *ti = t + i * c;
        REAL *gi = grad ? grad + i * c : NULL;
        REAL m;
        REAL s = FNN_SFX(row_sumexp)(c, zi, gi, &m);
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

double FNN_SFX(fnn_softmax_xent_probs)(fnn_idx n, fnn_idx c, const REAL *logits,
                                       const REAL *target, const REAL *weight, REAL *grad,
                                       double *row_loss, int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY / (c + 1) + 1, n_threads, lo, len,
                   FNN_SFX(xent_probs_leaf)(len, c, logits + lo * c, target + lo * c,
                                            weight ? weight + lo : NULL, wsum,
                                            grad ? grad + lo * c : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

/* ------------------------------------------------------------- binary cross-entropy */

FNN_SIMD_CLONES
static void FNN_SFX(binary_xent_leaf)(fnn_idx rows, fnn_idx d, const REAL *z, const REAL *t,
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

double FNN_SFX(fnn_binary_xent)(fnn_idx n, fnn_idx d, const REAL *logits, const REAL *target,
                                const REAL *weight, REAL *grad, double *row_loss,
                                int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY / (d + 1) + 1, n_threads, lo, len,
                   FNN_SFX(binary_xent_leaf)(len, d, logits + lo * d, target + lo * d,
                                             weight ? weight + lo : NULL, wsum,
                                             grad ? grad + lo * d : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

#undef FNN_ROW_FACTOR
