/* The conv family's "avx2" variant: arch/conv_f32_body.h on 8-lane ymm vectors, 16
 * registers (the body's tiles shrink to fit them). Lane ranges carry vmaskmovps's lane
 * mask (which does not touch memory outside the range) and whether they are whole: a
 * whole vector is a plain load or store, and a vmaskmovps store (about 13 cycles on AMD
 * Zen) only cuts a row's last vector. */
#include "conv_variants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "arch/targets.h"

#define TGT FNN_TARGET(FNN_TARGET_AVX2)
#define AI __attribute__((always_inline)) inline
#define LANES 8
#define REGS 16
#define VEC __m256
#define RNG rng8
#define ROW __m256
#define RROW rng8
#define DSUM __m256d
#define FNN_ARCH(name) name##_avx2
#define FNN_ARCH_NAME "avx2"
#define FNN_ARCH_ISA FNN_ISA_AVX2

typedef struct {
    __m256i m;
    int whole;
} rng8;

TGT static AI __m256 v_zero(void) { return _mm256_setzero_ps(); }
TGT static AI __m256 v_set1(float x) { return _mm256_set1_ps(x); }
TGT static AI __m256 v_fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
TGT static AI __m256 v_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
TGT static AI __m256 v_loadu(const float *p) { return _mm256_loadu_ps(p); }
TGT static AI float v_reduce(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
TGT static AI rng8 rng(int lo, int hi)
{
    const __m256i j = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    rng8 r;
    r.m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), j),
                              _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), j));
    r.whole = lo == 0 && hi == 8;
    return r;
}
TGT static AI __m256 v_load_rng(const float *p, rng8 r)
{
    return r.whole ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, r.m);
}
TGT static AI __m256 v_load_rng2(const float *pa, rng8 ra, const float *pb, rng8 rb)
{
    return _mm256_or_ps(v_load_rng(pa, ra), _mm256_maskload_ps(pb, rb.m));
}
TGT static AI void v_store_rng(float *p, __m256 v, rng8 r)
{
    if (r.whole)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, r.m, v);
}
TGT static AI void v_store(float *p, __m256 v) { _mm256_store_ps(p, v); }
TGT static AI __m256 r_zero(void) { return _mm256_setzero_ps(); }
TGT static AI __m256 r_set1(float x) { return _mm256_set1_ps(x); }
TGT static AI __m256 r_fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
TGT static AI __m256 r_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
TGT static AI void r_store8(float *p, __m256 v) { _mm256_storeu_ps(p, v); }
TGT static AI rng8 rrow(int lo, int hi) { return rng(lo, hi); }
TGT static AI __m256 r_load_rng(const float *p, rng8 r) { return _mm256_maskload_ps(p, r.m); }
/* db sums: the 8 lanes as two halves of 4 doubles, added up once at the end */
TGT static AI __m256d d_zero(void) { return _mm256_setzero_pd(); }
TGT static AI __m256d d_add(__m256d s, __m256 v)
{
    return _mm256_add_pd(_mm256_add_pd(s, _mm256_cvtps_pd(_mm256_castps256_ps128(v))),
                         _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}
TGT static AI double d_total(__m256d s)
{
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

#include "arch/conv_f32_body.h"

#endif
