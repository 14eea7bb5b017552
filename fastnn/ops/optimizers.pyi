"""Type stubs for fastnn/ops/optimizers.pyx (native optimizer updates)."""

from collections.abc import Iterable
from typing import Any, overload

from numpy.typing import NDArray

from .._validation import Checks

__all__ = ["sgd_update", "adam_update", "adamw_update", "rmsprop_update", "clip_grad_norm"]

V: Checks

def variants() -> dict[str, Any]: ...
@overload
def _flat(a: NDArray[Any]) -> NDArray[Any]: ...
@overload
def _flat(a: None) -> None: ...
def sgd_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    velocity: NDArray[Any] | None = ...,
    *,
    lr: float,
    momentum: float = ...,
    nesterov: bool = ...,
    weight_decay: float = ...,
) -> None: ...
def _adam_family(
    param: NDArray[Any],
    grad: NDArray[Any],
    m: NDArray[Any],
    v: NDArray[Any],
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    v_max: NDArray[Any] | None,
    decoupled: bool,
) -> None: ...
def adam_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    m: NDArray[Any],
    v: NDArray[Any],
    *,
    step: int,
    lr: float = ...,
    beta1: float = ...,
    beta2: float = ...,
    eps: float = ...,
    weight_decay: float = ...,
    amsgrad: bool = ...,
    v_max: NDArray[Any] | None = ...,
) -> None: ...
def adamw_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    m: NDArray[Any],
    v: NDArray[Any],
    *,
    step: int,
    lr: float = ...,
    beta1: float = ...,
    beta2: float = ...,
    eps: float = ...,
    weight_decay: float = ...,
    amsgrad: bool = ...,
    v_max: NDArray[Any] | None = ...,
) -> None: ...
def rmsprop_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    square_avg: NDArray[Any],
    *,
    lr: float = ...,
    rho: float = ...,
    eps: float = ...,
    weight_decay: float = ...,
    momentum: float = ...,
    velocity: NDArray[Any] | None = ...,
    centered: bool = ...,
    grad_avg: NDArray[Any] | None = ...,
) -> None: ...
def clip_grad_norm(grads: NDArray[Any] | Iterable[NDArray[Any]], max_norm: float) -> float: ...
