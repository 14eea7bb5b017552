"""Batch normalization: native vs numpy twin, each twin vs textbook formulas, gradients by
finite differences, the running statistics, inference mode, thread-count independence,
bad input.

Both twins compute the per-channel statistics in float64 (summed in different orders)
and evaluate the per-element formulas in x's dtype with the same grouping; they differ
by the summation order and by fused multiply-adds the compiler may form, so the
comparisons use tight per-dtype tolerances scaled by the magnitudes involved.
"""

import math
import re

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, TWINS, assert_twins_close, randn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]

# (N, C) and (N, C, *spatial); the column layout (S == 1) in blocks of 128 channels
SHAPES = [(1, 1), (3, 1), (5, 7), (1, 3, 1, 1), (3, 1, 5), (3, 3, 7, 13), (2, 3, 13, 5, 2),
          (257, 300), (3, 130)]


def _params(rng, c, dtype):
    gamma = (1 + 0.5 * rng.standard_normal(c)).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    rm = (0.1 * rng.standard_normal(c)).astype(dtype)
    rv = rng.uniform(0.5, 2.0, c).astype(dtype)
    return gamma, beta, rm, rv


def _view3(a):
    """(N, C, *spatial) -> (N, C, S) in float64."""
    return a.reshape(a.shape[0], a.shape[1], int(np.prod(a.shape[2:]))).astype(np.float64)


def test_kernel_list():
    assert KERNELS["batchnorm"] == ["batchnorm_forward", "batchnorm_backward"]


# ------------------------------------------------------------------ twins


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_training_twins(rng, shape, dtype):
    c = shape[1]
    x = randn(rng, shape, dtype, scale=2.0) + dtype(0.5)
    gamma, beta, rm0, rv0 = _params(rng, c, dtype)
    res = {}
    for impl in IMPLS:
        rm, rv = rm0.copy(), rv0.copy()
        y, mean, inv = impl.batchnorm_forward(x, gamma, beta, rm, rv, momentum=0.2, eps=1e-3)
        res[impl] = (y, mean, inv, rm, rv)
    (y, mean, inv, rm, rv), (y_r, mean_r, inv_r, rm_r, rv_r) = res[ops], res[reference]
    m = x.size // c
    x3 = _view3(x)
    assert_twins_close(mean, mean_r, terms=m, magnitude=np.abs(x3).mean(axis=(0, 2)))
    assert_twins_close(inv, inv_r, terms=m, magnitude=inv_r)
    # y from the native mean / inv_std compared with the twin's
    mag_y = (np.abs(x3 - _view3(mean_r[None, :])) * np.abs(gamma * inv_r)[None, :, None]
             + np.abs(beta)[None, :, None])
    assert_twins_close(y, y_r, terms=m, magnitude=mag_y.reshape(shape))
    assert_twins_close(rm, rm_r, terms=m, magnitude=np.abs(rm0) + np.abs(x3).mean(axis=(0, 2)))
    assert_twins_close(rv, rv_r, terms=m, magnitude=rv_r)
    # backward from the same mean / inv_std
    dy = randn(rng, shape, dtype)
    dx, dg, db = ops.batchnorm_backward(dy, x, gamma, mean, inv)
    dx_r, dg_r, db_r = reference.batchnorm_backward(dy, x, gamma, mean, inv)
    dy3, xc = _view3(dy), x3 - mean.astype(np.float64)[None, :, None]
    assert_twins_close(db, db_r, terms=m, magnitude=np.abs(dy3).sum(axis=(0, 2)))
    assert_twins_close(dg, dg_r, terms=m, magnitude=(np.abs(dy3 * xc)).sum(axis=(0, 2)) * inv)
    k = np.abs(gamma.astype(np.float64) * inv)
    mag_dx = k[None, :, None] * (np.abs(dy3) + np.abs(xc) * inv[None, :, None] ** 2
                                 * np.abs(dy3 * xc).sum(axis=(0, 2))[None, :, None] / m
                                 + np.abs(dy3).sum(axis=(0, 2))[None, :, None] / m)
    assert_twins_close(dx, dx_r, terms=m + 3, magnitude=mag_dx.reshape(shape))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES + [(0, 3), (0, 2, 4, 4)], ids=str)
