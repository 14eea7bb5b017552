"""Type stubs for fastnn/ops/layernorm.pyx (native layer normalization)."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import Checks

__all__ = ["layernorm_forward", "layernorm_backward"]

V: Checks

# Stand-ins for arrays a call does not use.
_EMPTY32: NDArray[np.float32]
_EMPTY64: NDArray[np.float64]

def layernorm_forward(
    x: NDArray[Any],
    gamma: NDArray[Any],
    beta: NDArray[Any],
    eps: float = ...,
    *,
    out: NDArray[Any] | None = ...,
    mean: NDArray[Any] | None = ...,
    inv_std: NDArray[Any] | None = ...,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]: ...
def layernorm_backward(
    dy: NDArray[Any],
    x: NDArray[Any],
    gamma: NDArray[Any],
    mean: NDArray[Any],
    inv_std: NDArray[Any],
    *,
    dx: NDArray[Any] | None = ...,
    dgamma: NDArray[Any] | None = ...,
    dbeta: NDArray[Any] | None = ...,
    compute_dx: bool = ...,
) -> tuple[NDArray[Any] | None, NDArray[Any], NDArray[Any]]: ...
