"""Dropout kernels: native vs numpy twin (bit-identical masks), statistics, thread count."""

import numpy as np
import pytest

import fastnn
from fastnn import ops, reference

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
