"""Layer normalization: native vs numpy twin, each twin vs textbook formulas and PyTorch's
nn.LayerNorm formula, gradients by finite differences, thread-count independence, bad
input; the LayerNorm layer in a model (the fused plan bit for bit as the per-layer path),
save/load, configs, freezing.

Both twins compute the per-row statistics and the per-column parameter sums in float64
(summed in different orders) and evaluate the per-element formulas in x's dtype with the
same grouping; they differ by the summation order and by fused multiply-adds the
compiler may form, so the comparisons use tight per-dtype tolerances scaled by the
magnitudes involved.
"""

import io
import json
import math
import re

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, TWINS, assert_twins_close, randn
from fastnn import Dense, LayerNorm, ReLU, Sequential, ops, reference
from fastnn._fused import unsupported_reason
from fastnn._kernels import KERNELS
from fastnn.layers import layer_from_config

pytestmark = pytest.mark.usefixtures("isa")  # at every level this CPU runs

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]

# (..., D): one feature, one row, 1-D input, odd sizes, vector blocks of 128 columns and
# their tails, 3-D and 4-D input, a long row
SHAPES = [(1, 1), (5, 1), (1, 7), (7,), (4, 7), (3, 5, 13), (2, 3, 4, 9), (9, 130),
          (257, 33), (3, 1000)]


def _params(rng, d, dtype):
    gamma = (1 + 0.5 * rng.standard_normal(d)).astype(dtype)
    beta = rng.standard_normal(d).astype(dtype)
    return gamma, beta


def _rows(a):
    """(..., D) -> (R, D) in float64."""
    return a.reshape(-1, a.shape[-1]).astype(np.float64)


def _data(rng, shape, dtype, offset):
    """Normal(0, 2) values; with `offset`, 1e3 + Normal(0, 0.1) (a large mean)."""
    if offset:
        return np.asarray(1e3 + 0.1 * rng.standard_normal(shape), dtype=dtype)
    return randn(rng, shape, dtype, scale=2.0) + dtype(0.5)


def test_kernel_list():
    assert KERNELS["layernorm"] == ["layernorm_forward", "layernorm_backward"]


# ------------------------------------------------------------------ twins


