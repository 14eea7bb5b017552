/* embedding_leaves.h -- the vector loops of embedding.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

/* out[s, :] = weight[idx[s], :] for the rows s in [lo, hi). */
static void FNN_L(embedding_gather)(fnn_idx lo, fnn_idx hi, fnn_idx d, const fnn_idx *idx,
                                    const REAL *restrict weight, REAL *restrict out)
{
    for (fnn_idx s = lo; s < hi; ++s) {
        const REAL *restrict src = weight + idx[s] * d;
        REAL *restrict dst = out + s * d;
#pragma omp simd
        for (fnn_idx j = 0; j < d; ++j) dst[j] = src[j];
    }
}

/* The columns [lo, hi) of dweight (v, d): zeroed, then dy's rows added into the rows of
 * their indices, s = 0, 1, ..., n - 1 in order (padding_idx skipped). Several s may
 * share a row: the vector loop runs over the columns of one row, never across s. */
static void FNN_L(embedding_scatter_add)(fnn_idx n, fnn_idx v, fnn_idx d, fnn_idx lo,
                                         fnn_idx hi, const fnn_idx *idx,
                                         const REAL *restrict dy, fnn_idx padding_idx,
                                         REAL *restrict dweight)
{
    for (fnn_idx r = 0; r < v; ++r) {
        REAL *restrict dst = dweight + r * d;
#pragma omp simd
        for (fnn_idx j = lo; j < hi; ++j) dst[j] = (REAL)0;
    }
    for (fnn_idx s = 0; s < n; ++s) {
        const fnn_idx r = idx[s];
        if (r == padding_idx) continue;
        REAL *restrict dst = dweight + r * d;
        const REAL *restrict src = dy + s * d;
#pragma omp simd
        for (fnn_idx j = lo; j < hi; ++j) dst[j] += src[j];
    }
}
