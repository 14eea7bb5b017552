/* pool_impl.h -- type-generic bodies for pool.c (included once per REAL).
 *
 * Every leaf takes a run of whole planes: x + p * H * W and y + p * OH * OW for
 * p in [0, planes).
 */

/* ------------------------------------------------------------------ max pooling */

/* The running maximum m is replaced by v when v is larger, or when v is a NaN and m is
 * not: so the result is the first NaN of the window if it has one, else the first
 * maximum (strict >: ties keep the earlier element). (Written with ||: GCC does not
 * if-convert a bitwise & of two float compares in these loops, and would not vectorize.) */
#ifndef FNN_POOL_TAKE
#define FNN_POOL_TAKE(v, m) (!((v) <= (m) || (m) != (m)))
#endif

/* Any window and stride: offset by offset over the window, each a vector loop over the
 * output row. y and argmax of the row hold the running maximum. */
FNN_SIMD_CLONES
static void FNN_SFX(maxpool_planes)(const fnn_conv_geom *g, fnn_idx planes, const REAL *x,
                                    REAL *y, fnn_idx *argmax)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow, SH = g->sh, SW = g->sw;
    const fnn_idx HW = g->h * W, OHW = OH * OW;
    for (fnn_idx p = 0; p < planes; ++p) {
        const REAL *xp = x + p * HW;
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            REAL *yr = y + p * OHW + oh * OW;
            fnn_idx *ar = argmax + p * OHW + oh * OW;
            const fnn_idx top = oh * SH * W;
#pragma omp simd simdlen(8)
            for (fnn_idx ow = 0; ow < OW; ++ow) {
                yr[ow] = xp[top + ow * SW];
                ar[ow] = top + ow * SW;
            }
            for (fnn_idx kh = 0; kh < g->kh; ++kh) {
                for (fnn_idx kw = (kh == 0); kw < g->kw; ++kw) {
                    const fnn_idx off = top + kh * W + kw;
                    const REAL *xr = xp + off;
#pragma omp simd simdlen(8)
                    for (fnn_idx ow = 0; ow < OW; ++ow) {
                        REAL v = xr[ow * SW], m = yr[ow];
                        int take = FNN_POOL_TAKE(v, m);
                        yr[ow] = take ? v : m;
                        ar[ow] = take ? off + ow * SW : ar[ow];
                    }
                }
            }
        }
    }
}

/* Output elements [b, b + len) of one row from the window rows starting at x0 (the
 * row's top-left input element, flat index `top` in the plane), the whole window
 * compared in registers for each element, in row-major order (2x2 or 3x3 windows,
 * spelled out: window loops inside the vector loop defeat GCC's if-conversion under
 * Python's -fwrapv). */
#define FNN_MAXPOOL_STEP(kh, kw)                                                         \
    {                                                                                    \
        REAL v = x0[(kh) * W + (kw) + ow * SW];                                          \
        int t = FNN_POOL_TAKE(v, m);                                                     \
        m = t ? v : m;                                                                   \
        k = t ? (kh) * W + (kw) : k;                                                     \
    }
#define FNN_MAXPOOL_ROW_PART(b, len)                                                     \
    for (fnn_idx j = 0; j < (len); ++j) {                                                \
        const fnn_idx ow = (b) + j;                                                      \
        REAL m = x0[ow * SW];                                                            \
        fnn_idx k = 0;                                                                   \
        if (K == 2) {                                                                    \
            FNN_MAXPOOL_STEP(0, 1) FNN_MAXPOOL_STEP(1, 0) FNN_MAXPOOL_STEP(1, 1)         \
        } else {                                                                         \
            FNN_MAXPOOL_STEP(0, 1) FNN_MAXPOOL_STEP(0, 2)                                \
            FNN_MAXPOOL_STEP(1, 0) FNN_MAXPOOL_STEP(1, 1) FNN_MAXPOOL_STEP(1, 2)         \
            FNN_MAXPOOL_STEP(2, 0) FNN_MAXPOOL_STEP(2, 1) FNN_MAXPOOL_STEP(2, 2)         \
        }                                                                                \
        yr[ow] = m;                                                                      \
        ar[ow] = top + ow * SW + k;                                                      \
    }

