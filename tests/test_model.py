"""Sequential: gradients end to end, training, reproducibility, bad input, divergence,
inference, summary, and the native backend against the numpy reference."""

import math

import numpy as np
import pytest

import fastnn
from fastnn import (
    ELU,
    GELU,
    SGD,
    Adam,
    AdamW,
    Dense,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    LearningRateScheduler,
    LogSoftmax,
    ReLU,
    RMSprop,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    TrainingDivergedError,
)
from conftest import numeric_grad


def blobs(n=240, d=6, classes=3, seed=0, dtype=np.float32):
    """Separable Gaussian blobs: X (n, d), integer labels (n,)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, d)) * 3
    y = rng.integers(0, classes, n)
    X = centers[y] + rng.standard_normal((n, d))
    return X.astype(dtype), y


def small_model(seed=0, dtype="float32", out=3, backend="native", dropout=0.0, last=None):
    layers = [Dense(16, activation="relu"), Dense(out)]
    if dropout:
        layers.insert(1, Dropout(dropout))
    if last is not None:
        layers.append(last)
    return Sequential(layers, seed=seed, dtype=dtype, backend=backend)


# ====================================================================== gradient check


def _every_layer_model():
    """Every layer type and every activation, float64, on (N, 2, 3) inputs."""
    return Sequential([
        Flatten(),
        Dense(7, activation="tanh", bias_init={"name": "normal", "std": 0.2}),
        ReLU(),
        Dense(7, activation="leaky_relu", alpha=0.2, kernel_init="glorot"),
        LeakyReLU(0.1),
        Dense(6, activation="elu", kernel_init="lecun"),
        ELU(0.8),
        GELU(),
        Dense(6, activation="gelu"),
        Sigmoid(),
        Dropout(0.3),
        Dense(6, activation="sigmoid", kernel_init={"name": "normal", "std": 0.8}),
        Tanh(),
        Dense(5, activation="softmax"),
        Identity(),
        Dense(5, activation="log_softmax", kernel_init={"name": "normal", "std": 0.8}),
        Softmax(),
        LogSoftmax(),
        Dense(4, kernel_init={"name": "normal", "std": 0.5}, bias_init="uniform"),
    ], seed=11, dtype="float64")


def _grad_check(model, X, y, loss, training=False, reset=None, rtol=2e-6, atol=1e-9):
    def f():
        if reset is not None:
            reset()
        return model.loss_and_gradients(X, y, loss, training=training)[0]

    if reset is not None:
        reset()
    value, grads = model.loss_and_gradients(X, y, loss, training=training)
    assert math.isfinite(value)
    for (layer, key, p), g in zip(model.params, grads):
        num = numeric_grad(f, p)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol,
                                   err_msg=f"{layer.name}.{key} ({loss})")
        assert np.abs(g).max() > 0, f"{layer.name}.{key}: gradient is zero"


@pytest.mark.parametrize("head,loss,target", [
    (None, "cross_entropy", "labels"),
    (Softmax(), "cross_entropy", "labels"),          # fused: loss from the softmax input
    (Softmax(), "cross_entropy", "probs"),
    (Softmax(), "mse", "probs"),                     # not fused: Softmax backward used
    (LogSoftmax(), "cross_entropy", "labels"),
    (Sigmoid(), "binary_cross_entropy", "probs"),    # fused sigmoid
    (None, "binary_cross_entropy", "probs"),
    (Tanh(), "squared_error", "values"),
    (None, "mse", "values"),
], ids=lambda v: v if isinstance(v, str) else repr(v))
def test_whole_model_gradients_match_finite_differences(head, loss, target):
    model = _every_layer_model()
    if head is not None:
        model.add(head)
    rng = np.random.default_rng(12)
    X = rng.standard_normal((5, 2, 3))
    y = {"labels": rng.integers(0, 4, 5),
         "probs": rng.dirichlet(np.ones(4), 5),
         "values": rng.standard_normal((5, 4)) * 0.5}[target]
    _grad_check(model, X, y, loss)


def test_whole_model_gradients_in_training_mode_with_a_fixed_dropout_mask():
    model = _every_layer_model()
    rng = np.random.default_rng(13)
    X = rng.standard_normal((4, 2, 3))
    y = rng.integers(0, 4, 4)
    drop = [l for l in model.layers if isinstance(l, Dropout)][0]

    def reset():
        drop.offset = 0

    _grad_check(model, X, y, "cross_entropy", training=True, reset=reset)


def test_fused_softmax_loss_is_stable_and_equals_cross_entropy_of_the_logits():
    model = Sequential([Dense(3, kernel_init={"name": "normal", "std": 200.0}), Softmax()],
                       seed=0, dtype="float64")
    X = np.random.default_rng(0).standard_normal((8, 4))
    y = np.arange(8) % 3
    res = model.evaluate(X, y, loss="cross_entropy")
    logits = model.layers[0].forward(X)
    assert math.isfinite(res["loss"]) and res["loss"] > 10  # probabilities underflow to 0
    assert res["loss"] == pytest.approx(fastnn.ops.softmax_cross_entropy(logits, y)[0],
                                        rel=1e-12)
    value, grads = model.loss_and_gradients(X, y, "cross_entropy")
    p = fastnn.ops.softmax(logits)
    np.testing.assert_allclose(grads[1], (p - np.eye(3)[y]).mean(axis=0), atol=1e-12)


# ====================================================================== training


@pytest.mark.parametrize("loss", ["cross_entropy", "mse", "squared_error",
                                  "binary_cross_entropy"])
def test_fit_reduces_each_loss(loss):
    X, y = blobs(seed=1)
    if loss == "binary_cross_entropy":
        y = (y == 0).astype(np.float32)
        model = small_model(out=1, seed=2)
    else:
        model = small_model(seed=2)
    h = model.fit(X, y, epochs=6, batch_size=16, loss=loss, optimizer=Adam(lr=0.01),
                  verbose=0)
    losses = h.history["loss"]
    assert len(losses) == 6 and losses[-1] < 0.6 * losses[0], losses
    assert h.history["accuracy"][-1] > 0.9
    assert model.loss.name == loss


@pytest.mark.parametrize("optimizer", [
    "sgd", SGD(lr=0.05, momentum=0.9), SGD(lr=0.05, momentum=0.9, nesterov=True,
                                           weight_decay=1e-4),
    "adam", Adam(lr=0.01, amsgrad=True), AdamW(lr=0.01), "adamw", "rmsprop",
    RMSprop(lr=0.01, momentum=0.5, centered=True),
], ids=str)
def test_fit_reduces_the_loss_with_each_optimizer(optimizer):
    X, y = blobs(seed=3)
    model = small_model(seed=4)
    h = model.fit(X, y, epochs=5, batch_size=16, optimizer=optimizer, verbose=0)
    losses = h.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    if not isinstance(optimizer, str):
        assert model.optimizer is optimizer
    assert model.optimizer.iterations == 5 * 15


def test_textbook_sigmoid_network_with_squared_error_and_integer_labels():
    X, y = blobs(n=300, d=8, classes=4, seed=5)
    model = Sequential([Dense(12, activation="sigmoid", kernel_init={"name": "normal",
                                                                     "std": 1.0}),
                        Dense(4, activation="sigmoid", kernel_init={"name": "normal",
                                                                    "std": 1.0})], seed=0)
    h = model.fit(X, y, epochs=8, batch_size=10, loss="squared_error",
                  optimizer=SGD(lr=3.0), verbose=0)
    assert h.history["accuracy"][-1] > 0.9
    assert model.evaluate(X, y)["accuracy"] > 0.9


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_same_seed_gives_identical_weights_and_another_seed_does_not(dropout):
    X, y = blobs(seed=6)

    def train(seed):
        m = small_model(seed=seed, dropout=dropout)
        m.fit(X, y, epochs=3, batch_size=20, verbose=0)
        return m.get_weights()

    a, b, c = train(7), train(7), train(8)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a, c))


def test_fit_does_not_touch_the_global_rng():
    X, y = blobs(seed=6)
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    small_model(seed=None, dropout=0.2).fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_an_optimizer_instance_keeps_its_state_across_fit_calls():
    X, y = blobs(seed=9)
    m1, m2 = small_model(seed=10, dropout=0.2), small_model(seed=10, dropout=0.2)
    o1, o2 = Adam(lr=0.01), Adam(lr=0.01)
    m1.fit(X, y, epochs=4, batch_size=32, optimizer=o1, verbose=0)
    m2.fit(X, y, epochs=2, batch_size=32, optimizer=o2, verbose=0)
    m2.fit(X, y, epochs=2, batch_size=32, optimizer=o2, verbose=0)
    assert o1.iterations == o2.iterations == 4 * 8
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    # a name creates a fresh optimizer
    m2.fit(X, y, epochs=1, optimizer="adam", verbose=0)
    assert m2.optimizer is not o2 and m2.optimizer.iterations == 8


def test_fit_goes_through_run_epoch(monkeypatch):
    X, y = blobs(n=50, seed=1)
    calls = []
    model = small_model()
    orig = model._run_epoch

    def spy(X_, y_, perm, batch_size, sw):
        calls.append((X_.shape, perm is None, batch_size))
        return orig(X_, y_, perm, batch_size, sw)

    monkeypatch.setattr(model, "_run_epoch", spy)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert calls == [((50, 6), False, 8)] * 2 + [((50, 6), True, 8)]


def test_shuffle_uses_the_model_rng_permutation():
    X, y = blobs(n=40, seed=1)
    model = small_model(seed=5)
    perms = []
    orig = model._run_epoch
    model._run_epoch = lambda X_, y_, perm, bs, sw: (perms.append(perm.copy()),
                                                     orig(X_, y_, perm, bs, sw))[1]
    model.fit(X, y, epochs=2, verbose=0)
    ref = small_model(seed=5)
    ref.build((6,))  # weight init draws first, then one permutation per epoch
    np.testing.assert_array_equal(perms[0], ref.rng.permutation(40))
    np.testing.assert_array_equal(perms[1], ref.rng.permutation(40))


def test_sample_weight_of_ones_matches_no_weights_and_zero_weights_ignore_rows():
    X, y = blobs(n=64, seed=2, dtype=np.float64)
    a, b = small_model(seed=1, dtype="float64"), small_model(seed=1, dtype="float64")
    a.fit(X, y, epochs=2, batch_size=16, verbose=0)
    b.fit(X, y, epochs=2, batch_size=16, sample_weight=np.ones(64), verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14)
    # rows of weight 0 do not matter: corrupt their labels, same result
    c, d = small_model(seed=1, dtype="float64"), small_model(seed=1, dtype="float64")
    sw = np.ones(64)
    sw[::4] = 0
    y2 = y.copy()
    y2[::4] = (y2[::4] + 1) % 3
    c.fit(X, y, epochs=2, batch_size=16, sample_weight=sw, verbose=0)
    d.fit(X, y2, epochs=2, batch_size=16, sample_weight=sw, verbose=0)
    for wc, wd in zip(c.get_weights(), d.get_weights()):
        np.testing.assert_allclose(wc, wd, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype,rtol,atol", [("float64", 1e-9, 1e-11),
                                             ("float32", 2e-3, 2e-4)])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_native_and_reference_backends_give_the_same_weights(dtype, rtol, atol, optimizer):
    X, y = blobs(n=96, seed=3, dtype=np.dtype(dtype).type)
    models = []
    for backend in ("native", "reference"):
        m = Sequential([Dense(12, activation="tanh"), Dropout(0.2), Dense(8, activation="gelu"),
                        Dense(3), Softmax()], seed=21, dtype=dtype, backend=backend)
        m.fit(X, y, epochs=3, batch_size=16, optimizer=optimizer, verbose=0)
        models.append(m)
    nat, ref = models
    assert ref.backend == "reference" and ref.layers[0]._ops is fastnn.reference
    assert nat.optimizer._ops is fastnn.ops and ref.optimizer._ops is fastnn.reference
    for (layer, key, a), b in zip(nat.params, ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{layer.name}.{key}")
    for (_, _, a), (_, _, b) in zip(nat.params, ref.params):
        assert not np.array_equal(a, np.zeros_like(a))
    np.testing.assert_allclose(nat.predict(X), ref.predict(X), rtol=rtol * 10, atol=atol * 10)


def test_float64_model_and_conversion_of_other_float_inputs():
    X, y = blobs(n=60, seed=4, dtype=np.float64)
    m64 = small_model(dtype="float64")
    m64.fit(X, y, epochs=1, verbose=0)
    assert all(p.dtype == np.float64 for _, _, p in m64.params)
    assert m64.predict(X).dtype == np.float64
    m32 = small_model(dtype="float32")
    m32.fit(X, y, epochs=1, verbose=0)  # float64 data is converted to the model dtype
    assert all(p.dtype == np.float32 for _, _, p in m32.params)
    out = m32.predict(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, m32.predict(X.astype(np.float32)))
    assert m32.predict(X.astype(np.float16)).dtype == np.float32


# ====================================================================== bad input

X0, Y0 = blobs(n=30, seed=0)


def _fit(**kw):
    args = {"X": X0, "y": Y0, "verbose": 0}
    args.update(kw)
    model = args.pop("model", None) or small_model()
    return model.fit(args.pop("X"), args.pop("y"), **args)


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"y": Y0[:-1]}, ValueError, "30 rows but y has 29"),
    ({"X": X0[:, :4], "model": Sequential([Dense(3, input_dim=6)])}, ValueError,
     "4 features"),
    ({"X": np.where(np.arange(30)[:, None] == 7, np.nan, X0)}, ValueError, "NaN.*row 7"),
    ({"X": np.where(np.arange(30)[:, None] == 3, np.inf, X0)}, ValueError, "infinity"),
    ({"y": np.full(30, np.nan), "loss": "mse", "model": small_model(out=1)}, ValueError,
     "NaN"),
    ({"y": np.where(np.arange(30) == 5, 3, Y0)}, ValueError, r"label 3 outside \[0, 3\)"),
    ({"y": np.where(np.arange(30) == 5, -1, Y0)}, ValueError, "label -1"),
    ({"y": Y0 + 0.5}, ValueError, "non-integer class label"),
    ({"y": Y0.astype(np.float64)}, TypeError, "astype"),
    ({"y": Y0.astype(bool)}, TypeError, "boolean"),
    ({"X": X0[:0], "y": Y0[:0]}, ValueError, "empty"),
    ({"X": X0[0]}, ValueError, "shape"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"loss": "hinge"}, ValueError, "valid names: cross_entropy"),
    ({"optimizer": "adagrad"}, ValueError, "valid names: sgd"),
    ({"validation_split": 1.0}, ValueError, "validation_split"),
    ({"validation_split": -0.1}, ValueError, "validation_split"),
    ({"validation_split": 0.99}, ValueError, "0 for training"),
    ({"validation_split": 1e-17}, ValueError, "0 for validation"),
    ({"validation_split": 0.2, "validation_data": (X0, Y0)}, ValueError, "not both"),
    ({"validation_data": (X0[:, :5], Y0)}, ValueError, "validation_data X has 5 features"),
    ({"validation_data": (X0, Y0[:3])}, ValueError, "validation_data y"),
    ({"metrics": ["f2"]}, ValueError, "unknown metric .f2.; valid metrics: accuracy"),
    ({"X": (X0 * 255).astype(np.uint8)}, TypeError, r"astype\(np.float32\) / 255"),
    ({"X": X0.astype(np.int64)}, TypeError, "convert and scale"),
    ({"X": X0.astype(complex)}, TypeError, "floating-point"),
    ({"y": np.eye(4)[Y0]}, ValueError, "4 columns"),
    ({"y": np.full((30, 1), 2.0), "loss": "binary_cross_entropy", "model": small_model(out=1)},
     ValueError, r"\[0, 1\]"),
    ({"sample_weight": -np.ones(30)}, ValueError, "sample_weight"),
    ({"sample_weight": np.ones(29)}, ValueError, "sample_weight"),
    ({"on_nonfinite": "warn"}, ValueError, "on_nonfinite"),
    ({"callbacks": [print]}, TypeError, "Callback"),
    ({"verbose": 3}, ValueError, "verbose"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_fit_rejects_bad_input_with_a_clear_error(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        _fit(**kwargs)


def test_unknown_names_and_bad_constructor_arguments():
    with pytest.raises(ValueError, match="valid names"):
        Dense(3, activation="swish")
    with pytest.raises(ValueError, match="initializer"):
        Dense(3, kernel_init="orthogonal")
    with pytest.raises(TypeError, match="float32"):
        Sequential(dtype="float16")
    with pytest.raises(TypeError, match="float32"):
        Sequential(dtype="int32")
    with pytest.raises(ValueError, match="backend"):
        Sequential(backend="cuda")
    with pytest.raises(TypeError, match="Layer"):
        Sequential([np.zeros(3)])
    with pytest.raises(ValueError, match="no layers"):
        Sequential().fit(X0, Y0, verbose=0)
    with pytest.raises(ValueError, match="Flatten"):
        Sequential([Dense(2)]).fit(np.zeros((4, 2, 3), np.float32), np.zeros(4, int),
                                   verbose=0)
    m = Sequential([Dense(2, name="a")])
    with pytest.raises(ValueError, match="unique"):
        m.add(Dense(2, name="a"))


def test_predict_and_evaluate_reject_bad_input():
    model = small_model()
    model.fit(X0, Y0, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="features"):
        model.predict(X0[:, :5])
    with pytest.raises(ValueError, match="empty"):
        model.predict(X0[:0])
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.full((2, 6), np.nan, np.float32))
    with pytest.raises(TypeError, match="astype"):
        model.predict(np.zeros((2, 6), np.int32))
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(X0, batch_size=0)
    with pytest.raises(ValueError, match="rows"):
        model.evaluate(X0, Y0[:10])
    with pytest.raises(ValueError, match="outside"):
        model.evaluate(X0, Y0 + 3)
    with pytest.raises(ValueError, match="loss"):
        small_model().evaluate(X0, Y0)


# ====================================================================== divergence


def _blow_up_at(epoch_index, lr=1e4):
    """A schedule: a sane learning rate, then a huge one from epoch `epoch_index` on."""
    return LearningRateScheduler(lambda epoch: lr if epoch >= epoch_index else 1e-3)


def _regression(n=64):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, 5)).astype(np.float32) * 3
    return X, (X @ rng.standard_normal((5, 1))).astype(np.float32)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_divergence_raises_and_restores_the_last_good_epoch(optimizer):
    X, y = _regression()
    opt_cls = SGD if optimizer == "sgd" else Adam
    model = Sequential([Dense(8), Dense(1)], seed=1)
    with pytest.raises(TrainingDivergedError, match=r"epoch 3/6") as e:
        model.fit(X, y, epochs=6, batch_size=8, loss="mse", optimizer=opt_cls(lr=1e-3),
                  callbacks=[_blow_up_at(2, 1e30 if optimizer == "adam" else 1e4)], verbose=0)
    assert isinstance(e.value, FloatingPointError) and e.value.epoch == 3
    assert "restored" in str(e.value)
    # the same seed trained for the two good epochs only
    ref = Sequential([Dense(8), Dense(1)], seed=1)
    ref.fit(X, y, epochs=2, batch_size=8, loss="mse", optimizer=opt_cls(lr=1e-3),
            callbacks=[_blow_up_at(2)], verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        assert np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == ref.optimizer.iterations == 16
    for sa, sb in zip(model.optimizer.state, ref.optimizer.state):
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])


def test_divergence_in_the_first_epoch_restores_the_initial_weights():
    X, y = _regression()
    model = Sequential([Dense(8), Dense(1)], seed=2)
    model.build((5,))
    initial = model.get_weights()
    with pytest.raises(TrainingDivergedError, match="initial weights"):
        model.fit(X, y, epochs=2, batch_size=8, loss="mse", optimizer=SGD(lr=1e4), verbose=0)
    for a, b in zip(model.get_weights(), initial):
        np.testing.assert_array_equal(a, b)


def test_on_nonfinite_ignore_goes_on():
    X, y = _regression()
    model = Sequential([Dense(8), Dense(1)], seed=2)
    h = model.fit(X, y, epochs=3, batch_size=8, loss="mse", optimizer=SGD(lr=1e4),
                  on_nonfinite="ignore", verbose=0)
    assert len(h.history["loss"]) == 3
    assert not math.isfinite(h.history["loss"][-1])


# ====================================================================== inference


def test_predict_outputs_probabilities_classes_and_evaluate():
    X, y = blobs(n=200, seed=7)
    model = small_model(seed=3)
    model.fit(X, y, epochs=5, batch_size=16, optimizer=Adam(lr=0.01), verbose=0)
    out = model.predict(X)
    assert out.shape == (200, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(model.predict(X, batch_size=7), out)  # batched = whole
    p = model.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(p, fastnn.reference.softmax(out), rtol=1e-5, atol=1e-7)
    classes = model.predict_classes(X)
    np.testing.assert_array_equal(classes, out.argmax(axis=1))
    res = model.evaluate(X, y)
    assert set(res) == {"loss", "accuracy"}
    assert res["accuracy"] == pytest.approx((classes == y).mean())
    assert res["loss"] == pytest.approx(fastnn.ops.softmax_cross_entropy(out, y)[0], rel=1e-5)
    np.testing.assert_allclose(model.evaluate(X, y, batch_size=9)["loss"], res["loss"],
                               rtol=1e-6)
    # a model ending in Softmax: predict_proba is its output
    soft = small_model(seed=3, last=Softmax())
    soft.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(soft.predict_proba(X), soft.predict(X))
    np.testing.assert_allclose(soft.predict(X).sum(axis=1), 1, rtol=1e-5)


def test_binary_classification_probabilities_and_classes():
    X, y = blobs(n=200, seed=8, classes=2)
    for last in (None, Sigmoid()):
        model = small_model(out=1, seed=4, last=last)
        h = model.fit(X, y, epochs=5, loss="binary_cross_entropy", optimizer=Adam(lr=0.01),
                      verbose=0)
        assert h.history["accuracy"][-1] > 0.95
        p = model.predict_proba(X)
        assert p.shape == (200, 1) and (p >= 0).all() and (p <= 1).all()
        np.testing.assert_array_equal(model.predict_classes(X), (p[:, 0] > 0.5).astype(int))
        assert model.evaluate(X, y)["accuracy"] > 0.95


def test_accuracy_thresholds_logits_at_0_and_probabilities_at_half():
    X, y = blobs(n=300, seed=9, classes=2)
    for last, threshold in ((None, 0.0), (Sigmoid(), 0.5)):
        model = Sequential([Dense(1, kernel_init={"name": "normal", "std": 0.2},
                                  bias_init="ones")] + ([last] if last else []), seed=1)
        model.build((6,))
        out = model.predict(X)[:, 0]
        expect = float(((out > threshold) == (y > 0.5)).mean())
        assert 0.2 < expect < 0.8  # the threshold matters for this model
        h = model.fit(X, y, epochs=1, loss="binary_cross_entropy", optimizer=SGD(lr=0.0),
                      verbose=0)
        assert h.history["accuracy"] == [pytest.approx(expect, abs=1e-12)]
        assert model.evaluate(X, y)["accuracy"] == pytest.approx(expect, abs=1e-12)
        np.testing.assert_array_equal(model.predict_classes(X), (out > threshold).astype(int))


def test_single_sample_predict_and_regression_without_accuracy():
    X, y = _regression()
    model = Sequential([Dense(4, activation="tanh", input_dim=5), Dense(1)], seed=0)
    h = model.fit(X, y, epochs=2, loss="mse", optimizer="adam", verbose=0)
    assert set(h.history) == {"loss"}
    assert model.predict(X[:1]).shape == (1, 1)
    assert set(model.evaluate(X, y)) == {"loss"}


# ====================================================================== info


def test_summary_shows_layers_shapes_and_parameter_counts(capsys):
    model = Sequential([Dense(128, activation="relu", input_dim=784), Dropout(0.2),
                        Dense(10, trainable=False), Softmax()])
    assert model.summary() is None
    text = capsys.readouterr().out
    for s in ("dense_1 (Dense)", "dropout_1 (Dropout)", "dense_2 (Dense)",
              "softmax_1 (Softmax)", "(None, 128)", "(None, 10)", "100,480", "1,290",
              "Total params: 101,770", "Trainable params: 100,480", "Frozen params: 1,290",
              "frozen"):
        assert s in text, s
    lazy = Sequential([Dense(3)])
    lazy.summary()
    assert "Not built" in capsys.readouterr().out


def test_repr_params_and_weights():
    model = Sequential([Dense(4, activation="relu"), Dense(2)], seed=3)
    r = repr(model)
    assert r.startswith("Sequential([") and "Dense(4, activation='relu', name='dense_1')" in r
    assert "seed=3" in r
    model.build((3,))
    assert [(l.name, k, a.shape) for l, k, a in model.params] == [
        ("dense_1", "W", (3, 4)), ("dense_1", "b", (4,)), ("dense_2", "W", (4, 2)),
        ("dense_2", "b", (2,))]
    w = model.get_weights()
    model.set_weights([np.zeros_like(a) for a in w])
    assert not any(a.any() for _, _, a in model.params)
    model.set_weights(w)
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros((2, 2))] * 4)
    with pytest.raises(ValueError, match="4 parameters"):
        model.set_weights(w[:2])
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2


def test_history_keys_and_verbose_output(capsys):
    X, y = blobs(n=60, seed=1)
    model = small_model()
    h = model.fit(X, y, epochs=2, validation_split=0.25, verbose=0)
    assert capsys.readouterr().out == ""
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.epoch == [0, 1] and model.history is h
    h = model.fit(X, y, epochs=2, validation_data=(X[:10], y[:10]), verbose=1)
    captured = capsys.readouterr()
    lines = [ln for ln in captured.out.splitlines() if ln.startswith("Epoch")]
    assert len(lines) == 2
    for key in ("Epoch 2/2", "loss:", "accuracy:", "val_loss:", "val_accuracy:", "samples/s"):
        assert key in lines[1]
    assert all(len(v) == 2 for v in h.history.values())
    # validation_split takes the last rows, before shuffling
    m2 = small_model(seed=9)
    h2 = m2.fit(X, y, epochs=1, validation_split=0.25, verbose=0, shuffle=False)
    m3 = small_model(seed=9)
    h3 = m3.fit(X[:45], y[:45], epochs=1, validation_data=(X[45:], y[45:]), verbose=0,
                shuffle=False)
    assert h2.history == h3.history
