/* activations_impl.h -- type-generic bodies for activations.c (included once per REAL):
 * the drivers that split a block over the threads. The expressions, the mathematics,
 * are in activations_leaves.h.
 */

/* y = f(x) over a block, split over the threads; the loop is activations_leaves.h's. */
#define FNN_ELEMENTWISE_FORWARD(name, grain)                                                \
    void FNN_SFX(fnn_##name##_forward)(fnn_idx rows, fnn_idx cols, const REAL *x, REAL *y, \
                                       REAL alpha, int n_threads)                          \
    {                                                                                      \
        fnn_idx n = rows * cols;                                                           \
        FNN_FOR_CHUNKS(n, grain, n_threads, lo, len,                                       \
                       FNN_LEAF(name##_forward_leaf)(len, x + lo, y + lo, alpha));         \
    }

#define FNN_ELEMENTWISE_BACKWARD(name, grain)                                               \
    void FNN_SFX(fnn_##name##_backward)(fnn_idx rows, fnn_idx cols, const REAL *dy,        \
                                        const REAL *x, const REAL *y, REAL *dx,            \
                                        REAL alpha, int n_threads)                         \
    {                                                                                      \
        fnn_idx n = rows * cols;                                                           \
        FNN_FOR_CHUNKS(n, grain, n_threads, lo, len,                                       \
                       FNN_LEAF(name##_backward_leaf)(len, dy + lo, x + lo, y + lo,        \
                                                      dx + lo, alpha));                    \
    }

/*                      name        work per thread */
FNN_ELEMENTWISE_FORWARD(identity,   FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_FORWARD(sigmoid,    FNN_GRAIN_HEAVY)
FNN_ELEMENTWISE_FORWARD(tanh,       FNN_GRAIN_HEAVY)
FNN_ELEMENTWISE_FORWARD(relu,       FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_FORWARD(leaky_relu, FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_FORWARD(elu,        FNN_GRAIN_HEAVY)
FNN_ELEMENTWISE_FORWARD(gelu,       FNN_GRAIN_HEAVY)

FNN_ELEMENTWISE_BACKWARD(identity,   FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_BACKWARD(sigmoid,    FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_BACKWARD(tanh,       FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_BACKWARD(relu,       FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_BACKWARD(leaky_relu, FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_BACKWARD(elu,        FNN_GRAIN_CHEAP)
FNN_ELEMENTWISE_BACKWARD(gelu,       FNN_GRAIN_HEAVY)

/* ------------------------------------------------------------ row-wise: softmax family */

#define FNN_ROWWISE(name, log_form)                                                          \
    void FNN_SFX(fnn_##name##_forward)(fnn_idx rows, fnn_idx cols, const REAL *x, REAL *y,  \
                                       REAL alpha, int n_threads)                           \
    {                                                                                       \
        (void)alpha;                                                                        \
        if (cols <= 0) return;                                                              \
        FNN_FOR_CHUNKS(rows, FNN_GRAIN_HEAVY / cols + 1, n_threads, lo, len,                \
                       FNN_LEAF(softmax_rows_leaf)(len, cols, x + lo * cols, y + lo * cols,  \
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
                       FNN_LEAF(softmax_rows_backward_leaf)(len, cols, dy + lo * cols,       \
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

#undef FNN_ELEMENTWISE_FORWARD
#undef FNN_ELEMENTWISE_BACKWARD
#undef FNN_ROWWISE
