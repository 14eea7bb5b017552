/* recurrent.h -- the recurrence of SimpleRNN, GRU and LSTM layers: the steps over time,
 * forward and backward through time (BPTT). The products that span every step (the input
 * projection x W_ih^T + b_ih, and the weight gradients) are one GEMM each, done by the
 * caller; these kernels run what must go step by step: one product h_{t-1} W_hh^T per
 * step on the GEMM team (fastnn's small-matrix kernels take batch-sized products) and the
 * gates, fused elementwise.
 *
 * Layout: time-major. Every (t, n, .) array holds step t's rows contiguously, so a step's
 * state is a plain (n, h) matrix for the GEMM. Gate order and formulas are PyTorch's
 * (g = the number of gates, 1 for the simple cells, 3 for GRU, 4 for LSTM):
 *
 *   simple: h' = act(xp + h W_hh^T + b_hh)                     act = tanh or relu
 *   GRU:    [r, z] = sigmoid(xp_rz + h W_hh_rz^T + b_hh_rz)
 *           m = h W_hn^T + b_hn,  n = tanh(xp_n + r * m),  h' = (1 - z) * n + z * h
 *   LSTM:   [i, f, o] = sigmoid(.), g = tanh(.) over xp + h W_hh^T + b_hh (order i, f, g, o)
 *           c' = f * c + i * g,  h' = o * tanh(c')
 *
 * Lengths: with lengths[b] < t_steps, steps s >= lengths[b] of sample b are padding: its
 * state carries over unchanged (h, and c), its output row is zero and no gradient flows
 * through the cell there.
 */
#ifndef FNN_RECURRENT_H
#define FNN_RECURRENT_H

#include <stdint.h>

#include "fnn_common.h"
#include "matmul.h"

enum fnn_cell { FNN_CELL_TANH = 0, FNN_CELL_RELU = 1, FNN_CELL_GRU = 2, FNN_CELL_LSTM = 3 };

/* Gates per cell (g above). */
static inline int fnn_cell_gates(int cell)
{
    return cell == FNN_CELL_GRU ? 3 : cell == FNN_CELL_LSTM ? 4 : 1;
}

/* Scratch (elements of REAL) the forward and the backward need: a step's recurrent
 * product (g states) and up to four states (a zero state, dh, the next dh, dc). */
static inline fnn_idx fnn_recurrent_workspace(int cell, fnn_idx n, fnn_idx h)
{
    return (4 + (fnn_idx)fnn_cell_gates(cell)) * n * h;
}

/* Forward over t_steps steps.
 *   gates   (t, n, g*h) in: the input projections xp; out: the activated gates (simple
 *           cells: h' itself), which the backward reads. Zero on padded rows.
 *   whh_t   (h, g*h) W_hh transposed; bhh (g*h) b_hh (zeros for a layer without bias).
 *   h0, c0  (n, h) or NULL (zeros); c0 only for LSTM.
 *   lengths (n) or NULL (every sample runs all steps); each in [0, t_steps].
 *   hs      (t, n, h) out: the state after each step (carried over on padded rows).
 *   aux     (t, n, h) out: GRU m = h W_hn^T + b_hn, LSTM the cell state c' (carried);
 *           NULL for the simple cells.
 *   work    fnn_recurrent_workspace() elements.
 * The final state is hs[t_steps - 1] (and aux[t_steps - 1] for LSTM's c). */
void fnn_recurrent_forward_f32(fnn_gemm_f32_fn gemm, int cell, fnn_idx t_steps, fnn_idx n,
                               fnn_idx h, float *gates, const float *whh_t, const float *bhh,
                               const float *h0, const float *c0, const int64_t *lengths,
                               float *hs, float *aux, float *work, int n_threads);
void fnn_recurrent_forward_f64(fnn_gemm_f64_fn gemm, int cell, fnn_idx t_steps, fnn_idx n,
                               fnn_idx h, double *gates, const double *whh_t, const double *bhh,
                               const double *h0, const double *c0, const int64_t *lengths,
                               double *hs, double *aux, double *work, int n_threads);

/* Backward through time, from the forward's gates, hs and aux.
 *   dhs     (t, n, h) dL/d(output at each step), or NULL (only the final state is used).
 *   dh_n, dc_n (n, h): dL/d(final h, c), or NULL (zeros).
 *   whh     (g*h, h) W_hh as stored.
 *   dgx     (t, n, g*h) out: dL/d(xp), the gradient of the gates' pre-activations.
 *   dgh     (t, n, g*h) out, GRU only: dL/d(h W_hh^T + b_hh), which equals dgx except in
 *           the n gate (dgx * r there). NULL for the other cells, where it is dgx.
 *   dh0, dc0 (n, h) out: dL/d(h0, c0) (dc0 only for LSTM; NULL: not wanted).
 * The caller forms dW_ih = dgx^T x, db_ih = sum(dgx), dx = dgx W_ih,
 * dW_hh = dgh^T (h0, hs[0 .. t-2]) and db_hh = sum(dgh) as whole-sequence GEMMs. */
void fnn_recurrent_backward_f32(fnn_gemm_f32_fn gemm, int cell, fnn_idx t_steps, fnn_idx n,
                                fnn_idx h, const float *dhs, const float *dh_n,
                                const float *dc_n, const float *gates, const float *hs,
                                const float *aux, const float *h0, const float *c0,
                                const float *whh, const int64_t *lengths, float *dgx,
                                float *dgh, float *dh0, float *dc0, float *work,
                                int n_threads);
void fnn_recurrent_backward_f64(fnn_gemm_f64_fn gemm, int cell, fnn_idx t_steps, fnn_idx n,
                                fnn_idx h, const double *dhs, const double *dh_n,
                                const double *dc_n, const double *gates, const double *hs,
                                const double *aux, const double *h0, const double *c0,
                                const double *whh, const int64_t *lengths, double *dgx,
                                double *dgh, double *dh0, double *dc0, double *work,
                                int n_threads);

#endif
