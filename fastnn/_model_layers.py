"""Sequential, part 1: the stack of layers -- adding, building, shapes, parameters and
weights. (fastnn/model.py lists the parts.)"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _model_state
from ._model_state import IncompatibleKeys, array_name
from ._pickling import Picklable
from .callbacks import History
from .layers import Dense, Layer, _shape_tuple, backend_name, get_backend
from .layers_conv import channels_last_error
from .layers_recurrent import check_time_avgpool_order
from .losses import Loss
from .optimizers import Optimizer

if TYPE_CHECKING:
    from ._plan import TrainingPlan
    from .callbacks import History

    # (layer name, key, shape) per array
    _Shapes: TypeAlias = list[tuple[str, str, tuple[int, ...]]]

_M = TypeVar("_M", bound="_LayerStack")


class _LayerStack(Picklable):
    """The layers of a Sequential model and what follows from them."""

    layers: list[Layer]
    built: bool
    dtype: np.dtype[Any]
    rng: np.random.Generator
    _ops: ModuleType
    _input_shape: tuple[int, ...] | None
    _output_shape: tuple[int, ...] | None
    loss: Loss | None
    optimizer: Optimizer | None
    _plan: TrainingPlan | None
    _infer_plan: TrainingPlan | None

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
            if "_trainable" not in layer.__dict__:
                raise TypeError(f"{type(layer).__name__}.__init__ must call "
                                "super().__init__() (it sets up the layer's name, params and "
                                "grads)")
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
                check_time_avgpool_order([*self.layers, layer])
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

    def build(self: _M, input_shape: int | Sequence[int] | None = None) -> _M:
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
        check_time_avgpool_order(self.layers)
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
            if declared is None and self.layers:
                error = channels_last_error(self.layers[0], X.shape)  # images as (N, H, W, C)?
                if error is not None:
                    raise error
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
                raise ValueError(f"{array_name(layer.name, key)} has shape {arr.shape}, got "
                                 f"an array of shape {w.shape}")
            if w.dtype.kind not in "fiu":
                raise TypeError(f"{array_name(layer.name, key)}: weights must be numeric, "
                                f"got {w.dtype}")
            checked.append((arr, w))
        for arr, w in checked:
            arr[...] = w

    def state_dict(self) -> dict[str, NDArray[Any]]:
        """Copies of every parameter and buffer (BatchNorm's running statistics) by name,
        as PyTorch's ``state_dict``: ``"{layer}.{key}"`` (``"dense_1.W"``; inside a
        Residual block ``"{block}.{i}.{key}"``, ``i`` the inner layer's position or
        ``projection``), parameters first, in ``params``
        order. Empty until the model is built."""
        return _model_state.state_dict(self)

    def load_state_dict(self, state: Mapping[str, ArrayLike],
                        strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of ``state`` (names as ``state_dict`` gives them) into the
        model's arrays in place, cast to the model's dtype. Every name is checked first:
        a shape that differs, a non-numeric array, and (``strict=True``) names missing
        from ``state`` or unknown to the model are all reported in one ValueError, and
        then nothing is loaded. Returns ``(missing_keys, unexpected_keys)`` (empty
        lists when strict). The model must be built."""
        return _model_state.load_state_dict(self, state, strict)
