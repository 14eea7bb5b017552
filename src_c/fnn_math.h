/*
 * fnn_math.h -- vectorizable exp / expm1 / log1p / tanh / sigmoid for fastnn
 * ==========================================================================
 *
 * WHY THIS FILE EXISTS
 * --------------------
 * glibc's expf(), tanhf(), log1pf(), ... are opaque function calls.  A loop
 *
 *     #pragma omp simd
 *     for (ptrdiff_t i = 0; i < n; ++i) y[i] = expf(x[i]);
 *
 * therefore cannot be turned into SIMD code unless we use -ffast-math or
 * libmvec, and we cannot (wheels must be portable and IEEE-correct).  The
 * functions below use nothing but +, -, *, / and integer bit operations on
 * the IEEE-754 representation (read through memcpy, which the compiler turns
 * into a free register reinterpretation).  No loops, no table lookups, no
 * libm calls, and not even a comparison: every "if" is done with a bit mask
 * (see "SELECTS" below).  After inlining, GCC 12 vectorizes a loop calling
 * any of them with SSE2 (the x86-64 baseline), AVX2 and AVX-512, including
 * inside the per-level builds of the leaves (fnn_leaves.h).
 *
 * FUNCTIONS (all `static inline`, float `_f32` and double `_f64` flavours)
 * -------------------------------------------------------------------------
 *   float  fnn_exp_f32(float x);      double fnn_exp_f64(double x);
 *   float  fnn_expm1_f32(float x);    double fnn_expm1_f64(double x);
 *   float  fnn_log1p_f32(float x);    double fnn_log1p_f64(double x);
 *   float  fnn_tanh_f32(float x);     double fnn_tanh_f64(double x);
 *   float  fnn_sigmoid_f32(float x);  double fnn_sigmoid_f64(double x);
 *
 * HOW exp IS COMPUTED (the other functions are built on top of it)
 * ----------------------------------------------------------------
 * 1. Range reduction.  Write x = n*ln2 + r with n an integer and
 *    |r| <= ln2/2 ~ 0.347.  Then e^x = 2^n * e^r.
 *    - n = round(x/ln2) uses the "shifter" trick: adding
 *      SHIFT = 1.5*2^23 (float) or 1.5*2^52 (double) to x/ln2 makes the
 *      hardware round to an integer, and that integer then sits in the low
 *      bits of the sum, where integer operations can read it.  No
 *      float->int conversion is needed (double->int64 conversion does not
 *      vectorize before AVX-512DQ).
 *    - r = x - n*ln2 is computed "Cody-Waite" style with ln2 split into
 *      LN2_HI (few significant bits, so n*LN2_HI is exact) plus LN2_LO:
 *      r = (x - n*LN2_HI) - n*LN2_LO.  This keeps r accurate even when n is
 *      large, with or without FMA contraction.  The rounding error of that
 *      last subtraction is recovered too (r_err); expm1 adds it back.
 * 2. Polynomial.  e^r - 1 = r + r^2 * P(r), where P is a degree-4 (float)
 *    or degree-9 (double) polynomial fitted to (e^r - 1 - r)/r^2 on
 *    |r| <= 0.349 (Chebyshev, i.e. near-minimax, fit done with mpmath).
 *    Writing it as r + r^2*P keeps full *relative* accuracy for tiny r,
 *    which is what expm1 needs.  Fit error: ~1e-8 (float) and ~2e-17
 *    (double) relative, far below half an ulp.  Below, "tail" means
 *    r^2*P(r), so e^r - 1 = r + tail.
 * 3. Reconstruction.  2^n is made by writing (n + exponent bias) into the
 *    exponent field of a float.  To cover the whole range, including results
 *    that overflow to +inf or underflow into subnormals/zero, 2^n is applied
 *    as two factors s1 = 2^floor(n/2) and s2 = 2^ceil(n/2), which are always
 *    normal numbers: e^x = ((1 + (r + tail)) * s1) * s2.  The first
 *    product is exact; the second rounds exactly once, so overflow gives
 *    +inf and underflow gives correctly rounded subnormals or 0, without any
 *    special case.  The input is first clamped to |x| <= 104 (float) /
 *    746 (double), where the result is already +inf or 0, so that n stays
 *    small enough for this (and NaN passes the clamp unchanged).
 *
 * THE OTHER FUNCTIONS
 * -------------------
 * expm1:   same reduction; e^x - 1 = 2^n (1 + r + tail) - 1
 *                                   = ((s1 - 1/s2) + s1*r + s1*tail) * s2.
 *          s1 - 1/s2 is exact for the n where it matters, and the first
 *          addition is done with its exact rounding error ("Fast2Sum"), so
 *          cancellation (e.g. expm1(0.36) = 2*(0.5 - 0.33 + ...)) costs no
 *          accuracy.  For n = 0 (|x| < ln2/2) the result is exactly r + tail:
 *          full relative accuracy near 0, expm1(1e-30) = 1e-30.
 * tanh:    a = |x|, and with t = expm1(2a) (or expm1(-2a) for tiny a):
 *             a >  0.549 (ln(3)/2):   tanh = 1 - 2/(t+2)   t = e^(2a) - 1
 *             a in (0.255, 0.549]:    tanh =  t/(t+2)      t = e^(2a) - 1
 *             a <= 0.255 (ln(5/3)/2): tanh = -t/(t+2)      t = e^(-2a) - 1
 *          (the same identity three ways; each range uses the form with the
 *          least rounding error, as musl/fdlibm do), then the sign of x is
 *          copied back.  As expm1 is accurate near 0, tanh(1e-8) = 1e-8
 *          (not 0).  a is clamped to 10 (float) / 20 (double), where tanh is
 *          already exactly 1 after rounding.
 * sigmoid: e = e^-|x| is in [0, 1] and never overflows;
 *          x >= 0: 1/(1+e),  x < 0: e/(1+e).
 *          So sigmoid(-80) in double is 1.8e-35 with full relative accuracy;
 *          it underflows (gradually) to 0 only below about -745 / -104.
 * log1p:   u = 1 + x is rounded, but its rounding error c = (1+x) - u is
 *          recovered exactly ("TwoSum", 5 extra additions).  u = 2^k * m
 *          with m in [sqrt(2)/2, sqrt(2)) is split with integer operations
 *          on the bits (like frexp).  With f = m - 1 and s = f/(2+f):
 *              log(m) = 2*atanh(s) = 2s + s*R(s^2)
 *          where R is a small polynomial (Chebyshev fit), evaluated in the
 *          classic fdlibm order f - (f^2/2 - s*(f^2/2 + R)) for accuracy.
 *          Finally  log1p(x) = k*ln2 + log(m) + c/u  (ln2 split hi/lo again,
 *          c/u is the first-order correction log(1 + c/u)).
 *
 * SELECTS (why there is no `?:` or `<` in the code)
 * ------------------------------------------------
 * A select "a > b ? p : q" is computed as
 *     mask = (sign bit of (b - a)) AND NOT (sign bit of (a - b))
 *            spread to all bits (all ones if a > b, else all zeros),
 *     result = (p & mask) | (q & ~mask)   on the bit patterns.
 * For NaN input both differences are that NaN, with the same sign, so the
 * mask is 0 -- exactly like the IEEE comparison a > b -- and NaN flows on
 * through the arithmetic into the result.  (fmin/fmax would drop NaN.)
 * When a is known to be >= 0 (a = |x|), the single sign bit of (b - a)
 * is enough, since a NaN operand keeps its (+) sign through the subtraction.
 * Why not just `?:` or `<`?  With GCC 12 (a) a `?:` that selects a constant
 * can be turned into real branches ("jump threading") which then stops the
 * vectorizer, and (b) a double comparison cannot be widened to a 64-bit
 * integer mask with plain SSE2.  The sign-bit form avoids both, and GCC
 * still compiles it to a handful of shift/logic instructions.
 *
 * ACCURACY
 * --------
 * Max error in ulp (units in the last place), measured against long-double
 * libm on ~7e8 float inputs per function (a stride through all float bit
 * patterns, a dense grid, and every float in [0, 1] for log1p) and 2.4e7
 * double inputs (uniform, log-uniform tiny, random bit patterns, grids,
 * near-boundary values); both plain SSE2 and FMA-contracted builds:
 *
 *              float32   float64
 *     exp       1.08      1.06
 *     expm1     1.24      1.33
 *     log1p     0.87      0.88
 *     tanh      2.11      1.99
 *     sigmoid   2.40      2.26
 *
 * So: below 2.5 ulp everywhere (documented promise: < 4 ulp) for
 *   exp      all x; results are non-zero and finite for
 *            x in [-103.97, 88.72] (float), [-745.13, 709.78] (double)
 *   expm1    all x
 *   log1p    all x > -1 (which includes [0, 1], the softplus use)
 *   tanh     all x, including tiny |x| (tanh(1e-30) = 1e-30)
 *   sigmoid  all x, with *relative* accuracy also for very negative x
 * Subnormal results (exp/sigmoid below about -87.3 (float) / -708.4
 * (double)) are produced with gradual underflow, correct to about one unit
 * of the smallest subnormal.  Nothing is flushed to zero by these functions;
 * a caller running with FTZ/DAZ enabled (e.g. via -ffast-math startup code)
 * will of course see zeros there.
 *
 * SPECIAL VALUES
 * --------------
 *   NaN in -> NaN out for every function.
 *   exp(+inf) = +inf, exp(-inf) = 0, overflow -> +inf, underflow -> 0.
 *   expm1(+inf) = +inf, expm1(-inf) = -1, overflow -> +inf.
 *   log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(+inf) = +inf.
 *   tanh(+-inf) = +-1; tanh(x) = +-1 exactly for |x| >= 9.01 (float) /
 *   19.07 (double).
 *   sigmoid(+inf) = 1, sigmoid(-inf) = 0.
 *   Signed zero is not always preserved (expm1(-0) and log1p(-0) may give
 *   +0).  Floating-point exception flags may differ from libm's; errno is
 *   never set.
 *
 * REQUIREMENTS
 * ------------
 * - Default rounding mode (round to nearest); the shifter trick relies on it.
 * - Do NOT compile the including file with -ffast-math / -fassociative-math
 *   / -ffinite-math-only: the compiler could then "simplify"
 *   (a + SHIFT) - SHIFT into a, or the TwoSum error term into 0, or drop the
 *   NaN handling.  -fno-math-errno and FMA contraction are fine.
 * - Plain C99 (also valid C++); needs only <stdint.h> and <string.h>.
 * - Functions are forced inline on GCC/Clang: a loop can only be vectorized
 *   if the body is inlined into it.
 *
 * SPEED (one core, n = 1e6, GCC 12 -O3 -fopenmp-simd -fno-math-errno
 * -mavx512f, Xeon with AVX-512): fnn_exp_f32 0.30 ns/element vs 1.67 for a
 * plain expf loop; fnn_exp_f64 0.78 vs 2.68 for exp.  The double versions
 * gain little with plain SSE2 (2 lanes, no FMA: about on par with glibc);
 * the big wins come from the AVX2 / AVX-512 builds of the leaves (fnn_leaves.h).
 */
