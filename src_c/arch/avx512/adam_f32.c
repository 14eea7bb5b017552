/* The adam family's "avx512" variant: arch/adam_f32_body.h on 16-lane vectors and
 * AVX-512's 14-bit estimates (one Newton step each). */
#include <float.h>
#include <math.h>

#include "optimizers.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "arch/targets.h"

#define TGT FNN_TARGET(FNN_TARGET_AVX512)
#define VEC __m512
#define MASK __mmask16
#define LANES 16
#define MASK_FIRST(n) ((__mmask16)((1u << (n)) - 1u))
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOAD(q) _mm512_loadu_ps(q)
#define V_STORE(q, x) _mm512_storeu_ps(q, x)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_LOADM(k, q) _mm512_maskz_loadu_ps(k, q)
#define V_STOREM(q, k, x) _mm512_mask_storeu_ps(q, k, x)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_FMADD(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_FNMADD(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define V_ZERO_ABS_LT(x, t, pos) (pos = _mm512_cmp_ps_mask(_mm512_abs_ps(x), t, _CMP_NLT_UQ), _mm512_maskz_mov_ps(pos, x))
#define V_RSQRT_POS(pos, x) _mm512_maskz_rsqrt14_ps(pos, x)
#define V_RCP(x) _mm512_rcp14_ps(x)
#define V_WHERE_INF(v, x, y) _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(v, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ), x)
/* MXCSR: flush-to-zero (bit 15) and denormals-are-zero (bit 6) */
#define FTZ_STATE unsigned int
#define FTZ_ON(s) (s = _mm_getcsr(), _mm_setcsr(s | 0x8040u))
#define FTZ_OFF(s) _mm_setcsr(s)
#define ADAM_NEWTON 1
#define ADAM_REFINE 0
#define ADAM_NAME adam_avx512
#include "arch/adam_f32_body.h"

const fnn_adam_f32_variant fnn_adam_f32_avx512 = {"avx512", FNN_ISA_AVX512, adam_avx512};

#endif
