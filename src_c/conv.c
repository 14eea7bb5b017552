/* conv.c -- 2-D convolution through im2col and GEMM; bodies in conv_impl.h.
 *
 * Forward and backward run block by block of samples (FNN_CONV_L2_BYTES of cols per
 * block), each block start to end on one thread: im2col of the block into its own
 * contiguous (C*KH*KW, ns*OH*OW) matrix, its product, the permutation into y -- or for
 * dx the block's dcols and col2im -- while the block is still in L2. The blocks do not
 * depend on the thread count, so y, dx and db are bit-identical for any thread count.
 * dW adds the blocks' products in block order, the threads splitting its rows (of dW^T
 * on the float32 AVX-512 path): with at most 64 filters it is bit-identical too.
 *
 * The public im2col / col2im (the whole batch as one matrix) split the (channel, sample)
 * pairs u = c * n + i among the threads (pair u owns the segment of sample i in channel
 * c's KH*KW rows of cols, and the plane dx[i, c]), walked a few samples at a time, row
 * of cols by row, while the input planes stay in L1. col2im adds into each dx element
 * in (kh, kw) order whatever the split, so they are bit-identical for any thread count.
 *
 * In float32, where a conv variant runs (conv_variants.h: AVX-512, AVX2, NEON), layers
 * with few input channels take the direct kernels,
 * and stride-1 unpadded layers of at most 32 filters the implicit GEMMs (both in
 * conv_variants.h): they read x in place, with no cols (and, for a narrow dx, no dcols).
 */
#include <limits.h>
#include <string.h>

#include "conv.h"
#include "conv_variants.h"
#include "gemm_variants.h"

/* Output positions o in [0, out) whose input position o * s + off lies in [0, size)
 * form one range [*lo, *hi) (empty: *lo == *hi). The positions outside it read the zero
 * padding, so the copy loops run over the range and zero-fill the rest, no per-element
 * branch. */
