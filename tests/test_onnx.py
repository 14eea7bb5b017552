"""ONNX export (fastnn.export_onnx): every layer kind, exported from a model trained a
step, checked by onnx.checker and run by onnxruntime -- an implementation independent of
fastnn -- on batches of 1 and 7 rows, against predict / predict_proba."""

import sys

import numpy as np
import pytest

import fastnn
from fastnn import (
    ELU,
    GELU,
    GRU,
    LSTM,
    Activation,
    Adam,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Bidirectional,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    Identity,
    LayerNorm,
    LeakyReLU,
    LogSoftmax,
    MaxPool1D,
    MaxPool2D,
    ReLU,
    Reshape,
    Residual,
    Sequential,
    Sigmoid,
    SimpleRNN,
    Softmax,
    Tanh,
    TimeAvgPool,
    TimeDistributed,
)
from fastnn.layers import Layer

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

BATCHES = (1, 7)
# float64: far below float32's rounding (1e-7), above the few ulps onnxruntime's double
# kernels differ by
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-8, atol=1e-10)}


def _inputs(model_input, n, rng, dtype):
    return rng.standard_normal((n,) + model_input).astype(dtype)


def _trained(layers, input_shape, dtype=np.float32, X=None, seed=0):
    """A model over random data, trained two steps (so that no weight is at its initial
    value and BatchNorm's running statistics have moved)."""
    rng = np.random.default_rng(seed)
    model = Sequential(layers, seed=seed, dtype=dtype, input_shape=input_shape)
    if X is None:
        X = _inputs(input_shape, 16, rng, dtype)
    out = model.predict(X)
    Y = rng.standard_normal(out.shape).astype(dtype)
    model.fit(X, Y, epochs=1, batch_size=8, loss="mse", optimizer=Adam(lr=0.05), verbose=0)
    return model


def _session(path):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), model


def _check(model, tmp_path, X=None, proba=False, opset=None, seed=1):
    """Export, then match onnxruntime to predict (or predict_proba) on 1 and 7 rows."""
    path = tmp_path / "m.onnx"
    fastnn.export_onnx(model, path, opset, proba=proba)
    sess, proto = _session(path)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N"  # any batch size
    assert [d.dim_value for d in dims[1:]] == list(model.input_shape)
    rng = np.random.default_rng(seed)
    for n in BATCHES:
        x = _inputs(model.input_shape, n, rng, model.dtype) if X is None else X[:n]
        want = model.predict_proba(x) if proba else model.predict(x)
        (got,) = sess.run(None, {"input": x})
        assert got.dtype == model.dtype and got.shape == want.shape, (got.shape, want.shape)
        np.testing.assert_allclose(got, want, **TOL[model.dtype.type])
    return proto


# ------------------------------------------------------------------------ dense, activations

ACTIVATIONS = [None, "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softmax",
               "log_softmax", "identity"]


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_with_each_activation(tmp_path, act):
    alpha = {"leaky_relu": 0.2, "elu": 0.7}.get(act)
    model = _trained([Dense(9, activation=act, alpha=alpha), Dense(4, use_bias=False)], (5,))
    _check(model, tmp_path)


def test_activation_layers_and_dropout(tmp_path):
    model = _trained([Dense(8), ReLU(), Dropout(0.3), Dense(8), Sigmoid(), Dense(8), Tanh(),
                      Dense(8), LeakyReLU(0.1), Dense(8), ELU(0.5), Dense(8), GELU(),
                      Identity(), Activation("elu", alpha=2.0), Dense(5), LogSoftmax(),
                      Dense(5), Softmax()], (6,))
    _check(model, tmp_path)


def test_gelu_is_the_tanh_form(tmp_path):
    # large inputs: where the tanh form and the erf form differ most (0.004 near x=-2.5)
    model = Sequential([GELU()], input_shape=(50,)).build()
    x = np.linspace(-6, 6, 50, dtype=np.float32)[None]
    fastnn.export_onnx(model, tmp_path / "g.onnx")
    sess, _ = _session(tmp_path / "g.onnx")
    (got,) = sess.run(None, {"input": x})
    c = np.sqrt(2 / np.pi)
    want = 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------- images

