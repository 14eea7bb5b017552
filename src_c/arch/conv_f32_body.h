/* conv_f32_body.h -- the conv family's float32 kernels (conv_variants.h), written once for
 * every instruction set; src_c/arch/<isa>/conv_f32.c defines the vector vocabulary below
 * and includes it, making the conv family's "<isa>" variant. The register tiles are
 * always-inline functions whose sizes are compile-time constants at each call site (so
 * their accumulator arrays live in registers); the sizes are derived from LANES and REGS
 * below, so each instruction set gets tiles that fit its register file.
 *
 * The file defines, before including this one:
 *   TGT (the target attribute), AI (always inline), LANES (floats per vector), REGS
 *   (vector registers), FNN_ARCH(name), FNN_ARCH_NAME, FNN_ARCH_ISA;
 *   VEC   LANES floats       v_zero()  v_set1(x)  v_fma(a, b, c) (a*b + c)  v_add(a, b)
 *                            v_loadu(p)  v_reduce(v) (sum of the lanes, float)
 *   RNG   lanes [lo, hi) of a VEC, 0 <= lo <= hi <= LANES: rng(lo, hi)
 *                            v_load_rng(p, r)   lanes of r from p + lane, others 0; memory
 *                                               outside r is not read
 *                            v_load_rng2(pa, ra, pb, rb)  lanes of ra from pa, of rb from
 *                                               pb (ra, rb disjoint), others 0
 *                            v_store_rng(p, v, r)  lanes of r to p + lane
 *                            v_store(p, v)      all lanes, p aligned to the vector
 *   ROW   at least 8 floats (a kernel row of up to 7): r_zero()  r_set1(x)
 *                            r_fma(a, b, c)  r_add(a, b)  r_store8(p, v) (8 floats)
 *         RROW lanes [lo, hi) of a ROW: rrow(lo, hi)  r_load_rng(p, r)
 *   DSUM  double accumulators of a VEC's lanes: d_zero()  d_add(s, v)  d_total(s)
 */

/* GCC's predictive commoning keeps the x values a tile broadcasts (each is read again by
 * the next position at the next kernel offset) in scalar registers, which with 16
 * vector registers spills the accumulators: it made the AVX2 implicit dW 1.7x slower. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-predictive-commoning")
#endif

#define CONV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CONV_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Tile sizes. Direct forward: FB filters x 2 vectors of one output row, plus two x
 * vectors and a broadcast; the flat variant 3 vectors. Direct dW: FB filters x KW
 * partial-sum vectors, plus FB dy vectors and an x vector. */
#define FWD_FB CONV_MIN(8, (REGS - 3) / 2)
#define FLAT_FB CONV_MIN(8, (REGS - 4) / 3)
#define DW_FB(kw) CONV_MAX(1, CONV_MIN(FNN_CONV_DIRECT_DW_TASK, (REGS - 1) / ((kw) + 1)))
/* Implicit GEMM: filter blocks of IMPL_FV vectors (32 filters in two zmm; 16 in two ymm
 * or four NEON vectors); tiles of IMPL_ROWS rows of dW^T (UT units x KW) or IMPL_P
 * positions, about three quarters of the registers in accumulators. */
#define IMPL_FV (LANES >= 8 ? 2 : 4)
#define IMPL_FB (IMPL_FV * LANES)
#define IMPL_ROWS ((REGS * 3 / 4) / IMPL_FV)
#define IMPL_P CONV_MIN(8, IMPL_ROWS)
#define IMPL_UT(kw) CONV_MAX(1, CONV_MIN(6, IMPL_ROWS / (kw)))
/* Narrow col2im: an input row of up to 16 columns is C2I_RV vectors; C2I_NS samples. */
#define C2I_RV ((16 + LANES - 1) / LANES)
#define C2I_NS CONV_MIN(8, (REGS - 2) / C2I_RV)

/* The lanes [lo, hi) clamped to the vector. */
TGT static AI RNG span(fnn_idx lo, fnn_idx hi)
{
    if (lo < 0) lo = 0;
    if (hi > LANES) hi = LANES;
    if (hi <= lo) lo = hi = 0;
    return rng((int)lo, (int)hi);
}

/* The lanes j of the vector of output positions ow0 + j (ow0 + j < OW) whose input
 * column ow0 + j + kw - pl lies inside the row [0, W). */
TGT static AI RNG col_rng(const fnn_conv_geom *g, fnn_idx ow0, fnn_idx kw)
{
    const fnn_idx shift = ow0 + kw - g->pl; /* input column of lane j: shift + j */
    return span(CONV_MAX(-shift, 0), CONV_MIN(g->w - shift, g->ow - ow0));
}

/* ------------------------------------------------------------------ forward */

/* FB filters x NV vectors of one output row, starting at output column ow0: ys points at
 * y[i, f0, oh, ow0], wf at w[f0], xs at x[i]; mk[2 * kw + v] are the load lanes and
 * m_out[v] the stored ones. */
