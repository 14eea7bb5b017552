/* dense.h -- the non-GEMM parts of a fully connected layer (the products go to BLAS).
 * y is (n, m) row-major; b and db have m entries. */
#ifndef FNN_DENSE_H
#define FNN_DENSE_H

#include "fnn_common.h"

/* y[i, :] = b for every row i (the bias, written before a GEMM with beta = 1). */
void fnn_bias_rows_f32(fnn_idx n, fnn_idx m, const float *b, float *y, int n_threads);
void fnn_bias_rows_f64(fnn_idx n, fnn_idx m, const double *b, double *y, int n_threads);

/* db[j] (+)= sum_i dy[i, j]: column sums, summed in row order whatever the thread count.
 * accumulate = 0 overwrites db, 1 adds to it. */
void fnn_column_sums_f32(fnn_idx n, fnn_idx m, const float *dy, float *db, int accumulate,
                         int n_threads);
void fnn_column_sums_f64(fnn_idx n, fnn_idx m, const double *dy, double *db, int accumulate,
                         int n_threads);

#endif