@pytest.mark.parametrize("offset", [False, True], ids=["centred", "offset"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_twins(rng, shape, dtype, offset):
    d = shape[-1]
    x = _data(rng, shape, dtype, offset)
    gamma, beta = _params(rng, d, dtype)
    (y, mean, inv), (y_r, mean_r, inv_r) = [impl.layernorm_forward(x, gamma, beta, eps=1e-3)
                                            for impl in IMPLS]
    x2 = _rows(x)
    row_mag = np.abs(x2).mean(axis=1)
    assert_twins_close(mean, mean_r, terms=d, magnitude=row_mag)
    assert_twins_close(inv, inv_r, terms=d, magnitude=inv_r)
    # y moves with the mean's rounding (scaled by inv_std * gamma) and its own roundings
    g = np.abs(gamma.astype(np.float64))
    mag_y = (np.abs(x2 - mean_r[:, None]) + row_mag[:, None]) * inv_r[:, None] * g + np.abs(beta)
    assert_twins_close(y, y_r, terms=d + 2, magnitude=mag_y.reshape(shape))
    # backward from the same mean / inv_std
    dy = randn(rng, shape, dtype)
    dx, dg, db = ops.layernorm_backward(dy, x, gamma, mean, inv)
    dx_r, dg_r, db_r = reference.layernorm_backward(dy, x, gamma, mean, inv)
    r = x2.shape[0]
    dy2, xc = _rows(dy), x2 - mean.astype(np.float64)[:, None]
    inv64 = inv.astype(np.float64)[:, None]
    assert_twins_close(db, db_r, terms=r, magnitude=np.abs(dy2).sum(axis=0))
    assert_twins_close(dg, dg_r, terms=r + 2, magnitude=np.abs(dy2 * xc * inv64).sum(axis=0))
    gg = np.abs(dy2) * g
    mag_dx = inv64 * (gg + np.abs(xc) * inv64 ** 2 * (gg * np.abs(xc)).sum(axis=1)[:, None] / d
                      + gg.sum(axis=1)[:, None] / d)
    assert_twins_close(dx, dx_r, terms=d + 3, magnitude=mag_dx.reshape(shape))


# ---------------------------------------------------------- by hand (textbook)


def _textbook_forward(x, gamma, beta, eps):
    """Per row with Python floats: mean, biased variance, normalised output."""
    x2 = _rows(x)
    y = np.empty_like(x2)
    means, variances = [], []
    for i, row in enumerate(x2):
        vals = [float(v) for v in row]
        mu = math.fsum(vals) / len(vals)
        var = math.fsum((v - mu) ** 2 for v in vals) / len(vals)
        means.append(mu)
        variances.append(var)
        y[i] = [(v - mu) / math.sqrt(var + eps) * float(g) + float(b)
                for v, g, b in zip(vals, gamma, beta)]
    return y.reshape(x.shape), np.array(means), np.array(variances)


def _textbook_backward(dy, x, gamma, eps):
    """Backpropagation through y = gamma * (x - mu) / sqrt(var + eps) + beta, mu and var
    over the last axis, written out step by step (the graph of the forward pass), in
    float64."""
    x2, dy2 = _rows(x), _rows(dy)
    d = x2.shape[1]
    mu = x2.mean(axis=1, keepdims=True)
    xc = x2 - mu
    var = (xc ** 2).mean(axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = xc / std
    g = gamma.astype(np.float64)[None, :]
    dbeta = dy2.sum(axis=0)
    dgamma = (dy2 * xhat).sum(axis=0)
    dxhat = dy2 * g
    dvar = (dxhat * xc * -0.5 * std ** -3).sum(axis=1, keepdims=True)
    dmu = (-dxhat / std).sum(axis=1, keepdims=True) + dvar * (-2 * xc).mean(axis=1,
                                                                            keepdims=True)
    dx = dxhat / std + dvar * 2 * xc / d + dmu / d
    return dx.reshape(x.shape), dgamma, dbeta


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("offset", [False, True], ids=["centred", "offset"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 6), (3, 1), (1, 40)], ids=str)
def test_against_textbook(rng, impl, shape, dtype, offset):
    x = _data(rng, shape, dtype, offset)
    gamma, beta = _params(rng, shape[-1], dtype)
    eps = 1e-3
    y, mean, inv = impl.layernorm_forward(x, gamma, beta, eps=eps)
    want_y, want_mu, want_var = _textbook_forward(x, gamma, beta, eps)
    r = 2e-5 if dtype == np.float32 else 1e-12
    u = np.finfo(dtype).eps
    np.testing.assert_allclose(mean, want_mu, rtol=r, atol=r)
    np.testing.assert_allclose(inv, 1 / np.sqrt(want_var + eps), rtol=r)
    # y is evaluated in x's dtype from the mean rounded to it: off by up to an ulp of the
    # mean, scaled by inv_std * gamma (a rounding of x itself, at a large offset)
    slack = 4 * u * np.abs(want_mu)[:, None] / np.sqrt(want_var + eps)[:, None] \
        * np.abs(gamma.astype(np.float64))
    assert np.all(np.abs(_rows(y) - _rows(want_y)) <= 10 * r + r * np.abs(_rows(want_y)) + slack)
    dy = randn(rng, shape, dtype)
    dx, dgamma, dbeta = impl.layernorm_backward(dy, x, gamma, mean, inv)
    want_dx, want_dg, want_db = _textbook_backward(dy, x, gamma, eps)
    np.testing.assert_allclose(dbeta, want_db, rtol=r, atol=10 * r)
    # the same rounding of the mean shifts xhat by up to an ulp of mean * inv_std
    xs = 4 * u * float(np.max(np.abs(want_mu) / np.sqrt(want_var + eps)))
    np.testing.assert_allclose(dgamma, want_dg, rtol=r,
                               atol=10 * r + xs * float(np.abs(dy).sum(axis=None)))
    scale = float(np.max(np.abs(want_dx))) if want_dx.size else 0.0
    np.testing.assert_allclose(dx, want_dx, rtol=10 * r, atol=10 * r + (xs + 10 * r) * scale)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", [(4, 16), (2, 5, 8)], ids=str)
def test_pytorch_layernorm_formula(rng, impl, shape):
    """torch.nn.LayerNorm(D) documents y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
    over the last axis with the biased variance (unbiased=False) and eps = 1e-5; its
    weight and bias (D,) start at 1 and 0. The layer and the op compute exactly that."""
    x = rng.standard_normal(shape) * 3 + 2
    d = shape[-1]
    weight, bias = rng.standard_normal(d), rng.standard_normal(d)
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)  # ddof=0: the biased variance
    want = (x - mu) / np.sqrt(var + 1e-5) * weight + bias
    y = impl.layernorm_forward(x, weight, bias)[0]  # eps defaults to 1e-5
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    layer = LayerNorm()
    layer._ops = impl
    layer.build(shape[1:], np.float64)
    assert sorted(layer.params) == ["bias", "weight"]
    assert layer.params["weight"].shape == layer.params["bias"].shape == (d,)
    np.testing.assert_array_equal(layer.params["weight"], 1)
    np.testing.assert_array_equal(layer.params["bias"], 0)
    layer.params["weight"][...] = weight  # as from a PyTorch state_dict
    layer.params["bias"][...] = bias
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-12, atol=1e-12)
    # elementwise_affine=False: no parameters, weight 1 and bias 0
    plain = LayerNorm(elementwise_affine=False)
    plain._ops = impl
    np.testing.assert_allclose(plain.forward(x), (x - mu) / np.sqrt(var + 1e-5), rtol=1e-12,
                               atol=1e-12)
    assert plain.params == {} and plain.count_params() == 0


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (3, 1), (1, 6)], ids=str)
def test_gradients_by_finite_differences(rng, impl, shape):
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = _params(rng, shape[-1], np.float64)
    dy = rng.standard_normal(shape)

    def loss(x_, g_, b_):
        return float(np.sum(dy * impl.layernorm_forward(x_, g_, b_, eps=1e-3)[0]))

    _, mean, inv = impl.layernorm_forward(x, gamma, beta, eps=1e-3)
    dx, dgamma, dbeta = impl.layernorm_backward(dy, x, gamma, mean, inv)
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


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 6)], ids=str)
def test_layer_gradients_by_finite_differences(rng, backend, affine, shape):
    layer = LayerNorm(eps=1e-3, elementwise_affine=affine)
    layer._ops = fastnn.layers.get_backend(backend)
    layer.build(shape[1:], np.float64)
    for k in layer.params:  # non-trivial weight and bias
        layer.params[k][...] += 0.3 * rng.standard_normal(layer.params[k].shape)
    x = rng.standard_normal(shape) * 2 - 1
    r = rng.standard_normal(shape)
    layer.forward(x, training=True)
    dx = layer.backward(r.copy())
    grads = {k: g.copy() for k, g in layer.grads.items()}
    assert sorted(grads) == (["bias", "weight"] if affine else [])

    def loss():
        return float(np.sum(layer.forward(x, training=True) * r))

    h = 1e-6
    for name, arr, analytic in [("x", x, dx)] + [(k, layer.params[k], grads[k])
                                                 for k in layer.params]:
        flat, ana = arr.reshape(-1), analytic.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            up = loss()
            flat[i] = old - h
            down = loss()
            flat[i] = old
            num = (up - down) / (2 * h)
            assert abs(num - ana[i]) <= 1e-6 * max(1.0, abs(num)), (name, i, num, ana[i])


