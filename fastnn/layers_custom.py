"""Custom layers: Layer subclasses written outside fastnn, and ``register_layer``.

A custom layer is a subclass of ``fastnn.Layer`` (or of one of its layers) defined
outside the fastnn package that computes in its own Python methods::

    class Square(fastnn.Layer):
        def forward(self, x, training=False):   # or forward(self, x), or _forward(x, training)
            self.x = x
            return x * x

        def backward(self, dy):                  # dL/dy -> dL/dx; fills self.grads[k]
            return 2 * self.x * dy

Optional: ``_build(input_shape, dtype, rng)`` to create ``self.params`` (draw from
``rng``, the model's generator, for reproducible weights; an overridden
``build(input_shape[, dtype[, rng]])`` runs in its place, with or without a
``super().build(...)`` call, and parameters may also be created lazily in ``forward``),
``output_shape(input_shape)``, ``get_config()`` (for saving: the constructor's
arguments, ``{**super().get_config(), "units": self.units}``).

What fastnn does for such a class (``prepare_class`` sets it up when the class is
defined, from ``Layer.__init_subclass__``):

- ``build`` runs the layer's forward once on one all-zero sample (inference mode) after
  ``_build``: that gives the output shape when ``output_shape`` is not overridden (or
  checks the one it declares), and creates the parameters a forward makes lazily.
  ``self.grads`` then holds a zero array per parameter. Shapes asked for before the
  layer is built come from a built copy of it.
- Each forward's output is checked (a numpy array of the layer's dtype and of shape
  ``(N,) + output_shape``), and so is each backward's dx (the shape and dtype of the
  forward's x; None only for the bottom layer, whose dx nothing uses); both are made
  C-contiguous for the native layers around it. Errors name the layer.
- Before each backward the gradients are set to zero, so ``backward`` may assign
  (``self.grads["W"] = x.T @ dy``) or accumulate (``+=``); assigned arrays are copied
  into the ones the optimizer holds.
- The model trains in the fused native plan like any other: the plan runs the native
  layers' steps and, at the custom layer's "python" step, takes the GIL and calls its
  ``forward`` / ``backward`` on copies of the batch's values
  (``src_c/plan_steps/python.h``). An exception there stops the epoch before that
  batch updates anything and propagates from ``fit`` (or ``predict``).
- ``fit`` checks before training that every layer the gradient must pass through has a
  ``backward`` (a layer without one may sit where nothing at or below it trains), and
  raises :class:`fastnn.errors.LayerImplementationError` naming the layer otherwise.

``register_layer`` makes a custom class known to ``fastnn.load``: its ``get_config()``
goes into the model file's JSON header and its parameters and buffers into the file's
arrays, as for fastnn's own layers; nothing is pickled.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import re
from types import FunctionType
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

from .errors import LayerImplementationError
from .layers import LAYERS, Layer, _fmt_shape, _shape_tuple, build_args, layer_class_name

__all__ = ["register_layer", "is_custom"]

_C = TypeVar("_C", bound=type)

# (output shape, param shapes, buffer shapes) of a layer for one input shape
_Shapes = tuple[tuple[int, ...], dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]
# how the model calls a user's forward: (layer, x, training) -> y
_Call = Callable[[Layer, NDArray[Any], bool], Any]

_COMPUTE = ("forward", "_forward", "backward")


def _in_fastnn(cls: type) -> bool:
    return cls.__module__ == "fastnn" or cls.__module__.startswith("fastnn.")


def is_custom(layer: Layer | type[Layer]) -> bool:
    """Whether a layer (or class) computes in Python methods written outside fastnn."""
    cls = layer if isinstance(layer, type) else type(layer)
    return bool(cls._custom_compute)


def _definer(cls: type, name: str) -> type | None:
    """The class in cls's MRO whose own namespace holds ``name``."""
    return next((k for k in cls.__mro__ if name in k.__dict__), None)


