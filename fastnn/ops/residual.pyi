"""Type stubs for fastnn/ops/residual.pyx (native residual add)."""

from typing import Any

from numpy.typing import NDArray

from .._validation import Checks

__all__ = ["residual_add"]

V: Checks

def residual_add(
    a: NDArray[Any], b: NDArray[Any], *, out: NDArray[Any] | None = ...
) -> NDArray[Any]: ...
