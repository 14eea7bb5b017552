"""Generate fastnn's register-blocked small-product kernels, one file per instruction set:

    python src_c/tools/gen_gemm.py           # rewrites src_c/arch/<isa>/gemm_{f32,f64}.c
    python src_c/tools/gen_gemm.py --check   # exit 1 if a committed file differs (CI)

One template, parametrised by the vector width (lanes), the register count and the
intrinsics of each instruction set (ISAS below): AVX-512 holds a block of C in up to 24
of its 32 zmm registers, AVX2 + FMA in 12 of its 16 ymm registers. Each generated file
defines one variant of the gemm family (gemm_variants.h), named fnn_sgemm_<isa> (float32)
or fnn_dgemm_<isa> (float64).

The kernels are written out per block shape (one function per rows x vectors) with one
named variable per accumulator: gcc 12 spills an `__m512 acc[][]` array to the stack on
every iteration, which cost about 20 %. Edit this generator, not the generated files.
"""
import os
import re
import sys

# Per instruction set: lanes per vector, the block shapes instantiated (largest MR per
# NV, the vectors of C per row) for the product kernel and the G-panel kernel, and the
# spelling of each vector operation.
ISAS = {
    "avx512": dict(
        isa_enum="FNN_ISA_AVX512", guard="defined(__x86_64__)",
        target="FNN_TARGET_AVX512", header="immintrin.h",
        V=16, NREG=32, MRLIM={1: 16, 2: 12, 3: 8, 4: 6}, GLIM={1: 24, 2: 12, 3: 8, 4: 6},
        vec="__m512", mask_t="__mmask16",
        zero="_mm512_setzero_ps()", set1="_mm512_set1_ps({0})",
        load="_mm512_loadu_ps({0})", mload="_mm512_maskz_loadu_ps({m}, {0})",
        store="_mm512_storeu_ps({0}, {1})", mstore="_mm512_mask_storeu_ps({0}, {m}, {1})",
        fmadd="_mm512_fmadd_ps({0}, {1}, {2})", mul="_mm512_mul_ps({0}, {1})",
        add="_mm512_add_ps({0}, {1})",
        mask_of="(__mmask16)((1u << ({0})) - 1u)", prologue="", helpers="",
    ),
    "avx2": dict(
        isa_enum="FNN_ISA_AVX2", guard="defined(__x86_64__)",
        target="FNN_TARGET_AVX2", header="immintrin.h",
        # a panel of 2 vectors for products of several rows (wider panels measured 10-25 %
        # slower on the MNIST training shapes), of 4 for a single row (inference)
        V=8, NREG=16, MRLIM={1: 12, 2: 6, 3: 3, 4: 2}, GLIM={1: 10, 2: 4, 3: 2, 4: 1},
        NVROWS=2,
        vec="__m256", mask_t="__m256i",
        zero="_mm256_setzero_ps()", set1="_mm256_set1_ps({0})",
        load="_mm256_loadu_ps({0})", mload="_mm256_maskload_ps({0}, {m})",
        # vmaskmovps stores cost about 13 cycles on AMD Zen (loads about 1): the last
        # vector of a row is stored whole, or as 4 + 2 + 1 lanes (store_last)
        store="_mm256_storeu_ps({0}, {1})", mstore="store_last({0}, {1}, lastn)",
        fmadd="_mm256_fmadd_ps({0}, {1}, {2})", mul="_mm256_mul_ps({0}, {1})",
        add="_mm256_add_ps({0}, {1})",
        # lanes [0, rem): lane i is on when rem > i
        mask_of="_mm256_cmpgt_epi32(_mm256_set1_epi32({0}), "
                "_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))",
        prologue="    const int lastn = __builtin_popcount((unsigned)_mm256_movemask_ps("
                 "_mm256_castsi256_ps(lastmask)));",
        helpers='''
/* The first n (1..8) lanes of v to p. */
static TGT AI void store_last(float *p, __m256 v, int n)
{
    if (n == 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 h = _mm256_castps256_ps128(v);
    if (n & 4) {
        _mm_storeu_ps(p, h);
        h = _mm256_extractf128_ps(v, 1);
        p += 4;
    }
    if (n & 2) {
        _mm_storel_pi((__m64 *)p, h);
        h = _mm_movehl_ps(h, h);
        p += 2;
    }
    if (n & 1) _mm_store_ss(p, h);
}
''',
    ),
    "neon": dict(
        isa_enum="FNN_ISA_NEON", guard="defined(__aarch64__)",
        # Advanced SIMD is part of every AArch64 CPU: no target attribute needed
        target=None, header="arm_neon.h",
        V=4, NREG=32, MRLIM={1: 16, 2: 12, 3: 8, 4: 6}, GLIM={1: 24, 2: 12, 3: 8, 4: 6},
        # NEON has no masked loads or stores: the "mask" is the number of lanes in use
        vec="float32x4_t", mask_t="int",
        zero="vdupq_n_f32(0.0f)", set1="vdupq_n_f32({0})",
        load="vld1q_f32({0})", mload="load_first({0}, {m})",
        store="vst1q_f32({0}, {1})", mstore="store_first({0}, {1}, {m})",
        fmadd="vfmaq_f32({2}, {0}, {1})", mul="vmulq_f32({0}, {1})",
        add="vaddq_f32({0}, {1})",
        mask_of="({0})", prologue="",
        helpers='''
/* The first n (1..4) floats at p in the low lanes, zeros above; no read past p + n. */
static AI float32x4_t load_first(const float *p, int n)
{
    if (n >= 4) return vld1q_f32(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = 0; j < n; j++) t[j] = p[j];
    return vld1q_f32(t);
}

/* The first n (1..4) lanes of v to p. */
static AI void store_first(float *p, float32x4_t v, int n)
{
    if (n >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float32x2_t lo = vget_low_f32(v);
    if (n & 2) {
        vst1_f32(p, lo);
        if (n & 1) vst1q_lane_f32(p + 2, v, 2);
    } else {
        vst1_lane_f32(p, lo, 0);
    }
}
''',
    ),
}

