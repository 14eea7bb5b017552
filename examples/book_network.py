"""The network of chapter 1 of Michael Nielsen's "Neural Networks and Deep Learning",
run unchanged through fastnn's drop-in: only the import differs from the book.

The book's mnist_loader reads a pickled copy of MNIST; here the same lists are made
from the IDX files in the book's format, the way its load_data_wrapper makes them:
each training input a (784, 1) float32 view of its image's row, with a one-hot (10, 1)
target; test inputs likewise, with integer labels. (fastnn.compat trains on those rows
as they are, without a float64 copy.)

    python examples/book_network.py [--data-dir DIR] [--quick]
"""

import numpy as np

from _data import mnist, parser

args = parser(__doc__.splitlines()[0]).parse_args()
(X, y), (Xt, yt) = mnist(args, train_rows=5000, test_rows=1000)


def vectorized_result(j):  # as in the book's mnist_loader
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


X = np.ascontiguousarray(X.reshape(len(X), 784), dtype=np.float32)
Xt = np.ascontiguousarray(Xt.reshape(len(Xt), 784), dtype=np.float32)
training_data = [(np.reshape(x, (784, 1)), vectorized_result(label)) for x, label in zip(X, y)]
test_data = [(np.reshape(x, (784, 1)), int(label)) for x, label in zip(Xt, yt)]

# ---- the book's lines, unchanged but for the import ----
from fastnn.compat import network   # was: import network  # noqa: E402

net = network.Network([784, 30, 10])
net.SGD(training_data, 1 if args.quick else 30, 10, 3.0, test_data=test_data)
