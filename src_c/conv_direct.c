/* conv_direct.c -- direct float32 convolution for few input channels (conv_direct.h).
 *
 * Hand-written AVX-512 intrinsics, compiled with a target attribute and called only
 * when fnn_conv_direct_ok (which checks the CPU) says so; on other compilers and
 * platforms fnn_conv_direct_ok is 0 and conv.c keeps to im2col + GEMM.
 *
 * The register tiles are always_inline functions whose sizes (filters per tile,
 * vectors per row, kernel width) are compile-time constants at each call site, so the
 * accumulator arrays live in zmm registers.
 */
#include "conv_direct.h"
#include "cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define AI __attribute__((always_inline)) inline

int fnn_conv_direct_isa(void)
{
    return fnn_own_kernels_run(FNN_CONV_DIRECT_ISA) ? FNN_CONV_DIRECT_ISA : -1;
}

int fnn_conv_direct_ok(const fnn_conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->c >= 1 && g->f >= 1 &&
           g->c * g->kh * g->kw <= FNN_CONV_DIRECT_MAX_K && g->kw <= FNN_CONV_DIRECT_MAX_KW &&
           g->ow >= 8 && g->oh >= 1 && fnn_conv_direct_isa() >= 0;
}

/* Lanes [lo, hi) of a 16-lane mask (clamped to [0, 16]). */
static inline __mmask16 lanes(fnn_idx lo, fnn_idx hi)
{
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* The lanes j of the vector of output positions ow0 + j (ow0 + j < OW) whose input column
 * ow0 + j + kw - pl lies inside the row [0, W). */
static inline __mmask16 col_mask(const fnn_conv_geom *g, fnn_idx ow0, fnn_idx kw)
{
    fnn_idx shift = kw - g->pl; /* input column of lane j: ow0 + j + shift */
    return lanes(-(ow0 + shift), g->w - (ow0 + shift)) & lanes(0, g->ow - ow0);
}

/* ------------------------------------------------------------------ forward */

/* FB filters x NV vectors of one output row, starting at output column ow0: ys points at
 * y[i, f0, oh, ow0], wf at w[f0], xs at x[i]; mk[2 * kw + v] are the load masks and
 * m_out[v] the store masks. */
TGT static AI void fwd_tile(const int FB, const int NV, const fnn_conv_geom *g, fnn_idx oh,
                            fnn_idx ow0, const float *xs, const float *wf, const float *bf,
                            float *ys, const __mmask16 *mk, const __mmask16 *m_out)
{
    const fnn_idx H = g->h, W = g->w, KH = g->kh, KW = g->kw, K = g->c * KH * KW;
    const fnn_idx OHW = g->oh * g->ow;
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[q][v] = bf ? _mm512_set1_ps(bf[q]) : _mm512_setzero_ps();
    for (fnn_idx c = 0; c < g->c; ++c) {
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const fnn_idx ih = oh + kh - g->pt;
            if (ih < 0 || ih >= H) continue; /* a padding row: adds nothing */
            /* lane j of vector v, offset kw: row[16 v + j + kw] */
            const float *row = xs + (c * H + ih) * W + ow0 - g->pl;
            const float *wk = wf + (c * KH + kh) * KW;
            for (fnn_idx kw = 0; kw < KW; ++kw) {
                __m512 xv[2];
#pragma GCC unroll 2
                for (int v = 0; v < NV; ++v)
                    xv[v] = _mm512_maskz_loadu_ps(mk[2 * kw + v], row + 16 * v + kw);
#pragma GCC unroll 8
                for (int q = 0; q < FB; ++q) {
                    const __m512 wq = _mm512_set1_ps(wk[q * K + kw]);
#pragma GCC unroll 2
                    for (int v = 0; v < NV; ++v) acc[q][v] = _mm512_fmadd_ps(wq, xv[v], acc[q][v]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(ys + q * OHW + 16 * v, m_out[v], acc[q][v]);
}

/* Unpadded layers with output rows of at least 16: a tile is FB filters x 3 vectors of 16
 * consecutive positions of the flattened output plane (q = oh * OW + ow), so no lane is
 * idle where OW is not a multiple of 16 (the LeNet's 24). A vector then spans at most
 * two output rows, whose inputs are two runs of consecutive elements: lanes [0, L) at
 * pa[v] and lanes [L, 16) at pb[v] (pb already shifted back by L), two masked loads
 * merged. Lanes past the plane are in neither mask and not stored. */
TGT static AI void fwd_flat_tile(const int FB, const fnn_conv_geom *g, const float *xs,
                                 const float *wf, const float *bf, float *ys,
                                 const fnn_idx *pa, const fnn_idx *pb, const __mmask16 *ma,
                                 const __mmask16 *mb)
{
    const fnn_idx H = g->h, W = g->w, KH = g->kh, KW = g->kw, K = g->c * KH * KW;
    const fnn_idx OHW = g->oh * g->ow;
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 3
        for (int v = 0; v < 3; ++v) acc[q][v] = bf ? _mm512_set1_ps(bf[q]) : _mm512_setzero_ps();
    const float *wk = wf;
    for (fnn_idx c = 0; c < g->c; ++c) {
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const float *row = xs + (c * H + kh) * W;
            for (fnn_idx kw = 0; kw < KW; ++kw, ++wk) {
                __m512 xv[3];
#pragma GCC unroll 3
                for (int v = 0; v < 3; ++v) {
                    xv[v] = _mm512_maskz_loadu_ps(ma[v], row + pa[v] + kw);
                    xv[v] = _mm512_mask_loadu_ps(xv[v], mb[v], row + pb[v] + kw);
                }
#pragma GCC unroll 8
                for (int q = 0; q < FB; ++q) {
                    const __m512 wq = _mm512_set1_ps(wk[q * K]);
#pragma GCC unroll 3
                    for (int v = 0; v < 3; ++v) acc[q][v] = _mm512_fmadd_ps(wq, xv[v], acc[q][v]);
                }
            }
        }
    }
    const __mmask16 m_out[3] = {ma[0] | mb[0], ma[1] | mb[1], ma[2] | mb[2]};
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 3
        for (int v = 0; v < 3; ++v)
            _mm512_mask_storeu_ps(ys + q * OHW + 16 * v, m_out[v], acc[q][v]);
}

#define FNN_FLAT_CASE(fb)                                                                    \
    case fb:                                                                                 \
        fwd_flat_tile(fb, g, xs, wf, bf, ys, pa, pb, ma, mb);                                \
        break;

/* Whether g takes fwd_flat_tile: no padding (every window inside the image) and output
 * rows of at least 16. */
static inline int flat_ok(const fnn_conv_geom *g)
{
    return g->pt == 0 && g->pl == 0 && g->oh + g->kh - 1 <= g->h && g->ow + g->kw - 1 <= g->w &&
           g->ow >= 16;
}

TGT static void direct_forward_flat(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                                    const float *x, const float *w, const float *b, float *y)
{
    const fnn_idx F = g->f, OW = g->ow, OHW = g->oh * OW, W = g->w;
    const fnn_idx K = g->c * g->kh * g->kw, sample = g->c * g->h * W;
    for (fnn_idx i = i0; i < i1; ++i) { /* sample by sample: its planes stay in L1 */
        const float *xs = x + i * sample;
        for (fnn_idx q0 = 0; q0 < OHW; q0 += 48) {
            fnn_idx pa[3], pb[3];
            __mmask16 ma[3], mb[3];
            for (int v = 0; v < 3; ++v) {
                const fnn_idx q = q0 + 16 * v, oh = q / OW, ow = q % OW;
                const fnn_idx rest = OHW - q; /* positions left in the plane */
                const fnn_idx len = rest < 16 ? (rest > 0 ? rest : 0) : 16;
                const fnn_idx l = OW - ow < len ? OW - ow : len; /* lanes in row oh */
                pa[v] = oh * W + ow;
                pb[v] = (oh + 1) * W - l; /* lane l reads column 0 of row oh + 1 */
                ma[v] = lanes(0, l);
                mb[v] = lanes(l, len);
            }
            for (fnn_idx f0 = 0; f0 < F; f0 += 8) {
                const int fb = F - f0 < 8 ? (int)(F - f0) : 8;
                const float *wf = w + f0 * K, *bf = b ? b + f0 : NULL;
                float *ys = y + (i * F + f0) * OHW + q0;
                switch (fb) {
                    FNN_FLAT_CASE(1)
                    FNN_FLAT_CASE(2)
                    FNN_FLAT_CASE(3)
                    FNN_FLAT_CASE(4)
                    FNN_FLAT_CASE(5)
                    FNN_FLAT_CASE(6)
                    FNN_FLAT_CASE(7)
                    FNN_FLAT_CASE(8)
                }
            }
        }
    }
}
#undef FNN_FLAT_CASE

#define FNN_FWD_CASE(fb)                                                                     \
    case fb:                                                                                 \
        if (nv == 2)                                                                         \
            fwd_tile(fb, 2, g, oh, ow0, xs, wf, bf, ys, mk, m_out);                          \
        else                                                                                 \
            fwd_tile(fb, 1, g, oh, ow0, xs, wf, bf, ys, mk, m_out);                          \
        break;

TGT void fnn_conv_direct_forward(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                                 const float *x, const float *w, const float *b, float *y)
{
    if (flat_ok(g)) {
        direct_forward_flat(g, i0, i1, x, w, b, y);
        return;
    }
    const fnn_idx F = g->f, OH = g->oh, OW = g->ow, OHW = OH * OW, KW = g->kw;
    const fnn_idx K = g->c * g->kh * KW, sample = g->c * g->h * g->w;
    __mmask16 mk[2 * FNN_CONV_DIRECT_MAX_KW], m_out[2];
    for (fnn_idx ow0 = 0; ow0 < OW; ow0 += 32) {
        const int nv = OW - ow0 > 16 ? 2 : 1;
        for (int v = 0; v < 2; ++v) {
            m_out[v] = lanes(0, OW - ow0 - 16 * v);
            for (fnn_idx kw = 0; kw < KW; ++kw) mk[2 * kw + v] = col_mask(g, ow0 + 16 * v, kw);
        }
        for (fnn_idx i = i0; i < i1; ++i) {
            const float *xs = x + i * sample;
            for (fnn_idx oh = 0; oh < OH; ++oh) {
                for (fnn_idx f0 = 0; f0 < F; f0 += 8) {
                    const int fb = F - f0 < 8 ? (int)(F - f0) : 8;
                    const float *wf = w + f0 * K, *bf = b ? b + f0 : NULL;
                    float *ys = y + (i * F + f0) * OHW + oh * OW + ow0;
                    switch (fb) {
                        FNN_FWD_CASE(1)
                        FNN_FWD_CASE(2)
                        FNN_FWD_CASE(3)
                        FNN_FWD_CASE(4)
                        FNN_FWD_CASE(5)
                        FNN_FWD_CASE(6)
                        FNN_FWD_CASE(7)
                        FNN_FWD_CASE(8)
                    }
                }
            }
        }
    }
}
#undef FNN_FWD_CASE

/* ----------------------------------------------------------------------- dW */

/* Filters per dW task: FB filters x KW offsets of partial-sum vectors, plus FB dy vectors
 * and one x vector, must fit the 32 zmm registers. */
static inline fnn_idx dw_block(const fnn_conv_geom *g) { return g->kw <= 6 ? 4 : 3; }

fnn_idx fnn_conv_direct_dw_tasks(const fnn_conv_geom *g)
{
    const fnn_idx fb = dw_block(g);
    return (g->f + fb - 1) / fb;
}

/* Adds sample i's share to the partial sums of filters f0 .. f0 + FB - 1, input channel
 * c and kernel row kh: acc[q * KW + kw] (one vector of 16 partial sums each) +=
 * dy[i, f0 + q, oh, ow] * x[i, c, oh + kh - pt, ow + kw - pl] over the output positions. */
TGT static AI void dw_tile(const int FB, const int KW, const fnn_conv_geom *g, fnn_idx i,
                           fnn_idx f0, fnn_idx c, fnn_idx kh, const float *x, const float *dy,
                           __m512 *accp)
{
    const fnn_idx H = g->h, W = g->w, OH = g->oh, OW = g->ow, OHW = OH * OW;
    __m512 acc[4][FNN_CONV_DIRECT_MAX_KW];
#pragma GCC unroll 4
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 7
        for (int kw = 0; kw < KW; ++kw) acc[q][kw] = accp[q * KW + kw];
    /* output rows whose input row oh + kh - pt is inside the image */
    fnn_idx oh0 = g->pt - kh > 0 ? g->pt - kh : 0, oh1 = H + g->pt - kh;
    if (oh1 > OH) oh1 = OH;
    for (fnn_idx ow0 = 0; ow0 < OW; ow0 += 16) {
        const __mmask16 m_out = lanes(0, OW - ow0);
        __mmask16 mk[FNN_CONV_DIRECT_MAX_KW];
#pragma GCC unroll 7
        for (int kw = 0; kw < KW; ++kw) mk[kw] = col_mask(g, ow0, kw);
        const float *xrow = x + ((i * g->c + c) * H + oh0 + kh - g->pt) * W + ow0 - g->pl;
        const float *drow = dy + (i * g->f + f0) * OHW + oh0 * OW + ow0;
        for (fnn_idx oh = oh0; oh < oh1; ++oh, xrow += W, drow += OW) {
            __m512 d[4];
#pragma GCC unroll 4
            for (int q = 0; q < FB; ++q) d[q] = _mm512_maskz_loadu_ps(m_out, drow + q * OHW);
#pragma GCC unroll 7
            for (int kw = 0; kw < KW; ++kw) {
                const __m512 xv = _mm512_maskz_loadu_ps(mk[kw], xrow + kw);
#pragma GCC unroll 4
                for (int q = 0; q < FB; ++q) acc[q][kw] = _mm512_fmadd_ps(d[q], xv, acc[q][kw]);
            }
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 7
        for (int kw = 0; kw < KW; ++kw) accp[q * KW + kw] = acc[q][kw];
}

/* Task t: the block of filters [f0, f0 + fb). Sample by sample (its rows of dy and x
 * stay in L1 across the C * KH kernel rows), the partial sums of every (c, kh) go
 * through registers and back to `acc`; at the end each vector of partial sums is added
 * up into its entry of dw. */
#define FNN_DW_KW(kwv)                                                                       \
    case kwv:                                                                                \
        for (fnn_idx i = 0; i < n; ++i)                                                      \
            for (fnn_idx ck = 0; ck < per_f; ++ck) {                                         \
                const fnn_idx c = ck / g->kh, kh = ck % g->kh;                               \
                __m512 *a = acc + ck * full * kwv;                                           \
                if (fb == full)                                                              \
                    dw_tile(kwv <= 6 ? 4 : 3, kwv, g, i, f0, c, kh, x, dy, a);               \
                else                                                                         \
                    for (fnn_idx q = 0; q < fb; ++q)                                         \
                        dw_tile(1, kwv, g, i, f0 + q, c, kh, x, dy, a + q * kwv);            \
            }                                                                                \
        break;

TGT void fnn_conv_direct_dw(const fnn_conv_geom *g, fnn_idx n, fnn_idx t0, fnn_idx t1,
                            const float *x, const float *dy, float *dw)
{
    const fnn_idx full = dw_block(g), per_f = g->c * g->kh, KW = g->kw, K = per_f * KW;
    /* partial sums of one filter block: (c, kh) x FB x KW vectors; C*KH*KW <= MAX_K */
    __m512 acc[FNN_CONV_DIRECT_MAX_K * 4];
    for (fnn_idx t = t0; t < t1; ++t) {
        const fnn_idx f0 = t * full, fb = g->f - f0 < full ? g->f - f0 : full;
        for (fnn_idx j = 0; j < per_f * full * KW; ++j) acc[j] = _mm512_setzero_ps();
        switch (KW) {
            FNN_DW_KW(1)
            FNN_DW_KW(2)
            FNN_DW_KW(3)
            FNN_DW_KW(4)
            FNN_DW_KW(5)
            FNN_DW_KW(6)
            FNN_DW_KW(7)
        }
        /* acc[(ck * full + q) * KW + kw] (the tail block: q < fb) -> dw[f0 + q, ck, kw] */
        for (fnn_idx ck = 0; ck < per_f; ++ck)
            for (fnn_idx q = 0; q < fb; ++q)
                for (fnn_idx kw = 0; kw < KW; ++kw)
                    dw[(f0 + q) * K + ck * KW + kw] =
                        _mm512_reduce_add_ps(acc[(ck * full + q) * KW + kw]);
    }
}
#undef FNN_DW_KW

/* ------------------------------------------------------- dW through max pooling */

/* A first layer whose output goes straight into max pooling receives a gradient that is
 * zero except at the one position of each pooling window that won. From the pooled
 * gradient and the argmax, dW needs only the patches of the positions that won: per
 * pooled gradient v at conv output (ah, aw) of filter f, dw[f, c, kh, :] += v * x[i, c,
 * ah + kh - pt, aw - pl : aw - pl + KW] -- one masked row load and one FMA per (c, kh).
 * Behind 2x2 windows that is a quarter of the dense kernel's products, and the pooling's
 * backward (the dense gradient) is not formed at all. */
int fnn_conv_pooled_dw_ok(const fnn_conv_geom *g, const fnn_conv_geom *pg)
{
    return fnn_conv_direct_ok(g) && g->c * g->kh <= FNN_CONV_POOLED_MAX_CKH &&
           g->oh * g->ow <= FNN_CONV_POOLED_MAX_OHW && pg->c == g->f && pg->h == g->oh &&
           pg->w == g->ow && pg->oh >= 1 && pg->ow >= 1;
}

/* acc[r] += s * row r = (c, kh) of the patch whose top-left input element is xp
 * (off[r] = c * H*W + kh * W); with PADDED, row r is read only if its input row ih + kh
 * lies in the image, and only the lanes in mc. 256-bit vectors (KW <= 7 lanes): a
 * 512-bit masked load at an arbitrary offset straddles two cache lines 15 times in 16. */
TGT static AI void pooled_dw_add(const int CKH, const int PADDED, const fnn_idx *off,
                                 const fnn_idx *rkh, fnn_idx ih, fnn_idx H, __mmask16 mc,
                                 const float *xp, __m256 s, __m256 *acc)
{
#pragma GCC unroll 8
    for (int r = 0; r < CKH; ++r) {
        const __mmask16 m = !PADDED || (ih + rkh[r] >= 0 && ih + rkh[r] < H) ? mc : 0;
        acc[r] = _mm256_fmadd_ps(s, _mm256_maskz_loadu_ps((__mmask8)m, xp + off[r]), acc[r]);
    }
}

/* Filter f's sums over the pooled gradients of the n samples, in order: CKH (= C*KH)
 * vectors of KW partial sums, in two sets (even and odd pooled positions: two chains of
 * FMAs), added at the end; db[f] in double, 16 positions per pass, likewise in order.
 * xoff[a]: the input offset of conv output a's patch, (ah - pt) * W + aw - pl. */
TGT static AI void pooled_dw_filter(const int CKH, const int PADDED, const fnn_conv_geom *g,
                                    const fnn_conv_geom *pg, fnn_idx n, fnn_idx f,
                                    const float *x, const float *gp, const fnn_idx *argmax,
                                    const int *xoff, float *dw, float *db)
{
    const fnn_idx H = g->h, W = g->w, OW = g->ow, KW = g->kw;
    const fnn_idx sample = g->c * H * W, F = g->f, PHW = pg->oh * pg->ow;
    const __mmask16 mkw = lanes(0, KW);
    fnn_idx off[FNN_CONV_POOLED_MAX_CKH], rkh[FNN_CONV_POOLED_MAX_CKH];
    for (int r = 0; r < CKH; ++r) {
        rkh[r] = r % g->kh;
        off[r] = (r / g->kh) * H * W + rkh[r] * W;
    }
    __m256 a0[FNN_CONV_POOLED_MAX_CKH], a1[FNN_CONV_POOLED_MAX_CKH];
#pragma GCC unroll 8
    for (int r = 0; r < CKH; ++r) a0[r] = a1[r] = _mm256_setzero_ps();
    __m512d bs0 = _mm512_setzero_pd(), bs1 = _mm512_setzero_pd();
    for (fnn_idx i = 0; i < n; ++i) {
        const float *gq = gp + (i * F + f) * PHW, *xi = x + i * sample;
        const fnn_idx *aq = argmax + (i * F + f) * PHW;
        for (fnn_idx q0 = 0; q0 < PHW; q0 += 16) {
            const __m512 v = _mm512_maskz_loadu_ps(lanes(0, PHW - q0), gq + q0);
            bs0 = _mm512_add_pd(bs0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
            bs1 = _mm512_add_pd(bs1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
        }
#define FNN_POOLED_ONE(q, acc)                                                               \
    do {                                                                                     \
        const fnn_idx a_ = aq[q];                                                            \
        fnn_idx ih_ = 0;                                                                     \
        __mmask16 mc_ = mkw;                                                                 \
        if (PADDED) {                                                                        \
            const fnn_idx iw_ = a_ % OW - g->pl;                                             \
            ih_ = a_ / OW - g->pt;                                                           \
            mc_ &= lanes(-iw_, W - iw_);                                                     \
        }                                                                                    \
        pooled_dw_add(CKH, PADDED, off, rkh, ih_, H, mc_, xi + xoff[a_],                     \
                      _mm256_set1_ps(gq[q]), acc);                                           \
    } while (0)
        fnn_idx q = 0;
        for (; q + 2 <= PHW; q += 2) {
            FNN_POOLED_ONE(q, a0);
            FNN_POOLED_ONE(q + 1, a1);
        }
        if (q < PHW) FNN_POOLED_ONE(q, a0);
#undef FNN_POOLED_ONE
    }
    float out[8];
#pragma GCC unroll 8
    for (int r = 0; r < CKH; ++r) {
        _mm256_storeu_ps(out, _mm256_add_ps(a0[r], a1[r]));
        for (fnn_idx kw = 0; kw < KW; ++kw) dw[(f * CKH + r) * KW + kw] = out[kw];
    }
    if (db) db[f] = (float)_mm512_reduce_add_pd(_mm512_add_pd(bs0, bs1));
}

#define FNN_POOLED_CKH(ckh)                                                                  \
    case ckh:                                                                                \
        for (fnn_idx f = f0; f < f1; ++f)                                                    \
            if (padded)                                                                      \
                pooled_dw_filter(ckh, 1, g, pg, n, f, x, gp, argmax, xoff, dw, db);          \
            else                                                                             \
                pooled_dw_filter(ckh, 0, g, pg, n, f, x, gp, argmax, xoff, dw, db);          \
        break;

TGT void fnn_conv_pooled_dw(const fnn_conv_geom *g, const fnn_conv_geom *pg, fnn_idx n,
                            fnn_idx f0, fnn_idx f1, const float *x, const float *gp,
                            const fnn_idx *argmax, float *dw, float *db)
{
    const int padded = g->pt > 0 || g->pl > 0;
    int xoff[FNN_CONV_POOLED_MAX_OHW];
    for (fnn_idx a = 0; a < g->oh * g->ow; ++a)
        xoff[a] = (int)((a / g->ow - g->pt) * g->w + a % g->ow - g->pl);
    switch (g->c * g->kh) {
        FNN_POOLED_CKH(1)
        FNN_POOLED_CKH(2)
        FNN_POOLED_CKH(3)
        FNN_POOLED_CKH(4)
        FNN_POOLED_CKH(5)
        FNN_POOLED_CKH(6)
        FNN_POOLED_CKH(7)
        FNN_POOLED_CKH(8)
    }
}
#undef FNN_POOLED_CKH

/* ------------------------------------------------ dW as an implicit GEMM (no im2col) */

/* dW^T = cols @ tmpT with cols never formed: row k = (c, kh, kw) of cols at position
 * p = (i, oh, ow) is x[i, c, oh + kh, ow + kw], so for a stride-1 unpadded layer the
 * operand a register tile broadcasts is read straight from x, at a constant offset per
 * row from one pointer per (c, kh). Tile: UT units (c, kh) x KW offsets = up to 12 rows
 * of dW^T, by NV vectors of 16 filters; per position two loads of tmpT's row and one
 * broadcast per row of the tile, every FMA on a full vector (the last masked when F is
 * not a multiple of 16). */
int fnn_conv_implicit_ok(const fnn_conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->pt == 0 && g->pl == 0 &&
           g->oh + g->kh - 1 <= g->h && g->ow + g->kw - 1 <= g->w && g->kh >= 1 &&
           g->kw >= 2 && g->kw <= FNN_CONV_IMPLICIT_MAX_KW && g->f >= 1 && g->f <= 32 &&
           g->c * g->kh * g->kw * g->f <= FNN_CONV_IMPLICIT_MAX_WT && g->oh >= 1 &&
           g->ow >= 1 && fnn_conv_direct_isa() >= 0;
}

/* A row of up to 32 filters (NV vectors, the last masked by mlast): W^T's row of one
 * kernel offset, or tmpT's row of one position. */
TGT static AI void load_filters(const int NV, const float *p, __mmask16 mlast, __m512 *v)
{
    if (NV == 2) {
        v[0] = _mm512_loadu_ps(p);
        v[1] = _mm512_maskz_loadu_ps(mlast, p + 16);
    } else {
        v[0] = _mm512_maskz_loadu_ps(mlast, p);
    }
}

/* Units (c, kh) per full tile: UT * KW rows, UT * KW * 2 <= 24 accumulators. */
static inline int implicit_units(fnn_idx kw) { return kw <= 2 ? 6 : (int)(12 / kw); }

/* dst[(r) * F + f] (+)= sum over samples i < ns and positions (oh, ow) of
 * xu[u][i * sample + (oh + 0) * W + ow + kw] * tT[(i*OHW + oh*OW + ow) * F + f],
 * r = u * KW + kw, summed in position order from zero, then added to dst when
 * `accumulate` (so each block's share is formed as the GEMM kernel forms it). */
TGT static AI void dwt_tile(const int UT, const int KW, const int NV, const fnn_conv_geom *g,
                            fnn_idx ns, const float *const *xu, const float *tT,
                            __mmask16 mlast, float *dst, int accumulate)
{
    const fnn_idx OH = g->oh, OW = g->ow, W = g->w, F = g->f, sample = g->c * g->h * W;
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int r = 0; r < UT * KW; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
    for (fnn_idx i = 0; i < ns; ++i) {
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const float *xr[6];
#pragma GCC unroll 6
            for (int u = 0; u < UT; ++u) xr[u] = xu[u] + i * sample + oh * W;
            for (fnn_idx ow = 0; ow < OW; ++ow, tT += F) {
                __m512 b[2];
                load_filters(NV, tT, mlast, b);
#pragma GCC unroll 6
                for (int u = 0; u < UT; ++u)
#pragma GCC unroll 7
                    for (int kw = 0; kw < KW; ++kw) {
                        const __m512 a = _mm512_set1_ps(xr[u][ow + kw]);
#pragma GCC unroll 2
                        for (int v = 0; v < NV; ++v)
                            acc[u * KW + kw][v] = _mm512_fmadd_ps(a, b[v], acc[u * KW + kw][v]);
                    }
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < UT * KW; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            float *d = dst + r * F + 16 * v;
            const __mmask16 m = v == NV - 1 ? mlast : (__mmask16)0xFFFF;
            __m512 s = acc[r][v];
            if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), s);
            _mm512_mask_storeu_ps(d, m, s);
        }
}

#define FNN_IMPLICIT_KW(kwv)                                                                 \
    case kwv:                                                                                \
        if (take == ut && nv == 2)                                                           \
            dwt_tile(kwv <= 2 ? 6 : 12 / kwv, kwv, 2, g, ns, xu, tmpT, mlast, dst, accumulate); \
        else if (take == ut)                                                                 \
            dwt_tile(kwv <= 2 ? 6 : 12 / kwv, kwv, 1, g, ns, xu, tmpT, mlast, dst, accumulate); \
        else if (nv == 2)                                                                    \
            dwt_tile(1, kwv, 2, g, ns, xu, tmpT, mlast, dst, accumulate);                    \
        else                                                                                 \
            dwt_tile(1, kwv, 1, g, ns, xu, tmpT, mlast, dst, accumulate);                    \
        break;

TGT void fnn_conv_implicit_dwt(const fnn_conv_geom *g, fnn_idx ns, fnn_idx u0, fnn_idx u1,
                               const float *x, const float *tmpT, float *dwt, int accumulate)
{
    const fnn_idx KH = g->kh, KW = g->kw, F = g->f, W = g->w, plane = g->h * W;
    const int nv = F > 16 ? 2 : 1, ut = implicit_units(KW);
    const __mmask16 mlast = lanes(0, F - 16 * (nv - 1));
    for (fnn_idx u = u0; u < u1;) {
        const int take = u1 - u >= ut ? ut : 1;
        const float *xu[6];
        for (int j = 0; j < take; ++j)
            xu[j] = x + ((u + j) / KH) * plane + ((u + j) % KH) * W;
        float *dst = dwt + u * KW * F;
        switch (KW) {
            FNN_IMPLICIT_KW(2)
            FNN_IMPLICIT_KW(3)
            FNN_IMPLICIT_KW(4)
            FNN_IMPLICIT_KW(5)
            FNN_IMPLICIT_KW(6)
            FNN_IMPLICIT_KW(7)
        }
        u += take;
    }
}
#undef FNN_IMPLICIT_KW

/* Forward as an implicit GEMM, positions x filters: a tile is P output positions of one
 * row (P <= 8) by NV vectors of 16 filters, started at the bias; per (c, kh, kw) one row
 * of W^T (two loads) and P broadcasts from x -- at constant offsets from one pointer per
 * (c, kh) -- against 2P FMAs. The tile holds y transposed (positions by filters), so it
 * goes out through a small buffer, 8 positions of each filter per gathered store. */
TGT static AI void fwd_implicit_tile(const int P, const int KW, const int NV,
                                     const fnn_conv_geom *g, const float *xs, const float *wt,
                                     const float *b, __mmask16 mlast, float *ys)
{
    const fnn_idx KH = g->kh, F = g->f, W = g->w, plane = g->h * W, OHW = g->oh * g->ow;
    __m512 acc[8][2], bias[2];
    bias[0] = bias[1] = _mm512_setzero_ps();
    if (b) load_filters(NV, b, mlast, bias);
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];
    const float *wk = wt;
    for (fnn_idx c = 0; c < g->c; ++c) {
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const float *xr = xs + c * plane + kh * W;
#pragma GCC unroll 7
            for (int kw = 0; kw < KW; ++kw, wk += F) {
                __m512 wv[2];
                load_filters(NV, wk, mlast, wv);
#pragma GCC unroll 8
                for (int j = 0; j < P; ++j) {
                    const __m512 a = _mm512_set1_ps(xr[j + kw]);
#pragma GCC unroll 2
                    for (int v = 0; v < NV; ++v) acc[j][v] = _mm512_fmadd_ps(a, wv[v], acc[j][v]);
                }
            }
        }
    }
    float tb[8 * 32] __attribute__((aligned(64)));
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) _mm512_store_ps(tb + j * 32 + 16 * v, acc[j][v]);
    const __m256i idx = _mm256_setr_epi32(0, 32, 64, 96, 128, 160, 192, 224);
    const __mmask8 mp = (__mmask8)((1u << P) - 1u);
    for (fnn_idx f = 0; f < F; ++f)
        _mm256_mask_storeu_ps(ys + f * OHW, mp,
                              _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), mp, idx, tb + f, 4));
}

#define FNN_IMPLICIT_FWD_P(pv, kwv)                                                          \
    if (nv == 2)                                                                             \
        fwd_implicit_tile(pv, kwv, 2, g, xs, wt, b, mlast, ys);                              \
    else                                                                                     \
        fwd_implicit_tile(pv, kwv, 1, g, xs, wt, b, mlast, ys);

#define FNN_IMPLICIT_FWD_KW(kwv)                                                             \
    case kwv:                                                                                \
        if (p == 8) {                                                                        \
            FNN_IMPLICIT_FWD_P(8, kwv)                                                       \
        } else if (p >= 4) {                                                                 \
            p = 4;                                                                           \
            FNN_IMPLICIT_FWD_P(4, kwv)                                                       \
        } else if (p >= 2) {                                                                 \
            p = 2;                                                                           \
            FNN_IMPLICIT_FWD_P(2, kwv)                                                       \
        } else {                                                                             \
            FNN_IMPLICIT_FWD_P(1, kwv)                                                       \
        }                                                                                    \
        break;

TGT void fnn_conv_implicit_forward(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                                   const float *x, const float *wt, const float *b, float *y)
{
    const fnn_idx F = g->f, OH = g->oh, OW = g->ow, OHW = OH * OW, W = g->w;
    const fnn_idx sample = g->c * g->h * W;
    const int nv = F > 16 ? 2 : 1;
    const __mmask16 mlast = lanes(0, F - 16 * (nv - 1));
    for (fnn_idx i = i0; i < i1; ++i)
        for (fnn_idx oh = 0; oh < OH; ++oh)
            for (fnn_idx ow0 = 0; ow0 < OW;) {
                int p = OW - ow0 >= 8 ? 8 : (int)(OW - ow0);
                const float *xs = x + i * sample + oh * W + ow0;
                float *ys = y + i * F * OHW + oh * OW + ow0;
                switch (g->kw) {
                    FNN_IMPLICIT_FWD_KW(2)
                    FNN_IMPLICIT_FWD_KW(3)
                    FNN_IMPLICIT_FWD_KW(4)
                    FNN_IMPLICIT_FWD_KW(5)
                    FNN_IMPLICIT_FWD_KW(6)
                    FNN_IMPLICIT_FWD_KW(7)
                }
                ow0 += p;
            }
}
#undef FNN_IMPLICIT_FWD_KW
#undef FNN_IMPLICIT_FWD_P

/* dX of such a layer with narrow input rows (W <= 16), vectorised over 16 input
 * channels: input row h of channels [c0, c0 + 16) is W accumulators (one per input
 * column), and each dy element adds into KW of them:
 *   dx[i, c, h, ow + kw] += w[f, c, kh, kw] * dy[i, f, h - kh, ow]
 * over f, the kernel rows kh that reach row h (0 <= h - kh < OH) and the OW x KW pairs
 * (ow, kw) -- exactly the products of dcols = W^T @ dy and col2im, without forming
 * dcols. OW and KW are compile-time constants (every accumulator index ow + kw is), so
 * the set of (OW, KW) pairs is a table; two accumulator sets (even and odd filters) when
 * they fit the registers. wr holds w rearranged as [c block][f][kh][kw][16 channels]
 * (zero beyond C). The row goes out transposed through a small buffer, one gathered
 * store per channel. */
#define FNN_DX_ROW_MAX 16

TGT static AI void dx_row(const int OW, const int KW, const int NSET, const fnn_conv_geom *g,
                          fnn_idx h, const float *dyi, const float *wrb, __mmask16 mc,
                          float *dxr)
{
    const fnn_idx F = g->f, KH = g->kh, OH = g->oh, OHW = OH * OW, W = OW + KW - 1;
    const fnn_idx plane = g->h * W;
    __m512 acc[2][FNN_DX_ROW_MAX];
#pragma GCC unroll 2
    for (int s = 0; s < NSET; ++s)
#pragma GCC unroll 16
        for (int j = 0; j < OW + KW - 1; ++j) acc[s][j] = _mm512_setzero_ps();
    const fnn_idx kh0 = h - OH + 1 > 0 ? h - OH + 1 : 0, kh1 = h < KH - 1 ? h : KH - 1;
    for (fnn_idx f = 0; f < F; f += NSET) {
#pragma GCC unroll 2
        for (int s = 0; s < NSET; ++s) {
            if (NSET == 2 && f + s >= F) break;
            for (fnn_idx kh = kh0; kh <= kh1; ++kh) {
                const float *d = dyi + (f + s) * OHW + (h - kh) * OW;
                const float *wk = wrb + ((f + s) * KH + kh) * KW * 16;
                __m512 wv[7];
#pragma GCC unroll 7
                for (int kw = 0; kw < KW; ++kw) wv[kw] = _mm512_load_ps(wk + 16 * kw);
#pragma GCC unroll 16
                for (int ow = 0; ow < OW; ++ow) {
                    const __m512 b = _mm512_set1_ps(d[ow]);
#pragma GCC unroll 7
                    for (int kw = 0; kw < KW; ++kw)
                        acc[s][ow + kw] = _mm512_fmadd_ps(b, wv[kw], acc[s][ow + kw]);
                }
            }
        }
    }
    float tb[FNN_DX_ROW_MAX * 16] __attribute__((aligned(64)));
#pragma GCC unroll 16
    for (int j = 0; j < OW + KW - 1; ++j)
        _mm512_store_ps(tb + 16 * j, NSET == 2 ? _mm512_add_ps(acc[0][j], acc[1][j]) : acc[0][j]);
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                             11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(16));
    const __mmask16 mw = lanes(0, W);
    for (int c = 0; c < 16; ++c) {
        if (!((mc >> c) & 1)) break;
        _mm512_mask_storeu_ps(dxr + c * plane, mw,
                              _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mw, idx, tb + c, 4));
    }
}

