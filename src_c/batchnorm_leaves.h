/* batchnorm_leaves.h -- the vector loops of batchnorm.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h).
 *
 * The numpy twin (fastnn/reference/batchnorm.py) evaluates the same expressions:
 *   forward:  mean, var, inv_std in double; then in REAL
 *             y = (x - mean) * (gamma * inv_std) + beta
 *   backward: sum(dy), sum(dy * (x - mean)) in double; dbeta = sum(dy),
 *             dgamma = inv_std * sum(dy * (x - mean)); the textbook
 *             dx = gamma * inv_std / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
 *             regrouped (coefficients per channel in double, then in REAL) as
 *             dx = a * dy + b * (x - mean) + c0
 *             a = gamma * inv_std, b = -k * inv_std * inv_std * sum(dy * (x - mean)),
 *             c0 = -k * sum(dy), k = gamma * inv_std / M.
 */

/* mean / inv_std outputs and the running statistics of channel ch. */
static inline void FNN_L(bn_finish_channel)(fnn_idx ch, fnn_idx m, double mu, double var,
                                            double inv, REAL *mean, REAL *inv_std,
                                            REAL *running_mean, REAL *running_var,
                                            double momentum)
{
    mean[ch] = (REAL)mu;
    inv_std[ch] = (REAL)inv;
    if (running_mean) {
        running_mean[ch] = (REAL)((1.0 - momentum) * (double)running_mean[ch] + momentum * mu);
        running_var[ch] = (REAL)((1.0 - momentum) * (double)running_var[ch] +
                                 momentum * fnn_bn_unbiased(var, m));
    }
}

/* Channels [lo, hi) of the (n, C, S) layout. */
static void FNN_L(bn_train_planes)(fnn_idx n, fnn_idx c, fnn_idx s, fnn_idx lo, fnn_idx hi,
                                   const REAL *x, const REAL *gamma, const REAL *beta,
                                   REAL *y, REAL *mean, REAL *inv_std, REAL *running_mean,
                                   REAL *running_var, double momentum, double eps)
{
    const fnn_idx cs = c * s;
    const double m = (double)(n * s);
    for (fnn_idx ch = lo; ch < hi; ++ch) {
        double sum = 0.0;
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *xi = x + i * cs + ch * s;
            double acc = 0.0;
#pragma omp simd reduction(+ : acc)
            for (fnn_idx j = 0; j < s; ++j) acc += (double)xi[j];
            sum += acc;
        }
        const double mu = sum / m;
        double sq = 0.0;
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *xi = x + i * cs + ch * s;
            double acc = 0.0;
#pragma omp simd reduction(+ : acc)
            for (fnn_idx j = 0; j < s; ++j) {
                double d = (double)xi[j] - mu;
                acc += d * d;
            }
            sq += acc;
        }
        const double var = sq / m;
        FNN_L(bn_finish_channel)(ch, n * s, mu, var, 1.0 / sqrt(var + eps), mean, inv_std,
                                 running_mean, running_var, momentum);
        const REAL mr = mean[ch], sc = gamma[ch] * inv_std[ch], b = beta[ch];
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *xi = x + i * cs + ch * s;
            REAL *yi = y + i * cs + ch * s;
#pragma omp simd
            for (fnn_idx j = 0; j < s; ++j) yi[j] = (xi[j] - mr) * sc + b;
        }
    }
}

/* Columns [lo, hi) of the (n, C) layout, FNN_BN_BLOCK at a time, the columns in lanes:
 * each column is still summed row after row. */
