/* matmul_impl.h -- type-generic body for matmul.c (included once per REAL). */

/* Entries of a row of A listed per pass (stack arrays). */
#define FNN_SMALL_KB 1024

/* The nonzero (or NaN) entries of x[0 .. n) in order: values to av, indices to ix;
 * returns their number. Runs of 8 zeros (an image's border) are passed over at once. */
static int FNN_SFX(small_nonzeros)(const REAL *x, fnn_idx n, REAL *av, int *ix)
{
    int nnz = 0;
    fnn_idx i = 0;
    for (; i + 8 <= n; i += 8) {
        int any = 0;
        for (int l = 0; l < 8; ++l) any |= x[i + l] != 0;
        if (!any) continue;
        for (int l = 0; l < 8; ++l) {
            av[nnz] = x[i + l];
            ix[nnz] = (int)(i + l);
            nnz += x[i + l] != 0;
        }
    }
    for (; i < n; ++i) {
        av[nnz] = x[i];
        ix[nnz] = (int)i;
        nnz += x[i] != 0;
    }
    return nnz;
}

void FNN_SFX(fnn_gemm_small)(fnn_idx m, fnn_idx n, fnn_idx k, REAL alpha, const REAL *a,
                             fnn_idx lda, const REAL *b, fnn_idx ldb, REAL beta, REAL *c,
                             fnn_idx ldc)
{
    REAL acc[FNN_SMALL_NB], av[FNN_SMALL_KB];
    int ix[FNN_SMALL_KB], nnz = 0;
    for (fnn_idx i = 0; i < m; ++i) {
        REAL *ci = c + i * ldc;
        const REAL *ai = a + i * lda;
        for (fnn_idx j0 = 0; j0 < n; j0 += FNN_SMALL_NB) {
            fnn_idx w = n - j0 < FNN_SMALL_NB ? n - j0 : FNN_SMALL_NB;
            for (fnn_idx j = 0; j < w; ++j) acc[j] = 0;
            /* the row's nonzero entries, FNN_SMALL_KB of its columns at a time, in order
             * (a zero adds nothing: sparse inputs such as pixels skip most rows of B);
             * one chunk (k <= FNN_SMALL_KB) is listed once for every column block */
            for (fnn_idx k0 = 0; k0 < k; k0 += FNN_SMALL_KB) {
                if (j0 == 0 || k > FNN_SMALL_KB)
                    nnz = FNN_SFX(small_nonzeros)(
                        ai + k0, k - k0 < FNN_SMALL_KB ? k - k0 : FNN_SMALL_KB, av, ix);
                if (w == FNN_SMALL_NB)
                    FNN_LEAF(small_row_block)(nnz, av, ix, b + k0 * ldb + j0, ldb, acc);
                else
                    FNN_LEAF(small_row_tail)(nnz, w, av, ix, b + k0 * ldb + j0, ldb, acc);
            }
            if (beta == 0) /* C is not read: it may hold anything, NaN included */
                for (fnn_idx j = 0; j < w; ++j) ci[j0 + j] = alpha * acc[j];
            else
                for (fnn_idx j = 0; j < w; ++j) ci[j0 + j] = alpha * acc[j] + beta * ci[j0 + j];
        }
    }
}

void FNN_SFX(fnn_gemm_team)(FNN_GEMM_T gemm, int ta, int tb, fnn_idx m, fnn_idx n, fnn_idx k,
                            REAL alpha, const REAL *a, const REAL *b, REAL beta, REAL *c,
                            int n_threads)
{
    fnn_idx lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
    fnn_idx side = m >= n ? m : n;
    int team = fnn_team_size(m * n * k, FNN_GRAIN_GEMM, n_threads);
    if (team > side / 8) team = (int)(side / 8 > 0 ? side / 8 : 1);
#ifdef FNN_GEMM_FAST /* a faster kernel of fastnn's own for this type and shape? */
    if (FNN_GEMM_FAST(ta, tb, m, n, k, alpha, a, b, beta, c, m / 8 < team ? 1 : team)) return;
#endif
    if (!ta && !tb && m <= FNN_SMALL_M && k > 0) {
        FNN_SFX(fnn_gemm_small)(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
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

