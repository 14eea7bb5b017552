/* gemm_variants.c -- the gemm family's tables and their pick() (gemm_variants.h). Adding an
 * instruction set: its generated files under src_c/arch/<isa>/ and one entry per table. */
#include <limits.h>

#include "gemm_variants.h"
#include "matmul.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_sgemm_variant fnn_sgemm_avx512, fnn_sgemm_avx2;
extern const fnn_dgemm_variant fnn_dgemm_avx512, fnn_dgemm_avx2;
static const fnn_sgemm_variant *const fnn_sgemm_table[] = {&fnn_sgemm_avx512, &fnn_sgemm_avx2};
static const fnn_dgemm_variant *const fnn_dgemm_table[] = {&fnn_dgemm_avx512, &fnn_dgemm_avx2};
#define FNN_GEMM_COUNT 2
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_sgemm_variant fnn_sgemm_neon;
extern const fnn_dgemm_variant fnn_dgemm_neon;
static const fnn_sgemm_variant *const fnn_sgemm_table[] = {&fnn_sgemm_neon};
static const fnn_dgemm_variant *const fnn_dgemm_table[] = {&fnn_dgemm_neon};
#define FNN_GEMM_COUNT 1
#else
static const fnn_sgemm_variant *const fnn_sgemm_table[] = {NULL};
static const fnn_dgemm_variant *const fnn_dgemm_table[] = {NULL};
#define FNN_GEMM_COUNT 0
#endif

const fnn_sgemm_variant *const *fnn_sgemm_variants(int *count)
{
    *count = FNN_GEMM_COUNT;
    return fnn_sgemm_table;
}

const fnn_dgemm_variant *const *fnn_dgemm_variants(int *count)
{
    *count = FNN_GEMM_COUNT;
    return fnn_dgemm_table;
}

const fnn_sgemm_variant *fnn_sgemm_pick(void)
{
    return fnn_pick((const void *const *)fnn_sgemm_table, FNN_GEMM_COUNT, 1);
}

const fnn_dgemm_variant *fnn_dgemm_pick(void)
{
    return fnn_pick((const void *const *)fnn_dgemm_table, FNN_GEMM_COUNT, 1);
}

const fnn_sgemm_variant *fnn_sgemm_by_name(const char *name)
{
    return fnn_by_name((const void *const *)fnn_sgemm_table, FNN_GEMM_COUNT, name);
}

const fnn_dgemm_variant *fnn_dgemm_by_name(const char *name)
{
    return fnn_by_name((const void *const *)fnn_dgemm_table, FNN_GEMM_COUNT, name);
}

int fnn_gemm_fits(int ta, int tb, fnn_idx m, fnn_idx n, fnn_idx k, double alpha, double beta)
{
    if (alpha != 1.0 || m > INT_MAX || n > INT_MAX || k > INT_MAX ||
        (beta != 0.0 && beta != 1.0))
        return 0;
    if (tb) /* A B^T with a small B (a layer's dX = G W^T): B transposed on the stack */
        return !ta && m > FNN_SMALL_M && m <= FNN_GEMM_MAX_ROWS && n * k <= FNN_GEMM_MAX_BT
                   ? 2 : 0;
    if (!ta && m <= FNN_SMALL_M) return k <= FNN_GEMM_ROWS_MAX_K ? 4 : 0;
    if (!ta) return m <= FNN_GEMM_MAX_ROWS ? 1 : 0;
    return k <= FNN_GEMM_MAX_ROWS && beta == 0.0 ? 3 : 0; /* A is stored (k, m) */
}
