# Contract of the pooling C kernels (src_c/pool.h) for Cython modules.
#
# Channels first, no padding: x (n, C, H, W) -> y (n, C, OH, OW) with the geometry of
# fnn_conv_geom (conv.h; f = c, pt = pl = 0, dh = dw = 1). argmax holds, per output
# element, the flat index h * W + w in its input plane of the window's first maximum
# (a NaN counts as the maximum). The global pool views x as (rows, s) = (n * C, H * W).

from .conv cimport fnn_conv_geom

cdef extern from "pool.h" nogil:
    void fnn_maxpool_forward_f32(const fnn_conv_geom *g, Py_ssize_t n, const float *x,
                                 float *y, Py_ssize_t *argmax, int n_threads)
    void fnn_maxpool_forward_f64(const fnn_conv_geom *g, Py_ssize_t n, const double *x,
                                 double *y, Py_ssize_t *argmax, int n_threads)
    void fnn_maxpool_backward_f32(const fnn_conv_geom *g, Py_ssize_t n, const float *dy,
                                  const Py_ssize_t *argmax, float *dx, int n_threads)
    void fnn_maxpool_backward_f64(const fnn_conv_geom *g, Py_ssize_t n, const double *dy,
                                  const Py_ssize_t *argmax, double *dx, int n_threads)

    void fnn_avgpool_forward_f32(const fnn_conv_geom *g, Py_ssize_t n, const float *x,
                                 float *y, int n_threads)
    void fnn_avgpool_forward_f64(const fnn_conv_geom *g, Py_ssize_t n, const double *x,
                                 double *y, int n_threads)
    void fnn_avgpool_backward_f32(const fnn_conv_geom *g, Py_ssize_t n, const float *dy,
                                  float *dx, int n_threads)
    void fnn_avgpool_backward_f64(const fnn_conv_geom *g, Py_ssize_t n, const double *dy,
                                  double *dx, int n_threads)

    void fnn_global_avgpool_forward_f32(Py_ssize_t rows, Py_ssize_t s, const float *x,
                                        float *y, int n_threads)
    void fnn_global_avgpool_forward_f64(Py_ssize_t rows, Py_ssize_t s, const double *x,
                                        double *y, int n_threads)
    void fnn_global_avgpool_backward_f32(Py_ssize_t rows, Py_ssize_t s, const float *dy,
                                         float *dx, int n_threads)
    void fnn_global_avgpool_backward_f64(Py_ssize_t rows, Py_ssize_t s, const double *dy,
                                         double *dx, int n_threads)

    void fnn_time_avgpool_forward_f32(Py_ssize_t n, Py_ssize_t t, Py_ssize_t f,
                                      const float *x, float *y, int n_threads)
    void fnn_time_avgpool_forward_f64(Py_ssize_t n, Py_ssize_t t, Py_ssize_t f,
                                      const double *x, double *y, int n_threads)
    void fnn_time_avgpool_backward_f32(Py_ssize_t n, Py_ssize_t t, Py_ssize_t f,
                                       const float *dy, float *dx, int n_threads)
    void fnn_time_avgpool_backward_f64(Py_ssize_t n, Py_ssize_t t, Py_ssize_t f,
                                       const double *dy, double *dx, int n_threads)
