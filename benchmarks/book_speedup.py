"""fastnn.compat against the book's own programs (benchmarks/book/, MIT license): the
chapter-1 run of network.py and the chapter-3 run of network2.py with all four monitors,
on MNIST, each side in this one process with the same data and the same seeds.

    python benchmarks/book_speedup.py                # 30 epochs, as in the book
    python benchmarks/book_speedup.py --epochs 3     # fewer epochs
    python benchmarks/book_speedup.py --quick        # 2 epochs on 10,000 training rows

The data are in the book's format, as its mnist_loader makes them: 50,000 training
pairs (a (784, 1) float32 view of an image row, a one-hot (10, 1) float64 column), then
10,000 validation and 10,000 test pairs (the label an int). MNIST is read from
--data-dir or $FASTNN_MNIST_DIR.

For each run it prints the time of the whole call (stacking the lists, every epoch and
every evaluation included) and of one epoch after the first (evaluation and monitors
included; the mean from the first epoch's line to the last one's), and the book's time
over fastnn's. The first line names the CPU: paste it with the figures.
"""

import argparse
import contextlib
import importlib.util
import io
import os
import random
import sys
import time

import numpy as np

import fastnn
from fastnn import bench
from fastnn.compat import network, network2
from fastnn.datasets import load_mnist

HERE = os.path.dirname(os.path.abspath(__file__))


def book_module(name):
    """benchmarks/book/<name>.py imported as book_<name>."""
    spec = importlib.util.spec_from_file_location(f"book_{name}",
                                                  os.path.join(HERE, "book", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def book_data(data_dir, train_rows):
    """(training_data, validation_data, test_data) as the book's load_data_wrapper
    returns them, turned into lists."""
    (X, y), (X_test, y_test) = load_mnist(data_dir)
    X = np.ascontiguousarray(X.reshape(len(X), -1), np.float32)
    X_test = np.ascontiguousarray(X_test.reshape(len(X_test), -1), np.float32)

    def one_hot(j):
        e = np.zeros((10, 1))
        e[j] = 1.0
        return e

    training = list(zip([np.reshape(x, (784, 1)) for x in X[:train_rows]],
                        [one_hot(j) for j in y[:train_rows]]))
    validation = list(zip([np.reshape(x, (784, 1)) for x in X[50000:]], y[50000:]))
    test = list(zip([np.reshape(x, (784, 1)) for x in X_test], y_test))
    return training, validation, test


class EpochClock(io.StringIO):
    """stdout while a run trains: keeps what is printed and when each line starting
    with "Epoch" was written."""

    def __init__(self):
        super().__init__()
        self.marks = []

    def write(self, s):
        if s.startswith("Epoch"):
            self.marks.append(time.perf_counter())
        return super().write(s)


def timed(call):
    """Run call() with stdout captured: (seconds of the whole call, seconds per epoch
    after the first, printed text). An "Epoch j" line is printed once per epoch, at
    the same point of each, so the lines of the first and the last epoch are epochs - 1
    whole epochs apart (network prints it after the epoch's evaluation, network2 after
    its training, before its monitors)."""
    clock = EpochClock()
    start = time.perf_counter()
    with contextlib.redirect_stdout(clock):
        call()
    end = time.perf_counter()
    marks = clock.marks
    later = (marks[-1] - marks[0]) / (len(marks) - 1) if len(marks) > 1 else float("nan")
    return end - start, later, clock.getvalue()


def chapter1(module, data, epochs):
    training, _, test = data

    def call():
        np.random.seed(0)
        random.seed(0)
        net = module.Network([784, 30, 10])
        net.SGD(training, epochs, 10, 3.0, test_data=test)

    return timed(call)


def chapter3(module, data, epochs):
    training, validation, _ = data

    def call():
        np.random.seed(0)
        random.seed(0)
        net = module.Network([784, 30, 10], cost=module.CrossEntropyCost)
        net.SGD(training, epochs, 10, 0.5, lmbda=5.0, evaluation_data=validation,
                monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                monitor_training_cost=True, monitor_training_accuracy=True)

    return timed(call)


def last_lines(text, n):
    return " | ".join(line for line in text.strip().splitlines()[-n:] if line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rows", type=int, default=50000, help="training rows (<= 50,000)")
    parser.add_argument("--quick", action="store_true", help="2 epochs, 10,000 rows")
    parser.add_argument("--data-dir", default=os.environ.get("FASTNN_MNIST_DIR"))
    parser.add_argument("--threads", type=int, default=None,
                        help="fastnn's threads (default: fastnn's default, the CPUs)")
    args = parser.parse_args(argv)
    if args.threads:
        fastnn.set_num_threads(args.threads)
    if args.quick:
        args.epochs, args.rows = 2, 10000
    info = bench.machine_info()
    print(f"cpu: {info['cpu']} ({info['logical_cpus']} logical CPUs), fastnn isa "
          f"{info['isa']}, {fastnn.get_num_threads()} threads, numpy {np.__version__}")
    data = book_data(args.data_dir, min(args.rows, 50000))
    print(f"data: {len(data[0]):,} training, {len(data[1]):,} validation, "
          f"{len(data[2]):,} test pairs in the book's format; {args.epochs} epochs")
    runs = [("chapter 1: network.Network([784, 30, 10]).SGD(training_data, "
             f"{args.epochs}, 10, 3.0, test_data=test_data)", chapter1, "network", network, 1),
            ("chapter 3: network2, cross-entropy, lmbda 5.0, all four monitors",
             chapter3, "network2", network2, 5)]
    for title, run, name, compat, lines in runs:
        book_seconds, book_epoch, book_text = run(book_module(name), data, args.epochs)
        fast_seconds, fast_epoch, fast_text = run(compat, data, args.epochs)
        print(f"\n{title}")
        print(f"  {'':8} {'whole call':>11} {'per epoch after the first':>26}")
        for side, whole, epoch in (("book", book_seconds, book_epoch),
                                   ("fastnn", fast_seconds, fast_epoch)):
            print(f"  {side:8} {whole:10.2f}s {epoch:25.3f}s")
        print(f"  {'speedup':8} {book_seconds / fast_seconds:10.1f}x "
              f"{book_epoch / fast_epoch:25.1f}x")
        print(f"  book:   {last_lines(book_text, lines)}")
        print(f"  fastnn: {last_lines(fast_text, lines)}")


if __name__ == "__main__":
    sys.exit(main())
