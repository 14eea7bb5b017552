# Contract of the 2-D convolution C kernels (src_c/conv.h) for Cython modules.
#
# Layout (channels first): x (n, C, H, W), w (F, C, KH, KW), b (F), y (n, F, OH, OW);
# im2col's matrix cols is (C*KH*KW, n*OH*OW). The products go through fnn_gemm_team
# (src_c/matmul.h) with the GEMM pointer passed in: fastnn.ops.matmul's gemm_f32 /
# gemm_f64, called between blas_hold() and blas_release().

from .matmul cimport fnn_gemm_f32_fn, fnn_gemm_f64_fn

cdef extern from "conv.h" nogil:
    ctypedef struct fnn_conv_geom:
        Py_ssize_t c, h, w      # input channels, height, width
        Py_ssize_t f, oh, ow    # filters, output height, width
        Py_ssize_t kh, kw       # kernel (or pool window)
        Py_ssize_t sh, sw       # stride
        Py_ssize_t pt, pl       # top / left zero padding
        Py_ssize_t dh, dw       # dilation

    void fnn_im2col_f32(const fnn_conv_geom *g, Py_ssize_t n, const float *x, float *cols,
                        int n_threads)
    void fnn_im2col_f64(const fnn_conv_geom *g, Py_ssize_t n, const double *x, double *cols,
                        int n_threads)
    void fnn_col2im_f32(const fnn_conv_geom *g, Py_ssize_t n, const float *cols, float *dx,
                        int n_threads)
    void fnn_col2im_f64(const fnn_conv_geom *g, Py_ssize_t n, const double *cols, double *dx,
                        int n_threads)

    void fnn_conv_forward_f32(fnn_gemm_f32_fn gemm, int gemm_threads, const fnn_conv_geom *g,
                              Py_ssize_t n, const float *x, const float *w, const float *b,
                              float *y, float *cols, float *tmp, int n_threads)
    void fnn_conv_forward_f64(fnn_gemm_f64_fn gemm, int gemm_threads, const fnn_conv_geom *g,
                              Py_ssize_t n, const double *x, const double *w, const double *b,
                              double *y, double *cols, double *tmp, int n_threads)

    # 1 if g takes the direct kernels (conv_variants.h): neither pass uses cols (float32 only)
    int fnn_conv_direct_f32(const fnn_conv_geom *g)
    int fnn_conv_direct_f64(const fnn_conv_geom *g)
    # samples per call of the ops here: Ctrl-C is checked between two calls
    Py_ssize_t fnn_conv_chunk_rows(const fnn_conv_geom *g, Py_ssize_t n)
    # elements of fnn_conv_backward's tmp workspace
    Py_ssize_t fnn_conv_backward_tmp(const fnn_conv_geom *g, Py_ssize_t n)
    void fnn_conv_backward_f32(fnn_gemm_f32_fn gemm, int gemm_threads,
                               const fnn_conv_geom *g, Py_ssize_t n, const float *x,
                               float *cols,
                               const float *w, const float *dy, float *dx, float *dw,
                               float *db, float *tmp, float *dcols, int n_threads)
    void fnn_conv_backward_f64(fnn_gemm_f64_fn gemm, int gemm_threads,
                               const fnn_conv_geom *g, Py_ssize_t n, const double *x,
                               double *cols,
                               const double *w, const double *dy, double *dx, double *dw,
                               double *db, double *tmp, double *dcols, int n_threads)


cdef extern from "conv_variants.h" nogil:
    # dW, db of a conv on the direct kernels from the gradient of the max pooling right
    # after it (float32, the conv family; fnn_conv_pooled_dw_ok says when g and pg take it)
    int fnn_conv_pooled_dw_ok(const fnn_conv_geom *g, const fnn_conv_geom *pg)
    # forward and dW as implicit GEMMs, no im2col (float32, the conv family, stride 1, unpadded,
    # at most 32 filters; fnn_conv_implicit_ok says when g takes them)
    int fnn_conv_implicit_ok(const fnn_conv_geom *g)
    # dx likewise, without dcols (also narrow input rows: fnn_conv_implicit_dx_ok)
    int fnn_conv_implicit_dx_ok(const fnn_conv_geom *g)

cdef extern from "conv.h" nogil:
    # fnn_conv_pooled_dw over all filters, split over n_threads (n = 0: dw, db zeroed)
    void fnn_conv_pooled_dw_run(const fnn_conv_geom *g, const fnn_conv_geom *pg,
                                Py_ssize_t n, const float *x, const float *gp,
                                const Py_ssize_t *argmax, float *dw, float *db, int n_threads)
