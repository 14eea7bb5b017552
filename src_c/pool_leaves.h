/* pool_leaves.h -- the vector loops of pool.c (compiled once per level and REAL:
 * fnn_leaves.h). Every leaf takes a run of whole planes: x + p * H * W and
 * y + p * OH * OW for p in [0, planes).
 */

/* The running maximum m is replaced by v when v is larger, or when v is a NaN and m is
 * not: so the result is the first NaN of the window if it has one, else the first
 * maximum (strict >: ties keep the earlier element). (Written with ||: GCC does not
 * if-convert a bitwise & of two float compares in these loops, and would not vectorize.) */
#ifndef FNN_POOL_TAKE
#define FNN_POOL_TAKE(v, m) (!((v) <= (m) || (m) != (m)))
#endif

/* Any window and stride: offset by offset over the window, each a vector loop over the
 * output row. y and argmax of the row hold the running maximum. */
static void FNN_L(maxpool_planes)(const fnn_conv_geom *g, fnn_idx planes, const REAL *x,
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
static inline __attribute__((always_inline)) void FNN_L(maxpool_fixed)(
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
        static void FNN_L(maxpool_##K##x##K##s##S)(                                        \
        const fnn_conv_geom *g, fnn_idx planes, const REAL *x, REAL *y, fnn_idx *argmax) \
    {                                                                                    \
        FNN_L(maxpool_fixed)(g, planes, x, y, argmax, K, S);                           \
    }
FNN_MAXPOOL_FIXED(2, 2)
FNN_MAXPOOL_FIXED(3, 2)
FNN_MAXPOOL_FIXED(3, 1)
FNN_MAXPOOL_FIXED(2, 1)

/* y = (sum of the window in row-major offset order) * (1 / (KH * KW)), summed in REAL. */
static void FNN_L(avgpool_planes)(const fnn_conv_geom *g, fnn_idx planes, const REAL *x,
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

static inline __attribute__((always_inline)) void FNN_L(avgpool_fixed)(
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
        static void FNN_L(avgpool_##KH##x##KW##s##SH##x##SW)(                              \
        const fnn_conv_geom *g, fnn_idx planes, const REAL *x, REAL *y)                  \
    {                                                                                    \
        FNN_L(avgpool_fixed)(g, planes, x, y, KH, KW, SH, SW);                         \
    }
FNN_AVGPOOL_FIXED(2, 2, 2, 2)
FNN_AVGPOOL_FIXED(3, 3, 2, 2)
FNN_AVGPOOL_FIXED(3, 3, 1, 1)
FNN_AVGPOOL_FIXED(2, 2, 1, 1)

/* dx = 0; for each window offset (row-major) dx[window position] += dy; then dx *= inv.
 * Every dx element receives its contributions in offset order, as in the numpy twin, and
 * is scaled once (a separate multiply: no fused multiply-add to round differently). */
static void FNN_L(avgpool_backward_planes)(const fnn_conv_geom *g, fnn_idx planes,
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
static void FNN_L(avgpool_backward_2x2s2)(const fnn_conv_geom *g, fnn_idx planes,
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

static void FNN_L(global_avgpool_rows)(fnn_idx rows, fnn_idx s, const REAL *x, REAL *y)
{
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL *xr = x + r * s;
        double acc = 0.0;
#pragma omp simd reduction(+ : acc)
        for (fnn_idx j = 0; j < s; ++j) acc += (double)xr[j];
        y[r] = (REAL)(acc / (double)s);
    }
}

static void FNN_L(global_avgpool_backward_rows)(fnn_idx rows, fnn_idx s, const REAL *dy,
                                                REAL *dx)
{
    for (fnn_idx r = 0; r < rows; ++r) {
        const REAL v = (REAL)((double)dy[r] / (double)s);
        REAL *dr = dx + r * s;
#pragma omp simd
        for (fnn_idx j = 0; j < s; ++j) dr[j] = v;
    }
}

/* The twin (fastnn/reference/pool.py) adds the steps into a float64 accumulator in the
 * same order and divides it by t once, so both round identically. The features go
 * FNN_TAP_BLOCK at a time through a stack accumulator (no allocation). */
#ifndef FNN_TAP_BLOCK
#define FNN_TAP_BLOCK 256
#endif
static void FNN_L(time_avgpool_samples)(fnn_idx n, fnn_idx t, fnn_idx f, const REAL *x,
                                        REAL *y)
{
    double acc[FNN_TAP_BLOCK];
    const double div = (double)t;
    for (fnn_idx i = 0; i < n; ++i) {
        const REAL *xi = x + i * t * f;
        REAL *yi = y + i * f;
        for (fnn_idx b0 = 0; b0 < f; b0 += FNN_TAP_BLOCK) {
            const fnn_idx w = f - b0 < FNN_TAP_BLOCK ? f - b0 : FNN_TAP_BLOCK;
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) acc[j] = 0.0;
            for (fnn_idx s = 0; s < t; ++s) {
                const REAL *row = xi + s * f + b0;
#pragma omp simd
                for (fnn_idx j = 0; j < w; ++j) acc[j] += (double)row[j];
            }
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) yi[b0 + j] = (REAL)(acc[j] / div);
        }
    }
}

static void FNN_L(time_avgpool_backward_samples)(fnn_idx n, fnn_idx t, fnn_idx f,
                                                 const REAL *dy, REAL *dx)
{
    const double div = (double)t;
    for (fnn_idx i = 0; i < n; ++i) {
        const REAL *gi = dy + i * f;
        REAL *di = dx + i * t * f;
#pragma omp simd
        for (fnn_idx j = 0; j < f; ++j) di[j] = (REAL)((double)gi[j] / div);
        for (fnn_idx s = 1; s < t; ++s)
            memcpy(di + s * f, di, (size_t)f * sizeof(REAL));
    }
}

#undef FNN_MAXPOOL_STEP
#undef FNN_MAXPOOL_ROW_PART
#undef FNN_MAXPOOL_FIXED
#undef FNN_AVGPOOL_ROW_PART
#undef FNN_AVGPOOL_FIXED
