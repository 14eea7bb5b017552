/* matmul_leaves.h -- the vector loops of matmul.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

/* One row of C over the column block [j0, j0 + FNN_SMALL_NB), from the nnz nonzero
 * entries of the row of A (values av, indices ix): the block's accumulators have a fixed
 * width so that the compiler keeps them in vector registers. */
#ifndef FNN_SMALL_NB
#define FNN_SMALL_NB 64
#endif

FNN_NO_UNROLL_JAM
static void FNN_L(small_row_block)(int nnz, const REAL *av, const int *ix, const REAL *b,
                                   fnn_idx ldb, REAL *acc)
{
    REAL s[FNN_SMALL_NB];
    for (int j = 0; j < FNN_SMALL_NB; ++j) s[j] = acc[j];
    for (int t = 0; t < nnz; ++t) {
        const REAL a = av[t];
        const REAL *bk = b + ix[t] * ldb;
#pragma omp simd
        for (int j = 0; j < FNN_SMALL_NB; ++j) s[j] += a * bk[j];
    }
    for (int j = 0; j < FNN_SMALL_NB; ++j) acc[j] = s[j];
}

/* The same for a last block narrower than FNN_SMALL_NB. */
FNN_NO_UNROLL_JAM
static void FNN_L(small_row_tail)(int nnz, fnn_idx w, const REAL *av, const int *ix,
                                  const REAL *b, fnn_idx ldb, REAL *acc)
{
    for (int t = 0; t < nnz; ++t) {
        const REAL a = av[t];
        const REAL *bk = b + ix[t] * ldb;
#pragma omp simd
        for (fnn_idx j = 0; j < w; ++j) acc[j] += a * bk[j];
    }
}
