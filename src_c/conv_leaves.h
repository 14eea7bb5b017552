/* conv_leaves.h -- the vector loops of conv.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

/* Short-row helpers: rows here are often 4 to 32 elements, shorter than a 512-bit
 * vector loop's main body, so they are written as blocks of 8 (one 256-bit move for
 * float) plus a tail. Inlined into the leaves below. */
static inline void FNN_L(conv_copy)(fnn_idx len, const REAL *restrict s, REAL *restrict d)
{
    fnn_idx j = 0;
    for (; j + 8 <= len; j += 8)
        for (int q = 0; q < 8; ++q) d[j + q] = s[j + q];
    for (; j < len; ++j) d[j] = s[j];
}

static inline void FNN_L(conv_add)(fnn_idx len, const REAL *restrict s, REAL *restrict d)
{
    fnn_idx j = 0;
    for (; j + 8 <= len; j += 8)
        for (int q = 0; q < 8; ++q) d[j + q] += s[j + q];
    for (; j < len; ++j) d[j] += s[j];
}

/* d[r * len + j] = s[r * ls + j] for r < rows, j < len: the rows of one window offset
 * when none of them reads padding. Rows of 8 (a 5x5 kernel on 12x12) get a loop of
 * fixed-size moves; the general loop's bookkeeping costs more than such a copy. */
static inline void FNN_L(conv_copy_rows)(fnn_idx rows, fnn_idx len, const REAL *restrict s,
                                         fnn_idx ls, REAL *restrict d)
{
    if (len == 8) {
        for (fnn_idx r = 0; r < rows; ++r, s += ls, d += 8)
            for (int q = 0; q < 8; ++q) d[q] = s[q];
    } else {
        for (fnn_idx r = 0; r < rows; ++r, s += ls, d += len) FNN_L(conv_copy)(len, s, d);
    }
}

/* d[r * ls + j] += s[r * len + j]: the adjoint of conv_copy_rows. */
static inline void FNN_L(conv_add_rows)(fnn_idx rows, fnn_idx len, const REAL *restrict s,
                                        REAL *restrict d, fnn_idx ls)
{
    if (len == 8) {
        for (fnn_idx r = 0; r < rows; ++r, s += 8, d += ls)
            for (int q = 0; q < 8; ++q) d[q] += s[q];
    } else {
        for (fnn_idx r = 0; r < rows; ++r, s += len, d += ls) FNN_L(conv_add)(len, s, d);
    }
}

/* Samples [i0, i1) of input channel c -> their segments of the rows (c, kh, 0 .. KW-1)
 * of cols for kh in [kh0, kh1), the first of them at `row` (ld = n*OHW is the row
 * length). Each row is written front to back, one OH*OW block per sample: long
 * sequential stores, while the few input planes being read stay in L1 (the caller keeps
 * i1 - i0 small). */
static void FNN_L(im2col_rows)(const fnn_conv_geom *g, fnn_idx n, fnn_idx c, fnn_idx kh0,
                               fnn_idx kh1, fnn_idx i0, fnn_idx i1, const REAL *x, REAL *row)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow, OHW = OH * OW, sh = g->sh, sw = g->sw;
    const fnn_idx ld = n * OHW, plane = g->h * W, sample = g->c * plane;
    for (fnn_idx kh = kh0; kh < kh1; ++kh) {
        const fnn_idx offh = kh * g->dh - g->pt; /* input row of output row oh: oh*sh + offh */
        fnn_idx oh0, oh1;
        fnn_conv_valid(OH, g->h, sh, offh, &oh0, &oh1);
        for (fnn_idx kw = 0; kw < g->kw; ++kw, row += ld) {
            const fnn_idx offw = kw * g->dw - g->pl;
            fnn_idx ow0, ow1;
            fnn_conv_valid(OW, W, sw, offw, &ow0, &ow1);
            const fnn_idx len = ow1 - ow0;
            for (fnn_idx i = i0; i < i1; ++i) {
                REAL *dst = row + i * OHW;
                if (oh0 == oh1 || len == 0) { /* the window only sees padding */
                    memset(dst, 0, (size_t)OHW * sizeof(REAL));
                    continue;
                }
                /* s[j * sw] is x[i, c, oh*sh + offh, (ow0 + j)*sw + offw], inside the row */
                const REAL *s = x + i * sample + c * plane + (oh0 * sh + offh) * W +
                                ow0 * sw + offw;
                if (oh0 > 0) memset(dst, 0, (size_t)(oh0 * OW) * sizeof(REAL));
                if (sw == 1 && len == OW) { /* whole rows: no horizontal padding */
                    FNN_L(conv_copy_rows)(oh1 - oh0, OW, s, sh * W, dst + oh0 * OW);
                } else {
                    /* Rows are often short (OW of 8 or so): inline loops, no library calls. */
                    for (fnn_idx oh = oh0; oh < oh1; ++oh, s += sh * W) {
                        REAL *d = dst + oh * OW, *dd = d + ow0;
                        for (fnn_idx j = 0; j < ow0; ++j) d[j] = 0;
                        if (sw == 1) {
                            FNN_L(conv_copy)(len, s, dd);
                        } else {
#pragma omp simd
                            for (fnn_idx j = 0; j < len; ++j) dd[j] = s[j * sw];
                        }
                        for (fnn_idx j = ow1; j < OW; ++j) d[j] = 0;
                    }
                }
                if (oh1 < OH)
                    memset(dst + oh1 * OW, 0, (size_t)((OH - oh1) * OW) * sizeof(REAL));
            }
        }
    }
}