# float64: the same kernels on the same registers (half the lanes), spelled for doubles
# (the generated text is rewritten float -> double).
F64 = {
    "avx512": dict(
        V=8, vec="__m512d", mask_t="__mmask8",
        zero="_mm512_setzero_pd()", set1="_mm512_set1_pd({0})",
        load="_mm512_loadu_pd({0})", mload="_mm512_maskz_loadu_pd({m}, {0})",
        store="_mm512_storeu_pd({0}, {1})", mstore="_mm512_mask_storeu_pd({0}, {m}, {1})",
        fmadd="_mm512_fmadd_pd({0}, {1}, {2})", mul="_mm512_mul_pd({0}, {1})",
        add="_mm512_add_pd({0}, {1})",
        mask_of="(__mmask8)((1u << ({0})) - 1u)", prologue="", helpers="",
    ),
    "avx2": dict(
        V=4, vec="__m256d", mask_t="__m256i",
        zero="_mm256_setzero_pd()", set1="_mm256_set1_pd({0})",
        load="_mm256_loadu_pd({0})", mload="_mm256_maskload_pd({0}, {m})",
        store="_mm256_storeu_pd({0}, {1})", mstore="store_last({0}, {1}, lastn)",
        fmadd="_mm256_fmadd_pd({0}, {1}, {2})", mul="_mm256_mul_pd({0}, {1})",
        add="_mm256_add_pd({0}, {1})",
        mask_of="_mm256_cmpgt_epi64(_mm256_set1_epi64x({0}), _mm256_setr_epi64x(0, 1, 2, 3))",
        prologue="    const int lastn = __builtin_popcount((unsigned)_mm256_movemask_pd("
                 "_mm256_castsi256_pd(lastmask)));",
        helpers='''
/* The first n (1..4) lanes of v to p (whole-vector stores: see the float32 file). */
static TGT AI void store_last(double *p, __m256d v, int n)
{
    if (n == 4) {
        _mm256_storeu_pd(p, v);
        return;
    }
    __m128d h = _mm256_castpd256_pd128(v);
    if (n & 2) {
        _mm_storeu_pd(p, h);
        h = _mm256_extractf128_pd(v, 1);
        p += 2;
    }
    if (n & 1) _mm_store_sd(p, h);
}
''',
    ),
    "neon": dict(
        V=2, vec="float64x2_t", mask_t="int",
        zero="vdupq_n_f64(0.0)", set1="vdupq_n_f64({0})",
        load="vld1q_f64({0})", mload="load_first({0}, {m})",
        store="vst1q_f64({0}, {1})", mstore="store_first({0}, {1}, {m})",
        fmadd="vfmaq_f64({2}, {0}, {1})", mul="vmulq_f64({0}, {1})",
        add="vaddq_f64({0}, {1})",
        mask_of="({0})", prologue="",
        helpers='''
/* The first n (1..2) doubles at p in the low lanes, zeros above; no read past p + n. */
static AI float64x2_t load_first(const double *p, int n)
{
    return n >= 2 ? vld1q_f64(p) : vsetq_lane_f64(p[0], vdupq_n_f64(0.0), 0);
}

/* The first n (1..2) lanes of v to p. */
static AI void store_first(double *p, float64x2_t v, int n)
{
    if (n >= 2)
        vst1q_f64(p, v);
    else
        vst1q_lane_f64(p, v, 0);
}
''',
    ),
}

# Columns per chunk of the active-column masks: the same for every variant, so the plan
# sizes `masks` once (FNN_GEMM_MASK_COLS in gemm_variants.h).
MASK_COLS = 16


