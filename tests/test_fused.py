"""The fused native plan (fastnn._fused / src_c/plan.c) against the per-layer Python path.

Both must produce the same weights, optimizer state, dropout counters and history for
every layer, loss, optimizer and option the plan supports. They run the same kernels in
the same order, so the comparison is exact (bit for bit) unless stated otherwise.
"""

import numpy as np
import pytest

import fastnn
from fastnn import (SGD, ELU, GELU, Adam, AdamW, Dense, Dropout, Flatten, LeakyReLU, RMSprop,
                    Residual, Sequential, Sigmoid, Softmax, Tanh)
from fastnn.errors import TrainingDivergedError


def _data(n=150, d=12, classes=4, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (np.abs(X[:, :classes]).argmax(axis=1)).astype(np.int64)
    return X, y


def _train(build, fused, X, y, **fit):
    model = build()
    model.fused = fused
    # optimizers and callbacks carry state: each run gets fresh ones from their factories
    for key in ("optimizer", "callbacks"):
        if callable(fit.get(key)):
            fit[key] = fit[key]()
    hist = model.fit(X, y, verbose=0, **fit)
    return model, hist.history


def _assert_same(build, X, y, exact=True, **fit):
    """Fused and per-layer training agree bit for bit (exact), or to float32 rounding
    where the two run different products (exact=False: see test_sparse_inputs_mnist_like)."""
    m1, h1 = _train(build, True, X, y, **fit)
    m2, h2 = _train(build, False, X, y, **fit)
    assert m1._plan is not None and m2._plan is None  # each took the path it should
    same = (np.testing.assert_array_equal if exact else
            lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6))
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        same(a, b)
    assert m1.optimizer.iterations == m2.optimizer.iterations
    for s1, s2 in zip(m1.optimizer.state, m2.optimizer.state):
        for k in s1:
            same(s1[k], s2[k])
    assert [getattr(l, "offset", None) for l in m1.layers] == \
        [getattr(l, "offset", None) for l in m2.layers]
    assert h1.keys() == h2.keys()
    for k in h1:
        np.testing.assert_allclose(h1[k], h2[k], rtol=1e-12 if exact else 1e-5)
    return m1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", [
    lambda: SGD(lr=0.1), lambda: SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: Adam(lr=0.01), lambda: Adam(lr=0.01, amsgrad=True, weight_decay=1e-3),
    lambda: AdamW(lr=0.01), lambda: RMSprop(lr=0.01),
    lambda: RMSprop(lr=0.005, momentum=0.5, centered=True),
], ids=["sgd", "sgd-nesterov-wd", "adam", "adam-amsgrad-l2", "adamw", "rmsprop",
        "rmsprop-centered-momentum"])
def test_every_optimizer(dtype, optimizer):
    X, y = _data(dtype=dtype)
    build = lambda: Sequential([Dense(16, activation="tanh"), Dropout(0.25), Dense(4),  # noqa: E731
                                Softmax()], seed=7, dtype=dtype)
    _assert_same(build, X, y, epochs=2, batch_size=16, optimizer=optimizer,
                 validation_split=0.2)


@pytest.mark.parametrize("layers", [
    lambda: [Dense(10, activation="relu"), Dense(4)],                              # logits
    lambda: [Dense(10, activation="sigmoid"), Dense(4, activation="softmax")],   # fold dense
    lambda: [Dense(10), LeakyReLU(0.2), Dense(10), ELU(0.7), Dense(4), Softmax()],
    lambda: [Flatten(), Dense(9, activation="gelu"), GELU(), Dense(4)],
    lambda: [Dense(8, use_bias=False), Tanh(), Dropout(0.5), Dense(4, use_bias=False)],
], ids=["relu-logits", "dense-softmax", "leaky-elu", "flatten-gelu", "no-bias-dropout"])
def test_every_layer_kind(layers):
    X, y = _data(dtype=np.float64)
    _assert_same(lambda: Sequential(layers(), seed=1, dtype="float64"), X, y, epochs=2,
                 batch_size=13, optimizer="adam")


