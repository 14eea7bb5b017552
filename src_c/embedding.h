/* embedding.h -- the lookup of an embedding table and its gradient.
 *
 * weight is the (v, d) table, row-major; idx holds n row numbers, each in [0, v) (the
 * caller checks them: the kernels index with them unchecked).
 *
 * Forward:  out[s, :] = weight[idx[s], :]  for s in [0, n); out is (n, d).
 * Backward: dweight = 0, then dweight[idx[s], :] += dy[s, :] for s = 0, 1, ..., n - 1,
 *           skipping every s with idx[s] == padding_idx (padding_idx < 0: none), so the
 *           padding row stays zero. The gradient is dense (v, d); only the rows of the
 *           indices seen are nonzero.
 *
 * Determinism: the backward splits the d columns over the threads (in blocks of 16) and
 * every thread walks all n indices in order, so each element of dweight is the sum of
 * its contributions in the order s = 0, 1, ..., whatever the thread count -- the order
 * of numpy's np.add.at, so the twins agree to the bit.
 */
#ifndef FNN_EMBEDDING_H
#define FNN_EMBEDDING_H

#include "fnn_common.h"

void fnn_embedding_forward_f32(fnn_idx n, fnn_idx d, const fnn_idx *idx, const float *weight,
                               float *out, int n_threads);
void fnn_embedding_forward_f64(fnn_idx n, fnn_idx d, const fnn_idx *idx, const double *weight,
                               double *out, int n_threads);

void fnn_embedding_backward_f32(fnn_idx n, fnn_idx v, fnn_idx d, const fnn_idx *idx,
                                const float *dy, fnn_idx padding_idx, float *dweight,
                                int n_threads);
void fnn_embedding_backward_f64(fnn_idx n, fnn_idx v, fnn_idx d, const fnn_idx *idx,
                                const double *dy, fnn_idx padding_idx, double *dweight,
                                int n_threads);

#endif
