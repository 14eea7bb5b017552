/* maxpool2x2_f32_body.h -- 2x2 stride-2 max pooling, float32 (pool_variants.h), written
 * once for every instruction set; src_c/arch/<isa>/maxpool2x2_f32.c defines the vector
 * vocabulary below and includes it, making the maxpool2x2 family's "<isa>" variant.
 *
 * One output row at a time, LANES outputs per step: their two input rows, 2 * LANES
 * columns each, are two loads apiece (the last ones cut to the row), split into even and
 * odd columns by one permute each. Lanes past the row are computed from zeros and never
 * stored.
 *
 * The file defines, before including this one (all TGT static always-inline):
 *   TGT, LANES; VEC (LANES floats), MASK (a lane mask of VEC), VECI (LANES int32),
 *   VEC64 (LANES / 2 int64), CUT (the first n lanes of a vector: n clamped to [0, LANES])
 *   cut_of(n)  v_zero()  v_load_cut(p, c)  v_store_cut(p, v, c)   (lanes past c: 0 / not
 *   stored; the cuts of a plane are formed once, before its rows)
 *   v_even(a, b)  v_odd(a, b)     columns 0, 2, .. and 1, 3, .. of the 2 * LANES in a, b
 *   v_zip_lo(a, b)  v_zip_hi(a, b)  a0 b0 a1 b1 .. (the first and the second LANES)
 *   m_take(v, m)                   lanes where !(v <= m) and m is not NaN
 *   v_sel(t, v, m)  vi_sel(t, a, b)   t ? v : m, lane by lane
 *   v_add(a, b)  v_keep(t, v) (t ? v : +0)   m_or(a, b)  m_all_cut(t, c)
 *   vi_set1(x)  vi_add(a, b)  vi_twice()    (0, 2, 4, ..)
 *   vi_store_i64_cut(p, v, c)      the lanes of c widened to fnn_idx
 *   l_load_cut(p, c, half)         int64 lanes: those of c in the half 0 or 1 of it
 *   l_set1(x)  l_add(a, b)  l_sub(a, b)  l_twice()
 *   m_eq2(lo, hi, x)               the float-lane mask of lo, hi (LANES / 2 each) == x
 */

#define H (LANES / 2)

/* Steps of LANES outputs per output row of at most FNN_MAXPOOL2X2_MAX_OW. */
#define STEPS ((FNN_MAXPOOL2X2_MAX_OW + LANES - 1) / LANES)

TGT static void FNN_ARCH(maxpool2x2_forward)(const fnn_conv_geom *g, fnn_idx planes,
                                             const float *x, float *y, fnn_idx *argmax)
{
    const fnn_idx W = g->w, OH = g->oh, OW = g->ow, HW = g->h * W, OHW = OH * OW;
    const VECI k01 = vi_set1(1), k10 = vi_set1((int)W), k11 = vi_set1((int)W + 1);
    const VECI twice = vi_twice();
    /* per step: the input columns of its two loads, and its outputs */
    CUT in0[STEPS], in1[STEPS], out[STEPS];
    const int steps = (int)((OW + LANES - 1) / LANES);
    for (int j = 0; j < STEPS; ++j) { /* past `steps`: empty cuts, never used */
        const fnn_idx cols = 2 * (OW - j * LANES);
        in0[j] = cut_of(cols);
        in1[j] = cut_of(cols - LANES);
        out[j] = cut_of(OW - j * LANES);
    }
    for (fnn_idx p = 0; p < planes; ++p) {
        for (fnn_idx oh = 0; oh < OH; ++oh) {
            const fnn_idx top = 2 * oh * W;
            const float *ra = x + p * HW + top, *rb = ra + W;
            float *yr = y + p * OHW + oh * OW;
            fnn_idx *ar = argmax + p * OHW + oh * OW;
            for (int j = 0; j < steps; ++j) {
                const fnn_idx o0 = j * LANES;
                const VEC a0 = v_load_cut(ra + 2 * o0, in0[j]);
                const VEC a1 = v_load_cut(ra + 2 * o0 + LANES, in1[j]);
                const VEC b0 = v_load_cut(rb + 2 * o0, in0[j]);
                const VEC b1 = v_load_cut(rb + 2 * o0 + LANES, in1[j]);
                VEC m = v_even(a0, a1);
                VECI k = vi_set1(0);
                /* the window's other three elements in row-major order; take v when
                 * !(v <= m) (v larger, or a NaN) and m is not already a NaN */
#define FNN_TAKE(v, kv)                                                                   \
    {                                                                                     \
        const VEC v_ = (v);                                                               \
        const MASK t_ = m_take(v_, m);                                                    \
        m = v_sel(t_, v_, m);                                                             \
        k = vi_sel(t_, (kv), k);                                                          \
    }
                FNN_TAKE(v_odd(a0, a1), k01)
                FNN_TAKE(v_even(b0, b1), k10)
                FNN_TAKE(v_odd(b0, b1), k11)
#undef FNN_TAKE
                v_store_cut(yr + o0, m, out[j]);
                /* argmax = top + 2 * ow + k, widened to 64 bits */
                vi_store_i64_cut(ar + o0, vi_add(vi_add(k, twice), vi_set1((int)(top + 2 * o0))),
                                 out[j]);
            }
        }
    }
}