def generate(name, dtype="f32"):
    s = dict(ISAS[name], **(F64[name] if dtype == "f64" else {}))
    idxs = [0, 1]  # the dense products, and those of the active columns (IDX = 1)
    real = "float32" if dtype == "f32" else "float64"
    V = s["V"]
    NVMAX = max(s["MRLIM"])
    R = max(s["MRLIM"].values())            # most rows of any block
    GM = max(s["GLIM"].values())            # most rows of G held in registers
    NVROWS = s.get("NVROWS", NVMAX)         # vectors per panel of a product of 2+ rows
    PANEL = V * NVROWS                      # columns of C per panel (2+ rows)
    WIDE = V * NVMAX                        # columns of C per panel (one row)
    vec, mask_t = s["vec"], s["mask_t"]
    zero = s["zero"]
    set1 = lambda x: s["set1"].format(x)                     # noqa: E731
    load = lambda p: s["load"].format(p)                     # noqa: E731
    mload = lambda p, m="lastmask": s["mload"].format(p, m=m)  # noqa: E731
    store = lambda p, v: s["store"].format(p, v)             # noqa: E731
    mstore = lambda p, v, m="lastmask": s["mstore"].format(p, v, m=m)  # noqa: E731
    fmadd = lambda a, b, c: s["fmadd"].format(a, b, c)       # noqa: E731
    mul = lambda a, b: s["mul"].format(a, b)                 # noqa: E731
    add = lambda a, b: s["add"].format(a, b)                 # noqa: E731
    mask_of = lambda r: s["mask_of"].format(r)               # noqa: E731
    sym = f"fnn_{'s' if dtype == 'f32' else 'd'}gemm_{name}"
    tgt = (f'#include "arch/targets.h"\n#define TGT FNN_TARGET({s["target"]})' if s["target"]
           else "#define TGT /* the baseline instruction set */")
    out = []
    w = out.append
    w(f'''/*
 * Register-blocked {name} {real} GEMM for small row-major products (fastnn).
 * GENERATED by src_c/tools/gen_gemm.py: edit that, not this file.
 * The gemm family's "{name}" variant (gemm_variants.h); proven against a float64 product
 * in tests/test_matmul.py, which runs every variant this CPU can execute.
 *
 *   nn(m,k,n, A,B,C):  C(m x n)  = A(m x k) . B(k x n)      (forward)
 *   tn(m,k,n, A,G,C):  C(k x n)  = A(m x k)^T . G(m x n)    (weight grad)
 *
 * All matrices row-major and contiguous; alpha = 1; nn can accumulate into C
 * (beta = 1), tn overwrites it (beta = 0).
 *
 * Both use one micro-kernel template kern(TRANS, MR, NV):
 *   left operand L(r,p) = TRANS ? a[p*lda + r] : a[r*lda + p]
 *   right operand row p = b[p*ldb .. p*ldb + width)
 * It keeps an MR x ({V}*NV) block of C in MR*NV vector accumulators ({s["NREG"]} registers).
 * For each inner index p: load NV vectors of the right-operand row (last vector masked
 * for the column tail), broadcast MR left-operand scalars, MR*NV FMAs. Accumulators leave
 * registers only at the final (masked) store. No packing, no copies.
 *
 * Blocking (driver):
 *   columns: n is split into panels of up to {PANEL} columns ({NVROWS} vectors; {WIDE} for a
 *            single row of C); the last panel uses ceil(rem/{V}) vectors with a masked
 *            last vector.
 *   rows:    at most MR_MAX[trans][NV] rows per block; rows are split into
 *            equal-ish blocks.
 */
#include "gemm_variants.h"

#if {s["guard"]} && (defined(__GNUC__) || defined(__clang__))
#include <{s["header"]}>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

{tgt}
#define AI  __attribute__((always_inline)) inline

static const int MR_MAX[2][{NVMAX + 1}] = {{{{0, {", ".join(str(s["MRLIM"][v]) for v in range(1, NVMAX + 1))}}},
                                      {{0, {", ".join(str(s["MRLIM"][v]) for v in range(1, NVMAX + 1))}}}}};
/* inner-dimension block (L1 blocking of the right operand); forward only */
#ifndef KC
#define KC 100000
#endif
#ifndef PUNROLL
#define PUNROLL _Pragma("GCC unroll 4")
#endif
{s["helpers"]}''')
    w('''/*
 * IDX = 1 (the "active columns" products of a sparse input batch, see
 * pack_active in gemm_variants.h): TRANS = 0 reads right-operand row p from
 * b + idx[p] * ldb; TRANS = 1 writes C row r to c + idx[r] * ldc.
 * The store is C = alpha * acc, or C = alpha * acc + C with accum (alpha = 1
 * outside the IDX products, where the fmadd rounds exactly like an add).
 */''')
    w('static TGT AI void kern(const int TRANS, const int MR, const int NV, const int IDX,\n'
      '                        int kk, const float *restrict a, ptrdiff_t lda,\n'
      '                        const float *restrict b, ptrdiff_t ldb,\n'
      f'                        float *restrict c, ptrdiff_t ldc, {mask_t} lastmask, int accum,\n'
      '                        const int *restrict idx, float alpha)\n{')
    if s["prologue"]:
        w(s["prologue"])
    w('    /* explicit scalar accumulators: an array of vectors gets spilled by gcc 12 */')
    for r in range(R):
        w(f'    {vec} ' + ', '.join(f'c{r}_{v} = {zero}' for v in range(NVMAX)) + ';')
    def step(ind, p, rows, accs):
        # inner index p: the right operand's row p, times MR broadcasts (rows: which)
        w(f'{ind}{{')
        w(f'{ind}    const float *bp = b + (ptrdiff_t)((IDX && !TRANS) ? idx[{p}] : {p}) * ldb;')
        w(f'{ind}    const float *ap = TRANS ? a + (ptrdiff_t)({p}) * lda : a + ({p});')
        w(f'{ind}    const ptrdiff_t rs = TRANS ? 1 : lda;')
        w(f'{ind}    {vec} ' + ', '.join(f'b{v}' for v in range(NVMAX)) + ', av;')
        for v in range(NVMAX):
            w(f'{ind}    if (NV - 1 == {v}) b{v} = {mload(f"bp + {V*v}")};')
            w(f'{ind}    else if (NV > {v}) b{v} = {load(f"bp + {V*v}")};')
            w(f'{ind}    else b{v} = {zero};')
        for r in rows:
            w(f'{ind}    if (MR > {r}) {{')
            w(f'{ind}        av = {set1(f"ap[{r} * rs]")};')
            for v in range(NVMAX):
                w(f'{ind}        if (NV > {v}) {accs(r)}_{v} = {fmadd("av", f"b{v}", f"{accs(r)}_{v}")};')
            w(f'{ind}    }}')
        w(f'{ind}}}')

    # One row (single-sample inference: a 1 x k product): the even and the odd inner
    # indices in two sets of accumulators (c0, c1), added at the end, so NV FMA chains
    # become 2 * NV -- with one or two vectors, one chain is latency-bound.
    w('    if (MR == 1) {')
    w('        int p = 0;')
    w('        for (; p + 2 <= kk; p += 2) {')
    step('            ', 'p', [0], lambda r: 'c0')
    step('            ', 'p + 1', [0], lambda r: 'c1')
    w('        }')
    w('        if (p < kk)')
    step('            ', 'p', [0], lambda r: 'c0')
    for v in range(NVMAX):
        w(f'        if (NV > {v}) c0_{v} = {add(f"c0_{v}", f"c1_{v}")};')
    w('    } else {')
    w('        PUNROLL\n        for (int p = 0; p < kk; p++)')
    step('            ', 'p', range(R), lambda r: f'c{r}')
    w('    }')
    w(f'    const {vec} va = {set1("alpha")};')
    for r in range(R):
        w(f'    if (MR > {r}) {{')
        w(f'        float *cr = c + (ptrdiff_t)((IDX && TRANS) ? idx[{r}] : {r}) * ldc;')
        for v in range(NVMAX):
            acc = f'c{r}_{v}'
            w(f'        if (NV - 1 == {v}) {{ {acc} = accum ? {fmadd("va", acc, mload(f"cr + {V*v}"))} : {mul("va", acc)}; {mstore(f"cr + {V*v}", acc)}; }}')
            w(f'        else if (NV > {v}) {{ {acc} = accum ? {fmadd("va", acc, load(f"cr + {V*v}"))} : {mul("va", acc)}; {store(f"cr + {V*v}", acc)}; }}')
        w('    }')
    w('}\n')
    w('typedef void (*kfn)(int, const float *, ptrdiff_t, const float *, ptrdiff_t,\n'
      f'                    float *, ptrdiff_t, {mask_t}, int, const int *, float);\n')
    w('#define DEFK(I, T, MR, NV)                                                     \\\n'
      '    static TGT __attribute__((noinline)) void kern_##I##T##_##MR##_##NV(       \\\n'
      '        int kk, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,  \\\n'
      f'        float *c, ptrdiff_t ldc, {mask_t} m, int acc, const int *ix, float al) \\\n'
      '    { kern(T, MR, NV, I, kk, a, lda, b, ldb, c, ldc, m, acc, ix, al); }\n')
    for i in idxs:
        for t in range(2):
            for nv in range(1, NVMAX + 1):
                w(' '.join(f'DEFK({i},{t},{mr},{nv})' for mr in range(1, s["MRLIM"][nv] + 1)))
    w(f'\nstatic const kfn TABLE[{len(idxs)}][2][{NVMAX + 1}][{R + 1}] = {{')
    for i in idxs:
        w(' {')
        for t in range(2):
            w('  {{0},')
            for nv in range(1, NVMAX + 1):
                w('   {0, ' + ', '.join(f'kern_{i}{t}_{mr}_{nv}' if mr <= s["MRLIM"][nv] else '0'
                                        for mr in range(1, R + 1)) + '},')
            w('  },')
        w(' },')
    w('};\n')

    # ---- weight-gradient kernel with G panel held in registers (small m) ----
    w(f"""/*
 * Weight-gradient special case, small m: C(k x n) = A^T G with the whole
 * m x ({V}*NV) panel of G held in m*NV registers (m is a compile-time
 * constant, so the sum over i < m is fully unrolled).  Each output row r
 * costs m broadcasts of A[i*k + r] and m*NV FMAs into NV accumulators, split
 * into two partial sums (even/odd i) to halve the FMA dependency chain.
 */""")
    w('static TGT AI void gkern(const int M, const int NV, const int IDX, int nrows, const float *restrict a,\n'
      '                         ptrdiff_t lda, const float *restrict g, ptrdiff_t ldg, float *restrict c,\n'
      f'                         ptrdiff_t ldc, {mask_t} lastmask, const int *restrict idx, float alpha,\n'
      '                         int accum)\n{')
    if s["prologue"]:
        w(s["prologue"])
    w(f'    const {vec} va = {set1("alpha")};')
    for i in range(GM):
        w(f'    {vec} ' + ', '.join(f'g{i}_{v}' for v in range(NVMAX)) + ';')
    for i in range(GM):
        for v in range(NVMAX):
            w(f'    if (M > {i} && NV - 1 == {v}) g{i}_{v} = {mload(f"g + {i} * ldg + {V*v}")};')
            w(f'    else if (M > {i} && NV > {v}) g{i}_{v} = {load(f"g + {i} * ldg + {V*v}")};')
            w(f'    else g{i}_{v} = {zero};')
    w(f'''    /* With accum, C row r + 1 is loaded before row r is stored: loading right after a
     * masked store into the same cache line (C rows are rarely 64-byte multiples) waits
     * for the store to commit -- it took 40 % of the fused SGD step. Only where the
     * registers allow (M * NV + 3 * NV + 2 <= {s["NREG"]}). */
    const int PRE = M * NV + 3 * NV + 2 <= {s["NREG"]};
    {vec} n0 = {zero}''' + ''.join(f', n{v} = n0' for v in range(1, NVMAX)) + ';')
    for v in range(NVMAX):
        w(f'    if (PRE && accum && nrows > 0 && NV - 1 == {v}) n{v} = {mload(f"c + (ptrdiff_t)(IDX ? idx[0] : 0) * ldc + {V*v}")};')
        w(f'    else if (PRE && accum && nrows > 0 && NV > {v}) n{v} = {load(f"c + (ptrdiff_t)(IDX ? idx[0] : 0) * ldc + {V*v}")};')
    w('    for (int r = 0; r < nrows; r++) {')
    w('        const float *ar = a + r;')
    w('        float *cr = c + (ptrdiff_t)(IDX ? idx[r] : r) * ldc;')
    w(f'        {vec} ' + ', '.join(f'w{v} = n{v}' for v in range(NVMAX)) + ';')
    w('        if (PRE && accum && r + 1 < nrows) {')
    w('            const float *cn = c + (ptrdiff_t)(IDX ? idx[r + 1] : r + 1) * ldc;')
    for v in range(NVMAX):
        w(f'            if (NV - 1 == {v}) n{v} = {mload(f"cn + {V*v}")};')
        w(f'            else if (NV > {v}) n{v} = {load(f"cn + {V*v}")};')
    w('        }')
    w(f'        {vec} ' + ', '.join(f'e{v} = {zero}, o{v} = {zero}' for v in range(NVMAX)) + ', av;')
    for i in range(GM):
        w(f'        if (M > {i}) {{')
        w(f'            av = {set1(f"ar[{i} * lda]")};')
        acc = 'e' if i % 2 == 0 else 'o'
        for v in range(NVMAX):
            w(f'            if (NV > {v}) {acc}{v} = {fmadd("av", f"g{i}_{v}", f"{acc}{v}")};')
        w('        }')
    for v in range(NVMAX):
        ml, ld = mload(f"cr + {V*v}"), load(f"cr + {V*v}")
        sm, su = add(f"e{v}", f"o{v}"), mul("va", "s")
        fm, fu = fmadd("va", "s", f"PRE ? w{v} : {ml}"), fmadd("va", "s", f"PRE ? w{v} : {ld}")
        w(f'        if (NV - 1 == {v}) {{ {vec} s = {sm}; s = accum ? {fm} : {su}; {mstore(f"cr + {V*v}", "s")}; }}')
        w(f'        else if (NV > {v}) {{ {vec} s = {sm}; s = accum ? {fu} : {su}; {store(f"cr + {V*v}", "s")}; }}')
    w('    }')
    w('}\n')
    w('typedef void (*gfn)(int, const float *, ptrdiff_t, const float *, ptrdiff_t, float *, ptrdiff_t,\n'
      f'                    {mask_t}, const int *, float, int);')
    w('#define DEFG(I, M, NV) static TGT __attribute__((noinline)) void gkern_##I##_##M##_##NV(int nr, \\\n'
      f'    const float *a, ptrdiff_t lda, const float *g, ptrdiff_t ldg, float *c, ptrdiff_t ldc, {mask_t} mk, \\\n'
      '    const int *ix, float al, int acc) { gkern(M, NV, I, nr, a, lda, g, ldg, c, ldc, mk, ix, al, acc); }')
    for i in idxs:
        for nv in range(1, NVMAX + 1):
            w(' '.join(f'DEFG({i},{mm},{nv})' for mm in range(1, s["GLIM"][nv] + 1)))
    w(f'static const gfn GTABLE[{len(idxs)}][{NVMAX + 1}][{GM + 1}] = {{')
    for i in idxs:
        w(' {\n  {0},')
        for nv in range(1, NVMAX + 1):
            w('  {0, ' + ', '.join(f'gkern_{i}_{mm}_{nv}' if mm <= s["GLIM"][nv] else '0'
                                   for mm in range(1, GM + 1)) + '},')
        w(' },')
    w('};\n')
    w(f'''/* out(M x N) = alpha * L(M x K) . R(K x N) (+ out with accumulate). IDX: see kern. */
static TGT void driver(int IDX, int T, int M, int K, int N, const float *a, ptrdiff_t lda,
                       const float *b, float *c, int accumulate, const int *idx, float alpha)
{{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {{
        if (!accumulate)
            for (ptrdiff_t r = 0; r < M; r++) {{
                float *cr = c + (ptrdiff_t)((IDX && T) ? idx[r] : r) * N;
                for (ptrdiff_t j = 0; j < N; j++) cr[j] = 0.f;
            }}
        return;
    }}
    const int panel = M == 1 ? {WIDE} : {PANEL};
    for (int j0 = 0; j0 < N; j0 += panel) {{
        int w = N - j0 < panel ? N - j0 : panel;
        int NV = (w + {V - 1}) / {V};
        int rem = w - {V} * (NV - 1);
        {mask_t} mask = {mask_of("rem")};
        int mrmax = MR_MAX[T][NV];
        int nblk = (M + mrmax - 1) / mrmax;
        int base = M / nblk, extra = M % nblk;
        int kc = T ? K : KC;
        for (int p0 = 0; p0 < K; p0 += kc) {{
            int kb = K - p0 < kc ? K - p0 : kc;
            int r0 = 0;
            for (int bi = 0; bi < nblk; bi++) {{
                int mr = base + (bi < extra);
                const float *ab = T ? a + (ptrdiff_t)p0 * lda + r0 : a + (ptrdiff_t)r0 * lda + p0;
                const float *bb = (IDX && !T) ? b + j0 : b + (ptrdiff_t)p0 * N + j0;
                float *cb = (IDX && T) ? c + j0 : c + (ptrdiff_t)r0 * N + j0;
                const int *ix = IDX ? (T ? idx + r0 : idx + p0) : 0;
                TABLE[IDX][T][NV][mr](kb, ab, lda, bb, N, cb, N, mask, p0 > 0 || accumulate,
                                      ix, alpha);
                r0 += mr;
            }}
        }}
    }}
}}

/* C(k x n) = alpha * A^T G (+ C), m small enough for the G panel to stay in registers.
 * Output row r goes to C row idx[r] when IDX. Returns 0 if the shape does not fit. */
static TGT int gpanel(int IDX, int m, int k, int n, const float *A, ptrdiff_t lda,
                      const float *G, float *C, const int *idx, float alpha, int accumulate)
{{
    if (m < 1 || m > {GM} || k < 1 || n < 1) return 0;
    for (int j0 = 0; j0 < n; j0 += {PANEL}) {{
        int w = n - j0 < {PANEL} ? n - j0 : {PANEL}, NV = (w + {V - 1}) / {V};
        if (!GTABLE[IDX][NV][m]) return 0;
    }}
    for (int j0 = 0; j0 < n; j0 += {PANEL}) {{
        int w = n - j0 < {PANEL} ? n - j0 : {PANEL}, NV = (w + {V - 1}) / {V};
        int rem = w - {V} * (NV - 1);
        GTABLE[IDX][NV][m](k, A, lda, G + j0, n, C + j0, n, {mask_of("rem")},
                           idx, alpha, accumulate);
    }}
    return 1;
}}

static TGT void nn(int m, int k, int n, const float *A, const float *B, float *C, int accumulate)
{{
    driver(0, 0, m, k, n, A, k, B, C, accumulate, 0, 1.0f);
}}

static TGT void tn_ld(int m, int k, int n, const float *A, int lda, const float *G, float *C)
{{
    /* small m: the G panel stays in registers while the k output rows stream past */
    if (!gpanel(0, m, k, n, A, lda, G, C, 0, 1.0f, 0))
        driver(0, 1, k, m, n, A, lda, G, C, 0, 0, 1.0f);
}}

static TGT void tn(int m, int k, int n, const float *A, const float *G, float *C)
{{
    tn_ld(m, k, n, A, k, G, C);
}}
''')
    # the variant's nonzero16 (the float32 AVX-512 and AVX2 bodies have theirs inline)
    w(NONZERO16.get((name, dtype), "") + PACK.get((name, dtype), PACK_PORTABLE))
    w(f'''
static TGT void nn_cols(int m, int nact, int n, const float *xc, const int *cols,
                        const float *B, float *C, int accumulate)
{{
    driver(1, 0, m, nact, n, xc, nact, B, C, accumulate, cols, 1.0f);
}}

static TGT void tn_cols(int m, int nact, int n, const float *xc, int ldx, const int *cols,
                        int nzero, const int *zcols, const float *G, float *C, float alpha,
                        int accumulate)
{{
    if (!accumulate)
        for (int z = 0; z < nzero; z++) {{
            float *cr = C + (ptrdiff_t)zcols[z] * n;
            for (int j = 0; j < n; j++) cr[j] = 0.f;
        }}
    if (nact <= 0) return;
    if (!gpanel(1, m, nact, n, xc, ldx, G, C, cols, alpha, accumulate))
        driver(1, 1, nact, m, n, xc, ldx, G, C, accumulate, cols, alpha);
}}

const fnn_{'s' if dtype == 'f32' else 'd'}gemm_variant {sym} = {{
    "{name}", {s["isa_enum"]}, nn, tn, tn_ld, pack_active, nn_cols, tn_cols,
}};

#endif
''')
    text = '\n'.join(out) + '\n'
    return re.sub(r"\bfloat\b", "double", text) if dtype == "f64" else text


