/* recurrent_impl.h -- type-generic bodies for recurrent.c (included once per REAL, with
 * FNN_GEMM_FN the GEMM pointer type for REAL). A step is one product on the GEMM team,
 * then the gates of its rows, split over the team when the step is big enough. */

/* Rows of a step per thread: the gates' transcendentals make it heavy work. */
static inline int FNN_SFX(fnn_rnn_team)(fnn_idx n, fnn_idx gh, int n_threads)
{
    int team = fnn_team_size(n * gh, FNN_GRAIN_HEAVY, n_threads);
    return team > n ? (int)(n > 0 ? n : 1) : team;
}

static inline void FNN_SFX(fnn_rnn_copy)(fnn_idx len, const REAL *src, REAL *dst)
{
    for (fnn_idx j = 0; j < len; ++j) dst[j] = src[j];
}

static inline void FNN_SFX(fnn_rnn_zero)(fnn_idx len, REAL *dst)
{
    for (fnn_idx j = 0; j < len; ++j) dst[j] = 0;
}

/* ------------------------------------------------------------------- forward */

void FNN_SFX(fnn_recurrent_forward)(FNN_GEMM_FN gemm, int cell, fnn_idx t_steps, fnn_idx n,
                                    fnn_idx h, REAL *gates, const REAL *whh_t, const REAL *bhh,
                                    const REAL *h0, const REAL *c0, const int64_t *lengths,
                                    REAL *hs, REAL *aux, REAL *work, int n_threads)
{
    const fnn_idx gh = (fnn_idx)fnn_cell_gates(cell) * h;
    REAL *zero = work, *rec = work + n * h;
    FNN_SFX(fnn_rnn_zero)(n * h, zero);
    const REAL *hprev = h0 ? h0 : zero;
    const REAL *cprev = c0 ? c0 : zero;
    const int team = FNN_SFX(fnn_rnn_team)(n, gh, n_threads);
    for (fnn_idx s = 0; s < t_steps; ++s) {
        REAL *gs = gates + s * n * gh, *hcur = hs + s * n * h;
        REAL *acur = aux ? aux + s * n * h : NULL;
        FNN_SFX(fnn_gemm_team)(gemm, 0, 0, n, gh, h, 1, hprev, whh_t, 0, rec, n_threads);
        FNN_TEAM_FOR(team, t,
            const fnn_idx lo = fnn_chunk_start(n, team, t, 1);
            const fnn_idx hi = fnn_chunk_start(n, team, t + 1, 1);
            for (fnn_idx b = lo; b < hi; ++b) {
                REAL *gb = gs + b * gh, *hb = hcur + b * h;
                const REAL *rb = rec + b * gh, *pb = hprev + b * h;
                if (lengths && s >= lengths[b]) { /* padding: the state carries over */
                    FNN_SFX(fnn_rnn_copy)(h, pb, hb);
                    FNN_SFX(fnn_rnn_zero)(gh, gb);
                    if (cell == FNN_CELL_LSTM) FNN_SFX(fnn_rnn_copy)(h, cprev + b * h, acur + b * h);
                    else if (acur) FNN_SFX(fnn_rnn_zero)(h, acur + b * h);
                    continue;
                }
                switch (cell) {
                case FNN_CELL_GRU:
                    FNN_LEAF(gru_step)(h, gb, rb, bhh, pb, hb, acur + b * h);
                    break;
                case FNN_CELL_LSTM:
                    FNN_LEAF(lstm_step)(h, gb, rb, bhh, cprev + b * h, hb, acur + b * h);
                    break;
                default:
                    FNN_LEAF(rnn_step)(h, cell == FNN_CELL_RELU, gb, rb, bhh, hb);
                }
            });
        hprev = hcur;
        if (cell == FNN_CELL_LSTM) cprev = acur;
    }
}

/* ------------------------------------------------------------------ backward */