/* The (OW, KW) pairs the table covers: odd kernels 3, 5, 7, output rows from 4 up to an
 * input row of 16. */
int fnn_conv_implicit_dx_ok(const fnn_conv_geom *g)
{
    const fnn_idx KW = g->kw, OW = g->ow;
    return fnn_conv_implicit_ok(g) && g->w <= FNN_DX_ROW_MAX && OW >= 4 &&
           (KW == 3 || KW == 5 || KW == 7) &&
           ((g->c + 15) / 16) * 16 * g->f * g->kh * KW <= FNN_CONV_IMPLICIT_MAX_WT;
}

#define FNN_DX_CASE(owv, kwv)                                                                \
    case (owv) * 8 + (kwv):                                                                  \
        dx_row(owv, kwv, 2 * ((owv) + (kwv) - 1) + (kwv) + 1 <= 31 ? 2 : 1, g, h, dyi, wrb,   \
               mc, dxr);                                                                     \
        break;

TGT void fnn_conv_implicit_dx(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *wr,
                              const float *dy, float *dx)
{
    const fnn_idx C = g->c, F = g->f, H = g->h, W = g->w, plane = H * W;
    const fnn_idx KH = g->kh, KW = g->kw, OHW = g->oh * g->ow, blocks = (C + 15) / 16;
    for (fnn_idx i = i0; i < i1; ++i) {
        const float *dyi = dy + i * F * OHW;
        for (fnn_idx cb = 0; cb < blocks; ++cb) {
            const __mmask16 mc = lanes(0, C - 16 * cb);
            const float *wrb = wr + cb * F * KH * KW * 16;
            for (fnn_idx h = 0; h < H; ++h) {
                float *dxr = dx + (i * C + 16 * cb) * plane + h * W;
                switch (g->ow * 8 + KW) {
                    FNN_DX_CASE(4, 3) FNN_DX_CASE(5, 3) FNN_DX_CASE(6, 3) FNN_DX_CASE(7, 3)
                    FNN_DX_CASE(8, 3) FNN_DX_CASE(9, 3) FNN_DX_CASE(10, 3) FNN_DX_CASE(11, 3)
                    FNN_DX_CASE(12, 3) FNN_DX_CASE(13, 3) FNN_DX_CASE(14, 3)
                    FNN_DX_CASE(4, 5) FNN_DX_CASE(5, 5) FNN_DX_CASE(6, 5) FNN_DX_CASE(7, 5)
                    FNN_DX_CASE(8, 5) FNN_DX_CASE(9, 5) FNN_DX_CASE(10, 5) FNN_DX_CASE(11, 5)
                    FNN_DX_CASE(12, 5)
                    FNN_DX_CASE(4, 7) FNN_DX_CASE(5, 7) FNN_DX_CASE(6, 7) FNN_DX_CASE(7, 7)
                    FNN_DX_CASE(8, 7) FNN_DX_CASE(9, 7) FNN_DX_CASE(10, 7)
                }
            }
        }
    }
}
#undef FNN_DX_CASE

