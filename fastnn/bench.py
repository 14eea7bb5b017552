"""fastnn's benchmarks: native kernels and training against the numpy reference.

Behind ``fastnn bench`` and the pytest-benchmark suite in ``benchmarks/``. Every case
runs the same work on both sides -- fastnn's native code and ``fastnn.reference`` (the
numpy twin, what a from-scratch numpy network does) -- on the same inputs, checks that
the two results agree before anything is timed, warms both up, and reports the best of
several timed repeats. Ratios are only ever taken within one run.

    from fastnn import bench
    results = bench.run(quick=True)
    print(bench.format_table(results))
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _threads, ops, reference

if TYPE_CHECKING:
    from .model import Sequential
    from .optimizers import Optimizer

__all__ = ["Case", "machine_info", "sgemm_peak", "kernel_cases", "training_cases",
           "inference_cases", "thread_cases", "sklearn_cases", "cnn_cases", "run",
           "format_table", "compare", "plot", "write_json", "read_json", "GROUPS"]

GROUPS = ("kernels", "training", "inference", "threads", "sklearn", "cnn", "rnn")
FORMAT_VERSION = 1


@dataclass
class Case:
    """One unit of work, done natively and by the numpy reference.

    native / reference: zero-argument callables doing the work once (the reference
    is None where there is nothing to compare against). check: called once before
    timing, raises if the two sides disagree. flops: floating-point operations of one
    call (None if not meaningful); items: samples per call (training/inference)."""
    group: str
    name: str
    native: Callable[..., object]
    reference: Callable[..., object] | None = None
    check: Callable[[], object] | None = None
    flops: float | None = None
    items: int | None = None
    threads: int | None = None
    rounds: int = 3
    info: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------ timing


# Seconds to pause before timing a side. OpenBLAS keeps its worker threads spinning for
# about 0.1 s after a call; the numpy reference (numpy's OpenBLAS) timed just before the
# native side would otherwise have them compete with fastnn's threads for the cores
# (measured: a 2-thread LeNet epoch right after a reference epoch ran 20-25 % slower;
# after 0.1 s of rest, 5 %; after 0.2 s, not at all), and the same holds the other way.
SETTLE_S = 0.25


def time_call(fn: Callable[[], object], min_time: float = 0.1, repeats: int = 5,
              warmup: float = 0.05, settle: float = SETTLE_S) -> float:
    """Best wall time of one call of fn: `settle` seconds of rest (see SETTLE_S), then
    warm-up calls for `warmup` seconds (idle cores, and idle virtual CPUs above all,
    take milliseconds to wake: a single warm-up call leaves a threaded kernel timed at
    half speed), then `repeats` timed repeats of n calls each, n chosen so that a
    repeat lasts about min_time/repeats."""
    time.sleep(settle)
    t_end = time.perf_counter() + warmup
    fn()
    while time.perf_counter() < t_end:
        fn()
    n, t = 1, 0.0
    target = min_time / repeats
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t >= target or n >= 1 << 20:
            break
        n = max(n * 2, int(n * target / max(t, 1e-9)))
    best = t / n
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def time_rounds(fns: Sequence[Callable[[], object]], rounds: int,
                settle: float = SETTLE_S) -> list[float]:
    """Best time of each callable in `fns`, calling them alternately `rounds` times
    (for long calls such as a training epoch: both sides see the same machine state),
    each call after `settle` seconds of rest (see SETTLE_S)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            time.sleep(settle)
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


# ------------------------------------------------------------------- the machine

# Set in a run whose baselines are held to a lower level (emulated_level).
EMULATED_ENV = "FASTNN_BENCH_EMULATES"


def emulation_env(level: str) -> dict[str, str] | None:
    """The environment that runs a whole benchmark as on a CPU of `level`: fastnn forced to
    it (FASTNN_ISA), and numpy's and OpenBLAS's own dispatch held to it too, so that the
    baselines do not keep using instructions that such a CPU lacks. Only avx2 on an
    AVX-512 CPU is emulated (OpenBLAS's Haswell kernels, numpy without its AVX-512
    targets); None where there is nothing to hold. Clock, cache and core differences
    stay: the figures are labelled "emulated"."""
    from . import _runtime

    if level != "avx2" or _runtime.isa()["detected"] != "avx512":
        return None
    try:
        from numpy._core import _multiarray_umath as umath  # type: ignore[attr-defined]  # no stub
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath as umath
    held = [f for f in umath.__cpu_dispatch__ if f.startswith("AVX512") or f == "X86_V4"]
    return dict(os.environ, FASTNN_ISA="avx2", OPENBLAS_CORETYPE="Haswell",
                NPY_DISABLE_CPU_FEATURES=",".join(held), **{EMULATED_ENV: "avx2"})


def rerun_emulating(level: str, cmd: Sequence[str]) -> None:
    """Run `cmd` (this program again) under emulation_env(level) and exit with its status;
    returns without running anything when already emulating or nothing needs holding."""
    import subprocess
    import sys

    env = None if os.environ.get(EMULATED_ENV) else emulation_env(level)
    if env is not None:
        raise SystemExit(subprocess.call(cmd, env=env))


