"""fastnn.compat against the book's own code (benchmarks/book/, MIT license).

One SGD epoch of Nielsen's chapter 1 network (784-30-10, sigmoid, quadratic cost, batch
10, eta 3.0) on MNIST's first 50,000 training rows in the book's format: `native` is
``fastnn.compat.network.Network.SGD`` (the whole call: stacking the book's list of
(x, y) columns into matrices, the book's shuffle, the fused float64 epoch); `numpy` is
the book's ``network.Network.SGD`` (benchmarks/book/network.py, per-example backprop).
A second case runs network2 with the cross-entropy cost and L2 regularization (eta 0.5,
lmbda 5.0). Both sides start from the same weights and the same random seed. Before
anything is timed, the check trains both sides for one epoch on the first 10,000 of
those rows and holds their weights equal to float64 rounding. (Not on all 50,000: this
training amplifies rounding -- the book's own algorithm started from weights changed by
1e-15 ends the 50,000-row epoch up to 0.5 away from itself -- so only the early steps
can be compared bit for bit.)

Whole runs with evaluation and all monitors, per-epoch and whole-call ratios:
benchmarks/book_speedup.py.

    FASTNN_MNIST_DIR=/path/to/mnist pytest benchmarks/test_compat.py
"""

import contextlib
import io
import random

import numpy as np
import pytest

from book_speedup import book_module
from conftest import SIDES, run_case
from fastnn import bench
from fastnn.compat import _reference as ref
from fastnn.compat import network, network2

ROWS = 50_000  # the book trains on the first 50,000 rows and validates on the rest
CHECK_ROWS = 10_000
SIZES = [784, 30, 10]
CONFIGS = {
    "network 784-30-10 batch 10 eta 3.0": ("network", {}, 10, 3.0, 0.0),
    "network2 cross-entropy 784-30-10 batch 10 eta 0.5 lmbda 5.0":
        ("network2", {"cost": "CrossEntropyCost"}, 10, 0.5, 5.0),
}


def compat_case(X, y, name):
    module_name, kwargs, batch, eta, lmbda = CONFIGS[name]
    compat = {"network": network, "network2": network2}[module_name]
    book = book_module(module_name)
    training_data = ref.as_book_data(X.astype(np.float32), y, True)
    check_data = training_data[:CHECK_ROWS]

    def fresh(module):
        np.random.seed(0)
        random.seed(0)
        return module.Network(SIZES, **{k: getattr(module, v) for k, v in kwargs.items()})

    def train(module, data):
        net = fresh(module)
        with contextlib.redirect_stdout(io.StringIO()):  # "Epoch 0 complete"
            if module_name == "network":
                net.SGD(data, 1, batch, eta)
            else:
                net.SGD(data, 1, batch, eta, lmbda=lmbda)
        return net.weights, net.biases

    def check():
        (w, b), (w_ref, b_ref) = train(compat, check_data), train(book, check_data)
        for a, e in zip(w + b, w_ref + b_ref):
            scale = float(np.abs(e).max())
            if not np.allclose(a, e, rtol=1e-8, atol=1e-10 * scale):
                raise AssertionError(f"trained weights differ: max |diff| "
                                     f"{np.abs(a - e).max()} (scale {scale})")

    def warm(side):
        if side == "native":  # one whole call: the first one also maps ~300 MB of memory
            train(compat, training_data)

    return bench.Case("compat", f"{name}, {len(X):,} MNIST rows, 1 epoch",
                      lambda: train(compat, training_data), lambda: train(book, training_data),
                      check=check, flops=bench.train_flops(30, len(X)), items=len(X), rounds=2,
                      info={"warmup": warm})


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_compat_epoch(benchmark, mnist, name, side):
    X, y, _ = mnist
    run_case(benchmark, compat_case(X[:ROWS], y[:ROWS], name), side)