#ifndef FNN_MATH_H
#define FNN_MATH_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#  define FNN_MATH_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER) && !defined(__cplusplus)
#  define FNN_MATH_INLINE static __inline
#else
#  define FNN_MATH_INLINE static inline
#endif

/* ======================================================================== */
/* Bit-level helpers                                                        */
/* ======================================================================== */

/* Reinterpret float <-> integer bits.  memcpy is the portable, UB-free way;
   the compiler turns it into a plain register move. */
FNN_MATH_INLINE uint32_t fnn__bits_f32(float x)
{ uint32_t u; memcpy(&u, &x, sizeof u); return u; }
FNN_MATH_INLINE float fnn__from_bits_f32(uint32_t u)
{ float x; memcpy(&x, &u, sizeof x); return x; }
FNN_MATH_INLINE uint64_t fnn__bits_f64(double x)
{ uint64_t u; memcpy(&u, &x, sizeof u); return u; }
FNN_MATH_INLINE double fnn__from_bits_f64(uint64_t u)
{ double x; memcpy(&x, &u, sizeof x); return x; }

#define FNN__SIGN_F32  0x80000000u
#define FNN__SIGN_F64  UINT64_C(0x8000000000000000)

/* |x| and copysign(mag, sgn), by clearing / copying the sign bit. */
FNN_MATH_INLINE float fnn__abs_f32(float x)
{ return fnn__from_bits_f32(fnn__bits_f32(x) & ~FNN__SIGN_F32); }
FNN_MATH_INLINE double fnn__abs_f64(double x)
{ return fnn__from_bits_f64(fnn__bits_f64(x) & ~FNN__SIGN_F64); }
FNN_MATH_INLINE float fnn__copysign_f32(float mag, float sgn)
{
    return fnn__from_bits_f32((fnn__bits_f32(mag) & ~FNN__SIGN_F32) |
                              (fnn__bits_f32(sgn) & FNN__SIGN_F32));
}
FNN_MATH_INLINE double fnn__copysign_f64(double mag, double sgn)
{
    return fnn__from_bits_f64((fnn__bits_f64(mag) & ~FNN__SIGN_F64) |
                              (fnn__bits_f64(sgn) & FNN__SIGN_F64));
}

