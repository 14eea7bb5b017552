"""Convolution, pooling, batch-norm and residual layers (fastnn/layers_conv.py,
fastnn/layers_block.py) and their place in the model and the fused plan.

- each layer on its own: finite-difference gradients (inputs and parameters), on both
  backends;
- a small CNN with every layer type: finite-difference gradient of the whole model,
  fused plan == per-layer Python path bit for bit, save/load, summary;
- bad input: clear errors naming the layer and the shapes.
The kernels themselves are tested against their numpy twins in test_conv.py,
test_pool.py, test_batchnorm.py and test_residual.py.
"""

import numpy as np
import pytest

import fastnn
from fastnn import (SGD, Adam, AvgPool1D, AvgPool2D, BatchNorm, Conv1D, Conv2D, Dense,
                    Dropout, Flatten, GlobalAvgPool, MaxPool1D, MaxPool2D, ReLU, Reshape,
                    Residual, Sequential)
from test_fused import _assert_same, _train

BACKENDS = ["native", "reference"]


def _layer_gradcheck(layer, x, backend, training=True, tol=1e-6):
    """Check layer.backward against central differences of L = sum(forward(x) * r)."""
    layer._ops = fastnn.layers.get_backend(backend)
    for sub in layer.sublayers():
        sub._ops = layer._ops
    y = layer.forward(x, training=training)
    r = np.random.default_rng(5).standard_normal(y.shape)
    dx = layer.backward(r.copy())
    grads = {k: g.copy() for k, g in layer.grads.items()}

    def loss():
        return float(np.sum(layer.forward(x, training=training) * r))

    h = 1e-6
    rng = np.random.default_rng(6)
    targets = [("x", x, dx)] + [(k, layer.params[k], grads[k]) for k in layer.params]
    for name, arr, analytic in targets:
        flat = arr.reshape(-1)
        idx = rng.choice(flat.size, size=min(flat.size, 12), replace=False)
        for i in idx:
            old = flat[i]
            flat[i] = old + h
            up = loss()
            flat[i] = old - h
            down = loss()
            flat[i] = old
            num = (up - down) / (2 * h)
            ana = analytic.reshape(-1)[i]
            assert abs(num - ana) <= tol * max(1.0, abs(num)), (name, i, num, ana)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


