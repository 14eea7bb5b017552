"""Recurrences (SimpleRNN tanh/relu, GRU, LSTM): native vs numpy twin at every ISA level,
each against a textbook cell written out step by step below, gradients by finite
differences, padding by lengths, thread-count independence, bad input.

A recurrence feeds each step's rounding into the next, and the two twins order their
sums differently (BLAS or fastnn's small kernels against numpy's matmul), so the twins
are compared with tolerances for T chained steps rather than one rounding.
"""

import math

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, TWINS
from fastnn import ops, reference
from fastnn._kernels import KERNELS

pytestmark = pytest.mark.usefixtures("isa")

IMPLS = [t.values[0] for t in TWINS]
CELLS = {"tanh": 1, "relu": 1, "gru": 3, "lstm": 4}
# (N, T, F, H): one sample, one step, one unit; batches above the small-GEMM limit (64 rows)
SHAPES = [(1, 1, 1, 1), (3, 5, 2, 4), (2, 9, 7, 3), (70, 4, 5, 6), (5, 3, 16, 33)]
TWIN_TOL = {np.dtype(np.float32): dict(rtol=1e-4, atol=2e-5),
            np.dtype(np.float64): dict(rtol=1e-10, atol=1e-11)}


def test_kernel_list():
    assert KERNELS["recurrent"] == ["recurrent_forward", "recurrent_backward"]


def _problem(rng, cell, n, t, f, h, dtype, *, bias=True, state=True, lengths=False):
    g = CELLS[cell]
    k = 1 / math.sqrt(h)  # PyTorch's init range
    p = dict(
        x=rng.standard_normal((n, t, f)).astype(dtype),
        weight_ih=rng.uniform(-k, k, (g * h, f)).astype(dtype),
        weight_hh=rng.uniform(-k, k, (g * h, h)).astype(dtype),
        bias_ih=rng.uniform(-k, k, g * h).astype(dtype) if bias else None,
        bias_hh=rng.uniform(-k, k, g * h).astype(dtype) if bias else None,
        h0=(0.5 * rng.standard_normal((n, h))).astype(dtype) if state else None,
        c0=(0.5 * rng.standard_normal((n, h))).astype(dtype) if state and cell == "lstm"
        else None,
    )
    lens = rng.integers(0, t + 1, n) if lengths else None
    if lengths and n:
        lens[0] = t  # one sample runs every step
    return p, lens


def _forward(impl, p, cell, lens):
    return impl.recurrent_forward(p["x"], p["weight_ih"], p["weight_hh"], p["bias_ih"],
                                  p["bias_hh"], p["h0"], p["c0"], cell=cell, lengths=lens)


def _backward(impl, p, cell, lens, cache, dy, dh_n, dc_n, **kw):
    return impl.recurrent_backward(dy, dh_n, dc_n, p["x"], p["weight_ih"], p["weight_hh"],
                                   cache, p["h0"], p["c0"], cell=cell, lengths=lens, **kw)


def _close(a, b, dtype, what):
    if b is None:
        assert a is None, what
        return
    assert a.dtype == b.dtype and a.shape == b.shape, what
    np.testing.assert_allclose(a, b, err_msg=what, **TWIN_TOL[np.dtype(dtype)])


# ------------------------------------------------------------------ twins


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("variant", ["plain", "no-bias-no-state", "lengths"])
def test_twins(rng, cell, shape, dtype, variant):
    p, lens = _problem(rng, cell, *shape, dtype, bias=variant != "no-bias-no-state",
                       state=variant != "no-bias-no-state", lengths=variant == "lengths")
    fw = [_forward(impl, p, cell, lens) for impl in IMPLS]
    for k, what in enumerate(("y", "h_n", "c_n")):
        _close(fw[0][k], fw[1][k], dtype, what)
    for k, what in enumerate(("gates", "hs", "aux")):
        _close(fw[0][3][k], fw[1][3][k], dtype, f"cache.{what}")
    n, t, f, h = shape
    dy = rng.standard_normal((n, t, h)).astype(dtype)
    dh_n = rng.standard_normal((n, h)).astype(dtype)
    dc_n = rng.standard_normal((n, h)).astype(dtype) if cell == "lstm" else None
    bw = [_backward(impl, p, cell, lens, out[3], dy, dh_n, dc_n, bias=p["bias_ih"] is not None)
          for impl, out in zip(IMPLS, fw)]
    for a, b, what in zip(bw[0], bw[1], ("dx", "dW_ih", "dW_hh", "db_ih", "db_hh", "dh0", "dc0")):
        _close(a, b, dtype, what)


