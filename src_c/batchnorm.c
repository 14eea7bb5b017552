/* batchnorm.c -- batch normalization over channels; bodies in batchnorm_impl.h.
 *
 * Threads split the channels, never the values of one channel: each channel's sums are
 * accumulated by one thread, in double, in an order fixed by the shape alone (sample by
 * sample; within a sample's plane a vector reduction), so the statistics and every
 * output are the same for any thread count. A thread makes all its passes over its own
 * channels (statistics, then y or dx) while their data is still in cache.
 *
 * Two layouts:
 *   S > 1  (n, C, S): a channel is n contiguous planes of S values.
 *   S == 1 (n, C):    a channel is a column; blocks of FNN_BN_BLOCK columns are summed
 *                     row after row with the columns in vector lanes.
 */
#include <math.h>

#include "batchnorm.h"

#define FNN_BN_BLOCK 128

/* Team for `work` values split over `c` channels; on the column layout each thread
 * gets at least 16 columns. */
static inline int fnn_bn_team(fnn_idx work, fnn_idx c, fnn_idx s, int n_threads)
{
    fnn_idx units = s == 1 ? (c + 15) / 16 : c;
    int team = fnn_team_size(work, FNN_GRAIN_CHEAP, n_threads);
    if (team > units) team = units > 0 ? (int)units : 1;
    return team;
}

/* Run CALL on the channels [lo, hi) of one chunk per thread. */
#define FNN_FOR_CHANNELS(n, c, s, n_threads, lo, hi, CALL)                                \
    do {                                                                                 \
        fnn_idx fnn_c_ = (c), fnn_s_ = (s);                                              \
        int fnn_bt_ = fnn_bn_team((n) * fnn_c_ * fnn_s_, fnn_c_, fnn_s_, (n_threads));   \
        fnn_idx fnn_al_ = fnn_s_ == 1 ? 16 : 1;                                          \
        FNN_TEAM_FOR(fnn_bt_, fnn_tt_,                                                   \
                     fnn_idx lo = fnn_chunk_start(fnn_c_, fnn_bt_, fnn_tt_, fnn_al_);    \
                     fnn_idx hi = fnn_chunk_start(fnn_c_, fnn_bt_, fnn_tt_ + 1, fnn_al_); \
                     CALL);                                                              \
    } while (0)

/* Unbiased variance from the biased one over m values (the biased one when m == 1). */
static inline double fnn_bn_unbiased(double var, fnn_idx m)
{
    return m > 1 ? var * (double)m / (double)(m - 1) : var;
}

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "batchnorm_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "fnn_each_level.h"
#include "batchnorm_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "batchnorm_impl.h"
#undef REAL
#undef FNN_SFX
