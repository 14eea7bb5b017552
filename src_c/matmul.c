/* matmul.c -- GEMM split across the OpenMP team; bodies in matmul_impl.h. */
#include <limits.h>

#include "gemm_variants.h"
#include "matmul.h"

/* Rows [r0, r1) of C for thread t of a team splitting m rows (multiples of 8). */
static inline void fnn_fast_rows(fnn_idx m, int team, int t, fnn_idx *r0, fnn_idx *r1)
{
    *r0 = fnn_chunk_start(m, team, t, 8);
    *r1 = fnn_chunk_start(m, team, t + 1, 8);
}

/* C (m x n) = A (m x k) B (k x n) (+ C with accumulate), the rows split over the team. */
static void fnn_fast_nn(const fnn_sgemm_variant *v, int team, fnn_idx m, fnn_idx k, fnn_idx n,
                        const float *a, const float *b, float *c, int accumulate)
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

/* Small float32 products on fastnn's own kernels (the gemm family, gemm_variants.h) where
 * a variant runs on this CPU and fnn_sgemm_fits takes the shape. A team of more than one
 * thread splits the rows of C (whole blocks of the kernel's rows, every entry summed as
 * in one call, so the result does not depend on the team). Returns 1 if it computed the
 * product, 0 to leave it to BLAS. */
static int fnn_gemm_fast_f32(int ta, int tb, fnn_idx m, fnn_idx n, fnn_idx k, float alpha,
                             const float *a, const float *b, float beta, float *c, int team)
{
    const fnn_sgemm_variant *v = fnn_sgemm_pick();
    int how = v ? fnn_sgemm_fits(ta, tb, m, n, k, alpha, beta) : 0;
    if (how == 2) { /* A B^T with a small B: transpose B on the stack */
        float bt[FNN_GEMM_MAX_BT];
        for (fnn_idx j = 0; j < n; ++j)
            for (fnn_idx p = 0; p < k; ++p) bt[p * n + j] = b[j * k + p];
        fnn_fast_nn(v, team, m, k, n, a, bt, c, beta == 1.0f);
    } else if (how == 1) {
        fnn_fast_nn(v, team, m, k, n, a, b, c, beta == 1.0f);
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

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_GEMM_T fnn_gemm_f32_fn
#define FNN_GEMM_FAST fnn_gemm_fast_f32
#include "matmul_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
#undef FNN_GEMM_FAST

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_GEMM_T fnn_gemm_f64_fn
#include "matmul_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
