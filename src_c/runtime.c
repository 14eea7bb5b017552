/* runtime.c -- build facts, CPU feature detection and the finiteness check. */
#include <string.h>

#include "fnn_omp.h"
#include "runtime.h"

int fnn_openmp_version(void) { return FNN_OPENMP_VERSION; }

int fnn_openmp_max_threads(void) { return fnn_omp_get_max_threads(); }

const char *fnn_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
#define FNN_STR2(x) #x
#define FNN_STR(x) FNN_STR2(x)
    return "msvc " FNN_STR(_MSC_VER);
#else
    return "unknown";
#endif
}

const char *fnn_simd_clones(void) { return FNN_SIMD_CLONE_LIST; }

int fnn_cpu_supports(const char *feature)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    /* __builtin_cpu_supports needs a literal, hence the table. */
    if (!strcmp(feature, "sse4.2")) return __builtin_cpu_supports("sse4.2") != 0;
    if (!strcmp(feature, "avx")) return __builtin_cpu_supports("avx") != 0;
    if (!strcmp(feature, "avx2")) return __builtin_cpu_supports("avx2") != 0;
    if (!strcmp(feature, "fma")) return __builtin_cpu_supports("fma") != 0;
    if (!strcmp(feature, "avx512f")) return __builtin_cpu_supports("avx512f") != 0;
    if (!strcmp(feature, "avx512vl")) return __builtin_cpu_supports("avx512vl") != 0;
    if (!strcmp(feature, "avx512bw")) return __builtin_cpu_supports("avx512bw") != 0;
    if (!strcmp(feature, "avx512dq")) return __builtin_cpu_supports("avx512dq") != 0;
#else
    (void)feature;
#endif
    return 0;
}

const char *fnn_simd_chosen(void)
{
#if FNN_HAVE_SIMD_CLONES
    /* Same priority order the target_clones resolver uses. */
    if (fnn_cpu_supports("avx512f")) return "avx512f";
    __builtin_cpu_init();
    if (__builtin_cpu_supports(FNN_SIMD_V3)) return FNN_SIMD_V3;
#endif
    return "default";
}

/* x * 0 is 0 for every finite x and NaN for NaN and +-inf, so one multiply-add per
 * element decides finiteness with a plain vectorizable reduction. */
#define REAL float
#define FNN_SFX(name) name##_f32
#include "runtime_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "runtime_impl.h"
#undef REAL
#undef FNN_SFX
