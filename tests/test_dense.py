"""dense_forward / dense_backward: fastnn.ops.dense against fastnn.reference.dense.

Every output is a matrix product (or a column sum), so the twins are compared with the
error bound of a k-term sum (conftest.assert_twins_close, `terms`/`magnitude`).
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import FLOAT_DTYPES, assert_twins_close, randn
from fastnn import ops, reference

SHAPES = [  # (n, in, units)
    (1, 1, 1),
    (7, 33, 5),
    (33, 7, 257),
    (257, 33, 7),
    (1, 257, 33),
    (600, 300, 256),  # bias broadcast and column sums above the parallel grain
]


def _abs64(a):
    return np.abs(a).astype(np.float64)


def _forward_check(x, w, b, out=None, what=""):
    out_n = None if out is None else out.copy()
    out_r = None if out is None else out.copy()
    got = ops.dense_forward(x, w, b, out=out_n)
    want = reference.dense_forward(x, w, b, out=out_r)
    if out is not None:
        assert got is out_n and want is out_r
    assert got.dtype == want.dtype == x.dtype
    mag = _abs64(x) @ _abs64(w) + (0 if b is None else _abs64(b))
    assert_twins_close(got, want, terms=x.shape[1] + 1, magnitude=mag, err_msg=what)


def _backward_check(x, w, dy, *, dx0=None, dw0=None, db0=None, compute_dx=True,
                    compute_db=True, accumulate=False, what=""):
    def run(impl):
        bufs = [None if a is None else a.copy() for a in (dx0, dw0, db0)]
        res = impl.dense_backward(x, w, dy, dx=bufs[0], dw=bufs[1], db=bufs[2],
                                  compute_dx=compute_dx, compute_db=compute_db,
                                  accumulate=accumulate)
        assert isinstance(res, tuple) and len(res) == 3
        for r, buf in zip(res, bufs):
            if buf is not None and r is not None:
                assert r is buf, "a passed output array must be the one returned"
        return res

    (dx_n, dw_n, db_n), (dx_r, dw_r, db_r) = run(ops), run(reference)
    for r in (dx_n, dw_n, db_n, dx_r, dw_r, db_r):
        assert r is None or r.dtype == x.dtype, "gradients keep the input dtype"
    n, k = x.shape
    m = w.shape[1]
    if compute_dx:
        assert_twins_close(dx_n, dx_r, terms=m, magnitude=_abs64(dy) @ _abs64(w).T,
                           err_msg=f"{what} dx")
    else:
        assert dx_n is None and dx_r is None
    acc_w = _abs64(dw0) if accumulate else 0
    assert_twins_close(dw_n, dw_r, terms=n + 1, magnitude=_abs64(x).T @ _abs64(dy) + acc_w,
                       err_msg=f"{what} dw")
    if compute_db:
        acc_b = _abs64(db0) if accumulate else 0
        assert_twins_close(db_n, db_r, terms=n + 1, magnitude=_abs64(dy).sum(axis=0) + acc_b,
                           err_msg=f"{what} db")
    else:
        assert db_n is None and db_r is None
    return (dx_n, dw_n, db_n), (dx_r, dw_r, db_r)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n,k,m", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("given_out", [False, True])
def test_dense_forward_twins(rng, n, k, m, bias, given_out, dtype):
    x, w = randn(rng, (n, k), dtype), randn(rng, (k, m), dtype)
    b = randn(rng, (m,), dtype) if bias else None
    out = np.full((n, m), np.nan, dtype=dtype) if given_out else None
    _forward_check(x, w, b, out, what=f"forward {n}x{k}x{m}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n,k,m", SHAPES)
@pytest.mark.parametrize("compute_dx,compute_db", list(itertools.product([True, False], repeat=2)))
def test_dense_backward_twins(rng, n, k, m, compute_dx, compute_db, dtype):
    x, w, dy = randn(rng, (n, k), dtype), randn(rng, (k, m), dtype), randn(rng, (n, m), dtype)
    _backward_check(x, w, dy, compute_dx=compute_dx, compute_db=compute_db,
                    what=f"backward {n}x{k}x{m}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n,k,m", [(7, 33, 5), (257, 33, 7), (600, 300, 256)])
@pytest.mark.parametrize("compute_dx,compute_db", list(itertools.product([True, False], repeat=2)))
def test_dense_backward_accumulate(rng, n, k, m, compute_dx, compute_db, dtype):
    """accumulate=True adds into dw/db; dx (given, pre-filled with garbage) is overwritten."""
    x, w, dy = randn(rng, (n, k), dtype), randn(rng, (k, m), dtype), randn(rng, (n, m), dtype)
    dw0, db0 = randn(rng, (k, m), dtype), randn(rng, (m,), dtype)
    dx0 = np.full((n, k), 7.0, dtype=dtype)
    (dx_n, dw_n, db_n), _ = _backward_check(
        x, w, dy, dx0=dx0 if compute_dx else None, dw0=dw0, db0=db0 if compute_db else None,
        compute_dx=compute_dx, compute_db=compute_db, accumulate=True, what="accumulate")
    # Independent of the twins: accumulation is dw0 + x^T dy.
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    np.testing.assert_allclose(dw_n, dw0 + x64.T @ dy64, rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-3 if dtype == np.float32 else 1e-10)
    if compute_db:
        np.testing.assert_allclose(db_n, db0 + dy64.sum(axis=0),
                                   rtol=1e-4 if dtype == np.float32 else 1e-10,
                                   atol=1e-3 if dtype == np.float32 else 1e-10)
    if compute_dx:
        np.testing.assert_allclose(dx_n, dy64 @ w.astype(np.float64).T,
                                   rtol=1e-4 if dtype == np.float32 else 1e-10,
                                   atol=1e-3 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dense_backward_accumulate_twice_sums(rng, dtype):
    """Two accumulating calls give the sum of both batches' gradients (a shared weight)."""
    k, m = 9, 5
    w = randn(rng, (k, m), dtype)
    xs = [randn(rng, (n, k), dtype) for n in (4, 7)]
    dys = [randn(rng, (n, m), dtype) for n in (4, 7)]
    for impl in (ops, reference):
        dw, db = np.zeros((k, m), dtype), np.zeros(m, dtype)
        for x, dy in zip(xs, dys):
            impl.dense_backward(x, w, dy, dw=dw, db=db, accumulate=True, compute_dx=False)
        x_all, dy_all = np.concatenate(xs).astype(np.float64), np.concatenate(dys).astype(np.float64)
        rt = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(dw, x_all.T @ dy_all, rtol=rt, atol=rt * 10)
        np.testing.assert_allclose(db, dy_all.sum(axis=0), rtol=rt, atol=rt * 10)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n,k,m", [(0, 4, 3), (5, 0, 3), (5, 4, 0)])