def test_probability_targets_and_sample_weights():
    X, y = _data()
    P = np.eye(4, dtype=np.float32)[y] * 0.9 + 0.025
    sw = np.random.default_rng(3).random(len(X))
    sw[:20] = 0  # the first batch (unshuffled) has weight 0: both paths skip it
    build = lambda: Sequential([Dense(8, activation="relu"), Dense(4)], seed=2)  # noqa: E731
    _assert_same(build, X, P, epochs=2, batch_size=20, sample_weight=sw, shuffle=False)
    _assert_same(build, X, y, epochs=2, batch_size=20, sample_weight=sw)


@pytest.mark.parametrize("loss", ["mse", "squared_error"])
def test_squared_losses_with_one_hot_from_labels(loss):
    X, y = _data()
    build = lambda: Sequential([Dense(8, activation="sigmoid"), Dense(4, activation="sigmoid")],  # noqa: E731
                               seed=4)
    _assert_same(build, X, y, epochs=2, batch_size=10, loss=loss, optimizer=lambda: SGD(lr=3.0))


def test_binary_cross_entropy_one_and_several_outputs():
    X, y = _data()
    yb = (y % 2).astype(np.float32)
    build1 = lambda: Sequential([Dense(6, activation="elu"), Dense(1), Sigmoid()], seed=5)  # noqa: E731
    _assert_same(build1, X, yb, epochs=2, batch_size=16, loss="binary_cross_entropy")
    Y2 = np.stack([yb, 1 - yb, (y > 1).astype(np.float32)], axis=1)
    build2 = lambda: Sequential([Dense(6, activation="relu"), Dense(3)], seed=5)  # noqa: E731
    _assert_same(build2, X, Y2, epochs=2, batch_size=16, loss="binary_cross_entropy")


def test_frozen_layers():
    X, y = _data()

    def build():
        m = Sequential([Dense(8, activation="relu"), Dense(8, activation="relu"), Dense(4)], seed=6)
        m.build((X.shape[1],))
        m.layers[0].trainable = False
        m.layers[2].trainable = False
        return m

    m = _assert_same(build, X, y, epochs=2, batch_size=16)
    before = build()
    np.testing.assert_array_equal(m.layers[0].params["W"], before.layers[0].params["W"])
    assert not np.array_equal(m.layers[1].params["W"], before.layers[1].params["W"])


def test_resumed_fit_with_schedule_and_threads(restore_threads):
    X, y = _data()
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        build = lambda: Sequential([Dense(16, activation="relu"), Dropout(0.1), Dense(4)], seed=8)  # noqa: E731
        _assert_same(build, X, y, epochs=3, batch_size=16,
                     optimizer=lambda: SGD(lr=0.1, momentum=0.9),
                     callbacks=lambda: [fastnn.StepDecay(1, gamma=0.5)])


