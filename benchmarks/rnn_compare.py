"""Recurrent networks: fastnn against its numpy twins (fastnn.reference) and, where
installed, PyTorch's nn.GRU / nn.LSTM -- each side timed in the same run, on the same
MNIST rows, from the same initial weights.

    python benchmarks/rnn_compare.py                 # 2,000 rows, 1 thread and 2
    python benchmarks/rnn_compare.py --rows 6000 --threads 1

The network is `fastnn bench --only rnn`'s: MNIST read as 28 steps of 28 pixels, a GRU or
LSTM of 128 units and Dense(10), softmax cross-entropy, Adam (lr 1e-3), batch 64, one
epoch with the rows in order. fastnn's recurrent layers use PyTorch's parameter names,
shapes and gate order, so PyTorch starts from fastnn's initial weights; before timing,
one epoch of each side must end with the same loss (to 1e-3), which proves both do the
same work. The first line names the CPU: paste it with any figure.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastnn  # noqa: E402
from fastnn import bench  # noqa: E402

BATCH, LR = bench.RNN_BATCH, 1e-3


def _fastnn_epoch(cell, X, y, backend):
    def epoch():
        m = bench.row_rnn(cell, backend)
        opt = fastnn.optimizers.Adam(lr=LR)
        return m.fit(X, y, epochs=1, batch_size=BATCH, optimizer=opt, loss="cross_entropy",
                     shuffle=False, verbose=0).history["loss"][0]
    return epoch


def _torch_epoch(cell, X, y):
    """One epoch of the same network in PyTorch, from fastnn's initial weights; None
    when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    model = bench.row_rnn(cell)
    model.build((784,))  # fastnn's initial weights, seed 0
    rnn_layer, dense = model.layers[1], model.layers[2]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            kind = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
            self.rnn = kind(28, bench.RNN_UNITS, batch_first=True)
            self.head = torch.nn.Linear(bench.RNN_UNITS, 10)

        def forward(self, x):
            out, _ = self.rnn(x.view(-1, 28, 28))
            return self.head(out[:, -1])

    def epoch():
        net = Net()
        with torch.no_grad():
            for k, v in rnn_layer.params.items():
                getattr(net.rnn, k).copy_(torch.from_numpy(v))
            net.head.weight.copy_(torch.from_numpy(dense.params["W"].T.copy()))
            net.head.bias.copy_(torch.from_numpy(dense.params["b"]))
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        total = 0.0
        for s in range(0, len(Xt), BATCH):
            loss = torch.nn.functional.cross_entropy(net(Xt[s:s + BATCH]), yt[s:s + BATCH])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yt[s:s + BATCH])
        return total / len(Xt)
    return epoch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    X, y, data = bench.load_training_data(rows=args.rows)
    info = fastnn._runtime.isa()
    print(f"CPU: {bench.machine_info()['cpu']}; fastnn at {info['level']}; data: {data}; "
          f"{len(X):,} rows; measured {time.strftime('%Y-%m-%d')}")
    print(f"{'case':<16} {'thr':>3} {'fastnn':>9} {'reference':>9} {'torch':>9} "
          f"{'vs ref':>7} {'vs torch':>8}")
    for threads in [int(t) for t in args.threads.split(",")]:
        fastnn.set_num_threads(threads)
        try:
            import torch
            torch.set_num_threads(threads)
        except ImportError:
            pass
        for cell in ("gru", "lstm"):
            sides = [_fastnn_epoch(cell, X, y, "native"), _fastnn_epoch(cell, X, y, "reference")]
            torch_side = _torch_epoch(cell, X, y)
            if torch_side:
                sides.append(torch_side)
            losses = [side() for side in sides]  # also the warm-up
            if not np.allclose(losses, losses[0], rtol=1e-3, atol=1e-3):
                raise AssertionError(f"{cell}: the sides' epoch losses differ: {losses}")
            best = bench.time_rounds(sides, args.rounds)
            rate = [f"{len(X) / t / 1e3:.2f}k" for t in best] + ["-"]
            vs_torch = f"{best[2] / best[0]:.2f}x" if len(best) > 2 else "-"
            print(f"{cell.upper() + '(128) b64':<16} {threads:>3} {rate[0]:>9} {rate[1]:>9} "
                  f"{rate[2]:>9} {best[1] / best[0]:>6.2f}x {vs_torch:>8}", flush=True)


if __name__ == "__main__":
    main()
