"""The native plans follow the layers: a parameter array replaced after the first
predict or fit (``layer.params["W"] = W_new``, the textbook way to load pretrained
weights) and a ``trainable`` flag changed between fits are seen by the next call, as the
per-layer path sees them. (Before: predict and fit kept the arrays the plans were built
with.)"""

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Flatten
from fastnn.layers_conv import Conv2D, MaxPool2D


def _model(kind):
    if kind == "dense":
        return fastnn.Sequential([Dense(7, activation="relu"), Dense(3)], seed=1)
    return fastnn.Sequential([Conv2D(3, 3, activation="relu"), MaxPool2D(2), Flatten(),
                              Dense(3)], seed=1)


def _data(rng, kind):
    X = rng.random((48, 1, 8, 8) if kind == "conv" else (48, 6)).astype(np.float32)
    return X, rng.integers(0, 3, 48)


def _fit(model, X, y):
    model.fit(X, y, epochs=1, batch_size=16, verbose=0, loss="cross_entropy",
              optimizer=fastnn.optimizers.SGD(lr=0.1))


def _per_layer_predict(model, X):
    model.fused = False
    try:
        return model.predict(X)
    finally:
        model.fused = True


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_replaced_parameters_reach_predict_and_fit(rng, kind):
    X, y = _data(rng, kind)
    model = _model(kind)
    _fit(model, X, y)
    model.predict(X)  # the inference plan now exists
    for layer in model.layers:
        for key, old in list(layer.params.items()):
            layer.params[key] = rng.standard_normal(old.shape).astype(old.dtype)
    got = model.predict(X)
    np.testing.assert_allclose(got, _per_layer_predict(model, X), rtol=1e-5, atol=1e-5)
    # fit trains the new arrays (in place), not the ones the training plan was built with
    new = [a for layer in model.layers for a in layer.params.values()]
    before = [a.copy() for a in new]
    _fit(model, X, y)
    assert all(a is b for a, b in zip(new, (p for lyr in model.layers for p in lyr.params.values())))
    assert any(not np.array_equal(a, b) for a, b in zip(new, before))
    np.testing.assert_allclose(model.predict(X), _per_layer_predict(model, X), rtol=1e-5,
                               atol=1e-5)


def test_whole_dict_and_trainable_flag(rng):
    X, y = _data(rng, "dense")
    model = _model("dense")
    _fit(model, X, y)
    model.predict(X)
    first = model.layers[0]
    first.params = {k: np.zeros_like(v) for k, v in first.params.items()}
    assert isinstance(first.params, dict)
    np.testing.assert_allclose(model.predict(X), _per_layer_predict(model, X), rtol=1e-5,
                               atol=1e-6)
    # frozen after a fit: the next fit leaves it alone
    first.trainable = False
    frozen = [a.copy() for a in first.params.values()]
    _fit(model, X, y)
    for a, b in zip(first.params.values(), frozen):
        np.testing.assert_array_equal(a, b)