@pytest.mark.parametrize("conv", [
    dict(padding="same", stride=2),
    dict(padding=((1, 0), (2, 1)), stride=(1, 2)),
    dict(padding=1, dilation=2, use_bias=False),
    dict(padding="valid", activation="relu"),
], ids=["same-stride2", "asym-pads", "dilated-nobias", "valid-relu"])
def test_conv2d(tmp_path, conv):
    model = _trained([Conv2D(4, (3, 2) if "dilation" not in conv else 3, **conv),
                      MaxPool2D(2), Flatten(), Dense(3)], (2, 9, 10))
    _check(model, tmp_path)


def test_cnn_pools_reshape_and_global_pool(tmp_path):
    model = _trained([Reshape((1, 12, 12)), Conv2D(3, 3, activation="elu"),
                      AvgPool2D(3, stride=2), Conv2D(5, 1), MaxPool2D((2, 1), stride=1),
                      GlobalAvgPool(), Dense(4, activation="softmax")], (144,))
    _check(model, tmp_path)


def test_conv1d_and_1d_pools(tmp_path):
    model = _trained([Conv1D(4, 3, padding="same", activation="tanh"), MaxPool1D(2),
                      Conv1D(3, 2, stride=2, padding=(1, 0)), AvgPool1D(2, stride=1),
                      GlobalAvgPool(), Dense(2)], (3, 17))
    _check(model, tmp_path)


@pytest.mark.parametrize("shape", [(6,), (3, 5, 4), (3, 8)], ids=["features", "images", "1d"])
def test_batchnorm_running_statistics(tmp_path, shape):
    layers = [BatchNorm(momentum=0.5), Flatten(), Dense(3)] if len(shape) > 1 else \
        [Dense(6), BatchNorm(momentum=0.5), Dense(3)]
    model = _trained(layers, shape)
    bn = next(l for l in model.layers if isinstance(l, BatchNorm))
    assert not np.allclose(bn.buffers["running_var"], 1)  # statistics that matter
    _check(model, tmp_path)


def test_layernorm(tmp_path):
    model = _trained([LayerNorm(eps=1e-3), Dense(4), LayerNorm(elementwise_affine=False)],
                     (7,))
    _check(model, tmp_path)
    seq = _trained([LayerNorm(), GRU(4, return_sequences=True), LayerNorm(), Flatten(),
                    Dense(2)], (5, 3))
    _check(seq, tmp_path)


def test_residual_blocks(tmp_path):
    model = _trained([
        Conv2D(4, 3, padding="same"),
        Residual([Conv2D(4, 3, padding="same", activation="relu"), BatchNorm(),
                  Conv2D(4, 3, padding="same")]), ReLU(),
        Residual([Conv2D(6, 3, stride=2, padding="same")],
                 projection=Conv2D(6, 1, stride=2)),
        GlobalAvgPool(),
        Residual([Dense(6, activation="tanh"), Dense(3)], projection=Dense(3)),
        Residual(Dense(3)),
    ], (2, 8, 8))
    _check(model, tmp_path)


# ---------------------------------------------------------------------------- sequences

def _index_data(n, t, vocab, rng):
    return rng.integers(0, vocab, (n, t))


def test_embedding(tmp_path):
    rng = np.random.default_rng(3)
    X = _index_data(16, 5, 11, rng)
    model = _trained([Embedding(11, 4, padding_idx=0), Flatten(), Dense(3)], (5,), X=X)
    proto = _check(model, tmp_path, X=_index_data(7, 5, 11, rng))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


@pytest.mark.parametrize("cell", [SimpleRNN, GRU, LSTM])
@pytest.mark.parametrize("seq,back", [(False, False), (True, False), (False, True),
                                      (True, True)],
                         ids=["last", "sequences", "backwards", "sequences-backwards"])
def test_recurrent(tmp_path, cell, seq, back):
    model = _trained([cell(5, return_sequences=seq, go_backwards=back), Flatten(), Dense(2)],
                     (6, 3))
    _check(model, tmp_path)


def test_simple_rnn_relu_without_bias(tmp_path):
    model = _trained([SimpleRNN(4, activation="relu", use_bias=False), Dense(2)], (5, 3))
    _check(model, tmp_path)


