/* conv.h -- 2-D convolution (channels first) through im2col and GEMM.
 *
 * Layout as PyTorch: x (n, C, H, W), w (F, C, KH, KW), b (F), y (n, F, OH, OW). A 1-D
 * convolution is the case H = KH = 1. Geometry, with top/left padding pt/pl (the
 * bottom/right padding is implied by the output size):
 *     OH = (H + pt + pb - dh * (KH - 1) - 1) / sh + 1      (likewise OW)
 *     y[i, f, oh, ow] = b[f] + sum_{c,kh,kw} w[f, c, kh, kw] *
 *                       x[i, c, oh * sh - pt + kh * dh, ow * sw - pl + kw * dw]
 * with x read as 0 outside the image.
 *
 * im2col lays the patches out as one matrix for the whole batch:
 *     cols (C*KH*KW, n*OH*OW),  cols[(c*KH + kh)*KW + kw, (i*OH + oh)*OW + ow]
 so the forward pass is the product  W (F, C*KH*KW) @ cols -> (F, n*OH*OW),
 * permuted to (n, F, OH*OW) with the bias added; backward is
 *     dW = dY' @ cols^T,  dcols = W^T @ dY',  dx = col2im(dcols)
 * where dY' is dy permuted to (F, n*OH*OW). The training passes form these products
 * block by block of samples (see the blocked layout below), with the caller's GEMM or,
 * in float32 where a gemm variant runs, fastnn's own kernels (gemm_variants.h).
 *
 * The pooling kernels (pool.h) use the same geometry struct (F = C, no padding).
 */
#ifndef FNN_CONV_H
#define FNN_CONV_H

#include "fnn_common.h"
#include "matmul.h"

typedef struct {
    fnn_idx c, h, w;        /* input channels, height, width */
    fnn_idx f, oh, ow;      /* output channels (filters), height, width */
    fnn_idx kh, kw;         /* kernel (or pool window) size */
    fnn_idx sh, sw;         /* stride */
    fnn_idx pt, pl;         /* top / left zero padding */
    fnn_idx dh, dw;         /* dilation */
} fnn_conv_geom;

/* x (n, C, H, W) -> cols (C*KH*KW, n*OH*OW); every element of cols is written. */
void fnn_im2col_f32(const fnn_conv_geom *g, fnn_idx n, const float *x, float *cols,
                    int n_threads);
void fnn_im2col_f64(const fnn_conv_geom *g, fnn_idx n, const double *x, double *cols,
                    int n_threads);

/* The adjoint of im2col: dx (n, C, H, W) = sum of cols into the positions they were
 * read from (dx is overwritten, not accumulated into). */
void fnn_col2im_f32(const fnn_conv_geom *g, fnn_idx n, const float *cols, float *dx,
                    int n_threads);
void fnn_col2im_f64(const fnn_conv_geom *g, fnn_idx n, const double *cols, double *dx,
                    int n_threads);

/* The training passes work block by block of samples (conv.c): block [i0, i1) of samples
 * (ns = i1 - i0) has its im2col matrix (C*KH*KW, ns*OH*OW) and its (F, ns*OH*OW) share
 * of tmp; the block size depends only on g and n. The im2col matrices are workspace:
 * each thread unfolds one block at a time into its share of cols (it stays in L2), and
 * the backward pass unfolds x again rather than reading a whole batch's matrix back
 * from memory. */

/* y = conv(x, w) + b (b may be NULL). Workspaces (contents undefined afterwards): cols
 * (C*KH*KW * n*OH*OW), tmp (F * n*OH*OW), both unused (may be NULL) on the direct and the
 * implicit-GEMM paths (float32, conv_variants.h). The parallel work is the blocks;
 * gemm_threads is unused (kept for the common signature). */