TGT static void FNN_ARCH(maxpool2x2_backward)(const fnn_conv_geom *g, fnn_idx planes,
                                              const float *dy, const fnn_idx *argmax,
                                              float *dx, fnn_maxpool_plane_fn fallback)
{
    const fnn_idx H_ = g->h, W = g->w, OH = g->oh, OW = g->ow, HW = H_ * W, OHW = OH * OW;
    const VEC64 twice = l_twice(), step = l_set1(LANES);
    const VEC zero = v_zero();
    const fnn_idx tail = W - 2 * OW; /* columns right of the last block: zero */
    /* per step: its outputs, and the two halves of each of its dx rows */
    CUT out[STEPS], dx0[STEPS], dx1[STEPS];
    const int steps = (int)((OW + LANES - 1) / LANES);
    for (int j = 0; j < STEPS; ++j) { /* past `steps`: empty cuts, never used */
        const fnn_idx n = OW - j * LANES;
        out[j] = cut_of(n);
        dx0[j] = cut_of(2 * n);
        dx1[j] = cut_of(2 * n - LANES);
    }
    for (fnn_idx p = 0; p < planes; ++p) {
        const float *dyp = dy + p * OHW;
        const fnn_idx *ap = argmax + p * OHW;
        float *dxp = dx + p * HW;
        int ok = 1;
        for (fnn_idx oh = 0; oh < OH && ok; ++oh) {
            const fnn_idx top = 2 * oh * W;
            float *ra = dxp + top, *rb = ra + W;
            for (int j = 0; j < steps; ++j) {
                const fnn_idx o0 = j * LANES;
                const fnn_idx *aq = ap + oh * OW + o0;
                /* each argmax minus its block's top-left index: 0, 1, W or W + 1 */
                const VEC64 base = l_add(twice, l_set1((long long)(top + 2 * o0)));
                const VEC64 lo = l_sub(l_load_cut(aq, out[j], 0), base);
                const VEC64 hi = l_sub(l_load_cut(aq + H, out[j], 1), l_add(base, step));
                const MASK e00 = m_eq2(lo, hi, 0), e01 = m_eq2(lo, hi, 1);
                const MASK e10 = m_eq2(lo, hi, W), e11 = m_eq2(lo, hi, W + 1);
                if (!m_all_cut(m_or(m_or(e00, e01), m_or(e10, e11)), out[j])) {
                    ok = 0; /* an argmax outside its block: the plane goes to the fallback */
                    break;
                }
                /* 0 + dy where the gradient goes (as the scatter adds it to a zeroed dx) */
                const VEC d = v_add(zero, v_load_cut(dyp + oh * OW + o0, out[j]));
                const VEC ae = v_keep(e00, d), ao = v_keep(e01, d);
                const VEC be = v_keep(e10, d), bo = v_keep(e11, d);
                v_store_cut(ra + 2 * o0, v_zip_lo(ae, ao), dx0[j]);
                v_store_cut(ra + 2 * o0 + LANES, v_zip_hi(ae, ao), dx1[j]);
                v_store_cut(rb + 2 * o0, v_zip_lo(be, bo), dx0[j]);
                v_store_cut(rb + 2 * o0 + LANES, v_zip_hi(be, bo), dx1[j]);
            }
            if (ok && tail > 0) {
                memset(ra + 2 * OW, 0, (size_t)tail * sizeof(float));
                memset(rb + 2 * OW, 0, (size_t)tail * sizeof(float));
            }
        }
        if (!ok) {
            fallback(HW, OHW, 1, dyp, ap, dxp);
            continue;
        }
        if (2 * OH < H_) /* rows below the last block */
            memset(dxp + 2 * OH * W, 0, (size_t)((H_ - 2 * OH) * W) * sizeof(float));
    }
}

#undef H
#undef STEPS

const fnn_maxpool2x2_variant FNN_ARCH(fnn_maxpool2x2) = {
    FNN_ARCH_NAME, FNN_ARCH_ISA, FNN_ARCH(maxpool2x2_forward), FNN_ARCH(maxpool2x2_backward)};