def emulated_level() -> str | None:
    """The level this run emulates (rerun_emulating), or None."""
    return os.environ.get(EMULATED_ENV) or None



def machine_info() -> dict[str, Any]:
    """What the results depend on: CPU, cores, SIMD paths, BLAS, threads, versions."""
    from ._info import config

    cfg = config()
    return {
        "cpu": cfg.get("cpu"),
        "logical_cpus": os.cpu_count(),
        "cpu_features": cfg.get("cpu_features"),
        "isa": (cfg.get("isa") or {}).get("level"),
        "emulated": emulated_level(),
        "leaves": cfg.get("leaves"),
        "openmp": (cfg.get("openmp") or {}).get("enabled"),
        "blas": [{k: b.get(k) for k in ("library", "version", "core_type", "threading")}
                 for b in cfg.get("blas") or []],
        "gemm": cfg.get("gemm"),
        "threads": _threads.get_num_threads(),
        "versions": {k: cfg.get(k) for k in ("fastnn", "python", "numpy", "scipy")},
        "compiler": cfg.get("compiler"),
        "platform": cfg.get("platform"),
    }


def sgemm_peak(sizes: Sequence[int] = (1024, 2048), repeats: int = 3) -> float:
    """Best float32 GEMM rate (GFLOP/s) through fastnn.ops.gemm on square products: the
    machine's reachable sgemm peak at the current thread count."""
    from ._config import config_context

    best, rng = 0.0, np.random.default_rng(0)
    for n in sizes:
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        out = np.empty((n, n), np.float32)
        with config_context(check_finite=False):
            t = time_call(lambda: ops.gemm(a, b, out=out), min_time=0.3, repeats=repeats)
        best = max(best, 2.0 * n ** 3 / t / 1e9)
    return best


# ------------------------------------------------------------------------ kernels


def _agree(a: ArrayLike, b: ArrayLike, rtol: float = 2e-4) -> None:
    """float32 results of the same work agree to round-off: relative error, or an
    absolute one on the scale of the largest output (sums of many products)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = float(np.abs(b).max()) if b.size else 0.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=2e-4 * max(1.0, scale))


def _twin_case(name: str, fn: str, args: Sequence[Any], kwargs: Mapping[str, Any],
               flops: float | None,
               outputs: Callable[[Any, list[Any], dict[str, Any]], Iterable[ArrayLike]],
               group: str = "kernels") -> Case:
    """A kernel case: fastnn.ops.fn against fastnn.reference.fn on private copies of
    the same inputs; `outputs(result, args, kwargs)` picks the arrays to compare."""
    def copies() -> tuple[list[Any], dict[str, Any]]:
        a = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
        k = {key: (v.copy() if isinstance(v, np.ndarray) else v) for key, v in kwargs.items()}
        return a, k

    a_n, k_n = copies()
    a_r, k_r = copies()
    nat, ref = getattr(ops, fn), getattr(reference, fn)

    def check() -> None:
        a1, k1 = copies()
        a2, k2 = copies()
        for u, v in zip(outputs(nat(*a1, **k1), a1, k1), outputs(ref(*a2, **k2), a2, k2)):
            _agree(u, v)

    return Case(group, name, lambda: nat(*a_n, **k_n), lambda: ref(*a_r, **k_r),
                check=check, flops=flops)


def kernel_cases(quick: bool = False, seed: int = 0) -> list[Case]:
    """float32 kernels, small to large: GEMM, dense forward/backward, activations
    forward/backward, softmax cross-entropy with its gradient, SGD/Adam/AdamW."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    first = lambda r, a, k: [r]  # noqa: E731 - the return value
    cases = []
    for n in ((64, 512) if quick else (64, 256, 1024)):
        a = rng.standard_normal((n, n)).astype(f32)
        b = rng.standard_normal((n, n)).astype(f32)
        cases.append(_twin_case(f"gemm {n}x{n}x{n}", "gemm", (a, b),
                                {"out": np.empty((n, n), f32)}, 2.0 * n ** 3, first))
    for n, k, m in ((32, 784, 128), (1024, 784, 1024)) if quick else \
            ((10, 784, 30), (32, 784, 128), (256, 784, 512), (1024, 784, 1024)):
        x = rng.standard_normal((n, k)).astype(f32)
        w = rng.standard_normal((k, m)).astype(f32)
        bias = rng.standard_normal(m).astype(f32)
        dy = rng.standard_normal((n, m)).astype(f32)
        cases.append(_twin_case(f"dense forward {n}x{k}->{m}", "dense_forward", (x, w, bias),
                                {"out": np.empty((n, m), f32)}, 2.0 * n * k * m, first))
        cases.append(_twin_case(f"dense backward {n}x{k}->{m}", "dense_backward", (x, w, dy),
                                {}, 4.0 * n * k * m, lambda r, a, kw: list(r)))
    acts = ("sigmoid", "relu", "softmax") if quick else \
        ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softmax", "log_softmax")
    for n, m in ((32, 128),) if quick else ((32, 128), (1024, 1024)):
        x = rng.standard_normal((n, m)).astype(f32)
        dy = rng.standard_normal((n, m)).astype(f32)
        for act in acts:
            y = getattr(reference, act)(x)
            cases.append(_twin_case(f"{act} forward {n}x{m}", act, (x,),
                                    {"out": np.empty_like(x)}, None, first))
            cases.append(_twin_case(f"{act} backward {n}x{m}", act + "_backward", (dy, x, y),
                                    {"out": np.empty_like(x)}, None, first))
    for n, c in ((32, 10), (1024, 10)) if quick else ((32, 10), (1024, 10), (1024, 1000)):
        z = rng.standard_normal((n, c)).astype(f32)
        labels = rng.integers(0, c, n)
        cases.append(_twin_case(f"softmax xent+grad {n}x{c}", "softmax_cross_entropy",
                                (z, labels), {"grad": np.empty_like(z)}, None,
                                lambda r, a, k: [r[0] if isinstance(r, tuple) else r,
                                                 k["grad"]]))
    for size in (100_000,) if quick else (1_000, 100_000, 1_000_000):
        p = rng.standard_normal(size).astype(f32)
        g = rng.standard_normal(size).astype(f32) * f32(0.01)
        z = np.zeros_like(p)
        params = lambda r, a, k: [a[0]]  # noqa: E731 - the updated parameters
        cases.append(_twin_case(f"sgd momentum update {size}", "sgd_update", (p, g, z),
                                {"lr": 0.01, "momentum": 0.9}, None, params))
        cases.append(_twin_case(f"adam update {size}", "adam_update", (p, g, z, z),
                                {"step": 1}, None, params))
        cases.append(_twin_case(f"adamw update {size}", "adamw_update", (p, g, z, z),
                                {"step": 1}, None, params))
    return cases


