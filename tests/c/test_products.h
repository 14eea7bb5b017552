/* test_products.h -- nn, tn and tn_ld of one gemm variant against plain loops summed in
 * a wider type; included by test_variants.c once per dtype with T, SUM_T (the sums'
 * type), VARIANT_T, TEST_NAME, randn_t and CLOSE_TO defined. */

static void TEST_NAME(const VARIANT_T *v)
{
    int cases = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const int m = randint(1, 70), k = randint(1, 90), n = randint(1, 140);
        const int accumulate = randint(0, 1);
        T *a = randn_t((size_t)m * k, 0.3), *b = randn_t((size_t)k * n, 0.0);
        T *c = randn_t((size_t)m * n, 0.0), *c0 = malloc((size_t)m * n * sizeof *c);
        memcpy(c0, c, (size_t)m * n * sizeof *c);
        /* nn: C (m x n) = A (m x k) B (k x n) (+ C) */
        v->nn(m, k, n, a, b, c, accumulate);
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
                SUM_T s = accumulate ? c0[(size_t)i * n + j] : 0, sa = s < 0 ? -s : s;
                for (int p = 0; p < k; ++p) {
                    const SUM_T t = (SUM_T)a[(size_t)i * k + p] * b[(size_t)p * n + j];
                    s += t;
                    sa += t < 0 ? -t : t;
                }
                CHECK(CLOSE_TO(c[(size_t)i * n + j], s, sa, k), "%s nn m=%d k=%d n=%d acc=%d [%d,%d]: %g vs %g",
                      v->name, m, k, n, accumulate, i, j, (double)c[(size_t)i * n + j], (double)s);
            }
        /* tn: C (k x n) = A^T (A: m x k) G (m x n); tn_ld on the first k2 columns */
        T *g = randn_t((size_t)m * n, 0.0), *ct = malloc((size_t)k * n * sizeof *ct);
        const int k2 = randint(1, k);
        for (int pass = 0; pass < 2; ++pass) {
            const int kk = pass ? k2 : k;
            if (pass)
                v->tn_ld(m, k2, n, a, k, g, ct);
            else
                v->tn(m, k, n, a, g, ct);
            for (int p = 0; p < kk; ++p)
                for (int j = 0; j < n; ++j) {
                    SUM_T s = 0, sa = 0;
                    for (int i = 0; i < m; ++i) {
                        const SUM_T t = (SUM_T)a[(size_t)i * k + p] * g[(size_t)i * n + j];
                        s += t;
                        sa += t < 0 ? -t : t;
                    }
                    CHECK(CLOSE_TO(ct[(size_t)p * n + j], s, sa, m), "%s %s m=%d k=%d n=%d [%d,%d]: %g vs %g",
                          v->name, pass ? "tn_ld" : "tn", m, kk, n, p, j, (double)ct[(size_t)p * n + j], (double)s);
                }
        }
        free(a), free(b), free(c), free(c0), free(g), free(ct);
        ++cases;
    }
    printf("gemm %-8s %s nn, tn, tn_ld: %d random shapes ok\n", v->name,
           sizeof(T) == 4 ? "float32" : "float64", cases);
}

