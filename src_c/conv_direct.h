/* conv_direct.h -- direct float32 convolution for layers with few input channels
 * (src_c/conv_direct.c, AVX-512).
 *
 * A first layer sees 1 to 3 input channels: its im2col matrix has only C*KH*KW rows
 * (25 for MNIST's 5x5 filters), so im2col writes as much memory as the product reads
 * and the product's inner dimension is too short for a GEMM to run well. These
 * kernels skip the im2col matrix: they read the input rows in place, vectorised along
 * an output row (16 positions per zmm register), with the window offsets (c, kh, kw)
 * as the inner loop.
 *
 *   forward:  y[i, f, oh, :] = b[f] + sum_{c,kh,kw} w[f, c, kh, kw] * x[i, c, oh+kh-pt, kw-pl+:]
 *             register tile: up to 8 filters x 32 positions of one output row.
 *   dW:       dw[f, c, kh, kw] = sum_{i,oh,ow} dy[i, f, oh, ow] * x[i, c, oh+kh-pt, ow+kw-pl]
 *             one task per block of up to 4 filters; sample by sample, the 4 x KW sums
 *             of each (c, kh) (one vector of partial sums each) go through registers.
 * Zero padding is handled by masks (a lane that would read outside its input row is not
 * loaded) and by skipping input rows outside the image, so nothing is copied.
 *
 * Stride 1 and dilation 1 only; fnn_conv_direct_ok says when a geometry takes them.
 *
 * Layers with more input channels (the LeNet's second: 16 -> 32, 5x5 on 12x12), stride
 * 1 and no padding, run as implicit GEMMs: the same products as im2col + GEMM, with the
 * im2col operand read from x (or, for dx, the col2im sums formed) in registers:
 *   forward:  a tile of 8 output positions x 32 filters, broadcasting x at constant
 *             offsets (fnn_conv_implicit_forward);
 *   dW:       dW^T rows (c, kh, 0..KW-1) of two or more (c, kh) x 32 filters
 *             (fnn_conv_implicit_dwt);
 *   dx:       one input row of 16 channels, each dy element added into KW columns
 *             (fnn_conv_implicit_dx; input rows of at most 16).
 * Proven against the numpy reference (im2col + matmul) in tests/test_conv.py.
 */
#ifndef FNN_CONV_DIRECT_H
#define FNN_CONV_DIRECT_H

#include "conv.h"
#include "cpu.h"

/* The instruction set these kernels (direct, pooled dW, implicit, narrow col2im) are
 * written for; fnn_conv_direct_isa() is FNN_CONV_DIRECT_ISA where they are compiled and
 * may run now (cpu.h: fnn_own_kernels_run), else -1 (-2: not compiled on this platform).
 * Every _ok below asks it. */
#define FNN_CONV_DIRECT_ISA FNN_ISA_AVX512
int fnn_conv_direct_isa(void);

/* Largest C*KH*KW (and widest kernel) the direct kernels take; beyond it im2col + GEMM
 * has a long enough inner dimension to win. */
#define FNN_CONV_DIRECT_MAX_K 64
#define FNN_CONV_DIRECT_MAX_KW 7

/* 1 if g takes the direct kernels: stride 1, dilation 1, C*KH*KW <= MAX_K, KW <= MAX_KW,
 * OW >= 8, on a CPU with AVX-512 (F/VL/DQ, FMA) and FASTNN_GEMM not "blas". */
int fnn_conv_direct_ok(const fnn_conv_geom *g);

/* y[i] = conv(x[i], w) + b (b may be NULL) for samples i in [i0, i1). */
void fnn_conv_direct_forward(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *x,
                             const float *w, const float *b, float *y);

/* The dW tasks: blocks of up to 4 filters. Task t of [t0, t1) overwrites its rows of
 * dw (F, C, KH, KW) with their sums over the n samples. */
fnn_idx fnn_conv_direct_dw_tasks(const fnn_conv_geom *g);
void fnn_conv_direct_dw(const fnn_conv_geom *g, fnn_idx n, fnn_idx t0, fnn_idx t1,
                        const float *x, const float *dy, float *dw);

