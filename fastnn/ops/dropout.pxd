# Contract of the dropout C kernels (src_c/dropout.h) for Cython modules.

from libc.stdint cimport uint64_t

cdef extern from "dropout.h" nogil:
    void fnn_dropout_forward_f32(Py_ssize_t n, const float *x, float *y, float *mask,
                                 double rate, uint64_t seed, uint64_t offset, int n_threads)
    void fnn_dropout_forward_f64(Py_ssize_t n, const double *x, double *y, double *mask,
                                 double rate, uint64_t seed, uint64_t offset, int n_threads)
    void fnn_dropout_backward_f32(Py_ssize_t n, const float *dy, const float *mask, float *dx,
                                  int n_threads)
    void fnn_dropout_backward_f64(Py_ssize_t n, const double *dy, const double *mask,
                                  double *dx, int n_threads)
