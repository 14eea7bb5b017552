/* The adam family's "avx2" variant: arch/adam_f32_body.h on 8-lane vectors and AVX's
 * 12-bit estimates, one Newton step each and the residual corrections of ADAM_REFINE
 * (with the Newton steps alone the step's error reached 2.5e-7, past the 2-ulp bound). */
#include <float.h>
#include <math.h>

#include "optimizers.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "arch/targets.h"

#define TGT FNN_TARGET(FNN_TARGET_AVX2)
#define VEC __m256
#define MASK __m256i
#define LANES 8
#define MASK_FIRST(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), \
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOAD(q) _mm256_loadu_ps(q)
#define V_STORE(q, x) _mm256_storeu_ps(q, x)
#define V_LOADM(k, q) _mm256_maskload_ps(q, k)
#define V_STOREM(q, k, x) _mm256_maskstore_ps(q, k, x)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_FMADD(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_FNMADD(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define V_ABS(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define V_ZERO_ABS_LT(x, t, pos) \
    (pos = _mm256_castps_si256(_mm256_cmp_ps(V_ABS(x), t, _CMP_NLT_UQ)), \
     _mm256_and_ps(_mm256_castsi256_ps(pos), x))
#define V_RSQRT_POS(pos, x) _mm256_and_ps(_mm256_castsi256_ps(pos), _mm256_rsqrt_ps(x))
#define V_RCP(x) _mm256_rcp_ps(x)
#define V_WHERE_INF(v, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(v, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ))
#define V_SUB(a, b) _mm256_sub_ps(a, b)
/* MXCSR: flush-to-zero (bit 15) and denormals-are-zero (bit 6) */
#define FTZ_STATE unsigned int
#define FTZ_ON(s) (s = _mm_getcsr(), _mm_setcsr(s | 0x8040u))
#define FTZ_OFF(s) _mm_setcsr(s)
#define ADAM_NEWTON 1
#define ADAM_REFINE 1
#define ADAM_NAME adam_avx2
#include "arch/adam_f32_body.h"

const fnn_adam_f32_variant fnn_adam_f32_avx2 = {"avx2", FNN_ISA_AVX2, adam_avx2};

#endif
