"""Arrays aligned for fastnn's native kernels.

NumPy aligns an array's data to 16 bytes, so most 64-byte AVX-512 loads and stores on
it straddle two cache lines, which costs about a quarter of the convolution's GEMM
throughput (measured on the LeNet's conv2 product: 145 against 185 GFLOP/s on one
core). The training plan's buffers (activations, gradients, workspaces) are therefore
allocated here, starting on a 64-byte boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

ALIGN = 64  # bytes: one cache line, one AVX-512 vector


def aligned_empty(shape: int | Sequence[int], dtype: DTypeLike,
                  align: int = ALIGN) -> NDArray[Any]:
    """An uninitialised C-contiguous array whose data starts on an `align`-byte
    boundary (a view into a slightly larger byte buffer, which it keeps alive; an empty
    array's pointer may be anywhere)."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + align, np.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def aligned_zeros(shape: int | Sequence[int], dtype: DTypeLike,
                  align: int = ALIGN) -> NDArray[Any]:
    """aligned_empty, filled with zeros."""
    a = aligned_empty(shape, dtype, align)
    a.fill(0)
    return a
