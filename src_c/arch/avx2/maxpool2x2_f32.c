/* The maxpool2x2 family's "avx2" variant: arch/maxpool2x2_f32_body.h on 8-lane vectors.
 * The cut loads are vmaskmovps (which does not touch masked-off memory); the cut stores
 * are 4 + 2 + 1 lanes (vmaskmovps stores cost about 13 cycles on AMD Zen). */
#include <string.h>

#include "pool_variants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "arch/targets.h"

#define TGT FNN_TARGET(FNN_TARGET_AVX2) __attribute__((always_inline)) inline
#define LANES 8
#define VEC __m256
#define MASK __m256
#define VECI __m256i
#define VEC64 __m256i
#define CUT cut8
#define FNN_ARCH(name) name##_avx2
#define FNN_ARCH_NAME "avx2"
#define FNN_ARCH_ISA FNN_ISA_AVX2

/* The first n lanes (n in [0, 8]): as a count, and as vmaskmov's lane mask. */
typedef struct {
    __m256i m;
    int n;
} cut8;
TGT static cut8 cut_of(fnn_idx n)
{
    cut8 c;
    c.n = n <= 0 ? 0 : n >= 8 ? 8 : (int)n;
    c.m = _mm256_cmpgt_epi32(_mm256_set1_epi32(c.n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return c;
}
TGT static __m256 v_zero(void) { return _mm256_setzero_ps(); }
TGT static __m256 v_load_cut(const float *p, cut8 c)
{
    if (c.n == 8) return _mm256_loadu_ps(p);
    if (c.n == 0) return _mm256_setzero_ps();
    return _mm256_maskload_ps(p, c.m);
}
TGT static void v_store_cut(float *p, __m256 v, cut8 c)
{
    const int n = c.n;
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    if (n <= 0) return;
    __m128 h = _mm256_castps256_ps128(v);
    if (n & 4) {
        _mm_storeu_ps(p, h);
        h = _mm256_extractf128_ps(v, 1);
        p += 4;
    }
    if (n & 2) {
        _mm_storel_pi((__m64 *)p, h);
        h = _mm_movehl_ps(h, h);
        p += 2;
    }
    if (n & 1) _mm_store_ss(p, h);
}
/* a0 a2 b0 b2 | a4 a6 b4 b6 -> a0 a2 a4 a6 b0 b2 b4 b6 */
TGT static __m256 v_even(__m256 a, __m256 b)
{
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
}
TGT static __m256 v_odd(__m256 a, __m256 b)
{
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
}
TGT static __m256 v_zip_lo(__m256 a, __m256 b)
{
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x20);
}
TGT static __m256 v_zip_hi(__m256 a, __m256 b)
{
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x31);
}
TGT static __m256 m_take(__m256 v, __m256 m)
{
    return _mm256_and_ps(_mm256_cmp_ps(v, m, _CMP_NLE_UQ), _mm256_cmp_ps(m, m, _CMP_ORD_Q));
}
TGT static __m256 v_sel(__m256 t, __m256 v, __m256 m) { return _mm256_blendv_ps(m, v, t); }
TGT static __m256i vi_sel(__m256 t, __m256i a, __m256i b)
{
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b), _mm256_castsi256_ps(a), t));
}
TGT static __m256 v_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
TGT static __m256 v_keep(__m256 t, __m256 v) { return _mm256_and_ps(t, v); }
TGT static __m256 m_or(__m256 a, __m256 b) { return _mm256_or_ps(a, b); }
TGT static int m_all_cut(__m256 t, cut8 c)
{
    const unsigned want = (1u << c.n) - 1u;
    return ((unsigned)_mm256_movemask_ps(t) & want) == want;
}
TGT static __m256i vi_set1(int x) { return _mm256_set1_epi32(x); }
TGT static __m256i vi_add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
TGT static __m256i vi_twice(void) { return _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14); }
/* the first n (<= 4) of the 4 int64 lanes of v to p */
TGT static void store_i64(fnn_idx *p, __m256i v, fnn_idx n)
{
    if (n >= 4) {
        _mm256_storeu_si256((__m256i *)p, v);
        return;
    }
    long long t[4];
    _mm256_storeu_si256((__m256i *)t, v);
    for (fnn_idx j = 0; j < n; ++j) p[j] = (fnn_idx)t[j];
}
TGT static void vi_store_i64_cut(fnn_idx *p, __m256i v, cut8 c)
{
    store_i64(p, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)), c.n);
    if (c.n > 4) store_i64(p + 4, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)), c.n - 4);
}
TGT static __m256i l_load_cut(const fnn_idx *p, cut8 c, int half)
{
    const int n = half ? c.n - 4 : c.n;
    if (n >= 4) return _mm256_loadu_si256((const __m256i *)p);
    if (n <= 0) return _mm256_setzero_si256();
    return _mm256_maskload_epi64((const long long *)p,
                                 _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)));
}
TGT static __m256i l_set1(long long x) { return _mm256_set1_epi64x(x); }
TGT static __m256i l_add(__m256i a, __m256i b) { return _mm256_add_epi64(a, b); }
TGT static __m256i l_sub(__m256i a, __m256i b) { return _mm256_sub_epi64(a, b); }
TGT static __m256i l_twice(void) { return _mm256_setr_epi64x(0, 2, 4, 6); }
/* lo0 lo1 | lo2 lo3 and hi0 hi1 | hi2 hi3 (64-bit all-ones or zeros) -> 8 float lanes */
TGT static __m256 m_eq2(__m256i lo, __m256i hi, long long x)
{
    const __m256i v = _mm256_set1_epi64x(x);
    const __m256 s = _mm256_shuffle_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi64(lo, v)),
                                       _mm256_castsi256_ps(_mm256_cmpeq_epi64(hi, v)),
                                       _MM_SHUFFLE(2, 0, 2, 0)); /* l0 l1 h0 h1 | l2 l3 h2 h3 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

#undef TGT
#define TGT FNN_TARGET(FNN_TARGET_AVX2)
#include "arch/maxpool2x2_f32_body.h"

#endif
