"""Shared helpers for the fastnn test suite.

The twin tests compare every native kernel (``fastnn.ops.X``) with its numpy twin
(``fastnn.reference.X``), which is the oracle. This module holds the tolerance table
they share, ``assert_twins_close``, a seeded RNG fixture, a fixture that restores the
thread budget, and the hypothesis profile that keeps the suite fast.

Run the property tests harder with ``FASTNN_HYPOTHESIS_PROFILE=thorough``.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import fastnn
from fastnn import _runtime, _threads

# ------------------------------------------------------------------ hypothesis

settings.register_profile(
    "fastnn",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile("thorough", parent=settings.get_profile("fastnn"), max_examples=500)
settings.load_profile(os.environ.get("FASTNN_HYPOTHESIS_PROFILE", "fastnn"))

# ------------------------------------------------------------------ instruction sets

# Every level this CPU can run, best first (src_c/cpu.h): an AVX-512 machine also tests
# its AVX2 and generic variants, so nothing passes only because of the machine that ran it.
ISA_LEVELS = _runtime.isa()["levels"]


@pytest.fixture(params=ISA_LEVELS, ids=[f"isa={lv}" for lv in ISA_LEVELS])
def isa(request):
    """Run the test with the kernels forced to each level this CPU runs; a kernel test
    module takes it for every test with ``pytestmark = pytest.mark.usefixtures("isa")``."""
    with fastnn.config_context(isa=request.param):
        yield request.param


# ------------------------------------------------------------------ tolerances

FLOAT_DTYPES = (np.float32, np.float64)

# Base tolerance of one native result against the reference, for results computed
# with a handful of roundings per element (elementwise ops, short row reductions).
# float32: ~170 ulps relative, enough for vectorized libm variants (a few ulps) after
# the amplification of ordinary formulas; float64 stays far below anything a wrong
# formula could produce.
TOL = {
    np.dtype(np.float32): {"rtol": 2e-5, "atol": 2e-6},
    np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-12},
}


def tol(dtype):
    """The base ``{"rtol", "atol"}`` of `dtype` (a copy)."""
    return dict(TOL[np.dtype(dtype)])


def eps(dtype):
    return float(np.finfo(dtype).eps)


def assert_twins_close(actual, expected, dtype=None, *, terms=1, magnitude=None,
                       rtol=None, atol=None, err_msg=""):
    """Assert a native result equals the reference result within the dtype tolerance.

    Arrays must have the same type, dtype (the kernels never upcast) and shape; Python
    floats (loss values) must both be floats. ``|actual - expected| <= atol + rtol *
    |expected|`` with the per-dtype ``TOL``, widened for sums: when the result is a sum
    of `terms` products whose absolute values add up to `magnitude` (e.g. ``|a| @ |b|``
    for a matrix product), each twin is within ``terms * u * magnitude`` of the exact
    value (the classical bound, u = eps / 2), so the twins differ by at most
    ``(terms + 2) * eps * magnitude``. `rtol`/`atol` override the table.
    """
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{err_msg}: got {type(actual).__name__}"
        assert actual.dtype == expected.dtype, f"{err_msg}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{err_msg}: shape {actual.shape} != {expected.shape}"
        dtype = expected.dtype
    else:
        assert isinstance(expected, float) and isinstance(actual, float), (
            f"{err_msg}: expected two Python floats, got {type(actual).__name__} and "
            f"{type(expected).__name__}"
        )
        assert dtype is not None, "pass the dtype of the inputs to compare scalars"
    t = tol(dtype)
    rtol = t["rtol"] if rtol is None else rtol
    atol = t["atol"] if atol is None else atol
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    allowed = atol + rtol * np.abs(e)
    if magnitude is not None:
        allowed = allowed + (terms + 2) * eps(dtype) * np.asarray(magnitude, dtype=np.float64)
    # NaN/inf must sit at the same places with the same values.
    same_nonfinite = (a == e) | (np.isnan(a) & np.isnan(e))
    with np.errstate(invalid="ignore"):
        ok = same_nonfinite | (np.abs(a - e) <= allowed)
    if not np.all(ok):
        bad = np.argwhere(~ok) if a.ndim else [()]
        idx = tuple(bad[0])
        diff = np.abs(a - e)
        raise AssertionError(
            f"{err_msg}: native and reference differ at {int(np.size(ok) - np.count_nonzero(ok))}"
            f" of {np.size(ok)} elements; first at {idx}: native {a[idx]!r}, reference "
            f"{e[idx]!r}, |diff| {diff[idx]!r} > allowed {np.broadcast_to(allowed, a.shape)[idx]!r}"
            f" (dtype {np.dtype(dtype)}); max |diff| {np.nanmax(diff) if diff.size else 0!r}"
        )


# ------------------------------------------------------------------ data

SEED = 20240611


def numeric_grad(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to every element of a, which f
    reads (a is perturbed in place and put back)."""
    g = np.zeros_like(a)
    flat, gflat = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


@pytest.fixture
def rng():
    """A fresh generator with a fixed seed for every test (order-independent)."""
    return np.random.default_rng(SEED)


def randn(rng, shape, dtype, scale=1.0):
    """Normal(0, scale) samples as an ndarray of `dtype` (also for shape ())."""
    return np.asarray(rng.standard_normal(shape) * scale, dtype=dtype)


# ------------------------------------------------------------------ twins


# Each of the two implementations, for tests against hand computation.
TWINS = [pytest.param(fastnn.ops, id="native"), pytest.param(fastnn.reference, id="reference")]


# ------------------------------------------------------------------ threads


@pytest.fixture
def restore_threads():
    """Put fastnn's thread budget (and the BLAS pools) back as they were."""
    from threadpoolctl import threadpool_info, threadpool_limits

    requested = _threads._requested
    native = _runtime._get_native_threads()
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    yield fastnn.set_num_threads
    _threads._requested = requested
    _runtime._set_native_threads(native)
    threadpool_limits(limits=[{"filepath": p["filepath"], "prefix": p["prefix"],
                               "num_threads": p["num_threads"]} for p in blas])


# Parallel grain sizes of src_c/fnn_common.h: a loop only splits over threads when each
# thread gets at least this many elements, so "above the grain" means > 2 * GRAIN.
GRAIN_CHEAP = 65536
GRAIN_HEAVY = 8192


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST ((X, y), (X_test, y_test)) from $FASTNN_MNIST_DIR, which .ci/run sets;
    tests that use it skip without the variable."""
    d = os.environ.get("FASTNN_MNIST_DIR")
    if not d:
        pytest.skip("FASTNN_MNIST_DIR is not set (the directory of the MNIST IDX files)")
    from fastnn.datasets import load_mnist

    return load_mnist(d)
