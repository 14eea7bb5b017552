/* activations_leaves.h -- the vector loops of activations.c (compiled once per level and
 * REAL: fnn_leaves.h).
 *
 * An elementwise activation is one expression of the element; the macros below wrap it
 * into a vectorized loop over a block. Read the table of expressions: that is the
 * mathematics (activations_impl.h splits the blocks over the threads).
 */

#include "fnn_rows_leaves.h"

#define FNN_GELU_C ((REAL)0.7978845608028654) /* sqrt(2 / pi) */
#define FNN_GELU_K ((REAL)0.044715)

/* y[i] = EXPR, where EXPR may use xi (= x[i]) and alpha. */
#define FNN_ELEMENTWISE_FORWARD(name, EXPR)                                                \
    static void FNN_L(name##_forward_leaf)(fnn_idx n, const REAL *x, REAL *y, REAL alpha)  \
    {                                                                                      \
        (void)alpha;                                                                       \
        _Pragma("omp simd") for (fnn_idx i = 0; i < n; ++i)                                \
        {                                                                                  \
            REAL xi = x[i];                                                                \
            y[i] = (EXPR);                                                                 \
        }                                                                                  \
    }

/* dx[i] = EXPR, where EXPR may use gi (= dy[i]), xi (= x[i]), yi (= y[i]) and alpha. */
#define FNN_ELEMENTWISE_BACKWARD(name, EXPR)                                               \
    static void FNN_L(name##_backward_leaf)(fnn_idx n, const REAL *dy, const REAL *x,      \
                                            const REAL *y, REAL *dx, REAL alpha)           \
    {                                                                                      \
        (void)alpha;                                                                       \
        _Pragma("omp simd") for (fnn_idx i = 0; i < n; ++i)                                \
        {                                                                                  \
            REAL gi = dy[i], xi = x[i], yi = y[i];                                         \
            (void)xi;                                                                      \
            (void)yi;                                                                      \
            dx[i] = (EXPR);                                                                \
        }                                                                                  \
    }

/* GELU's inner tanh argument, and its derivative as a function of x and t = tanh(u). */
static inline REAL FNN_L(gelu_tanh)(REAL x)
{
    return FNN_SFX(fnn_tanh)(FNN_GELU_C * (x + FNN_GELU_K * x * x * x));
}

static inline REAL FNN_L(gelu_grad)(REAL x)
{
    REAL t = FNN_L(gelu_tanh)(x);
    return (REAL)0.5 * (1 + t) +
           (REAL)0.5 * x * (1 - t * t) * FNN_GELU_C * (1 + 3 * FNN_GELU_K * x * x);
}

/*                      name        forward y = ...                                       */
FNN_ELEMENTWISE_FORWARD(identity,   xi)
FNN_ELEMENTWISE_FORWARD(sigmoid,    FNN_SFX(fnn_sigmoid)(xi))
FNN_ELEMENTWISE_FORWARD(tanh,       FNN_SFX(fnn_tanh)(xi))
FNN_ELEMENTWISE_FORWARD(relu,       xi < 0 ? (REAL)0 : xi)
FNN_ELEMENTWISE_FORWARD(leaky_relu, xi < 0 ? alpha * xi : xi)
FNN_ELEMENTWISE_FORWARD(elu,        xi > 0 ? xi : alpha * FNN_SFX(fnn_expm1)(xi))
FNN_ELEMENTWISE_FORWARD(gelu,       (REAL)0.5 * xi * (1 + FNN_L(gelu_tanh)(xi)))

/*                       name        backward dx = ...                                    */
FNN_ELEMENTWISE_BACKWARD(identity,   gi)
FNN_ELEMENTWISE_BACKWARD(sigmoid,    gi * yi * (1 - yi))
FNN_ELEMENTWISE_BACKWARD(tanh,       gi * (1 - yi * yi))
FNN_ELEMENTWISE_BACKWARD(relu,       xi > 0 ? gi : (REAL)0)
FNN_ELEMENTWISE_BACKWARD(leaky_relu, xi > 0 ? gi : alpha * gi)
FNN_ELEMENTWISE_BACKWARD(elu,        xi > 0 ? gi : gi * (yi + alpha))
FNN_ELEMENTWISE_BACKWARD(gelu,       gi * FNN_L(gelu_grad)(xi))

/* ------------------------------------------------------------ row-wise: softmax family */

/* For each row: m = max(x); e = exp(x - m); s = sum(e). softmax writes e / s,
 * log_softmax writes (x - m) - log(s). */
static void FNN_L(softmax_rows_leaf)(fnn_idx rows, fnn_idx cols, const REAL *x, REAL *y,
                                     int log_form)
{
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL *xr = x + r * cols;
        REAL *yr = y + r * cols;
        REAL m;
        /* softmax keeps exp(x - m) in y, log_softmax needs only the sum */
        REAL s = FNN_L(row_sumexp)(cols, xr, log_form ? NULL : yr, &m);
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
static void FNN_L(softmax_rows_backward_leaf)(fnn_idx rows, fnn_idx cols, const REAL *dy,
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

#undef FNN_GELU_C
#undef FNN_GELU_K
#undef FNN_ELEMENTWISE_FORWARD
#undef FNN_ELEMENTWISE_BACKWARD
