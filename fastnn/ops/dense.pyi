"""Type stubs for fastnn/ops/dense.pyx (native fully connected layer)."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import Checks

V: Checks

# Stand-ins for the arrays a call does not use (no bias, no dx, no db).
_EMPTY32: NDArray[np.float32]
_EMPTY64: NDArray[np.float64]
_EMPTY32_2D: NDArray[np.float32]
_EMPTY64_2D: NDArray[np.float64]

def dense_forward(
    x: NDArray[Any],
    w: NDArray[Any],
    b: NDArray[Any] | None = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def dense_backward(
    x: NDArray[Any],
    w: NDArray[Any],
    dy: NDArray[Any],
    *,
    dx: NDArray[Any] | None = ...,
    dw: NDArray[Any] | None = ...,
    db: NDArray[Any] | None = ...,
    compute_dx: bool = ...,
    compute_db: bool = ...,
    accumulate: bool = ...,
) -> tuple[NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]: ...
