"""Pooling kernels: native vs numpy twin, each twin vs a textbook loop, gradients by
finite differences, thread-count independence, bad input.

Max and average pooling are computed by both twins in the same order (window offsets in
row-major order), so they agree bit for bit; so does the max-pool backward where no two
windows overlap, and in float64 (the twin adds in float64 in output order, like the
kernel). The global average is summed in float64 in different orders: tight tolerance.
The average over time is summed in float64 step by step by both: bit for bit.
"""

import itertools
import re

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, TWINS, assert_twins_close, randn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

# every kernel test runs once per instruction-set level this CPU runs (conftest.isa)
pytestmark = pytest.mark.usefixtures("isa")

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]

# (N, C, H, W) x (pool_size, stride): odd sizes, windows of 1..3, strides 1..3 (below the
# window: overlapping), rectangular windows, a window as large as the input.
SHAPES = [(1, 1, 1, 1), (3, 1, 5, 7), (1, 3, 7, 5), (3, 3, 13, 13), (0, 3, 5, 5), (2, 3, 24, 24)]
GEOMS = [(1, None), (2, None), (3, None), (2, 1), (3, 1), (3, 2), (2, 3), (3, 3), (1, 2),
         ((2, 3), (1, 2)), ((1, 3), None), ((3, 1), (2, 1))]


def _cases():
    for shape, (k, s) in itertools.product(SHAPES, GEOMS):
        kh, kw = (k, k) if isinstance(k, int) else k
        if kh <= shape[2] and kw <= shape[3]:
            yield shape, k, s


CASES = list(_cases())
CASE_IDS = [f"{'x'.join(map(str, sh))}-k{k}-s{s}" for sh, k, s in CASES]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _overlapping(k, s):
    (kh, kw), (sh, sw) = _pair(k), _pair(k if s is None else s)
    return sh < kh or sw < kw


def _same(a, b, what=""):
    assert a.dtype == b.dtype and a.shape == b.shape, what
    np.testing.assert_array_equal(a, b, err_msg=what, strict=True)


def test_kernel_list():
    assert KERNELS["pool"] == ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward",
                               "avgpool2d_backward", "global_avgpool_forward",
                               "global_avgpool_backward", "time_avgpool_forward",
                               "time_avgpool_backward"]


# ------------------------------------------------------------------ twins


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,k,s", CASES, ids=CASE_IDS)
def test_maxpool_twins(rng, shape, k, s, dtype):
    x = randn(rng, shape, dtype)
    if x.size:
        x.reshape(-1)[::7] = 0.5  # ties: the first maximum in window order wins
    y_n, a_n = ops.maxpool2d_forward(x, k, s)
    y_r, a_r = reference.maxpool2d_forward(x, k, s)
    _same(y_n, y_r, "y")
    _same(a_n, a_r, "argmax")
    assert a_n.dtype == np.intp
    dy = randn(rng, y_n.shape, dtype)
    dx_n = ops.maxpool2d_backward(dy, a_n, x.shape)
    dx_r = reference.maxpool2d_backward(dy, a_r, x.shape)
    if np.dtype(dtype) == np.float64 or not _overlapping(k, s):
        _same(dx_n, dx_r, "dx")
    else:  # float32 sums of 3+ gradients: the twin adds in float64, the kernel in float32
        assert_twins_close(dx_n, dx_r, terms=9, magnitude=np.abs(dx_r))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,k,s", CASES, ids=CASE_IDS)
def test_avgpool_twins_bitwise(rng, shape, k, s, dtype):
    x = randn(rng, shape, dtype)
    y_n = ops.avgpool2d_forward(x, k, s)
    _same(y_n, reference.avgpool2d_forward(x, k, s), "y")
    dy = randn(rng, y_n.shape, dtype)
    if dy.size:
        dy.reshape(-1)[0] = -0.0
    dx_n = ops.avgpool2d_backward(dy, x.shape, k, s)
    dx_r = reference.avgpool2d_backward(dy, x.shape, k, s)
    _same(dx_n, dx_r, "dx")
    np.testing.assert_array_equal(dx_n.view(np.uint8), dx_r.view(np.uint8))  # even -0.0


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 1, 7), (1, 3, 5, 7), (3, 3, 13, 13),
                                   (0, 3, 4, 4), (2, 3, 1, 2, 5), (2, 5, 300)])
