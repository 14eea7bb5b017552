"""Datasets for fastnn: IDX files, MNIST, the embedded 8x8 digits, and small helpers.

    load_idx(path)                       an IDX file (gzip or raw) as a numpy array
    load_mnist(data_dir=None, download=False, *, verify=True, mirrors=None)
                                         (X_train, y_train), (X_test, y_test): float32
                                         (n, 784) in [0, 1], int64 labels
    load_digits()                        (X, y): the UCI 8x8 digits shipped in the package,
                                         float32 (1797, 64) in [0, 1], int64 labels
    train_test_split(X, y, test_size=0.2, *, seed=None, shuffle=True, stratify=None)
    one_hot(y, n_classes=None, dtype=np.float32)
    standardize(X_train, X_test=None, eps=1e-8)
    DatasetError                         (ValueError) a missing, damaged or foreign file
    mnist_cache_dir()                    where load_mnist caches downloads

Nothing here touches the network unless ``load_mnist(download=True)`` is called.
"""

from ._digits import load_digits
from ._errors import DatasetError
from ._helpers import one_hot, standardize, train_test_split
from ._idx import load_idx
from ._mnist import load_mnist, mnist_cache_dir

__all__ = [
    "load_idx",
    "load_mnist",
    "load_digits",
    "train_test_split",
    "one_hot",
    "standardize",
    "DatasetError",
    "mnist_cache_dir",
]
