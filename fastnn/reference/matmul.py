"""Reference GEMM with numpy: ``out = alpha * op(a) @ op(b) + beta * out``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

V = Checks()  # numpy's own NaN/inf scan


def gemm(
    a: NDArray[Any],
    b: NDArray[Any],
    *,
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """Row-major matrix product ``alpha * op(a) @ op(b) + beta * out``.

    op(a) is ``a.T`` when ``trans_a`` (likewise b). ``out`` receives the result and
    is allocated when None; with ``beta != 0`` its current contents are scaled and
    added, so it must be given. Returns ``out``.
    """
    a, b, alpha, beta, out = _inputs.gemm_inputs(V, a, b, trans_a, trans_b, alpha, beta, out)
    dt = a.dtype.type
    prod = (a.T if trans_a else a) @ (b.T if trans_b else b)
    if beta == 0.0:
        np.multiply(prod, dt(alpha), out=out)
    else:
        out *= dt(beta)
        out += dt(alpha) * prod
    return out
