# Contract of the residual-add C kernel (src_c/residual.h) for Cython modules:
# out = a + b elementwise (out may alias a or b).

cdef extern from "residual.h" nogil:
    void fnn_residual_add_f32(Py_ssize_t n, const float *a, const float *b, float *out,
                              int n_threads)
    void fnn_residual_add_f64(Py_ssize_t n, const double *a, const double *b, double *out,
                              int n_threads)
