/* optimizers_leaves.h -- the vector loops of optimizers.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h).
 *
 * State arrays (momentum, Adam's moments, RMSprop's averages) decay geometrically where
 * the gradient is 0 -- every weight of a dead ReLU unit -- and would sink into the
 * subnormal range, where each arithmetic operation costs ~100 cycles. States below the
 * smallest normal number are therefore stored as 0 (FNN_FLUSH): a change under 1e-38
 * (float) that the numpy twin makes too. */
#define FNN_FLUSH(v) (((v) < FNN_TINY && (v) > -FNN_TINY) ? (REAL)0 : (v))

/* Weight decay adds wd * p to the gradient only where wd != 0, as the numpy twin does: a
 * NaN or infinite weight then stays in that weight, not in its optimizer state. */

static void FNN_L(sgd_leaf)(fnn_idx n, REAL *p, const REAL *g, REAL *vel, REAL lr, REAL mom,
                            int nesterov, REAL wd)
{
    if (!vel) {
#pragma omp simd
        for (fnn_idx i = 0; i < n; ++i) p[i] -= lr * (wd != 0 ? g[i] + wd * p[i] : g[i]);
        return;
    }
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) {
        REAL gi = wd != 0 ? g[i] + wd * p[i] : g[i];
        REAL vi = FNN_FLUSH(mom * vel[i] + gi);
        vel[i] = vi;
        p[i] -= lr * (nesterov ? gi + mom * vi : vi);
    }
}

static void FNN_L(adam_leaf)(fnn_idx n, REAL *p, const REAL *g, REAL *m, REAL *v, REAL *vmax,
                             const FNN_SFX(fnn_adam_coefs) *k)
{
    const REAL b1 = k->beta1, c1 = k->one_minus_beta1, b2 = k->beta2, c2 = k->one_minus_beta2;
    const REAL eps = k->eps, l2 = k->l2, shrink = k->shrink, step = k->step_size;
    const REAL ib = k->inv_sqrt_bc2;
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) {
        REAL pi = p[i] * shrink;
        REAL gi = l2 != 0 ? g[i] + l2 * pi : g[i];
        REAL mi = FNN_FLUSH(b1 * m[i] + c1 * gi);
        REAL vi = FNN_FLUSH(b2 * v[i] + c2 * (gi * gi));
        m[i] = mi;
        v[i] = vi;
        REAL second = vi;
        if (vmax) {
            /* np.maximum: a NaN in either stays */
            second = (vmax[i] > vi || vmax[i] != vmax[i]) ? vmax[i] : vi;
            vmax[i] = second;
        }
        p[i] = pi - step * mi / (FNN_SQRT(second) * ib + eps);
    }
}

static void FNN_L(rmsprop_leaf)(fnn_idx n, REAL *p, const REAL *g, REAL *sq, REAL *ga,
                                REAL *vel, REAL lr, REAL rho, REAL one_minus_rho, REAL eps,
                                REAL wd, REAL mom)
{
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) {
        REAL gi = wd != 0 ? g[i] + wd * p[i] : g[i];
        REAL si = FNN_FLUSH(rho * sq[i] + one_minus_rho * (gi * gi));
        sq[i] = si;
        if (ga) {
            REAL ai = FNN_FLUSH(rho * ga[i] + one_minus_rho * gi);
            ga[i] = ai;
            si = si - ai * ai;
        }
        REAL r = gi / (FNN_SQRT(si) + eps);
        if (vel) {
            REAL bi = FNN_FLUSH(mom * vel[i] + r);
            vel[i] = bi;
            p[i] -= lr * bi;
        } else {
            p[i] -= lr * r;
        }
    }
}

static double FNN_L(sum_squares_leaf)(fnn_idx n, const REAL *x)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (fnn_idx i = 0; i < n; ++i) s += (double)x[i] * (double)x[i];
    return s;
}

static void FNN_L(scale_leaf)(fnn_idx n, REAL *x, REAL f)
{
#pragma omp simd
    for (fnn_idx i = 0; i < n; ++i) x[i] *= f;
}

#undef FNN_FLUSH
