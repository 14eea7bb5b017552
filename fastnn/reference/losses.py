"""Reference losses with numpy. Each returns ``(loss, grad)``.

``loss`` is a Python float: the mean of the per-sample losses ``l_i``, or with
``sample_weight`` the weighted mean ``sum(w_i l_i) / sum(w_i)``. ``grad`` is
``d loss / d input`` with the input's shape and dtype (None when
``return_grad=False``); pass ``grad=`` to write it into an existing array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["mse", "softmax_cross_entropy", "binary_cross_entropy", "LOSSES"]

V = Checks()


def _row_weights(n: int, sample_weight: NDArray[Any] | None) -> NDArray[np.float64]:
    """Weights w_i / sum(w) as float64, so that loss = sum(scale_i * l_i)."""
    if sample_weight is None:
        return np.full(n, 1.0 / n)
    sw = sample_weight.astype(np.float64)
    return cast("NDArray[np.float64]", sw / sw.sum())


def _per_sample(a: NDArray[Any]) -> NDArray[Any]:
    """View (n, d): the per-sample elements of a (n,) or (n, d) array."""
    return a.reshape(a.shape[0], -1)


def mse(
    pred: NDArray[Any],
    target: NDArray[Any],
    *,
    sample_weight: ArrayLike | None = None,
    grad: NDArray[Any] | None = None,
    return_grad: bool = True,
) -> tuple[float, NDArray[Any] | None]:
    """Mean squared error: ``l_i = mean_j (pred_ij - target_ij)^2``."""
    pred, target, sw, grad = _inputs.mse_inputs(V, pred, target, sample_weight, grad, return_grad)
    p, t = _per_sample(pred), _per_sample(target)
    n, d = p.shape
    scale = _row_weights(n, sw)
    diff = p - t
    per_row = (diff * diff).sum(axis=1, dtype=np.float64) / d
    loss = float(scale @ per_row)
    if grad is not None:
        _per_sample(grad)[...] = diff * (2.0 / d * scale).astype(pred.dtype)[:, None]
    return loss, grad


def softmax_cross_entropy(
    logits: NDArray[Any],
    target: NDArray[Any],
    *,
    sample_weight: ArrayLike | None = None,
    grad: NDArray[Any] | None = None,
    return_grad: bool = True,
) -> tuple[float, NDArray[Any] | None]:
    """Cross-entropy of softmax(logits), fused so that it is stable for any logits.

    ``target`` is integer class labels (n,) or class probabilities (n, classes).
    ``l_i = sum_j t_ij (logsumexp(z_i) - z_ij)`` (for labels: ``lse - z_i,y``);
    the gradient is ``(softmax(z_i) * sum_j t_ij - t_i) * w_i / sum(w)``.
    """
    logits, target, sw, grad = _inputs.softmax_cross_entropy_inputs(
        V, logits, target, sample_weight, grad, return_grad
    )
    n, c = logits.shape
    scale = _row_weights(n, sw)
    zmax = logits.max(axis=1, keepdims=True)
    gap = zmax - logits  # >= 0; lse - z = gap + log(s), kept apart so no digits are lost
    e = np.exp(-gap)
    s = e.sum(axis=1, keepdims=True)
    log_s = np.log(s)[:, 0].astype(np.float64)
    if target.ndim == 1:
        rows = np.arange(n)
        per_row = log_s + gap[rows, target]
        tsum = np.ones(n, dtype=logits.dtype)
    else:
        tsum = target.sum(axis=1)
        per_row = log_s * tsum + (target * gap).sum(axis=1, dtype=np.float64)
    loss = float(scale @ per_row)
    if grad is not None:
        g = (e / s) * tsum[:, None]
        if target.ndim == 1:
            g[rows, target] -= 1
        else:
            g -= target
        grad[...] = g * scale.astype(logits.dtype)[:, None]
    return loss, grad


def binary_cross_entropy(
    logits: NDArray[Any],
    target: NDArray[Any],
    *,
    sample_weight: ArrayLike | None = None,
    grad: NDArray[Any] | None = None,
    return_grad: bool = True,
) -> tuple[float, NDArray[Any] | None]:
    """Binary cross-entropy of sigmoid(logits), from logits, stable for any logits.

    ``l_i = mean_j [max(z, 0) - z t + log(1 + exp(-|z|))]``; the gradient is
    ``(sigmoid(z) - t) / d * w_i / sum(w)`` where d is the number of outputs per sample.
    """
    logits, target, sw, grad = _inputs.binary_cross_entropy_inputs(
        V, logits, target, sample_weight, grad, return_grad
    )
    z, t = _per_sample(logits), _per_sample(target)
    n, d = z.shape
    scale = _row_weights(n, sw)
    elem = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    per_row = elem.sum(axis=1, dtype=np.float64) / d
    loss = float(scale @ per_row)
    if grad is not None:
        e = np.exp(-np.abs(z))
        sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        _per_sample(grad)[...] = (sig - t) * (scale / d).astype(logits.dtype)[:, None]
    return loss, grad


LOSSES: dict[str, Callable[..., tuple[float, NDArray[Any] | None]]] = {
    "mse": mse,
    "softmax_cross_entropy": softmax_cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
}