def test_divergence_restores_last_good_epoch_on_both_paths():
    X, y = _data()
    results = []
    for fused in (True, False):
        m = Sequential([Dense(8, activation="relu"), Dense(4)], seed=9)
        m.fused = fused
        m.fit(X, y, epochs=1, batch_size=16, optimizer=SGD(lr=0.01), verbose=0)
        good = m.get_weights()
        with pytest.raises(TrainingDivergedError):
            m.fit(X * 1e30, y, epochs=2, batch_size=16, optimizer=SGD(lr=1e30), verbose=0)
        for a, b in zip(m.get_weights(), good):
            np.testing.assert_array_equal(a, b)
        results.append(m.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_reference_backend_never_uses_the_plan():
    X, y = _data()
    m = Sequential([Dense(4)], seed=1, backend="reference")
    m.fit(X, y, epochs=1, verbose=0)
    assert m._plan is None


class _Softsign(fastnn.Layer):
    """A user's layer computing in Python: y = x / (1 + |x|) (the plan calls it back)."""

    def _forward(self, x, training):
        self._x = x
        return x / (1 + np.abs(x))

    def backward(self, dy):
        return dy / (1 + np.abs(self._x)) ** 2


class _NoSteps(_Softsign):
    """A user's layer that says it has no plan step (plan_steps returns None)."""

    def plan_steps(self, trainable=True):
        return None


class _TwoReLU(fastnn.Layer):
    """A user's layer made of existing step kinds: relu(relu(x)) (its plan_steps)."""

    def _forward(self, x, training):
        self._x = x
        return np.maximum(x, 0)

    def backward(self, dy):
        return np.where(self._x > 0, dy, 0).astype(dy.dtype)

    def plan_steps(self, trainable=True):
        return fastnn.layers.activation_steps("relu", None) * 2


def test_plan_steps_decide_the_path():
    """Each layer says what plan steps compute it (Layer.plan_steps); a model with a
    layer that has none trains on the per-layer path and says which layer it is."""
    from fastnn import _fused

    X, y = _data()
    m = Sequential([Dense(6), _NoSteps(name="soft"), Dense(4)], seed=1)
    m.fit(X, y, epochs=1, verbose=0)
    assert m._plan is None
    assert _fused.unsupported_reason(m) == "layer soft (_NoSteps) has no fused step yet"
    inner = Residual([Dense(12), _NoSteps(name="deep")])
    m = Sequential([inner, Dense(4)], seed=1)
    m.build((12,))
    assert "layer deep (_NoSteps)" in _fused.unsupported_reason(m)
    assert inner.plan_steps() is None
    # a layer computing in Python: a python step, the plan calling back into its methods,
    # bit for bit as the per-layer path -- also inside a residual block
    m = _assert_same(lambda: Sequential([Dense(6), _Softsign(), Dense(4)], seed=1), X, y,
                     epochs=2, optimizer=lambda: Adam(lr=0.01))
    assert [s["kind"] for s in _fused._steps(m)] == ["dense", "python", "dense"]
    m = _assert_same(lambda: Sequential([Dense(12), Residual([Dense(12), _Softsign()]),
                                         Dense(4)], seed=1), X, y, epochs=2,
                     optimizer=lambda: Adam(lr=0.01))
    assert "python" in [s["kind"] for s in _fused._steps(m)]
    # steps of existing kinds: the plan runs the layer, bit for bit as its own methods
    m = _assert_same(lambda: Sequential([Dense(6), _TwoReLU(), Dense(4)], seed=1), X, y,
                     epochs=2, optimizer=lambda: Adam(lr=0.01))
    assert [s["kind"] for s in _fused._steps(m)] == ["dense", "activation", "activation",
                                                     "dense"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_through_the_inference_plan_equals_the_layers(dtype):
    X, y = _data(n=300, dtype=dtype)
    m = Sequential([Flatten(), Dense(16, activation="elu"), Dropout(0.3), Dense(8), Tanh(),
                    Dense(4), Softmax()], seed=3, dtype=dtype)
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    for rows in (X[:1], X[:2], X[:3], X):  # 1-2 rows take fastnn's small GEMM kernel
        native = m.predict(rows)
        assert m._infer_plan is not None
        m.fused = False
        layers = m.predict(rows)
        m.fused = True
        np.testing.assert_allclose(native, layers, rtol=1e-5 if dtype == np.float32 else 1e-13,
                                   atol=1e-6 if dtype == np.float32 else 1e-14)
    # weights changed in place (another fit) are seen by the cached plan
    before = m.predict(X[:5])
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    after = m.predict(X[:5])
    m.fused = False
    np.testing.assert_allclose(after, m.predict(X[:5]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(before, after)


def test_plan_rejects_arrays_that_do_not_match_it():
    """The C loop trusts its pointers; the Cython boundary checks everything first."""
    X, y = _data(n=40)
    m = Sequential([Dense(8, activation="relu"), Dense(4)], seed=1)
    m.fit(X, y, epochs=1, batch_size=8, verbose=0)
    plan = m._plan
    perm = np.arange(40, dtype=np.intp)
    labels = y.astype(np.intp)
    plan.train(X, labels, None, perm, 0, 5)  # the good call works
    bad_calls = [
        (X.astype(np.float64), labels, None, perm),          # dtype
        (X[:, :5].copy(), labels, None, perm),               # features
        (X, labels[:30], None, perm),                        # label count
        (X, labels + 4, None, perm),                         # label out of range
        (X, labels, None, perm + 1),                         # index past the rows
        (X, labels, None, perm.astype(np.int32)),            # index dtype
        (X, labels, np.ones(40, np.float32), perm),          # weights the plan has no room for
        (X[:, ::2], labels, None, perm),                     # not contiguous
    ]
    for args in bad_calls:
        with pytest.raises(ValueError):
            plan.train(*args, 0, 5)
    with pytest.raises(ValueError):
        plan.train(X, labels, None, perm, 3, 1)


def test_plan_checks_the_indices_of_the_batches_it_runs():
    """A call for a range of batches scans the indices those batches read (perm's
    entries in the range, the labels they pick), so that an epoch run a batch per call
    costs no more checking than one call; every index the C loop uses is still checked."""
    X, y = _data(n=40)
    m = Sequential([Dense(8, activation="relu"), Dense(4)], seed=1)
    m.fit(X, y, epochs=1, batch_size=8, verbose=0)
    plan = m._plan
    labels = y.astype(np.intp)
    perm = np.arange(40, dtype=np.intp)
    perm[35] = 40  # past the rows, in batch 4
    plan.train(X, labels, None, perm, 0, 4)  # batches 0-3 never read it
    with pytest.raises(ValueError, match="perm"):
        plan.train(X, labels, None, perm, 4, 5)
    with pytest.raises(ValueError, match="perm"):
        plan.train(X, labels, None, perm, 0, 2**62)  # a huge range: no overflow
    perm[35] = 35
    bad = labels.copy()
    bad[perm[20]] = 4  # out of range, picked by batch 2
    plan.train(X, bad, None, perm, 3, 5)
    for first, last in ((2, 3), (0, 5), (1, 2**62)):
        with pytest.raises(ValueError, match="labels"):
            plan.train(X, bad, None, perm, first, last)
    assert plan.train(X, labels, None, perm, 5, 2**62)[2] == 0  # past the end: no rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("batch_size", [10, 32, 64, 65, 200, 257])
@pytest.mark.parametrize("optimizer", [lambda: SGD(lr=0.5), lambda: SGD(lr=0.1, momentum=0.9),
                                       lambda: Adam(lr=0.01)], ids=["sgd", "momentum", "adam"])
def test_sparse_inputs_mnist_like(batch_size, optimizer, threads, dtype, restore_threads):
    # Mostly-zero inputs with an all-zero border, like MNIST: where a gemm variant runs,
    # in either dtype, the plan's first layer runs over the batch's active columns (and fuses the SGD / Adam
    # update into its weight gradient) for batches of up to 128 rows, and up to 256 rows on
    # one thread; larger batches take BLAS (a 30-unit layer: whole rows). The per-layer
    # path runs the same kernels up to 64 rows (FNN_GEMM_MAX_ROWS): same bits. Between 65
    # and 256 rows its products go to BLAS, which sums in its own order (OpenBLAS's
    # AVX-512 kernels happen to match fastnn's, its AVX2 ones do not): same to rounding.
    from fastnn.ops.matmul import own_kernels

    fastnn.set_num_threads(threads)
    nt = fastnn._runtime._get_native_threads()
    cols = own_kernels() and (batch_size <= 128 or (batch_size <= 256 and nt == 1))
    rng = np.random.default_rng(11)
    X = rng.random((600, 64)).astype(dtype)
    X[X < 0.7] = 0
    X[:, :12] = 0
    y = rng.integers(0, 5, 600)
    build = lambda: Sequential([Dense(30, activation="sigmoid"), Dense(5)], seed=12,  # noqa: E731
                               dtype=dtype)
    _assert_same(build, X, y, exact=not (cols and batch_size > 64), epochs=2,
                 batch_size=batch_size, optimizer=optimizer)
    # the all-zero columns never move under plain SGD
    m = _train(build, True, X, y, epochs=1, batch_size=batch_size, optimizer=optimizer)[0]
    if isinstance(m.optimizer, SGD) and m.optimizer.momentum == 0:
        np.testing.assert_array_equal(m.layers[0].params["W"][:12], _initial_w0(build))


def _initial_w0(build):
    m = build()
    m.build((64,))
    return m.layers[0].params["W"][:12]


def _mnist_like(n, d=100, border=20, seed=11, dtype=np.float32):
    """Mostly-zero rows whose first `border` columns are zero in every row."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)).astype(dtype)
    X[X < 0.7] = 0
    X[:, :border] = 0
    return X, rng.integers(0, 5, n)


def _assert_close(m1, m2, dtype):
    tol = dict(rtol=2e-4, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, **tol)
    for s1, s2 in zip(m1.optimizer.state, m2.optimizer.state):
        for k in s1:
            np.testing.assert_allclose(s1[k], s2[k], **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads,batch_size", [(1, 300), (2, 200), (2, 333)])
@pytest.mark.parametrize("optimizer", [lambda: SGD(lr=0.5), lambda: SGD(lr=0.1, momentum=0.9),
                                       lambda: Adam(lr=0.01)], ids=["sgd", "momentum", "adam"])
def test_compact_first_layer(dtype, threads, batch_size, optimizer, restore_threads):
    # Batches past the active-column kernels (over 256 rows, or over 128 on two
    # threads), in either dtype, with a first layer of at least 64 units: the plan packs
    # the batch's nonzero columns and runs both products of the layer through BLAS with
    # k = active columns (plan.h, FNN_COLS_COMPACT). BLAS then blocks k differently from
    # the full product, so the two paths agree to rounding, not bit for bit.
    fastnn.set_num_threads(threads)
    X, y = _mnist_like(900, dtype=dtype)
    build = lambda: Sequential([Dense(64, activation="relu"), Dense(5)], seed=12,  # noqa: E731
                               dtype=dtype)
    fit = dict(epochs=2, batch_size=batch_size, optimizer=optimizer)
    m1, h1 = _train(build, True, X, y, **fit)
    m2, h2 = _train(build, False, X, y, **fit)
    # every batch took it (a serial build has one thread: batch 200 then stays on the
    # active-column kernels where a gemm variant runs)
    from fastnn import _runtime
    from fastnn.ops.matmul import own_kernels

    small = (own_kernels() and batch_size <= 256 and _runtime._get_native_threads() == 1)
    assert m1._plan.compact_batches == (0 if small else 2 * -(-900 // batch_size))
    _assert_close(m1, m2, dtype)
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-5 if dtype == np.float32
                               else 1e-12)
    w0 = m1.layers[0]
    if not small:  # dW is back at full size: zero rows for the border, the others in place
        assert not w0.grads["W"][:20].any() and np.abs(w0.grads["W"][20:]).sum(axis=1).all()
    if isinstance(m1.optimizer, SGD) and m1.optimizer.momentum == 0:
        before = build()
        before.build((X.shape[1],))
        np.testing.assert_array_equal(w0.params["W"][:20], before.layers[0].params["W"][:20])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compact_gradient_of_one_batch(dtype, restore_threads):
    # One batch of all the rows: the first layer's dW after fit is the gradient at the
    # initial weights on both paths, so it checks the packed product and its spreading
    # back to full size directly (columns 20..99 are active; a few more are all zero).
    fastnn.set_num_threads(1)
    X, y = _mnist_like(300, dtype=dtype)
    X[:, [37, 38, 61, 99]] = 0  # inactive columns inside and at the end of the row
    build = lambda: Sequential([Dense(70, activation="tanh"), Dense(5)], seed=3,  # noqa: E731
                               dtype=dtype)
    m1, _ = _train(build, True, X, y, epochs=1, batch_size=300, optimizer="adam")
    m2, _ = _train(build, False, X, y, epochs=1, batch_size=300, optimizer="adam")
    assert m1._plan.compact_batches == 1
    tol = dict(rtol=1e-5, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for key in ("W", "b"):
        np.testing.assert_allclose(m1.layers[0].grads[key], m2.layers[0].grads[key], **tol)
    assert not m1.layers[0].grads["W"][[0, 19, 37, 38, 61, 99]].any()


def test_compact_only_where_it_pays(restore_threads):
    fastnn.set_num_threads(1)
    X, y = _mnist_like(600)

    def plan(layers, X=X, **kw):
        m = Sequential(layers, seed=1)
        m.fit(X, y, epochs=1, batch_size=300, verbose=0, **kw)
        return m._plan

    assert plan([Dense(64), Dense(5)]).compact_batches == 2
    assert plan([Dense(63), Dense(5)]).compact_batches == 0     # too narrow to pay
    dense = X + 0.5  # no zero column: every batch gathers whole rows
    assert plan([Dense(64), Dense(5)], X=dense).compact_batches == 0
    first_frozen = Sequential([Dense(64), Dense(5)], seed=1)
    first_frozen.build((X.shape[1],))
    first_frozen.layers[0].trainable = False
    first_frozen.fit(X, y, epochs=1, batch_size=300, verbose=0)
    assert first_frozen._plan.compact_batches == 0
    with fastnn.config_context(gemm="blas"):  # every product to BLAS, whole rows
        assert plan([Dense(64), Dense(5)]).compact_batches == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", [
    lambda: SGD(lr=0.1, weight_decay=0.05, decay_biases=False),
    lambda: SGD(lr=0.1, momentum=0.5, weight_decay=0.05, decay_biases=False),
    lambda: Adam(lr=0.01, weight_decay=0.05, decay_biases=False),
    lambda: AdamW(lr=0.01, weight_decay=0.05, decay_biases=False),
    lambda: RMSprop(lr=0.01, weight_decay=0.05, decay_biases=False),
], ids=["sgd", "sgd-momentum", "adam", "adamw", "rmsprop"])
def test_weight_decay_without_biases(dtype, optimizer):
    # decay_biases=False: the plan's per-parameter decay factors match the Python path
    rng = np.random.default_rng(5)
    X = rng.random((200, 40)).astype(dtype)
    X[X < 0.6] = 0  # sparse, so float32 takes the active-column first layer on AVX-512
    y = rng.integers(0, 4, 200)
    build = lambda: Sequential([Dense(12, activation="relu"), Dense(4)], seed=3,  # noqa: E731
                               dtype=dtype)
    _assert_same(build, X, y, epochs=2, batch_size=20, optimizer=optimizer)


# A fit's first epoch checks X for NaN/inf as it reads the rows (the plan checks each
# row it gathers) instead of scanning X before training. A bad row must still give the
# error naming X's first bad row, and leave the model as it was before fit.
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("units,batch_size", [(8, 10), (8, 300), (64, 300)],
                         ids=["small-batch", "whole-rows", "compact"])
@pytest.mark.parametrize("bad_rows,value", [([0], np.nan), ([599], np.inf), ([431, 77], -np.inf)])
def test_nonfinite_row_of_X_in_the_first_epoch(fused, dtype, units, batch_size, bad_rows, value,
                                               restore_threads):
    fastnn.set_num_threads(1)
    X, y = _mnist_like(600, dtype=dtype)
    X[bad_rows, 50] = value
    m = Sequential([Dense(units, activation="relu"), Dense(5)], seed=4, dtype=dtype)
    m.build((X.shape[1],))
    m.fused = fused
    before = [a.copy() for a in m.get_weights()]
    rng_before = m.rng.bit_generator.state
    with pytest.raises(ValueError, match=rf"^X contains NaN or infinity \(first in row "
                                         rf"{min(bad_rows)}\)$"):
        m.fit(X, y, epochs=3, batch_size=batch_size, optimizer="adam", verbose=0,
              on_nonfinite="ignore")
    for a, b in zip(m.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert m.rng.bit_generator.state == rng_before
    X[bad_rows, 50] = 0  # fixed, the same model trains
    m.fit(X, y, epochs=1, batch_size=batch_size, verbose=0)
    assert np.isfinite(m.history.history["loss"][0])


def test_nonfinite_X_outside_the_trained_rows_or_epochs():
    X, y = _mnist_like(100)
    X[93, 3] = np.nan  # in the validation split: training never reads it
    m = Sequential([Dense(8), Dense(5)], seed=1)
    with pytest.raises(ValueError, match=r"first in row 93\)"):
        m.fit(X, y, epochs=2, batch_size=10, validation_split=0.1, verbose=0)
    with pytest.raises(ValueError, match=r"first in row 93\)"):  # no epoch to check it in
        m.fit(X, y, epochs=0, verbose=0)


def test_plan_checks_the_rows_it_gathers():
    from fastnn.errors import NonFiniteInputError

    X, y = _data(n=40)
    m = Sequential([Dense(8, activation="relu"), Dense(4)], seed=1)
    m.fit(X, y, epochs=1, batch_size=8, verbose=0)
    perm, labels = np.arange(40, dtype=np.intp), y.astype(np.intp)
    X[33, 2] = np.inf
    m._plan.train(X, labels, None, perm, 0, 4)  # batches 0-3 do not reach row 33
    m._plan.train(X, labels, None, perm, 0, 5)  # unchecked: trains on it
    with pytest.raises(NonFiniteInputError) as e:
        m._plan.train(X, labels, None, perm, 0, 5, check_rows=True)
    assert e.value.row == 33
    m._plan.train(X, labels, None, perm, 0, 4, check_rows=True)