static void FNN_L(bn_train_cols)(fnn_idx n, fnn_idx c, fnn_idx lo, fnn_idx hi, const REAL *x,
                                 const REAL *gamma, const REAL *beta, REAL *y, REAL *mean,
                                 REAL *inv_std, REAL *running_mean, REAL *running_var,
                                 double momentum, double eps)
{
    double mu[FNN_BN_BLOCK], sq[FNN_BN_BLOCK];
    REAL mr[FNN_BN_BLOCK], sc[FNN_BN_BLOCK];
    const double m = (double)n;
    for (fnn_idx b0 = lo; b0 < hi; b0 += FNN_BN_BLOCK) {
        const fnn_idx w = hi - b0 < FNN_BN_BLOCK ? hi - b0 : FNN_BN_BLOCK;
#pragma omp simd
        for (fnn_idx j = 0; j < w; ++j) mu[j] = sq[j] = 0.0;
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *row = x + i * c + b0;
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) mu[j] += (double)row[j];
        }
#pragma omp simd
        for (fnn_idx j = 0; j < w; ++j) mu[j] /= m;
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *row = x + i * c + b0;
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) {
                double d = (double)row[j] - mu[j];
                sq[j] += d * d;
            }
        }
        for (fnn_idx j = 0; j < w; ++j) {
            const double var = sq[j] / m;
            FNN_L(bn_finish_channel)(b0 + j, n, mu[j], var, 1.0 / sqrt(var + eps), mean,
                                     inv_std, running_mean, running_var, momentum);
            mr[j] = mean[b0 + j];
            sc[j] = gamma[b0 + j] * inv_std[b0 + j];
        }
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *row = x + i * c + b0;
            REAL *yrow = y + i * c + b0;
            const REAL *bb = beta + b0;
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) yrow[j] = (row[j] - mr[j]) * sc[j] + bb[j];
        }
    }
}

static inline REAL FNN_L(bn_infer_scale)(REAL gamma, REAL running_var, double eps)
{
    return gamma * (REAL)(1.0 / sqrt((double)running_var + eps));
}

/* Planes [plo, phi) of the (n, C, S) layout (plane p is channel p % C). */
static void FNN_L(bn_infer_planes)(fnn_idx c, fnn_idx s, fnn_idx plo, fnn_idx phi,
                                   const REAL *x, const REAL *gamma, const REAL *beta,
                                   const REAL *running_mean, const REAL *running_var,
                                   double eps, REAL *y)
{
    for (fnn_idx p = plo; p < phi; ++p) {
        const fnn_idx ch = p % c;
        const REAL mr = running_mean[ch], b = beta[ch];
        const REAL sc = FNN_L(bn_infer_scale)(gamma[ch], running_var[ch], eps);
        const REAL *xp = x + p * s;
        REAL *yp = y + p * s;
#pragma omp simd
        for (fnn_idx j = 0; j < s; ++j) yp[j] = (xp[j] - mr) * sc + b;
    }
}

/* Rows [rlo, rhi) of the (n, C) layout. */
static void FNN_L(bn_infer_cols)(fnn_idx c, fnn_idx rlo, fnn_idx rhi, const REAL *x,
                                 const REAL *gamma, const REAL *beta,
                                 const REAL *running_mean, const REAL *running_var,
                                 double eps, REAL *y)
{
    REAL sc[FNN_BN_BLOCK];
    for (fnn_idx b0 = 0; b0 < c; b0 += FNN_BN_BLOCK) {
        const fnn_idx w = c - b0 < FNN_BN_BLOCK ? c - b0 : FNN_BN_BLOCK;
        for (fnn_idx j = 0; j < w; ++j)
            sc[j] = FNN_L(bn_infer_scale)(gamma[b0 + j], running_var[b0 + j], eps);
        const REAL *mr = running_mean + b0, *bb = beta + b0;
        for (fnn_idx i = rlo; i < rhi; ++i) {
            const REAL *row = x + i * c + b0;
            REAL *yrow = y + i * c + b0;
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) yrow[j] = (row[j] - mr[j]) * sc[j] + bb[j];
        }
    }
}

/* The per-channel coefficients of dx = a * dy + b * (x - mean) + c0 (see the top). */
static inline void FNN_L(bn_dx_coefs)(double gamma, double inv, double m, double sdy,
                                      double sdyx, REAL *a, REAL *b, REAL *c0)
{
    const double k = gamma * inv / m;
    *a = (REAL)(gamma * inv);
    *b = (REAL)(-k * inv * inv * sdyx);
    *c0 = (REAL)(-k * sdy);
}

