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

The class is written in parts, by concern, each a base class of the next:
``_model_layers.py`` (the stack: adding, building, shapes, weights),
``_model_inputs.py`` (checking X, targets and sample weights),
``_model_inference.py`` (the passes through the layers, predict, evaluate),
``_model_training.py`` (fit and its epoch loop); ``_model_streams.py`` (fit on a
Sequence or an iterator of batches, or a memory-mapped X: not a base class, ``fit``
hands such data to it); ``_fused.py`` bridges to the native plan; this file holds the
constructor, summary, config and saving.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO, cast

import numpy as np
from numpy.typing import NDArray

from . import _fused
from ._validation import integer
from .callbacks import History, _BatchHooks
from .layers import Dense, Layer, _shape_tuple, as_float_dtype, get_backend
from .losses import Loss
from .optimizers import Optimizer
from . import layers_block, layers_conv  # noqa: F401  (registers their layer classes)
from ._model_training import METRICS, _Training

if TYPE_CHECKING:
    from ._plan import TrainingPlan

__all__ = ["Sequential"]


class Sequential(_Training):
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
    _transient = ("_plan", "_infer_plan", "_plan_key", "_plan_targets", "_progress",
                  "_batch_hooks", "_lock")

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
        self._batch_hooks: _BatchHooks | None = None  # fit's, when a callback has batch hooks
        # (rows, seconds) of the last training epoch
        self._epoch_stats: tuple[int, float] | None = None
        self._on_nonfinite = "raise"
        self._x_unchecked = False  # in fit: X's NaN/inf check is left to the first epoch
        if layers is not None:
            self._extend([layers] if isinstance(layers, Layer) else layers)

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
