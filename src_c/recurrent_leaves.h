/* recurrent_leaves.h -- the per-row gate arithmetic of recurrent.c, compiled once per
 * instruction-set level and REAL (fnn_leaves.h). Each leaf handles one sample's row of
 * one step: h columns of state, g*h of gates (gate k at columns [k*h, (k+1)*h)).
 *
 * Forward: `gate` holds the input projection on entry and the activated gates on exit;
 * `rec` is the row of h_{t-1} W_hh^T, `bhh` the recurrent bias.
 * Backward: `dh` is dL/dh' (the output's and the next step's share); the leaves write the
 * pre-activation gradients dgx (of xp; also that of h W_hh^T + b_hh, except for GRU, whose
 * leaf writes that one to dgh) and `carry`, the part of dL/dh_{t-1} that does not go
 * through W_hh. */

/* ------------------------------------------------------------------- forward */

static void FNN_L(rnn_step)(fnn_idx h, int relu, REAL *restrict gate, const REAL *restrict rec,
                            const REAL *restrict bhh, REAL *restrict hout)
{
    if (relu) {
#pragma omp simd
        for (fnn_idx j = 0; j < h; ++j) {
            REAL a = gate[j] + rec[j] + bhh[j];
            REAL y = a > 0 ? a : (REAL)0;
            gate[j] = y;
            hout[j] = y;
        }
    } else {
#pragma omp simd
        for (fnn_idx j = 0; j < h; ++j) {
            REAL y = FNN_SFX(fnn_tanh)(gate[j] + rec[j] + bhh[j]);
            gate[j] = y;
            hout[j] = y;
        }
    }
}

static void FNN_L(gru_step)(fnn_idx h, REAL *restrict gate, const REAL *restrict rec,
                            const REAL *restrict bhh, const REAL *restrict hprev,
                            REAL *restrict hout, REAL *restrict m)
{
    REAL *restrict r = gate, *restrict z = gate + h, *restrict nn = gate + 2 * h;
#pragma omp simd
    for (fnn_idx j = 0; j < h; ++j) {
        REAL rj = FNN_SFX(fnn_sigmoid)(r[j] + rec[j] + bhh[j]);
        REAL zj = FNN_SFX(fnn_sigmoid)(z[j] + rec[h + j] + bhh[h + j]);
        REAL mj = rec[2 * h + j] + bhh[2 * h + j];
        REAL nj = FNN_SFX(fnn_tanh)(nn[j] + rj * mj);
        r[j] = rj;
        z[j] = zj;
        nn[j] = nj;
        m[j] = mj;
        hout[j] = ((REAL)1 - zj) * nj + zj * hprev[j];
    }
}

static void FNN_L(lstm_step)(fnn_idx h, REAL *restrict gate, const REAL *restrict rec,
                             const REAL *restrict bhh, const REAL *restrict cprev,
                             REAL *restrict hout, REAL *restrict cout)
{
    REAL *restrict gi = gate, *restrict gf = gate + h, *restrict gg = gate + 2 * h,
                   *restrict go = gate + 3 * h;
#pragma omp simd
    for (fnn_idx j = 0; j < h; ++j) {
        REAL ij = FNN_SFX(fnn_sigmoid)(gi[j] + rec[j] + bhh[j]);
        REAL fj = FNN_SFX(fnn_sigmoid)(gf[j] + rec[h + j] + bhh[h + j]);
        REAL gj = FNN_SFX(fnn_tanh)(gg[j] + rec[2 * h + j] + bhh[2 * h + j]);
        REAL oj = FNN_SFX(fnn_sigmoid)(go[j] + rec[3 * h + j] + bhh[3 * h + j]);
        REAL cj = fj * cprev[j] + ij * gj;
        gi[j] = ij;
        gf[j] = fj;
        gg[j] = gj;
        go[j] = oj;
        cout[j] = cj;
        hout[j] = oj * FNN_SFX(fnn_tanh)(cj);
    }
}

/* ------------------------------------------------------------------ backward */

static void FNN_L(rnn_step_back)(fnn_idx h, int relu, const REAL *restrict dh,
                                 const REAL *restrict y, REAL *restrict dgx,
                                 REAL *restrict carry)
{
    if (relu) {
#pragma omp simd
        for (fnn_idx j = 0; j < h; ++j) {
            REAL d = y[j] > 0 ? dh[j] : (REAL)0;
            dgx[j] = d;
            carry[j] = 0;
        }
    } else {
#pragma omp simd
        for (fnn_idx j = 0; j < h; ++j) {
            REAL d = dh[j] * ((REAL)1 - y[j] * y[j]);
            dgx[j] = d;
            carry[j] = 0;
        }
    }
}

static void FNN_L(gru_step_back)(fnn_idx h, const REAL *restrict dh, const REAL *restrict gate,
                                 const REAL *restrict m, const REAL *restrict hprev,
                                 REAL *restrict dgx, REAL *restrict dgh, REAL *restrict carry)
{
    const REAL *restrict r = gate, *restrict z = gate + h, *restrict nn = gate + 2 * h;
#pragma omp simd
    for (fnn_idx j = 0; j < h; ++j) {
        REAL rj = r[j], zj = z[j], nj = nn[j], d = dh[j];
        REAL dn = d * ((REAL)1 - zj) * ((REAL)1 - nj * nj);  /* at n's pre-activation */
        REAL dz = d * (hprev[j] - nj) * zj * ((REAL)1 - zj);
        REAL dr = dn * m[j] * rj * ((REAL)1 - rj);
        dgx[j] = dr;
        dgx[h + j] = dz;
        dgx[2 * h + j] = dn;
        dgh[j] = dr;
        dgh[h + j] = dz;
        dgh[2 * h + j] = dn * rj;
        carry[j] = d * zj;
    }
}

/* dc: dL/dc' on entry (the next step's share), dL/dc_{t-1} on exit. */
static void FNN_L(lstm_step_back)(fnn_idx h, const REAL *restrict dh, REAL *restrict dc,
                                  const REAL *restrict gate, const REAL *restrict c,
                                  const REAL *restrict cprev, REAL *restrict dgx,
                                  REAL *restrict carry)
{
    const REAL *restrict gi = gate, *restrict gf = gate + h, *restrict gg = gate + 2 * h,
                         *restrict go = gate + 3 * h;
#pragma omp simd
    for (fnn_idx j = 0; j < h; ++j) {
        REAL ij = gi[j], fj = gf[j], gj = gg[j], oj = go[j];
        REAL tc = FNN_SFX(fnn_tanh)(c[j]);
        REAL dct = dc[j] + dh[j] * oj * ((REAL)1 - tc * tc);
        REAL di = dct * gj * ij * ((REAL)1 - ij);
        REAL df = dct * cprev[j] * fj * ((REAL)1 - fj);
        REAL dg = dct * ij * ((REAL)1 - gj * gj);
        REAL dout = dh[j] * tc * oj * ((REAL)1 - oj);
        dgx[j] = di;
        dgx[h + j] = df;
        dgx[2 * h + j] = dg;
        dgx[3 * h + j] = dout;
        dc[j] = dct * fj;
        carry[j] = 0;
    }
}

/* y (+)= x over n values. */
static void FNN_L(rnn_add)(fnn_idx n, const REAL *restrict x, REAL *restrict y)
{
#pragma omp simd
    for (fnn_idx j = 0; j < n; ++j) y[j] += x[j];
}
