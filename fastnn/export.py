"""ONNX export of a built ``Sequential``: one graph that computes what ``predict`` (or,
with ``proba=True``, ``predict_proba``) returns, for any batch size.

    fastnn.export_onnx(model, "model.onnx")              # or: fastnn export m.fnn m.onnx
    session = onnxruntime.InferenceSession("model.onnx")
    out = session.run(None, {"input": X})[0]             # == model.predict(X)

Needs the ``onnx`` package (``pip install "fastnn-cpu[onnx]"``), imported only when a model
is exported. The graph is built with ``onnx.helper`` from each layer's own arrays and
geometry, layer by layer (``_LAYERS``: the exporter of each class); a layer class
without an exporter (a user's own layer) is a ValueError naming it, raised before
anything is written. The input is named ``input`` (the model's dtype, or int64 indices
when the model starts with an Embedding) and the output ``output``; the batch axis is
the symbolic dimension ``N``. Opset 17 or later (LayerNormalization's first); the file
declares the lowest IR version its opset allows, so older runtimes read it too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ._version import __version__
from .layers import LAYERS, Activation, Dense, Dropout, Flatten, Layer, as_float_dtype
from .layers_block import BatchNorm, LayerNorm, Residual
from .layers_conv import GlobalAvgPool, Reshape, _Conv, _Pool
from .layers_recurrent import Bidirectional, TimeAvgPool, TimeDistributed, _Recurrent
from .layers_sequence import Embedding
from .model import Sequential
from .reference.activations import GELU_C, GELU_K
from .saving import write_atomic

__all__ = ["export_onnx", "DEFAULT_OPSET", "MIN_OPSET"]

# LayerNormalization is an operator from opset 17 on; 17 is also what runtimes of the
# last years all read.
MIN_OPSET = 17
DEFAULT_OPSET = 17

INSTALL_HINT = 'pip install "fastnn-cpu[onnx]"'

# A protobuf message, so an ONNX file with its weights inside, holds at most 2 GiB.
MAX_BYTES = 2**31 - 1


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(f"ONNX export needs the onnx package: {INSTALL_HINT}") from None
    return onnx


# ONNX's names of the activations that map to one operator; alpha goes to "alpha".
_ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "identity": "Identity",
                   "leaky_relu": "LeakyRelu", "elu": "Elu"}

# fastnn's (PyTorch's) gate blocks in ONNX's order: GRU r,z,n -> z,r,h; LSTM i,f,g,o ->
# i,o,f,c. (A SimpleRNN has one block.)
_GATE_ORDER = {"gru": (1, 0, 2), "lstm": (0, 3, 1, 2), "tanh": (0,), "relu": (0,)}


class _Graph:
    """The nodes and initializers of the graph being built, with unique value names."""

    def __init__(self, onnx: Any, dtype: np.dtype[Any], opset: int) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.dtype = dtype
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str, dtype: Any = None) -> str:
        """An initializer holding ``value`` (in the model's dtype unless given)."""
        # np.array, not ascontiguousarray: that makes a scalar 1-D, and a Gather index
        # must stay 0-D
        arr = np.array(value, dtype=self.dtype if dtype is None else dtype, order="C")
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values: Sequence[int], hint: str = "shape") -> str:
        return self.const(np.asarray(values, np.int64), hint, np.int64)

    def op(self, op_type: str, inputs: Sequence[str], hint: str = "", **attrs: Any) -> str:
        """Append a node; returns the name of its output."""
        return self.op_n(op_type, inputs, 1, hint, **attrs)[0]

    def op_n(self, op_type: str, inputs: Sequence[str], n_out: int, hint: str = "",
             **attrs: Any) -> list[str]:
        """Append a node with n_out outputs; returns their names."""
        outs = [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs,
                                                name=self.name(op_type), **attrs))
        return outs

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: int) -> str:
        """A Reduce* node: axes as an attribute before opset 18, as an input from it on."""
        if self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes, "axes")], keepdims=keepdims)
        return self.op(op_type, [x], axes=list(axes), keepdims=keepdims)

    def squeeze(self, x: str, axes: Sequence[int]) -> str:
        return self.op("Squeeze", [x, self.ints(axes, "axes")])

    def reshape(self, x: str, sample_shape: Sequence[int]) -> str:
        """(N, ...) -> (N, *sample_shape), N kept whatever it is."""
        return self.op("Reshape", [x, self.ints([-1, *sample_shape])])


