"""Metrics as plain numpy functions, and the table of the names that ``fit(metrics=...)``
and ``evaluate(metrics=...)`` take.

Classification metrics take class labels (1-D, integers, booleans or strings; floats
only when they hold whole numbers); ``top_k_accuracy`` and ``roc_auc`` take scores.
Regression metrics take arrays of one shape, (n,) or (n, outputs). Every function checks
its inputs and raises ValueError/TypeError on empty input, mismatched lengths or shapes,
NaN or infinity.

**Sample weights**: every function takes ``sample_weight=None`` (keyword only), one
non-negative finite weight per sample with a positive sum, and weights each sample's
contribution as scikit-learn's counterpart does: the weighted mean for accuracy,
top-k accuracy and the regression errors, weighted counts for precision / recall / F1 and
the confusion matrix (float64 counts unless the weights are integers or booleans), the
weighted ROC curve for ``roc_auc``, weighted sums of squares for ``r2``. scikit-learn
also accepts negative weights; fastnn raises ValueError.

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


def _weights(sample_weight: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    """The sample weights as float64 (n,), checked; None stays None."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be numeric, got dtype {w.dtype}")
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), one weight per sample, "
                         f"got {w.shape}")
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if w.min() < 0:
        raise ValueError("sample_weight must be >= 0")
    if not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum")
    return w


def _mean(values: NDArray[Any], w: NDArray[np.float64] | None) -> float:
    """The mean of values over the samples (axis 0), weighted by w."""
    return float(np.average(values, axis=0, weights=w))


def _warn(message: str) -> None:
    warnings.warn(message, UndefinedMetricWarning, stacklevel=3)


def _ratio(num: NDArray[np.float64], den: NDArray[np.float64], what: str) -> NDArray[Any]:
    """num / den, 0.0 (with a warning) where den is 0."""
    zero = den == 0
    if zero.any():
        _warn(f"{what} is ill-defined for {int(zero.sum())} label(s) and set to 0.0")
    return np.where(zero, 0.0, num / np.where(zero, 1.0, den))


# ================================================================== classification

def accuracy(y_true: ArrayLike, y_pred: ArrayLike, *,
             sample_weight: ArrayLike | None = None) -> float:
    """The fraction of samples (their share of the total weight) whose predicted label
    equals the true one."""
    t, p = _pair(y_true, y_pred)
    return _mean(t == p, _weights(sample_weight, t.shape[0]))


def top_k_accuracy(y_true: ArrayLike, scores: ArrayLike, k: int = 5, *,
                   sample_weight: ArrayLike | None = None) -> float:
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
    w = _weights(sample_weight, t.shape[0])
    if k >= c:
        _warn(f"k ({k}) >= the number of classes ({c}) gives a perfect score")
        return 1.0
    top = np.argsort(s, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return _mean((top == t.astype(np.int64)[:, None]).any(axis=1), w)


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None, *,
                     sample_weight: ArrayLike | None = None
                     ) -> NDArray[np.int64] | NDArray[np.float64]:
    """Counts (n_classes, n_classes): row = true class, column = predicted class. Labels
    are integers in [0, n_classes); ``n_classes`` defaults to the largest label + 1. With
    ``sample_weight`` each sample counts its weight: int64 counts for integer or boolean
    weights, float64 for float weights (as scikit-learn)."""
    t, p = _pair(y_true, y_pred)
    w = _weights(sample_weight, t.shape[0])
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
    counts = np.bincount(t * n + p, weights=w, minlength=n * n).reshape(n, n)
    if w is not None and np.asarray(sample_weight).dtype.kind == "f":
        return counts
    return counts.astype(np.int64)


