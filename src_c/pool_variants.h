/* pool_variants.h -- the maxpool2x2 family: 2x2 max pooling with stride 2 in float32,
 * for output rows of at most FNN_MAXPOOL2X2_MAX_OW elements (MNIST's 24x24 and 8x8 feature
 * maps, anything up to 32 columns wide), one variant per instruction set behind one table.
 *
 * The compiler-vectorized leaf (pool_impl.h) reads the window's stride-2 columns with
 * gathers and carries the argmax as 64-bit lanes. These kernels load an output row's
 * two input rows whole, split them into even and odd columns with one permute each, and
 * compare a vector of outputs at a time. They are written once
 * (src_c/arch/maxpool2x2_f32_body.h) and instantiated per instruction set in
 * src_c/arch/<isa>/maxpool2x2_f32.c.
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
#ifndef FNN_POOL_VARIANTS_H
#define FNN_POOL_VARIANTS_H

#include "conv.h"
#include "cpu.h"

/* Widest output row the kernels take (two input rows of 32 floats in registers). */
#define FNN_MAXPOOL2X2_MAX_OW 16

/* dx (planes, H, W) from dy and argmax (planes, OH, OW) for a plane the kernels leave to
 * the generic loop: fallback(hw, ohw, planes, dy_plane, argmax_plane, dx_plane). */
typedef void (*fnn_maxpool_plane_fn)(fnn_idx hw, fnn_idx ohw, fnn_idx planes,
                                     const float *dy, const fnn_idx *argmax, float *dx);

typedef struct {
    const char *name; /* "avx512", "avx2", "neon" (fnn_variant_head, cpu.h) */
    int isa;
    /* The planes [0, planes) of x (planes, H, W) -> y and argmax (planes, OH, OW). */
    void (*forward)(const fnn_conv_geom *g, fnn_idx planes, const float *x, float *y,
                    fnn_idx *argmax);
    /* dx (planes, H, W) from dy and argmax (planes, OH, OW). */
    void (*backward)(const fnn_conv_geom *g, fnn_idx planes, const float *dy,
                     const fnn_idx *argmax, float *dx, fnn_maxpool_plane_fn fallback);
} fnn_maxpool2x2_variant;

/* Whether g (a pooling geometry) takes the kernels: forward needs a 2x2 window with
 * stride 2 and what backward needs, 1 <= OW <= FNN_MAXPOOL2X2_MAX_OW and the planes'
 * sizes (H * W < 2^31). The one statement of the family's geometry rule. */
int fnn_maxpool2x2_fits(const fnn_conv_geom *g);
int fnn_maxpool2x2_bwd_fits(const fnn_conv_geom *g);

/* Every variant compiled, best first (*count: their number); the one for this CPU at the
 * level in force, or NULL (FASTNN_GEMM=blas also turns these off, as every hand-written
 * kernel); the one named `name` if this CPU runs it (the tests). */
const fnn_maxpool2x2_variant *const *fnn_maxpool2x2_variants(int *count);
const fnn_maxpool2x2_variant *fnn_maxpool2x2_pick(void);
const fnn_maxpool2x2_variant *fnn_maxpool2x2_by_name(const char *name);

#endif