static void FNN_L(bn_backward_planes)(fnn_idx n, fnn_idx c, fnn_idx s, fnn_idx lo,
                                      fnn_idx hi, const REAL *x, const REAL *dy,
                                      const REAL *gamma, const REAL *mean,
                                      const REAL *inv_std, REAL *dx, REAL *dgamma,
                                      REAL *dbeta)
{
    const fnn_idx cs = c * s;
    for (fnn_idx ch = lo; ch < hi; ++ch) {
        const REAL mr = mean[ch];
        const double md = (double)mr, inv = (double)inv_std[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *xi = x + i * cs + ch * s, *gi = dy + i * cs + ch * s;
            double acc = 0.0, accx = 0.0;
#pragma omp simd reduction(+ : acc, accx)
            for (fnn_idx j = 0; j < s; ++j) {
                double g = (double)gi[j];
                acc += g;
                accx += g * ((double)xi[j] - md);
            }
            sdy += acc;
            sdyx += accx;
        }
        dbeta[ch] = (REAL)sdy;
        dgamma[ch] = (REAL)(sdyx * inv);
        if (!dx || n * s == 0) continue;
        REAL a, b, c0;
        FNN_L(bn_dx_coefs)((double)gamma[ch], inv, (double)(n * s), sdy, sdyx, &a, &b, &c0);
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *xi = x + i * cs + ch * s, *gi = dy + i * cs + ch * s;
            REAL *di = dx + i * cs + ch * s;
#pragma omp simd
            for (fnn_idx j = 0; j < s; ++j) di[j] = a * gi[j] + b * (xi[j] - mr) + c0;
        }
    }
}

static void FNN_L(bn_backward_cols)(fnn_idx n, fnn_idx c, fnn_idx lo, fnn_idx hi,
                                    const REAL *x, const REAL *dy, const REAL *gamma,
                                    const REAL *mean, const REAL *inv_std, REAL *dx,
                                    REAL *dgamma, REAL *dbeta)
{
    double sdy[FNN_BN_BLOCK], sdyx[FNN_BN_BLOCK];
    REAL ca[FNN_BN_BLOCK], cb[FNN_BN_BLOCK], cc[FNN_BN_BLOCK];
    for (fnn_idx b0 = lo; b0 < hi; b0 += FNN_BN_BLOCK) {
        const fnn_idx w = hi - b0 < FNN_BN_BLOCK ? hi - b0 : FNN_BN_BLOCK;
        const REAL *mr = mean + b0;
#pragma omp simd
        for (fnn_idx j = 0; j < w; ++j) sdy[j] = sdyx[j] = 0.0;
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *row = x + i * c + b0, *grow = dy + i * c + b0;
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j) {
                double g = (double)grow[j];
                sdy[j] += g;
                sdyx[j] += g * ((double)row[j] - (double)mr[j]);
            }
        }
        for (fnn_idx j = 0; j < w; ++j) {
            const double inv = (double)inv_std[b0 + j];
            dbeta[b0 + j] = (REAL)sdy[j];
            dgamma[b0 + j] = (REAL)(sdyx[j] * inv);
            if (dx && n > 0)
                FNN_L(bn_dx_coefs)((double)gamma[b0 + j], inv, (double)n, sdy[j], sdyx[j],
                                   &ca[j], &cb[j], &cc[j]);
        }
        if (!dx) continue;
        for (fnn_idx i = 0; i < n; ++i) {
            const REAL *row = x + i * c + b0, *grow = dy + i * c + b0;
            REAL *drow = dx + i * c + b0;
#pragma omp simd
            for (fnn_idx j = 0; j < w; ++j)
                drow[j] = ca[j] * grow[j] + cb[j] * (row[j] - mr[j]) + cc[j];
        }
    }
}