def test_global_avgpool_twins(rng, shape, dtype):
    x = randn(rng, shape, dtype, scale=3.0)
    y_n = ops.global_avgpool_forward(x)
    y_r = reference.global_avgpool_forward(x)
    s = int(np.prod(shape[2:]))
    assert y_n.shape == shape[:2]
    assert_twins_close(y_n, y_r, terms=s, magnitude=np.abs(x).reshape(*shape[:2], s).mean(-1))
    dy = randn(rng, shape[:2], dtype)
    _same(ops.global_avgpool_backward(dy, shape), reference.global_avgpool_backward(dy, shape))


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_out_arguments_are_used(rng, impl):
    x = randn(rng, (2, 3, 6, 6), np.float32)
    y, a = np.full((2, 3, 3, 3), np.nan, np.float32), np.full((2, 3, 3, 3), -1, np.intp)
    y2, a2 = impl.maxpool2d_forward(x, 2, out=y, argmax=a)
    assert y2 is y and a2 is a
    dx = np.full_like(x, np.nan)
    assert impl.maxpool2d_backward(y, a, x.shape, out=dx) is dx
    assert impl.avgpool2d_forward(x, 2, out=y) is y
    assert impl.avgpool2d_backward(y, x.shape, 2, out=dx) is dx
    g = np.full((2, 3), np.nan, np.float32)
    assert impl.global_avgpool_forward(x, out=g) is g
    assert impl.global_avgpool_backward(g, x.shape, out=dx) is dx
    np.testing.assert_array_equal(dx, np.broadcast_to((g / 36)[:, :, None, None], x.shape))


# ---------------------------------------------------------- by hand (textbook loops)


