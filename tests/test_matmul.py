"""gemm: fastnn.ops.matmul.gemm (BLAS, row-major) against fastnn.reference.matmul.gemm.

The matrix product is a sum of k products per element, so the twins are compared with
the classical error bound ``k * eps * (|alpha| |op(a)| @ |op(b)| + |beta| |out|)``
(see conftest.assert_twins_close) on top of the per-dtype tolerance.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastnn
from conftest import FLOAT_DTYPES, assert_twins_close, randn
from fastnn import ops, reference
from fastnn.ops.matmul import variants as matmul_variants

# every kernel test runs once per instruction-set level this CPU runs (conftest.isa)
pytestmark = pytest.mark.usefixtures("isa")

TRANS = list(itertools.product([False, True], repeat=2))
SHAPES = [  # (m, n, k)
    (1, 1, 1),
    (1, 7, 33),
    (7, 1, 257),
    (7, 33, 257),
    (33, 257, 7),
    (257, 33, 1),
    (300, 300, 300),  # above every parallel grain; BLAS goes multithreaded
]


def _operands(rng, m, n, k, trans_a, trans_b, dtype):
    a = randn(rng, (k, m) if trans_a else (m, k), dtype)
    b = randn(rng, (n, k) if trans_b else (k, n), dtype)
    return a, b


def _op(x, t):
    return x.T if t else x


def _magnitude(a, b, trans_a, trans_b, alpha, beta=0.0, c=None):
    """|alpha| |op(a)| @ |op(b)| + |beta| |c| in float64: the scale of the rounding error."""
    mag = abs(alpha) * (np.abs(_op(a, trans_a)).astype(np.float64)
                        @ np.abs(_op(b, trans_b)).astype(np.float64))
    if c is not None:
        mag = mag + abs(beta) * np.abs(c.astype(np.float64))
    return mag


def _check(a, b, *, trans_a, trans_b, alpha=1.0, beta=0.0, c0=None, what=""):
    k = a.shape[0] if trans_a else a.shape[1]
    out_n = None if c0 is None else c0.copy()
    out_r = None if c0 is None else c0.copy()
    got = ops.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, out=out_n)
    want = reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
                          out=out_r)
    assert got.dtype == a.dtype and want.dtype == a.dtype
    if c0 is not None:
        assert got is out_n and want is out_r
    assert_twins_close(got, want, terms=k,
                       magnitude=_magnitude(a, b, trans_a, trans_b, alpha, beta,
                                            None if beta == 0 else c0),
                       err_msg=what)
    return got


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_gemm_twins_alloc(rng, m, n, k, trans_a, trans_b, dtype):
    a, b = _operands(rng, m, n, k, trans_a, trans_b, dtype)
    _check(a, b, trans_a=trans_a, trans_b=trans_b, what=f"gemm {m}x{n}x{k}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", [(7, 33, 257), (33, 7, 1), (300, 300, 300)])
@pytest.mark.parametrize("alpha,beta", [(2.5, 0.0), (-0.75, 1.0), (0.5, -1.5), (0.0, 2.0),
                                        (1.0, 1e-3)])
def test_gemm_twins_alpha_beta_out(rng, m, n, k, trans_a, trans_b, alpha, beta, dtype):
    a, b = _operands(rng, m, n, k, trans_a, trans_b, dtype)
    c0 = randn(rng, (m, n), dtype)
    if beta == 0.0:
        c0[...] = np.nan  # beta == 0 must not read out (BLAS convention, and the docstring)
    got = _check(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, c0=c0,
                 what=f"alpha={alpha} beta={beta}")
    assert np.isfinite(got).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
def test_gemm_reference_matches_float64_product(rng, trans_a, trans_b, dtype):
    """The oracle itself: alpha op(a) op(b) + beta c, computed independently in float64
    with an explicit triple sum over k."""
    m, n, k = 5, 4, 6
    a, b = _operands(rng, m, n, k, trans_a, trans_b, dtype)
    c0 = randn(rng, (m, n), dtype)
    alpha, beta = 1.5, -0.5
    A = _op(a, trans_a).astype(np.float64)
    B = _op(b, trans_b).astype(np.float64)
    want = np.empty((m, n))
    for i in range(m):
        for j in range(n):
            want[i, j] = alpha * sum(A[i, p] * B[p, j] for p in range(k)) + beta * float(c0[i, j])
    bound = (k + 2) * np.finfo(dtype).eps * _magnitude(a, b, trans_a, trans_b, alpha, beta, c0)
    for impl in (ops, reference):
        got = impl.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
                        out=c0.copy())
        assert got.dtype == dtype
        assert np.all(np.abs(got - want) <= bound + 1e-300), impl.__name__


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANS)
@pytest.mark.parametrize("m,n,k", [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0)])
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_gemm_empty_dimensions(rng, m, n, k, trans_a, trans_b, beta, dtype):
    """An empty inner dimension is an empty sum: out = beta * out (0 when beta == 0)."""
    a, b = _operands(rng, m, n, k, trans_a, trans_b, dtype)
    c0 = randn(rng, (m, n), dtype)
    got = ops.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=2.0, beta=beta, out=c0.copy())
    want = reference.gemm(a, b, trans_a=trans_a, trans_b=trans_b, alpha=2.0, beta=beta,
                          out=c0.copy())
    assert_twins_close(got, want)
    if k == 0:
        np.testing.assert_array_equal(want, (dtype(beta) * c0) if beta else np.zeros_like(c0))


@given(
    dims=st.tuples(st.integers(1, 24), st.integers(1, 24), st.integers(1, 40)),
    trans=st.sampled_from(TRANS),
    dtype=st.sampled_from(FLOAT_DTYPES),
    alpha=st.floats(-3, 3, allow_nan=False),
    beta=st.sampled_from([0.0, 1.0, -0.5, 2.0]),
    data=st.data(),
)
def test_gemm_twins_property(dims, trans, dtype, alpha, beta, data):
    m, n, k = dims
    ta, tb = trans
    elems = st.floats(-8, 8, width=32 if dtype == np.float32 else 64)
    a = data.draw(hnp.arrays(dtype, (k, m) if ta else (m, k), elements=elems), label="a")
    b = data.draw(hnp.arrays(dtype, (n, k) if tb else (k, n), elements=elems), label="b")
    c0 = data.draw(hnp.arrays(dtype, (m, n), elements=elems), label="c") if beta else None
    _check(a, b, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, c0=c0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_out_same_as_passed_and_overwritten(rng, dtype):
    a, b = randn(rng, (9, 4), dtype), randn(rng, (4, 6), dtype)
    out = np.full((9, 6), 123.0, dtype=dtype)
    got = ops.gemm(a, b, out=out)
    assert got is out
    assert_twins_close(got, reference.gemm(a, b), terms=4,
                       magnitude=_magnitude(a, b, False, False, 1.0))


# ---------------------------------------------------------------- fastnn's own small kernel
# Products with at most FNN_SMALL_M (= 2) rows and no transposes skip BLAS (src_c/matmul.c,
# fnn_gemm_small). They are held here against numpy's BLAS product, including the zero
# skipping (sparse rows), ragged column blocks around the 64-wide register block, and
# beta semantics (beta == 0 never reads out, even when it holds NaN).

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [1, 2])
@pytest.mark.parametrize("n", [1, 7, 63, 64, 65, 128, 257])
@pytest.mark.parametrize("k", [1, 33, 784])
def test_small_kernel_matches_blas(dtype, m, n, k):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.standard_normal((m, k)).astype(dtype)
    a[rng.random((m, k)) < 0.7] = 0  # sparse rows take the skipping path
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)  # beta = 0: must not be read
    ops.gemm(a, b, alpha=0.5, out=out)
    expected = 0.5 * (a.astype(np.float64) @ b.astype(np.float64))
    rtol, atol = (2e-5, 2e-5 * np.sqrt(k)) if dtype == np.float32 else (1e-12, 1e-12 * np.sqrt(k))
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)
    c = rng.standard_normal((m, n)).astype(dtype)
    got = ops.gemm(a, b, alpha=2.0, beta=-1.5, out=c.copy())
    np.testing.assert_allclose(got, 2.0 * (a.astype(np.float64) @ b) - 1.5 * c, rtol=rtol,
                               atol=atol)
    np.testing.assert_allclose(got, reference.gemm(a, b, alpha=2.0, beta=-1.5, out=c.copy()),
                               rtol=rtol, atol=atol)


def test_small_kernel_all_zero_row():
    a = np.zeros((1, 50), np.float32)
    b = np.random.default_rng(0).standard_normal((50, 70)).astype(np.float32)
    np.testing.assert_array_equal(ops.gemm(a, b), np.zeros((1, 70), np.float32))


# ------------------------ the gemm family (src_c/gemm_variants.h, src_c/arch/*/gemm_f{32,64}.c)
# Where a gemm variant runs (AVX-512, AVX2, NEON), products with alpha = 1 and 3..64 batch
# rows (rows of C for A @ B and A @ B.T with B of at most 2048 elements, the inner
# dimension for A.T @ B) skip BLAS. Their register blocking has edges everywhere -- row
# blocks of 2..16, column panels of 8..64 with masked tails -- so they are held against a
# float64 product on shapes that cross every edge, in float32 and float64 (the variants'
# two builds, lanes of 4 or 8 bytes), on every level this CPU runs (the module's `isa`
# fixture: the generic level is BLAS).

def _f64_check(got, expected, k):
    scale = np.abs(expected).max() + 1.0
    eps = 4e-7 if got.dtype == np.float32 else 1e-15
    np.testing.assert_allclose(got, expected, rtol=0, atol=eps * np.sqrt(k) * scale)


@pytest.mark.parametrize("m", [3, 5, 10, 17, 32, 33, 64])
@pytest.mark.parametrize("n", [1, 10, 15, 16, 17, 30, 47, 64, 65, 128, 130])
@pytest.mark.parametrize("k", [1, 7, 128, 784])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_kernel_forward_and_accumulate(m, n, k, dtype):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)  # beta = 0 must not read it
    _f64_check(ops.gemm(a, b, out=out), a.astype(np.float64) @ b, k)
    c = rng.standard_normal((m, n)).astype(dtype)
    _f64_check(ops.gemm(a, b, beta=1.0, out=c.copy()), a.astype(np.float64) @ b + c, k)
    # A @ B.T (a layer's dX = G W^T): B is transposed on the stack when small, else BLAS
    bt = np.ascontiguousarray(b.T)
    out = np.full((m, n), np.nan, dtype)
    _f64_check(ops.gemm(a, bt, trans_b=True, out=out), a.astype(np.float64) @ b, k)
    _f64_check(ops.gemm(a, bt, trans_b=True, beta=1.0, out=c.copy()),
               a.astype(np.float64) @ b + c, k)


@pytest.mark.parametrize("inner", [1, 3, 10, 24, 25, 32, 64])
@pytest.mark.parametrize("n", [1, 10, 30, 64, 65, 128])
@pytest.mark.parametrize("rows", [1, 7, 784])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_kernel_weight_gradient(inner, n, rows, dtype):
    rng = np.random.default_rng(inner * 7919 + n * 31 + rows)
    x = rng.standard_normal((inner, rows)).astype(dtype)  # a batch of `inner` samples
    g = rng.standard_normal((inner, n)).astype(dtype)
    out = np.full((rows, n), np.nan, dtype)
    _f64_check(ops.gemm(x, g, trans_a=True, out=out), x.T.astype(np.float64) @ g, inner)


# ------------------------------------ the plan's active-column kernels (src_c/gemm_variants.h)
# Where a gemm variant runs, the fused plan's first layer skips the input columns that are zero in every
# row of the batch (MNIST pixels are 80 % zeros) and, under plain SGD, applies the update
# inside the weight-gradient product. Held against float64 products on sparse inputs,
# with rows taken in a shuffled order, on shapes crossing the kernels' blocking edges.

# Every gemm variant this CPU runs (none on a CPU without one: the tests then report
# that they did not run, rather than pass).
RUNNABLE_VARIANTS = [v["name"] for v in matmul_variants()["variants"] if v["cpu_runs"]] or [
    pytest.param(None, marks=pytest.mark.skip(reason="no gemm variant runs on this CPU"))]


@pytest.mark.parametrize("variant", RUNNABLE_VARIANTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(3, 1, 1), (5, 7, 9), (10, 784, 30), (17, 33, 65),
                                   (32, 128, 130), (64, 100, 10)])
def test_each_variant_kernel_and_its_dispatch(variant, dtype, m, k, n):
    # Each variant's own nn and tn kernels against a float64 product, in both dtypes...
    from fastnn.ops.matmul import _variant_product

    rng = np.random.default_rng(m * 31 + k * 7 + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    g = rng.standard_normal((m, n)).astype(dtype)
    y = _variant_product(a, b, variant=variant)
    _f64_check(y, a.astype(np.float64) @ b, k)
    dw = _variant_product(a, g, trans_a=True, variant=variant)
    _f64_check(dw, a.T.astype(np.float64) @ g, m)
    # ...and ops.gemm reaches the variant in force for these shapes: the same sums in the
    # same order give the same bits (BLAS sums some of these shapes in another order)
    with fastnn.config_context(isa=variant):
        np.testing.assert_array_equal(ops.gemm(a, b), y)
        np.testing.assert_array_equal(ops.gemm(a, g, trans_a=True), dw)


def _sparse_rows(rng, n_rows, k, density):
    X = rng.standard_normal((n_rows, k)).astype(np.float32)
    X[rng.random((n_rows, k)) > density] = 0.0
    X[:, : k // 3] = 0.0  # a band of columns zero in every row (the MNIST border)
    return X


@pytest.mark.parametrize("m", [1, 3, 10, 24, 25, 32, 64])
@pytest.mark.parametrize("n", [1, 10, 30, 64, 65, 128])
@pytest.mark.parametrize("k", [1, 17, 784])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("variant", RUNNABLE_VARIANTS)
def test_active_column_kernels(m, n, k, accumulate, variant):
    from fastnn.ops.matmul import _active_columns

    rng = np.random.default_rng(m * 1009 + n * 17 + k + accumulate)
    X = _sparse_rows(rng, 100, k, density=0.2)
    rows = rng.permutation(100)[:m]
    W = rng.standard_normal((k, n)).astype(np.float32)
    G = rng.standard_normal((m, n)).astype(np.float32)
    Y0 = rng.standard_normal((m, n)).astype(np.float32)
    C0 = rng.standard_normal((k, n)).astype(np.float32)
    Y = Y0.copy() if accumulate else np.full((m, n), np.nan, np.float32)
    C = C0.copy() if accumulate else np.full((k, n), np.nan, np.float32)
    nact = _active_columns(X, rows, W, Y, G, C, -0.5, accumulate, variant=variant)
    assert nact >= 0
    xb = X[rows].astype(np.float64)
    assert nact == int((xb != 0).any(axis=0).sum())
    _f64_check(Y, xb @ W + (Y0 if accumulate else 0), k)
    _f64_check(C, -0.5 * (xb.T @ G) + (C0 if accumulate else 0), m)
    if not accumulate:  # columns zero in every row give exact zero rows
        assert np.all(C[~(xb != 0).any(axis=0)] == 0)


@pytest.mark.parametrize("variant", RUNNABLE_VARIANTS)
def test_active_column_kernels_all_zero_batch(variant):
    from fastnn.ops.matmul import _active_columns

    X = np.zeros((5, 40), np.float32)
    W = np.ones((40, 3), np.float32)
    Y, C = np.full((5, 3), np.nan, np.float32), np.full((40, 3), np.nan, np.float32)
    G = np.ones((5, 3), np.float32)
    assert _active_columns(X, [4, 0, 2, 1, 3], W, Y, G, C, 1.0, False, variant=variant) == 0
    assert np.all(Y == 0) and np.all(C == 0)