/* ------------------------------------------------------------ narrow planes: col2im */

int fnn_col2im_narrow_ok(const fnn_conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->w >= 1 && g->ow >= 1 &&
           g->w <= 16 && g->ow <= 16 && g->kw <= 16 && fnn_conv_direct_isa() >= 0;
}

/* The narrow col2im works on NS samples at once (a compile-time constant at each call
 * site): the samples share every mask and branch, and their NS row sums are independent
 * chains of adds (one chain per row would wait on the latency of every add). Measured
 * in the LeNet epoch (conv2: 16x12x12 -> 32x8x8, 5x5), 1 thread: col2im 24.5 -> 17 ms
 * per 6,000 samples. (An im2col built the same way, two output rows per vector by
 * masked loads, was slower than conv_impl.h's row copies: 51 against 41 ms; not kept.) */

/* col2im for samples i .. i + NS - 1 (si: sample i's segment of row (c, 0, 0) of cols,
 * shifted by +pl; d: its plane dx[i, c]). Each input row is summed in a register over
 * the (kh, kw) that read it, in (kh, kw) order from zero as col2im_block adds them, and
 * stored once: no zeroing pass, no read-modify-write per window offset. A lane an offset
 * does not reach adds +0.0, which changes no sum started at +0.0 (such a sum is never
 * -0.0), so the result is bit-identical to col2im_block's. */