def test_inference_twins(rng, shape, dtype):
    c = shape[1]
    x = randn(rng, shape, dtype, scale=2.0)
    gamma, beta, rm, rv = _params(rng, c, dtype)
    out = {}
    for impl in IMPLS:
        out[impl] = impl.batchnorm_forward(x, gamma, beta, rm, rv, training=False, eps=1e-3)
    (y, mean, inv), (y_r, mean_r, inv_r) = out[ops], out[reference]
    np.testing.assert_array_equal(mean, rm)
    np.testing.assert_array_equal(mean_r, rm)
    np.testing.assert_array_equal(inv, inv_r)  # the same float64 formula, rounded once
    mag = (np.abs(_view3(x) - rm[None, :, None]) * np.abs(gamma * inv)[None, :, None]
           + np.abs(beta)[None, :, None])
    assert_twins_close(y, y_r, terms=2, magnitude=mag.reshape(shape))


# ---------------------------------------------------------- by hand (textbook)


def _textbook_forward(x, gamma, beta, eps):
    """Per channel with Python floats: mean, biased variance, normalised output."""
    n, c = x.shape[:2]
    x3 = _view3(x)
    y = np.empty_like(x3)
    means, variances = [], []
    for j in range(c):
        vals = [float(v) for v in x3[:, j, :].ravel()]
        mu = math.fsum(vals) / len(vals)
        var = math.fsum((v - mu) ** 2 for v in vals) / len(vals)
        means.append(mu)
        variances.append(var)
        y[:, j, :] = (x3[:, j, :] - mu) / math.sqrt(var + eps) * float(gamma[j]) + float(beta[j])
    return y.reshape(x.shape), np.array(means), np.array(variances)


def _textbook_backward(dy, x, gamma, eps):
    """Backpropagation through y = gamma * (x - mu) / sqrt(var + eps) + beta, written
    out step by step (the graph of the forward pass), in float64."""
    x3, dy3 = _view3(x), _view3(dy)
    m = x3.shape[0] * x3.shape[2]
    mu = x3.mean(axis=(0, 2), keepdims=True)
    xc = x3 - mu
    var = (xc ** 2).mean(axis=(0, 2), keepdims=True)
    std = np.sqrt(var + eps)
    xhat = xc / std
    g = gamma.astype(np.float64)[None, :, None]
    dbeta = dy3.sum(axis=(0, 2))
    dgamma = (dy3 * xhat).sum(axis=(0, 2))
    dxhat = dy3 * g
    dvar = (dxhat * xc * -0.5 * std ** -3).sum(axis=(0, 2), keepdims=True)
    dmu = (-dxhat / std).sum(axis=(0, 2), keepdims=True) + dvar * (-2 * xc).mean(
        axis=(0, 2), keepdims=True)
    dx = dxhat / std + dvar * 2 * xc / m + dmu / m
    return dx.reshape(x.shape), dgamma, dbeta


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 3)], ids=str)
def test_against_textbook(rng, impl, shape, dtype):
    x = randn(rng, shape, dtype, scale=2.0) + dtype(1.0)
    gamma, beta, _, _ = _params(rng, shape[1], dtype)
    eps = 1e-3
    y, mean, inv = impl.batchnorm_forward(x, gamma, beta, None, None, eps=eps)
    want_y, want_mu, want_var = _textbook_forward(x, gamma, beta, eps)
    r = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(mean, want_mu, rtol=r, atol=r)
    np.testing.assert_allclose(inv, 1 / np.sqrt(want_var + eps), rtol=r)
    np.testing.assert_allclose(y, want_y, rtol=r, atol=10 * r)
    dy = randn(rng, shape, dtype)
    dx, dgamma, dbeta = impl.batchnorm_backward(dy, x, gamma, mean, inv)
    want_dx, want_dg, want_db = _textbook_backward(dy, x, gamma, eps)
    np.testing.assert_allclose(dbeta, want_db, rtol=r, atol=10 * r)
    np.testing.assert_allclose(dgamma, want_dg, rtol=r, atol=10 * r)
    np.testing.assert_allclose(dx, want_dx, rtol=10 * r, atol=10 * r)


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 3), (1, 2, 5)], ids=str)
def test_gradients_by_finite_differences(rng, impl, shape):
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta, _, _ = _params(rng, shape[1], np.float64)
    dy = rng.standard_normal(shape)

    def loss(x_, g_, b_):
        return float(np.sum(dy * impl.batchnorm_forward(x_, g_, b_, None, None, eps=1e-3)[0]))

    _, mean, inv = impl.batchnorm_forward(x, gamma, beta, None, None, eps=1e-3)
    dx, dgamma, dbeta = impl.batchnorm_backward(dy, x, gamma, mean, inv)
    h = 1e-6
    for arr, grad, name in ((x, dx, "dx"), (gamma, dgamma, "dgamma"), (beta, dbeta, "dbeta")):
        num = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + h
            up = loss(x, gamma, beta)
            arr[i] = old - h
            down = loss(x, gamma, beta)
            arr[i] = old
            num[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7, err_msg=name)


