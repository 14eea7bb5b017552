"""Metrics as plain numpy functions, and the table of the names that ``fit(metrics=...)``
and ``evaluate(metrics=...)`` take.

Classification metrics take class labels (1-D, integers, booleans or strings; floats
only when they hold whole numbers); ``top_k_accuracy`` and ``roc_auc`` take scores.
Regression metrics take arrays of one shape, (n,) or (n, outputs). Every function checks
its inputs and raises ValueError/TypeError on empty input, mismatched lengths or shapes,
NaN or infinity.

**Undefined values** follow scikit-learn's default (``zero_division="warn"``): where a
ratio has a zero denominator -- the precision of a class that is never predicted, the
recall of a class that never occurs, an F1 with neither -- the value is 0.0 and an
:class:`UndefinedMetricWarning` is issued. ``roc_auc`` with one class in ``y_true`` and
``r2`` with fewer than two samples warn and return NaN; ``top_k_accuracy`` with ``k`` at
least the number of classes warns and returns 1.0 -- as scikit-learn does.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "UndefinedMetricWarning",
    "accuracy",
    "top_k_accuracy",
    "precision",
    "recall",
    "f1",
    "confusion_matrix",
    "roc_auc",
    "mean_squared_error",
    "mean_absolute_error",
    "r2",
]

AVERAGES = ("macro", "micro", "weighted", "binary")


class UndefinedMetricWarning(UserWarning):
    """A metric's ratio had a zero denominator; the value given is 0.0 (or NaN/1.0, as
    the function documents)."""


# ================================================================== input checks

def _labels(name: str, y: ArrayLike) -> NDArray[Any]:
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    kind = a.dtype.kind
    if kind == "f":
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinity")
        frac = a != np.round(a)
        if frac.any():
            raise ValueError(f"{name} holds the non-integer value {a[np.argmax(frac)]!r}; "
                             "expected class labels")
    elif kind not in "biuUS":
        raise TypeError(f"{name} must hold class labels (integers, booleans or strings), "
                        f"got dtype {a.dtype}")
    return a


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[NDArray[Any], NDArray[Any]]:
    t, p = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"y_true has {t.shape[0]} samples but y_pred has {p.shape[0]}")
    if (t.dtype.kind in "US") != (p.dtype.kind in "US"):
        raise TypeError(f"y_true ({t.dtype}) and y_pred ({p.dtype}) mix strings and numbers")
    return t, p


def _values(name: str, y: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(y)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (n,) or (n, outputs), got {a.shape}")
    if a.shape[0] == 0 or a.size == 0:
        raise ValueError(f"{name} is empty")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return a


def _regression_pair(y_true: ArrayLike,
                     y_pred: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t, p = _values("y_true", y_true), _values("y_pred", y_pred)
    t2 = t.reshape(t.shape[0], -1)
    p2 = p.reshape(p.shape[0], -1)
    if t2.shape != p2.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    return t2, p2


def _warn(message: str) -> None:
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)


def _ratio(num: NDArray[np.float64], den: NDArray[np.float64], what: str) -> NDArray[Any]:
    """num / den, 0.0 (with a warning) where den is 0."""
    zero = den == 0
    if zero.any():
        _warn(f"{what} is ill-defined for {int(zero.sum())} label(s) and set to 0.0")
    return np.where(zero, 0.0, num / np.where(zero, 1.0, den))


# ================================================================== classification

def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The fraction of samples whose predicted label equals the true one."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def top_k_accuracy(y_true: ArrayLike, scores: ArrayLike, k: int = 5) -> float:
    """The fraction of samples whose true class is among the ``k`` highest of its row of
    ``scores`` (n, classes); ``y_true`` holds column indices. Among equal scores the higher
    column index ranks first (as scikit-learn's ``top_k_accuracy_score``)."""
    t = _labels("y_true", y_true)
    s = _values("scores", scores)
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError(f"scores must have shape (n, classes) with classes >= 2, got "
                         f"{s.shape}")
    if t.shape[0] != s.shape[0]:
        raise ValueError(f"y_true has {t.shape[0]} samples but scores has {s.shape[0]} rows")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    c = s.shape[1]
    if t.dtype.kind in "US" or t.min() < 0 or t.max() >= c:
        raise ValueError(f"y_true must hold column indices in [0, {c}) of scores")
    if k >= c:
        _warn(f"k ({k}) >= the number of classes ({c}) gives a perfect score")
        return 1.0
    top = np.argsort(s, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return float(np.mean((top == t.astype(np.int64)[:, None]).any(axis=1)))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike,
                     n_classes: int | None = None) -> NDArray[np.int64]:
    """Counts (n_classes, n_classes): row = true class, column = predicted class. Labels
    are integers in [0, n_classes); ``n_classes`` defaults to the largest label + 1."""
    t, p = _pair(y_true, y_pred)
    if t.dtype.kind in "US":
        raise TypeError("confusion_matrix takes integer labels")
    t, p = t.astype(np.int64), p.astype(np.int64)
    if min(t.min(), p.min()) < 0:
        raise ValueError("confusion_matrix takes labels >= 0")
    top = int(max(t.max(), p.max())) + 1
    if n_classes is None:
        n_classes = top
    elif isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 1:
        raise ValueError(f"n_classes must be an integer >= 1, got {n_classes!r}")
    elif top > n_classes:
        raise ValueError(f"label {top - 1} is out of range for n_classes={n_classes}")
    n = int(n_classes)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n).astype(np.int64)


