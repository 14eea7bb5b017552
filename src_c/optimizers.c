/* optimizers.c -- fused optimizer updates; bodies in optimizers_impl.h. */
#include <float.h>
#include <math.h>

#include "optimizers.h"

/* Fixed-size blocks for the deterministic sum of squares: at most this many partial
 * sums, each over a contiguous block whose size depends only on n. */
#define FNN_MAX_BLOCKS 256
#define FNN_MIN_BLOCK 4096

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(FNN_NO_AVX512_ADAM)
#include <immintrin.h>

static int fnn_adam_avx512_ok(void)
{
    static int ok = -1;
    if (ok < 0) {
        __builtin_cpu_init();
        ok = __builtin_cpu_supports("avx512f");
    }
    return ok;
}

/* float32 Adam and AdamW (without amsgrad) on AVX-512. Once the training plan
 * forms the first layer's gradient block by block in L1, the loop of optimizers_impl.h
 * is bound by the divider (one vsqrtps and one vdivps per 16 weights). Here sqrt(v) and
 * the division come from the hardware estimates (vrsqrt14ps, vrcp14ps, 14 bits) refined
 * by one Newton step each, on the FMA units: the update step * m / (sqrt(v) ib + eps)
 * stays within 2.4e-7 (2 ulp) relative of its exact value (tests/test_optimizers.py).
 * Used by every native Adam call, so the fused plan and the per-layer path agree. */
__attribute__((target("avx512f"))) static void fnn_adam_avx512(
    fnn_idx n, float *p, const float *g, float *m, float *v, const fnn_adam_coefs_f32 *kc)
{
    const __m512 vb1 = _mm512_set1_ps(kc->beta1), vc1 = _mm512_set1_ps(kc->one_minus_beta1);
    const __m512 vb2 = _mm512_set1_ps(kc->beta2), vc2 = _mm512_set1_ps(kc->one_minus_beta2);
    const __m512 veps = _mm512_set1_ps(kc->eps), vstep = _mm512_set1_ps(kc->step_size);
    const __m512 vib = _mm512_set1_ps(kc->inv_sqrt_bc2), tiny = _mm512_set1_ps(FLT_MIN);
    const __m512 half = _mm512_set1_ps(0.5f), three_halves = _mm512_set1_ps(1.5f);
    const __m512 two = _mm512_set1_ps(2.0f);
    const __m512 vl2 = _mm512_set1_ps(kc->l2), vshrink = _mm512_set1_ps(kc->shrink);
    const int plain = kc->l2 == 0 && kc->shrink == 1;
    /* Subnormal numbers off for this loop (flush-to-zero, denormals-are-zero), restored
     * on exit. With weight decay, the weights of an input that is always zero (MNIST's
     * border pixels) shrink geometrically towards 0; on the way their squared gradients
     * pass through the subnormal range, where every operation takes a microcode assist
     * (about 100 cycles): Adam ran 3x slower. The results differ from exact IEEE
     * arithmetic only below FLT_MIN (1.2e-38), which the states already store as 0. */
    const unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u);
    for (fnn_idx i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        __m512 pi = _mm512_maskz_loadu_ps(k, p + i);
        __m512 gi = _mm512_maskz_loadu_ps(k, g + i);
        if (!plain) { /* AdamW shrinks the weight first; Adam adds l2 * weight to g */
            pi = _mm512_mul_ps(pi, vshrink);
            gi = _mm512_fmadd_ps(vl2, pi, gi);
        }
        __m512 mi = _mm512_fmadd_ps(vb1, _mm512_maskz_loadu_ps(k, m + i), _mm512_mul_ps(vc1, gi));
        __m512 vi = _mm512_fmadd_ps(vb2, _mm512_maskz_loadu_ps(k, v + i),
                                    _mm512_mul_ps(vc2, _mm512_mul_ps(gi, gi)));
        /* states below the smallest normal float are stored as 0 (FNN_FLUSH) */
        mi = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(mi), tiny, _CMP_GE_OQ), mi);
        __mmask16 pos = _mm512_cmp_ps_mask(vi, tiny, _CMP_GE_OQ);
        vi = _mm512_maskz_mov_ps(pos, vi);
        _mm512_mask_storeu_ps(m + i, k, mi);
        _mm512_mask_storeu_ps(v + i, k, vi);
        /* sqrt(v) = v / sqrt(v): y ~ 1/sqrt(v), Newton: y *= 1.5 - 0.5 v y^2 (v = 0: 0) */
        __m512 y = _mm512_maskz_rsqrt14_ps(pos, vi);
        __m512 hv = _mm512_mul_ps(half, vi);
        y = _mm512_mul_ps(y, _mm512_fnmadd_ps(_mm512_mul_ps(hv, y), y, three_halves));
        __m512 den = _mm512_fmadd_ps(_mm512_mul_ps(vi, y), vib, veps);
        /* 1 / den: r ~ 1/den, Newton: r *= 2 - den r */
        __m512 r = _mm512_rcp14_ps(den);
        r = _mm512_mul_ps(r, _mm512_fnmadd_ps(den, r, two));
        _mm512_mask_storeu_ps(p + i, k, _mm512_fnmadd_ps(_mm512_mul_ps(vstep, mi), r, pi));
    }
    _mm_setcsr(csr);
}
#define FNN_ADAM_FAST(n, p, g, m, v, kc) \
    (fnn_adam_avx512_ok() ? (fnn_adam_avx512(n, p, g, m, v, kc), 1) : 0)
#endif

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_SQRT sqrtf
#define FNN_TINY FLT_MIN
#include "optimizers_impl.h"
#undef FNN_ADAM_FAST
#undef REAL
#undef FNN_SFX
#undef FNN_SQRT
#undef FNN_TINY

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_SQRT sqrt
#define FNN_TINY DBL_MIN
#include "optimizers_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_SQRT
#undef FNN_TINY