@pytest.mark.parametrize("impl", IMPLS, ids=["native", "reference"])
def test_padding_carries_the_state(rng, impl):
    """A sample padded after L steps ends where its first L steps alone end; its outputs
    past L are zero and no gradient reaches the padded inputs."""
    cell, (n, t, f, h) = "lstm", (3, 6, 2, 5)
    p, _ = _problem(rng, cell, n, t, f, h, np.float64)
    lens = np.array([6, 2, 4])
    y, h_n, c_n, cache = _forward(impl, p, cell, lens)
    for b, L in enumerate(lens):
        q = {k: (v[b:b + 1] if v is not None and k in ("h0", "c0") else v) for k, v in p.items()}
        q["x"] = p["x"][b:b + 1, :L]
        yb, hb, cb, _ = _forward(impl, q, cell, None)
        np.testing.assert_allclose(y[b, :L], yb[0], rtol=1e-12, atol=1e-13)
        assert not y[b, L:].any()
        np.testing.assert_allclose(h_n[b], hb[0], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(c_n[b], cb[0], rtol=1e-12, atol=1e-13)
    dy = rng.standard_normal((n, t, h))
    dx = _backward(impl, p, cell, lens, cache, dy, None, None)[0]
    for b, L in enumerate(lens):
        assert not dx[b, L:].any()


@pytest.mark.parametrize("impl", IMPLS, ids=["native", "reference"])
@pytest.mark.parametrize("t", [1, 6])
def test_padding_in_a_batch_of_one(rng, impl, t):
    """A padded sample alone in its batch (or a one-step sequence) gets what it gets in a
    larger batch: y, the carried final state and the cache behind the gradients. (With
    N = 1 or T = 1 the batch-first y has the layout of the time-major states, so y must
    be a copy of them before its padding is zeroed.)"""
    cell, (n, f, h) = "gru", (3, 2, 4)
    p, _ = _problem(rng, cell, n, t, f, h, np.float64)
    lens = np.array([t, max(t - 4, 0), 0])
    y, h_n, _, cache = _forward(impl, p, cell, lens)
    dy = rng.standard_normal((n, t, h))
    dh_n = rng.standard_normal((n, h))
    dx = _backward(impl, p, cell, lens, cache, dy, dh_n, None)[0]
    for b in range(n):
        q = {k: (v[b:b + 1] if v is not None and k in ("x", "h0", "c0") else v)
             for k, v in p.items()}
        yb, hb, _, cb = _forward(impl, q, cell, lens[b:b + 1])
        np.testing.assert_allclose(yb[0], y[b], rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(hb[0], h_n[b], rtol=1e-12, atol=1e-13)
        if lens[b] == 0:
            np.testing.assert_array_equal(hb[0], p["h0"][b])  # the state carried all along
        dxb = _backward(impl, q, cell, lens[b:b + 1], cb, dy[b:b + 1], dh_n[b:b + 1], None)[0]
        np.testing.assert_allclose(dxb[0], dx[b], rtol=1e-12, atol=1e-13)


# ------------------------------------------------------------------ textbook cells


def _textbook(cell, x, wih, whh, bih, bhh, h0, c0):
    """One sample at a time, one step at a time, each gate by its own formula."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    n, t, _ = x.shape
    hsz = whh.shape[1]
    rows = lambda w, k: w[k * hsz:(k + 1) * hsz]  # noqa: E731
    ys = np.zeros((n, t, hsz))
    cs = np.zeros((n, hsz))
    for b in range(n):
        hh, cc = h0[b].copy(), (c0[b].copy() if c0 is not None else None)
        for s in range(t):
            xs = x[b, s]
            if cell == "gru":
                r = sig(rows(wih, 0) @ xs + rows(bih, 0) + rows(whh, 0) @ hh + rows(bhh, 0))
                z = sig(rows(wih, 1) @ xs + rows(bih, 1) + rows(whh, 1) @ hh + rows(bhh, 1))
                nn = np.tanh(rows(wih, 2) @ xs + rows(bih, 2)
                             + r * (rows(whh, 2) @ hh + rows(bhh, 2)))
                hh = (1 - z) * nn + z * hh
            elif cell == "lstm":
                pre = [rows(wih, k) @ xs + rows(bih, k) + rows(whh, k) @ hh + rows(bhh, k)
                       for k in range(4)]
                i, f, g, o = sig(pre[0]), sig(pre[1]), np.tanh(pre[2]), sig(pre[3])
                cc = f * cc + i * g
                hh = o * np.tanh(cc)
            else:
                a = wih @ xs + bih + whh @ hh + bhh
                hh = np.tanh(a) if cell == "tanh" else np.maximum(a, 0)
            ys[b, s] = hh
        if cc is not None:
            cs[b] = cc
    return ys, cs


@pytest.mark.parametrize("impl", IMPLS, ids=["native", "reference"])
@pytest.mark.parametrize("cell", CELLS)
def test_textbook_cell(rng, impl, cell):
    p, _ = _problem(rng, cell, 3, 5, 4, 6, np.float64)
    y, h_n, c_n, _ = _forward(impl, p, cell, None)
    ys, cc = _textbook(cell, p["x"], p["weight_ih"], p["weight_hh"], p["bias_ih"],
                       p["bias_hh"], p["h0"], p["c0"])
    np.testing.assert_allclose(y, ys, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h_n, ys[:, -1], rtol=1e-12, atol=1e-13)
    if cell == "lstm":
        np.testing.assert_allclose(c_n, cc, rtol=1e-12, atol=1e-13)


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("impl", IMPLS, ids=["native", "reference"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("lengths", [False, True], ids=["full", "lengths"])
def test_finite_differences(rng, impl, cell, lengths):
    n, t, f, h = 3, 4, 3, 4
    p, lens = _problem(rng, cell, n, t, f, h, np.float64, lengths=lengths)
    if cell == "relu":  # keep pre-activations away from the kink
        p["weight_ih"] *= 3
    dy = rng.standard_normal((n, t, h))
    dh_n = rng.standard_normal((n, h))
    dc_n = rng.standard_normal((n, h)) if cell == "lstm" else None

    def loss(q):
        y, hn, cn, _ = _forward(impl, q, cell, lens)
        out = (y * dy).sum() + (hn * dh_n).sum()
        return out + ((cn * dc_n).sum() if cn is not None else 0.0)

    cache = _forward(impl, p, cell, lens)[3]
    grads = _backward(impl, p, cell, lens, cache, dy, dh_n, dc_n)
    names = ["x", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "h0", "c0"]
    for name, grad in zip(names, grads):
        if p[name] is None:
            assert grad is None or name == "c0"
            continue
        num = np.zeros_like(p[name])
        for idx in np.ndindex(p[name].shape):
            old = p[name][idx]
            p[name][idx] = old + 1e-6
            up = loss(p)
            p[name][idx] = old - 1e-6
            down = loss(p)
            p[name][idx] = old
            num[idx] = (up - down) / 2e-6
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("impl", IMPLS, ids=["native", "reference"])
def test_backward_options(rng, impl):
    p, _ = _problem(rng, "gru", 2, 3, 2, 3, np.float64)
    cache = _forward(impl, p, "gru", None)[3]
    dh_n = rng.standard_normal((2, 3))
    full = _backward(impl, p, "gru", None, cache, None, dh_n, None)
    lean = _backward(impl, p, "gru", None, cache, None, dh_n, None, bias=False, compute_dx=False)
    assert lean[0] is None and lean[3] is None and lean[4] is None and lean[6] is None
    for a, b in zip(full[1:3] + full[5:6], lean[1:3] + lean[5:6]):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ threads


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_thread_counts_agree(rng, restore_threads, cell):
    """Teams of 1, 2 and 3 threads (the shapes split every step's rows and products)
    agree to the GEMM's rounding: BLAS may sum a block of a product split over a team
    in another order than the whole."""
    p, lens = _problem(rng, cell, 96, 5, 24, 48, np.float32, lengths=True)
    dy = rng.standard_normal((96, 5, 48)).astype(np.float32)
    results = []
    for nt in (1, 2, 3):
        fastnn.set_num_threads(nt)
        y, h_n, c_n, cache = _forward(ops, p, cell, lens)
        grads = _backward(ops, p, cell, lens, cache, dy, None, None)
        results.append([y, h_n] + [g for g in grads if g is not None])
    for nt, res in zip((2, 3), results[1:]):
        for a, b in zip(results[0], res):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"1 vs {nt} threads")


# ------------------------------------------------------------------ bad input


def _errors(call):
    out = []
    for impl in IMPLS:
        with pytest.raises((ValueError, TypeError)) as e:
            call(impl)
        out.append((e.type, str(e.value)))
    assert out[0] == out[1]
    return out[0]


def test_bad_input(rng):
    p, _ = _problem(rng, "lstm", 2, 3, 4, 5, np.float32)
    x, wih, whh = p["x"], p["weight_ih"], p["weight_hh"]
    def f(x=x, wih=wih, whh=whh, **kw):
        return lambda m: m.recurrent_forward(x, wih, whh, **{"cell": "lstm", **kw})

    cases = [
        (f(cell="rnn"), "cell must be one of"),
        (f(x=x[0]), "x must be 3-D"),
        (f(x=x[:, :0]), "at least one time step"),
        (f(x=x.astype(np.float64)), "dtype"),
        (f(x=x[:, ::-1]), "C-contiguous"),
        (f(x=np.where(np.arange(4) == 1, np.nan, x).astype(np.float32)), "NaN"),
        (f(whh=np.ascontiguousarray(whh[:, :4])), "weight_hh must have shape"),
        (f(wih=np.ascontiguousarray(wih[:, :3])), "weight_ih must have shape"),
        (f(cell="gru"), "weight_hh must have shape"),
        (f(cell="tanh"), "weight_hh must have shape"),
        (f(bias_ih=p["bias_ih"][:3]), "bias_ih must have shape"),
        (f(h0=p["h0"][:1]), "h0 must have shape"),
        (f(lengths=[1, 4]), "outside [0, 3]"),
        (f(lengths=[1, -1]), "outside [0, 3]"),
        (f(lengths=[1.0, 2.0]), "lengths must hold integers"),
        (f(lengths=[1]), "lengths must have shape"),
    ]
    for call, msg in cases:
        _, text = _errors(call)
        assert msg in text, (msg, text)
    q, _ = _problem(rng, "gru", 2, 3, 4, 5, np.float32)
    _, text = _errors(lambda m: m.recurrent_forward(q["x"], q["weight_ih"], q["weight_hh"],
                                                    c0=q["h0"], cell="gru"))
    assert "c0 is the cell state of an LSTM" in text
    cache = ops.recurrent_forward(x, wih, whh, cell="lstm")[3]
    _, text = _errors(lambda m: m.recurrent_backward(None, None, None, x, wih, whh, cache,
                                                     cell="lstm"))
    assert "needs a gradient" in text
    _, text = _errors(lambda m: m.recurrent_backward(None, p["h0"], None, x, wih, whh,
                                                     cache[:2], cell="lstm"))
    assert "cache" in text


@pytest.mark.parametrize("impl", IMPLS, ids=["native", "reference"])
def test_empty_batch(rng, impl):
    p, _ = _problem(rng, "gru", 0, 3, 2, 4, np.float32, state=False)
    y, h_n, c_n, cache = _forward(impl, p, "gru", None)
    assert y.shape == (0, 3, 4) and h_n.shape == (0, 4) and c_n is None
    dx, dwih, dwhh, dbih, dbhh, dh0, _ = _backward(impl, p, "gru", None, cache,
                                                   np.zeros((0, 3, 4), np.float32), None, None)
    assert dx.shape == (0, 3, 2) and not dwih.any() and not dwhh.any() and not dbih.any()
