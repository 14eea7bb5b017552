/* dense_impl.h -- type-generic bodies for dense.c (included once per REAL). */

void FNN_SFX(fnn_bias_rows)(fnn_idx n, fnn_idx m, const REAL *b, REAL *y, int n_threads)
{
    int team = fnn_team_size(n * m, FNN_GRAIN_CHEAP, n_threads);
    FNN_TEAM_FOR(team, t,
        fnn_idx lo = fnn_chunk_start(n, team, t, 1), hi = fnn_chunk_start(n, team, t + 1, 1);
        FNN_LEAF(bias_rows_leaf)(hi - lo, m, b, y + lo * m));
}

void FNN_SFX(fnn_column_sums)(fnn_idx n, fnn_idx m, const REAL *dy, REAL *db, int accumulate,
                              int n_threads)
{
    /* Threads split the columns, never the rows: each column is summed top to bottom
     * by one thread, so the result does not depend on the thread count. */
    int team = fnn_team_size(n * m, FNN_GRAIN_CHEAP, n_threads);
    if (team > m / 16) team = (int)(m / 16 > 0 ? m / 16 : 1);
    FNN_TEAM_FOR(team, t,
        fnn_idx lo = fnn_chunk_start(m, team, t, 16), hi = fnn_chunk_start(m, team, t + 1, 16);
        FNN_LEAF(column_sums_leaf)(n, m, hi - lo, dy + lo, db + lo, accumulate));
}