LAYER_CASES = [
    ("conv2d", lambda: Conv2D(3, 3, stride=2, padding=1), (2, 2, 7, 6)),
    ("conv2d-same-dilated-tanh", lambda: Conv2D(2, (3, 2), padding="same", dilation=(2, 1),
                                                activation="tanh"), (2, 3, 6, 5)),
    ("conv2d-asym-nobias", lambda: Conv2D(2, 2, padding=((1, 0), (0, 2)), use_bias=False),
     (1, 2, 4, 4)),
    ("conv1d", lambda: Conv1D(4, 3, stride=2, padding="same", activation="relu"), (3, 2, 9)),
    ("maxpool2d", lambda: MaxPool2D(2), (2, 3, 6, 7)),
    ("maxpool2d-overlap", lambda: MaxPool2D(3, stride=2), (2, 2, 7, 7)),
    ("maxpool1d", lambda: MaxPool1D(2), (2, 3, 9)),
    ("avgpool2d", lambda: AvgPool2D((2, 3), stride=1), (2, 2, 5, 6)),
    ("avgpool1d", lambda: AvgPool1D(3, stride=2), (2, 2, 9)),
    ("global-avgpool", lambda: GlobalAvgPool(), (3, 4, 3, 5)),
    ("batchnorm-2d", lambda: BatchNorm(), (7, 5)),
    ("batchnorm-4d", lambda: BatchNorm(momentum=0.3), (4, 3, 3, 2)),
    ("reshape", lambda: Reshape((2, -1)), (3, 4, 3)),
    ("residual", lambda: Residual([Conv2D(2, 3, padding=1, activation="relu"),
                                   Conv2D(2, 3, padding=1)]), (2, 2, 5, 5)),
    ("residual-projection", lambda: Residual([Conv2D(4, 3, stride=2, padding=1)],
                                             projection=Conv2D(4, 1, stride=2)), (2, 2, 6, 6)),
    ("residual-dense", lambda: Residual([Dense(6, activation="tanh"), Dense(3)],
                                        projection=Dense(3)), (4, 5)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,make,shape", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_gradients_finite_differences(name, make, shape, backend):
    layer = make()
    x = _x(shape)
    layer.build(shape[1:], np.float64, np.random.default_rng(1))
    for k in layer.params:  # non-trivial gamma / beta / biases
        layer.params[k][...] += 0.1 * _x(layer.params[k].shape, 9)
    _layer_gradcheck(layer, x, backend)


@pytest.mark.parametrize("name,make,shape", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_native_equals_reference(name, make, shape, dtype):
    x = _x(shape).astype(dtype)
    outs = []
    for backend in BACKENDS:
        layer = make()
        layer.build(shape[1:], dtype, np.random.default_rng(1))
        layer._ops = fastnn.layers.get_backend(backend)
        for sub in layer.sublayers():
            sub._ops = layer._ops
        y = layer.forward(x, training=True)
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == dx.dtype == dtype
        outs.append((y.copy(), dx.copy(), {k: g.copy() for k, g in layer.grads.items()}))
    rtol = 2e-5 if dtype == np.float32 else 1e-11
    (y1, dx1, g1), (y2, dx2, g2) = outs
    np.testing.assert_allclose(y1, y2, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(dx1, dx2, rtol=rtol, atol=rtol * 10)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=rtol, atol=rtol * 10)


def test_conv_layer_matches_the_textbook_formula():
    x = _x((2, 2, 5, 4))
    layer = Conv2D(3, (3, 2), stride=(2, 1), padding=((1, 0), (1, 1)), dilation=(1, 2))
    layer.build(x.shape[1:], np.float64, np.random.default_rng(0))
    W, b = layer.params["W"], layer.params["b"]
    y = layer.forward(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 0), (1, 1)))
    expect = np.zeros(y.shape)
    for n in range(2):
        for f in range(3):
            for i in range(y.shape[2]):
                for j in range(y.shape[3]):
                    patch = xp[n, :, 2 * i:2 * i + 3, j:j + 3:2]
                    expect[n, f, i, j] = np.sum(patch * W[f]) + b[f]
    np.testing.assert_allclose(y, expect, rtol=1e-12, atol=1e-12)


def _every_layer_cnn(dtype="float64", dropout=True):
    layers = [
        Reshape((2, 8, 8)),
        Conv2D(4, 3, padding="same", activation="relu"),
        BatchNorm(),
        MaxPool2D(2),
        Residual([Conv2D(4, 3, padding=1, activation="relu"), Conv2D(4, 3, padding=1)]),
        ReLU(),
        Residual([Conv2D(6, 3, stride=2, padding=1), BatchNorm()],
                 projection=Conv2D(6, 1, stride=2)),
        AvgPool2D(1),
        Reshape((6, 4)),
        Conv1D(5, 2, activation="tanh"),
        MaxPool1D(1),
        AvgPool1D(1),
        GlobalAvgPool(),
        Dense(8, activation="relu"),
    ]
    if dropout:
        layers.append(Dropout(0.2))
    layers += [Flatten(), Residual([Dense(8, activation="tanh")]), Dense(3)]
    return Sequential(layers, seed=3, dtype=dtype)


def _cnn_data(n=40, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 128)).astype(dtype)
    y = (np.abs(X[:, :3]).argmax(axis=1)).astype(np.int64)
    return X, y


