"""Custom layers (fastnn.layers_custom): Layer subclasses with textbook forward/backward
train, predict, evaluate and summarize among native layers; register_layer saves and
loads them; and channels-last images get a "channels first" error.

Oracles: numpy formulas written out here (forwards), central finite differences of the
loss (gradients), the SGD update rule, and the same model built from native layers."""

import copy
import io
import os
import pickle

import numpy as np
import pytest

import fastnn
from fastnn import (SGD, Conv1D, Conv2D, Dense, Flatten, Layer, LayerImplementationError,
                    MaxPool2D, ModelFileError, ReLU, Residual, Sequential, register_layer)
from fastnn import _fused
from fastnn.layers import LAYERS


def data(n=64, d=5, classes=3, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5).astype(np.int64)
    return X, y % classes


def _kinds(model):
    return [st["kind"] for st in _fused._steps(model)]


@pytest.fixture
def registry():
    """A registry of fastnn's own layers only while the test runs (other tests and the
    docs' pages register classes too), put back as it was after it."""
    before = dict(LAYERS)
    for name, cls in before.items():
        if not cls.__module__.startswith("fastnn."):
            del LAYERS[name]
    yield
    for cls in set(LAYERS.values()) - set(before.values()):
        if "_registered_name" in cls.__dict__:
            del cls._registered_name
    LAYERS.clear()
    LAYERS.update(before)


# ------------------------------------------------------------------ layers used below


class Square(Layer):
    """The issue's example: y = x * x, textbook methods only."""

    def forward(self, x, training=False):
        self.x = x
        return x * x

    def backward(self, dy):
        return 2 * self.x * dy


class SquareNoTraining(Layer):
    def forward(self, x):  # no training argument
        self.x = x
        return x * x

    def backward(self, dy):
        return 2 * self.x * dy


class SquarePrivate(Layer):
    """The older protocol: _forward(x, training)."""

    def _forward(self, x, training):
        self.x = x
        return x * x

    def backward(self, dy):
        return 2 * self.x * dy


class MyReLU(Layer):
    def forward(self, x, training=False):
        self.mask = x > 0
        return np.where(self.mask, x, 0).astype(x.dtype)

    def backward(self, dy):
        return (dy * self.mask).astype(dy.dtype)


class Affine(Layer):
    """y = x * w + b per feature; parameters made in _build from the model's generator;
    grads assigned (the textbook way)."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def _build(self, input_shape, dtype, rng):
        self.params["w"] = (self.scale * rng.standard_normal(input_shape)).astype(dtype)
        self.params["b"] = np.zeros(input_shape, dtype)

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["w"] + self.params["b"]

    def backward(self, dy):
        self.grads["w"] = (dy * self.x).sum(axis=0)
        self.grads["b"] = dy.sum(axis=0)
        return dy * self.params["w"]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


class LazyScale(Layer):
    """One scalar parameter made at the first forward; its gradient accumulated (+=)."""

    def forward(self, x, training=False):
        if "s" not in self.params:
            self.params["s"] = np.full((1,), 0.5, x.dtype)
        self.x = x
        return x * self.params["s"][0]

    def backward(self, dy):
        self.grads["s"] += np.array([(dy * self.x).sum()], dy.dtype)
        return dy * self.params["s"][0]


class WithSquares(Layer):
    """(N, d) -> (N, 2d): x next to x**2; output_shape left to fastnn."""

    def forward(self, x, training=False):
        self.x = x
        return np.concatenate([x, x * x], axis=1)

    def backward(self, dy):
        d = self.x.shape[1]
        return dy[:, :d] + 2 * self.x * dy[:, d:]


class NoBackward(Layer):
    def forward(self, x, training=False):
        return x * 3


def manual_loss_grad(model, X, y, loss):
    """Central finite differences of model.loss_and_gradients' loss, per parameter."""
    grads = []
    for _, _, arr in model.params:
        g = np.zeros_like(arr)
        flat, gflat = arr.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + 1e-6
            lp, _ = model.loss_and_gradients(X, y, loss)
            flat[i] = old - 1e-6
            lm, _ = model.loss_and_gradients(X, y, loss)
            flat[i] = old
            gflat[i] = (lp - lm) / 2e-6
        grads.append(g)
    return grads


