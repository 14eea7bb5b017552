/* matmul_fast_impl.h -- small products on fastnn's own kernels (the gemm family,
 * gemm_variants.h), included by matmul.c once per REAL with FNN_VARIANT_T (the family's
 * struct for REAL) and FNN_VARIANT_PICK (its pick()).
 *
 * Where a variant runs on this CPU and fnn_gemm_fits takes the shape, the product runs
 * there; a team of more than one thread splits the rows of C (whole blocks of the
 * kernel's rows, every entry summed as in one call, so the result does not depend on the
 * team). */

/* C (m x n) = A (m x k) B (k x n) (+ C with accumulate), the rows split over the team. */
static void FNN_SFX(fnn_fast_nn)(const FNN_VARIANT_T *v, int team, fnn_idx m, fnn_idx k,
                                 fnn_idx n, const REAL *a, const REAL *b, REAL *c,
                                 int accumulate)
{
    if (team <= 1) {
        v->nn((int)m, (int)k, (int)n, a, b, c, accumulate);
        return;
    }
#pragma omp parallel for num_threads(team) schedule(static)
    for (int t = 0; t < team; ++t) {
        fnn_idx r0, r1;
        fnn_fast_rows(m, team, t, &r0, &r1);
        if (r1 > r0)
            v->nn((int)(r1 - r0), (int)k, (int)n, a + r0 * k, b, c + r0 * n, accumulate);
    }
}

/* Returns 1 if it computed the product, 0 to leave it to BLAS. */
static int FNN_SFX(fnn_gemm_fast)(int ta, int tb, fnn_idx m, fnn_idx n, fnn_idx k, REAL alpha,
                                  const REAL *a, const REAL *b, REAL beta, REAL *c, int team)
{
    const FNN_VARIANT_T *v = FNN_VARIANT_PICK();
    int how = v ? fnn_gemm_fits(ta, tb, m, n, k, alpha, beta) : 0;
    if (how == 2) { /* A B^T with a small B: transpose B on the stack */
        REAL bt[FNN_GEMM_MAX_BT];
        for (fnn_idx j = 0; j < n; ++j)
            for (fnn_idx p = 0; p < k; ++p) bt[p * n + j] = b[j * k + p];
        FNN_SFX(fnn_fast_nn)(v, team, m, k, n, a, bt, c, beta == 1);
    } else if (how == 1) {
        FNN_SFX(fnn_fast_nn)(v, team, m, k, n, a, b, c, beta == 1);
    } else if (how == 4) { /* one or two rows (a sample's inputs): the nonzero columns */
        REAL xc[FNN_SMALL_M * FNN_GEMM_ROWS_MAX_K];
        int cols[FNN_GEMM_ROWS_MAX_K], zcols[FNN_GEMM_ROWS_MAX_K];
        unsigned short masks[FNN_GEMM_ROWS_MAX_K / FNN_GEMM_MASK_COLS + 1];
        const REAL *rows[FNN_SMALL_M];
        for (fnn_idx i = 0; i < m; ++i) rows[i] = a + i * k;
        const int nact = v->pack_active((int)m, (int)k, rows, xc, cols, zcols, masks);
        v->nn_cols((int)m, nact, (int)n, xc, cols, b, c, beta == 1);
    } else if (how == 3) { /* A is stored (k, m) */
        if (team <= 1) {
            v->tn((int)k, (int)m, (int)n, a, b, c);
            return 1;
        }
#pragma omp parallel for num_threads(team) schedule(static)
        for (int t = 0; t < team; ++t) {
            fnn_idx r0, r1;
            fnn_fast_rows(m, team, t, &r0, &r1);
            if (r1 > r0)
                v->tn_ld((int)k, (int)(r1 - r0), (int)n, a + r0, (int)m, b, c + r0 * n);
        }
    }
    return how != 0;
}
