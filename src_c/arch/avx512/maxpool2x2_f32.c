/* The maxpool2x2 family's "avx512" variant: arch/maxpool2x2_f32_body.h on 16-lane
 * vectors with mask registers (the cut loads and stores are masked). */
#include <string.h>

#include "pool_variants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "arch/targets.h"

#define TGT FNN_TARGET(FNN_TARGET_AVX512) __attribute__((always_inline)) inline
#define LANES 16
#define VEC __m512
#define MASK __mmask16
#define VECI __m512i
#define VEC64 __m512i
#define CUT __mmask16
#define FNN_ARCH(name) name##_avx512
#define FNN_ARCH_NAME "avx512"
#define FNN_ARCH_ISA FNN_ISA_AVX512

/* Lanes [0, n) of a 16-lane mask, n clamped to [0, 16]. */
TGT static __mmask16 cut_of(fnn_idx n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}
TGT static __m512 v_zero(void) { return _mm512_setzero_ps(); }
TGT static __m512 v_load_cut(const float *p, __mmask16 c) { return _mm512_maskz_loadu_ps(c, p); }
TGT static void v_store_cut(float *p, __m512 v, __mmask16 c) { _mm512_mask_storeu_ps(p, c, v); }
TGT static __m512 v_even(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(
        a, _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0), b);
}
TGT static __m512 v_odd(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(
        a, _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1), b);
}
TGT static __m512 v_zip_lo(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(
        a, _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0), b);
}
TGT static __m512 v_zip_hi(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(
        a, _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8), b);
}
TGT static __mmask16 m_take(__m512 v, __m512 m)
{
    return _mm512_cmp_ps_mask(v, m, _CMP_NLE_UQ) & _mm512_cmp_ps_mask(m, m, _CMP_ORD_Q);
}
TGT static __m512 v_sel(__mmask16 t, __m512 v, __m512 m) { return _mm512_mask_mov_ps(m, t, v); }
TGT static __m512i vi_sel(__mmask16 t, __m512i a, __m512i b) { return _mm512_mask_mov_epi32(b, t, a); }
TGT static __m512 v_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
TGT static __m512 v_keep(__mmask16 t, __m512 v) { return _mm512_maskz_mov_ps(t, v); }
TGT static __mmask16 m_or(__mmask16 a, __mmask16 b) { return (__mmask16)(a | b); }
TGT static int m_all_cut(__mmask16 t, __mmask16 c) { return (__mmask16)(t & c) == c; }
TGT static __m512i vi_set1(int x) { return _mm512_set1_epi32(x); }
TGT static __m512i vi_add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
TGT static __m512i vi_twice(void)
{
    return _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
}
TGT static void vi_store_i64_cut(fnn_idx *p, __m512i v, __mmask16 m)
{
    _mm512_mask_storeu_epi64(p, (__mmask8)m, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)));
    _mm512_mask_storeu_epi64(p + 8, (__mmask8)(m >> 8),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)));
}
TGT static __m512i l_load_cut(const fnn_idx *p, __mmask16 c, int half)
{
    return _mm512_maskz_loadu_epi64((__mmask8)(half ? c >> 8 : c), p);
}
TGT static __m512i l_set1(long long x) { return _mm512_set1_epi64(x); }
TGT static __m512i l_add(__m512i a, __m512i b) { return _mm512_add_epi64(a, b); }
TGT static __m512i l_sub(__m512i a, __m512i b) { return _mm512_sub_epi64(a, b); }
TGT static __m512i l_twice(void) { return _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0); }
TGT static __mmask16 m_eq2(__m512i lo, __m512i hi, long long x)
{
    const __m512i v = _mm512_set1_epi64(x);
    return (__mmask16)(_mm512_cmpeq_epi64_mask(lo, v) | ((unsigned)_mm512_cmpeq_epi64_mask(hi, v) << 8));
}

#undef TGT
#define TGT FNN_TARGET(FNN_TARGET_AVX512)
#include "arch/maxpool2x2_f32_body.h"

#endif