def test_dense_empty_dimensions(rng, n, k, m, dtype):
    x, w, b = randn(rng, (n, k), dtype), randn(rng, (k, m), dtype), randn(rng, (m,), dtype)
    dy = randn(rng, (n, m), dtype)
    _forward_check(x, w, b)
    _forward_check(x, w, None)
    _backward_check(x, w, dy)
    dw0, db0 = randn(rng, (k, m), dtype), randn(rng, (m,), dtype)
    _backward_check(x, w, dy, dw0=dw0, db0=db0, accumulate=True)


@pytest.mark.parametrize("impl", [ops, reference], ids=["native", "reference"])
def test_dense_gradients_finite_differences(rng, impl):
    """dense_backward is the gradient of sum(dy * dense_forward(x, w, b)) (float64)."""
    n, k, m = 3, 4, 2
    x, w, b, dy = (rng.standard_normal(s) for s in [(n, k), (k, m), (m,), (n, m)])
    dx, dw, db = impl.dense_backward(x, w, dy)
    h = 1e-6

    def f(x_, w_, b_):
        return float(np.sum(dy * impl.dense_forward(x_, w_, b_)))

    for arr, grad, name in [(x, dx, "x"), (w, dw, "w"), (b, db, "b")]:
        num = np.empty_like(arr)
        for i in np.ndindex(arr.shape):
            orig = arr[i]
            arr[i] = orig + h
            fp = f(x, w, b)
            arr[i] = orig - h
            fm = f(x, w, b)
            arr[i] = orig
            num[i] = (fp - fm) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8, err_msg=name)


@given(
    dims=st.tuples(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20)),
    dtype=st.sampled_from(FLOAT_DTYPES),
    bias=st.booleans(),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    data=st.data(),
)
def test_dense_twins_property(dims, dtype, bias, flags, data):
    n, k, m = dims
    compute_dx, compute_db, accumulate = flags
    elems = st.floats(-8, 8, width=32 if dtype == np.float32 else 64)
    x = data.draw(hnp.arrays(dtype, (n, k), elements=elems), label="x")
    w = data.draw(hnp.arrays(dtype, (k, m), elements=elems), label="w")
    dy = data.draw(hnp.arrays(dtype, (n, m), elements=elems), label="dy")
    b = data.draw(hnp.arrays(dtype, (m,), elements=elems), label="b") if bias else None
    _forward_check(x, w, b)
    dw0 = data.draw(hnp.arrays(dtype, (k, m), elements=elems), label="dw0") if accumulate else None
    db0 = (data.draw(hnp.arrays(dtype, (m,), elements=elems), label="db0")
           if accumulate and compute_db else None)
    _backward_check(x, w, dy, dw0=dw0, db0=db0, compute_dx=compute_dx, compute_db=compute_db,
                    accumulate=accumulate)
