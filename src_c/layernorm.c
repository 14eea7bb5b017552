/* layernorm.c -- layer normalization over the last axis; bodies in layernorm_impl.h.
 *
 * Every output is the same for any thread count:
 *   - y, mean, inv_std and dx are per row: threads split the rows, and one thread sums
 *     each row (in double, a vector reduction over its D values) and writes it.
 *   - dgamma, dbeta sum over the rows: threads split the columns, FNN_LN_BLOCK columns
 *     at a time in vector lanes, and each column is summed row after row by one thread.
 * Backward makes the column pass first, then the row pass, so dx may overwrite dy.
 */
#include <math.h>

#include "layernorm.h"

#define FNN_LN_BLOCK 128

/* Team for `units` parallel pieces of a loop over r * d values. */
static inline int fnn_ln_team(fnn_idx r, fnn_idx d, fnn_idx units, int n_threads)
{
    int team = fnn_team_size(r * d, FNN_GRAIN_CHEAP, n_threads);
    if (team > units) team = units > 0 ? (int)units : 1;
    return team;
}

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "layernorm_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "fnn_each_level.h"
#include "layernorm_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "layernorm_impl.h"
#undef REAL
#undef FNN_SFX
