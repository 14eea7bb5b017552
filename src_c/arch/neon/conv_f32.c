/* The conv family's "neon" variant: arch/conv_f32_body.h on 4-lane vectors, 32
 * registers. NEON has no masked loads or stores: a range that is not the whole vector
 * goes lane by lane through a small buffer. A kernel row (ROW) is two vectors. */
#include "conv_variants.h"

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#include <arm_neon.h>

#define TGT /* the baseline instruction set */
#define AI __attribute__((always_inline)) inline
#define LANES 4
#define REGS 32
#define VEC float32x4_t
#define RNG rng4
#define ROW float32x4x2_t
#define RROW rng4
#define DSUM float64x2_t
#define FNN_ARCH(name) name##_neon
#define FNN_ARCH_NAME "neon"
#define FNN_ARCH_ISA FNN_ISA_NEON

typedef struct {
    int lo, hi;
} rng4;

static AI float32x4_t v_zero(void) { return vdupq_n_f32(0.0f); }
static AI float32x4_t v_set1(float x) { return vdupq_n_f32(x); }
static AI float32x4_t v_fma(float32x4_t a, float32x4_t b, float32x4_t c) { return vfmaq_f32(c, a, b); }
static AI float32x4_t v_add(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); }
static AI float32x4_t v_loadu(const float *p) { return vld1q_f32(p); }
static AI float v_reduce(float32x4_t v) { return vaddvq_f32(v); }
static AI rng4 rng(int lo, int hi)
{
    rng4 r = {lo, hi};
    return r;
}
static AI float32x4_t v_load_rng(const float *p, rng4 r)
{
    if (r.lo == 0 && r.hi == 4) return vld1q_f32(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = r.lo; j < r.hi; ++j) t[j] = p[j];
    return vld1q_f32(t);
}
static AI float32x4_t v_load_rng2(const float *pa, rng4 ra, const float *pb, rng4 rb)
{
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = ra.lo; j < ra.hi; ++j) t[j] = pa[j];
    for (int j = rb.lo; j < rb.hi; ++j) t[j] = pb[j];
    return vld1q_f32(t);
}
static AI void v_store_rng(float *p, float32x4_t v, rng4 r)
{
    if (r.lo == 0 && r.hi == 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    for (int j = r.lo; j < r.hi; ++j) p[j] = t[j];
}
static AI void v_store(float *p, float32x4_t v) { vst1q_f32(p, v); }
static AI float32x4x2_t r_zero(void)
{
    float32x4x2_t r = {{vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}};
    return r;
}
static AI float32x4x2_t r_set1(float x)
{
    float32x4x2_t r = {{vdupq_n_f32(x), vdupq_n_f32(x)}};
    return r;
}
static AI float32x4x2_t r_fma(float32x4x2_t a, float32x4x2_t b, float32x4x2_t c)
{
    float32x4x2_t r = {{vfmaq_f32(c.val[0], a.val[0], b.val[0]), vfmaq_f32(c.val[1], a.val[1], b.val[1])}};
    return r;
}
static AI float32x4x2_t r_add(float32x4x2_t a, float32x4x2_t b)
{
    float32x4x2_t r = {{vaddq_f32(a.val[0], b.val[0]), vaddq_f32(a.val[1], b.val[1])}};
    return r;
}
static AI void r_store8(float *p, float32x4x2_t v)
{
    vst1q_f32(p, v.val[0]);
    vst1q_f32(p + 4, v.val[1]);
}
static AI rng4 rrow(int lo, int hi) { return rng(lo, hi); }
static AI float32x4x2_t r_load_rng(const float *p, rng4 r)
{
    float t[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = r.lo; j < r.hi; ++j) t[j] = p[j];
    float32x4x2_t v = {{vld1q_f32(t), vld1q_f32(t + 4)}};
    return v;
}
/* db sums: the 4 lanes as two halves of 2 doubles, added up once at the end */
static AI float64x2_t d_zero(void) { return vdupq_n_f64(0.0); }
static AI float64x2_t d_add(float64x2_t s, float32x4_t v)
{
    return vaddq_f64(vaddq_f64(s, vcvt_f64_f32(vget_low_f32(v))), vcvt_high_f64_f32(v));
}
static AI double d_total(float64x2_t s) { return vaddvq_f64(s); }

#include "arch/conv_f32_body.h"

#endif
