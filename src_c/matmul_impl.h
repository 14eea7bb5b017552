/* matmul_impl.h -- type-generic body for matmul.c (included once per REAL). */

void FNN_SFX(fnn_gemm_team)(FNN_GEMM_T gemm, int ta, int tb, fnn_idx m, fnn_idx n, fnn_idx k,
                            REAL alpha, const REAL *a, const REAL *b, REAL beta, REAL *c,
                            int n_threads)
{
    fnn_idx lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
    fnn_idx side = m >= n ? m : n;
    int team = fnn_team_size(m * n * k, FNN_GRAIN_GEMM, n_threads);
    if (team > side / 8) team = (int)(side / 8 > 0 ? side / 8 : 1);
    if (team <= 1) {
        gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    if (m >= n) { /* blocks of rows of C: the matching rows of op(A) */
#pragma omp parallel for num_threads(team) schedule(static)
        for (int t = 0; t < team; ++t) {
            fnn_idx r0 = fnn_chunk_start(m, team, t, 8), r1 = fnn_chunk_start(m, team, t + 1, 8);
            const REAL *ab = ta ? a + r0 : a + r0 * lda; /* op(A) rows = stored columns if ta */
            if (r1 > r0) gemm(ta, tb, r1 - r0, n, k, alpha, ab, lda, b, ldb, beta, c + r0 * ldc, ldc);
        }
    } else { /* blocks of columns of C: the matching columns of op(B) */
#pragma omp parallel for num_threads(team) schedule(static)
        for (int t = 0; t < team; ++t) {
            fnn_idx c0 = fnn_chunk_start(n, team, t, 16), c1 = fnn_chunk_start(n, team, t + 1, 16);
            const REAL *bb = tb ? b + c0 * ldb : b + c0; /* op(B) columns = stored rows if tb */
            if (c1 > c0) gemm(ta, tb, m, c1 - c0, k, alpha, a, lda, bb, ldb, beta, c + c0, ldc);
        }
    }
}
