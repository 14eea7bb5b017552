"""Reference batch normalization with numpy, over the channels (axis 1) of x (N, C) or
(N, C, *spatial).

x is viewed as (N, C, S) (S the spatial size, 1 for 2-D input); each channel's
statistics run over its M = N * S values, in float64 like the native kernel. The
per-element formulas are evaluated in x's dtype with the same grouping as the native
kernel, so the twins agree to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["batchnorm_forward", "batchnorm_backward"]

V = Checks()


def _per_channel(v: NDArray[Any]) -> NDArray[Any]:
    """A (C,) array shaped to broadcast against x viewed as (N, C, S)."""
    return v[None, :, None]


def batchnorm_forward(
    x: NDArray[Any],
    gamma: NDArray[Any],
    beta: NDArray[Any],
    running_mean: NDArray[Any] | None,
    running_var: NDArray[Any] | None,
    momentum: float = 0.1,
    eps: float = 1e-5,
    training: bool = True,
    *,
    out: NDArray[Any] | None = None,
    mean: NDArray[Any] | None = None,
    inv_std: NDArray[Any] | None = None,
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Batch normalization of x (N, C) or (N, C, *spatial) over its channels (axis 1).

    Training: per channel, the mean and the biased variance of its M = N * S values
    (S the spatial size; sums in float64), ``inv_std = 1 / sqrt(var + eps)`` and
    ``y = (x - mean) * (gamma * inv_std) + beta``. running_mean and running_var (C,),
    if given (both, or both None: not tracked), are updated in place:
    ``r = (1 - momentum) * r + momentum * batch_stat``, with the unbiased variance
    ``var * M / (M - 1)`` (the biased one when M == 1).

    Inference (``training=False``): the same y from the running statistics (required),
    with ``mean = running_mean`` and ``inv_std = 1 / sqrt(running_var + eps)``.

    Returns ``(y, mean, inv_std)``; mean and inv_std (C,) are what batchnorm_backward
    needs.
    """
    (x, (n, c, s), gamma, beta, running_mean, running_var, momentum, eps, training, out,
     mean, inv_std) = _inputs.batchnorm_inputs(V, x, gamma, beta, running_mean, running_var,
                                               momentum, eps, training, out, mean, inv_std)
    x3 = x.reshape(n, c, s)
    if training:
        m = n * s
        mean64 = x3.sum(axis=(0, 2), dtype=np.float64) / m
        var64 = ((x3 - _per_channel(mean64)) ** 2).sum(axis=(0, 2)) / m  # biased
        mean[...] = mean64
        inv_std[...] = 1.0 / np.sqrt(var64 + eps)
        if running_mean is not None:
            assert running_var is not None  # both or neither (batchnorm_inputs)
            unbiased = var64 * m / (m - 1) if m > 1 else var64
            running_mean[...] = ((1.0 - momentum) * running_mean.astype(np.float64)
                                 + momentum * mean64)
            running_var[...] = ((1.0 - momentum) * running_var.astype(np.float64)
                                + momentum * unbiased)
    else:
        assert running_var is not None  # required in inference (batchnorm_inputs)
        mean[...] = running_mean
        inv_std[...] = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
    # y = (x - mean) * (gamma * inv_std) + beta, in x's dtype (out may be x itself)
    y3 = out.reshape(n, c, s)
    np.subtract(x3, _per_channel(mean), out=y3)
    y3 *= _per_channel(gamma * inv_std)
    y3 += _per_channel(beta)
    return out, mean, inv_std


def batchnorm_backward(
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
    """Gradients of training-mode batchnorm_forward given ``dy = dL/dy``, from the mean
    and inv_std it returned. Returns ``(dx, dgamma, dbeta)`` with, per channel over its
    M = N * S values (sums in float64) and ``xhat = (x - mean) * inv_std``:
    ``dbeta = sum(dy)``, ``dgamma = sum(dy * xhat)`` and
    ``dx = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma)`` (None unless
    compute_dx; dx may be dy).
    """
    dy, x, (n, c, s), gamma, mean, inv_std, dx, dgamma, dbeta = \
        _inputs.batchnorm_backward_inputs(V, dy, x, gamma, mean, inv_std, dx, dgamma, dbeta,
                                          compute_dx)
    x3, dy3 = x.reshape(n, c, s), dy.reshape(n, c, s)
    inv64 = inv_std.astype(np.float64)
    # per-channel sums in float64: sum(dy) and sum(dy * (x - mean)) = sum(dy * xhat) / inv_std
    sum_dy = dy3.sum(axis=(0, 2), dtype=np.float64)
    centered = x3 - _per_channel(mean.astype(np.float64))
    sum_dy_xc = (dy3 * centered).sum(axis=(0, 2))
    dbeta[...] = sum_dy
    dgamma[...] = sum_dy_xc * inv64
    if dx is None:
        return dx, dgamma, dbeta
    m = n * s
    if m == 0:
        return dx, dgamma, dbeta
    # The textbook dx = k * (M * dy - sum(dy) - xhat * sum(dy * xhat)), k = gamma * inv_std / M,
    # regrouped as a * dy + b * (x - mean) + c0 with per-channel coefficients (computed
    # in float64, applied in x's dtype), as the native kernel does.
    g64 = gamma.astype(np.float64)
    k = g64 * inv64 / m
    dt = x.dtype
    a = _per_channel((g64 * inv64).astype(dt))
    b = _per_channel((-k * inv64 * inv64 * sum_dy_xc).astype(dt))
    c0 = _per_channel((-k * sum_dy).astype(dt))
    shifted = (x3 - _per_channel(mean)) * b  # computed before dx overwrites dy (dx may be dy)
    dx3 = dx.reshape(n, c, s)
    np.multiply(dy3, a, out=dx3)
    dx3 += shifted
    dx3 += c0
    return dx, dgamma, dbeta
