"""Gradient clipping on every optimizer (clipvalue, then clipnorm over all gradients of the
step), on the per-layer path (both backends) and inside the fused plan.

The oracle is PyTorch's pair written out:
    torch.nn.utils.clip_grad_value_(params, clipvalue): g = clamp(g, -clipvalue, clipvalue)
    torch.nn.utils.clip_grad_norm_(params, clipnorm):
        total = sqrt(sum over params of sum(g**2))
        coef = clipnorm / (total + 1e-6); g *= min(coef, 1)
"""

import numpy as np
import pytest

import fastnn
from fastnn import (SGD, Adam, AdamW, Dense, Flatten, RMSprop, Sequential, ops, reference)
from fastnn.layers_conv import Conv2D, MaxPool2D
from fastnn.optimizers import optimizer_from_config

CLASSES = (SGD, Adam, AdamW, RMSprop)


def torch_clip(grads, clipnorm=None, clipvalue=None):
    """Copies of grads clipped as clip_grad_value_ then clip_grad_norm_ (in float64 sums)."""
    out = [g.copy() for g in grads]
    if clipvalue is not None:
        out = [np.minimum(np.maximum(g, -clipvalue), clipvalue).astype(g.dtype) for g in out]
    if clipnorm is not None:
        total = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in out))
        coef = min(clipnorm / (total + 1e-6), 1.0)
        if coef < 1.0:
            out = [(g * g.dtype.type(coef)).astype(g.dtype) for g in out]
    return out


# ------------------------------------------------------------------ the options


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("name", ["clipnorm", "clipvalue"])
@pytest.mark.parametrize("bad,exc", [(0.0, ValueError), (-1.0, ValueError),
                                     (float("nan"), ValueError), (float("inf"), ValueError),
                                     ("1", TypeError), (True, TypeError)])
def test_bad_values_are_refused(cls, name, bad, exc):
    with pytest.raises(exc, match=name):
        cls(**{name: bad})


@pytest.mark.parametrize("cls", CLASSES)
def test_config_repr_and_saving_keep_the_options(cls, tmp_path):
    opt = cls(clipnorm=1.5, clipvalue=0.25)
    cfg = opt.get_config()
    assert cfg["clipnorm"] == 1.5 and cfg["clipvalue"] == 0.25
    again = optimizer_from_config(cfg)
    assert (again.clipnorm, again.clipvalue) == (1.5, 0.25)
    assert "clipnorm=1.5" in repr(opt) and "clipvalue=0.25" in repr(opt)
    plain = cls()
    assert plain.clipnorm is None and plain.clipvalue is None
    assert "clipnorm" not in plain.get_config() and "clip" not in repr(plain)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    model = Sequential([Dense(5, activation="relu"), Dense(3)], seed=1)
    model.fit(X, y, epochs=1, batch_size=8, optimizer=opt, verbose=0)
    path = tmp_path / "m.fastnn"
    model.save(path)
    loaded = fastnn.load(path)
    assert type(loaded.optimizer) is cls
    assert (loaded.optimizer.clipnorm, loaded.optimizer.clipvalue) == (1.5, 0.25)


# ------------------------------------------------------------------ Optimizer.update


def _grads(rng, dtype, scale=3.0):
    return [(scale * rng.standard_normal(s)).astype(dtype) for s in [(7, 5), (5,), (4, 3, 2)]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip", [dict(clipnorm=0.5), dict(clipvalue=0.4),
                                  dict(clipnorm=1.0, clipvalue=0.3), dict(clipnorm=1e3)],
                         ids=["norm", "value", "both", "norm-not-reached"])
@pytest.mark.parametrize("backend", [ops, reference], ids=["native", "reference"])
def test_sgd_step_is_the_textbook_step_on_clipped_gradients(rng, dtype, clip, backend):
    params = _grads(rng, dtype, 1.0)
    grads = _grads(rng, dtype)
    clipped = torch_clip(grads, **clip)
    want = [p - dtype(0.1) * g for p, g in zip(params, clipped)]
    opt = SGD(lr=0.1, **clip)
    opt._ops = backend
    opt.update(params, grads)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    for p, w in zip(params, want):
        np.testing.assert_allclose(p, w, rtol=tol, atol=tol)
    # the gradients were clipped in place, as PyTorch's functions do
    for g, c in zip(grads, clipped):
        np.testing.assert_allclose(g, c, rtol=tol, atol=tol)
    if "clipnorm" in clip and clip["clipnorm"] < 10:
        total = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads))
        assert total <= clip["clipnorm"] * (1 + 1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [lambda **c: SGD(lr=0.1, momentum=0.9, **c),
                                  lambda **c: Adam(lr=0.01, **c),
                                  lambda **c: AdamW(lr=0.01, amsgrad=True, **c),
                                  lambda **c: RMSprop(lr=0.01, momentum=0.5, centered=True, **c)],
                         ids=["momentum", "adam", "adamw", "rmsprop"])
