"""Layers, losses and optimizers on their own (the floor under the model).

Every layer's backward is checked against central finite differences in float64, used
standalone the way a textbook shows it (forward, then backward, grads in layer.grads).
"""

import numpy as np
import pytest

import fastnn
from fastnn import ops, reference
from fastnn.layers import (
    ACTIVATION_NAMES,
    ELU,
    GELU,
    Activation,
    Dense,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    layer_from_config,
)
from fastnn.losses import LOSSES, BinaryCrossEntropy, CrossEntropy, MSE, SquaredError, get_loss
from fastnn.optimizers import SGD, Adam, AdamW, RMSprop, get_optimizer, optimizer_from_config

from conftest import numeric_grad

BACKENDS = [pytest.param(ops, id="native"), pytest.param(reference, id="reference")]


def _check_layer_grads(layer, x, rng, training=False, reset=None, rtol=1e-6, atol=1e-8):
    """L = sum(forward(x) * R): backward(R) must match finite differences for x and params."""
    y = layer.forward(x, training=training)
    r = rng.standard_normal(y.shape)

    def loss():
        if reset is not None:
            reset()
        return float(np.sum(layer.forward(x, training=training) * r))

    if reset is not None:
        reset()
    layer.forward(x, training=training)
    dx = layer.backward(r.copy())
    grads = {k: g.copy() for k, g in layer.grads.items()}
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=rtol, atol=atol,
                               err_msg=f"{layer!r}: dx")
    for k, p in layer.params.items():
        np.testing.assert_allclose(grads[k], numeric_grad(loss, p), rtol=rtol, atol=atol,
                                   err_msg=f"{layer!r}: d{k}")


# ======================================================================== gradients

DENSE_ACTIVATIONS = [None, "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softmax",
                     "log_softmax", "identity"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS, ids=str)
def test_dense_backward_matches_finite_differences(activation, backend):
    rng = np.random.default_rng(1)
    kw = {"alpha": 0.2} if activation == "leaky_relu" else {}
    d = Dense(4, activation=activation, input_dim=5, bias_init={"name": "normal", "std": 0.3},
              **kw)
    d._ops = backend
    d.build((5,), np.float64, np.random.default_rng(2))
    x = rng.standard_normal((6, 5))
    _check_layer_grads(d, x, rng)


def test_dense_without_bias_backward():
    rng = np.random.default_rng(3)
    d = Dense(3, use_bias=False, activation="tanh")
    x = rng.standard_normal((4, 6))
    d.forward(x)  # lazy build from x
    assert set(d.params) == {"W"} and set(d.grads) == {"W"}
    _check_layer_grads(d, x, rng)


ACTIVATION_LAYERS = [ReLU(), Sigmoid(), Tanh(), LeakyReLU(0.1), ELU(0.7), GELU(), Softmax(),
                     LogSoftmax(), Identity(), Activation("elu", alpha=2.0), Activation("relu")]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layer", ACTIVATION_LAYERS, ids=repr)
def test_activation_layer_backward_matches_finite_differences(layer, backend):
    import copy

    layer = copy.deepcopy(layer)
    layer._ops = backend
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 4))  # softmax along the last axis; others elementwise
    _check_layer_grads(layer, x, rng)


