/* embedding_impl.h -- type-generic bodies for embedding.c (included once per REAL).
 * The leaves (embedding_leaves.h) copy and add the rows; these drivers split the work
 * over the threads.
 */

void FNN_SFX(fnn_embedding_forward)(fnn_idx n, fnn_idx d, const fnn_idx *idx,
                                    const REAL *weight, REAL *out, int n_threads)
{
    int team = fnn_team_size(n * d, FNN_GRAIN_CHEAP, n_threads);
    if (team > n) team = n > 0 ? (int)n : 1;
    FNN_TEAM_FOR(team, t,
        fnn_idx lo = fnn_chunk_start(n, team, t, 1);
        fnn_idx hi = fnn_chunk_start(n, team, t + 1, 1);
        FNN_LEAF(embedding_gather)(lo, hi, d, idx, weight, out));
}

void FNN_SFX(fnn_embedding_backward)(fnn_idx n, fnn_idx v, fnn_idx d, const fnn_idx *idx,
                                     const REAL *dy, fnn_idx padding_idx, REAL *dweight,
                                     int n_threads)
{
    int team = fnn_emb_team((n + v) * d, d, n_threads);
    FNN_TEAM_FOR(team, t,
        fnn_idx lo = fnn_chunk_start(d, team, t, FNN_EMB_ALIGN);
        fnn_idx hi = fnn_chunk_start(d, team, t + 1, FNN_EMB_ALIGN);
        FNN_LEAF(embedding_scatter_add)(n, v, d, lo, hi, idx, dy, padding_idx, dweight));
}