def _counts(y_true: ArrayLike, y_pred: ArrayLike, average: str, pos_label: Any,
            sample_weight: ArrayLike | None
            ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                       NDArray[np.float64]]:
    """Per label (the sorted labels of y_true and y_pred together; for "binary" only
    pos_label): true positives, predicted count, true count (each sample counting its
    weight), and the weights of the "weighted" average (the true counts)."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)}, got {average!r}")
    t, p = _pair(y_true, y_pred)
    w = _weights(sample_weight, t.shape[0])
    if w is None:
        w = np.ones(t.shape[0])
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
    tp = np.array([w[(t == c) & (p == c)].sum() for c in labels], np.float64)
    pred = np.array([w[p == c].sum() for c in labels], np.float64)
    true = np.array([w[t == c].sum() for c in labels], np.float64)
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
              pos_label: Any = 1, *, sample_weight: ArrayLike | None = None) -> float:
    """tp / (tp + fp). ``average``: "macro" (the mean over labels), "micro" (from the
    summed counts), "weighted" (the mean weighted by each label's true count) or "binary"
    (``pos_label`` only). A label never predicted gives 0.0 with a warning."""
    tp, pred, true, w = _counts(y_true, y_pred, average, pos_label, sample_weight)
    return _average(_ratio(tp, pred, "Precision"), w, average)


def recall(y_true: ArrayLike, y_pred: ArrayLike, average: str = "macro",
           pos_label: Any = 1, *, sample_weight: ArrayLike | None = None) -> float:
    """tp / (tp + fn); ``average`` and ``pos_label`` as for :func:`precision`. A label
    that never occurs gives 0.0 with a warning."""
    tp, pred, true, w = _counts(y_true, y_pred, average, pos_label, sample_weight)
    return _average(_ratio(tp, true, "Recall"), w, average)


def f1(y_true: ArrayLike, y_pred: ArrayLike, average: str = "macro",
       pos_label: Any = 1, *, sample_weight: ArrayLike | None = None) -> float:
    """The harmonic mean of precision and recall, 2 tp / (2 tp + fp + fn) per label;
    ``average`` and ``pos_label`` as for :func:`precision`. A label neither predicted nor
    present gives 0.0 with a warning."""
    tp, pred, true, w = _counts(y_true, y_pred, average, pos_label, sample_weight)
    return _average(_ratio(2 * tp, pred + true, "F1"), w, average)


MULTI_CLASS = ("ovr", "ovo")


def _binary_auc(pos: NDArray[np.bool_], s: NDArray[np.float64],
                w: NDArray[np.float64] | None) -> float:
    """The area under the ROC curve of scores s for the positives pos (each sample
    counting its weight w): the probability that a positive outscores a negative, ties
    counting half -- the trapezoid through the tied points of the ROC curve, as
    scikit-learn's ``roc_auc_score``. NaN with a warning when one class has no weight."""
    order = np.argsort(s, kind="mergesort")
    ss = s[order]
    starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])  # groups of equal scores
    wp = np.where(pos, 1.0 if w is None else w, 0.0)[order]
    wn = np.where(pos, 0.0, 1.0 if w is None else w)[order]
    p_g, n_g = np.add.reduceat(wp, starts), np.add.reduceat(wn, starts)
    total_p, total_n = p_g.sum(), n_g.sum()
    if total_p == 0 or total_n == 0:
        _warn("Only one class is present in y_true; ROC AUC is not defined (NaN)")
        return float("nan")
    below = np.cumsum(n_g) - n_g  # negative weight scored strictly lower
    return float(np.sum(p_g * (below + 0.5 * n_g)) / (total_p * total_n))


