"""Embedding: the kernels (native vs numpy twin, both vs a textbook loop and np.add.at,
to the bit), thread-count independence, bad input; the Embedding layer (gradient by
finite differences, padding row, config) and models that take integer X (training on
both backends, predict, save/load).

The forward is a copy and the backward adds each gradient element's contributions in
the order of the indices in both twins, so every comparison of results is exact.
"""

import copy
import io
import json
import pickle
import re

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, TWINS, randn
from fastnn import (
    SGD,
    Adam,
    AdamW,
    Dense,
    Embedding,
    Flatten,
    RMSprop,
    Sequential,
    ops,
    reference,
)
from fastnn._kernels import KERNELS
from fastnn.layers import LAYERS, layer_from_config

pytestmark = pytest.mark.usefixtures("isa")

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]

# (V, D, index shape): odd sizes, D around the 16-column blocks of the backward, empty
# index arrays, 0-d, 1-d, 2-d and 3-d ones
CASES = [(1, 1, (5,)), (7, 3, ()), (7, 5, (9,)), (13, 17, (4, 6)), (5, 33, (2, 3, 4)),
         (3, 130, (11, 7)), (6, 4, (0,)), (6, 4, (0, 3)), (40, 16, (3, 5, 2))]


def _same(a, b, what=""):
    np.testing.assert_array_equal(a, b, err_msg=what, strict=True)


def _indices(rng, shape, v):
    """Indices with many repeats (v is small) and every row hit when there are enough."""
    return rng.integers(0, v, shape)


def _textbook_backward(dy, idx, v, padding_idx=None):
    """The definition, one index at a time, in dy's dtype."""
    d = dy.shape[-1]
    dw = np.zeros((v, d), dy.dtype)
    flat_dy = dy.reshape(-1, d)
    for s, r in enumerate(idx.reshape(-1)):
        if r != padding_idx:
            dw[r] += flat_dy[s]
    return dw


def test_kernel_list():
    assert KERNELS["embedding"] == ["embedding_forward", "embedding_backward"]


# ------------------------------------------------------------------ twins


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("v,d,shape", CASES, ids=str)
def test_twins_bitwise_and_by_hand(rng, v, d, shape, dtype):
    weight = randn(rng, (v, d), dtype)
    idx = _indices(rng, shape, v)
    out = ops.embedding_forward(idx, weight)
    _same(out, reference.embedding_forward(idx, weight))
    _same(out, weight[idx])
    assert out.shape == shape + (d,) and out.dtype == dtype
    dy = randn(rng, shape + (d,), dtype)
    for pad in (None, 0, v - 1):
        dw = ops.embedding_backward(dy, idx, v, padding_idx=pad)
        _same(dw, reference.embedding_backward(dy, idx, v, padding_idx=pad), f"pad {pad}")
        _same(dw, _textbook_backward(dy, idx, v, pad), f"pad {pad}")
        if pad is not None:
            assert not dw[pad].any()
    want = np.zeros((v, d), dtype)
    np.add.at(want, idx, dy)
    _same(ops.embedding_backward(dy, idx, v), want)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_repeated_indices_add_up(impl):
    weight = np.arange(12.0).reshape(4, 3)
    idx = np.array([[2, 2, 2], [0, 2, 3]])
    dy = np.ones((2, 3, 3))
    dy[1, 2] = 10.0
    dw = impl.embedding_backward(dy, idx, 4)
    _same(dw, np.array([[1.0] * 3, [0.0] * 3, [4.0] * 3, [10.0] * 3]))
    _same(impl.embedding_forward(idx, weight)[0], np.stack([weight[2]] * 3))


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_any_integer_dtype_floats_and_strided_indices(rng, impl, dtype):
    weight = randn(rng, (9, 5), dtype)
    idx = _indices(rng, (6, 4), 9)
    dy = randn(rng, (6, 4, 5), dtype)
    want_y, want_dw = weight[idx], _textbook_backward(dy, idx, 9)
    for alt in (idx.astype(np.int8), idx.astype(np.uint16), idx.astype(np.uint64),
                idx.astype(np.float32), idx.astype(np.float64), np.asfortranarray(idx),
                np.repeat(idx, 2, axis=1)[:, ::2]):
        _same(impl.embedding_forward(alt, weight), want_y, str(alt.dtype))
        _same(impl.embedding_backward(dy, alt, 9), want_dw, str(alt.dtype))


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_outputs_given_and_overwritten(rng, impl):
    weight = randn(rng, (5, 4), np.float32)
    idx = np.array([[4, 0], [1, 4]])
    out = np.full((2, 2, 4), np.nan, np.float32)
    assert impl.embedding_forward(idx, weight, out=out) is out
    _same(out, weight[idx])
    dy = randn(rng, (2, 2, 4), np.float32)
    dw = np.full((5, 4), np.nan, np.float32)  # whatever it held is replaced
    assert impl.embedding_backward(dy, idx, 5, dweight=dw, padding_idx=1) is dw
    _same(dw, _textbook_backward(dy, idx, 5, 1))


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_empty(impl):
    w = np.ones((3, 2))
    assert impl.embedding_forward(np.zeros((0, 4), np.int64), w).shape == (0, 4, 2)
    dw = impl.embedding_backward(np.zeros((0, 4, 2)), np.zeros((0, 4), np.int64), 3,
                                 dweight=np.full((3, 2), np.nan))
    _same(dw, np.zeros((3, 2)))
    # an empty table, and zero columns
    assert impl.embedding_forward(np.zeros(0, np.int64), np.zeros((0, 5))).shape == (0, 5)
    assert impl.embedding_backward(np.zeros((0, 5)), np.zeros(0, int), 0).shape == (0, 5)
    assert impl.embedding_forward(np.array([1, 2]), np.zeros((3, 0))).shape == (2, 0)
    assert impl.embedding_backward(np.zeros((2, 0)), np.array([1, 2]), 3).shape == (3, 0)


