"""Reference layer normalization with numpy, over the last axis (the features) of x.

x of shape (..., D) is viewed as (R, D) rows; each row's statistics run over its D
values, in float64 like the native kernel. The per-element formulas are evaluated in
x's dtype with the same grouping as the native kernel, so the twins agree to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["layernorm_forward", "layernorm_backward"]

V = Checks()


def layernorm_forward(
    x: NDArray[Any],
    gamma: NDArray[Any],
    beta: NDArray[Any],
    eps: float = 1e-5,
    *,
    out: NDArray[Any] | None = None,
    mean: NDArray[Any] | None = None,
    inv_std: NDArray[Any] | None = None,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Layer normalization of x (..., D) over its last axis, as PyTorch's
    ``nn.LayerNorm(D)``.

    Per row (x viewed as (R, D)): the mean and the biased variance of its D values (sums
    in float64), ``inv_std = 1 / sqrt(var + eps)`` and
    ``y = (x - mean) * inv_std * gamma + beta`` with gamma, beta of shape (D,).

    Returns ``(y, mean, inv_std)``; mean and inv_std (R,) are what layernorm_backward
    needs. out may be x.
    """
    x, (r, d), gamma, beta, eps, out, mean, inv_std = _inputs.layernorm_inputs(
        V, x, gamma, beta, eps, out, mean, inv_std)
    x2 = x.reshape(r, d)
    mean64 = x2.sum(axis=1, dtype=np.float64) / d
    var64 = ((x2 - mean64[:, None]) ** 2).sum(axis=1) / d  # biased
    mean[...] = mean64
    inv_std[...] = 1.0 / np.sqrt(var64 + eps)
    # y = ((x - mean) * inv_std) * gamma + beta, in x's dtype (out may be x itself)
    y2 = out.reshape(r, d)
    np.subtract(x2, mean[:, None], out=y2)
    y2 *= inv_std[:, None]
    y2 *= gamma
    y2 += beta
    return out, mean, inv_std


def layernorm_backward(
    dy: NDArray[Any],
    x: NDArray[Any],
    gamma: NDArray[Any],
    mean: NDArray[Any],
    inv_std: NDArray[Any],
    *,
    dx: NDArray[Any] | None = None,
    dgamma: NDArray[Any] | None = None,
    dbeta: NDArray[Any] | None = None,
    compute_dx: bool = True,
) -> tuple[NDArray[Any] | None, NDArray[Any], NDArray[Any]]:
    """Gradients of layernorm_forward given ``dy = dL/dy``, from the mean and inv_std it
    returned. Returns ``(dx, dgamma, dbeta)`` with ``xhat = (x - mean) * inv_std`` and
    ``g = dy * gamma``: ``dgamma = sum(dy * xhat)`` and ``dbeta = sum(dy)`` over the rows
    (float64 sums), and per row over its D values
    ``dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))`` (None unless compute_dx;
    dx may be dy).
    """
    dy, x, (r, d), gamma, mean, inv_std, dx, dgamma, dbeta = \
        _inputs.layernorm_backward_inputs(V, dy, x, gamma, mean, inv_std, dx, dgamma, dbeta,
                                          compute_dx)
    x2, dy2 = x.reshape(r, d), dy.reshape(r, d)
    mean64, inv64 = mean.astype(np.float64), inv_std.astype(np.float64)
    centered = x2 - mean64[:, None]
    # the column sums over the rows, in float64
    dy64 = dy2.astype(np.float64)
    dbeta[...] = dy64.sum(axis=0)
    dgamma[...] = (dy64 * (centered * inv64[:, None])).sum(axis=0)
    if dx is None or r == 0:
        return dx, dgamma, dbeta
    # The textbook dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)), regrouped as
    # a * (dy * gamma) + b * (x - mean) + c0 with per-row coefficients (computed in
    # float64, applied in x's dtype), as the native kernel does.
    g64 = dy64 * gamma.astype(np.float64)
    sum_g = g64.sum(axis=1)
    sum_gx = (g64 * centered).sum(axis=1)
    k = inv64 / d
    dt = x.dtype
    a = inv64.astype(dt)[:, None]
    b = (-k * inv64 * inv64 * sum_gx).astype(dt)[:, None]
    c0 = (-k * sum_g).astype(dt)[:, None]
    shifted = (x2 - mean[:, None]) * b  # computed before dx overwrites dy (dx may be dy)
    dx2 = dx.reshape(r, d)
    np.multiply(dy2, gamma, out=dx2)
    dx2 *= a
    dx2 += shifted
    dx2 += c0
    return dx, dgamma, dbeta
