"""Reference activations with numpy: forward ``y = f(x)`` and backward ``dx = dy * f'(x)``.

Every forward has the signature ``f(x[, alpha], *, out=None) -> y`` and every backward
``f_backward(dy, x, y[, alpha], *, out=None) -> dx``. A backward gets both the input
``x`` and the output ``y`` of the forward pass and uses whichever is cheaper (sigmoid
and tanh use y, relu and gelu use x). softmax and log_softmax work along the last axis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

V = Checks()

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

GELU_C = 0.7978845608028654  # sqrt(2 / pi)
GELU_K = 0.044715


def _fwd(
    x: NDArray[Any], out: NDArray[Any] | None, rows: bool = False
) -> tuple[NDArray[Any], NDArray[Any]]:
    return _inputs.activation_inputs(V, x, out, rows)


def _bwd(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], out: NDArray[Any] | None, rows: bool = False
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    return _inputs.activation_backward_inputs(V, dy, x, y, out, rows)


def identity(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    x, out = _fwd(x, out)
    out[...] = x
    return out


def identity_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    dy, x, y, out = _bwd(dy, x, y, out)
    out[...] = dy
    return out


def sigmoid(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """1 / (1 + exp(-x)), computed from exp(-|x|) so neither sign overflows."""
    x, out = _fwd(x, out)
    e = np.exp(-np.abs(x))
    out[...] = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out


def sigmoid_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    dy, x, y, out = _bwd(dy, x, y, out)
    out[...] = dy * y * (1 - y)
    return out


def tanh(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    x, out = _fwd(x, out)
    np.tanh(x, out=out)
    return out


def tanh_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    dy, x, y, out = _bwd(dy, x, y, out)
    out[...] = dy * (1 - y * y)
    return out


def relu(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    x, out = _fwd(x, out)
    np.maximum(x, 0, out=out)
    return out


def relu_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """dx = dy where x > 0, else 0 (the derivative at 0 is taken as 0)."""
    dy, x, y, out = _bwd(dy, x, y, out)
    out[...] = np.where(x > 0, dy, 0)
    return out


def leaky_relu(
    x: NDArray[Any], alpha: float = 0.01, *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """x for x >= 0, alpha * x below."""
    alpha = _inputs.alpha_input(alpha)
    x, out = _fwd(x, out)
    out[...] = np.where(x < 0, x.dtype.type(alpha) * x, x)
    return out


def leaky_relu_backward(
    dy: NDArray[Any],
    x: NDArray[Any],
    y: NDArray[Any],
    alpha: float = 0.01,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """dx = dy where x > 0, alpha * dy elsewhere."""
    alpha = _inputs.alpha_input(alpha)
    dy, x, y, out = _bwd(dy, x, y, out)
    out[...] = np.where(x > 0, dy, dy.dtype.type(alpha) * dy)
    return out


def elu(x: NDArray[Any], alpha: float = 1.0, *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    alpha = _inputs.alpha_input(alpha)
    x, out = _fwd(x, out)
    out[...] = np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))
    return out


def elu_backward(
    dy: NDArray[Any],
    x: NDArray[Any],
    y: NDArray[Any],
    alpha: float = 1.0,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """dx = dy for x > 0, dy * (y + alpha) otherwise (= dy * alpha * exp(x))."""
    alpha = _inputs.alpha_input(alpha)
    dy, x, y, out = _bwd(dy, x, y, out)
    out[...] = np.where(x > 0, dy, dy * (y + dy.dtype.type(alpha)))
    return out


def gelu(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x, out = _fwd(x, out)
    t = np.tanh(x.dtype.type(GELU_C) * (x + x.dtype.type(GELU_K) * x * x * x))
    out[...] = 0.5 * x * (1 + t)
    return out


def gelu_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    dy, x, y, out = _bwd(dy, x, y, out)
    c, k = x.dtype.type(GELU_C), x.dtype.type(GELU_K)
    t = np.tanh(c * (x + k * x * x * x))
    grad = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * k * x * x)
    out[...] = dy * grad
    return out


def softmax(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """exp(x - max) / sum(exp(x - max)) along the last axis."""
    x, out = _fwd(x, out, rows=True)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out[...] = e / e.sum(axis=-1, keepdims=True)
    return out


def softmax_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """dx = y * (dy - sum(dy * y)) along the last axis."""
    dy, x, y, out = _bwd(dy, x, y, out, rows=True)
    out[...] = y * (dy - (dy * y).sum(axis=-1, keepdims=True))
    return out


def log_softmax(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """x - max - log(sum(exp(x - max))) along the last axis."""
    x, out = _fwd(x, out, rows=True)
    shifted = x - x.max(axis=-1, keepdims=True)
    out[...] = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return out


def log_softmax_backward(
    dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """dx = dy - exp(y) * sum(dy) along the last axis."""
    dy, x, y, out = _bwd(dy, x, y, out, rows=True)
    out[...] = dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)
    return out


# name -> (forward, backward, takes_alpha); the layer floor looks activations up here.
ACTIVATIONS: dict[
    str, tuple[Callable[..., NDArray[Any]], Callable[..., NDArray[Any]], bool]
] = {
    "identity": (identity, identity_backward, False),
    "sigmoid": (sigmoid, sigmoid_backward, False),
    "tanh": (tanh, tanh_backward, False),
    "relu": (relu, relu_backward, False),
    "leaky_relu": (leaky_relu, leaky_relu_backward, True),
    "elu": (elu, elu_backward, True),
    "gelu": (gelu, gelu_backward, False),
    "softmax": (softmax, softmax_backward, False),
    "log_softmax": (log_softmax, log_softmax_backward, False),
}
