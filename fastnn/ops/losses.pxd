# Contract of the loss C kernels (src_c/losses.h) for Cython modules.

cdef extern from "losses.h" nogil:
    double fnn_mse_f32(Py_ssize_t n, Py_ssize_t d, const float *pred, const float *target,
                       const float *weight, float *grad, double *row_loss, int n_threads)
    double fnn_mse_f64(Py_ssize_t n, Py_ssize_t d, const double *pred, const double *target,
                       const double *weight, double *grad, double *row_loss, int n_threads)
    double fnn_softmax_xent_labels_f32(Py_ssize_t n, Py_ssize_t c, const float *logits,
                                       const Py_ssize_t *labels, const float *weight,
                                       float *grad, double *row_loss, int n_threads)
    double fnn_softmax_xent_labels_f64(Py_ssize_t n, Py_ssize_t c, const double *logits,
                                       const Py_ssize_t *labels, const double *weight,
                                       double *grad, double *row_loss, int n_threads)
    double fnn_softmax_xent_probs_f32(Py_ssize_t n, Py_ssize_t c, const float *logits,
                                      const float *target, const float *weight, float *grad,
                                      double *row_loss, int n_threads)
    double fnn_softmax_xent_probs_f64(Py_ssize_t n, Py_ssize_t c, const double *logits,
                                      const double *target, const double *weight,
                                      double *grad, double *row_loss, int n_threads)
    double fnn_binary_xent_f32(Py_ssize_t n, Py_ssize_t d, const float *logits,
                               const float *target, const float *weight, float *grad,
                               double *row_loss, int n_threads)
    double fnn_binary_xent_f64(Py_ssize_t n, Py_ssize_t d, const double *logits,
                               const double *target, const double *weight, double *grad,
                               double *row_loss, int n_threads)
