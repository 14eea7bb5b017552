/* test_variants.c -- every compiled variant of the gemm, adam, maxpool2x2 and conv families that this CPU
 * runs, held against the generic C: the float32 and float64 products against plain loops
 * summed in double (float64: in long double),
 * pack_active against a scalar scan, the Adam update against the generic loop of
 * optimizers_impl.h (the level forced to generic) and against the exact step; the
 * maxpool2x2 family against pool_impl.h's loops (generic level), bit for bit; the conv
 * family against plain loops in double (test_conv.h).
 *
 * It needs no Python, so the variants of another architecture can be proven under an
 * emulator: tests/c/run.sh builds it natively (x86-64: avx512 and avx2) and, in CI,
 * cross-compiled for aarch64 and run under qemu-aarch64 (neon).
 *   test_variants [--expect NAME ...]   fail unless variant NAME of every family ran
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "gemm_variants.h"
#include "optimizers.h"
#include "pool.h"
#include "pool_variants.h"
#include "conv_variants.h"

static int failures = 0;

#define CHECK(cond, ...)                                        \
    do {                                                        \
        if (!(cond)) {                                          \
            if (failures++ < 20) {                              \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                   \
                fprintf(stderr, "\n");                          \
            }                                                   \
        }                                                       \
    } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int randint(int lo, int hi) { return lo + (int)(next_u64() % (uint64_t)(hi - lo + 1)); }
static float uniform(void) { return (float)((next_u64() >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f; }

static float *randn(size_t n, double zero_share)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; ++i)
        a[i] = (next_u64() % 1000) < zero_share * 1000 ? 0.0f : uniform();
    return a;
}

/* |got - want| within a float32 rounding of each product's size: the kernels sum in
 * float32 in their own order. */
static int close_to(float got, double want, double scale, int k)
{
    return fabs((double)got - want) <= 4.0 * (k + 1) * FLT_EPSILON * scale + 1e-30;
}

/* ---------------------------------------------------------------- gemm family */

/* float64: against sums in long double */
static int close_to_d(double got, long double want, long double scale, int k)
{
    return fabsl((long double)got - want) <= 4.0L * (k + 1) * DBL_EPSILON * scale + 1e-300L;
}

/* randn in T: a float32 value, in float64 with low bits set too (all 53 bits used) */
static float *randn_f(size_t n, double zero_share) { return randn(n, zero_share); }
static double *randn_d(size_t n, double zero_share)
{
    float *f = randn(n, zero_share);
    double *d = malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; ++i) d[i] = f[i] == 0.0f ? 0.0 : (double)f[i] + (double)uniform() * 1e-9;
    free(f);
    return d;
}

#define T float
#define SUM_T double
#define VARIANT_T fnn_sgemm_variant
#define randn_t randn_f
#define CLOSE_TO close_to
#define TEST_NAME test_products_f32
#include "test_products.h"
#undef TEST_NAME
#define TEST_NAME test_active_columns_f32
#include "test_active_columns.h"
#undef T
#undef SUM_T
#undef VARIANT_T
#undef TEST_NAME
#undef randn_t
#undef CLOSE_TO

#define T double
#define SUM_T long double
#define VARIANT_T fnn_dgemm_variant
#define randn_t randn_d
#define CLOSE_TO close_to_d
#define TEST_NAME test_products_f64
#include "test_products.h"
#undef TEST_NAME
#define TEST_NAME test_active_columns_f64
#include "test_active_columns.h"
#undef T
#undef SUM_T
#undef VARIANT_T
#undef TEST_NAME
#undef randn_t
#undef CLOSE_TO

/* ---------------------------------------------------------------- adam family */

