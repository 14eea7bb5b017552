/* fnn_omp.h -- the one place where fastnn touches the OpenMP runtime.
 *
 * Every omp_* call in fastnn goes through these wrappers, so a build without
 * OpenMP (meson's -Dopenmp=disabled, or a compiler without it) still compiles and
 * simply runs on one thread. `#pragma omp ...` lines need no shim: a compiler
 * without OpenMP ignores them (with -fopenmp-simd it still honours `omp simd`).
 */
#ifndef FNN_OMP_H
#define FNN_OMP_H

#ifdef _OPENMP
#include <omp.h>
#define FNN_OPENMP_VERSION _OPENMP /* yyyymm of the OpenMP spec the compiler implements */
static inline int fnn_omp_get_max_threads(void) { return omp_get_max_threads(); }
static inline int fnn_omp_get_thread_num(void) { return omp_get_thread_num(); }
#else
#define FNN_OPENMP_VERSION 0
static inline int fnn_omp_get_max_threads(void) { return 1; }
static inline int fnn_omp_get_thread_num(void) { return 0; }
#endif

#endif /* FNN_OMP_H */
