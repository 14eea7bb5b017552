/* fnn_rows_leaves.h -- row statistics shared by softmax (activations) and softmax
 * cross-entropy (losses); included by their leaves files (once per level and REAL).
 *
 * For a row z of c entries: m = max(z) and s = sum_j exp(z_j - m); when e_out is not
 * NULL, exp(z_j - m) is also stored there. Subtracting the max keeps exp from overflowing
 * and puts at least one term at exp(0) = 1, so s >= 1 and log(s) is safe. */

static inline REAL FNN_L(row_sumexp)(fnn_idx c, const REAL *z, REAL *e_out, REAL *m_out)
{
    REAL m = z[0];
#pragma omp simd reduction(max : m)
    for (fnn_idx j = 0; j < c; ++j) m = z[j] > m ? z[j] : m;
    REAL s = 0;
    if (e_out) {
#pragma omp simd reduction(+ : s)
        for (fnn_idx j = 0; j < c; ++j) {
            REAL e = FNN_SFX(fnn_exp)(z[j] - m);
            e_out[j] = e;
            s += e;
        }
    } else {
#pragma omp simd reduction(+ : s)
        for (fnn_idx j = 0; j < c; ++j) s += FNN_SFX(fnn_exp)(z[j] - m);
    }
    *m_out = m;
    return s;
}