def _padded(n, t, f, rng, dtype=np.float32):
    """Sequences with trailing padding (zeros) of random lengths, one all padding."""
    x = rng.standard_normal((n, t, f)).astype(dtype)
    lengths = rng.integers(1, t + 1, n)
    lengths[n // 2] = 0
    for b, length in enumerate(lengths):
        x[b, length:] = 0
    return x


@pytest.mark.parametrize("cell", [SimpleRNN, GRU, LSTM])
@pytest.mark.parametrize("seq,back", [(False, False), (True, False), (False, True),
                                      (True, True)],
                         ids=["last", "sequences", "backwards", "sequences-backwards"])
def test_recurrent_masking(tmp_path, cell, seq, back):
    rng = np.random.default_rng(4)
    X = _padded(16, 6, 3, rng)
    model = _trained([cell(4, return_sequences=seq, go_backwards=back, mask_value=0.0),
                      Flatten(), Dense(2)], (6, 3), X=X)
    _check(model, tmp_path, X=_padded(7, 6, 3, rng))


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("seq", [False, True], ids=["last", "sequences"])
def test_bidirectional(tmp_path, mode, seq):
    model = _trained([Bidirectional(LSTM(4, return_sequences=seq), merge_mode=mode),
                      Flatten(), Dense(2)], (5, 3))
    _check(model, tmp_path)


@pytest.mark.parametrize("cell", [
    lambda: SimpleRNN(3, activation="relu", return_sequences=True),
    lambda: GRU(3, use_bias=False),
], ids=["rnn-relu", "gru-nobias"])
def test_bidirectional_other_cells(tmp_path, cell):
    model = _trained([Bidirectional(cell()), Flatten(), Dense(2)], (5, 3))
    _check(model, tmp_path)


def test_bidirectional_gru_with_masking(tmp_path):
    rng = np.random.default_rng(5)
    X = _padded(16, 6, 3, rng)
    model = _trained([Bidirectional(GRU(4, return_sequences=True, mask_value=0.0)),
                      TimeDistributed(Dense(3, activation="relu")), Flatten(), Dense(2)],
                     (6, 3), X=X)
    _check(model, tmp_path, X=_padded(7, 6, 3, rng))


def test_time_distributed_and_embedding_into_a_recurrent_layer(tmp_path):
    rng = np.random.default_rng(6)
    X = _index_data(16, 7, 20, rng)
    model = _trained([Embedding(20, 5), LSTM(6, return_sequences=True),
                      TimeDistributed(Dense(4, activation="softmax")), Flatten(), Dense(3)],
                     (7,), X=X)
    _check(model, tmp_path, X=_index_data(7, 7, 20, rng))


@pytest.mark.parametrize("cell", [GRU, LSTM])
def test_time_avgpool_over_the_steps(tmp_path, cell):
    model = _trained([cell(5, return_sequences=True), TimeAvgPool(), Dense(3)], (6, 4))
    _check(model, tmp_path)


# ------------------------------------------------------------------ dtypes, outputs, opsets

def test_float64_models_run_in_double(tmp_path):
    model = _trained([Dense(8, activation="gelu"), BatchNorm(), Dense(6, activation="tanh"),
                      LayerNorm(), Reshape((2, 3)), MaxPool1D(2, stride=1), Flatten(),
                      Residual(Dense(4, activation="leaky_relu"), projection=Dense(4)),
                      Dense(3, activation="softmax")], (5,), dtype=np.float64)
    proto = _check(model, tmp_path)
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


@pytest.mark.parametrize("layers,shape", [
    ([Conv2D(3, 3, padding="same", activation="elu"), AvgPool2D(2), GlobalAvgPool(),
      Dense(2)], (1, 6, 6)),
    ([Bidirectional(LSTM(3, return_sequences=True)), GRU(3), Dense(2)], (4, 2)),
    ([SimpleRNN(3), Dense(2)], (4, 2)),
], ids=["cnn", "lstm-gru", "rnn"])
def test_float64_models_as_float32_graphs(tmp_path, layers, shape):
    """The operators onnxruntime runs in float32 only, from a float64 model exported with
    dtype="float32": the weights are rounded, the outputs agree to float32 precision."""
    model = _trained(layers, shape, dtype=np.float64)
    path = tmp_path / "m.onnx"
    fastnn.export_onnx(model, path, dtype="float32")
    sess, proto = _session(path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    x = np.random.default_rng(9).standard_normal((7,) + shape)
    (got,) = sess.run(None, {"input": x.astype(np.float32)})
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="float32"):
        fastnn.export_onnx(model, path, dtype="int32")


def test_proba_adds_softmax_to_logits(tmp_path):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((30, 4)).astype(np.float32)
    model = Sequential([Dense(8, activation="relu"), Dense(3)], seed=0)
    model.fit(X, rng.integers(0, 3, 30), epochs=2, loss="cross_entropy", verbose=0)
    _check(model, tmp_path, proba=True)
    sess, _ = _session(tmp_path / "m.onnx")
    (p,) = sess.run(None, {"input": X[:5]})
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)  # probabilities indeed
    _check(model, tmp_path, proba=False)  # the logits