# ----------------------------------------------------------------------- training

# (hidden units, batch size, optimizer, hidden activation, loss) -- the MNIST networks
_TrainingConfig = tuple[int, int, tuple[str, Mapping[str, Any]], str, str]
TRAINING_CONFIGS = [
    (30, 10, ("sgd", {"lr": 3.0}), "sigmoid", "squared_error"),
    (128, 32, ("adam", {"lr": 1e-3}), "relu", "cross_entropy"),
    (128, 128, ("adam", {"lr": 1e-3}), "relu", "cross_entropy"),
    (512, 256, ("adam", {"lr": 1e-3}), "relu", "cross_entropy"),
    (1024, 1024, ("adam", {"lr": 1e-3}), "relu", "cross_entropy"),
]


def load_training_data(data_dir: str | os.PathLike[str] | None = None,
                       rows: int | None = None) -> tuple[NDArray[Any], NDArray[Any], str]:
    """MNIST's training set (from data_dir, $FASTNN_MNIST_DIR, $FASTNN_DATA or the
    cache) as float32 in [0, 1], else random data of the same shape. Returns
    (X, y, description)."""
    from .datasets import load_mnist

    dirs: list[str | os.PathLike[str] | None]
    dirs = [d for d in (data_dir, os.environ.get("FASTNN_MNIST_DIR")) if d] or [None]
    for d in dirs:
        try:
            (X, y), _ = load_mnist(d)
            src = "MNIST"
            break
        except Exception:  # noqa: BLE001 - absent or unreadable: fall back below
            continue
    else:
        rng = np.random.default_rng(0)
        X = rng.random((60000, 784), dtype=np.float32)
        y = rng.integers(0, 10, 60000)
        src = "random (MNIST not found; its sparse pixels train faster)"
    if rows:
        X, y = X[:rows], y[:rows]
    return np.ascontiguousarray(X, np.float32), y, f"{src}, {len(X)} rows"


def _make_optimizer(spec: tuple[str, Mapping[str, Any]]) -> Optimizer:
    from .optimizers import OPTIMIZERS

    name, kw = spec
    return OPTIMIZERS[name](**kw)


def _network(hidden: int, act: str | None, loss: str, backend: str) -> Sequential:
    from .layers import Dense
    from .model import Sequential

    out = "sigmoid" if loss == "squared_error" else None  # the textbook network
    return Sequential([Dense(hidden, activation=act), Dense(10, activation=out)], seed=0,
                      backend=backend)


def train_flops(hidden: int, n: int, d_in: int = 784, d_out: int = 10) -> float:
    """Multiply-adds x 2 for forward, dW and dX (no dX for the first layer), for n
    samples: the dense flops, whatever the kernels skip."""
    macs = d_in * hidden + hidden * d_out
    return 2.0 * n * (3 * macs - d_in * hidden)


