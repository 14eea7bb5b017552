"""SimpleRNN, GRU, LSTM, Bidirectional and TimeDistributed as layers and in models:
PyTorch's parameter names and formulas (a textbook cell written out here), gradients by
finite differences through a whole model, padding by mask_value, go_backwards, both
backends, save/load, freezing, config round trips, bad input.
"""

import numpy as np
import pytest

import fastnn
from fastnn import (
    GRU,
    Adam,
    LSTM,
    Bidirectional,
    Dense,
    Flatten,
    Sequential,
    SimpleRNN,
    TimeDistributed,
)
from fastnn.layers import layer_from_config

RECURRENT = [SimpleRNN, GRU, LSTM]
GATES = {SimpleRNN: 1, GRU: 3, LSTM: 4}


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _textbook(layer, x):
    """The layer's output by PyTorch's documented formulas, one sample and step at a time."""
    p = layer.params
    wih, whh = p["weight_ih_l0"], p["weight_hh_l0"]
    h = layer.units
    bih = p.get("bias_ih_l0", np.zeros(wih.shape[0]))
    bhh = p.get("bias_hh_l0", np.zeros(wih.shape[0]))
    part = lambda a, k: a[k * h:(k + 1) * h]  # noqa: E731
    outs = []
    for seq in x.astype(np.float64):
        hh, cc, ys = np.zeros(h), np.zeros(h), []
        steps = seq[::-1] if layer.go_backwards else seq
        for xt in steps:
            if isinstance(layer, GRU):
                r = _sig(part(wih, 0) @ xt + part(bih, 0) + part(whh, 0) @ hh + part(bhh, 0))
                z = _sig(part(wih, 1) @ xt + part(bih, 1) + part(whh, 1) @ hh + part(bhh, 1))
                n = np.tanh(part(wih, 2) @ xt + part(bih, 2)
                            + r * (part(whh, 2) @ hh + part(bhh, 2)))
                hh = (1 - z) * n + z * hh
            elif isinstance(layer, LSTM):
                a = [part(wih, k) @ xt + part(bih, k) + part(whh, k) @ hh + part(bhh, k)
                     for k in range(4)]
                cc = _sig(a[1]) * cc + _sig(a[0]) * np.tanh(a[2])
                hh = _sig(a[3]) * np.tanh(cc)
            else:
                a = wih @ xt + bih + whh @ hh + bhh
                hh = np.tanh(a) if layer.activation == "tanh" else np.maximum(a, 0)
            ys.append(hh)
        outs.append(np.stack(ys) if layer.return_sequences else hh)
    return np.stack(outs)


@pytest.mark.parametrize("cls", RECURRENT)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("backend", ["native", "reference"])
def test_pytorch_names_and_formulas(rng, cls, return_sequences, go_backwards, backend):
    layer = cls(5, return_sequences=return_sequences, go_backwards=go_backwards)
    layer._ops = fastnn.layers.get_backend(backend)
    x = rng.standard_normal((3, 4, 2))
    layer.build((4, 2), np.float64, np.random.default_rng(0))
    g = GATES[cls]
    assert {k: v.shape for k, v in layer.params.items()} == {
        "weight_ih_l0": (g * 5, 2), "weight_hh_l0": (g * 5, 5), "bias_ih_l0": (g * 5,),
        "bias_hh_l0": (g * 5,)}
    # PyTorch's initialisation: uniform in +-1/sqrt(hidden)
    assert max(np.abs(v).max() for v in layer.params.values()) <= 1 / np.sqrt(5)
    y = layer.forward(x)
    assert y.shape == ((3, 4, 5) if return_sequences else (3, 5))
    np.testing.assert_allclose(y, _textbook(layer, x), rtol=1e-12, atol=1e-13)


def test_simple_rnn_relu_and_no_bias(rng):
    layer = SimpleRNN(4, activation="relu", use_bias=False).build((3, 2), np.float64)
    assert set(layer.params) == {"weight_ih_l0", "weight_hh_l0"}
    x = rng.standard_normal((2, 3, 2))
    np.testing.assert_allclose(layer.forward(x), _textbook(layer, x), rtol=1e-12, atol=1e-13)


# ------------------------------------------------------------------ gradients


