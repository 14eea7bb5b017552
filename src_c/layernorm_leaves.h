/* layernorm_leaves.h -- the vector loops of layernorm.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h).
 *
 * The numpy twin (fastnn/reference/layernorm.py) evaluates the same expressions:
 *   forward:  per row mean, var, inv_std in double (two passes: the variance of the
 *             centred values, exact enough for rows with a large offset); then in REAL
 *             y = ((x - mean) * inv_std) * gamma + beta
 *   backward: per column in double: dbeta = sum(dy), dgamma = sum(dy * ((x - mean) * inv_std));
 *             per row in double, with g = dy * gamma: sum(g), sum(g * (x - mean)); the
 *             textbook dx = inv_std * (g - mean_D(g) - xhat * mean_D(g * xhat))
 *             regrouped (coefficients per row in double, then in REAL) as
 *             dx = a * (dy * gamma) + b * (x - mean) + c0
 *             a = inv_std, b = -k * inv_std * inv_std * sum(g * (x - mean)),
 *             c0 = -k * sum(g), k = inv_std / D.
 */

/* Rows [lo, hi): statistics, then the normalised row (y may be x). */
static void FNN_L(ln_forward_rows)(fnn_idx d, fnn_idx lo, fnn_idx hi, const REAL *x,
                                   const REAL *gamma, const REAL *beta, REAL *y, REAL *mean,
                                   REAL *inv_std, double eps)
{
    const double m = (double)d;
    for (fnn_idx i = lo; i < hi; ++i) {
        const REAL *xi = x + i * d;
        REAL *yi = y + i * d;
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (fnn_idx j = 0; j < d; ++j) sum += (double)xi[j];
        const double mu = sum / m;
        double sq = 0.0;
#pragma omp simd reduction(+ : sq)
        for (fnn_idx j = 0; j < d; ++j) {
            double c = (double)xi[j] - mu;
            sq += c * c;
        }
        mean[i] = (REAL)mu;
        inv_std[i] = (REAL)(1.0 / sqrt(sq / m + eps));
        const REAL mr = mean[i], ir = inv_std[i];
#pragma omp simd
        for (fnn_idx j = 0; j < d; ++j) yi[j] = (xi[j] - mr) * ir * gamma[j] + beta[j];
    }
}

/* Columns [lo, hi) of dgamma and dbeta, FNN_LN_BLOCK at a time in the vector lanes:
 * each column summed over the r rows in order. */
static void FNN_L(ln_param_grads_cols)(fnn_idx r, fnn_idx d, fnn_idx lo, fnn_idx hi,
                                       const REAL *x, const REAL *dy, const REAL *mean,
                                       const REAL *inv_std, REAL *dgamma, REAL *dbeta)
{
    double sdy[FNN_LN_BLOCK], sdyx[FNN_LN_BLOCK];
    for (fnn_idx b0 = lo; b0 < hi; b0 += FNN_LN_BLOCK) {
        const fnn_idx w = hi - b0 < FNN_LN_BLOCK ? hi - b0 : FNN_LN_BLOCK;
#pragma omp simd
        for (fnn_idx j = 0; j < w; ++j) sdy[j] = sdyx[j] = 0.0;
        for (fnn_idx i = 0; i < r; ++i) {
            const REAL *row = x + i * d + b0, *grow = dy + i * d + b0;
            const double md = (double)mean[i], inv = (double)inv_std[i];
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) {
                double g = (double)grow[j];
                sdy[j] += g;
                sdyx[j] += g * (((double)row[j] - md) * inv);
            }
        }
        for (fnn_idx j = 0; j < w; ++j) {
            dbeta[b0 + j] = (REAL)sdy[j];
            dgamma[b0 + j] = (REAL)sdyx[j];
        }
    }
}

/* Rows [lo, hi) of dx (dx may be dy: each element is read before it is written). */
static void FNN_L(ln_dx_rows)(fnn_idx d, fnn_idx lo, fnn_idx hi, const REAL *x,
                              const REAL *dy, const REAL *gamma, const REAL *mean,
                              const REAL *inv_std, REAL *dx)
{
    for (fnn_idx i = lo; i < hi; ++i) {
        const REAL *xi = x + i * d, *gi = dy + i * d;
        REAL *di = dx + i * d;
        const REAL mr = mean[i];
        const double md = (double)mr, inv = (double)inv_std[i];
        double sg = 0.0, sgx = 0.0;
#pragma omp simd reduction(+ : sg, sgx)
        for (fnn_idx j = 0; j < d; ++j) {
            double g = (double)gi[j] * (double)gamma[j];
            sg += g;
            sgx += g * ((double)xi[j] - md);
        }
        const double k = inv / (double)d;
        const REAL a = (REAL)inv, b = (REAL)(-k * inv * inv * sgx), c0 = (REAL)(-k * sg);
#pragma omp simd
        for (fnn_idx j = 0; j < d; ++j) di[j] = a * (gi[j] * gamma[j]) + b * (xi[j] - mr) + c0;
    }
}
