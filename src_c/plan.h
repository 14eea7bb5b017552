/* plan.h -- a whole training epoch in C: the "fused plan" behind Sequential.fit.
 *
 * A plan is a list of steps (dense, activation, dropout, conv, pooling, batchnorm, and
 * the two ends of a residual block; flatten and reshape need no step since each
 * sample's values stay contiguous), a loss and an optimizer, with every buffer allocated once for
 * the largest batch. fnn_plan_train_* runs a range of mini-batches -- gather the rows of
 * the batch (in the shuffled order `perm`), forward, loss and its gradient, backward,
 * optimizer update -- without returning to Python and without allocating.
 *
 * Arrays are `void *` so one struct serves float and double; `dtype_size` says which.
 * The matrix products go through `gemm`, a row-major GEMM supplied by the caller (fastnn
 * passes SciPy's BLAS), split over `gemm_threads` OpenMP threads (src_c/matmul.h): the
 * caller keeps BLAS itself at one thread while the plan runs.
 */
#ifndef FNN_PLAN_H
#define FNN_PLAN_H

#include <stdint.h>

#include "fnn_common.h"
#include "conv.h"
#include "gemm_variants.h"
#include "matmul.h"
#include "recurrent.h"

enum fnn_step_kind {
    FNN_STEP_DENSE = 0,
    FNN_STEP_ACTIVATION = 1,
    FNN_STEP_DROPOUT = 2,
    FNN_STEP_CONV = 3,           /* conv.h: im2col + GEMM; W (F, C, KH, KW) */
    FNN_STEP_MAXPOOL = 4,        /* pool.h */
    FNN_STEP_AVGPOOL = 5,
    FNN_STEP_GLOBAL_AVGPOOL = 6, /* (n, channels, spatial) -> (n, channels) */
    FNN_STEP_BATCHNORM = 7,      /* batchnorm.h; W = gamma, b = beta */
    FNN_STEP_RES_BEGIN = 8,      /* marks a residual block's input (no compute forward;
                                    backward adds the skip connection's gradient) */
    FNN_STEP_RES_END = 9,        /* y = inner output + x_begin, or + projection(x_begin) */
    FNN_STEP_RECURRENT = 10,     /* recurrent.h: SimpleRNN, GRU or LSTM (fnn_plan_rnn) */
    FNN_STEP_LAYERNORM = 11,     /* layernorm.h: rows of `channels` features; W = gamma,
                                    b = beta, mean / inv_std per row */
    FNN_STEP_EMBEDDING = 12,     /* embedding.h: the first step; X holds indices */
    FNN_STEP_PYTHON = 13,        /* a user's layer: its own forward and backward, called
                                    back through fnn_plan.call (plan_steps/python.h) */
    FNN_STEP_TIME_AVGPOOL = 14,  /* (n, spatial = steps, channels = features) -> (n, channels) */
    FNN_STEP_BIDIRECTIONAL = 15, /* bidirectional.h: two recurrent steps (dirs), one reading
                                    backwards, their outputs merged (enum fnn_merge) */
    FNN_STEP_KINDS = 16          /* the number of kinds; each has its forward and backward
                                    in src_c/plan_steps/ and an entry in the table there */
};

/* How a bidirectional step joins its two directions' outputs (fastnn's Bidirectional
 * merge_mode): concat puts the forward direction's features first; ave is (f + b) * 0.5. */
enum fnn_merge { FNN_MERGE_CONCAT = 0, FNN_MERGE_SUM = 1, FNN_MERGE_MUL = 2, FNN_MERGE_AVE = 3 };

enum fnn_proj { FNN_PROJ_NONE = 0, FNN_PROJ_DENSE = 1, FNN_PROJ_CONV = 2 };