def _model_fd(model, X, y, rng):
    """Each parameter's gradient from loss_and_gradients against central differences."""
    _, grads = model.loss_and_gradients(X, y)
    for (layer, key, arr), grad in zip(model.params, grads):
        flat = arr.reshape(-1)
        for i in rng.choice(flat.size, size=min(flat.size, 6), replace=False):
            old = flat[i]
            flat[i] = old + 1e-6
            up, _ = model.loss_and_gradients(X, y)
            flat[i] = old - 1e-6
            down, _ = model.loss_and_gradients(X, y)
            flat[i] = old
            num = (up - down) / 2e-6
            assert abs(grad.reshape(-1)[i] - num) <= 1e-6 + 1e-5 * abs(num), (layer.name, key, i)


MODELS = {
    "gru": lambda: [GRU(4), Dense(3)],
    "lstm-seq": lambda: [LSTM(4, return_sequences=True), TimeDistributed(Dense(2)), Flatten(),
                         Dense(3)],
    "rnn-stack": lambda: [SimpleRNN(4, return_sequences=True), GRU(3, go_backwards=True),
                          Dense(3)],
    "bidir-concat": lambda: [Bidirectional(GRU(3, return_sequences=True)), LSTM(3), Dense(3)],
    "bidir-mul": lambda: [Bidirectional(LSTM(3), merge_mode="mul"), Dense(3)],
    "bidir-ave-masked": lambda: [Bidirectional(GRU(3, mask_value=0.0), merge_mode="ave"),
                                 Dense(3)],
}


@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("arch", MODELS)
def test_model_gradients(rng, arch, backend):
    X = rng.standard_normal((5, 6, 2))
    if "masked" in arch:
        X[1, 4:] = 0.0
        X[3, 2:] = 0.0
    y = rng.integers(0, 3, 5)
    model = Sequential(MODELS[arch](), dtype="float64", seed=1, backend=backend)
    _model_fd(model, X, y, rng)


# ------------------------------------------------------------------ padding, direction


@pytest.mark.parametrize("cls", RECURRENT)
def test_mask_value_equals_truncation(rng, cls):
    layer = cls(4, mask_value=0.0).build((6, 3), np.float64, np.random.default_rng(0))
    X = rng.standard_normal((3, 6, 3))
    lengths = [6, 2, 4]
    for b, L in enumerate(lengths):
        X[b, L:] = 0.0
    X[2, 1] = 0.0  # an all-zero step inside a sequence is a real step
    y = layer.forward(X)
    for b, L in enumerate(lengths):
        short = cls(4).build((L, 3), np.float64)
        short.params = {k: v.copy() for k, v in layer.params.items()}
        np.testing.assert_allclose(y[b], short.forward(X[b:b + 1, :L])[0], rtol=1e-12,
                                   atol=1e-13)


@pytest.mark.parametrize("cls", RECURRENT)
def test_go_backwards_reads_the_reversed_sequence(rng, cls):
    fw = cls(4, return_sequences=True).build((5, 3), np.float64, np.random.default_rng(0))
    bw = cls(4, return_sequences=True, go_backwards=True).build((5, 3), np.float64)
    bw.params = {k: v.copy() for k, v in fw.params.items()}
    X = rng.standard_normal((2, 5, 3))
    np.testing.assert_array_equal(bw.forward(X), fw.forward(X[:, ::-1].copy()))


def test_bidirectional_joins_both_runs(rng):
    bi = Bidirectional(LSTM(4, return_sequences=True)).build((5, 3), np.float64)
    assert set(bi.params) == {f"{k}{s}" for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                   "bias_hh_l0") for s in ("", "_reverse")}
    X = rng.standard_normal((2, 5, 3))
    y = bi.forward(X)
    assert y.shape == (2, 5, 8)
    np.testing.assert_array_equal(y[..., :4], bi.forward_layer.forward(X))
    # the backward run, back in time order: step t sees x[t:] read from the end
    back = bi.backward_layer.forward(X)[:, ::-1]
    np.testing.assert_array_equal(y[..., 4:], back)


def test_bidirectional_checks():
    with pytest.raises(TypeError, match="wraps a SimpleRNN, GRU or LSTM"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match="go_backwards=False"):
        Bidirectional(GRU(3, go_backwards=True))
    with pytest.raises(ValueError, match="merge_mode"):
        Bidirectional(GRU(3), merge_mode="max")


