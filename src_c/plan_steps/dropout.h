/* plan_steps/dropout.h -- the dropout step (dropout.h): in training y = x * mask, the
 * mask of element i hash(seed, offset + i) with offset advanced per batch; outside
 * training the input passes through. Included once per REAL by plan_impl.h. */

static const REAL *FNN_SFX(dropout_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                            fnn_idx rows, int training, int cols)
{
    if (!training) return x;
    fnn_idx n = rows * st->out_dim;
    FNN_SFX(fnn_dropout_forward)(n, x, (REAL *)st->y, (REAL *)st->mask, st->rate, st->seed,
                                 st->offset, p->n_threads);
    st->offset += (uint64_t)n;
    return (const REAL *)st->y;
}

/* dx in place over g */
static void FNN_SFX(dropout_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                      REAL **g, REAL **other)
{
    const fnn_step *st = &p->steps[*s];
    FNN_SFX(fnn_dropout_backward)(rows * st->out_dim, *g, (const REAL *)st->mask, *g,
                                  p->n_threads);
}