/* All ones if the sign bit of v is set, else all zeros. */
FNN_MATH_INLINE uint32_t fnn__sign_mask_f32(float v)
{ return (uint32_t)0 - (fnn__bits_f32(v) >> 31); }
FNN_MATH_INLINE uint64_t fnn__sign_mask_f64(double v)
{ return (uint64_t)0 - (fnn__bits_f64(v) >> 63); }

/* All ones if a > b, else all zeros (also zeros if a is NaN), for finite b.
   See "SELECTS" in the header comment. */
FNN_MATH_INLINE uint32_t fnn__gt_mask_f32(float a, float b)
{ return fnn__sign_mask_f32(b - a) & ~fnn__sign_mask_f32(a - b); }
FNN_MATH_INLINE uint64_t fnn__gt_mask_f64(double a, double b)
{ return fnn__sign_mask_f64(b - a) & ~fnn__sign_mask_f64(a - b); }

/* Cheaper form when a is known to be >= +0 or a NaN with a clear sign bit
   (e.g. a = |x|): then b - a is negative exactly when a > b, because a NaN
   operand is passed on (with its + sign) by the subtraction. */
FNN_MATH_INLINE uint32_t fnn__gt_mask_pos_f32(float a, float b)
{ return fnn__sign_mask_f32(b - a); }
FNN_MATH_INLINE uint64_t fnn__gt_mask_pos_f64(double a, double b)
{ return fnn__sign_mask_f64(b - a); }

