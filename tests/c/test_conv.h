/* test_conv.h -- the conv family (conv_variants.h) against plain loops summed in double:
 * random geometries inside each kernel's shape rule, padding on any side, filter counts
 * and rows that leave every tile and vector partly filled. Included by test_variants.c. */

/* x[i, c, ih, iw], 0 outside the image (zero padding) */
static double xat(const fnn_conv_geom *g, const float *x, fnn_idx i, fnn_idx c, fnn_idx ih,
                  fnn_idx iw)
{
    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) return 0.0;
    return x[((i * g->c + c) * g->h + ih) * g->w + iw];
}

/* A stride-1 geometry: n samples, padding pt/pl (pb/pr through oh/ow). */
static fnn_conv_geom conv_geom(fnn_idx c, fnn_idx h, fnn_idx w, fnn_idx f, fnn_idx kh, fnn_idx kw,
                               fnn_idx pt, fnn_idx pb, fnn_idx pl, fnn_idx pr)
{
    fnn_conv_geom g = {0};
    g.c = c, g.h = h, g.w = w, g.f = f, g.kh = kh, g.kw = kw;
    g.sh = g.sw = g.dh = g.dw = 1;
    g.pt = pt, g.pl = pl;
    g.oh = h + pt + pb - kh + 1;
    g.ow = w + pl + pr - kw + 1;
    return g;
}

/* y = conv(x, w) + b and dw = sum dy * x, in double; scale: the sums of |products| */
static void conv_ref(const fnn_conv_geom *g, fnn_idx n, const float *x, const float *w,
                     const float *b, const float *dy, double *y, double *ys, double *dw,
                     double *dws)
{
    const fnn_idx C = g->c, F = g->f, KH = g->kh, KW = g->kw, OH = g->oh, OW = g->ow;
    const fnn_idx K = C * KH * KW;
    for (fnn_idx j = 0; j < F * K; ++j) dw[j] = dws[j] = 0.0;
    for (fnn_idx i = 0; i < n; ++i)
        for (fnn_idx f = 0; f < F; ++f)
            for (fnn_idx oh = 0; oh < OH; ++oh)
                for (fnn_idx ow = 0; ow < OW; ++ow) {
                    const fnn_idx o = ((i * F + f) * OH + oh) * OW + ow;
                    double s = b ? b[f] : 0.0, sa = b ? fabs(b[f]) : 0.0;
                    for (fnn_idx c = 0; c < C; ++c)
                        for (fnn_idx kh = 0; kh < KH; ++kh)
                            for (fnn_idx kw = 0; kw < KW; ++kw) {
                                const double xv = xat(g, x, i, c, oh + kh - g->pt, ow + kw - g->pl);
                                const fnn_idx k = (c * KH + kh) * KW + kw;
                                s += w[f * K + k] * xv;
                                sa += fabs(w[f * K + k] * xv);
                                if (dy) {
                                    dw[f * K + k] += dy[o] * xv;
                                    dws[f * K + k] += fabs(dy[o] * xv);
                                }
                            }
                    y[o] = s;
                    ys[o] = sa;
                }
}

/* dx = the adjoint of the convolution (col2im of W^T dy), in double */
static void conv_dx_ref(const fnn_conv_geom *g, fnn_idx n, const float *w, const float *dy,
                        double *dx, double *dxs)
{
    const fnn_idx C = g->c, F = g->f, KH = g->kh, KW = g->kw, OH = g->oh, OW = g->ow;
    const fnn_idx H = g->h, W = g->w, K = C * KH * KW;
    for (fnn_idx j = 0; j < n * C * H * W; ++j) dx[j] = dxs[j] = 0.0;
    for (fnn_idx i = 0; i < n; ++i)
        for (fnn_idx f = 0; f < F; ++f)
            for (fnn_idx oh = 0; oh < OH; ++oh)
                for (fnn_idx ow = 0; ow < OW; ++ow)
                    for (fnn_idx c = 0; c < C; ++c)
                        for (fnn_idx kh = 0; kh < KH; ++kh)
                            for (fnn_idx kw = 0; kw < KW; ++kw) {
                                const fnn_idx ih = oh + kh - g->pt, iw = ow + kw - g->pl;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                const double p = (double)w[f * K + (c * KH + kh) * KW + kw] *
                                                 dy[((i * F + f) * OH + oh) * OW + ow];
                                dx[((i * C + c) * H + ih) * W + iw] += p;
                                dxs[((i * C + c) * H + ih) * W + iw] += fabs(p);
                            }
}