# ------------------------------------------------------------------ threads


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("v,d", [(50, 160), (3000, 48), (7, 1000)], ids=str)
def test_bitwise_across_threads(rng, restore_threads, v, d, dtype):
    n = 3 * GRAIN_CHEAP // d + 101  # above the grain: 2 and 3 threads do split
    idx = _indices(rng, (n,), v)
    weight = randn(rng, (v, d), dtype)
    dy = randn(rng, (n, d), dtype)

    def run():
        return (ops.embedding_forward(idx, weight),
                ops.embedding_backward(dy, idx, v, padding_idx=1))

    fastnn.set_num_threads(1)
    one = run()
    _same(one[1], reference.embedding_backward(dy, idx, v, padding_idx=1))
    for nt in (2, 3):
        fastnn.set_num_threads(nt)
        for a, b in zip(one, run()):
            _same(a, b, f"1 vs {nt} threads")


# ------------------------------------------------------------------ bad input


def raises_same(call, exc, match):
    msgs = []
    for impl in IMPLS:
        with pytest.raises(exc, match=match) as info:
            call(impl)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1], msgs


W = np.zeros((5, 3))
IDX = np.array([[0, 4], [2, 2]])
DY = np.zeros((2, 2, 3))


@pytest.mark.parametrize("call,exc,match", [
    (lambda M: M.embedding_forward(np.array([0, 5]), W), ValueError,
     re.escape("indices has index 5 outside [0, 5) for 5 embeddings")),
    (lambda M: M.embedding_forward(np.array([[0, -3]]), W), ValueError,
     re.escape("indices has index -3 outside [0, 5)")),
    (lambda M: M.embedding_backward(DY, IDX, 4), ValueError,
     re.escape("indices has index 4 outside [0, 4) for 4 embeddings")),
    (lambda M: M.embedding_forward(np.array([0.0, 2.5]), W), ValueError,
     "^indices must hold integer indices, got 2.5$"),
    (lambda M: M.embedding_forward(np.array([7.0]), W), ValueError,
     re.escape("indices has index 7 outside [0, 5)")),
    (lambda M: M.embedding_forward(np.array([np.inf]), W), ValueError,
     "^indices must hold integer indices, got inf$"),
    (lambda M: M.embedding_forward(np.array(["a"]), W), TypeError,
     "^indices must hold integer indices, got dtype <U1$"),
    (lambda M: M.embedding_forward(IDX, np.zeros(5)), ValueError,
     re.escape("weight must be 2-D, got shape (5,)")),
    (lambda M: M.embedding_forward(IDX, np.zeros((5, 3, 1))), ValueError, "weight must be 2-D"),
    (lambda M: M.embedding_forward(IDX, W.astype(np.int64)), TypeError,
     "weight must have dtype float32 or float64"),
    (lambda M: M.embedding_forward(IDX, np.asfortranarray(np.zeros((5, 3)))), ValueError,
     "weight must be C-contiguous"),
    (lambda M: M.embedding_forward(IDX, np.full((5, 3), np.nan)), ValueError,
     "^weight contains NaN or infinity$"),
    (lambda M: M.embedding_forward(IDX, W, out=np.zeros((2, 2, 3), np.float32)), TypeError,
     "^out must have dtype float64, got float32$"),
    (lambda M: M.embedding_forward(IDX, W, out=np.zeros((2, 3))), ValueError,
     re.escape("out must have shape (2, 2, 3), got (2, 3)")),
    (lambda M: M.embedding_backward(DY, IDX, 5, dweight=np.zeros((5, 3), np.float32)),
     TypeError, "^dweight must have dtype float64, got float32$"),
    (lambda M: M.embedding_backward(DY, IDX, 5, dweight=np.zeros((4, 3))), ValueError,
     re.escape("dweight must have shape (5, 3), got (4, 3)")),
    (lambda M: M.embedding_backward(np.zeros((2, 3)), IDX, 5), ValueError,
     re.escape("dy must have shape (2, 2, embedding_dim) for indices of shape (2, 2), "
               "got (2, 3)")),
    (lambda M: M.embedding_backward(np.zeros(3), np.array(1), 5, dweight=np.zeros((5, 2))),
     ValueError, re.escape("dweight must have shape (5, 3), got (5, 2)")),
    (lambda M: M.embedding_backward(np.zeros(()), np.array(1), 5), ValueError,
     re.escape("dy must have shape (embedding_dim,) for indices of shape (), got ()")),
    (lambda M: M.embedding_backward(np.where(DY == 0, np.nan, 0), IDX, 5), ValueError,
     "^dy contains NaN or infinity$"),
    (lambda M: M.embedding_backward(DY.astype(np.int32), IDX, 5), TypeError,
     "dy must have dtype float32 or float64"),
    (lambda M: M.embedding_backward(DY, IDX, 5.0), TypeError,
     "^num_embeddings must be an integer, got float$"),
    (lambda M: M.embedding_backward(DY, IDX, 5, padding_idx=-1), ValueError,
     "^padding_idx must be >= 0, got -1$"),
    (lambda M: M.embedding_backward(DY, IDX, 5, padding_idx=5), ValueError,
     re.escape("padding_idx must be < num_embeddings (5), got 5")),
    (lambda M: M.embedding_backward(DY, IDX, 5, dweight=DY), ValueError,
     re.escape("dweight must have shape (5, 3)")),
])
def test_bad_input(call, exc, match):
    raises_same(call, exc, match)


