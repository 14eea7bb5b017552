/* runtime.c -- build facts, CPU feature detection and the finiteness check. */
#include <string.h>

#include "fnn_leaves.h"
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

const char *fnn_leaf_levels(void) { return FNN_LEAF_LEVEL_LIST; }

const char *fnn_leaf_level(void)
{
    /* the build FNN_LEAF picks (fnn_leaves.h) */
    return FNN_LEAF_LEVELS ? fnn_isa_name(fnn_cpu_get()->level) : "generic";
}

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

/* x * 0 is 0 for every finite x and NaN for NaN and +-inf, so one multiply-add per
 * element decides finiteness with a plain vectorizable reduction. */
/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "runtime_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "fnn_each_level.h"
#include "runtime_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "runtime_impl.h"
#undef REAL
#undef FNN_SFX
