/* pool_avx512.c -- 2x2 stride-2 max pooling, float32, AVX-512 (pool_avx512.h).
 *
 * Hand-written intrinsics compiled with a target attribute and called only when
 * fnn_maxpool2x2_ok / fnn_maxpool2x2_bwd_ok (which check the CPU) say so; elsewhere
 * they are 0 and pool.c keeps to pool_impl.h's leaves.
 *
 * One output row of OW <= 16 elements at a time: its two input rows, 2 * OW <= 32
 * columns each, are two masked loads apiece; even and odd columns come out of one
 * two-source permute each. Lanes at or past OW are computed from zeros and never stored.
 */
#include <limits.h>
#include <string.h>

#include "cpu.h"
#include "pool_avx512.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

int fnn_maxpool2x2_isa(void)
{
    return fnn_own_kernels_run(FNN_MAXPOOL2X2_ISA) ? FNN_MAXPOOL2X2_ISA : -1;
}

int fnn_maxpool2x2_bwd_ok(const fnn_conv_geom *g)
{
    return g->ow >= 1 && g->ow <= 16 && g->oh >= 1 && 2 * g->ow <= g->w &&
           2 * g->oh <= g->h && g->h * g->w < INT_MAX && fnn_maxpool2x2_isa() >= 0;
}

int fnn_maxpool2x2_ok(const fnn_conv_geom *g)
{
    return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && fnn_maxpool2x2_bwd_ok(g);
}

/* Lanes [0, n) of a 16-lane mask, n clamped to [0, 16]. */
static inline __mmask16 first_lanes(fnn_idx n)
{
    if (n <= 0) return 0;
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

/* Even columns 0, 2, .., 30 and odd columns 1, 3, .., 31 of the 32 in (lo, hi). */
#define EVEN_COLS _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0)
#define ODD_COLS _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1)

TGT void fnn_maxpool2x2_forward(const fnn_conv_geom *g, fnn_idx planes, const float *x,
                                float *y, fnn_idx *argmax)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow, HW = g->h * W, OHW = OH * OW;
    const __mmask16 m0 = first_lanes(2 * OW), m1 = first_lanes(2 * OW - 16);
    const __mmask16 mo = first_lanes(OW);
    const __m512i ie = EVEN_COLS, io = ODD_COLS;
    const __m512i twice = _mm512_slli_epi32(
        _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 1);
    const __m512i k01 = _mm512_set1_epi32(1), k10 = _mm512_set1_epi32((int)W);
    const __m512i k11 = _mm512_set1_epi32((int)W + 1);
    for (fnn_idx p = 0; p < planes; ++p) {
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const fnn_idx top = 2 * oh * W;
            const float *ra = x + p * HW + top, *rb = ra + W;
            const __m512 a0 = _mm512_maskz_loadu_ps(m0, ra), a1 = _mm512_maskz_loadu_ps(m1, ra + 16);
            const __m512 b0 = _mm512_maskz_loadu_ps(m0, rb), b1 = _mm512_maskz_loadu_ps(m1, rb + 16);
            __m512 m = _mm512_permutex2var_ps(a0, ie, a1);
            __m512i k = _mm512_setzero_si512();
            /* the window's other three elements in row-major order; take v when
             * !(v <= m) (v larger, or a NaN) and m is not already a NaN */
#define FNN_TAKE(v, kv)                                                                   \
    {                                                                                     \
        const __m512 v_ = (v);                                                            \
        const __mmask16 t_ = _mm512_cmp_ps_mask(v_, m, _CMP_NLE_UQ) &                     \
                             _mm512_cmp_ps_mask(m, m, _CMP_ORD_Q);                        \
        m = _mm512_mask_mov_ps(m, t_, v_);                                                \
        k = _mm512_mask_mov_epi32(k, t_, (kv));                                           \
    }
            FNN_TAKE(_mm512_permutex2var_ps(a0, io, a1), k01)
            FNN_TAKE(_mm512_permutex2var_ps(b0, ie, b1), k10)
            FNN_TAKE(_mm512_permutex2var_ps(b0, io, b1), k11)
#undef FNN_TAKE
            _mm512_mask_storeu_ps(y + p * OHW + oh * OW, mo, m);
            /* argmax = top + 2 * ow + k, widened to 64 bits */
            const __m512i idx = _mm512_add_epi32(_mm512_add_epi32(k, twice),
                                                 _mm512_set1_epi32((int)top));
            fnn_idx *ar = argmax + p * OHW + oh * OW;
            _mm512_mask_storeu_epi64(ar, (__mmask8)mo,
                                     _mm512_cvtepi32_epi64(_mm512_castsi512_si256(idx)));
            _mm512_mask_storeu_epi64(ar + 8, (__mmask8)(mo >> 8),
                                     _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(idx, 1)));
        }
    }
}