def _naive_maxpool(x, k, s):
    (kh, kw), (sh, sw) = _pair(k), _pair(k if s is None else s)
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.empty((n, c, oh, ow), x.dtype)
    am = np.empty((n, c, oh, ow), np.intp)
    dx = np.zeros(x.shape, np.float64)
    for i, j, p, q in np.ndindex(n, c, oh, ow):
        win = x[i, j, p * sh:p * sh + kh, q * sw:q * sw + kw]
        f = int(np.argmax(win))  # numpy: first maximum; NaN counts as the maximum
        y[i, j, p, q] = win.flat[f]
        am[i, j, p, q] = (p * sh + f // kw) * w + q * sw + f % kw
    return y, am, dx


def _naive_avgpool(x, k, s):
    (kh, kw), (sh, sw) = _pair(k), _pair(k if s is None else s)
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.empty((n, c, oh, ow))
    for i, j, p, q in np.ndindex(n, c, oh, ow):
        y[i, j, p, q] = x[i, j, p * sh:p * sh + kh, q * sw:q * sw + kw].astype(np.float64).mean()
    return y


HAND = [((2, 2, 5, 6), 2, None), ((1, 2, 5, 5), 3, 1), ((2, 1, 7, 6), (2, 3), (2, 1)),
        ((1, 1, 4, 4), 4, None)]


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,k,s", HAND)
def test_maxpool_against_textbook_loop(rng, impl, shape, k, s, dtype):
    x = np.round(randn(rng, shape, dtype, scale=2.0))  # many ties
    x.reshape(-1)[3] = np.nan  # propagates as the maximum of its windows
    with fastnn.config_context(check_finite=False):
        y, am = impl.maxpool2d_forward(x, k, s)
    want_y, want_am, _ = _naive_maxpool(x, k, s)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(am, want_am)
    assert np.isnan(y).any()
    # backward: dy added at argmax (overlaps add up)
    dy = randn(rng, y.shape, dtype)
    dx = impl.maxpool2d_backward(dy, am, x.shape)
    want = np.zeros(x.shape)
    n, c, h, w = x.shape
    for i, j, p, q in np.ndindex(*y.shape):
        want[i, j, am[i, j, p, q] // w, am[i, j, p, q] % w] += dy[i, j, p, q]
    np.testing.assert_allclose(dx, want, rtol=1e-6, atol=1e-6)


# 2x2 windows with stride 2 take the maxpool2x2 family in float32 (src_c/pool_variants.h;
# every level this CPU runs, through the module's isa fixture) when
# an output row has at most 16 elements: full rows of 16, short rows with a column and a
# row left over, the LeNet's maps, and 17 outputs (the compiler-vectorized leaf).
POOL2_SHAPES = [(2, 3, 32, 32), (1, 2, 9, 31), (3, 2, 8, 8), (2, 16, 24, 24), (1, 2, 3, 2),
                (2, 2, 6, 34), (2, 1, 35, 35)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", POOL2_SHAPES, ids=lambda sh: "x".join(map(str, sh)))
def test_maxpool_2x2_stride_2_against_textbook_loop(rng, shape, dtype):
    x = np.round(randn(rng, shape, dtype, scale=2.0))  # many ties
    flat = x.reshape(-1)
    flat[5::53] = np.nan  # NaNs in every position of a window, some windows two
    flat[6::97] = np.nan
    flat[1::11] = -0.0
    with fastnn.config_context(check_finite=False):
        y, am = ops.maxpool2d_forward(x, 2)
    want_y, want_am, _ = _naive_maxpool(x, 2, None)
    np.testing.assert_array_equal(am, want_am)
    np.testing.assert_array_equal(y.view(np.uint8), want_y.view(np.uint8))  # NaNs, -0.0
    dy = randn(rng, y.shape, dtype)
    dy.reshape(-1)[::3] = -0.0
    dx = ops.maxpool2d_backward(dy, am, x.shape)
    dx_r = reference.maxpool2d_backward(dy, am, x.shape)
    np.testing.assert_array_equal(dx.view(np.uint8), dx_r.view(np.uint8))  # +0.0 + -0.0


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_maxpool_2x2_backward_takes_any_argmax(rng, dtype):
    # argmax is an input of the backward: an index outside its output's 2x2 block (here
    # two outputs sending to the same element) must still land where it points
    x = randn(rng, (2, 3, 12, 12), dtype)
    _, am = ops.maxpool2d_forward(x, 2)
    am = am.copy()
    am[1, 2, 3, 4] = 0
    am[1, 2, 0, 0] = 0
    am[0, 1, 5, 5] = 143
    dy = randn(rng, am.shape, dtype)
    dx = ops.maxpool2d_backward(dy, am, x.shape)
    np.testing.assert_array_equal(dx, reference.maxpool2d_backward(dy, am, x.shape))
    assert dx[1, 2, 0, 0] == (dy[1, 2, 3, 4].astype(np.float64) + dy[1, 2, 0, 0]).astype(dtype)
    assert dx[0, 1, 11, 11] == dy[0, 1, 5, 5]


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape,k,s", HAND)
def test_avgpool_against_textbook_loop(rng, impl, shape, k, s, dtype):
    x = randn(rng, shape, dtype)
    y = impl.avgpool2d_forward(x, k, s)
    np.testing.assert_allclose(y, _naive_avgpool(x, k, s), rtol=1e-6, atol=1e-6)
    dy = randn(rng, y.shape, dtype)
    dx = impl.avgpool2d_backward(dy, x.shape, k, s)
    (kh, kw), (sh, sw) = _pair(k), _pair(k if s is None else s)
    want = np.zeros(x.shape)
    for i, j, p, q in np.ndindex(*y.shape):
        want[i, j, p * sh:p * sh + kh, q * sw:q * sw + kw] += dy[i, j, p, q] / (kh * kw)
    np.testing.assert_allclose(dx, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_global_avgpool_against_textbook_loop(rng, impl, dtype):
    x = randn(rng, (2, 3, 4, 5), dtype)
    y = impl.global_avgpool_forward(x)
    for i, j in np.ndindex(2, 3):
        assert y[i, j] == pytest.approx(float(np.mean(x[i, j].astype(np.float64))), rel=1e-6)
    dy = randn(rng, (2, 3), dtype)
    dx = impl.global_avgpool_backward(dy, x.shape)
    for i, j in np.ndindex(2, 3):
        np.testing.assert_allclose(dx[i, j], np.full((4, 5), dy[i, j] / 20), rtol=1e-6)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_first_nan_wins_and_ties_take_the_first(impl):
    x = np.array([[[[1.0, 5.0, 5.0], [np.nan, 2.0, 1.0], [5.0, np.nan, 9.0]]]])
    with fastnn.config_context(check_finite=False):
        y, am = impl.maxpool2d_forward(x, 2, 1)
    # windows: (1 5 nan 2) -> the NaN; (5 5 2 1) -> the first 5; (nan 2 5 nan) -> the
    # first NaN; (2 1 nan 9) -> the NaN, although 9 follows
    np.testing.assert_array_equal(am[0, 0], [[3, 1], [3, 7]])
    np.testing.assert_array_equal(y[0, 0], [[np.nan, 5.0], [np.nan, np.nan]])
    y, am = impl.maxpool2d_forward(np.zeros((1, 1, 3, 3)), 3)
    assert am[0, 0, 0, 0] == 0  # all equal: the first


# ------------------------------------------------------------------ gradients


def _numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("k,s", [(2, None), (3, 1), ((2, 3), (1, 2))])
def test_pool_gradients_by_finite_differences(rng, impl, k, s):
    # distinct values far apart: no ties, so max pooling is differentiable here
    x = rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6).astype(np.float64) * 0.1
    y, am = impl.maxpool2d_forward(x, k, s)
    dy = rng.standard_normal(y.shape)
    num = _numeric_grad(lambda v: float(np.sum(dy * impl.maxpool2d_forward(v, k, s)[0])), x)
    np.testing.assert_allclose(impl.maxpool2d_backward(dy, am, x.shape), num, atol=1e-7)
    x = rng.standard_normal((2, 2, 5, 6))
    dy = rng.standard_normal(impl.avgpool2d_forward(x, k, s).shape)
    num = _numeric_grad(lambda v: float(np.sum(dy * impl.avgpool2d_forward(v, k, s))), x)
    np.testing.assert_allclose(impl.avgpool2d_backward(dy, x.shape, k, s), num, atol=1e-7)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_global_avgpool_gradient_by_finite_differences(rng, impl):
    x = rng.standard_normal((2, 3, 2, 3))
    dy = rng.standard_normal((2, 3))
    num = _numeric_grad(lambda v: float(np.sum(dy * impl.global_avgpool_forward(v))), x)
    np.testing.assert_allclose(impl.global_avgpool_backward(dy, x.shape), num, atol=1e-8)


# ------------------------------------------------------------------ threads


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("k,s", [(2, None), (3, 2), (3, 1), ((2, 3), (1, 2))])
def test_bitwise_across_threads(rng, restore_threads, k, s, dtype):
    # 4 * 97 planes of 24 x 24: > 3 * GRAIN_CHEAP values, so 3 threads get a share each;
    # a plane count no team size divides
    x = randn(rng, (4, 97, 24, 24), dtype)
    assert x.size > 3 * GRAIN_CHEAP
    y0, a0 = ops.maxpool2d_forward(x, k, s)
    dy = randn(rng, y0.shape, dtype)
    g = randn(rng, (4, 97), dtype)

    def run():
        y, am = ops.maxpool2d_forward(x, k, s)
        return (y, am, ops.maxpool2d_backward(dy, am, x.shape), ops.avgpool2d_forward(x, k, s),
                ops.avgpool2d_backward(dy, x.shape, k, s), ops.global_avgpool_forward(x),
                ops.global_avgpool_backward(g, x.shape))

    fastnn.set_num_threads(1)
    one = run()
    for nt in (2, 3):
        fastnn.set_num_threads(nt)
        for a, b in zip(one, run()):
            _same(a, b, f"1 vs {nt} threads")


# ------------------------------------------------------------------ bad input


def raises_same(call, exc, match):
    """Both twins raise `exc` with the same message, matching `match`."""
    msgs = []
    for impl in IMPLS:
        with pytest.raises(exc, match=match) as info:
            call(impl)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1], msgs


X = np.zeros((2, 3, 4, 4))


@pytest.mark.parametrize("call,exc,match", [
    (lambda M: M.maxpool2d_forward(np.zeros((2, 3, 2, 2)), 3), ValueError,
     re.escape("pool window (3, 3) is larger than the input (2, 2)")),
    (lambda M: M.avgpool2d_forward(X, (2, 5)), ValueError,
     re.escape("pool window (2, 5) is larger than the input (4, 4)")),
    (lambda M: M.maxpool2d_forward(X, 0), ValueError, "pool_size must be >= 1"),
    (lambda M: M.maxpool2d_forward(X, (2, -1)), ValueError, "pool_size must be >= 1"),
    (lambda M: M.avgpool2d_forward(X, 2, 0), ValueError, "stride must be >= 1"),
    (lambda M: M.maxpool2d_forward(X, 2, (1, 0)), ValueError, "stride must be >= 1"),
    (lambda M: M.maxpool2d_forward(X, 2.0), TypeError, "pool_size must be an int or a pair"),
    (lambda M: M.maxpool2d_forward(X, (2, 2, 2)), TypeError, "pool_size must be an int or a pair"),
    (lambda M: M.maxpool2d_forward(X, True), TypeError, "pool_size must be an int or a pair"),
    (lambda M: M.avgpool2d_forward(X, 2, "1"), TypeError, "stride must be an int or a pair"),
    (lambda M: M.maxpool2d_forward(np.zeros((3, 4, 4)), 2), ValueError, "x must be 4-D"),
    (lambda M: M.maxpool2d_forward(X.astype(np.int64), 2), TypeError, "x must have dtype"),
    (lambda M: M.maxpool2d_forward(X, 2, out=np.empty((2, 3, 3, 3))), ValueError,
     re.escape("out must have shape (2, 3, 2, 2), got (2, 3, 3, 3)")),
    (lambda M: M.maxpool2d_forward(X, 2, argmax=np.empty((2, 3, 2, 2), np.int32)), TypeError,
     "argmax must have dtype"),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), np.zeros((2, 3, 2, 2), np.int32),
                                    X.shape), TypeError, "argmax must have dtype .* got int32"),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), [[0]], X.shape), TypeError,
     "argmax must be a numpy.ndarray"),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), np.zeros((2, 3, 2, 1), np.intp),
                                    X.shape), ValueError,
     re.escape("argmax must have shape (2, 3, 2, 2), got (2, 3, 2, 1)")),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), np.full((2, 3, 2, 2), 16, np.intp),
                                    X.shape), ValueError,
     re.escape("argmax has index 16 outside [0, 16)")),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), np.full((2, 3, 2, 2), -1, np.intp),
                                    X.shape), ValueError, "argmax has index -1 outside"),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), np.zeros((2, 3, 2, 2), np.intp),
                                    (2, 4, 4, 4)), ValueError, "which no pooling of an input"),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 5, 2)), np.zeros((2, 3, 5, 2), np.intp),
                                    X.shape), ValueError, "which no pooling"),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), np.zeros((2, 3, 2, 2), np.intp),
                                    (2, 3, 4)), TypeError, "x_shape must be a tuple"),
    (lambda M: M.maxpool2d_backward(np.zeros((2, 3, 2, 2)), np.zeros((2, 3, 2, 2), np.intp),
                                    (2, 3, -4, 4)), ValueError, "x_shape must not have negative"),
    (lambda M: M.avgpool2d_backward(np.zeros((2, 3, 3, 3)), X.shape, 2), ValueError,
     re.escape("dy must have shape (2, 3, 2, 2), got (2, 3, 3, 3)")),
    (lambda M: M.avgpool2d_backward(np.zeros((2, 3, 2, 2)), X.shape, 5), ValueError,
     "larger than the input"),
    (lambda M: M.avgpool2d_backward(np.zeros((2, 3, 2, 2)), X.shape, 2,
                                    out=np.zeros((2, 3, 4, 4), np.float32)), TypeError,
     "out must have dtype float64, got float32"),
    (lambda M: M.global_avgpool_forward(np.zeros((2, 3))), ValueError,
     "at least one spatial axis"),
    (lambda M: M.global_avgpool_forward(np.zeros((2, 3, 0, 4))), ValueError,
     "empty spatial extent"),
    (lambda M: M.global_avgpool_forward(np.zeros((2, 3, 4)), out=np.zeros((3, 2))), ValueError,
     re.escape("out must have shape (2, 3), got (3, 2)")),
    (lambda M: M.global_avgpool_backward(np.zeros((2, 3)), (2, 3)), ValueError,
     "at least one spatial axis"),
    (lambda M: M.global_avgpool_backward(np.zeros((2, 4)), (2, 3, 5)), ValueError,
     re.escape("dy must have shape (2, 3), got (2, 4)")),
    (lambda M: M.global_avgpool_backward(np.zeros((2, 3)), 5), TypeError, "x_shape must be"),
    (lambda M: M.global_avgpool_backward(np.zeros((2, 3, 1)), (2, 3, 1)), ValueError,
     "dy must be 2-D"),
])
def test_bad_input(call, exc, match):
    raises_same(call, exc, match)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_nan_rejected_unless_check_finite_is_off(impl):
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinity"):
        impl.maxpool2d_forward(x, 2)
    with fastnn.config_context(check_finite=False):
        y, am = impl.maxpool2d_forward(x, 2)
    assert np.isnan(y[0, 0, 0, 0]) and am[0, 0, 0, 0] == 3


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_backward_out_may_not_alias_dy(impl):
    """A 1x1 pool keeps the shape, so out=dy is possible; the kernels zero out first."""
    dy = np.ones((1, 2, 3, 3))
    with pytest.raises(ValueError, match="out must not share memory with dy"):
        impl.avgpool2d_backward(dy, dy.shape, 1, out=dy)
    _, am = impl.maxpool2d_forward(dy, 1)
    with pytest.raises(ValueError, match="out must not share memory with dy"):
        impl.maxpool2d_backward(dy, am, dy.shape, out=dy)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_empty_batches(impl):
    x = np.zeros((0, 3, 5, 5), np.float32)
    y, am = impl.maxpool2d_forward(x, 2)
    assert y.shape == am.shape == (0, 3, 2, 2)
    assert impl.maxpool2d_backward(y, am, x.shape).shape == x.shape
    assert impl.avgpool2d_backward(y, x.shape, 2).shape == x.shape
    assert impl.global_avgpool_forward(x).shape == (0, 3)
    # an output of zero rows (dy empty) still zeroes dx
    dx = impl.maxpool2d_backward(np.zeros((1, 1, 0, 2)), np.zeros((1, 1, 0, 2), np.intp),
                                 (1, 1, 3, 3), out=np.full((1, 1, 3, 3), np.nan))
    np.testing.assert_array_equal(dx, 0)


