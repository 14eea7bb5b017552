/* conv_impl.h -- type-generic bodies for conv.c (included once per REAL, with
 * FNN_GEMM_T the matching fnn_gemm_*_fn type). */

/* ------------------------------------------------------------------ im2col */

/* All KH*KW rows of channel c (rows c*KK .. c*KK + KK - 1 of cols). */
static inline void FNN_SFX(im2col_block)(const fnn_conv_geom *g, fnn_idx n, fnn_idx c,
                                         fnn_idx i0, fnn_idx i1, const REAL *x, REAL *cols)
{
    FNN_LEAF(im2col_rows)(g, n, c, 0, g->kh, i0, i1, x,
                          cols + c * g->kh * g->kw * n * g->oh * g->ow);
}

void FNN_SFX(fnn_im2col)(const fnn_conv_geom *g, fnn_idx n, const REAL *x, REAL *cols,
                         int n_threads)
{
    const fnn_idx OHW = g->oh * g->ow, KK = g->kh * g->kw;
    const fnn_idx plane = g->h * g->w, units = g->c * n; /* unit u = c * n + i */
    if (units == 0 || OHW == 0 || KK == 0) return;
    fnn_idx bs = FNN_CONV_BLOCK_BYTES / ((plane > 0 ? plane : 1) * (fnn_idx)sizeof(REAL));
    if (bs < 1) bs = 1;
    int team = fnn_team_size(units * KK * OHW, FNN_GRAIN_CHEAP, n_threads);
    if (team > units) team = (int)units;
#define FNN_IM2COL_BLOCK(c, i0, i1) FNN_SFX(im2col_block)(g, n, c, i0, i1, x, cols)
    FNN_TEAM_FOR(team, t,
        fnn_idx u0 = fnn_chunk_start(units, team, t, 1);
        fnn_idx u1 = fnn_chunk_start(units, team, t + 1, 1);
        FNN_CONV_BLOCKS(n, bs, u0, u1, FNN_IM2COL_BLOCK));
#undef FNN_IM2COL_BLOCK
}

/* ------------------------------------------------------------------ col2im */

void FNN_SFX(fnn_col2im)(const fnn_conv_geom *g, fnn_idx n, const REAL *cols, REAL *dx,
                         int n_threads)
{
    const fnn_idx OHW = g->oh * g->ow, KK = g->kh * g->kw;
    const fnn_idx plane = g->h * g->w, units = g->c * n; /* unit u = c * n + i */
    if (units == 0 || plane == 0) return;
    if (OHW == 0 || KK == 0) { /* nothing was read: the gradient is zero */
        memset(dx, 0, (size_t)(units * plane) * sizeof(REAL));
        return;
    }
    fnn_idx bs = FNN_CONV_BLOCK_BYTES / (plane * (fnn_idx)sizeof(REAL));
    if (bs < 1) bs = 1;
    int team = fnn_team_size(units * (KK * OHW + plane), FNN_GRAIN_CHEAP, n_threads);
    if (team > units) team = (int)units;
#define FNN_COL2IM_BLOCK(c, i0, i1) FNN_LEAF(col2im_block)(g, n, c, i0, i1, cols, dx)
    FNN_TEAM_FOR(team, t,
        fnn_idx u0 = fnn_chunk_start(units, team, t, 1);
        fnn_idx u1 = fnn_chunk_start(units, team, t + 1, 1);
        FNN_CONV_BLOCKS(n, bs, u0, u1, FNN_COL2IM_BLOCK));
#undef FNN_COL2IM_BLOCK
}

/* ----------------------------------------------------------------- forward */

/* y[i, f, :] = tmp[f, i*OHW : (i+1)*OHW] + b[f] for the samples [i0, i1). */
static void FNN_SFX(conv_unpermute)(const fnn_conv_geom *g, fnn_idx nO, fnn_idx i0, fnn_idx i1,
                                    const REAL *tmp, const REAL *b, REAL *y)
{
    const fnn_idx F = g->f, OHW = g->oh * g->ow;
    for (fnn_idx i = i0; i < i1; ++i)
        for (fnn_idx f = 0; f < F; ++f) {
            const REAL *src = tmp + f * nO + i * OHW;
            REAL *dst = y + (i * F + f) * OHW;
            if (b)
                FNN_LEAF(conv_bias_copy)(OHW, src, b[f], dst);
            else
                memcpy(dst, src, (size_t)OHW * sizeof(REAL));
        }
}