# ------------------------------------------------------------ outputs, in place


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_in_place_and_outputs(rng, impl, dtype):
    x = randn(rng, (6, 5, 3), dtype)
    gamma, beta = _params(rng, 3, dtype)
    y, mean, inv = impl.layernorm_forward(x, gamma, beta)
    assert y.shape == x.shape and mean.shape == inv.shape == (30,)
    assert y.dtype == mean.dtype == inv.dtype == dtype
    xi = x.copy()
    o = [np.empty(30, dtype), np.empty(30, dtype)]
    y2, m2, i2 = impl.layernorm_forward(xi, gamma, beta, out=xi, mean=o[0], inv_std=o[1])
    assert y2 is xi and m2 is o[0] and i2 is o[1]  # y may be x
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(m2, mean)
    np.testing.assert_array_equal(i2, inv)
    dy = randn(rng, x.shape, dtype)
    dx, dg, db = impl.layernorm_backward(dy, x, gamma, mean, inv)
    g = dy.copy()
    dx2, dg2, db2 = impl.layernorm_backward(g, x, gamma, mean, inv, dx=g)  # dx may be dy
    assert dx2 is g
    for a, b in ((dx, dx2), (dg, dg2), (db, db2)):
        np.testing.assert_array_equal(a, b)
    none, dg3, db3 = impl.layernorm_backward(dy, x, gamma, mean, inv, compute_dx=False)
    assert none is None
    np.testing.assert_array_equal(dg3, dg)
    np.testing.assert_array_equal(db3, db)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_rows_are_independent_and_empty_batches_work(rng, impl):
    x = rng.standard_normal((6, 4))
    gamma, beta = _params(rng, 4, np.float64)
    y = impl.layernorm_forward(x, gamma, beta)[0]
    np.testing.assert_array_equal(impl.layernorm_forward(x[2:3], gamma, beta)[0], y[2:3])
    y0, m0, i0 = impl.layernorm_forward(x[:0], gamma, beta)
    assert y0.shape == (0, 4) and m0.shape == i0.shape == (0,)
    dx, dg, db = impl.layernorm_backward(np.zeros((0, 4)), np.zeros((0, 4)), gamma,
                                         np.zeros(0), np.ones(0),
                                         dgamma=np.full(4, np.nan), dbeta=np.full(4, np.nan))
    assert dx.shape == (0, 4)
    np.testing.assert_array_equal(dg, 0)
    np.testing.assert_array_equal(db, 0)


