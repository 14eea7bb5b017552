/* plan_leaves.h -- the vector loops of plan.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

/* 1 if the n values of x are all finite: no value has every exponent bit set (NaN, inf).
 * Integer ops, so the OR-reduction vectorizes without a floating-point chain. */
static int FNN_L(row_finite)(fnn_idx n, const REAL *x)
{
#if FNN_REAL_IS_DOUBLE
    typedef uint64_t __attribute__((may_alias)) bits_t;
    const bits_t exp = 0x7ff0000000000000ULL;
#else
    typedef uint32_t __attribute__((may_alias)) bits_t;
    const bits_t exp = 0x7f800000U;
#endif
    const bits_t *u = (const bits_t *)x;
    bits_t bad = 0;
    for (fnn_idx j = 0; j < n; ++j) bad |= (bits_t)((u[j] & exp) == exp);
    return bad == 0;
}

/* x = min(max(x, -limit), limit); NaN stays NaN, as numpy's clip leaves it. */
static void FNN_L(clamp)(fnn_idx n, REAL *x, REAL limit)
{
    for (fnn_idx j = 0; j < n; ++j) {
        REAL v = x[j];
        x[j] = v < -limit ? -limit : v > limit ? limit : v;
    }
}
