# Contract of the embedding C kernels (src_c/embedding.h) for Cython modules:
# out[s, :] = weight[idx[s], :]; dweight = 0, then dweight[idx[s], :] += dy[s, :] in index
# order (padding_idx < 0: no padding row). The indices are checked by the caller.

cdef extern from "embedding.h" nogil:
    void fnn_embedding_forward_f32(Py_ssize_t n, Py_ssize_t d, const Py_ssize_t *idx,
                                   const float *weight, float *out, int n_threads)
    void fnn_embedding_forward_f64(Py_ssize_t n, Py_ssize_t d, const Py_ssize_t *idx,
                                   const double *weight, double *out, int n_threads)
    void fnn_embedding_backward_f32(Py_ssize_t n, Py_ssize_t v, Py_ssize_t d,
                                    const Py_ssize_t *idx, const float *dy,
                                    Py_ssize_t padding_idx, float *dweight, int n_threads)
    void fnn_embedding_backward_f64(Py_ssize_t n, Py_ssize_t v, Py_ssize_t d,
                                    const Py_ssize_t *idx, const double *dy,
                                    Py_ssize_t padding_idx, double *dweight, int n_threads)
