/* activations.h -- activation functions, forward and backward.
 *
 * Every activation has the same two signatures, so callers can pick one from a table:
 *   forward:  y  = f(x)                    over a (rows, cols) row-major block
 *   backward: dx = dy * f'(x)              (softmax/log_softmax: the row-wise Jacobian)
 * `alpha` is the slope of leaky_relu and the scale of elu; other activations ignore it.
 * The backward gets both the forward input x and output y and uses the cheaper one.
 * `y` may be the same array as `x` (in place); `dx` may be the same array as `dy`.
 */
#ifndef FNN_ACTIVATIONS_H
#define FNN_ACTIVATIONS_H

#include "fnn_common.h"

enum fnn_activation {
    FNN_IDENTITY = 0,
    FNN_SIGMOID = 1,
    FNN_TANH = 2,
    FNN_RELU = 3,
    FNN_LEAKY_RELU = 4,
    FNN_ELU = 5,
    FNN_GELU = 6,
    FNN_SOFTMAX = 7,
    FNN_LOG_SOFTMAX = 8,
    FNN_N_ACTIVATIONS = 9
};

typedef void (*fnn_act_forward_f32)(fnn_idx rows, fnn_idx cols, const float *x, float *y,
                                    float alpha, int n_threads);
typedef void (*fnn_act_backward_f32)(fnn_idx rows, fnn_idx cols, const float *dy,
                                     const float *x, const float *y, float *dx, float alpha,
                                     int n_threads);
typedef void (*fnn_act_forward_f64)(fnn_idx rows, fnn_idx cols, const double *x, double *y,
                                    double alpha, int n_threads);
typedef void (*fnn_act_backward_f64)(fnn_idx rows, fnn_idx cols, const double *dy,
                                     const double *x, const double *y, double *dx,
                                     double alpha, int n_threads);

/* Look-up by enum fnn_activation; NULL for an unknown code. */
fnn_act_forward_f32 fnn_activation_forward_f32(int kind);
fnn_act_backward_f32 fnn_activation_backward_f32(int kind);
fnn_act_forward_f64 fnn_activation_forward_f64(int kind);
fnn_act_backward_f64 fnn_activation_backward_f64(int kind);

#define FNN_DECLARE_ACTIVATION(name)                                                        \
    void fnn_##name##_forward_f32(fnn_idx rows, fnn_idx cols, const float *x, float *y,     \
                                  float alpha, int n_threads);                             \
    void fnn_##name##_backward_f32(fnn_idx rows, fnn_idx cols, const float *dy,             \
                                   const float *x, const float *y, float *dx, float alpha,  \
                                   int n_threads);                                         \
    void fnn_##name##_forward_f64(fnn_idx rows, fnn_idx cols, const double *x, double *y,   \
                                  double alpha, int n_threads);                            \
    void fnn_##name##_backward_f64(fnn_idx rows, fnn_idx cols, const double *dy,            \
                                   const double *x, const double *y, double *dx,           \
                                   double alpha, int n_threads);

FNN_DECLARE_ACTIVATION(identity)
FNN_DECLARE_ACTIVATION(sigmoid)
FNN_DECLARE_ACTIVATION(tanh)
FNN_DECLARE_ACTIVATION(relu)
FNN_DECLARE_ACTIVATION(leaky_relu)
FNN_DECLARE_ACTIVATION(elu)
FNN_DECLARE_ACTIVATION(gelu)
FNN_DECLARE_ACTIVATION(softmax)
FNN_DECLARE_ACTIVATION(log_softmax)

#endif
