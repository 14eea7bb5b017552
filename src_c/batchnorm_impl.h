/* batchnorm_impl.h -- type-generic bodies for batchnorm.c (included once per REAL).
 * The leaves (batchnorm_leaves.h) hold the arithmetic; these drivers split the
 * channels (or rows) over the threads.
 */

/* ------------------------------------------------------------ training forward */

void FNN_SFX(fnn_batchnorm_forward_train)(fnn_idx n, fnn_idx c, fnn_idx s, const REAL *x,
                                          const REAL *gamma, const REAL *beta, REAL *y,
                                          REAL *mean, REAL *inv_std, REAL *running_mean,
                                          REAL *running_var, double momentum, double eps,
                                          int n_threads)
{
    if (!running_var) running_mean = NULL;
    FNN_FOR_CHANNELS(n, c, s, n_threads, lo, hi,
                     if (s == 1) FNN_LEAF(bn_train_cols)(n, c, lo, hi, x, gamma, beta, y, mean,
                                                         inv_std, running_mean, running_var,
                                                         momentum, eps);
                     else FNN_LEAF(bn_train_planes)(n, c, s, lo, hi, x, gamma, beta, y, mean,
                                                    inv_std, running_mean, running_var,
                                                    momentum, eps));
}

/* ------------------------------------------------------------ inference forward */

void FNN_SFX(fnn_batchnorm_forward_infer)(fnn_idx n, fnn_idx c, fnn_idx s, const REAL *x,
                                          const REAL *gamma, const REAL *beta,
                                          const REAL *running_mean, const REAL *running_var,
                                          double eps, REAL *y, int n_threads)
{
    /* Elementwise: split rows (S == 1) or planes over the threads. */
    const fnn_idx units = s == 1 ? n : n * c;
    int team = fnn_team_size(n * c * s, FNN_GRAIN_CHEAP, n_threads);
    if (team > units) team = units > 0 ? (int)units : 1;
    FNN_TEAM_FOR(team, t,
        fnn_idx lo = fnn_chunk_start(units, team, t, 1);
        fnn_idx hi = fnn_chunk_start(units, team, t + 1, 1);
        if (s == 1) FNN_LEAF(bn_infer_cols)(c, lo, hi, x, gamma, beta, running_mean,
                                            running_var, eps, y);
        else FNN_LEAF(bn_infer_planes)(c, s, lo, hi, x, gamma, beta, running_mean,
                                       running_var, eps, y));
}

/* ----------------------------------------------------------------- backward */

void FNN_SFX(fnn_batchnorm_backward)(fnn_idx n, fnn_idx c, fnn_idx s, const REAL *x,
                                     const REAL *dy, const REAL *gamma, const REAL *mean,
                                     const REAL *inv_std, REAL *dx, REAL *dgamma, REAL *dbeta,
                                     int n_threads)
{
    FNN_FOR_CHANNELS(n, c, s, n_threads, lo, hi,
                     if (s == 1) FNN_LEAF(bn_backward_cols)(n, c, lo, hi, x, dy, gamma, mean,
                                                            inv_std, dx, dgamma, dbeta);
                     else FNN_LEAF(bn_backward_planes)(n, c, s, lo, hi, x, dy, gamma, mean,
                                                       inv_std, dx, dgamma, dbeta));
}