/* mask ? a : b, bit by bit. */
FNN_MATH_INLINE float fnn__blend_f32(uint32_t mask, float a, float b)
{
    return fnn__from_bits_f32((fnn__bits_f32(a) & mask) |
                              (fnn__bits_f32(b) & ~mask));
}
FNN_MATH_INLINE double fnn__blend_f64(uint64_t mask, double a, double b)
{
    return fnn__from_bits_f64((fnn__bits_f64(a) & mask) |
                              (fnn__bits_f64(b) & ~mask));
}

/* x with |x| limited to lim (lim > 0): +-lim if |x| > lim, else x; NaN
   passes through unchanged. */
FNN_MATH_INLINE float fnn__clamp_abs_f32(float x, float lim)
{
    uint32_t big = fnn__gt_mask_pos_f32(fnn__abs_f32(x), lim);
    return fnn__blend_f32(big, fnn__copysign_f32(lim, x), x);
}
FNN_MATH_INLINE double fnn__clamp_abs_f64(double x, double lim)
{
    uint64_t big = fnn__gt_mask_pos_f64(fnn__abs_f64(x), lim);
    return fnn__blend_f64(big, fnn__copysign_f64(lim, x), x);
}

/* IEEE bit patterns used for special results. */
#define FNN__INF_BITS_F32   0x7f800000u
#define FNN__NINF_BITS_F32  0xff800000u
#define FNN__NAN_BITS_F32   0x7fc00000u
#define FNN__INF_BITS_F64   UINT64_C(0x7ff0000000000000)
#define FNN__NINF_BITS_F64  UINT64_C(0xfff0000000000000)
#define FNN__NAN_BITS_F64   UINT64_C(0x7ff8000000000000)

/* ======================================================================== */
/* Constants for exp / expm1                                                */
/* ======================================================================== */

/* ---- float ---- */
#define FNN__INV_LN2_F32   1.44269502f        /* 1/ln(2)                      */
#define FNN__LN2_HI_F32    0.693145751953125f /* ln2 rounded to 15 bits:
                                                  n*LN2_HI exact, |n| < 512  */
#define FNN__LN2_LO_F32    1.42860677e-06f    /* ln2 - LN2_HI                 */
#define FNN__SHIFT_F32     12582912.0f        /* 1.5*2^23: x + SHIFT rounds x
                                                  to an integer               */
#define FNN__ONE_BITS_F32  0x3f800000u        /* bit pattern of 1.0f          */
/* Input clamp for exp and expm1: e^104 = +inf and e^-104 < 2^-150 rounds
   to 0 (so expm1 gives -1), so results for |x| > 104 are already final,
   and |n| <= 150 keeps both scale factors 2^(n/2) normal numbers. */
#define FNN__EXP_LIM_F32   104.0f
/* P(r) ~ (e^r - 1 - r) / r^2 on |r| <= 0.349, degree 4 */
#define FNN__EXP_P0_F32    0.5f
#define FNN__EXP_P1_F32    0.166665748f
#define FNN__EXP_P2_F32    0.0416665524f
#define FNN__EXP_P3_F32    0.00836351886f
#define FNN__EXP_P4_F32    0.00139266078f

/* ---- double ---- */
#define FNN__INV_LN2_F64   1.4426950408889634
#define FNN__LN2_HI_F64    6.93147180369123816490e-01 /* ln2 rounded to 32 bits */
#define FNN__LN2_LO_F64    1.90821492927058770002e-10 /* ln2 - LN2_HI           */
#define FNN__SHIFT_F64     6755399441055744.0         /* 1.5*2^52               */
#define FNN__ONE_BITS_F64  UINT64_C(0x3ff0000000000000)
/* e^746 = +inf, e^-746 < 2^-1075 rounds to 0; |n| <= 1077. */
#define FNN__EXP_LIM_F64   746.0
/* P(r) ~ (e^r - 1 - r) / r^2 on |r| <= 0.349, degree 9 */
#define FNN__EXP_P0_F64    0.5000000000000001
#define FNN__EXP_P1_F64    0.16666666666666669
#define FNN__EXP_P2_F64    0.04166666666662216
#define FNN__EXP_P3_F64    0.00833333333332991
#define FNN__EXP_P4_F64    0.001388888891819165
#define FNN__EXP_P5_F64    0.00019841269863805664
#define FNN__EXP_P6_F64    2.4801519785022954e-05
#define FNN__EXP_P7_F64    2.7557267298072677e-06
#define FNN__EXP_P8_F64    2.762080306789032e-07
#define FNN__EXP_P9_F64    2.510093504703457e-08

