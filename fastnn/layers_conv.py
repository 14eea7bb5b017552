"""Layers for images and sequences: Conv1D, Conv2D, MaxPool1D/2D, AvgPool1D/2D,
GlobalAvgPool and Reshape.

Channels come first, as in PyTorch: a batch of sequences is (N, C, L), a batch of
images (N, C, H, W). A Conv2D's weights are ``W`` (filters, channels, KH, KW) and
``b`` (filters,); a Conv1D's ``W`` is (filters, channels, K). The 1-D layers run the
2-D kernels on (N, C, 1, L) views, so there is one kernel per operation:
``ops.conv2d_forward`` / ``conv2d_backward`` (im2col + GEMM), ``ops.maxpool2d_*``,
``ops.avgpool2d_*`` and ``ops.global_avgpool_*``, each with its numpy twin.

    model = Sequential([Reshape((1, 28, 28)), Conv2D(16, 5, activation="relu"),
                        MaxPool2D(2), Flatten(), Dense(10)])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
from numpy.typing import NDArray

from ._validation import integer
from .layers import (
    LAYERS,
    Layer,
    activation_steps,
    _check_activation,
    _check_init,
    _fmt_shape,
    _initialize,
    _shape_tuple,
)

__all__ = ["Conv1D", "Conv2D", "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
           "GlobalAvgPool", "Reshape"]

if TYPE_CHECKING:
    # a convolution's padding argument: "valid", "same", an int or a tuple (per axis)
    _Padding: TypeAlias = str | int | Sequence[int | Sequence[int]]
    # ((top, bottom), (left, right)) in pixels
    _Pads: TypeAlias = tuple[tuple[int, int], ...]


def _tuple_n(name: str, value: int | Sequence[int], n: int, lo: int) -> tuple[int, ...]:
    """An int or a sequence of n ints, each >= lo, as a tuple of n ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * n
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(integer(name, v, lo=lo) for v in value)


def _activate(layer: _Conv, z: NDArray[Any], out_key: str = "y") -> NDArray[Any]:
    fwd = layer._ops.ACTIVATIONS[layer.activation][0]
    out = layer._buffer(out_key, z.shape)
    y: NDArray[Any] = fwd(z, layer.alpha, out=out) if layer.alpha is not None else fwd(z, out=out)
    return y


def _activation_backward(layer: _Conv, dy: NDArray[Any], z: NDArray[Any],
                         y: NDArray[Any]) -> NDArray[Any]:
    bwd = layer._ops.ACTIVATIONS[layer.activation][1]
    out = layer._buffer("dz", z.shape)
    if layer.alpha is not None:
        return cast("NDArray[Any]", bwd(dy, z, y, layer.alpha, out=out))
    return cast("NDArray[Any]", bwd(dy, z, y, out=out))


# Channel counts of images as files and image libraries hold them: grey, RGB, RGBA
_IMAGE_CHANNELS = (1, 3, 4)


def channels_last_error(layer: Layer, x_shape: Sequence[int],
                        expected: Sequence[int] | None = None) -> ValueError | None:
    """The error for inputs of shape ``x_shape`` (batch first) that look channels-last --
    (N, H, W, C) for a layer that takes (N, C, H, W), (N, L, C) for (N, C, L) -- to
    ``layer``, the first one they meet; None when they do not. ``expected``: the
    per-sample shape the layer (or model) was built or declared for, if known.

    They look so when the last axis is an image's channel count and the first is not,
    and: the declared channels differ; or, undeclared, the layer cannot take them, or
    (images) both leading axes are larger than a channel count, as heights and widths
    are (data that really is channels first with a narrow last axis is declared with
    input_shape=)."""
    if not isinstance(layer, _Spatial):
        return None
    nd, shape = layer._nd, tuple(x_shape)[1:]
    if len(shape) != nd + 1 or shape[-1] not in _IMAGE_CHANNELS or shape[0] in _IMAGE_CHANNELS:
        return None
    if expected is not None:
        expected = tuple(expected)
        looks = expected != shape and len(expected) == nd + 1 and expected[0] != shape[0]
        hint = ""
    else:
        try:
            layer.output_shape(shape)
            looks = nd == 2 and min(shape[:2]) > max(_IMAGE_CHANNELS)
        except ValueError:
            looks = True
        hint = (f" (if the samples really are channels first, {_fmt_shape(shape)}, pass "
                f"input_shape={_fmt_shape(shape)} to Sequential)")
    if not looks:
        return None
    layout, perm = ("(N, C, L)", "(0, 2, 1)") if nd == 1 else ("(N, C, H, W)", "(0, 3, 1, 2)")
    return ValueError(f"{type(layer).__name__} expects channels first {layout}, got "
                      f"{_fmt_shape(tuple(x_shape))}? use X.transpose{perm}{hint}")