static int all_close(const float *got, const double *want, const double *scale, fnn_idx len,
                     int k)
{
    for (fnn_idx j = 0; j < len; ++j)
        if (!close_to(got[j], want[j], scale[j], k)) return 0;
    return 1;
}

/* A random stride-1 geometry the rule `ok` takes (up to 200 tries), NULL-free. */
static int random_conv(fnn_conv_geom *g, int (*ok)(const fnn_conv_geom *), int padded,
                       fnn_idx max_c, fnn_idx max_f, fnn_idx max_w)
{
    for (int t = 0; t < 200; ++t) {
        const fnn_idx kh = randint(1, 6), kw = randint(1, 7);
        const fnn_idx pt = padded ? randint(0, 2) : 0, pb = padded ? randint(0, 2) : 0;
        const fnn_idx pl = padded ? randint(0, 3) : 0, pr = padded ? randint(0, 3) : 0;
        const fnn_idx h = randint(kh > pt + pb ? kh - pt - pb : 1, 14);
        const fnn_idx w = randint(kw > pl + pr ? kw - pl - pr : 1, (int)max_w);
        *g = conv_geom(randint(1, (int)max_c), h, w, randint(1, (int)max_f), kh, kw, pt, pb, pl, pr);
        if (g->oh >= 1 && g->ow >= 1 && ok(g)) return 1;
    }
    return 0;
}

