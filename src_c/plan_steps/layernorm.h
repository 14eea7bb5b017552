/* plan_steps/layernorm.h -- the layernorm step (layernorm.h): each sample's values as rows
 * of `channels` features, each row normalized by its own mean and variance, then scaled
 * by W (gamma) and shifted by b (beta); st->mean, st->inv_std keep the rows' statistics
 * for backward. The same in training and inference. Included once per REAL by
 * plan_impl.h. */

static const REAL *FNN_SFX(layernorm_forward)(fnn_plan *p, fnn_step *st, int s,
                                              const REAL *x, fnn_idx rows, int training,
                                              int cols)
{
    (void)s, (void)training, (void)cols;
    REAL *y = (REAL *)st->y;
    FNN_SFX(fnn_layernorm_forward)(rows * (st->in_dim / st->channels), st->channels, x,
                                   (const REAL *)st->W, (const REAL *)st->b, y,
                                   (REAL *)st->mean, (REAL *)st->inv_std, st->eps,
                                   p->n_threads);
    return y;
}

/* dx in place over g */
static void FNN_SFX(layernorm_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                        REAL **g, REAL **other)
{
    (void)cols, (void)other;
    fnn_step *st = &p->steps[*s];
    FNN_SFX(fnn_layernorm_backward)(rows * (st->in_dim / st->channels), st->channels,
                                    (const REAL *)st->x, *g, (const REAL *)st->W,
                                    (const REAL *)st->mean, (const REAL *)st->inv_std,
                                    *s > stop ? *g : NULL, (REAL *)st->dW, (REAL *)st->db,
                                    p->n_threads);
}