enum fnn_loss_kind {
    FNN_LOSS_MSE = 0,
    FNN_LOSS_SQUARED_ERROR = 1, /* 0.5 * sum_j (a_j - y_j)^2, mean over the batch */
    FNN_LOSS_XENT_LABELS = 2,   /* softmax cross-entropy, integer labels */
    FNN_LOSS_XENT_PROBS = 3,    /* softmax cross-entropy, probability targets */
    FNN_LOSS_BINARY_XENT = 4    /* sigmoid cross-entropy from logits */
};

enum fnn_fused_w0 { FNN_FUSED_NONE = 0, FNN_FUSED_SGD = 1, FNN_FUSED_ADAM = 2 };

/* How a batch reaches a dense first layer (plan_impl.h):
 *   FNN_COLS_NONE     rows gathered whole; BLAS (or fastnn's small kernels) over all columns
 *   FNN_COLS_KERNELS  small batches: fastnn's active-column kernels (see below)
 *   FNN_COLS_COMPACT  larger batches, any dtype: the batch's active columns are packed
 *                     into xb, the matching rows of W into wact, and both products
 *                     of the layer run through BLAS with k = active columns; dW is then
 *                     spread back to full size with zero rows for the inactive columns.
 *                     Taken per batch when at least 1/8 of the columns are inactive. */
enum fnn_cols_mode { FNN_COLS_NONE = 0, FNN_COLS_KERNELS = 1, FNN_COLS_COMPACT = 2 };

/* Smallest first-layer width for FNN_COLS_COMPACT: narrower layers do too few flops per
 * input element to pay for the scan of the batch. */
#ifndef FNN_PLAN_COMPACT_MIN_OUT
#define FNN_PLAN_COMPACT_MIN_OUT 64
#endif

/* Elements of the plan's gblock: one block of the first layer's dW (32 KiB of float,
 * 64 KiB of double). */
#define FNN_PLAN_GBLOCK 8192

/* Largest batch whose first layer runs on the active-column kernels: up to
 * FNN_PLAN_COLS_ROWS_ANY rows on any thread count; up to FNN_PLAN_COLS_ROWS on one thread
 * (the kernels run on one thread; above 128 rows two threads of BLAS over the active
 * columns, FNN_COLS_COMPACT, are as fast). Measured on MNIST, epoch of 60,000 rows:
 * 784-128-10 at batch 128 takes 0.18 s instead of 0.28 on one thread, and 0.18-0.20 s
 * instead of 0.28 on two; 784-512-10 at batch 256 on two threads, 0.60 s against 0.50-0.56
 * for compact BLAS; at 512 and 1024 rows the unpacked kernels lose to BLAS. */
#ifndef FNN_PLAN_COLS_ROWS
#define FNN_PLAN_COLS_ROWS 256
#endif
#ifndef FNN_PLAN_COLS_ROWS_ANY
#define FNN_PLAN_COLS_ROWS_ANY 128
#endif

/* Largest batch of rows (bytes of X) whose rows the plan prefetches while the batch before
 * it trains (plan_impl.h: prefetch_rows): a small batch's rows, which fit in L2. */
#ifndef FNN_PLAN_PREFETCH_BYTES
#define FNN_PLAN_PREFETCH_BYTES (128 * 1024)
#endif

enum fnn_optimizer_kind { FNN_OPT_SGD = 0, FNN_OPT_ADAM = 1, FNN_OPT_ADAMW = 2, FNN_OPT_RMSPROP = 3 };

/* A recurrent step's own fields (plan_steps/recurrent.h). The step's W, b, dW, db are
 * W_ih (g * units, features), b_ih and their gradients; the buffers are time-major,
 * sized for the plan's batch. */
