/* cpu.h -- the one description of the CPU the kernels run on.
 *
 * Detected once (cpuid through the compiler's builtins on x86-64, getauxval on aarch64),
 * then lowered by the overrides, read in this one place:
 *   FASTNN_ISA=avx512|avx2|neon|generic   run no variant above this level (a level the CPU
 *                                         lacks is refused, and the note says why)
 *   FASTNN_GEMM=blas                      every product to BLAS (fastnn's own small-product
 *                                         kernels off, whatever the level)
 * Every dispatch table (gemm_variants.h, ...) asks fnn_isa_runs() before it picks a
 * variant; no kernel tests the CPU itself.
 *
 * Each extension module links its own copy of this file, so fastnn._runtime owns the
 * state and every other module binds to it at import (fnn_cpu_bind): a level forced at
 * run time (fastnn.set_config(isa=...)) then reaches all of them at once.
 */
#ifndef FNN_CPU_H
#define FNN_CPU_H

/* Instruction-set levels. x86-64 runs generic < avx2 < avx512; aarch64 generic < neon. */
enum fnn_isa { FNN_ISA_GENERIC = 0, FNN_ISA_NEON = 1, FNN_ISA_AVX2 = 2, FNN_ISA_AVX512 = 3 };
#define FNN_ISA_COUNT 4

typedef struct {
    int detected;    /* the best level this CPU (and OS) runs */
    int level;       /* the level in force: detected, or lower when forced */
    int gemm_blas;   /* FASTNN_GEMM=blas: no fastnn small-product kernel */
    char note[200];  /* why `level` is what it is ("" when it is simply what was detected) */
    int bound;       /* how many modules share this state (fnn_cpu_bind) */
} fnn_cpu;

const fnn_cpu *fnn_cpu_get(void);

/* 1 if a variant that needs `isa` may run: the level in force includes it. */
int fnn_isa_runs(int isa);

/* 1 if this CPU can run `level` (the levels it may be forced to). */
int fnn_isa_runnable(int level);

/* 1 if fastnn's own hand-written kernels that need `isa` may run: fnn_isa_runs(isa), and
 * FASTNN_GEMM is not "blas" (which hands their work back to BLAS and to the
 * compiler-vectorized loops). Every dispatch table asks this. */
int fnn_own_kernels_run(int isa);

/* Every dispatch table is an array of variant structs, best first, each beginning with
 * these two fields. fnn_pick returns the first entry that may run now: its ISA runs
 * (fnn_isa_runs), and with products = 1 also FASTNN_GEMM allows fastnn's own kernels
 * (fnn_own_kernels_run); NULL if none does. */
typedef struct {
    const char *name; /* "avx512", "avx2", ... */
    int isa;          /* enum fnn_isa it needs */
} fnn_variant_head;
const void *fnn_pick(const void *const *table, int count, int products);
/* The entry of a table named `name` if this CPU can run it (whatever the level in force;
 * the tests use it to run every variant), else NULL. */
const void *fnn_by_name(const void *const *table, int count, const char *name);

/* Run no variant above `level` (-1: back to what the environment asked for). Returns 0,
 * or -1 (nothing changed) if this CPU cannot run `level`. Process-wide. */
int fnn_cpu_force(int level);

/* FASTNN_GEMM at run time: 1 "blas", 0 fastnn's kernels allowed, -1 what the environment
 * asked for. Process-wide. */
void fnn_cpu_force_gemm_blas(int on);

/* "avx512", "avx2", "neon", "generic"; -1 for an unknown name. */
const char *fnn_isa_name(int isa);
int fnn_isa_from_name(const char *name);

/* The state this module's kernels read, and the way to share one state between modules
 * (fastnn._runtime passes its own to every module that links kernels). */
fnn_cpu *fnn_cpu_state(void);
void fnn_cpu_bind(fnn_cpu *shared);

#endif /* FNN_CPU_H */