/* Rows of 8 or more outputs go in blocks of exactly 8 (one vector, no scalar remainder:
 * rows of pooled feature maps are short, and a remainder loop would dominate); the last
 * block is shifted back to end at OW, recomputing a few outputs with the same values. */
static inline __attribute__((always_inline)) void FNN_SFX(maxpool_fixed)(
    const fnn_conv_geom *g, fnn_idx planes, const REAL *x, REAL *y, fnn_idx *argmax,
    const int K, const int S)
{
    const fnn_idx SH = S, SW = S;
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow;
    const fnn_idx HW = g->h * W, OHW = OH * OW;
    for (fnn_idx p = 0; p < planes; ++p) {
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const fnn_idx top = oh * SH * W;
            const REAL *x0 = x + p * HW + top;
            REAL *yr = y + p * OHW + oh * OW;
            fnn_idx *ar = argmax + p * OHW + oh * OW;
            if (OW >= 8 && (S == 1 || K == S)) {
                for (fnn_idx o0 = 0; o0 < OW; o0 += 8) {
                    const fnn_idx b = o0 + 8 <= OW ? o0 : OW - 8;
#pragma omp simd
                    FNN_MAXPOOL_ROW_PART(b, 8)
                }
            } else {
#pragma omp simd simdlen(8)
                FNN_MAXPOOL_ROW_PART(0, OW)
            }
        }
    }
}

#define FNN_MAXPOOL_FIXED(K, S)                                                          \
    FNN_SIMD_CLONES                                                                      \
    static void FNN_SFX(maxpool_##K##x##K##s##S)(                                        \
        const fnn_conv_geom *g, fnn_idx planes, const REAL *x, REAL *y, fnn_idx *argmax) \
    {                                                                                    \
        FNN_SFX(maxpool_fixed)(g, planes, x, y, argmax, K, S);                           \
    }
FNN_MAXPOOL_FIXED(2, 2)
FNN_MAXPOOL_FIXED(3, 2)
FNN_MAXPOOL_FIXED(3, 1)
FNN_MAXPOOL_FIXED(2, 1)

/* Which fixed-window leaf fits g: 1..4, or 0 for the general one. */
static inline int FNN_SFX(pool_kind)(const fnn_conv_geom *g)
{
    if (g->kh != g->kw || g->sh != g->sw) return 0;
    if (g->kh == 2 && g->sh == 2) return 1;
    if (g->kh == 3 && g->sh == 2) return 2;
    if (g->kh == 3 && g->sh == 1) return 3;
    if (g->kh == 2 && g->sh == 1) return 4;
    return 0;
}

void FNN_SFX(fnn_maxpool_forward)(const fnn_conv_geom *g, fnn_idx n, const REAL *x, REAL *y,
                                  fnn_idx *argmax, int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow, K = g->kh * g->kw;
    const int kind = FNN_SFX(pool_kind)(g);
#ifdef FNN_MAXPOOL2X2
    const fnn_maxpool2x2_variant *fast =
        kind == 1 && fnn_maxpool2x2_fits(g) ? fnn_maxpool2x2_pick() : NULL; /* float32 */
#endif
    FNN_FOR_PLANES(n * g->c, HW > OHW * K ? HW : OHW * K, n_threads, lo, hi,
                   const REAL *xl = x + lo * HW;
                   REAL *yl = y + lo * OHW;
                   fnn_idx *al = argmax + lo * OHW;
                   fnn_idx np = hi - lo;
                   switch (kind) {
                   case 1:
#ifdef FNN_MAXPOOL2X2
                       if (fast) { fast->forward(g, np, xl, yl, al); break; }
#endif
                       FNN_SFX(maxpool_2x2s2)(g, np, xl, yl, al); break;
                   case 2: FNN_SFX(maxpool_3x3s2)(g, np, xl, yl, al); break;
                   case 3: FNN_SFX(maxpool_3x3s1)(g, np, xl, yl, al); break;
                   case 4: FNN_SFX(maxpool_2x2s1)(g, np, xl, yl, al); break;
                   default: FNN_SFX(maxpool_planes)(g, np, xl, yl, al);
                   });
}

