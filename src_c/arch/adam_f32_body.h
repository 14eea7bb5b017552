/* adam_f32_body.h -- the float32 Adam/AdamW update (without amsgrad), written once for
 * every instruction set; src_c/arch/<isa>/adam_f32.c defines the vector operations below
 * and includes it, making the adam family's "<isa>" variant (optimizers.h).
 *
 * Once the training plan forms the first layer's gradient block by block in L1, the loop
 * of optimizers_impl.h is bound by the divider (one sqrt and one division per lane).
 * Here sqrt(v) and the division come from the hardware estimates refined by Newton steps
 * on the FMA units (ADAM_NEWTON of them), and with ADAM_REFINE (AVX2, whose estimates
 * have 12 bits to AVX-512's 14) a last correction of sqrt(v) and of the quotient from
 * their FMA residuals: the update step * m / (sqrt(v) ib + eps) stays within 2.4e-7
 * (2 ulp) relative of its exact value (tests/test_optimizers.py). Every element goes through the same
 * instructions (the tail through masked loads), so the result does not depend on how a
 * caller splits the array: the fused plan and the per-layer path agree.
 *
 * The file defines, before including this one:
 *   TGT            the target attribute          VEC, MASK   vector and lane-mask types
 *   LANES          floats per vector             MASK_FIRST(n)  lanes [0, n)
 *   V_SET1(x)  V_LOAD(p)  V_STORE(p, v)  V_LOADM(k, p)  V_STOREM(p, k, v)
 *   V_MUL(a, b)  V_FMADD(a, b, c)
 *   V_FNMADD(a, b, c) = c - a b
 *   V_ZERO_ABS_LT(v, t, pos): pos = !(|v| < t), v where pos else 0 (so a NaN, infinite
 *                        or negative state stays as it is and spoils the weight, as in
 *                        the generic loop and the numpy twin)
 *   V_RSQRT_POS(pos, v): ~1/sqrt(v) where pos (NaN for v < 0), 0 elsewhere
 *   V_RCP(v): ~1/v
 *   V_SUB(a, b)    (used with ADAM_REFINE)
 *   V_WHERE_INF(v, x, y): x where v is +infinity, else y
 *   FTZ_STATE      the type of the saved floating-point control state
 *   FTZ_ON(s)      save the state in s, then flush subnormals to zero    FTZ_OFF(s)  restore
 *   ADAM_NEWTON    Newton steps per estimate     ADAM_REFINE 1: correct sqrt and quotient
 *   ADAM_NAME      the function's name
 */

