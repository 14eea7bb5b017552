/* runtime_impl.h -- type-generic bodies for runtime.c (included once per REAL). */

int FNN_SFX(fnn_all_finite)(fnn_idx n, const REAL *x, int n_threads)
{
    int team = fnn_team_size(n, FNN_GRAIN_CHEAP, n_threads);
    int bad = 0;
    if (team <= 1) {
        REAL z = FNN_LEAF(zero_if_finite_leaf)(n, x);
        return !((z != 0) || (z != z));
    }
#pragma omp parallel for num_threads(team) reduction(| : bad)
    for (int t = 0; t < team; ++t) {
        fnn_idx lo = fnn_chunk_start(n, team, t, 16), hi = fnn_chunk_start(n, team, t + 1, 16);
        REAL z = FNN_LEAF(zero_if_finite_leaf)(hi - lo, x + lo);
        bad |= (z != 0) || (z != z);
    }
    return !bad;
}