def _compress_lut():
    """For each 8-bit mask, the lanes that are set, in order, padded with zeros."""
    rows = []
    for mask in range(256):
        lanes = [i for i in range(8) if mask >> i & 1]
        rows.append(", ".join(str(v) for v in lanes + [0] * (8 - len(lanes))))
    body = ",\n    ".join(rows)
    return ("/* compress_lut[8 * mask + j]: the j-th set lane of an 8-bit mask (AVX2 has no\n"
            " * compress instruction: a permute by this row does its work) */\n"
            "static const unsigned char compress_lut[256 * 8] __attribute__((aligned(64))) = {\n"
            f"    {body}}};\n")


AVX2_COMPRESS_LUT = _compress_lut()


def _compress_lut_pd():
    """For each 4-bit mask of doubles, the 32-bit lanes of the set ones, in order (double
    lane i is float lanes 2i and 2i + 1), padded with zeros."""
    rows = []
    for mask in range(16):
        lanes = [f for i in range(4) if mask >> i & 1 for f in (2 * i, 2 * i + 1)]
        rows.append(", ".join(str(v) for v in lanes + [0] * (8 - len(lanes))))
    body = ",\n    ".join(rows)
    return ("/* compress_lut_pd[8 * mask + j]: the permute that moves the set lanes of a 4-bit\n"
            " * mask of doubles to the front, in 32-bit lanes (a double is two of them) */\n"
            "static const int compress_lut_pd[16 * 8] __attribute__((aligned(32))) = {\n"
            f"    {body}}};\n")