def _label(layer: Layer) -> str:
    return f"{getattr(layer, 'name', '?')} ({type(layer).__name__})"


# ============================================================================ classes


def prepare_class(cls: type[Layer]) -> None:
    """Set up a Layer subclass defined outside fastnn (Layer.__init_subclass__)."""
    raw_build = cls.__dict__.get("build")
    if isinstance(raw_build, FunctionType):
        setattr(cls, "build", _custom_build(raw_build))
    own = [n for n in _COMPUTE if n in cls.__dict__]
    if not own and cls._forward is not Layer._forward:
        return  # computes as its base does (a fastnn layer, or a prepared custom class)
    cls._custom_compute = True
    if "_base_name" not in cls.__dict__:  # auto names square_1, ... for class Square
        cls._base_name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()
    if own and "plan_steps" not in cls.__dict__:
        # a fastnn base's plan steps compute what the base's forward does, not this one:
        # the plan calls back into this class's own methods instead
        cls.plan_steps = _python_steps  # type: ignore[method-assign]
    raw_fwd = cls.__dict__.get("forward")
    if isinstance(raw_fwd, FunctionType):
        call = _caller(raw_fwd)
        setattr(cls, "forward", _public_forward(raw_fwd, call))
        if "_forward" not in cls.__dict__:
            setattr(cls, "_forward", _dispatch_forward(cls, call))
    raw_private = cls.__dict__.get("_forward")
    if isinstance(raw_private, FunctionType) and not getattr(
            raw_private, "_fastnn_dispatch", False):
        setattr(cls, "_forward", _checked_forward(raw_private))
    raw_bwd = cls.__dict__.get("backward")
    if isinstance(raw_bwd, FunctionType):
        setattr(cls, "backward", _checked_backward(raw_bwd))


def _python_steps(self: Layer, trainable: bool = True) -> list[dict[str, Any]] | None:
    """The plan step of a layer that computes in its own Python methods: the fused plan
    runs the native steps around it and calls back into its forward and backward
    (src_c/plan_steps/python.h). None until it is built."""
    out = _expected(self)
    if out is None:
        return None
    return [{"kind": "python", "layer": self, "input_shape": self.input_shape,
             "output_shape": out, "trainable": trainable and bool(self.trainable_keys())}]


def _caller(fn: Callable[..., Any]) -> _Call:
    """How to call a user's ``forward``: with ``training`` as it takes it, or without."""
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]  # after self
    except (TypeError, ValueError):  # no signature to read: pass it
        return lambda layer, x, training: fn(layer, x, training)
    kinds = {p.kind for p in params}
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if inspect.Parameter.VAR_POSITIONAL in kinds or len(positional) >= 2:
        return lambda layer, x, training: fn(layer, x, training)
    if any(p.name == "training" for p in params) or inspect.Parameter.VAR_KEYWORD in kinds:
        return lambda layer, x, training: fn(layer, x, training=training)
    return lambda layer, x, training: fn(layer, x)


def _active(layer: Layer) -> bool:
    """Inside one of the layer's own compute methods (a nested call goes straight on)."""
    return bool(layer.__dict__.get("_fastnn_active", False))


def _public_forward(raw: Callable[..., Any], call: _Call) -> Callable[..., NDArray[Any]]:
    @functools.wraps(raw)
    def forward(self: Layer, x: NDArray[Any], training: bool = False) -> NDArray[Any]:
        if _active(self):
            return call(self, x, training)  # type: ignore[no-any-return]
        _require_init(self)
        return _run_forward(self, call, self._checked_input(x), training)

    return forward


def _dispatch_forward(cls: type[Layer], call: _Call) -> Callable[..., NDArray[Any]]:
    """The model's entry (``_forward``) of a class that implements the public forward."""

    def _forward(self: Layer, x: NDArray[Any], training: bool) -> NDArray[Any]:
        if _active(self):  # its forward called super().forward(): the base's _forward
            base: Callable[[NDArray[Any], bool], NDArray[Any]] = getattr(
                super(cls, self), "_forward")
            return base(x, training)
        return _run_forward(self, call, x, training)

    _forward._fastnn_dispatch = True  # type: ignore[attr-defined]
    return _forward


