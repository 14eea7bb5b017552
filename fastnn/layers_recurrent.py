"""Recurrent layers: SimpleRNN, GRU and LSTM, the Bidirectional wrapper,
TimeDistributed and TimeAvgPool.

Sequences are batch-first, ``(N, T, features)``, as PyTorch's ``batch_first=True``. The
parameters carry PyTorch's names, shapes and gate order (``weight_ih_l0`` (G*H, F),
``weight_hh_l0`` (G*H, H), ``bias_ih_l0``, ``bias_hh_l0`` (G*H,); GRU gates r, z, n;
LSTM gates i, f, g, o), so weights copy over from ``torch.nn.GRU`` / ``LSTM`` /
``RNN`` one to one (``layer.params["weight_ih_l0"][...] = torch_gru.weight_ih_l0``).
The math is ``ops.recurrent_forward`` / ``recurrent_backward`` and their numpy twins.

    model = Sequential([GRU(128), Dense(10)])          # x: (N, 28, 28) -> 10 classes
    model = Sequential([Embedding(5000, 32), Bidirectional(LSTM(64)), Dense(2)])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._inputs import CELLS, RecurrentCache
from ._validation import integer, scalar
from .layers import LAYERS, Dense, Layer, _fmt_shape, layer_from_config

__all__ = ["SimpleRNN", "GRU", "LSTM", "Bidirectional", "TimeDistributed", "TimeAvgPool"]


def _valid_lengths(x: NDArray[Any], mask_value: float) -> NDArray[np.int64]:
    """Per sample, 1 + the last step whose features are not all `mask_value`: the steps
    after it are trailing padding."""
    real = np.any(x != mask_value, axis=2)  # (N, T)
    t = x.shape[1]
    last_from_end = np.argmax(real[:, ::-1], axis=1)
    lengths: NDArray[np.int64] = np.where(real.any(axis=1), t - last_from_end, 0).astype(np.int64)
    return lengths


def _reverse_index(lengths: NDArray[np.int64] | None, n: int, t: int) -> NDArray[np.intp]:
    """(N, T) step indices that reverse each sample's first lengths[b] steps and keep
    its padding in place (an involution: applying it twice gives the identity)."""
    steps = np.arange(t)[None, :]
    if lengths is None:
        return np.broadcast_to(t - 1 - steps, (n, t)).astype(np.intp)
    lens = lengths[:, None]
    return np.where(steps < lens, lens - 1 - steps, steps).astype(np.intp)


def _take_steps(a: NDArray[Any], index: NDArray[np.intp]) -> NDArray[Any]:
    return np.ascontiguousarray(np.take_along_axis(a, index[:, :, None], axis=1))


class _Recurrent(Layer):
    """A recurrent layer over (N, T, F) input; subclasses set the cell."""

    _cell = "tanh"
    bias_keys = ("bias_ih_l0", "bias_hh_l0")

    def __init__(self, units: int, return_sequences: bool = False, go_backwards: bool = False,
                 use_bias: bool = True, mask_value: float | None = None, *,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self.units = integer("units", units, lo=1)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.use_bias = bool(use_bias)
        self.mask_value = None if mask_value is None else scalar("mask_value", mask_value)
        self._x: NDArray[Any] | None = None
        self._cache: RecurrentCache | None = None
        self._lengths: NDArray[np.int64] | None = None
        self._order: NDArray[np.intp] | None = None

    @property
    def _gates(self) -> int:
        return CELLS[self._cell]

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or min(input_shape) < 1:
            raise ValueError(
                f"{self.name} ({type(self).__name__}) takes sequences of shape (N, steps, "
                f"features), but gets samples of shape {_fmt_shape(input_shape)}"
                + (": put a Reshape((steps, features)) layer before it"
                   if len(input_shape) != 2 else "")
            )
        t = input_shape[0]
        return (t, self.units) if self.return_sequences else (self.units,)

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        gh, f = self._gates * self.units, input_shape[-1]
        shapes: dict[str, tuple[int, ...]] = {"weight_ih_l0": (gh, f),
                                              "weight_hh_l0": (gh, self.units)}
        if self.use_bias:
            shapes.update(bias_ih_l0=(gh,), bias_hh_l0=(gh,))
        return shapes

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        # PyTorch's initialisation: every parameter uniform in +-1/sqrt(units)
        k = 1.0 / math.sqrt(self.units)
        for key, shape in self.param_shapes(input_shape).items():
            self.params[key] = rng.uniform(-k, k, shape).astype(dtype)

    # ------------------------------------------------------------ compute

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        n, t, _ = x.shape
        lengths = None if self.mask_value is None else _valid_lengths(x, self.mask_value)
        order = _reverse_index(lengths, n, t) if self.go_backwards else None
        xs = _take_steps(x, order) if order is not None else x
        y, h_n, _, cache = self._ops.recurrent_forward(
            xs, self.params["weight_ih_l0"], self.params["weight_hh_l0"],
            self.params.get("bias_ih_l0"), self.params.get("bias_hh_l0"), cell=self._cell,
            lengths=lengths)
        self._x, self._cache, self._lengths, self._order = xs, cache, lengths, order
        return cast("NDArray[Any]", y if self.return_sequences else h_n)

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        self._check_forwarded("_cache")
        assert self._x is not None and self._cache is not None  # set by forward
        dy = np.ascontiguousarray(dy)
        dseq, dh_n = (dy, None) if self.return_sequences else (None, dy)
        dx, dwih, dwhh, dbih, dbhh, _, _ = self._ops.recurrent_backward(
            dseq, dh_n, None, self._x, self.params["weight_ih_l0"],
            self.params["weight_hh_l0"], self._cache, cell=self._cell, lengths=self._lengths,
            bias=self.use_bias, compute_dx=self._need_dx)
        self.grads["weight_ih_l0"][...] = dwih
        self.grads["weight_hh_l0"][...] = dwhh
        if self.use_bias:
            self.grads["bias_ih_l0"][...] = dbih
            self.grads["bias_hh_l0"][...] = dbhh
        if dx is not None and self._order is not None:
            dx = _take_steps(dx, self._order)
        return cast("NDArray[Any] | None", dx)

    # ------------------------------------------------------------ the fused plan

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        assert self.input_shape is not None  # built
        p, g = self.params, self.grads
        return [{"kind": "recurrent", "cell": self._cell, "t_steps": self.input_shape[0],
                 "units": self.units, "return_sequences": self.return_sequences,
                 "go_backwards": self.go_backwards, "mask_value": self.mask_value,
                 "W": p["weight_ih_l0"], "b": p.get("bias_ih_l0"),
                 "dW": g["weight_ih_l0"], "db": g.get("bias_ih_l0"),
                 "whh": p["weight_hh_l0"], "bhh": p.get("bias_hh_l0"),
                 "dwhh": g["weight_hh_l0"], "dbhh": g.get("bias_hh_l0"),
                 "trainable": trainable and self.trainable}]

    # ------------------------------------------------------------ info

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units,
                "return_sequences": self.return_sequences, "go_backwards": self.go_backwards,
                "use_bias": self.use_bias, "mask_value": self.mask_value}

    def _repr_args(self) -> list[str]:
        args = [str(self.units)]
        if self.return_sequences:
            args.append("return_sequences=True")
        if self.go_backwards:
            args.append("go_backwards=True")
        if not self.use_bias:
            args.append("use_bias=False")
        if self.mask_value is not None:
            args.append(f"mask_value={self.mask_value!r}")
        return args


class SimpleRNN(_Recurrent):
    """Elman recurrence ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` with
    ``activation`` "tanh" (default) or "relu" -- PyTorch's ``nn.RNN``.

    Input (N, T, F); output the last state (N, units), or every step's (N, T, units)
    with ``return_sequences=True``. ``go_backwards=True`` reads the sequence from its
    end (the outputs come in that order). ``mask_value``: trailing steps whose features
    all equal it are padding -- the state carries over them, their outputs are zero --
    so sequences of different lengths share a batch.
    """

    _base_name = "simple_rnn"

    def __init__(self, units: int, activation: str = "tanh", return_sequences: bool = False,
                 go_backwards: bool = False, use_bias: bool = True,
                 mask_value: float | None = None, *, name: str | None = None,
                 trainable: bool = True) -> None:
        if activation not in ("tanh", "relu"):
            raise ValueError(f"SimpleRNN activation must be 'tanh' or 'relu', got {activation!r}")
        self._cell = activation
        super().__init__(units, return_sequences, go_backwards, use_bias, mask_value,
                         name=name, trainable=trainable)

    @property
    def activation(self) -> str:
        return self._cell

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self._cell}

    def _repr_args(self) -> list[str]:
        args = super()._repr_args()
        if self._cell != "tanh":
            args.insert(1, f"activation={self._cell!r}")
        return args


class GRU(_Recurrent):
    """Gated recurrent unit, PyTorch's ``nn.GRU`` formulas and gate order (r, z, n)::

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) * n + z * h

    Input, output and options as SimpleRNN's.
    """

    _base_name = "gru"
    _cell = "gru"


class LSTM(_Recurrent):
    """Long short-term memory, PyTorch's ``nn.LSTM`` formulas and gate order
    (i, f, g, o)::

        i, f, o = sigmoid(.), g = tanh(.)   of x W_ih^T + b_ih + h W_hh^T + b_hh
        c' = f * c + i * g,   h' = o * tanh(c')

    Input, output and options as SimpleRNN's (the output is h; c stays inside).
    """

    _base_name = "lstm"
    _cell = "lstm"


class Bidirectional(Layer):
    """Run a recurrent layer over the sequence both ways and join the two outputs:
    ``merge_mode`` "concat" (default; features of the forward run first), "sum",
    "mul" or "ave". With ``return_sequences=True`` the backward run's outputs are put
    back in time order before joining.

    Its params are the forward layer's under their own names and the backward layer's
    with ``_reverse`` appended -- PyTorch's names for ``bidirectional=True``.
    """

    _base_name = "bidirectional"
    _MODES = ("concat", "sum", "mul", "ave")

    def __init__(self, layer: _Recurrent, merge_mode: str = "concat", *,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        if not isinstance(layer, _Recurrent):
            raise TypeError("Bidirectional wraps a SimpleRNN, GRU or LSTM layer, got "
                            f"{type(layer).__name__}")
        if layer.go_backwards:
            raise ValueError("Bidirectional makes the backward copy itself: pass the layer "
                             "with go_backwards=False")
        if merge_mode not in self._MODES:
            raise ValueError(f"merge_mode must be one of {', '.join(map(repr, self._MODES))}, "
                             f"got {merge_mode!r}")
        self.merge_mode = merge_mode
        self.forward_layer = layer
        cfg = layer.get_config()
        cfg.update(go_backwards=True, name=f"{layer.name}_reverse")  # renamed when built
        self.backward_layer = cast(_Recurrent, layer_from_config(cfg))
        self._y: tuple[NDArray[Any], NDArray[Any]] | None = None

    def _named(self) -> list[tuple[str, _Recurrent]]:
        return [("", self.forward_layer), ("_reverse", self.backward_layer)]

    def sublayers(self) -> list[Layer]:
        return [self.forward_layer, self.backward_layer]

    @property
    def bias_keys(self) -> tuple[str, ...]:
        return tuple(k + s for s, l in self._named() for k in l.bias_keys if k in l.params)

    def trainable_keys(self) -> list[str]:
        if not self.trainable:
            return []
        return [k + s for s, l in self._named() for k in l.trainable_keys()]

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        shape = self.forward_layer.output_shape(input_shape)
        if self.merge_mode == "concat":
            shape = shape[:-1] + (2 * shape[-1],)
        return shape

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return {k + s: v for s, l in self._named() for k, v in l.param_shapes(input_shape).items()}

    def build(self, input_shape: int | Sequence[int], dtype: DTypeLike = np.float32,
              rng: np.random.Generator | None = None) -> Bidirectional:
        super().build(input_shape, dtype, rng)
        self.params = {k + s: v for s, l in self._named() for k, v in l.params.items()}
        self.grads = {k + s: v for s, l in self._named() for k, v in l.grads.items()}
        return self

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        self.backward_layer.name = f"{self.forward_layer.name}_reverse"
        for _, l in self._named():
            l._ops = self._ops
            l.build(input_shape, dtype, rng)

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        fw, bw = self.forward_layer, self.backward_layer
        for l in (fw, bw):
            l._ops, l._reuse, l._need_dx = self._ops, self._reuse, self._need_dx
        yf = fw._forward(x, training)
        yb = bw._forward(x, training)
        if self.return_sequences and bw._order is not None:
            yb = _take_steps(yb, bw._order)  # back in time order
        self._y = (yf, yb)
        if self.merge_mode == "concat":
            return np.concatenate([yf, yb], axis=-1)
        if self.merge_mode == "sum":
            return cast("NDArray[Any]", yf + yb)
        if self.merge_mode == "mul":
            return cast("NDArray[Any]", yf * yb)
        return cast("NDArray[Any]", (yf + yb) * yf.dtype.type(0.5))

    @property
    def return_sequences(self) -> bool:
        return self.forward_layer.return_sequences

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        self._check_forwarded("_y")
        assert self._y is not None  # checked just above
        yf, yb = self._y
        dy = np.ascontiguousarray(dy)
        if self.merge_mode == "concat":
            u = yf.shape[-1]
            df, db = dy[..., :u], dy[..., u:]
        elif self.merge_mode == "sum":
            df = db = dy
        elif self.merge_mode == "mul":
            df, db = dy * yb, dy * yf
        else:
            df = db = dy * dy.dtype.type(0.5)
        bw = self.backward_layer
        if self.return_sequences and bw._order is not None:
            db = _take_steps(db, bw._order)  # into the backward run's step order
        dxf = self.forward_layer.backward(np.ascontiguousarray(df))
        dxb = bw.backward(np.ascontiguousarray(db))
        if dxf is None or dxb is None:
            return None
        return cast("NDArray[Any]", dxf + dxb)

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        """One bidirectional step holding both directions' recurrent steps, each with its
        own layer's arrays and trainable flag."""
        dirs = []
        for layer in (self.forward_layer, self.backward_layer):
            steps = layer.plan_steps(trainable and self.trainable)
            assert steps is not None and len(steps) == 1  # a recurrent layer is one step
            dirs.append(steps[0])
        return [{"kind": "bidirectional", "merge": self.merge_mode, "dirs": dirs}]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": self.forward_layer.get_config(),
                "merge_mode": self.merge_mode}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Bidirectional:
        cfg = dict(cfg)
        if not isinstance(cfg.get("layer"), dict):
            raise ValueError("a Bidirectional config needs the config of its layer")
        cfg["layer"] = layer_from_config(cfg["layer"])
        return super().from_config(cfg)

    def _repr_args(self) -> list[str]:
        args = [repr(self.forward_layer)]
        if self.merge_mode != "concat":
            args.append(f"merge_mode={self.merge_mode!r}")
        return args


class TimeDistributed(Layer):
    """Apply a layer to every step of a sequence: (N, T, ...) -> (N, T, ...), the inner
    layer seeing (N * T, ...) -- e.g. ``TimeDistributed(Dense(10))`` after a recurrent
    layer with ``return_sequences=True``. Its params are the inner layer's."""

    _base_name = "time_distributed"

    def __init__(self, layer: Layer, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed wraps a fastnn layer, got {type(layer).__name__}")
        if layer.sublayers():
            raise ValueError("TimeDistributed wraps a single layer, not a block")
        self.layer = layer
        self._t: int | None = None

    def sublayers(self) -> list[Layer]:
        return [self.layer]

    @property
    def bias_keys(self) -> tuple[str, ...]:
        return tuple(getattr(self.layer, "bias_keys", ()))

    def trainable_keys(self) -> list[str]:
        return self.layer.trainable_keys() if self.trainable else []

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(f"{self.name} (TimeDistributed) takes sequences (N, steps, ...), "
                             f"but gets samples of shape {_fmt_shape(input_shape)}")
        return (input_shape[0],) + self.layer.output_shape(input_shape[1:])

    def param_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return self.layer.param_shapes(tuple(input_shape)[1:])

    def buffer_shapes(self, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        return self.layer.buffer_shapes(tuple(input_shape)[1:])

    def build(self, input_shape: int | Sequence[int], dtype: DTypeLike = np.float32,
              rng: np.random.Generator | None = None) -> TimeDistributed:
        super().build(input_shape, dtype, rng)
        self.params = dict(self.layer.params)
        self.grads = dict(self.layer.grads)
        self.buffers = dict(self.layer.buffers)
        return self

    def _build(self, input_shape: tuple[int, ...], dtype: np.dtype[Any],
               rng: np.random.Generator) -> None:
        self.layer._ops = self._ops
        self.layer.build(input_shape[1:], dtype, rng)

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        inner = self.layer
        inner._ops, inner._reuse, inner._need_dx = self._ops, self._reuse, self._need_dx
        n, t = x.shape[:2]
        self._t = t
        y = inner._forward(x.reshape((n * t,) + x.shape[2:]), training)
        return y.reshape((n, t) + y.shape[1:])

    def backward(self, dy: NDArray[Any]) -> NDArray[Any] | None:
        self._check_forwarded("_t")
        n, t = dy.shape[:2]
        dx = self.layer.backward(np.ascontiguousarray(dy).reshape((n * t,) + dy.shape[2:]))
        return None if dx is None else dx.reshape((n, t) + dx.shape[1:])

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        """A Dense inner layer is a dense step over every step's row (its "steps" rows
        per sample), and an elementwise activation after it acts on them all alike;
        softmax and log_softmax, which work row by row, and other inner layers keep the
        per-layer path."""
        assert self.input_shape is not None  # built
        if type(self.layer) is not Dense or self.layer.activation in ("softmax", "log_softmax"):
            return None
        steps = self.layer.plan_steps(trainable and self.trainable)
        if steps is None:
            return None
        return [{**s, "steps": self.input_shape[0]} if s["kind"] == "dense" else s
                for s in steps]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": self.layer.get_config()}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> TimeDistributed:
        cfg = dict(cfg)
        if not isinstance(cfg.get("layer"), dict):
            raise ValueError("a TimeDistributed config needs the config of its layer")
        cfg["layer"] = layer_from_config(cfg["layer"])
        return super().from_config(cfg)

    def _repr_args(self) -> list[str]:
        return [repr(self.layer)]


class TimeAvgPool(Layer):
    """``(N, T, F) -> (N, F)``: the mean of each feature over the T steps of a sequence,
    e.g. over every output of a recurrent layer with ``return_sequences=True`` -- Keras'
    ``GlobalAveragePooling1D`` (channels last), PyTorch's ``out.mean(dim=1)``.

    Not ``GlobalAvgPool``, which averages channels-first inputs ``(N, C, *spatial)``
    over their spatial axes (the layout of fastnn's conv layers, Conv1D included): the two
    differ in which axis survives, so they are two layers rather than one with an axis.

    Every step counts, padding included: the mean is always over all T steps. After a
    recurrent layer with ``mask_value`` (whose padded steps output zeros) that mean would
    be biased towards zero for shorter sequences, so the model refuses that order (take
    the last real step's state, ``return_sequences=False``, instead).
    """

    _base_name = "time_avg_pool"

    def __init__(self, *, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self._steps: int | None = None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or min(input_shape) < 1:
            raise ValueError(
                f"{self.name} (TimeAvgPool) takes sequences of shape (N, steps, features), "
                f"but gets samples of shape {_fmt_shape(input_shape)}"
            )
        return (input_shape[1],)

    def plan_steps(self, trainable: bool = True) -> list[dict[str, Any]] | None:
        shape = self.input_shape
        assert shape is not None  # built
        return [{"kind": "time_avgpool", "steps": shape[0], "features": shape[1]}]

    def _forward(self, x: NDArray[Any], training: bool) -> NDArray[Any]:
        self._steps = x.shape[1]
        return cast("NDArray[Any]", self._ops.time_avgpool_forward(
            x, out=self._buffer("y", (x.shape[0], x.shape[2]))))

    def backward(self, dy: NDArray[Any]) -> NDArray[Any]:
        self._check_forwarded("_steps")
        assert self._steps is not None  # checked just above
        dy = np.ascontiguousarray(dy)
        return cast("NDArray[Any]", self._ops.time_avgpool_backward(
            dy, self._steps, out=self._buffer("dx", (dy.shape[0], self._steps, dy.shape[1]))))


def check_time_avgpool_order(layers: Sequence[Layer]) -> None:
    """Refuse a TimeAvgPool after a recurrent layer that masks padding and returns
    sequences: its padded steps output zeros, which the pool's mean over every step would
    count, biasing shorter sequences towards zero without a word."""
    masked: tuple[str, float] | None = None  # the last such layer's name and mask_value
    for layer in layers:
        inner = layer.forward_layer if isinstance(layer, Bidirectional) else layer
        if (isinstance(inner, _Recurrent) and inner.mask_value is not None
                and inner.return_sequences):
            masked = (layer.name, inner.mask_value)
        if isinstance(layer, TimeAvgPool) and masked is not None:
            raise ValueError(
                f"{layer.name} (TimeAvgPool) averages every step, but {masked[0]} pads "
                f"with mask_value={masked[1]!r} and outputs zeros on the padded steps: the "
                "mean would count them. Take the last real step's state instead "
                "(return_sequences=False)"
            )


LAYERS.update({"SimpleRNN": SimpleRNN, "GRU": GRU, "LSTM": LSTM,
               "Bidirectional": Bidirectional, "TimeDistributed": TimeDistributed,
               "TimeAvgPool": TimeAvgPool})
