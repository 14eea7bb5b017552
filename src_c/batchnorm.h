/* batchnorm.h -- batch normalization over the channels of x viewed as (n, C, S).
 *
 * S is the spatial size: 1 for (n, features) input, H*W for (n, C, H, W), L for
 * (n, C, L). Statistics per channel c run over the n * S values x[i, c, :]; sums are
 * accumulated in double, in an order that does not depend on the thread count.
 *
 * Training:  mean_c = E[x],  var_c = E[(x - mean_c)^2] (biased),
 *            inv_std_c = 1 / sqrt(var_c + eps),
 *            y = gamma_c * (x - mean_c) * inv_std_c + beta_c
 *            running_mean = (1 - momentum) * running_mean + momentum * mean_c
 *            running_var  = (1 - momentum) * running_var + momentum * var_c * M / (M - 1)
 *            (M = n * S; the unbiased variance, as PyTorch; with M == 1 the biased one)
 * Inference: the same y with mean = running_mean, inv_std = 1 / sqrt(running_var + eps).
 */
#ifndef FNN_BATCHNORM_H
#define FNN_BATCHNORM_H

#include "fnn_common.h"

/* mean, inv_std (C) are written (backward needs them); running_mean / running_var are
 * updated in place (both NULL: not tracked). */
void fnn_batchnorm_forward_train_f32(fnn_idx n, fnn_idx c, fnn_idx s, const float *x,
                                     const float *gamma, const float *beta, float *y,
                                     float *mean, float *inv_std, float *running_mean,
                                     float *running_var, double momentum, double eps,
                                     int n_threads);
void fnn_batchnorm_forward_train_f64(fnn_idx n, fnn_idx c, fnn_idx s, const double *x,
                                     const double *gamma, const double *beta, double *y,
                                     double *mean, double *inv_std, double *running_mean,
                                     double *running_var, double momentum, double eps,
                                     int n_threads);

void fnn_batchnorm_forward_infer_f32(fnn_idx n, fnn_idx c, fnn_idx s, const float *x,
                                     const float *gamma, const float *beta,
                                     const float *running_mean, const float *running_var,
                                     double eps, float *y, int n_threads);
void fnn_batchnorm_forward_infer_f64(fnn_idx n, fnn_idx c, fnn_idx s, const double *x,
                                     const double *gamma, const double *beta,
                                     const double *running_mean, const double *running_var,
                                     double eps, double *y, int n_threads);

/* From the training forward's mean / inv_std: dgamma, dbeta (C) overwritten, and
 *   dx = gamma * inv_std / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
 * (xhat = (x - mean) * inv_std), overwritten; dx NULL: skipped. dx may alias dy. */
void fnn_batchnorm_backward_f32(fnn_idx n, fnn_idx c, fnn_idx s, const float *x,
                                const float *dy, const float *gamma, const float *mean,
                                const float *inv_std, float *dx, float *dgamma, float *dbeta,
                                int n_threads);
void fnn_batchnorm_backward_f64(fnn_idx n, fnn_idx c, fnn_idx s, const double *x,
                                const double *dy, const double *gamma, const double *mean,
                                const double *inv_std, double *dx, double *dgamma,
                                double *dbeta, int n_threads);

#endif
