/* dense_leaves.h -- the vector loops of dense.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). */

static void FNN_L(bias_rows_leaf)(fnn_idx rows, fnn_idx m, const REAL *b, REAL *y)
{
    for (fnn_idx i = 0; i < rows; ++i) {
        REAL *yi = y + i * m;
#pragma omp simd
        for (fnn_idx j = 0; j < m; ++j) yi[j] = b[j];
    }
}

/* Sum rows of dy into db[0:width] for the column block starting at dy (row stride m). */
static void FNN_L(column_sums_leaf)(fnn_idx n, fnn_idx m, fnn_idx width, const REAL *dy,
                                    REAL *db, int accumulate)
{
    if (!accumulate) {
#pragma omp simd
        for (fnn_idx j = 0; j < width; ++j) db[j] = 0;
    }
    for (fnn_idx i = 0; i < n; ++i) {
        const REAL *row = dy + i * m;
#pragma omp simd
        for (fnn_idx j = 0; j < width; ++j) db[j] += row[j];
    }
}