typedef struct {
    int cell;                  /* enum fnn_cell */
    int return_sequences;      /* output every step's state, else the last one */
    int go_backwards;          /* read each sequence from its end (its padding stays last) */
    int masked;                /* trailing steps whose features all equal mask_value are
                                  padding: per-row lengths (recurrent.h) */
    double mask_value;
    int64_t *lengths;          /* masked: batch entries */
    fnn_idx t_steps, units;    /* features per step: the step's in_dim / t_steps */
    void *whh, *bhh, *dwhh, *dbhh; /* W_hh (g * units, units), b_hh (NULL: none), grads */
    void *bzero;               /* g * units zeros: b_hh of a layer without biases */
    void *whh_t;               /* W_hh transposed, formed per forward */
    void *xt, *gates, *hs, *aux; /* the input, time-major; the forward's cache */
    void *work;                /* fnn_recurrent_workspace + units * batch (dL/dh0) */
    void *dgx, *dgh, *dhs, *dxt; /* backward: dgh for GRU only */
} fnn_plan_rnn;

typedef struct fnn_step {
    int kind;                  /* enum fnn_step_kind */
    fnn_idx in_dim, out_dim;   /* features per sample going in and out */
    /* dense: W (in_dim / spatial, out_dim / spatial), b or NULL, and their gradients;
     * spatial: rows of W's inputs per sample (1, or a sequence's steps) */
    void *W, *b, *dW, *db;
    int trainable;
    int param_index;           /* W's index in the optimizer's lists; b follows it */
    /* activation */
    int activation;            /* enum fnn_activation */
    double alpha;
    /* dropout: mask of element i is hash(seed, offset + i); offset advances per batch */
    double rate;
    uint64_t seed, offset;
    void *mask;                /* batch * in_dim */
    /* conv (and a conv projection of res_end), pools: geometry (conv.h) */
    fnn_conv_geom geom;
    void *cols;                /* conv: its im2col workspace (conv.h), batch-sized */
    fnn_idx *argmax;           /* maxpool: batch * out_dim */
    int pooled;                /* maxpool: 1 + the index of the conv step just before it
                                  when backward runs the two as one (float32: the conv on
                                  the direct kernels, fnn_conv_pooled_dw in
                                  conv_variants.h); 0: apart */
    /* batchnorm (W = gamma, b = beta, dW / db their gradients) and global_avgpool: the
     * input seen as (n, channels, spatial); layernorm: rows of `channels` features;
     * time_avgpool: the input seen as (n, spatial, channels), steps by features */
    fnn_idx channels, spatial;
    void *running_mean, *running_var; /* batchnorm: updated in training */
    void *mean, *inv_std;      /* batchnorm: the batch's statistics, for backward */
    double momentum, eps;
    /* residual: res_begin and res_end point at each other (step indices) */
    int partner;
    int proj;                  /* res_end: the skip connection's projection (enum
                                  fnn_proj), with W, b, dW, db (and geom, cols for a
                                  conv) of this step */
    void *skip;                /* res_end: gradient w.r.t. the block's input through the
                                  skip connection, batch * (block input features) */
    void *y;                   /* this step's output, batch * out_dim */
    const void *x;             /* this step's input in the last forward pass (set by it) */
    fnn_plan_rnn *rnn;         /* recurrent: its own fields */
    /* bidirectional: dirs[0] and dirs[1], recurrent steps outside the plan's list (the
     * second with go_backwards), each with its own weights, buffers and in_dim; merge
     * (enum fnn_merge); backward's workspaces: each direction's dL/d(output) (gdir,
     * batch * a direction's out_dim) and the backward direction's dL/dx (batch * in_dim) */
    struct fnn_step *dirs;
    int merge;
    void *gdir[2], *dx_rev;
    /* embedding: W (vocab, channels); the batch's indices (batch * in_dim); padding_idx
     * (-1: none) gets no gradient */
    fnn_idx *idx;
    fnn_idx vocab, padding_idx;
} fnn_step;

