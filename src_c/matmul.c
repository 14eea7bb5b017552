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

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "matmul_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_GEMM_T fnn_gemm_f32_fn
#define FNN_VARIANT_T fnn_sgemm_variant
#define FNN_VARIANT_PICK fnn_sgemm_pick
#include "matmul_fast_impl.h"
#define FNN_GEMM_FAST fnn_gemm_fast_f32
#include "fnn_each_level.h"
#include "matmul_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
#undef FNN_VARIANT_T
#undef FNN_VARIANT_PICK
#undef FNN_GEMM_FAST

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_GEMM_T fnn_gemm_f64_fn
#define FNN_VARIANT_T fnn_dgemm_variant
#define FNN_VARIANT_PICK fnn_dgemm_pick
#include "matmul_fast_impl.h"
#define FNN_GEMM_FAST fnn_gemm_fast_f64
#include "fnn_each_level.h"
#include "matmul_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
#undef FNN_VARIANT_T
#undef FNN_VARIANT_PICK
#undef FNN_GEMM_FAST
