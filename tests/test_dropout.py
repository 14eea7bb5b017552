"""Dropout kernels: native vs numpy twin (bit-identical masks), statistics, thread count.

The twins promise bit-identical masks (a counter-based hash of (seed, offset + i)), so
the comparisons are exact; the mask is also recomputed by hand with splitmix64 on
Python integers (second half of this file)."""

import math

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, TWINS, randn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

DTYPES = [np.float32, np.float64]
SHAPES = [(1,), (7,), (33, 5), (257, 3), (300, 301)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
def test_forward_twins_bit_identical(dtype, shape, rate):
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    y1, m1 = ops.dropout_forward(x, rate, 2**63 + 11, offset=12345)
    y2, m2 = reference.dropout_forward(x, rate, 2**63 + 11, offset=12345)
    assert y1.dtype == m1.dtype == dtype
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(y1, y2)
    kept = m1 != 0
    np.testing.assert_array_equal(m1[kept], dtype(1 / (1 - rate)))
    np.testing.assert_array_equal(y1, x * m1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_twins(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 70)).astype(dtype)
    dy = rng.standard_normal((64, 70)).astype(dtype)
    _, mask = ops.dropout_forward(x, 0.25, 7)
    np.testing.assert_array_equal(ops.dropout_backward(dy, mask), reference.dropout_backward(dy, mask))
    np.testing.assert_array_equal(ops.dropout_backward(dy, mask), dy * mask)


def test_drop_fraction_and_fresh_masks_per_offset():
    x = np.ones(200_000, np.float32)
    _, m0 = ops.dropout_forward(x, 0.3, 99, offset=0)
    _, m1 = ops.dropout_forward(x, 0.3, 99, offset=x.size)
    _, m0_again = ops.dropout_forward(x, 0.3, 99, offset=0)
    for m in (m0, m1):
        assert abs((m == 0).mean() - 0.3) < 0.005  # ~4.5 sigma at n = 2e5
        assert abs(m.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation
    np.testing.assert_array_equal(m0, m0_again)
    assert (m0 != m1).mean() > 0.3  # a new offset gives a new mask
    # offsets compose: one call over 2n elements = two calls of n
    _, both = ops.dropout_forward(np.ones(2 * x.size, np.float32), 0.3, 99, offset=0)
    np.testing.assert_array_equal(both, np.concatenate([m0, m1]))


def test_mask_independent_of_thread_count(restore_threads):
    x = np.ones((400, 400), np.float64)
    fastnn.set_num_threads(1)
    _, m1 = ops.dropout_forward(x, 0.5, 5, offset=3)
    fastnn.set_num_threads(2)
    _, m2 = ops.dropout_forward(x, 0.5, 5, offset=3)
    np.testing.assert_array_equal(m1, m2)


@pytest.mark.parametrize("impl", [ops, reference], ids=["ops", "reference"])
@pytest.mark.parametrize("kwargs, exc", [
    ({"rate": 1.0}, ValueError), ({"rate": -0.1}, ValueError), ({"seed": -1}, ValueError),
    ({"offset": -5}, ValueError), ({"seed": 1.5}, TypeError),
])
def test_bad_arguments(impl, kwargs, exc):
    args = {"rate": 0.5, "seed": 1, "offset": 0, **kwargs}
    with pytest.raises(exc):
        impl.dropout_forward(np.ones(4, np.float32), args["rate"], args["seed"], offset=args["offset"])


# ------------------------------------------------- twins over shapes, by hand

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]
TWIN_SHAPES = [(), (1,), (7,), (33, 7), (257,), (3, 7, 33), (2 * GRAIN_CHEAP + 1001,)]
RATES = [0.0, 0.1, 0.5, 0.9, 0.999]
U64 = 2**64


def test_kernel_list():
    assert KERNELS["dropout"] == ["dropout_forward", "dropout_backward"]


def _same(a, b, what=""):
    assert a.dtype == b.dtype and a.shape == b.shape, what
    np.testing.assert_array_equal(a, b, err_msg=what, strict=True)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("shape", TWIN_SHAPES)
def test_forward_backward_twins_bitwise(rng, shape, rate, dtype):
    x = randn(rng, shape, dtype)
    dy = randn(rng, shape, dtype)
    seed, offset = 12345, 678
    y_n, m_n = ops.dropout_forward(x, rate, seed, offset)
    y_r, m_r = reference.dropout_forward(x, rate, seed, offset)
    _same(m_n, m_r, "mask")
    _same(y_n, y_r, "y")
    _same(ops.dropout_backward(dy, m_n), reference.dropout_backward(dy, m_r), "dx")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("seed,offset", [(0, 0), (1, 2**32 + 5), (2**63, 17), (U64 - 1, 0),
                                         (987654321, U64 - 10)])
def test_seed_and_offset_extremes_twins(seed, offset, dtype):
    x = np.ones(7, dtype)
    y_n, m_n = ops.dropout_forward(x, 0.5, seed, offset)
    y_r, m_r = reference.dropout_forward(x, 0.5, seed, offset)
    _same(m_n, m_r)
    _same(y_n, y_r)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_largest_offset_is_accepted(impl):
    """offset may be anything below 2**64 (validation says so); the counter offset + i + 1
    then wraps modulo 2**64 (splitmix64 state arithmetic)."""
    x = np.ones(5)
    _, mask = impl.dropout_forward(x, 0.5, 42, U64 - 1)
    np.testing.assert_array_equal(mask, _hand_mask(42, U64 - 1, 5, 0.5, np.float64))


# ------------------------------------------------------------------ by hand

_GOLDEN, _M1, _M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _splitmix64(state):
    """The output of splitmix64 for one state value (Python integers mod 2**64)."""
    z = state % U64
    z = ((z ^ (z >> 30)) * _M1) % U64
    z = ((z ^ (z >> 27)) * _M2) % U64
    return z ^ (z >> 31)


def _hand_mask(seed, offset, n, rate, dtype):
    """Element i: the (offset + i + 1)-th splitmix64 output of `seed`; its top 24 bits
    give u in [0, 1); kept (scaled by 1 / (1 - rate)) when u >= rate."""
    scale = dtype(1.0 / (1.0 - rate))
    out = []
    for i in range(n):
        u = (_splitmix64(seed + ((offset + i + 1) % U64) * _GOLDEN) >> 40) / 2.0**24
        out.append(scale if u >= rate else dtype(0))
    return np.array(out, dtype=dtype)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.75])