# ------------------------------------------------------------------ models


@pytest.mark.parametrize("arch", MODELS)
def test_backends_train_alike(rng, arch):
    X = rng.standard_normal((64, 6, 2)).astype(np.float32)
    if "masked" in arch:
        X[::3, 4:] = 0.0
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int) + (X[:, 0, 1] > 1)
    losses = []
    for backend in ("native", "reference"):
        model = Sequential(MODELS[arch](), seed=3, backend=backend)
        hist = model.fit(X, y, epochs=4, batch_size=16, optimizer="adam", verbose=0)
        losses.append(hist.history["loss"])
    assert losses[0][-1] < losses[0][0]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)


def test_save_load_round_trip(tmp_path, rng):
    X = rng.standard_normal((16, 5, 3)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    model = Sequential([Bidirectional(GRU(4, return_sequences=True), merge_mode="sum"),
                        TimeDistributed(Dense(3, activation="relu")),
                        LSTM(3, go_backwards=True, mask_value=0.0), Dense(2)], seed=0)
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "rnn.fnn"
    model.save(path)
    loaded = fastnn.load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]


@pytest.mark.parametrize("layer", [
    SimpleRNN(3, activation="relu", return_sequences=True, use_bias=False, name="r"),
    GRU(5, go_backwards=True, mask_value=-1.0),
    LSTM(2),
    Bidirectional(GRU(3), merge_mode="mul"),
    TimeDistributed(Dense(4, activation="tanh")),
], ids=repr)
def test_config_round_trip(layer):
    again = layer_from_config(layer.get_config())
    assert type(again) is type(layer)
    assert again.get_config() == layer.get_config()


def test_frozen_recurrent_layer_keeps_its_weights(rng):
    X = rng.standard_normal((32, 4, 3)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    model = Sequential([GRU(4, trainable=False), Dense(2)], seed=0)
    model.build((4, 3))
    before = {k: v.copy() for k, v in model.layers[0].params.items()}
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for k, v in model.layers[0].params.items():
        np.testing.assert_array_equal(v, before[k])


def test_summary_lists_recurrent_layers(rng, capsys):
    model = Sequential([Bidirectional(LSTM(4)), Dense(2)])
    model.build((7, 3))
    model.summary()
    out = capsys.readouterr().out
    assert "Bidirectional" in out and "(None, 8)" in out
    assert str(2 * 4 * 4 * (3 + 4 + 2)) in out  # both directions' params


def test_bad_input():
    with pytest.raises(ValueError, match="units must be >= 1"):
        GRU(0)
    with pytest.raises(ValueError, match="'tanh' or 'relu'"):
        SimpleRNN(3, activation="sigmoid")
    model = Sequential([GRU(3), Dense(2)])
    with pytest.raises(ValueError, match=r"sequences of shape \(N, steps, features\)"):
        model.build((12,))
    with pytest.raises(ValueError, match="TimeDistributed"):
        Sequential([TimeDistributed(Dense(2))]).build((4,))


# ------------------------------------------------------------------ the fused plan

FUSED_MODELS = {
    "gru": lambda: [GRU(5), Dense(3)],
    "lstm-stack": lambda: [LSTM(4, return_sequences=True), GRU(3), Dense(3)],
    "rnn-relu-seq": lambda: [SimpleRNN(4, activation="relu", return_sequences=True),
                             Flatten(), Dense(3)],
    "lstm-no-bias": lambda: [LSTM(6, use_bias=False), Dense(3, activation="relu"), Dense(3)],
    # a frozen GRU above a trained one: no weight gradients, but dx for the one below
    "frozen-gru": lambda: [GRU(4, return_sequences=True), GRU(5, trainable=False), Dense(3)],
    "backwards": lambda: [LSTM(4, go_backwards=True, return_sequences=True),
                          GRU(3, go_backwards=True), Dense(3)],
    # padded sequences (see the data below): lengths per row, read forwards and backwards
    "masked": lambda: [GRU(4, mask_value=0.0, return_sequences=True),
                       LSTM(3, mask_value=0.0, go_backwards=True), Dense(3)],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("arch", FUSED_MODELS)
def test_the_fused_plan_trains_recurrent_models_bit_for_bit(rng, arch, dtype):
    """A whole epoch of a recurrent model is one native call (the recurrent plan step),
    with the same products in the same order as the per-layer path: same weights,
    optimizer state, losses and predictions to the bit."""
    from fastnn import _fused

    X = rng.standard_normal((70, 6, 4)).astype(dtype)  # a last batch of 6 rows
    if arch == "masked":  # lengths 0 to 6, an all-zero step inside one sequence
        for b, length in enumerate(rng.integers(0, 7, 70)):
            X[b, length:] = 0
        X[0, 2] = 0
    y = rng.integers(0, 3, 70)
    runs = []
    for fused in (True, False):
        model = Sequential(FUSED_MODELS[arch](), seed=2, dtype=dtype)
        model.fused = fused
        hist = model.fit(X, y, epochs=3, batch_size=16, optimizer=Adam(lr=0.01), verbose=0)
        runs.append((model, hist.history["loss"]))
    (m1, l1), (m2, l2) = runs
    assert m1._plan is not None and m2._plan is None
    assert "recurrent" in [s["kind"] for s in _fused._steps(m1)]
    assert l1 == l2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    for s1, s2 in zip(m1.optimizer.state, m2.optimizer.state):
        for k in s1:
            np.testing.assert_array_equal(s1[k], s2[k])
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))  # the inference plan


