"""Type stubs for fastnn/ops/embedding.pyx (native embedding lookup)."""

from typing import Any

from numpy.typing import NDArray

from .._validation import Checks

__all__ = ["embedding_forward", "embedding_backward"]

V: Checks

def embedding_forward(
    indices: NDArray[Any], weight: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
def embedding_backward(
    dy: NDArray[Any],
    indices: NDArray[Any],
    num_embeddings: int,
    *,
    dweight: NDArray[Any] | None = ...,
    padding_idx: int | None = ...,
) -> NDArray[Any]: ...