# ------------------------------------------------------- running statistics


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 2), (1, 2, 1)], ids=str)
@pytest.mark.parametrize("momentum", [0.0, 0.1, 0.35, 1.0])
def test_running_statistics_update(rng, impl, shape, momentum, dtype):
    x = randn(rng, shape, dtype, scale=3.0) + dtype(2.0)
    gamma, beta, rm0, rv0 = _params(rng, shape[1], dtype)
    rm, rv = rm0.copy(), rv0.copy()
    y, mean, inv = impl.batchnorm_forward(x, gamma, beta, rm, rv, momentum=momentum)
    cols = np.moveaxis(x, 1, 0).reshape(shape[1], -1).astype(np.float64)
    m = cols.shape[1]
    var_u = cols.var(axis=1, ddof=1) if m > 1 else cols.var(axis=1)  # unbiased (biased if M=1)
    r = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(rm, (1 - momentum) * rm0 + momentum * cols.mean(axis=1),
                               rtol=r, atol=r)
    np.testing.assert_allclose(rv, (1 - momentum) * rv0 + momentum * var_u, rtol=r, atol=r)
    np.testing.assert_allclose(inv, 1 / np.sqrt(cols.var(axis=1) + 1e-5), rtol=r)  # biased
    # the batch statistics (not the running ones) normalise the training output
    np.testing.assert_allclose(_view3(y).mean(axis=(0, 2)), beta, rtol=10 * r, atol=10 * r)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_untracked_running_statistics(rng, impl):
    x = rng.standard_normal((5, 3, 2))
    gamma, beta, _, _ = _params(rng, 3, np.float64)
    y1, m1, i1 = impl.batchnorm_forward(x, gamma, beta, None, None)
    rm, rv = np.zeros(3), np.ones(3)
    y2, m2, i2 = impl.batchnorm_forward(x, gamma, beta, rm, rv)
    for a, b in ((y1, y2), (m1, m2), (i1, i2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_inference_uses_running_statistics(rng, impl, dtype):
    x = randn(rng, (4, 3, 2, 2), dtype)
    gamma, beta, rm, rv = _params(rng, 3, dtype)
    rm_before, rv_before = rm.copy(), rv.copy()
    y, mean, inv = impl.batchnorm_forward(x, gamma, beta, rm, rv, eps=1e-2, training=False)
    np.testing.assert_array_equal(rm, rm_before)  # not updated
    np.testing.assert_array_equal(rv, rv_before)
    assert mean is not rm and not np.shares_memory(mean, rm)
    np.testing.assert_array_equal(mean, rm)
    np.testing.assert_array_equal(inv, (1 / np.sqrt(rv.astype(np.float64) + 1e-2)).astype(dtype))
    want = ((x.astype(np.float64) - rm[None, :, None, None]) / np.sqrt(rv + 1e-2)[None, :, None, None]
            * gamma[None, :, None, None] + beta[None, :, None, None])
    r = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, want, rtol=r, atol=r)
    # one sample is fine at inference (no batch statistics needed), and so is none
    assert impl.batchnorm_forward(x[:1], gamma, beta, rm, rv, training=False)[0].shape == (1, 3, 2, 2)
    assert impl.batchnorm_forward(x[:0], gamma, beta, rm, rv, training=False)[0].shape == (0, 3, 2, 2)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_in_place_and_outputs(rng, impl, dtype):
    x = randn(rng, (6, 5, 3), dtype)
    gamma, beta, _, _ = _params(rng, 5, dtype)
    y, mean, inv = impl.batchnorm_forward(x, gamma, beta, None, None)
    xi = x.copy()
    o = [np.empty(5, dtype), np.empty(5, dtype)]
    y2, m2, i2 = impl.batchnorm_forward(xi, gamma, beta, None, None, out=xi, mean=o[0],
                                        inv_std=o[1])
    assert y2 is xi and m2 is o[0] and i2 is o[1]
    np.testing.assert_array_equal(y2, y)
    dy = randn(rng, x.shape, dtype)
    dx, dg, db = impl.batchnorm_backward(dy, x, gamma, mean, inv)
    g = dy.copy()
    dx2, dg2, db2 = impl.batchnorm_backward(g, x, gamma, mean, inv, dx=g)  # dx may be dy
    assert dx2 is g
    for a, b in ((dx, dx2), (dg, dg2), (db, db2)):
        np.testing.assert_array_equal(a, b)
    none, dg3, db3 = impl.batchnorm_backward(dy, x, gamma, mean, inv, compute_dx=False)
    assert none is None
    np.testing.assert_array_equal(dg3, dg)
    np.testing.assert_array_equal(db3, db)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_backward_of_an_empty_batch(impl):
    dx, dg, db = impl.batchnorm_backward(np.zeros((0, 3)), np.zeros((0, 3)), np.ones(3),
                                         np.zeros(3), np.ones(3),
                                         dgamma=np.full(3, np.nan), dbeta=np.full(3, np.nan))
    assert dx.shape == (0, 3)
    np.testing.assert_array_equal(dg, 0)
    np.testing.assert_array_equal(db, 0)


# ------------------------------------------------------------------ threads


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(64, 32, 12, 12), (100, 3, 30, 30), (700, 333)], ids=str)
def test_bitwise_across_threads(rng, restore_threads, shape, dtype):
    x = randn(rng, shape, dtype, scale=2.0) + dtype(1.0)
    assert x.size > 3 * GRAIN_CHEAP  # so 2 and 3 threads really split the channels
    gamma, beta, rm0, rv0 = _params(rng, shape[1], dtype)
    dy = randn(rng, shape, dtype)

    def run():
        rm, rv = rm0.copy(), rv0.copy()
        y, mean, inv = ops.batchnorm_forward(x, gamma, beta, rm, rv)
        yi = ops.batchnorm_forward(x, gamma, beta, rm, rv, training=False)[0]
        return (y, mean, inv, rm, rv, yi) + ops.batchnorm_backward(dy, x, gamma, mean, inv)

    fastnn.set_num_threads(1)
    one = run()
    for nt in (2, 3):
        fastnn.set_num_threads(nt)
        for a, b in zip(one, run()):
            np.testing.assert_array_equal(a, b, err_msg=f"1 vs {nt} threads", strict=True)


