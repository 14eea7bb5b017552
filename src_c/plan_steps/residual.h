/* plan_steps/residual.h -- the two ends of a residual block (residual.h), which point at
 * each other (st->partner). res_begin marks the block's input; res_end adds it, or its
 * projection (st->proj, enum fnn_proj: a dense or conv with W, b, dW, db of the res_end
 * step), to the inner layers' output. Included once per REAL by plan_impl.h. */

/* the block's input stays the current value; st->x remembers it */
static const REAL *FNN_SFX(res_begin_forward)(fnn_plan *p, fnn_step *st, int s,
                                              const REAL *x, fnn_idx rows, int training,
                                              int cols)
{
    return x;
}

/* the block's input gets both paths' gradients */
static void FNN_SFX(res_begin_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                        REAL **g, REAL **other)
{
    const fnn_step *st = &p->steps[*s];
    const fnn_step *end = &p->steps[st->partner];
    FNN_SFX(fnn_residual_add)(rows * st->in_dim, *g, (const REAL *)end->skip, *g,
                              p->n_threads);
}

static const REAL *FNN_SFX(res_end_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                            fnn_idx rows, int training, int cols)
{
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    int nt = p->n_threads, gt = p->gemm_threads;
    REAL *y = (REAL *)st->y;
    const REAL *xb = (const REAL *)p->steps[st->partner].x;
    if (st->proj == FNN_PROJ_CONV) {
        FNN_SFX(fnn_conv_forward)(gemm, gt, &st->geom, rows, xb, (const REAL *)st->W,
                                  (const REAL *)st->b, y, (REAL *)st->cols,
                                  (REAL *)p->conv_tmp, nt);
        FNN_SFX(fnn_residual_add)(rows * st->out_dim, y, x, y, nt);
    } else if (st->proj == FNN_PROJ_DENSE) {
        fnn_idx d_in = p->steps[st->partner].in_dim;
        if (st->b) FNN_SFX(fnn_bias_rows)(rows, st->out_dim, (const REAL *)st->b, y, nt);
        FNN_SFX(fnn_gemm_team)(gemm, 0, 0, rows, st->out_dim, d_in, (REAL)1, xb,
                               (const REAL *)st->W, st->b ? (REAL)1 : (REAL)0, y, gt);
        FNN_SFX(fnn_residual_add)(rows * st->out_dim, y, x, y, nt);
    } else {
        FNN_SFX(fnn_residual_add)(rows * st->out_dim, x, xb, y, nt);
    }
    return y;
}

static void FNN_SFX(res_end_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                      REAL **g, REAL **other)
{
    FNN_SFX(gemm_fn) gemm = (FNN_SFX(gemm_fn))p->gemm;
    int nt = p->n_threads, gt = p->gemm_threads;
    fnn_step *st = &p->steps[*s];
    /* g flows on unchanged into the inner layers; the skip connection's share
     * waits in st->skip for res_begin (needed only if backward reaches it) */
    int need = st->partner > stop;
    const REAL *xb = (const REAL *)p->steps[st->partner].x;
    REAL *skip = (REAL *)st->skip;
    if (st->proj == FNN_PROJ_CONV) {
        FNN_SFX(fnn_conv_backward)(gemm, gt, &st->geom, rows, xb, (REAL *)st->cols,
                                   (const REAL *)st->W, *g, need ? skip : NULL,
                                   (REAL *)st->dW, (REAL *)st->db,
                                   (REAL *)p->conv_tmp, (REAL *)p->conv_dcols, nt);
    } else if (st->proj == FNN_PROJ_DENSE) {
        fnn_idx d_in = p->steps[st->partner].in_dim;
        FNN_SFX(fnn_gemm_team)(gemm, 1, 0, d_in, st->out_dim, rows, (REAL)1, xb, *g,
                               (REAL)0, (REAL *)st->dW, gt);
        if (st->b)
            FNN_SFX(fnn_column_sums)(rows, st->out_dim, *g, (REAL *)st->db, 0, nt);
        if (need)
            FNN_SFX(fnn_gemm_team)(gemm, 0, 1, rows, d_in, st->out_dim, (REAL)1, *g,
                                   (const REAL *)st->W, (REAL)0, skip, gt);
    } else if (need) {
        memcpy(skip, *g, (size_t)(rows * st->out_dim) * sizeof(REAL));
    }
}

/* res_end has parameters only with a projection */
static int FNN_SFX(res_end_has_params)(const fnn_step *st)
{
    return st->proj != FNN_PROJ_NONE;
}
