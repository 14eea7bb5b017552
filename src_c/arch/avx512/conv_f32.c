/* The conv family's "avx512" variant: arch/conv_f32_body.h on 16-lane zmm vectors, 32
 * registers. Lane ranges are __mmask16 masks (masked loads and stores never touch the
 * lanes outside them); a kernel row (ROW) is a ymm register with an 8-lane mask: a
 * 512-bit load at an arbitrary offset straddles two cache lines 15 times in 16. */
#include "conv_variants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "arch/targets.h"

#define TGT FNN_TARGET(FNN_TARGET_AVX512)
#define AI __attribute__((always_inline)) inline
#define LANES 16
#define REGS 32
#define VEC __m512
#define RNG __mmask16
#define ROW __m256
#define RROW __mmask8
#define DSUM __m512d
#define FNN_ARCH(name) name##_avx512
#define FNN_ARCH_NAME "avx512"
#define FNN_ARCH_ISA FNN_ISA_AVX512

TGT static AI __m512 v_zero(void) { return _mm512_setzero_ps(); }
TGT static AI __m512 v_set1(float x) { return _mm512_set1_ps(x); }
TGT static AI __m512 v_fma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
TGT static AI __m512 v_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
TGT static AI __m512 v_loadu(const float *p) { return _mm512_loadu_ps(p); }
TGT static AI float v_reduce(__m512 v) { return _mm512_reduce_add_ps(v); }
TGT static AI __mmask16 rng(int lo, int hi)
{
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}
TGT static AI __m512 v_load_rng(const float *p, __mmask16 r) { return _mm512_maskz_loadu_ps(r, p); }
TGT static AI __m512 v_load_rng2(const float *pa, __mmask16 ra, const float *pb, __mmask16 rb)
{
    return _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(ra, pa), rb, pb);
}
TGT static AI void v_store_rng(float *p, __m512 v, __mmask16 r) { _mm512_mask_storeu_ps(p, r, v); }
TGT static AI void v_store(float *p, __m512 v) { _mm512_store_ps(p, v); }
TGT static AI __m256 r_zero(void) { return _mm256_setzero_ps(); }
TGT static AI __m256 r_set1(float x) { return _mm256_set1_ps(x); }
TGT static AI __m256 r_fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
TGT static AI __m256 r_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
TGT static AI void r_store8(float *p, __m256 v) { _mm256_storeu_ps(p, v); }
TGT static AI __mmask8 rrow(int lo, int hi) { return (__mmask8)(((1u << hi) - 1u) & ~((1u << lo) - 1u)); }
TGT static AI __m256 r_load_rng(const float *p, __mmask8 r) { return _mm256_maskz_loadu_ps(r, p); }
/* db sums: the 16 lanes as two halves of 8 doubles, added up once at the end */
TGT static AI __m512d d_zero(void) { return _mm512_setzero_pd(); }
TGT static AI __m512d d_add(__m512d s, __m512 v)
{
    return _mm512_add_pd(_mm512_add_pd(s, _mm512_cvtps_pd(_mm512_castps512_ps256(v))),
                         _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}
TGT static AI double d_total(__m512d s) { return _mm512_reduce_add_pd(s); }

#include "arch/conv_f32_body.h"

#endif