static void test_adam(const fnn_adam_f32_variant *v)
{
    static const char *const decays[] = {"none", "l2", "decoupled"};
    static const long long steps[] = {1, 8, 1000};
    int cases = 0;
    for (int d = 0; d < 3; ++d)
        for (int s = 0; s < 3; ++s) {
            const fnn_idx n = randint(1, 40) + (s == 2 ? 10007 : 0); /* a tail every time */
            float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
            float *m = malloc(n * sizeof *m), *vv = malloc(n * sizeof *vv);
            for (fnn_idx i = 0; i < n; ++i) {
                p[i] = uniform();
                g[i] = uniform() * powf(10.0f, -6.0f + 7.0f * (uniform() + 1.0f) / 2.0f);
                m[i] = uniform() * 1e-3f;
                vv[i] = i < 3 ? 0.0f : (uniform() + 1.0f) / 2.0f * powf(10.0f, -12.0f * (uniform() + 1.0f) / 2.0f);
            }
            float *p1 = malloc(n * sizeof *p), *m1 = malloc(n * sizeof *m), *v1 = malloc(n * sizeof *vv);
            float *p2 = malloc(n * sizeof *p), *m2 = malloc(n * sizeof *m), *v2 = malloc(n * sizeof *vv);
            memcpy(p1, p, n * sizeof *p), memcpy(m1, m, n * sizeof *m), memcpy(v1, vv, n * sizeof *vv);
            memcpy(p2, p, n * sizeof *p), memcpy(m2, m, n * sizeof *m), memcpy(v2, vv, n * sizeof *vv);
            fnn_adam_coefs_f32 kc;
            const double wd = d ? 0.05 : 0.0;
            fnn_adam_prepare_f32(&kc, steps[s], 1e-3, 0.9, 0.999, 1e-8, wd, d == 2);
            v->apply(n, p1, g, m1, v1, &kc);
            fnn_cpu_force(FNN_ISA_GENERIC); /* the generic loop of optimizers_impl.h */
            fnn_adam_apply_f32(n, p2, g, m2, v2, NULL, &kc);
            fnn_cpu_force(-1);
            const double lr_t = kc.step_size, ib = kc.inv_sqrt_bc2, eps = kc.eps;
            for (fnn_idx i = 0; i < n; ++i) {
                /* the moments: the same sums, to a few roundings of their terms (the
                 * variants fuse multiply-adds; with L2, g + l2 p may cancel) */
                const double gs = fabs(g[i]) + kc.l2 * fabs(p[i]);
                const double tm = 4 * FLT_EPSILON * (kc.beta1 * fabs(m[i]) + kc.one_minus_beta1 * gs);
                const double tv = 4 * FLT_EPSILON * (kc.beta2 * vv[i] + kc.one_minus_beta2 * gs * gs);
                CHECK(fabs((double)m1[i] - m2[i]) <= tm && fabs((double)v1[i] - v2[i]) <= tv,
                      "%s adam %s step %lld moments [%ld]: m %g/%g v %g/%g", v->name, decays[d], steps[s],
                      (long)i, m1[i], m2[i], v1[i], v2[i]);
                /* the step, from the stored moments, within 2 ulp of its exact value */
                const double p0 = d == 2 ? (double)(p[i] * kc.shrink) : (double)p[i];
                const double exact = lr_t * m1[i] / (sqrt((double)v1[i]) * ib + eps);
                const double err = fabs((p0 - p1[i]) - exact) - 0.5 * (nextafterf(fabsf(p1[i]), INFINITY) - fabsf(p1[i]));
                CHECK(isfinite(p1[i]) && err <= 2.4e-7 * fabs(exact) + 1e-45,
                      "%s adam %s step %lld [%ld]: p %.9g, exact step %.9g, error %.3g", v->name,
                      decays[d], steps[s], (long)i, p1[i], exact, err);
                /* and the weight as the generic loop leaves it, to that step's error and
                 * the difference of the two loops' moments (checked above: the generic
                 * loop of the baseline level rounds a * b + c twice where a variant fuses) */
                const double exact2 = lr_t * m2[i] / (sqrt((double)v2[i]) * ib + eps);
                CHECK(fabs((double)p1[i] - p2[i]) <= fabs(exact - exact2) + 4.8e-7 * fmax(fabs(exact), fabs(exact2)) +
                                                         (nextafterf(fabsf(p2[i]), INFINITY) - fabsf(p2[i])),
                      "%s adam %s step %lld [%ld]: p %.9g, generic %.9g", v->name, decays[d], steps[s],
                      (long)i, p1[i], p2[i]);
            }
            free(p), free(g), free(m), free(vv), free(p1), free(m1), free(v1), free(p2), free(m2), free(v2);
            ++cases;
        }
    printf("adam %-8s %d updates (Adam, L2, AdamW x steps 1, 8, 1000) ok\n", v->name, cases);
}

