/* The adam family's "neon" variant: arch/adam_f32_body.h on 4-lane vectors. NEON's
 * estimates (vrsqrte, vrecpe) carry about 8 bits, so each takes one of its own Newton
 * steps (vrsqrts, vrecps) here, then the body's Newton step and ADAM_REFINE corrections,
 * as on AVX2. Proven against the generic loop under qemu-aarch64 (src_c/tests/). */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "optimizers.h"

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#include <arm_neon.h>

#define TGT /* Advanced SIMD is the AArch64 baseline */
#define VEC float32x4_t
#define MASK uint32x4_t
#define LANES 4
#define MASK_FIRST(n) vcltq_u32((uint32x4_t){0u, 1u, 2u, 3u}, vdupq_n_u32((uint32_t)(n)))

/* NEON has no masked loads or stores; the masks here are always lanes [0, n). */
static inline int lanes_on(uint32x4_t k) { return (int)vaddvq_u32(vshrq_n_u32(k, 31)); }

static inline float32x4_t loadm(uint32x4_t k, const float *q)
{
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = 0, n = lanes_on(k); j < n; ++j) t[j] = q[j];
    return vld1q_f32(t);
}

static inline void storem(float *q, uint32x4_t k, float32x4_t x)
{
    float t[4];
    vst1q_f32(t, x);
    for (int j = 0, n = lanes_on(k); j < n; ++j) q[j] = t[j];
}

static inline float32x4_t rsqrt_est(float32x4_t x)
{
    float32x4_t y = vrsqrteq_f32(x);
    return vmulq_f32(y, vrsqrtsq_f32(vmulq_f32(x, y), y));
}

static inline float32x4_t rcp_est(float32x4_t x)
{
    float32x4_t r = vrecpeq_f32(x);
    return vmulq_f32(r, vrecpsq_f32(x, r));
}

#define AND_MASK(k, x) vreinterpretq_f32_u32(vandq_u32(k, vreinterpretq_u32_f32(x)))
#define V_SET1(x) vdupq_n_f32(x)
#define V_LOAD(q) vld1q_f32(q)
#define V_STORE(q, x) vst1q_f32(q, x)
#define V_LOADM(k, q) loadm(k, q)
#define V_STOREM(q, k, x) storem(q, k, x)
#define V_MUL(a, b) vmulq_f32(a, b)
#define V_FMADD(a, b, c) vfmaq_f32(c, a, b)
#define V_FNMADD(a, b, c) vfmsq_f32(c, a, b)
#define V_ZERO_ABS_LT(x, t, pos) (pos = vmvnq_u32(vcltq_f32(vabsq_f32(x), t)), AND_MASK(pos, x))
#define V_RSQRT_POS(pos, x) AND_MASK(pos, rsqrt_est(x))
#define V_RCP(x) rcp_est(x)
#define V_WHERE_INF(v, x, y) vbslq_f32(vceqq_f32(v, vdupq_n_f32(INFINITY)), x, y)
#define V_SUB(a, b) vsubq_f32(a, b)
/* FPCR: flush-to-zero (bit 24) */
#define FTZ_STATE uint64_t
#define FTZ_ON(s)                                                    \
    do {                                                             \
        __asm__ __volatile__("mrs %0, fpcr" : "=r"(s));              \
        __asm__ __volatile__("msr fpcr, %0" : : "r"(s | (1ull << 24))); \
    } while (0)
#define FTZ_OFF(s) __asm__ __volatile__("msr fpcr, %0" : : "r"(s))
#define ADAM_NEWTON 1
#define ADAM_REFINE 1
#define ADAM_NAME adam_neon
#include "arch/adam_f32_body.h"

const fnn_adam_f32_variant fnn_adam_f32_neon = {"neon", FNN_ISA_NEON, adam_neon};

#endif
