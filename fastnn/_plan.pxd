# The fused training plan's C side (src_c/plan.h) as Cython sees it: the step, optimizer
# and plan structs fastnn/_plan.pyx fills, and the two entry points it calls. Cython
# includes this file in _plan.pyx (same name), and other modules may cimport it.

from libc.stdint cimport int64_t, uint64_t

from .ops.conv cimport fnn_conv_geom

cdef extern from "plan.h" nogil:
    enum:
        # enum fnn_step_kind
        FNN_STEP_DENSE
        FNN_STEP_ACTIVATION
        FNN_STEP_DROPOUT
        FNN_STEP_CONV
        FNN_STEP_MAXPOOL
        FNN_STEP_AVGPOOL
        FNN_STEP_GLOBAL_AVGPOOL
        FNN_STEP_BATCHNORM
        FNN_STEP_RES_BEGIN
        FNN_STEP_RES_END
        FNN_STEP_RECURRENT
        FNN_STEP_LAYERNORM
        FNN_STEP_EMBEDDING
        FNN_STEP_PYTHON
        FNN_STEP_TIME_AVGPOOL
        FNN_STEP_BIDIRECTIONAL
        FNN_STEP_KINDS
        FNN_PLAN_COMPACT_MIN_OUT
        FNN_PLAN_GBLOCK
        # enum fnn_merge
        FNN_MERGE_CONCAT
        FNN_MERGE_SUM
        FNN_MERGE_MUL
        FNN_MERGE_AVE
        # enum fnn_proj
        FNN_PROJ_NONE
        FNN_PROJ_DENSE
        FNN_PROJ_CONV
        # enum fnn_loss_kind
        FNN_LOSS_MSE
        FNN_LOSS_SQUARED_ERROR
        FNN_LOSS_XENT_LABELS
        FNN_LOSS_XENT_PROBS
        FNN_LOSS_BINARY_XENT
        # enum fnn_optimizer_kind
        FNN_OPT_SGD
        FNN_OPT_ADAM
        FNN_OPT_ADAMW
        FNN_OPT_RMSPROP

    ctypedef struct fnn_plan_rnn:
        int cell
        int return_sequences
        int go_backwards
        int masked
        double mask_value
        int64_t *lengths
        Py_ssize_t t_steps, units
        void *whh
        void *bhh
        void *dwhh
        void *dbhh
        void *bzero
        void *whh_t
        void *xt
        void *gates
        void *hs
        void *aux
        void *work
        void *dgx
        void *dgh
        void *dhs
        void *dxt

    ctypedef struct fnn_step:
        int kind
        Py_ssize_t in_dim, out_dim
        void *W
        void *b
        void *dW
        void *db
        int trainable
        int param_index
        int activation
        double alpha
        double rate
        uint64_t seed, offset
        void *mask
        fnn_conv_geom geom
        void *cols
        Py_ssize_t *argmax
        int pooled
        Py_ssize_t channels, spatial
        void *running_mean
        void *running_var
        void *mean
        void *inv_std
        double momentum, eps
        int partner
        int proj
        void *skip
        void *y
        const void *x
        fnn_plan_rnn *rnn
        fnn_step *dirs
        int merge
        void *gdir[2]
        void *dx_rev
        Py_ssize_t *idx
        Py_ssize_t vocab, padding_idx

    ctypedef struct fnn_optimizer:
        int kind
        double lr, momentum, beta1, beta2, eps, weight_decay, rho
        int nesterov, amsgrad, centered
        long long iterations
        int n_params
        void **param
        void **grad
        void **state0
        void **state1
        void **state2
        Py_ssize_t *size
        double *decay
        double clipnorm, clipvalue

    ctypedef struct fnn_plan:
        int dtype_size
        int n_steps
        fnn_step *steps
        Py_ssize_t batch_size, in_dim, out_dim
        int loss, fold_last, has_weights, accuracy
        double threshold
        int stop_on_nonfinite
        int check_rows
        Py_ssize_t bad_row
        int (*poll)(void *ctx) noexcept nogil
        void *poll_ctx
        int interrupted
        int (*call)(void *ctx, int step, int backward, const void *inp, void *out,
                    Py_ssize_t rows, int flag) noexcept nogil
        void *call_ctx
        void *xb
        int x_f32
        void *xw
        void *tb
        Py_ssize_t *lb
        void *wb
        void *grad_a
        void *grad_b
        void *conv_tmp
        void *conv_dcols
        double *row_loss
        const void **rowp
        int *cols
        int *zcols
        unsigned short *masks
        const void *kernels
        int nact
        unsigned char *act
        int *runs
        int nruns
        void *wact
        Py_ssize_t compact_batches
        void *gblock
        int *gidx
        int fused_w0
        int n_threads
        int gemm_threads
        void *gemm
        fnn_optimizer opt

    Py_ssize_t fnn_plan_train(fnn_plan *p, const void *X, Py_ssize_t n_rows,
                              const void *targets, const void *sample_weight,
                              const Py_ssize_t *perm, Py_ssize_t first_batch,
                              Py_ssize_t last_batch, double *loss_sum, double *correct,
                              Py_ssize_t *seen)
    void fnn_plan_predict(fnn_plan *p, const void *X, Py_ssize_t n, void *out)