/* ======================================================================== */
/* Shared exp machinery                                                     */
/* ======================================================================== */

/* Range reduction + polynomial.  For x (already clamped, or NaN) writes
     r, r_err   x = n*ln2 + r + r_err, |r| <= ~0.347, r_err = rounding error
                of r (tiny; only expm1 needs it, exp ignores it),
     s1, s2     2^floor(n/2) and 2^ceil(n/2), so that s1 * s2 = 2^n,
     inv_s2     1/s2,
   and returns tail = r^2 * P(r), so that  e^r - 1 ~ r + tail  and
       e^x = (1 + (r + tail)) * s1 * s2.
   r and tail are kept apart so that expm1 can add them in the best order. */
FNN_MATH_INLINE float fnn__exp_reduce_f32(float x, float *r_out, float *r_err_out,
                                          float *s1, float *s2, float *inv_s2)
{
    /* n = round(x/ln2): bits(z) = bits(SHIFT) + n */
    float z = x * FNN__INV_LN2_F32 + FNN__SHIFT_F32;
    float n = z - FNN__SHIFT_F32;                       /* exact */
    /* r = x - n*ln2 (Cody-Waite), kept as r + r_err */
    float rh = x - n * FNN__LN2_HI_F32;                  /* exact */
    float rl = n * FNN__LN2_LO_F32;
    float r = rh - rl;
    float r_err = (rh - r) - rl;       /* rounding error of r (Fast2Sum) */
    /* e^r - 1 = r + r^2 * P(r)  (Horner) */
    float p = FNN__EXP_P4_F32;
    p = p * r + FNN__EXP_P3_F32;
    p = p * r + FNN__EXP_P2_F32;
    p = p * r + FNN__EXP_P1_F32;
    p = p * r + FNN__EXP_P0_F32;
    /* Scale factors.  bits(SHIFT) has its low 22 bits zero, so shifting the
       bits of z left by 23 keeps exactly n mod 2^9, placed in the exponent
       (+sign) field; (bits(z) >> 1) << 23 does the same for floor(n/2).
       Adding the bits of 1.0 adds the exponent bias (mod 2^32).  */
    uint32_t zb = fnn__bits_f32(z);
    uint32_t e  = zb << 23;                             /* n          */
    uint32_t e1 = (zb >> 1) << 23;                      /* floor(n/2) */
    uint32_t e2 = e - e1;                               /* ceil(n/2)  */
    *s1 = fnn__from_bits_f32(FNN__ONE_BITS_F32 + e1);
    *s2 = fnn__from_bits_f32(FNN__ONE_BITS_F32 + e2);
    *inv_s2 = fnn__from_bits_f32(FNN__ONE_BITS_F32 - e2);
    *r_out = r;
    *r_err_out = r_err;
    return (r * r) * p;
}

FNN_MATH_INLINE double fnn__exp_reduce_f64(double x, double *r_out, double *r_err_out,
                                           double *s1, double *s2, double *inv_s2)
{
    double z = x * FNN__INV_LN2_F64 + FNN__SHIFT_F64;
    double n = z - FNN__SHIFT_F64;
    double rh = x - n * FNN__LN2_HI_F64;                  /* exact */
    double rl = n * FNN__LN2_LO_F64;
    double r = rh - rl;
    double r_err = (rh - r) - rl;       /* rounding error of r (Fast2Sum) */
    double p = FNN__EXP_P9_F64;
    p = p * r + FNN__EXP_P8_F64;
    p = p * r + FNN__EXP_P7_F64;
    p = p * r + FNN__EXP_P6_F64;
    p = p * r + FNN__EXP_P5_F64;
    p = p * r + FNN__EXP_P4_F64;
    p = p * r + FNN__EXP_P3_F64;
    p = p * r + FNN__EXP_P2_F64;
    p = p * r + FNN__EXP_P1_F64;
    p = p * r + FNN__EXP_P0_F64;
    /* bits(SHIFT) has its low 51 bits zero: << 52 keeps n mod 2^12. */
    uint64_t zb = fnn__bits_f64(z);
    uint64_t e  = zb << 52;
    uint64_t e1 = (zb >> 1) << 52;
    uint64_t e2 = e - e1;
    *s1 = fnn__from_bits_f64(FNN__ONE_BITS_F64 + e1);
    *s2 = fnn__from_bits_f64(FNN__ONE_BITS_F64 + e2);
    *inv_s2 = fnn__from_bits_f64(FNN__ONE_BITS_F64 - e2);
    *r_out = r;
    *r_err_out = r_err;
    return (r * r) * p;
}

