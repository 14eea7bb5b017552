/* optimizers.c -- fused optimizer updates; bodies in optimizers_impl.h. */
#include <float.h>
#include <math.h>

#include "cpu.h"
#include "optimizers.h"

/* Fixed-size blocks for the deterministic sum of squares: at most this many partial
 * sums, each over a contiguous block whose size depends only on n. */
#define FNN_MAX_BLOCKS 256
#define FNN_MIN_BLOCK 4096

/* The adam family's table (optimizers.h). Adding an instruction set: one file under
 * src_c/arch/<isa>/ and one entry here. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_adam_f32_variant fnn_adam_f32_avx512, fnn_adam_f32_avx2;
static const fnn_adam_f32_variant *const fnn_adam_table[] = {&fnn_adam_f32_avx512,
                                                             &fnn_adam_f32_avx2};
#define FNN_ADAM_COUNT 2
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_adam_f32_variant fnn_adam_f32_neon;
static const fnn_adam_f32_variant *const fnn_adam_table[] = {&fnn_adam_f32_neon};
#define FNN_ADAM_COUNT 1
#else
static const fnn_adam_f32_variant *const fnn_adam_table[] = {NULL};
#define FNN_ADAM_COUNT 0
#endif

const fnn_adam_f32_variant *const *fnn_adam_f32_variants(int *count)
{
    *count = FNN_ADAM_COUNT;
    return fnn_adam_table;
}

const fnn_adam_f32_variant *fnn_adam_f32_pick(void)
{
    return fnn_pick((const void *const *)fnn_adam_table, FNN_ADAM_COUNT, 0);
}

/* the variant for this call, or 0: the loop of optimizers_impl.h */
static inline int fnn_adam_fast(fnn_idx n, float *p, const float *g, float *m, float *v,
                                const fnn_adam_coefs_f32 *k)
{
    const fnn_adam_f32_variant *a = fnn_adam_f32_pick();
    if (!a) return 0;
    a->apply(n, p, g, m, v, k);
    return 1;
}
#define FNN_ADAM_FAST fnn_adam_fast

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "optimizers_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_SQRT sqrtf
#define FNN_TINY FLT_MIN
#include "fnn_each_level.h"
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
#include "fnn_each_level.h"
#include "optimizers_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_SQRT
#undef FNN_TINY