def training_cases(X: NDArray[Any], y: NDArray[Any],
                   configs: Sequence[_TrainingConfig] | None = None,
                   threads: int | None = None, rounds: int = 3) -> list[Case]:
    """One epoch of Sequential.fit over (X, y) per config, native (fused plan) against
    backend="reference" (the per-layer numpy twins): same seed, same shuffled order,
    same steps; the epoch losses must agree."""
    cases = []
    for hidden, batch, opt, act, loss in configs or TRAINING_CONFIGS:
        def fit(backend: str, hidden: int = hidden, batch: int = batch,
                opt: tuple[str, Mapping[str, Any]] = opt, act: str = act,
                loss: str = loss) -> float:
            m = _network(hidden, act, loss, backend)
            h = m.fit(X, y, epochs=1, batch_size=batch, optimizer=_make_optimizer(opt),
                      loss=loss, verbose=0)
            return h.history["loss"][0]

        def warm(backend: str, hidden: int = hidden, batch: int = batch,
                 opt: tuple[str, Mapping[str, Any]] = opt, act: str = act,
                 loss: str = loss) -> None:
            m = _network(hidden, act, loss, backend)
            m.fit(X[: 4 * batch], y[: 4 * batch], epochs=1, batch_size=batch,
                  optimizer=_make_optimizer(opt), loss=loss, verbose=0)

        def check(fit: Callable[[str], float] = fit) -> None:
            ln, lr = fit("native"), fit("reference")
            if not abs(ln - lr) <= 1e-3 * max(1.0, abs(lr)):
                raise AssertionError(f"epoch losses differ: native {ln}, reference {lr}")

        name = f"MNIST 784-{hidden}-10 batch {batch} {opt[0]}"
        cases.append(Case("training", name, lambda fit=fit: fit("native"),
                          lambda fit=fit: fit("reference"), check=check,
                          flops=train_flops(hidden, len(X), X.shape[1]), items=len(X),
                          threads=threads, rounds=rounds,
                          info={"warmup": warm}))
    return cases


def thread_cases(X: NDArray[Any], y: NDArray[Any], thread_counts: Sequence[int] = (1, 2),
                 rounds: int = 2) -> list[Case]:
    """The large training configurations at each thread count (native and reference)."""
    large = [c for c in TRAINING_CONFIGS if c[0] >= 512]
    cases = []
    for t in thread_counts:
        for c in training_cases(X, y, large, threads=t, rounds=rounds):
            c.group = "threads"
            c.name = f"{c.name}, {t} thread{'s' if t > 1 else ''}"
            cases.append(c)
    return cases


def inference_cases(X: NDArray[Any], y: NDArray[Any]) -> list[Case]:
    """predict latency of a trained 784-128-10 network: one sample and 1024 samples."""
    nets = {b: _network(128, "relu", "cross_entropy", b) for b in ("native", "reference")}
    for m in nets.values():
        m.fit(X[:512], y[:512], epochs=1, batch_size=32, verbose=0)
    cases = []
    for label, rows in (("1 sample", X[:1]), ("1024 samples", X[:1024])):
        def check(rows: NDArray[Any] = rows) -> None:
            _agree(nets["native"].predict(rows), nets["reference"].predict(rows))
        cases.append(Case("inference", f"predict 784-128-10, {label}",
                          lambda rows=rows: nets["native"].predict(rows),
                          lambda rows=rows: nets["reference"].predict(rows), check=check,
                          flops=2.0 * len(rows) * (784 * 128 + 128 * 10), items=len(rows)))
    return cases


