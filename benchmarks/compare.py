"""fastnn against the plain numpy trainer (benchmarks/plain_numpy.py), fastnn.reference
and, where installed, PyTorch -- each side timed in the same run, on the same MNIST rows.

    python benchmarks/compare.py                  # every case, 1 thread and 2
    python benchmarks/compare.py --isa avx2       # fastnn forced to a lower level (on an
                                                  # AVX-512 CPU numpy and BLAS held to AVX2
                                                  # too: an emulated AVX2 machine)
    python benchmarks/compare.py --quick          # 10,000 rows

The first lines name the CPU and the instruction-set level fastnn ran at: paste them
with any figure. The speed targets of the docs' performance page are the "vs plain"
column: a hand-written numpy loop is what fastnn has to beat.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import plain_numpy  # noqa: E402

import fastnn  # noqa: E402
from fastnn import bench  # noqa: E402

# (label, hidden, batch, kind): "sgd" = the book's sigmoid network with plain SGD,
# "adam" = ReLU + softmax cross-entropy with Adam
CASES = [
    ("784-30-10, batch 10, SGD", 30, 10, "sgd"),
    ("784-128-10, batch 32, Adam", 128, 32, "adam"),
    ("784-128-10, batch 128, Adam", 128, 128, "adam"),
    ("784-1024-10, batch 1024, Adam", 1024, 1024, "adam"),
]


def _fastnn_epoch(X, y, hidden, batch, kind, backend):
    if kind == "sgd":
        m = bench._network(hidden, "sigmoid", "squared_error", backend)
        opt, loss = fastnn.optimizers.SGD(lr=3.0), "squared_error"
    else:
        m = bench._network(hidden, "relu", "cross_entropy", backend)
        opt, loss = fastnn.optimizers.Adam(lr=1e-3), "cross_entropy"
    return lambda: m.fit(X, y, epochs=1, batch_size=batch, optimizer=opt, loss=loss,
                         verbose=0).history["loss"][0]


def _plain_epoch(X, y, hidden, batch, kind):
    params = plain_numpy.init(X.shape[1], hidden, 10)
    if kind == "sgd":
        return lambda: plain_numpy.train_sgd_sigmoid(params, X, y, batch, 3.0)
    state = []
    return lambda: plain_numpy.train_adam_relu(params, state, X, y, batch)


def _torch_epoch(X, y, hidden, batch, kind):
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    act = torch.nn.Sigmoid() if kind == "sgd" else torch.nn.ReLU()
    layers = [torch.nn.Linear(X.shape[1], hidden), act, torch.nn.Linear(hidden, 10)]
    if kind == "sgd":
        layers.append(torch.nn.Sigmoid())
    net = torch.nn.Sequential(*layers)
    opt = (torch.optim.SGD(net.parameters(), lr=3.0) if kind == "sgd"
           else torch.optim.Adam(net.parameters(), lr=1e-3))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    Yt = torch.nn.functional.one_hot(yt, 10).float()

    def epoch():
        order = torch.randperm(len(Xt))
        for s in range(0, len(Xt), batch):
            idx = order[s:s + batch]
            out = net(Xt[idx])
            loss = (0.5 * ((out - Yt[idx]) ** 2).sum(1).mean() if kind == "sgd"
                    else torch.nn.functional.cross_entropy(out, yt[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return epoch


def _predict_latency(X, y):
    """Best time of a 1-row predict of a trained 784-128-10 network, fastnn and plain."""
    m = bench._network(128, "relu", "cross_entropy", "native")
    m.fit(X[:512], y[:512], epochs=1, batch_size=32, verbose=0)
    W1, c1 = m.layers[0].params["W"], m.layers[0].params["b"]
    W2, c2 = m.layers[1].params["W"], m.layers[1].params["b"]
    params = [W1, c1, W2, c2]
    row = X[:1]
    if not np.array_equal(m.predict(row).argmax(1), plain_numpy.predict(params, row).argmax(1)):
        raise AssertionError("fastnn and the plain trainer disagree on the prediction")
    return (bench.time_call(lambda: m.predict(row), 0.3),
            bench.time_call(lambda: plain_numpy.predict(params, row), 0.3))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 rows instead of 60,000")
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--isa", default=None, help="force fastnn to this level (avx2, generic...)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=None, help="substring of the case labels to run")
    args = ap.parse_args(argv)
    if args.isa:
        bench.rerun_emulating(args.isa, [sys.executable, os.path.abspath(__file__),
                                         *(sys.argv[1:] if argv is None else argv)])
        fastnn.set_config(isa=args.isa)
    X, y, data = bench.load_training_data(rows=10_000 if args.quick else None)
    info = fastnn._runtime.isa()
    emulated = bench.emulated_level()
    print(f"CPU: {bench.machine_info()['cpu']}; fastnn at {info['level']} "
          f"(detected {info['detected']}); gemm variant "
          f"{fastnn.ops.matmul.own_kernels() or 'BLAS'}; data: {data}")
    if emulated:
        print(f"EMULATED {emulated} machine: numpy and OpenBLAS held to {emulated} as well "
              f"(BLAS core type {bench.machine_info()['blas'][0]['core_type']})")
    head = (f"{'case':<34} {'thr':>3} {'fastnn':>9} {'plain':>9} {'reference':>9} "
            f"{'torch':>9} {'vs plain':>8} {'vs ref':>7}")
    print(head)
    for threads in [int(t) for t in args.threads.split(",")]:
        fastnn.set_num_threads(threads)
        try:
            import torch
            torch.set_num_threads(threads)
        except ImportError:
            pass
        for label, hidden, batch, kind in CASES:
            if args.only and args.only not in label:
                continue
            sides = [_fastnn_epoch(X, y, hidden, batch, kind, "native"),
                     _plain_epoch(X, y, hidden, batch, kind),
                     _fastnn_epoch(X, y, hidden, batch, kind, "reference")]
            torch_side = _torch_epoch(X, y, hidden, batch, kind)
            if torch_side:
                sides.append(torch_side)
            best = bench.time_rounds(sides, args.rounds)
            n = len(X)
            rate = [f"{n / t / 1e3:.1f}k" for t in best] + ["-"] * (4 - len(best))
            print(f"{label:<34} {threads:>3} {rate[0]:>9} {rate[1]:>9} {rate[2]:>9} "
                  f"{rate[3]:>9} {best[1] / best[0]:>7.1f}x {best[2] / best[0]:>6.1f}x",
                  flush=True)
    fastnn.set_num_threads(1)
    t_fast, t_plain = _predict_latency(X, y)
    print(f"1-row predict 784-128-10: fastnn {t_fast * 1e6:.1f} us, plain numpy "
          f"{t_plain * 1e6:.1f} us (1 thread)")
    print(f"sgemm peak (1 thread): {bench.sgemm_peak(sizes=(1024,)):.0f} GFLOP/s; "
          f"measured {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