# ------------------------------------------------------------------------------ layers

# Each exporter takes (graph, layer, x, per-sample input shape) and returns the name of
# the output value; the per-sample output shape is the layer's own output_shape.
_Exporter = Callable[[_Graph, Any, str, tuple[int, ...]], str]


def _activation(g: _Graph, act: str | None, alpha: float | None, x: str) -> str:
    if act is None:
        return x
    if act in _ACTIVATION_OPS:
        if alpha is None:
            return g.op(_ACTIVATION_OPS[act], [x], act)
        return g.op(_ACTIVATION_OPS[act], [x], act, alpha=float(alpha))
    if act in ("softmax", "log_softmax"):  # along the last axis, as fastnn's
        return g.op("Softmax" if act == "softmax" else "LogSoftmax", [x], act, axis=-1)
    if act == "gelu":  # fastnn's GELU is the tanh form: 0.5 x (1 + tanh(c (x + k x^3)))
        x3 = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Mul", [g.const(GELU_C, "gelu_c"),
                             g.op("Add", [x, g.op("Mul", [g.const(GELU_K, "gelu_k"), x3])])])
        one_plus = g.op("Add", [g.const(1.0, "one"), g.op("Tanh", [inner])])
        return g.op("Mul", [g.op("Mul", [g.const(0.5, "half"), x]), one_plus], "gelu")
    raise ValueError(f"activation {act!r} has no ONNX mapping")


def _dense(g: _Graph, layer: Dense, x: str, shape: tuple[int, ...],
           activate: bool = True) -> str:
    w = g.const(layer.params["W"], f"{layer.name}.W")
    if "b" in layer.params:
        z = g.op("Gemm", [x, w, g.const(layer.params["b"], f"{layer.name}.b")], layer.name)
    else:
        z = g.op("MatMul", [x, w], layer.name)
    return _activation(g, layer.activation, layer.alpha, z) if activate else z


def _act_layer(g: _Graph, layer: Activation, x: str, shape: tuple[int, ...]) -> str:
    return _activation(g, layer.activation, layer.alpha, x)


def _identity(g: _Graph, layer: Layer, x: str, shape: tuple[int, ...]) -> str:
    return x  # Dropout: the identity in inference


