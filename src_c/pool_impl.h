/* pool_impl.h -- type-generic bodies for pool.c (included once per REAL): the drivers
 * that pick a leaf (pool_leaves.h) for the window and split the planes over the threads.
 */

/* ------------------------------------------------------------------ max pooling */

/* Which fixed-window leaf fits g: 1..4, or 0 for the general one. */
static inline int FNN_SFX(pool_kind)(const fnn_conv_geom *g)
{
    if (g->kh != g->kw || g->sh != g->sw) return 0;
    if (g->kh == 2 && g->sh == 2) return 1;
    if (g->kh == 3 && g->sh == 2) return 2;
    if (g->kh == 3 && g->sh == 1) return 3;
    if (g->kh == 2 && g->sh == 1) return 4;
    return 0;
}

void FNN_SFX(fnn_maxpool_forward)(const fnn_conv_geom *g, fnn_idx n, const REAL *x, REAL *y,
                                  fnn_idx *argmax, int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow, K = g->kh * g->kw;
    const int kind = FNN_SFX(pool_kind)(g);
#ifdef FNN_MAXPOOL2X2
    const fnn_maxpool2x2_variant *fast =
        kind == 1 && fnn_maxpool2x2_fits(g) ? fnn_maxpool2x2_pick() : NULL; /* float32 */
#endif
    FNN_FOR_PLANES(n * g->c, HW > OHW * K ? HW : OHW * K, n_threads, lo, hi,
                   const REAL *xl = x + lo * HW;
                   REAL *yl = y + lo * OHW;
                   fnn_idx *al = argmax + lo * OHW;
                   fnn_idx np = hi - lo;
                   switch (kind) {
                   case 1:
#ifdef FNN_MAXPOOL2X2
                       if (fast) { fast->forward(g, np, xl, yl, al); break; }
#endif
                       FNN_LEAF(maxpool_2x2s2)(g, np, xl, yl, al); break;
                   case 2: FNN_LEAF(maxpool_3x3s2)(g, np, xl, yl, al); break;
                   case 3: FNN_LEAF(maxpool_3x3s1)(g, np, xl, yl, al); break;
                   case 4: FNN_LEAF(maxpool_2x2s1)(g, np, xl, yl, al); break;
                   default: FNN_LEAF(maxpool_planes)(g, np, xl, yl, al);
                   });
}

/* Zero each dx plane (it stays in L1), then scatter dy in output order. Only the plane
 * sizes are read from g: argmax says where each gradient goes. */
static void FNN_SFX(maxpool_backward_planes)(fnn_idx hw, fnn_idx ohw, fnn_idx planes,
                                             const REAL *dy, const fnn_idx *argmax, REAL *dx)
{
    for (fnn_idx p = 0; p < planes; ++p) {
        REAL *dxp = dx + p * hw;
        const REAL *dyp = dy + p * ohw;
        const fnn_idx *ap = argmax + p * ohw;
        memset(dxp, 0, (size_t)hw * sizeof(REAL));
        for (fnn_idx o = 0; o < ohw; ++o) dxp[ap[o]] += dyp[o];
    }
}

void FNN_SFX(fnn_maxpool_backward)(const fnn_conv_geom *g, fnn_idx n, const REAL *dy,
                                   const fnn_idx *argmax, REAL *dx, int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow;
#ifdef FNN_MAXPOOL2X2
    const fnn_maxpool2x2_variant *fast =
        fnn_maxpool2x2_bwd_fits(g) ? fnn_maxpool2x2_pick() : NULL; /* float32: pool_variants.h */
    if (fast) {
        FNN_FOR_PLANES(n * g->c, HW + OHW, n_threads, lo, hi,
                       fast->backward(g, hi - lo, dy + lo * OHW, argmax + lo * OHW,
                                      dx + lo * HW, FNN_SFX(maxpool_backward_planes)));
        return;
    }
#endif
    FNN_FOR_PLANES(n * g->c, HW + OHW, n_threads, lo, hi,
                   FNN_SFX(maxpool_backward_planes)(HW, OHW, hi - lo, dy + lo * OHW,
                                                    argmax + lo * OHW, dx + lo * HW));
}

