# Contract of the layer-normalization C kernels (src_c/layernorm.h) for Cython modules.
#
# x is viewed as (r, d): r rows of d features. Statistics per row over its d values,
# summed in double in an order fixed by the shape. Forward writes y (may alias x), mean
# and inv_std (r). Backward writes dgamma, dbeta (d; summed over the rows, each column
# by one thread) and dx (dx NULL: skipped; dx may alias dy).

cdef extern from "layernorm.h" nogil:
    void fnn_layernorm_forward_f32(Py_ssize_t r, Py_ssize_t d, const float *x,
                                   const float *gamma, const float *beta, float *y,
                                   float *mean, float *inv_std, double eps, int n_threads)
    void fnn_layernorm_forward_f64(Py_ssize_t r, Py_ssize_t d, const double *x,
                                   const double *gamma, const double *beta, double *y,
                                   double *mean, double *inv_std, double eps, int n_threads)
    void fnn_layernorm_backward_f32(Py_ssize_t r, Py_ssize_t d, const float *x,
                                    const float *dy, const float *gamma, const float *mean,
                                    const float *inv_std, float *dx, float *dgamma,
                                    float *dbeta, int n_threads)
    void fnn_layernorm_backward_f64(Py_ssize_t r, Py_ssize_t d, const double *x,
                                    const double *dy, const double *gamma,
                                    const double *mean, const double *inv_std, double *dx,
                                    double *dgamma, double *dbeta, int n_threads)
