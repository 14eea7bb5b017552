"""Activations: every forward and backward of fastnn.ops.activations against its twin
in fastnn.reference.activations, plus finite-difference gradient checks (float64) of
both twins and an independent check of the oracle's forward formulas."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import FLOAT_DTYPES, TWINS, assert_twins_close, randn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

FORWARD = [n for n in KERNELS["activations"] if not n.endswith("_backward")]
ROWWISE = {"softmax", "log_softmax"}
TAKES_ALPHA = {name for name, (_, _, takes) in reference.ACTIVATIONS.items() if takes}
ALPHAS = {"leaky_relu": [0.2, 1.7, -0.3], "elu": [0.5, 2.0]}

ELEMENTWISE_SHAPES = [(), (1,), (7,), (33,), (257,), (3, 7, 33), (300, 300),
                      (601, 301)]  # (601, 301): > 2 * FNN_GRAIN_CHEAP elements
ROWWISE_SHAPES = [(1,), (7,), (1, 1), (33, 7), (257, 33), (3, 7, 33), (300, 300),
                  (601, 301), (20000, 7)]  # many short rows: several row chunks


def test_table_covers_kernels():
    assert set(FORWARD) == set(reference.ACTIVATIONS) == set(ops.ACTIVATIONS)
    assert {f"{n}_backward" for n in FORWARD} | set(FORWARD) == set(KERNELS["activations"])
    assert TAKES_ALPHA == {"leaky_relu", "elu"}


def _shapes(name):
    return ROWWISE_SHAPES if name in ROWWISE else ELEMENTWISE_SHAPES


def _cases(names=FORWARD):
    return [(n, s) for n in names for s in _shapes(n)]


def fwd(impl, name, x, alpha=None, out=None):
    f = getattr(impl, name)
    return f(x, out=out) if alpha is None else f(x, alpha, out=out)


def bwd(impl, name, dy, x, y, alpha=None, out=None):
    f = getattr(impl, f"{name}_backward")
    return f(dy, x, y, out=out) if alpha is None else f(dy, x, y, alpha, out=out)


def _x(rng, shape, dtype):
    """Values over [-10, 10] with exact zeros sprinkled in (the kinks' conventions)."""
    x = randn(rng, shape, dtype, scale=3.0)
    if x.size > 3:
        x.reshape(-1)[:: max(1, x.size // 3)] = 0.0
    return x


GELU_C, GELU_K = math.sqrt(2 / math.pi), 0.044715


def _compare_forward(got, want, name, x, what=""):
    if name in ROWWISE and x.ndim:
        # a row sum of `cols` positive terms: relative error <= cols * eps in s, i.e.
        # ~cols * eps * |y| for softmax and ~cols * eps absolute for log(s)
        mag = np.abs(want.astype(np.float64)) + (1.0 if name == "log_softmax" else 0.0)
        assert_twins_close(got, want, terms=x.shape[-1], magnitude=mag, err_msg=f"{name}{what}")
    elif name == "gelu":
        # 0.5 x (1 + tanh(u)): an error of a few ulps in tanh (|tanh| <= 1) costs
        # ~|x| * eps absolute, which is large relative to the tiny result for x << 0.
        assert_twins_close(got, want, terms=4, magnitude=np.abs(x.astype(np.float64)),
                           err_msg=f"{name}{what}")
    else:
        assert_twins_close(got, want, err_msg=f"{name}{what}")


def _check_forward(name, x, alpha=None, what=""):
    x0 = x.copy()
    got = fwd(ops, name, x, alpha)
    want = fwd(reference, name, x, alpha)
    np.testing.assert_array_equal(x, x0, err_msg="forward modified its input")
    assert got.dtype == want.dtype == x.dtype, "outputs keep the input dtype"
    _compare_forward(got, want, name, x, what)
    return want


def _compare_backward(got, want, name, dy, x, y, what=""):
    """Row-wise backwards are a row sum (of dy * y, or of dy) times y: bound the rounding
    of that sum by the row's absolute sum, plus the cancellation in dy - s. GELU's
    derivative 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2), t = tanh(...), amplifies
    an error of a few ulps in t by |x| c (1 + 3 k x^2)."""
    if name == "gelu":
        x64 = np.abs(x.astype(np.float64))
        mag = np.abs(dy.astype(np.float64)) * (1 + x64 * GELU_C * (1 + 3 * GELU_K * x64 * x64))
        assert_twins_close(got, want, terms=4, magnitude=mag, err_msg=f"{name}_backward{what}")
    elif name in ROWWISE and dy.ndim:
        dy64, y64 = np.abs(dy.astype(np.float64)), y.astype(np.float64)
        if name == "softmax":
            mag = np.abs(y64) * (dy64 + (dy64 * np.abs(y64)).sum(axis=-1, keepdims=True))
        else:
            mag = dy64 + np.exp(y64) * dy64.sum(axis=-1, keepdims=True)
        assert_twins_close(got, want, terms=dy.shape[-1], magnitude=mag,
                           err_msg=f"{name}_backward{what}")
    else:
        assert_twins_close(got, want, err_msg=f"{name}_backward{what}")


def _check_backward(name, dy, x, y, alpha=None, what=""):
    saved = [a.copy() for a in (dy, x, y)]
    got = bwd(ops, name, dy, x, y, alpha)
    want = bwd(reference, name, dy, x, y, alpha)
    for a, a0 in zip((dy, x, y), saved):
        np.testing.assert_array_equal(a, a0, err_msg="backward modified an input")
    assert got.dtype == want.dtype == dy.dtype, "outputs keep the input dtype"
    _compare_backward(got, want, name, dy, x, y, what)
    return want


# ----------------------------------------------------------------- forward twins


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,shape", _cases())
def test_forward_twins(rng, name, shape, dtype):
    _check_forward(name, _x(rng, shape, dtype), what=f" {shape}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(7,), (33, 7), (601, 301)])
@pytest.mark.parametrize("name,alpha", [(n, a) for n in sorted(ALPHAS) for a in ALPHAS[n]])
def test_forward_twins_alpha(rng, name, alpha, shape, dtype):
    x = _x(rng, shape, dtype)
    want = _check_forward(name, x, alpha, what=f" alpha={alpha}")
    # alpha must actually be used: it changes the negative side.
    default = fwd(reference, name, x)
    neg = x < 0
    assert not np.array_equal(want[neg], default[neg])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", FORWARD)
def test_forward_out_given(rng, name, dtype):
    x = _x(rng, (33, 7), dtype)
    out_n = np.full_like(x, np.nan)
    out_r = np.full_like(x, np.nan)
    alpha = ALPHAS[name][0] if name in TAKES_ALPHA else None
    got = fwd(ops, name, x, alpha, out=out_n)
    want = fwd(reference, name, x, alpha, out=out_r)
    assert got is out_n and want is out_r
    _compare_forward(got, want, name, x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(33, 7), (601, 301)])
@pytest.mark.parametrize("name", FORWARD)
def test_forward_in_place(rng, name, shape, dtype):
    """out=x overwrites x with f(x)."""
    x = _x(rng, shape, dtype)
    alpha = ALPHAS[name][-1] if name in TAKES_ALPHA else None
    want = fwd(reference, name, x.copy(), alpha)
    for impl in (ops, reference):
        xi = x.copy()
        got = fwd(impl, name, xi, alpha, out=xi)
        assert got is xi
        _compare_forward(got, want, name, x, impl.__name__)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", FORWARD)
def test_forward_empty(name, dtype):
    shapes = [(0, 5), (3, 0, 4)] if name in ROWWISE else [(0,), (0, 5), (5, 0)]
    for shape in shapes:
        x = np.empty(shape, dtype)
        for impl in (ops, reference):
            y = fwd(impl, name, x)
            assert y.shape == shape and y.dtype == dtype
            dx = bwd(impl, name, x, x, x)
            assert dx.shape == shape and dx.dtype == dtype


# ---------------------------------------------------------------- backward twins


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,shape", _cases())
def test_backward_twins(rng, name, shape, dtype):
    x = _x(rng, shape, dtype)
    y = fwd(reference, name, x)
    dy = randn(rng, shape, dtype)
    _check_backward(name, dy, x, y, what=f" {shape}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(7,), (33, 7), (601, 301)])
@pytest.mark.parametrize("name,alpha", [(n, a) for n in sorted(ALPHAS) for a in ALPHAS[n]])
def test_backward_twins_alpha(rng, name, alpha, shape, dtype):
    x = _x(rng, shape, dtype)
    y = fwd(reference, name, x, alpha)
    dy = randn(rng, shape, dtype)
    want = _check_backward(name, dy, x, y, alpha, what=f" alpha={alpha}")
    default = bwd(reference, name, dy, x, fwd(reference, name, x))
    neg = x < 0
    assert not np.array_equal(want[neg], default[neg])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", FORWARD)
def test_backward_out_given(rng, name, dtype):
    x = _x(rng, (33, 7), dtype)
    alpha = ALPHAS[name][0] if name in TAKES_ALPHA else None
    y = fwd(reference, name, x, alpha)
    dy = randn(rng, x.shape, dtype)
    out_n, out_r = np.full_like(x, np.nan), np.full_like(x, np.nan)
    got = bwd(ops, name, dy, x, y, alpha, out=out_n)
    want = bwd(reference, name, dy, x, y, alpha, out=out_r)
    assert got is out_n and want is out_r
    _compare_backward(got, want, name, dy, x, y)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(33, 7), (601, 301)])
@pytest.mark.parametrize("name", FORWARD)
def test_backward_in_place(rng, name, shape, dtype):
    """out=dy overwrites the incoming gradient with dx."""
    x = _x(rng, shape, dtype)
    alpha = ALPHAS[name][-1] if name in TAKES_ALPHA else None
    y = fwd(reference, name, x, alpha)
    dy = randn(rng, shape, dtype)
    want = bwd(reference, name, dy.copy(), x, y, alpha)
    for impl in (ops, reference):
        g = dy.copy()
        got = bwd(impl, name, g, x, y, alpha, out=g)
        assert got is g
        _compare_backward(got, want, name, dy, x, y, impl.__name__)


# ------------------------------------------------------------------- properties


@pytest.mark.parametrize("name", FORWARD)
@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES))
def test_twins_property(name, dtype, data):
    rowwise = name in ROWWISE
    shape = data.draw(hnp.array_shapes(min_dims=1 if rowwise else 0, max_dims=3, min_side=1,
                                       max_side=20), label="shape")
    elems = st.floats(-30, 30, width=32 if dtype == np.float32 else 64)
    x = data.draw(hnp.arrays(dtype, shape, elements=elems), label="x")
    dy = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-5, 5, width=32 if dtype == np.float32 else 64)),
                   label="dy")
    alpha = None
    if name in TAKES_ALPHA:
        alpha = data.draw(st.one_of(st.none(), st.floats(0, 3)), label="alpha")
    y = _check_forward(name, x, alpha)
    _check_backward(name, dy, x, y, alpha)


