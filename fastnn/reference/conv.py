"""Reference 2-D convolution (channels first) with numpy, through im2col and matmul.

im2col takes one strided slice of the zero-padded input per kernel offset (kh, kw);
col2im adds those slices back in the same (kh, kw) order, so both are bit-identical to
the native kernels (copies, and sums in the same order). The products are numpy
matmuls in the input dtype.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks
from .pool import maxpool2d_backward

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "conv2d_pooled_backward"]

V = Checks()


def _windows(g: _inputs.ConvGeometry) -> Iterator[tuple[int, int, slice, slice]]:
    """(rows, cols) slices of the padded input read by kernel offset (kh, kw), in order."""
    for kh in range(g.kh):
        for kw in range(g.kw):
            h0, w0 = kh * g.dh, kw * g.dw
            yield (kh, kw,
                   slice(h0, h0 + g.sh * (g.oh - 1) + 1, g.sh),
                   slice(w0, w0 + g.sw * (g.ow - 1) + 1, g.sw))


def _im2col(x: NDArray[Any], g: _inputs.ConvGeometry, out: NDArray[Any]) -> NDArray[Any]:
    """x (N, C, H, W) -> out (C*KH*KW, N*OH*OW)."""
    n = x.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (g.pt, g.pb), (g.pl, g.pr)))
    cols = out.reshape(g.c, g.kh, g.kw, n, g.oh, g.ow)
    for kh, kw, rows, columns in _windows(g):
        # patch[i, c, oh, ow] = xp[i, c, oh*sh + kh*dh, ow*sw + kw*dw]
        cols[:, kh, kw] = xp[:, :, rows, columns].transpose(1, 0, 2, 3)
    return out


def _col2im(
    cols: NDArray[Any], x_shape: Sequence[int], g: _inputs.ConvGeometry, out: NDArray[Any]
) -> NDArray[Any]:
    """cols (C*KH*KW, N*OH*OW) -> out (N, C, H, W), summed where patches overlap."""
    n = x_shape[0]
    dxp = np.zeros((n, g.c, g.h + g.pt + g.pb, g.w + g.pl + g.pr), dtype=cols.dtype)
    c6 = cols.reshape(g.c, g.kh, g.kw, n, g.oh, g.ow)
    for kh, kw, rows, columns in _windows(g):
        dxp[:, :, rows, columns] += c6[:, kh, kw].transpose(1, 0, 2, 3)
    out[...] = dxp[:, :, g.pt:g.pt + g.h, g.pl:g.pl + g.w]
    return out


def im2col(
    x: NDArray[Any],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int | Sequence[int]] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Unfold the patches of x (N, C, H, W) into cols (C*KH*KW, N*OH*OW). Returns cols.

    ``cols[(c*KH + kh)*KW + kw, (i*OH + oh)*OW + ow] =
    x[i, c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw]``, 0 outside the image.
    kernel_size, stride, dilation: int or pair (h, w), >= 1. padding: int, pair
    (ph, pw) (symmetric) or ((top, bottom), (left, right)), >= 0.
    """
    x, g, out = _inputs.im2col_inputs(V, x, kernel_size, stride, padding, dilation, out)
    return _im2col(x, g, out)


def col2im(
    cols: NDArray[Any],
    x_shape: Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int | Sequence[int]] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """The adjoint of im2col: fold cols (C*KH*KW, N*OH*OW) back into dx of shape x_shape
    (N, C, H, W), each entry added to the input position it was read from (entries read
    from the zero padding are dropped). Returns dx (overwritten, not accumulated into).
    """
    cols, x_shape, g, out = _inputs.col2im_inputs(V, cols, x_shape, kernel_size, stride,
                                                  padding, dilation, out)
    return _col2im(cols, x_shape, g, out)