def roc_auc(y_true: ArrayLike, scores: ArrayLike, *, sample_weight: ArrayLike | None = None,
            multi_class: str = "ovr", average: str = "macro") -> float:
    """The area under the ROC curve, higher scores meaning more likely positive. Equal
    scores count half (the trapezoid through tied points, as scikit-learn's
    ``roc_auc_score``).

    Binary: y_true in {0, 1} (or booleans), ``scores`` (n,) or (n, 1). One class only in
    y_true: NaN with a warning.

    Multiclass: ``scores`` (n, classes) with classes >= 2, y_true the column index of each
    sample's class, every class present. ``multi_class="ovr"``: each class against the
    rest, on its column; ``"ovo"``: each pair of classes on the samples of the two, the
    mean of a-vs-b on column a and b-vs-a on column b (Hand & Till, 2001; no
    ``sample_weight``, as scikit-learn). ``average="macro"``: the plain mean over the
    classes (pairs); ``"weighted"``: weighted by each class's share of the samples (its
    weight; for a pair, the share of the two). As scikit-learn, except that the scores
    need not be probabilities summing to 1: only their order within a column counts."""
    if multi_class not in MULTI_CLASS:
        raise ValueError(f"multi_class must be 'ovr' or 'ovo', got {multi_class!r}")
    if average not in ("macro", "weighted"):
        raise ValueError(f"average must be 'macro' or 'weighted', got {average!r}")
    t = _labels("y_true", y_true)
    s = _values("scores", scores)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if t.shape[0] != s.shape[0]:
        raise ValueError(f"y_true has {t.shape[0]} samples but scores has {s.shape[0]}")
    w = _weights(sample_weight, t.shape[0])
    if s.ndim == 1:
        if t.dtype.kind in "US" or not np.isin(t, (0, 1)).all():
            raise ValueError("roc_auc with one column of scores takes binary y_true: 0/1 "
                             "or booleans")
        return _binary_auc(t.astype(bool), s, w)
    c = s.shape[1]
    if t.dtype.kind in "US" or t.min() < 0 or t.max() >= c:
        raise ValueError(f"multiclass roc_auc takes y_true as column indices in [0, {c}) "
                         "of scores")
    t = t.astype(np.int64)
    absent = np.setdiff1d(np.arange(c), t)
    if absent.size:
        raise ValueError(f"y_true has no sample of class {int(absent[0])}: the multiclass "
                         f"ROC AUC needs every one of the {c} classes of scores")
    if multi_class == "ovr":
        aucs = np.array([_binary_auc(t == k, s[:, k], w) for k in range(c)])
        share: NDArray[np.float64] = np.bincount(t, weights=w, minlength=c).astype(np.float64)
    else:
        if w is not None:
            raise ValueError("sample_weight is not supported by the one-vs-one ROC AUC "
                             "(multi_class='ovo'), as in scikit-learn")
        pairs = [(a, b) for a in range(c) for b in range(a + 1, c)]
        aucs, share = np.empty(len(pairs)), np.empty(len(pairs))
        for i, (a, b) in enumerate(pairs):
            both = (t == a) | (t == b)
            aucs[i] = (_binary_auc(t[both] == a, s[both, a], None)
                       + _binary_auc(t[both] == b, s[both, b], None)) / 2
            share[i] = np.mean(both)
    return float(np.average(aucs, weights=share if average == "weighted" else None))


# ================================================================== regression

def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike, *,
                       sample_weight: ArrayLike | None = None) -> float:
    """The mean of ``(y_true - y_pred) ** 2``: over the samples (weighted by
    ``sample_weight``), then over the outputs."""
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean(np.average((t - p) ** 2, axis=0,
                                    weights=_weights(sample_weight, t.shape[0]))))


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike, *,
                        sample_weight: ArrayLike | None = None) -> float:
    """The mean of ``abs(y_true - y_pred)``: over the samples (weighted by
    ``sample_weight``), then over the outputs."""
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean(np.average(np.abs(t - p), axis=0,
                                    weights=_weights(sample_weight, t.shape[0]))))


def r2(y_true: ArrayLike, y_pred: ArrayLike, *,
       sample_weight: ArrayLike | None = None) -> float:
    """The coefficient of determination 1 - SS_res / SS_tot, per output then averaged
    (scikit-learn's ``r2_score``; with ``sample_weight`` both sums of squares weighted,
    around the weighted mean). A constant output scores 1.0 if predicted exactly, else
    0.0; fewer than two samples: NaN with a warning."""
    t, p = _regression_pair(y_true, y_pred)
    w = _weights(sample_weight, t.shape[0])
    if t.shape[0] < 2:
        _warn("R^2 is not defined with fewer than two samples (NaN)")
        return float("nan")
    wc = np.ones((t.shape[0], 1)) if w is None else w[:, None]
    ss_res = np.sum(wc * (t - p) ** 2, axis=0)
    ss_tot = np.sum(wc * (t - np.average(t, axis=0, weights=w)) ** 2, axis=0)
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
