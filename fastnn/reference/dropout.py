"""Reference inverted dropout with numpy, bit-identical to the native kernel.

Element i of a call is kept with probability 1 - rate, decided by a counter-based
hash of (seed, offset + i) (splitmix64; its top 24 bits give u in [0, 1), kept when
u >= rate). The same (seed, offset) always gives the same mask, on any thread count.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["dropout_forward", "dropout_backward"]

V = Checks()

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _uniform24(seed: int, offset: int, n: int) -> NDArray[np.float64]:
    """u = hash(seed, offset + i) / 2^24 for i in range(n), as float64."""
    # The counter wraps modulo 2^64, like the C kernel's uint64_t arithmetic.
    idx = np.arange(n, dtype=np.uint64) + np.uint64((offset + 1) % 2**64)
    z = np.uint64(seed) + idx * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return cast("NDArray[np.float64]", (z >> np.uint64(40)).astype(np.float64) / 16777216.0)


def dropout_forward(
    x: NDArray[Any],
    rate: float,
    seed: int,
    offset: int = 0,
    *,
    out: NDArray[Any] | None = None,
    mask: NDArray[Any] | None = None,
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Inverted dropout: returns ``(y, mask)`` with ``mask`` = 1/(1-rate) for kept
    elements and 0 for dropped ones, and ``y = x * mask``."""
    x, rate, seed, offset, out, mask = _inputs.dropout_inputs(V, x, rate, seed, offset, out, mask)
    keep = _uniform24(seed, offset, x.size).reshape(x.shape) >= rate
    scale = x.dtype.type(1.0 / (1.0 - rate)) if rate < 1 else x.dtype.type(0)
    mask[...] = np.where(keep, scale, x.dtype.type(0))
    np.multiply(x, mask, out=out)
    return out, mask


def dropout_backward(
    dy: NDArray[Any], mask: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """``dx = dy * mask`` (the mask returned by dropout_forward)."""
    dy, mask, out = _inputs.dropout_backward_inputs(V, dy, mask, out)
    np.multiply(dy, mask, out=out)
    return out
