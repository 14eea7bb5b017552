/* plan_steps/time_avgpool.h -- the average over time (pool.h): each sample's values seen
 * as st->spatial steps of st->channels features, (n, steps, features) -> (n, features),
 * the mean over the steps. The same in training and inference. Included once per REAL by
 * plan_impl.h. */

static const REAL *FNN_SFX(time_avgpool_forward)(fnn_plan *p, fnn_step *st, int s,
                                                 const REAL *x, fnn_idx rows, int training,
                                                 int cols)
{
    (void)s, (void)training, (void)cols;
    REAL *y = (REAL *)st->y;
    FNN_SFX(fnn_time_avgpool_forward)(rows, st->spatial, st->channels, x, y, p->n_threads);
    return y;
}

static void FNN_SFX(time_avgpool_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows,
                                           int cols, REAL **g, REAL **other)
{
    (void)stop, (void)cols;
    const fnn_step *st = &p->steps[*s];
    FNN_SFX(fnn_time_avgpool_backward)(rows, st->spatial, st->channels, *g, *other,
                                       p->n_threads);
    FNN_SFX(swap)(g, other);
}
