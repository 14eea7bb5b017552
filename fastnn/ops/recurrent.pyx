"""Native recurrences (src_c/recurrent.c): SimpleRNN (tanh or relu), GRU and LSTM cells
over a batch of sequences, forward and backward through time.

Same signatures, validation and results as fastnn.reference.recurrent. The products
that span all steps (the input projection, the weight gradients, dx) are one GEMM each
here; the steps themselves -- one batch-sized product h W_hh^T on fastnn's GEMM team and
the gates, fused -- run in C without the GIL.
"""

import numpy as np
from cython cimport floating
from libc.stdint cimport int64_t

from .. import _inputs
from .._inputs import CELLS, RecurrentCache
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks
from .dense cimport fnn_bias_rows_f32, fnn_bias_rows_f64, fnn_column_sums_f32, fnn_column_sums_f64
from .matmul cimport (blas_hold, blas_release, gemm_f32, gemm_f64, gemm_team_f32,
                      gemm_team_f64, gemm_team_threads)
from .matmul import _check_blas_size

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["recurrent_forward", "recurrent_backward"]

V = Checks(all_finite)

# The C enum fnn_cell, by name.
_CELL_CODE = {"tanh": FNN_CELL_TANH, "relu": FNN_CELL_RELU, "gru": FNN_CELL_GRU,
              "lstm": FNN_CELL_LSTM}
assert list(_CELL_CODE) == list(CELLS)


cdef inline void _gemm(bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       floating alpha, const floating *a, const floating *b, floating beta,
                       floating *c) noexcept nogil:
    if floating is float:
        gemm_team_f32(ta, tb, m, n, k, alpha, a, b, beta, c)
    else:
        gemm_team_f64(ta, tb, m, n, k, alpha, a, b, beta, c)


cdef inline const floating *_ptr(const floating[::1] a, bint given) noexcept nogil:
    return &a[0] if given else NULL


cdef void _forward(int cell, Py_ssize_t t, Py_ssize_t n, Py_ssize_t f, Py_ssize_t h,
                   const floating[::1] xt, const floating[::1] w_ih, const floating[::1] b_ih,
                   bint has_bih, const floating[::1] whh_t, const floating[::1] bhh,
                   const floating[::1] h0, bint has_h0, const floating[::1] c0, bint has_c0,
                   const int64_t[::1] lengths, bint has_len, floating[::1] gates,
                   floating[::1] hs, floating[::1] aux, bint has_aux, floating[::1] work):
    cdef Py_ssize_t gh = fnn_cell_gates(cell) * h
    cdef int nt = current_num_threads()
    cdef int gt = gemm_team_threads()  # the steps' products run on the GEMM team
    cdef const int64_t *plen = &lengths[0] if has_len else NULL
    cdef int held
    with nogil:
        held = blas_hold()
        # gates (T*N, G*H) = x (T*N, F) @ W_ih^T + b_ih: the input projection of all steps
        if has_bih:
            if floating is float:
                fnn_bias_rows_f32(t * n, gh, &b_ih[0], &gates[0], nt)
            else:
                fnn_bias_rows_f64(t * n, gh, &b_ih[0], &gates[0], nt)
        _gemm(False, True, t * n, gh, f, <floating>1, &xt[0], &w_ih[0],
              <floating>(1 if has_bih else 0), &gates[0])
        if floating is float:
            fnn_recurrent_forward_f32(<fnn_gemm_f32_fn>gemm_f32, cell, t, n, h, &gates[0],
                                      &whh_t[0], &bhh[0], _ptr(h0, has_h0), _ptr(c0, has_c0),
                                      plen, &hs[0], _ptr(aux, has_aux), &work[0], gt)
        else:
            fnn_recurrent_forward_f64(<fnn_gemm_f64_fn>gemm_f64, cell, t, n, h, &gates[0],
                                      &whh_t[0], &bhh[0], _ptr(h0, has_h0), _ptr(c0, has_c0),
                                      plen, &hs[0], _ptr(aux, has_aux), &work[0], gt)
        blas_release(held)