/* Samples per block of the blocked passes over n samples: the block's columns of cols
 * (K x ns*OHW) take at most about FNN_CONV_L2_BYTES, so that a block unfolded by im2col
 * is still in L2 when its product reads it (and dcols when col2im folds it). The number
 * of blocks is rounded up to a multiple of FNN_CONV_BLOCK_SPLIT and the samples spread
 * evenly over them, so that a team of 2, 4 or 8 threads gets equal shares (64 samples
 * of the LeNet's conv2: 16 blocks of 4, not 12 of 5 and one of 4, which left one of
 * 2 threads 35 samples and the other 29). The blocks depend on n and the geometry only,
 * never on the thread count, so neither do the results. */
static fnn_idx FNN_SFX(conv_block_samples)(const fnn_conv_geom *g, fnn_idx n)
{
    fnn_idx per = g->c * g->kh * g->kw * g->oh * g->ow * (fnn_idx)sizeof(REAL);
    fnn_idx nb = per > 0 ? FNN_CONV_L2_BYTES / per : 1;
    if (nb < 1) nb = 1;
    if (n <= 0) return nb;
    fnn_idx nblocks = (n + nb - 1) / nb;
    nblocks = (nblocks + FNN_CONV_BLOCK_SPLIT - 1) / FNN_CONV_BLOCK_SPLIT * FNN_CONV_BLOCK_SPLIT;
    if (nblocks > n) nblocks = n;
    return (n + nblocks - 1) / nblocks;
}

/* The blocks of samples of the blocked passes: block `blk` holds samples [*i0, *i1). */
static inline void FNN_SFX(conv_block)(fnn_idx n, fnn_idx nb, fnn_idx blk, fnn_idx *i0,
                                       fnn_idx *i1)
{
    *i0 = blk * nb;
    *i1 = *i0 + nb < n ? *i0 + nb : n;
}

void FNN_SFX(fnn_conv_forward)(FNN_GEMM_T gemm, int gemm_threads, const fnn_conv_geom *g,
                               fnn_idx n, const REAL *x, const REAL *w, const REAL *b, REAL *y,
                               REAL *cols, REAL *tmp, int n_threads)
{
    const fnn_idx F = g->f, OHW = g->oh * g->ow, K = g->c * g->kh * g->kw, nO = n * OHW;
    const fnn_idx sample = g->c * g->h * g->w;
    (void)gemm_threads; /* the blocks are the parallel work; each product is one call */
    if (nO == 0 || F == 0) return; /* empty batch or output */
    if (FNN_CONV_DIRECT(g)) { /* few input channels: no im2col (cols is not written) */
        int team = fnn_team_size(F * K * nO, FNN_GRAIN_GEMM, n_threads);
        if (team > n) team = (int)n;
        FNN_TEAM_FOR(team, t,
            FNN_CONV_DIRECT_FWD(g, fnn_chunk_start(n, team, t, 1),
                                fnn_chunk_start(n, team, t + 1, 1), x, w, b, y));
        return;
    }
    if (K > 0 && FNN_CONV_IMPLICIT_FWD_OK(g)) { /* stride 1, unpadded: no im2col */
        FNN_CONV_IMPLICIT_FWD(g, n, x, w, b, y, n_threads);
        return;
    }
    /* Blocks of samples, each start to end on one thread: im2col into the thread's
     * cols block (K, ns*OHW), its tmp block (F, ns*OHW) = W @ cols, y[block] = tmp + b.
     * A thread reuses one block of cols and of tmp (the share of its first block), so
     * both stay in L2 from one block to the next. The blocks do not depend on the
     * thread count, so neither do the results. */
    const fnn_idx nb = FNN_SFX(conv_block_samples)(g, n), nblocks = (n + nb - 1) / nb;
    int team = fnn_team_size(F * (K > 0 ? K : 1) * nO, FNN_GRAIN_GEMM, n_threads);
    if (team > nblocks) team = (int)nblocks;
    FNN_TEAM_FOR(team, t,
        fnn_idx b0 = fnn_chunk_start(nblocks, team, t, 1);
        fnn_idx b1 = fnn_chunk_start(nblocks, team, t + 1, 1);
        REAL *cb = cols + b0 * nb * K * OHW, *tb = tmp + b0 * nb * F * OHW;
        for (fnn_idx blk = b0; blk < b1; ++blk) {
            fnn_idx i0, i1;
            FNN_SFX(conv_block)(n, nb, blk, &i0, &i1);
            const fnn_idx ns = i1 - i0, nsO = ns * OHW;
            if (K > 0) {
                for (fnn_idx c = 0; c < g->c; ++c)
                    FNN_SFX(im2col_block)(g, ns, c, 0, ns, x + i0 * sample, cb);
                FNN_CONV_NN(gemm, F, nsO, K, w, cb, tb);
            } else { /* no input channels: the sums are empty */
                memset(tb, 0, (size_t)(F * nsO) * sizeof(REAL));
            }
            FNN_SFX(conv_unpermute)(g, nsO, 0, ns, tb, b, y + i0 * F * OHW);
        });
}