/* Zero each dx plane (it stays in L1), then scatter dy in output order. Only the plane
 * sizes are read from g: argmax says where each gradient goes. */
static void FNN_SFX(maxpool_backward_planes)(fnn_idx hw, fnn_idx ohw, fnn_idx planes,
                                             const REAL *dy, const fnn_idx *argmax, REAL *dx)
{
    for (fnn_idx p = 0; p < planes; ++p) {
        REAL *dxp = dx + p * hw;
        const REAL *dyp = dy + p * ohw;
        const fnn_idx *ap = argmax + p * ohw;
        memset(dxp, 0, (size_t)hw * sizeof(REAL));
        for (fnn_idx o = 0; o < ohw; ++o) dxp[ap[o]] += dyp[o];
    }
}

void FNN_SFX(fnn_maxpool_backward)(const fnn_conv_geom *g, fnn_idx n, const REAL *dy,
                                   const fnn_idx *argmax, REAL *dx, int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow;
#ifdef FNN_MAXPOOL2X2
    const fnn_maxpool2x2_variant *fast =
        fnn_maxpool2x2_bwd_fits(g) ? fnn_maxpool2x2_pick() : NULL; /* float32: pool_variants.h */
    if (fast) {
        FNN_FOR_PLANES(n * g->c, HW + OHW, n_threads, lo, hi,
                       fast->backward(g, hi - lo, dy + lo * OHW, argmax + lo * OHW,
                                      dx + lo * HW, FNN_SFX(maxpool_backward_planes)));
        return;
    }
#endif
    FNN_FOR_PLANES(n * g->c, HW + OHW, n_threads, lo, hi,
                   FNN_SFX(maxpool_backward_planes)(HW, OHW, hi - lo, dy + lo * OHW,
                                                    argmax + lo * OHW, dx + lo * HW));
}

/* -------------------------------------------------------------- average pooling */

/* y = (sum of the window in row-major offset order) * (1 / (KH * KW)), summed in REAL. */
FNN_SIMD_CLONES
static void FNN_SFX(avgpool_planes)(const fnn_conv_geom *g, fnn_idx planes, const REAL *x,
                                    REAL *y)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow, SH = g->sh, SW = g->sw;
    const fnn_idx HW = g->h * W, OHW = OH * OW;
    const REAL inv = (REAL)(1.0 / (double)(g->kh * g->kw));
    for (fnn_idx p = 0; p < planes; ++p) {
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const REAL *x0 = x + p * HW + oh * SH * W;
            REAL *yr = y + p * OHW + oh * OW;
#pragma omp simd simdlen(8)
            for (fnn_idx ow = 0; ow < OW; ++ow) yr[ow] = x0[ow * SW];
            for (fnn_idx kh = 0; kh < g->kh; ++kh) {
                for (fnn_idx kw = (kh == 0); kw < g->kw; ++kw) {
                    const REAL *xr = x0 + kh * W + kw;
#pragma omp simd simdlen(8)
                    for (fnn_idx ow = 0; ow < OW; ++ow) yr[ow] += xr[ow * SW];
                }
            }
#pragma omp simd simdlen(8)
            for (fnn_idx ow = 0; ow < OW; ++ow) yr[ow] *= inv;
        }
    }
}

/* Fixed small windows, as for max pooling: each output element sums its window in
 * registers, in row-major order (the same order as the general loop above). */
#define FNN_AVGPOOL_ROW_PART(b, len)                                                     \
    for (fnn_idx j = 0; j < (len); ++j) {                                                \
        const fnn_idx ow = (b) + j;                                                      \
        REAL acc = x0[ow * SW];                                                          \
        _Pragma("GCC unroll 16") for (int kh = 0; kh < KH; ++kh) {                       \
            _Pragma("GCC unroll 16") for (int kw = (kh == 0); kw < KW; ++kw) {           \
                acc += x0[kh * W + kw + ow * SW];                                        \
            }                                                                            \
        }                                                                                \
        yr[ow] = acc * inv;                                                              \
    }