# ------------------------------------------------------------------ threads


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(700, 333), (50, 20, 300), (3000, 96), (70000, 3)], ids=str)
def test_bitwise_across_threads(rng, restore_threads, shape, dtype):
    x = randn(rng, shape, dtype, scale=2.0) + dtype(1.0)
    assert x.size > 3 * GRAIN_CHEAP  # so 2 and 3 threads really split the rows (and columns)
    gamma, beta = _params(rng, shape[-1], dtype)
    dy = randn(rng, shape, dtype)

    def run():
        y, mean, inv = ops.layernorm_forward(x, gamma, beta)
        return (y, mean, inv) + ops.layernorm_backward(dy, x, gamma, mean, inv)

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


def _fwd(M, x=None, d=3, **kw):
    x = np.zeros((4, d)) if x is None else x
    args = dict(gamma=np.ones(d), beta=np.zeros(d))
    args.update(kw)
    return M.layernorm_forward(x, args.pop("gamma"), args.pop("beta"), **args)


def _bwd(M, shape=(4, 3), **kw):
    r, d = int(np.prod(shape[:-1])), shape[-1]
    args = dict(dy=np.zeros(shape), x=np.zeros(shape), gamma=np.ones(d), mean=np.zeros(r),
                inv_std=np.ones(r))
    args.update(kw)
    return M.layernorm_backward(args.pop("dy"), args.pop("x"), args.pop("gamma"),
                                args.pop("mean"), args.pop("inv_std"), **args)


def _readonly(a):
    a.setflags(write=False)
    return a


def _overlapping():
    """Two C-contiguous (4, 3) arrays over one buffer, one row apart."""
    buf = np.zeros(15)
    return buf[:12].reshape(4, 3), buf[3:].reshape(4, 3)