cdef void _backward(int cell, Py_ssize_t t, Py_ssize_t n, Py_ssize_t f, Py_ssize_t h,
                    const floating[::1] dhs, bint has_dhs, const floating[::1] dh_n,
                    bint has_dhn, const floating[::1] dc_n, bint has_dcn,
                    const floating[::1] gates, const floating[::1] hs,
                    const floating[::1] aux, bint has_aux, const floating[::1] h0, bint has_h0,
                    const floating[::1] c0, bint has_c0, const floating[::1] w_ih,
                    const floating[::1] w_hh, const int64_t[::1] lengths, bint has_len,
                    const floating[::1] xt, floating[::1] dgx, floating[::1] dgh, bint gru,
                    floating[::1] dh0, floating[::1] dc0, floating[::1] work,
                    floating[::1] dw_ih, floating[::1] dw_hh, floating[::1] db_ih,
                    floating[::1] db_hh, bint want_db, floating[::1] dxt, bint want_dx):
    cdef Py_ssize_t gh = fnn_cell_gates(cell) * h
    cdef int nt = current_num_threads()
    cdef int gt = gemm_team_threads()
    cdef const int64_t *plen = &lengths[0] if has_len else NULL
    cdef floating *pdgh = &dgh[0] if gru else &dgx[0]
    cdef int held
    with nogil:
        held = blas_hold()
        if floating is float:
            fnn_recurrent_backward_f32(<fnn_gemm_f32_fn>gemm_f32, cell, t, n, h,
                                       _ptr(dhs, has_dhs), _ptr(dh_n, has_dhn),
                                       _ptr(dc_n, has_dcn), &gates[0], &hs[0],
                                       _ptr(aux, has_aux), _ptr(h0, has_h0), _ptr(c0, has_c0),
                                       &w_hh[0], plen, &dgx[0], &dgh[0] if gru else NULL,
                                       &dh0[0], &dc0[0] if cell == FNN_CELL_LSTM else NULL,
                                       &work[0], gt)
        else:
            fnn_recurrent_backward_f64(<fnn_gemm_f64_fn>gemm_f64, cell, t, n, h,
                                       _ptr(dhs, has_dhs), _ptr(dh_n, has_dhn),
                                       _ptr(dc_n, has_dcn), &gates[0], &hs[0],
                                       _ptr(aux, has_aux), _ptr(h0, has_h0), _ptr(c0, has_c0),
                                       &w_hh[0], plen, &dgx[0], &dgh[0] if gru else NULL,
                                       &dh0[0], &dc0[0] if cell == FNN_CELL_LSTM else NULL,
                                       &work[0], gt)
        # dW_ih (G*H, F) = dgx^T (G*H, T*N) @ x (T*N, F)
        _gemm(True, False, gh, f, t * n, <floating>1, &dgx[0], &xt[0], <floating>0,
              &dw_ih[0])
        # dW_hh (G*H, H) = dgh[1:]^T @ hs[:-1] + dgh[0]^T @ h0 (dw_hh starts at zero), the
        # first product as the training plan forms it (plan_steps/recurrent.h)
        if t > 1:
            _gemm(True, False, gh, h, (t - 1) * n, <floating>1, pdgh + n * gh, &hs[0],
                  <floating>0, &dw_hh[0])
        if has_h0:
            _gemm(True, False, gh, h, n, <floating>1, pdgh, &h0[0],
                  <floating>(1 if t > 1 else 0), &dw_hh[0])
        if want_db:
            if floating is float:
                fnn_column_sums_f32(t * n, gh, &dgx[0], &db_ih[0], 0, nt)
                fnn_column_sums_f32(t * n, gh, pdgh, &db_hh[0], 0, nt)
            else:
                fnn_column_sums_f64(t * n, gh, &dgx[0], &db_ih[0], 0, nt)
                fnn_column_sums_f64(t * n, gh, pdgh, &db_hh[0], 0, nt)
        # dx (T*N, F) = dgx @ W_ih
        if want_dx:
            _gemm(False, False, t * n, f, gh, <floating>1, &dgx[0], &w_ih[0], <floating>0,
                  &dxt[0])
        blas_release(held)


