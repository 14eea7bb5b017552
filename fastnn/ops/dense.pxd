# Contract of the dense-layer C kernels (src_c/dense.h) for Cython modules.

cdef extern from "dense.h" nogil:
    void fnn_bias_rows_f32(Py_ssize_t n, Py_ssize_t m, const float *b, float *y, int n_threads)
    void fnn_bias_rows_f64(Py_ssize_t n, Py_ssize_t m, const double *b, double *y, int n_threads)
    void fnn_column_sums_f32(Py_ssize_t n, Py_ssize_t m, const float *dy, float *db,
                             int accumulate, int n_threads)
    void fnn_column_sums_f64(Py_ssize_t n, Py_ssize_t m, const double *dy, double *db,
                             int accumulate, int n_threads)
