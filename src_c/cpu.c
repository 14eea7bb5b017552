/* cpu.c -- CPU detection and the FASTNN_ISA / FASTNN_GEMM overrides (see cpu.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif

static const char *const fnn_isa_names[FNN_ISA_COUNT] = {"generic", "neon", "avx2", "avx512"};

const char *fnn_isa_name(int isa)
{
    return isa >= 0 && isa < FNN_ISA_COUNT ? fnn_isa_names[isa] : "unknown";
}

int fnn_isa_from_name(const char *name)
{
    for (int i = 0; i < FNN_ISA_COUNT; ++i)
        if (name && !strcmp(name, fnn_isa_names[i])) return i;
    return -1;
}

static int fnn_detect(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* the builtins also check that the OS saves the vector registers (XGETBV) */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return FNN_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FNN_ISA_AVX2;
    return FNN_ISA_GENERIC;
#elif defined(__aarch64__)
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMD) ? FNN_ISA_NEON : FNN_ISA_GENERIC;
#else
    return FNN_ISA_NEON; /* Advanced SIMD is part of every AArch64 CPU (Apple, Windows) */
#endif
#else
    return FNN_ISA_GENERIC;
#endif
}

/* 1 if `isa` lies at or below `top` on top's side of the tree (x86-64: generic < avx2 <
 * avx512; aarch64: generic < neon). */
static int fnn_within(int top, int isa)
{
    if (isa == FNN_ISA_GENERIC) return 1;
    if (top == FNN_ISA_NEON || isa == FNN_ISA_NEON) return top == isa;
    return isa <= top;
}

/* A level this CPU runs: within the detected one. */
static int fnn_runnable(const fnn_cpu *c, int level) { return fnn_within(c->detected, level); }

/* The level the environment asks for (FASTNN_ISA), with the note saying why. */
static void fnn_apply_env(fnn_cpu *c)
{
    const char *want = getenv("FASTNN_ISA");
    c->level = c->detected;
    c->note[0] = '\0';
    if (want && *want && strcmp(want, "auto") != 0) {
        int level = fnn_isa_from_name(want);
        if (level < 0)
            snprintf(c->note, sizeof c->note,
                     "FASTNN_ISA=%.40s is not one of avx512, avx2, neon, generic, auto: ignored",
                     want);
        else if (!fnn_runnable(c, level))
            snprintf(c->note, sizeof c->note, "FASTNN_ISA=%s: this CPU runs %s at most: ignored",
                     want, fnn_isa_name(c->detected));
        else {
            c->level = level;
            snprintf(c->note, sizeof c->note, "forced by FASTNN_ISA=%s", want);
        }
    }
}

static fnn_cpu fnn_cpu_own;
static int fnn_cpu_ready = 0;
static fnn_cpu *fnn_cpu_cur = NULL;

static int fnn_env_gemm_blas(void)
{
    const char *gemm = getenv("FASTNN_GEMM");
    return gemm && !strcmp(gemm, "blas");
}

fnn_cpu *fnn_cpu_state(void)
{
    if (!fnn_cpu_ready) {
        fnn_cpu_own.detected = fnn_detect();
        fnn_cpu_own.gemm_blas = fnn_env_gemm_blas();
        fnn_apply_env(&fnn_cpu_own);
        fnn_cpu_ready = 1;
    }
    return fnn_cpu_cur ? fnn_cpu_cur : &fnn_cpu_own;
}

void fnn_cpu_bind(fnn_cpu *shared)
{
    fnn_cpu_cur = shared;
    shared->bound += 1;
}

const fnn_cpu *fnn_cpu_get(void) { return fnn_cpu_state(); }

int fnn_isa_runs(int isa) { return fnn_within(fnn_cpu_get()->level, isa); }

const void *fnn_pick(const void *const *table, int count, int products)
{
    for (int i = 0; i < count; ++i) {
        const fnn_variant_head *v = (const fnn_variant_head *)table[i];
        if (products ? fnn_own_kernels_run(v->isa) : fnn_isa_runs(v->isa)) return v;
    }
    return NULL;
}

const void *fnn_by_name(const void *const *table, int count, const char *name)
{
    for (int i = 0; i < count; ++i) {
        const fnn_variant_head *v = (const fnn_variant_head *)table[i];
        if (!strcmp(v->name, name) && fnn_isa_runnable(v->isa)) return v;
    }
    return NULL;
}

void fnn_cpu_force_gemm_blas(int on)
{
    fnn_cpu_state()->gemm_blas = on < 0 ? fnn_env_gemm_blas() : on != 0;
}

int fnn_isa_runnable(int level)
{
    return level >= 0 && level < FNN_ISA_COUNT && fnn_runnable(fnn_cpu_get(), level);
}

int fnn_own_kernels_run(int isa) { return fnn_isa_runs(isa) && !fnn_cpu_get()->gemm_blas; }

int fnn_cpu_force(int level)
{
    fnn_cpu *c = fnn_cpu_state();
    if (level < 0) {
        fnn_apply_env(c);
        return 0;
    }
    if (level >= FNN_ISA_COUNT || !fnn_runnable(c, level)) return -1;
    c->level = level;
    if (level == c->detected)
        c->note[0] = '\0';
    else
        snprintf(c->note, sizeof c->note, "forced to %s (fastnn.set_config(isa=...))",
                 fnn_isa_name(level));
    return 0;
}