static inline void fnn_conv_valid(fnn_idx out, fnn_idx size, fnn_idx s, fnn_idx off,
                                  fnn_idx *lo, fnn_idx *hi)
{
    fnn_idx l = off >= 0 ? 0 : (-off + s - 1) / s;   /* first o with o*s + off >= 0 */
    fnn_idx h = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1; /* o*s + off < size */
    if (l > out) l = out;
    if (h > out) h = out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* Samples per block: enough input planes to fill about FNN_CONV_BLOCK_BYTES (L1-sized;
 * the timings hardly change between 8 and 128 KiB). */
#ifndef FNN_CONV_BLOCK_BYTES
#define FNN_CONV_BLOCK_BYTES 32768
#endif

/* Run BLOCK(c, i0, i1) over the units [u0, u1) of u = c * n + i, cut into runs of one
 * channel and at most `bs` samples. */
#define FNN_CONV_BLOCKS(n, bs, u0, u1, BLOCK)                                            \
    for (fnn_idx u_ = (u0); u_ < (u1);) {                                              \
        fnn_idx c_ = u_ / (n), i0_ = u_ % (n), i1_ = (u1) - c_ * (n);                  \
        if (i1_ > (n)) i1_ = (n);                                                      \
        if (i1_ > i0_ + (bs)) i1_ = i0_ + (bs);                                        \
        BLOCK(c_, i0_, i1_);                                                           \
        u_ = c_ * (n) + i1_;                                                           \
    }

/* Bytes of cols per block of samples in the blocked forward and backward passes (about
 * half of a 1 MiB L2, leaving room for W and the block's share of tmp). */
#ifndef FNN_CONV_L2_BYTES
#define FNN_CONV_L2_BYTES (512 * 1024)
#endif
/* The blocks per pass are a multiple of this (see conv_block_samples in conv_impl.h). */
#ifndef FNN_CONV_BLOCK_SPLIT
#define FNN_CONV_BLOCK_SPLIT 8
#endif

/* The blocks' products: C (m x n) = A (m x k) B (k x n) and C (m x n) = A^T (m x k) G
 * (k x n) with A stored (k, m), contiguous row-major, overwritten. In float32, with a
 * short side of at most FNN_GEMM_MAX_ROWS (the filters for NN, the inner dimension for
 * TN), they run on fastnn's register-blocked kernels (the gemm family, gemm_variants.h)
 * where a variant runs on this CPU: no packing, which for these shapes (a few dozen
 * filters against thousands of positions) costs BLAS as much as the arithmetic; 1.5-2x
 * faster on the MNIST LeNet's blocks. */
static inline const fnn_sgemm_variant *fnn_conv_fast(fnn_idx small, fnn_idx a, fnn_idx b)
{
    return small <= FNN_GEMM_MAX_ROWS && a <= INT_MAX && b <= INT_MAX ? fnn_sgemm_pick() : NULL;
}

#define FNN_CONV_NN_F32(gemm, m, n, k, A, B, C)                                           \
    do {                                                                                \
        const fnn_sgemm_variant *v_ = fnn_conv_fast((m), (n), (k));                     \
        if (v_)                                                                         \
            v_->nn((int)(m), (int)(k), (int)(n), (A), (B), (C), 0);                     \
        else                                                                            \
            (gemm)(0, 0, (m), (n), (k), 1.0f, (A), (k), (B), (n), 0.0f, (C), (n));      \
    } while (0)
#define FNN_CONV_TN_F32(gemm, m, n, k, A, G, C)                                           \
    do {                                                                                \
        const fnn_sgemm_variant *v_ = fnn_conv_fast((k), (m), (n));                     \
        if (v_)                                                                         \
            v_->tn((int)(k), (int)(m), (int)(n), (A), (G), (C));                        \
        else                                                                            \
            (gemm)(1, 0, (m), (n), (k), 1.0f, (A), (m), (G), (n), 0.0f, (C), (n));      \
    } while (0)
/* Filters up to which dW's dot-product tiles (conv_dw_block) beat one GEMM call per block. */
#define FNN_CONV_TILE_FILTERS 64
/* dW of at most FNN_GEMM_MAX_ROWS filters: dW^T (K x F) += cols_b (K x nsO) @ tmpT_b
 * (nsO x F) on the NN kernel (float32); elsewhere the generic tiles. */
#define FNN_CONV_DW_FAST_F32(F, K, len) (fnn_conv_fast((F), (K), (len)) != NULL)
#define FNN_CONV_DWT_F32(m, k, n, A, B, C, acc)                                           \
    fnn_sgemm_pick()->nn((int)(m), (int)(k), (int)(n), (A), (B), (C), (acc))
/* Stride 1, no padding, at most 32 filters: dW^T from x in place (fnn_conv_implicit_dwt,
 * conv_variants.h), no im2col in backward. */
#define FNN_CONV_IMPLICIT_F32(g) fnn_conv_implicit_ok(g)
#define FNN_CONV_IMPLICIT_DWT_F32 fnn_conv_run()->implicit_dwt
static void fnn_conv_implicit_forward_run(const fnn_conv_geom *g, fnn_idx n, const float *x,
                                          const float *w, const float *b, float *y,
                                          int n_threads);
static void fnn_conv_implicit_dx_run(const fnn_conv_geom *g, fnn_idx n, const float *w,
                                     const float *dy, float *dx, int n_threads);
#define FNN_CONV_IMPLICIT_DX_OK_F32(g) fnn_conv_implicit_dx_ok(g)
#define FNN_CONV_IMPLICIT_DX_F32 fnn_conv_implicit_dx_run
#define FNN_CONV_IMPLICIT_DX_OK_F64(g) ((void)(g), 0)
#define FNN_CONV_IMPLICIT_DX_F64(g, n, w, dy, dx, t)                                          \
    ((void)(g), (void)(n), (void)(w), (void)(dy), (void)(dx), (void)(t))
#define FNN_CONV_IMPLICIT_FWD_OK_F32(g) fnn_conv_implicit_ok(g)
#define FNN_CONV_IMPLICIT_FWD_F32 fnn_conv_implicit_forward_run
#define FNN_CONV_IMPLICIT_FWD_OK_F64(g) ((void)(g), 0)
#define FNN_CONV_IMPLICIT_FWD_F64(g, n, x, w, b, y, t)                                      \
    ((void)(g), (void)(n), (void)(x), (void)(w), (void)(b), (void)(y), (void)(t))
#define FNN_CONV_IMPLICIT_F64(g) ((void)(g), 0)
#define FNN_CONV_IMPLICIT_DWT_F64(g, ns, u0, u1, x, T, dwt, acc)                                \
    ((void)(g), (void)(ns), (void)(u0), (void)(u1), (void)(x), (void)(T), (void)(dwt), (void)(acc))
#define FNN_CONV_DW_FAST_F64(F, K, len) 0
#define FNN_CONV_DWT_F64(m, k, n, A, B, C, acc)                                           \
    ((void)(m), (void)(k), (void)(n), (void)(A), (void)(B), (void)(C), (void)(acc))

/* Few input channels (a first layer), stride 1: the direct kernels (conv_variants.h) in
 * float32; float64 keeps to im2col + GEMM. */
#define FNN_CONV_DIRECT_F32(g) fnn_conv_direct_ok(g)
#define FNN_CONV_DIRECT_F64(g) ((void)(g), 0)
#define FNN_CONV_DIRECT_FWD_F32(g, i0, i1, x, w, b, y) fnn_conv_run()->direct_forward(g, i0, i1, x, w, b, y)
#define FNN_CONV_DIRECT_FWD_F64(g, i0, i1, x, w, b, y)                                    \
    ((void)(g), (void)(i0), (void)(i1), (void)(x), (void)(w), (void)(b), (void)(y))
#define FNN_CONV_DIRECT_DW_F32(g, n, t0, t1, x, dy, dw) fnn_conv_run()->direct_dw(g, n, t0, t1, x, dy, dw)
#define FNN_CONV_DIRECT_DW_F64(g, n, t0, t1, x, dy, dw)                                   \
    ((void)(g), (void)(n), (void)(t0), (void)(t1), (void)(x), (void)(dy), (void)(dw))

/* Input rows of at most 16 columns, stride 1: col2im on the narrow-plane kernel
 * (conv_variants.h) in float32. */
#define FNN_COL2IM_NARROW_OK_F32(g) fnn_col2im_narrow_ok(g)
#define FNN_COL2IM_NARROW_OK_F64(g) ((void)(g), 0)
#define FNN_COL2IM_NARROW_F32 fnn_conv_run()->col2im_narrow
#define FNN_COL2IM_NARROW_F64(g, n, c, i0, i1, cols, dx)                                  \
    ((void)(g), (void)(n), (void)(c), (void)(i0), (void)(i1), (void)(cols), (void)(dx))

#define FNN_CONV_NN_F64(gemm, m, n, k, A, B, C)                                           \
    (gemm)(0, 0, (m), (n), (k), 1.0, (A), (k), (B), (n), 0.0, (C), (n))
#define FNN_CONV_TN_F64(gemm, m, n, k, A, G, C)                                           \
    (gemm)(1, 0, (m), (n), (k), 1.0, (A), (m), (G), (n), 0.0, (C), (n))

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "conv_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_GEMM_T fnn_gemm_f32_fn
#define FNN_CONV_NN FNN_CONV_NN_F32
#define FNN_CONV_TN FNN_CONV_TN_F32
#define FNN_CONV_DW_FAST FNN_CONV_DW_FAST_F32
#define FNN_CONV_DWT FNN_CONV_DWT_F32
#define FNN_CONV_IMPLICIT FNN_CONV_IMPLICIT_F32
#define FNN_CONV_IMPLICIT_DX_OK FNN_CONV_IMPLICIT_DX_OK_F32
#define FNN_CONV_IMPLICIT_DX FNN_CONV_IMPLICIT_DX_F32
#define FNN_CONV_IMPLICIT_FWD_OK FNN_CONV_IMPLICIT_FWD_OK_F32
#define FNN_CONV_IMPLICIT_FWD FNN_CONV_IMPLICIT_FWD_F32
#define FNN_CONV_IMPLICIT_DWT FNN_CONV_IMPLICIT_DWT_F32
#define FNN_CONV_DIRECT FNN_CONV_DIRECT_F32
#define FNN_CONV_DIRECT_FWD FNN_CONV_DIRECT_FWD_F32
#define FNN_CONV_DIRECT_DW FNN_CONV_DIRECT_DW_F32
#define FNN_COL2IM_NARROW_OK FNN_COL2IM_NARROW_OK_F32
#define FNN_COL2IM_NARROW FNN_COL2IM_NARROW_F32
#include "fnn_each_level.h"
#include "conv_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
#undef FNN_CONV_NN
#undef FNN_CONV_TN
#undef FNN_CONV_DW_FAST
#undef FNN_CONV_DWT
#undef FNN_CONV_IMPLICIT
#undef FNN_CONV_IMPLICIT_DX_OK
#undef FNN_CONV_IMPLICIT_DX
#undef FNN_CONV_IMPLICIT_FWD_OK
#undef FNN_CONV_IMPLICIT_FWD
#undef FNN_CONV_IMPLICIT_DWT
#undef FNN_CONV_DIRECT
#undef FNN_CONV_DIRECT_FWD
#undef FNN_CONV_DIRECT_DW
#undef FNN_COL2IM_NARROW_OK
#undef FNN_COL2IM_NARROW

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_GEMM_T fnn_gemm_f64_fn
#define FNN_CONV_NN FNN_CONV_NN_F64
#define FNN_CONV_TN FNN_CONV_TN_F64
#define FNN_CONV_DW_FAST FNN_CONV_DW_FAST_F64
#define FNN_CONV_DWT FNN_CONV_DWT_F64
#define FNN_CONV_IMPLICIT FNN_CONV_IMPLICIT_F64
#define FNN_CONV_IMPLICIT_DX_OK FNN_CONV_IMPLICIT_DX_OK_F64
#define FNN_CONV_IMPLICIT_DX FNN_CONV_IMPLICIT_DX_F64
#define FNN_CONV_IMPLICIT_FWD_OK FNN_CONV_IMPLICIT_FWD_OK_F64
#define FNN_CONV_IMPLICIT_FWD FNN_CONV_IMPLICIT_FWD_F64
#define FNN_CONV_IMPLICIT_DWT FNN_CONV_IMPLICIT_DWT_F64
#define FNN_CONV_DIRECT FNN_CONV_DIRECT_F64
#define FNN_CONV_DIRECT_FWD FNN_CONV_DIRECT_FWD_F64
#define FNN_CONV_DIRECT_DW FNN_CONV_DIRECT_DW_F64
#define FNN_COL2IM_NARROW_OK FNN_COL2IM_NARROW_OK_F64
#define FNN_COL2IM_NARROW FNN_COL2IM_NARROW_F64
#include "fnn_each_level.h"
#include "conv_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
#undef FNN_CONV_NN
#undef FNN_CONV_TN
#undef FNN_CONV_DW_FAST
#undef FNN_CONV_DWT
#undef FNN_CONV_IMPLICIT
#undef FNN_CONV_IMPLICIT_DX_OK
#undef FNN_CONV_IMPLICIT_DX
#undef FNN_CONV_IMPLICIT_FWD_OK
#undef FNN_CONV_IMPLICIT_FWD
#undef FNN_CONV_IMPLICIT_DWT
#undef FNN_CONV_DIRECT
#undef FNN_CONV_DIRECT_FWD
#undef FNN_CONV_DIRECT_DW
#undef FNN_COL2IM_NARROW_OK
#undef FNN_COL2IM_NARROW

void fnn_conv_pooled_dw_run(const fnn_conv_geom *g, const fnn_conv_geom *pg, fnn_idx n,
                            const float *x, const float *gp, const fnn_idx *argmax, float *dw,
                            float *db, int n_threads)
{
    const fnn_idx F = g->f;
    const fnn_conv_variant *cv = fnn_conv_run();
    if (n == 0) {
        memset(dw, 0, (size_t)(F * g->c * g->kh * g->kw) * sizeof(float));
        if (db) memset(db, 0, (size_t)F * sizeof(float));
        return;
    }
    int team = fnn_team_size(n * F * pg->oh * pg->ow * g->c * g->kh * g->kw, FNN_GRAIN_CHEAP,
                             n_threads);
    if (team > F) team = (int)F;
    FNN_TEAM_FOR(team, t,
        cv->pooled_dw(g, pg, n, fnn_chunk_start(F, team, t, 1),
                      fnn_chunk_start(F, team, t + 1, 1), x, gp, argmax, dw, db));
}

/* The implicit forward (fnn_conv_implicit_ok): W^T onto the stack (at most
 * FNN_CONV_IMPLICIT_MAX_WT floats), then the team splits the samples. */
static void fnn_conv_implicit_forward_run(const fnn_conv_geom *g, fnn_idx n, const float *x,
                                   const float *w, const float *b, float *y, int n_threads)
{
    const fnn_idx F = g->f, K = g->c * g->kh * g->kw;
    const fnn_conv_variant *cv = fnn_conv_run();
    float wt[FNN_CONV_IMPLICIT_MAX_WT] __attribute__((aligned(64)));
    for (fnn_idx f = 0; f < F; ++f)
        for (fnn_idx k = 0; k < K; ++k) wt[k * F + f] = w[f * K + k];
    int team = fnn_team_size(F * K * n * g->oh * g->ow, FNN_GRAIN_GEMM, n_threads);
    if (team > n) team = (int)n;
    FNN_TEAM_FOR(team, t,
        cv->implicit_forward(g, fnn_chunk_start(n, team, t, 1),
                             fnn_chunk_start(n, team, t + 1, 1), x, wt, b, y));
}

/* The implicit dx (fnn_conv_implicit_dx_ok): w rearranged onto the stack for the variant
 * (fnn_conv_implicit_dx_wr: at most FNN_CONV_IMPLICIT_MAX_WT floats), then the team
 * splits the samples. */
static void fnn_conv_implicit_dx_run(const fnn_conv_geom *g, fnn_idx n, const float *w,
                                     const float *dy, float *dx, int n_threads)
{
    const fnn_conv_variant *cv = fnn_conv_run();
    float wr[FNN_CONV_IMPLICIT_MAX_WT] __attribute__((aligned(64)));
    fnn_conv_implicit_dx_wr(g, cv, w, wr);
    int team = fnn_team_size(g->f * g->c * g->kh * g->kw * n * g->oh * g->ow, FNN_GRAIN_GEMM,
                             n_threads);
    if (team > n) team = (int)n;
    FNN_TEAM_FOR(team, t,
        cv->implicit_dx(g, fnn_chunk_start(n, team, t, 1), fnn_chunk_start(n, team, t + 1, 1),
                        wr, dy, dx));
}