def test_every_layer_cnn_gradient_finite_differences():
    X, y = _cnn_data(12)
    model = _every_layer_cnn(dropout=False)
    model.build((128,))
    value, grads = model.loss_and_gradients(X, y, "cross_entropy", training=True)
    rng = np.random.default_rng(2)
    h = 1e-6
    for (layer, key, arr), g in zip(model.params, grads):
        flat = arr.reshape(-1)
        for i in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + h
            up, _ = model.loss_and_gradients(X, y, "cross_entropy", training=True)
            flat[i] = old - h
            down, _ = model.loss_and_gradients(X, y, "cross_entropy", training=True)
            flat[i] = old
            num = (up - down) / (2 * h)
            assert abs(num - g.reshape(-1)[i]) <= 1e-6 * max(1.0, abs(num)), (layer.name, key, i)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", [lambda: Adam(lr=0.01),
                                       lambda: SGD(lr=0.05, momentum=0.9, weight_decay=1e-3)],
                         ids=["adam", "sgd-momentum-wd"])
def test_every_layer_cnn_fused_equals_python_path(dtype, optimizer):
    X, y = _cnn_data(70, dtype)
    build = lambda: _every_layer_cnn(np.dtype(dtype).name)  # noqa: E731
    fit = dict(epochs=2, batch_size=16, optimizer=optimizer, validation_split=0.2)
    m = _assert_same(build, X, y, **fit)
    # BatchNorm's running statistics moved the same way on both paths
    m2, _ = _train(build, False, X, y, **fit)
    assert m.buffers and not np.allclose(m.buffers[0][2], 0)
    for (_, _, a), (_, _, b) in zip(m.buffers, m2.buffers):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m.predict(X), m2.predict(X))