def _flat(a, like):
    """a.reshape(-1), or a one-element stand-in (typed memoryviews cannot be None)."""
    return a.reshape(-1) if a is not None else np.zeros(1, like.dtype)


def _time_major(a):
    return np.ascontiguousarray(a.transpose(1, 0, 2))


def recurrent_forward(x, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h0=None, c0=None,
                      *, cell="tanh", lengths=None):
    """Run a recurrent cell over x (N, T, F) from the state h0 (and c0 for LSTM; None:
    zeros). ``cell``: "tanh" or "relu" (SimpleRNN), "gru" or "lstm". ``lengths`` (N,)
    ints in [0, T], or None: steps at or past a sample's length are padding, where its
    state carries over and its output is zero.

    Returns ``(y, h_n, c_n, cache)``: y (N, T, H) the state after each step (zero on
    padding), h_n (N, H) the final state (the last step's, or the carried one), c_n the
    LSTM's final cell state (None for the other cells), and the cache that
    recurrent_backward takes: (gates, hs, aux), time-major.
    """
    x, (n, t, f, h, g), bias_ih, bias_hh, h0, c0, cell, lens = _inputs.recurrent_inputs(
        V, x, weight_ih, weight_hh, bias_ih, bias_hh, h0, c0, cell, lengths)
    dt = x.dtype
    _check_blas_size(t * n, f, g * h)
    code = _CELL_CODE[cell]
    gates = np.empty((t, n, g * h), dt)
    hs = np.empty((t, n, h), dt)
    aux = np.empty((t, n, h), dt) if g > 1 else None
    if n:
        xt = _time_major(x)
        whh_t = np.ascontiguousarray(weight_hh.T)
        bhh = bias_hh if bias_hh is not None else np.zeros(g * h, dt)
        work = np.empty(fnn_recurrent_workspace(code, n, h), dt)
        lens_arg = lens if lens is not None else np.zeros(1, np.int64)
        if dt == np.float32:
            _forward[float](code, t, n, f, h, xt.reshape(-1), weight_ih.reshape(-1),
                            _flat(bias_ih, x), bias_ih is not None, whh_t.reshape(-1), bhh,
                            _flat(h0, x), h0 is not None, _flat(c0, x), c0 is not None,
                            lens_arg, lens is not None, gates.reshape(-1), hs.reshape(-1),
                            _flat(aux, x), aux is not None, work)
        else:
            _forward[double](code, t, n, f, h, xt.reshape(-1), weight_ih.reshape(-1),
                             _flat(bias_ih, x), bias_ih is not None, whh_t.reshape(-1), bhh,
                             _flat(h0, x), h0 is not None, _flat(c0, x), c0 is not None,
                             lens_arg, lens is not None, gates.reshape(-1), hs.reshape(-1),
                             _flat(aux, x), aux is not None, work)
    # a copy: with N = 1 or T = 1 the transposed hs is already contiguous, and zeroing the
    # padding of a view would zero the states that h_n and backward read
    y = hs.transpose(1, 0, 2).copy()
    if lens is not None:
        y[np.arange(t)[None, :] >= lens[:, None]] = 0
    c_n = aux[t - 1].copy() if cell == "lstm" else None
    return y, hs[t - 1].copy(), c_n, RecurrentCache(gates, hs, aux)


