/* losses.h -- loss values and gradients, fused in one pass over the batch.
 *
 * Every loss returns   L = sum_i c_i * l_i,   c_i = w_i / sum_k w_k
 * (the mean over the n samples when weight == NULL, the weighted mean otherwise),
 * writes the per-sample losses l_i into row_loss[n] (a caller-provided workspace,
 * which also makes the final sum independent of the thread count), and, when
 * grad != NULL, writes dL/d(input) with the input's shape.
 */
#ifndef FNN_LOSSES_H
#define FNN_LOSSES_H

#include "fnn_common.h"

/* Mean squared error over (n, d): l_i = mean_j (pred_ij - target_ij)^2. */
double fnn_mse_f32(fnn_idx n, fnn_idx d, const float *pred, const float *target,
                   const float *weight, float *grad, double *row_loss, int n_threads);
double fnn_mse_f64(fnn_idx n, fnn_idx d, const double *pred, const double *target,
                   const double *weight, double *grad, double *row_loss, int n_threads);

/* Softmax cross-entropy from logits (n, c) and integer labels in [0, c):
 * l_i = logsumexp(z_i) - z_i[label_i]. Labels must be validated by the caller. */
double fnn_softmax_xent_labels_f32(fnn_idx n, fnn_idx c, const float *logits,
                                   const fnn_idx *labels, const float *weight, float *grad,
                                   double *row_loss, int n_threads);
double fnn_softmax_xent_labels_f64(fnn_idx n, fnn_idx c, const double *logits,
                                   const fnn_idx *labels, const double *weight, double *grad,
                                   double *row_loss, int n_threads);

/* Softmax cross-entropy from logits (n, c) and target probabilities t (n, c):
 * l_i = sum_j t_ij (logsumexp(z_i) - z_ij). */
double fnn_softmax_xent_probs_f32(fnn_idx n, fnn_idx c, const float *logits,
                                  const float *target, const float *weight, float *grad,
                                  double *row_loss, int n_threads);
double fnn_softmax_xent_probs_f64(fnn_idx n, fnn_idx c, const double *logits,
                                  const double *target, const double *weight, double *grad,
                                  double *row_loss, int n_threads);

/* Binary cross-entropy from logits (n, d) and targets in [0, 1]:
 * l_i = mean_j max(z, 0) - z t + log(1 + exp(-|z|)). */
double fnn_binary_xent_f32(fnn_idx n, fnn_idx d, const float *logits, const float *target,
                           const float *weight, float *grad, double *row_loss, int n_threads);
double fnn_binary_xent_f64(fnn_idx n, fnn_idx d, const double *logits, const double *target,
                           const double *weight, double *grad, double *row_loss,
                           int n_threads);

#endif
