"""Reference residual add with numpy: ``out = a + b``, bit-identical to the native
kernel (one rounding per element)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["residual_add"]

V = Checks()


def residual_add(
    a: NDArray[Any], b: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """``out = a + b`` for two arrays of the same shape and dtype. Returns out."""
    a, b, out = _inputs.residual_inputs(V, a, b, out)
    np.add(a, b, out=out)
    return out