/* -------------------------------------------------------------- average pooling */

void FNN_SFX(fnn_avgpool_forward)(const fnn_conv_geom *g, fnn_idx n, const REAL *x, REAL *y,
                                  int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow, K = g->kh * g->kw;
    const int kind = FNN_SFX(pool_kind)(g);
    FNN_FOR_PLANES(n * g->c, HW > OHW * K ? HW : OHW * K, n_threads, lo, hi,
                   const REAL *xl = x + lo * HW;
                   REAL *yl = y + lo * OHW;
                   fnn_idx np = hi - lo;
                   switch (kind) {
                   case 1: FNN_LEAF(avgpool_2x2s2x2)(g, np, xl, yl); break;
                   case 2: FNN_LEAF(avgpool_3x3s2x2)(g, np, xl, yl); break;
                   case 3: FNN_LEAF(avgpool_3x3s1x1)(g, np, xl, yl); break;
                   case 4: FNN_LEAF(avgpool_2x2s1x1)(g, np, xl, yl); break;
                   default: FNN_LEAF(avgpool_planes)(g, np, xl, yl);
                   });
}

void FNN_SFX(fnn_avgpool_backward)(const fnn_conv_geom *g, fnn_idx n, const REAL *dy,
                                   REAL *dx, int n_threads)
{
    const fnn_idx HW = g->h * g->w, OHW = g->oh * g->ow, K = g->kh * g->kw;
    const int k2s2 = FNN_SFX(pool_kind)(g) == 1;
    FNN_FOR_PLANES(n * g->c, HW > OHW * K ? HW : OHW * K, n_threads, lo, hi,
                   if (k2s2) FNN_LEAF(avgpool_backward_2x2s2)(g, hi - lo, dy + lo * OHW,
                                                              dx + lo * HW);
                   else FNN_LEAF(avgpool_backward_planes)(g, hi - lo, dy + lo * OHW,
                                                          dx + lo * HW));
}

/* ------------------------------------------------------- global average pooling */

void FNN_SFX(fnn_global_avgpool_forward)(fnn_idx rows, fnn_idx s, const REAL *x, REAL *y,
                                         int n_threads)
{
    FNN_FOR_PLANES(rows, s, n_threads, lo, hi,
                   FNN_LEAF(global_avgpool_rows)(hi - lo, s, x + lo * s, y + lo));
}

void FNN_SFX(fnn_global_avgpool_backward)(fnn_idx rows, fnn_idx s, const REAL *dy, REAL *dx,
                                          int n_threads)
{
    FNN_FOR_PLANES(rows, s, n_threads, lo, hi,
                   FNN_LEAF(global_avgpool_backward_rows)(hi - lo, s, dy + lo, dx + lo * s));
}

/* ---------------------------------------------------------- average over time */

/* Threads split the samples: each (sample, feature) mean is summed by one thread in
 * step order, so the result does not depend on the thread count. */
void FNN_SFX(fnn_time_avgpool_forward)(fnn_idx n, fnn_idx t, fnn_idx f, const REAL *x,
                                       REAL *y, int n_threads)
{
    if (t <= 0 || f <= 0) return;
    FNN_FOR_PLANES(n, t * f, n_threads, lo, hi,
                   FNN_LEAF(time_avgpool_samples)(hi - lo, t, f, x + lo * t * f, y + lo * f));
}

void FNN_SFX(fnn_time_avgpool_backward)(fnn_idx n, fnn_idx t, fnn_idx f, const REAL *dy,
                                        REAL *dx, int n_threads)
{
    if (t <= 0 || f <= 0) return;
    FNN_FOR_PLANES(n, t * f, n_threads, lo, hi,
                   FNN_LEAF(time_avgpool_backward_samples)(hi - lo, t, f, dy + lo * f,
                                                           dx + lo * t * f));
}
