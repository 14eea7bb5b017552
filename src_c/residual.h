/* residual.h -- the add of a residual connection: out = a + b, elementwise.
 * Backward of a residual block is an add too (the skip's gradient plus the gradient
 * through the inner layers). out may alias a or b. */
#ifndef FNN_RESIDUAL_H
#define FNN_RESIDUAL_H

#include "fnn_common.h"

void fnn_residual_add_f32(fnn_idx n, const float *a, const float *b, float *out, int n_threads);
void fnn_residual_add_f64(fnn_idx n, const double *a, const double *b, double *out,
                          int n_threads);

#endif