/* ---------------------------------------------------------- maxpool2x2 family */

/* The generic scatter of pool_impl.h, for planes the kernels hand back. */
static void scatter(fnn_idx hw, fnn_idx ohw, fnn_idx planes, const float *dy,
                    const fnn_idx *argmax, float *dx)
{
    for (fnn_idx p = 0; p < planes; ++p) {
        memset(dx + p * hw, 0, (size_t)hw * sizeof(float));
        for (fnn_idx o = 0; o < ohw; ++o) dx[p * hw + argmax[p * ohw + o]] += dy[p * ohw + o];
    }
}

static void test_maxpool(const fnn_maxpool2x2_variant *v)
{
    int cases = 0;
    for (int trial = 0; trial < 300; ++trial) {
        fnn_conv_geom g = {0};
        g.c = randint(1, 4);
        g.h = randint(2, 35);
        g.w = randint(2, 2 * FNN_MAXPOOL2X2_MAX_OW + 1);
        g.kh = g.kw = g.sh = g.sw = 2;
        g.dh = g.dw = 1;
        g.oh = (g.h - 2) / 2 + 1;
        g.ow = (g.w - 2) / 2 + 1;
        g.f = g.c;
        if (!fnn_maxpool2x2_fits(&g)) continue;
        const fnn_idx planes = g.c, hw = g.h * g.w, ohw = g.oh * g.ow;
        float *x = malloc((size_t)(planes * hw) * sizeof *x);
        for (fnn_idx i = 0; i < planes * hw; ++i) {
            x[i] = (float)randint(-3, 3); /* many ties */
            if (randint(0, 40) == 0) x[i] = NAN;
            if (randint(0, 20) == 0) x[i] = -0.0f;
        }
        float *y1 = malloc((size_t)(planes * ohw) * sizeof *y1), *y2 = malloc((size_t)(planes * ohw) * sizeof *y2);
        fnn_idx *a1 = malloc((size_t)(planes * ohw) * sizeof *a1), *a2 = malloc((size_t)(planes * ohw) * sizeof *a2);
        v->forward(&g, planes, x, y1, a1);
        fnn_cpu_force(FNN_ISA_GENERIC);
        fnn_maxpool_forward_f32(&g, 1, x, y2, a2, 1);
        CHECK(!memcmp(y1, y2, (size_t)(planes * ohw) * sizeof *y1) &&
                  !memcmp(a1, a2, (size_t)(planes * ohw) * sizeof *a1),
              "%s maxpool2x2 forward c=%ld h=%ld w=%ld", v->name, (long)g.c, (long)g.h, (long)g.w);
        /* backward, from the forward's argmax and, every third case, one moved outside its
         * block (that plane goes to the fallback) */
        if (trial % 3 == 0) a1[randint(0, (int)(planes * ohw) - 1)] = randint(0, (int)hw - 1);
        float *dy = randn((size_t)(planes * ohw), 0.2);
        float *dx1 = malloc((size_t)(planes * hw) * sizeof *dx1), *dx2 = malloc((size_t)(planes * hw) * sizeof *dx2);
        for (fnn_idx i = 0; i < planes * hw; ++i) dx1[i] = dx2[i] = NAN; /* all overwritten */
        fnn_cpu_force(-1);
        v->backward(&g, planes, dy, a1, dx1, scatter);
        fnn_cpu_force(FNN_ISA_GENERIC);
        fnn_maxpool_backward_f32(&g, 1, dy, a1, dx2, 1);
        fnn_cpu_force(-1);
        CHECK(!memcmp(dx1, dx2, (size_t)(planes * hw) * sizeof *dx1),
              "%s maxpool2x2 backward c=%ld h=%ld w=%ld", v->name, (long)g.c, (long)g.h, (long)g.w);
        free(x), free(y1), free(y2), free(a1), free(a2), free(dy), free(dx1), free(dx2);
        ++cases;
    }
    printf("pool %-8s maxpool2x2 forward, backward: %d random planes ok (bit for bit)\n", v->name, cases);
}