void FNN_SFX(fnn_recurrent_backward)(FNN_GEMM_FN gemm, int cell, fnn_idx t_steps, fnn_idx n,
                                     fnn_idx h, const REAL *dhs, const REAL *dh_n,
                                     const REAL *dc_n, const REAL *gates, const REAL *hs,
                                     const REAL *aux, const REAL *h0, const REAL *c0,
                                     const REAL *whh, const int64_t *lengths, REAL *dgx,
                                     REAL *dgh, REAL *dh0, REAL *dc0, REAL *work, int n_threads)
{
    const fnn_idx gh = (fnn_idx)fnn_cell_gates(cell) * h;
    const int lstm = cell == FNN_CELL_LSTM, gru = cell == FNN_CELL_GRU;
    REAL *zero = work, *dh = work + n * h, *dnext = work + 2 * n * h, *dc = work + 3 * n * h;
    FNN_SFX(fnn_rnn_zero)(n * h, zero);
    if (dh_n) FNN_SFX(fnn_rnn_copy)(n * h, dh_n, dh);
    else FNN_SFX(fnn_rnn_zero)(n * h, dh);
    if (lstm && dc_n) FNN_SFX(fnn_rnn_copy)(n * h, dc_n, dc);
    else FNN_SFX(fnn_rnn_zero)(n * h, dc);
    const int team = FNN_SFX(fnn_rnn_team)(n, gh, n_threads);
    for (fnn_idx s = t_steps - 1; s >= 0; --s) {
        const REAL *gs = gates + s * n * gh, *hcur = hs + s * n * h;
        const REAL *hprev = s ? hs + (s - 1) * n * h : (h0 ? h0 : zero);
        const REAL *ccur = lstm ? aux + s * n * h : NULL;
        const REAL *cprev = !lstm ? NULL : s ? aux + (s - 1) * n * h : (c0 ? c0 : zero);
        const REAL *mcur = gru ? aux + s * n * h : NULL;
        const REAL *dys = dhs ? dhs + s * n * h : NULL;
        REAL *dxs = dgx + s * n * gh, *dhs_ = gru ? dgh + s * n * gh : dxs;
        FNN_TEAM_FOR(team, t,
            const fnn_idx lo = fnn_chunk_start(n, team, t, 1);
            const fnn_idx hi = fnn_chunk_start(n, team, t + 1, 1);
            for (fnn_idx b = lo; b < hi; ++b) {
                REAL *db = dh + b * h, *nb = dnext + b * h;
                if (lengths && s >= lengths[b]) { /* padding: dL/dh passes straight through */
                    FNN_SFX(fnn_rnn_zero)(gh, dxs + b * gh);
                    if (gru) FNN_SFX(fnn_rnn_zero)(gh, dhs_ + b * gh);
                    FNN_SFX(fnn_rnn_copy)(h, db, nb);
                    continue;
                }
                if (dys) FNN_LEAF(rnn_add)(h, dys + b * h, db);
                switch (cell) {
                case FNN_CELL_GRU:
                    FNN_LEAF(gru_step_back)(h, db, gs + b * gh, mcur + b * h, hprev + b * h,
                                            dxs + b * gh, dhs_ + b * gh, nb);
                    break;
                case FNN_CELL_LSTM:
                    FNN_LEAF(lstm_step_back)(h, db, dc + b * h, gs + b * gh, ccur + b * h,
                                             cprev + b * h, dxs + b * gh, nb);
                    break;
                default:
                    FNN_LEAF(rnn_step_back)(h, cell == FNN_CELL_RELU, db, hcur + b * h,
                                            dxs + b * gh, nb);
                }
            });
        /* dL/dh_{t-1} = carry + dgh_t W_hh */
        FNN_SFX(fnn_gemm_team)(gemm, 0, 0, n, h, gh, 1, dhs_, whh, 1, dnext, n_threads);
        REAL *swap = dh;
        dh = dnext;
        dnext = swap;
    }
    if (dh0) FNN_SFX(fnn_rnn_copy)(n * h, dh, dh0);
    if (lstm && dc0) FNN_SFX(fnn_rnn_copy)(n * h, dc, dc0);
}
