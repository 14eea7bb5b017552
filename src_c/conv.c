/* conv.c -- 2-D convolution through im2col and GEMM; bodies in conv_impl.h.
 *
 * Forward, and backward's dx, run block by block of samples (FNN_CONV_L2_BYTES of cols
 * per block), each block start to end on one thread: im2col of the block, its product
 * (one single-threaded GEMM call on the block's columns of cols, ld = n*OH*OW), the
 * permutation into y -- or for dx the block's dcols and col2im -- while the block's
 * columns are still in L2. The blocks do not depend on the thread count, so y and dx
 * are bit-identical for any thread count. dW is one product over the whole batch.
 *
 * Threads never share an output element: im2col and col2im split the (channel, sample)
 * pairs u = c * n + i (pair u owns the segment of sample i in channel c's KH*KW rows of
 * cols, and the plane dx[i, c]), the permutations split the (sample, filter) blocks and
 * the bias gradient the filters. col2im adds into each dx element in (kh, kw) order
 * whatever the split, so every result of these loops is bit-identical whatever the
 * thread count (the GEMMs are BLAS's; see matmul.h).
 *
 * Within a thread's share, pairs are walked a block of samples at a time, row of cols
 * by row: the stores to cols (the loads for col2im) run sequentially along each row
 * while the block's input planes stay in L1.
 */
#include <string.h>

#include "conv.h"

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

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_GEMM_T fnn_gemm_f32_fn
#include "conv_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_GEMM_T fnn_gemm_f64_fn
#include "conv_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
