/* residual_impl.h -- type-generic bodies for residual.c (included once per REAL). */

/* No restrict: out may be a or b (each element is read before it is written). */
FNN_SIMD_CLONES
static void FNN_SFX(residual_add_leaf)(fnn_idx n, const REAL *a, const REAL *b, REAL *out)
{
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void FNN_SFX(fnn_residual_add)(fnn_idx n, const REAL *a, const REAL *b, REAL *out,
                               int n_threads)
{
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP, n_threads, lo, len,
                   FNN_SFX(residual_add_leaf)(len, a + lo, b + lo, out + lo));
}
