"""Type stubs for fastnn/ops/activations.pyx (native activations)."""

from collections.abc import Callable
from typing import Any

from numpy.typing import NDArray

from .._validation import Checks

__all__ = [
    "identity",
    "identity_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "elu",
    "elu_backward",
    "gelu",
    "gelu_backward",
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "ACTIVATIONS",
]

V: Checks

def identity(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def identity_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def sigmoid(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def sigmoid_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def tanh(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def tanh_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def relu(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def relu_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def leaky_relu(
    x: NDArray[Any], alpha: float = ..., *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def leaky_relu_backward(
    dy: NDArray[Any],
    x: NDArray[Any],
    y: NDArray[Any],
    alpha: float = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def elu(x: NDArray[Any], alpha: float = ..., *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def elu_backward(
    dy: NDArray[Any],
    x: NDArray[Any],
    y: NDArray[Any],
    alpha: float = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def gelu(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def gelu_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def softmax(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def softmax_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def log_softmax(x: NDArray[Any], *, out: NDArray[Any] | None = ...) -> NDArray[Any]: ...
def log_softmax_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...

# name -> (forward, backward, takes_alpha), as in fastnn.reference.activations.
ACTIVATIONS: dict[
    str, tuple[Callable[..., NDArray[Any]], Callable[..., NDArray[Any]], bool]
]

# The C enum code of each activation, for the layers' native plan.
ACTIVATION_CODES: dict[str, int]
