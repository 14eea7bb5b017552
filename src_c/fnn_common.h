/* fnn_common.h -- conventions shared by every fastnn C kernel.
 *
 * - Sizes and indices are `fnn_idx` (ptrdiff_t, the same width as Py_ssize_t).
 * - Arrays are C-contiguous; matrices are row-major with the row length as stride.
 * - Every kernel exists as _f32 (float) and _f64 (double). The body is written once
 *   in a *_impl.h file and included twice with REAL / FNN_SFX defined.
 * - Kernels that may run in parallel take `int n_threads` (the caller's thread
 *   budget, >= 1). They split the work into at most n_threads contiguous chunks and
 *   only go parallel when each chunk gets at least a "grain" of work, because a
 *   parallel region costs a few microseconds to start.
 * - Inner loops are `#pragma omp simd` leaf functions in <kernel>_leaves.h, compiled
 *   once per instruction-set level; FNN_LEAF(name) runs the level in force
 *   (fnn_leaves.h).
 * - Reductions are deterministic: the summation order never depends on the thread count.
 */
#ifndef FNN_COMMON_H
#define FNN_COMMON_H

#include <stddef.h>

typedef ptrdiff_t fnn_idx;

/* Work per thread below which a loop stays serial. Cheap loops (a few flops per
 * element, memory bound) need many elements to amortise the fork/join; loops with a
 * transcendental function per element pay off much sooner. */
#define FNN_GRAIN_CHEAP 65536
#define FNN_GRAIN_HEAVY 8192

/* For a loop nest whose inner loop must stay one vector loop over a fixed block: GCC's
 * unroll-and-jam at -O3 fuses two outer iterations into a scalar inner loop (it made the
 * 1-row product 3x slower). */
#if defined(__GNUC__) && !defined(__clang__)
#define FNN_NO_UNROLL_JAM __attribute__((optimize("no-loop-unroll-and-jam")))
#else
#define FNN_NO_UNROLL_JAM
#endif

/* How many threads to use for `work` units when each thread should get >= grain. */
static inline int fnn_team_size(fnn_idx work, fnn_idx grain, int n_threads)
{
    fnn_idx t = grain > 0 ? work / grain : work;
    if (t > n_threads) t = n_threads;
    return t < 1 ? 1 : (int)t;
}

/* Start of chunk `part` when [0, n) is split into `parts` nearly equal pieces whose
 * boundaries fall on multiples of `align` elements (keeps vector loops aligned and
 * threads off each other's cache lines). */
static inline fnn_idx fnn_chunk_start(fnn_idx n, int parts, int part, fnn_idx align)
{
    if (part >= parts) return n;
    fnn_idx s = (fnn_idx)((double)n * part / parts);
    s -= s % align;
    return s;
}

/* Run BODY for t = 0 .. team - 1: on an OpenMP team when team > 1, else inline.
 * (An `omp parallel ... if (0)` region still enters libgomp, which allocates and frees
 * a team on every call: a measurable share of a 10-row training step.) */
#define FNN_TEAM_FOR(team, t, ...)                                                     \
    do {                                                                               \
        int fnn_team_ = (team);                                                        \
        if (fnn_team_ > 1) {                                                           \
            _Pragma("omp parallel for num_threads(fnn_team_) schedule(static)")        \
            for (int t = 0; t < fnn_team_; ++t) { __VA_ARGS__; }                       \
        } else {                                                                       \
            const int t = 0;                                                           \
            (void)t;                                                                   \
            __VA_ARGS__;                                                               \
        }                                                                              \
    } while (0)

/* Run CALL once per contiguous chunk [lo, lo + len) of [0, n): one chunk (serially)
 * when the work is small, else one chunk per thread of a team of at most n_threads,
 * each getting at least `grain` elements. CALL is a statement using `lo` and `len`. */
#define FNN_FOR_CHUNKS(n, grain, n_threads, lo, len, CALL)                              \
    FNN_TEAM_FOR(fnn_team_size((n), (grain), (n_threads)), fnn_t_,                     \
                 fnn_idx lo = fnn_chunk_start((n), fnn_team_, fnn_t_, 16);             \
                 fnn_idx len = fnn_chunk_start((n), fnn_team_, fnn_t_ + 1, 16) - lo;   \
                 CALL)

#endif /* FNN_COMMON_H */