def test_flatten_backward_and_shapes():
    rng = np.random.default_rng(5)
    f = Flatten()
    x = rng.standard_normal((3, 2, 4))
    y = f.forward(x)
    assert y.shape == (3, 8) and f.output_shape((2, 4)) == (8,)
    np.testing.assert_array_equal(y, x.reshape(3, 8))
    _check_layer_grads(f, x, rng)
    assert f.backward(np.ones((3, 8))).shape == (3, 2, 4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_backward_matches_finite_differences_with_a_fixed_mask(backend):
    rng = np.random.default_rng(6)
    d = Dropout(0.4, seed=123)
    d._ops = backend
    x = rng.standard_normal((5, 7))

    def reset():
        d.offset = 0

    _check_layer_grads(d, x, rng, training=True, reset=reset)


# ======================================================================== Dense


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_forward_is_x_at_w_plus_b(dtype):
    rng = np.random.default_rng(7)
    d = Dense(5, input_dim=3, bias_init="uniform")
    d.build((3,), dtype, rng)
    x = rng.standard_normal((4, 3)).astype(dtype)
    y = d.forward(x)
    assert y.dtype == dtype and y.shape == (4, 5)
    np.testing.assert_array_equal(y, ops.dense_forward(x, d.params["W"], d.params["b"]))
    np.testing.assert_allclose(y, x @ d.params["W"] + d.params["b"],
                               rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert d.params["W"].shape == (3, 5) and d.params["b"].shape == (5,)


def test_dense_with_activation_applies_it_after_the_affine_map():
    rng = np.random.default_rng(8)
    d = Dense(4, activation="leaky_relu", alpha=0.3)
    x = rng.standard_normal((6, 3))
    y = d.forward(x)
    z = x @ d.params["W"] + d.params["b"]
    np.testing.assert_allclose(y, np.where(z < 0, 0.3 * z, z), rtol=1e-12)


def test_textbook_standalone_use():
    rng = np.random.default_rng(9)
    d = Dense(3, input_dim=4)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    y = d.forward(x, training=True)
    dx = d.backward(np.ones_like(y))
    assert d.built and d.dtype == np.float32 and dx.shape == x.shape
    W = d.params["W"]
    np.testing.assert_allclose(d.grads["W"], x.T @ np.ones_like(y), rtol=1e-5)
    np.testing.assert_allclose(d.grads["b"], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(dx, np.ones_like(y) @ W.T, rtol=1e-5)
    # the same arrays stay in place: a reference taken before stays valid
    W[...] = 0
    assert not d.forward(x).any()


@pytest.mark.parametrize("init,check", [
    ("he", lambda w, fi, fo: abs(w.std() - np.sqrt(2 / fi)) < 0.1 * np.sqrt(2 / fi)),
    ("lecun", lambda w, fi, fo: abs(w.std() - np.sqrt(1 / fi)) < 0.1 * np.sqrt(1 / fi)),
    ("glorot", lambda w, fi, fo: np.abs(w).max() <= np.sqrt(6 / (fi + fo))
     and np.abs(w).max() > 0.9 * np.sqrt(6 / (fi + fo))),
    ("normal", lambda w, fi, fo: abs(w.std() - 0.05) < 0.005),
    ({"name": "normal", "std": 1.0}, lambda w, fi, fo: abs(w.std() - 1.0) < 0.1),
    ("uniform", lambda w, fi, fo: np.abs(w).max() <= 0.05 and np.abs(w).max() > 0.045),
    ({"name": "uniform", "limit": 2.0}, lambda w, fi, fo: 1.8 < np.abs(w).max() <= 2.0),
    ("zeros", lambda w, fi, fo: not w.any()),
], ids=str)
def test_kernel_initializers(init, check):
    d = Dense(300, kernel_init=init)
    d.build((200,), np.float64, np.random.default_rng(10))
    assert check(d.params["W"], 200, 300)
    assert not d.params["b"].any()


def test_init_uses_only_the_given_generator():
    np.random.seed(0)
    a = Dense(4).build((3,), np.float32, np.random.default_rng(11))
    np.random.seed(1)
    b = Dense(4).build((3,), np.float32, np.random.default_rng(11))
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    c = Dense(4).build((3,), np.float32, np.random.default_rng(12))
    assert not np.array_equal(a.params["W"], c.params["W"])
    # float32 and float64 layers built from one seed start from the same values
    d = Dense(4).build((3,), np.float64, np.random.default_rng(11))
    np.testing.assert_array_equal(a.params["W"], d.params["W"].astype(np.float32))


@pytest.mark.parametrize("kwargs,exc,words", [
    ({"units": 0}, ValueError, "units"),
    ({"units": 2.5}, TypeError, "units"),
    ({"units": 3, "activation": "swish"}, ValueError, "valid names"),
    ({"units": 3, "activation": "relu", "alpha": 0.1}, ValueError, "alpha"),
    ({"units": 3, "kernel_init": "orthogonal"}, ValueError, "initializer"),
    ({"units": 3, "bias_init": {"name": "normal", "limit": 1}}, ValueError, "std"),
    ({"units": 3, "input_dim": 0}, ValueError, "input_dim"),
])
def test_dense_rejects_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        Dense(**kwargs)


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError) as e:
        Activation("swish")
    for name in ACTIVATION_NAMES:
        assert name in str(e.value)


def test_layer_input_errors():
    d = Dense(2, input_dim=3)
    d.build((3,), np.float32, np.random.default_rng(0))
    with pytest.raises(TypeError, match="float64"):
        d.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        d.forward(np.zeros((2, 4), np.float32))
    with pytest.raises(RuntimeError, match="forward"):
        Dense(2).backward(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="Flatten"):
        Dense(2).build((2, 3))
    with pytest.raises(ValueError, match="input_dim=3"):
        Dense(2, input_dim=3).build((4,))


# ======================================================================== Dropout


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_is_inverted_in_training_and_identity_in_inference(dtype):
    rate = 0.25
    d = Dropout(rate)
    d.build((1000,), dtype, np.random.default_rng(13))
    assert isinstance(d.seed, int) and 0 <= d.seed < 2**63
    x = np.random.default_rng(14).uniform(1, 2, (8, 1000)).astype(dtype)
    y = d.forward(x, training=True)
    kept = y != 0
    assert 0.2 < 1 - kept.mean() < 0.3
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-6)
    assert abs(y.mean() / x.mean() - 1) < 0.05  # inverted: the expectation is unchanged
    assert d.offset == x.size
    # inference: identity, the offset does not move
    np.testing.assert_array_equal(d.forward(x, training=False), x)
    assert d.offset == x.size
    dy = np.ones_like(x)
    np.testing.assert_array_equal(d.backward(dy), dy)


def test_dropout_masks_come_from_the_kernel_and_advance_per_call():
    x = np.ones((4, 6), np.float32)
    d = Dropout(0.5, seed=99)
    y1 = d.forward(x, training=True).copy()
    y2 = d.forward(x, training=True).copy()
    e1, m1 = ops.dropout_forward(x, 0.5, 99, 0)
    e2, m2 = ops.dropout_forward(x, 0.5, 99, 24)
    np.testing.assert_array_equal(y1, e1)
    np.testing.assert_array_equal(y2, e2)
    assert not np.array_equal(y1, y2)
    assert d.offset == 48
    dy = np.arange(24, dtype=np.float32).reshape(4, 6)
    np.testing.assert_array_equal(d.backward(dy), dy * m2)
    # the reference backend gives the same masks
    r = Dropout(0.5, seed=99)
    r._ops = reference
    np.testing.assert_array_equal(r.forward(x, training=True), e1)


def test_dropout_seed_drawn_from_the_model_generator_is_reproducible():
    a = Dropout(0.3).build((5,), np.float32, np.random.default_rng(1))
    b = Dropout(0.3).build((5,), np.float32, np.random.default_rng(1))
    assert a.seed == b.seed
    assert Dropout(0.3, seed=7).build((5,), np.float32, np.random.default_rng(1)).seed == 7


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_rates(rate):
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)


