"""End-to-end MNIST training: fastnn's fused native epoch vs the numpy reference.

    python benchmarks/training.py [--threads N] [--quick] [--data-dir DIR]

Both sides are the same `Sequential` model from the same seed, trained on the same
rows in the same shuffled order for the same number of mini-batches: the native
backend runs each epoch as one fused native call, the "reference" backend runs the
per-layer numpy twins (what a from-scratch numpy network does). A warm-up fit runs
first on each side. The final losses are compared to check that the two sides did
the same work. Also measured in the same run: the best SGEMM rate this machine
reaches through SciPy's BLAS (for the GFLOP/s share) and predict latency.

Uses real MNIST from --data-dir or $FASTNN_MNIST_DIR when available, else random data
of the same shape. The timing depends on the values in one way: on AVX-512 CPUs the
first layer skips input columns that are zero in every row of a small batch (MNIST's
pixels are 80 % zeros), which dense random data does not allow. "GFLOP/s" counts the
dense products' flops, whatever was skipped.
"""

import argparse
import os
import time

import numpy as np

import fastnn
from fastnn import SGD, Adam, Dense, Sequential

CONFIGS = [  # (hidden units, batch size, optimizer factory, activation, loss)
    (30, 10, lambda: SGD(lr=3.0), "sigmoid", "squared_error"),
    (128, 32, lambda: Adam(lr=1e-3), "relu", "cross_entropy"),
    (512, 256, lambda: Adam(lr=1e-3), "relu", "cross_entropy"),
    (1024, 1024, lambda: Adam(lr=1e-3), "relu", "cross_entropy"),
]


def load_data(data_dir):
    data_dir = data_dir or os.environ.get("FASTNN_MNIST_DIR")
    if data_dir:
        try:
            from fastnn.datasets import load_mnist

            (X, y), _ = load_mnist(data_dir)
            return X, y, "MNIST"
        except Exception as e:  # noqa: BLE001 - report and fall back
            print(f"(could not load MNIST from {data_dir}: {e}; using random data)")
    rng = np.random.default_rng(0)
    return rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000), "random"


def model(hidden, act, backend, loss="cross_entropy"):
    # The textbook network (squared error) has sigmoid outputs; the others output logits.
    out = "sigmoid" if loss == "squared_error" else None
    return Sequential([Dense(hidden, activation=act), Dense(10, activation=out)], seed=0,
                      backend=backend)


def train_flops(hidden, n):
    """Multiply-adds x 2 for forward, dW and dX (no dX for the first layer)."""
    macs = 784 * hidden + hidden * 10
    return 2 * n * (3 * macs - 784 * hidden)


def timed_fit(backend, hidden, batch, opt, act, loss, X, y):
    m = model(hidden, act, backend, loss)
    m.fit(X[: batch * 4], y[: batch * 4], epochs=1, batch_size=batch, optimizer=opt(),
          loss=loss, verbose=0)  # warm-up: builds, allocates, touches the code paths
    m = model(hidden, act, backend, loss)
    t0 = time.perf_counter()
    h = m.fit(X, y, epochs=1, batch_size=batch, optimizer=opt(), loss=loss, verbose=0)
    return time.perf_counter() - t0, h.history["loss"][0]


def best_of(rounds, hidden, batch, opt, act, loss, X, y):
    """Fastest of `rounds` one-epoch fits per backend, the two backends alternating so
    that both see the same machine state (the ratio of single runs drifts by 10-20 %
    on a shared machine)."""
    best = {"native": (float("inf"), None), "reference": (float("inf"), None)}
    for _ in range(rounds):
        for backend in best:
            t, l = timed_fit(backend, hidden, batch, opt, act, loss, X, y)
            best[backend] = min(best[backend], (t, l))
    return best["native"], best["reference"]


def best_sgemm():
    """Best SGEMM GFLOP/s over a few large shapes, through fastnn.ops.gemm."""
    best, rng = 0.0, np.random.default_rng(0)
    for n in (1024, 2048):
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        out = np.empty((n, n), np.float32)
        with fastnn.config_context(check_finite=False):
            fastnn.ops.gemm(a, b, out=out)
            reps = 3
            t0 = time.perf_counter()
            for _ in range(reps):
                fastnn.ops.gemm(a, b, out=out)
            dt = (time.perf_counter() - t0) / reps
        best = max(best, 2 * n**3 / dt / 1e9)
    return best


def predict_latency(X):
    m = model(128, "relu", "native")
    m.fit(X[:256], np.zeros(256, np.int64), epochs=1, verbose=0)
    one, batch = X[:1], X[:1024]
    for label, x, reps in (("1 sample", one, 2000), ("1024 samples", batch, 50)):
        m.predict(x)
        t0 = time.perf_counter()
        for _ in range(reps):
            m.predict(x)
        print(f"predict 784-128-10, {label}: {(time.perf_counter() - t0) / reps * 1e6:.1f} us")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="10,000 rows instead of 60,000")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating timed epochs per backend; the fastest counts (3)")
    args = ap.parse_args(argv)
    if args.threads:
        fastnn.set_num_threads(args.threads)
    X, y, source = load_data(args.data_dir)
    if args.quick:
        X, y = X[:10000], y[:10000]
    peak = best_sgemm()
    print(f"{source}, {len(X)} rows, threads={fastnn.get_num_threads()}, "
          f"best sgemm {peak:.0f} GFLOP/s")
    print(f"{'network':<12} {'batch':>5} {'opt':<5} {'native/s':>11} {'numpy/s':>10} "
          f"{'speedup':>8} {'GFLOP/s':>8} {'of sgemm':>8}")
    for hidden, batch, opt, act, loss in CONFIGS:
        (t_nat, l_nat), (t_ref, l_ref) = best_of(args.rounds, hidden, batch, opt, act, loss,
                                                 X, y)
        # same model, data, order and steps: the epoch losses agree to float32 round-off
        assert abs(l_nat - l_ref) <= 1e-3 * max(1.0, abs(l_ref)), (l_nat, l_ref)
        gflops = train_flops(hidden, len(X)) / t_nat / 1e9
        name = opt().__class__.__name__
        print(f"784-{hidden}-10 {batch:>6} {name:<5} {len(X) / t_nat:>11,.0f} "
              f"{len(X) / t_ref:>10,.0f} {t_ref / t_nat:>7.1f}x {gflops:>8.1f} "
              f"{gflops / peak:>7.0%}")
    predict_latency(X)


if __name__ == "__main__":
    main()
