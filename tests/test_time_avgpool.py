"""TimeAvgPool, the mean over the steps of a sequence (N, T, F) -> (N, F): against
numpy's mean written out per step, gradients by finite differences (alone and through a
GRU below it), both backends, the fused plan bit for bit against the per-layer path,
save/load, summary, config, and the refusal after a masked recurrent layer. Also
TimeDistributed(Dense) in the fused plan (a dense step over every step's row).
"""

import numpy as np
import pytest

import fastnn
from fastnn import (
    GRU,
    LSTM,
    Adam,
    Bidirectional,
    Dense,
    Flatten,
    GlobalAvgPool,
    LayerNorm,
    Sequential,
    SimpleRNN,
    TimeAvgPool,
    TimeDistributed,
)
from fastnn import ops, reference
from fastnn.layers import layer_from_config

from conftest import numeric_grad

BACKENDS = [pytest.param(ops, id="native"), pytest.param(reference, id="reference")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_is_the_mean_over_the_steps(rng, backend):
    layer = TimeAvgPool()
    layer._ops = backend
    x = rng.standard_normal((4, 7, 5))
    layer.build((7, 5), np.float64)
    y = layer.forward(x)
    by_hand = np.zeros((4, 5))
    for t in range(7):
        by_hand += x[:, t, :]
    np.testing.assert_allclose(y, by_hand / 7, rtol=1e-15, atol=1e-15)
    assert layer.output_shape((7, 5)) == (5,)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_by_finite_differences(rng, backend):
    layer = TimeAvgPool()
    layer._ops = backend
    layer.build((6, 3), np.float64)
    x = rng.standard_normal((2, 6, 3))
    r = rng.standard_normal((2, 3))
    layer.forward(x, training=True)
    dx = layer.backward(r.copy())
    num = numeric_grad(lambda: float(np.sum(layer.forward(x) * r)), x)
    np.testing.assert_allclose(dx, num, rtol=1e-7, atol=1e-9)


def test_gradient_through_a_gru_below_it(rng):
    """L = sum(Dense(TimeAvgPool(GRU(x))) * R): every weight's gradient and dx."""
    model = Sequential([GRU(4, return_sequences=True), TimeAvgPool(), Dense(2)], seed=1,
                       dtype="float64")
    model.build((5, 3))
    x = rng.standard_normal((3, 5, 3))
    r = rng.standard_normal((3, 2))

    def loss():
        h = x
        for layer in model.layers:
            h = layer.forward(h, training=True)
        return float(np.sum(h * r))

    loss()
    g = r.copy()
    for layer in reversed(model.layers):
        layer._need_dx = True
        g = layer.backward(g)
    for layer in model.layers:
        for k, p in layer.params.items():
            np.testing.assert_allclose(layer.grads[k].copy(), numeric_grad(loss, p),
                                       rtol=1e-6, atol=1e-8, err_msg=f"{layer.name}.{k}")
    np.testing.assert_allclose(g, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------ the fused plan

FUSED_MODELS = {
    "gru": lambda: [GRU(6, return_sequences=True), TimeAvgPool(), Dense(3)],
    "lstm-layernorm": lambda: [LSTM(5, return_sequences=True), LayerNorm(), TimeAvgPool(),
                               Dense(4, activation="relu"), Dense(3)],
    "backwards": lambda: [SimpleRNN(4, go_backwards=True, return_sequences=True),
                          TimeAvgPool(), Dense(3)],
    # the pool first: no step before it needs its dx
    "first": lambda: [TimeAvgPool(), Dense(5, activation="tanh"), Dense(3)],
    "stacked": lambda: [GRU(4, return_sequences=True), LSTM(3, return_sequences=True),
                        TimeAvgPool(), Dense(3)],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("arch", FUSED_MODELS)
def test_the_fused_plan_trains_bit_for_bit(rng, arch, dtype):
    """The pool is a plan step (time_avgpool): a whole epoch in one native call, with the
    same sums in the same order as the per-layer path -- same losses, weights, optimizer
    state and predictions to the bit."""
    from fastnn import _fused

    X = rng.standard_normal((70, 6, 4)).astype(dtype)  # a last batch of 6 rows
    y = rng.integers(0, 3, 70)
    runs = []
    for fused in (True, False):
        model = Sequential(FUSED_MODELS[arch](), seed=2, dtype=dtype)
        model.fused = fused
        hist = model.fit(X, y, epochs=3, batch_size=16, optimizer=Adam(lr=0.01), verbose=0)
        runs.append((model, hist.history["loss"]))
    (m1, l1), (m2, l2) = runs
    assert m1._plan is not None and m2._plan is None
    assert "time_avgpool" in [s["kind"] for s in _fused._steps(m1)]
    assert l1 == l2
    assert l1[-1] < l1[0]  # it learns
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    for s1, s2 in zip(m1.optimizer.state, m2.optimizer.state):
        for k in s1:
            np.testing.assert_array_equal(s1[k], s2[k])
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))  # the inference plan


def test_the_plan_step_reads_steps_by_features():
    from fastnn import _fused

    model = Sequential([GRU(3, return_sequences=True), TimeAvgPool(), Dense(2)])
    model.build((4, 2))
    steps = _fused._steps(model)
    pool = next(s for s in steps if s["kind"] == "time_avgpool")
    assert (pool["steps"], pool["features"]) == (4, 3)


# ------------------------------------------------------------------ model level


def test_save_load_summary_and_config(tmp_path, rng, capsys):
    X = rng.standard_normal((10, 5, 3)).astype(np.float32)
    y = rng.integers(0, 2, 10)
    model = Sequential([GRU(4, return_sequences=True), TimeAvgPool(name="avg"), Dense(2)],
                       seed=0)
    model.fit(X, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "m.fastnn"
    model.save(path)
    loaded = fastnn.load(path)
    assert [type(l).__name__ for l in loaded.layers] == ["GRU", "TimeAvgPool", "Dense"]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    cfg = model.get_layer("avg").get_config()
    again = layer_from_config(cfg)
    assert isinstance(again, TimeAvgPool) and again.name == "avg"
    model.summary()
    out = capsys.readouterr().out
    assert "TimeAvgPool" in out and "(None, 4)" in out
    assert "TimeAvgPool" in fastnn.__all__


def test_bad_input_shapes():
    with pytest.raises(ValueError, match=r"sequences of shape \(N, steps, features\)"):
        Sequential([TimeAvgPool()]).build((12,))
    with pytest.raises(ValueError, match=r"sequences of shape \(N, steps, features\)"):
        Sequential([TimeAvgPool()]).build((2, 3, 4))
    # channels-first global pooling is a different layer: (C, L) -> (C,)
    assert GlobalAvgPool().output_shape((3, 8)) == (3,)
    assert TimeAvgPool().output_shape((3, 8)) == (8,)


@pytest.mark.parametrize("layers", [
    lambda: [GRU(3, mask_value=0.0, return_sequences=True), TimeAvgPool(), Dense(2)],
    lambda: [LSTM(3, mask_value=-1.0, return_sequences=True), TimeDistributed(Dense(3)),
             TimeAvgPool(), Dense(2)],
    lambda: [Bidirectional(GRU(3, mask_value=0.0, return_sequences=True)), TimeAvgPool(),
             Dense(2)],
], ids=["direct", "through-time-distributed", "bidirectional"])
def test_a_mean_over_padded_steps_is_refused(layers):
    """A masked recurrent layer outputs zeros on its padded steps; averaging them in would
    bias every shorter sequence, so building such a model is an error, not a quiet bias."""
    with pytest.raises(ValueError, match="mask_value.*return_sequences=False"):
        Sequential(layers()).build((5, 3))
    model = Sequential(layers()[:1]).build((5, 3))
    with pytest.raises(ValueError, match="TimeAvgPool"):
        model.add(TimeAvgPool())


# ------------------------------------------------------------------ TimeDistributed(Dense)

TD_MODELS = {
    "first": lambda: [TimeDistributed(Dense(5, activation="relu")), GRU(3), Dense(3)],
    "between": lambda: [GRU(4, return_sequences=True), TimeDistributed(Dense(6)),
                        TimeAvgPool(), Dense(3)],
    "no-bias-tanh": lambda: [LSTM(4, return_sequences=True),
                             TimeDistributed(Dense(3, activation="tanh", use_bias=False)),
                             TimeAvgPool(), Dense(3)],
    # wide enough for the first layer's compact-column path, which must stay off
    "wide-first": lambda: [TimeDistributed(Dense(80)), TimeAvgPool(), Dense(3)],
    "frozen": lambda: [TimeDistributed(Dense(4), trainable=False), GRU(3), Dense(3)],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("arch", TD_MODELS)
@pytest.mark.parametrize("batch_size", [4, 16])
def test_time_distributed_dense_trains_in_the_plan_bit_for_bit(rng, arch, dtype, batch_size):
    from fastnn import _fused

    X = rng.standard_normal((38, 6, 4)).astype(dtype)
    X[..., 1] = 0  # inactive columns: the first layer's column paths must stay off
    y = rng.integers(0, 3, 38)
    runs = []
    for fused in (True, False):
        model = Sequential(TD_MODELS[arch](), seed=3, dtype=dtype)
        model.fused = fused
        hist = model.fit(X, y, epochs=2, batch_size=batch_size, optimizer=Adam(lr=0.01),
                         verbose=0)
        runs.append((model, hist.history["loss"]))
    (m1, l1), (m2, l2) = runs
    assert m1._plan is not None and m2._plan is None
    dense = [s for s in _fused._steps(m1) if s["kind"] == "dense" and s.get("steps")]
    assert [s["steps"] for s in dense] == [6]
    assert l1 == l2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))


def test_time_distributed_dense_output_trains_in_the_plan(rng):
    """A per-step regression head, flattened: (N, T * 2) outputs, each step's two the
    Dense of that step's GRU state (checked by an einsum)."""
    X = rng.standard_normal((30, 5, 3))
    Y = rng.standard_normal((30, 10))
    runs = []
    for fused in (True, False):
        model = Sequential([GRU(4, return_sequences=True), TimeDistributed(Dense(2)),
                            Flatten()], seed=1, dtype="float64")
        model.fused = fused
        runs.append((model, model.fit(X, Y, epochs=2, batch_size=8, loss="mse",
                                      optimizer=Adam(lr=0.01), verbose=0).history["loss"]))
    (m1, l1), (m2, l2) = runs
    assert m1._plan is not None and l1 == l2
    by_hand = np.einsum("ntf,fu->ntu", m2.layers[0].forward(X), m2.layers[1].params["W"])
    by_hand = (by_hand + m2.layers[1].params["b"]).reshape(30, 10)
    np.testing.assert_allclose(m2.predict(X), by_hand, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))