def sklearn_cases(X: NDArray[Any], y: NDArray[Any], rounds: int = 2) -> list[Case]:
    """The same MLPClassifier settings (784-100-10 relu, adam, batch 200, one epoch) with
    fastnn.sklearn against scikit-learn's own; needs scikit-learn. The two sides start
    from different random weights, so the check is that their first-epoch losses agree
    within 25 %: the same work, not the same bits."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SkMLP

    from .sklearn import MLPClassifier

    def fit(cls: type[MLPClassifier]) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return cls(hidden_layer_sizes=(100,), max_iter=1, random_state=0,
                       shuffle=True).fit(X, y).loss_curve_[0]

    def check() -> None:
        ours, theirs = fit(MLPClassifier), fit(SkMLP)
        if not abs(ours - theirs) <= 0.25 * theirs:
            raise AssertionError(f"first-epoch losses differ: fastnn {ours}, "
                                 f"scikit-learn {theirs}")

    return [Case("sklearn", "MLPClassifier 784-100-10 adam batch 200, 1 epoch",
                 lambda: fit(MLPClassifier), lambda: fit(SkMLP), check=check,
                 flops=train_flops(100, len(X), X.shape[1]), items=len(X), rounds=rounds,
                 info={"warmup": lambda side: None, "reference_name": "scikit-learn"})]


# ---------------------------------------------------------------------------- cnn

# (label, x shape (N, C, H, W), w shape (F, C, KH, KW), padding): the LeNet's two
# convolutions on MNIST at batch 64, and a CIFAR-like 3x3 "same" layer
CONV_SIZES = [
    ("MNIST conv1", (64, 1, 28, 28), (16, 1, 5, 5), 0),
    ("MNIST conv2", (64, 16, 12, 12), (32, 16, 5, 5), 0),
    ("CIFAR 3x3", (64, 32, 32, 32), (64, 32, 3, 3), 1),
]
CNN_ROWS, CNN_QUICK_ROWS = 6_000, 1_000  # rows of the LeNet epoch (numpy is slow)
LENET_BATCH = 64


def conv2d_flops(x_shape: tuple[int, int, int, int], w_shape: tuple[int, int, int, int],
                 padding: int = 0) -> float:
    """2 * N*F*C*KH*KW*OH*OW: the forward pass of a stride-1 conv2d (its backward,
    dW and dx, is twice that)."""
    n, c, h, w = x_shape
    f, _, kh, kw = w_shape
    oh, ow = h + 2 * padding - kh + 1, w + 2 * padding - kw + 1
    return 2.0 * n * f * c * kh * kw * oh * ow


def conv_kernel_cases(quick: bool = False, seed: int = 0) -> list[Case]:
    """conv2d forward and backward (dW, db and dx) at CONV_SIZES (quick: the two
    MNIST ones), and 2x2 max pooling forward and backward on (64, 32, 24, 24)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    cases = []
    for _, xs, ws, pad in CONV_SIZES[:2] if quick else CONV_SIZES:
        x = rng.standard_normal(xs).astype(f32)
        w = rng.standard_normal(ws).astype(f32)
        b = rng.standard_normal(ws[0]).astype(f32)
        y = reference.conv2d_forward(x, w, b, padding=pad)
        dy = rng.standard_normal(y.shape).astype(f32)
        shape = f"{'x'.join(map(str, xs))} * {'x'.join(map(str, ws))}"
        flops = conv2d_flops(xs, ws, pad)
        cases.append(_twin_case(f"conv2d forward {shape}", "conv2d_forward", (x, w, b),
                                {"padding": pad, "out": np.empty_like(y)}, flops,
                                lambda r, a, k: [r], group="cnn"))
        cases.append(_twin_case(f"conv2d backward {shape}", "conv2d_backward", (x, w, dy),
                                {"padding": pad, "compute_dx": True}, 2.0 * flops,
                                lambda r, a, k: list(r), group="cnn"))
    x = rng.standard_normal((64, 32, 24, 24)).astype(f32)
    y, argmax = reference.maxpool2d_forward(x, 2)
    dy = rng.standard_normal(y.shape).astype(f32)
    cases.append(_twin_case("maxpool2d 2x2 forward 64x32x24x24", "maxpool2d_forward", (x, 2),
                            {"out": np.empty_like(y), "argmax": np.empty_like(argmax)}, None,
                            lambda r, a, k: list(r), group="cnn"))
    cases.append(_twin_case("maxpool2d 2x2 backward 64x32x24x24", "maxpool2d_backward",
                            (dy, argmax, x.shape), {"out": np.empty_like(x)}, None,
                            lambda r, a, k: [r], group="cnn"))
    return cases


def lenet(backend: str = "native") -> Sequential:
    """The LeNet of the issue: two 5x5 convolutions with 2x2 max pooling, 512-128-10."""
    from .layers import Dense, Flatten
    from .layers_conv import Conv2D, MaxPool2D, Reshape
    from .model import Sequential

    return Sequential([Reshape((1, 28, 28)), Conv2D(16, 5, activation="relu"), MaxPool2D(2),
                       Conv2D(32, 5, activation="relu"), MaxPool2D(2), Flatten(),
                       Dense(128, activation="relu"), Dense(10)], seed=0, backend=backend)


def lenet_train_flops(n: int) -> float:
    """Training flops of the LeNet for n samples. Each conv and dense layer does
    F*C*KH*KW*OH*OW (dense: in*out) multiply-adds forward, as many for dW and as many
    for dx: 3x the forward, minus the first conv's dx (its input is the data). x2 for
    flops. Pooling, activations, the loss and Adam are not counted (they are a few
    flops per element, against ~25-400 multiply-adds per conv output)."""
    conv1 = 16 * 1 * 5 * 5 * 24 * 24       # 28x28 -> 24x24, pooled to 12x12
    conv2 = 32 * 16 * 5 * 5 * 8 * 8        # 12x12 -> 8x8, pooled to 4x4
    dense = 32 * 4 * 4 * 128 + 128 * 10    # 512 -> 128 -> 10
    forward = conv1 + conv2 + dense
    return 2.0 * n * (3 * forward - conv1)


