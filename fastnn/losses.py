"""Losses: thin classes over the loss kernels of the backend (fastnn.ops by default).

    CrossEntropy          "cross_entropy"          softmax cross-entropy from logits; targets
                                                   are integer labels (N,) or probabilities /
                                                   one-hot rows (N, C)
    MSE                   "mse"                    mean over outputs of (a - y)^2, mean over
                                                   the batch
    BinaryCrossEntropy    "binary_cross_entropy"   sigmoid cross-entropy from logits
    SquaredError          "squared_error"          the textbook quadratic cost
                                                   0.5 * sum_j (a_j - y_j)^2, mean over the batch

Each has ``value_and_grad(outputs, y, sample_weight=None) -> (loss, grad)`` (``loss`` a
Python float, the (weighted) mean over the batch; ``grad`` = d loss / d outputs) and
``value(outputs, y, sample_weight=None) -> loss``.

``fused_activation`` names the output activation whose derivative the loss absorbs:
a model ending in Softmax trained with cross-entropy computes the loss from the
Softmax's input and skips it in backprop (gradient p - y); likewise Sigmoid with binary
cross-entropy.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, cast

from numpy.typing import ArrayLike, NDArray

from . import ops as _native
from ._pickling import Picklable

__all__ = ["Loss", "CrossEntropy", "MSE", "BinaryCrossEntropy", "SquaredError", "LOSSES",
           "get_loss"]


class Loss(Picklable):
    """Base class. ``name`` is the string accepted by ``fit(loss=...)``."""

    name: str | None = None
    fused_activation: str | None = None
    _ops: ModuleType = _native

    def value_and_grad(self, outputs: NDArray[Any], y: NDArray[Any],
                       sample_weight: ArrayLike | None = None, *,
                       grad: NDArray[Any] | None = None) -> tuple[float, NDArray[Any]]:
        """``(loss, grad)`` for a batch; ``grad=`` writes the gradient into that array."""
        raise NotImplementedError

    def value(self, outputs: NDArray[Any], y: NDArray[Any],
              sample_weight: ArrayLike | None = None) -> float:
        """The loss alone (no gradient is computed)."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "name": self.name}

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | str) -> Loss:
        return get_loss(cfg["name"] if isinstance(cfg, dict) else cfg)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _KernelLoss(Loss):
    _kernel: str | None = None

    def value_and_grad(self, outputs: NDArray[Any], y: NDArray[Any],
                       sample_weight: ArrayLike | None = None, *,
                       grad: NDArray[Any] | None = None) -> tuple[float, NDArray[Any]]:
        assert self._kernel is not None  # every concrete subclass names its kernel
        return cast("tuple[float, NDArray[Any]]", getattr(self._ops, self._kernel)(
            outputs, y, sample_weight=sample_weight, grad=grad))

    def value(self, outputs: NDArray[Any], y: NDArray[Any],
              sample_weight: ArrayLike | None = None) -> float:
        assert self._kernel is not None  # every concrete subclass names its kernel
        return cast(float, getattr(self._ops, self._kernel)(
            outputs, y, sample_weight=sample_weight, return_grad=False)[0])


class CrossEntropy(_KernelLoss):
    """Softmax cross-entropy from logits (stable for any logits)."""

    name = "cross_entropy"
    fused_activation = "softmax"
    _kernel = "softmax_cross_entropy"


class MSE(_KernelLoss):
    """Mean squared error: mean over outputs and over the batch of (a - y)^2."""

    name = "mse"
    _kernel = "mse"


class BinaryCrossEntropy(_KernelLoss):
    """Sigmoid cross-entropy from logits (stable for any logits); targets in [0, 1]."""

    name = "binary_cross_entropy"
    fused_activation = "sigmoid"
    _kernel = "binary_cross_entropy"


class SquaredError(Loss):
    """The quadratic cost of the textbooks, ``0.5 * sum_j (a_j - y_j)^2`` averaged over
    the batch: the MSE value and gradient times d / 2 (d outputs per sample)."""

    name = "squared_error"

    @staticmethod
    def _half_d(outputs: NDArray[Any]) -> float:
        return 0.5 * (outputs.size // outputs.shape[0] if outputs.ndim > 1 else 1)

    def value_and_grad(self, outputs: NDArray[Any], y: NDArray[Any],
                       sample_weight: ArrayLike | None = None, *,
                       grad: NDArray[Any] | None = None) -> tuple[float, NDArray[Any]]:
        loss, g = self._ops.mse(outputs, y, sample_weight=sample_weight, grad=grad)
        k = self._half_d(outputs)
        if k != 1.0:
            g *= g.dtype.type(k)
        return loss * k, g

    def value(self, outputs: NDArray[Any], y: NDArray[Any],
              sample_weight: ArrayLike | None = None) -> float:
        loss, _ = self._ops.mse(outputs, y, sample_weight=sample_weight, return_grad=False)
        return cast(float, loss * self._half_d(outputs))


LOSSES = {cls.name: cls for cls in (CrossEntropy, MSE, BinaryCrossEntropy, SquaredError)}
_ALIASES = {
    "softmax_cross_entropy": "cross_entropy",
    "categorical_cross_entropy": "cross_entropy",
    "mean_squared_error": "mse",
    "bce": "binary_cross_entropy",
    "quadratic": "squared_error",
}


def get_loss(loss: str | Loss) -> Loss:
    """A Loss instance from a name in ``LOSSES`` (or a Loss instance, returned as is)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        key = _ALIASES.get(loss.lower(), loss.lower())
        if key in LOSSES:
            return LOSSES[key]()
        raise ValueError(f"unknown loss {loss!r}; valid names: {', '.join(LOSSES)}")
    raise TypeError(f"loss must be a name or a fastnn Loss, got {type(loss).__name__}")
