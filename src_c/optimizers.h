/* optimizers.h -- in-place parameter updates, one fused pass over each array.
 *
 * Conventions follow PyTorch. `weight_decay` adds weight_decay * param to the gradient
 * (L2), except with decoupled = 1 (AdamW), where param is first multiplied by
 * (1 - lr * weight_decay). State arrays have the parameter's size. An optional state
 * pointer is NULL when the variant that needs it is off.
 */
#ifndef FNN_OPTIMIZERS_H
#define FNN_OPTIMIZERS_H

#include "fnn_common.h"

/* SGD: g = grad + wd * p; with momentum: v = momentum * v + g, and g = v (or
 * g + momentum * v with nesterov); p -= lr * g. velocity may be NULL if momentum == 0. */
void fnn_sgd_f32(fnn_idx n, float *param, const float *grad, float *velocity, double lr,
                 double momentum, int nesterov, double weight_decay, int n_threads);
void fnn_sgd_f64(fnn_idx n, double *param, const double *grad, double *velocity, double lr,
                 double momentum, int nesterov, double weight_decay, int n_threads);

/* Adam / AdamW, step = 1, 2, ... (for bias correction):
 * m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  (amsgrad: v_max = max(v_max, v))
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). v_max NULL = no amsgrad. */
void fnn_adam_f32(fnn_idx n, float *param, const float *grad, float *m, float *v,
                  float *v_max, long long step, double lr, double beta1, double beta2,
                  double eps, double weight_decay, int decoupled, int n_threads);
void fnn_adam_f64(fnn_idx n, double *param, const double *grad, double *m, double *v,
                  double *v_max, long long step, double lr, double beta1, double beta2,
                  double eps, double weight_decay, int decoupled, int n_threads);

/* RMSprop: s = rho s + (1 - rho) g^2; (centered: a = rho a + (1 - rho) g, s - a^2 is used)
 * r = g / (sqrt(...) + eps); with momentum: b = momentum b + r, p -= lr b; else p -= lr r.
 * grad_avg NULL = not centered; velocity NULL = no momentum. */
void fnn_rmsprop_f32(fnn_idx n, float *param, const float *grad, float *square_avg,
                     float *grad_avg, float *velocity, double lr, double rho, double eps,
                     double weight_decay, double momentum, int n_threads);
void fnn_rmsprop_f64(fnn_idx n, double *param, const double *grad, double *square_avg,
                     double *grad_avg, double *velocity, double lr, double rho, double eps,
                     double weight_decay, double momentum, int n_threads);

/* sum(x^2) in double, with a summation order fixed by n alone (not by the threads). */
double fnn_sum_squares_f32(fnn_idx n, const float *x, int n_threads);
double fnn_sum_squares_f64(fnn_idx n, const double *x, int n_threads);

/* x *= factor */
void fnn_scale_f32(fnn_idx n, float *x, double factor, int n_threads);
void fnn_scale_f64(fnn_idx n, double *x, double factor, int n_threads);

#endif