AVX2_COMPRESS_LUT_PD = _compress_lut_pd()

# The column indices of pack_active, from the chunk masks: the active ones to cols, the
# others to zcols. The same in either dtype (they are ints).
def _mask_scan(real):
    """pack_active's scan for the variants with a nonzero16: the OR of every 16-column
    chunk's nonzero mask over the m rows."""
    return '''    /* row by row (each row is read front to back, which the hardware prefetcher follows):
     * OR the nonzero mask of every 16-column chunk; NaN counts as nonzero, so it still
     * reaches the products */
    for (int ch = 0; ch < nch; ch++) masks[ch] = 0;
    for (int i = 0; i < m; i++) {{
        const {real} *row = rows[i];
        for (int ch = 0; ch < nch - 1; ch++) masks[ch] |= (unsigned short)nonzero16(row + 16 * ch, 16);
        masks[nch - 1] |= (unsigned short)nonzero16(row + 16 * (nch - 1), rem);
    }}
'''.format(real=real)


_AVX512_INDICES = '''    for (int ch = 0; ch < nch; ch++) {
        __mmask16 lm = ch == nch - 1 ? tail : (__mmask16)0xFFFF, am = masks[ch];
        __mmask16 zm = (__mmask16)(~am & lm);
        __m512i ci = _mm512_add_epi32(iota, _mm512_set1_epi32(16 * ch));
        int na = __builtin_popcount(am), nzc = __builtin_popcount(zm);
        _mm512_mask_storeu_epi32(cols + nact, (__mmask16)((1u << na) - 1u),
                                 _mm512_maskz_compress_epi32(am, ci));
        _mm512_mask_storeu_epi32(zcols + nz, (__mmask16)((1u << nzc) - 1u),
                                 _mm512_maskz_compress_epi32(zm, ci));
        nact += na;
        nz += nzc;
    }
'''
_AVX2_INDICES = '''    /* the indices likewise, 8 columns per permute: the active ones to cols, the others to
     * zcols (k entries between them; a store whole where 8 more fit below k) */
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int ch = 0; ch < nch; ch++) {
        unsigned lm = ch == nch - 1 ? (1u << rem) - 1u : 0xFFFFu, am = masks[ch], zm = ~am & lm;
        for (int h = 0; h < 2; h++, am >>= 8, zm >>= 8) {
            const __m256i ci = _mm256_add_epi32(iota, _mm256_set1_epi32(16 * ch + 8 * h));
            const unsigned ah = am & 0xFFu, zh = zm & 0xFFu;
            const int na = __builtin_popcount(ah), nzc = __builtin_popcount(zh);
            const __m256i a = _mm256_permutevar8x32_epi32(
                ci, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(compress_lut + 8 * ah))));
            const __m256i z = _mm256_permutevar8x32_epi32(
                ci, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(compress_lut + 8 * zh))));
            if (nact + 8 <= k)
                _mm256_storeu_si256((__m256i *)(cols + nact), a);
            else if (na)
                _mm256_maskstore_epi32(cols + nact, _mm256_cmpgt_epi32(_mm256_set1_epi32(na), iota), a);
            if (nz + 8 <= k)
                _mm256_storeu_si256((__m256i *)(zcols + nz), z);
            else if (nzc)
                _mm256_maskstore_epi32(zcols + nz, _mm256_cmpgt_epi32(_mm256_set1_epi32(nzc), iota), z);
            nact += na;
            nz += nzc;
        }
    }
'''

