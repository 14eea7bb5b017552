/* arch/targets.h -- the compiler target options of each x86-64 instruction-set level,
 * stated once: the hand-written variants (arch/<isa>/, `TGT`) and the compiler-vectorized
 * leaves (fnn_each_level.h) are compiled with these, and cpu.c runs a level only on a CPU
 * that has every feature listed here (AVX-512 F/VL/DQ/BW; AVX2 with FMA, so that
 * a * b + c contracts as it does in the AVX-512 code). AArch64 needs none: Advanced SIMD
 * is its baseline. */
#ifndef FNN_ARCH_TARGETS_H
#define FNN_ARCH_TARGETS_H

#define FNN_TARGET_AVX512 "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"
#define FNN_TARGET_AVX2 "avx2,fma"

/* The options as a function attribute, and as a region of functions (push/pop). */
#define FNN_TARGET(t) __attribute__((target(t)))
#define FNN_PRAGMA_(x) _Pragma(#x)
#define FNN_PRAGMA(x) FNN_PRAGMA_(x)
#if defined(__clang__)
#define FNN_TARGET_PUSH(t) FNN_PRAGMA(clang attribute push(__attribute__((target(t))), apply_to = function))
#define FNN_TARGET_POP FNN_PRAGMA(clang attribute pop)
#else
#define FNN_TARGET_PUSH(t) FNN_PRAGMA(GCC push_options) FNN_PRAGMA(GCC target(t))
#define FNN_TARGET_POP FNN_PRAGMA(GCC pop_options)
#endif

#endif /* FNN_ARCH_TARGETS_H */