def test_written_array_sharing_memory_is_refused():
    w = np.zeros((4, 3))
    raises_same(lambda M: M.embedding_forward(np.array([0, 1, 2, 3]), w, out=w), ValueError,
                "^out must not share memory with weight$")
    dy = np.zeros((4, 3))
    raises_same(lambda M: M.embedding_backward(dy, np.array([0, 1, 2, 3]), 4, dweight=dy),
                ValueError, "^dweight must not share memory with dy$")


# ====================================================================== the layer


def test_layer_shapes_init_and_padding_row():
    emb = Embedding(1000, 64, padding_idx=3).build((5,), np.float32, np.random.default_rng(0))
    w = emb.params["weight"]
    assert w.shape == (1000, 64) and w.dtype == np.float32
    assert emb.output_shape((5,)) == (5, 64) and emb.output_shape(()) == (64,)
    assert emb.param_shapes((5,)) == {"weight": (1000, 64)}
    assert not w[3].any()
    assert abs(w.std() - 1.0) < 0.02 and abs(w.mean()) < 0.02  # N(0, 1), as PyTorch
    e2 = Embedding(10, 4, embeddings_init={"name": "normal", "std": 0.01})
    assert e2.build((1,), np.float64, np.random.default_rng(0)).params["weight"].std() < 0.05
    zeros = Embedding(10, 4, embeddings_init="zeros").build((1,), np.float64)
    _same(zeros.params["weight"], np.zeros((10, 4)))
    assert Embedding(10, 4, padding_idx=-1).padding_idx == 9  # from the end, as PyTorch


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"num_embeddings": 0, "embedding_dim": 3}, ValueError, "num_embeddings must be >= 1"),
    ({"num_embeddings": 5, "embedding_dim": 0}, ValueError, "embedding_dim must be >= 1"),
    ({"num_embeddings": 5.0, "embedding_dim": 3}, TypeError, "num_embeddings must be an int"),
    ({"num_embeddings": 5, "embedding_dim": 3, "padding_idx": 5}, ValueError,
     re.escape("padding_idx must lie in [-5, 5) for 5 embeddings, got 5")),
    ({"num_embeddings": 5, "embedding_dim": 3, "padding_idx": -6}, ValueError, "padding_idx"),
    ({"num_embeddings": 5, "embedding_dim": 3, "embeddings_init": "bogus"}, ValueError,
     "unknown initializer 'bogus' for embeddings_init"),
])
def test_layer_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Embedding(**kwargs)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("shape", [(4,), (4, 3), (2, 3, 2)], ids=str)
def test_layer_forward_backward(rng, impl, shape):
    emb = Embedding(6, 5, padding_idx=0)
    emb._ops = impl
    x = _indices(rng, shape, 6)
    y = emb.forward(x, training=True)
    w = emb.params["weight"]
    assert y.shape == shape + (5,) and y.dtype == np.float32
    _same(y, w[x])
    dy = randn(rng, y.shape, np.float32)
    assert emb.backward(dy) is None
    _same(emb.grads["weight"], _textbook_backward(dy, x, 6, 0))
    # floats holding whole numbers work as indices too
    _same(emb.forward(x.astype(np.float64)), w[x])


