/* plan_steps/batchnorm.h -- the batchnorm step (batchnorm.h): W = gamma, b = beta, the
 * input seen as (n, channels, spatial). Training normalizes by the batch's statistics
 * (kept in st->mean, st->inv_std for backward) and updates the running ones; inference
 * uses the running ones. Included once per REAL by plan_impl.h. */

static const REAL *FNN_SFX(batchnorm_forward)(fnn_plan *p, fnn_step *st, int s,
                                              const REAL *x, fnn_idx rows, int training,
                                              int cols)
{
    REAL *y = (REAL *)st->y;
    if (training)
        FNN_SFX(fnn_batchnorm_forward_train)(
            rows, st->channels, st->spatial, x, (const REAL *)st->W,
            (const REAL *)st->b, y, (REAL *)st->mean, (REAL *)st->inv_std,
            (REAL *)st->running_mean, (REAL *)st->running_var, st->momentum, st->eps,
            p->n_threads);
    else
        FNN_SFX(fnn_batchnorm_forward_infer)(
            rows, st->channels, st->spatial, x, (const REAL *)st->W,
            (const REAL *)st->b, (const REAL *)st->running_mean,
            (const REAL *)st->running_var, st->eps, y, p->n_threads);
    return y;
}

/* dx in place over g */
static void FNN_SFX(batchnorm_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                        REAL **g, REAL **other)
{
    fnn_step *st = &p->steps[*s];
    FNN_SFX(fnn_batchnorm_backward)(rows, st->channels, st->spatial, (const REAL *)st->x, *g,
                                    (const REAL *)st->W, (const REAL *)st->mean,
                                    (const REAL *)st->inv_std, *s > stop ? *g : NULL,
                                    (REAL *)st->dW, (REAL *)st->db, p->n_threads);
}
