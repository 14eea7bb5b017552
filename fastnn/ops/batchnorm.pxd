# Contract of the batch-normalization C kernels (src_c/batchnorm.h) for Cython modules.
#
# x is viewed as (n, C, S), S the spatial size (1 for (n, C) input). Statistics per
# channel over the n * S values, summed in double in an order fixed by the shape.
# Training writes mean / inv_std (C) and updates running_mean / running_var in place
# (both NULL: not tracked; running_var with the unbiased variance). Backward writes
# dgamma, dbeta and dx (dx NULL: skipped; dx may alias dy).

cdef extern from "batchnorm.h" nogil:
    void fnn_batchnorm_forward_train_f32(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s,
                                         const float *x, const float *gamma,
                                         const float *beta, float *y, float *mean,
                                         float *inv_std, float *running_mean,
                                         float *running_var, double momentum, double eps,
                                         int n_threads)
    void fnn_batchnorm_forward_train_f64(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s,
                                         const double *x, const double *gamma,
                                         const double *beta, double *y, double *mean,
                                         double *inv_std, double *running_mean,
                                         double *running_var, double momentum, double eps,
                                         int n_threads)
    void fnn_batchnorm_forward_infer_f32(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s,
                                         const float *x, const float *gamma,
                                         const float *beta, const float *running_mean,
                                         const float *running_var, double eps, float *y,
                                         int n_threads)
    void fnn_batchnorm_forward_infer_f64(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s,
                                         const double *x, const double *gamma,
                                         const double *beta, const double *running_mean,
                                         const double *running_var, double eps, double *y,
                                         int n_threads)
    void fnn_batchnorm_backward_f32(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s, const float *x,
                                    const float *dy, const float *gamma, const float *mean,
                                    const float *inv_std, float *dx, float *dgamma,
                                    float *dbeta, int n_threads)
    void fnn_batchnorm_backward_f64(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s,
                                    const double *x, const double *dy, const double *gamma,
                                    const double *mean, const double *inv_std, double *dx,
                                    double *dgamma, double *dbeta, int n_threads)