# ======================================================================== configs, repr

ALL_LAYERS = [
    Dense(7, activation="elu", alpha=0.5, use_bias=False, kernel_init="glorot", input_dim=3,
          name="d"),
    Dense(2, bias_init={"name": "normal", "std": 0.1}, trainable=False),
    Activation("leaky_relu", alpha=0.2), ReLU(), Sigmoid(), Tanh(), LeakyReLU(0.3), ELU(),
    GELU(), Softmax(), LogSoftmax(), Identity(), Dropout(0.2, seed=5, offset=40), Flatten(),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda l: type(l).__name__)
def test_config_round_trip_and_repr(layer):
    import json

    cfg = layer.get_config()
    assert cfg["class"] == type(layer).__name__
    assert json.loads(json.dumps(cfg)) == cfg
    clone = layer_from_config(cfg)
    assert type(clone) is type(layer)
    assert clone.get_config() == cfg
    r = repr(layer)
    assert r.startswith(type(layer).__name__ + "(")
    if isinstance(layer, Dense):
        assert str(layer.units) in r


def test_repr_examples():
    assert repr(Dense(128, activation="relu")) == "Dense(128, activation='relu')"
    assert repr(Dropout(0.5)) == "Dropout(0.5)"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(alpha=0.2)"
    assert repr(Flatten(name="f")) == "Flatten(name='f')"


