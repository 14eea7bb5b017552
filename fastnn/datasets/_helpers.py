"""Small data helpers in plain numpy: train_test_split, one_hot, standardize."""

from __future__ import annotations

import math
import numbers
from typing import Any, SupportsFloat, SupportsIndex, cast, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["train_test_split", "one_hot", "standardize"]


def _as_array(a: ArrayLike, name: str) -> NDArray[Any]:
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"{name} must be an array with one entry per sample, got a scalar")
    if a.dtype == object:
        raise TypeError(f"{name} must be a numeric array, got dtype object")
    return a


def _rng(seed: SupportsIndex | np.random.Generator | None) -> np.random.Generator:
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, an int or a numpy Generator, got "
                        f"{type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def _n_test(test_size: SupportsFloat, n: int) -> int:
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a float in (0, 1) or an int count, got "
                        f"{type(test_size).__name__}")
    if isinstance(test_size, numbers.Integral):
        k = int(test_size)
        if not 1 <= k <= n - 1:
            raise ValueError(f"test_size={k} rows must be between 1 and {n - 1} for "
                             f"{n} samples (both parts need at least one)")
        return k
    t = float(test_size)
    if not 0.0 < t < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1) or an int count, got "
                         f"{test_size!r}")
    k = math.ceil(t * n)
    if not 1 <= k <= n - 1:
        raise ValueError(f"test_size={test_size} of {n} samples gives {k} test rows and "
                         f"{n - k} training rows; both need at least one")
    return k


def _stratified(labels: NDArray[Any], n_test: int,
                rng: np.random.Generator) -> NDArray[np.intp]:
    """Test indices drawing from each class in proportion to its size."""
    classes, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n = labels.shape[0]
    if counts.min() < 2:
        bad = classes[np.argmin(counts)]
        raise ValueError(f"cannot stratify: class {bad!r} has only 1 sample (every class "
                         "needs at least 2)")
    n_train = n - n_test
    if n_test < len(classes) or n_train < len(classes):
        raise ValueError(f"cannot stratify {len(classes)} classes into {n_train} training "
                         f"and {n_test} test rows: each part needs at least one row per "
                         "class")
    ideal = counts * (n_test / n)
    take = np.floor(ideal).astype(np.int64)
    # the rows left over go to the classes with the largest remainders (ties at random)
    left = n_test - int(take.sum())
    if left:
        order = np.lexsort((rng.random(len(classes)), -(ideal - take)))
        take[order[:left]] += 1
    test = []
    for c, k in enumerate(take):
        members = np.flatnonzero(inv == c)
        test.append(rng.permutation(members)[:k])
    return np.concatenate(test)


