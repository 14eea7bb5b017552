/* plan_steps/pool.h -- the pooling steps (pool.h): max and average pooling over windows
 * of st->geom, and global average pooling of the input seen as (n, channels, spatial)
 * -> (n, channels). Included once per REAL by plan_impl.h. */

static const REAL *FNN_SFX(maxpool_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                            fnn_idx rows, int training, int cols)
{
    REAL *y = (REAL *)st->y;
    FNN_SFX(fnn_maxpool_forward)(&st->geom, rows, x, y, st->argmax, p->n_threads);
    return y;
}

/* With FNN_PLAN_POOLED (float32) and st->pooled (plan.h), this may also run the conv step
 * just before it and move *s onto that step, which is then done. */
static void FNN_SFX(maxpool_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                      REAL **g, REAL **other)
{
    fnn_step *st = &p->steps[*s];
#ifdef FNN_PLAN_POOLED
    if (st->pooled && st->pooled - 1 == stop) {
        /* the first trained layer, a conv on the direct kernels, and this pooling
         * in one: dW and db straight from the pooled gradient (no dx is due) */
        fnn_step *cv = &p->steps[st->pooled - 1];
        fnn_conv_pooled_dw_run(&cv->geom, &st->geom, rows, (const REAL *)cv->x, *g,
                               st->argmax, (REAL *)cv->dW, (REAL *)cv->db, p->n_threads);
        *s = st->pooled - 1; /* the conv's step is done */
        return;
    }
#endif
    FNN_SFX(fnn_maxpool_backward)(&st->geom, rows, *g, st->argmax, *other, p->n_threads);
    FNN_SFX(swap)(g, other);
}

static const REAL *FNN_SFX(avgpool_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                            fnn_idx rows, int training, int cols)
{
    REAL *y = (REAL *)st->y;
    FNN_SFX(fnn_avgpool_forward)(&st->geom, rows, x, y, p->n_threads);
    return y;
}

static void FNN_SFX(avgpool_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                      REAL **g, REAL **other)
{
    const fnn_step *st = &p->steps[*s];
    FNN_SFX(fnn_avgpool_backward)(&st->geom, rows, *g, *other, p->n_threads);
    FNN_SFX(swap)(g, other);
}

static const REAL *FNN_SFX(global_avgpool_forward)(fnn_plan *p, fnn_step *st, int s,
                                                   const REAL *x, fnn_idx rows, int training,
                                                   int cols)
{
    REAL *y = (REAL *)st->y;
    FNN_SFX(fnn_global_avgpool_forward)(rows * st->channels, st->spatial, x, y, p->n_threads);
    return y;
}

static void FNN_SFX(global_avgpool_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows,
                                             int cols, REAL **g, REAL **other)
{
    const fnn_step *st = &p->steps[*s];
    FNN_SFX(fnn_global_avgpool_backward)(rows * st->channels, st->spatial, *g, *other,
                                         p->n_threads);
    FNN_SFX(swap)(g, other);
}