TGT static void ADAM_NAME(fnn_idx n, float *p, const float *g, float *m, float *v,
                          const fnn_adam_coefs_f32 *kc)
{
    const VEC vb1 = V_SET1(kc->beta1), vc1 = V_SET1(kc->one_minus_beta1);
    const VEC vb2 = V_SET1(kc->beta2), vc2 = V_SET1(kc->one_minus_beta2);
    const VEC veps = V_SET1(kc->eps), vstep = V_SET1(kc->step_size);
    const VEC vib = V_SET1(kc->inv_sqrt_bc2), tiny = V_SET1(FLT_MIN);
    const VEC half = V_SET1(0.5f), three_halves = V_SET1(1.5f);
    const VEC two = V_SET1(2.0f), zero = V_SET1(0.0f);
    const VEC vl2 = V_SET1(kc->l2), vshrink = V_SET1(kc->shrink);
    /* each term only where it is on, as in the numpy twin: a NaN weight stays out of m, v */
    const int shrinks = kc->shrink != 1, decays = kc->l2 != 0, plain = !shrinks && !decays;
    /* Subnormal numbers off for this loop (flush-to-zero, denormals-are-zero), restored
     * on exit. With weight decay, the weights of an input that is always zero (MNIST's
     * border pixels) shrink geometrically towards 0; on the way their squared gradients
     * pass through the subnormal range, where every operation takes a microcode assist
     * (about 100 cycles): Adam ran 3x slower. The results differ from exact IEEE
     * arithmetic only below FLT_MIN (1.2e-38), which the states already store as 0. */
    FTZ_STATE csr;
    FTZ_ON(csr);
    /* STEP(LOAD, STORE): the update of the LANES elements at i; whole vectors take plain
     * loads and stores, the tail masked ones (masked stores are slow on some CPUs) */
#define ADAM_STEP(LOAD, STORE)                                                           \
    {                                                                                   \
        VEC pi = LOAD(p + i), gi = LOAD(g + i);                                         \
        /* AdamW shrinks the weight first; Adam adds l2 * weight to g */               \
        if (!plain) {                                                                   \
            if (shrinks) pi = V_MUL(pi, vshrink);                                       \
            if (decays) gi = V_FMADD(vl2, pi, gi);                                      \
        }                                                                               \
        VEC mi = V_FMADD(vb1, LOAD(m + i), V_MUL(vc1, gi));                             \
        VEC vi = V_FMADD(vb2, LOAD(v + i), V_MUL(vc2, V_MUL(gi, gi)));                  \
        /* states below the smallest normal float are stored as 0 (FNN_FLUSH) */        \
        MASK pos;                                                                       \
        mi = V_ZERO_ABS_LT(mi, tiny, pos);                                              \
        vi = V_ZERO_ABS_LT(vi, tiny, pos);                                              \
        STORE(m + i, mi);                                                               \
        STORE(v + i, vi);                                                               \
        /* sqrt(v) = v / sqrt(v): y ~ 1/sqrt(v), Newton: y *= 1.5 - 0.5 v y^2 (v = 0: 0) */ \
        VEC y = V_RSQRT_POS(pos, vi);                                                   \
        VEC hv = V_MUL(half, vi);                                                       \
        for (int s = 0; s < ADAM_NEWTON; ++s)                                           \
            y = V_MUL(y, V_FNMADD(V_MUL(hv, y), y, three_halves));                      \
        VEC sq = V_MUL(vi, y);                                                          \
        if (ADAM_REFINE) /* sqrt(v) += (v - sqrt(v)^2) / (2 sqrt(v)) */                 \
            sq = V_FMADD(V_MUL(half, y), V_FNMADD(sq, sq, vi), sq);                     \
        VEC den = V_FMADD(sq, vib, veps);                                               \
        /* 1 / den: r ~ 1/den, Newton: r *= 2 - den r */                                \
        VEC r = V_RCP(den);                                                             \
        for (int s = 0; s < ADAM_NEWTON; ++s)                                           \
            r = V_MUL(r, V_FNMADD(den, r, two));                                        \
        /* v = +inf (a gradient whose square overflowed): the estimates give NaN (inf 0), \
         * the quotient is a / inf = a 0 (0, or NaN where a is not finite) */           \
        if (ADAM_REFINE) { /* q = a / den: q0 = a r, q = q0 + r (a - den q0) */         \
            VEC a = V_MUL(vstep, mi), q = V_MUL(a, r);                                  \
            q = V_FMADD(r, V_FNMADD(den, q, a), q);                                     \
            q = V_WHERE_INF(vi, V_MUL(a, zero), q);                                     \
            STORE(p + i, V_SUB(pi, q));                                                 \
        } else {                                                                        \
            r = V_WHERE_INF(vi, zero, r);                                               \
            STORE(p + i, V_FNMADD(V_MUL(vstep, mi), r, pi));                            \
        }                                                                               \
    }
    fnn_idx i = 0;
    for (; i + LANES <= n; i += LANES) ADAM_STEP(V_LOAD, V_STORE)
    if (i < n) {
        const MASK k = MASK_FIRST(n - i);
#define ADAM_LOADM(q) V_LOADM(k, q)
#define ADAM_STOREM(q, x) V_STOREM(q, k, x)
        ADAM_STEP(ADAM_LOADM, ADAM_STOREM)
#undef ADAM_LOADM
#undef ADAM_STOREM
    }
#undef ADAM_STEP
    FTZ_OFF(csr);
}
