"""Sequential, part 2: checking X, the targets and the sample weights a model is given.
(fastnn/model.py lists the parts.)"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _runtime
from ._validation import integer, scalar
from .layers import _fmt_shape
from .layers_conv import channels_last_error
from .losses import Loss
from ._model_layers import _LayerStack


def _all_finite(a: NDArray[Any]) -> bool:
    if a.dtype in (np.float32, np.float64) and a.flags.c_contiguous:
        return _runtime.all_finite(a)
    return bool(np.isfinite(a).all())


def _first_nonfinite_row(a: NDArray[Any]) -> int:
    bad = ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
    return int(np.argmax(bad))


def _nonfinite_error(X: NDArray[Any], name: str = "X") -> ValueError:
    return ValueError(f"{name} contains NaN or infinity (first in row "
                      f"{_first_nonfinite_row(X)})")


class _InputChecks(_LayerStack):
    """Validation of a model's inputs against its layers."""

    # ================================================================== input checks

    def _check_X(self, X: ArrayLike, name: str = "X", finite: bool = True) -> NDArray[Any]:
        if not isinstance(X, np.ndarray):
            X = np.asarray(X)
        if self.layers and self.layers[0].takes_indices:  # Embedding: integer X, as np.intp
            return self.layers[0].check_indices(X, name)
        kind = X.dtype.kind
        if kind in "iub":
            raise TypeError(
                f"{name} has dtype {X.dtype}, but the model takes floating-point inputs and "
                f"never converts integers for you: convert and scale them first, e.g. "
                f"{name}.astype(np.{self.dtype}) / 255 for 8-bit pixels"
            )
        if kind != "f":
            raise TypeError(f"{name} must hold floating-point numbers, got dtype {X.dtype}")
        if X.ndim < 2:
            hint = (" (use X.reshape(-1, 1) for a single feature, or X.reshape(1, -1) for a "
                    "single sample)") if X.ndim == 1 else ""
            raise ValueError(f"{name} must have shape (n_samples, n_features), got shape "
                             f"{_fmt_shape(X.shape)}{hint}")
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty (0 rows)")
        if X.size == 0:
            raise ValueError(f"{name} has no features: shape {_fmt_shape(X.shape)}")
        X = np.ascontiguousarray(X, dtype=self.dtype)  # float16/float64 -> the model dtype
        if finite and not _all_finite(X):
            raise _nonfinite_error(X, name)
        return X

    def _check_features(self, X: NDArray[Any], name: str = "X") -> None:
        assert self._input_shape is not None  # the model is built
        if X.shape[1:] != self._input_shape:
            error = channels_last_error(self.layers[0], X.shape, self._input_shape)
            if error is not None:
                raise error
            if X.ndim == 2 and len(self._input_shape) == 1:
                raise ValueError(f"{name} has {X.shape[1]} features per sample but the model "
                                 f"expects {self._input_shape[0]}")
            raise ValueError(f"{name} has samples of shape {_fmt_shape(X.shape[1:])} but the "
                             f"model expects {_fmt_shape(self._input_shape)}")

    def _check_labels(self, y: NDArray[Any], n_classes: int, name: str) -> NDArray[np.intp]:
        y = np.ascontiguousarray(y, dtype=np.intp)
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} has label {bad} outside [0, {n_classes}): the model has "
                             f"{n_classes} outputs")
        return y

    def _float_targets(self, y: NDArray[Any], name: str) -> NDArray[Any]:
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {y.dtype}")
        y = np.ascontiguousarray(y, dtype=self.dtype)
        if not _all_finite(y):
            raise ValueError(f"{name} contains NaN or infinity (first in row "
                             f"{_first_nonfinite_row(y)})")
        return y

    def _fit_target_shape(self, y: NDArray[Any], name: str) -> NDArray[Any]:
        n, out = y.shape[0], self._output_shape
        assert out is not None  # the model is built
        if y.shape[1:] == out:
            return y
        if y.ndim == 1 and out == (1,):
            return y.reshape(n, 1)
        raise ValueError(f"{name} has shape {_fmt_shape(y.shape)} but the model outputs "
                         f"{_fmt_shape((n,) + out)}")

    def _prepare_targets(self, y: ArrayLike | None, n: int, loss: Loss,
                         name: str = "y") -> tuple[NDArray[Any], str | None]:
        """Targets in the form the loss kernels take, and the task for the accuracy metric:
        "multiclass", "binary" or None (regression: no accuracy)."""
        if y is None:
            raise ValueError(f"{name} is required")
        if not isinstance(y, np.ndarray):
            y = np.asarray(y)
        if y.ndim == 0:
            raise ValueError(f"{name} must have one entry per sample, got a scalar")
        if y.shape[0] != n:
            xname = "X" if name == "y" else name.replace(" y", " X")
            raise ValueError(f"{xname} has {n} rows but {name} has {y.shape[0]}: they must "
                             "match")
        kind = y.dtype.kind
        if kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {y.dtype}")
        out = self._output_shape
        assert out is not None  # the model is built
        if loss.name == "cross_entropy":
            if len(out) != 1:
                raise ValueError(f"cross_entropy needs outputs of shape (N, classes); the "
                                 f"model outputs {_fmt_shape(('N',) + out)}")
            c = out[0]
            if y.ndim == 1:
                if kind in "iu":
                    return self._check_labels(y, c, name), "multiclass"
                if kind == "b":
                    raise TypeError(f"{name} holds booleans; cross_entropy takes integer class "
                                    f"labels (use {name}.astype(np.int64)) — or use "
                                    "loss='binary_cross_entropy'")
                if not np.isfinite(y).all():
                    raise ValueError(f"{name} contains NaN or infinity")
                frac = y != np.round(y)
                if frac.any():
                    raise ValueError(
                        f"{name} holds non-integer class label {y[np.argmax(frac)]!r}: "
                        f"cross_entropy takes integer class labels (N,) or class "
                        f"probabilities (N, {c})"
                    )
                raise TypeError(f"{name} holds class labels as {y.dtype}; cross_entropy "
                                f"takes integer labels: use {name}.astype(np.int64)")
            if y.ndim == 2:
                if y.shape[1] != c:
                    raise ValueError(f"{name} has {y.shape[1]} columns but the model has "
                                     f"{c} outputs")
                y = self._float_targets(y, name)
                if y.min() < 0:
                    raise ValueError(f"{name}: class probabilities must be >= 0")
                return y, "multiclass"
            raise ValueError(f"{name} must be labels (N,) or class probabilities (N, {c}) for "
                             f"cross_entropy, got shape {_fmt_shape(y.shape)}")
        if loss.name == "binary_cross_entropy":
            y = self._float_targets(self._fit_target_shape(y, name), name)
            lo, hi = float(y.min()), float(y.max())
            if lo < 0 or hi > 1:
                raise ValueError(f"{name} values must lie in [0, 1] for binary_cross_entropy, "
                                 f"got values in [{lo}, {hi}]")
            return y, "binary"
        # regression losses (mse, squared_error): integer labels with several outputs are
        # one-hot encoded, as the textbooks do for MNIST with the quadratic cost
        if y.ndim == 1 and kind in "iu" and len(out) == 1 and out[0] > 1:
            labels = self._check_labels(y, out[0], name)
            onehot = np.zeros((n, out[0]), self.dtype)
            onehot[np.arange(n), labels] = 1
            return onehot, "multiclass"
        y = self._float_targets(self._fit_target_shape(y, name), name)
        task = None
        if len(out) == 1:
            if out[0] > 1 and y.ndim == 2 and np.all((y == 0) | (y == 1)) \
                    and np.all(y.sum(axis=1) == 1):
                task = "multiclass"
            elif out[0] == 1 and kind in "biu" and np.all((y == 0) | (y == 1)):
                task = "binary"
        return y, task

    def _check_sample_weight(self, sample_weight: ArrayLike | None,
                             n: int) -> NDArray[Any] | None:
        if sample_weight is None:
            return None
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must be numeric, got dtype {sw.dtype}")
        if sw.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got "
                             f"{_fmt_shape(sw.shape)}")
        sw = np.ascontiguousarray(sw, dtype=self.dtype)
        if not _all_finite(sw):
            raise ValueError("sample_weight contains NaN or infinity")
        if sw.min() < 0 or not sw.sum() > 0:
            raise ValueError("sample_weight must be >= 0 with a positive sum")
        return sw