def _bidir_models(cell, merge, variant):
    """Models around a Bidirectional(cell) with `merge`: "last" (the last state) and "seq"
    (every step's) under a TimeDistributed Dense that needs dL/dx from it; "masked-last"
    and "masked-seq" read padded sequences (the second a masked Bidirectional over the
    first's outputs, which are zero on the padding, so the first gets dL/dx too)."""
    seq = variant.endswith("seq")
    if variant.startswith("masked"):
        first = Bidirectional(cell(4, return_sequences=seq, mask_value=0.0), merge_mode=merge)
        if not seq:
            return [first, Dense(3)]
        return [first, Bidirectional(cell(3, mask_value=0.0), merge_mode=merge), Dense(3)]
    tail = [Flatten(), Dense(3)] if seq else [Dense(3)]
    return [TimeDistributed(Dense(4)),
            Bidirectional(cell(5, return_sequences=seq), merge_mode=merge)] + tail


def _fit_both_paths(layers, X, y, dtype, epochs=3):
    """The same model fitted on the fused plan and on the per-layer path."""
    runs = []
    for fused in (True, False):
        model = Sequential(layers(), seed=2, dtype=dtype)
        model.fused = fused
        hist = model.fit(X, y, epochs=epochs, batch_size=16, optimizer=Adam(lr=0.01),
                         verbose=0)
        runs.append((model, hist.history["loss"]))
    return runs


def _assert_same_training(runs, X):
    (m1, l1), (m2, l2) = runs
    assert m1._plan is not None and m2._plan is None
    assert l1 == l2
    w1, w2 = m1.get_weights(), m2.get_weights()
    assert len(w1) == len(w2)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert len(m1.optimizer.state) == len(m2.optimizer.state)
    for s1, s2 in zip(m1.optimizer.state, m2.optimizer.state):
        for k in s1:
            np.testing.assert_array_equal(s1[k], s2[k])
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))  # the inference plan


