/* pool.c -- max / average pooling and global average pooling; bodies in pool_impl.h.
 *
 * Work is split over (sample, channel) planes: a thread owns whole planes, so every
 * output element is computed by one thread in a fixed order and the results do not
 * depend on the thread count. Within a plane the loops run offset by offset over the
 * pooling window (row-major window order), each offset a vector loop over one output
 * row, so the numpy twin (which loops over the same offsets) rounds identically.
 */
#include <math.h>
#include <string.h>

#include "pool.h"
#include "pool_variants.h"

/* Team size for `planes` planes of `per_plane` units of work each. */
static inline int fnn_pool_team(fnn_idx planes, fnn_idx per_plane, int n_threads)
{
    int team = fnn_team_size(planes * (per_plane > 0 ? per_plane : 1), FNN_GRAIN_CHEAP,
                             n_threads);
    return planes < team ? (planes > 0 ? (int)planes : 1) : team;
}

/* Run CALL on the planes [lo, hi) of a chunk, one chunk per thread of the team. */
#define FNN_FOR_PLANES(planes, per_plane, n_threads, lo, hi, CALL)                        \
    do {                                                                                 \
        fnn_idx fnn_np_ = (planes);                                                      \
        int fnn_pt_ = fnn_pool_team(fnn_np_, (per_plane), (n_threads));                  \
        FNN_TEAM_FOR(fnn_pt_, fnn_tt_,                                                   \
                     fnn_idx lo = fnn_chunk_start(fnn_np_, fnn_pt_, fnn_tt_, 1);         \
                     fnn_idx hi = fnn_chunk_start(fnn_np_, fnn_pt_, fnn_tt_ + 1, 1);     \
                     CALL);                                                              \
    } while (0)

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "pool_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
/* float32: 2x2 stride-2 max pooling on the maxpool2x2 family where it takes the geometry */
#define FNN_MAXPOOL2X2 1
#include "fnn_each_level.h"
#include "pool_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_MAXPOOL2X2

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "pool_impl.h"
#undef REAL
#undef FNN_SFX