void fnn_conv_forward_f32(fnn_gemm_f32_fn gemm, int gemm_threads, const fnn_conv_geom *g,
                          fnn_idx n, const float *x, const float *w, const float *b, float *y,
                          float *cols, float *tmp, int n_threads);
void fnn_conv_forward_f64(fnn_gemm_f64_fn gemm, int gemm_threads, const fnn_conv_geom *g,
                          fnn_idx n, const double *x, const double *w, const double *b,
                          double *y, double *cols, double *tmp, int n_threads);

/* 1 if g takes the direct kernels (conv_variants.h: float32, few input channels,
 * stride 1, a conv variant running): then neither pass uses cols (which may be NULL).
 * Always 0 in float64. */
int fnn_conv_direct_f32(const fnn_conv_geom *g);
int fnn_conv_direct_f64(const fnn_conv_geom *g);

/* Gradients from dy (n, F, OH, OW) and x (n, C, H, W): dw (F, C, KH, KW) and db (F) are
 * overwritten (db NULL: skipped); dx (n, C, H, W) is overwritten (NULL: skipped).
 * Workspaces (contents undefined afterwards): cols (C*KH*KW * n*OH*OW; unused, and may
 * be NULL, on the direct and the implicit-GEMM paths, conv_variants.h), tmp
 * (fnn_conv_backward_tmp(g, n) elements), dcols (C*KH*KW * n*OH*OW; unused when dx is
 * NULL or fnn_conv_implicit_dx_ok). */
static inline fnn_idx fnn_conv_backward_tmp(const fnn_conv_geom *g, fnn_idx n)
{
    /* dy permuted (F, n*OH*OW), its transpose per block, and dW^T (C*KH*KW, F) */
    return 2 * g->f * n * g->oh * g->ow + g->f * g->c * g->kh * g->kw;
}
void fnn_conv_backward_f32(fnn_gemm_f32_fn gemm, int gemm_threads, const fnn_conv_geom *g,
                           fnn_idx n, const float *x, float *cols, const float *w, const float *dy,
                           float *dx, float *dw, float *db, float *tmp, float *dcols,
                           int n_threads);
void fnn_conv_backward_f64(fnn_gemm_f64_fn gemm, int gemm_threads, const fnn_conv_geom *g,
                           fnn_idx n, const double *x, double *cols, const double *w, const double *dy,
                           double *dx, double *dw, double *db, double *tmp, double *dcols,
                           int n_threads);

/* Samples per native call for the conv ops called from Python (fastnn/ops/conv.pyx): a
 * large batch runs in chunks of about FNN_CONV_CHUNK_FLOPS, and between two chunks the
 * GIL is taken to act on Ctrl-C (a chunk takes milliseconds on the fast paths, about a
 * tenth of a second on the slowest); a smaller batch is one call. The chunks do not
 * depend on the thread count, so neither do the results. The training plan calls the
 * kernels directly and polls between its batches instead (plan.h). */
#define FNN_CONV_CHUNK_FLOPS 400000000LL
static inline fnn_idx fnn_conv_chunk_rows(const fnn_conv_geom *g, fnn_idx n)
{
    long long per_row = 2LL * g->f * g->c * g->kh * g->kw * g->oh * g->ow;
    long long rows = FNN_CONV_CHUNK_FLOPS / (per_row > 1 ? per_row : 1);
    if (rows > n) rows = n;
    return rows > 1 ? (fnn_idx)rows : 1;
}

/* fnn_conv_pooled_dw (conv_variants.h: dW and db of a conv on the direct kernels from the
 * gradient of the max pooling right after it; float32, where fnn_conv_pooled_dw_ok) for
 * all F filters, split over the team (the result does not depend on it); n = 0: dw and
 * db are zeroed. */
void fnn_conv_pooled_dw_run(const fnn_conv_geom *g, const fnn_conv_geom *pg, fnn_idx n,
                            const float *x, const float *gp, const fnn_idx *argmax, float *dw,
                            float *db, int n_threads);

#endif