@pytest.mark.parametrize("call,exc,match", [
    (lambda M: _fwd(M, x=np.zeros(())), ValueError,
     re.escape("x must have shape (..., D) with D >= 1 features along the last axis, got ()")),
    (lambda M: _fwd(M, x=np.zeros((4, 0)), d=0), ValueError,
     re.escape("x must have shape (..., D) with D >= 1 features along the last axis, got (4, 0)")),
    (lambda M: _fwd(M, gamma=np.ones(4)), ValueError,
     re.escape("gamma must have shape (3,), got (4,)")),
    (lambda M: _fwd(M, beta=np.zeros((3, 1))), ValueError, "beta must be 1-D"),
    (lambda M: _fwd(M, gamma=np.ones(3, np.float32)), TypeError,
     "gamma has dtype float32 but x has dtype float64"),
    (lambda M: _fwd(M, x=np.zeros((4, 3), np.int32)), TypeError, "x must have dtype float32 or"),
    (lambda M: _fwd(M, x=np.zeros((3, 4)).T), ValueError, "x must be C-contiguous"),
    (lambda M: _fwd(M, x=np.zeros((4, 6))[:, ::2]), ValueError, "x must be C-contiguous"),
    (lambda M: _fwd(M, x=np.array([[0.0, np.nan, 1.0]])), ValueError,
     "^x contains NaN or infinity$"),
    (lambda M: _fwd(M, gamma=np.array([1.0, np.inf, 1.0])), ValueError,
     "^gamma contains NaN or infinity$"),
    (lambda M: _fwd(M, eps=0.0), ValueError, r"eps must be > 0.0, got 0.0"),
    (lambda M: _fwd(M, eps=float("nan")), ValueError, "eps must be finite"),
    (lambda M: _fwd(M, eps="1e-5"), TypeError, "eps must be a real number"),
    (lambda M: _fwd(M, out=np.zeros((3, 4))), ValueError,
     re.escape("out must have shape (4, 3), got (3, 4)")),
    (lambda M: _fwd(M, mean=np.zeros(3)), ValueError, re.escape("mean must have shape (4,)")),
    (lambda M: _fwd(M, inv_std=np.zeros(4, np.float32)), TypeError,
     "inv_std must have dtype float64, got float32"),
    (lambda M: _fwd(M, mean=_readonly(np.zeros(4))), ValueError, "^mean is read-only$"),
    (lambda M: _fwd(M, x=(xo := _overlapping())[0], out=xo[1]), ValueError,
     "^out must not share memory with x$"),
    (lambda M: _fwd(M, x=np.zeros((3, 3)), gamma=(g := np.ones(3)), mean=g), ValueError,
     "^mean must not share memory with gamma$"),
    (lambda M: _fwd(M, x=np.zeros((4, 3)), mean=(m := np.zeros(4)), inv_std=m), ValueError,
     "^mean must not share memory with inv_std$"),
    (lambda M: _bwd(M, x=np.zeros((4, 4))), ValueError,
     re.escape("x must have shape (4, 3), got (4, 4)")),
    (lambda M: _bwd(M, dy=np.zeros(()), x=np.zeros(())), ValueError,
     re.escape("dy must have shape (..., D) with D >= 1 features")),
    (lambda M: _bwd(M, x=np.zeros((4, 3), np.float32)), TypeError,
     "x has dtype float32 but dy has dtype float64"),
    (lambda M: _bwd(M, gamma=np.ones(4)), ValueError, re.escape("gamma must have shape (3,)")),
    (lambda M: _bwd(M, mean=np.zeros(3)), ValueError, re.escape("mean must have shape (4,)")),
    (lambda M: _bwd(M, shape=(2, 2, 3), inv_std=np.ones(2)), ValueError,
     re.escape("inv_std must have shape (4,), got (2,)")),
    (lambda M: _bwd(M, inv_std=np.ones(4, np.float32)), TypeError,
     "inv_std has dtype float32 but x has dtype float64"),
    (lambda M: _bwd(M, dx=np.zeros((3, 4))), ValueError, re.escape("dx must have shape (4, 3)")),
    (lambda M: _bwd(M, dgamma=_readonly(np.zeros(3))), ValueError, "^dgamma is read-only$"),
    (lambda M: _bwd(M, dbeta=[0.0, 0.0, 0.0]), TypeError, "dbeta must be a numpy.ndarray"),
    (lambda M: _bwd(M, x=np.full((4, 3), np.inf)), ValueError, "x contains NaN or infinity"),
    (lambda M: _bwd(M, mean=np.array([0.0, np.nan, 0.0, 0.0])), ValueError,
     "^mean contains NaN or infinity$"),
    (lambda M: _bwd(M, x=(a := np.zeros((4, 3))), dx=a), ValueError,
     "^dx must not share memory with x$"),
    (lambda M: _bwd(M, gamma=(g := np.ones(3)), dgamma=g), ValueError,
     "^dgamma must not share memory with gamma$"),
])
def test_bad_input(call, exc, match):
    raises_same(call, exc, match)


