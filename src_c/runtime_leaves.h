/* runtime_leaves.h -- the vector loops of runtime.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

static REAL FNN_L(zero_if_finite_leaf)(fnn_idx n, const REAL *x)
{
    REAL acc = 0;
#pragma omp simd reduction(+ : acc)
    for (fnn_idx i = 0; i < n; ++i) acc += x[i] * (REAL)0;
    return acc;
}