@pytest.mark.parametrize("seed,offset", [(0, 0), (7, 1000), (2**64 - 1, 3), (2**40, U64 - 40)])
def test_mask_matches_splitmix64_by_hand(impl, rate, seed, offset, dtype):
    n = 64
    x = np.linspace(-3, 3, n).astype(dtype)
    y, mask = impl.dropout_forward(x, rate, seed, offset)
    want = _hand_mask(seed, offset, n, rate, dtype)
    np.testing.assert_array_equal(mask, want)
    np.testing.assert_array_equal(y, x * want)
    assert y.dtype == dtype and mask.dtype == dtype


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_keep_fraction_and_scale(impl, rate):
    n = 200_000
    x = np.ones(n, np.float32)
    y, mask = impl.dropout_forward(x, rate, 2024, 0)
    kept = mask != 0
    p = 1 - rate
    sigma = math.sqrt(n * p * (1 - p))
    assert abs(kept.sum() - n * p) < 6 * sigma
    assert np.all(mask[kept] == np.float32(1 / (1 - rate)))
    # inverted dropout keeps the expectation
    assert abs(float(y.astype(np.float64).mean()) - 1.0) < 6 * math.sqrt(rate / p / n)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_offset_selects_a_window_of_one_stream(impl):
    """Masks at offset k are the masks at offset 0 shifted by k: a layer that advances
    the offset never reuses a decision."""
    x = np.ones(1000)
    _, full = impl.dropout_forward(x, 0.5, 99, 0)
    for k in (1, 17, 500):
        _, part = impl.dropout_forward(np.ones(1000 - k), 0.5, 99, k)
        np.testing.assert_array_equal(part, full[k:])


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_deterministic_and_seed_dependent(impl):
    x = np.ones(4096)
    a = impl.dropout_forward(x, 0.5, 1, 0)[1]
    b = impl.dropout_forward(x, 0.5, 1, 0)[1]
    c = impl.dropout_forward(x, 0.5, 2, 0)[1]
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.3


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rate_zero_is_identity(rng, impl, dtype):
    x = randn(rng, (33, 7), dtype)
    y, mask = impl.dropout_forward(x, 0.0, 5)
    np.testing.assert_array_equal(y, x)
    assert np.all(mask == 1)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_out_mask_given_and_in_place(rng, dtype):
    x = randn(rng, (257, 3), dtype)
    dy = randn(rng, (257, 3), dtype)
    results = []
    for impl in IMPLS:
        out, mask = np.full_like(x, np.nan), np.full_like(x, np.nan)
        y, m = impl.dropout_forward(x, 0.4, 3, 11, out=out, mask=mask)
        assert y is out and m is mask
        xi = x.copy()
        y2, _ = impl.dropout_forward(xi, 0.4, 3, 11, out=xi)
        assert y2 is xi
        _same(y2, y)
        o = np.full_like(dy, np.nan)
        dx = impl.dropout_backward(dy, m, out=o)
        assert dx is o
        g = dy.copy()
        dx2 = impl.dropout_backward(g, m, out=g)
        assert dx2 is g
        _same(dx2, dx)
        np.testing.assert_array_equal(dx, dy * m)
        results.append((y, m, dx))
    for a, b in zip(*results):
        _same(a, b)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_backward_is_the_gradient(rng, impl):
    """dropout_backward(dy, mask) == d/dx sum(dy * dropout_forward(x)) (float64, the
    mask being fixed by seed and offset)."""
    x, dy = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    _, mask = impl.dropout_forward(x, 0.3, 8, 2)
    dx = impl.dropout_backward(dy, mask)
    h = 1e-6
    num = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        num[i] = (np.sum(dy * impl.dropout_forward(xp, 0.3, 8, 2)[0])
                  - np.sum(dy * impl.dropout_forward(xm, 0.3, 8, 2)[0])) / (2 * h)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_empty(dtype):
    for impl in IMPLS:
        y, m = impl.dropout_forward(np.empty((0, 3), dtype), 0.5, 1)
        assert y.shape == m.shape == (0, 3) and y.dtype == m.dtype == dtype
        assert impl.dropout_backward(np.empty(0, dtype), np.empty(0, dtype)).shape == (0,)