# ------------------------------------------------------------------ bad input


def raises_same(call, exc, match):
    msgs = []
    for impl in IMPLS:
        with pytest.raises(exc, match=match) as info:
            call(impl)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1], msgs


def _bn(M, x=None, c=3, **kw):
    x = np.zeros((4, c)) if x is None else x
    args = dict(gamma=np.ones(c), beta=np.zeros(c), running_mean=np.zeros(c),
                running_var=np.ones(c))
    args.update(kw)
    return M.batchnorm_forward(x, args.pop("gamma"), args.pop("beta"), args.pop("running_mean"),
                               args.pop("running_var"), **args)


def _bwd(M, shape=(4, 3), **kw):
    c = shape[1]
    args = dict(dy=np.zeros(shape), x=np.zeros(shape), gamma=np.ones(c), mean=np.zeros(c),
                inv_std=np.ones(c))
    args.update(kw)
    return M.batchnorm_backward(args.pop("dy"), args.pop("x"), args.pop("gamma"),
                                args.pop("mean"), args.pop("inv_std"), **args)


def _readonly(a):
    a.setflags(write=False)
    return a


@pytest.mark.parametrize("call,exc,match", [
    (lambda M: _bn(M, x=np.zeros(4)), ValueError,
     re.escape("x must have shape (N, C) or (N, C, *spatial), got (4,)")),
    (lambda M: _bn(M, gamma=np.ones(4)), ValueError,
     re.escape("gamma must have shape (3,), got (4,)")),
    (lambda M: _bn(M, beta=np.zeros((3, 1))), ValueError, "beta must be 1-D"),
    (lambda M: _bn(M, gamma=np.ones(3, np.float32)), TypeError,
     "gamma has dtype float32 but x has dtype float64"),
    (lambda M: _bn(M, running_mean=None), ValueError,
     "running_mean and running_var go together"),
    (lambda M: _bn(M, running_var=None), ValueError, "go together"),
    (lambda M: _bn(M, running_mean=None, running_var=None, training=False), ValueError,
     r"inference \(training=False\) normalizes with running_mean and running_var"),
    (lambda M: _bn(M, running_var=np.ones(2)), ValueError,
     re.escape("running_var must have shape (3,), got (2,)")),
    (lambda M: _bn(M, running_mean=np.zeros(3, np.float32)), TypeError,
     "running_mean has dtype float32 but x has dtype float64"),
    (lambda M: _bn(M, running_mean=_readonly(np.zeros(3))), ValueError,
     "^running_mean is read-only$"),
    (lambda M: _bn(M, running_var=-np.ones(3), training=False), ValueError,
     "running_var must be >= 0"),
    (lambda M: _bn(M, running_var=np.array([1.0, np.nan, 1.0]), training=False), ValueError,
     "running_var contains NaN or infinity"),
    (lambda M: _bn(M, momentum=1.5), ValueError, "momentum must be <= 1.0"),
    (lambda M: _bn(M, momentum=-0.1), ValueError, "momentum must be >= 0.0"),
    (lambda M: _bn(M, momentum="0.1"), TypeError, "momentum must be a real number"),
    (lambda M: _bn(M, eps=0.0), ValueError, r"eps must be > 0.0, got 0.0"),
    (lambda M: _bn(M, eps=-1e-5), ValueError, "eps must be > 0.0"),
    (lambda M: _bn(M, eps=float("nan")), ValueError, "eps must be finite"),
    (lambda M: _bn(M, x=np.zeros((0, 3))), ValueError,
     re.escape("needs at least one value per channel (N * spatial size >= 1), got x of shape (0, 3)")),
    (lambda M: _bn(M, x=np.zeros((2, 3, 0))), ValueError, "at least one value per channel"),
    (lambda M: _bn(M, x=np.zeros((4, 3)), out=np.zeros((3, 4))), ValueError,
     re.escape("out must have shape (4, 3), got (3, 4)")),
    (lambda M: _bn(M, mean=np.zeros(4)), ValueError, re.escape("mean must have shape (3,)")),
    (lambda M: _bn(M, inv_std=np.zeros(3, np.float32)), TypeError,
     "inv_std must have dtype float64, got float32"),
    (lambda M: _bn(M, x=np.zeros((4, 3), np.int32)), TypeError, "x must have dtype float32 or"),
    (lambda M: _bwd(M, x=np.zeros((4, 4))), ValueError,
     re.escape("x must have shape (4, 3), got (4, 4)")),
    (lambda M: _bwd(M, dy=np.zeros(3), x=np.zeros(3)), ValueError,
     re.escape("dy must have shape (N, C) or (N, C, *spatial), got (3,)")),
    (lambda M: _bwd(M, mean=np.zeros(2)), ValueError, re.escape("mean must have shape (3,)")),
    (lambda M: _bwd(M, inv_std=np.ones(3, np.float32)), TypeError,
     "inv_std has dtype float32 but x has dtype float64"),
    (lambda M: _bwd(M, gamma=np.ones((1, 3))), ValueError, "gamma must be 1-D"),
    (lambda M: _bwd(M, dx=np.zeros((3, 4))), ValueError, re.escape("dx must have shape (4, 3)")),
    (lambda M: _bwd(M, dgamma=_readonly(np.zeros(3))), ValueError, "^dgamma is read-only$"),
    (lambda M: _bwd(M, dbeta=[0.0, 0.0, 0.0]), TypeError, "dbeta must be a numpy.ndarray"),
    (lambda M: _bwd(M, x=np.full((4, 3), np.inf)), ValueError, "x contains NaN or infinity"),
])
def test_bad_input(call, exc, match):
    raises_same(call, exc, match)
