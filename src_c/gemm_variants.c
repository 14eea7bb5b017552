/* gemm_variants.c -- the gemm family's table and its pick() (gemm_variants.h). Adding an
 * instruction set: one generated file under src_c/arch/<isa>/ and one entry here. */
#include <limits.h>
#include <string.h>

#include "gemm_variants.h"
#include "matmul.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_sgemm_variant fnn_sgemm_avx512, fnn_sgemm_avx2;
static const fnn_sgemm_variant *const fnn_sgemm_table[] = {&fnn_sgemm_avx512, &fnn_sgemm_avx2};
#define FNN_SGEMM_COUNT 2
#else
static const fnn_sgemm_variant *const fnn_sgemm_table[] = {NULL};
#define FNN_SGEMM_COUNT 0
#endif

const fnn_sgemm_variant *const *fnn_sgemm_variants(int *count)
{
    *count = FNN_SGEMM_COUNT;
    return fnn_sgemm_table;
}

const fnn_sgemm_variant *fnn_sgemm_pick(void)
{
    return fnn_pick((const void *const *)fnn_sgemm_table, FNN_SGEMM_COUNT, 1);
}

const fnn_sgemm_variant *fnn_sgemm_by_name(const char *name)
{
    for (int i = 0; i < FNN_SGEMM_COUNT; ++i)
        if (!strcmp(fnn_sgemm_table[i]->name, name) && fnn_isa_runnable(fnn_sgemm_table[i]->isa))
            return fnn_sgemm_table[i];
    return NULL;
}

int fnn_sgemm_fits(int ta, int tb, fnn_idx m, fnn_idx n, fnn_idx k, float alpha, float beta)
{
    if (alpha != 1.0f || m > INT_MAX || n > INT_MAX || k > INT_MAX ||
        (beta != 0.0f && beta != 1.0f))
        return 0;
    if (tb) /* A B^T with a small B (a layer's dX = G W^T): B transposed on the stack */
        return !ta && m > FNN_SMALL_M && m <= FNN_GEMM_MAX_ROWS && n * k <= FNN_GEMM_MAX_BT
                   ? 2 : 0;
    if (!ta) return m > FNN_SMALL_M && m <= FNN_GEMM_MAX_ROWS ? 1 : 0;
    return k <= FNN_GEMM_MAX_ROWS && beta == 0.0f ? 3 : 0; /* A is stored (k, m) */
}
