"""Type stubs for fastnn/ops/pool.pyx (native 2-D pooling)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import Checks

__all__ = ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward",
           "avgpool2d_backward", "global_avgpool_forward", "global_avgpool_backward",
           "time_avgpool_forward", "time_avgpool_backward"]

V: Checks

def variants() -> dict[str, Any]: ...
def maxpool2d_forward(
    x: NDArray[Any],
    pool_size: int | Sequence[int],
    stride: int | Sequence[int] | None = ...,
    *,
    out: NDArray[Any] | None = ...,
    argmax: NDArray[np.intp] | None = ...,
) -> tuple[NDArray[Any], NDArray[np.intp]]: ...
def maxpool2d_backward(
    dy: NDArray[Any],
    argmax: NDArray[np.intp],
    x_shape: Sequence[int],
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def avgpool2d_forward(
    x: NDArray[Any],
    pool_size: int | Sequence[int],
    stride: int | Sequence[int] | None = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def avgpool2d_backward(
    dy: NDArray[Any],
    x_shape: Sequence[int],
    pool_size: int | Sequence[int],
    stride: int | Sequence[int] | None = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def global_avgpool_forward(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def global_avgpool_backward(
    dy: NDArray[Any], x_shape: Sequence[int], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def time_avgpool_forward(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def time_avgpool_backward(
    dy: NDArray[Any], steps: int, *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