/* ---------------------------------------------------------------- backward */

int FNN_SFX(fnn_conv_direct)(const fnn_conv_geom *g) { return FNN_CONV_DIRECT(g); }

/* db[f] = the sum over the samples, in order, of dy[i, f] (each in double); the team
 * splits the filters. */
static void FNN_SFX(conv_db_from_dy)(const fnn_conv_geom *g, fnn_idx n, const REAL *dy,
                                     REAL *db, int n_threads)
{
    const fnn_idx F = g->f, OHW = g->oh * g->ow;
    int bteam = fnn_team_size(F * n * OHW, FNN_GRAIN_CHEAP, n_threads);
    if (bteam > F) bteam = (int)F;
    FNN_TEAM_FOR(bteam, t,
        for (fnn_idx f = fnn_chunk_start(F, bteam, t, 1);
             f < fnn_chunk_start(F, bteam, t + 1, 1); ++f) {
            double s = 0;
            for (fnn_idx i = 0; i < n; ++i)
                s += FNN_LEAF(conv_row_sum)(OHW, dy + (i * F + f) * OHW);
            db[f] = (REAL)s;
        });
}

/* The direct path's gradients (few input channels): dW from x and dy by the direct
 * kernels, the team splitting their tasks; db[f] = the sum over the samples, in
 * order, of dy[i, f] (each in double). */
static void FNN_SFX(conv_direct_backward)(const fnn_conv_geom *g, fnn_idx n, const REAL *x,
                                          const REAL *dy, REAL *dw, REAL *db, int n_threads)
{
    const fnn_idx F = g->f, OHW = g->oh * g->ow, K = g->c * g->kh * g->kw;
    const fnn_idx tasks = fnn_conv_direct_dw_tasks(g);
    int team = fnn_team_size(F * K * n * OHW, FNN_GRAIN_GEMM, n_threads);
    if (team > tasks) team = (int)tasks;
    FNN_TEAM_FOR(team, t,
        FNN_CONV_DIRECT_DW(g, n, fnn_chunk_start(tasks, team, t, 1),
                           fnn_chunk_start(tasks, team, t + 1, 1), x, dy, dw));
    if (db) FNN_SFX(conv_db_from_dy)(g, n, dy, db, n_threads);
}