def _checked_forward(raw: Callable[..., Any]) -> Callable[..., NDArray[Any]]:
    @functools.wraps(raw)
    def _forward(self: Layer, x: NDArray[Any], training: bool, *args: Any,
                 **kwargs: Any) -> NDArray[Any]:
        if _active(self):
            return raw(self, x, training, *args, **kwargs)  # type: ignore[no-any-return]
        return _run_forward(self, lambda l, x, t: raw(l, x, t, *args, **kwargs), x, training)

    return _forward


def _checked_backward(raw: Callable[..., Any]) -> Callable[..., NDArray[Any] | None]:
    @functools.wraps(raw)
    def backward(self: Layer, dy: NDArray[Any]) -> NDArray[Any] | None:
        if _active(self):
            return raw(self, dy)  # type: ignore[no-any-return]
        grads = self.grads
        held = dict(grads)
        for a in held.values():
            a.fill(0)
        self.__dict__["_fastnn_active"] = True
        try:
            dx = raw(self, dy)
        finally:
            self.__dict__["_fastnn_active"] = False
        _keep_grads(self, grads, held)
        return _checked_dx(self, dx)

    return backward


def _custom_build(raw: Callable[..., Any]) -> Callable[..., Layer]:
    """A class's own ``build(input_shape[, dtype[, rng]])``, run as ``_build`` is: after
    the layer has its shape and dtype, before its forward runs on the all-zero sample
    and the gradients are made; a ``super().build(...)`` inside it returns at once
    (Layer.build), and one of a custom base class runs that class's build."""
    try:
        params = list(inspect.signature(raw).parameters.values())[1:]
    except (TypeError, ValueError):
        params = []
    kinds = {p.kind for p in params}
    takes = 3 if inspect.Parameter.VAR_POSITIONAL in kinds else max(1, len(
        [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]))

    @functools.wraps(raw)
    def build(self: Layer, input_shape: Any, dtype: Any = np.float32,
              rng: np.random.Generator | None = None) -> Layer:
        d = self.__dict__
        if d.get("_fastnn_building"):
            raw(self, *(input_shape, dtype, rng)[:takes])
            return self
        _require_init(self)
        shape, dt, gen = build_args(input_shape, dtype, rng)
        self._start_build(shape, dt)
        self._build(shape, dt, gen)
        d["_fastnn_building"] = True
        try:
            raw(self, *(shape, dt, gen)[:takes])
        finally:
            d["_fastnn_building"] = False
        self._end_build()
        return self

    return build


def _require_init(layer: Layer) -> None:
    if "_trainable" not in layer.__dict__:
        raise TypeError(f"{type(layer).__name__}.__init__ must call super().__init__() "
                        "(it sets up the layer's name, params and grads)")


# ============================================================================ checks


def _run_forward(layer: Layer, call: _Call, x: NDArray[Any], training: bool) -> NDArray[Any]:
    d = layer.__dict__
    d["_fastnn_active"] = True
    try:
        y = call(layer, x, training)
    finally:
        d["_fastnn_active"] = False
    what = f"{_label(layer)}: forward"
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{what} returned a {type(y).__name__}, not a numpy array")
    if layer.dtype is not None and y.dtype != layer.dtype:
        raise TypeError(f"{what} returned a {y.dtype} array for {layer.dtype} inputs: keep "
                        "the layer's dtype (e.g. return y.astype(x.dtype))")
    if y.ndim < 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{what} returned shape {_fmt_shape(y.shape)} for a batch of "
                         f"{x.shape[0]}: it must return one output row per input row")
    expect = _expected(layer)
    if expect is not None and y.shape[1:] != expect:
        said = ("its output_shape() says" if _declares_shape(layer)
                else "it returned for one sample when the layer was built")
        raise ValueError(f"{what} returned shape {_fmt_shape(y.shape)}, but the layer's "
                         f"output shape is {_fmt_shape(('N',) + expect)} (what {said})")
    d["_fastnn_x_shape"] = x.shape
    return np.ascontiguousarray(y)