# pack_active of the AVX-512 and AVX2 variants, per dtype: the only part that is not the
# same template (AVX-512 compresses the active columns with one instruction, AVX2 with a
# permute from a table); NEON takes PACK_PORTABLE below.
PACK = {
    ("avx512", "f32"): '''static TGT int pack_active(int m, int k, const float *const *rows, float *xc, int *cols,
                           int *zcols, unsigned short *masks)
{
    if (m <= 0 || k <= 0) return 0;
    int nch = (k + 15) / 16, rem = k - 16 * (nch - 1), nact = 0, nz = 0;
    const __mmask16 tail = (__mmask16)((1u << rem) - 1u);
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512 zero = _mm512_setzero_ps();
    /* row by row (each row is read front to back, which the hardware prefetcher follows):
     * OR the nonzero mask of every 16-column chunk; NaN counts as nonzero, so it still
     * reaches the products */
    for (int ch = 0; ch < nch; ch++) masks[ch] = 0;
    for (int i = 0; i < m; i++) {
        const float *row = rows[i];
        for (int ch = 0; ch < nch - 1; ch++)
            masks[ch] |= _mm512_cmp_ps_mask(_mm512_loadu_ps(row + 16 * ch), zero, _CMP_NEQ_UQ);
        masks[nch - 1] |= _mm512_mask_cmp_ps_mask(
            tail, _mm512_maskz_loadu_ps(tail, row + 16 * (nch - 1)), zero, _CMP_NEQ_UQ);
    }
    /* compress in registers, then store: the memory form of vcompressps is microcoded on
     * AMD Zen 4 (it made this function a sixth of a 784-30-10 epoch) */
''' + _AVX512_INDICES + '''    /* each chunk's active columns stored whole: the lanes past them land where the next
     * ones go, and only the end of the buffer takes a masked store */
    const float *end = xc + (ptrdiff_t)m * nact;
    for (int i = 0; i < m; i++) {
        float *dst = xc + (ptrdiff_t)i * nact;
        for (int ch = 0; ch < nch; ch++) {
            __mmask16 am = masks[ch];
            if (!am) continue;
            __mmask16 lm = ch == nch - 1 ? tail : (__mmask16)0xFFFF;
            __m512 c = _mm512_maskz_compress_ps(am, _mm512_maskz_loadu_ps(lm, rows[i] + 16 * ch));
            int cnt = __builtin_popcount(am);
            if (dst + 16 <= end)
                _mm512_storeu_ps(dst, c);
            else
                _mm512_mask_storeu_ps(dst, (__mmask16)((1u << cnt) - 1u), c);
            dst += cnt;
        }
    }
    return nact;
}''',
    ("avx2", "f32"): AVX2_COMPRESS_LUT + '''
/* The nonzero (or NaN) lanes of 16 floats at p, the first `len` of them, as a bit mask. */
static TGT AI unsigned nonzero16(const float *p, int len)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    if (len >= 16)
        return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p), zero, _CMP_NEQ_UQ)) |
               (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + 8), zero, _CMP_NEQ_UQ)) << 8;
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(len), iota);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(len - 8), iota);
    __m256 v0 = _mm256_maskload_ps(p, m0), v1 = _mm256_maskload_ps(p + 8, m1);
    return ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v0, zero, _CMP_NEQ_UQ)) |
            (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v1, zero, _CMP_NEQ_UQ)) << 8) &
           ((1u << len) - 1u);
}

static TGT int pack_active(int m, int k, const float *const *rows, float *xc, int *cols,
                           int *zcols, unsigned short *masks)
{
    if (m <= 0 || k <= 0) return 0;
    int nch = (k + 15) / 16, rem = k - 16 * (nch - 1), nact = 0, nz = 0;
''' + _mask_scan("float") + _AVX2_INDICES + '''    /* the active columns of each row, in order: each 8-column half of a chunk is
     * compressed by one permute (the LUT's order for its mask) and stored whole; the
     * lanes past its active ones land where the next ones go, and only the end of the
     * buffer takes a masked store */
    const float *end = xc + (ptrdiff_t)m * nact;
    for (int i = 0; i < m; i++) {
        const float *row = rows[i];
        float *dst = xc + (ptrdiff_t)i * nact;
        for (int ch = 0; ch < nch; ch++) {
            unsigned am = masks[ch];
            for (int h = 0; h < 2 && am; h++, am >>= 8) {
                unsigned hm = am & 0xFFu;
                if (!hm) continue;
                const float *src = row + 16 * ch + 8 * h;
                int len = ch == nch - 1 ? rem - 8 * h : 8;
                __m256 x = len >= 8 ? _mm256_loadu_ps(src)
                                    : _mm256_maskload_ps(src, _mm256_cmpgt_epi32(_mm256_set1_epi32(len), iota));
                __m256 c = _mm256_permutevar8x32_ps(
                    x, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(compress_lut + 8 * hm))));
                int cnt = __builtin_popcount(hm);
                if (dst + 8 <= end)
                    _mm256_storeu_ps(dst, c);
                else
                    _mm256_maskstore_ps(dst, _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), iota), c);
                dst += cnt;
            }
        }
    }
    return nact;
}''',
    # float64: the masks and indices as in float32; a chunk's 16 doubles are two vectors
    # of 8 (AVX-512) or four of 4 (AVX2), each compressed and stored on its own
    ("avx512", "f64"): '''
static TGT int pack_active(int m, int k, const double *const *rows, double *xc, int *cols,
                           int *zcols, unsigned short *masks)
{
    if (m <= 0 || k <= 0) return 0;
    int nch = (k + 15) / 16, rem = k - 16 * (nch - 1), nact = 0, nz = 0;
    const __mmask16 tail = (__mmask16)((1u << rem) - 1u);
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
''' + _mask_scan("double") + _AVX512_INDICES + '''    /* each 8-column half of a chunk: only its active lanes are loaded (they lie below k,
     * so the last chunk needs no mask of its own), compressed in registers (the memory form
     * of vcompresspd is microcoded on AMD Zen 4) and stored whole; the lanes past its
     * active ones land where the next ones go, and only the end of the buffer takes a
     * masked store */
    const double *end = xc + (ptrdiff_t)m * nact;
    for (int i = 0; i < m; i++) {
        const double *row = rows[i];
        double *dst = xc + (ptrdiff_t)i * nact;
        for (int ch = 0; ch < nch; ch++) {
            unsigned am = masks[ch];
            for (int h = 0; h < 2 && am; h++, am >>= 8) {
                const __mmask8 hm = (__mmask8)am;
                if (!hm) continue;
                const __m512d c = _mm512_maskz_compress_pd(hm, _mm512_maskz_loadu_pd(hm, row + 16 * ch + 8 * h));
                const int cnt = __builtin_popcount(hm);
                if (dst + 8 <= end)
                    _mm512_storeu_pd(dst, c);
                else
                    _mm512_mask_storeu_pd(dst, (__mmask8)((1u << cnt) - 1u), c);
                dst += cnt;
            }
        }
    }
    return nact;
}''',
    ("avx2", "f64"): "\n" + AVX2_COMPRESS_LUT + "\n" + AVX2_COMPRESS_LUT_PD + '''
static TGT int pack_active(int m, int k, const double *const *rows, double *xc, int *cols,
                           int *zcols, unsigned short *masks)
{
    if (m <= 0 || k <= 0) return 0;
    int nch = (k + 15) / 16, rem = k - 16 * (nch - 1), nact = 0, nz = 0;
''' + _mask_scan("double") + _AVX2_INDICES + '''    /* the active columns of each row, in order: each 4-column quarter of a chunk is
     * compressed by one permute of its 32-bit lanes (compress_lut_pd's row for its mask)
     * and stored whole; the lanes past its active ones land where the next ones go, and
     * only the end of the buffer takes a masked store (vmaskmovpd stores are slow on AMD
     * Zen, its loads are not) */
    const __m256i iota64 = _mm256_setr_epi64x(0, 1, 2, 3);
    const double *end = xc + (ptrdiff_t)m * nact;
    for (int i = 0; i < m; i++) {
        const double *row = rows[i];
        double *dst = xc + (ptrdiff_t)i * nact;
        for (int ch = 0; ch < nch; ch++) {
            unsigned am = masks[ch];
            for (int q = 0; q < 4 && am; q++, am >>= 4) {
                const unsigned qm = am & 0xFu;
                if (!qm) continue;
                const double *src = row + 16 * ch + 4 * q;
                const int len = ch == nch - 1 ? rem - 4 * q : 4;
                const __m256d x = len >= 4
                    ? _mm256_loadu_pd(src)
                    : _mm256_maskload_pd(src, _mm256_cmpgt_epi64(_mm256_set1_epi64x(len), iota64));
                const __m256d c = _mm256_castps_pd(_mm256_permutevar8x32_ps(
                    _mm256_castpd_ps(x), _mm256_load_si256((const __m256i *)(compress_lut_pd + 8 * qm))));
                const int cnt = __builtin_popcount(qm);
                if (dst + 4 <= end)
                    _mm256_storeu_pd(dst, c);
                else
                    _mm256_maskstore_pd(dst, _mm256_cmpgt_epi64(_mm256_set1_epi64x(cnt), iota64), c);
                dst += cnt;
            }
        }
    }
    return nact;
}''',
}

