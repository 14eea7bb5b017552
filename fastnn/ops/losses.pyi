"""Type stubs for fastnn/ops/losses.pyx (native losses)."""

from collections.abc import Callable
from typing import Any

from numpy.typing import ArrayLike, NDArray

from .._validation import Checks

__all__ = ["mse", "softmax_cross_entropy", "binary_cross_entropy", "LOSSES"]

V: Checks

def mse(
    pred: NDArray[Any],
    target: NDArray[Any],
    *,
    sample_weight: ArrayLike | None = ...,
    grad: NDArray[Any] | None = ...,
    return_grad: bool = ...,
) -> tuple[float, NDArray[Any] | None]: ...
def softmax_cross_entropy(
    logits: NDArray[Any],
    target: NDArray[Any],
    *,
    sample_weight: ArrayLike | None = ...,
    grad: NDArray[Any] | None = ...,
    return_grad: bool = ...,
) -> tuple[float, NDArray[Any] | None]: ...
def binary_cross_entropy(
    logits: NDArray[Any],
    target: NDArray[Any],
    *,
    sample_weight: ArrayLike | None = ...,
    grad: NDArray[Any] | None = ...,
    return_grad: bool = ...,
) -> tuple[float, NDArray[Any] | None]: ...

LOSSES: dict[str, Callable[..., tuple[float, NDArray[Any] | None]]]
