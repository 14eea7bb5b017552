# Contract of the recurrent kernels (src_c/recurrent.h) for Cython modules.
#
# The steps of a SimpleRNN (tanh/relu), GRU or LSTM cell, time-major: (t, n, .) arrays
# hold step t's rows contiguously. The forward takes the input projections in `gates`
# and leaves the activated gates there; hs gets each step's state, aux GRU's
# h W_hn^T + b_hn or LSTM's cell state. The backward writes the gates' pre-activation
# gradients (dgx; GRU's recurrent ones to dgh) and dL/dh0, dL/dc0. `work` holds
# fnn_recurrent_workspace(cell, n, h) elements. Call between matmul's blas_hold() and
# blas_release(): the step products run on the GEMM team.

from libc.stdint cimport int64_t

from .matmul cimport fnn_gemm_f32_fn, fnn_gemm_f64_fn

cdef extern from "recurrent.h" nogil:
    int FNN_CELL_TANH, FNN_CELL_RELU, FNN_CELL_GRU, FNN_CELL_LSTM
    int fnn_cell_gates(int cell)
    Py_ssize_t fnn_recurrent_workspace(int cell, Py_ssize_t n, Py_ssize_t h)
    void fnn_recurrent_forward_f32(fnn_gemm_f32_fn gemm, int cell, Py_ssize_t t_steps,
                                   Py_ssize_t n, Py_ssize_t h, float *gates,
                                   const float *whh_t, const float *bhh, const float *h0,
                                   const float *c0, const int64_t *lengths, float *hs,
                                   float *aux, float *work, int n_threads)
    void fnn_recurrent_forward_f64(fnn_gemm_f64_fn gemm, int cell, Py_ssize_t t_steps,
                                   Py_ssize_t n, Py_ssize_t h, double *gates,
                                   const double *whh_t, const double *bhh, const double *h0,
                                   const double *c0, const int64_t *lengths, double *hs,
                                   double *aux, double *work, int n_threads)
    void fnn_recurrent_backward_f32(fnn_gemm_f32_fn gemm, int cell, Py_ssize_t t_steps,
                                    Py_ssize_t n, Py_ssize_t h, const float *dhs,
                                    const float *dh_n, const float *dc_n, const float *gates,
                                    const float *hs, const float *aux, const float *h0,
                                    const float *c0, const float *whh, const int64_t *lengths,
                                    float *dgx, float *dgh, float *dh0, float *dc0,
                                    float *work, int n_threads)
    void fnn_recurrent_backward_f64(fnn_gemm_f64_fn gemm, int cell, Py_ssize_t t_steps,
                                    Py_ssize_t n, Py_ssize_t h, const double *dhs,
                                    const double *dh_n, const double *dc_n,
                                    const double *gates, const double *hs, const double *aux,
                                    const double *h0, const double *c0, const double *whh,
                                    const int64_t *lengths, double *dgx, double *dgh,
                                    double *dh0, double *dc0, double *work, int n_threads)
