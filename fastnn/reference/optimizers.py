"""Reference optimizer updates with numpy. Every update works in place on ``param``
and its state arrays, with PyTorch's conventions for the hyperparameters.

``step`` (Adam family) is the 1-based number of the update being made, used for bias
correction. State arrays that fall below the smallest normal number are set to 0
(``_flush``): where a gradient stays 0 they decay geometrically, and subnormal numbers
make every later operation on them very slow; the change is below 1e-38. ``weight_decay`` adds ``weight_decay * param`` to the gradient (L2), except
in AdamW, where the parameter is shrunk by ``lr * weight_decay`` directly (decoupled).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["sgd_update", "adam_update", "adamw_update", "rmsprop_update", "clip_grad_norm"]

V = Checks()


def _flush(state: NDArray[Any]) -> None:
    """Set entries below the smallest normal number (subnormals) to 0, in place."""
    state[np.abs(state) < np.finfo(state.dtype).tiny] = 0


def sgd_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    velocity: NDArray[Any] | None = None,
    *,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> None:
    """SGD with optional momentum (``v = momentum * v + g``) and Nesterov look-ahead."""
    param, grad, velocity, lr, momentum, weight_decay = _inputs.sgd_inputs(
        V, param, grad, velocity, lr, momentum, weight_decay
    )
    dt = param.dtype.type
    g = grad + dt(weight_decay) * param if weight_decay else grad
    if momentum:
        velocity *= dt(momentum)
        velocity += g
        _flush(velocity)
        g = g + dt(momentum) * velocity if nesterov else velocity
    param -= dt(lr) * g


def _adam(
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
) -> None:
    param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, v_max = _inputs.adam_inputs(
        V, param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max
    )
    dt = param.dtype.type
    if decoupled:
        param *= dt(1.0 - lr * weight_decay)
        g = grad
    else:
        g = grad + dt(weight_decay) * param if weight_decay else grad
    m *= dt(beta1)
    m += dt(1.0 - beta1) * g
    _flush(m)
    v *= dt(beta2)
    v += dt(1.0 - beta2) * (g * g)
    _flush(v)
    second = v
    if amsgrad:
        assert v_max is not None  # required with amsgrad (adam_inputs)
        np.maximum(v_max, v, out=v_max)
        second = v_max
    step_size = dt(lr / (1.0 - beta1**step))
    inv_sqrt_bc2 = dt(1.0 / math.sqrt(1.0 - beta2**step))
    param -= step_size * m / (np.sqrt(second) * inv_sqrt_bc2 + dt(eps))


def adam_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    m: NDArray[Any],
    v: NDArray[Any],
    *,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    v_max: NDArray[Any] | None = None,
) -> None:
    """Adam with bias correction: ``param -= lr * m_hat / (sqrt(v_hat) + eps)``.

    With ``amsgrad`` the running maximum of v (kept in ``v_max``) replaces v.
    """
    _adam(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max, False)


def adamw_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    m: NDArray[Any],
    v: NDArray[Any],
    *,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    v_max: NDArray[Any] | None = None,
) -> None:
    """AdamW: Adam with decoupled weight decay, ``param *= 1 - lr * weight_decay`` first."""
    _adam(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max, True)


def rmsprop_update(
    param: NDArray[Any],
    grad: NDArray[Any],
    square_avg: NDArray[Any],
    *,
    lr: float = 1e-2,
    rho: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    velocity: NDArray[Any] | None = None,
    centered: bool = False,
    grad_avg: NDArray[Any] | None = None,
) -> None:
    """RMSprop: ``param -= lr * g / (sqrt(E[g^2]) + eps)``, optionally centered
    (subtracting E[g]^2) and with momentum on the scaled step."""
    (param, grad, square_avg, lr, rho, eps, weight_decay, momentum, velocity,
     grad_avg) = _inputs.rmsprop_inputs(V, param, grad, square_avg, lr, rho, eps, weight_decay,
                                        momentum, velocity, centered, grad_avg)
    dt = param.dtype.type
    g = grad + dt(weight_decay) * param if weight_decay else grad
    square_avg *= dt(rho)
    square_avg += dt(1.0 - rho) * (g * g)
    _flush(square_avg)
    if centered:
        grad_avg *= dt(rho)
        grad_avg += dt(1.0 - rho) * g
        _flush(grad_avg)
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + dt(eps)
    else:
        avg = np.sqrt(square_avg) + dt(eps)
    if momentum:
        velocity *= dt(momentum)
        velocity += g / avg
        _flush(velocity)
        param -= dt(lr) * velocity
    else:
        param -= dt(lr) * (g / avg)


def clip_grad_norm(grads: NDArray[Any] | Iterable[NDArray[Any]], max_norm: float) -> float:
    """Scale ``grads`` (an array or a list of arrays) in place so that their joint L2
    norm is at most ``max_norm``; return the norm before clipping (a float)."""
    grads, max_norm = _inputs.clip_grad_norm_inputs(V, grads, max_norm)
    total = math.sqrt(sum(float(np.dot(g.ravel().astype(np.float64), g.ravel())) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= g.dtype.type(coef)
    return total
