/* dropout_impl.h -- type-generic bodies for dropout.c (included once per REAL). */

void FNN_SFX(fnn_dropout_forward)(fnn_idx n, const REAL *x, REAL *y, REAL *mask, double rate,
                                  uint64_t seed, uint64_t offset, int n_threads)
{
    uint32_t threshold = fnn_keep_threshold(rate);
    REAL scale = rate < 1 ? (REAL)(1.0 / (1.0 - rate)) : (REAL)0;
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY, n_threads, lo, len,
                   FNN_LEAF(dropout_forward_leaf)(len, x + lo, y + lo, mask + lo, threshold,
                                                  scale, seed, offset + (uint64_t)lo));
}

void FNN_SFX(fnn_dropout_backward)(fnn_idx n, const REAL *dy, const REAL *mask, REAL *dx,
                                   int n_threads)
{
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP, n_threads, lo, len,
                   FNN_LEAF(dropout_backward_leaf)(len, dy + lo, mask + lo, dx + lo));
}