def test_proba_of_one_output_and_of_binary_cross_entropy(tmp_path):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((30, 4)).astype(np.float32)
    one = Sequential([Dense(1)], seed=0)
    one.fit(X, rng.integers(0, 2, 30), epochs=2, loss="binary_cross_entropy", verbose=0)
    _check(one, tmp_path, proba=True)
    multi = Sequential([Dense(3)], seed=0)
    multi.fit(X, rng.integers(0, 2, (30, 3)).astype(np.float32), epochs=2,
              loss="binary_cross_entropy", verbose=0)
    _check(multi, tmp_path, proba=True)  # a sigmoid per output, not a softmax
    head = _trained([Dense(3), Softmax()], (4,))
    proto = _check(head, tmp_path, proba=True)
    assert [n.op_type for n in proto.graph.node].count("Softmax") == 1  # not applied twice


@pytest.mark.parametrize("opset", [17, 18, 20])
def test_opsets(tmp_path, opset):
    model = _trained([LayerNorm(), SimpleRNN(3, mask_value=0.0), Dense(2)], (4, 2))
    proto = _check(model, tmp_path, opset=opset)
    assert proto.opset_import[0].version == opset


# ----------------------------------------------------------------------------- refusals

class Square(Layer):
    def _forward(self, x, training):
        return x * x


def test_a_layer_without_onnx_mapping_is_named_and_nothing_is_written(tmp_path):
    model = Sequential([Dense(3), Residual([Dense(3), Square(name="sq")])], input_shape=(2,))
    model.build()
    path = tmp_path / "m.onnx"
    with pytest.raises(ValueError, match=r"'sq' \(.*Square\) has no ONNX export"):
        fastnn.export_onnx(model, path)
    assert list(tmp_path.iterdir()) == []


def test_a_subclass_of_a_fastnn_layer_is_not_exported_as_its_base(tmp_path):
    class Doubled(Dense):  # computes something else than Dense with the same params
        def _forward(self, x, training, activate=True):
            return 2 * super()._forward(x, training, activate)

    model = Sequential([Doubled(3)], input_shape=(2,)).build()
    with pytest.raises(ValueError, match=r"\(.*Doubled\) has no ONNX export"):
        fastnn.export_onnx(model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_unbuilt_model_and_bad_opsets_are_refused(tmp_path):
    with pytest.raises(TypeError, match="takes a Sequential"):
        fastnn.export_onnx(Dense(2), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="not built"):
        fastnn.export_onnx(Sequential([Dense(2)]), tmp_path / "m.onnx")
    model = Sequential([Dense(2)], input_shape=(3,)).build()
    with pytest.raises(ValueError, match=r"opset must be in \[17, "):
        fastnn.export_onnx(model, tmp_path / "m.onnx", opset=13)
    with pytest.raises(ValueError, match="opset must be in"):
        fastnn.export_onnx(model, tmp_path / "m.onnx", opset=10_000)
    with pytest.raises(TypeError, match="opset must be an int"):
        fastnn.export_onnx(model, tmp_path / "m.onnx", opset="17")
    assert list(tmp_path.iterdir()) == []


def test_without_the_onnx_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    model = Sequential([Dense(2)], input_shape=(3,)).build()
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(ImportError, match=r'pip install "fastnn-cpu\[onnx\]"'):
        fastnn.export_onnx(model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_weights_over_what_a_file_holds_are_refused(tmp_path, monkeypatch):
    import fastnn.export

    model = Sequential([Dense(3)], input_shape=(4,)).build()  # 15 values, 60 bytes
    monkeypatch.setattr(fastnn.export, "MAX_BYTES", 59)
    with pytest.raises(ValueError, match="an ONNX file holds at most 2 GiB"):
        fastnn.export_onnx(model, tmp_path / "m.onnx")
    monkeypatch.setattr(fastnn.export, "MAX_BYTES", 60)
    fastnn.export_onnx(model, tmp_path / "m.onnx")


def test_a_loaded_model_exports_the_same(tmp_path):
    model = _trained([Conv2D(2, 3), Flatten(), Dense(3, activation="softmax")], (1, 5, 5))
    model.save(tmp_path / "m.fnn")
    again = fastnn.load(tmp_path / "m.fnn")
    _check(again, tmp_path)
