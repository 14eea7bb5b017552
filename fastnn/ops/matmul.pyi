"""Type stubs for fastnn/ops/matmul.pyx (native GEMM through SciPy's BLAS)."""

import ctypes
from typing import Any

from numpy.typing import ArrayLike, NDArray

from .._validation import Checks

__all__ = ["gemm"]

V: Checks

# What blas_control() reports: "library", "path" and "symbol" (None when not found).
_blas_control: dict[str, str | None]

class _DlInfo(ctypes.Structure):
    # dladdr's Dl_info
    dli_fname: bytes | None
    dli_fbase: int | None
    dli_sname: bytes | None
    dli_saddr: int | None

def _library_of(address: int) -> str | None: ...
def _find_blas_control() -> None: ...
def blas_control() -> dict[str, str | None]: ...
def _check_blas_size(*dims: int) -> None: ...
def gemm(
    a: NDArray[Any],
    b: NDArray[Any],
    *,
    trans_a: bool = ...,
    trans_b: bool = ...,
    alpha: float = ...,
    beta: float = ...,
    out: NDArray[Any] | None = ...,
) -> NDArray[Any]: ...
def variants() -> dict[str, Any]: ...
def own_kernels() -> str | None: ...
def _variant_product(
    a: NDArray[Any], b: NDArray[Any], trans_a: bool = ..., variant: str | None = ...
) -> NDArray[Any] | None: ...
def _active_columns(
    X: NDArray[Any],
    rows: ArrayLike,
    W: NDArray[Any],
    Y: NDArray[Any],
    G: NDArray[Any],
    C: NDArray[Any],
    alpha: float,
    accumulate: bool,
    variant: str | None = ...,
) -> int: ...