def test_unknown_layer_class_in_config():
    with pytest.raises(ValueError, match="unknown layer class"):
        layer_from_config({"class": "os.system"})


# ======================================================================== losses


@pytest.mark.parametrize("backend", BACKENDS)
def test_losses_wrap_the_kernels(backend):
    rng = np.random.default_rng(15)
    z = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    t = rng.uniform(0, 1, (6, 4))
    for loss, args, kernel in [
        (CrossEntropy(), (z, labels), backend.softmax_cross_entropy),
        (MSE(), (z, t), backend.mse),
        (BinaryCrossEntropy(), (z, t), backend.binary_cross_entropy),
    ]:
        loss._ops = backend
        v, g = loss.value_and_grad(*args)
        ev, eg = kernel(*args)
        assert v == ev
        np.testing.assert_array_equal(g, eg)
        assert loss.value(*args) == pytest.approx(ev, rel=1e-15)


def test_squared_error_is_half_the_sum_of_squares():
    rng = np.random.default_rng(16)
    a, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    v, g = SquaredError().value_and_grad(a, y)
    assert v == pytest.approx(0.5 * ((a - y) ** 2).sum(axis=1).mean(), rel=1e-12)
    np.testing.assert_allclose(g, (a - y) / 5, rtol=1e-12)
    mv, mg = ops.mse(a, y)
    assert v == pytest.approx(mv * 3 / 2, rel=1e-15)
    np.testing.assert_allclose(g, mg * 1.5, rtol=1e-15)
    assert SquaredError().value(a, y) == pytest.approx(v, rel=1e-15)


def test_get_loss():
    for name, cls in LOSSES.items():
        assert type(get_loss(name)) is cls and get_loss(name).name == name
    inst = MSE()
    assert get_loss(inst) is inst
    with pytest.raises(ValueError) as e:
        get_loss("hinge")
    for name in LOSSES:
        assert name in str(e.value)
    with pytest.raises(TypeError):
        get_loss(3)


# ======================================================================== optimizers


