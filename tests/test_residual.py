"""Residual add: native vs numpy twin (bit-identical: one rounding per element), in
place, thread-count independence, bad input."""

import re

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, TWINS, randn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]
SHAPES = [(), (1,), (7,), (3, 5), (0, 4), (2, 3, 5, 7), (2 * GRAIN_CHEAP + 1001,)]


def _same(a, b, what=""):
    assert a.dtype == b.dtype and a.shape == b.shape, what
    np.testing.assert_array_equal(a, b, err_msg=what, strict=True)


def test_kernel_list():
    assert KERNELS["residual"] == ["residual_add"]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_twins_bitwise_and_by_hand(rng, shape, dtype):
    a, b = randn(rng, shape, dtype), randn(rng, shape, dtype, scale=1e-3)
    out = ops.residual_add(a, b)
    _same(out, reference.residual_add(a, b))
    _same(out, a + b)  # numpy's own add: IEEE, one rounding per element


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_by_hand_loop(impl, dtype):
    a = np.array([[1.5, -2.0, 1e30], [0.1, 0.2, -0.0]], dtype)
    b = np.array([[2.25, 2.0, -1e30], [0.2, 0.1, 0.0]], dtype)
    out = impl.residual_add(a, b)
    for i in np.ndindex(a.shape):
        assert out[i] == dtype(a[i] + b[i])


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_out_and_in_place(rng, impl):
    a, b = randn(rng, (33, 7), np.float32), randn(rng, (33, 7), np.float32)
    want = a + b
    o = np.full_like(a, np.nan)
    assert impl.residual_add(a, b, out=o) is o
    _same(o, want)
    a1, b1 = a.copy(), b.copy()
    assert impl.residual_add(a1, b, out=a1) is a1  # out may be a
    assert impl.residual_add(a, b1, out=b1) is b1  # or b
    _same(a1, want)
    _same(b1, want)


def test_bitwise_across_threads(rng, restore_threads):
    a, b = randn(rng, (3 * GRAIN_CHEAP + 17,), np.float64), randn(rng, (3 * GRAIN_CHEAP + 17,),
                                                                 np.float64)
    fastnn.set_num_threads(1)
    one = ops.residual_add(a, b)
    for nt in (2, 3):
        fastnn.set_num_threads(nt)
        _same(ops.residual_add(a, b), one, f"1 vs {nt} threads")


def raises_same(call, exc, match):
    msgs = []
    for impl in IMPLS:
        with pytest.raises(exc, match=match) as info:
            call(impl)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1], msgs


Z = np.zeros((3, 4))


@pytest.mark.parametrize("call,exc,match", [
    (lambda M: M.residual_add(Z, np.zeros((4, 3))), ValueError,
     re.escape("b must have shape (3, 4), got (4, 3)")),
    (lambda M: M.residual_add(Z, np.zeros(4)), ValueError, re.escape("b must have shape (3, 4)")),
    (lambda M: M.residual_add(Z, np.zeros((3, 4), np.float32)), TypeError,
     "b has dtype float32 but a has dtype float64"),
    (lambda M: M.residual_add(Z.astype(np.int64), Z), TypeError, "a must have dtype float32"),
    (lambda M: M.residual_add(Z, Z.tolist()), TypeError, "b must be a numpy.ndarray, got list"),
    (lambda M: M.residual_add(Z, np.zeros((4, 3)).T), ValueError, "b must be C-contiguous"),
    (lambda M: M.residual_add(Z, Z, out=np.zeros((3, 4), np.float32)), TypeError,
     "out must have dtype float64, got float32"),
    (lambda M: M.residual_add(Z, Z, out=np.zeros(12)), ValueError,
     re.escape("out must have shape (3, 4), got (12,)")),
    (lambda M: M.residual_add(np.full((3, 4), np.nan), Z), ValueError,
     "a contains NaN or infinity"),
])
def test_bad_input(call, exc, match):
    raises_same(call, exc, match)
