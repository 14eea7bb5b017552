/* plan_steps/bidirectional.h -- the bidirectional step: fastnn's Bidirectional, a
 * recurrent layer run over each sequence both ways. Its two directions are recurrent
 * steps of their own (st->dirs; dirs[1] reads backwards, go_backwards), run by
 * recurrent.h's forward and rnn_backward, and their outputs merged (enum fnn_merge) as
 * Bidirectional._forward / backward merge and split them, with the same products: the
 * plan and the per-layer path agree to the bit.
 *
 * With every step's output (return_sequences), the backward direction's outputs come in
 * its reading order; step t of the merged output takes its step rnn_source(t) (the
 * mapping is its own inverse, and leaves padding in place). Backward splits dL/dy into
 * each direction's dL/d(output) in that direction's order, and dL/dx is the forward
 * direction's plus the backward one's.
 * Included once per REAL by plan_impl.h, after recurrent.h. */

/* A direction's output from its last forward over `rows` rows, as recurrent_forward
 * returned it: the last state, or every step's in its reading order. */
static const REAL *FNN_SFX(bidir_output)(const fnn_step *d, fnn_idx rows)
{
    const fnn_plan_rnn *r = d->rnn;
    if (r->return_sequences) return (const REAL *)d->y;
    return (const REAL *)r->hs + (r->t_steps - 1) * rows * r->units;
}

/* Where output step t of row b is in the backward direction's reading order. */
static inline fnn_idx FNN_SFX(bidir_step)(const fnn_plan_rnn *r, fnn_idx b, fnn_idx t)
{
    return r->return_sequences ? FNN_SFX(rnn_source)(r, b, t) : t;
}

static const REAL *FNN_SFX(bidirectional_forward)(fnn_plan *p, fnn_step *st, int s,
                                                  const REAL *x, fnn_idx rows, int training,
                                                  int cols)
{
    fnn_step *fw = &st->dirs[0], *bw = &st->dirs[1];
    const REAL *yf = FNN_SFX(recurrent_forward)(p, fw, s, x, rows, training, cols);
    const REAL *yb = FNN_SFX(recurrent_forward)(p, bw, s, x, rows, training, cols);
    const fnn_plan_rnn *r = bw->rnn;
    fnn_idx h = r->units, t_out = r->return_sequences ? r->t_steps : 1;
    REAL *y = (REAL *)st->y;
    for (fnn_idx b = 0; b < rows; ++b)
        for (fnn_idx t = 0; t < t_out; ++t) {
            const REAL *f = yf + (b * t_out + t) * h;
            const REAL *v = yb + (b * t_out + FNN_SFX(bidir_step)(r, b, t)) * h;
            if (st->merge == FNN_MERGE_CONCAT) {
                REAL *dst = y + (b * t_out + t) * 2 * h;
                memcpy(dst, f, (size_t)h * sizeof(REAL));
                memcpy(dst + h, v, (size_t)h * sizeof(REAL));
                continue;
            }
            REAL *dst = y + (b * t_out + t) * h;
            for (fnn_idx j = 0; j < h; ++j) {
                if (st->merge == FNN_MERGE_SUM)
                    dst[j] = f[j] + v[j];
                else if (st->merge == FNN_MERGE_MUL)
                    dst[j] = f[j] * v[j];
                else
                    dst[j] = (REAL)(f[j] + v[j]) * (REAL)0.5;
            }
        }
    return y;
}

static void FNN_SFX(bidirectional_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows,
                                            int cols, REAL **g, REAL **other)
{
    (void)cols;
    const fnn_step *st = &p->steps[*s];
    const fnn_step *fw = &st->dirs[0], *bw = &st->dirs[1];
    const fnn_plan_rnn *r = bw->rnn;
    fnn_idx h = r->units, t_out = r->return_sequences ? r->t_steps : 1;
    const REAL *yf = FNN_SFX(bidir_output)(fw, rows), *yb = FNN_SFX(bidir_output)(bw, rows);
    REAL *gf = (REAL *)st->gdir[0], *gb = (REAL *)st->gdir[1];
    for (fnn_idx b = 0; b < rows; ++b)
        for (fnn_idx t = 0; t < t_out; ++t) {
            fnn_idx i = (b * t_out + t) * h;                             /* time order */
            fnn_idx k = (b * t_out + FNN_SFX(bidir_step)(r, b, t)) * h;  /* bw's order */
            if (st->merge == FNN_MERGE_CONCAT) {
                const REAL *dy = *g + 2 * i;
                memcpy(gf + i, dy, (size_t)h * sizeof(REAL));
                memcpy(gb + k, dy + h, (size_t)h * sizeof(REAL));
                continue;
            }
            const REAL *dy = *g + i;
            for (fnn_idx j = 0; j < h; ++j) {
                if (st->merge == FNN_MERGE_SUM) {
                    gf[i + j] = gb[k + j] = dy[j];
                } else if (st->merge == FNN_MERGE_MUL) {
                    gf[i + j] = dy[j] * yb[k + j];
                    gb[k + j] = dy[j] * yf[i + j];
                } else {
                    gf[i + j] = gb[k + j] = dy[j] * (REAL)0.5;
                }
            }
        }
    int dx = *s > stop;
    FNN_SFX(rnn_backward)(p, fw, rows, gf, dx ? *other : NULL);
    FNN_SFX(rnn_backward)(p, bw, rows, gb, dx ? (REAL *)st->dx_rev : NULL);
    if (dx) {
        const REAL *dxb = (const REAL *)st->dx_rev;
        REAL *dxf = *other;
        for (fnn_idx i = 0; i < rows * st->in_dim; ++i) dxf[i] = dxf[i] + dxb[i];
        FNN_SFX(swap)(g, other);
    }
}

/* trains when either direction does (a direction's trainable is its layer's) */
static int FNN_SFX(bidirectional_has_params)(const fnn_step *st)
{
    return st->dirs[0].trainable || st->dirs[1].trainable;
}
