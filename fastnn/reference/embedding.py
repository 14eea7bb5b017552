"""Reference embedding lookup with numpy: ``out[s] = weight[indices[s]]``, and its
gradient, the rows of dy added into a dense (V, D) array with ``np.add.at``.

The native kernel sums each gradient element in the order of the indices too, so the
twins agree to the bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .. import _inputs
from .._validation import Checks

__all__ = ["embedding_forward", "embedding_backward"]

V = Checks()


def embedding_forward(
    indices: NDArray[Any], weight: NDArray[Any], *, out: NDArray[Any] | None = None
) -> NDArray[Any]:
    """The rows of the table ``weight`` (V, D) at ``indices`` (any shape S, integers in
    [0, V), or floats holding them): ``out[s] = weight[indices[s]]``, of shape S + (D,).
    Returns out."""
    idx, weight, out = _inputs.embedding_forward_inputs(V, indices, weight, out)
    np.take(weight, idx, axis=0, out=out)
    return out


def embedding_backward(
    dy: NDArray[Any],
    indices: NDArray[Any],
    num_embeddings: int,
    *,
    dweight: NDArray[Any] | None = None,
    padding_idx: int | None = None,
) -> NDArray[Any]:
    """Gradient of embedding_forward with respect to the table, given ``dy = dL/dout``
    (S + (D,)) for the same ``indices`` (S): ``dweight`` (num_embeddings, D) is zeroed,
    then ``dweight[indices[s]] += dy[s]`` for every s in order (repeated indices add up).
    The row ``padding_idx`` (if given) stays zero. The gradient is dense: only the rows
    of the indices seen are nonzero. Returns dweight."""
    dy, idx, num_embeddings, dweight, padding_idx = _inputs.embedding_backward_inputs(
        V, dy, indices, num_embeddings, dweight, padding_idx)
    dweight.fill(0)
    np.add.at(dweight, idx.reshape(-1), dy.reshape(idx.size, dy.shape[-1]))
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight
