"""Type stubs for fastnn/ops/batchnorm.pyx (native batch normalization)."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._validation import Checks

__all__ = ["batchnorm_forward", "batchnorm_backward"]

V: Checks

# Stand-ins for arrays a call does not use.
_EMPTY32: NDArray[np.float32]
_EMPTY64: NDArray[np.float64]

def batchnorm_forward(
    x: NDArray[Any],
    gamma: NDArray[Any],
    beta: NDArray[Any],
    running_mean: NDArray[Any] | None,
    running_var: NDArray[Any] | None,
    momentum: float = ...,
    eps: float = ...,
    training: bool = ...,
    *,
    out: NDArray[Any] | None = ...,
    mean: NDArray[Any] | None = ...,
    inv_std: NDArray[Any] | None = ...,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]: ...
def batchnorm_backward(
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