# ------------------------------------------------------------------ training


@pytest.mark.parametrize("cls", [Square, SquareNoTraining, SquarePrivate])
def test_textbook_layer_trains_between_native_layers(cls):
    X, y = data()
    model = Sequential([Dense(16), cls(), Dense(3)], seed=0)
    assert _kinds(model.build((5,))) == ["dense", "python", "dense"]
    W1, b1 = (a.copy() for a in model.layers[0].params.values())
    W2, b2 = (a.copy() for a in model.layers[2].params.values())
    # forward: the textbook formula
    np.testing.assert_allclose(model.predict(X), ((X @ W1 + b1) ** 2) @ W2 + b2,
                               rtol=1e-4, atol=1e-5)
    # one full-batch SGD step: W - lr * dL/dW, the gradient from finite differences
    model64 = Sequential([Dense(16), cls(), Dense(3)], seed=0, dtype="float64")
    model64.build((5,))
    model64.set_weights([W1, b1, W2, b2])
    fd = manual_loss_grad(model64, X.astype(np.float64), y, "cross_entropy")
    model.fit(X, y, epochs=1, batch_size=len(X), shuffle=False, optimizer=SGD(lr=0.1),
              verbose=0)
    for new, old, g in zip(model.get_weights(), [W1, b1, W2, b2], fd):
        np.testing.assert_allclose(new, old - 0.1 * g, rtol=1e-3, atol=1e-5)
    hist = model.fit(X, y, epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    ev = model.evaluate(X, y)
    assert set(ev) == {"loss", "accuracy"} and np.isfinite(ev["loss"])


def test_custom_relu_trains_like_the_native_relu():
    """The per-layer path with a Python ReLU gives the fused plan's weights."""
    X, y = data(n=96)
    native = Sequential([Dense(8), ReLU(), Dense(3)], seed=1)
    custom = Sequential([Dense(8), MyReLU(), Dense(3)], seed=1)
    native.fit(X, y, epochs=3, batch_size=16, verbose=0)
    custom.fit(X, y, epochs=3, batch_size=16, verbose=0)
    assert _fused.unsupported_reason(native) is None
    for a, b in zip(native.get_weights(), custom.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(native.predict(X), custom.predict(X), rtol=1e-5, atol=1e-6)


def test_parameters_gradient_check_and_training():
    X, y = data(d=4, dtype=np.float64)
    model = Sequential([Affine(name="aff"), Dense(3)], seed=3, dtype="float64")
    model.build((4,))
    aff = model.get_layer("aff")
    assert set(aff.params) == {"w", "b"} and set(aff.grads) == {"w", "b"}
    assert aff.params["w"].shape == (4,) and aff.count_params() == 8
    loss, grads = model.loss_and_gradients(X, y, "cross_entropy")
    fd = manual_loss_grad(model, X, y, "cross_entropy")
    for g, f in zip(grads, fd):
        np.testing.assert_allclose(g, f, rtol=1e-5, atol=1e-7)
    w0 = aff.params["w"].copy()
    hist = model.fit(X, y, epochs=20, optimizer=SGD(lr=0.2), verbose=0)
    assert not np.allclose(aff.params["w"], w0)  # trained by the optimizer
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_gradient_check_float32_and_lazy_parameters():
    X, y = data(d=4)
    model = Sequential([LazyScale(name="lazy"), Dense(3)], seed=0)
    model.build((4,))
    lazy = model.get_layer("lazy")
    assert list(lazy.params) == ["s"] and lazy.grads["s"].shape == (1,)  # made at build
    model64 = Sequential([LazyScale(), Dense(3)], seed=0, dtype="float64")
    model64.build((4,))
    model64.set_weights(model.get_weights())
    fd = manual_loss_grad(model64, X.astype(np.float64), y, "cross_entropy")
    for _ in range(2):  # grads are zeroed before each backward: += does not pile up
        _, grads = model.loss_and_gradients(X, y, "cross_entropy")
        for g, f in zip(grads, fd):
            np.testing.assert_allclose(g, f, rtol=1e-3, atol=1e-5)
    model.fit(X, y, epochs=3, verbose=0)
    assert lazy.params["s"][0] != np.float32(0.5)


class KerasStyle(Layer):
    """Parameters made in a one-argument build (no super().build call)."""

    def build(self, input_shape):
        self.params["w"] = np.full(input_shape, 2.0, self.dtype)

    def forward(self, x, training=False):
        self.x = x
        return x * self.params["w"]

    def backward(self, dy):
        self.grads["w"] = (dy * self.x).sum(axis=0)
        return dy * self.params["w"]


class SuperFirst(KerasStyle):
    """Parameters made after super().build(...), which runs the base class's build."""

    def build(self, input_shape, dtype=np.float32, rng=None):
        super().build(input_shape, dtype, rng)
        self.params["b"] = np.zeros(input_shape, dtype)

    def forward(self, x, training=False):
        return super().forward(x, training) + self.params["b"]

    def backward(self, dy):
        self.grads["b"] = dy.sum(axis=0)
        return super().backward(dy)


@pytest.mark.parametrize("cls, keys", [(KerasStyle, ["w"]), (SuperFirst, ["w", "b"])])
def test_parameters_made_in_an_overridden_build(cls, keys):
    X, y = data(d=4)
    model = Sequential([cls(name="c"), Dense(3)], seed=0)
    model.build((4,))
    layer = model.get_layer("c")
    assert list(layer.params) == keys and list(layer.grads) == keys and layer.built
    assert layer.input_shape == (4,) and layer.dtype == np.float32
    np.testing.assert_array_equal(layer.params["w"], np.full(4, 2.0, np.float32))
    model64 = Sequential([cls(), Dense(3)], seed=0, dtype="float64").build((4,))
    model64.set_weights(model.get_weights())
    _, grads = model.loss_and_gradients(X, y, "cross_entropy")
    for g, f in zip(grads, manual_loss_grad(model64, X.astype(np.float64), y,
                                            "cross_entropy")):
        np.testing.assert_allclose(g, f, rtol=1e-3, atol=1e-5)
    model.fit(X, y, epochs=2, verbose=0)
    assert not np.array_equal(layer.params["w"], np.full(4, 2.0, np.float32))


def test_parameters_of_another_dtype_are_refused():
    class Float64Params(KerasStyle):
        def build(self, input_shape):
            self.params["w"] = np.ones(input_shape)  # float64 in a float32 model

    with pytest.raises(TypeError, match=r"f \(Float64Params\): params\['w'\] is float64, "
                                        r"but the layer computes in float32"):
        Sequential([Float64Params(name="f")], seed=0).build((3,))


def test_shape_inferred_and_summary():
    model = Sequential([Dense(4), WithSquares(), Dense(2)], seed=0, input_shape=(3,))
    out = io.StringIO()
    model.summary(file=out)
    text = out.getvalue()
    assert "(None, 8)" in text and "(WithSquares)" in text
    assert model.layers[2].params["W"].shape == (8, 2)
    X, y = data(d=3, classes=2)
    model.fit(X, y, epochs=2, verbose=0)
    assert model.predict(X).shape == (64, 2)
    # the shape asked for before any build comes from a built copy, the layer stays unbuilt
    lone = WithSquares()
    assert lone.output_shape((7,)) == (14,) and not lone.built


def test_declared_output_shape_is_checked():
    class Wrong(Square):
        def output_shape(self, input_shape):
            return (3,)

    with pytest.raises(ValueError, match=r"wrong_1 \(Wrong\): forward returns samples of "
                                         r"shape \(4,\).*output_shape\(\) says \(3,\)"):
        Sequential([Dense(4), Wrong(name="wrong_1")], seed=0).build((2,))


def test_standalone_textbook_use():
    sq = Affine()
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    y = sq.forward(x, training=True)  # builds at first use
    np.testing.assert_allclose(y, x * sq.params["w"])
    dx = sq.backward(np.ones_like(y))
    np.testing.assert_allclose(dx, np.ones_like(x) * sq.params["w"])
    np.testing.assert_allclose(sq.grads["w"], x.sum(axis=0))


def test_freezing_a_custom_layer():
    X, y = data(d=4)
    model = Sequential([Dense(4), Affine(trainable=False, name="aff"), Dense(3)], seed=0)
    model.build((4,))
    w0 = model.get_layer("aff").params["w"].copy()
    d0 = model.layers[0].params["W"].copy()
    model.fit(X, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(model.get_layer("aff").params["w"], w0)
    assert not np.allclose(model.layers[0].params["W"], d0)  # gradients flowed through it


def test_float64_model_and_deepcopy_and_pickle():
    X, y = data(dtype=np.float64)
    model = Sequential([Dense(6), Square(), Dense(3)], seed=0, dtype="float64")
    model.fit(X, y, epochs=1, verbose=0)
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(twin.predict(X), model.predict(X))


def test_subclass_of_a_native_layer_with_its_own_forward_is_not_fused():
    class DoubledDense(Dense):
        def _forward(self, x, training):
            return 2 * super()._forward(x, training)

        def backward(self, dy):
            return super().backward(2 * dy)

    X, y = data(dtype=np.float64)
    model = Sequential([DoubledDense(3)], seed=0, dtype="float64")
    plain = Sequential([Dense(3)], seed=0, dtype="float64")
    model.build((5,))
    plain.build((5,))
    # its own python step, not Dense's (which would compute without the doubling)
    assert [st["kind"] for st in _fused._steps(model)] == ["python"]
    np.testing.assert_allclose(model.predict(X), 2 * plain.predict(X), rtol=1e-12)
    _, grads = model.loss_and_gradients(X, y, "cross_entropy")
    for g, f in zip(grads, manual_loss_grad(model, X, y, "cross_entropy")):
        np.testing.assert_allclose(g, f, rtol=1e-5, atol=1e-8)
    model.fit(X, y, epochs=1, verbose=0)


def test_subclass_of_a_native_layer_needs_its_own_backward():
    class PlusOne(Dense):
        def forward(self, x, training=False):
            return super().forward(x, training) + 1

    X, y = data()
    model = Sequential([Dense(4), PlusOne(3, name="p1")], seed=0)
    model.build((5,))
    (W1, b1), (W2, b2) = (l.params.values() for l in model.layers)
    np.testing.assert_allclose(model.predict(X), (X @ W1 + b1) @ W2 + b2 + 1, rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(LayerImplementationError, match=r"p1 \(PlusOne\) has no backward"):
        model.fit(X, y, verbose=0)


# ------------------------------------------------------------------ missing methods


def test_layer_without_backward_at_the_bottom_is_fine():
    X, y = data()
    model = Sequential([NoBackward(), Dense(3)], seed=0)
    model.fit(X, y, epochs=2, verbose=0)
    np.testing.assert_allclose(model.predict(X), (3 * X) @ model.layers[1].params["W"]
                               + model.layers[1].params["b"], rtol=1e-5, atol=1e-5)


def test_layer_without_backward_above_a_trainable_layer_is_refused_before_training():
    X, y = data()
    model = Sequential([Dense(4, name="d1"), NoBackward(name="nb"), Dense(3)], seed=0)
    model.build((5,))
    before = model.get_weights()
    with pytest.raises(LayerImplementationError,
                       match=r"nb \(NoBackward\) has no backward.*below it \(d1\)") as e:
        model.fit(X, y, epochs=1, verbose=0)
    assert isinstance(e.value, NotImplementedError)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.layers[0].trainable = False  # nothing below needs gradients now
    model.fit(X, y, epochs=1, verbose=0)


def test_layer_with_parameters_but_no_backward_is_refused():
    class ParamsNoBackward(Layer):
        def _build(self, input_shape, dtype, rng):
            self.params["w"] = np.ones(input_shape, dtype)

        def forward(self, x, training=False):
            return x * self.params["w"]

    X, y = data()
    model = Sequential([ParamsNoBackward(name="p"), Dense(3)], seed=0)
    with pytest.raises(LayerImplementationError, match=r"p \(ParamsNoBackward\).*trainable "
                                                       r"parameters \(w\)"):
        model.fit(X, y, epochs=1, verbose=0)
    model.layers[0].trainable = False
    model.fit(X, y, epochs=1, verbose=0)


def test_layer_without_forward_is_refused_at_build():
    class OnlyBackward(Layer):
        def backward(self, dy):
            return dy

    X, y = data()
    with pytest.raises(LayerImplementationError, match=r"OnlyBackward\) has no forward"):
        Sequential([Dense(3), OnlyBackward()]).fit(X, y, verbose=0)


def test_missing_super_init():
    class Forgot(Square):
        def __init__(self):
            self.k = 1

    with pytest.raises(TypeError, match=r"Forgot.__init__ must call super\(\).__init__\(\)"):
        Sequential([Forgot()])


# ------------------------------------------------------------------ bad results


@pytest.mark.parametrize("forward, error, match", [
    (lambda self, x: x.astype(np.float64), TypeError, r"bad \(Bad\): forward returned a "
                                                      r"float64 array for float32"),
    (lambda self, x: x[:1], ValueError, r"bad \(Bad\): forward returned shape \(1, 4\) for "
                                        r"a batch of"),
    (lambda self, x: list(x), TypeError, r"bad \(Bad\): forward returned a list"),
])
def test_wrong_forward_results(forward, error, match):
    Bad = type("Bad", (Layer,), {"forward": forward, "backward": lambda self, dy: dy})
    X, y = data(d=4)
    with pytest.raises(error, match=match):
        Sequential([Bad(name="bad"), Dense(3)], seed=0).fit(X, y, verbose=0)


def test_forward_changing_its_shape_after_build():
    class Moody(Layer):
        def forward(self, x, training=False):
            self.calls = getattr(self, "calls", 0) + 1
            return x if self.calls == 1 else x[:, :2].copy()

        def backward(self, dy):
            return dy

    X, y = data(d=4)
    with pytest.raises(ValueError, match=r"moody \(Moody\): forward returned shape "
                                         r"\(64, 2\), but the layer's output shape is "
                                         r"\(N, 4\)"):
        Sequential([Moody(name="moody"), Dense(3)], seed=0).predict(X)


@pytest.mark.parametrize("backward, error, match", [
    (lambda self, dy: dy[:, :2], ValueError, r"b \(BadBack\): backward returned shape "
                                             r"\(64, 2\), but its input x had shape "
                                             r"\(64, 4\)"),
    (lambda self, dy: None, TypeError, r"b \(BadBack\): backward returned None"),
    (lambda self, dy: dy.astype(np.float64), TypeError, r"backward returned a float64"),
])
def test_wrong_backward_results(backward, error, match):
    BadBack = type("BadBack", (Layer,), {"forward": lambda self, x: x, "backward": backward})
    X, y = data(d=4)
    with pytest.raises(error, match=match):
        Sequential([Dense(4), BadBack(name="b"), Dense(3)], seed=0).fit(X, y, batch_size=64,
                                                                       verbose=0)


def test_wrongly_shaped_gradient_assignment():
    class BadGrad(Affine):
        def backward(self, dy):
            self.grads["w"] = dy  # (N, d), not (d,)
            return dy

    X, y = data(d=4)
    with pytest.raises(ValueError, match=r"set grads\['w'\] to shape \(64, 4\), but "
                                         r"params\['w'\] has shape \(4,\)"):
        Sequential([BadGrad(), Dense(3)], seed=0).fit(X, y, batch_size=64, verbose=0)


# ------------------------------------------------------------------ register_layer, saving


def test_register_save_and_load(tmp_path, registry):
    register_layer(Affine)
    X, y = data(d=4)
    model = Sequential([Dense(4), Affine(scale=0.5, name="aff"), Square(), Dense(3)], seed=0)
    model.build((4,))
    with pytest.raises(ValueError, match=r"Square is not registered.*register_layer"):
        model.save(tmp_path / "m.fnn")  # before anything is written
    assert not os.listdir(tmp_path)
    register_layer(Square)
    model.fit(X, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.fnn")
    with open(tmp_path / "m.fnn", "rb") as f:
        assert f.read(2) == b"PK"  # the zip archive, never a pickle
    back = fastnn.load(tmp_path / "m.fnn")
    assert type(back.layers[1]) is Affine and back.layers[1].scale == 0.5
    assert back.layers[1].get_config() == model.layers[1].get_config()
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    back.fit(X, y, epochs=1, verbose=0)  # the optimizer state came back too
    model.fit(X, y, epochs=1, verbose=0)
    np.testing.assert_allclose(back.predict(X), model.predict(X), rtol=1e-6)
    # the same file where the class is not registered: the loading error names it
    del LAYERS["Affine"]
    with pytest.raises(ModelFileError, match=r"unknown layer class 'Affine'.*register_layer"):
        fastnn.load(tmp_path / "m.fnn")


def test_lazy_parameters_save_and_load(tmp_path, registry):
    register_layer(LazyScale)
    X, y = data(d=4)
    model = Sequential([LazyScale(), Dense(3)], seed=0)
    model.fit(X, y, epochs=2, verbose=0)
    model.save(tmp_path / "m")
    back = fastnn.load(tmp_path / "m")
    np.testing.assert_array_equal(back.layers[0].params["s"], model.layers[0].params["s"])
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_register_forms_and_names(tmp_path, registry):
    @register_layer
    class Plain(Square):
        pass

    @register_layer("my_square")
    class Named(Square):
        pass

    @register_layer(name="other_square")
    class Named2(Square):
        pass

    assert LAYERS["Plain"] is Plain and LAYERS["my_square"] is Named
    assert LAYERS["other_square"] is Named2
    assert Named().get_config()["class"] == "my_square"
    assert register_layer(Plain) is Plain  # again: no error
    X, y = data()
    model = Sequential([Dense(3), Named(), Dense(3)], seed=0)
    model.fit(X, y, verbose=0)
    model.save(tmp_path / "m")
    assert type(fastnn.load(tmp_path / "m").layers[1]) is Named
    # a subclass of a registered class is not registered under its parent's name
    class Child(Named):
        pass

    assert Child().get_config()["class"] == "Child"


def test_register_clashes(registry):
    with pytest.raises(ValueError, match="fastnn's own layer Dense"):
        register_layer("Dense")(Square)
    with pytest.raises(ValueError, match="one of fastnn's own layers"):
        register_layer(Dense)
    with pytest.raises(TypeError, match="Layer subclass"):
        register_layer(int)
    register_layer("sq")(Square)
    other = type("Other", (Square,), {})
    with pytest.raises(ValueError, match="is registered under that name"):
        register_layer("sq")(other)
    with pytest.raises(ValueError, match="already registered as 'sq'"):
        register_layer("sq2")(Square)


def test_config_problems_refused_before_writing(tmp_path, registry):
    @register_layer
    class NoConfig(Layer):
        def __init__(self, k=2, **kw):
            super().__init__(**kw)
            self.k = k

        def forward(self, x, training=False):
            return x * self.k

        def backward(self, dy):
            return dy * self.k

    @register_layer
    class NotJson(NoConfig):
        def get_config(self):
            return {**super().get_config(), "k": np.arange(2)}

    for cls, match in ((NoConfig, r"lacks the constructor argument\(s\) k"),
                       (NotJson, r"JSON")):
        model = Sequential([cls(), Dense(2)], seed=0, input_shape=(3,)).build()
        with pytest.raises(ValueError, match=match):
            model.save(tmp_path / "m")
        assert not os.listdir(tmp_path)


def test_custom_layer_inside_residual(tmp_path, registry):
    register_layer(Affine)
    X, y = data(d=4)
    model = Sequential([Dense(4), Residual([Affine(), Dense(4)]), Dense(3)], seed=0)
    hist = model.fit(X, y, epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(fastnn.load(tmp_path / "m").predict(X), model.predict(X))
    unregistered = Sequential([Residual([Square(), Dense(4)])], seed=0, input_shape=(4,))
    with pytest.raises(ValueError, match="Square is not registered"):
        unregistered.build().save(tmp_path / "u")


# ------------------------------------------------------------------ channels last


def images(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.mark.parametrize("first", [
    lambda: Conv2D(4, 5), lambda: Conv2D(4, 1), lambda: Conv2D(4, 3, padding="same"),
    lambda: MaxPool2D(2)])
def test_channels_last_images_to_an_unbuilt_model(first):
    X = images((8, 28, 28, 1))
    model = Sequential([first(), Flatten(), Dense(2)], seed=0)
    with pytest.raises(ValueError, match=r"expects channels first \(N, C, H, W\), got "
                                         r"\(8, 28, 28, 1\)\? use X.transpose\(0, 3, 1, 2\)"):
        model.predict(X)
    assert not model.built
    model.predict(X.transpose(0, 3, 1, 2).copy())  # as the message says


def test_channels_last_rgb_to_a_built_model():
    model = Sequential([Conv2D(4, 3), Flatten(), Dense(2)], seed=0, input_shape=(3, 32, 32))
    model.build()
    with pytest.raises(ValueError, match=r"Conv2D expects channels first.*\(5, 32, 32, 3\)"):
        model.fit(images((5, 32, 32, 3)), np.zeros(5, np.int64), verbose=0)
    with pytest.raises(ValueError, match="channels first"):
        model.predict(images((5, 28, 28, 4)))  # RGBA of another size: channels mismatch
    with pytest.raises(ValueError, match=r"model expects \(3, 32, 32\)") as e:
        model.predict(images((5, 3, 16, 16)))  # channels first, other size: the plain error
    assert "channels first" not in str(e.value)


def test_channels_first_data_with_a_narrow_last_axis_can_be_declared():
    X = images((4, 28, 28, 1))
    with pytest.raises(ValueError, match=r"pass input_shape=\(28, 28, 1\)"):
        Sequential([Conv2D(2, 1), Flatten(), Dense(2)], seed=0).predict(X)
    model = Sequential([Conv2D(2, 1), Flatten(), Dense(2)], seed=0, input_shape=(28, 28, 1))
    assert model.predict(X).shape == (4, 2)


def test_channels_last_standalone_layer_and_conv1d():
    with pytest.raises(ValueError, match=r"Conv2D expects channels first.*\(2, 28, 28, 1\)"):
        Conv2D(3, 5).forward(images((2, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"Conv1D expects channels first \(N, C, L\), got "
                                         r"\(2, 100, 3\)\? use X.transpose\(0, 2, 1\)"):
        Sequential([Conv1D(4, 5), Flatten(), Dense(2)]).predict(images((2, 100, 3)))
    # channels-first inputs are untouched
    assert Conv2D(3, 5).forward(images((2, 1, 28, 28))).shape == (2, 3, 24, 24)
    assert Sequential([Conv1D(4, 5), Flatten(), Dense(2)]).predict(
        images((2, 3, 100))).shape == (2, 2)


# ------------------------------------------------------------------ in the fused plan

def _fit_both(make, X, y, **kw):
    """The same model trained on the fused plan and on the per-layer path."""
    out = []
    for fused in (True, False):
        m = make()
        m.fused = fused
        h = m.fit(X, y, verbose=0, **kw)
        out.append((m, h.history["loss"]))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer, optimizer", [
    (MyReLU, "sgd"), (Affine, "adam"), (WithSquares, "rmsprop"), (LazyScale, "adamw")])
def test_custom_layer_trains_in_the_fused_plan_as_on_the_per_layer_path(dtype, layer,
                                                                        optimizer):
    """The plan runs the native steps and calls back into the Python layer's methods
    (a "python" step): the weights, losses and predictions are those of the per-layer
    path to the bit -- the same kernels on the same values in the same order."""
    X, y = data(n=100, dtype=dtype)

    def make():
        from fastnn import Dropout
        return Sequential([Dense(8), layer(), Dropout(0.2), Dense(3)], seed=4,
                          dtype=np.dtype(dtype).name)

    (fused, lf), (plain, lp) = _fit_both(make, X, y, epochs=3, batch_size=16,
                                         optimizer=optimizer)
    assert _kinds(fused)[:2] == ["dense", "python"]
    assert _fused._layers_unsupported(fused) is None
    assert lf == lp
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        assert np.array_equal(a, b)
    assert np.array_equal(fused.predict(X), plain.predict(X))


def test_custom_layer_first_and_last_in_the_plan():
    X, y = data(n=64, dtype=np.float64)

    def make():
        return Sequential([Affine(), Dense(6), MyReLU(), Dense(3), Affine(scale=0.5)],
                          seed=2, dtype="float64")

    (fused, lf), (plain, lp) = _fit_both(make, X, y, epochs=2, batch_size=10,
                                         optimizer="sgd")
    assert _kinds(fused) == ["python", "dense", "python", "dense", "python"]
    assert lf == lp
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        assert np.array_equal(a, b)


class FailsAt(Layer):
    """Identity that raises at its n-th forward or backward call in training."""

    def __init__(self, where="forward", at=3, **kwargs):
        super().__init__(**kwargs)
        self.where, self.at, self.calls = where, at, 0

    def _tick(self, where):
        if where == self.where:
            self.calls += 1
            if self.calls == self.at:
                raise RuntimeError(f"boom in {where}")

    def forward(self, x, training=False):
        if training:
            self._tick("forward")
        return x

    def backward(self, dy):
        self._tick("backward")
        return dy


@pytest.mark.parametrize("where", ["forward", "backward"])
def test_an_exception_in_a_python_step_stops_the_epoch_before_its_update(where):
    """The layer raises in the third batch: fit raises that exception, and the weights
    are those after two batches (the failing batch updated nothing)."""
    X, y = data(n=60)

    def make():
        return Sequential([Dense(8), FailsAt(where, at=3), Dense(3)], seed=5)

    m = make()
    assert _kinds(m.build((5,))) == ["dense", "python", "dense"]
    with pytest.raises(RuntimeError, match=f"boom in {where}"):
        m.fit(X, y, epochs=1, batch_size=10, shuffle=False, optimizer="sgd", verbose=0)
    ref = make()
    ref.fit(X[:20], y[:20], epochs=1, batch_size=10, shuffle=False, optimizer="sgd",
            verbose=0)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        assert np.array_equal(a, b)
    # the plan is usable again: the next fit trains (the layer no longer raises)
    m.fit(X, y, epochs=1, batch_size=10, shuffle=False, optimizer="sgd", verbose=0)
    assert np.isfinite(m.evaluate(X, y)["loss"])


def test_predict_through_the_plan_calls_the_layer_in_inference_mode():
    class Noisy(Layer):
        def forward(self, x, training=False):
            self.modes = getattr(self, "modes", []) + [training]
            return x + 1.0 if training else x

        def backward(self, dy):
            return dy

    X, _ = data(n=7)
    m = Sequential([Dense(4), Noisy(), Dense(2)], seed=0).build((5,))
    W1, b1, W2, b2 = m.get_weights()
    np.testing.assert_allclose(m.predict(X), (X @ W1 + b1) @ W2 + b2, rtol=1e-5, atol=1e-6)
    assert not any(m.layers[1].modes[1:])  # after build's probe: inference only


def test_a_python_step_returning_a_wrong_shape_in_the_plan_is_named():
    class Shrinks(Layer):
        def output_shape(self, input_shape):
            return tuple(input_shape)

        def forward(self, x, training=False):
            return x[:, :-1] if training else x

        def backward(self, dy):
            return dy

    X, y = data(n=20)
    m = Sequential([Dense(4), Shrinks(name="shrinks"), Dense(3)], seed=0)
    with pytest.raises(ValueError, match="shrinks"):
        m.fit(X, y, epochs=1, batch_size=10, verbose=0)