# ---------------------------------------------------------- average over time


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 1, 7), (1, 9, 1), (5, 7, 3), (0, 4, 3),
                                   (2, 3, 0), (4, 13, 300), (3, 5, 517), (130, 6, 33)])
def test_time_avgpool_twins(rng, shape, dtype):
    """Bit for bit (both sum in float64 in step order), and each element the mean of its
    column written out as a Python loop over the steps (math.fsum: the exact sum)."""
    import math

    x = randn(rng, shape, dtype, scale=3.0)
    y_n = ops.time_avgpool_forward(x)
    y_r = reference.time_avgpool_forward(x)
    _same(y_n, y_r, "y")
    n, t, f = shape
    assert y_n.shape == (n, f)
    exact = np.array([[math.fsum(float(x[i, s, j]) for s in range(t)) / t for j in range(f)]
                      for i in range(n)]).reshape(n, f)
    np.testing.assert_allclose(y_n, exact, rtol=0, atol=4 * float(np.finfo(dtype).eps) * 3.0 * (1 + t))
    dy = randn(rng, (n, f), dtype)
    dx_n = ops.time_avgpool_backward(dy, t)
    _same(dx_n, reference.time_avgpool_backward(dy, t), "dx")
    want = (dy.astype(np.float64) / t).astype(dtype)
    for s in range(t):
        np.testing.assert_array_equal(dx_n[:, s], want)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_time_avgpool_is_not_the_channels_first_global_average(rng, impl):
    """(N, T, F) -> (N, F): the middle axis goes, unlike global_avgpool's (N, C, S) -> (N, C)."""
    x = randn(rng, (2, 5, 3), np.float64)
    np.testing.assert_allclose(impl.time_avgpool_forward(x), x.mean(axis=1), rtol=1e-14)
    assert impl.global_avgpool_forward(x).shape == (2, 5)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_time_avgpool_out_and_bad_input(rng, impl):
    x = randn(rng, (2, 4, 3), np.float32)
    y = np.full((2, 3), np.nan, np.float32)
    assert impl.time_avgpool_forward(x, out=y) is y
    dx = np.full_like(x, np.nan)
    assert impl.time_avgpool_backward(y, 4, out=dx) is dx
    np.testing.assert_array_equal(dx, np.broadcast_to((y / np.float32(4))[:, None], x.shape))
    with pytest.raises(ValueError, match="x must be 3-D"):
        impl.time_avgpool_forward(x[0])
    with pytest.raises(ValueError, match="at least one step"):
        impl.time_avgpool_forward(np.zeros((2, 0, 3), np.float32))
    with pytest.raises(ValueError, match="steps must be >= 1"):
        impl.time_avgpool_backward(y, 0)
    with pytest.raises(ValueError, match="out"):
        impl.time_avgpool_backward(y, 5, out=dx)
    with pytest.raises(TypeError, match="float32 or float64"):
        impl.time_avgpool_forward(x.astype(np.int32))


def test_time_avgpool_does_not_depend_on_the_thread_count(rng, restore_threads):
    x = randn(rng, (64, 9, 70), np.float32)
    dy = randn(rng, (64, 70), np.float32)
    fastnn.set_num_threads(1)
    y1, d1 = ops.time_avgpool_forward(x), ops.time_avgpool_backward(dy, 9)
    fastnn.set_num_threads(2)
    _same(ops.time_avgpool_forward(x), y1)
    _same(ops.time_avgpool_backward(dy, 9), d1)
