"""Native kernels vs their numpy twins, timed in the same run on the same data.

    python benchmarks/kernels.py [--threads N] [--quick]

For each kernel and size: best-of-repeats wall time per call for fastnn.ops and for
fastnn.reference, and their ratio. Both sides get identical inputs; their outputs are
checked to agree before timing, so the two sides do the same work. Warm-up calls run
before timing. Input validation (including the NaN scan) is part of both sides' time.
"""

import argparse
import time

import numpy as np

import fastnn
from fastnn import ops, reference


def _time(fn, min_time=0.2, repeats=5):
    fn()  # warm-up
    n, t = 1, 0.0
    while t < min_time / repeats:  # calls per repeat so that one repeat takes a while
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t < min_time / repeats:
            n *= 2
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def _cases(quick):
    rng = np.random.default_rng(0)
    f32 = np.float32
    sizes = [(32, 128), (256, 1024)] if quick else [(32, 128), (256, 1024), (1024, 4096)]
    for n, m in sizes:
        x = rng.standard_normal((n, m)).astype(f32)
        dy = rng.standard_normal((n, m)).astype(f32)
        for name in ("sigmoid", "tanh", "relu", "elu", "gelu", "softmax"):
            y = getattr(reference, name)(x)
            yield f"{name} fwd", (n, m), name, (x,), {"out": np.empty_like(x)}
            yield f"{name} bwd", (n, m), name + "_backward", (dy, x, y), {"out": np.empty_like(x)}
    for n, k, m in [(32, 784, 128), (256, 784, 128), (1024, 784, 1024)]:
        x = rng.standard_normal((n, k)).astype(f32)
        w = rng.standard_normal((k, m)).astype(f32)
        b = rng.standard_normal(m).astype(f32)
        dy = rng.standard_normal((n, m)).astype(f32)
        yield "dense fwd", (n, k, m), "dense_forward", (x, w, b), {"out": np.empty((n, m), f32)}
        yield "dense bwd", (n, k, m), "dense_backward", (x, w, dy), {}
    for n, c in [(32, 10), (1024, 10), (1024, 1000)]:
        z = rng.standard_normal((n, c)).astype(f32)
        lab = rng.integers(0, c, n)
        yield "softmax xent", (n, c), "softmax_cross_entropy", (z, lab), {"grad": np.empty_like(z)}
    for size in [1000, 100_000, 1_000_000]:
        p = rng.standard_normal(size).astype(f32)
        g = rng.standard_normal(size).astype(f32)
        yield "sgd momentum", (size,), "sgd_update", (p, g, np.zeros_like(p)), \
            {"lr": 0.01, "momentum": 0.9}
        yield "adam", (size,), "adam_update", (p, g, np.zeros_like(p), np.zeros_like(p)), \
            {"step": 1}
        yield "adamw", (size,), "adamw_update", (p, g, np.zeros_like(p), np.zeros_like(p)), \
            {"step": 1}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        fastnn.set_num_threads(args.threads)
    print(f"threads={fastnn.get_num_threads()}  float32  (times per call)")
    print(f"{'kernel':<14} {'shape':<18} {'native':>10} {'numpy':>10} {'speedup':>8}")
    for label, shape, fn, a, kw in _cases(args.quick):
        nat, ref = getattr(ops, fn), getattr(reference, fn)
        # Same work on both sides: in-place updates get their own copies, outputs compared.
        a_n = [x.copy() for x in a]
        a_r = [x.copy() for x in a]
        kw_n = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        kw_r = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        out_n, out_r = nat(*a_n, **kw_n), ref(*a_r, **kw_r)
        if fn.endswith("_update"):
            out_n, out_r = a_n[0], a_r[0]
        for u, v in zip(np.atleast_1d(np.asarray(out_n, dtype=object)),
                        np.atleast_1d(np.asarray(out_r, dtype=object))):
            if u is not None:
                np.testing.assert_allclose(np.asarray(u, dtype=np.float64),
                                           np.asarray(v, dtype=np.float64), rtol=2e-4, atol=2e-5)
        t_n = _time(lambda: nat(*a_n, **kw_n))
        t_r = _time(lambda: ref(*a_r, **kw_r))
        fmt = lambda t: f"{t * 1e6:8.1f}us" if t < 1e-3 else f"{t * 1e3:8.2f}ms"  # noqa: E731
        print(f"{label:<14} {str(shape):<18} {fmt(t_n):>10} {fmt(t_r):>10} {t_r / t_n:7.1f}x")


if __name__ == "__main__":
    main()
