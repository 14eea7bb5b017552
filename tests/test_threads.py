"""The thread budget: fastnn.set_num_threads / get_num_threads, the BLAS pools, and
results that do not depend on the number of threads.

Sizes are chosen above twice the parallel grain of src_c/fnn_common.h, so that the
kernels really split the work over 2 (and 3) threads. fastnn's own loops must give
bitwise identical results whatever the thread count (elementwise work, and reductions
whose summation order is fixed by the size alone); BLAS products only agree within
rounding.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, GRAIN_HEAVY, assert_twins_close, randn
from fastnn import _runtime, ops
from fastnn._kernels import KERNELS
from fastnn.ops.matmul import own_kernels

pytestmark = pytest.mark.usefixtures("restore_threads")

THREADS = [2, 3]
N_CHEAP = 2 * GRAIN_CHEAP + 12345  # not a multiple of the 16-element chunk alignment


def _with_threads(n, fn):
    fastnn.set_num_threads(n)
    return fn()


def _same_bits(results_1, results_n, what):
    for a, b in zip(results_1, results_n):
        if isinstance(a, float):
            assert a == b or (np.isnan(a) and np.isnan(b)), f"{what}: {a!r} != {b!r}"
        elif a is None:
            assert b is None
        else:
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b, err_msg=what, strict=True)


def _compare_threads(fn, what):
    one = _with_threads(1, fn)
    for n in THREADS:
        _same_bits(one, _with_threads(n, fn), f"{what} with 1 vs {n} threads")


# ------------------------------------------------------------------ settings


def test_set_get_num_threads():
    for n in (1, 2, 3, 1):
        fastnn.set_num_threads(n)
        assert fastnn.get_num_threads() == n
        if _runtime.openmp_version():
            assert _runtime._get_native_threads() == n


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                     ("2", TypeError), (None, TypeError)])
def test_set_num_threads_rejects(bad, exc):
    before = fastnn.get_num_threads()
    with pytest.raises(exc, match="^n must"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == before


def test_numpy_integer_accepted():
    fastnn.set_num_threads(np.int64(2))
    assert fastnn.get_num_threads() == 2


@pytest.mark.parametrize("n", [1, 2])
def test_blas_pools_follow(n):
    fastnn.set_num_threads(n)
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas, "ops.matmul links SciPy's BLAS, so a BLAS pool must be loaded"
    assert all(p["num_threads"] == n for p in blas), blas


def test_default_num_threads_is_positive():
    assert fastnn._threads.default_num_threads() >= 1


# ---------------------------------------------------- elementwise activations

ACTS = [n for n in KERNELS["activations"] if not n.endswith("_backward")]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", ACTS)
def test_activations_bitwise_across_threads(rng, name, dtype):
    if name in ("softmax", "log_softmax"):
        # rows of 7: row-chunk grains are GRAIN / 7 + 1 rows
        shape = (2 * (GRAIN_CHEAP // 7 + 1) + 101, 7)
    else:
        shape = (N_CHEAP,)
    x = randn(rng, shape, dtype, scale=3.0)
    dy = randn(rng, shape, dtype)
    y = getattr(ops, name)(x)
    _compare_threads(lambda: (getattr(ops, name)(x), getattr(ops, f"{name}_backward")(dy, x, y)),
                     name)


# ------------------------------------------------------------------ losses


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", ["mse", "mse-1d", "xent-labels", "xent-probs", "bce",
                                  "bce-1d"])
@pytest.mark.parametrize("weighted", [False, True])
def test_losses_bitwise_across_threads(rng, case, weighted, dtype):
    if case.startswith("xent"):
        n, c = 2 * (GRAIN_HEAVY // 41 + 1) * 3 + 7, 40  # rows of 40: several chunks
        pred = randn(rng, (n, c), dtype, scale=3.0)
        if case == "xent-labels":
            target = rng.integers(0, c, n)
        else:
            target = rng.uniform(0, 1, (n, c)).astype(dtype)
        fn = ops.softmax_cross_entropy
    else:
        shape = (N_CHEAP,) if case.endswith("1d") else (2 * (GRAIN_CHEAP // 11 + 1) + 33, 10)
        pred = randn(rng, shape, dtype, scale=3.0)
        if case.startswith("mse"):
            target, fn = randn(rng, shape, dtype), ops.mse
        else:
            target, fn = rng.uniform(0, 1, shape).astype(dtype), ops.binary_cross_entropy
    sw = rng.uniform(0, 2, pred.shape[0]) if weighted else None
    _compare_threads(lambda: fn(pred, target, sample_weight=sw), case)


# -------------------------------------------------------------- optimizers


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw", "rmsprop"])
def test_optimizers_bitwise_across_threads(rng, opt, dtype):
    shape = (N_CHEAP,)
    p0, g = randn(rng, shape, dtype), randn(rng, shape, dtype)

    def run():
        p = p0.copy()
        s = [np.zeros(shape, dtype) for _ in range(3)]
        for t in (1, 2):
            if opt == "sgd":
                ops.sgd_update(p, g, s[0], lr=0.1, momentum=0.9, nesterov=True,
                               weight_decay=0.01)
            elif opt == "rmsprop":
                ops.rmsprop_update(p, g, s[0], lr=0.01, momentum=0.9, velocity=s[1],
                                   centered=True, grad_avg=s[2], weight_decay=0.01)
            else:
                f = ops.adam_update if opt == "adam" else ops.adamw_update
                f(p, g, s[0], s[1], step=t, lr=0.01, weight_decay=0.01, amsgrad=True,
                  v_max=s[2])
        return [p] + s

    _compare_threads(run, opt)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_clip_grad_norm_bitwise_across_threads(rng, dtype):
    grads = [randn(rng, (N_CHEAP,), dtype), randn(rng, (3 * GRAIN_CHEAP + 5,), dtype)]

    def run():
        gs = [g.copy() for g in grads]
        total = ops.clip_grad_norm(gs, 1.0)
        return [total] + gs

    _compare_threads(run, "clip_grad_norm")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dropout_bitwise_across_threads(rng, dtype):
    x, dy = randn(rng, (N_CHEAP,), dtype), randn(rng, (N_CHEAP,), dtype)

    def run():
        y, mask = ops.dropout_forward(x, 0.3, 2**63 + 5, 123)
        return y, mask, ops.dropout_backward(dy, mask)

    _compare_threads(run, "dropout")


def test_finite_check_across_threads(rng):
    """The native NaN scan splits the array over threads: a NaN in the last chunk (or
    the unaligned tail) must be found whatever the thread count."""
    for pos in (0, N_CHEAP // 2, N_CHEAP - 1):
        x = randn(rng, (N_CHEAP,), np.float32)
        x[pos] = np.nan
        for n in [1] + THREADS:
            fastnn.set_num_threads(n)
            with pytest.raises(ValueError, match="contains NaN or infinity"):
                ops.relu(x)


# ------------------------------------------------------------ gemm / dense (BLAS)


@pytest.mark.parametrize("rows", [64, 37])
def test_small_batch_products_split_bitwise(rng, rows):
    # float32 products with a batch side of at most 64 run on fastnn's AVX-512 kernel
    # (src_c/matmul.c): a team splits the rows of C in whole kernel blocks, and each
    # entry is summed as in one call, so every thread count gives the same bits. The
    # batch's dx = dy W^T goes to BLAS (W is too large to transpose on the stack).
    if not own_kernels():
        pytest.skip("no AVX-512 kernels here: these products go to BLAS")
    a, b = randn(rng, (rows, 515), np.float32), randn(rng, (515, 131), np.float32)
    bias, dy = randn(rng, (131,), np.float32), randn(rng, (rows, 131), np.float32)

    def run():
        return (ops.gemm(a, b), ops.dense_forward(a, b, bias), *ops.dense_backward(a, b, dy)[1:])

    one = _with_threads(1, run)
    mag = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    assert_twins_close(one[0], (a.astype(np.float64) @ b).astype(np.float32), terms=515,
                       magnitude=mag)
    for n in THREADS:
        for got, want in zip(_with_threads(n, run), one):
            np.testing.assert_array_equal(got, want, strict=True)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gemm_and_dense_across_threads(rng, dtype):
    a, b = randn(rng, (300, 301), dtype), randn(rng, (301, 299), dtype)
    bias = randn(rng, (299,), dtype)
    dy = randn(rng, (300, 299), dtype)
    mag = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)

    def run():
        return (ops.gemm(a, b), ops.dense_forward(a, b, bias), *ops.dense_backward(a, b, dy))

    one = _with_threads(1, run)
    for n in THREADS:
        many = _with_threads(n, run)
        assert_twins_close(many[0], one[0], terms=301, magnitude=mag)
        assert_twins_close(many[1], one[1], terms=302, magnitude=mag + np.abs(bias))
        assert_twins_close(many[2], one[2], terms=299,
                           magnitude=np.abs(dy).astype(np.float64) @ np.abs(b).T)
        assert_twins_close(many[3], one[3], terms=300,
                           magnitude=np.abs(a).T.astype(np.float64) @ np.abs(dy))
        # the bias gradient is fastnn's own column sum: bitwise
        np.testing.assert_array_equal(many[4], one[4], strict=True)