def test_every_optimizer_clips_before_its_update_on_both_backends(rng, dtype, make):
    """A clipping optimizer takes the same steps as a plain one fed the oracle's clipped
    gradients; the native and the numpy backends agree."""
    clip = dict(clipnorm=0.8, clipvalue=0.5)
    params0 = _grads(rng, dtype, 1.0)
    results = []
    for backend in (ops, reference):
        p_clip = [p.copy() for p in params0]
        p_ref = [p.copy() for p in params0]
        a, b = make(**clip), make()
        a._ops = b._ops = backend
        for step in range(3):
            grads = _grads(np.random.default_rng(step), dtype)
            b.update(p_ref, torch_clip(grads, **clip))
            a.update(p_clip, grads)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        for x, w in zip(p_clip, p_ref):
            np.testing.assert_allclose(x, w, rtol=tol, atol=tol)
        results.append(p_clip)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for x, w in zip(*results):
        np.testing.assert_allclose(x, w, rtol=tol, atol=tol)
    # and the clipping mattered: unclipped steps land elsewhere
    p_plain = [p.copy() for p in params0]
    c = make()
    for step in range(3):
        c.update(p_plain, _grads(np.random.default_rng(step), dtype))
    assert not all(np.allclose(x, w) for x, w in zip(p_plain, results[0]))


def test_clip_returns_the_norm_before_clipping(rng):
    grads = _grads(rng, np.float64)
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    assert SGD(clipnorm=0.1).clip(grads) == pytest.approx(total, rel=1e-12)
    assert SGD(clipvalue=0.1).clip(grads) is None


# ------------------------------------------------------------------ the fused plan


OPTIMIZERS = {
    "sgd": lambda c: SGD(lr=0.2, **c),
    "momentum": lambda c: SGD(lr=0.1, momentum=0.9, weight_decay=1e-3, **c),
    "adam": lambda c: Adam(lr=0.02, **c),
    "adamw": lambda c: AdamW(lr=0.02, amsgrad=True, **c),
    "rmsprop": lambda c: RMSprop(lr=0.01, momentum=0.5, **c),
}
CLIPS = {"norm": dict(clipnorm=0.3), "value": dict(clipvalue=0.02),
         "both": dict(clipnorm=0.5, clipvalue=0.05)}


def _dense_model(dtype):
    return Sequential([Dense(16, activation="tanh"), Dense(8, activation="relu"), Dense(4)],
                      seed=3, dtype=dtype)


def _conv_model(dtype):
    return Sequential([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(3)],
                      seed=5, dtype=dtype)


def _fit(build, fused, X, y, opt, **kw):
    m = build()
    m.fused = fused
    m.fit(X, y, epochs=2, verbose=0, optimizer=opt, **kw)
    assert (m._plan is not None) == fused
    return m


def _assert_same(m1, m2):
    """Bit for bit: the plan clips with the arithmetic of ops.clip_grad_norm (and an exact
    clamp), after the same gradients as the per-layer path (tests/test_fused.py)."""
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert m1.optimizer.iterations == m2.optimizer.iterations
    for s1, s2 in zip(m1.optimizer.state, m2.optimizer.state):
        for k in s1:
            np.testing.assert_array_equal(s1[k], s2[k])