static inline __attribute__((always_inline)) void FNN_SFX(avgpool_fixed)(
    const fnn_conv_geom *g, fnn_idx planes, const REAL *x, REAL *y, const int KH,
    const int KW, const int SH, const int SW)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow;
    const fnn_idx HW = g->h * W, OHW = OH * OW;
    const REAL inv = (REAL)(1.0 / (double)(KH * KW));
    for (fnn_idx p = 0; p < planes; ++p) {
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const REAL *x0 = x + p * HW + oh * SH * W;
            REAL *yr = y + p * OHW + oh * OW;
            if (OW >= 8 && (SW == 1 || KW == SW)) {
                for (fnn_idx o0 = 0; o0 < OW; o0 += 8) {
                    const fnn_idx b = o0 + 8 <= OW ? o0 : OW - 8;
#pragma omp simd
                    FNN_AVGPOOL_ROW_PART(b, 8)
                }
            } else {
#pragma omp simd simdlen(8)
                FNN_AVGPOOL_ROW_PART(0, OW)
            }
        }
    }
}

#define FNN_AVGPOOL_FIXED(KH, KW, SH, SW)                                                \
    FNN_SIMD_CLONES                                                                      \
    static void FNN_SFX(avgpool_##KH##x##KW##s##SH##x##SW)(                              \
        const fnn_conv_geom *g, fnn_idx planes, const REAL *x, REAL *y)                  \
    {                                                                                    \
        FNN_SFX(avgpool_fixed)(g, planes, x, y, KH, KW, SH, SW);                         \
    }
FNN_AVGPOOL_FIXED(2, 2, 2, 2)
FNN_AVGPOOL_FIXED(3, 3, 2, 2)
FNN_AVGPOOL_FIXED(3, 3, 1, 1)
FNN_AVGPOOL_FIXED(2, 2, 1, 1)

void FNN_SFX(fnn_avgpool_forward)(const fnn_conv_geom *g, fnn_idx n, const REAL *x, REAL *y,
                                  int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow, K = g->kh * g->kw;
    const int kind = FNN_SFX(pool_kind)(g);
    FNN_FOR_PLANES(n * g->c, HW > OHW * K ? HW : OHW * K, n_threads, lo, hi,
                   const REAL *xl = x + lo * HW;
                   REAL *yl = y + lo * OHW;
                   fnn_idx np = hi - lo;
                   switch (kind) {
                   case 1: FNN_SFX(avgpool_2x2s2x2)(g, np, xl, yl); break;
                   case 2: FNN_SFX(avgpool_3x3s2x2)(g, np, xl, yl); break;
                   case 3: FNN_SFX(avgpool_3x3s1x1)(g, np, xl, yl); break;
                   case 4: FNN_SFX(avgpool_2x2s1x1)(g, np, xl, yl); break;
                   default: FNN_SFX(avgpool_planes)(g, np, xl, yl);
                   });
}

/* dx = 0; for each window offset (row-major) dx[window position] += dy; then dx *= inv.
 * Every dx element receives its contributions in offset order, as in the numpy twin, and
 * is scaled once (a separate multiply: no fused multiply-add to round differently). */
FNN_SIMD_CLONES
static void FNN_SFX(avgpool_backward_planes)(const fnn_conv_geom *g, fnn_idx planes,
                                             const REAL *dy, REAL *dx)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow, SH = g->sh, SW = g->sw;
    const fnn_idx HW = g->h * W, OHW = OH * OW;
    const REAL inv = (REAL)(1.0 / (double)(g->kh * g->kw));
    for (fnn_idx p = 0; p < planes; ++p) {
        REAL *dxp = dx + p * HW;
        const REAL *dyp = dy + p * OHW;
        memset(dxp, 0, (size_t)HW * sizeof(REAL));
        for (fnn_idx kh = 0; kh < g->kh; ++kh) {
            for (fnn_idx kw = 0; kw < g->kw; ++kw) {
                for (fnn_idx oh = 0; oh < OH; ++oh) {
                    REAL *dr = dxp + (oh * SH + kh) * W + kw;
                    const REAL *gr = dyp + oh * OW;
#pragma omp simd simdlen(8)
                    for (fnn_idx ow = 0; ow < OW; ++ow) dr[ow * SW] += gr[ow];
                }
            }
        }
#pragma omp simd
        for (fnn_idx i = 0; i < HW; ++i) dxp[i] *= inv;
    }
}

