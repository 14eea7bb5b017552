"""Reference GEMM with numpy: ``out = alpha * op(a) @ op(b) + beta * out``."""

import numpy as np

from .. import _inputs
from .._validation import Checks

V = Checks()  # numpy's own NaN/inf scan


def gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
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