TGT static AI void FNN_ARCH(fwd_tile)(const int FB, const int NV, const fnn_conv_geom *g,
                                      fnn_idx oh, fnn_idx ow0, const float *xs,
                                      const float *wf, const float *bf, float *ys,
                                      const RNG *mk, const RNG *m_out)
{
    const fnn_idx H = g->h, W = g->w, KH = g->kh, KW = g->kw, K = g->c * KH * KW;
    const fnn_idx OHW = g->oh * g->ow;
    VEC acc[8][2];
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[q][v] = bf ? v_set1(bf[q]) : v_zero();
    for (fnn_idx c = 0; c < g->c; ++c) {
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const fnn_idx ih = oh + kh - g->pt;
            if (ih < 0 || ih >= H) continue; /* a padding row: adds nothing */
            /* lane j of vector v, offset kw: input column ow0 - pl + LANES v + j + kw */
            const float *row = xs + (c * H + ih) * W + ow0 - g->pl;
            const float *wk = wf + (c * KH + kh) * KW;
            for (fnn_idx kw = 0; kw < KW; ++kw) {
                VEC xv[2];
#pragma GCC unroll 2
                for (int v = 0; v < NV; ++v) xv[v] = v_load_rng(row + LANES * v + kw, mk[2 * kw + v]);
#pragma GCC unroll 8
                for (int q = 0; q < FB; ++q) {
                    const VEC wq = v_set1(wk[q * K + kw]);
#pragma GCC unroll 2
                    for (int v = 0; v < NV; ++v) acc[q][v] = v_fma(wq, xv[v], acc[q][v]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) v_store_rng(ys + q * OHW + LANES * v, acc[q][v], m_out[v]);
}

/* Unpadded layers with output rows of at least LANES: a tile is FB filters x 3 vectors
 * of consecutive positions of the flattened output plane (q = oh * OW + ow), so no lane
 * is idle where OW is not a multiple of LANES (the LeNet's 24 on 16 lanes). A vector
 * then spans at most two output rows, whose inputs are two runs of consecutive
 * elements: lanes ma[v] read from pa[v], lanes mb[v] from pb[v] (both offsets of lane 0).
 * Lanes past the plane are in neither and not stored. WHOLE: every vector lies in one
 * row and the plane (where OW is a multiple of 3 * LANES, always), so plain loads. */
TGT static AI void FNN_ARCH(fwd_flat_tile)(const int FB, const int WHOLE, const fnn_conv_geom *g,
                                           const float *xs, const float *wf, const float *bf,
                                           float *ys, const fnn_idx *pa, const fnn_idx *pb,
                                           const RNG *ma, const RNG *mb, const RNG *m_out)
{
    const fnn_idx H = g->h, W = g->w, KH = g->kh, KW = g->kw, K = g->c * KH * KW;
    const fnn_idx OHW = g->oh * g->ow;
    VEC acc[8][3];
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 3
        for (int v = 0; v < 3; ++v) acc[q][v] = bf ? v_set1(bf[q]) : v_zero();
    const float *wk = wf;
    for (fnn_idx c = 0; c < g->c; ++c) {
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const float *row = xs + (c * H + kh) * W;
            for (fnn_idx kw = 0; kw < KW; ++kw, ++wk) {
                VEC xv[3];
#pragma GCC unroll 3
                for (int v = 0; v < 3; ++v)
                    xv[v] = WHOLE ? v_loadu(row + pa[v] + kw)
                                  : v_load_rng2(row + pa[v] + kw, ma[v], row + pb[v] + kw, mb[v]);
#pragma GCC unroll 8
                for (int q = 0; q < FB; ++q) {
                    const VEC wq = v_set1(wk[q * K]);
#pragma GCC unroll 3
                    for (int v = 0; v < 3; ++v) acc[q][v] = v_fma(wq, xv[v], acc[q][v]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 3
        for (int v = 0; v < 3; ++v) v_store_rng(ys + q * OHW + LANES * v, acc[q][v], m_out[v]);
}

/* Whether g takes fwd_flat_tile: no padding (every window inside the image) and output
 * rows of at least LANES. */
static inline int FNN_ARCH(flat_ok)(const fnn_conv_geom *g)
{
    return g->pt == 0 && g->pl == 0 && g->oh + g->kh - 1 <= g->h && g->ow + g->kw - 1 <= g->w &&
           g->ow >= LANES;
}

#define FNN_FLAT_CASE(fb)                                                                    \
    case fb:                                                                                 \
        if (whole)                                                                           \
            FNN_ARCH(fwd_flat_tile)(fb, 1, g, xs, wf, bf, ys, pa, pb, ma, mb, m_out);        \
        else                                                                                 \
            FNN_ARCH(fwd_flat_tile)(fb, 0, g, xs, wf, bf, ys, pa, pb, ma, mb, m_out);        \
        break;

TGT static void FNN_ARCH(direct_forward_flat)(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                                              const float *x, const float *w, const float *b,
                                              float *y)
{
    const fnn_idx F = g->f, OW = g->ow, OHW = g->oh * OW, W = g->w;
    const fnn_idx K = g->c * g->kh * g->kw, sample = g->c * g->h * W;
    for (fnn_idx i = i0; i < i1; ++i) { /* sample by sample: its planes stay in L1 */
        const float *xs = x + i * sample;
        for (fnn_idx q0 = 0; q0 < OHW; q0 += 3 * LANES) {
            fnn_idx pa[3], pb[3];
            RNG ma[3], mb[3], m_out[3];
            int whole = 1;
            for (int v = 0; v < 3; ++v) {
                const fnn_idx q = q0 + LANES * v, oh = q / OW, ow = q % OW;
                const fnn_idx rest = OHW - q; /* positions left in the plane */
                const fnn_idx len = rest < LANES ? (rest > 0 ? rest : 0) : LANES;
                const fnn_idx l = OW - ow < len ? OW - ow : len; /* lanes in row oh */
                pa[v] = oh * W + ow;
                pb[v] = (oh + 1) * W - l; /* lane l reads column 0 of row oh + 1 */
                ma[v] = span(0, l);
                mb[v] = span(l, len);
                m_out[v] = span(0, len);
                whole &= l == LANES;
            }
            for (fnn_idx f0 = 0; f0 < F; f0 += FLAT_FB) {
                const int fb = F - f0 < FLAT_FB ? (int)(F - f0) : FLAT_FB;
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
            FNN_ARCH(fwd_tile)(fb, 2, g, oh, ow0, xs, wf, bf, ys, mk, m_out);                \
        else                                                                                 \
            FNN_ARCH(fwd_tile)(fb, 1, g, oh, ow0, xs, wf, bf, ys, mk, m_out);                \
        break;

TGT static void FNN_ARCH(direct_forward)(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                                         const float *x, const float *w, const float *b,
                                         float *y)
{
    if (FNN_ARCH(flat_ok)(g)) {
        FNN_ARCH(direct_forward_flat)(g, i0, i1, x, w, b, y);
        return;
    }
    const fnn_idx F = g->f, OH = g->oh, OW = g->ow, OHW = OH * OW, KW = g->kw;
    const fnn_idx K = g->c * g->kh * KW, sample = g->c * g->h * g->w;
    RNG mk[2 * FNN_CONV_DIRECT_MAX_KW], m_out[2];
    for (fnn_idx ow0 = 0; ow0 < OW; ow0 += 2 * LANES) {
        const int nv = OW - ow0 > LANES ? 2 : 1;
        for (int v = 0; v < 2; ++v) {
            m_out[v] = span(0, OW - ow0 - LANES * v);
            for (fnn_idx kw = 0; kw < KW; ++kw) mk[2 * kw + v] = col_rng(g, ow0 + LANES * v, kw);
        }
        for (fnn_idx i = i0; i < i1; ++i) {
            const float *xs = x + i * sample;
            for (fnn_idx oh = 0; oh < OH; ++oh) {
                for (fnn_idx f0 = 0; f0 < F; f0 += FWD_FB) {
                    const int fb = F - f0 < FWD_FB ? (int)(F - f0) : FWD_FB;
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

/* Adds sample i's share to the partial sums of filters f0 .. f0 + FB - 1, input channel
 * c and kernel row kh: acc[q * KW + kw] (one vector of LANES partial sums each) +=
 * dy[i, f0 + q, oh, ow] * x[i, c, oh + kh - pt, ow + kw - pl] over the output positions. */
TGT static AI void FNN_ARCH(dw_tile)(const int FB, const int KW, const fnn_conv_geom *g,
                                     fnn_idx i, fnn_idx f0, fnn_idx c, fnn_idx kh,
                                     const float *x, const float *dy, VEC *accp)
{
    const fnn_idx H = g->h, W = g->w, OH = g->oh, OW = g->ow, OHW = OH * OW;
    VEC acc[FNN_CONV_DIRECT_DW_TASK][FNN_CONV_DIRECT_MAX_KW];
#pragma GCC unroll 4
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 7
        for (int kw = 0; kw < KW; ++kw) acc[q][kw] = accp[q * KW + kw];
    /* output rows whose input row oh + kh - pt is inside the image */
    fnn_idx oh0 = g->pt - kh > 0 ? g->pt - kh : 0, oh1 = H + g->pt - kh;
    if (oh1 > OH) oh1 = OH;
    for (fnn_idx ow0 = 0; ow0 < OW; ow0 += LANES) {
        const RNG m_out = span(0, OW - ow0);
        RNG mk[FNN_CONV_DIRECT_MAX_KW];
#pragma GCC unroll 7
        for (int kw = 0; kw < KW; ++kw) mk[kw] = col_rng(g, ow0, kw);
        const float *xrow = x + ((i * g->c + c) * H + oh0 + kh - g->pt) * W + ow0 - g->pl;
        const float *drow = dy + (i * g->f + f0) * OHW + oh0 * OW + ow0;
        for (fnn_idx oh = oh0; oh < oh1; ++oh, xrow += W, drow += OW) {
            VEC d[FNN_CONV_DIRECT_DW_TASK];
#pragma GCC unroll 4
            for (int q = 0; q < FB; ++q) d[q] = v_load_rng(drow + q * OHW, m_out);
#pragma GCC unroll 7
            for (int kw = 0; kw < KW; ++kw) {
                const VEC xv = v_load_rng(xrow + kw, mk[kw]);
#pragma GCC unroll 4
                for (int q = 0; q < FB; ++q) acc[q][kw] = v_fma(d[q], xv, acc[q][kw]);
            }
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < FB; ++q)
#pragma GCC unroll 7
        for (int kw = 0; kw < KW; ++kw) accp[q * KW + kw] = acc[q][kw];
}

/* Task t: the filters [f0, f0 + fb) of the task (conv_variants.h), in register blocks of
 * DW_FB(KW) filters and single filters for the rest. Sample by sample (its rows of dy
 * and x stay in L1 across the C * KH kernel rows), the partial sums of every (c, kh) go
 * through registers and back to `acc`; at the end each vector of partial sums is added
 * up into its entry of dw. */
#define FNN_DW_KW(kwv)                                                                       \
    case kwv:                                                                                \
        for (fnn_idx i = 0; i < n; ++i)                                                      \
            for (fnn_idx ck = 0; ck < per_f; ++ck) {                                         \
                const fnn_idx c = ck / g->kh, kh = ck % g->kh;                               \
                VEC *a = acc + ck * FNN_CONV_DIRECT_DW_TASK * kwv;                           \
                fnn_idx q = 0;                                                               \
                for (; q + DW_FB(kwv) <= fb; q += DW_FB(kwv))                                \
                    FNN_ARCH(dw_tile)(DW_FB(kwv), kwv, g, i, f0 + q, c, kh, x, dy, a + q * kwv); \
                for (; q < fb; ++q)                                                          \
                    FNN_ARCH(dw_tile)(1, kwv, g, i, f0 + q, c, kh, x, dy, a + q * kwv);      \
            }                                                                                \
        break;

TGT static void FNN_ARCH(direct_dw)(const fnn_conv_geom *g, fnn_idx n, fnn_idx t0, fnn_idx t1,
                                    const float *x, const float *dy, float *dw)
{
    const fnn_idx full = FNN_CONV_DIRECT_DW_TASK, per_f = g->c * g->kh, KW = g->kw;
    const fnn_idx K = per_f * KW;
    /* partial sums of one task: (c, kh) x its filters x KW vectors; C*KH*KW <= MAX_K */
    VEC acc[FNN_CONV_DIRECT_MAX_K * FNN_CONV_DIRECT_DW_TASK];
    for (fnn_idx t = t0; t < t1; ++t) {
        const fnn_idx f0 = t * full, fb = g->f - f0 < full ? g->f - f0 : full;
        for (fnn_idx j = 0; j < per_f * full * KW; ++j) acc[j] = v_zero();
        switch (KW) {
            FNN_DW_KW(1)
            FNN_DW_KW(2)
            FNN_DW_KW(3)
            FNN_DW_KW(4)
            FNN_DW_KW(5)
            FNN_DW_KW(6)
            FNN_DW_KW(7)
        }
        /* acc[(ck * full + q) * KW + kw] (q < fb) -> dw[f0 + q, ck, kw] */
        for (fnn_idx ck = 0; ck < per_f; ++ck)
            for (fnn_idx q = 0; q < fb; ++q)
                for (fnn_idx kw = 0; kw < KW; ++kw)
                    dw[(f0 + q) * K + ck * KW + kw] = v_reduce(acc[(ck * full + q) * KW + kw]);
    }
}
#undef FNN_DW_KW

/* ------------------------------------------------------- dW through max pooling */

/* acc[r] += s * row r = (c, kh) of the patch whose top-left input element is xp
 * (off[r] = c * H*W + kh * W); with PADDED, row r is read only if its input row ih + kh
 * lies in the image, and only the lanes in mc. */
TGT static AI void FNN_ARCH(pooled_dw_add)(const int CKH, const int PADDED, const fnn_idx *off,
                                           const fnn_idx *rkh, fnn_idx ih, fnn_idx H, RROW mc,
                                           const float *xp, ROW s, ROW *acc)
{
#pragma GCC unroll 8
    for (int r = 0; r < CKH; ++r) {
        if (PADDED && (ih + rkh[r] < 0 || ih + rkh[r] >= H)) continue;
        acc[r] = r_fma(s, r_load_rng(xp + off[r], mc), acc[r]);
    }
}

/* Filter f's sums over the pooled gradients of the n samples, in order: CKH (= C*KH)
 * rows of KW partial sums, in two sets (even and odd pooled positions: two chains of
 * FMAs), added at the end; db[f] in double, LANES positions per pass, likewise in order.
 * xoff[a]: the input offset of conv output a's patch, (ah - pt) * W + aw - pl. */
TGT static AI void FNN_ARCH(pooled_dw_filter)(const int CKH, const int PADDED,
                                              const fnn_conv_geom *g, const fnn_conv_geom *pg,
                                              fnn_idx n, fnn_idx f, const float *x,
                                              const float *gp, const fnn_idx *argmax,
                                              const int *xoff, float *dw, float *db)
{
    const fnn_idx H = g->h, W = g->w, OW = g->ow, KW = g->kw;
    const fnn_idx sample = g->c * H * W, F = g->f, PHW = pg->oh * pg->ow;
    const RROW mkw = rrow(0, (int)KW);
    fnn_idx off[FNN_CONV_POOLED_MAX_CKH], rkh[FNN_CONV_POOLED_MAX_CKH];
    for (int r = 0; r < CKH; ++r) {
        rkh[r] = r % g->kh;
        off[r] = (r / g->kh) * H * W + rkh[r] * W;
    }
    ROW a0[FNN_CONV_POOLED_MAX_CKH], a1[FNN_CONV_POOLED_MAX_CKH];
#pragma GCC unroll 8
    for (int r = 0; r < CKH; ++r) a0[r] = a1[r] = r_zero();
    DSUM bs = d_zero();
    for (fnn_idx i = 0; i < n; ++i) {
        const float *gq = gp + (i * F + f) * PHW, *xi = x + i * sample;
        const fnn_idx *aq = argmax + (i * F + f) * PHW;
        for (fnn_idx q0 = 0; q0 < PHW; q0 += LANES) bs = d_add(bs, v_load_rng(gq + q0, span(0, PHW - q0)));
#define FNN_POOLED_ONE(q, acc)                                                               \
    do {                                                                                     \
        const fnn_idx a_ = aq[q];                                                            \
        fnn_idx ih_ = 0;                                                                     \
        RROW mc_ = mkw;                                                                      \
        if (PADDED) {                                                                        \
            const fnn_idx iw_ = a_ % OW - g->pl;                                             \
            ih_ = a_ / OW - g->pt;                                                           \
            const fnn_idx lo_ = CONV_MIN(CONV_MAX(-iw_, 0), KW);                             \
            mc_ = rrow((int)lo_, (int)CONV_MAX(CONV_MIN(W - iw_, KW), lo_));                 \
        }                                                                                    \
        FNN_ARCH(pooled_dw_add)(CKH, PADDED, off, rkh, ih_, H, mc_, xi + xoff[a_],           \
                                r_set1(gq[q]), acc);                                         \
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
        r_store8(out, r_add(a0[r], a1[r]));
        for (fnn_idx kw = 0; kw < KW; ++kw) dw[(f * CKH + r) * KW + kw] = out[kw];
    }
    if (db) db[f] = (float)d_total(bs);
}

#define FNN_POOLED_CKH(ckh)                                                                  \
    case ckh:                                                                                \
        for (fnn_idx f = f0; f < f1; ++f)                                                    \
            if (padded)                                                                      \
                FNN_ARCH(pooled_dw_filter)(ckh, 1, g, pg, n, f, x, gp, argmax, xoff, dw, db); \
            else                                                                             \
                FNN_ARCH(pooled_dw_filter)(ckh, 0, g, pg, n, f, x, gp, argmax, xoff, dw, db); \
        break;

TGT static void FNN_ARCH(pooled_dw)(const fnn_conv_geom *g, const fnn_conv_geom *pg, fnn_idx n,
                                    fnn_idx f0, fnn_idx f1, const float *x, const float *gp,
                                    const fnn_idx *argmax, float *dw, float *db)
{
    /* some patch reaches into the padding (on any side) */
    const int padded = g->pt > 0 || g->pl > 0 || g->oh + g->kh - 1 > g->h || g->ow + g->kw - 1 > g->w;
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

/* A block of up to IMPL_FB filters (NV vectors, the last cut to `last` lanes): a row of
 * W^T for one kernel offset, or of tmpT for one position. */
TGT static AI void FNN_ARCH(load_filters)(const int NV, const float *p, RNG last, VEC *v)
{
#pragma GCC unroll 4
    for (int j = 0; j < NV - 1; ++j) v[j] = v_loadu(p + LANES * j);
    v[NV - 1] = v_load_rng(p + LANES * (NV - 1), last);
}

/* dW^T = cols @ tmpT with cols never formed: row k = (c, kh, kw) of cols at position
 * p = (i, oh, ow) is x[i, c, oh + kh, ow + kw], so for a stride-1 unpadded layer the
 * operand a tile broadcasts is read straight from x, at a constant offset per row from
 * one pointer per (c, kh). Tile: UT units (c, kh) x KW offsets by NV vectors of filters
 * [fb0, fb0 + NV * LANES); per position NV loads of tmpT's row and one broadcast per row
 * of the tile.
 * dst[r * F + f] (+)= sum over samples i < ns and positions (oh, ow) of
 * xu[u][i * sample + oh * W + ow + kw] * tT[(i*OHW + oh*OW + ow) * F + f],
 * r = u * KW + kw, summed in position order from zero, then added to dst when
 * `accumulate` (so each block's share is formed as the GEMM kernel forms it). */
TGT static AI void FNN_ARCH(dwt_tile)(const int UT, const int KW, const int NV,
                                      const fnn_conv_geom *g, fnn_idx ns,
                                      const float *const *xu, const float *tT, RNG last,
                                      float *dst, int accumulate)
{
    const fnn_idx OH = g->oh, OW = g->ow, W = g->w, F = g->f, sample = g->c * g->h * W;
    VEC acc[6 * FNN_CONV_IMPLICIT_MAX_KW][IMPL_FV];
#pragma GCC unroll 12
    for (int r = 0; r < UT * KW; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = v_zero();
    for (fnn_idx i = 0; i < ns; ++i) {
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const float *xr[6];
#pragma GCC unroll 6
            for (int u = 0; u < UT; ++u) xr[u] = xu[u] + i * sample + oh * W;
            for (fnn_idx ow = 0; ow < OW; ++ow, tT += F) {
                VEC b[IMPL_FV];
                FNN_ARCH(load_filters)(NV, tT, last, b);
#pragma GCC unroll 6
                for (int u = 0; u < UT; ++u)
#pragma GCC unroll 7
                    for (int kw = 0; kw < KW; ++kw) {
                        const VEC a = v_set1(xr[u][ow + kw]);
#pragma GCC unroll 4
                        for (int v = 0; v < NV; ++v)
                            acc[u * KW + kw][v] = v_fma(a, b[v], acc[u * KW + kw][v]);
                    }
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < UT * KW; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            float *d = dst + r * F + LANES * v;
            const RNG m = v == NV - 1 ? last : rng(0, LANES);
            VEC s = acc[r][v];
            if (accumulate) s = v_add(v_load_rng(d, m), s);
            v_store_rng(d, s, m);
        }
}

#define FNN_DWT_NV(utv, kwv)                                                                 \
    switch (nv) {                                                                            \
    case 1: FNN_ARCH(dwt_tile)(utv, kwv, 1, g, ns, xu, tT, last, dst, accumulate); break;    \
    case 2: FNN_ARCH(dwt_tile)(utv, kwv, 2, g, ns, xu, tT, last, dst, accumulate); break;    \
    case 3: if (IMPL_FV >= 3) FNN_ARCH(dwt_tile)(utv, kwv, CONV_MIN(3, IMPL_FV), g, ns, xu, tT, last, dst, accumulate); break; \
    default: if (IMPL_FV >= 4) FNN_ARCH(dwt_tile)(utv, kwv, CONV_MIN(4, IMPL_FV), g, ns, xu, tT, last, dst, accumulate); break; \
    }

#define FNN_IMPLICIT_KW(kwv)                                                                 \
    case kwv:                                                                                \
        if (take == IMPL_UT(kwv)) {                                                          \
            FNN_DWT_NV(IMPL_UT(kwv), kwv)                                                    \
        } else {                                                                             \
            FNN_DWT_NV(1, kwv)                                                               \
        }                                                                                    \
        break;

TGT static void FNN_ARCH(implicit_dwt)(const fnn_conv_geom *g, fnn_idx ns, fnn_idx u0,
                                       fnn_idx u1, const float *x, const float *tmpT,
                                       float *dwt, int accumulate)
{
    const fnn_idx KH = g->kh, KW = g->kw, F = g->f, W = g->w, plane = g->h * W;
    const int ut = IMPL_UT(KW);
    for (fnn_idx u = u0; u < u1;) {
        const int take = u1 - u >= ut ? ut : 1;
        const float *xu[6];
        for (int j = 0; j < take; ++j)
            xu[j] = x + ((u + j) / KH) * plane + ((u + j) % KH) * W;
        for (fnn_idx fb0 = 0; fb0 < F; fb0 += IMPL_FB) {
            const fnn_idx nf = F - fb0 < IMPL_FB ? F - fb0 : IMPL_FB;
            const int nv = (int)((nf + LANES - 1) / LANES);
            const RNG last = span(0, nf - LANES * (nv - 1));
            const float *tT = tmpT + fb0;
            float *dst = dwt + u * KW * F + fb0;
            switch (KW) {
                FNN_IMPLICIT_KW(2)
                FNN_IMPLICIT_KW(3)
                FNN_IMPLICIT_KW(4)
                FNN_IMPLICIT_KW(5)
                FNN_IMPLICIT_KW(6)
                FNN_IMPLICIT_KW(7)
            }
        }
        u += take;
    }
}
#undef FNN_IMPLICIT_KW
#undef FNN_DWT_NV

/* Forward as an implicit GEMM, positions x filters: a tile is P output positions of one
 * row (P <= IMPL_P) by NV vectors of filters [fb0, fb0 + NV * LANES), started at the
 * bias; per (c, kh, kw) one row of W^T (NV loads) and P broadcasts from x -- at constant
 * offsets from one pointer per (c, kh) -- against NV * P FMAs. The tile holds y
 * transposed (positions by filters), so it goes out through a small buffer. */
TGT static AI void FNN_ARCH(fwd_implicit_tile)(const int P, const int KW, const int NV,
                                               const fnn_conv_geom *g, const float *xs,
                                               const float *wt, const float *b, RNG last,
                                               fnn_idx nf, float *ys)
{
    const fnn_idx KH = g->kh, F = g->f, W = g->w, plane = g->h * W, OHW = g->oh * g->ow;
    VEC acc[8][IMPL_FV], bias[IMPL_FV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bias[v] = v_zero();
    if (b) FNN_ARCH(load_filters)(NV, b, last, bias);
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[j][v] = bias[v];
    const float *wk = wt;
    for (fnn_idx c = 0; c < g->c; ++c) {
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const float *xr = xs + c * plane + kh * W;
#pragma GCC unroll 7
            for (int kw = 0; kw < KW; ++kw, wk += F) {
                VEC wv[IMPL_FV];
                FNN_ARCH(load_filters)(NV, wk, last, wv);
#pragma GCC unroll 8
                for (int j = 0; j < P; ++j) {
                    const VEC a = v_set1(xr[j + kw]);
#pragma GCC unroll 4
                    for (int v = 0; v < NV; ++v) acc[j][v] = v_fma(a, wv[v], acc[j][v]);
                }
            }
        }
    }
    float tb[8 * IMPL_FB] __attribute__((aligned(64)));
#pragma GCC unroll 8
    for (int j = 0; j < P; ++j)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) v_store(tb + j * IMPL_FB + LANES * v, acc[j][v]);
    for (fnn_idx f = 0; f < nf; ++f)
#pragma GCC unroll 8
        for (int j = 0; j < P; ++j) ys[f * OHW + j] = tb[j * IMPL_FB + f];
}

#define FNN_IMPLICIT_FWD_NV(pv, kwv)                                                         \
    switch (nv) {                                                                            \
    case 1: FNN_ARCH(fwd_implicit_tile)(pv, kwv, 1, g, xs, wt, bb, last, nf, ys); break;     \
    case 2: FNN_ARCH(fwd_implicit_tile)(pv, kwv, 2, g, xs, wt, bb, last, nf, ys); break;     \
    case 3: if (IMPL_FV >= 3) FNN_ARCH(fwd_implicit_tile)(pv, kwv, CONV_MIN(3, IMPL_FV), g, xs, wt, bb, last, nf, ys); break; \
    default: if (IMPL_FV >= 4) FNN_ARCH(fwd_implicit_tile)(pv, kwv, CONV_MIN(4, IMPL_FV), g, xs, wt, bb, last, nf, ys); break; \
    }

#define FNN_IMPLICIT_FWD_KW(kwv)                                                             \
    case kwv:                                                                                \
        if (p == IMPL_P) {                                                                   \
            FNN_IMPLICIT_FWD_NV(IMPL_P, kwv)                                                 \
        } else if (p >= 4) {                                                                 \
            p = 4;                                                                           \
            FNN_IMPLICIT_FWD_NV(4, kwv)                                                      \
        } else if (p >= 2) {                                                                 \
            p = 2;                                                                           \
            FNN_IMPLICIT_FWD_NV(2, kwv)                                                      \
        } else {                                                                             \
            FNN_IMPLICIT_FWD_NV(1, kwv)                                                      \
        }                                                                                    \
        break;

TGT static void FNN_ARCH(implicit_forward)(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                                           const float *x, const float *wt0, const float *b,
                                           float *y)
{
    const fnn_idx F = g->f, OH = g->oh, OW = g->ow, OHW = OH * OW, W = g->w;
    const fnn_idx sample = g->c * g->h * W;
    for (fnn_idx i = i0; i < i1; ++i)
        for (fnn_idx oh = 0; oh < OH; ++oh)
            for (fnn_idx ow0 = 0; ow0 < OW;) {
                /* the rest of the row in tiles of about equal size: an 8-wide row on 6
                 * positions per tile goes as 4 + 4, not as 6 + 2 (a short tile has too
                 * few accumulators to hide the FMA latency) */
                const fnn_idx rest = OW - ow0, tiles = (rest + IMPL_P - 1) / IMPL_P;
                const int want = (int)((rest + tiles - 1) / tiles);
                int p = want;
                const float *xs = x + i * sample + oh * W + ow0;
                for (fnn_idx fb0 = 0; fb0 < F; fb0 += IMPL_FB) {
                    const fnn_idx nf = F - fb0 < IMPL_FB ? F - fb0 : IMPL_FB;
                    const int nv = (int)((nf + LANES - 1) / LANES);
                    const RNG last = span(0, nf - LANES * (nv - 1));
                    const float *wt = wt0 + fb0, *bb = b ? b + fb0 : NULL;
                    float *ys = y + (i * F + fb0) * OHW + oh * OW + ow0;
                    p = want;
                    switch (g->kw) {
                        FNN_IMPLICIT_FWD_KW(2)
                        FNN_IMPLICIT_FWD_KW(3)
                        FNN_IMPLICIT_FWD_KW(4)
                        FNN_IMPLICIT_FWD_KW(5)
                        FNN_IMPLICIT_FWD_KW(6)
                        FNN_IMPLICIT_FWD_KW(7)
                    }
                }
                ow0 += p;
            }
}
#undef FNN_IMPLICIT_FWD_KW
#undef FNN_IMPLICIT_FWD_NV

/* dX of such a layer with narrow input rows (W <= 16), vectorised over LANES input
 * channels: input row h of channels [c0, c0 + LANES) is W accumulators (one per input
 * column), and each dy element adds into KW of them:
 *   dx[i, c, h, ow + kw] += w[f, c, kh, kw] * dy[i, f, h - kh, ow]
 * over f, the kernel rows kh that reach row h (0 <= h - kh < OH) and the OW x KW pairs
 * (ow, kw) -- exactly the products of dcols = W^T @ dy and col2im, without forming
 * dcols. OW and KW are compile-time constants (every accumulator index ow + kw is), so
 * the set of (OW, KW) pairs is a table; two accumulator sets (even and odd filters) when
 * they fit the registers. wr holds w rearranged as [c block][f][kh][kw][LANES channels]
 * (zero beyond C; conv_variants.h). The row goes out transposed through a small buffer. */
TGT static AI void FNN_ARCH(dx_row)(const int OW, const int KW, const int NSET,
                                    const fnn_conv_geom *g, fnn_idx h, const float *dyi,
                                    const float *wrb, int nc, float *dxr)
{
    const fnn_idx F = g->f, KH = g->kh, OH = g->oh, OHW = OH * OW, W = OW + KW - 1;
    const fnn_idx plane = g->h * W;
    VEC acc[2][FNN_CONV_IMPLICIT_DX_MAX_W];
#pragma GCC unroll 2
    for (int s = 0; s < NSET; ++s)
#pragma GCC unroll 16
        for (int j = 0; j < OW + KW - 1; ++j) acc[s][j] = v_zero();
    const fnn_idx kh0 = h - OH + 1 > 0 ? h - OH + 1 : 0, kh1 = h < KH - 1 ? h : KH - 1;
    for (fnn_idx f = 0; f < F; f += NSET) {
#pragma GCC unroll 2
        for (int s = 0; s < NSET; ++s) {
            if (NSET == 2 && f + s >= F) break;
            for (fnn_idx kh = kh0; kh <= kh1; ++kh) {
                const float *d = dyi + (f + s) * OHW + (h - kh) * OW;
                const float *wk = wrb + ((f + s) * KH + kh) * KW * LANES;
                VEC wv[FNN_CONV_IMPLICIT_MAX_KW];
#pragma GCC unroll 7
                for (int kw = 0; kw < KW; ++kw) wv[kw] = v_loadu(wk + LANES * kw);
#pragma GCC unroll 16
                for (int ow = 0; ow < OW; ++ow) {
                    const VEC b = v_set1(d[ow]);
#pragma GCC unroll 7
                    for (int kw = 0; kw < KW; ++kw)
                        acc[s][ow + kw] = v_fma(b, wv[kw], acc[s][ow + kw]);
                }
            }
        }
    }
    float tb[FNN_CONV_IMPLICIT_DX_MAX_W * LANES] __attribute__((aligned(64)));
#pragma GCC unroll 16
    for (int j = 0; j < OW + KW - 1; ++j)
        v_store(tb + LANES * j, NSET == 2 ? v_add(acc[0][j], acc[1][j]) : acc[0][j]);
    for (int c = 0; c < nc; ++c)
#pragma GCC unroll 16
        for (int j = 0; j < OW + KW - 1; ++j) dxr[c * plane + j] = tb[LANES * j + c];
}

#define FNN_DX_CASE(owv, kwv)                                                                \
    case (owv) * 8 + (kwv):                                                                  \
        FNN_ARCH(dx_row)(owv, kwv, 2 * ((owv) + (kwv) - 1) + (kwv) + 1 <= REGS - 1 ? 2 : 1, g, \
                         h, dyi, wrb, nc, dxr);                                              \
        break;

TGT static void FNN_ARCH(implicit_dx)(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                                      const float *wr, const float *dy, float *dx)
{
    const fnn_idx C = g->c, F = g->f, H = g->h, W = g->w, plane = H * W;
    const fnn_idx KH = g->kh, KW = g->kw, OHW = g->oh * g->ow, blocks = (C + LANES - 1) / LANES;
    for (fnn_idx i = i0; i < i1; ++i) {
        const float *dyi = dy + i * F * OHW;
        for (fnn_idx cb = 0; cb < blocks; ++cb) {
            const int nc = (int)CONV_MIN(C - LANES * cb, LANES);
            const float *wrb = wr + cb * F * KH * KW * LANES;
            for (fnn_idx h = 0; h < H; ++h) {
                float *dxr = dx + (i * C + LANES * cb) * plane + h * W;
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

/* col2im for samples i .. i + NS - 1 (si: sample i's segment of row (c, 0, 0) of cols,
 * shifted by +pl; d: its plane dx[i, c]). Each input row (C2I_RV vectors) is summed in
 * registers over the (kh, kw) that read it, in (kh, kw) order from zero as col2im_block
 * adds them, and stored once: no zeroing pass, no read-modify-write per window offset.
 * A lane an offset does not reach adds +0.0, which changes no sum started at +0.0 (such
 * a sum is never -0.0), so the result is bit-identical to col2im_block's. The NS
 * samples share every mask and branch, and their row sums are independent chains of
 * adds. mk[kw * C2I_RV + v]: the lanes of vector v offset kw reaches. */
TGT static AI void FNN_ARCH(col2im_samples)(const int NS, const fnn_conv_geom *g, fnn_idx ld,
                                            const RNG *mk, const RNG *mw, const float *si,
                                            float *d, fnn_idx OHW, fnn_idx sample)
{
    const fnn_idx H = g->h, W = g->w, OH = g->oh, OW = g->ow, KH = g->kh, KW = g->kw;
    for (fnn_idx ih = 0; ih < H; ++ih) {
        VEC acc[8][C2I_RV];
#pragma GCC unroll 8
        for (int t = 0; t < NS; ++t)
#pragma GCC unroll 4
            for (int v = 0; v < C2I_RV; ++v) acc[t][v] = v_zero();
        for (fnn_idx kh = 0; kh < KH; ++kh) {
            const fnn_idx oh = ih + g->pt - kh;
            if (oh < 0 || oh >= OH) continue; /* this kernel row does not reach row ih */
            const float *s = si + kh * KW * ld + oh * OW;
            for (fnn_idx kw = 0; kw < KW; ++kw, s += ld) {
#pragma GCC unroll 4
                for (int v = 0; v < C2I_RV; ++v) {
                    const RNG m = mk[kw * C2I_RV + v];
#pragma GCC unroll 8
                    for (int t = 0; t < NS; ++t)
                        acc[t][v] = v_add(acc[t][v], v_load_rng(s + t * OHW - kw + LANES * v, m));
                }
            }
        }
#pragma GCC unroll 8
        for (int t = 0; t < NS; ++t)
#pragma GCC unroll 4
            for (int v = 0; v < C2I_RV; ++v)
                v_store_rng(d + t * sample + ih * W + LANES * v, acc[t][v], mw[v]);
    }
}

TGT static void FNN_ARCH(col2im_narrow)(const fnn_conv_geom *g, fnn_idx n, fnn_idx c,
                                        fnn_idx i0, fnn_idx i1, const float *cols, float *dx)
{
    const fnn_idx H = g->h, W = g->w, OW = g->ow, OHW = g->oh * OW;
    const fnn_idx KH = g->kh, KW = g->kw, ld = n * OHW, plane = H * W, sample = g->c * plane;
    const float *rows = cols + c * KH * KW * ld + g->pl;
    /* lane j of vector v, offset kw: input column iw = LANES v + j reads output column
     * iw + pl - kw */
    RNG mk[16 * C2I_RV], mw[C2I_RV];
    for (int v = 0; v < C2I_RV; ++v) {
        mw[v] = span(0, W - LANES * v);
        for (fnn_idx kw = 0; kw < KW; ++kw) {
            const fnn_idx lo = kw - g->pl - LANES * v;
            mk[kw * C2I_RV + v] = span(CONV_MAX(lo, 0), CONV_MIN(lo + OW, W - LANES * v));
        }
    }
    fnn_idx i = i0;
    for (; i + C2I_NS <= i1; i += C2I_NS)
        FNN_ARCH(col2im_samples)(C2I_NS, g, ld, mk, mw, rows + i * OHW, dx + i * sample + c * plane,
                                 OHW, sample);
    if (C2I_NS > 4 && i + 4 <= i1) {
        FNN_ARCH(col2im_samples)(4, g, ld, mk, mw, rows + i * OHW, dx + i * sample + c * plane,
                                 OHW, sample);
        i += 4;
    }
    for (; i < i1; ++i)
        FNN_ARCH(col2im_samples)(1, g, ld, mk, mw, rows + i * OHW, dx + i * sample + c * plane,
                                 OHW, sample);
}

const fnn_conv_variant FNN_ARCH(fnn_conv) = {
    FNN_ARCH_NAME,
    FNN_ARCH_ISA,
    LANES,
    FNN_ARCH(direct_forward),
    FNN_ARCH(direct_dw),
    FNN_ARCH(pooled_dw),
    FNN_ARCH(implicit_forward),
    FNN_ARCH(implicit_dwt),
    FNN_ARCH(implicit_dx),
    FNN_ARCH(col2im_narrow),
};