def _assert_clipping_mattered(build, X, y, make, kw, m_clipped):
    m = _fit(build, True, X, y, make({}), **kw)
    assert not all(np.allclose(a, b, rtol=1e-3, atol=1e-5)
                   for a, b in zip(m.get_weights(), m_clipped.get_weights()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip", list(CLIPS))
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_fused_plan_clips_as_the_per_layer_path_dense(dtype, clip, opt):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 12)).astype(dtype)
    y = (np.abs(X[:, :4]).argmax(axis=1)).astype(np.int64)
    make = OPTIMIZERS[opt]
    build = lambda: _dense_model(dtype)  # noqa: E731
    m1 = _fit(build, True, X, y, make(CLIPS[clip]), batch_size=32)
    m2 = _fit(build, False, X, y, make(CLIPS[clip]), batch_size=32)
    _assert_same(m1, m2)
    _assert_clipping_mattered(build, X, y, make, dict(batch_size=32), m1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam", "rmsprop"])
def test_fused_plan_clips_as_the_per_layer_path_conv(dtype, opt):
    rng = np.random.default_rng(1)
    X = rng.random((64, 1, 8, 8)).astype(dtype)
    y = rng.integers(0, 3, 64)
    make = OPTIMIZERS[opt]
    build = lambda: _conv_model(dtype)  # noqa: E731
    clip = dict(clipnorm=0.2, clipvalue=0.05)
    m1 = _fit(build, True, X, y, make(clip), batch_size=16)
    m2 = _fit(build, False, X, y, make(clip), batch_size=16)
    _assert_same(m1, m2)
    _assert_clipping_mattered(build, X, y, make, dict(batch_size=16), m1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("threads", [1, 2])
def test_clipping_turns_off_the_fused_first_layer_update(dtype, opt, threads,
                                                         restore_threads):
    """MNIST-like rows at small batches: without clipping the plan updates the first
    layer inside its weight-gradient product (plain SGD) or block by block (Adam); with
    clipping every gradient is formed first, and the result is the per-layer path's."""
    fastnn.set_num_threads(threads)
    rng = np.random.default_rng(11)
    X = rng.random((300, 64)).astype(dtype)
    X[X < 0.7] = 0
    X[:, :12] = 0
    y = rng.integers(0, 5, 300)
    build = lambda: Sequential([Dense(30, activation="sigmoid"), Dense(5)],  # noqa: E731
                               seed=12, dtype=dtype)
    make = OPTIMIZERS[opt]
    clip = dict(clipnorm=0.1)
    m1 = _fit(build, True, X, y, make(clip), batch_size=32)
    m2 = _fit(build, False, X, y, make(clip), batch_size=32)
    _assert_same(m1, m2)
    _assert_clipping_mattered(build, X, y, make, dict(batch_size=32), m1)


def test_a_later_fit_without_clipping_follows_the_optimizer():
    """The plan reads the clipping options at each fit: a new optimizer without them
    trains as an unclipped one does."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 6)).astype(np.float64)
    y = rng.integers(0, 3, 60)
    build = lambda: Sequential([Dense(8, activation="relu"), Dense(3)],  # noqa: E731
                               seed=2, dtype=np.float64)
    a = build()
    a.fit(X, y, epochs=1, batch_size=10, optimizer=SGD(lr=0.1, clipnorm=0.01), verbose=0)
    a.fit(X, y, epochs=1, batch_size=10, optimizer=SGD(lr=0.1), verbose=0)
    b = build()
    b.fused = False
    b.fit(X, y, epochs=1, batch_size=10, optimizer=SGD(lr=0.1, clipnorm=0.01), verbose=0)
    b.fit(X, y, epochs=1, batch_size=10, optimizer=SGD(lr=0.1), verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_clipping_changed_between_epochs_reaches_the_plan():
    """A callback that turns clipping on after the first epoch: the plan follows the
    optimizer, as the per-layer path does at every step."""
    from fastnn.callbacks import Callback

    class ClipLater(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.optimizer.clipnorm = 0.05

    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 6))
    y = rng.integers(0, 3, 80)
    runs = []
    for fused, cbs in [(True, [ClipLater()]), (False, [ClipLater()]), (True, [])]:
        m = Sequential([Dense(8, activation="relu"), Dense(3)], seed=2, dtype=np.float64)
        m.fused = fused
        m.fit(X, y, epochs=3, batch_size=16, optimizer=SGD(lr=0.1), callbacks=cbs, verbose=0)
        runs.append(m.get_weights())
    for u, v in zip(runs[0], runs[1]):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)
    assert not all(np.allclose(u, v) for u, v in zip(runs[0], runs[2]))
