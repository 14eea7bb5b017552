"""Reference fully connected layer with numpy: ``y = x @ w + b`` and its gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["dense_forward", "dense_backward"]

V = Checks()


def dense_forward(
    x: NDArray[Any],
    w: NDArray[Any],
    b: NDArray[Any] | None = None,
    *,
    out: NDArray[Any] | None = None,
) -> NDArray[Any]:
    """``y = x @ w + b`` for x (n, in), w (in, units), b (units,) or None. Returns y."""
    x, w, b, out = _inputs.dense_forward_inputs(V, x, w, b, out)
    np.matmul(x, w, out=out)
    if b is not None:
        out += b
    return out


def dense_backward(
    x: NDArray[Any],
    w: NDArray[Any],
    dy: NDArray[Any],
    *,
    dx: NDArray[Any] | None = None,
    dw: NDArray[Any] | None = None,
    db: NDArray[Any] | None = None,
    compute_dx: bool = True,
    compute_db: bool = True,
    accumulate: bool = False,
) -> tuple[NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]:
    """Gradients of ``y = x @ w + b`` given ``dy = dL/dy``. Returns ``(dx, dw, db)``.

    ``dx = dy @ w.T`` (None unless compute_dx), ``dw = x.T @ dy``,
    ``db = dy.sum(axis=0)`` (None unless compute_db). With ``accumulate=True``, dw
    and db are added into the arrays passed in (gradients of a shared weight are
    summed); dx is always overwritten.
    """
    x, w, dy, dx, dw, db = _inputs.dense_backward_inputs(
        V, x, w, dy, dx, dw, db, compute_dx, compute_db, accumulate
    )
    if accumulate:
        dw += x.T @ dy
        if db is not None:
            db += dy.sum(axis=0)
    else:
        np.matmul(x.T, dy, out=dw)
        if db is not None:
            np.sum(dy, axis=0, out=db)
    if dx is not None:
        np.matmul(dy, w.T, out=dx)
    return dx, dw, db