def _checked_dx(layer: Layer, dx: Any) -> NDArray[Any] | None:
    what = f"{_label(layer)}: backward"
    if dx is None:
        if not layer._need_dx:
            return None  # the bottom layer's dx: nothing uses it
        raise TypeError(f"{what} returned None: it must return dL/dx, the gradient of the "
                        "loss with respect to its input x")
    if not isinstance(dx, np.ndarray):
        raise TypeError(f"{what} returned a {type(dx).__name__}, not a numpy array")
    x_shape = layer.__dict__.get("_fastnn_x_shape")
    if x_shape is not None and dx.shape != x_shape:
        raise ValueError(f"{what} returned shape {_fmt_shape(dx.shape)}, but its input x had "
                         f"shape {_fmt_shape(x_shape)}: dL/dx has the shape of x")
    if layer.dtype is not None and dx.dtype != layer.dtype:
        raise TypeError(f"{what} returned a {dx.dtype} array for {layer.dtype} inputs: keep "
                        "the layer's dtype")
    return np.ascontiguousarray(dx)


def _keep_grads(layer: Layer, grads: dict[str, NDArray[Any]],
                held: dict[str, NDArray[Any]]) -> None:
    """Arrays a backward assigned to ``self.grads`` copied into the ones held before it
    ran (the optimizer's), which are put back."""
    now = layer.grads
    for key, arr in held.items():
        new = now.get(key)
        if new is None or new is arr:
            continue
        new = np.asarray(new)
        if new.shape != arr.shape:
            raise ValueError(f"{_label(layer)}: backward set grads[{key!r}] to shape "
                             f"{_fmt_shape(new.shape)}, but params[{key!r}] has shape "
                             f"{_fmt_shape(arr.shape)}")
        arr[...] = new
        if now is grads:
            dict.__setitem__(grads, key, arr)
    if now is not grads:
        layer.__dict__["_grads"] = grads


def _declares_shape(layer: Layer) -> bool:
    return type(layer).output_shape is not Layer.output_shape


def _expected(layer: Layer) -> tuple[int, ...] | None:
    """The per-sample output shape a forward must give (None while it is being learned)."""
    d = layer.__dict__
    if d.get("_fastnn_probing") or not layer.built or layer.input_shape is None:
        return None
    known = d.get("_fastnn_out")
    if known is None or known[0] != layer.input_shape:
        known = d["_fastnn_out"] = (layer.input_shape, tuple(layer.output_shape(layer.input_shape)))
    out: tuple[int, ...] = known[1]
    return out


def _note(e: BaseException, text: str) -> None:
    add = getattr(e, "add_note", None)  # Python >= 3.11
    if add is not None:
        add(text)


def probe(layer: Layer) -> None:
    """Run a custom layer, just built, on one all-zero sample (Layer.build): its output
    shape (checked against ``output_shape`` where it declares one), and its parameters
    once a lazy forward has made them."""
    assert layer.input_shape is not None and layer.dtype is not None  # build sets them
    shape = layer.input_shape
    d = layer.__dict__
    _check_params(layer)
    d["_fastnn_probing"] = True
    try:
        with np.errstate(all="ignore"):
            y = layer._forward(np.zeros((1,) + shape, layer.dtype), False)
    except Exception as e:
        _note(e, f"(fastnn ran the forward of {_label(layer)} on one all-zero sample of shape "
                 f"{_fmt_shape((1,) + shape)} while building it, to learn its output shape)")
        raise
    finally:
        d["_fastnn_probing"] = False
    _check_params(layer)  # again: those a forward made
    out = tuple(y.shape[1:])
    if _declares_shape(layer):
        said = tuple(layer.output_shape(shape))
        if said != out:
            raise ValueError(f"{_label(layer)}: forward returns samples of shape "
                             f"{_fmt_shape(out)} for inputs {_fmt_shape(shape)}, but its "
                             f"output_shape() says {_fmt_shape(said)}")
    d["_fastnn_out"] = (shape, out)
    d.setdefault("_fastnn_shapes", {})[shape] = (
        out, {k: tuple(v.shape) for k, v in layer.params.items()},
        {k: tuple(v.shape) for k, v in layer.buffers.items()})