def train_test_split(X: ArrayLike, y: ArrayLike, test_size: float = 0.2, *,
                     seed: int | np.random.Generator | None = None, shuffle: bool = True,
                     stratify: ArrayLike | None = None
                     ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Split ``X`` and ``y`` (same number of rows) into training and test parts:
    returns ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    ``test_size``: a fraction in (0, 1) (the test part gets ``ceil(test_size * n)``
    rows) or an int number of rows. ``seed``: int, None or a numpy Generator.
    ``shuffle=False`` takes the last rows as the test part, in order. ``stratify``:
    class labels (usually ``y``) whose proportions both parts keep; needs shuffle.
    """
    X = _as_array(X, "X")
    y = _as_array(y, "y")
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]}: they must match")
    if n < 2:
        raise ValueError(f"cannot split {n} sample(s): need at least 2")
    n_test = _n_test(test_size, n)
    rng = _rng(seed)
    if not shuffle:
        if stratify is not None:
            raise ValueError("stratify needs shuffle=True")
        idx_train, idx_test = np.arange(n - n_test), np.arange(n - n_test, n)
    elif stratify is None:
        perm = rng.permutation(n)
        idx_test, idx_train = perm[:n_test], perm[n_test:]
    else:
        labels = _as_array(stratify, "stratify")
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(f"stratify must be a 1-D array of {n} labels (one per row of "
                             f"X), got shape {labels.shape}")
        idx_test = _stratified(labels, n_test, rng)
        mask = np.ones(n, bool)
        mask[idx_test] = False
        idx_train = rng.permutation(np.flatnonzero(mask))
        idx_test = rng.permutation(idx_test)
    return X[idx_train], X[idx_test], y[idx_train], y[idx_test]


def one_hot(y: ArrayLike, n_classes: SupportsIndex | None = None,
            dtype: DTypeLike = np.float32) -> NDArray[Any]:
    """One-hot rows for integer class labels: ``y`` of shape (n,) gives an array of
    shape (n, n_classes) of ``dtype`` with a 1 in column ``y[i]`` of row i.
    ``n_classes`` defaults to ``max(y) + 1``."""
    y = _as_array(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of class labels, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.size and np.isfinite(y).all() \
                and np.all(y == np.round(y)):
            raise TypeError(f"y holds class labels as {y.dtype}: convert them with "
                            "y.astype(np.int64)")
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if n_classes is None:
        if y.size == 0:
            raise ValueError("y is empty: pass n_classes to one-hot encode no labels")
        n_classes = int(y.max()) + 1
    elif isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) \
            or n_classes < 1:
        raise ValueError(f"n_classes must be an int >= 1, got {n_classes!r}")
    n_classes = int(n_classes)
    if y.size:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0:
            raise ValueError(f"y has negative label {lo}; labels must lie in "
                             f"[0, {n_classes})")
        if hi >= n_classes:
            raise ValueError(f"y has label {hi} outside [0, {n_classes}) "
                             f"(n_classes={n_classes})")
    out = np.zeros((y.shape[0], n_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def _float(X: ArrayLike, name: str) -> NDArray[Any]:
    X = _as_array(X, name)
    if X.dtype.kind == "f":
        return X
    if X.dtype.kind in "biu":
        return X.astype(np.float32)
    raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")


@overload
def standardize(X_train: ArrayLike, X_test: None = None, eps: float = 1e-8
                ) -> tuple[NDArray[Any], tuple[NDArray[Any], NDArray[Any]]]:
    ...


@overload
def standardize(X_train: ArrayLike, X_test: ArrayLike, eps: float = 1e-8
                ) -> tuple[NDArray[Any], NDArray[Any], tuple[NDArray[Any], NDArray[Any]]]:
    ...


def standardize(X_train: ArrayLike, X_test: ArrayLike | None = None, eps: float = 1e-8
                ) -> (tuple[NDArray[Any], tuple[NDArray[Any], NDArray[Any]]]
                      | tuple[NDArray[Any], NDArray[Any], tuple[NDArray[Any], NDArray[Any]]]):
    """Scale every feature (column) to mean 0 and standard deviation 1, using the
    statistics of ``X_train`` for both arrays.

    Returns ``(X_train_std, (mean, std))``, or ``(X_train_std, X_test_std, (mean, std))``
    when ``X_test`` is given, so new data is ``(X - mean) / std``. Features whose standard
    deviation is below ``eps`` (constant ones) are only centered: their ``std`` is
    reported as 1. Floating-point inputs keep their dtype; integer inputs become float32.
    The statistics are computed in float64.
    """
    X_train = _float(X_train, "X_train")
    if X_train.shape[0] == 0:
        raise ValueError("X_train is empty (0 rows)")
    eps = float(eps)
    if not eps >= 0.0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if not np.isfinite(X_train).all():
        raise ValueError("X_train contains NaN or infinity")
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std = np.where(std < eps, 1.0, std)
    dtype = X_train.dtype
    mean_t, std_t = mean.astype(dtype), std.astype(dtype)

    def apply(X: NDArray[Any]) -> NDArray[Any]:
        # (numpy types arithmetic on arrays of unknown dtype as Any)
        return cast("NDArray[Any]",
                    ((X.astype(dtype, copy=False) - mean_t) / std_t).astype(dtype, copy=False))

    out_train = apply(X_train)
    if X_test is None:
        return out_train, (mean_t, std_t)
    X_test = _float(X_test, "X_test")
    if X_test.shape[1:] != X_train.shape[1:]:
        raise ValueError(f"X_test has samples of shape {X_test.shape[1:]} but X_train has "
                         f"{X_train.shape[1:]}")
    if not np.isfinite(X_test).all():
        raise ValueError("X_test contains NaN or infinity")
    return out_train, apply(X_test), (mean_t, std_t)
