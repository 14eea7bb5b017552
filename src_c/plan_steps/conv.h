/* plan_steps/conv.h -- the conv step: im2col + GEMM, or the conv family's direct and
 * implicit-GEMM kernels where they take the geometry (conv.h; W (F, C, KH, KW), st->geom,
 * st->cols its im2col workspace). Included once per REAL by plan_impl.h. */

static const REAL *FNN_SFX(conv_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                         fnn_idx rows, int training, int cols)
{
    REAL *y = (REAL *)st->y;
    FNN_SFX(fnn_conv_forward)((FNN_SFX(gemm_fn))p->gemm, p->gemm_threads, &st->geom, rows, x,
                              (const REAL *)st->W, (const REAL *)st->b, y, (REAL *)st->cols,
                              (REAL *)p->conv_tmp, p->n_threads);
    return y;
}

static void FNN_SFX(conv_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                   REAL **g, REAL **other)
{
    fnn_step *st = &p->steps[*s];
    /* dW, db always (like dense: into the layer's grads); dx for the step before */
    FNN_SFX(fnn_conv_backward)((FNN_SFX(gemm_fn))p->gemm, p->gemm_threads, &st->geom, rows,
                               (const REAL *)st->x, (REAL *)st->cols, (const REAL *)st->W, *g,
                               *s > stop ? *other : NULL, (REAL *)st->dW, (REAL *)st->db,
                               (REAL *)p->conv_tmp, (REAL *)p->conv_dcols, p->n_threads);
    if (*s > stop) FNN_SFX(swap)(g, other);
}
