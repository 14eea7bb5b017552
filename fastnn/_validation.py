"""Checks at the Python boundary, shared by fastnn.ops and fastnn.reference.

Both twins validate through the same code, so a bad input raises the same error with
the same message whichever implementation is called. The only difference is how
finiteness is scanned: natively for fastnn.ops, with numpy for fastnn.reference.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any, SupportsIndex, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._config import CHECK_FINITE

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _numpy_all_finite(a: NDArray[Any]) -> bool:
    return bool(np.isfinite(a).all())


def _shape_str(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class Checks:
    """Validation helpers bound to one finiteness scanner."""

    def __init__(self, all_finite: Callable[[NDArray[Any]], bool] = _numpy_all_finite) -> None:
        self._all_finite = all_finite

    def float_array(self, name: str, a: object, ndim: int | tuple[int, ...] | None = None,
                    finite: bool = True) -> NDArray[Any]:
        """An ndarray of float32/float64, C-contiguous, with `ndim` dims (int or tuple)."""
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
        if a.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"{name} must have dtype float32 or float64, got {a.dtype} "
                f"(fastnn never converts silently; use {name}.astype(np.float32))"
            )
        if ndim is not None:
            dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
            if a.ndim not in dims:
                want = " or ".join(f"{d}-D" for d in dims)
                raise ValueError(f"{name} must be {want}, got shape {_shape_str(a.shape)}")
        if not a.flags.c_contiguous:
            raise ValueError(
                f"{name} must be C-contiguous, got strides {a.strides} for shape "
                f"{_shape_str(a.shape)} (use np.ascontiguousarray({name}))"
            )
        if finite and CHECK_FINITE.get() and a.size and not self._all_finite(a):
            raise ValueError(f"{name} contains NaN or infinity")
        return a

    def same_dtype(self, ref_name: str, ref: NDArray[Any], **others: NDArray[Any] | None) -> None:
        for name, a in others.items():
            if a is not None and a.dtype != ref.dtype:
                raise TypeError(
                    f"{name} has dtype {a.dtype} but {ref_name} has dtype {ref.dtype}; "
                    "all arrays of one call must share a dtype"
                )

    def shape_is(self, name: str, a: NDArray[Any], shape: Sequence[int]) -> None:
        if a.shape != tuple(shape):
            raise ValueError(
                f"{name} must have shape {_shape_str(shape)}, got {_shape_str(a.shape)}"
            )

    def output(self, name: str, out: object, shape: Sequence[int],
               dtype: DTypeLike) -> NDArray[Any]:
        """Return `out` checked (writeable, exact shape and dtype), or a new array."""
        shape = tuple(shape)
        if out is None:
            return np.empty(shape, dtype=dtype)
        if not isinstance(out, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray or None, got {type(out).__name__}")
        if out.dtype != dtype:
            raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {out.dtype}")
        self.shape_is(name, out, shape)
        if not out.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if not out.flags.writeable:
            raise ValueError(f"{name} is read-only")
        return out

    def state(self, name: str, a: NDArray[Any] | None, like: NDArray[Any],
              like_name: str) -> NDArray[Any]:
        """An optimizer state array: same shape and dtype as the parameter, writeable."""
        if a is None:
            raise ValueError(f"{name} is required")
        self.float_array(name, a, finite=False)
        self.same_dtype(like_name, like, **{name: a})
        self.shape_is(name, a, like.shape)
        if not a.flags.writeable:
            raise ValueError(f"{name} is read-only")
        return a

    def labels(self, name: str, y: object, n_rows: int, n_classes: int) -> NDArray[np.intp]:
        """Integer class labels of shape (n_rows,) with values in [0, n_classes)."""
        if not isinstance(y, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(y).__name__}")
        if y.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
        if y.ndim != 1 or y.shape[0] != n_rows:
            raise ValueError(f"{name} must have shape ({n_rows},), got {_shape_str(y.shape)}")
        if n_rows:
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= n_classes:
                bad = lo if lo < 0 else hi
                raise ValueError(
                    f"{name} has label {bad} outside [0, {n_classes}) for {n_classes} classes"
                )
        return np.ascontiguousarray(y, dtype=np.intp)

    def sample_weight(self, sw: ArrayLike | None, n_rows: int,
                      dtype: DTypeLike) -> NDArray[Any] | None:
        """Per-sample weights: shape (n_rows,), finite, >= 0, not all zero; in `dtype`."""
        if sw is None:
            return None
        sw = self.float_array("sample_weight", np.asarray(sw, dtype=dtype), ndim=1)
        if sw.shape[0] != n_rows:
            raise ValueError(
                f"sample_weight must have shape ({n_rows},), got {_shape_str(sw.shape)}"
            )
        if n_rows and (sw.min() < 0 or not sw.sum() > 0):
            raise ValueError("sample_weight must be >= 0 with a positive sum")
        return sw

    def nonempty(self, name: str, a: NDArray[Any]) -> None:
        if a.shape[0] == 0:
            raise ValueError(f"{name} is empty (0 rows)")


def scalar(name: str, v: object, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite real number within bounds; returns it as float."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {v}")
    return v


def integer(name: str, v: object, lo: int | None = None) -> int:
    try:
        i = operator.index(cast(SupportsIndex, v))
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}") from None
    if lo is not None and i < lo:
        raise ValueError(f"{name} must be >= {lo}, got {i}")
    return i