def _relu_pool_cnn(dtype):
    return Sequential([Reshape((2, 8, 8)), Conv2D(4, 3, padding=1, activation="relu"),
                       MaxPool2D(2), Conv2D(4, 3, padding=1), ReLU(), MaxPool2D(3, stride=1),
                       Conv2D(3, 1), ReLU(), AvgPool2D(2), Flatten(), Dense(3)],
                      seed=5, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_before_max_pooling_runs_after_it_bit_for_bit(dtype):
    """The plan runs ReLU -> max pooling as max pooling -> ReLU (a quarter of the ReLU
    work behind 2x2 windows) and ReLU -> average pooling as it is; training stays
    bit-identical to the per-layer Python path, windows whose values are all <= 0
    (ties after the ReLU) included. (The first conv's backward through the pooling as
    one, test_first_conv_and_max_pooling_backward_as_one, is off here: it sums dW in
    another order.)"""
    from fastnn import _fused

    with fastnn.config_context(pooled_conv=False):
        name = np.dtype(dtype).name
        model = _relu_pool_cnn(name)
        model.build((128,))
        kinds = [s["kind"] for s in _fused._steps(model)]
        assert kinds == ["conv", "maxpool", "activation", "conv", "maxpool", "activation",
                         "conv", "activation", "avgpool", "dense"]
        X, y = _cnn_data(48, dtype)
        X[:, ::3] = 0
        m = _assert_same(lambda: _relu_pool_cnn(name), X, y, epochs=2, batch_size=16,
                         optimizer=lambda: Adam(lr=0.01), validation_split=0.25)
        assert np.isfinite(m.get_weights()[0]).all()


@pytest.mark.parametrize("first_frozen", [False, True])
def test_first_conv_and_max_pooling_backward_as_one(first_frozen):
    """In float32, where the direct conv kernels run (AVX-512), the plan forms the first conv's dW and db straight from
    the gradient of the max pooling after it (ops.conv2d_pooled_backward): the same
    gradients as the per-layer path up to float32 rounding, so training follows it
    closely; everything after the first conv is bit-identical. With the first conv
    frozen there is nothing to fuse: bit-identical throughout."""
    from fastnn.ops.conv import own_kernels

    def build():
        m = Sequential([Reshape((1, 12, 12)), Conv2D(6, 3, activation="relu"), MaxPool2D(2),
                        Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(3)],
                       seed=2, dtype="float32")
        m.build((144,))
        m.layers[1].trainable = not first_frozen
        return m

    rng = np.random.default_rng(4)
    X = rng.standard_normal((64, 144)).astype(np.float32)
    y = (np.abs(X[:, :3]).argmax(axis=1)).astype(np.int64)
    fit = dict(epochs=2, batch_size=16, optimizer=Adam(lr=0.01))
    m1, _ = _train(build, True, X, y, **fit)
    fit["optimizer"] = Adam(lr=0.01)
    m2, _ = _train(build, False, X, y, **fit)
    fused = own_kernels() and not first_frozen
    assert m1._plan.pooled_steps == ([1] if own_kernels() else [])
    w1, w2 = m1.get_weights(), m2.get_weights()
    for a, b in zip(w1[:2], w2[:2]):  # the first conv
        if fused:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        else:
            np.testing.assert_array_equal(a, b)
    if fused:  # the fused gradients are not the same bits: training drifts, a little
        assert not all(np.array_equal(a, b) for a, b in zip(w1, w2))
    for a, b in zip(w1[2:], w2[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
        if not fused:
            np.testing.assert_array_equal(a, b)


def test_frozen_layers_inside_a_residual_block():
    X, y = _cnn_data(48)

    def build():
        m = _every_layer_cnn()
        m.build((128,))
        m.layers[4].layers[0].trainable = False   # one conv inside a block
        m.layers[6].trainable = False             # a whole block (with its projection)
        return m

    m = _assert_same(build, X, y, epochs=1, batch_size=8)
    before = build()
    np.testing.assert_array_equal(m.layers[4].params["0.W"], before.layers[4].params["0.W"])
    assert not np.array_equal(m.layers[4].params["1.W"], before.layers[4].params["1.W"])
    for k in m.layers[6].params:
        np.testing.assert_array_equal(m.layers[6].params[k], before.layers[6].params[k])


def test_predict_uses_running_statistics_and_the_inference_plan():
    X, y = _cnn_data(64, np.float32)
    model = _every_layer_cnn("float32")
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    p1 = model.predict(X)
    assert model._infer_plan is not None
    model.fused = False
    p2 = model.predict(X)
    np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-6)
    # inference is deterministic and per-sample: a row alone gives the same output
    np.testing.assert_allclose(model.predict(X[:1]), p2[:1], rtol=1e-5, atol=1e-6)


def test_save_and_load_round_trip_with_batchnorm_statistics(tmp_path):
    X, y = _cnn_data(48)
    model = _every_layer_cnn()
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "cnn.fnn"
    model.save(path)
    loaded = fastnn.load(path)
    assert [type(l) for l in loaded.all_layers()] == [type(l) for l in model.all_layers()]
    for (_, _, a), (_, _, b) in zip(model.buffers + model.params, loaded.buffers + loaded.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X), loaded.predict(X))
    # training resumes exactly
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    loaded.fit(X, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_summary_shows_shapes_and_parameter_counts(capsys):
    model = Sequential([Reshape((1, 28, 28)), Conv2D(6, 5, activation="relu"), MaxPool2D(2),
                        BatchNorm(), Residual([Conv2D(6, 3, padding=1)]), Flatten(),
                        Dense(10)], input_shape=(784,))
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 6, 24, 24)" in out and "(None, 6, 12, 12)" in out
    assert "156" in out                     # 6 * 1 * 5 * 5 + 6
    assert "| conv2d_0 (Conv2D)" in out     # the block's inner layer, indented
    assert f"Total params: {156 + 12 + 330 + 8650:,}" in out


@pytest.mark.parametrize("make,shape,match", [
    (lambda: Conv2D(4, 3), (784,), r"conv2d_1 \(Conv2D\) takes inputs of shape \(N, channels, "
                                   r"height, width\).*Reshape\(\(1, 28, 28\)\)"),
    (lambda: Conv2D(4, 5), (1, 3, 3), r"kernel \(5, 5\) with dilation \(1, 1\) is larger than "
                                      r"the padded input \(3, 3\)"),
    (lambda: Conv1D(4, 7, padding=1), (2, 4), r"kernel 7 with dilation 1 is larger than the "
                                              r"padded input 6"),
    (lambda: MaxPool2D(3), (2, 2, 5), r"pool window \(3, 3\) is larger than the input \(2, 5\)"),
    (lambda: Conv1D(2, 2), (3, 4, 5), r"takes inputs of shape \(N, channels, length\)"),
    (lambda: GlobalAvgPool(), (7,), r"at least one spatial axis"),
    (lambda: Reshape((3, 5)), (4, 4), r"cannot reshape samples of shape \(4, 4\)"),
    (lambda: Residual([Conv2D(8, 3, padding=1)]), (4, 5, 5),
     r"map samples of shape \(4, 5, 5\) to \(8, 5, 5\).*projection="),
])
def test_bad_shapes_name_the_layer_and_shapes(make, shape, match):
    model = Sequential([make()])
    with pytest.raises(ValueError, match=match):
        model.build(shape)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="Conv2D stride must be >= 1"):
        Conv2D(4, 3, stride=0)
    with pytest.raises(ValueError, match="Conv2D stride must be >= 1"):
        Conv2D(4, 3, stride=(1, -2))
    with pytest.raises(ValueError, match="Conv1D kernel_size must be >= 1"):
        Conv1D(4, -1)
    with pytest.raises(ValueError, match="MaxPool1D stride must be >= 1"):
        MaxPool1D(2, stride=0)
    with pytest.raises(ValueError, match="padding must be 'valid', 'same'"):
        Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="MaxPool2D pool_size must be >= 1"):
        MaxPool2D(0)
    with pytest.raises(TypeError, match="projection must be a Dense, Conv1D or Conv2D"):
        Residual([Dense(3)], projection=ReLU())
    with pytest.raises(ValueError, match="projection of a Residual must have no activation"):
        Residual([Dense(3)], projection=Dense(3, activation="relu"))


