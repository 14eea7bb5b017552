/* test_active_columns.h -- pack_active, nn_cols and tn_cols of one gemm variant against
 * a scalar scan and sums in double; included by test_variants.c once per dtype with
 * T (float or double), VARIANT_T (the family's struct) and TEST_NAME defined. */

#ifndef FNN_TEST_CAT
#define FNN_TEST_CAT_(a, b) a##b
#define FNN_TEST_CAT(a, b) FNN_TEST_CAT_(a, b)
#endif
#define PACK_AND_SCAN FNN_TEST_CAT(TEST_NAME, _pack)
#define PACK_EDGES FNN_TEST_CAT(TEST_NAME, _edges)

/* Elements past the end of each buffer that pack_active must leave alone. */
#define PACK_GUARD 16

/* pack_active of rows[0 .. m) (k columns each) against the scalar scan: column j is active
 * if any row holds a nonzero or NaN there (-0.0 is zero); cols and zcols ascending, xc bit
 * for bit. Nothing may be written past m * nact elements of xc, nor past k entries of cols
 * and zcols. Returns nact, or -1 (reported); *xcp, *colsp and *zcolsp get the buffers. */
static int PACK_AND_SCAN(const VARIANT_T *v, int m, int k, const T *const *rows, T **xcp,
                         int **colsp, int **zcolsp)
{
    const size_t nxc = (size_t)m * k + PACK_GUARD, nix = (size_t)k + PACK_GUARD;
    T *xc = malloc(nxc * sizeof *xc);
    int *cols = malloc(nix * sizeof *cols), *zcols = malloc(nix * sizeof *zcols);
    unsigned short *masks = malloc((size_t)(k / FNN_GEMM_MASK_COLS + 1) * sizeof *masks);
    memset(xc, 0xA5, nxc * sizeof *xc);
    memset(cols, 0xA5, nix * sizeof *cols);
    memset(zcols, 0xA5, nix * sizeof *zcols);
    const int nact = v->pack_active(m, k, rows, xc, cols, zcols, masks);
    int want = 0, nz = 0, ok = nact >= 0 && nact <= k;
    for (int j = 0; j < k; ++j) {
        int act = 0;
        for (int i = 0; i < m; ++i) act |= rows[i][j] != 0; /* NaN != 0 */
        if (act) {
            ok &= want < nact && cols[want] == j;
            for (int i = 0; i < m && want < nact; ++i)
                ok &= memcmp(&xc[(size_t)i * nact + want], &rows[i][j], sizeof(T)) == 0;
            ++want;
        } else {
            ok &= nz < k - nact && zcols[nz] == j;
            ++nz;
        }
    }
    CHECK(ok && want == nact, "%s pack_active m=%d k=%d: %d active, the scan found %d",
          v->name, m, k, nact, want);
    int guard_ok = 1;
    for (size_t e = (size_t)m * (nact > 0 ? nact : 0) * sizeof(T); e < nxc * sizeof(T); ++e)
        guard_ok &= ((const unsigned char *)xc)[e] == 0xA5;
    for (size_t e = (size_t)k * sizeof(int); e < nix * sizeof(int); ++e)
        guard_ok &= ((const unsigned char *)cols)[e] == 0xA5 &&
                    ((const unsigned char *)zcols)[e] == 0xA5;
    CHECK(guard_ok, "%s pack_active m=%d k=%d: wrote past xc[m * nact], cols[k] or zcols[k]",
          v->name, m, k);
    free(masks);
    *xcp = xc, *colsp = cols, *zcolsp = zcols;
    return ok && want == nact && guard_ok ? nact : -1;
}

/* pack_active on the shapes the random batches rarely reach: k below a vector, k off the
 * 16-column chunks and their 8- and 4-column parts, one row, rows and batches of zeros,
 * -0.0, NaN (alone, in the last column, among zeros). */
