/* residual_leaves.h -- the vector loops of residual.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

/* No restrict: out may be a or b (each element is read before it is written). */
static void FNN_L(residual_add_leaf)(fnn_idx n, const REAL *a, const REAL *b, REAL *out)
{
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
