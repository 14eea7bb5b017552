/* The maxpool2x2 family's "neon" variant: arch/maxpool2x2_f32_body.h on 4-lane vectors.
 * NEON has no masked loads or stores: the cut ones go lane by lane. */
#include <stdint.h>
#include <string.h>

#include "pool_variants.h"

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#include <arm_neon.h>

#define TGT __attribute__((always_inline)) inline
#define LANES 4
#define VEC float32x4_t
#define MASK uint32x4_t
#define VECI int32x4_t
#define VEC64 int64x2_t
#define CUT int
#define FNN_ARCH(name) name##_neon
#define FNN_ARCH_NAME "neon"
#define FNN_ARCH_ISA FNN_ISA_NEON

/* The first n lanes, n clamped to [0, 4]. */
TGT static int cut_of(fnn_idx n) { return n <= 0 ? 0 : n >= 4 ? 4 : (int)n; }
TGT static float32x4_t v_zero(void) { return vdupq_n_f32(0.0f); }
TGT static float32x4_t v_load_cut(const float *p, int n)
{
    if (n == 4) return vld1q_f32(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = 0; j < n; ++j) t[j] = p[j];
    return vld1q_f32(t);
}
TGT static void v_store_cut(float *p, float32x4_t v, int n)
{
    if (n == 4) {
        vst1q_f32(p, v);
        return;
    }
    float t[4];
    vst1q_f32(t, v);
    for (int j = 0; j < n; ++j) p[j] = t[j];
}
TGT static float32x4_t v_even(float32x4_t a, float32x4_t b) { return vuzp1q_f32(a, b); }
TGT static float32x4_t v_odd(float32x4_t a, float32x4_t b) { return vuzp2q_f32(a, b); }
TGT static float32x4_t v_zip_lo(float32x4_t a, float32x4_t b) { return vzip1q_f32(a, b); }
TGT static float32x4_t v_zip_hi(float32x4_t a, float32x4_t b) { return vzip2q_f32(a, b); }
TGT static uint32x4_t m_take(float32x4_t v, float32x4_t m)
{
    return vandq_u32(vmvnq_u32(vcleq_f32(v, m)), vceqq_f32(m, m));
}
TGT static float32x4_t v_sel(uint32x4_t t, float32x4_t v, float32x4_t m) { return vbslq_f32(t, v, m); }
TGT static int32x4_t vi_sel(uint32x4_t t, int32x4_t a, int32x4_t b) { return vbslq_s32(t, a, b); }
TGT static float32x4_t v_add(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); }
TGT static float32x4_t v_keep(uint32x4_t t, float32x4_t v)
{
    return vreinterpretq_f32_u32(vandq_u32(t, vreinterpretq_u32_f32(v)));
}
TGT static uint32x4_t m_or(uint32x4_t a, uint32x4_t b) { return vorrq_u32(a, b); }
TGT static int m_all_cut(uint32x4_t t, int n)
{
    uint32_t l[4];
    vst1q_u32(l, t);
    for (int j = 0; j < n; ++j)
        if (!l[j]) return 0;
    return 1;
}
TGT static int32x4_t vi_set1(int x) { return vdupq_n_s32(x); }
TGT static int32x4_t vi_add(int32x4_t a, int32x4_t b) { return vaddq_s32(a, b); }
TGT static int32x4_t vi_twice(void) { return (int32x4_t){0, 2, 4, 6}; }
TGT static void vi_store_i64_cut(fnn_idx *p, int32x4_t v, int n)
{
    int64_t t[4];
    vst1q_s64(t, vmovl_s32(vget_low_s32(v)));
    vst1q_s64(t + 2, vmovl_high_s32(v));
    for (int j = 0; j < n; ++j) p[j] = (fnn_idx)t[j];
}
TGT static int64x2_t l_load_cut(const fnn_idx *p, int c, int half)
{
    const int n = half ? c - 2 : c;
    if (n >= 2) return vld1q_s64((const int64_t *)p);
    return n == 1 ? vsetq_lane_s64((int64_t)p[0], vdupq_n_s64(0), 0) : vdupq_n_s64(0);
}
TGT static int64x2_t l_set1(long long x) { return vdupq_n_s64(x); }
TGT static int64x2_t l_add(int64x2_t a, int64x2_t b) { return vaddq_s64(a, b); }
TGT static int64x2_t l_sub(int64x2_t a, int64x2_t b) { return vsubq_s64(a, b); }
TGT static int64x2_t l_twice(void) { return (int64x2_t){0, 2}; }
TGT static uint32x4_t m_eq2(int64x2_t lo, int64x2_t hi, long long x)
{
    const int64x2_t v = vdupq_n_s64(x);
    return vcombine_u32(vmovn_u64(vceqq_s64(lo, v)), vmovn_u64(vceqq_s64(hi, v)));
}

#undef TGT
#define TGT /* the baseline instruction set */
#include "arch/maxpool2x2_f32_body.h"

#endif