TGT static AI void col2im_samples(const int NS, const fnn_conv_geom *g, fnn_idx ld,
                                  const __mmask16 *mk, const float *si, float *d,
                                  fnn_idx OHW, fnn_idx sample)
{
    const fnn_idx H = g->h, W = g->w, OH = g->oh, OW = g->ow, KH = g->kh, KW = g->kw;
    const __mmask16 mw = lanes(0, W);
    for (fnn_idx ih = 0; ih < H; ++ih) {
        __m512 acc[8];
#pragma GCC unroll 8
        for (int t = 0; t < NS; ++t) acc[t] = _mm512_setzero_ps();
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const fnn_idx oh = ih + g->pt - kh;
            if (oh < 0 || oh >= OH) continue; /* this kernel row does not reach row ih */
            const float *s = si + kh * KW * ld + oh * OW;
            for (fnn_idx kw = 0; kw < KW; ++kw, s += ld) {
                const __mmask16 m = mk[kw];
#pragma GCC unroll 8
                for (int t = 0; t < NS; ++t)
                    acc[t] = _mm512_add_ps(acc[t], _mm512_maskz_loadu_ps(m, s + t * OHW - kw));
            }
        }
#pragma GCC unroll 8
        for (int t = 0; t < NS; ++t) _mm512_mask_storeu_ps(d + t * sample + ih * W, mw, acc[t]);
    }
}