# pack_active's portable body: the nonzero16 of the variant marks each 16-column chunk's
# active columns, then each row's active columns are copied one by one. The AVX-512 and
# AVX2 variants compress instead (PACK above); NEON, in either dtype, takes this. NaN
# counts as nonzero, so it still reaches the products.
PACK_PORTABLE = '''
static TGT int pack_active(int m, int k, const float *const *rows, float *xc, int *cols,
                           int *zcols, unsigned short *masks)
{
    if (m <= 0 || k <= 0) return 0;
    int nch = (k + 15) / 16, rem = k - 16 * (nch - 1), nact = 0, nz = 0;
    /* row by row (each row is read front to back, which the hardware prefetcher follows):
     * OR the nonzero mask of every 16-column chunk */
    for (int ch = 0; ch < nch; ch++) masks[ch] = 0;
    for (int i = 0; i < m; i++) {
        const float *row = rows[i];
        for (int ch = 0; ch < nch; ch++)
            masks[ch] |= (unsigned short)nonzero16(row + 16 * ch, ch == nch - 1 ? rem : 16);
    }
    for (int ch = 0; ch < nch; ch++) {
        unsigned lm = ch == nch - 1 ? (1u << rem) - 1u : 0xFFFFu, am = masks[ch];
        for (unsigned b = am; b; b &= b - 1) cols[nact++] = 16 * ch + __builtin_ctz(b);
        for (unsigned b = ~am & lm; b; b &= b - 1) zcols[nz++] = 16 * ch + __builtin_ctz(b);
    }
    for (int i = 0; i < m; i++) {
        const float *row = rows[i];
        float *dst = xc + (ptrdiff_t)i * nact;
        for (int j = 0; j < nact; j++) dst[j] = row[cols[j]];
    }
    return nact;
}'''

