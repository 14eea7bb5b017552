"""Layers: Dense, activation layers, Dropout and Flatten.

Every layer works on its own, the way a textbook shows it::

    d = Dense(3, input_dim=4)
    y = d.forward(x, training=True)     # x (N, 4) -> y (N, 3); builds at first use
    dx = d.backward(dy)                 # fills d.grads["W"], d.grads["b"]; returns dL/dx

``layer.params`` and ``layer.grads`` are dicts of plain numpy arrays with the same keys
and shapes (empty for layers without parameters). Parameters are updated in place, so a
reference taken to ``layer.params["W"]`` stays valid. ``layer.trainable = False``
freezes a layer: its parameters are not updated, but gradients still flow through it.

The math goes through a backend: ``fastnn.ops`` (native, the default) or
``fastnn.reference`` (numpy), both with the same functions. ``Sequential(backend=...)``
sets ``layer._ops`` on each of its layers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, Protocol, TypeVar, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from . import ops as _native
from . import reference as _reference
from ._pickling import Picklable
from .errors import LayerImplementationError
from ._validation import FLOAT_DTYPES, integer, scalar

__all__ = [
    "Layer",
    "Dense",
    "Activation",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Dropout",
    "Flatten",
    "INITIALIZERS",
    "ACTIVATION_NAMES",
    "BACKENDS",
    "get_backend",
    "layer_from_config",
    "layer_class_name",
]

BACKENDS = {"native": _native, "reference": _reference}

# The activation names every backend knows (fastnn.ops.ACTIVATIONS has the same keys).
ACTIVATION_NAMES = tuple(_reference.ACTIVATIONS)
# Default alpha of the activations that take one (the ops' own defaults).
_ALPHA_DEFAULTS = {"leaky_relu": 0.01, "elu": 1.0}

INITIALIZERS = ("he", "glorot", "lecun", "normal", "uniform", "zeros", "ones")
_INIT_ALIASES = {
    "he_normal": "he",
    "kaiming": "he",
    "glorot_uniform": "glorot",
    "xavier": "glorot",
    "lecun_normal": "lecun",
    "zero": "zeros",
}
_INIT_DEFAULT_SCALE = {"normal": ("std", 0.05), "uniform": ("limit", 0.05)}


def get_backend(backend: str | ModuleType) -> ModuleType:
    """The ops module of a backend name: "native" -> fastnn.ops, "reference" ->
    fastnn.reference (a module passes through)."""
    if isinstance(backend, str):
        try:
            return BACKENDS[backend]
        except KeyError:
            raise ValueError(
                f"unknown backend {backend!r}; valid backends: {', '.join(map(repr, BACKENDS))}"
            ) from None
    if backend is _native or backend is _reference:
        return backend
    raise TypeError(f"backend must be 'native' or 'reference', got {type(backend).__name__}")


def backend_name(module: ModuleType) -> str:
    for name, mod in BACKENDS.items():
        if mod is module:
            return name
    return getattr(module, "__name__", repr(module))


def as_float_dtype(dtype: DTypeLike, what: str = "dtype") -> np.dtype[Any]:
    """np.dtype('float32') or np.dtype('float64'); anything else is an error."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what} must be 'float32' or 'float64', got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{what} must be 'float32' or 'float64', got {dt}")
    return dt