def lenet_cases(X: NDArray[Any], y: NDArray[Any], threads: int | None = None,
                rounds: int = 3) -> list[Case]:
    """One epoch of the LeNet (batch 64, Adam lr 1e-3, cross-entropy) over (X, y) --
    MNIST rows of 784 pixels -- native (the fused plan) against backend="reference"
    (the per-layer numpy twins): same seed, same shuffled order, same steps; the epoch
    losses must agree. Both sides train on the same rows, so the ratio of their times
    is the ratio of their samples/s."""
    def fit(backend: str, rows: int = len(X)) -> float:
        h = lenet(backend).fit(X[:rows], y[:rows], epochs=1, batch_size=LENET_BATCH,
                               optimizer=_make_optimizer(("adam", {"lr": 1e-3})),
                               loss="cross_entropy", verbose=0)
        return h.history["loss"][0]

    def warm(backend: str) -> None:
        fit(backend, 4 * LENET_BATCH)

    def check() -> None:
        ln, lr = fit("native"), fit("reference")
        if not abs(ln - lr) <= 1e-3 * max(1.0, abs(lr)):
            raise AssertionError(f"epoch losses differ: native {ln}, reference {lr}")

    return [Case("cnn", f"MNIST LeNet batch 64 adam, {len(X):,} rows",
                 lambda: fit("native"), lambda: fit("reference"), check=check,
                 flops=lenet_train_flops(len(X)), items=len(X), threads=threads,
                 rounds=rounds, info={"warmup": warm})]


def cnn_cases(X: NDArray[Any], y: NDArray[Any], quick: bool = False,
              rounds: int | None = None) -> list[Case]:
    """The "cnn" group: conv_kernel_cases, then the LeNet epoch on the first
    CNN_ROWS rows of (X, y) (quick: CNN_QUICK_ROWS)."""
    rows = CNN_QUICK_ROWS if quick else CNN_ROWS
    return conv_kernel_cases(quick) + lenet_cases(
        X[:rows], y[:rows], rounds=rounds or (2 if quick else 3))


# --------------------------------------------------------------------------- rnn

RNN_ROWS, RNN_QUICK_ROWS = 2_000, 256  # rows of the recurrent epochs (numpy is slow)
RNN_BATCH, RNN_UNITS = 64, 128


def row_rnn(cell: str, backend: str = "native") -> Sequential:
    """MNIST read as 28 steps of 28 pixels by a GRU or LSTM of RNN_UNITS units."""
    from .layers import Dense
    from .layers_conv import Reshape
    from .layers_recurrent import GRU, LSTM
    from .model import Sequential

    layer = GRU if cell == "gru" else LSTM
    return Sequential([Reshape((28, 28)), layer(RNN_UNITS), Dense(10)], seed=0,
                      backend=backend)


def rnn_train_flops(cell: str, n: int, t: int = 28, f: int = 28, h: int = RNN_UNITS) -> float:
    """Training flops of row_rnn for n samples: per step the forward's G*H*(F+H)
    multiply-adds, as many for dW_ih and dW_hh, and G*H*H for dL/dh_{t-1} (no dx: the
    input is the data); the Dense head 3*H*10. x2 for flops. Gates, the loss and Adam
    are not counted."""
    g = 3 if cell == "gru" else 4
    per_step = g * h * (2 * (f + h) + h)
    return 2.0 * n * (t * per_step + 3 * h * 10)


def rnn_cases(X: NDArray[Any], y: NDArray[Any], quick: bool = False,
              rounds: int | None = None) -> list[Case]:
    """The "rnn" group: one epoch of row_rnn (GRU, then LSTM; batch 64, Adam lr 1e-3) on
    the first RNN_ROWS rows (quick: RNN_QUICK_ROWS), on one thread, native against
    backend="reference" (the numpy twins): same seed, order and steps; the epoch losses
    must agree."""
    rows = RNN_QUICK_ROWS if quick else RNN_ROWS
    X, y = X[:rows], y[:rows]
    cases = []
    for cell in ("gru", "lstm"):
        def fit(backend: str, n: int = len(X), cell: str = cell) -> float:
            h = row_rnn(cell, backend).fit(X[:n], y[:n], epochs=1, batch_size=RNN_BATCH,
                                           optimizer=_make_optimizer(("adam", {"lr": 1e-3})),
                                           loss="cross_entropy", verbose=0)
            return h.history["loss"][0]

        def warm(backend: str, fit: Callable[..., float] = fit) -> None:
            fit(backend, 2 * RNN_BATCH)

        def check(fit: Callable[..., float] = fit) -> None:
            ln, lr = fit("native"), fit("reference")
            if not abs(ln - lr) <= 1e-3 * max(1.0, abs(lr)):
                raise AssertionError(f"epoch losses differ: native {ln}, reference {lr}")

        cases.append(Case("rnn", f"MNIST rows {cell.upper()}({RNN_UNITS}) b{RNN_BATCH} adam, "
                          f"{len(X):,} rows", lambda fit=fit: fit("native"),
                          lambda fit=fit: fit("reference"), check=check,
                          flops=rnn_train_flops(cell, len(X)), items=len(X), threads=1,
                          rounds=rounds or (1 if quick else 3), info={"warmup": warm}))
    return cases