@pytest.mark.parametrize("variant", ["last", "seq", "masked-last", "masked-seq"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("cell", RECURRENT, ids=lambda c: c.__name__)
def test_the_fused_plan_trains_bidirectional_models_bit_for_bit(rng, cell, merge, dtype,
                                                                 variant):
    """Bidirectional is one plan step (both directions' recurrent steps, merged): same
    weights (both directions'), optimizer state, losses and predictions as the per-layer
    path, to the bit."""
    from fastnn import _fused

    X = rng.standard_normal((70, 6, 3)).astype(dtype)  # a last batch of 6 rows
    if variant.startswith("masked"):  # lengths 0 to 6, an all-zero step inside one
        for b, length in enumerate(rng.integers(0, 7, 70)):
            X[b, length:] = 0
        X[0, 2] = 0
    y = rng.integers(0, 3, 70)
    runs = _fit_both_paths(lambda: _bidir_models(cell, merge, variant), X, y, dtype)
    assert "bidirectional" in [s["kind"] for s in _fused._steps(runs[0][0])]
    _assert_same_training(runs, X)
    # training moved both directions' weights away from where they started
    fresh = Sequential(_bidir_models(cell, merge, variant), seed=2, dtype=dtype)
    fresh.build(X.shape[1:])
    bi = [layer for layer in runs[0][0].layers if isinstance(layer, Bidirectional)][0]
    bi0 = [layer for layer in fresh.layers if isinstance(layer, Bidirectional)][0]
    for key in ("weight_hh_l0", "weight_hh_l0_reverse"):
        assert not np.array_equal(bi.params[key], bi0.params[key]), key


def _half_frozen(bi):
    bi.backward_layer.trainable = False
    return bi


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layers", [
    # frozen: no weight gradients, but dL/dx for the GRU below
    lambda: [GRU(4, return_sequences=True), Bidirectional(LSTM(3), trainable=False),
             Dense(3)],
    # no biases, and only the forward direction trains
    lambda: [_half_frozen(Bidirectional(GRU(3, return_sequences=True, use_bias=False))),
             Flatten(), Dense(3)],
    # stacked, with SimpleRNN's relu
    lambda: [Bidirectional(SimpleRNN(4, activation="relu", return_sequences=True),
                           merge_mode="sum"),
             Bidirectional(LSTM(3), merge_mode="concat"), Dense(3)],
], ids=["frozen", "no-bias-half-frozen", "stacked-relu"])
def test_the_fused_plan_trains_other_bidirectional_models_bit_for_bit(rng, layers, dtype):
    X = rng.standard_normal((50, 5, 3)).astype(dtype)
    y = rng.integers(0, 3, 50)
    runs = _fit_both_paths(layers, X, y, dtype)
    _assert_same_training(runs, X)


@pytest.mark.parametrize("frozen", ["both", "reverse"])
def test_a_frozen_bidirectional_keeps_its_weights_in_the_plan(rng, frozen):
    X = rng.standard_normal((40, 5, 3)).astype(np.float32)
    bi = Bidirectional(LSTM(3), trainable=frozen != "both")
    if frozen == "reverse":
        bi.backward_layer.trainable = False
    model = Sequential([GRU(4, return_sequences=True), bi, Dense(3)], seed=1)
    model.build((5, 3))
    before = {k: v.copy() for k, v in bi.params.items()}
    model.fit(X, np.arange(40) % 3, epochs=1, verbose=0)
    assert model._plan is not None
    for k, v in before.items():
        moved = not np.array_equal(bi.params[k], v)
        assert moved == (frozen == "reverse" and not k.endswith("_reverse")), k


def test_the_plan_refuses_a_bidirectional_step_it_cannot_run():
    from fastnn._plan import TrainingPlan

    bi = Bidirectional(GRU(3)).build((4, 2), np.float64)
    spec = bi.plan_steps()[0]
    fw, bw = spec["dirs"]
    cfg = {"kind": "sgd", "lr": 0.1}
    for bad in ({**spec, "merge": "max"}, {**spec, "dirs": [fw, fw]},
                {**spec, "dirs": [fw, {**bw, "units": 4}]}, {**spec, "dirs": [fw]}):
        with pytest.raises(ValueError, match="step 0: a bidirectional step"):
            TrainingPlan([bad], loss="mse", fold_last=False, batch_size=4, in_dim=8,
                         dtype=np.float64, optimizer=cfg, params=[], grads=[], states=[])


@pytest.mark.parametrize("layers", [
    # softmax works row by row: TimeDistributed runs a Dense in the plan, but not this one
    lambda: [TimeDistributed(Dense(3, activation="softmax")), GRU(2), Dense(2)],
], ids=["time_distributed-softmax"])
def test_what_the_plan_does_not_run_trains_on_the_per_layer_path(rng, layers):
    from fastnn import _fused

    X = rng.standard_normal((20, 4, 3)).astype(np.float32)
    model = Sequential(layers(), seed=0)
    model.fit(X, np.arange(20) % 2, epochs=1, verbose=0)
    assert model._plan is None
    assert "has no fused step yet" in _fused.unsupported_reason(model)
