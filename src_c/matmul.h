/* matmul.h -- GEMM split across fastnn's own OpenMP team.
 *
 * fastnn runs all of its parallel work on one thread runtime, OpenMP. Two runtimes
 * side by side (OpenMP threads spinning after a loop while BLAS wakes its own pthreads)
 * fight over the cores; so while fastnn computes, BLAS is held to one thread and a
 * product is cut into one block of C per OpenMP thread, each block one BLAS call.
 *
 * The BLAS call itself is a function pointer supplied by the caller (fastnn passes a
 * row-major wrapper around SciPy's sgemm/dgemm), so this file needs no BLAS headers.
 * Row-major: C (m x n) = alpha op(A) (m x k) op(B) (k x n) + beta C, where A is stored
 * (m, k) -- or (k, m) when trans_a -- with row stride lda; likewise B with ldb, C with ldc.
 */
#ifndef FNN_MATMUL_H
#define FNN_MATMUL_H

#include "fnn_common.h"

typedef void (*fnn_gemm_f32_fn)(int trans_a, int trans_b, fnn_idx m, fnn_idx n, fnn_idx k,
                                float alpha, const float *a, fnn_idx lda, const float *b,
                                fnn_idx ldb, float beta, float *c, fnn_idx ldc);
typedef void (*fnn_gemm_f64_fn)(int trans_a, int trans_b, fnn_idx m, fnn_idx n, fnn_idx k,
                                double alpha, const double *a, fnn_idx lda, const double *b,
                                fnn_idx ldb, double beta, double *c, fnn_idx ldc);

/* Multiply-adds per thread below which a product stays on one thread. */
#define FNN_GRAIN_GEMM (1 << 18)

/* Products with at most this many rows of C (and no transposes) use fastnn's own
 * kernel instead of BLAS: a BLAS call costs microseconds of overhead before it starts,
 * which dominates single-sample inference. */
#define FNN_SMALL_M 2

/* C = alpha A B + beta C for m <= FNN_SMALL_M, computed row by row: each row of C is
 * accumulated in registers as y += a_k * B[k, :], skipping a_k == 0 (sparse inputs such
 * as image pixels skip whole rows of B). beta == 0 means C is not read. */
void fnn_gemm_small_f32(fnn_idx m, fnn_idx n, fnn_idx k, float alpha, const float *a,
                        fnn_idx lda, const float *b, fnn_idx ldb, float beta, float *c,
                        fnn_idx ldc);
void fnn_gemm_small_f64(fnn_idx m, fnn_idx n, fnn_idx k, double alpha, const double *a,
                        fnn_idx lda, const double *b, fnn_idx ldb, double beta, double *c,
                        fnn_idx ldc);

/* Contiguous operands (lda, ldb, ldc = the stored row lengths); the team splits the
 * longer of C's two sides. Small products (see FNN_SMALL_M) go to fnn_gemm_small. */
void fnn_gemm_team_f32(fnn_gemm_f32_fn gemm, int trans_a, int trans_b, fnn_idx m, fnn_idx n,
                       fnn_idx k, float alpha, const float *a, const float *b, float beta,
                       float *c, int n_threads);
void fnn_gemm_team_f64(fnn_gemm_f64_fn gemm, int trans_a, int trans_b, fnn_idx m, fnn_idx n,
                       fnn_idx k, double alpha, const double *a, const double *b, double beta,
                       double *c, int n_threads);

#endif