# ------------------------------------------------------------------ the layer


def _data_xy(n=192, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, y


def _model(backend, dtype="float64"):
    return Sequential([Dense(32, input_dim=20), LayerNorm(), ReLU(), Dense(3)], seed=4,
                      backend=backend, dtype=dtype)


def test_model_trains_with_both_backends():
    X, y = _data_xy()
    models, losses = [], []
    for backend in ("native", "reference"):
        model = _model(backend)
        hist = model.fit(X, y, epochs=6, batch_size=32, optimizer=fastnn.Adam(lr=0.01),
                         verbose=0)
        assert (model._plan is not None) == (backend == "native")  # the plan's layernorm step
        assert backend != "native" or unsupported_reason(model) is None
        loss = hist.history["loss"]
        assert loss[-1] < 0.7 * loss[0], loss  # it learns
        models.append(model)
        losses.append(loss)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-9)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(models[0].predict(X), models[1].predict(X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_on_sequences(dtype):
    """(N, T, D) input: each position normalised over its D features."""
    from fastnn import Flatten

    rng = np.random.default_rng(2)
    X = (rng.standard_normal((64, 5, 6)) * 4 + 3).astype(dtype)
    y = (X[:, 0, 0] > X[:, 1, 1]).astype(np.int64)
    model = Sequential([LayerNorm(), Flatten(), Dense(2)], seed=1, dtype=dtype)
    hist = model.fit(X, y, epochs=8, batch_size=16, optimizer=fastnn.Adam(lr=0.02), verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    ln = model.layers[0]
    out = ln.forward(X)
    assert out.shape == X.shape
    want = (X - X.mean(axis=-1, keepdims=True)) / np.sqrt(X.var(axis=-1, keepdims=True) + 1e-5)
    want = want * ln.params["weight"] + ln.params["bias"]
    r = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(out, want, rtol=r, atol=r)


def test_save_and_load_round_trip(tmp_path):
    X, y = _data_xy()
    model = Sequential([Dense(32, input_dim=20), LayerNorm(eps=1e-4, name="ln"), ReLU(),
                        Dense(8), LayerNorm(elementwise_affine=False), Dense(3)], seed=4)
    model.fit(X.astype(np.float32), y, epochs=2, batch_size=32, verbose=0)
    path = tmp_path / "ln.fnn"
    model.save(path)
    again = fastnn.load(path)
    assert [type(l).__name__ for l in again.layers] == [type(l).__name__ for l in model.layers]
    ln = again.get_layer("ln")
    assert isinstance(ln, LayerNorm) and ln.eps == 1e-4 and ln.elementwise_affine
    assert again.layers[4].elementwise_affine is False and again.layers[4].params == {}
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    Xf = X.astype(np.float32)
    np.testing.assert_array_equal(model.predict(Xf), again.predict(Xf))


@pytest.mark.parametrize("layer", [LayerNorm(), LayerNorm(eps=1e-3, elementwise_affine=False,
                                                          name="n", trainable=False)],
                         ids=["default", "custom"])
def test_config_round_trip_and_repr(layer):
    cfg = layer.get_config()
    assert cfg["class"] == "LayerNorm"
    assert json.loads(json.dumps(cfg)) == cfg
    for clone in (layer_from_config(cfg), LayerNorm.from_config(cfg)):
        assert type(clone) is LayerNorm
        assert clone.get_config() == cfg
    assert repr(LayerNorm()) == "LayerNorm()"
    assert repr(LayerNorm(eps=1e-3, elementwise_affine=False, name="n")) == \
        "LayerNorm(eps=0.001, elementwise_affine=False, name='n')"


def test_layer_arguments_and_shapes():
    with pytest.raises(ValueError, match="eps must be > 0.0"):
        LayerNorm(eps=0)
    with pytest.raises(TypeError, match="eps must be a real number"):
        LayerNorm(eps="small")
    layer = LayerNorm()
    assert layer.param_shapes((4, 6)) == {"weight": (6,), "bias": (6,)}
    assert LayerNorm(elementwise_affine=False).param_shapes((4, 6)) == {}
    assert layer.output_shape((4, 6)) == (4, 6)
    with pytest.raises(ValueError, match="at least one axis"):
        layer.output_shape(())
    assert LayerNorm.bias_keys == ("weight", "bias")  # not decayed with decay_biases=False


def test_frozen_layer_is_not_updated_but_gradients_flow_through_it():
    X, y = _data_xy()
    X = X.astype(np.float32)
    model = Sequential([Dense(16, input_dim=20), LayerNorm(trainable=False), ReLU(), Dense(3)],
                       seed=3)
    model.build()
    ln = model.layers[1]
    ln.params["weight"][...] = np.linspace(0.5, 1.5, 16, dtype=np.float32)
    before = {(l.name, k): a.copy() for l, k, a in model.params}
    model.fit(X, y, epochs=2, batch_size=16, optimizer=fastnn.SGD(lr=0.1), verbose=0)
    for (name, key), b in before.items():
        a = model.get_layer(name).params[key]
        if name == ln.name:
            np.testing.assert_array_equal(a, b, err_msg=f"frozen {name}.{key} changed")
        else:
            assert not np.array_equal(a, b), f"{name}.{key} did not change"
    buf = io.StringIO()
    model.summary(file=buf)
    assert re.search(r"layer_norm_1 \(LayerNorm\)\s+\(None, 16\)\s+32\s+frozen", buf.getvalue())


def test_decay_biases_false_leaves_weight_and_bias_alone():
    """With zero gradients only weight decay moves parameters: LayerNorm's weight and bias
    count as biases (the model's fit sets the optimizer up from bias_keys like this), so
    decay_biases=False keeps them."""
    model = Sequential([LayerNorm(), Dense(2, use_bias=False)], seed=0)
    model.build((4,))
    opt = fastnn.AdamW(lr=0.1, weight_decay=0.5, decay_biases=False)
    params = [a for _, _, a in model.params]
    opt.setup(params, is_bias=[k in getattr(l, "bias_keys", ()) for l, k, _ in model.params])
    before = [p.copy() for p in params]
    opt.update(params, [np.zeros_like(p) for p in params])
    np.testing.assert_array_equal(params[0], before[0])  # weight
    np.testing.assert_array_equal(params[1], before[1])  # bias
    assert np.all(np.abs(params[2]) < np.abs(before[2]))  # the Dense kernel decayed


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layers", [
    lambda: [Dense(32, input_dim=20), LayerNorm(), ReLU(), Dense(3)],
    lambda: [Dense(16, input_dim=20), LayerNorm(elementwise_affine=False), Dense(3)],
    lambda: [Dense(16, input_dim=20), LayerNorm(trainable=False), Dense(3)],
    lambda: [fastnn.Reshape((4, 5)), LayerNorm(eps=1e-3), fastnn.GRU(6), Dense(3)],
], ids=["affine", "no-affine", "frozen", "sequence-rows"])
def test_the_fused_plan_runs_layernorm_bit_for_bit(layers, dtype):
    """The plan's layernorm step (one file in src_c/plan_steps/ and one table entry)
    trains exactly as the per-layer path: weights, losses and predictions to the bit."""
    X, y = _data_xy(90)
    X = X.astype(dtype)
    runs = []
    for fused in (True, False):
        model = Sequential(layers(), seed=1, dtype=dtype)
        model.fused = fused
        hist = model.fit(X, y, epochs=3, batch_size=16, optimizer=fastnn.Adam(lr=0.01),
                         verbose=0)
        runs.append((model, hist.history["loss"]))
    (m1, l1), (m2, l2) = runs
    assert m1._plan is not None and m2._plan is None
    assert l1 == l2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))