def test_layer_forward_errors():
    emb = Embedding(6, 5)
    with pytest.raises(RuntimeError, match="needs a forward"):
        emb.backward(np.zeros((1, 5), np.float32))
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        emb.forward([1, 2])
    emb.forward(np.array([[1, 2]]))
    with pytest.raises(ValueError, match=re.escape("built for inputs of shape (N, 2)")):
        emb.forward(np.array([[1, 2, 3]]))
    with pytest.raises(ValueError, match=re.escape("indices has index 6 outside [0, 6)")):
        emb.forward(np.array([[1, 6]]))


def test_config_round_trip_repr_and_registry():
    emb = Embedding(50, 8, padding_idx=2, embeddings_init="uniform", name="tok",
                    trainable=False)
    cfg = emb.get_config()
    assert cfg == {"class": "Embedding", "name": "tok", "trainable": False,
                   "num_embeddings": 50, "embedding_dim": 8, "padding_idx": 2,
                   "embeddings_init": "uniform"}
    assert json.loads(json.dumps(cfg)) == cfg
    clone = layer_from_config(cfg)
    assert type(clone) is Embedding and clone.get_config() == cfg
    assert repr(emb) == ("Embedding(50, 8, padding_idx=2, embeddings_init='uniform', "
                         "name='tok', trainable=False)")
    assert repr(Embedding(5, 3)) == "Embedding(5, 3)"
    assert LAYERS["Embedding"] is Embedding
    assert "Embedding" in fastnn.__all__ and fastnn.Embedding is Embedding
    assert Embedding.takes_indices and not Dense.takes_indices


