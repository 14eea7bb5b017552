/* test_active_columns.h -- pack_active, nn_cols and tn_cols of one gemm variant against
 * a scalar scan and sums in double; included by test_variants.c once per dtype with
 * T (float or double), VARIANT_T (the family's struct) and TEST_NAME defined. */

static void TEST_NAME(const VARIANT_T *v)
{
    int cases = 0;
    for (int trial = 0; trial < 200; ++trial) {
        const int m = randint(1, 40), k = randint(1, 800), n = randint(1, 140);
        T *x = randn_t((size_t)m * k, 0.8);
        if (trial % 5 == 0) x[randint(0, m * k - 1)] = NAN; /* NaN counts as active */
        const T **rows = malloc((size_t)m * sizeof *rows);
        for (int i = 0; i < m; ++i) rows[i] = x + (size_t)(m - 1 - i) * k; /* any order */
        T *xc = malloc((size_t)m * k * sizeof *xc);
        int *cols = malloc((size_t)k * sizeof *cols), *zcols = malloc((size_t)k * sizeof *zcols);
        unsigned short *masks = malloc((size_t)(k / FNN_GEMM_MASK_COLS + 1) * sizeof *masks);
        const int nact = v->pack_active(m, k, rows, xc, cols, zcols, masks);
        /* the scalar scan: column j is active if any row holds a nonzero or NaN there */
        int want = 0, nz = 0, ok = 1;
        for (int j = 0; j < k; ++j) {
            int act = 0;
            for (int i = 0; i < m; ++i) act |= rows[i][j] != 0;
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
        if (!ok || trial % 5 == 0) goto next; /* NaN: the products are NaN, checked above */
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
        free(x), free(rows), free(xc), free(cols), free(zcols), free(masks);
        ++cases;
    }
    printf("gemm %-8s %s pack_active, nn_cols, tn_cols: %d random batches ok\n", v->name,
           sizeof(T) == 4 ? "float32" : "float64", cases);
}