/* e^x for |x| <= EXP_LIM or NaN. */
FNN_MATH_INLINE float fnn__exp_core_f32(float x)
{
    float r, r_err, s1, s2, inv_s2;
    float tail = fnn__exp_reduce_f32(x, &r, &r_err, &s1, &s2, &inv_s2);
    return ((1.0f + (r + tail)) * s1) * s2;  /* 1st product exact, 2nd rounds once */
}
FNN_MATH_INLINE double fnn__exp_core_f64(double x)
{
    double r, r_err, s1, s2, inv_s2;
    double tail = fnn__exp_reduce_f64(x, &r, &r_err, &s1, &s2, &inv_s2);
    return ((1.0 + (r + tail)) * s1) * s2;
}

/* e^x - 1 for |x| <= EXP_LIM or NaN:
       2^n (1 + r + tail) - 1 = ((s1 - 1/s2) + s1*r + s1*tail) * s2.
   a = s1 - 1/s2 is exact for the n where it matters and s1*r is exact, so
   the sum a + s1*r is done as "Fast2Sum": hi is the rounded sum and lo its
   exact rounding error (valid because |a| >= |s1*r|, or a == 0 when n == 0).
   The result then suffers only one real rounding, even when a and s1*r
   nearly cancel (e.g. n = 1, x ~ 0.35).  For n == 0 it is exactly r + tail,
   so tiny x keep full relative accuracy.  Here r_err matters (|r| can be
   larger than the result), so it is added back: e^(r + r_err) - 1 ~
   r + tail + r_err*(1 + r). */
FNN_MATH_INLINE float fnn__expm1_core_f32(float x)
{
    float r, r_err, s1, s2, inv_s2;
    float tail = fnn__exp_reduce_f32(x, &r, &r_err, &s1, &s2, &inv_s2);
    float sr = s1 * r;                                 /* exact */
    float a = s1 - inv_s2;
    float hi = a + sr;
    float lo = (a - hi) + sr;                          /* exact error of hi */
    tail = tail + (r_err + r_err * r);
    return (hi + (lo + s1 * tail)) * s2;
}
FNN_MATH_INLINE double fnn__expm1_core_f64(double x)
{
    double r, r_err, s1, s2, inv_s2;
    double tail = fnn__exp_reduce_f64(x, &r, &r_err, &s1, &s2, &inv_s2);
    double sr = s1 * r;                                 /* exact */
    double a = s1 - inv_s2;
    double hi = a + sr;
    double lo = (a - hi) + sr;                          /* exact error of hi */
    tail = tail + (r_err + r_err * r);
    return (hi + (lo + s1 * tail)) * s2;
}

/* ======================================================================== */
/* Public: exp                                                              */
/* ======================================================================== */
FNN_MATH_INLINE float fnn_exp_f32(float x)
{
    /* clamp to [-LIM, LIM] (the result there is already +inf / 0);
       NaN passes through unchanged */
    return fnn__exp_core_f32(fnn__clamp_abs_f32(x, FNN__EXP_LIM_F32));
}

FNN_MATH_INLINE double fnn_exp_f64(double x)
{
    return fnn__exp_core_f64(fnn__clamp_abs_f64(x, FNN__EXP_LIM_F64));
}

/* ======================================================================== */
/* Public: expm1                                                            */
/* ======================================================================== */
FNN_MATH_INLINE float fnn_expm1_f32(float x)
{
    /* same clamp as exp: the result there is already +inf / -1 */
    return fnn__expm1_core_f32(fnn__clamp_abs_f32(x, FNN__EXP_LIM_F32));
}

FNN_MATH_INLINE double fnn_expm1_f64(double x)
{
    return fnn__expm1_core_f64(fnn__clamp_abs_f64(x, FNN__EXP_LIM_F64));
}

/* ======================================================================== */
/* Public: tanh                                                             */
/* ======================================================================== */
/* The three formulas below are all exact identities; the ranges only pick
   the one with the smallest rounding error (as in musl/fdlibm tanh). */
#define FNN__TANH_SMALL_F32  0.255412812f       /* ln(5/3)/2                   */
#define FNN__TANH_SWITCH_F32 0.549306144f       /* ln(3)/2                     */
#define FNN__TANH_CLAMP_F32  10.0f              /* tanh(x) == 1.0f, x >= 9.01  */
#define FNN__TANH_SMALL_F64  0.25541281188299536
#define FNN__TANH_SWITCH_F64 0.54930614433405489
#define FNN__TANH_CLAMP_F64  20.0               /* tanh(x) == 1.0, x >= 19.07  */