/* The adjoint of im2col_block: the planes dx[i, c] for i in [i0, i1) are zeroed, then
 * the segments of channel c's KH*KW rows of cols are added where they were read from,
 * in (kh, kw) order for every element (so the sum does not depend on the blocking or
 * the threads). */
static void FNN_L(col2im_block)(const fnn_conv_geom *g, fnn_idx n, fnn_idx c, fnn_idx i0,
                                fnn_idx i1, const REAL *cols, REAL *dx)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow, OHW = OH * OW, sh = g->sh, sw = g->sw;
    const fnn_idx ld = n * OHW, plane = g->h * W, sample = g->c * plane;
    if (FNN_COL2IM_NARROW_OK(g)) { /* rows of at most 16 columns: conv_variants.h */
        FNN_COL2IM_NARROW(g, n, c, i0, i1, cols, dx);
        return;
    }
    const REAL *row = cols + c * g->kh * g->kw * ld;
    for (fnn_idx i = i0; i < i1; ++i)
        memset(dx + i * sample + c * plane, 0, (size_t)plane * sizeof(REAL));
    for (fnn_idx kh = 0; kh < g->kh; ++kh) {
        const fnn_idx offh = kh * g->dh - g->pt;
        fnn_idx oh0, oh1;
        fnn_conv_valid(OH, g->h, sh, offh, &oh0, &oh1);
        for (fnn_idx kw = 0; kw < g->kw; ++kw, row += ld) {
            const fnn_idx offw = kw * g->dw - g->pl;
            fnn_idx ow0, ow1;
            fnn_conv_valid(OW, W, sw, offw, &ow0, &ow1);
            const fnn_idx len = ow1 - ow0;
            if (oh0 == oh1 || len == 0) continue; /* the window only sees padding */
            for (fnn_idx i = i0; i < i1; ++i) {
                const REAL *s = row + i * OHW + oh0 * OW + ow0;
                REAL *d = dx + i * sample + c * plane + (oh0 * sh + offh) * W + ow0 * sw + offw;
                if (sw == 1 && len == OW) { /* whole rows */
                    FNN_L(conv_add_rows)(oh1 - oh0, OW, s, d, sh * W);
                    continue;
                }
                for (fnn_idx oh = oh0; oh < oh1; ++oh, s += OW, d += sh * W) {
                    if (sw == 1) {
                        FNN_L(conv_add)(len, s, d);
                    } else {
#pragma omp simd
                        for (fnn_idx j = 0; j < len; ++j) d[j * sw] += s[j];
                    }
                }
            }
        }
    }
}

/* dst = src + bias (one (sample, filter) block of y from a row segment of tmp). */
static void FNN_L(conv_bias_copy)(fnn_idx len, const REAL *src, REAL bias, REAL *dst)
{
#pragma omp simd
    for (fnn_idx j = 0; j < len; ++j) dst[j] = src[j] + bias;
}

/* Sum of x[0:len] accumulated in double (the order depends on len only). */
static double FNN_L(conv_row_sum)(fnn_idx len, const REAL *x)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (fnn_idx j = 0; j < len; ++j) s += (double)x[j];
    return s;
}

/* dw (F x K, rows ldw apart) = (or +=) T (F x len) @ C (K x len)^T: every entry a dot product of two
 * contiguous rows, 4 x 4 entries at a time (16 vector accumulators, each row loaded once
 * per tile). For the few filters and long rows of a block this beats a GEMM call, which
 * packs both operands for very little arithmetic per element. */
static void FNN_L(conv_dw_block)(fnn_idx F, fnn_idx K, fnn_idx len, const REAL *T,
                                 const REAL *C, REAL *dw, fnn_idx ldw, int accumulate)
{
    for (fnn_idx f = 0; f < F; f += 4) {
        for (fnn_idx k = 0; k < K; k += 4) {
            if (f + 4 <= F && k + 4 <= K) {
                const REAL *t0 = T + f * len, *t1 = t0 + len, *t2 = t1 + len, *t3 = t2 + len;
                const REAL *c0 = C + k * len, *c1 = c0 + len, *c2 = c1 + len, *c3 = c2 + len;
                REAL s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
                REAL s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
#pragma omp simd reduction(+ : s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, \
                               s30, s31, s32, s33)
                for (fnn_idx j = 0; j < len; ++j) {
                    REAL a0 = t0[j], a1 = t1[j], a2 = t2[j], a3 = t3[j];
                    REAL b0 = c0[j], b1 = c1[j], b2 = c2[j], b3 = c3[j];
                    s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
                    s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
                    s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
                    s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
                }
                const REAL s[4][4] = {{s00, s01, s02, s03}, {s10, s11, s12, s13},
                                      {s20, s21, s22, s23}, {s30, s31, s32, s33}};
                for (int a = 0; a < 4; ++a)
                    for (int b = 0; b < 4; ++b) {
                        REAL *d = dw + (f + a) * ldw + k + b;
                        *d = accumulate ? *d + s[a][b] : s[a][b];
                    }
            } else { /* edge tile: one dot product per entry */
                for (fnn_idx a = f; a < F && a < f + 4; ++a)
                    for (fnn_idx b = k; b < K && b < k + 4; ++b) {
                        const REAL *ta = T + a * len, *cb = C + b * len;
                        REAL acc = 0;
#pragma omp simd reduction(+ : acc)
                        for (fnn_idx j = 0; j < len; ++j) acc += ta[j] * cb[j];
                        REAL *d = dw + a * ldw + b;
                        *d = accumulate ? *d + acc : acc;
                    }
            }
        }
    }
}