TGT void fnn_col2im_narrow(const fnn_conv_geom *g, fnn_idx n, fnn_idx c, fnn_idx i0,
                           fnn_idx i1, const float *cols, float *dx)
{
    const fnn_idx H = g->h, W = g->w, OW = g->ow, OHW = g->oh * OW;
    const fnn_idx KH = g->kh, KW = g->kw, ld = n * OHW, plane = H * W, sample = g->c * plane;
    const float *rows = cols + c * KH * KW * ld + g->pl;
    __mmask16 mk[16]; /* lane iw of offset kw reads output column iw + pl - kw */
    for (fnn_idx kw = 0; kw < KW; ++kw)
        mk[kw] = lanes(kw - g->pl, kw - g->pl + OW) & lanes(0, W);
    fnn_idx i = i0;
    for (; i + 8 <= i1; i += 8)
        col2im_samples(8, g, ld, mk, rows + i * OHW, dx + i * sample + c * plane, OHW, sample);
    if (i + 4 <= i1) {
        col2im_samples(4, g, ld, mk, rows + i * OHW, dx + i * sample + c * plane, OHW, sample);
        i += 4;
    }
    for (; i < i1; ++i)
        col2im_samples(1, g, ld, mk, rows + i * OHW, dx + i * sample + c * plane, OHW, sample);
}