def _check_params(layer: Layer) -> None:
    for what in ("params", "buffers"):
        for key, a in getattr(layer, what).items():
            if not isinstance(a, np.ndarray) or a.dtype != layer.dtype:
                got = a.dtype if isinstance(a, np.ndarray) else type(a).__name__
                raise TypeError(f"{_label(layer)}: {what}[{key!r}] is {got}, but the layer "
                                f"computes in {layer.dtype}: make it with the dtype build "
                                "gets (or self.dtype), e.g. rng.standard_normal(shape)"
                                ".astype(dtype)")


def inferred_shapes(layer: Layer, input_shape: Sequence[int]) -> _Shapes:
    """(output shape, param shapes, buffer shapes) of a custom layer for a per-sample
    input shape: what its build found, or a built copy of it finds."""
    shape = _shape_tuple(input_shape, "input_shape")
    cache: dict[tuple[int, ...], _Shapes] = layer.__dict__.setdefault("_fastnn_shapes", {})
    known = cache.get(shape)
    if known is not None:
        return known
    _require_init(layer)
    try:
        twin = copy.deepcopy(layer)
    except Exception as e:
        raise TypeError(f"{_label(layer)}: its output shape for inputs {_fmt_shape(shape)} is "
                        f"learned on a copy of the layer, which cannot be made ({e}); "
                        "override output_shape(input_shape) and param_shapes(input_shape)"
                        ) from e
    twin.build(shape, layer.dtype if layer.dtype is not None else np.float32,
               np.random.default_rng(0))
    learned: _Shapes = twin.__dict__["_fastnn_shapes"][shape]
    cache[shape] = learned
    return learned


def check_backward(layers: Sequence[Layer], stop: int) -> None:
    """Before fit trains (``stop``: the lowest layer the backward pass reaches): every
    layer the gradient goes through has a backward of its own."""
    for i in range(len(layers) - 1, stop - 1, -1):
        for layer in [layers[i]] + layers[i].sublayers():
            if not _lacks_backward(type(layer)):
                continue
            keys = layer.trainable_keys()
            if keys:
                why = f"it has trainable parameters ({', '.join(keys)})"
            else:
                below = [l.name for l in layers[stop:i] if l.trainable_keys()] or \
                    [layers[i].name]
                why = ("the gradient must pass through it to the trainable layer(s) below "
                       f"it ({', '.join(below)})")
            raise LayerImplementationError(
                f"layer {_label(layer)} has no backward(dy) method, but fit needs one: "
                f"{why}. Implement backward(self, dy) returning dL/dx (and filling "
                "self.grads), or freeze the layers below it (trainable=False)"
            )


def _lacks_backward(cls: type[Layer]) -> bool:
    if not cls._custom_compute:
        return False
    owner = _definer(cls, "backward")
    return owner is None or _in_fastnn(owner)


# ============================================================================ saving


