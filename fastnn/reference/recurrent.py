"""Reference recurrences with numpy: SimpleRNN (tanh or relu), GRU and LSTM cells over a
batch of sequences, forward and backward through time.

x is batch-first, (N, T, F) like PyTorch's ``batch_first=True``; parameters are
PyTorch's: ``weight_ih`` (G*H, F), ``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh``
(G*H,), gates stacked in PyTorch's order (GRU: r, z, n; LSTM: i, f, g, o). The steps run
time-major, as the native kernel does, and the cache holds the same arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _inputs
from .._inputs import RecurrentCache
from .._validation import Checks

__all__ = ["recurrent_forward", "recurrent_backward"]

V = Checks()


def _sigmoid(a: NDArray[Any]) -> NDArray[Any]:
    e = np.exp(-np.abs(a))
    out: NDArray[Any] = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
    return out


def _valid(lengths: NDArray[np.int64] | None, n: int, s: int) -> NDArray[Any] | None:
    """(n, 1) mask of the samples still running at step s, or None when all are."""
    if lengths is None:
        return None
    return (s < lengths)[:, None]


def recurrent_forward(
    x: NDArray[Any],
    weight_ih: NDArray[Any],
    weight_hh: NDArray[Any],
    bias_ih: NDArray[Any] | None = None,
    bias_hh: NDArray[Any] | None = None,
    h0: NDArray[Any] | None = None,
    c0: NDArray[Any] | None = None,
    *,
    cell: str = "tanh",
    lengths: ArrayLike | None = None,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None, RecurrentCache]:
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
    # the input projection of every step at once: (T*N, F) @ W_ih^T + b_ih
    xt = np.ascontiguousarray(x.transpose(1, 0, 2))
    gates = (xt.reshape(t * n, f) @ weight_ih.T).reshape(t, n, g * h)
    if bias_ih is not None:
        gates += bias_ih
    bhh = bias_hh if bias_hh is not None else np.zeros(g * h, dt)
    hs = np.empty((t, n, h), dt)
    aux = np.empty((t, n, h), dt) if g > 1 else None
    hprev = h0 if h0 is not None else np.zeros((n, h), dt)
    cprev = c0 if c0 is not None else np.zeros((n, h), dt)
    for s in range(t):
        rec = hprev @ weight_hh.T
        a = gates[s]
        if cell == "gru":
            r = _sigmoid(a[:, :h] + rec[:, :h] + bhh[:h])
            z = _sigmoid(a[:, h:2 * h] + rec[:, h:2 * h] + bhh[h:2 * h])
            m = rec[:, 2 * h:] + bhh[2 * h:]
            nn = np.tanh(a[:, 2 * h:] + r * m)
            hnew = (1 - z) * nn + z * hprev
            new_gates = np.concatenate([r, z, nn], axis=1)
            new_aux = m
        elif cell == "lstm":
            pre = a + rec + bhh
            i, fg, o = (_sigmoid(pre[:, k * h:(k + 1) * h]) for k in (0, 1, 3))
            gg = np.tanh(pre[:, 2 * h:3 * h])
            c = fg * cprev + i * gg
            hnew = o * np.tanh(c)
            new_gates = np.concatenate([i, fg, gg, o], axis=1)
            new_aux = c
        else:
            pre = a + rec + bhh
            hnew = np.tanh(pre) if cell == "tanh" else np.maximum(pre, 0)
            new_gates = hnew
            new_aux = None
        valid = _valid(lens, n, s)
        if valid is not None:  # padding: the state carries over, the gates are zero
            hnew = np.where(valid, hnew, hprev)
            new_gates = np.where(valid, new_gates, 0)
            if cell == "lstm":
                assert new_aux is not None
                new_aux = np.where(valid, new_aux, cprev)
            elif new_aux is not None:
                new_aux = np.where(valid, new_aux, 0)
        hs[s] = hnew
        gates[s] = new_gates
        if aux is not None:
            aux[s] = new_aux
        hprev = hs[s]
        if cell == "lstm":
            assert aux is not None
            cprev = aux[s]
    # a copy: with N = 1 or T = 1 the transposed hs is already contiguous, and zeroing the
    # padding of a view would zero the states that h_n and backward read
    y = hs.transpose(1, 0, 2).copy()
    if lens is not None:
        y[np.arange(t)[None, :] >= lens[:, None]] = 0
    c_n = aux[t - 1].copy() if cell == "lstm" and aux is not None else None
    return y, hs[t - 1].copy(), c_n, RecurrentCache(gates, hs, aux)


def recurrent_backward(
    dy: NDArray[Any] | None,
    dh_n: NDArray[Any] | None,
    dc_n: NDArray[Any] | None,
    x: NDArray[Any],
    weight_ih: NDArray[Any],
    weight_hh: NDArray[Any],
    cache: RecurrentCache,
    h0: NDArray[Any] | None = None,
    c0: NDArray[Any] | None = None,
    *,
    cell: str = "tanh",
    lengths: ArrayLike | None = None,
    bias: bool = True,
    compute_dx: bool = True,
) -> tuple[NDArray[Any] | None, NDArray[Any], NDArray[Any], NDArray[Any] | None,
           NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]:
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
    zero = np.zeros((n, h), dt)
    dgx = np.empty((t, n, g * h), dt)
    dgh = np.empty((t, n, g * h), dt) if cell == "gru" else dgx
    dh = dh_n.copy() if dh_n is not None else zero.copy()
    dc = dc_n.copy() if dc_n is not None else zero.copy()
    dys = np.ascontiguousarray(dy.transpose(1, 0, 2)) if dy is not None else None
    for s in range(t - 1, -1, -1):
        valid = _valid(lens, n, s)
        hprev = hs[s - 1] if s else (h0 if h0 is not None else zero)
        if dys is not None:
            dh = dh + (dys[s] if valid is None else np.where(valid, dys[s], 0))
        gs = gates[s]
        if cell == "gru":
            assert aux is not None
            r, z, nn = gs[:, :h], gs[:, h:2 * h], gs[:, 2 * h:]
            dn = dh * (1 - z) * (1 - nn * nn)
            dz = dh * (hprev - nn) * z * (1 - z)
            dr = dn * aux[s] * r * (1 - r)
            gx = np.concatenate([dr, dz, dn], axis=1)
            gh = np.concatenate([dr, dz, dn * r], axis=1)
            carry = dh * z
        elif cell == "lstm":
            assert aux is not None
            cprev = aux[s - 1] if s else (c0 if c0 is not None else zero)
            i, fg, gg, o = (gs[:, k * h:(k + 1) * h] for k in range(4))
            tc = np.tanh(aux[s])
            dct = dc + dh * o * (1 - tc * tc)
            gx = np.concatenate([dct * gg * i * (1 - i), dct * cprev * fg * (1 - fg),
                                 dct * i * (1 - gg * gg), dh * tc * o * (1 - o)], axis=1)
            gh = gx
            dc_prev = dct * fg
            dc = dc_prev if valid is None else np.where(valid, dc_prev, dc)
            carry = zero
        else:
            y = hs[s]
            gx = dh * (1 - y * y) if cell == "tanh" else np.where(y > 0, dh, 0).astype(dt)
            gh = gx
            carry = zero
        if valid is not None:  # padding: no gradient through the cell, dL/dh passes on
            gx = np.where(valid, gx, 0)
            gh = np.where(valid, gh, 0)
            carry = np.where(valid, carry, dh)
        dgx[s] = gx
        if cell == "gru":
            dgh[s] = gh
        dh = carry + dgh[s] @ weight_hh
    # the products over all steps at once
    xt = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(t * n, f)
    dgx2, dgh2 = dgx.reshape(t * n, g * h), dgh.reshape(t * n, g * h)
    dweight_ih = dgx2.T @ xt
    dweight_hh = dgh[1:].reshape(-1, g * h).T @ hs[:-1].reshape(-1, h)
    if h0 is not None:
        dweight_hh += dgh[0].T @ h0
    dbias_ih = dgx2.sum(axis=0) if bias else None
    dbias_hh = dgh2.sum(axis=0) if bias else None
    dx = None
    if compute_dx:
        dx = np.ascontiguousarray((dgx2 @ weight_ih).reshape(t, n, f).transpose(1, 0, 2))
    dc0 = dc if cell == "lstm" else None
    return dx, dweight_ih, dweight_hh, dbias_ih, dbias_hh, dh, dc0