# nonzero16(p, len): the lanes of the first len (<= 16) elements at p that are nonzero or
# NaN, as a bit mask; per variant (the float64 ones are rewritten float -> double).
_SCALAR_TAIL = '''    for (int j = 0; j < len; j++) /* NaN != 0 */
        if (p[j] != 0) mk |= 1u << j;
    return mk;
}
'''
NONZERO16 = {
    ("neon", "f32"): '''
static AI unsigned nonzero16(const float *p, int len)
{
    unsigned mk = 0;
    if (len >= 16) {
        const uint32x4_t bits = {1u, 2u, 4u, 8u};
        for (int q = 0; q < 4; q++) {
            uint32x4_t nz = vmvnq_u32(vceqq_f32(vld1q_f32(p + 4 * q), vdupq_n_f32(0.0f)));
            mk |= vaddvq_u32(vandq_u32(nz, bits)) << (4 * q);
        }
        return mk;
    }
''' + _SCALAR_TAIL,
    ("neon", "f64"): '''
static AI unsigned nonzero16(const float *p, int len)
{
    unsigned mk = 0;
    if (len >= 16) {
        for (int q = 0; q < 8; q++) {
            uint64x2_t eq = vceqq_f64(vld1q_f64(p + 2 * q), vdupq_n_f64(0.0));
            mk |= (unsigned)(vgetq_lane_u64(eq, 0) == 0) << (2 * q) |
                  (unsigned)(vgetq_lane_u64(eq, 1) == 0) << (2 * q + 1);
        }
        return mk;
    }
''' + _SCALAR_TAIL,
    ("avx2", "f64"): '''
static TGT AI unsigned nonzero16(const float *p, int len)
{
    unsigned mk = 0;
    if (len >= 16) {
        const __m256d zero = _mm256_setzero_pd();
        /* written out: as a loop gcc 12 kept a variable shift per step, and the four loads
         * side by side measured about 10 % faster on rows that come from DRAM */
        const unsigned m0 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(p), zero, _CMP_NEQ_UQ));
        const unsigned m1 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(p + 4), zero, _CMP_NEQ_UQ));
        const unsigned m2 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(p + 8), zero, _CMP_NEQ_UQ));
        const unsigned m3 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(p + 12), zero, _CMP_NEQ_UQ));
        return m0 | m1 << 4 | m2 << 8 | m3 << 12;
    }
''' + _SCALAR_TAIL,
    ("avx512", "f64"): '''
static TGT AI unsigned nonzero16(const float *p, int len)
{
    const __m512d zero = _mm512_setzero_pd();
    const __mmask8 m0 = (__mmask8)(len >= 8 ? 0xFF : (1u << len) - 1u);
    const __mmask8 m1 = (__mmask8)(len >= 16 ? 0xFF : len <= 8 ? 0 : (1u << (len - 8)) - 1u);
    return (unsigned)_mm512_mask_cmp_pd_mask(m0, _mm512_maskz_loadu_pd(m0, p), zero, _CMP_NEQ_UQ) |
           (unsigned)_mm512_mask_cmp_pd_mask(m1, _mm512_maskz_loadu_pd(m1, p + 8), zero,
                                             _CMP_NEQ_UQ) << 8;
}
''',
}


def main(argv):
    check = "--check" in argv
    here = os.path.dirname(os.path.abspath(__file__))
    stale = []
    for name, dtype in [(n, d) for n in ISAS for d in ("f32", "f64")]:
        path = os.path.join(here, "..", "arch", name, f"gemm_{dtype}.c")
        text = generate(name, dtype)
        if check:
            try:
                with open(path) as f:
                    same = f.read() == text
            except OSError:
                same = False
            if not same:
                stale.append(os.path.relpath(path, os.path.join(here, "..", "..")))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("out of date with src_c/tools/gen_gemm.py (run it): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