def test_wrong_channels_at_fit_time_is_a_clear_error():
    model = Sequential([Conv2D(4, 3), Flatten(), Dense(2)])
    model.build((3, 8, 8))
    X = np.zeros((5, 1, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"\(3, 8, 8\)"):
        model.fit(X, np.zeros(5, np.int64), verbose=0)


def _plan(steps, in_dim=4):
    from fastnn._plan import TrainingPlan
    return TrainingPlan(steps, loss="mse", fold_last=False, batch_size=2, in_dim=in_dim,
                        dtype="float32", optimizer={"kind": "sgd"}, params=[], grads=[],
                        states=[])


def _geom(**kw):
    g = dict(c=1, h=2, w=2, f=1, oh=1, ow=1, kh=2, kw=2, sh=1, sw=1, pt=0, pl=0, dh=1, dw=1)
    g.update(kw)
    return g


@pytest.mark.parametrize("steps,match", [
    ([{"kind": "res_begin", "partner": 1}], "res_begin without a res_end"),
    ([{"kind": "res_end", "partner": 0}], "res_end without a res_begin"),
    ([{"kind": "conv", "geom": _geom(), "W": np.zeros((2, 1, 2, 2), np.float32),
       "dW": np.zeros((2, 1, 2, 2), np.float32), "trainable": True}], "W must have 1 filters"),
    ([{"kind": "conv", "geom": _geom(), "W": np.zeros((1, 1, 2, 2)),
       "dW": np.zeros((1, 1, 2, 2)), "trainable": True}], "expected a float32 array"),
    ([{"kind": "conv", "geom": _geom(c=2), "W": np.zeros((1, 2, 2, 2), np.float32),
       "dW": np.zeros((1, 2, 2, 2), np.float32), "trainable": True}], "does not match 4 input"),
    ([{"kind": "maxpool", "geom": _geom(oh=2, ow=2)}], "pooling windows do not fit"),
    ([{"kind": "batchnorm", "channels": 3, "spatial": 1}], "batchnorm of 3 x 1"),
])
def test_plan_rejects_inconsistent_steps(steps, match):
    """The C loops trust the plan's geometry and buffers: TrainingPlan checks them."""
    with pytest.raises(ValueError, match=match):
        _plan(steps)
