/* optimizers.h -- in-place parameter updates, one fused pass over each array.
 *
 * Conventions follow PyTorch. `weight_decay` adds weight_decay * param to the gradient
 * (L2), except with decoupled = 1 (AdamW), where param is first multiplied by
 * (1 - lr * weight_decay). State arrays have the parameter's size. An optional state
 * pointer is NULL when the variant that needs it is off.
 */
#ifndef FNN_OPTIMIZERS_H
#define FNN_OPTIMIZERS_H

#include "cpu.h"
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

/* Adam applied in pieces within one step (the training plan updates its first layer
 * block by block, each block right after its gradient is formed): fnn_adam_prepare
 * computes the step's coefficients once, fnn_adam_apply runs the update of fnn_adam --
 * the same arithmetic, element for element -- serially on one piece. */
typedef struct {
    float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
    float l2;           /* weight decay added to the gradient (Adam) */
    float shrink;       /* factor applied to param first (AdamW), 1 otherwise */
    float step_size;    /* lr / (1 - beta1^t) */
    float inv_sqrt_bc2; /* 1 / sqrt(1 - beta2^t) */
} fnn_adam_coefs_f32;
typedef struct {
    double beta1, one_minus_beta1, beta2, one_minus_beta2, eps, l2, shrink, step_size,
        inv_sqrt_bc2;
} fnn_adam_coefs_f64;
void fnn_adam_prepare_f32(fnn_adam_coefs_f32 *k, long long step, double lr, double beta1,
                          double beta2, double eps, double weight_decay, int decoupled);
void fnn_adam_prepare_f64(fnn_adam_coefs_f64 *k, long long step, double lr, double beta1,
                          double beta2, double eps, double weight_decay, int decoupled);
void fnn_adam_apply_f32(fnn_idx n, float *param, const float *grad, float *m, float *v,
                        float *v_max, const fnn_adam_coefs_f32 *k);
void fnn_adam_apply_f64(fnn_idx n, double *param, const double *grad, double *m, double *v,
                        double *v_max, const fnn_adam_coefs_f64 *k);

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

/* The adam family: hand-written float32 Adam/AdamW updates (fnn_adam_apply_f32 without
 * amsgrad), one per instruction set (src_c/arch/<isa>/adam_f32.c, one body in
 * src_c/arch/adam_f32_body.h), best first; fnn_adam_f32_pick() returns the one that runs
 * at the level in force, or NULL: the compiler-vectorized loop of optimizers_impl.h. */
typedef struct {
    const char *name; /* "avx512", "avx2" (the two fields of fnn_variant_head, cpu.h) */
    int isa;          /* enum fnn_isa it needs */
    void (*apply)(fnn_idx n, float *p, const float *g, float *m, float *v,
                  const fnn_adam_coefs_f32 *k);
} fnn_adam_f32_variant;
const fnn_adam_f32_variant *const *fnn_adam_f32_variants(int *count);
const fnn_adam_f32_variant *fnn_adam_f32_pick(void);

#endif