# --------------------------------------------------------------------------- runs


def measure(case: Case, min_time: float = 0.1) -> dict[str, Any]:
    """Check, warm up and time one case; returns its result dict."""
    previous = _threads.get_num_threads()
    if case.threads:
        _threads.set_num_threads(case.threads)
    t_ref: float | None
    try:
        if case.check:
            case.check()
        if "warmup" in case.info:  # whole epochs: alternate rounds after a short fit
            case.info["warmup"]("native")
            case.info["warmup"]("reference")
            assert case.reference is not None  # every case with a warm-up has a reference
            t_nat, t_ref = time_rounds([case.native, case.reference], case.rounds)
        else:
            t_nat = time_call(case.native, min_time)
            t_ref = time_call(case.reference, min_time) if case.reference else None
        threads = _threads.get_num_threads()
    finally:
        _threads.set_num_threads(previous)
    r = {"group": case.group, "name": case.name, "threads": threads,
         "native_s": t_nat, "reference_s": t_ref,
         "speedup": t_ref / t_nat if t_ref else None,
         "gflops": case.flops / t_nat / 1e9 if case.flops else None,
         "native_items_per_s": case.items / t_nat if case.items else None,
         "reference_items_per_s": case.items / t_ref if case.items and t_ref else None,
         "agreed": bool(case.check)}
    return r


def run(groups: Iterable[str] = GROUPS, quick: bool = False,
        data_dir: str | os.PathLike[str] | None = None,
        progress: Callable[[int, int, Case], object] | None = None) -> dict[str, Any]:
    """Run the chosen groups; returns {"machine", "sgemm_peak_gflops", "data",
    "results"}. quick: fewer sizes and configurations on 10,000 MNIST rows (under a
    minute). progress(i, n, case) is called before each case."""
    asked = set(groups)
    unknown = asked - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown benchmark group(s) {sorted(unknown)}; choose from {GROUPS}")
    groups = [g for g in GROUPS if g in asked]
    cases, data = [], None
    if "kernels" in groups:
        cases += kernel_cases(quick)
    if set(groups) & {"training", "inference", "threads", "sklearn", "cnn", "rnn"}:
        rows = 10_000 if quick else None
        if not set(groups) - {"kernels", "cnn", "rnn"}:  # only the epoch groups' rows
            rows = max(CNN_QUICK_ROWS if quick else CNN_ROWS,
                       RNN_QUICK_ROWS if quick else RNN_ROWS)
        X, y, data = load_training_data(data_dir, rows=rows)
        if "training" in groups:
            configs = [TRAINING_CONFIGS[i] for i in (0, 1, 3, 4)] if quick else None
            cases += training_cases(X, y, configs, rounds=2 if quick else 3)
        if "inference" in groups:
            cases += inference_cases(X, y)
        if "threads" in groups:
            cases += thread_cases(X, y, rounds=1 if quick else 2)
        if "sklearn" in groups:
            try:
                cases += sklearn_cases(X, y, rounds=1 if quick else 2)
            except ImportError:  # optional: scikit-learn is not a dependency
                pass
        if "cnn" in groups:
            cases += cnn_cases(X, y, quick)
        if "rnn" in groups:
            cases += rnn_cases(X, y, quick)
    results, peaks = [], {}
    for i, case in enumerate(cases):
        if progress:
            progress(i, len(cases), case)
        r = measure(case, min_time=0.05 if quick else 0.2)
        if r["gflops"] is not None:
            t = r["threads"]
            if t not in peaks:  # the peak at the thread count this case ran with
                previous = _threads.get_num_threads()
                _threads.set_num_threads(t)
                try:
                    peaks[t] = sgemm_peak(sizes=(1024,) if quick else (1024, 2048))
                finally:
                    _threads.set_num_threads(previous)
            r["sgemm_peak_share"] = r["gflops"] / peaks[t]
        results.append(r)
    threads = _threads.get_num_threads()
    if threads not in peaks:
        peaks[threads] = sgemm_peak(sizes=(1024,) if quick else (1024, 2048))
    return {"fastnn_bench": FORMAT_VERSION, "quick": bool(quick), "machine": machine_info(),
            "sgemm_peak_gflops": peaks[threads],
            "sgemm_peak_gflops_by_threads": {str(k): v for k, v in sorted(peaks.items())},
            "data": data, "results": results}


# ------------------------------------------------------------------------- output


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def _fmt_rate(v: float) -> str:
    """samples/s: thousands, with a decimal below 10k (a slow epoch is not "0k/s")."""
    return f"{v / 1e3:.1f}k/s" if v < 1e4 else f"{v / 1e3:.0f}k/s"