def check_saveable(layer: Layer) -> None:
    """Raise ValueError, before a file is written, when ``layer`` cannot be saved and
    loaded back: its class is not registered, or its config is not JSON or does not make
    the layer again."""
    cls = type(layer)
    name = layer_class_name(cls)
    if LAYERS.get(name) is not cls:
        if _in_fastnn(cls):
            raise ValueError(f"cannot save layer {layer.name!r} of class {cls.__name__}: "
                             "only fastnn's public layers can be saved")
        raise ValueError(
            f"cannot save layer {layer.name!r}: only fastnn's own layers and classes "
            f"registered with fastnn.register_layer can be saved, and {cls.__qualname__} is "
            f"not registered; decorate it with @fastnn.register_layer (or call "
            f"fastnn.register_layer({cls.__name__})) so that fastnn.load can make it again"
        )
    if _in_fastnn(cls):
        return
    cfg = layer.get_config()
    what = f"cannot save layer {layer.name!r} ({name})"
    try:
        json.dumps(cfg, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: its get_config() must hold only JSON values (str, finite "
                         f"numbers, bool, None, lists and dicts of them): {e}") from None
    missing = [p for p in _constructor_args(cls) if p not in cfg]
    if missing:
        raise ValueError(
            f"{what}: its get_config() lacks the constructor argument(s) "
            f"{', '.join(missing)}; return them too, e.g. "
            f"{{**super().get_config(), {missing[0]!r}: self.{missing[0]}}}"
        )
    try:
        cls.from_config(cfg)
    except Exception as e:
        raise ValueError(f"{what}: {name}.from_config(layer.get_config()) fails "
                         f"({type(e).__name__}: {e}), so the file could not be loaded"
                         ) from None


def _constructor_args(cls: type[Layer]) -> list[str]:
    """The named parameters of cls.__init__ (a config must give them all), except name
    and trainable, which every config holds."""
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            and p.name not in ("name", "trainable")]


@overload
def register_layer(cls_or_name: _C, *, name: str | None = None) -> _C: ...


@overload
def register_layer(cls_or_name: str | None = None, *,
                   name: str | None = None) -> Callable[[_C], _C]: ...


def register_layer(cls_or_name: Any = None, *, name: str | None = None) -> Any:
    """Make a custom Layer subclass loadable by ``fastnn.load``: ``@register_layer``,
    ``register_layer(MyLayer)``, or under another name ``register_layer("name")(MyLayer)``
    (``@register_layer(name="name")``). Returns the class.

    The class's ``get_config()`` is saved in the model file's JSON header and must
    return the constructor's arguments (``{**super().get_config(), "units":
    self.units}``); its parameters and buffers are saved as arrays. A name may not be
    one of fastnn's layers, nor another class's already registered (registering a class
    of the same module and name again, as re-running a notebook cell does, replaces
    it)."""
    if isinstance(cls_or_name, type):
        return _register(cls_or_name, name)
    if cls_or_name is not None:
        if name is not None:
            raise TypeError("register_layer: pass the name once")
        name = cls_or_name
    if name is not None and not isinstance(name, str):
        raise TypeError(f"register_layer takes a Layer subclass or a name (str), got "
                        f"{type(name).__name__}")

    def decorate(cls: _C) -> _C:
        return _register(cls, name)

    return decorate


def _register(cls: _C, name: str | None) -> _C:
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer takes a fastnn.Layer subclass, got {cls!r}")
    if name is None:
        name = cls.__name__
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"register_layer: the name must be a Python identifier, got {name!r}")
    if _in_fastnn(cls):
        raise ValueError(f"{cls.__name__} is one of fastnn's own layers: it needs no "
                         "registration")
    existing = LAYERS.get(name)
    if existing is not None and existing is not cls:
        if _in_fastnn(existing):
            raise ValueError(f"cannot register {cls.__qualname__} as {name!r}: that is the "
                             f"name of fastnn's own layer {name}; choose another, e.g. "
                             f"fastnn.register_layer('My{name}')({cls.__name__})")
        if (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"cannot register {cls.__module__}.{cls.__qualname__} as "
                             f"{name!r}: {existing.__module__}.{existing.__qualname__} is "
                             "registered under that name")
    old = cls.__dict__.get("_registered_name")
    if old is not None and old != name and LAYERS.get(old) is cls:
        raise ValueError(f"{cls.__qualname__} is already registered as {old!r}")
    setattr(cls, "_registered_name", name)
    LAYERS[name] = cls
    return cls
