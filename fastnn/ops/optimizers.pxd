# Contract of the optimizer C kernels (src_c/optimizers.h) for Cython modules.

cdef extern from "optimizers.h" nogil:
    void fnn_sgd_f32(Py_ssize_t n, float *param, const float *grad, float *velocity,
                     double lr, double momentum, int nesterov, double weight_decay,
                     int n_threads)
    void fnn_sgd_f64(Py_ssize_t n, double *param, const double *grad, double *velocity,
                     double lr, double momentum, int nesterov, double weight_decay,
                     int n_threads)
    void fnn_adam_f32(Py_ssize_t n, float *param, const float *grad, float *m, float *v,
                      float *v_max, long long step, double lr, double beta1, double beta2,
                      double eps, double weight_decay, int decoupled, int n_threads)
    void fnn_adam_f64(Py_ssize_t n, double *param, const double *grad, double *m, double *v,
                      double *v_max, long long step, double lr, double beta1, double beta2,
                      double eps, double weight_decay, int decoupled, int n_threads)
    void fnn_rmsprop_f32(Py_ssize_t n, float *param, const float *grad, float *square_avg,
                         float *grad_avg, float *velocity, double lr, double rho, double eps,
                         double weight_decay, double momentum, int n_threads)
    void fnn_rmsprop_f64(Py_ssize_t n, double *param, const double *grad, double *square_avg,
                         double *grad_avg, double *velocity, double lr, double rho,
                         double eps, double weight_decay, double momentum, int n_threads)
    double fnn_sum_squares_f32(Py_ssize_t n, const float *x, int n_threads)
    double fnn_sum_squares_f64(Py_ssize_t n, const double *x, int n_threads)
    void fnn_scale_f32(Py_ssize_t n, float *x, double factor, int n_threads)
    void fnn_scale_f64(Py_ssize_t n, double *x, double factor, int n_threads)