#else /* no AVX-512 code on this platform: conv.c keeps to im2col + GEMM */

int fnn_conv_direct_isa(void) { return -2; }

int fnn_conv_direct_ok(const fnn_conv_geom *g)
{
    (void)g;
    return 0;
}
void fnn_conv_direct_forward(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *x,
                             const float *w, const float *b, float *y)
{
    (void)g; (void)i0; (void)i1; (void)x; (void)w; (void)b; (void)y;
}
fnn_idx fnn_conv_direct_dw_tasks(const fnn_conv_geom *g)
{
    (void)g;
    return 0;
}
void fnn_conv_direct_dw(const fnn_conv_geom *g, fnn_idx n, fnn_idx t0, fnn_idx t1,
                        const float *x, const float *dy, float *dw)
{
    (void)g; (void)n; (void)t0; (void)t1; (void)x; (void)dy; (void)dw;
}

int fnn_col2im_narrow_ok(const fnn_conv_geom *g)
{
    (void)g;
    return 0;
}
int fnn_conv_implicit_ok(const fnn_conv_geom *g)
{
    (void)g;
    return 0;
}
void fnn_conv_implicit_dwt(const fnn_conv_geom *g, fnn_idx ns, fnn_idx u0, fnn_idx u1,
                           const float *x, const float *tmpT, float *dwt, int accumulate)
{
    (void)g; (void)ns; (void)u0; (void)u1; (void)x; (void)tmpT; (void)dwt; (void)accumulate;
}
void fnn_conv_implicit_forward(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                               const float *x, const float *wt, const float *b, float *y)
{
    (void)g; (void)i0; (void)i1; (void)x; (void)wt; (void)b; (void)y;
}
int fnn_conv_implicit_dx_ok(const fnn_conv_geom *g)
{
    (void)g;
    return 0;
}
void fnn_conv_implicit_dx(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *wr,
                          const float *dy, float *dx)
{
    (void)g; (void)i0; (void)i1; (void)wr; (void)dy; (void)dx;
}
int fnn_conv_pooled_dw_ok(const fnn_conv_geom *g, const fnn_conv_geom *pg)
{
    (void)g; (void)pg;
    return 0;
}
void fnn_conv_pooled_dw(const fnn_conv_geom *g, const fnn_conv_geom *pg, fnn_idx n,
                        fnn_idx f0, fnn_idx f1, const float *x, const float *gp,
                        const fnn_idx *argmax, float *dw, float *db)
{
    (void)g; (void)pg; (void)n; (void)f0; (void)f1; (void)x; (void)gp; (void)argmax;
    (void)dw; (void)db;
}
void fnn_col2im_narrow(const fnn_conv_geom *g, fnn_idx n, fnn_idx c, fnn_idx i0, fnn_idx i1,
                       const float *cols, float *dx)
{
    (void)g; (void)n; (void)c; (void)i0; (void)i1; (void)cols; (void)dx;
}

#endif