/* ---------------------------------------------------------------- conv family */

#include "test_conv.h"

int main(int argc, char **argv)
{
    const fnn_cpu *cpu = fnn_cpu_get();
    printf("cpu: %s (level %s)\n", fnn_isa_name(cpu->detected), fnn_isa_name(cpu->level));
    int ng, na, ran_gemm[16] = {0}, ran_adam[16] = {0};
    const fnn_sgemm_variant *const *gv = fnn_sgemm_variants(&ng);
    const fnn_dgemm_variant *const *dv = fnn_dgemm_variants(&ng);
    const fnn_adam_f32_variant *const *av = fnn_adam_f32_variants(&na);
    for (int i = 0; i < ng; ++i) {
        if (!fnn_isa_runnable(gv[i]->isa)) {
            printf("gemm %-8s compiled, not run: this CPU lacks it\n", gv[i]->name);
            continue;
        }
        test_products_f32(gv[i]);
        test_active_columns_f32(gv[i]);
        test_products_f64(dv[i]);
        test_active_columns_f64(dv[i]);
        ran_gemm[i] = 1;
    }
    for (int i = 0; i < na; ++i) {
        if (!fnn_isa_runnable(av[i]->isa)) {
            printf("adam %-8s compiled, not run: this CPU lacks it\n", av[i]->name);
            continue;
        }
        test_adam(av[i]);
        ran_adam[i] = 1;
    }
    int np;
    const fnn_maxpool2x2_variant *const *pv = fnn_maxpool2x2_variants(&np);
    int ran_pool[16] = {0};
    for (int i = 0; i < np; ++i) {
        if (!fnn_isa_runnable(pv[i]->isa)) {
            printf("pool %-8s compiled, not run: this CPU lacks it\n", pv[i]->name);
            continue;
        }
        test_maxpool(pv[i]);
        ran_pool[i] = 1;
    }
    int nc;
    const fnn_conv_variant *const *cvs = fnn_conv_variants(&nc);
    int ran_conv[16] = {0};
    for (int i = 0; i < nc; ++i) {
        if (!fnn_isa_runnable(cvs[i]->isa)) {
            printf("conv %-8s compiled, not run: this CPU lacks it\n", cvs[i]->name);
            continue;
        }
        /* the shape rules ask fnn_conv_pick(): hold the level at this variant's */
        fnn_cpu_force(cvs[i]->isa);
        test_conv(cvs[i]);
        fnn_cpu_force(-1);
        ran_conv[i] = 1;
    }
    for (int a = 1; a < argc; ++a) {
        if (strcmp(argv[a], "--expect") || a + 1 >= argc) continue;
        const char *name = argv[++a];
        int g = 0, d = 0, q = 0, cv = 0;
        for (int i = 0; i < ng; ++i) g |= ran_gemm[i] && !strcmp(gv[i]->name, name);
        for (int i = 0; i < na; ++i) d |= ran_adam[i] && !strcmp(av[i]->name, name);
        for (int i = 0; i < np; ++i) q |= ran_pool[i] && !strcmp(pv[i]->name, name);
        for (int i = 0; i < nc; ++i) cv |= ran_conv[i] && !strcmp(cvs[i]->name, name);
        CHECK(g && d && q && cv,
              "variant %s was expected to run in every family (gemm: %d, adam: %d, pool: %d, conv: %d)",
              name, g, d, q, cv);
    }
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("all variants ok\n");
    return 0;
}
