"""BatchNorm, LayerNorm and Residual blocks.

``BatchNorm`` normalizes each feature (2-D input) or each channel (3-D/4-D input) with
the statistics of the batch in training and with running averages in inference:
``ops.batchnorm_forward`` / ``batchnorm_backward`` and their numpy twins.

``LayerNorm`` normalizes each sample over its last axis (the features of (N, D) input,
of each position of (N, T, D) input) with that sample's own statistics, the same in
training and inference: ``ops.layernorm_forward`` / ``layernorm_backward``.

``Residual(layers, projection=None)`` computes ``inner(x) + x`` -- or
``inner(x) + projection(x)`` when the inner layers change the shape (a 1x1 Conv2D, or
a Dense for flat input). Its ``params`` are those of the layers inside it, under keys
``"<index>.<key>"`` and ``"projection.<key>"`` (the same arrays), so a model, its
optimizer and save/load see them like any other layer's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._validation import scalar
from .layers import LAYERS, Dense, Layer, _fmt_shape, layer_from_config, shift_partners
from .layers_conv import Conv1D, Conv2D

__all__ = ["BatchNorm", "LayerNorm", "Residual"]


class BatchNorm(Layer):
    """Batch normalization: ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` per
    feature of (N, F) input or per channel of (N, C, ...) input.

    Training uses the batch's mean and (biased) variance and updates
    ``running_mean`` / ``running_var`` (``buffers``) as
    ``running = (1 - momentum) * running + momentum * batch`` (the unbiased variance, as
    PyTorch); inference uses the running values. ``gamma`` starts at 1 and ``beta`` at 0;
    they are the layer's ``params``, and count as biases for ``decay_biases=False``.
    """

    _base_name = "batch_norm"
    bias_keys = ("gamma", "beta")
    _x: NDArray[Any] | None
    _mean: NDArray[Any] | None
    _inv_std: NDArray[Any] | None

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5, *, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.momentum = scalar("momentum", momentum, lo=0.0, hi=1.0)
        self.eps = scalar("eps", eps, lo=0.0, lo_open=True)
        self._x = self._mean = self._inv_std = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if not input_shape:
            raise ValueError(f"{self.name} (BatchNorm) needs samples with at least one axis")
        return input_shape

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return {"gamma": (input_shape[0],), "beta": (input_shape[0],)}

    def buffer_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return {"running_mean": (input_shape[0],), "running_var": (input_shape[0],)}

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        c = input_shape[0]
        self.params["gamma"] = np.ones(c, dtype)
        self.params["beta"] = np.zeros(c, dtype)
        self.buffers = {"running_mean": np.zeros(c, dtype), "running_var": np.ones(c, dtype)}
        self._stats = (np.empty(c, dtype), np.empty(c, dtype))

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        mean, inv_std = self._stats
        y: NDArray[Any]
        y, mean, inv_std = self._ops.batchnorm_forward(
            x, self.params["gamma"], self.params["beta"], self.buffers["running_mean"],
            self.buffers["running_var"], self.momentum, self.eps, training,
            out=self._buffer("y", x.shape), mean=mean, inv_std=inv_std)
        self._x, self._mean, self._inv_std = x, mean, inv_std
        return y

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        self._check_forwarded("_x")
        assert self._x is not None  # checked just above
        dx: NDArray[Any] | None
        dx, _, _ = self._ops.batchnorm_backward(
            np.ascontiguousarray(dy), self._x, self.params["gamma"], self._mean, self._inv_std,
            dx=self._buffer("dx", self._x.shape) if self._need_dx else None,
            dgamma=self.grads["gamma"], dbeta=self.grads["beta"], compute_dx=self._need_dx)
        return dx

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        shape = self.input_shape
        assert shape is not None  # built
        return [{"kind": "batchnorm", "channels": shape[0],
                 "spatial": int(np.prod(shape[1:], dtype=np.int64)),
                 "gamma": self.params["gamma"], "beta": self.params["beta"],
                 "dgamma": self.grads["gamma"], "dbeta": self.grads["beta"],
                 "running_mean": self.buffers["running_mean"],
                 "running_var": self.buffers["running_var"],
                 "momentum": self.momentum, "eps": self.eps,
                 "trainable": trainable and self.trainable}]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "eps": self.eps}

    def _repr_args(self) -> list[str]:
        args = []
        if self.momentum != 0.1:
            args.append(f"momentum={self.momentum!r}")
        if self.eps != 1e-5:
            args.append(f"eps={self.eps!r}")
        return args


class LayerNorm(Layer):
    """Layer normalization over the last axis: ``y = (x - mean) / sqrt(var + eps) *
    weight + bias``, with the mean and (biased) variance of each sample's D values along
    its last axis -- per sample of (N, D) input, per sample and position of (N, T, D)
    input. PyTorch's ``nn.LayerNorm(D)``: the same formula, defaults and parameter
    names, so its ``weight`` and ``bias`` can be copied in.

    The statistics are the sample's own, so training and inference compute the same
    thing and there is no running state. With ``elementwise_affine=True`` (the default)
    ``weight`` (D,) starts at 1 and ``bias`` (D,) at 0; they are the layer's ``params``,
    and both count as biases for ``decay_biases=False`` (as BatchNorm's gamma and beta).
    With ``elementwise_affine=False`` the layer has no parameters.
    """

    _base_name = "layer_norm"
    bias_keys = ("weight", "bias")
    _identity: tuple[NDArray[Any], NDArray[Any]]  # weight 1 and bias 0, when not affine
    _x: NDArray[Any] | None
    _mean: NDArray[Any] | None
    _inv_std: NDArray[Any] | None

    def __init__(self, eps: float = 1e-5, elementwise_affine: bool = True, *,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.eps = scalar("eps", eps, lo=0.0, lo_open=True)
        self.elementwise_affine = bool(elementwise_affine)
        self._x = self._mean = self._inv_std = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if not input_shape:
            raise ValueError(f"{self.name} (LayerNorm) needs samples with at least one axis")
        return input_shape

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        d = tuple(input_shape)[-1]
        return {"weight": (d,), "bias": (d,)} if self.elementwise_affine else {}

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        d = input_shape[-1]
        if self.elementwise_affine:
            self.params["weight"] = np.ones(d, dtype)
            self.params["bias"] = np.zeros(d, dtype)
        # the kernels always scale and shift: without the parameters, by 1 and 0
        self._identity = (np.ones(d, dtype), np.zeros(d, dtype))

    def _affine(self) -> tuple[NDArray[Any], NDArray[Any]]:
        if self.elementwise_affine:
            return self.params["weight"], self.params["bias"]
        return self._identity

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        weight, bias = self._affine()
        rows = x.size // x.shape[-1]
        y: NDArray[Any]
        y, mean, inv_std = self._ops.layernorm_forward(
            x, weight, bias, self.eps, out=self._buffer("y", x.shape),
            mean=self._buffer("mean", (rows,)), inv_std=self._buffer("inv_std", (rows,)))
        self._x, self._mean, self._inv_std = x, mean, inv_std
        return y

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        self._check_forwarded("_x")
        assert self._x is not None  # checked just above
        if not self.elementwise_affine and not self._need_dx:
            return None  # nothing to compute
        d = self._x.shape[-1]
        if self.elementwise_affine:
            dgamma, dbeta = self.grads["weight"], self.grads["bias"]
        else:  # the kernel's parameter sums, unused
            dgamma, dbeta = self._buffer("dgamma", (d,)), self._buffer("dbeta", (d,))
        dx: NDArray[Any] | None
        dx, _, _ = self._ops.layernorm_backward(
            np.ascontiguousarray(dy), self._x, self._affine()[0], self._mean, self._inv_std,
            dx=self._buffer("dx", self._x.shape) if self._need_dx else None,
            dgamma=dgamma, dbeta=dbeta, compute_dx=self._need_dx)
        return dx

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        assert self.input_shape is not None  # built
        weight, bias = self._affine()
        d = self.input_shape[-1]
        if self.elementwise_affine:
            dgamma, dbeta = self.grads["weight"], self.grads["bias"]
        else:  # the kernel's parameter sums, unused
            dgamma, dbeta = np.zeros(d, weight.dtype), np.zeros(d, weight.dtype)
        return [{"kind": "layernorm", "features": d, "gamma": weight, "beta": bias,
                 "dgamma": dgamma, "dbeta": dbeta, "eps": self.eps,
                 "trainable": trainable and self.trainable and self.elementwise_affine}]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "eps": self.eps,
                "elementwise_affine": self.elementwise_affine}

    def _repr_args(self) -> list[str]:
        args = []
        if self.eps != 1e-5:
            args.append(f"eps={self.eps!r}")
        if not self.elementwise_affine:
            args.append("elementwise_affine=False")
        return args


_PROJECTIONS = (Dense, Conv1D, Conv2D)


class Residual(Layer):
    """``y = inner(x) + x``, with ``inner`` the given layers in order; when they change
    the shape, ``projection`` (a Conv2D/Conv1D -- usually 1x1 with the inner stride --
    or a Dense, without activation) maps the skip connection: ``y = inner(x) +
    projection(x)``. An activation after the add is the next layer (e.g. ReLU()).

    ``trainable=False`` freezes every layer inside; an inner layer can also be frozen
    on its own.
    """

    _base_name = "residual"

    def __init__(self, layers: Layer | Sequence[Layer],
                 projection: Dense | Conv1D | Conv2D | None = None, *, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        if isinstance(layers, Layer):
            layers = [layers]
        layers = list(layers) if isinstance(layers, (list, tuple)) else []
        if not layers or not all(isinstance(l, Layer) for l in layers):
            raise TypeError("Residual takes a non-empty list of fastnn layers")
        if len({id(l) for l in layers}) != len(layers):
            raise ValueError("Residual: a layer appears twice in the block")
        if projection is not None:
            if not isinstance(projection, _PROJECTIONS):
                raise TypeError("projection must be a Dense, Conv1D or Conv2D layer (or None), "
                                f"got {type(projection).__name__}")
            if projection.activation is not None:
                raise ValueError("the projection of a Residual must have no activation "
                                 f"(got activation={projection.activation!r})")
        self.layers = layers
        self.projection = projection
        self._skip_x: NDArray[Any] | None = None

    # ------------------------------------------------------------ structure

    def sublayers(self) -> list[Layer]:
        out: list[Layer] = []
        for l in self.layers + ([self.projection] if self.projection is not None else []):
            out.append(l)
            out.extend(l.sublayers())
        return out

    def _named(self) -> list[tuple[str, Layer]]:
        """(prefix, layer) for the inner layers and the projection."""
        named = [(str(i), l) for i, l in enumerate(self.layers)]
        if self.projection is not None:
            named.append(("projection", self.projection))
        return named

    @property
    def bias_keys(self) -> tuple[str, ...]:
        return tuple(f"{p}.{k}" for p, l in self._named()
                     for k in getattr(l, "bias_keys", ()) if k in l.params)

    def trainable_keys(self) -> list[str]:
        if not self.trainable:
            return []
        return [f"{p}.{k}" for p, l in self._named() for k in l.trainable_keys()]

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        shape = input_shape
        for l in self.layers:
            shape = l.output_shape(shape)
        skip = input_shape if self.projection is None else self.projection.output_shape(
            input_shape)
        if skip != shape:
            if self.projection is None:
                raise ValueError(
                    f"{self.name} (Residual): the inner layers map samples of shape "
                    f"{_fmt_shape(input_shape)} to {_fmt_shape(shape)}, so the input cannot "
                    "be added to their output; pass projection= (e.g. a 1x1 Conv2D with the "
                    "output's channels and stride) to map the skip connection"
                )
            raise ValueError(
                f"{self.name} (Residual): the projection maps {_fmt_shape(input_shape)} to "
                f"{_fmt_shape(skip)} but the inner layers give {_fmt_shape(shape)}"
            )
        return shape

    def _inner_shapes(self, input_shape: Sequence[int],
                      which: str) -> dict[str, tuple[int, ...]]:
        """(prefix.key, shape) of the inner layers' params or buffers, as ``build`` names
        them."""
        shapes: dict[str, tuple[int, ...]]
        shapes, shape = {}, tuple(input_shape)
        inputs: dict[str, tuple[int, ...]] = {}
        for i, l in enumerate(self.layers):
            inputs[str(i)] = shape
            shape = l.output_shape(shape)
        inputs["projection"] = tuple(input_shape)
        for prefix, l in self._named():
            for k, v in getattr(l, which)(inputs[prefix]).items():
                shapes[f"{prefix}.{k}"] = v
        return shapes

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return self._inner_shapes(input_shape, "param_shapes")

    def buffer_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return self._inner_shapes(input_shape, "buffer_shapes")

    def build(self, input_shape: int | Sequence[int], dtype: DTypeLike = np.float32,
              rng: np.random.Generator | None = None) -> Residual:
        super().build(input_shape, dtype, rng)
        self.grads = {}
        self.params = {}
        self.buffers = {}
        for prefix, l in self._named():
            for k in l.params:
                self.params[f"{prefix}.{k}"] = l.params[k]
                self.grads[f"{prefix}.{k}"] = l.grads[k]
            for k in l.buffers:
                self.buffers[f"{prefix}.{k}"] = l.buffers[k]
        return self

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        shape = input_shape
        for i, l in enumerate(self.layers):
            l._ops = self._ops
            if l._auto_name:
                l.name = f"{l._base_name}_{i}"
            l.build(shape, dtype, rng)
            shape = l.output_shape(shape)
        if self.projection is not None:
            self.projection._ops = self._ops
            if self.projection._auto_name:
                self.projection.name = "projection"
            self.projection.build(input_shape, dtype, rng)

    # ------------------------------------------------------------ compute

    def _inner_all(self) -> list[Layer]:
        return self.layers + ([self.projection] if self.projection is not None else [])

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        for l in self._inner_all():
            l._ops, l._reuse = self._ops, self._reuse
        h = x
        for l in self.layers:
            h = l._forward(h, training)
        skip = x if self.projection is None else self.projection._forward(x, training)
        self._skip_x = x
        return cast("NDArray[Any]",
                    self._ops.residual_add(h, skip, out=self._buffer("y", h.shape)))

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        if self._skip_x is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward() call first")
        dy = np.ascontiguousarray(dy)
        g: NDArray[Any] | None = dy
        for l in reversed(self.layers):
            assert g is not None  # the inner layers always compute dx (_need_dx)
            g = l.backward(g)
        skip = dy if self.projection is None else self.projection.backward(dy)
        assert g is not None and skip is not None  # so do the last of them and the projection
        return cast("NDArray[Any]",
                    self._ops.residual_add(np.ascontiguousarray(g), np.ascontiguousarray(skip),
                                           out=self._buffer("dx", self._skip_x.shape)))

    # ------------------------------------------------------------ the fused plan

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        """res_begin, the inner layers' steps, res_end (with the projection, if any)."""
        train = trainable and self.trainable
        steps: list[dict[str, Any]] = [{"kind": "res_begin", "partner": None}]
        for layer in self.layers:
            inner = layer.plan_steps(train)
            if inner is None:
                return None
            steps += shift_partners(inner, len(steps))
        proj = self.projection
        end: dict[str, Any] = {"kind": "res_end", "partner": 0, "proj": None}
        if isinstance(proj, (Conv1D, Conv2D)):
            end["proj"] = proj.plan_conv_step(train)
        elif proj is not None:
            end["proj"] = {"kind": "dense", "W": proj.params["W"], "b": proj.params.get("b"),
                           "dW": proj.grads["W"], "db": proj.grads.get("b"),
                           "trainable": train and proj.trainable}
        steps[0]["partner"] = len(steps)
        return steps + [end]

    # ------------------------------------------------------------ info

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "layers": [l.get_config() for l in self.layers],
                "projection": None if self.projection is None else self.projection.get_config()}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Residual:
        cfg = dict(cfg)
        if not isinstance(cfg.get("layers"), list):
            raise ValueError("a Residual config needs a list of layer configs")
        cfg["layers"] = [layer_from_config(c) for c in cfg["layers"]]
        if cfg.get("projection") is not None:
            cfg["projection"] = layer_from_config(cfg["projection"])
        return super().from_config(cfg)

    def _repr_args(self) -> list[str]:
        args = ["[" + ", ".join(repr(l) for l in self.layers) + "]"]
        if self.projection is not None:
            args.append(f"projection={self.projection!r}")
        return args


LAYERS.update({"BatchNorm": BatchNorm, "LayerNorm": LayerNorm, "Residual": Residual})