typedef struct {
    int kind;                  /* enum fnn_optimizer_kind */
    double lr, momentum, beta1, beta2, eps, weight_decay, rho;
    int nesterov, amsgrad, centered;
    long long iterations;      /* updates done so far (Adam's bias correction uses +1) */
    int n_params;
    void **param, **grad;      /* n_params arrays each */
    void **state0, **state1, **state2; /* SGD: velocity | Adam: m, v, v_max |
                                          RMSprop: square_avg, velocity, grad_avg */
    fnn_idx *size;             /* elements of each param */
    double *decay;             /* per param: factor on weight_decay (1, or 0 for a bias
                                  the optimizer leaves undecayed); NULL: all 1 */
    /* Gradient clipping before each update (0: off): every gradient element clamped to
     * [-clipvalue, clipvalue], then all gradients scaled by clipnorm / (norm + 1e-6) when
     * their global L2 norm exceeds clipnorm (fastnn.optimizers.Optimizer). It needs every
     * gradient of the batch before any update, so no update is fused into backward. */
    double clipnorm, clipvalue;
} fnn_optimizer;

typedef struct {
    int dtype_size;            /* 4 (float32) or 8 (float64) */
    int n_steps;
    fnn_step *steps;
    fnn_idx batch_size;        /* largest batch the buffers hold */
    fnn_idx in_dim, out_dim;   /* features of X; outputs of the network */
    int loss;                  /* enum fnn_loss_kind */
    int fold_last;             /* 1: the last step (softmax / sigmoid) is folded into the
                                  loss: training computes the loss from its input */
    int has_weights;           /* sample weights given; a batch whose weights sum to 0 is
                                  skipped (nothing to learn from it) */
    int accuracy;              /* 0: not counted; 1: argmax of outputs vs the label (or the
                                  argmax of the target row); 2: binary, per output
                                  (output > threshold) == (target > 0.5) */
    double threshold;
    int stop_on_nonfinite;     /* 1: a non-finite batch loss stops training before the
                                  update; 0: training goes on regardless */
    int check_rows;            /* 1: gather checks each row of X it takes for NaN/inf (the
                                  first epoch of a fit, instead of a scan of X before it:
                                  the rows are read anyway); a bad row sets bad_row (its
                                  index in X) and training stops before that batch */
    fnn_idx bad_row;           /* -1, or the row of X found non-finite by check_rows */
    /* Ctrl-C: between batches, once every FNN_PLAN_POLL_NS of wall time, train and predict
     * call poll(poll_ctx) (fastnn/_plan.pyx: it takes the GIL and runs Python's pending
     * signal handlers); nonzero stops the run after the last completed batch and sets
     * interrupted. NULL: never polled. */
    int (*poll)(void *ctx);
    void *poll_ctx;
    int interrupted;
    /* A python step's forward (backward = 0: out = f(in), flag = training) and backward
     * (backward = 1: in = dL/dy; out = dL/dx, or NULL when no step below needs it, flag =
     * 1 when it does) for `rows` rows of step `step`: fastnn/_plan.pyx takes the GIL and
     * runs the layer's Python methods. Nonzero: they raised; the run stops (interrupted)
     * before the batch updates anything, and train/predict raise that exception. */
    int (*call)(void *ctx, int step, int backward, const void *in, void *out, fnn_idx rows,
                int flag);
    void *call_ctx;
    void *xb;                  /* gathered input batch, batch * in_dim */
    /* X_f32: X is float32 though the plan is float64. gather and predict widen each row
     * they take (into xb, or into xw where the first layer reads rows in place), so a
     * float32 data set trains and predicts without a float64 copy of it. float64 plans
     * only; it rules out FNN_COLS_COMPACT (which reads X's rows twice). */
    int x_f32;
    void *xw;                  /* batch * in_dim: rows widened for x_f32 */
    void *tb;                  /* gathered float targets, batch * out_dim */
    fnn_idx *lb;               /* gathered labels, batch */
    void *wb;                  /* gathered sample weights, batch */
    void *grad_a, *grad_b;     /* gradient ping-pong buffers, batch * widest */
    void *conv_tmp, *conv_dcols; /* conv workspaces (conv.h), sized for the largest conv */
    double *row_loss;          /* batch */
    /* Active columns (a CPU that runs a gemm variant, small batches
     * (FNN_PLAN_COLS_ROWS), a dense first step; see gemm_variants.h): the first layer reads the batch's rows of X in place
     * through rowp and runs its products over the columns that are nonzero in at least
     * one row, packed into xb. Its weight update is fused into backward, and its dW
     * array is left as it was: with plain SGD (no momentum, no weight decay) inside the
     * weight-gradient product, W -= lr X^T G; with Adam/AdamW block by block, each block
     * of dW formed in gblock and applied while it is in L1 (Adam is bound by memory
     * traffic, and dW is a quarter of it). cols and zcols (the active and the inactive columns, ascending) also
     * serve FNN_COLS_COMPACT, in both dtypes. */
    const void **rowp;         /* batch */
    int *cols, *zcols;         /* in_dim each */
    unsigned short *masks;     /* (in_dim + FNN_GEMM_MASK_COLS - 1) / FNN_GEMM_MASK_COLS */
    const void *kernels;       /* set per run: the gemm variant of FNN_COLS_KERNELS
                                  (fnn_sgemm_variant or fnn_dgemm_variant, by dtype) */
    int nact;                  /* active columns of the current batch */
    /* FNN_COLS_COMPACT (any dtype): act marks the batch's nonzero columns (in_dim bytes);
     * runs holds the nruns runs of consecutive active columns as (first, length) pairs
     * (2 * in_dim entries); wact receives the active rows of the first layer's W
     * (in_dim * out_dim elements). NULL: compaction off. */
    unsigned char *act;
    int *runs;
    int nruns;
    void *wact;
    fnn_idx compact_batches;   /* batches trained with FNN_COLS_COMPACT (a running count) */
    void *gblock;              /* FNN_PLAN_GBLOCK elements */
    int *gidx;                 /* FNN_PLAN_GBLOCK entries */
    int fused_w0;              /* set per run: step 0's W is updated in backward
                                  (enum fnn_fused_w0) */
    int n_threads;
    int gemm_threads;          /* threads a product may be split over */
    void *gemm;                /* fnn_gemm_f32_fn or fnn_gemm_f64_fn */
    fnn_optimizer opt;
} fnn_plan;