@pytest.mark.parametrize("impl", [t.values[0] for t in TWINS], ids=["native", "reference"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_rows_are_distributions(rng, impl, dtype):
    x = randn(rng, (50, 13), dtype, scale=5.0)
    p = impl.softmax(x)
    assert p.dtype == dtype and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=-1, dtype=np.float64), 1.0,
                               rtol=0, atol=20 * np.finfo(dtype).eps)
    lp = impl.log_softmax(x)
    np.testing.assert_allclose(np.exp(lp.astype(np.float64)).sum(axis=-1), 1.0,
                               rtol=0, atol=100 * np.finfo(dtype).eps)
    # Shift invariance along the last axis.
    shifted = impl.softmax((x + dtype(3.0)).astype(dtype))
    np.testing.assert_allclose(shifted, p, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", FORWARD)
def test_extreme_inputs_stay_finite(name, dtype):
    """Large |x| must neither overflow nor produce NaN (sigmoid from exp(-|x|), softmax
    shifted by the row max)."""
    x = np.array([[-1000.0, -80.0, -20.0, 0.0, 20.0, 80.0, 1000.0],
                  [1000.0, 1001.0, 999.0, 1000.5, 998.0, 1000.25, 1000.0]], dtype=dtype)
    y = _check_forward(name, x)
    dy = np.ones_like(x)
    for impl in (ops, reference):
        assert np.isfinite(fwd(impl, name, x)).all(), impl.__name__
        assert np.isfinite(bwd(impl, name, dy, x, y)).all(), impl.__name__
    _check_backward(name, dy, x, y)


# --------------------------------------------------- finite-difference gradients

FD_CASES = [(n, None) for n in FORWARD] + [(n, a) for n in sorted(ALPHAS) for a in ALPHAS[n]]


@pytest.mark.parametrize("impl", [t.values[0] for t in TWINS], ids=["native", "reference"])
@pytest.mark.parametrize("name,alpha", FD_CASES)
def test_backward_matches_finite_differences(rng, impl, name, alpha):
    """f_backward(dy, x, f(x)) == d/dx sum(dy * f(x)), by central differences (float64).

    All perturbed inputs go through the forward in one batch: x + h e_i stacked on a new
    leading axis (row-wise ops still see the same rows)."""
    shape = (3, 5)
    x = rng.uniform(-3, 3, shape)
    x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep away from the kinks of relu/elu
    dy = rng.standard_normal(shape)
    y = fwd(impl, name, x, alpha)
    dx = bwd(impl, name, dy, x, y, alpha)
    h = 1e-6
    eye = np.eye(x.size).reshape((x.size,) + shape)
    fp = fwd(impl, name, x + h * eye, alpha)
    fm = fwd(impl, name, x - h * eye, alpha)
    axes = tuple(range(1, fp.ndim))
    numeric = ((dy * fp).sum(axis=axes) - (dy * fm).sum(axis=axes)) / (2 * h)
    np.testing.assert_allclose(dx.reshape(-1), numeric, rtol=1e-6, atol=1e-7)


# ------------------------------------------------- the oracle's formulas, by hand


def _by_hand(name, row, alpha):
    c = math.sqrt(2 / math.pi)
    if name == "softmax":
        m = max(row)
        e = [math.exp(v - m) for v in row]
        return [v / sum(e) for v in e]
    if name == "log_softmax":
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        return [v - lse for v in row]
    f = {
        "identity": lambda v: v,
        "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
        "tanh": math.tanh,
        "relu": lambda v: max(v, 0.0),
        "leaky_relu": lambda v: v if v >= 0 else (0.01 if alpha is None else alpha) * v,
        "elu": lambda v: v if v > 0 else (1.0 if alpha is None else alpha) * math.expm1(v),
        "gelu": lambda v: 0.5 * v * (1 + math.tanh(c * (v + 0.044715 * v ** 3))),
    }[name]
    return [f(v) for v in row]


@pytest.mark.parametrize("impl", [t.values[0] for t in TWINS], ids=["native", "reference"])
@pytest.mark.parametrize("name,alpha", FD_CASES)
def test_forward_matches_formula(rng, impl, name, alpha):
    x = rng.uniform(-6, 6, (4, 6))
    want = np.array([_by_hand(name, list(row), alpha) for row in x])
    got = fwd(impl, name, x, alpha)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("impl", [t.values[0] for t in TWINS], ids=["native", "reference"])
@pytest.mark.parametrize("offset", [0.0, 300.0, -1e4, 1e4])
def test_log_softmax_accuracy_with_large_logits(impl, offset):
    """log_softmax(x) = (x - max) - log(sum(exp(x - max))) is exact to a few ulps of
    the *result*, whatever the magnitude of the logits: subtracting the max first is
    exact (Sterbenz), so |x| itself must not limit the accuracy. float32 vs float64 truth."""
    base = np.array([0.0, 1.0, -2.0, 0.5, -0.25, 0.125, -3.0])
    x = (base + offset).astype(np.float32)
    x64 = x.astype(np.float64)
    shifted = x64 - x64.max()
    truth = shifted - np.log(np.exp(shifted).sum())
    got = impl.log_softmax(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, truth, rtol=4 * np.finfo(np.float32).eps, atol=1e-7)