def format_table(report: Mapping[str, Any]) -> str:
    """The results as a plain-text table, one section per group."""
    lines = []
    m = report["machine"]
    lines.append(f"{m['cpu']}, {m['logical_cpus']} logical CPUs, ISA level {m['isa']}"
                 + (f" (emulated: numpy and BLAS held to {m['emulated']} as well)"
                    if m.get("emulated") else "") + ", "
                 f"BLAS {', '.join(b['library'] + ' ' + str(b['core_type']) for b in m['blas'])}")
    lines.append(f"fastnn {m['versions']['fastnn']}, numpy {m['versions']['numpy']}, "
                 f"threads {m['threads']}, sgemm peak "
                 + ", ".join(f"{v:.0f} GFLOP/s at {k} thread{'s' if k != '1' else ''}"
                             for k, v in report["sgemm_peak_gflops_by_threads"].items())
                 + (f", data: {report['data']}" if report.get("data") else ""))
    head = (f"{'':<46} {'native':>10} {'numpy':>10} {'speedup':>8} {'GFLOP/s':>8} "
            f"{'of peak':>7}")
    for group in GROUPS:
        rows = [r for r in report["results"] if r["group"] == group]
        if not rows:
            continue
        lines += ["", f"[{group}]" + (" (samples/s per epoch)"
                                      if group in ("training", "threads") else
                                      " (samples/s per epoch; reference: scikit-learn)"
                                      if group == "sklearn" else
                                      " (kernels: time per call; LeNet: samples/s per epoch)"
                                      if group == "cnn" else
                                      " (samples/s per epoch, 1 thread)"
                                      if group == "rnn" else ""), head]
        for r in rows:
            nat, ref = _fmt_time(r["native_s"]), _fmt_time(r["reference_s"])
            if group in ("training", "threads", "sklearn", "cnn", "rnn") and \
                    r["native_items_per_s"]:
                nat = _fmt_rate(r["native_items_per_s"])
                ref = _fmt_rate(r["reference_items_per_s"])
            sp = f"{r['speedup']:.1f}x" if r["speedup"] else "-"
            gf = f"{r['gflops']:.1f}" if r.get("gflops") is not None else "-"
            share = f"{r['sgemm_peak_share']:.0%}" if r.get("sgemm_peak_share") is not None else "-"
            lines.append(f"{r['name'][:46]:<46} {nat:>10} {ref:>10} {sp:>8} {gf:>8} {share:>7}")
    return "\n".join(lines)


def write_json(report: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    with open(path, "w") as f:
        json.dump(report, f, indent=1)


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A report written by write_json (``fastnn bench --json``)."""
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError):
        report = None
    if not isinstance(report, dict) or report.get("fastnn_bench") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a fastnn bench JSON file (format {FORMAT_VERSION})")
    return report


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Table of the cases present in both reports: native time before and after, its
    change, and the speedup over numpy in each run."""
    key: Callable[[Mapping[str, Any]], tuple[str, str, int]]
    key = lambda r: (r["group"], r["name"], r["threads"])  # noqa: E731
    before = {key(r): r for r in old["results"]}
    lines = [f"{'':<46} {'old':>10} {'new':>10} {'change':>8} {'old x':>7} {'new x':>7}"]
    for r in new["results"]:
        o = before.get(key(r))
        if not o:
            continue
        change = (r["native_s"] / o["native_s"] - 1.0) * 100.0
        fx: Callable[[float | None], str]
        fx = lambda v: f"{v:.1f}x" if v else "-"  # noqa: E731
        lines.append(f"{r['name'][:46]:<46} {_fmt_time(o['native_s']):>10} "
                     f"{_fmt_time(r['native_s']):>10} {change:>+7.1f}% "
                     f"{fx(o['speedup']):>7} {fx(r['speedup']):>7}")
    if len(lines) == 1:
        lines.append("(no case appears in both reports)")
    return "\n".join(lines)


def plot(report: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """A PNG bar chart of the speedups over numpy (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        raise ImportError("writing a chart needs matplotlib: pip install 'fastnn[plot]'") \
            from None
    rows = [r for r in report["results"] if r["speedup"]]
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.5))
    colors = {"kernels": "tab:blue", "training": "tab:green", "inference": "tab:orange",
              "threads": "tab:purple", "sklearn": "tab:red", "cnn": "tab:brown"}
    ax.barh(range(len(rows)), [r["speedup"] for r in rows],
            color=[colors[r["group"]] for r in rows])
    ax.set_yticks(range(len(rows)), [f"{r['name']}" for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x")
    ax.xaxis.set_major_formatter(fmt)
    ax.xaxis.set_minor_formatter(fmt)
    ax.tick_params(axis="x", which="both", labelsize=7)
    ax.set_xlabel("speedup over the numpy reference (same run)")
    ax.set_title(f"fastnn {report['machine']['versions']['fastnn']} on "
                 f"{report['machine']['cpu']}, {report['machine']['threads']} threads",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ += ["time_call", "time_rounds", "measure", "load_training_data", "train_flops",
            "TRAINING_CONFIGS", "CONV_SIZES", "CNN_ROWS", "CNN_QUICK_ROWS", "conv2d_flops",
            "conv_kernel_cases", "lenet", "lenet_train_flops", "lenet_cases"]
