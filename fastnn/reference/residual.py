"""Reference residual add with numpy: ``out = a + b``, bit-identical to the native
kernel (one rounding per element)."""

import numpy as np

from .. import _inputs
from .._validation import Checks

__all__ = ["residual_add"]

V = Checks()


def residual_add(a, b, *, out=None):
    """``out = a + b`` for two arrays of the same shape and dtype. Returns out."""
    a, b, out = _inputs.residual_inputs(V, a, b, out)
    np.add(a, b, out=out)
    return out