static void test_conv(const fnn_conv_variant *v)
{
    int fwd = 0, dw_cases = 0, pooled = 0, imp = 0, idx = 0, c2i = 0;
    for (int trial = 0; trial < 120; ++trial) {
        /* direct: forward and dW (few channels, padding on any side) */
        fnn_conv_geom g;
        if (!random_conv(&g, fnn_conv_direct_ok, trial % 4 != 0, 3, 19, 45)) continue;
        const fnn_idx n = randint(1, 3), K = g.c * g.kh * g.kw, F = g.f;
        const fnn_idx xs = n * g.c * g.h * g.w, ysz = n * F * g.oh * g.ow;
        float *x = randn((size_t)xs, 0.1), *w = randn((size_t)(F * K), 0.0);
        float *b = randn((size_t)F, 0.0), *dy = randn((size_t)ysz, 0.3);
        float *y = malloc((size_t)ysz * sizeof *y), *dw = malloc((size_t)(F * K) * sizeof *dw);
        double *yr = malloc((size_t)ysz * sizeof *yr), *yrs = malloc((size_t)ysz * sizeof *yrs);
        double *dwr = malloc((size_t)(F * K) * sizeof *dwr), *dwrs = malloc((size_t)(F * K) * sizeof *dwrs);
        conv_ref(&g, n, x, w, trial % 3 ? b : NULL, dy, yr, yrs, dwr, dwrs);
        v->direct_forward(&g, 0, n, x, w, trial % 3 ? b : NULL, y);
        CHECK(all_close(y, yr, yrs, ysz, (int)K), "%s conv direct forward c=%ld %ldx%ld f=%ld k=%ldx%ld p=%ld,%ld",
              v->name, (long)g.c, (long)g.h, (long)g.w, (long)F, (long)g.kh, (long)g.kw, (long)g.pt, (long)g.pl);
        for (fnn_idx j = 0; j < F * K; ++j) dw[j] = NAN;
        v->direct_dw(&g, n, 0, fnn_conv_direct_dw_tasks(&g), x, dy, dw);
        CHECK(all_close(dw, dwr, dwrs, F * K, (int)(n * g.oh * g.ow)),
              "%s conv direct dW c=%ld %ldx%ld f=%ld k=%ldx%ld p=%ld,%ld", v->name, (long)g.c,
              (long)g.h, (long)g.w, (long)F, (long)g.kh, (long)g.kw, (long)g.pt, (long)g.pl);
        ++fwd, ++dw_cases;
        /* pooled dW: a 2x2 stride-2 pooling of the output, argmax anywhere in the plane */
        fnn_conv_geom pg = {0};
        pg.c = pg.f = F, pg.h = g.oh, pg.w = g.ow, pg.kh = pg.kw = pg.sh = pg.sw = 2;
        pg.dh = pg.dw = 1, pg.oh = g.oh / 2, pg.ow = g.ow / 2;
        if (fnn_conv_pooled_dw_ok(&g, &pg)) {
            const fnn_idx pq = n * F * pg.oh * pg.ow, ohw = g.oh * g.ow;
            float *gp = randn((size_t)pq, 0.3), *dense = calloc((size_t)ysz, sizeof *dense);
            fnn_idx *am = malloc((size_t)pq * sizeof *am);
            float *db = malloc((size_t)F * sizeof *db);
            double dbr[64] = {0}, dbs[64] = {0};
            for (fnn_idx q = 0; q < pq; ++q) {
                am[q] = randint(0, (int)ohw - 1);
                dense[(q / (pg.oh * pg.ow)) * ohw + am[q]] += gp[q];
                dbr[(q / (pg.oh * pg.ow)) % F] += gp[q];
                dbs[(q / (pg.oh * pg.ow)) % F] += fabs(gp[q]);
            }
            conv_ref(&g, n, x, w, NULL, dense, yr, yrs, dwr, dwrs);
            for (fnn_idx j = 0; j < F * K; ++j) dw[j] = NAN;
            v->pooled_dw(&g, &pg, n, 0, F, x, gp, am, dw, db);
            CHECK(all_close(dw, dwr, dwrs, F * K, (int)pq) && all_close(db, dbr, dbs, F, (int)pq),
                  "%s conv pooled dW c=%ld %ldx%ld f=%ld k=%ldx%ld p=%ld,%ld", v->name, (long)g.c,
                  (long)g.h, (long)g.w, (long)F, (long)g.kh, (long)g.kw, (long)g.pt, (long)g.pl);
            free(gp), free(dense), free(am), free(db);
            ++pooled;
        }
        free(x), free(w), free(b), free(dy), free(y), free(dw), free(yr), free(yrs), free(dwr), free(dwrs);
    }
    for (int trial = 0; trial < 80; ++trial) {
        /* implicit GEMM: forward, dW^T (set and accumulated), dx; no padding */
        fnn_conv_geom g;
        if (!random_conv(&g, fnn_conv_implicit_ok, 0, 20, 32, 17)) continue;
        const fnn_idx n = randint(1, 3), K = g.c * g.kh * g.kw, F = g.f, OHW = g.oh * g.ow;
        const fnn_idx xs = n * g.c * g.h * g.w, ysz = n * F * OHW;
        float *x = randn((size_t)xs, 0.1), *w = randn((size_t)(F * K), 0.0);
        float *b = randn((size_t)F, 0.0), *dy = randn((size_t)ysz, 0.3);
        float *y = malloc((size_t)ysz * sizeof *y), *wt = malloc((size_t)(F * K) * sizeof *wt);
        float *tT = malloc((size_t)ysz * sizeof *tT), *dwt = malloc((size_t)(F * K) * sizeof *dwt);
        double *yr = malloc((size_t)ysz * sizeof *yr), *yrs = malloc((size_t)ysz * sizeof *yrs);
        double *dwr = malloc((size_t)(F * K) * sizeof *dwr), *dwrs = malloc((size_t)(F * K) * sizeof *dwrs);
        double *dwtr = malloc((size_t)(F * K) * sizeof *dwtr), *dwtrs = malloc((size_t)(F * K) * sizeof *dwtrs);
        for (fnn_idx f = 0; f < F; ++f)
            for (fnn_idx k = 0; k < K; ++k) wt[k * F + f] = w[f * K + k];
        for (fnn_idx i = 0; i < n; ++i) /* tmpT (n*OHW, F): dy transposed per sample */
            for (fnn_idx f = 0; f < F; ++f)
                for (fnn_idx q = 0; q < OHW; ++q) tT[(i * OHW + q) * F + f] = dy[(i * F + f) * OHW + q];
        conv_ref(&g, n, x, w, trial % 2 ? b : NULL, dy, yr, yrs, dwr, dwrs);
        v->implicit_forward(&g, 0, n, x, wt, trial % 2 ? b : NULL, y);
        CHECK(all_close(y, yr, yrs, ysz, (int)K), "%s conv implicit forward c=%ld %ldx%ld f=%ld k=%ldx%ld",
              v->name, (long)g.c, (long)g.h, (long)g.w, (long)F, (long)g.kh, (long)g.kw);
        /* dW^T over all units, then once more accumulated onto itself (twice the sums) */
        for (fnn_idx f = 0; f < F; ++f)
            for (fnn_idx k = 0; k < K; ++k) dwtr[k * F + f] = dwr[f * K + k], dwtrs[k * F + f] = dwrs[f * K + k];
        const fnn_idx units = g.c * g.kh, mid = units / 2;
        v->implicit_dwt(&g, n, 0, mid, x, tT, dwt, 0);
        v->implicit_dwt(&g, n, mid, units, x, tT, dwt, 0);
        CHECK(all_close(dwt, dwtr, dwtrs, F * K, (int)(n * OHW)), "%s conv implicit dW^T c=%ld %ldx%ld f=%ld k=%ldx%ld",
              v->name, (long)g.c, (long)g.h, (long)g.w, (long)F, (long)g.kh, (long)g.kw);
        v->implicit_dwt(&g, n, 0, units, x, tT, dwt, 1);
        for (fnn_idx j = 0; j < F * K; ++j) dwtr[j] *= 2, dwtrs[j] *= 2;
        CHECK(all_close(dwt, dwtr, dwtrs, F * K, (int)(n * OHW)), "%s conv implicit dW^T accumulated c=%ld %ldx%ld f=%ld k=%ldx%ld",
              v->name, (long)g.c, (long)g.h, (long)g.w, (long)F, (long)g.kh, (long)g.kw);
        ++imp;
        if (fnn_conv_implicit_dx_ok(&g)) {
            float *wr = malloc((size_t)fnn_conv_implicit_dx_wr_size(&g, v) * sizeof *wr);
            float *dx = malloc((size_t)xs * sizeof *dx);
            double *dxr = malloc((size_t)xs * sizeof *dxr), *dxrs = malloc((size_t)xs * sizeof *dxrs);
            fnn_conv_implicit_dx_wr(&g, v, w, wr);
            for (fnn_idx j = 0; j < xs; ++j) dx[j] = NAN;
            v->implicit_dx(&g, 0, n, wr, dy, dx);
            conv_dx_ref(&g, n, w, dy, dxr, dxrs);
            CHECK(all_close(dx, dxr, dxrs, xs, (int)(F * g.kh * g.kw)), "%s conv implicit dx c=%ld %ldx%ld f=%ld k=%ldx%ld",
                  v->name, (long)g.c, (long)g.h, (long)g.w, (long)F, (long)g.kh, (long)g.kw);
            free(wr), free(dx), free(dxr), free(dxrs);
            ++idx;
        }
        free(x), free(w), free(b), free(dy), free(y), free(wt), free(tT), free(dwt);
        free(yr), free(yrs), free(dwr), free(dwrs), free(dwtr), free(dwtrs);
    }
    for (int trial = 0; trial < 80; ++trial) {
        /* narrow col2im: cols (C*KH*KW, n*OH*OW) folded into dx, against the adjoint */
        fnn_conv_geom g;
        if (!random_conv(&g, fnn_col2im_narrow_ok, trial % 3 != 0, 3, 1, 16)) continue;
        const fnn_idx n = randint(1, 11), K = g.c * g.kh * g.kw, OHW = g.oh * g.ow;
        const fnn_idx xs = n * g.c * g.h * g.w;
        float *cols = randn((size_t)(K * n * OHW), 0.2), *dx = malloc((size_t)xs * sizeof *dx);
        double *dxr = calloc((size_t)xs, sizeof *dxr), *dxrs = calloc((size_t)xs, sizeof *dxrs);
        for (fnn_idx i = 0; i < n; ++i)
            for (fnn_idx c = 0; c < g.c; ++c)
                for (fnn_idx kh = 0; kh < g.kh; ++kh)
                    for (fnn_idx kw = 0; kw < g.kw; ++kw)
                        for (fnn_idx oh = 0; oh < g.oh; ++oh)
                            for (fnn_idx ow = 0; ow < g.ow; ++ow) {
                                const fnn_idx ih = oh + kh - g.pt, iw = ow + kw - g.pl;
                                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                                const float s = cols[((c * g.kh + kh) * g.kw + kw) * n * OHW + i * OHW + oh * g.ow + ow];
                                dxr[((i * g.c + c) * g.h + ih) * g.w + iw] += s;
                                dxrs[((i * g.c + c) * g.h + ih) * g.w + iw] += fabs(s);
                            }
        for (fnn_idx j = 0; j < xs; ++j) dx[j] = NAN;
        for (fnn_idx c = 0; c < g.c; ++c) v->col2im_narrow(&g, n, c, 0, n, cols, dx);
        CHECK(all_close(dx, dxr, dxrs, xs, (int)(g.kh * g.kw)), "%s col2im narrow c=%ld %ldx%ld k=%ldx%ld p=%ld,%ld n=%ld",
              v->name, (long)g.c, (long)g.h, (long)g.w, (long)g.kh, (long)g.kw, (long)g.pt, (long)g.pl, (long)n);
        free(cols), free(dx), free(dxr), free(dxrs);
        ++c2i;
    }
    printf("conv %-8s direct forward %d, dW %d, pooled dW %d, implicit forward/dW^T %d, dx %d, "
           "col2im %d: ok\n", v->name, fwd, dw_cases, pooled, imp, idx, c2i);
}
