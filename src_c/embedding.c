/* embedding.c -- embedding lookup (a gather of rows) and its gradient (a scatter-add of
 * rows); bodies in embedding_impl.h.
 *
 * The forward splits the output rows over the threads. The backward splits the columns
 * (embedding.h: the sum order of each element is fixed, so the result does not depend on
 * the thread count); each thread zeroes its columns of dweight, then adds its columns of
 * every dy row into the row of its index, rows in index order.
 */
#include "embedding.h"

/* Column blocks of the backward: 16 elements, a cache line of floats. */
#define FNN_EMB_ALIGN 16

/* Team for the backward: at most one thread per column block. */
static inline int fnn_emb_team(fnn_idx work, fnn_idx d, int n_threads)
{
    fnn_idx blocks = (d + FNN_EMB_ALIGN - 1) / FNN_EMB_ALIGN;
    int team = fnn_team_size(work, FNN_GRAIN_CHEAP, n_threads);
    if (team > blocks) team = blocks > 0 ? (int)blocks : 1;
    return team;
}

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "embedding_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "fnn_each_level.h"
#include "embedding_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "embedding_impl.h"
#undef REAL
#undef FNN_SFX
