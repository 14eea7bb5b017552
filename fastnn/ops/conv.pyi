"""Type stubs for fastnn/ops/conv.pyx (native 2-D convolution)."""

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._validation import Checks

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "conv2d_pooled_backward"]

V: Checks

# Stand-ins for the arrays a call does not use (no bias, no dx, no db).
_EMPTY32: NDArray[np.float32]
_EMPTY64: NDArray[np.float64]

def own_kernels() -> str | None: ...
def variants() -> dict[str, Any]: ...
def _flat(a: NDArray[Any]) -> NDArray[Any]: ...
def _direct_path(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    dtype: DTypeLike = ...,
) -> bool: ...
def _implicit_path(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    dtype: DTypeLike = ...,
) -> bool: ...
def _implicit_dx_path(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    dtype: DTypeLike = ...,
) -> bool: ...
def _chunk_rows(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
) -> int: ...
def _pooled_path(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    pool_size: int | Sequence[int],
    pool_stride: int | Sequence[int] | None = ...,
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    dtype: DTypeLike = ...,
) -> bool: ...
def _gradient_chunks(
    n: int, rows: int, dw: NDArray[Any], db: NDArray[Any] | None
) -> Iterator[tuple[int, int, NDArray[Any], NDArray[Any] | None]]: ...
def im2col(
    x: NDArray[Any],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def col2im(
    cols: NDArray[Any],
    x_shape: Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def conv2d_forward(
    x: NDArray[Any],
    w: NDArray[Any],
    b: NDArray[Any] | None = ...,
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    *,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def conv2d_backward(
    x: NDArray[Any],
    w: NDArray[Any],
    dy: NDArray[Any],
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    *,
    dx: NDArray[Any] | None = ...,
    dw: NDArray[Any] | None = ...,
    db: NDArray[Any] | None = ...,
    compute_dx: bool = ...,
    compute_db: bool = ...,
) -> tuple[NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]: ...
def conv2d_pooled_backward(
    x: NDArray[Any],
    w: NDArray[Any],
    dy: NDArray[Any],
    argmax: NDArray[np.intp],
    pool_size: int | Sequence[int],
    pool_stride: int | Sequence[int] | None = ...,
    stride: int | Sequence[int] = ...,
    padding: int | Sequence[int | Sequence[int]] = ...,
    dilation: int | Sequence[int] = ...,
    *,
    dw: NDArray[Any] | None = ...,
    db: NDArray[Any] | None = ...,
    compute_db: bool = ...,
) -> tuple[NDArray[Any], NDArray[Any] | None]: ...
