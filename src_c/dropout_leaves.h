/* dropout_leaves.h -- the vector loops of dropout.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

static void FNN_L(dropout_forward_leaf)(fnn_idx n, const REAL *x, REAL *y, REAL *mask,
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

static void FNN_L(dropout_backward_leaf)(fnn_idx n, const REAL *dy, const REAL *mask, REAL *dx)
{
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}
