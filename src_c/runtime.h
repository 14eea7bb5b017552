/* runtime.h -- what the build and the CPU offer, and the input check used at the
 * Python boundary. */
#ifndef FNN_RUNTIME_H
#define FNN_RUNTIME_H

#include "fnn_common.h"

/* Build facts. */
int fnn_openmp_version(void);          /* _OPENMP (yyyymm), or 0 for a serial build */
int fnn_openmp_max_threads(void);      /* omp_get_max_threads(), or 1 */
const char *fnn_compiler(void);        /* compiler name and version */
/* the levels the leaves are built for, best first, comma separated */
const char *fnn_leaf_levels(void);
const char *fnn_leaf_level(void);      /* the build of the leaves in force (fnn_leaves.h) */
int fnn_cpu_supports(const char *feature); /* "avx2", "avx512f", "fma", ...; 0 if unknown */

/* 1 if every element is finite (no NaN, no +-inf), else 0. */
int fnn_all_finite_f32(fnn_idx n, const float *x, int n_threads);
int fnn_all_finite_f64(fnn_idx n, const double *x, int n_threads);

#endif
