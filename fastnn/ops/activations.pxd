# Contract of the activation C kernels (src_c/activations.h) for Cython modules.

cdef extern from "activations.h" nogil:
    enum fnn_activation:
        FNN_IDENTITY
        FNN_SIGMOID
        FNN_TANH
        FNN_RELU
        FNN_LEAKY_RELU
        FNN_ELU
        FNN_GELU
        FNN_SOFTMAX
        FNN_LOG_SOFTMAX
        FNN_N_ACTIVATIONS

    ctypedef void (*fnn_act_forward_f32)(Py_ssize_t rows, Py_ssize_t cols, const float *x,
                                         float *y, float alpha, int n_threads)
    ctypedef void (*fnn_act_backward_f32)(Py_ssize_t rows, Py_ssize_t cols, const float *dy,
                                          const float *x, const float *y, float *dx,
                                          float alpha, int n_threads)
    ctypedef void (*fnn_act_forward_f64)(Py_ssize_t rows, Py_ssize_t cols, const double *x,
                                         double *y, double alpha, int n_threads)
    ctypedef void (*fnn_act_backward_f64)(Py_ssize_t rows, Py_ssize_t cols, const double *dy,
                                          const double *x, const double *y, double *dx,
                                          double alpha, int n_threads)

    fnn_act_forward_f32 fnn_activation_forward_f32(int kind)
    fnn_act_backward_f32 fnn_activation_backward_f32(int kind)
    fnn_act_forward_f64 fnn_activation_forward_f64(int kind)
    fnn_act_backward_f64 fnn_activation_backward_f64(int kind)
