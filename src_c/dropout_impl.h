/* dropout_impl.h -- type-generic bodies for dropout.c (included once per REAL). */

FNN_SIMD_CLONES
static void FNN_SFX(dropout_forward_leaf)(fnn_idx n, const REAL *x, REAL *y, REAL *mask,
                                          uint32_t threshold, REAL scale, uint64_t seed,
                                          uint64_t first)
{
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) {
        REAL m = fnn_hash24(seed, first + (uint64_t)i) >= threshold ? scale : (REAL)0;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

void FNN_SFX(fnn_dropout_forward)(fnn_idx n, const REAL *x, REAL *y, REAL *mask, double rate,
                                  uint64_t seed, uint64_t offset, int n_threads)
{
    uint32_t threshold = fnn_keep_threshold(rate);
    REAL scale = rate < 1 ? (REAL)(1.0 / (1.0 - rate)) : (REAL)0;
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY, n_threads, lo, len,
                   FNN_SFX(dropout_forward_leaf)(len, x + lo, y + lo, mask + lo, threshold,
                                                 scale, seed, offset + (uint64_t)lo));
}

FNN_SIMD_CLONES
static void FNN_SFX(dropout_backward_leaf)(fnn_idx n, const REAL *dy, const REAL *mask, REAL *dx)
{
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

void FNN_SFX(fnn_dropout_backward)(fnn_idx n, const REAL *dy, const REAL *mask, REAL *dx,
                                   int n_threads)
{
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP, n_threads, lo, len,
                   FNN_SFX(dropout_backward_leaf)(len, dy + lo, mask + lo, dx + lo));
}