/* Wall time between two polls for a pending signal (p->poll): a Ctrl-C is acted on within
 * about this plus one batch. */
#define FNN_PLAN_POLL_NS 50000000LL

/* Train on mini-batches first_batch .. last_batch - 1 of the epoch whose sample order is
 * perm[0 .. n_rows). X is (n_rows, in_dim), float32 when x_f32; targets are labels (fnn_idx, n_rows) for
 * FNN_LOSS_XENT_LABELS and floats (n_rows, out_dim) otherwise; sample_weight may be NULL.
 * Adds sum over batches of (batch loss * batch rows) to *loss_sum, the correctly
 * classified samples to *correct (see `accuracy`; with several binary outputs a row adds
 * the fraction it got right), and the rows seen to *seen.
 * Returns 0, or the 1-based number of the first batch whose loss was not finite; with
 * stop_on_nonfinite the run stops there, before updating with that batch. With
 * check_rows, a non-finite row of X stops the run before its batch (see bad_row). A poll
 * that reports a signal stops it after a completed batch (see poll). */
fnn_idx fnn_plan_train(fnn_plan *p, const void *X, fnn_idx n_rows, const void *targets,
                       const void *sample_weight, const fnn_idx *perm, fnn_idx first_batch,
                       fnn_idx last_batch, double *loss_sum, double *correct, fnn_idx *seen);

/* Inference: forward n rows of X (dropout off, every step including a folded one) into
 * out (n, out_dim), batch_size rows at a time through the plan's buffers. */
void fnn_plan_predict(fnn_plan *p, const void *X, fnn_idx n, void *out);

#endif
