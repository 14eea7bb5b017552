/* plan.c -- the fused training loop; the bodies are in plan_impl.h. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "activations.h"
#include "batchnorm.h"
#include "conv.h"
#include "dense.h"
#include "dropout.h"
#include "embedding.h"
#include "layernorm.h"
#include "losses.h"
#include "optimizers.h"
#include "plan.h"
#include "pool.h"
#include "residual.h"

/* Monotonic wall time in nanoseconds (for the signal polls). */
static long long fnn_plan_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Between two batches: 1 if FNN_PLAN_POLL_NS have passed since *polled and the poll
 * reports a signal (p->interrupted is then set), else 0. */
static int fnn_plan_poll_due(fnn_plan *p, long long *polled)
{
    const long long now = fnn_plan_now_ns();
    if (now - *polled < FNN_PLAN_POLL_NS) return 0;
    *polled = now;
    if (!p->poll(p->poll_ctx)) return 0;
    p->interrupted = 1;
    return 1;
}

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "plan_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_GEMM_T fnn_gemm_f32_fn
#define FNN_COLS_VARIANT_T fnn_sgemm_variant /* the active-column kernels */
#define FNN_COLS_PICK fnn_sgemm_pick
#define FNN_PLAN_POOLED 1 /* float32 only: conv + max pooling backward as one */
#define FNN_REAL_IS_DOUBLE 0
#include "fnn_each_level.h"
#include "plan_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
#undef FNN_COLS_VARIANT_T
#undef FNN_COLS_PICK
#undef FNN_PLAN_POOLED
#undef FNN_REAL_IS_DOUBLE

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_GEMM_T fnn_gemm_f64_fn
#define FNN_COLS_VARIANT_T fnn_dgemm_variant
#define FNN_COLS_PICK fnn_dgemm_pick
#define FNN_REAL_IS_DOUBLE 1
#include "fnn_each_level.h"
#include "plan_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
#undef FNN_COLS_VARIANT_T
#undef FNN_COLS_PICK
#undef FNN_REAL_IS_DOUBLE

fnn_idx fnn_plan_train(fnn_plan *p, const void *X, fnn_idx n_rows, const void *targets,
                       const void *sample_weight, const fnn_idx *perm, fnn_idx first_batch,
                       fnn_idx last_batch, double *loss_sum, double *correct, fnn_idx *seen)
{
    if (p->dtype_size == 4)
        return plan_train_f32(p, X, n_rows, targets, sample_weight, perm, first_batch,
                              last_batch, loss_sum, correct, seen);
    return plan_train_f64(p, X, n_rows, targets, sample_weight, perm, first_batch, last_batch,
                          loss_sum, correct, seen);
}

void fnn_plan_predict(fnn_plan *p, const void *X, fnn_idx n, void *out)
{
    if (p->dtype_size == 4)
        plan_predict_f32(p, X, n, out);
    else
        plan_predict_f64(p, X, n, out);
}
