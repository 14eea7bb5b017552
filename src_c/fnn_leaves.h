/* fnn_leaves.h -- the compiler-vectorized leaves, built once per instruction-set level.
 *
 * The innermost loops of the plain-C kernels -- `#pragma omp simd` loops that the
 * compiler vectorizes, called "leaves" -- live in <kernel>_leaves.h. A kernel file
 * compiles them once per level this build targets, each under its level's target
 * options (arch/targets.h), by defining FNN_LEAVES as the file's name and including
 * fnn_each_level.h. Inside a leaves file FNN_L(name) is the name at the level being
 * compiled; a driver calls FNN_LEAF(name)(...), the build of the level in force
 * (cpu.h). So a level forced with FASTNN_ISA or fastnn.set_config(isa=...) reaches these
 * loops as it reaches the hand-written variants, and the tests run every build.
 *
 * Levels: avx512, avx2 (with FMA) and generic (the x86-64 baseline) where the compiler
 * takes target options (GCC, Clang on x86-64); elsewhere one build, the baseline (on
 * AArch64 that includes Advanced SIMD).
 */
#ifndef FNN_LEAVES_H
#define FNN_LEAVES_H

#include "arch/targets.h"
#include "cpu.h"

#define FNN_CAT_(a, b) a##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)

/* The name at the level being compiled (inside a leaves file). */
#define FNN_L(name) FNN_CAT(FNN_SFX(name), FNN_LEVEL_SFX)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FNN_LEAF_LEVELS 1
#define FNN_LEAF_LEVEL_LIST "avx512,avx2,generic"
#define FNN_LEAF(name)                                                         \
    (__extension__({                                                           \
        const int fnn_lv_ = fnn_cpu_get()->level;                              \
        fnn_lv_ == FNN_ISA_AVX512 ? FNN_CAT(FNN_SFX(name), _avx512)            \
        : fnn_lv_ == FNN_ISA_AVX2 ? FNN_CAT(FNN_SFX(name), _avx2)              \
                                  : FNN_CAT(FNN_SFX(name), _generic);          \
    }))
#else
#define FNN_LEAF_LEVELS 0
#define FNN_LEAF_LEVEL_LIST "generic"
#define FNN_LEAF(name) FNN_CAT(FNN_SFX(name), _generic)
#endif

#endif /* FNN_LEAVES_H */
