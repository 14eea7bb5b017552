/* layernorm.h -- layer normalization over the last axis of x viewed as (R, D) rows.
 *
 * x of shape (..., D) is R rows of D features. Statistics per row over its D values,
 * accumulated in double in an order fixed by the shape alone:
 *
 *   mean_r = E[x_r],  var_r = E[(x_r - mean_r)^2] (biased),
 *   inv_std_r = 1 / sqrt(var_r + eps),
 *   y = (x - mean_r) * inv_std_r * gamma + beta        (gamma, beta of shape (D,))
 *
 * the semantics of PyTorch's nn.LayerNorm(D) (eps 1e-5 there by default).
 */
#ifndef FNN_LAYERNORM_H
#define FNN_LAYERNORM_H

#include "fnn_common.h"

/* y (R, D), mean and inv_std (R) are written (backward needs mean / inv_std); y may
 * alias x (each row is read whole before it is written). */
void fnn_layernorm_forward_f32(fnn_idx r, fnn_idx d, const float *x, const float *gamma,
                               const float *beta, float *y, float *mean, float *inv_std,
                               double eps, int n_threads);
void fnn_layernorm_forward_f64(fnn_idx r, fnn_idx d, const double *x, const double *gamma,
                               const double *beta, double *y, double *mean, double *inv_std,
                               double eps, int n_threads);

/* From the forward's mean / inv_std, with xhat = (x - mean) * inv_std and
 * g = dy * gamma:
 *   dgamma = sum over rows of dy * xhat,  dbeta = sum over rows of dy   (D), overwritten;
 *   dx = inv_std * (g - mean_D(g) - xhat * mean_D(g * xhat))           (R, D), overwritten;
 * dx NULL: skipped. dx may alias dy (dgamma / dbeta are summed before dx is written).
 * The column sums run over the rows in order, each column by one thread (threads split
 * the columns), so they do not depend on the thread count either. */
void fnn_layernorm_backward_f32(fnn_idx r, fnn_idx d, const float *x, const float *dy,
                                const float *gamma, const float *mean, const float *inv_std,
                                float *dx, float *dgamma, float *dbeta, int n_threads);
void fnn_layernorm_backward_f64(fnn_idx r, fnn_idx d, const double *x, const double *dy,
                                const double *gamma, const double *mean,
                                const double *inv_std, double *dx, double *dgamma,
                                double *dbeta, int n_threads);

#endif
