/* losses_impl.h -- type-generic bodies for losses.c (included once per REAL).
 *
 * Each loss has a row leaf (rows [0, rows) of a block, vectorized along the row) and a
 * driver that splits the batch by rows over threads, then sums c_i * l_i serially in
 * row order. The gradient of row i carries its factor c_i = w_i / sum(w).
 */

/* The sum of the weights (n when unweighted), in double and in row order. */
static double FNN_SFX(weight_sum)(fnn_idx n, const REAL *weight)
{
    if (!weight) return (double)n;
    double s = 0;
    for (fnn_idx i = 0; i < n; ++i) s += weight[i];
    return s;
}

/* L = sum_i c_i l_i over the row losses, in row order (independent of threads). */
static double FNN_SFX(weighted_total)(fnn_idx n, const REAL *weight, double wsum,
                                      const double *row_loss)
{
    double total = 0;
    for (fnn_idx i = 0; i < n; ++i) total += (weight ? weight[i] / wsum : 1.0 / wsum) * row_loss[i];
    return total;
}

/* ------------------------------------------------------------------------------ MSE */

double FNN_SFX(fnn_mse)(fnn_idx n, fnn_idx d, const REAL *pred, const REAL *target,
                        const REAL *weight, REAL *grad, double *row_loss, int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_CHEAP / (d + 1) + 1, n_threads, lo, len,
                   FNN_LEAF(mse_leaf)(len, d, pred + lo * d, target + lo * d,
                                      weight ? weight + lo : NULL, wsum,
                                      grad ? grad + lo * d : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

/* ------------------------------------------------------------ softmax cross-entropy */

double FNN_SFX(fnn_softmax_xent_labels)(fnn_idx n, fnn_idx c, const REAL *logits,
                                        const fnn_idx *labels, const REAL *weight, REAL *grad,
                                        double *row_loss, int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY / (c + 1) + 1, n_threads, lo, len,
                   FNN_LEAF(xent_labels_leaf)(len, c, logits + lo * c, labels + lo,
                                              weight ? weight + lo : NULL, wsum,
                                              grad ? grad + lo * c : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

double FNN_SFX(fnn_softmax_xent_probs)(fnn_idx n, fnn_idx c, const REAL *logits,
                                       const REAL *target, const REAL *weight, REAL *grad,
                                       double *row_loss, int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY / (c + 1) + 1, n_threads, lo, len,
                   FNN_LEAF(xent_probs_leaf)(len, c, logits + lo * c, target + lo * c,
                                             weight ? weight + lo : NULL, wsum,
                                             grad ? grad + lo * c : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

/* ------------------------------------------------------------- binary cross-entropy */

double FNN_SFX(fnn_binary_xent)(fnn_idx n, fnn_idx d, const REAL *logits, const REAL *target,
                                const REAL *weight, REAL *grad, double *row_loss,
                                int n_threads)
{
    double wsum = FNN_SFX(weight_sum)(n, weight);
    FNN_FOR_CHUNKS(n, FNN_GRAIN_HEAVY / (d + 1) + 1, n_threads, lo, len,
                   FNN_LEAF(binary_xent_leaf)(len, d, logits + lo * d, target + lo * d,
                                              weight ? weight + lo : NULL, wsum,
                                              grad ? grad + lo * d : NULL, row_loss + lo));
    return FNN_SFX(weighted_total)(n, weight, wsum, row_loss);
}