def _shape_tuple(shape: int | Sequence[int], what: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(integer(what, s, lo=1) for s in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of positive integers, got {shape!r}") from None
    return shape


def build_args(input_shape: int | Sequence[int], dtype: DTypeLike,
               rng: np.random.Generator | None
               ) -> tuple[tuple[int, ...], np.dtype[Any], np.random.Generator]:
    """``Layer.build``'s arguments, checked: (shape tuple, float dtype, generator; a fresh
    unseeded one for None)."""
    shape = _shape_tuple(input_shape, "input_shape")
    dt = as_float_dtype(dtype)
    if rng is None:
        rng = np.random.default_rng()
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return shape, dt, rng


def _check_activation(activation: str | None, alpha: float | None,
                      what: str = "activation") -> tuple[str | None, float | None]:
    """(name or None, alpha or None), validated."""
    if activation is None or activation == "linear":
        if alpha is not None:
            raise ValueError("alpha is only used with activation='leaky_relu' or 'elu'")
        return None, None
    if not isinstance(activation, str):
        raise TypeError(f"{what} must be a name (str) or None, got {type(activation).__name__}")
    if activation not in ACTIVATION_NAMES:
        raise ValueError(
            f"unknown activation {activation!r}; valid names: {', '.join(ACTIVATION_NAMES)} "
            "(or None for a linear layer)"
        )
    if activation in _ALPHA_DEFAULTS:
        alpha = _ALPHA_DEFAULTS[activation] if alpha is None else scalar("alpha", alpha)
    elif alpha is not None:
        raise ValueError(
            f"alpha is only used with activation='leaky_relu' or 'elu', not {activation!r}"
        )
    return activation, alpha


def _check_init(spec: str | dict[str, Any], what: str) -> str | dict[str, Any]:
    """Normalize an initializer: a name, or a dict {"name": ..., "std"/"limit": ...}.
    Returns a JSON-able spec (a str when no parameter is given)."""
    params: dict[str, Any] = {}
    if isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("name", None)
    else:
        name = spec
    if not isinstance(name, str):
        raise TypeError(
            f"{what} must be an initializer name or a dict with a 'name', got {spec!r}"
        )
    name = _INIT_ALIASES.get(name, name)
    if name not in INITIALIZERS:
        raise ValueError(
            f"unknown initializer {name!r} for {what}; valid names: {', '.join(INITIALIZERS)}"
        )
    allowed = {_INIT_DEFAULT_SCALE[name][0]} if name in _INIT_DEFAULT_SCALE else set()
    unknown = set(params) - allowed
    if unknown:
        raise ValueError(
            f"{what} {name!r} takes {sorted(allowed) or 'no parameters'}, got {sorted(unknown)}"
        )
    for k, v in params.items():
        params[k] = scalar(f"{what}[{k!r}]", v, lo=0.0)
    return {"name": name, **params} if params else name


def _initialize(spec: str | dict[str, Any], shape: tuple[int, ...], fan_in: int, fan_out: int,
                rng: np.random.Generator, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Draw an initial array from the model's generator (float64 draws, then cast, so
    float32 and float64 models with one seed start from the same values)."""
    if isinstance(spec, dict):
        name, params = spec["name"], spec
    else:
        name, params = spec, {}
    if name == "zeros":
        return np.zeros(shape, dtype)
    if name == "ones":
        return np.ones(shape, dtype)
    if name == "he":
        a = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
    elif name == "lecun":
        a = rng.standard_normal(shape) * math.sqrt(1.0 / fan_in)
    elif name == "glorot":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        a = rng.uniform(-limit, limit, shape)
    elif name == "normal":
        a = rng.standard_normal(shape) * params.get("std", 0.05)
    elif name == "uniform":
        limit = params.get("limit", 0.05)
        a = rng.uniform(-limit, limit, shape)
    else:  # pragma: no cover - _check_init rejects it first
        raise ValueError(f"unknown initializer {name!r}")
    return np.ascontiguousarray(a, dtype=dtype)


def _fmt_shape(shape: Sequence[object]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class _Arrays(dict[str, NDArray[Any]]):
    """A layer's ``params``, ``grads`` or ``buffers``: a plain dict of arrays, except that
    putting an array in (or taking one out) advances ``Layer._generation``. A model's
    native plans hold pointers to these arrays; they are rebuilt when the generation they
    were built at has passed, so ``layer.params["W"] = W_new`` is seen by the next
    ``predict`` and ``fit``. (Changes inside an array are seen anyway.)"""

    __slots__ = ()

    def __setitem__(self, key: str, value: NDArray[Any]) -> None:
        super().__setitem__(key, value)
        Layer._generation += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        Layer._generation += 1

    def update(self, *args: Any, **kwargs: NDArray[Any]) -> None:
        super().update(*args, **kwargs)
        Layer._generation += 1

    def __ior__(self: _A, other: Any) -> _A:  # type: ignore[override,misc]  # dict's own fails too
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        Layer._generation += 1
        return super().setdefault(key, default)

    def pop(self, *args: Any) -> Any:
        Layer._generation += 1
        return super().pop(*args)

    def popitem(self) -> tuple[str, NDArray[Any]]:
        Layer._generation += 1
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        Layer._generation += 1

    def __reduce__(self) -> tuple[type[_Arrays], tuple[dict[str, NDArray[Any]]]]:
        return _Arrays, (dict(self),)


_A = TypeVar("_A", bound=_Arrays)
_L = TypeVar("_L", bound="Layer")


class _ArraysAttribute(Protocol):
    """What ``_arrays_attribute`` returns (a property), as a type checker sees it: reads
    give the _Arrays, any mapping of arrays can be assigned."""

    def __get__(self, obj: Layer, owner: type | None = None, /) -> _Arrays: ...

    def __set__(self, obj: Layer, value: Mapping[str, NDArray[Any]], /) -> None: ...


def _arrays_attribute(name: str) -> _ArraysAttribute:
    """A Layer attribute that holds an _Arrays: a dict assigned to it is wrapped, and the
    assignment advances Layer._generation."""
    key = "_" + name

    def assign(self: Layer, value: Mapping[str, NDArray[Any]]) -> None:
        setattr(self, key, _Arrays(value))
        Layer._generation += 1

    return property(operator.attrgetter(key), assign)


def activation_steps(activation: str | None, alpha: float | None) -> list[dict[str, Any]]:
    """The plan step of an activation (none for None), for layers that end in one."""
    if activation is None:
        return []
    return [{"kind": "activation", "activation": _native.ACTIVATION_CODES[activation],
             "alpha": alpha}]


def shift_partners(steps: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
    """Plan steps placed `offset` steps further into a longer list: their "partner"
    indices (Layer.plan_steps) shifted along."""
    return [{**st, "partner": st["partner"] + offset} if st.get("partner") is not None else st
            for st in steps]


class Layer(Picklable):
    """Base class of all layers.

    Attributes: ``name`` (unique within a model; the model names unnamed layers
    ``dense_1``, ``dropout_2``, ...), ``trainable``, ``params`` and ``grads`` (dicts of
    arrays with the same keys and shapes), ``built``, ``input_shape`` (per sample, without
    the batch dimension) and ``dtype``.

    Subclasses implement ``_build(input_shape, dtype, rng)`` (allocate params),
    ``output_shape(input_shape)``, ``_forward(x, training)`` and ``backward(dy)``.
    A subclass defined outside fastnn (a custom layer) may implement the public
    ``forward(x, training=False)`` (or ``forward(x)``) instead of ``_forward``, and may
    leave out ``output_shape`` and create its parameters lazily in ``forward``:
    fastnn.layers_custom describes what the model then does for it.
    """

    _ops: ModuleType = _native  # the backend; Sequential sets it per layer
    _base_name = "layer"
    # True on layers whose input is integer indices (Embedding): a model that starts with
    # one takes integer X, checked and converted by the layer's check_indices
    takes_indices = False
    # Advanced whenever any layer's arrays or trainable flag are replaced (_Arrays): the
    # models' native plans compare it with the value they were built at.
    _generation = 0
    # Set on subclasses defined outside fastnn that compute in their own Python methods
    # (forward, _forward, backward): fastnn.layers_custom checks what those return, and
    # the model trains them on the per-layer path
    _custom_compute = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ != "fastnn" and not cls.__module__.startswith("fastnn."):
            from . import layers_custom  # the same floor; imported when a user class appears

            layers_custom.prepare_class(cls)

    # params, grads and buffers are _Arrays whatever dict is assigned; assigning one, or
    # trainable, advances the generation too
    params = _arrays_attribute("params")
    grads = _arrays_attribute("grads")
    buffers = _arrays_attribute("buffers")

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        Layer._generation += 1

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        self.name = name if name is not None else self._base_name
        self._auto_name = name is None
        self.trainable = bool(trainable)
        self.params = {}
        self.grads = {}
        self.buffers = {}  # state that is saved but not trained (BatchNorm's running stats)
        self.built = False
        self.input_shape: tuple[int, ...] | None = None
        self.dtype: np.dtype[Any] | None = None
        # Set by Sequential while it trains / predicts: reuse output buffers between
        # calls (allocation-light) and skip dx of the bottom layer.
        self._reuse = False
        self._bufs: dict[tuple[str, tuple[int, ...]], NDArray[Any]] = {}
        self._need_dx = True

    # ------------------------------------------------------------------ building

    def build(self: _L, input_shape: int | Sequence[int], dtype: DTypeLike = np.float32,
              rng: np.random.Generator | None = None) -> _L:
        """Allocate the parameters for inputs of per-sample shape ``input_shape`` (without
        the batch dimension) and ``dtype``, drawing initial values from ``rng`` (the
        model's ``np.random.Generator``; a fresh unseeded one when None)."""
        if self.__dict__.get("_fastnn_building"):
            return self  # super().build() in a custom layer's build: done around that build
        input_shape, dtype, rng = build_args(input_shape, dtype, rng)
        if not self._custom_compute:  # a custom layer's forward says so, in _end_build
            self.output_shape(input_shape)  # validates the input shape
        self._start_build(input_shape, dtype)
        self._build(input_shape, dtype, rng)
        self._end_build()
        return self

    def _start_build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.input_shape = input_shape
        self.dtype = dtype
        self.params = {}

    def _end_build(self) -> None:
        if self._custom_compute:
            from . import layers_custom

            layers_custom.probe(self)  # learns the output shape, makes lazy parameters
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._bufs = {}
        self.built = True

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        pass

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        """Per-sample output shape for a per-sample input shape (a custom layer that does
        not say: what its forward returns for one all-zero sample)."""
        if self._custom_compute:
            from . import layers_custom

            return layers_custom.inferred_shapes(self, input_shape)[0]
        return tuple(input_shape)

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        """{key: shape} of the parameters ``build`` allocates for this input shape (what
        ``load`` checks a file against before allocating anything; for a custom layer,
        what a built copy of it holds)."""
        if self._custom_compute:
            from . import layers_custom

            return layers_custom.inferred_shapes(self, input_shape)[1]
        return {}

    def buffer_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        """{key: shape} of the buffers ``build`` allocates for this input shape."""
        if self._custom_compute:
            from . import layers_custom

            return layers_custom.inferred_shapes(self, input_shape)[2]
        return {}

    def _declared_input_shape(self) -> tuple[int, ...] | None:
        """The per-sample input shape fixed by the constructor (Dense's input_dim), or None."""
        return None

    # ------------------------------------------------------------------ compute

    def forward(self, x: NDArray[Any], training: bool = False) -> NDArray[Any]:
        """Output for a batch ``x`` (N, ...). ``training`` turns on dropout. Caches what
        ``backward`` needs. Builds the layer at first use from ``x.shape[1:]``."""
        return self._forward(self._checked_input(x), training)

    def _checked_input(self, x: NDArray[Any]) -> NDArray[Any]:
        """``forward``'s x, checked against the layer (built from it at first use), as a
        C-contiguous array."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        if not self.built:
            if x.ndim < 1:
                raise ValueError("x must have a batch dimension, got a 0-d array")
            self.build(x.shape[1:], x.dtype)
        if x.dtype != self.dtype:
            raise TypeError(
                f"{self.name} was built for {self.dtype} inputs but x has dtype {x.dtype} "
                f"(convert it with x.astype(np.{self.dtype}))"
            )
        assert self.input_shape is not None  # built above
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{self.name} was built for inputs of shape "
                f"{_fmt_shape(('N',) + self.input_shape)} but x has shape {_fmt_shape(x.shape)}"
            )
        return np.ascontiguousarray(x)

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        raise LayerImplementationError(
            f"{self.name} ({type(self).__name__}) has no forward: implement "
            "forward(self, x, training=False) returning the layer's output for the batch x"
        )

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        """Given dL/dy for the last forward batch, fill ``self.grads`` and return dL/dx."""
        raise LayerImplementationError(
            f"{self.name} ({type(self).__name__}) has no backward: implement "
            "backward(self, dy) returning dL/dx (and filling self.grads for its parameters)"
        )

    def check_indices(self, X: NDArray[Any], name: str = "X") -> NDArray[np.intp]:
        """A model's input ``X`` (N, ...) checked as indices for this layer, as
        C-contiguous np.intp (layers with ``takes_indices``)."""
        raise TypeError(f"{self.name} ({type(self).__name__}) does not take indices")

    def _buffer(self, key: str, shape: tuple[int, ...]) -> NDArray[Any]:
        """An output array: a new one, or a reused one while the model runs (set _reuse)."""
        if not self._reuse:
            return np.empty(shape, self.dtype)
        k = (key, shape)
        buf = self._bufs.get(k)
        if buf is None:
            if len(self._bufs) > 16:
                self._bufs.clear()
            buf = self._bufs[k] = np.empty(shape, self.dtype)
        return buf

    def _check_forwarded(self, attr: str) -> None:
        if getattr(self, attr, None) is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward() call first")

    # ------------------------------------------------------------------ info

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def trainable_keys(self) -> list[str]:
        """Keys of ``params`` that training updates (all of them unless frozen; a
        Residual block leaves out those of its frozen inner layers)."""
        return list(self.params) if self.trainable else []

    def sublayers(self) -> list[Layer]:
        """The layers this one contains (a Residual block's), depth first; [] for most."""
        return []

    # ------------------------------------------------------------------ the fused plan

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        """The steps of the native training plan (fastnn._fused, src_c/plan.h) that
        compute this built layer: dicts with a "kind" and what that kind needs (the
        arrays themselves, so training updates them in place). ``trainable`` is False
        inside a frozen block. None: the layer has no native step, and a model holding
        it trains on the per-layer path. "partner" entries (a residual block's two ends)
        are indices into the returned list."""
        return None

    def get_config(self) -> dict[str, Any]:
        """A JSON-able dict that ``from_config`` turns back into an equal (unbuilt) layer."""
        return {"class": layer_class_name(type(self)), "name": self.name,
                "trainable": self.trainable}

    @classmethod
    def from_config(cls: type[_L], cfg: Mapping[str, Any]) -> _L:
        cfg = dict(cfg)
        own = layer_class_name(cls)
        cls_name = cfg.pop("class", own)
        if cls_name != own:
            raise ValueError(f"config is for {cls_name}, not {own}")
        name = cfg.pop("name", None)
        # set after construction, so that a custom layer's constructor need not take it
        trainable = cfg.pop("trainable", True)
        layer = cls(**cfg)
        layer.trainable = bool(trainable)
        if name is not None:
            layer.name = name
            layer._auto_name = False
        return layer

    def _repr_args(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        args = list(self._repr_args())
        if not self._auto_name or self.name != self._base_name:
            args.append(f"name={self.name!r}")
        if not self.trainable:
            args.append("trainable=False")
        return f"{type(self).__name__}({', '.join(args)})"


class Dense(Layer):
    """Fully connected layer ``y = activation(x @ W + b)``; W has shape (in, units).

    kernel_init / bias_init: "he" (normal, std sqrt(2/in)), "glorot" (uniform
    +-sqrt(6/(in+units))), "lecun" (normal, std sqrt(1/in)), "normal" (std 0.05, or
    ``{"name": "normal", "std": s}``), "uniform" (+-0.05, or ``{"name": "uniform",
    "limit": a}``), "zeros", "ones". activation: None or a name of ``ACTIVATION_NAMES``;
    ``alpha`` for leaky_relu / elu.
    """

    bias_keys = ("b",)  # what an optimizer made with decay_biases=False does not decay

    _base_name = "dense"

    _x: NDArray[Any] | None
    _z: NDArray[Any] | None
    _y: NDArray[Any] | None

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_init: str | dict[str, Any] = "he",
                 bias_init: str | dict[str, Any] = "zeros", input_dim: int | None = None, *,
                 alpha: float | None = None, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.units = integer("units", units, lo=1)
        self.activation, self.alpha = _check_activation(activation, alpha)
        self.use_bias = bool(use_bias)
        self.kernel_init = _check_init(kernel_init, "kernel_init")
        self.bias_init = _check_init(bias_init, "bias_init")
        self.input_dim = None if input_dim is None else integer("input_dim", input_dim, lo=1)
        self._x = self._z = self._y = None
        self._activated = False

    def _declared_input_shape(self) -> tuple[int, ...] | None:
        return None if self.input_dim is None else (self.input_dim,)

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) != 1:
            raise ValueError(
                f"{self.name} (Dense) takes inputs of shape (N, features), but gets samples of "
                f"shape {_fmt_shape(input_shape)}: put a Flatten() layer before it"
            )
        if self.input_dim is not None and input_shape[0] != self.input_dim:
            raise ValueError(
                f"{self.name} (Dense) was declared with input_dim={self.input_dim} but gets "
                f"{input_shape[0]} features"
            )
        return (self.units,)

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {"W": (input_shape[0], self.units)}
        if self.use_bias:
            shapes["b"] = (self.units,)
        return shapes

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        shapes = self.param_shapes(input_shape)
        fan_in, fan_out = shapes["W"]
        self.params["W"] = _initialize(self.kernel_init, shapes["W"], fan_in, fan_out, rng, dtype)
        if self.use_bias:
            self.params["b"] = _initialize(self.bias_init, shapes["b"], fan_in, fan_out, rng,
                                           dtype)

    def _forward(self, x: NDArray[Any], training: bool, activate: bool = True) -> NDArray[Any]:
        ops = self._ops
        n = x.shape[0]
        z: NDArray[Any] = ops.dense_forward(x, self.params["W"], self.params.get("b"),
                                            out=self._buffer("z", (n, self.units)))
        self._x = x
        self._z = z
        if self.activation is None or not activate:
            self._activated = False
            self._y = z
            return z
        fwd = ops.ACTIVATIONS[self.activation][0]
        out = self._buffer("y", (n, self.units))
        y: NDArray[Any] = fwd(z, self.alpha, out=out) if self.alpha is not None else fwd(z, out=out)
        self._activated = True
        self._y = y
        return y

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        self._check_forwarded("_x")
        assert self._x is not None and self._z is not None  # set together by forward()
        ops = self._ops
        dz = dy
        if self._activated:
            bwd = ops.ACTIVATIONS[self.activation][1]
            out = self._buffer("dz", self._z.shape)
            if self.alpha is not None:
                dz = bwd(dy, self._z, self._y, self.alpha, out=out)
            else:
                dz = bwd(dy, self._z, self._y, out=out)
        dx: NDArray[Any] | None
        dx, _, _ = ops.dense_backward(
            self._x, self.params["W"], dz,
            dx=self._buffer("dx", self._x.shape) if self._need_dx else None,
            dw=self.grads["W"], db=self.grads.get("b"),
            compute_dx=self._need_dx, compute_db=self.use_bias,
        )
        return dx

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        steps = [{"kind": "dense", "W": self.params["W"], "b": self.params.get("b"),
                  "dW": self.grads["W"], "db": self.grads.get("b"),
                  "trainable": trainable and self.trainable}]
        return steps + activation_steps(self.activation, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "alpha": self.alpha,
            "use_bias": self.use_bias,
            "kernel_init": self.kernel_init,
            "bias_init": self.bias_init,
            "input_dim": self.input_dim,
        }

    def _repr_args(self) -> list[str]:
        args = [str(self.units)]
        if self.activation is not None:
            args.append(f"activation={self.activation!r}")
            if self.alpha is not None and self.alpha != _ALPHA_DEFAULTS.get(self.activation):
                args.append(f"alpha={self.alpha!r}")
        if not self.use_bias:
            args.append("use_bias=False")
        if self.kernel_init != "he":
            args.append(f"kernel_init={self.kernel_init!r}")
        if self.bias_init != "zeros":
            args.append(f"bias_init={self.bias_init!r}")
        if self.input_dim is not None:
            args.append(f"input_dim={self.input_dim}")
        return args


class Activation(Layer):
    """An activation function as a layer: ``Activation("relu")``, ``Activation("elu",
    alpha=0.5)``. Elementwise, except softmax and log_softmax (along the last axis)."""

    _base_name = "activation"

    _x: NDArray[Any] | None
    _y: NDArray[Any] | None

    def __init__(self, activation: str | None, alpha: float | None = None, *,
                 name: str | None = None, trainable: bool = True) -> None:
        act, alpha = _check_activation(activation, alpha)
        if act is None:
            act = "identity"
        if name is None and type(self) is Activation:
            self._base_name = act
        super().__init__(name=name, trainable=trainable)
        self.activation = act
        self.alpha = alpha
        self._x = self._y = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if self.activation in ("softmax", "log_softmax") and not input_shape:
            raise ValueError(f"{self.name}: {self.activation} needs samples with at least one axis")
        return input_shape

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        fwd = self._ops.ACTIVATIONS[self.activation][0]
        out = self._buffer("y", x.shape)
        y: NDArray[Any] = fwd(x, self.alpha, out=out) if self.alpha is not None else fwd(x, out=out)
        self._x, self._y = x, y
        return y

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        self._check_forwarded("_x")
        bwd = self._ops.ACTIVATIONS[self.activation][1]
        out = self._buffer("dx", dy.shape)
        if self.alpha is not None:
            return cast("NDArray[Any]", bwd(dy, self._x, self._y, self.alpha, out=out))
        return cast("NDArray[Any]", bwd(dy, self._x, self._y, out=out))

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        return activation_steps(self.activation, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self.activation, "alpha": self.alpha}

    def _repr_args(self) -> list[str]:
        args = [repr(self.activation)]
        if self.alpha is not None:
            args.append(f"alpha={self.alpha!r}")
        return args


class _NamedActivation(Activation):
    """An Activation subclass with a fixed function (ReLU, Tanh, ...)."""

    _act: str | None = None

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(self._act, name=name, trainable=trainable)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        del cfg["activation"], cfg["alpha"]
        return cfg

    def _repr_args(self) -> list[str]:
        return []


class ReLU(_NamedActivation):
    _act = _base_name = "relu"


class Sigmoid(_NamedActivation):
    _act = _base_name = "sigmoid"


class Tanh(_NamedActivation):
    _act = _base_name = "tanh"


class GELU(_NamedActivation):
    _act = _base_name = "gelu"


class Softmax(_NamedActivation):
    _act = _base_name = "softmax"


class LogSoftmax(_NamedActivation):
    _act = _base_name = "log_softmax"


class Identity(_NamedActivation):
    _act = _base_name = "identity"


class _AlphaActivation(Activation):
    _act: str | None = None
    _default_alpha: float | None = None

    def __init__(self, alpha: float | None = None, *, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(self._act, self._default_alpha if alpha is None else alpha,
                         name=name, trainable=trainable)

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        del cfg["activation"]
        return cfg

    def _repr_args(self) -> list[str]:
        return [] if self.alpha == self._default_alpha else [f"alpha={self.alpha!r}"]


class LeakyReLU(_AlphaActivation):
    """x for x >= 0, alpha * x below (alpha 0.01 by default)."""

    _act = _base_name = "leaky_relu"
    _default_alpha = 0.01


class ELU(_AlphaActivation):
    """x for x > 0, alpha * (exp(x) - 1) otherwise (alpha 1.0 by default)."""

    _act = _base_name = "elu"
    _default_alpha = 1.0


class Dropout(Layer):
    """Inverted dropout: in training each element is zeroed with probability ``rate`` and
    the others are scaled by 1/(1 - rate); in inference it is the identity.

    The mask comes from ``ops.dropout_forward``: a pure function of ``(seed, offset +
    element index)``. ``seed`` is drawn from the model's generator when the layer is built
    (unless given); ``offset`` advances by ``x.size`` after each training forward, so each
    batch gets a fresh mask and a saved model resumes with the exact same masks.
    """

    _base_name = "dropout"

    def __init__(self, rate: float, *, seed: int | None = None, offset: int = 0,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.rate = scalar("rate", rate, lo=0.0, hi=1.0, hi_open=True)
        if seed is not None:
            seed = integer("seed", seed, lo=0)
            if seed >= 2**63:
                raise ValueError(f"seed must be below 2**63, got {seed}")
        self.seed = seed
        self.offset = integer("offset", offset, lo=0)
        self._mask: NDArray[Any] | None = None
        self._forwarded = False

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        if self.seed is None:
            self.seed = int(rng.integers(0, 2**63))

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        self._forwarded = True
        if not training:
            self._mask = None
            return x
        y: NDArray[Any]
        y, mask = self._ops.dropout_forward(
            x, self.rate, self.seed, self.offset,
            out=self._buffer("y", x.shape), mask=self._buffer("mask", x.shape),
        )
        self.offset += x.size
        self._mask = mask
        return y

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        if not self._forwarded:
            raise RuntimeError(f"{self.name}: backward() needs a forward() call first")
        if self._mask is None:  # the last forward was in inference mode: identity
            return dy
        return cast("NDArray[Any]", self._ops.dropout_backward(
            dy, self._mask, out=self._buffer("dx", dy.shape)))

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        # the plan advances the layer's offset in C; fastnn._fused hands it back
        return [{"kind": "dropout", "rate": self.rate, "seed": self.seed,
                 "offset": self.offset, "layer": self}]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "offset": self.offset}

    def _repr_args(self) -> list[str]:
        return [repr(self.rate)]


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...); backward reshapes back."""

    _base_name = "flatten"

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self._in_shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        return []  # each sample's values stay contiguous: nothing to compute

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        self._check_forwarded("_in_shape")
        assert self._in_shape is not None  # checked just above
        return dy.reshape(self._in_shape)


LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (Dense, Activation, ReLU, Sigmoid, Tanh, LeakyReLU, ELU, GELU,
                                  Softmax, LogSoftmax, Identity, Dropout, Flatten)}


def layer_class_name(cls: type[Layer]) -> str:
    """The name a layer class goes by in configs and model files: its own name, or the
    one it was registered under (fastnn.register_layer; not inherited by subclasses)."""
    name = cls.__dict__.get("_registered_name")
    return name if isinstance(name, str) else cls.__name__


def layer_from_config(cfg: dict[str, Any]) -> Layer:
    """A layer from ``get_config()`` output: fastnn's own layer classes, and those
    registered with ``fastnn.register_layer``."""
    if not isinstance(cfg, dict):
        raise TypeError(f"a layer config must be a dict, got {type(cfg).__name__}")
    cls_name = cfg.get("class")
    cls = LAYERS.get(cls_name) if isinstance(cls_name, str) else None
    if cls is None:
        raise ValueError(
            f"unknown layer class {cls_name!r}: if it is your own Layer subclass, register "
            "it with fastnn.register_layer (e.g. decorate the class with "
            "@fastnn.register_layer) before loading; known layers: "
            f"{', '.join(sorted(LAYERS))}"
        )
    return cls.from_config(cfg)
