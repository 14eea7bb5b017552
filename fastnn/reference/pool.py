"""Reference 2-D pooling with numpy: max, average and global average pooling.

Channels first, no padding. A window position is an offset (kh, kw) inside the window;
``_at_offset(x, g, kh, kw)`` is the (N, C, OH, OW) view of the input element at that
offset of every window, so a pooling is a loop over the KH * KW offsets in row-major
order with whole-array operations inside. The native kernel walks the offsets in the
same order, so max and average pooling agree with it bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward",
           "avgpool2d_backward", "global_avgpool_forward", "global_avgpool_backward",
           "time_avgpool_forward", "time_avgpool_backward"]

V = Checks()


def _at_offset(a: NDArray[Any], g: _inputs.PoolGeometry, kh: int, kw: int) -> NDArray[Any]:
    """View of a (N, C, H, W): element [n, c, oh, ow] is a[n, c, oh*SH + kh, ow*SW + kw]."""
    return a[:, :, kh:kh + g.sh * (g.oh - 1) + 1:g.sh, kw:kw + g.sw * (g.ow - 1) + 1:g.sw]


def _offsets(g: _inputs.PoolGeometry) -> list[tuple[int, int]]:
    """The window offsets (kh, kw) in row-major order."""
    return [(kh, kw) for kh in range(g.kh) for kw in range(g.kw)]


def maxpool2d_forward(
    x: NDArray[Any],
    pool_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    *,
    out: NDArray[Any] | None = None,
    argmax: NDArray[np.intp] | None = None,
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """2-D max pooling of x (N, C, H, W) over windows of pool_size (an int or a pair
    (KH, KW)) moved by stride (default: pool_size), without padding:
    OH = (H - KH) // SH + 1, likewise OW.

    Returns ``(y, argmax)``: y (N, C, OH, OW) and argmax (N, C, OH, OW) of dtype
    np.intp, the flat index ``h * W + w`` in its input plane of each window's first
    maximum in row-major window order. A NaN counts as the maximum (it propagates).
    """
    x, g, out, argmax = _inputs.maxpool_forward_inputs(V, x, pool_size, stride, out, argmax)
    # flat index of each window's top-left corner in its plane, (OH, OW)
    corner = np.arange(g.oh)[:, None] * (g.sh * g.w) + np.arange(g.ow) * g.sw
    best = _at_offset(x, g, 0, 0).copy()
    where = np.broadcast_to(corner, best.shape).copy()
    for kh, kw in _offsets(g)[1:]:
        v = _at_offset(x, g, kh, kw)
        # Replace the running maximum by a larger value, or by a NaN once (a NaN is the
        # maximum; comparisons with NaN are false, so `not v <= best` also holds for one).
        take = ~(v <= best) & ~np.isnan(best)
        np.copyto(best, v, where=take)
        np.copyto(where, corner + (kh * g.w + kw), where=take)
    out[...] = best
    argmax[...] = where
    return out, argmax


def maxpool2d_backward(
    dy: NDArray[Any],
    argmax: NDArray[np.intp],
    x_shape: Sequence[int],
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Gradient of max pooling: dx of shape x_shape (N, C, H, W), zero except that each
    element of dy (N, C, OH, OW) is added at the position its argmax (from
    maxpool2d_forward) names; where windows overlap, the contributions add up."""
    dy, argmax, x_shape, out = _inputs.maxpool_backward_inputs(V, dy, argmax, x_shape, out)
    n, c, h, w = x_shape
    # Global flat index of each gradient's target (plane offset + index in the plane);
    # bincount adds the weights of equal indices in output order.
    plane_start = (np.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
    dx = np.bincount((argmax + plane_start).ravel(), weights=dy.ravel(), minlength=out.size)
    out[...] = dx.reshape(x_shape)
    return out


def avgpool2d_forward(
    x: NDArray[Any],
    pool_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """2-D average pooling of x (N, C, H, W), with the window geometry of
    maxpool2d_forward. Returns y (N, C, OH, OW): each window summed offset by offset in
    row-major order, then multiplied by 1 / (KH * KW)."""
    x, g, out = _inputs.pool_forward_inputs(V, x, pool_size, stride, out)
    total = _at_offset(x, g, 0, 0).copy()
    for kh, kw in _offsets(g)[1:]:
        total += _at_offset(x, g, kh, kw)
    np.multiply(total, x.dtype.type(1.0 / (g.kh * g.kw)), out=out)
    return out


def avgpool2d_backward(
    dy: NDArray[Any],
    x_shape: Sequence[int],
    pool_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Gradient of average pooling: dx of shape x_shape (N, C, H, W), each element of
    dy (N, C, OH, OW) spread evenly over its window. Computed as the sum of the dy of
    the windows covering an element (added in row-major order of the window offsets),
    multiplied by 1 / (KH * KW)."""
    dy, g, out = _inputs.avgpool_backward_inputs(V, dy, x_shape, pool_size, stride, out)
    out[...] = 0
    for kh, kw in _offsets(g):
        _at_offset(out, g, kh, kw)[...] += dy
    out *= dy.dtype.type(1.0 / (g.kh * g.kw))
    return out


def global_avgpool_forward(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """Mean of x (N, C, *spatial) over its spatial axes (at least one, none empty),
    accumulated in float64. Returns y (N, C)."""
    x, s, out = _inputs.global_avgpool_inputs(V, x, out)
    out[...] = x.reshape(x.shape[0], x.shape[1], s).sum(axis=2, dtype=np.float64) / s
    return out


def global_avgpool_backward(
    dy: NDArray[Any], x_shape: Sequence[int], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """Gradient of global_avgpool_forward: dx of shape x_shape (N, C, *spatial) with
    ``dx[n, c, ...] = dy[n, c] / S`` (S the spatial size, divided in float64)."""
    dy, x_shape, s, out = _inputs.global_avgpool_backward_inputs(V, dy, x_shape, out)
    share = (dy.astype(np.float64) / s).astype(dy.dtype)
    out.reshape(dy.shape[0], dy.shape[1], s)[...] = share[:, :, None]
    return out


def time_avgpool_forward(x: NDArray[Any], *, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """Mean of a sequence x (N, T, F) over its T steps (channels last; T >= 1), summed
    in float64 step by step. Returns y (N, F)."""
    x, out = _inputs.time_avgpool_inputs(V, x, out)
    acc = np.zeros((x.shape[0], x.shape[2]), np.float64)
    for t in range(x.shape[1]):  # step order, as the native kernel adds them
        acc += x[:, t]
    out[...] = acc / x.shape[1]
    return out


def time_avgpool_backward(
    dy: NDArray[Any], steps: int, *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """Gradient of time_avgpool_forward: dx (N, steps, F) with ``dx[n, t, f] =
    dy[n, f] / steps`` (divided in float64)."""
    dy, steps, out = _inputs.time_avgpool_backward_inputs(V, dy, steps, out)
    out[...] = (dy.astype(np.float64) / steps).astype(dy.dtype)[:, None, :]
    return out