def recurrent_backward(dy, dh_n, dc_n, x, weight_ih, weight_hh, cache, h0=None, c0=None, *,
                       cell="tanh", lengths=None, bias=True, compute_dx=True):
    """Gradients of recurrent_forward (same x, weights, h0, c0, cell and lengths, and its
    cache) given dy = dL/dy (N, T, H) and/or dh_n, dc_n = dL/d(final h, c) (None:
    zero). Returns ``(dx, dweight_ih, dweight_hh, dbias_ih, dbias_hh, dh0, dc0)``: dx
    None unless compute_dx, the bias gradients None unless ``bias``, dc0 None except for
    LSTM.
    """
    dy, dh_n, dc_n, x, (n, t, f, h, g), cache, h0, c0, cell, lens = \
        _inputs.recurrent_backward_inputs(V, dy, dh_n, dc_n, x, weight_ih, weight_hh, cache,
                                          h0, c0, cell, lengths)
    gates, hs, aux = cache
    dt = x.dtype
    _check_blas_size(t * n, f, g * h)
    code = _CELL_CODE[cell]
    gru = cell == "gru"
    lstm = cell == "lstm"
    bias = bool(bias)
    compute_dx = bool(compute_dx)
    dweight_ih = np.zeros((g * h, f), dt)
    dweight_hh = np.zeros((g * h, h), dt)
    dbias_ih = np.zeros(g * h, dt) if bias else None
    dbias_hh = np.zeros(g * h, dt) if bias else None
    dh0 = np.zeros((n, h), dt)
    dc0 = np.zeros((n, h), dt) if lstm else None
    dx = np.zeros((n, t, f), dt) if compute_dx else None
    if n == 0:
        return dx, dweight_ih, dweight_hh, dbias_ih, dbias_hh, dh0, dc0
    dgx = np.empty((t, n, g * h), dt)
    dgh = np.empty((t, n, g * h), dt) if gru else None
    dxt = np.empty((t, n, f), dt) if compute_dx else None
    work = np.empty(fnn_recurrent_workspace(code, n, h), dt)
    lens_arg = lens if lens is not None else np.zeros(1, np.int64)
    dhs = _flat(_time_major(dy) if dy is not None else None, x)
    xt = _time_major(x).reshape(-1)
    if dt == np.float32:
        _backward[float](code, t, n, f, h, dhs, dy is not None, _flat(dh_n, x),
                         dh_n is not None, _flat(dc_n, x), dc_n is not None, gates.reshape(-1),
                         hs.reshape(-1), _flat(aux, x), aux is not None, _flat(h0, x),
                         h0 is not None, _flat(c0, x), c0 is not None, weight_ih.reshape(-1),
                         weight_hh.reshape(-1), lens_arg, lens is not None, xt,
                         dgx.reshape(-1), _flat(dgh, x), gru, dh0.reshape(-1), _flat(dc0, x),
                         work, dweight_ih.reshape(-1), dweight_hh.reshape(-1),
                         _flat(dbias_ih, x), _flat(dbias_hh, x), bias, _flat(dxt, x),
                         compute_dx)
    else:
        _backward[double](code, t, n, f, h, dhs, dy is not None, _flat(dh_n, x),
                          dh_n is not None, _flat(dc_n, x), dc_n is not None,
                          gates.reshape(-1), hs.reshape(-1), _flat(aux, x), aux is not None,
                          _flat(h0, x), h0 is not None, _flat(c0, x), c0 is not None,
                          weight_ih.reshape(-1), weight_hh.reshape(-1), lens_arg,
                          lens is not None, xt, dgx.reshape(-1), _flat(dgh, x), gru,
                          dh0.reshape(-1), _flat(dc0, x), work, dweight_ih.reshape(-1),
                          dweight_hh.reshape(-1), _flat(dbias_ih, x), _flat(dbias_hh, x),
                          bias, _flat(dxt, x), compute_dx)
    if compute_dx:
        dx[...] = dxt.transpose(1, 0, 2)
    return dx, dweight_ih, dweight_hh, dbias_ih, dbias_hh, dh0, dc0
