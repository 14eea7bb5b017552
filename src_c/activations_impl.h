/* activations_impl.h -- type-generic bodies for activations.c (included once per REAL).
 *
 * An elementwise activation is written as one expression of the element; the macros
 * below wrap it into a vectorized leaf loop and a driver that splits the block over
 * threads. Read the table of expressions: that is the mathematics.
 */

#include "fnn_rows_impl.h"

#define FNN_GELU_C ((REAL)0.7978845608028654) /* sqrt(2 / pi) */
#define FNN_GELU_K ((REAL)0.044715)

/* y[i] = EXPR, where EXPR may use xi (= x[i]) and alpha. */
#define FNN_ELEMENTWISE_FORWARD(name, grain, EXPR)                                          \
    FNN_SIMD_CLONES                                                                        \
    static void FNN_SFX(name##_forward_leaf)(fnn_idx n, const REAL *x, REAL *y, REAL alpha) \
    {                                                                                      \
        (void)alpha;                                                                       \
        _Pragma("omp simd") for (fnn_idx i = 0; i < n; ++i)                                \
        {                                                                                  \
            REAL xi = x[i];                                                                \
            y[i] = (EXPR);                                                                 \
        }                                                                                  \
    }                                                                                      \
    void FNN_SFX(fnn_##name##_forward)(fnn_idx rows, fnn_idx cols, const REAL *x, REAL *y, \
                                       REAL alpha, int n_threads)                          \
    {                                                                                      \
        fnn_idx n = rows * cols;                                                           \
        FNN_FOR_CHUNKS(n, grain, n_threads, lo, len,                                       \
                       FNN_SFX(name##_forward_leaf)(len, x + lo, y + lo, alpha));          \
    }

/* dx[i] = EXPR, where EXPR may use gi (= dy[i]), xi (= x[i]), yi (= y[i]) and alpha. */
#define FNN_ELEMENTWISE_BACKWARD(name, grain, EXPR)                                         \
    FNN_SIMD_CLONES                                                                        \
    static void FNN_SFX(name##_backward_leaf)(fnn_idx n, const REAL *dy, const REAL *x,     \
                                              const REAL *y, REAL *dx, REAL alpha)         \
    {                                                                                      \
        (void)alpha;                                                                       \
        _Pragma("omp simd") for (fnn_idx i = 0; i < n; ++i)                                \
        {                                                                                  \
            REAL gi = dy[i], xi = x[i], yi = y[i];                                         \
            (void)xi;                                                                      \
            (void)yi;                                                                      \
            dx[i] = (EXPR);                                                                \
        }                                                                                  \
    }                                                                                      \
    void FNN_SFX(fnn_##name##_backward)(fnn_idx rows, fnn_idx cols, const REAL *dy,        \
                                        const REAL *x, const REAL *y, REAL *dx,            \
                                        REAL alpha, int n_threads)                         \
    {                                                                                      \
        fnn_idx n = rows * cols;                                                           \
        FNN_FOR_CHUNKS(n, grain, n_threads, lo, len,                                       \
                       FNN_SFX(name##_backward_leaf)(len, dy + lo, x + lo, y + lo, dx + lo, \
                                                     alpha));                              \
    }

/* GELU's inner tanh argument, and its derivative as a function of x and t = tanh(u). */
static inline REAL FNN_SFX(gelu_tanh)(REAL x)
{
    return FNN_SFX(fnn_tanh)(FNN_GELU_C * (x + FNN_GELU_K * x * x * x));
}

static inline REAL FNN_SFX(gelu_grad)(REAL x)
{
    REAL t = FNN_SFX(gelu_tanh)(x);
    return (REAL)0.5 * (1 + t) +
           (REAL)0.5 * x * (1 - t * t) * FNN_GELU_C * (1 + 3 * FNN_GELU_K * x * x);
}

/*                      name        work per thread   forward y = ...                     */
FNN_ELEMENTWISE_FORWARD(identity,   FNN_GRAIN_CHEAP,  xi)
FNN_ELEMENTWISE_FORWARD(sigmoid,    FNN_GRAIN_HEAVY,  FNN_SFX(fnn_sigmoid)(xi))
FNN_ELEMENTWISE_FORWARD(tanh,       FNN_GRAIN_HEAVY,  FNN_SFX(fnn_tanh)(xi))
FNN_ELEMENTWISE_FORWARD(relu,       FNN_GRAIN_CHEAP,  xi < 0 ? (REAL)0 : xi)
FNN_ELEMENTWISE_FORWARD(leaky_relu, FNN_GRAIN_CHEAP,  xi < 0 ? alpha * xi : xi)
FNN_ELEMENTWISE_FORWARD(elu,        FNN_GRAIN_HEAVY,  xi > 0 ? xi : alpha * FNN_SFX(fnn_expm1)(xi))
FNN_ELEMENTWISE_FORWARD(gelu,       FNN_GRAIN_HEAVY,  (REAL)0.5 * xi * (1 + FNN_SFX(gelu_tanh)(xi)))

/*                       name        work per thread   backward dx = ...                  */
FNN_ELEMENTWISE_BACKWARD(identity,   FNN_GRAIN_CHEAP,  gi)
FNN_ELEMENTWISE_BACKWARD(sigmoid,    FNN_GRAIN_CHEAP,  gi * yi * (1 - yi))
FNN_ELEMENTWISE_BACKWARD(tanh,       FNN_GRAIN_CHEAP,  gi * (1 - yi * yi))
FNN_ELEMENTWISE_BACKWARD(relu,       FNN_GRAIN_CHEAP,  xi > 0 ? gi : (REAL)0)
FNN_ELEMENTWISE_BACKWARD(leaky_relu, FNN_GRAIN_CHEAP,  xi > 0 ? gi : alpha * gi)
FNN_ELEMENTWISE_BACKWARD(elu,        FNN_GRAIN_CHEAP,  xi > 0 ? gi : gi * (yi + alpha))
FNN_ELEMENTWISE_BACKWARD(gelu,       FNN_GRAIN_HEAVY,  gi * FNN_SFX(gelu_grad)(xi))

/* ------------------------------------------------------------ row-wise: softmax family */

/* For each row: m = max(x); e = exp(x - m); s = sum(e). softmax writes e / s,
 * log_softmax writes (x - m) - log(s). */
FNN_SIMD_CLONES
static void FNN_SFX(softmax_rows_leaf)(fnn_idx rows, fnn_idx cols, const REAL *x, REAL *y,
                                       int log_form)
{
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL *xr = x + r * cols;
        REAL *yr = y + r * cols;
        REAL m;
        /* softmax keeps exp(x - m) in y, log_softmax needs only the sum */
        REAL s = FNN_SFX(row_sumexp)(cols, xr, log_form ? NULL : yr, &m);
        if (log_form) {
            /* (x - m) - log(s), never x - (m + log(s)): for large |x| the sum m + log(s)
             * would round away the digits that matter. */
            REAL log_s = FNN_LOG(s);
#pragma omp simd
            for (fnn_idx j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_s;
        } else {
            REAL inv = 1 / s;
#pragma omp simd
            for (fnn_idx j = 0; j < cols; ++j) yr[j] *= inv;
        }
    }
}

/* softmax:     dx = y * (dy - sum(dy * y))
 * log_softmax: dx = dy - exp(y) * sum(dy)          (row by row) */
FNN_SIMD_CLONES
static void FNN_SFX(softmax_rows_backward_leaf)(fnn_idx rows, fnn_idx cols, const REAL *dy,
                                                const REAL *y, REAL *dx, int log_form)
{
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL *gr = dy + r * cols, *yr = y + r * cols;
        REAL *dr = dx + r * cols;
        REAL s = 0;
        if (log_form) {
#pragma omp simd reduction(+ : s)
            for (fnn_idx j = 0; j < cols; ++j) s += gr[j];
#pragma omp simd
            for (fnn_idx j = 0; j < cols; ++j) dr[j] = gr[j] - FNN_SFX(fnn_exp)(yr[j]) * s;
        } else {
#pragma omp simd reduction(+ : s)
            for (fnn_idx j = 0; j < cols; ++j) s += gr[j] * yr[j];
#pragma omp simd
            for (fnn_idx j = 0; j < cols; ++j) dr[j] = yr[j] * (gr[j] - s);
        }
    }
}

#define FNN_ROWWISE(name, log_form)                                                          \
    void FNN_SFX(fnn_##name##_forward)(fnn_idx rows, fnn_idx cols, const REAL *x, REAL *y,  \
                                       REAL alpha, int n_threads)                           \
    {                                                                                       \
        (void)alpha;                                                                        \
        if (cols <= 0) return;                                                              \
        FNN_FOR_CHUNKS(rows, FNN_GRAIN_HEAVY / cols + 1, n_threads, lo, len,                \
                       FNN_SFX(softmax_rows_leaf)(len, cols, x + lo * cols, y + lo * cols,  \
                                                  log_form));                               \
    }                                                                                       \
    void FNN_SFX(fnn_##name##_backward)(fnn_idx rows, fnn_idx cols, const REAL *dy,         \
                                        const REAL *x, const REAL *y, REAL *dx, REAL alpha, \
                                        int n_threads)                                      \
    {                                                                                       \
        (void)alpha;                                                                        \
        (void)x;                                                                            \
        if (cols <= 0) return;                                                              \
        FNN_FOR_CHUNKS(rows, FNN_GRAIN_CHEAP / cols + 1, n_threads, lo, len,                \
                       FNN_SFX(softmax_rows_backward_leaf)(len, cols, dy + lo * cols,       \
                                                           y + lo * cols, dx + lo * cols,   \
                                                           log_form));                      \
    }

FNN_ROWWISE(softmax, 0)
FNN_ROWWISE(log_softmax, 1)

/* ------------------------------------------------------------------------- look-up */

static const FNN_SFX(fnn_act_forward) FNN_SFX(forward_table)[FNN_N_ACTIVATIONS] = {
    FNN_SFX(fnn_identity_forward), FNN_SFX(fnn_sigmoid_forward),
    FNN_SFX(fnn_tanh_forward),     FNN_SFX(fnn_relu_forward),
    FNN_SFX(fnn_leaky_relu_forward), FNN_SFX(fnn_elu_forward),
    FNN_SFX(fnn_gelu_forward),     FNN_SFX(fnn_softmax_forward),
    FNN_SFX(fnn_log_softmax_forward),
};

static const FNN_SFX(fnn_act_backward) FNN_SFX(backward_table)[FNN_N_ACTIVATIONS] = {
    FNN_SFX(fnn_identity_backward), FNN_SFX(fnn_sigmoid_backward),
    FNN_SFX(fnn_tanh_backward),     FNN_SFX(fnn_relu_backward),
    FNN_SFX(fnn_leaky_relu_backward), FNN_SFX(fnn_elu_backward),
    FNN_SFX(fnn_gelu_backward),     FNN_SFX(fnn_softmax_backward),
    FNN_SFX(fnn_log_softmax_backward),
};

FNN_SFX(fnn_act_forward) FNN_SFX(fnn_activation_forward)(int kind)
{
    return (kind >= 0 && kind < FNN_N_ACTIVATIONS) ? FNN_SFX(forward_table)[kind] : NULL;
}

FNN_SFX(fnn_act_backward) FNN_SFX(fnn_activation_backward)(int kind)
{
    return (kind >= 0 && kind < FNN_N_ACTIVATIONS) ? FNN_SFX(backward_table)[kind] : NULL;
}

#undef FNN_GELU_C
#undef FNN_GELU_K
#undef FNN_ELEMENTWISE_FORWARD
#undef FNN_ELEMENTWISE_BACKWARD
#undef FNN_ROWWISE
