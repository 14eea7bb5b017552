"""The Sequential model: a stack of layers with fit / predict / evaluate / save.

    model = fastnn.Sequential([fastnn.Dense(128, activation="relu"), fastnn.Dense(10)], seed=0)
    history = model.fit(X, y, epochs=3, batch_size=32, loss="cross_entropy", optimizer="adam")
    model.evaluate(X_test, y_test)        # {"loss": ..., "accuracy": ...}

Shapes are inferred at first use (or from ``input_shape=`` / the first layer's
``input_dim``). The model owns a ``np.random.Generator`` (``seed=``) used for weight
initialization, dropout seeds and shuffling, never the global RNG: the same seed (and the
same thread count) gives bit-identical weights after ``fit``.

Training runs epoch by epoch through ``_run_epoch``; the per-layer Python path
``_run_epoch_python`` is the reference for the fused native plan, which is plugged in
there.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _fused, _runtime
from ._config import config_context
from ._pickling import Picklable
from ._validation import integer, scalar
from .callbacks import Callback, History, ProgressLogger
from .errors import NonFiniteInputError, TrainingDivergedError
from .layers import (
    Activation,
    Dense,
    Dropout,
    Layer,
    _fmt_shape,
    _shape_tuple,
    as_float_dtype,
    backend_name,
    get_backend,
)
from . import layers_block, layers_conv  # noqa: F401  (registers their layer classes)
from .losses import Loss, get_loss
from .optimizers import Optimizer, get_optimizer

if TYPE_CHECKING:
    from ._plan import TrainingPlan

    # what _snapshot saves: parameters, optimizer state, dropout offsets, buffers
    _Snapshot: TypeAlias = tuple[list[NDArray[Any]], dict[str, Any] | None,
                                 list[tuple[Dropout, int]], list[NDArray[Any]]]
    # (layer name, key, shape) per array
    _Shapes: TypeAlias = list[tuple[str, str, tuple[int, ...]]]

__all__ = ["Sequential"]

# Rows per inference batch when predict / evaluate get no batch_size: bounded memory.
INFERENCE_BATCH = 1024

METRICS = ("accuracy",)
_METRIC_ALIASES = {"acc": "accuracy", "accuracy": "accuracy"}


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


class Sequential(Picklable):
    """A linear stack of layers.

    Parameters: ``layers`` (a list of Layer), ``seed`` (int or None: the model's own
    ``np.random.Generator``), ``dtype`` ("float32" or "float64"), ``input_shape`` (per
    sample, without the batch dimension; optional), ``backend`` ("native": fastnn.ops, or
    "reference": the numpy twins doing the same math).

    After ``fit``: ``model.loss``, ``model.optimizer`` (pass it to the next ``fit`` to
    continue with its state) and ``model.history``.

    Training runs each epoch as one native call (the fused plan, fastnn._fused) when the
    backend is native and every layer has a fused step; set ``model.fused = False`` to
    use the per-layer Python path instead (same numbers, slower).
    """

    fused = True
    # native plans and the progress hook: rebuilt on demand, not pickled (_pickling.py)
    _transient = ("_plan", "_infer_plan", "_plan_key", "_plan_targets", "_progress", "_lock")

    # set by fit (and, _task / _threshold, by evaluate while it runs)
    _bw_stop: int
    _train_params: list[NDArray[Any]]
    _train_grads: list[NDArray[Any]]
    _task: str | None
    _threshold: float | None
    _fold: str | None
    _track_accuracy: bool

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __init__(self, layers: Layer | Iterable[Layer] | None = None, *,
                 seed: int | None = None, dtype: Any = "float32",
                 input_shape: int | Sequence[int] | None = None,
                 backend: str | ModuleType = "native") -> None:
        self.dtype = as_float_dtype(dtype)
        if seed is not None:
            seed = integer("seed", seed, lo=0)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._ops = get_backend(backend)
        self._input_shape: tuple[int, ...] | None = (
            None if input_shape is None else _shape_tuple(input_shape, "input_shape"))
        self._output_shape: tuple[int, ...] | None = None
        self.layers: list[Layer] = []
        self.built = False
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.history: History | None = None
        self.metrics: tuple[str, ...] = METRICS
        self.stop_training = False
        # the fused native plan, rebuilt when the model changes
        self._plan: TrainingPlan | None = None
        self._infer_plan: TrainingPlan | None = None  # its inference twin, for predict
        self._infer_generation: int | None = None  # Layer._generation when it was built
        # fit, predict and evaluate hold it: they share the plans' and the layers' buffers
        self._lock = threading.RLock()
        self._plan_key: tuple[tuple[int, ...], tuple[int, ...], np.dtype[Any], int] | None = None
        self._plan_targets: NDArray[Any] | None = None
        # called with the rows done, while fit shows a bar
        self._progress: Callable[[int], None] | None = None
        # (rows, seconds) of the last training epoch
        self._epoch_stats: tuple[int, float] | None = None
        self._on_nonfinite = "raise"
        self._x_unchecked = False  # in fit: X's NaN/inf check is left to the first epoch
        if layers is not None:
            self._extend([layers] if isinstance(layers, Layer) else layers)

    # ================================================================== structure

    @property
    def backend(self) -> str:
        """"native" or "reference"; assigning switches every layer, loss and optimizer."""
        return backend_name(self._ops)

    @backend.setter
    def backend(self, value: str | ModuleType) -> None:
        self._ops = get_backend(value)
        for layer in self.layers:
            layer._ops = self._ops
        for obj in (self.loss, self.optimizer):
            if obj is not None:
                obj._ops = self._ops
        self._plan = self._infer_plan = None

    def add(self, layer: Layer) -> None:
        """Append a layer (built at once if the model already is)."""
        self._extend([layer])

    def _extend(self, layers: Iterable[object]) -> None:
        """Append layers in order, in time linear in the model's size (a loaded file may
        hold many)."""
        ids = {id(other) for other in self.layers}
        names = {other.name for other in self.layers}
        next_k: dict[str, int] = {}  # per base name, the lowest k whose auto name may still be free
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential.add takes a fastnn Layer, got "
                                f"{type(layer).__name__}")
            if id(layer) in ids:
                raise ValueError(f"layer {layer.name!r} is already in this model")
            if layer._auto_name:
                k = next_k.get(layer._base_name, 1)
                while f"{layer._base_name}_{k}" in names:
                    k += 1
                next_k[layer._base_name] = k + 1
                layer.name = f"{layer._base_name}_{k}"
            elif layer.name in names:
                raise ValueError(f"the model already has a layer named {layer.name!r}; "
                                 "layer names must be unique")
            layer._ops = self._ops
            if self.built:
                assert self._output_shape is not None  # set with built
                shape = layer.output_shape(self._output_shape)  # validates before building
                self._build_layer(layer, self._output_shape)
                self._output_shape = shape
            self.layers.append(layer)
            ids.add(id(layer))
            names.add(layer.name)
            self._plan = self._infer_plan = None

    def get_layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {[l.name for l in self.layers]}")

    def _resolved_input_shape(self) -> tuple[int, ...] | None:
        if self._input_shape is not None:
            return self._input_shape
        if self.layers:
            return self.layers[0]._declared_input_shape()
        return None

    def _build_layer(self, layer: Layer, shape: tuple[int, ...]) -> None:
        if layer.built:
            if layer.input_shape != tuple(shape) or layer.dtype != self.dtype:
                raise ValueError(
                    f"layer {layer.name!r} was already built for inputs {layer.input_shape} "
                    f"{layer.dtype}, but gets {tuple(shape)} {self.dtype} in this model"
                )
        else:
            layer.build(shape, self.dtype, self.rng)

    def build(self, input_shape: int | Sequence[int] | None = None) -> Sequential:
        """Allocate every layer's parameters for samples of shape ``input_shape`` (without
        the batch dimension; default: the shape given to the constructor or the first
        layer's input_dim). ``fit``/``predict`` call it with the data's shape."""
        if not self.layers:
            raise ValueError("the model has no layers: add some with model.add(...)")
        if input_shape is None:
            input_shape = self._resolved_input_shape()
            if input_shape is None:
                raise ValueError(
                    "the input shape is not known yet: pass input_shape= to Sequential, "
                    "input_dim= to the first Dense layer, or call fit/predict with data"
                )
        shape = _shape_tuple(input_shape, "input_shape")
        s = shape
        for layer in self.layers:  # check the whole chain before drawing any weights
            s = layer.output_shape(s)
        s = shape
        for layer in self.layers:
            self._build_layer(layer, s)
            s = layer.output_shape(s)
        self._input_shape = shape
        self._output_shape = s
        self.built = True
        self._plan = self._infer_plan = None
        return self

    def _array_shapes(self, input_shape: int | Sequence[int]) -> tuple[_Shapes, _Shapes]:
        """What ``build(input_shape)`` would allocate, without allocating it: two lists of
        (layer name, key, shape), the parameters and the buffers, in ``params`` and
        ``buffers`` order."""
        params: _Shapes = []
        buffers: _Shapes = []
        s = _shape_tuple(input_shape, "input_shape")
        for layer in self.layers:
            params += [(layer.name, k, v) for k, v in layer.param_shapes(s).items()]
            buffers += [(layer.name, k, v) for k, v in layer.buffer_shapes(s).items()]
            s = layer.output_shape(s)
        return params, buffers

    def _ensure_built(self, X: NDArray[Any]) -> None:
        if not self.built:
            declared = self._resolved_input_shape()
            self.build(declared if declared is not None else X.shape[1:])

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """Per-sample input shape (None until known)."""
        return self._input_shape if self.built else self._resolved_input_shape()

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        """Per-sample output shape (None until built)."""
        return self._output_shape

    @property
    def params(self) -> list[tuple[Layer, str, NDArray[Any]]]:
        """Every parameter as (layer, key, array), in layer order (the arrays themselves)."""
        return [(layer, key, arr) for layer in self.layers for key, arr in layer.params.items()]

    @property
    def buffers(self) -> list[tuple[Layer, str, NDArray[Any]]]:
        """Saved, untrained state as (layer, key, array): BatchNorm's running statistics."""
        return [(layer, key, arr) for layer in self.layers for key, arr in layer.buffers.items()]

    def all_layers(self) -> list[Layer]:
        """Every layer, with those inside Residual blocks, depth first."""
        return [l for layer in self.layers for l in [layer] + layer.sublayers()]

    def count_params(self) -> int:
        return int(sum(a.size for _, _, a in self.params))

    def get_weights(self) -> list[NDArray[Any]]:
        """Copies of every parameter array, in ``params`` order."""
        return [a.copy() for _, _, a in self.params]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        """Copy ``weights`` (a list in ``get_weights`` order) into the parameters in place."""
        params = self.params
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"set_weights got {len(weights)} arrays but the model has "
                             f"{len(params)} parameters")
        checked: list[tuple[NDArray[Any], NDArray[Any]]] = []
        for (layer, key, arr), w in zip(params, weights):
            w = np.asarray(w)
            if w.shape != arr.shape:
                raise ValueError(f"{layer.name}.{key} has shape {arr.shape}, got an array of "
                                 f"shape {w.shape}")
            if w.dtype.kind not in "fiu":
                raise TypeError(f"{layer.name}.{key}: weights must be numeric, got {w.dtype}")
            checked.append((arr, w))
        for arr, w in checked:
            arr[...] = w

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

    # ================================================================== forward/backward

    def _head_activation(self) -> str | None:
        """The activation applied last (Activation layer or Dense activation), or None."""
        if not self.layers:
            return None
        last = self.layers[-1]
        if isinstance(last, (Activation, Dense)):
            return last.activation
        return None

    def _fold_mode(self, loss: Loss) -> str | None:
        """How the loss absorbs the output activation: "layer" (the last layer is a Softmax
        / Sigmoid layer, skipped: the loss takes its input), "dense" (the last Dense's
        activation is skipped), or None."""
        want = getattr(loss, "fused_activation", None)
        if not want or not self.layers:
            return None
        last = self.layers[-1]
        if isinstance(last, Activation) and last.activation == want:
            return "layer"
        if isinstance(last, Dense) and last.activation == want:
            return "dense"
        return None

    def _forward_logits(self, x: NDArray[Any], training: bool,
                        fold: str | None) -> NDArray[Any]:
        """Forward through the model; with ``fold`` stop before the folded activation."""
        layers = self.layers
        last = len(layers) - 1
        for i in range(last):
            x = layers[i]._forward(x, training)
        if fold == "layer":
            return x
        if fold == "dense":
            return cast(Dense, layers[last])._forward(x, training, activate=False)
        return layers[last]._forward(x, training)

    def _backward(self, g: NDArray[Any] | None, fold: str | None,
                  stop: int) -> NDArray[Any] | None:
        """Backprop the loss gradient ``g`` from the top down to layer ``stop``."""
        layers = self.layers
        top = len(layers) - 1 if fold == "layer" else len(layers)
        for i in range(top - 1, stop - 1, -1):
            assert g is not None  # only the bottom layer may skip dx
            g = layers[i].backward(g)
        return g

    @contextmanager
    def _session(self, bw_stop: int | None = None) -> Iterator[None]:
        """While the model computes: layers reuse their buffers, the bottom layer of the
        backward pass skips dx, and the ops skip their NaN scans (the data was checked;
        divergence is detected from the loss)."""
        layers = self.layers
        for layer in layers:
            layer._reuse = True
        if bw_stop is not None and bw_stop < len(layers):
            layers[bw_stop]._need_dx = False
        try:
            with config_context(check_finite=False), \
                    np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                yield
        finally:
            for layer in layers:
                layer._reuse = False
                layer._need_dx = True

    def _first_trainable(self) -> int:
        """Index of the lowest layer with trainable parameters (len(layers) if none)."""
        for i, layer in enumerate(self.layers):
            if layer.trainable_keys():
                return i
        return len(self.layers)

    def _count_correct(self, out: NDArray[Any], yb: NDArray[Any]) -> float:
        """Correctly classified samples in a batch (binary with several outputs: the
        fraction of outputs on the right side of the threshold, summed over rows)."""
        if self._task == "multiclass":
            truth = yb if yb.ndim == 1 else yb.argmax(axis=1)
            return float(np.count_nonzero(out.argmax(axis=1) == truth))
        assert self._threshold is not None  # set by fit or evaluate
        hit = (out > self._threshold) == (yb > 0.5)
        hit = hit.reshape(hit.shape[0], -1)
        if hit.shape[1] == 1:
            return float(np.count_nonzero(hit))
        return float(hit.mean(axis=1).sum())

    # ================================================================== training

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 1, batch_size: int = 32,
            loss: str | Loss = "cross_entropy", optimizer: str | Optimizer = "adam",
            shuffle: bool = True, validation_data: Sequence[ArrayLike] | None = None,
            validation_split: float = 0.0,
            metrics: str | Iterable[str] | None = ("accuracy",),
            callbacks: Callback | Iterable[Callback] | None = None, verbose: int = 1,
            sample_weight: ArrayLike | None = None, on_nonfinite: str = "raise") -> History:
        """Train for ``epochs`` passes over (X, y) in mini-batches; returns a History.

        ``loss``: "cross_entropy" (integer labels or class probabilities; the outputs are
        logits, or the input of a final Softmax), "binary_cross_entropy", "mse",
        "squared_error", or a Loss. ``optimizer``: "sgd", "adam", "adamw", "rmsprop" (new,
        with defaults) or an Optimizer instance (keeps its state across fit calls).
        ``validation_data=(Xv, yv)`` or ``validation_split`` (the last fraction of the rows,
        taken before shuffling). ``verbose``: 0 silent, 1 progress bar and a line per
        epoch, 2 lines only. ``on_nonfinite``: "raise" (TrainingDivergedError, weights of
        the last good epoch restored) or "ignore". While it runs, predict and evaluate
        called from other threads wait for it.
        """
        with self._lock:
            return self._fit(X, y, epochs, batch_size, loss, optimizer, shuffle,
                             validation_data, validation_split, metrics, callbacks, verbose,
                             sample_weight, on_nonfinite)

    def _fit(self, X: ArrayLike, y: ArrayLike, epochs: int, batch_size: int,
             loss: str | Loss, optimizer: str | Optimizer, shuffle: bool,
             validation_data: Sequence[ArrayLike] | None, validation_split: float,
             metrics: str | Iterable[str] | None,
             callbacks: Callback | Iterable[Callback] | None, verbose: int,
             sample_weight: ArrayLike | None, on_nonfinite: str) -> History:
        epochs = integer("epochs", epochs, lo=0)
        batch_size = integer("batch_size", batch_size, lo=1)
        validation_split = scalar("validation_split", validation_split, lo=0.0, hi=1.0,
                                  hi_open=True)
        if on_nonfinite not in ("raise", "ignore"):
            raise ValueError(f"on_nonfinite must be 'raise' or 'ignore', got {on_nonfinite!r}")
        verbose = _check_verbose(verbose)
        metrics = _check_metrics(metrics)
        callbacks = _check_callbacks(callbacks)
        loss = get_loss(loss)
        optimizer = get_optimizer(optimizer)
        if validation_data is not None and validation_split:
            raise ValueError("pass validation_data or validation_split, not both")

        # X's NaN/inf check: with epochs to run, the first epoch does it as it reads the
        # rows (the fused plan checks each row it gathers; a bad one puts the model back
        # and raises the same error), which saves a pass over X
        X = X_full = self._check_X(X, finite=epochs == 0)
        self._ensure_built(X)
        self._check_features(X)
        n = X.shape[0]
        y, task = self._prepare_targets(y, n, loss)
        sw = self._check_sample_weight(sample_weight, n)
        Xv = yv = None
        if validation_split:
            split = int(n * (1.0 - validation_split))
            if split < 1 or split >= n:
                raise ValueError(f"validation_split={validation_split} of {n} rows leaves "
                                 f"{split} for training and {n - split} for validation; "
                                 "both need at least one")
            X, Xv, y, yv = X[:split], X[split:], y[:split], y[split:]
            sw = None if sw is None else sw[:split]
            if not _all_finite(Xv):  # rows that training never reads
                raise _nonfinite_error(X_full)
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a tuple (X_val, y_val)")
            Xv = self._check_X(validation_data[0], "validation_data X")
            self._check_features(Xv, "validation_data X")
            yv, _ = self._prepare_targets(validation_data[1], Xv.shape[0], loss,
                                          "validation_data y")

        self._bw_stop = self._first_trainable()
        trainable = [(layer, key) for layer in self.layers[self._bw_stop:]
                     for key in layer.trainable_keys()]
        train_params = [layer.params[k] for layer, k in trainable]
        # raises if it holds state for other parameters
        optimizer.setup(train_params, is_bias=[k in getattr(layer, "bias_keys", ())
                                               for layer, k in trainable])
        self._train_params = train_params
        self._train_grads = [layer.grads[k] for layer, k in trainable]
        loss._ops = self._ops
        optimizer._ops = self._ops
        self.loss, self.optimizer, self.metrics = loss, optimizer, metrics
        self._task = task
        self._threshold = 0.0 if loss.name == "binary_cross_entropy" else 0.5
        self._fold = self._fold_mode(loss)
        self._track_accuracy = "accuracy" in metrics and task is not None
        self._on_nonfinite = on_nonfinite
        self._plan = None  # built at the first epoch from this fit's settings

        history = History()
        progress = ProgressLogger(verbose) if verbose else None
        cbs = [history, *callbacks] + ([progress] if progress else [])
        params = {"epochs": epochs, "samples": X.shape[0], "batch_size": batch_size,
                  "verbose": verbose}
        for cb in cbs:
            cb.set_model(self)
            cb.set_params(params)
        self.history = history
        self.stop_training = False
        self._progress = progress.update if progress is not None and verbose == 1 else None
        n_train = X.shape[0]
        self._x_unchecked = epochs > 0
        try:
            for cb in cbs:
                cb.on_train_begin({})
            for epoch in range(epochs):
                for cb in cbs:
                    cb.on_epoch_begin(epoch, {})
                unchecked = self._x_unchecked
                snapshot = self._snapshot() if on_nonfinite == "raise" or unchecked else None
                rng_state = self.rng.bit_generator.state if unchecked else None
                perm = self.rng.permutation(n_train) if shuffle else None
                t0 = time.perf_counter()
                try:
                    with self._session(self._bw_stop):
                        loss_sum, seen, correct = self._run_epoch(X, y, perm, batch_size, sw)
                except NonFiniteInputError:  # the model as it was before fit
                    assert snapshot is not None and rng_state is not None  # taken: unchecked
                    self._restore(snapshot)
                    self.rng.bit_generator.state = rng_state
                    raise _nonfinite_error(X_full) from None
                self._epoch_stats = (seen, time.perf_counter() - t0)
                epoch_loss = loss_sum / seen if seen else math.nan
                if on_nonfinite == "raise" and (not math.isfinite(epoch_loss)
                                                or not self._weights_finite()):
                    assert snapshot is not None  # taken: on_nonfinite == "raise"
                    self._restore(snapshot)
                    if unchecked and not _all_finite(X):  # bad input, not divergence
                        assert rng_state is not None  # taken: unchecked
                        self.rng.bit_generator.state = rng_state
                        raise _nonfinite_error(X_full)
                    raise TrainingDivergedError(
                        _diverged_message(epoch, epochs, epoch_loss, optimizer),
                        epoch=epoch + 1, loss=epoch_loss,
                    )
                self._x_unchecked = False
                logs = {"loss": float(epoch_loss)}
                if self._track_accuracy:
                    assert correct is not None  # counted when tracking accuracy
                    logs["accuracy"] = float(correct / seen) if seen else math.nan
                if Xv is not None:
                    assert yv is not None  # set with Xv
                    vloss, vacc = self._evaluate_prepared(Xv, yv, loss, task, None)
                    logs["val_loss"] = vloss
                    if self._track_accuracy:
                        assert vacc is not None  # same metrics and task as training
                        logs["val_accuracy"] = vacc
                for cb in cbs:
                    cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            for cb in cbs:
                cb.on_train_end({})
        finally:
            self._progress = None
            self._x_unchecked = False
            if progress is not None:
                progress._close()
        return history

    def _run_epoch(self, X: NDArray[Any], y: NDArray[Any], perm: NDArray[np.intp] | None,
                   batch_size: int,
                   sample_weight: NDArray[Any] | None) -> tuple[float, int, float | None]:
        """One epoch of training. Returns (sum over batches of batch loss * batch rows,
        rows seen, correctly classified rows or None).

        This is where the fused native plan plugs in; it may use: ``self.loss``,
        ``self.optimizer`` (its ``state``, ``lr``, ``iterations``, updated in place),
        ``self._fold`` ("layer": the last Softmax/Sigmoid layer is folded into the loss;
        "dense": the last Dense's activation is), ``self._bw_stop`` (lowest layer that
        backward reaches), ``self._train_params`` / ``self._train_grads`` (aligned with the
        optimizer's state), ``self._task`` / ``self._threshold`` /
        ``self._track_accuracy`` (accuracy), ``self._on_nonfinite`` ("raise": stop at the
        first non-finite batch loss, without updating on it) and ``self._progress``
        (None, or a callable taking the number of rows done, for the progress bar).
        Dropout layers advance ``offset`` by the batch's element count per batch.
        ``perm`` is the epoch's row order (from ``self.rng.permutation``), or None when
        ``shuffle=False`` (rows in order). ``y`` holds intp labels for cross-entropy with
        labels, else floats of the model dtype shaped (n,) + output_shape.
        """
        if not self.fused or _fused.unsupported_reason(self) is not None:
            if self._x_unchecked and not _all_finite(X):  # before any batch
                raise NonFiniteInputError(_first_nonfinite_row(X))
            return self._run_epoch_python(X, y, perm, batch_size, sample_weight)
        # the plan holds pointers to every layer's arrays: rebuilt when one was replaced
        key = (X.shape[1:], y.shape[1:], y.dtype, Layer._generation)
        if self._plan is None or self._plan_key != key:
            self._plan_targets = _fused.plan_targets(self, y, X.shape[0])
            self._plan = _fused.build_plan(self, X, self._plan_targets, batch_size,
                                           sample_weight)
            self._plan_key = key
        assert self._plan_targets is not None  # built with the plan
        return _fused.run_epoch(self, self._plan, X, self._plan_targets, perm, batch_size,
                                sample_weight, check_rows=self._x_unchecked)

    def _run_epoch_python(self, X: NDArray[Any], y: NDArray[Any],
                          perm: NDArray[np.intp] | None, batch_size: int,
                          sample_weight: NDArray[Any] | None) -> tuple[float, int, float | None]:
        """The per-layer Python path: per batch, forward (training) -> loss value and
        gradient -> backward -> optimizer update."""
        loss, opt = self.loss, self.optimizer
        assert loss is not None and opt is not None  # set by fit
        fold, stop = self._fold, self._bw_stop
        params, grads = self._train_params, self._train_grads
        update = bool(params)
        count = self._count_correct if self._track_accuracy else None
        stop_on_nonfinite = self._on_nonfinite == "raise"
        report = self._progress
        n = X.shape[0]
        loss_sum, seen = 0.0, 0
        correct = 0.0 if count is not None else None
        if perm is not None:  # gather buffers for the shuffled batches, allocated once
            m0 = min(batch_size, n)
            xbuf = np.empty((m0,) + X.shape[1:], X.dtype)
            ybuf = np.empty((m0,) + y.shape[1:], y.dtype)
            wbuf = None if sample_weight is None else np.empty(m0, sample_weight.dtype)
        gbufs: dict[tuple[int, ...], NDArray[Any]] = {}
        swb = None
        for start in range(0, n, batch_size):
            end = min(start + batch_size, n)
            m = end - start
            if perm is None:
                xb, yb = X[start:end], y[start:end]
                if sample_weight is not None:
                    swb = sample_weight[start:end]
            else:
                idx = perm[start:end]
                xb = np.take(X, idx, axis=0, out=xbuf[:m], mode="clip")
                yb = np.take(y, idx, axis=0, out=ybuf[:m], mode="clip")
                if sample_weight is not None:
                    assert wbuf is not None  # allocated with sample_weight
                    swb = np.take(sample_weight, idx, out=wbuf[:m], mode="clip")
            if swb is not None and not swb.sum() > 0:
                continue  # every sample of this batch has weight 0: nothing to learn
            out = self._forward_logits(xb, True, fold)
            gbuf = gbufs.get(out.shape)
            if gbuf is None:
                gbuf = gbufs[out.shape] = np.empty(out.shape, out.dtype)
            value, g = loss.value_and_grad(out, yb, swb, grad=gbuf)
            if not math.isfinite(value) and stop_on_nonfinite:
                return loss_sum + value * m, seen + m, correct
            if count is not None:
                assert correct is not None  # a float whenever count is set
                correct += count(out, yb)
            if update:
                self._backward(g, fold, stop)
                opt.update(params, grads)
            loss_sum += value * m
            seen += m
            if report is not None:
                report(m)
        return loss_sum, seen, correct

    def _snapshot(self) -> _Snapshot:
        return (
            [a.copy() for _, _, a in self.params],
            self.optimizer.get_state() if self.optimizer is not None else None,
            [(layer, layer.offset) for layer in self.all_layers() if isinstance(layer, Dropout)],
            [a.copy() for _, _, a in self.buffers],
        )

    def _restore(self, snapshot: _Snapshot) -> None:
        weights, opt_state, offsets, buffers = snapshot
        for (_, _, a), w in zip(self.params, weights):
            a[...] = w
        for (_, _, a), w in zip(self.buffers, buffers):
            a[...] = w
        if opt_state is not None:
            assert self.optimizer is not None  # it gave opt_state
            self.optimizer.set_state(opt_state)
        for layer, offset in offsets:
            layer.offset = offset

    def _weights_finite(self) -> bool:
        return all(_all_finite(a) for _, _, a in self.params)

    # ================================================================== gradients

    def loss_and_gradients(self, X: ArrayLike, y: ArrayLike, loss: str | Loss | None = None, *,
                           sample_weight: ArrayLike | None = None,
                           training: bool = False) -> tuple[float, list[NDArray[Any]]]:
        """The loss on (X, y) as one batch and its gradient with respect to every
        parameter: ``(loss, [grad per entry of params])`` (copies). No update is made.
        ``training=True`` runs the layers in training mode (dropout on)."""
        loss = get_loss(loss if loss is not None else (self.loss or "cross_entropy"))
        loss._ops = self._ops
        X = self._check_X(X)
        self._ensure_built(X)
        self._check_features(X)
        y, _ = self._prepare_targets(y, X.shape[0], loss)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        fold = self._fold_mode(loss)
        stop = next((i for i, layer in enumerate(self.layers) if layer.params),
                    len(self.layers))
        with self._session(stop):
            out = self._forward_logits(X, bool(training), fold)
            value, g = loss.value_and_grad(out, y, sw)
            if stop < len(self.layers):
                self._backward(g, fold, stop)
        return value, [layer.grads[k].copy() for layer, k, _ in self.params]

    # ================================================================== inference

    def _infer_batch(self, batch_size: int | None) -> int:
        if batch_size is None:
            return INFERENCE_BATCH
        return integer("batch_size", batch_size, lo=1)

    def predict(self, X: ArrayLike, batch_size: int | None = None) -> NDArray[Any]:
        """Raw outputs of the last layer for X, computed in batches (inference mode).
        Safe to call from several threads at once (they take turns on the model)."""
        with self._lock:
            plan = self._infer_plan
            if (plan is not None and batch_size is None and self.fused
                    and self._infer_generation == Layer._generation
                    and self._input_shape is not None and len(self._input_shape) == 1):
                # The common case, checked natively: one call that checks X's type, shape
                # and layout, scans it for NaN/inf and runs every layer (single-sample
                # latency matters); anything else, None, takes the checked path below.
                out = plan.predict_rows(X)
                if out is not None:
                    assert self._output_shape is not None  # built with the plan
                    return out if len(self._output_shape) == 1 else \
                        out.reshape((out.shape[0],) + self._output_shape)
            return self._predict(X, batch_size)

    def _predict(self, X: ArrayLike, batch_size: int | None) -> NDArray[Any]:
        bs = self._infer_batch(batch_size)
        X = self._check_X(X)
        self._ensure_built(X)
        self._check_features(X)
        assert self._output_shape is not None  # built
        n = X.shape[0]
        if self.fused and self.backend == "native" and n:
            if self._infer_plan is None or self._infer_generation != Layer._generation:
                # (the plan holds pointers to every layer's arrays: rebuilt when one was
                # replaced)
                self._infer_plan = _fused.inference_plan(self, INFERENCE_BATCH)
                self._infer_generation = Layer._generation
            if self._infer_plan is not None:  # one native call: every layer, every row
                out = np.empty((n,) + self._output_shape, self.dtype)
                self._infer_plan.predict(X.reshape(n, -1), out.reshape(n, -1))
                return out
        with self._session():
            if n <= bs:
                return np.array(self._forward_logits(X, False, None), copy=True)
            out = np.empty((n,) + self._output_shape, self.dtype)
            for s in range(0, n, bs):
                e = min(s + bs, n)
                out[s:e] = self._forward_logits(X[s:e], False, None)
        return out

    def _output_threshold(self) -> float:
        if self._head_activation() == "sigmoid":
            return 0.5
        if self.loss is None or self.loss.name == "binary_cross_entropy":
            return 0.0
        return 0.5

    def predict_proba(self, X: ArrayLike, batch_size: int | None = None) -> NDArray[Any]:
        """Class probabilities: the outputs if the last layer already is a Softmax or a
        Sigmoid, otherwise the softmax of the outputs (sigmoid for one output or
        binary_cross_entropy)."""
        out = self.predict(X, batch_size)
        act = self._head_activation()
        if act in ("softmax", "sigmoid"):
            return out
        with config_context(check_finite=False):
            if out.ndim == 2 and out.shape[1] > 1 and not (
                    self.loss is not None and self.loss.name == "binary_cross_entropy"):
                return cast("NDArray[Any]", self._ops.softmax(out, out=out))
            return cast("NDArray[Any]", self._ops.sigmoid(out, out=out))

    def predict_classes(self, X: ArrayLike,
                        batch_size: int | None = None) -> NDArray[np.integer[Any]]:
        """Predicted class per sample (int64): argmax over several outputs, or the side of
        the threshold (0.5 on probabilities, 0 on logits) for one output."""
        out = self.predict(X, batch_size)
        if out.ndim == 2 and out.shape[1] > 1:
            return cast("NDArray[np.integer[Any]]", out.argmax(axis=1))
        return (out.reshape(out.shape[0], -1)[:, 0] > self._output_threshold()).astype(np.int64)

    def _evaluate_prepared(self, X: NDArray[Any], y: NDArray[Any], loss: Loss, task: str | None,
                           batch_size: int | None) -> tuple[float, float | None]:
        bs = self._infer_batch(batch_size)
        fold = self._fold_mode(loss)
        track = "accuracy" in self.metrics and task is not None
        saved = (getattr(self, "_task", None), getattr(self, "_threshold", None))
        self._task = task
        self._threshold = 0.0 if loss.name == "binary_cross_entropy" else 0.5
        n = X.shape[0]
        loss_sum, correct = 0.0, 0.0
        try:
            with self._session():
                for s in range(0, n, bs):
                    e = min(s + bs, n)
                    out = self._forward_logits(X[s:e], False, fold)
                    loss_sum += loss.value(out, y[s:e]) * (e - s)
                    if track:
                        correct += self._count_correct(out, y[s:e])
        finally:
            self._task, self._threshold = saved
        return float(loss_sum / n), (float(correct / n) if track else None)

    def evaluate(self, X: ArrayLike, y: ArrayLike, batch_size: int | None = None, *,
                 loss: str | Loss | None = None) -> dict[str, float]:
        """``{"loss": ..., "accuracy": ...}`` on (X, y) (accuracy for classification),
        in inference mode and in batches. ``loss`` defaults to the one used by fit.
        Safe to call from several threads at once (they take turns on the model)."""
        with self._lock:
            return self._evaluate(X, y, batch_size, loss)

    def _evaluate(self, X: ArrayLike, y: ArrayLike, batch_size: int | None,
                  loss: str | Loss | None) -> dict[str, float]:
        if loss is None:
            loss = self.loss
            if loss is None:
                raise ValueError("evaluate needs a loss: fit the model first or pass loss=")
        loss = get_loss(loss)
        loss._ops = self._ops
        X = self._check_X(X)
        self._ensure_built(X)
        self._check_features(X)
        y, task = self._prepare_targets(y, X.shape[0], loss)
        value, acc = self._evaluate_prepared(X, y, loss, task, batch_size)
        result = {"loss": value}
        if acc is not None:
            result["accuracy"] = acc
        return result

    # ================================================================== info, saving

    def summary(self, file: TextIO | None = None) -> None:
        """Print a table: layer (name and class), output shape, parameter count, whether
        it trains; and the totals. Builds the model first if its input shape is known."""
        out = sys.stdout if file is None else file
        if not self.built and self.layers and self._resolved_input_shape() is not None:
            self.build()
        rows: list[tuple[str, str, str, str]] = []
        shape = self._input_shape if self.built else None

        def add_rows(layer: Layer, shape: tuple[int, ...] | None,
                     indent: str) -> tuple[int, ...] | None:
            block_in = shape
            if shape is not None:
                shape = layer.output_shape(shape)
                shape_s = "(None, " + ", ".join(str(s) for s in shape) + ")"
                count = f"{layer.count_params():,}"
            else:
                shape_s, count = "?", "?"
            has_params = bool(layer.params) if layer.built else isinstance(layer, Dense)
            status = ("yes" if layer.trainable else "frozen") if has_params else "-"
            rows.append((f"{indent}{layer.name} ({type(layer).__name__})", shape_s, count,
                         status))
            inner = getattr(layer, "layers", None)  # a Residual block: its layers, indented
            if isinstance(inner, list):
                s = block_in
                for sub in inner:
                    s = add_rows(sub, s, indent + "  | ")
                proj = cast(layers_block.Residual, layer).projection
                if proj is not None:
                    add_rows(proj, block_in, indent + "  + ")
            return shape

        for layer in self.layers:
            shape = add_rows(layer, shape, "")
        head = ("Layer (type)", "Output shape", "Params", "Trainable")
        widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(4)]
        fmt = (f"{{:<{widths[0]}}}  {{:<{widths[1]}}}  {{:>{widths[2]}}}  "
               f"{{:<{widths[3]}}}")
        total_width = sum(widths) + 6
        print(f'Model: Sequential (dtype {self.dtype}, backend {self.backend}'
              f'{", seed " + str(self.seed) if self.seed is not None else ""})', file=out)
        print("=" * total_width, file=out)
        print(fmt.format(*head).rstrip(), file=out)
        print("-" * total_width, file=out)
        for r in rows:
            print(fmt.format(*r).rstrip(), file=out)
        print("=" * total_width, file=out)
        if self.built:
            total = self.count_params()
            frozen = sum(l.count_params() for l in self.layers if not l.trainable)
            print(f"Total params: {total:,}", file=out)
            print(f"Trainable params: {total - frozen:,}", file=out)
            print(f"Frozen params: {frozen:,}", file=out)
        else:
            print("Not built yet: shapes and parameter counts are known after the first "
                  "fit/predict (or pass input_shape=).", file=out)

    def get_config(self) -> dict[str, Any]:
        return {
            "class": "Sequential",
            "dtype": str(self.dtype),
            "seed": self.seed,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "layers": [layer.get_config() for layer in self.layers],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (layers, weights, loss, optimizer and its state, RNG state) to
        one file; ``fastnn.load(path)`` restores it. The write is atomic."""
        from .saving import save_model  # the saving floor sits above the model

        save_model(self, path)

    def __repr__(self) -> str:
        opts = [f"dtype={str(self.dtype)!r}"]
        if self.seed is not None:
            opts.append(f"seed={self.seed}")
        if self._input_shape is not None and (
                not self.layers or self.layers[0]._declared_input_shape() != self._input_shape):
            opts.append(f"input_shape={self._input_shape}")
        if self.backend != "native":
            opts.append(f"backend={self.backend!r}")
        if not self.layers:
            return f"Sequential([], {', '.join(opts)})"
        inner = "".join(f"    {layer!r},\n" for layer in self.layers)
        return f"Sequential([\n{inner}], {', '.join(opts)})"

    def __len__(self) -> int:
        return len(self.layers)


# ====================================================================== helpers


def _check_verbose(verbose: int) -> int:
    if isinstance(verbose, bool):
        return int(verbose)
    v = integer("verbose", verbose)
    if v not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {v}")
    return v


def _check_metrics(metrics: str | Iterable[str] | None) -> tuple[str, ...]:
    if metrics is None:
        return ()
    if isinstance(metrics, str):
        metrics = (metrics,)
    out: list[str] = []
    for m in metrics:
        key = _METRIC_ALIASES.get(m) if isinstance(m, str) else None
        if key is None:
            raise ValueError(f"unknown metric {m!r}; valid metrics: {', '.join(METRICS)}")
        if key not in out:
            out.append(key)
    return tuple(out)


def _check_callbacks(callbacks: Callback | Iterable[Callback] | None) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be fastnn Callback instances, got "
                            f"{type(cb).__name__}")
    return callbacks


def _diverged_message(epoch: int, epochs: int, value: float, optimizer: Optimizer) -> str:
    what = "NaN" if math.isnan(value) else ("infinite" if math.isinf(value) else
                                           "finite but the weights became NaN/inf")
    restored = ("the initial weights" if epoch == 0
                else f"the weights after epoch {epoch}, the last good one,")
    return (
        f"training diverged in epoch {epoch + 1}/{epochs}: the loss became {what}. "
        f"{restored[0].upper() + restored[1:]} and the optimizer state were restored. "
        f"Try a lower learning rate (lr is {optimizer.lr:g}), scaled inputs, or "
        "fit(..., on_nonfinite='ignore') to go on anyway."
    )
