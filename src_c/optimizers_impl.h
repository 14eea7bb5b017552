/* optimizers_impl.h -- type-generic bodies for optimizers.c (included once per REAL).
 * Hyperparameters arrive as double and are rounded to REAL once, as the numpy twin does.
 */

/* ---------------------------------------------------------------------------- SGD */

void FNN_SFX(fnn_sgd)(fnn_idx n, REAL *param, const REAL *grad, REAL *velocity, double lr,
                      double momentum, int nesterov, double weight_decay, int n_threads)
{
    REAL *vel = momentum != 0 ? velocity : NULL;
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP, n_threads, lo, len,
                   FNN_LEAF(sgd_leaf)(len, param + lo, grad + lo, vel ? vel + lo : NULL,
                                      (REAL)lr, (REAL)momentum, nesterov, (REAL)weight_decay));
}

/* ------------------------------------------------------------------- Adam / AdamW */

typedef FNN_SFX(fnn_adam_coefs) FNN_SFX(adam_coefs);

void FNN_SFX(fnn_adam_prepare)(FNN_SFX(adam_coefs) *k, long long step, double lr,
                               double beta1, double beta2, double eps, double weight_decay,
                               int decoupled)
{
    k->beta1 = (REAL)beta1;
    k->one_minus_beta1 = (REAL)(1.0 - beta1);
    k->beta2 = (REAL)beta2;
    k->one_minus_beta2 = (REAL)(1.0 - beta2);
    k->eps = (REAL)eps;
    k->l2 = decoupled ? (REAL)0 : (REAL)weight_decay;
    k->shrink = decoupled ? (REAL)(1.0 - lr * weight_decay) : (REAL)1;
    k->step_size = (REAL)(lr / (1.0 - pow(beta1, (double)step)));
    k->inv_sqrt_bc2 = (REAL)(1.0 / sqrt(1.0 - pow(beta2, (double)step)));
}

void FNN_SFX(fnn_adam_apply)(fnn_idx n, REAL *param, const REAL *grad, REAL *m, REAL *v,
                             REAL *v_max, const FNN_SFX(adam_coefs) *k)
{
#ifdef FNN_ADAM_FAST
    if (!v_max && FNN_ADAM_FAST(n, param, grad, m, v, k)) return;
#endif
    FNN_LEAF(adam_leaf)(n, param, grad, m, v, v_max, k);
}

void FNN_SFX(fnn_adam)(fnn_idx n, REAL *param, const REAL *grad, REAL *m, REAL *v, REAL *v_max,
                       long long step, double lr, double beta1, double beta2, double eps,
                       double weight_decay, int decoupled, int n_threads)
{
    FNN_SFX(adam_coefs) k;
    FNN_SFX(fnn_adam_prepare)(&k, step, lr, beta1, beta2, eps, weight_decay, decoupled);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP / 4, n_threads, lo, len,
                   FNN_SFX(fnn_adam_apply)(len, param + lo, grad + lo, m + lo, v + lo,
                                           v_max ? v_max + lo : NULL, &k));
}

/* ------------------------------------------------------------------------ RMSprop */

void FNN_SFX(fnn_rmsprop)(fnn_idx n, REAL *param, const REAL *grad, REAL *square_avg,
                          REAL *grad_avg, REAL *velocity, double lr, double rho, double eps,
                          double weight_decay, double momentum, int n_threads)
{
    REAL *vel = momentum != 0 ? velocity : NULL;
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP / 4, n_threads, lo, len,
                   FNN_LEAF(rmsprop_leaf)(len, param + lo, grad + lo, square_avg + lo,
                                          grad_avg ? grad_avg + lo : NULL,
                                          vel ? vel + lo : NULL, (REAL)lr, (REAL)rho,
                                          (REAL)(1.0 - rho), (REAL)eps, (REAL)weight_decay,
                                          (REAL)momentum));
}

/* ------------------------------------------------------------ gradient-norm helpers */

double FNN_SFX(fnn_sum_squares)(fnn_idx n, const REAL *x, int n_threads)
{
    /* Blocks depend on n only; each block's sum is computed by one thread and the block
     * sums are added in order, so any thread count gives the same bits. */
    fnn_idx block = (n + FNN_MAX_BLOCKS - 1) / FNN_MAX_BLOCKS;
    if (block < FNN_MIN_BLOCK) block = FNN_MIN_BLOCK;
    int nblocks = (int)((n + block - 1) / block);
    double partial[FNN_MAX_BLOCKS];
    int team = fnn_team_size(n, FNN_GRAIN_CHEAP, n_threads);
    if (team > 1) {
#pragma omp parallel for num_threads(team) schedule(static)
        for (int b = 0; b < nblocks; ++b) {
            fnn_idx lo = b * block, hi = lo + block < n ? lo + block : n;
            partial[b] = FNN_LEAF(sum_squares_leaf)(hi - lo, x + lo);
        }
    } else {
        for (int b = 0; b < nblocks; ++b) {
            fnn_idx lo = b * block, hi = lo + block < n ? lo + block : n;
            partial[b] = FNN_LEAF(sum_squares_leaf)(hi - lo, x + lo);
        }
    }
    double total = 0;
    for (int b = 0; b < nblocks; ++b) total += partial[b];
    return total;
}

void FNN_SFX(fnn_scale)(fnn_idx n, REAL *x, double factor, int n_threads)
{
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP, n_threads, lo, len,
                   FNN_LEAF(scale_leaf)(len, x + lo, (REAL)factor));
}

