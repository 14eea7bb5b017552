/* residual_impl.h -- type-generic bodies for residual.c (included once per REAL). */

void FNN_SFX(fnn_residual_add)(fnn_idx n, const REAL *a, const REAL *b, REAL *out,
                               int n_threads)
{
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP, n_threads, lo, len,
                   FNN_LEAF(residual_add_leaf)(len, a + lo, b + lo, out + lo));
}