def _tiny_model(backend, padding_idx=None, seed=0):
    return Sequential([Embedding(7, 3, padding_idx=padding_idx), Flatten(),
                       Dense(4, activation="tanh"), Dense(2)], seed=seed, dtype="float64",
                      backend=backend)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_weight_gradient_by_finite_differences(rng, backend):
    X = _indices(rng, (5, 4), 7)
    X[0, :2] = 3  # a repeated index within a sample
    y = rng.standard_normal((5, 2))
    model = _tiny_model(backend)
    _, grads = model.loss_and_gradients(X, y, loss="mse")
    w = model.layers[0].params["weight"]
    g = grads[0]
    assert g.shape == w.shape
    h = 1e-6
    num = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        old = w[i]
        w[i] = old + h
        up = model.loss_and_gradients(X, y, loss="mse")[0]
        w[i] = old - h
        down = model.loss_and_gradients(X, y, loss="mse")[0]
        w[i] = old
        num[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)
    unseen = sorted(set(range(7)) - set(X.ravel().tolist()))
    assert not g[unseen].any()  # dense, nonzero only in the rows of the indices seen


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_padding_row_gets_no_gradient_and_stays_zero(rng, backend):
    X = _indices(rng, (64, 4), 7)
    X[:, 0] = 2  # the padding index is in every sample
    y = rng.integers(0, 2, 64)
    for opt in (Adam(lr=0.05, weight_decay=0.1), AdamW(lr=0.05, weight_decay=0.1),
                SGD(lr=0.1, momentum=0.9, weight_decay=0.1), RMSprop(lr=0.01, momentum=0.5)):
        model = _tiny_model(backend, padding_idx=2)
        assert model.loss_and_gradients(X, y)[1][0][2].tolist() == [0.0] * 3
        model.fit(X, y, epochs=2, batch_size=16, optimizer=opt, verbose=0)
        w = model.layers[0].params["weight"]
        assert not w[2].any(), type(opt).__name__
        assert np.abs(w).sum() > 0


def test_weight_decay_reaches_the_table(rng):
    """``weight`` is a weight, not a bias: decay_biases=False still decays it (rows no
    batch selects shrink by exactly the decoupled decay)."""
    X = _indices(rng, (32, 3), 5)  # rows 5 and 6 never selected
    y = rng.integers(0, 2, 32)
    model = _tiny_model("native")
    model.build((3,))
    before = model.layers[0].params["weight"].copy()
    model.fit(X, y, epochs=1, batch_size=32, verbose=0, shuffle=False,
              optimizer=AdamW(lr=0.1, weight_decay=0.5, decay_biases=False))
    after = model.layers[0].params["weight"]
    np.testing.assert_allclose(after[5:], before[5:] * (1 - 0.1 * 0.5), rtol=1e-12)


# ====================================================================== models


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 50, (n, 6))
    y = ((X[:, 0] % 3 == 0) | (X[:, 3] < 10)).astype(np.int64)  # additive in the two codes
    return X, y


def _model(backend):
    return Sequential([Embedding(50, 8), Flatten(), Dense(2)], seed=1, backend=backend)


def test_model_trains_on_integer_X_with_both_backends_alike():
    X, y = _data()
    models, losses = {}, {}
    for backend in ("native", "reference"):
        model = models[backend] = _model(backend)
        losses[backend] = model.fit(X, y, epochs=8, batch_size=32, optimizer=Adam(lr=0.02),
                                    verbose=0).history["loss"]
        assert losses[backend][-1] < 0.5 * losses[backend][0], losses[backend]
        assert (model._plan is not None) == (backend == "native")  # the plan's embedding step
        assert model.evaluate(X, y)["accuracy"] > 0.9
    np.testing.assert_allclose(losses["native"], losses["reference"], rtol=1e-4)
    for (_, k, a), (_, _, b) in zip(models["native"].params, models["reference"].params):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4, err_msg=k)


def test_predict_with_integer_and_float_X():
    X, y = _data(64)
    model = _model("native")
    model.fit(X, y, epochs=1, verbose=0)
    out = model.predict(X)
    assert out.shape == (64, 2) and out.dtype == np.float32
    assert model._infer_plan is not None  # the inference plan's embedding step
    emb = model.layers[0].params["weight"]
    w, b = model.layers[2].params["W"], model.layers[2].params["b"]
    np.testing.assert_allclose(out, emb[X].reshape(64, -1) @ w + b, rtol=1e-5, atol=1e-5)
    for alt in (X.astype(np.uint8), X.astype(np.int32), X.astype(np.float32), X.tolist()):
        _same(model.predict(alt), out)
    # (a 1-row batch takes another product kernel: rounding may differ)
    np.testing.assert_allclose(model.predict(X, batch_size=7), out, rtol=1e-6, atol=1e-6)
    _same(model.predict_classes(X), out.argmax(axis=1))
    ev = model.evaluate(X.astype(np.int16), y)
    assert set(ev) == {"loss", "accuracy"}


