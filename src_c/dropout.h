/* dropout.h -- inverted dropout with a counter-based random stream.
 *
 * Element i of a call keeps its value with probability 1 - rate. The decision is a pure
 * function of (seed, offset + i): a splitmix64 hash, whose top 24 bits give a uniform
 * u in [0, 1); the element is kept when u >= rate. So the mask does not depend on the
 * thread count or on how the work is split, and the numpy twin reproduces it exactly.
 * mask[i] is 1 / (1 - rate) for kept elements and 0 for dropped ones; y = x * mask.
 */
#ifndef FNN_DROPOUT_H
#define FNN_DROPOUT_H

#include <stdint.h>

#include "fnn_common.h"

void fnn_dropout_forward_f32(fnn_idx n, const float *x, float *y, float *mask, double rate,
                             uint64_t seed, uint64_t offset, int n_threads);
void fnn_dropout_forward_f64(fnn_idx n, const double *x, double *y, double *mask, double rate,
                             uint64_t seed, uint64_t offset, int n_threads);

/* dx = dy * mask */
void fnn_dropout_backward_f32(fnn_idx n, const float *dy, const float *mask, float *dx,
                              int n_threads);
void fnn_dropout_backward_f64(fnn_idx n, const double *dy, const double *mask, double *dx,
                              int n_threads);

#endif
