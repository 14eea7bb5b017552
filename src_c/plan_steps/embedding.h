/* plan_steps/embedding.h -- the embedding step (embedding.h): the first step of a model
 * whose X holds indices (the plan reads X in its float dtype, where they are exact),
 * each looked up in W (vocab x channels); y is (rows, in_dim * channels). Backward forms
 * dW with the kernel the layer uses (same order: bit for bit); indices have no gradient.
 * Included once per REAL by plan_impl.h. */

static const REAL *FNN_SFX(embedding_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                              fnn_idx rows, int training, int cols)
{
    (void)s, (void)training, (void)cols;
    fnn_idx n = rows * st->in_dim;
    for (fnn_idx i = 0; i < n; ++i) st->idx[i] = (fnn_idx)x[i];
    FNN_SFX(fnn_embedding_forward)(n, st->channels, st->idx, (const REAL *)st->W,
                                   (REAL *)st->y, p->n_threads);
    return (const REAL *)st->y;
}

static void FNN_SFX(embedding_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                        REAL **g, REAL **other)
{
    (void)stop, (void)cols, (void)other;
    fnn_step *st = &p->steps[*s];
    if (st->trainable)
        FNN_SFX(fnn_embedding_backward)(rows * st->in_dim, st->vocab, st->channels, st->idx,
                                        *g, st->padding_idx, (REAL *)st->dW, p->n_threads);
}