static void PACK_EDGES(const VARIANT_T *v)
{
    static const int ks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 19, 20, 23,
                             24, 25, 28, 31, 32, 33, 36, 40, 47, 48, 49, 63, 64, 65, 100,
                             783, 784, 785, 791, 799};
    static const int ms[] = {1, 2, 3, 5, 10, 17};
    int cases = 0;
    for (size_t a = 0; a < sizeof ks / sizeof *ks; ++a)
        for (size_t b = 0; b < sizeof ms / sizeof *ms; ++b)
            for (int pattern = 0; pattern < 8; ++pattern) {
                const int k = ks[a], m = ms[b];
                /* 0 dense, 1 sparse, 2 sparse with NaN, 3 sparse with zero rows, 4 all
                 * zeros, 5 -0.0 and zeros, 6 one NaN in the last column among zeros,
                 * 7 one nonzero per row, in its own column */
                T *x = randn_t((size_t)m * k, pattern == 0 ? 0.0 : 0.8);
                if (pattern >= 4)
                    for (int e = 0; e < m * k; ++e) x[e] = 0;
                if (pattern == 2)
                    for (int t = 0; t < 1 + m * k / 50; ++t) x[randint(0, m * k - 1)] = NAN;
                if (pattern == 3)
                    for (int i = 0; i < m; i += 2)
                        for (int j = 0; j < k; ++j) x[(size_t)i * k + j] = 0;
                if (pattern == 5)
                    for (int e = 0; e < m * k; e += 3) x[e] = -0.0;
                if (pattern == 6) x[(size_t)randint(0, m - 1) * k + k - 1] = NAN;
                if (pattern == 7)
                    for (int i = 0; i < m; ++i) x[(size_t)i * k + randint(0, k - 1)] = (T)(i + 1);
                const T **rows = malloc((size_t)m * sizeof *rows);
                for (int i = 0; i < m; ++i) rows[i] = x + (size_t)(m - 1 - i) * k;
                T *xc;
                int *cols, *zcols;
                PACK_AND_SCAN(v, m, k, rows, &xc, &cols, &zcols);
                free(x), free(rows), free(xc), free(cols), free(zcols);
                ++cases;
            }
    printf("gemm %-8s %s pack_active edge cases: %d batches ok\n", v->name,
           sizeof(T) == 4 ? "float32" : "float64", cases);
}

static void TEST_NAME(const VARIANT_T *v)
{
    PACK_EDGES(v);
    int cases = 0;
    for (int trial = 0; trial < 200; ++trial) {
        const int m = randint(1, 40), k = randint(1, 800), n = randint(1, 140);
        T *x = randn_t((size_t)m * k, 0.8);
        if (trial % 5 == 0) x[randint(0, m * k - 1)] = NAN; /* NaN counts as active */
        const T **rows = malloc((size_t)m * sizeof *rows);
        for (int i = 0; i < m; ++i) rows[i] = x + (size_t)(m - 1 - i) * k; /* any order */
        T *xc;
        int *cols, *zcols;
        const int nact = PACK_AND_SCAN(v, m, k, rows, &xc, &cols, &zcols);
        if (nact < 0 || trial % 5 == 0) goto next; /* NaN: the products are NaN, checked above */
        /* nn_cols: C = xc B[cols, :] (+ C) */
        {
            T *b = randn_t((size_t)k * n, 0.0), *c = randn_t((size_t)m * n, 0.0);
            T *c0 = malloc((size_t)m * n * sizeof *c0);
            const int accumulate = randint(0, 1);
            memcpy(c0, c, (size_t)m * n * sizeof *c);
            v->nn_cols(m, nact, n, xc, cols, b, c, accumulate);
            for (int i = 0; i < m; ++i)
                for (int j = 0; j < n; ++j) {
                    double s = accumulate ? c0[(size_t)i * n + j] : 0.0, sa = fabs(s);
                    for (int p = 0; p < k; ++p) {
                        s += (double)rows[i][p] * b[(size_t)p * n + j];
                        sa += fabs((double)rows[i][p] * b[(size_t)p * n + j]);
                    }
                    CHECK(CLOSE_TO(c[(size_t)i * n + j], s, sa, k), "%s nn_cols m=%d k=%d n=%d [%d,%d]",
                          v->name, m, k, n, i, j);
                }
            /* tn_cols: W (k x n) = alpha X^T G (+ W); rows of inactive columns zeroed or kept */
            T *g = randn_t((size_t)m * n, 0.0), *w = randn_t((size_t)k * n, 0.0);
            T *w0 = malloc((size_t)k * n * sizeof *w0);
            const T alpha = accumulate ? -0.125f : 1.0f;
            memcpy(w0, w, (size_t)k * n * sizeof *w);
            v->tn_cols(m, nact, n, xc, nact, cols, k - nact, zcols, g, w, alpha, accumulate);
            for (int p = 0; p < k; ++p)
                for (int j = 0; j < n; ++j) {
                    double s = 0.0, sa = 0.0;
                    for (int i = 0; i < m; ++i) {
                        s += (double)rows[i][p] * g[(size_t)i * n + j];
                        sa += fabs((double)rows[i][p] * g[(size_t)i * n + j]);
                    }
                    s = alpha * s + (accumulate ? w0[(size_t)p * n + j] : 0.0);
                    sa = fabs(alpha) * sa + (accumulate ? fabs(w0[(size_t)p * n + j]) : 0.0);
                    CHECK(CLOSE_TO(w[(size_t)p * n + j], s, sa, m), "%s tn_cols m=%d k=%d n=%d acc=%d [%d,%d]",
                          v->name, m, k, n, accumulate, p, j);
                }
            free(b), free(c), free(c0), free(g), free(w), free(w0);
        }
    next:
        free(x), free(rows), free(xc), free(cols), free(zcols);
        ++cases;
    }
    printf("gemm %-8s %s pack_active, nn_cols, tn_cols: %d random batches ok\n", v->name,
           sizeof(T) == 4 ? "float32" : "float64", cases);
}

#undef PACK_AND_SCAN
#undef PACK_EDGES
#undef PACK_GUARD