def test_bad_X_is_refused_before_training():
    X, y = _data(64)
    model = _model("native")
    model.fit(X, y, epochs=1, verbose=0)
    before = model.get_weights()
    bad = X.astype(np.float64)
    bad[5, 2] = 1.5
    with pytest.raises(ValueError, match="^X must hold integer indices, got 1.5$"):
        model.fit(bad, y, epochs=1, verbose=0)
    big = X.copy()
    big[40, 1] = 50
    with pytest.raises(ValueError, match=re.escape("X has index 50 outside [0, 50) for 50 "
                                                   "embeddings")):
        model.fit(big, y, epochs=1, verbose=0)
    neg = X.copy()
    neg[3, 3] = -1
    with pytest.raises(ValueError, match=re.escape("X has index -1 outside [0, 50)")):
        model.predict(neg)
    with pytest.raises(TypeError, match="X must hold integer indices, got dtype bool"):
        model.predict(X > 3)
    with pytest.raises(ValueError, match=re.escape("X is empty (0 rows)")):
        model.predict(X[:0])
    with pytest.raises(ValueError, match="X has 5 features per sample but the model expects 6"):
        model.predict(X[:, :5])
    with pytest.raises(ValueError, match="validation_data X has index 50"):
        model.fit(X, y, epochs=1, verbose=0, validation_data=(big, y))
    for a, b in zip(before, model.get_weights()):
        _same(a, b)


def test_one_index_per_sample_and_frozen_table():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 10, 200)  # (N,): one category per sample
    y = (X % 3 == 0).astype(np.int64)
    model = Sequential([Embedding(10, 4, name="cat"), Dense(2)], seed=0)
    model.fit(X, y, epochs=30, batch_size=20, optimizer=Adam(lr=0.05), verbose=0)
    assert model.evaluate(X, y)["accuracy"] == 1.0
    assert model.predict(X[:3]).shape == (3, 2)
    frozen = Sequential([Embedding(10, 4, trainable=False), Dense(2)], seed=0)
    frozen.build(())
    table = frozen.layers[0].params["weight"].copy()
    dense = frozen.layers[1].params["W"].copy()
    frozen.fit(X, y, epochs=2, verbose=0)
    _same(frozen.layers[0].params["weight"], table)
    assert not np.array_equal(frozen.layers[1].params["W"], dense)
    out = io.StringIO()
    frozen.summary(file=out)
    assert re.search(r"embedding_1 \(Embedding\)\s+\(None, 4\)\s+40\s+frozen", out.getvalue())


def test_save_load_round_trip(tmp_path):
    X, y = _data(96)
    model = Sequential([Embedding(50, 8, padding_idx=0), Flatten(), Dense(2)], seed=2)
    model.fit(X, y, epochs=2, verbose=0, optimizer=Adam(lr=0.01))
    path = tmp_path / "emb.fnn"
    model.save(path)
    loaded = fastnn.load(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    _same(loaded.predict(X), model.predict(X))
    # training resumes identically (same weights, optimizer state and RNG)
    model.fit(X, y, epochs=1, verbose=0, optimizer=model.optimizer)
    loaded.fit(X, y, epochs=1, verbose=0, optimizer=loaded.optimizer)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        _same(a, b)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        _same(clone.predict(X), model.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layers", [
    lambda: [Embedding(30, 5), Flatten(), Dense(3)],
    lambda: [Embedding(30, 6, padding_idx=0), fastnn.LSTM(8, mask_value=0.0), Dense(3)],
    lambda: [Embedding(30, 6, trainable=False), fastnn.GRU(4), Dense(3)],
], ids=["flatten", "padded-lstm", "frozen"])
def test_the_fused_plan_runs_embedding_models_bit_for_bit(layers, dtype):
    """The plan's embedding step reads X's indices in the model's dtype (exact) and forms
    dW with the layer's own kernel: the fused and per-layer paths agree to the bit,
    padding (index 0, zero rows masked by the LSTM) included."""
    rng = np.random.default_rng(0)
    X = rng.integers(1, 30, (90, 7))
    X[::4, 4:] = 0
    y = rng.integers(0, 3, 90)
    runs = []
    for fused in (True, False):
        model = Sequential(layers(), seed=1, dtype=dtype)
        model.fused = fused
        hist = model.fit(X, y, epochs=3, batch_size=16, optimizer=Adam(lr=0.01), verbose=0)
        runs.append((model, hist.history["loss"]))
    (m1, l1), (m2, l2) = runs
    assert m1._plan is not None and m2._plan is None
    assert l1 == l2
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m1.predict(X), m2.predict(X))