void FNN_SFX(fnn_conv_backward)(FNN_GEMM_T gemm, int gemm_threads, const fnn_conv_geom *g,
                                fnn_idx n, const REAL *x, REAL *cols, const REAL *w,
                                const REAL *dy, REAL *dx, REAL *dw, REAL *db, REAL *tmp,
                                REAL *dcols, int n_threads)
{
    const fnn_idx F = g->f, OHW = g->oh * g->ow, K = g->c * g->kh * g->kw, nO = n * OHW;
    const fnn_idx sample = g->c * g->h * g->w, dx_size = n * sample;
    if (F == 0 || nO == 0) { /* no gradient flows: all zero */
        if (F * K > 0) memset(dw, 0, (size_t)(F * K) * sizeof(REAL));
        if (db && F > 0) memset(db, 0, (size_t)F * sizeof(REAL));
        if (dx && dx_size > 0) memset(dx, 0, (size_t)dx_size * sizeof(REAL));
        return;
    }
    const fnn_idx nb = FNN_SFX(conv_block_samples)(g, n), nblocks = (n + nb - 1) / nb;
    const int direct = K > 0 && FNN_CONV_DIRECT(g);
    /* dx straight from dy and w, no dcols or col2im (narrow stride-1 unpadded planes) */
    const int implicit_dx = dx && K > 0 && FNN_CONV_IMPLICIT_DX_OK(g);
    if (implicit_dx) {
        FNN_CONV_IMPLICIT_DX(g, n, w, dy, dx, n_threads);
        dx = NULL;
    }
    if (direct) { /* dW and db from x; the blocks below only form dx */
        FNN_SFX(conv_direct_backward)(g, n, x, dy, dw, db, n_threads);
        if (!dx) return;
        db = NULL;
    }
    /* dW on the fast kernel: needs each block's tmp transposed (tmpT) and dW^T (dwt) */
    const int implicit = !direct && K > 0 && FNN_CONV_IMPLICIT(g); /* pass 2: no im2col */
    const int fast = implicit ||
                     (!direct && K > 0 && FNN_CONV_DW_FAST(F, K, (nb < n ? nb : n) * OHW));
    REAL *tmpT = tmp + F * nO, *dwt = tmpT + F * nO;
    /* tmp (dy permuted) feeds dcols and the non-implicit dW; db alone reads dy itself */
    const int permute = !implicit || dx;
    /* Pass 1, per block of samples on one thread: its tmp (F, ns*OHW) = dy[block]
     * permuted (and tmpT (ns*OHW, F) = dy[block] transposed per sample), both kept for
     * dW; with dx, dcols = W^T @ tmp, folded by col2im into dx[block] while in L2 (a
     * thread reuses one block of dcols, the share of its first block). */
    int team = fnn_team_size(F * (K > 0 ? K : 1) * nO, FNN_GRAIN_GEMM, n_threads);
    if (team > nblocks) team = (int)nblocks;
    FNN_TEAM_FOR(team, t,
        fnn_idx b0 = fnn_chunk_start(nblocks, team, t, 1);
        fnn_idx b1 = fnn_chunk_start(nblocks, team, t + 1, 1);
        REAL *dc = dx && K > 0 ? dcols + b0 * nb * K * OHW : NULL;
        for (fnn_idx blk = b0; blk < b1; ++blk) {
            fnn_idx i0, i1;
            FNN_SFX(conv_block)(n, nb, blk, &i0, &i1);
            const fnn_idx ns = i1 - i0, nsO = ns * OHW;
            REAL *tb = tmp + i0 * F * OHW;
            for (fnn_idx i = 0; permute && i < ns; ++i)
                for (fnn_idx f = 0; f < F; ++f)
                    memcpy(tb + f * nsO + i * OHW, dy + ((i0 + i) * F + f) * OHW,
                           (size_t)OHW * sizeof(REAL));
            if (fast) {
                REAL *tt = tmpT + i0 * OHW * F;
                for (fnn_idx i = 0; i < ns; ++i)
                    for (fnn_idx f = 0; f < F; ++f) {
                        const REAL *src = dy + ((i0 + i) * F + f) * OHW;
                        REAL *dst = tt + i * OHW * F + f;
                        for (fnn_idx q = 0; q < OHW; ++q) dst[q * F] = src[q];
                    }
            }
            if (dc) {
                FNN_CONV_TN(gemm, K, nsO, F, w, tb, dc);
                for (fnn_idx c = 0; c < g->c; ++c)
                    FNN_LEAF(col2im_block)(g, ns, c, 0, ns, dc, dx + i0 * sample);
            }
        });
    /* db[f] = sum over the blocks, in order, of row f of their tmp (in double); without
     * tmp, over the samples of dy, in order */
    if (db && !permute) {
        FNN_SFX(conv_db_from_dy)(g, n, dy, db, n_threads);
    } else if (db) {
        int bteam = fnn_team_size(F * nO, FNN_GRAIN_CHEAP, n_threads);
        if (bteam > F) bteam = (int)F;
        FNN_TEAM_FOR(bteam, t,
            fnn_idx f0 = fnn_chunk_start(F, bteam, t, 1);
            fnn_idx f1 = fnn_chunk_start(F, bteam, t + 1, 1);
            for (fnn_idx f = f0; f < f1; ++f) {
                double s = 0;
                for (fnn_idx blk = 0; blk < nblocks; ++blk) {
                    fnn_idx i0, i1;
                    FNN_SFX(conv_block)(n, nb, blk, &i0, &i1);
                    s += FNN_LEAF(conv_row_sum)((i1 - i0) * OHW,
                                                tmp + i0 * F * OHW + f * (i1 - i0) * OHW);
                }
                db[f] = (REAL)s;
            });
    }
    if (K == 0 || direct) return; /* no input channels: dw and dx are empty */
    /* Pass 2, dW: the team splits the rows of im2col (units u = c*KH + kh, KW rows
     * each); a thread unfolds its rows of each block in turn into its share of cols
     * (in L2: im2col is recomputed here rather than kept from the forward pass, where
     * the whole batch's matrix would have to go out to memory and back) and adds their
     * product with the block's gradient to its columns of dW, blocks in order. Every
     * element of dW is summed the same way whatever the split, so the result does not
     * depend on the thread count.
     *   fast (float32, a gemm variant running, few filters): dW^T rows += cols rows @ tmpT_b, then
     *     dw = its transpose;
     *   few filters otherwise: dot-product tiles (conv_dw_block);
     *   more: GEMM calls, dw[:, rows] += tmp_b @ cols_rows^T. */
    const fnn_idx KH = g->kh, KW = g->kw, units = g->c * KH;
    const int tiles = F <= FNN_CONV_TILE_FILTERS;
    int wteam = fnn_team_size(F * K * nO, FNN_GRAIN_GEMM, n_threads);
    if (wteam > units) wteam = (int)units;
    FNN_TEAM_FOR(wteam, t,
        fnn_idx u0 = fnn_chunk_start(units, wteam, t, 1);
        fnn_idx u1 = fnn_chunk_start(units, wteam, t + 1, 1);
        const fnn_idx k0 = u0 * KW, kr = (u1 - u0) * KW;
        REAL *cb = cols + k0 * nb * OHW; /* this thread's rows of a block: disjoint */
        for (fnn_idx blk = 0; kr > 0 && blk < nblocks; ++blk) {
            fnn_idx i0, i1;
            FNN_SFX(conv_block)(n, nb, blk, &i0, &i1);
            const fnn_idx ns = i1 - i0, nsO = ns * OHW;
            const REAL *xb = x + i0 * sample;
            if (implicit) { /* no im2col: dW^T rows straight from x */
                FNN_CONV_IMPLICIT_DWT(g, ns, u0, u1, xb, tmpT + i0 * OHW * F, dwt, blk > 0);
                continue;
            }
            for (fnn_idx u = u0; u < u1;) { /* runs of one channel */
                const fnn_idx c = u / KH, kh0 = u % KH;
                const fnn_idx kh1 = (c + 1) * KH <= u1 ? KH : u1 - c * KH;
                FNN_LEAF(im2col_rows)(g, ns, c, kh0, kh1, 0, ns, xb, cb + (u - u0) * KW * nsO);
                u += kh1 - kh0;
            }
            if (fast)
                FNN_CONV_DWT(kr, nsO, F, cb, tmpT + i0 * OHW * F, dwt + k0 * F, blk > 0);
            else if (tiles)
                FNN_LEAF(conv_dw_block)(F, kr, nsO, tmp + i0 * F * OHW, cb, dw + k0, K, blk > 0);
            else
                gemm(0, 1, F, kr, nsO, (REAL)1, tmp + i0 * F * OHW, nsO, cb, nsO,
                     blk ? (REAL)1 : (REAL)0, dw + k0, K);
        });
    if (fast)
        for (fnn_idx f = 0; f < F; ++f)
            for (fnn_idx kk = 0; kk < K; ++kk) dw[f * K + kk] = dwt[kk * F + f];
    (void)gemm_threads;
}