class _Spatial(Layer):
    """Shared by the layers that see samples as (C, L) (nd=1) or (C, H, W) (nd=2)."""

    _nd = 2

    def _checked_input(self, x: NDArray[Any]) -> NDArray[Any]:
        if isinstance(x, np.ndarray) and x.ndim == self._nd + 2:
            error = channels_last_error(self, x.shape, self.input_shape if self.built else None)
            if error is not None:
                raise error
        return super()._checked_input(x)

    def _spatial_in(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        """(C, H, W) of a per-sample input shape, checked (1-D: H = 1)."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self._nd + 1:
            what = "(N, channels, length)" if self._nd == 1 else "(N, channels, height, width)"
            hint = ""
            if len(input_shape) == 1:
                hint = (": put Reshape((1, 28, 28)) before it to read flat 784-pixel rows as "
                        "images" if self._nd == 2 else ": put Reshape((1, length)) before it")
            raise ValueError(
                f"{self.name} ({type(self).__name__}) takes inputs of shape {what}, but gets "
                f"samples of shape {_fmt_shape(input_shape)}{hint}"
            )
        if self._nd == 1:
            return input_shape[0], 1, input_shape[1]
        return input_shape

    def _out(self, c: int, oh: int, ow: int) -> tuple[int, ...]:
        return (c, ow) if self._nd == 1 else (c, oh, ow)

    def _as4(self, a: NDArray[Any]) -> NDArray[Any]:
        """A (N, C, L) array as (N, C, 1, L); (N, C, H, W) as itself."""
        return a.reshape(a.shape[0], a.shape[1], 1, a.shape[2]) if self._nd == 1 else a


class _Conv(_Spatial):
    _base_name = "conv"
    _x: NDArray[Any] | None
    _z: NDArray[Any] | None
    _y: NDArray[Any] | None

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: _Padding = 0,
                 activation: str | None = None, use_bias: bool = True,
                 dilation: int | Sequence[int] = 1, kernel_init: str | dict[str, Any] = "he",
                 bias_init: str | dict[str, Any] = "zeros",
                 input_shape: int | Sequence[int] | None = None, *, alpha: float | None = None,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        nd, cls = self._nd, type(self).__name__
        self.filters = integer(f"{cls} filters", filters, lo=1)
        self.kernel_size = _tuple_n(f"{cls} kernel_size", kernel_size, nd, 1)
        self.stride = _tuple_n(f"{cls} stride", stride, nd, 1)
        self.dilation = _tuple_n(f"{cls} dilation", dilation, nd, 1)
        self.padding = self._check_padding(padding)
        self.activation, self.alpha = _check_activation(activation, alpha)
        self.use_bias = bool(use_bias)
        self.kernel_init = _check_init(kernel_init, "kernel_init")
        self.bias_init = _check_init(bias_init, "bias_init")
        self.input_shape_arg = (None if input_shape is None
                                else _shape_tuple(input_shape, "input_shape"))
        self._x = self._z = self._y = None
        self._activated = False

    def _check_padding(self, padding: _Padding) -> str | int | list[Any]:
        """"valid", "same", an int, or per axis an int (symmetric) or a (before, after)
        pair. Kept as given (JSON-able): "same" depends on the input size."""
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"padding must be 'valid', 'same', an int or a tuple, "
                                 f"got {padding!r}")
            return padding
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
            return integer("padding", padding, lo=0)
        if isinstance(padding, (tuple, list)):
            if self._nd == 1 and len(padding) == 2 and all(
                    isinstance(p, (int, np.integer)) for p in padding):
                return [integer("padding", p, lo=0) for p in padding]  # (left, right)
            if self._nd == 2 and len(padding) == 2:
                out: list[int | list[int]] = []
                for p in padding:
                    if isinstance(p, (tuple, list)) and len(p) == 2:
                        out.append([integer("padding", q, lo=0) for q in p])
                    else:
                        out.append(integer("padding", p, lo=0))
                return out
        raise TypeError(f"padding must be 'valid', 'same', an int or a tuple of "
                        f"{self._nd if self._nd == 2 else 'two'} ints, got {padding!r}")

    def _declared_input_shape(self) -> tuple[int, ...] | None:
        return self.input_shape_arg

    def _pads(self, h: int, w: int) -> _Pads:
        """((top, bottom), (left, right)) for an input of h x w."""
        kh, kw = self._k2
        sh, sw = self._s2
        dh, dw = self._d2
        p = self.padding
        if p == "valid":
            return (0, 0), (0, 0)
        if p == "same":  # output = ceil(input / stride), the extra pixel at the end
            pads: list[tuple[int, int]] = []
            for size, k, s, d in ((h, kh, sh, dh), (w, kw, sw, dw)):
                total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        if isinstance(p, int):
            return ((0, 0) if self._nd == 1 else (p, p)), (p, p)
        if self._nd == 1:
            return (0, 0), tuple(p)
        return tuple(tuple(q) if isinstance(q, list) else (q, q) for q in p)

    def plan_geom(self) -> dict[str, int]:
        """The built layer's geometry as the C kernels take it (conv.h's fnn_conv_geom:
        input c, h, w; f filters; output oh, ow; kernel, stride, top/left padding,
        dilation), 1-D layers as height-1 images."""
        assert self.input_shape is not None  # built
        c, h, w = self._spatial_in(self.input_shape)
        _, ((pt, _), (pl, _)), oh, ow = self._geometry(self.input_shape)
        (kh, kw), (sh, sw), (dh, dw) = self._k2, self._s2, self._d2
        return dict(c=c, h=h, w=w, f=self.filters, oh=oh, ow=ow, kh=kh, kw=kw, sh=sh, sw=sw,
                    pt=pt, pl=pl, dh=dh, dw=dw)

    def plan_conv_step(self, trainable: bool = True) -> dict[str, Any]:
        """The convolution itself as a plan step (without the activation): also the
        projection of a Residual block."""
        return {"kind": "conv", "geom": self.plan_geom(), "W": self.params["W"],
                "b": self.params.get("b"), "dW": self.grads["W"], "db": self.grads.get("b"),
                "trainable": trainable and self.trainable}

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        return [self.plan_conv_step(trainable)] + activation_steps(self.activation, self.alpha)

    @property
    def _k2(self) -> tuple[int, ...]:
        return (1,) + self.kernel_size if self._nd == 1 else self.kernel_size

    @property
    def _s2(self) -> tuple[int, ...]:
        return (1,) + self.stride if self._nd == 1 else self.stride

    @property
    def _d2(self) -> tuple[int, ...]:
        return (1,) + self.dilation if self._nd == 1 else self.dilation

    def _geometry(self, input_shape: Sequence[int]) -> tuple[int, _Pads, int, int]:
        c, h, w = self._spatial_in(input_shape)
        pads = self._pads(h, w)
        out: list[int] = []
        for size, (a, b), k, s, d in zip((h, w), pads, self._k2, self._s2, self._d2):
            span = d * (k - 1) + 1
            if size + a + b < span:
                ks = self.kernel_size if self._nd == 2 else self.kernel_size[0]
                ds = self.dilation if self._nd == 2 else self.dilation[0]
                padded = (h + sum(pads[0]), w + sum(pads[1])) if self._nd == 2 else \
                    w + sum(pads[1])
                raise ValueError(
                    f"{self.name} ({type(self).__name__}): kernel {ks} with dilation {ds} is "
                    f"larger than the padded input {padded} (input "
                    f"{_fmt_shape(tuple(input_shape))}, padding {self.padding!r})"
                )
            out.append((size + a + b - span) // s + 1)
        return c, pads, out[0], out[1]

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        c, _, oh, ow = self._geometry(input_shape)
        return self._out(self.filters, oh, ow)

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        shapes = {"W": (self.filters, self._spatial_in(input_shape)[0]) + self.kernel_size}
        if self.use_bias:
            shapes["b"] = (self.filters,)
        return shapes

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        shapes = self.param_shapes(input_shape)
        c = shapes["W"][1]
        area = int(np.prod(self.kernel_size))
        fan_in, fan_out = c * area, self.filters * area
        self.params["W"] = _initialize(self.kernel_init, shapes["W"], fan_in, fan_out, rng, dtype)
        if self.use_bias:
            self.params["b"] = _initialize(self.bias_init, shapes["b"], fan_in, fan_out, rng,
                                           dtype)

    def _w4(self, a: NDArray[Any]) -> NDArray[Any]:
        """W (or dW) as (F, C, KH, KW)."""
        return a.reshape(a.shape[0], a.shape[1], 1, a.shape[2]) if self._nd == 1 else a

    def _forward(self, x: NDArray[Any], training: bool, activate: bool = True) -> NDArray[Any]:
        n = x.shape[0]
        assert self.input_shape is not None  # forward() builds the layer first
        c, pads, oh, ow = self._geometry(self.input_shape)
        z4: NDArray[Any] = self._ops.conv2d_forward(
            self._as4(x), self._w4(self.params["W"]), self.params.get("b"), self._s2, pads,
            self._d2, out=self._buffer("z", (n, self.filters, oh, ow)))
        z = z4.reshape((n,) + self._out(self.filters, oh, ow))
        self._x, self._z = x, z
        if self.activation is None or not activate:
            self._activated = False
            self._y = z
            return z
        self._y = _activate(self, z)
        self._activated = True
        return self._y

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        self._check_forwarded("_x")
        # set together by forward(), on a built layer
        assert self._x is not None and self._z is not None and self._y is not None
        assert self.input_shape is not None
        dz = _activation_backward(self, dy, self._z, self._y) if self._activated else dy
        dz = np.ascontiguousarray(dz)
        _, pads, _, _ = self._geometry(self.input_shape)
        x4 = self._as4(self._x)
        dx4: NDArray[Any] | None
        dx4, _, _ = self._ops.conv2d_backward(
            x4, self._w4(self.params["W"]), self._as4(dz), self._s2, pads, self._d2,
            dx=self._buffer("dx", x4.shape) if self._need_dx else None,
            dw=self._w4(self.grads["W"]), db=self.grads.get("b"),
            compute_dx=self._need_dx, compute_db=self.use_bias)
        return None if dx4 is None else dx4.reshape(self._x.shape)

    def flops_per_sample(self) -> int:
        """Multiply-adds x 2 of one forward pass for one sample."""
        assert self.input_shape is not None  # a built layer's
        c, _, oh, ow = self._geometry(self.input_shape)
        return 2 * self.filters * c * int(np.prod(self.kernel_size)) * oh * ow

    def get_config(self) -> dict[str, Any]:
        def plain(v: int | tuple[int, ...]) -> int | list[int]:
            return list(v) if isinstance(v, tuple) else v
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": plain(self.kernel_size if self._nd == 2 else self.kernel_size[0]),
            "stride": plain(self.stride if self._nd == 2 else self.stride[0]),
            "padding": self.padding,
            "dilation": plain(self.dilation if self._nd == 2 else self.dilation[0]),
            "activation": self.activation,
            "alpha": self.alpha,
            "use_bias": self.use_bias,
            "kernel_init": self.kernel_init,
            "bias_init": self.bias_init,
            "input_shape": None if self.input_shape_arg is None else list(self.input_shape_arg),
        }

    def _repr_args(self) -> list[str]:
        one: Callable[[tuple[int, ...]], object] = (
            (lambda t: t[0]) if self._nd == 1 else (lambda t: t if len(set(t)) > 1 else t[0]))
        args = [str(self.filters), str(one(self.kernel_size))]
        if self.stride != (1,) * self._nd:
            args.append(f"stride={one(self.stride)}")
        if self.padding not in (0, "valid"):
            args.append(f"padding={self.padding!r}")
        if self.dilation != (1,) * self._nd:
            args.append(f"dilation={one(self.dilation)}")
        if self.activation is not None:
            args.append(f"activation={self.activation!r}")
        if not self.use_bias:
            args.append("use_bias=False")
        return args

    bias_keys = ("b",)


class Conv2D(_Conv):
    """2-D convolution over (N, C, H, W): ``y = activation(conv(x, W) + b)``, with W of
    shape (filters, C, KH, KW).

    kernel_size, stride, dilation: an int or a pair. padding: "valid" (0), "same" (the
    output is ceil(input / stride); an odd total padding puts the extra row/column at the
    bottom/right), an int, a pair (per axis, symmetric) or ((top, bottom), (left, right)).
    kernel_init / bias_init / activation as for Dense (fan-in is C * KH * KW).
    """

    _nd = 2
    _base_name = "conv2d"


class Conv1D(_Conv):
    """1-D convolution over (N, C, L), W of shape (filters, C, K); padding "valid",
    "same", an int or (left, right). Runs the Conv2D kernels on an (N, C, 1, L) view."""

    _nd = 1
    _base_name = "conv1d"


class _Pool(_Spatial):
    _base_name = "pool"
    _kind = "max"

    def __init__(self, pool_size: int | Sequence[int] = 2,
                 stride: int | Sequence[int] | None = None, *, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        cls = type(self).__name__
        self.pool_size = _tuple_n(f"{cls} pool_size", pool_size, self._nd, 1)
        self.stride = None if stride is None else _tuple_n(f"{cls} stride", stride, self._nd, 1)
        self._x_shape: tuple[int, ...] | None = None
        self._argmax: NDArray[np.intp] | None = None

    @property
    def _p2(self) -> tuple[int, ...]:
        return (1,) + self.pool_size if self._nd == 1 else self.pool_size

    @property
    def _s2(self) -> tuple[int, ...]:
        s = self.pool_size if self.stride is None else self.stride
        return (1,) + s if self._nd == 1 else s

    def plan_geom(self) -> dict[str, int]:
        """The built layer's window geometry as the C kernels take it (conv.h's
        fnn_conv_geom: one output channel per input channel, no padding or dilation)."""
        assert self.input_shape is not None  # built
        c, h, w = self._spatial_in(self.input_shape)
        _, oh, ow = self._geometry(self.input_shape)
        (kh, kw), (sh, sw) = self._p2, self._s2
        return dict(c=c, h=h, w=w, f=c, oh=oh, ow=ow, kh=kh, kw=kw, sh=sh, sw=sw, pt=0, pl=0,
                    dh=1, dw=1)

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        return [{"kind": "maxpool" if self._kind == "max" else "avgpool",
                 "geom": self.plan_geom()}]

    def _geometry(self, input_shape: Sequence[int]) -> tuple[int, int, int]:
        c, h, w = self._spatial_in(input_shape)
        (ph, pw), (sh, sw) = self._p2, self._s2
        if ph > h or pw > w:
            size = self.pool_size if self._nd == 2 else self.pool_size[0]
            raise ValueError(f"{self.name} ({type(self).__name__}): pool window {size} is "
                             f"larger than the input {_fmt_shape(tuple(input_shape)[1:])}")
        return c, (h - ph) // sh + 1, (w - pw) // sw + 1

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        return self._out(*self._geometry(input_shape))

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        n = x.shape[0]
        assert self.input_shape is not None  # forward() builds the layer first
        c, oh, ow = self._geometry(self.input_shape)
        x4 = self._as4(x)
        y4: NDArray[Any] = self._buffer("y", (n, c, oh, ow))
        if self._kind == "max":
            y4, self._argmax = self._ops.maxpool2d_forward(
                x4, self._p2, self._s2, out=y4,
                argmax=self._buffer_intp("argmax", (n, c, oh, ow)))
        else:
            y4 = self._ops.avgpool2d_forward(x4, self._p2, self._s2, out=y4)
        self._x_shape = x4.shape
        return y4.reshape((n,) + self._out(c, oh, ow))

    def _buffer_intp(self, key: str, shape: tuple[int, ...]) -> NDArray[np.intp]:
        if not self._reuse:
            return np.empty(shape, np.intp)
        buf = self._bufs.get((key, shape))
        if buf is None:
            buf = self._bufs[(key, shape)] = np.empty(shape, np.intp)
        return buf

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        self._check_forwarded("_x_shape")
        # set by forward(), on a built layer
        assert self._x_shape is not None and self.input_shape is not None
        dy4 = self._as4(np.ascontiguousarray(dy))
        out = self._buffer("dx", self._x_shape)
        dx: NDArray[Any]
        if self._kind == "max":
            dx = self._ops.maxpool2d_backward(dy4, self._argmax, self._x_shape, out=out)
        else:
            dx = self._ops.avgpool2d_backward(dy4, self._x_shape, self._p2, self._s2, out=out)
        return dx.reshape((dx.shape[0],) + self.input_shape)

    def get_config(self) -> dict[str, Any]:
        one = (lambda t: t[0]) if self._nd == 1 else list
        return {**super().get_config(), "pool_size": one(self.pool_size),
                "stride": None if self.stride is None else one(self.stride)}

    def _repr_args(self) -> list[str]:
        one: Callable[[tuple[int, ...]], object] = (
            (lambda t: t[0]) if self._nd == 1 else (lambda t: t if len(set(t)) > 1 else t[0]))
        args = [str(one(self.pool_size))]
        if self.stride is not None:
            args.append(f"stride={one(self.stride)}")
        return args


class MaxPool2D(_Pool):
    """Max over pool_size windows of (N, C, H, W), moved by stride (default: pool_size),
    no padding. Backward routes each gradient to the first maximum of its window."""

    _nd, _kind, _base_name = 2, "max", "max_pool2d"


class MaxPool1D(_Pool):
    """Max pooling over (N, C, L)."""

    _nd, _kind, _base_name = 1, "max", "max_pool1d"


class AvgPool2D(_Pool):
    """Mean over pool_size windows of (N, C, H, W), moved by stride (default: pool_size)."""

    _nd, _kind, _base_name = 2, "avg", "avg_pool2d"


class AvgPool1D(_Pool):
    """Average pooling over (N, C, L)."""

    _nd, _kind, _base_name = 1, "avg", "avg_pool1d"


class GlobalAvgPool(Layer):
    """``(N, C, *spatial) -> (N, C)``: the mean of each channel over every spatial position."""

    _base_name = "global_avg_pool"

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self._x_shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(
                f"{self.name} (GlobalAvgPool) takes inputs of shape (N, channels, ...) with "
                f"at least one spatial axis, but gets samples of shape "
                f"{_fmt_shape(input_shape)}"
            )
        return (input_shape[0],)

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        shape = self.input_shape
        assert shape is not None  # built
        return [{"kind": "global_avgpool", "channels": shape[0],
                 "spatial": int(np.prod(shape[1:]))}]

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        self._x_shape = x.shape
        return cast("NDArray[Any]", self._ops.global_avgpool_forward(
            x, out=self._buffer("y", x.shape[:2])))

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        self._check_forwarded("_x_shape")
        assert self._x_shape is not None  # checked just above
        return cast("NDArray[Any]", self._ops.global_avgpool_backward(
            np.ascontiguousarray(dy), self._x_shape, out=self._buffer("dx", self._x_shape)))


class Reshape(Layer):
    """``(N, *input_shape) -> (N, *shape)``; one entry of ``shape`` may be -1 (inferred).
    ``Reshape((1, 28, 28))`` turns flat MNIST rows into 1-channel images."""

    _base_name = "reshape"

    def __init__(self, shape: int | Sequence[int], *, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        if not isinstance(shape, (tuple, list)) or not shape:
            raise TypeError(f"shape must be a tuple of ints, got {shape!r}")
        shape = tuple(-1 if s == -1 else integer("shape", s, lo=1) for s in shape)
        if shape.count(-1) > 1:
            raise ValueError(f"shape may hold one -1 (inferred), got {shape}")
        self.shape = shape
        self._in_shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        size = math.prod(input_shape)
        known = math.prod(s for s in self.shape if s != -1)
        if -1 in self.shape:
            if size % known:
                raise ValueError(f"{self.name} (Reshape): cannot reshape samples of shape "
                                 f"{_fmt_shape(tuple(input_shape))} ({size} values) to "
                                 f"{_fmt_shape(self.shape)}")
            return tuple(size // known if s == -1 else s for s in self.shape)
        if known != size:
            raise ValueError(f"{self.name} (Reshape): cannot reshape samples of shape "
                             f"{_fmt_shape(tuple(input_shape))} ({size} values) to "
                             f"{_fmt_shape(self.shape)} ({known} values)")
        return self.shape

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        return []  # each sample's values stay contiguous: nothing to compute

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        self._in_shape = x.shape
        assert self.input_shape is not None  # forward() builds the layer first
        return x.reshape((x.shape[0],) + self.output_shape(self.input_shape))

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        self._check_forwarded("_in_shape")
        assert self._in_shape is not None  # checked just above
        return dy.reshape(self._in_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "shape": list(self.shape)}

    def _repr_args(self) -> list[str]:
        return [repr(self.shape)]


LAYERS.update({cls.__name__: cls for cls in (Conv1D, Conv2D, MaxPool1D, MaxPool2D, AvgPool1D,
                                             AvgPool2D, GlobalAvgPool, Reshape)})
