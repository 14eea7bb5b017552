"""``fit(class_weight=...)``: per-class weights turned into per-sample weights.

A sample of class c gets weight ``class_weight[c]`` (multiplied into its sample_weight
when both are given); both training paths then see plain sample weights. "balanced" is
scikit-learn's ``compute_class_weight("balanced")``: ``n_samples / (n_classes *
bincount(y))`` over the classes present in y; a dict leaves the classes it does not name
at weight 1, as scikit-learn does.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

ClassWeight = Mapping[int, float] | str | None


def class_labels(y: NDArray[Any], loss_name: str) -> tuple[NDArray[np.intp], int]:
    """(the class of each sample, the number of classes) from targets as fit prepared
    them: labels or one-hot rows for cross_entropy, 0/1 values of one output for
    binary_cross_entropy."""
    if loss_name == "cross_entropy":
        if y.ndim == 1:
            return np.asarray(y, dtype=np.intp), -1  # -1: the caller knows the outputs
        one_hot = ((y == 0) | (y == 1)).all() and (y.sum(axis=1) == 1).all()
        if not one_hot:
            raise ValueError("class_weight needs integer labels or one-hot targets; "
                             "these class probabilities are not one-hot")
        return np.argmax(y, axis=1).astype(np.intp), y.shape[1]
    if loss_name == "binary_cross_entropy":
        y2 = y.reshape(y.shape[0], -1)
        if y2.shape[1] != 1:
            raise ValueError(f"class_weight needs one binary output; the targets have "
                             f"{y2.shape[1]} columns (weight those samples with "
                             "sample_weight instead)")
        if not ((y2 == 0) | (y2 == 1)).all():
            raise ValueError("class_weight needs 0/1 targets for binary_cross_entropy")
        return y2[:, 0].astype(np.intp), 2
    raise ValueError(f"class_weight applies to the classification losses (cross_entropy, "
                     f"binary_cross_entropy), not {loss_name}")


def class_weights(class_weight: Mapping[Any, Any] | str, labels: NDArray[np.intp],
                  n_classes: int) -> NDArray[np.float64]:
    """The weight of each class 0 .. n_classes - 1 (a float64 array)."""
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be a dict, 'balanced' or None, got "
                             f"{class_weight!r}")
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        present = counts > 0
        w = np.ones(n_classes)
        w[present] = labels.shape[0] / (np.count_nonzero(present) * counts[present])
        return w
    if not isinstance(class_weight, Mapping):
        raise TypeError(f"class_weight must be a dict, 'balanced' or None, got "
                        f"{type(class_weight).__name__}")
    w = np.ones(n_classes)
    for k, v in class_weight.items():
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) \
                or not 0 <= int(k) < n_classes:
            raise ValueError(f"class_weight has class {k!r}, which is not a class of the "
                             f"targets (0 .. {n_classes - 1})")
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) \
                or not np.isfinite(float(v)) or float(v) < 0:
            raise ValueError(f"class_weight[{k!r}] must be a finite number >= 0, got {v!r}")
        w[int(k)] = float(v)
    return w


def apply_class_weight(class_weight: ClassWeight, y: NDArray[Any], loss_name: str,
                       n_outputs: int, sample_weight: NDArray[Any] | None,
                       dtype: np.dtype[Any]) -> NDArray[Any] | None:
    """The sample weights of a fit with ``class_weight`` (``sample_weight`` unchanged when
    it is None). Raises ValueError for a loss that is not a classification loss, a class
    the targets cannot have, a negative weight, or weights that leave nothing to learn."""
    if class_weight is None:
        return sample_weight
    labels, n_classes = class_labels(y, loss_name)
    if n_classes < 0:
        n_classes = n_outputs
    per_class = class_weights(class_weight, labels, n_classes)
    sw = per_class[labels]
    if sample_weight is not None:
        sw = sw * sample_weight
    sw = np.ascontiguousarray(sw, dtype=dtype)
    if not sw.sum() > 0:
        raise ValueError("class_weight (with sample_weight) gives every training sample "
                         "weight 0")
    return sw
