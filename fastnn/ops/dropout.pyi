"""Type stubs for fastnn/ops/dropout.pyx (native inverted dropout)."""

from typing import Any

from numpy.typing import NDArray

from .._validation import Checks

__all__ = ["dropout_forward", "dropout_backward"]

V: Checks

def dropout_forward(
    x: NDArray[Any],
    rate: float,
    seed: int,
    offset: int = ...,
    *,
    out: NDArray[Any] | None = ...,
    mask: NDArray[Any] | None = ...,
) -> tuple[NDArray[Any], NDArray[Any]]: ...
def dropout_backward(
    dy: NDArray[Any], mask: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
