/* conv_variants.h -- the conv family: float32 convolution kernels that read x in place
 * (no im2col matrix), one variant per instruction set behind one table. They are
 * written once (src_c/arch/conv_f32_body.h, over a small vector vocabulary) and
 * instantiated per instruction set in src_c/arch/<isa>/conv_f32.c; conv.c asks
 * fnn_conv_run() for the variant and this file's *_ok rules for the shapes.
 *
 * Direct kernels, for layers with 1 to a few input channels (a first layer): its im2col
 * matrix has only C*KH*KW rows (25 for MNIST's 5x5 filters), so im2col writes as much
 * memory as the product reads and the product's inner dimension is too short for a GEMM
 * to run well. They read the input rows in place, vectorised along an output row, with
 * the window offsets (c, kh, kw) as the inner loop:
 *   forward:  y[i, f, oh, :] = b[f] + sum_{c,kh,kw} w[f, c, kh, kw] * x[i, c, oh+kh-pt, kw-pl+:]
 *   dW:       dw[f, c, kh, kw] = sum_{i,oh,ow} dy[i, f, oh, ow] * x[i, c, oh+kh-pt, ow+kw-pl]
 *             one task per FNN_CONV_DIRECT_DW_TASK filters; sample by sample, the
 *             partial sums of each (c, kh) go through registers.
 * Zero padding is handled by lane ranges (a lane that would read outside its input row
 * is not loaded) and by skipping input rows outside the image, so nothing is copied.
 *
 * Layers with more input channels (the LeNet's second: 16 -> 32, 5x5 on 12x12), stride
 * 1 and no padding, run as implicit GEMMs: the same products as im2col + GEMM, with the
 * im2col operand read from x (or, for dx, the col2im sums formed) in registers:
 *   forward:  tiles of output positions x filters, broadcasting x at constant offsets;
 *   dW:       dW^T rows (c, kh, 0..KW-1) of one or more (c, kh) x a block of filters;
 *   dx:       one input row of LANES channels, each dy element added into KW columns
 *             (input rows of at most FNN_CONV_IMPLICIT_DX_MAX_W).
 * Proven against the numpy reference (im2col + matmul) in tests/test_conv.py, at every
 * instruction-set level the CPU runs, and against plain C loops in tests/c.
 */
#ifndef FNN_CONV_VARIANTS_H
#define FNN_CONV_VARIANTS_H

#include "conv.h"
#include "cpu.h"

/* Largest C*KH*KW (and widest kernel) the direct kernels take; beyond it im2col + GEMM
 * has a long enough inner dimension to win. */
#define FNN_CONV_DIRECT_MAX_K 64
#define FNN_CONV_DIRECT_MAX_KW 7
/* Filters per task of the direct dW (the unit the team splits): the same for every
 * variant, so the split never depends on which one runs. */
#define FNN_CONV_DIRECT_DW_TASK 4
/* Largest C*KH and OH*OW of a layer whose dW goes through max pooling. */
#define FNN_CONV_POOLED_MAX_CKH 8
#define FNN_CONV_POOLED_MAX_OHW 4096
/* Implicit GEMM: the widest kernel, the most filters, the largest W (and its dx
 * rearrangement) in floats, and the widest input row of the implicit dx. */
#define FNN_CONV_IMPLICIT_MAX_KW 7
#define FNN_CONV_IMPLICIT_MAX_F 32
#define FNN_CONV_IMPLICIT_MAX_WT 16384
#define FNN_CONV_IMPLICIT_DX_MAX_W 16
/* The widest row the narrow col2im takes (input and output). */
#define FNN_COL2IM_NARROW_MAX_W 16