FNN_MATH_INLINE float fnn_tanh_f32(float x)
{
    float a = fnn__abs_f32(x);                  /* NaN stays NaN */
    uint32_t big = fnn__gt_mask_pos_f32(a, FNN__TANH_SWITCH_F32);
    uint32_t tiny = fnn__sign_mask_f32(a - FNN__TANH_SMALL_F32);   /* a < SMALL */
    a = fnn__blend_f32(fnn__gt_mask_pos_f32(a, FNN__TANH_CLAMP_F32), FNN__TANH_CLAMP_F32, a);
    /* t = expm1(2a) (or expm1(-2a) in the "tiny" range) and then
         big:    tanh = 1 - 2/(t+2)
         middle: tanh =  t/(t+2)
         tiny:   tanh = -t/(t+2)                                         */
    float t = fnn__expm1_core_f32(fnn__blend_f32(tiny, -2.0f * a, 2.0f * a));
    float num = fnn__blend_f32(big, 2.0f, fnn__blend_f32(tiny, -t, t));
    float q = num / (t + 2.0f);
    float res = fnn__blend_f32(big, 1.0f - q, q);
    return fnn__copysign_f32(res, x);
}

FNN_MATH_INLINE double fnn_tanh_f64(double x)
{
    double a = fnn__abs_f64(x);
    uint64_t big = fnn__gt_mask_pos_f64(a, FNN__TANH_SWITCH_F64);
    uint64_t tiny = fnn__sign_mask_f64(a - FNN__TANH_SMALL_F64);   /* a < SMALL */
    a = fnn__blend_f64(fnn__gt_mask_pos_f64(a, FNN__TANH_CLAMP_F64), FNN__TANH_CLAMP_F64, a);
    double t = fnn__expm1_core_f64(fnn__blend_f64(tiny, -2.0 * a, 2.0 * a));
    double num = fnn__blend_f64(big, 2.0, fnn__blend_f64(tiny, -t, t));
    double q = num / (t + 2.0);
    double res = fnn__blend_f64(big, 1.0 - q, q);
    return fnn__copysign_f64(res, x);
}

/* ======================================================================== */
/* Public: sigmoid = 1 / (1 + e^-x)                                         */
/* ======================================================================== */
FNN_MATH_INLINE float fnn_sigmoid_f32(float x)
{
    /* e = e^-|x| is in [0, 1]: no overflow for any x (the clamp only keeps
       the exp argument >= -LIM, where e is 0 anyway) */
    float na = -fnn__abs_f32(x);
    float e = fnn__exp_core_f32(fnn__clamp_abs_f32(na, FNN__EXP_LIM_F32));
    /* x >= 0: 1/(1+e);  x < 0: e/(1+e)   (NaN: e is NaN either way) */
    float num = fnn__blend_f32(fnn__sign_mask_f32(x), e, 1.0f);
    return num / (1.0f + e);
}

FNN_MATH_INLINE double fnn_sigmoid_f64(double x)
{
    double na = -fnn__abs_f64(x);
    double e = fnn__exp_core_f64(fnn__clamp_abs_f64(na, FNN__EXP_LIM_F64));
    double num = fnn__blend_f64(fnn__sign_mask_f64(x), e, 1.0);
    return num / (1.0 + e);
}

/* ======================================================================== */
/* Public: log1p                                                            */
/* ======================================================================== */
/* R(z) / z ~ (2*atanh(s) - 2s) / s^3 with z = s^2 in [0, 0.02944]
   (|s| <= (sqrt2-1)/(sqrt2+1)); degree 2 (float) / 6 (double). */
#define FNN__LOG_R0_F32   0.666666865f
#define FNN__LOG_R1_F32   0.39988777f
#define FNN__LOG_R2_F32   0.295800537f
#define FNN__LOG_R0_F64   0.666666666666667
#define FNN__LOG_R1_F64   0.39999999999899444
#define FNN__LOG_R2_F64   0.2857142862600327
#define FNN__LOG_R3_F64   0.22222211130259878
#define FNN__LOG_R4_F64   0.18182889455674947
#define FNN__LOG_R5_F64   0.15331710618210773
#define FNN__LOG_R6_F64   0.14616585424888623
/* Splitting u = 2^k * m with m in [sqrt(2)/2, sqrt(2)) instead of [1, 2):
   adding (bits(1) - bits(sqrt(2)/2)) to bits(u) carries into the exponent
   exactly when u's mantissa is >= sqrt(2)/2's, so k = exponent field - bias,
   and m = (mantissa bits) + bits(sqrt(2)/2). */
#define FNN__SQRT_HALF_BITS_F32  0x3f3504f3u                   /* sqrt(2)/2 */
#define FNN__SQRT_HALF_BITS_F64  UINT64_C(0x3fe6a09e667f3bcd)
#define FNN__MANT_MASK_F32       0x007fffffu
#define FNN__MANT_MASK_F64       UINT64_C(0x000fffffffffffff)
/* Exponent -> float without int->float conversion (int64 -> double does not
   vectorize before AVX-512DQ): OR the biased exponent E into the mantissa of
   2^23 (2^52) giving 2^23 + E, then subtract 2^23 + 127 (2^52 + 1023). */