/* 2x2 windows, stride 2: every dx element is covered by at most one window, so
 * dx = (0 + dy) * inv there (the 0 + turns -0 into +0, as the general loop does) and 0
 * elsewhere, written in one pass. */
FNN_SIMD_CLONES
static void FNN_SFX(avgpool_backward_2x2s2)(const fnn_conv_geom *g, fnn_idx planes,
                                            const REAL *dy, REAL *dx)
{
    const fnn_idx H = g->h, W = g->w, OH = g->oh, OW = g->ow;
    const REAL inv = (REAL)0.25;
    for (fnn_idx p = 0; p < planes; ++p) {
        REAL *dxp = dx + p * H * W;
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const REAL *gr = dy + (p * OH + oh) * OW;
            REAL *r0 = dxp + 2 * oh * W, *r1 = r0 + W;
#pragma omp simd simdlen(8)
            for (fnn_idx ow = 0; ow < OW; ++ow) {
                const REAL v = (gr[ow] + (REAL)0) * inv;
                r0[2 * ow] = v;
                r0[2 * ow + 1] = v;
                r1[2 * ow] = v;
                r1[2 * ow + 1] = v;
            }
            if (W > 2 * OW) r0[W - 1] = r1[W - 1] = 0; /* odd width: last column uncovered */
        }
        if (H > 2 * OH) memset(dxp + (H - 1) * W, 0, (size_t)W * sizeof(REAL));
    }
}

void FNN_SFX(fnn_avgpool_backward)(const fnn_conv_geom *g, fnn_idx n, const REAL *dy,
                                   REAL *dx, int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow, K = g->kh * g->kw;
    const int k2s2 = FNN_SFX(pool_kind)(g) == 1;
    FNN_FOR_PLANES(n * g->c, HW > OHW * K ? HW : OHW * K, n_threads, lo, hi,
                   if (k2s2) FNN_SFX(avgpool_backward_2x2s2)(g, hi - lo, dy + lo * OHW,
                                                             dx + lo * HW);
                   else FNN_SFX(avgpool_backward_planes)(g, hi - lo, dy + lo * OHW,
                                                         dx + lo * HW));
}

/* ------------------------------------------------------- global average pooling */

FNN_SIMD_CLONES
static void FNN_SFX(global_avgpool_rows)(fnn_idx rows, fnn_idx s, const REAL *x, REAL *y)
{
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL *xr = x + r * s;
        double acc = 0.0;
#pragma omp simd reduction(+ : acc)
        for (fnn_idx j = 0; j < s; ++j) acc += (double)xr[j];
        y[r] = (REAL)(acc / (double)s);
    }
}

void FNN_SFX(fnn_global_avgpool_forward)(fnn_idx rows, fnn_idx s, const REAL *x, REAL *y,
                                         int n_threads)
{
    FNN_FOR_PLANES(rows, s, n_threads, lo, hi,
                   FNN_SFX(global_avgpool_rows)(hi - lo, s, x + lo * s, y + lo));
}

FNN_SIMD_CLONES
static void FNN_SFX(global_avgpool_backward_rows)(fnn_idx rows, fnn_idx s, const REAL *dy,
                                                  REAL *dx)
{
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL v = (REAL)((double)dy[r] / (double)s);
        REAL *dr = dx + r * s;
#pragma omp simd
        for (fnn_idx j = 0; j < s; ++j) dr[j] = v;
    }
}

void FNN_SFX(fnn_global_avgpool_backward)(fnn_idx rows, fnn_idx s, const REAL *dy, REAL *dx,
                                          int n_threads)
{
    FNN_FOR_PLANES(rows, s, n_threads, lo, hi,
                   FNN_SFX(global_avgpool_backward_rows)(hi - lo, s, dy + lo, dx + lo * s));
}