def conv2d_forward(
    x: NDArray[Any],
    w: NDArray[Any],
    b: NDArray[Any] | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int | Sequence[int]] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """2-D convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with w
    (F, C, KH, KW), plus b (F,) or None. Returns y (N, F, OH, OW):
    ``y[i, f, oh, ow] = b[f] + sum_{c,kh,kw} w[f, c, kh, kw] *
    x[i, c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw]`` with x read as 0 outside the image.
    stride, dilation: int or pair (h, w), >= 1. padding: int, pair (ph, pw) (symmetric)
    or ((top, bottom), (left, right)), >= 0.
    """
    x, w, b, g, out = _inputs.conv2d_forward_inputs(V, x, w, b, stride, padding, dilation,
                                                    out)
    n, f = x.shape[0], w.shape[0]
    k, m = _inputs.cols_shape(n, g)                               # C*KH*KW, N*OH*OW
    cols = _im2col(x, g, np.empty((k, m), dtype=x.dtype))
    y = w.reshape(f, k) @ cols                                    # (F, N*OH*OW)
    out[...] = y.reshape(f, n, g.oh, g.ow).transpose(1, 0, 2, 3)  # (N, F, OH, OW)
    if b is not None:
        out += b[:, None, None]
    return out


def conv2d_backward(
    x: NDArray[Any],
    w: NDArray[Any],
    dy: NDArray[Any],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int | Sequence[int]] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    dx: NDArray[Any] | None = None,
    dw: NDArray[Any] | None = None,
    db: NDArray[Any] | None = None,
    compute_dx: bool = True,
    compute_db: bool = True,
) -> tuple[NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]:
    """Gradients of ``y = conv2d_forward(x, w, b, stride, padding, dilation)`` given
    ``dy = dL/dy`` (N, F, OH, OW). Returns ``(dx, dw, db)``: dx (N, C, H, W) (None
    unless compute_dx), dw (F, C, KH, KW), db (F,) (None unless compute_db). Arrays
    passed as dx/dw/db are overwritten and returned.
    """
    x, w, dy, g, dx, dw, db = _inputs.conv2d_backward_inputs(
        V, x, w, dy, stride, padding, dilation, dx, dw, db, compute_dx, compute_db
    )
    n, f = x.shape[0], w.shape[0]
    k, m = _inputs.cols_shape(n, g)                               # C*KH*KW, N*OH*OW
    cols = _im2col(x, g, np.empty((k, m), dtype=x.dtype))
    dy2 = dy.transpose(1, 0, 2, 3).reshape(f, m)                  # (F, N*OH*OW)
    dw[...] = (dy2 @ cols.T).reshape(w.shape)
    if db is not None:
        # summed in float64 like the native kernel, then rounded once
        db[...] = dy2.sum(axis=1, dtype=np.float64)
    if dx is not None:
        _col2im(w.reshape(f, k).T @ dy2, x.shape, g, dx)
    return dx, dw, db


def conv2d_pooled_backward(
    x: NDArray[Any],
    w: NDArray[Any],
    dy: NDArray[Any],
    argmax: NDArray[np.intp],
    pool_size: int | Sequence[int],
    pool_stride: int | Sequence[int] | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int | Sequence[int]] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    dw: NDArray[Any] | None = None,
    db: NDArray[Any] | None = None,
    compute_db: bool = True,
) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """dW and db of a conv whose output goes straight into max pooling, from the pooling's
    gradient dy (N, F, PH, PW) and argmax (from maxpool2d_forward of the conv's output):
    the pooling's backward, then the conv's, without dx. Returns ``(dw, db)`` (db None
    unless compute_db)."""
    x, w, dy, argmax, g, pg, dw, db = _inputs.conv2d_pooled_backward_inputs(
        V, x, w, dy, argmax, pool_size, pool_stride, stride, padding, dilation, dw, db,
        compute_db
    )
    dyc = maxpool2d_backward(dy, argmax, (x.shape[0], w.shape[0], g.oh, g.ow))
    conv2d_backward(x, w, dyc, stride, padding, dilation, dw=dw, db=db, compute_dx=False,
                    compute_db=compute_db)
    return dw, db
