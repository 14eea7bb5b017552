"""Pickle and deep copies of models and their parts (fastnn/_pickling.py).

A trained model round-trips exactly -- its predictions, and a continued fit (weights,
optimizer state and step counter, the model's RNG) -- through pickle and copy.deepcopy,
on both backends, and unpickles in a spawned process, so joblib's and multiprocessing's
process backends can take it. (Before: TypeError: cannot pickle 'module' object.)
"""

import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import fastnn
from fastnn import callbacks, optimizers
from fastnn.layers import Dense, Dropout, Flatten
from fastnn.layers_block import BatchNorm
from fastnn.layers_conv import Conv2D, MaxPool2D


def _data(rng, image=False):
    X = rng.random((96, 1, 10, 10) if image else (96, 12)).astype(np.float32)
    return X, rng.integers(0, 3, 96)


def _dense_model(backend):
    return fastnn.Sequential([Dense(16, activation="relu"), BatchNorm(), Dropout(0.2),
                              Dense(3)], seed=3, backend=backend)


def _conv_model(backend):
    return fastnn.Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(),
                              Dense(3)], seed=3, backend=backend)


def _params(model):
    return [p for layer in model.layers for p in layer.params.values()]


def _fit(model, X, y, epochs, optimizer):
    model.fit(X, y, epochs=epochs, batch_size=16, verbose=0, loss="cross_entropy",
              optimizer=optimizer)


@pytest.mark.parametrize("make", [_dense_model, _conv_model], ids=["dense", "conv"])
@pytest.mark.parametrize("backend", ["native", "reference"])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_round_trip_is_exact(rng, make, backend, how):
    X, y = _data(rng, image=make is _conv_model)
    model = make(backend)
    _fit(model, X, y, 2, optimizers.Adam(lr=1e-2))
    twin = pickle.loads(pickle.dumps(model)) if how == "pickle" else copy.deepcopy(model)
    assert twin._ops is model._ops  # the backend module itself, imported again
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))
    # both continue from the same optimizer state, step count and RNG: same bits
    _fit(model, X, y, 2, model.optimizer)
    _fit(twin, X, y, 2, twin.optimizer)
    assert twin.optimizer.iterations == model.optimizer.iterations
    for a, b in zip(_params(twin), _params(model)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))


def test_copies_are_independent(rng):
    X, y = _data(rng)
    model = _dense_model("native")
    _fit(model, X, y, 1, optimizers.SGD(lr=0.1, momentum=0.9))
    before = model.predict(X)
    twin = copy.deepcopy(model)
    _fit(twin, X, y, 2, twin.optimizer)
    np.testing.assert_array_equal(model.predict(X), before)
    assert not np.array_equal(twin.predict(X), before)


def test_unbuilt_model_and_parts(rng):
    X, y = _data(rng)
    unbuilt = pickle.loads(pickle.dumps(_dense_model("native")))
    assert not unbuilt.built
    _fit(unbuilt, X, y, 1, "adam")  # trains like a fresh one
    model = _dense_model("native")
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    model.fit(X, y, epochs=3, batch_size=16, verbose=0, loss="cross_entropy",
              optimizer=optimizers.RMSprop(lr=1e-3),
              callbacks=[stop, callbacks.StepDecay(1, 0.5)])
    for part in [stop, model.history, model.loss, model.optimizer, *model.layers]:
        clone = pickle.loads(pickle.dumps(part))
        assert type(clone) is type(part)


def _predict_in_child(blob, X):
    return pickle.loads(blob).predict(X)


def test_spawned_process_predicts_the_same(rng):
    X, y = _data(rng)
    model = _dense_model("native")
    _fit(model, X, y, 1, "adam")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        got = pool.submit(_predict_in_child, pickle.dumps(model), X).result(timeout=120)
    np.testing.assert_array_equal(got, model.predict(X))