/* Lanes of the 16 offsets (two vectors of 8) equal to v. */
static TGT inline __mmask16 offsets_eq(__m512i lo, __m512i hi, fnn_idx v)
{
    const __m512i vv = _mm512_set1_epi64((long long)v);
    return (__mmask16)(_mm512_cmpeq_epi64_mask(lo, vv) |
                       ((unsigned)_mm512_cmpeq_epi64_mask(hi, vv) << 8));
}

TGT void fnn_maxpool2x2_backward(const fnn_conv_geom *g, fnn_idx planes, const float *dy,
                                 const fnn_idx *argmax, float *dx,
                                 fnn_maxpool_plane_fn fallback)
{
    const fnn_idx H = g->h, W = g->w, OH = g->oh, OW = g->ow, HW = H * W, OHW = OH * OW;
    const __mmask16 m0 = first_lanes(2 * OW), m1 = first_lanes(2 * OW - 16);
    const __mmask16 mo = first_lanes(OW);
    /* interleave (e, o) -> e0 o0 e1 o1 ...: lanes 0-7 of each, then lanes 8-15 */
    const __m512i il0 = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i il1 = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                         24, 8);
    const __m512i two = _mm512_slli_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), 1);
    const __m512 zero = _mm512_setzero_ps();
    const fnn_idx tail = W - 2 * OW; /* columns right of the last block: zero */
    for (fnn_idx p = 0; p < planes; ++p) {
        const float *dyp = dy + p * OHW;
        const fnn_idx *ap = argmax + p * OHW;
        float *dxp = dx + p * HW;
        int ok = 1;
        for (fnn_idx oh = 0; oh < OH && ok; ++oh) {
            const fnn_idx top = 2 * oh * W;
            const fnn_idx *ar = ap + oh * OW;
            const __m512i base = _mm512_add_epi64(two, _mm512_set1_epi64((long long)top));
            const __m512i lo = _mm512_sub_epi64(
                _mm512_maskz_loadu_epi64((__mmask8)mo, ar), base);
            const __m512i hi = _mm512_sub_epi64(
                _mm512_maskz_loadu_epi64((__mmask8)(mo >> 8), ar + 8),
                _mm512_add_epi64(base, _mm512_set1_epi64(16)));
            const __mmask16 e00 = offsets_eq(lo, hi, 0), e01 = offsets_eq(lo, hi, 1);
            const __mmask16 e10 = offsets_eq(lo, hi, W), e11 = offsets_eq(lo, hi, W + 1);
            if ((__mmask16)((e00 | e01 | e10 | e11) & mo) != mo) {
                ok = 0; /* an argmax outside its block: the plane goes to the fallback */
                break;
            }
            const __m512 d = _mm512_maskz_loadu_ps(mo, dyp + oh * OW);
            /* 0 + dy where the gradient goes (as the scatter adds it to a zeroed dx) */
            const __m512 ae = _mm512_mask_add_ps(zero, e00, zero, d);
            const __m512 ao = _mm512_mask_add_ps(zero, e01, zero, d);
            const __m512 be = _mm512_mask_add_ps(zero, e10, zero, d);
            const __m512 bo = _mm512_mask_add_ps(zero, e11, zero, d);
            float *ra = dxp + top, *rb = ra + W;
            _mm512_mask_storeu_ps(ra, m0, _mm512_permutex2var_ps(ae, il0, ao));
            _mm512_mask_storeu_ps(ra + 16, m1, _mm512_permutex2var_ps(ae, il1, ao));
            _mm512_mask_storeu_ps(rb, m0, _mm512_permutex2var_ps(be, il0, bo));
            _mm512_mask_storeu_ps(rb + 16, m1, _mm512_permutex2var_ps(be, il1, bo));
            if (tail > 0) {
                memset(ra + 2 * OW, 0, (size_t)tail * sizeof(float));
                memset(rb + 2 * OW, 0, (size_t)tail * sizeof(float));
            }
        }
        if (!ok) {
            fallback(HW, OHW, 1, dyp, ap, dxp);
            continue;
        }
        if (2 * OH < H) /* rows below the last block */
            memset(dxp + 2 * OH * W, 0, (size_t)((H - 2 * OH) * W) * sizeof(float));
    }
}

#else /* no AVX-512 code on this platform: pool.c keeps to pool_impl.h */

int fnn_maxpool2x2_isa(void) { return -2; }

int fnn_maxpool2x2_ok(const fnn_conv_geom *g)
{
    (void)g;
    return 0;
}
int fnn_maxpool2x2_bwd_ok(const fnn_conv_geom *g)
{
    (void)g;
    return 0;
}
void fnn_maxpool2x2_forward(const fnn_conv_geom *g, fnn_idx planes, const float *x, float *y,
                            fnn_idx *argmax)
{
    (void)g; (void)planes; (void)x; (void)y; (void)argmax;
}
void fnn_maxpool2x2_backward(const fnn_conv_geom *g, fnn_idx planes, const float *dy,
                             const fnn_idx *argmax, float *dx, fnn_maxpool_plane_fn fallback)
{
    (void)g; (void)planes; (void)dy; (void)argmax; (void)dx; (void)fallback;
}

#endif