def _flatten(g: _Graph, layer: Layer, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Flatten", [x], layer.name, axis=1)


def _reshape(g: _Graph, layer: Reshape, x: str, shape: tuple[int, ...]) -> str:
    return g.reshape(x, layer.output_shape(shape))


def _conv(g: _Graph, layer: _Conv, x: str, shape: tuple[int, ...],
          activate: bool = True) -> str:
    nd = layer._nd
    _, pads, _, _ = layer._geometry(shape)
    pads = pads[2 - nd:]  # ((top, bottom), (left, right)), 1-D: ((left, right),)
    inputs = [x, g.const(layer.params["W"], f"{layer.name}.W")]
    if "b" in layer.params:
        inputs.append(g.const(layer.params["b"], f"{layer.name}.b"))
    z = g.op("Conv", inputs, layer.name, kernel_shape=list(layer.kernel_size),
             strides=list(layer.stride), dilations=list(layer.dilation),
             pads=[p[0] for p in pads] + [p[1] for p in pads])
    return _activation(g, layer.activation, layer.alpha, z) if activate else z


def _pool(g: _Graph, layer: _Pool, x: str, shape: tuple[int, ...]) -> str:
    stride = layer.pool_size if layer.stride is None else layer.stride
    return g.op("MaxPool" if layer._kind == "max" else "AveragePool", [x], layer.name,
                kernel_shape=list(layer.pool_size), strides=list(stride))


def _global_avgpool(g: _Graph, layer: GlobalAvgPool, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Flatten", [g.op("GlobalAveragePool", [x])], layer.name, axis=1)


def _time_avgpool(g: _Graph, layer: TimeAvgPool, x: str, shape: tuple[int, ...]) -> str:
    return g.reduce("ReduceMean", x, [1], keepdims=0)  # (N, T, F) -> (N, F)


def _batchnorm(g: _Graph, layer: BatchNorm, x: str, shape: tuple[int, ...]) -> str:
    p, b = layer.params, layer.buffers
    inputs = [x] + [g.const(a, f"{layer.name}.{k}") for k, a in (
        ("gamma", p["gamma"]), ("beta", p["beta"]), ("running_mean", b["running_mean"]),
        ("running_var", b["running_var"]))]
    return g.op("BatchNormalization", inputs, layer.name, epsilon=float(layer.eps))


def _layernorm(g: _Graph, layer: LayerNorm, x: str, shape: tuple[int, ...]) -> str:
    d = shape[-1]
    weight = layer.params.get("weight", np.ones(d, g.dtype))
    bias = layer.params.get("bias", np.zeros(d, g.dtype))
    return g.op("LayerNormalization",
                [x, g.const(weight, f"{layer.name}.weight"), g.const(bias, f"{layer.name}.bias")],
                layer.name, axis=-1, epsilon=float(layer.eps))


def _residual(g: _Graph, layer: Residual, x: str, shape: tuple[int, ...]) -> str:
    h, _ = _sequence(g, layer.layers, x, shape)
    skip = x
    proj = layer.projection
    if isinstance(proj, Dense):
        skip = _dense(g, proj, x, shape)
    elif proj is not None:
        skip = _conv(g, proj, x, shape)
    return g.op("Add", [h, skip], layer.name)


def _embedding(g: _Graph, layer: Embedding, x: str, shape: tuple[int, ...]) -> str:
    table = g.const(layer.params["weight"], f"{layer.name}.weight")
    return g.op("Gather", [table, x], layer.name, axis=0)


def _time_distributed(g: _Graph, layer: TimeDistributed, x: str, shape: tuple[int, ...]) -> str:
    t, inner_shape = shape[0], shape[1:]
    y = _export_layer(g, layer.layer, g.reshape(x, inner_shape), inner_shape)
    return g.reshape(y, (t,) + layer.layer.output_shape(inner_shape))


# ---------------------------------------------------------------------------- recurrent


def _onnx_weights(layers: Sequence[_Recurrent]) -> tuple[NDArray[Any], NDArray[Any],
                                                         NDArray[Any] | None]:
    """W (D, G*H, F), R (D, G*H, H) and B (D, 2*G*H) in ONNX's gate order, one entry per
    direction."""
    ws, rs, bs = [], [], []
    for layer in layers:
        order = _GATE_ORDER[layer._cell]
        h = layer.units

        def gates(a: NDArray[Any]) -> NDArray[Any]:
            return np.concatenate([a[k * h:(k + 1) * h] for k in order])

        p = layer.params
        ws.append(gates(p["weight_ih_l0"]))
        rs.append(gates(p["weight_hh_l0"]))
        if layer.use_bias:
            bs.append(np.concatenate([gates(p["bias_ih_l0"]), gates(p["bias_hh_l0"])]))
    return np.stack(ws), np.stack(rs), (np.stack(bs) if bs else None)


def _sequence_lengths(g: _Graph, layer: _Recurrent, x: str, t: int) -> str:
    """(N,) int32: per sample 1 + the last step whose features are not all mask_value
    (0 for a sample that is all padding), as the layer computes them."""
    real = g.op("Not", [g.op("Equal", [x, g.const(layer.mask_value, "mask_value")])])
    step_real = g.reduce("ReduceMax", g.op("Cast", [real], to=_tensor_type(g)), [2], 0)
    rank = g.op("Mul", [step_real, g.const(np.arange(1, t + 1), "steps")])  # (N, T)
    last = g.reduce("ReduceMax", rank, [1], 0)
    return g.op("Cast", [last], "lengths", to=g.onnx.TensorProto.INT32)


def _tensor_type(g: _Graph) -> int:
    return int(g.onnx.helper.np_dtype_to_tensor_dtype(g.dtype))


def _recurrent_node(g: _Graph, layers: Sequence[_Recurrent], xt: str, lengths: str | None,
                    direction: str) -> tuple[str, str]:
    """The RNN / GRU / LSTM node over time-major xt (T, N, F): (Y, Y_h)."""
    first = layers[0]
    w, r, b = _onnx_weights(layers)
    inputs = [xt, g.const(w, f"{first.name}.W"), g.const(r, f"{first.name}.R")]
    if b is not None or lengths is not None:  # "": an omitted optional input (zero bias)
        inputs.append("" if b is None else g.const(b, f"{first.name}.B"))
    if lengths is not None:
        inputs.append(lengths)
    attrs: dict[str, Any] = {"hidden_size": first.units, "direction": direction}
    if first._cell == "gru":
        op_type = "GRU"
        attrs["linear_before_reset"] = 1  # r * (h W_hn^T + b_hn): PyTorch's GRU
    elif first._cell == "lstm":
        op_type = "LSTM"
    else:
        op_type = "RNN"
        attrs["activations"] = ["Tanh" if first._cell == "tanh" else "Relu"] * len(layers)
    y, y_h = g.op_n(op_type, inputs, 2, first.name, **attrs)  # Y_c (LSTM) left out
    return y, y_h


def _reverse_steps(g: _Graph, x: str, lengths: str | None) -> str:
    """Time-major x (T, N, F) with each sample's first lengths[b] steps reversed and its
    padding left in place; all T steps without lengths."""
    if lengths is None:
        # starts -1, ends "before the first", axis 0, step -1
        return g.op("Slice", [x, g.ints([-1]), g.ints([-(2 ** 63)]), g.ints([0]),
                              g.ints([-1])], "reversed")
    lens64 = g.op("Cast", [lengths], to=g.onnx.TensorProto.INT64)
    return g.op("ReverseSequence", [x, lens64], "reversed", batch_axis=1, time_axis=0)


def _recurrent(g: _Graph, layer: _Recurrent, x: str, shape: tuple[int, ...]) -> str:
    t = shape[0]
    lengths = None if layer.mask_value is None else _sequence_lengths(g, layer, x, t)
    xt = g.op("Transpose", [x], perm=[1, 0, 2])
    if layer.go_backwards:  # the layer reads the reversed sequence (padding kept last)
        xt = _reverse_steps(g, xt, lengths)
    y, y_h = _recurrent_node(g, [layer], xt, lengths, "forward")
    if layer.return_sequences:  # Y (T, 1, N, H) -> (N, T, H)
        return g.op("Transpose", [g.squeeze(y, [1])], layer.name, perm=[1, 0, 2])
    return g.squeeze(y_h, [0])


def _bidirectional(g: _Graph, layer: Bidirectional, x: str, shape: tuple[int, ...]) -> str:
    fw = layer.forward_layer
    t = shape[0]
    lengths = None if fw.mask_value is None else _sequence_lengths(g, fw, x, t)
    xt = g.op("Transpose", [x], perm=[1, 0, 2])
    # ONNX's reverse direction runs each sample from its last real step to its first and
    # writes its outputs back in time order: what Bidirectional does with its copy
    y, y_h = _recurrent_node(g, [fw, layer.backward_layer], xt, lengths, "bidirectional")
    halves = []
    for d in (0, 1):
        index = g.const(np.int64(d), "direction", np.int64)
        if layer.return_sequences:  # Y (T, 2, N, H) -> (N, T, H) per direction
            halves.append(g.op("Transpose", [g.op("Gather", [y, index], axis=1)],
                               perm=[1, 0, 2]))
        else:  # Y_h (2, N, H) -> (N, H)
            halves.append(g.op("Gather", [y_h, index], axis=0))
    mode = layer.merge_mode
    if mode == "concat":
        return g.op("Concat", halves, layer.name, axis=-1)
    if mode == "sum":
        return g.op("Add", halves, layer.name)
    if mode == "mul":
        return g.op("Mul", halves, layer.name)
    return g.op("Mul", [g.op("Add", halves), g.const(0.5, "half")], layer.name)


# ------------------------------------------------------------------------------ model


_LAYERS: dict[type[Layer], _Exporter] = {}


def _register(exporter: _Exporter, *classes: type[Layer]) -> None:
    for cls in classes:
        _LAYERS[cls] = exporter


def _exporter_of(layer: Layer) -> _Exporter | None:
    """The exporter of a layer of one of fastnn's own classes. A subclass (a user's
    layer, even one derived from Dense) may compute anything: it has none."""
    if LAYERS.get(type(layer).__name__) is not type(layer):
        return None
    for cls in type(layer).__mro__:
        if cls in _LAYERS:
            return _LAYERS[cls]
    return None


_register(_dense, Dense)
_register(_act_layer, Activation)
_register(_identity, Dropout)
_register(_flatten, Flatten)
_register(_reshape, Reshape)
_register(_conv, _Conv)
_register(_pool, _Pool)
_register(_global_avgpool, GlobalAvgPool)
_register(_time_avgpool, TimeAvgPool)
_register(_batchnorm, BatchNorm)
_register(_layernorm, LayerNorm)
_register(_residual, Residual)
_register(_embedding, Embedding)
_register(_time_distributed, TimeDistributed)
_register(_recurrent, _Recurrent)
_register(_bidirectional, Bidirectional)


def _check_exportable(layers: Sequence[Layer]) -> None:
    """Every layer, those inside blocks and wrappers too, has an exporter; otherwise a
    ValueError naming the first that has none."""
    for layer in layers:
        if _exporter_of(layer) is None:
            known = sorted(name for name, cls in LAYERS.items()
                           if any(c in _LAYERS for c in cls.__mro__))
            raise ValueError(
                f"layer {layer.name!r} ({type(layer).__module__}.{type(layer).__name__}) has "
                f"no ONNX export; the layers that have one: {', '.join(known)}")
        _check_exportable(layer.sublayers())


def _export_layer(g: _Graph, layer: Layer, x: str, shape: tuple[int, ...]) -> str:
    exporter = _exporter_of(layer)
    assert exporter is not None  # _check_exportable ran first
    return exporter(g, layer, x, shape)


def _sequence(g: _Graph, layers: Sequence[Layer], x: str,
              shape: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    for layer in layers:
        x = _export_layer(g, layer, x, shape)
        shape = layer.output_shape(shape)
    return x, shape


def _proba(g: _Graph, model: Sequential, x: str, shape: tuple[int, ...]) -> str:
    """What predict_proba applies to predict's outputs: nothing after a softmax or
    sigmoid, else a softmax over several outputs (a sigmoid for one output or
    binary_cross_entropy)."""
    if model._head_activation() in ("softmax", "sigmoid"):
        return x
    bce = model.loss is not None and model.loss.name == "binary_cross_entropy"
    if len(shape) == 1 and shape[0] > 1 and not bce:
        return g.op("Softmax", [x], "proba", axis=-1)
    return g.op("Sigmoid", [x], "proba")


def _check_opset(onnx: Any, opset: int | None) -> int:
    if opset is None:
        return DEFAULT_OPSET
    newest = int(onnx.defs.onnx_opset_version())
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int, got {type(opset).__name__}")
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be in [{MIN_OPSET}, {newest}] (this onnx package's "
                         f"newest), got {opset}")
    return int(opset)


def to_onnx_model(model: Sequential, *, opset: int | None = None, proba: bool = False,
                  dtype: DTypeLike | None = None) -> Any:
    """The ONNX ``ModelProto`` of a built model, checked by ``onnx.checker`` (see
    ``export_onnx``)."""
    if not isinstance(model, Sequential):
        raise TypeError(f"export_onnx takes a Sequential, got {type(model).__name__}")
    onnx = _import_onnx()
    opset = _check_opset(onnx, opset)
    with model._lock:  # the weights of one moment, not those of a fit running meanwhile
        return _to_onnx_model(onnx, model, opset, proba,
                              model.dtype if dtype is None else as_float_dtype(dtype))


def _to_onnx_model(onnx: Any, model: Sequential, opset: int, proba: bool,
                   dtype: np.dtype[Any]) -> Any:
    if not model.built or model.input_shape is None or model.output_shape is None:
        raise ValueError("the model is not built yet: fit it, call predict once, or "
                         "model.build(input_shape) before exporting it")
    _check_exportable(model.layers)
    size = sum(a.size for _, _, a in model.params + model.buffers) * dtype.itemsize
    if size > MAX_BYTES:
        raise ValueError(f"the model's weights take {size / 2**30:.1f} GiB in {dtype}; an "
                         "ONNX file holds at most 2 GiB (weights stored outside the file are "
                         "not supported by this export)")
    g = _Graph(onnx, dtype, opset)
    helper = onnx.helper
    in_shape = tuple(model.input_shape)
    indices = model.layers[0].takes_indices
    in_type = onnx.TensorProto.INT64 if indices else _tensor_type(g)
    x, shape = _sequence(g, model.layers, "input", in_shape)
    if proba:
        x = _proba(g, model, x, shape)
    g.nodes.append(helper.make_node("Identity", [x], ["output"], name="output"))
    graph = helper.make_graph(
        g.nodes, "fastnn_sequential",
        [helper.make_tensor_value_info("input", in_type, ["N", *in_shape])],
        [helper.make_tensor_value_info("output", _tensor_type(g), ["N", *shape])],
        g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="fastnn",
                              producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    proto.doc_string = (f"fastnn {__version__} Sequential: "
                        f"{'predict_proba' if proba else 'predict'} of {len(model.layers)} "
                        "layers")
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model: Sequential, path: str | os.PathLike[str], opset: int | None = None, *,
                proba: bool = False, dtype: DTypeLike | None = None) -> None:
    """Write ``model`` (a built ``Sequential``) to ``path`` as an ONNX model that computes
    ``model.predict(X)`` for a batch of any size (``proba=True``: ``predict_proba(X)``,
    the softmax or sigmoid that predict_proba adds written into the graph).

    ``opset``: the ONNX operator set (default 17, the lowest allowed; up to the installed
    onnx package's newest). The input ``input`` is ``(N, *model.input_shape)`` in the
    model's dtype -- int64 indices for a model that starts with an Embedding -- and the
    output ``output`` is ``(N, *model.output_shape)``. Dropout is the identity, BatchNorm uses its
    running statistics, as in predict.

    ``dtype``: the graph's float type, by default the model's. A float64 model becomes a
    graph in double, which onnxruntime's CPU kernels do not all run (Conv, AveragePool,
    GlobalAveragePool, Elu, RNN, GRU, LSTM are float32-only there); ``dtype="float32"``
    writes its weights and its graph in float32 instead.

    Raises ImportError without the onnx package, ValueError for an unbuilt model or a
    layer with no ONNX mapping (naming it), before anything is written; the file is
    written whole or not at all.
    """
    blob = to_onnx_model(model, opset=opset, proba=proba, dtype=dtype).SerializeToString()
    write_atomic(os.fspath(path), lambda f: f.write(blob))