typedef struct {
    const char *name; /* "avx512", "avx2", "neon" (fnn_variant_head, cpu.h) */
    int isa;
    int lanes; /* floats per vector: the channel block of implicit_dx's wr */
    /* y[i] = conv(x[i], w) + b (b may be NULL) for samples i in [i0, i1). */
    void (*direct_forward)(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *x,
                           const float *w, const float *b, float *y);
    /* Tasks t of [t0, t1) (fnn_conv_direct_dw_tasks): their filters' rows of dw (F, C,
     * KH, KW) overwritten with their sums over the n samples. */
    void (*direct_dw)(const fnn_conv_geom *g, fnn_idx n, fnn_idx t0, fnn_idx t1,
                      const float *x, const float *dy, float *dw);
    /* dW and db of a direct layer whose output (n, F, OH, OW) goes straight into max
     * pooling (pg: the pooling's geometry), from the pooled gradient gp (n, F, PH, PW)
     * and the pooling's argmax (each in [0, OH*OW)): the same dw and db as conv backward
     * of the pooling's backward, without forming that dense gradient. Filters [f0, f1)
     * of dw and db (NULL: skipped) are overwritten; each sums over the samples and
     * pooled positions in order, so the split over filters does not change the result. */
    void (*pooled_dw)(const fnn_conv_geom *g, const fnn_conv_geom *pg, fnn_idx n, fnn_idx f0,
                      fnn_idx f1, const float *x, const float *gp, const fnn_idx *argmax,
                      float *dw, float *db);
    /* Implicit forward: y[i] = conv(x[i], w) + b for samples [i0, i1), given wt = W^T
     * (C*KH*KW x F); every output summed from its bias in (c, kh, kw) order. */
    void (*implicit_forward)(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *x,
                             const float *wt, const float *b, float *y);
    /* Implicit dW: for the units u = c*KH + kh in [u0, u1), rows k = u*KW + kw of dwt
     * (K x F, dW transposed) set to (accumulate: added) the sum over the ns samples of x
     * and positions p of x[i, c, oh + kh, ow + kw] * tmpT[i*OH*OW + p, f] -- the same
     * products, in the same order, as cols @ tmpT with cols from im2col. */
    void (*implicit_dwt)(const fnn_conv_geom *g, fnn_idx ns, fnn_idx u0, fnn_idx u1,
                         const float *x, const float *tmpT, float *dwt, int accumulate);
    /* Implicit dx for samples [i0, i1) (overwritten) from dy, with no dcols and no
     * col2im, given wr (fnn_conv_implicit_dx_wr for this variant). */
    void (*implicit_dx)(const fnn_conv_geom *g, fnn_idx i0, fnn_idx i1, const float *wr,
                        const float *dy, float *dx);
    /* col2im of channel c for samples [i0, i1) of a batch of n, as conv_impl.h's
     * col2im_block, bit for bit: each input row summed in registers over the window
     * offsets that read it, in the same (kh, kw) order, and stored once. */
    void (*col2im_narrow)(const fnn_conv_geom *g, fnn_idx n, fnn_idx c, fnn_idx i0, fnn_idx i1,
                          const float *cols, float *dx);
} fnn_conv_variant;

/* The family's shape rules, stated once (each also asks that a variant may run now):
 *   direct:      stride 1, dilation 1, C*KH*KW <= MAX_K, KW <= MAX_KW, OW >= 8;
 *   pooled_dw:   direct, C*KH <= POOLED_MAX_CKH, OH*OW <= POOLED_MAX_OHW, pg matching;
 *   implicit:    stride 1, dilation 1, no padding, kernels 2 to IMPLICIT_MAX_KW wide, at
 *                most IMPLICIT_MAX_F filters, W within IMPLICIT_MAX_WT;
 *   implicit_dx: implicit, input rows of at most IMPLICIT_DX_MAX_W, output rows of at
 *                least 4, kernels 3, 5 or 7 wide, wr within IMPLICIT_MAX_WT for 16-lane
 *                channel blocks (so for every variant);
 *   col2im_narrow: stride 1, dilation 1, rows (input and output) of at most
 *                COL2IM_NARROW_MAX_W, kernels at most 16 wide. */
int fnn_conv_direct_ok(const fnn_conv_geom *g);
int fnn_conv_pooled_dw_ok(const fnn_conv_geom *g, const fnn_conv_geom *pg);
int fnn_conv_implicit_ok(const fnn_conv_geom *g);
int fnn_conv_implicit_dx_ok(const fnn_conv_geom *g);
int fnn_col2im_narrow_ok(const fnn_conv_geom *g);

/* The direct dW's tasks: blocks of FNN_CONV_DIRECT_DW_TASK filters. */
fnn_idx fnn_conv_direct_dw_tasks(const fnn_conv_geom *g);

/* implicit_dx's weights: w (F, C, KH, KW) rearranged as [C/L blocks][F][KH][KW][L
 * channels] (zero beyond C) for the variant's L = v->lanes; fnn_conv_implicit_dx_wr_size
 * floats (at most FNN_CONV_IMPLICIT_MAX_WT where fnn_conv_implicit_dx_ok). */
fnn_idx fnn_conv_implicit_dx_wr_size(const fnn_conv_geom *g, const fnn_conv_variant *v);
void fnn_conv_implicit_dx_wr(const fnn_conv_geom *g, const fnn_conv_variant *v, const float *w,
                             float *wr);

/* Every variant compiled, best first (*count: their number); the one for this CPU at the
 * level in force, or NULL (FASTNN_GEMM=blas also turns these off, as every hand-written
 * kernel); the one named `name` if this CPU runs it (the tests). */
const fnn_conv_variant *const *fnn_conv_variants(int *count);
const fnn_conv_variant *fnn_conv_pick(void);
const fnn_conv_variant *fnn_conv_by_name(const char *name);
/* The variant a caller runs once an *_ok rule said yes: fnn_conv_pick(), or, if the
 * level was lowered in between by another thread, the best variant this CPU runs (the
 * result is the same either way, so a caller never needs a second check). */
const fnn_conv_variant *fnn_conv_run(void);

#endif