/* Narrow planes (float32, AVX-512): col2im for input rows of at most 16 columns
 * (the LeNet's second layer: 12x12 in, 8x8 out), stride 1, dilation 1, any zero
 * padding. Same arguments and result as conv_impl.h's col2im_block (channel c of
 * samples [i0, i1) of a batch of n): each input row is summed in a register over the
 * window offsets that read it, in the same (kh, kw) order as col2im_block (so
 * bit-identical), and stored once. */
int fnn_col2im_narrow_ok(const fnn_conv_geom *g);
void fnn_col2im_narrow(const fnn_conv_geom *g, fnn_idx n, fnn_idx c, fnn_idx i0, fnn_idx i1,
                       const float *cols, float *dx);

/* dW and db of a layer on the direct kernels whose output (n, F, OH, OW) goes straight
 * into max pooling (pg: the pooling's geometry, pg->c = F, pg->h = OH, pg->w = OW), from
 * the pooled gradient gp (n, F, PH, PW) and the pooling's argmax (each in [0, OH*OW)):
 * the same dw and db as conv backward of the pooling's backward, without forming that
 * dense gradient (only the positions that won a window carry one). Filters [f0, f1) of
 * dw (F, C, KH, KW) and db (F; NULL: skipped) are overwritten; each sums over the
 * samples and pooled positions in order, so the split over filters does not change the
 * result. fnn_conv_pooled_dw_ok: g takes the direct kernels, C*KH <= MAX_CKH,
 * OH*OW <= MAX_OHW, and pg matches. */
#define FNN_CONV_POOLED_MAX_CKH 8
#define FNN_CONV_POOLED_MAX_OHW 4096
int fnn_conv_pooled_dw_ok(const fnn_conv_geom *g, const fnn_conv_geom *pg);
void fnn_conv_pooled_dw(const fnn_conv_geom *g, const fnn_conv_geom *pg, fnn_idx n,
                        fnn_idx f0, fnn_idx f1, const float *x, const float *gp,
                        const fnn_idx *argmax, float *dw, float *db);

/* Implicit GEMM (no im2col; float32, AVX-512) for a stride-1, dilation-1, unpadded
 * layer of at most 32 filters, kernels 2 to FNN_CONV_IMPLICIT_MAX_KW wide and a W of at
 * most FNN_CONV_IMPLICIT_MAX_WT elements; fnn_conv_implicit_ok says when g takes it.
 * dW (backward, float32 AVX-512 path with dW^T): for the units
 * u = c*KH + kh in [u0, u1), rows k = u*KW + kw of dwt (K x F, dW transposed) are set to
 * (accumulate: added) sum over the ns samples of x (ns, C, H, W) and positions p of
 * x[i, c, oh + kh, ow + kw] * tmpT[i*OH*OW + p, f] -- the same products, in the same
 * order, as cols @ tmpT with cols from im2col. */
#define FNN_CONV_IMPLICIT_MAX_KW 7
#define FNN_CONV_IMPLICIT_MAX_WT 16384
int fnn_conv_implicit_ok(const fnn_conv_geom *g);
void fnn_conv_implicit_dwt(const fnn_conv_geom *g, fnn_idx ns, fnn_idx u0, fnn_idx u1,
                           const float *x, const float *tmpT, float *dwt, int accumulate);
/* The forward of such a layer, likewise from x in place: y[i] = conv(x[i], w) + b (b may
 * be NULL) for samples i in [i0, i1), given wt = W^T (C*KH*KW x F). Every output is
 * summed from its bias in (c, kh, kw) order. */
void fnn_conv_implicit_forward(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1,
                               const float *x, const float *wt, const float *b, float *y);
/* dx of such a layer for samples [i0, i1) (overwritten) from dy, with no dcols and no
 * col2im, given wr = w rearranged [C/16 blocks][F][KH][KW][16 channels] (zero-padded
 * channels; fnn_conv_implicit_dx_wr): every product of W^T @ dy, each added into its
 * input element. fnn_conv_implicit_dx_ok: fnn_conv_implicit_ok, input rows of at most
 * 16, output rows of at least 4, kernels 3, 5 or 7 wide, and wr within MAX_WT. */
int fnn_conv_implicit_dx_ok(const fnn_conv_geom *g);
void fnn_conv_implicit_dx(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *wr,
                          const float *dy, float *dx);

#endif