def _counts(y_true: ArrayLike, y_pred: ArrayLike, average: str,
            pos_label: Any) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                     NDArray[np.float64], NDArray[np.float64]]:
    """Per label (the sorted labels of y_true and y_pred together; for "binary" only
    pos_label): true positives, predicted count, true count, and the weights."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)}, got {average!r}")
    t, p = _pair(y_true, y_pred)
    labels = np.unique(np.concatenate([t, p]))
    if average == "binary":
        if labels.shape[0] > 2:
            raise ValueError(f"average='binary' needs at most 2 labels, got "
                             f"{labels.shape[0]}; use average='macro', 'micro' or "
                             "'weighted'")
        if labels.shape[0] == 2 and pos_label not in labels.tolist():
            raise ValueError(f"pos_label={pos_label!r} is not one of the labels "
                             f"{labels.tolist()}")
        labels = np.asarray([pos_label])
    tp = np.array([np.count_nonzero((t == c) & (p == c)) for c in labels], np.float64)
    pred = np.array([np.count_nonzero(p == c) for c in labels], np.float64)
    true = np.array([np.count_nonzero(t == c) for c in labels], np.float64)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    return tp, pred, true, true.copy()


def _average(values: NDArray[Any], weights: NDArray[np.float64], average: str) -> float:
    if average == "weighted":
        total = weights.sum()
        if total == 0:
            return 0.0
        return float(np.sum(values * weights) / total)
    return float(np.mean(values))


def precision(y_true: ArrayLike, y_pred: ArrayLike, average: str = "macro",
              pos_label: Any = 1) -> float:
    """tp / (tp + fp). ``average``: "macro" (the mean over labels), "micro" (from the
    summed counts), "weighted" (the mean weighted by each label's true count) or "binary"
    (``pos_label`` only). A label never predicted gives 0.0 with a warning."""
    tp, pred, true, w = _counts(y_true, y_pred, average, pos_label)
    return _average(_ratio(tp, pred, "Precision"), w, average)


def recall(y_true: ArrayLike, y_pred: ArrayLike, average: str = "macro",
           pos_label: Any = 1) -> float:
    """tp / (tp + fn); ``average`` and ``pos_label`` as for :func:`precision`. A label
    that never occurs gives 0.0 with a warning."""
    tp, pred, true, w = _counts(y_true, y_pred, average, pos_label)
    return _average(_ratio(tp, true, "Recall"), w, average)


def f1(y_true: ArrayLike, y_pred: ArrayLike, average: str = "macro",
       pos_label: Any = 1) -> float:
    """The harmonic mean of precision and recall, 2 tp / (2 tp + fp + fn) per label;
    ``average`` and ``pos_label`` as for :func:`precision`. A label neither predicted nor
    present gives 0.0 with a warning."""
    tp, pred, true, w = _counts(y_true, y_pred, average, pos_label)
    return _average(_ratio(2 * tp, pred + true, "F1"), w, average)


def _average_ranks(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks 1..n of a's values, ties sharing the mean of their ranks."""
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.shape[0]]
    ranks = np.empty(a.shape[0], np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def roc_auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    """The area under the ROC curve of a binary problem: y_true in {0, 1} (or booleans),
    ``scores`` (n,) or (n, 1), higher meaning more likely 1. Equal scores count half (the
    trapezoid through tied points, as scikit-learn's ``roc_auc_score``). One class only in
    y_true: NaN with a warning."""
    t = _labels("y_true", y_true)
    s = _values("scores", scores)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise ValueError(f"roc_auc takes scores of shape (n,) or (n, 1), got {s.shape}")
    if t.shape[0] != s.shape[0]:
        raise ValueError(f"y_true has {t.shape[0]} samples but scores has {s.shape[0]}")
    if t.dtype.kind in "US" or not np.isin(t, (0, 1)).all():
        raise ValueError("roc_auc takes binary y_true: 0/1 or booleans")
    pos = t.astype(bool)
    n_pos = int(pos.sum())
    n_neg = pos.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        _warn("Only one class is present in y_true; ROC AUC is not defined (NaN)")
        return float("nan")
    ranks = _average_ranks(s)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


# ================================================================== regression

def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The mean of ``(y_true - y_pred) ** 2`` over every entry."""
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The mean of ``abs(y_true - y_pred)`` over every entry."""
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The coefficient of determination 1 - SS_res / SS_tot, per output then averaged
    (scikit-learn's ``r2_score``). A constant output scores 1.0 if predicted exactly, else
    0.0; fewer than two samples: NaN with a warning."""
    t, p = _regression_pair(y_true, y_pred)
    if t.shape[0] < 2:
        _warn("R^2 is not defined with fewer than two samples (NaN)")
        return float("nan")
    ss_res = np.sum((t - p) ** 2, axis=0)
    ss_tot = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    score = np.where(ss_tot == 0, np.where(ss_res == 0, 1.0, 0.0),
                     1.0 - ss_res / np.where(ss_tot == 0, 1.0, ss_tot))
    return float(np.mean(score))


# ================================================================== names for fit/evaluate

# The one list of the names fit(metrics=...) and evaluate(metrics=...) take: name ->
# (what the metric reads from the model's outputs, the function). "labels": predicted
# labels (argmax, or the threshold on one output); "topk": the outputs as class scores;
# "auc": the one output as a score; "values": the outputs themselves (regression).
# "topK_accuracy" (top3_accuracy, ...) is top_k_accuracy with that k.
NAMES: dict[str, tuple[str, Callable[..., float]]] = {
    "accuracy": ("labels", accuracy),
    "top_k_accuracy": ("topk", top_k_accuracy),
    "precision": ("labels", precision),
    "recall": ("labels", recall),
    "f1": ("labels", f1),
    "auc": ("auc", roc_auc),
    "mse": ("values", mean_squared_error),
    "mae": ("values", mean_absolute_error),
    "r2": ("values", r2),
}
_ALIASES = {"acc": "accuracy"}
_TOPK = re.compile(r"top([1-9][0-9]*)_accuracy")
TOP_K_DEFAULT = 5


def _canonical(name: object) -> str | None:
    """The metric's name as fit records it, or None if it is not one."""
    if not isinstance(name, str):
        return None
    name = _ALIASES.get(name, name)
    if name in NAMES or _TOPK.fullmatch(name):
        return name
    return None


def _valid_names() -> str:
    return ", ".join(list(NAMES) + ["topK_accuracy (e.g. top3_accuracy)"])


def _kind(name: str) -> tuple[str, Callable[..., float], int]:
    m = _TOPK.fullmatch(name)
    if m:
        return "topk", top_k_accuracy, int(m.group(1))
    kind, fn = NAMES[name]
    return kind, fn, TOP_K_DEFAULT


def _check_for_model(name: str, task: str | None, n_outputs: int) -> None:
    """Raises if the model's targets do not suit the metric (accuracy is not checked:
    it is left out of the logs for regression)."""
    kind = _kind(name)[0]
    if kind == "values" or name == "accuracy":
        return
    if task is None:
        raise ValueError(f"metric {name!r} needs classification targets (class labels, "
                         "one-hot rows or 0/1 values); these targets are regression targets")
    if kind == "topk" and task != "multiclass":
        raise ValueError(f"metric {name!r} needs several class outputs")
    if kind == "auc" and (task != "binary" or n_outputs != 1):
        raise ValueError(f"metric {name!r} needs a binary model with one output")
    if kind == "labels" and task == "binary" and n_outputs != 1:
        raise ValueError(f"metric {name!r} needs one output for binary targets, the model "
                         f"has {n_outputs}")


def _for_model(name: str, out: NDArray[Any], y: NDArray[Any], task: str | None,
               threshold: float) -> float:
    """The metric on a model's outputs ``out`` (what predict returns) and its prepared
    targets ``y`` (intp labels, or floats shaped like the outputs)."""
    kind, fn, k = _kind(name)
    n = out.shape[0]
    flat = out.reshape(n, -1)
    if kind == "values":
        if y.ndim == 1 and y.dtype.kind in "iu" and flat.shape[1] > 1:  # labels: one-hot
            target = np.zeros(flat.shape, np.float64)
            target[np.arange(n), y] = 1.0
            return fn(target, flat)
        return fn(y.reshape(n, -1), flat)
    if task == "multiclass":
        truth = y if y.ndim == 1 else y.reshape(n, -1).argmax(axis=1)
        if kind == "topk":
            return fn(truth, flat, k)
        pred = flat.argmax(axis=1)
        return fn(truth, pred) if name == "accuracy" else fn(truth, pred, average="macro")
    truth = (y.reshape(n) > 0.5).astype(np.int64)
    if kind == "auc":
        return fn(truth, flat[:, 0])
    pred = (flat[:, 0] > threshold).astype(np.int64)
    return fn(truth, pred) if name == "accuracy" else fn(truth, pred, average="binary")
