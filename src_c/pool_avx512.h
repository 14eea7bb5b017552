/* pool_avx512.h -- 2x2 max pooling with stride 2 in float32 on AVX-512
 * (src_c/pool_avx512.c), for output rows of at most 16 elements (MNIST's 24x24 and
 * 8x8 feature maps, and anything up to 32 columns wide).
 *
 * The compiler-vectorized leaf (pool_impl.h) reads the window's stride-2 columns with
 * gathers and carries the argmax as 64-bit lanes, 8 outputs per vector. These kernels
 * load an output row's two input rows whole (32 columns in two registers), split them
 * into even and odd columns with one permute each, and compare 16 outputs at a time.
 *
 *   forward:  same result as pool_impl.h's maxpool_2x2s2, bit for bit: the window in
 *             row-major order (0,0), (0,1), (1,0), (1,1), the first maximum kept, a NaN
 *             taken unless the running maximum is already NaN; argmax the flat index
 *             h * W + w within the plane.
 *   backward: dx = 0 + dy at argmax, 0 elsewhere, as pool_impl.h's scatter does, when
 *             every argmax of the plane lies in its output element's own 2x2 block (as
 *             the forward writes it); a plane where one does not goes to `fallback`.
 *             The 2x2 blocks of distinct outputs do not overlap, so each dx element gets
 *             at most one gradient and the order of the adds does not matter.
 */
#ifndef FNN_POOL_AVX512_H
#define FNN_POOL_AVX512_H

#include "conv.h"
#include "cpu.h"

/* 1 if g (a pooling geometry) takes these kernels: a 2x2 window, stride 2,
 * 1 <= OW <= 16, H * W < 2^31, on a CPU with AVX-512 (F/VL/DQ) and FASTNN_GEMM not
 * "blas". Backward needs only OW <= 16 and the plane sizes (fnn_maxpool2x2_bwd_ok). */
int fnn_maxpool2x2_ok(const fnn_conv_geom *g);
/* The instruction set these kernels are written for, where they are compiled and may run
 * now (cpu.h: fnn_own_kernels_run), else -1 (-2: not compiled on this platform); the two
 * _ok above ask it. */
#define FNN_MAXPOOL2X2_ISA FNN_ISA_AVX512
int fnn_maxpool2x2_isa(void);
int fnn_maxpool2x2_bwd_ok(const fnn_conv_geom *g);

/* The planes [0, planes) of x (planes, H, W) -> y and argmax (planes, OH, OW). */
void fnn_maxpool2x2_forward(const fnn_conv_geom *g, fnn_idx planes, const float *x, float *y,
                            fnn_idx *argmax);

/* dx (planes, H, W) from dy and argmax (planes, OH, OW); a plane whose argmax leaves the
 * 2x2 blocks is done by fallback(hw, ohw, dy_plane, argmax_plane, dx_plane). */
typedef void (*fnn_maxpool_plane_fn)(fnn_idx hw, fnn_idx ohw, fnn_idx planes,
                                     const float *dy, const fnn_idx *argmax, float *dx);
void fnn_maxpool2x2_backward(const fnn_conv_geom *g, fnn_idx planes, const float *dy,
                             const fnn_idx *argmax, float *dx, fnn_maxpool_plane_fn fallback);

#endif