#define FNN__TWO23_BITS_F32        0x4b000000u
#define FNN__TWO23_PLUS_BIAS_F32   8388735.0f                  /* 2^23 + 127  */
#define FNN__TWO52_BITS_F64        UINT64_C(0x4330000000000000)
#define FNN__TWO52_PLUS_BIAS_F64   4503599627371519.0          /* 2^52 + 1023 */
#define FNN__FLT_MAX_F32           3.40282347e+38f
#define FNN__DBL_MAX_F64           1.7976931348623157e+308
#define FNN__LOG1P_TINY_F32        1e-30f  /* u = 1 + x is 0 or >= 2^-24  */
#define FNN__LOG1P_TINY_F64        1e-300  /* u = 1 + x is 0 or >= 2^-53  */

FNN_MATH_INLINE float fnn_log1p_f32(float x)
{
    /* u = fl(1 + x) and its exact rounding error c = (1 + x) - u (TwoSum) */
    float u = 1.0f + x;
    float xr = u - 1.0f;                    /* the part of x that made it in */
    float c = (1.0f - (u - xr)) + (x - xr);
    /* u = 2^k * m,  m in [sqrt(2)/2, sqrt(2)) */
    uint32_t iu = fnn__bits_f32(u) + (FNN__ONE_BITS_F32 - FNN__SQRT_HALF_BITS_F32);
    float k = fnn__from_bits_f32((iu >> 23) | FNN__TWO23_BITS_F32)
              - FNN__TWO23_PLUS_BIAS_F32;
    float m = fnn__from_bits_f32((iu & FNN__MANT_MASK_F32) + FNN__SQRT_HALF_BITS_F32);
    /* log(m) = f - (hfsq - s*(hfsq + R)),  f = m - 1, s = f/(2+f), z = s^2 */
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float R = z * (FNN__LOG_R0_F32 + z * (FNN__LOG_R1_F32 + z * FNN__LOG_R2_F32));
    float hfsq = 0.5f * f * f;
    /* small terms first; c/u ~ log(1 + c/u) corrects the rounding of 1+x */
    float res = s * (hfsq + R) + (k * FNN__LN2_LO_F32 + c / u) - hfsq + f
                + k * FNN__LN2_HI_F32;
    /* special cases; NaN input already gives NaN through c */
    res = fnn__blend_f32(fnn__gt_mask_f32(x, FNN__FLT_MAX_F32),               /* +inf   */
                         fnn__from_bits_f32(FNN__INF_BITS_F32), res);
    res = fnn__blend_f32(fnn__gt_mask_f32(FNN__LOG1P_TINY_F32, u),            /* x = -1 */
                         fnn__from_bits_f32(FNN__NINF_BITS_F32), res);
    res = fnn__blend_f32(fnn__gt_mask_f32(-1.0f, x),                          /* x < -1 */
                         fnn__from_bits_f32(FNN__NAN_BITS_F32), res);
    return res;
}

FNN_MATH_INLINE double fnn_log1p_f64(double x)
{
    double u = 1.0 + x;
    double xr = u - 1.0;
    double c = (1.0 - (u - xr)) + (x - xr);
    uint64_t iu = fnn__bits_f64(u) + (FNN__ONE_BITS_F64 - FNN__SQRT_HALF_BITS_F64);
    double k = fnn__from_bits_f64((iu >> 52) | FNN__TWO52_BITS_F64)
               - FNN__TWO52_PLUS_BIAS_F64;
    double m = fnn__from_bits_f64((iu & FNN__MANT_MASK_F64) + FNN__SQRT_HALF_BITS_F64);
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double R = FNN__LOG_R6_F64;
    R = R * z + FNN__LOG_R5_F64;
    R = R * z + FNN__LOG_R4_F64;
    R = R * z + FNN__LOG_R3_F64;
    R = R * z + FNN__LOG_R2_F64;
    R = R * z + FNN__LOG_R1_F64;
    R = R * z + FNN__LOG_R0_F64;
    R = R * z;
    double hfsq = 0.5 * f * f;
    double res = s * (hfsq + R) + (k * FNN__LN2_LO_F64 + c / u) - hfsq + f
                 + k * FNN__LN2_HI_F64;
    res = fnn__blend_f64(fnn__gt_mask_f64(x, FNN__DBL_MAX_F64),
                         fnn__from_bits_f64(FNN__INF_BITS_F64), res);
    res = fnn__blend_f64(fnn__gt_mask_f64(FNN__LOG1P_TINY_F64, u),
                         fnn__from_bits_f64(FNN__NINF_BITS_F64), res);
    res = fnn__blend_f64(fnn__gt_mask_f64(-1.0, x),
                         fnn__from_bits_f64(FNN__NAN_BITS_F64), res);
    return res;
}

#endif /* FNN_MATH_H */
