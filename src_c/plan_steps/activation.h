/* plan_steps/activation.h -- the activation step: y = f(x) elementwise, or row by row for
 * softmax / log_softmax (activations.h, st->activation an enum fnn_activation). Included
 * once per REAL by plan_impl.h. */

static const REAL *FNN_SFX(activation_forward)(fnn_plan *p, fnn_step *st, int s,
                                               const REAL *x, fnn_idx rows, int training,
                                               int cols)
{
    REAL *y = (REAL *)st->y;
    FNN_SFX(fnn_activation_forward)(st->activation)(rows, st->out_dim, x, y,
                                                    (REAL)st->alpha, p->n_threads);
    return y;
}

/* dx in place over g */
static void FNN_SFX(activation_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows,
                                         int cols, REAL **g, REAL **other)
{
    const fnn_step *st = &p->steps[*s];
    FNN_SFX(fnn_activation_backward)(st->activation)(rows, st->out_dim, *g,
                                                     (const REAL *)st->x,
                                                     (const REAL *)st->y, *g,
                                                     (REAL)st->alpha, p->n_threads);
}
