/* layernorm_impl.h -- type-generic bodies for layernorm.c (included once per REAL).
 * The leaves (layernorm_leaves.h) hold the arithmetic; these drivers split the rows
 * (y, dx) or the columns (dgamma, dbeta) over the threads.
 */

void FNN_SFX(fnn_layernorm_forward)(fnn_idx r, fnn_idx d, const REAL *x, const REAL *gamma,
                                    const REAL *beta, REAL *y, REAL *mean, REAL *inv_std,
                                    double eps, int n_threads)
{
    if (r <= 0 || d <= 0) return;
    const int team = fnn_ln_team(r, d, r, n_threads);
    FNN_TEAM_FOR(team, t,
        fnn_idx lo = fnn_chunk_start(r, team, t, 1);
        fnn_idx hi = fnn_chunk_start(r, team, t + 1, 1);
        FNN_LEAF(ln_forward_rows)(d, lo, hi, x, gamma, beta, y, mean, inv_std, eps));
}

void FNN_SFX(fnn_layernorm_backward)(fnn_idx r, fnn_idx d, const REAL *x, const REAL *dy,
                                     const REAL *gamma, const REAL *mean,
                                     const REAL *inv_std, REAL *dx, REAL *dgamma,
                                     REAL *dbeta, int n_threads)
{
    if (d <= 0) return;
    /* the column sums first: dx may be dy */
    const int cteam = fnn_ln_team(r, d, (d + 15) / 16, n_threads);
    FNN_TEAM_FOR(cteam, t,
        fnn_idx lo = fnn_chunk_start(d, cteam, t, 16);
        fnn_idx hi = fnn_chunk_start(d, cteam, t + 1, 16);
        FNN_LEAF(ln_param_grads_cols)(r, d, lo, hi, x, dy, mean, inv_std, dgamma, dbeta));
    if (!dx || r <= 0) return;
    const int rteam = fnn_ln_team(r, d, r, n_threads);
    FNN_TEAM_FOR(rteam, t,
        fnn_idx lo = fnn_chunk_start(r, rteam, t, 1);
        fnn_idx hi = fnn_chunk_start(r, rteam, t + 1, 1);
        FNN_LEAF(ln_dx_rows)(d, lo, hi, x, dy, gamma, mean, inv_std, dx));
}