@pytest.mark.parametrize("opt,keys", [
    (SGD(), set()), (SGD(momentum=0.9), {"velocity"}), (Adam(), {"m", "v"}),
    (Adam(amsgrad=True), {"m", "v", "v_max"}), (AdamW(), {"m", "v"}),
    (RMSprop(), {"square_avg"}), (RMSprop(momentum=0.5, centered=True),
                                  {"square_avg", "velocity", "grad_avg"}),
], ids=repr)
def test_optimizer_state_keys_and_setup(opt, keys):
    params = [np.ones((3, 2), np.float32), np.ones(2, np.float32)]
    opt.setup(params)
    assert len(opt.state) == 2
    for s, p in zip(opt.state, params):
        assert set(s) == keys
        for a in s.values():
            assert a.shape == p.shape and a.dtype == p.dtype and not a.any()
    state = opt.state
    opt.setup(params)  # once: a second setup keeps the state
    assert opt.state is state
    with pytest.raises(ValueError, match="new optimizer"):
        opt.setup(params[:1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_adam_update_calls_the_kernel_with_step_iterations_plus_one(backend):
    rng = np.random.default_rng(17)
    p = rng.standard_normal((4, 3))
    g1, g2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    opt = Adam(lr=0.01, amsgrad=True, weight_decay=0.1)
    opt._ops = backend
    q = p.copy()
    m, v, vm = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for step, g in enumerate([g1, g2], 1):
        opt.update([p], [g])
        backend.adam_update(q, g, m, v, step=step, lr=0.01, weight_decay=0.1, amsgrad=True,
                            v_max=vm)
    assert opt.iterations == 2
    np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(opt.state[0]["v_max"], vm)


@pytest.mark.parametrize("opt,kernel,kwargs,state", [
    (SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), "sgd_update",
     {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, ["velocity"]),
    (AdamW(lr=0.01), "adamw_update", {"lr": 0.01, "step": 1, "weight_decay": 0.01}, ["m", "v"]),
    (RMSprop(lr=0.01, momentum=0.5, centered=True), "rmsprop_update",
     {"lr": 0.01, "momentum": 0.5, "centered": True}, None),
], ids=["sgd", "adamw", "rmsprop"])
def test_each_optimizer_matches_its_kernel(opt, kernel, kwargs, state):
    rng = np.random.default_rng(18)
    p = rng.standard_normal(5)
    g = rng.standard_normal(5)
    q = p.copy()
    opt.update([p], [g])
    if kernel == "sgd_update":
        ops.sgd_update(q, g, np.zeros(5), **kwargs)
    elif kernel == "adamw_update":
        ops.adamw_update(q, g, np.zeros(5), np.zeros(5), **kwargs)
    else:
        ops.rmsprop_update(q, g, np.zeros(5), velocity=np.zeros(5), grad_avg=np.zeros(5),
                           **kwargs)
    np.testing.assert_array_equal(p, q)


def test_optimizer_config_state_and_names():
    opt = RMSprop(lr=0.05, rho=0.9, momentum=0.1, centered=True)
    cfg = opt.get_config()
    assert cfg["class"] == "RMSprop" and cfg["lr"] == 0.05
    clone = optimizer_from_config(cfg)
    assert clone.get_config() == cfg
    p = [np.ones(3)]
    opt.update(p, [np.ones(3)])
    st = opt.get_state()
    assert st["iterations"] == 1
    clone.set_state(st)
    assert clone.iterations == 1
    np.testing.assert_array_equal(clone.state[0]["square_avg"], opt.state[0]["square_avg"])
    opt.lr = 0.5  # schedules change it
    assert opt.lr == 0.5
    assert type(get_optimizer("adamw")) is AdamW
    with pytest.raises(ValueError) as e:
        get_optimizer("adagrad")
    for name in ("sgd", "adam", "adamw", "rmsprop"):
        assert name in str(e.value)
    with pytest.raises(ValueError, match="nesterov"):
        SGD(nesterov=True)
    with pytest.raises(ValueError, match="lr"):
        Adam(lr=-1)
    assert "Adam(lr=0.001" in repr(Adam())


# ======================================================================== frozen layers


def test_frozen_layer_is_not_updated_but_gradients_flow_through_it():
    rng = np.random.default_rng(19)
    X = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = fastnn.Sequential([Dense(8, activation="tanh"), Dense(8, activation="relu"),
                               Dense(3)], seed=3)
    model.build((5,))
    model.layers[1].trainable = False
    before = model.get_weights()
    model.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(lr=0.1), verbose=0)
    after = model.get_weights()
    names = [(l.name, k) for l, k, _ in model.params]
    for (name, key), b, a in zip(names, before, after):
        if name == "dense_2":
            np.testing.assert_array_equal(a, b, err_msg=f"frozen {name}.{key} changed")
        else:
            assert not np.array_equal(a, b), f"{name}.{key} did not change"
    # the optimizer only holds state for the trainable parameters
    assert len(model._train_params) == 4
