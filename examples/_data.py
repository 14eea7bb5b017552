"""MNIST for the examples: from FASTNN_MNIST_DIR (or --data-dir), else downloaded into
fastnn's cache; --quick keeps a few thousand rows so an example runs in seconds."""

import argparse
import os

import fastnn


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default=os.environ.get("FASTNN_MNIST_DIR"),
                   help="directory of the MNIST IDX files (default: $FASTNN_MNIST_DIR, "
                        "else download into ~/.cache/fastnn/mnist)")
    p.add_argument("--quick", action="store_true", help="a small subset and one epoch")
    return p


def mnist(args, train_rows=3000, test_rows=1000):
    (X, y), (Xt, yt) = fastnn.datasets.load_mnist(args.data_dir,
                                                  download=args.data_dir is None)
    if args.quick:
        X, y, Xt, yt = X[:train_rows], y[:train_rows], Xt[:test_rows], yt[:test_rows]
    return (X, y), (Xt, yt)
