"""model.state_dict() / load_state_dict(): every parameter and buffer by name, loaded in
place, checked before anything is copied."""

import numpy as np
import pytest

from fastnn import (
    SGD,
    BatchNorm,
    Callback,
    Dense,
    ReLU,
    Residual,
    Sequential,
)
from fastnn import saving


def data(n=64, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def net(seed=0, dtype="float32"):
    return Sequential([
        Dense(8, name="inp"),
        BatchNorm(name="bn"),
        ReLU(name="act"),
        Residual([Dense(8, name="a"), ReLU(), Dense(8, name="b")], name="res"),
        Dense(2, name="out"),
    ], seed=seed, dtype=dtype).build(6)


def test_names_values_and_copies():
    m = net()
    sd = m.state_dict()
    assert list(sd) == [
        "inp.W", "inp.b", "bn.gamma", "bn.beta", "res.0.W", "res.0.b", "res.2.W", "res.2.b",
        "out.W", "out.b", "bn.running_mean", "bn.running_var",
    ]
    assert sd["inp.W"].shape == (6, 8) and sd["out.W"].shape == (8, 2)
    np.testing.assert_array_equal(sd["res.0.W"], m.get_layer("res").layers[0].params["W"])
    np.testing.assert_array_equal(sd["bn.running_var"], np.ones(8, np.float32))
    # copies: changing them leaves the model alone
    before = m.get_layer("inp").params["W"].copy()
    sd["inp.W"][...] = 7.0
    np.testing.assert_array_equal(m.get_layer("inp").params["W"], before)
    assert Sequential([Dense(2)]).state_dict() == {}  # not built: no arrays yet


def test_names_are_those_the_model_file_records():
    m = net()
    header, _ = saving._header_and_arrays(m)
    names = [f"{e['layer']}.{e['key']}" for e in header["params"] + header["buffers"]]
    assert names == list(m.state_dict())


def test_round_trip_in_place_and_the_plans_follow():
    X, y = data()
    a = net(seed=1)
    a.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(lr=0.1), verbose=0)
    b = net(seed=2)
    b.predict(X)  # builds b's inference plan, which points at b's arrays
    arrays = {k: v for k, v in zip(b.state_dict(), [x for _, _, x in b.params + b.buffers])}
    assert not np.array_equal(a.predict(X), b.predict(X))
    assert b.load_state_dict(a.state_dict()) == ([], [])
    for (_, _, x), (name, held) in zip(b.params + b.buffers, arrays.items()):
        assert x is held, name  # the same arrays, written in place
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)


def test_loading_mid_fit_reaches_the_fused_training_plan():
    """A state loaded from a callback between two epochs is what the next epoch trains
    from: the same weights as a fresh fit of one epoch from that state (SGD without
    momentum keeps no state; no shuffling)."""
    X, y = data(seed=3)
    source = net(seed=5)
    target_state = source.state_dict()

    class LoadAfterFirst(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.load_state_dict(target_state)

    m = net(seed=6)
    m.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(lr=0.05), shuffle=False,
          callbacks=[LoadAfterFirst()], verbose=0)
    ref = net(seed=7)
    ref.load_state_dict(target_state)
    ref.fit(X, y, epochs=1, batch_size=16, optimizer=SGD(lr=0.05), shuffle=False, verbose=0)
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k], v, err_msg=k)


def test_strict_errors_report_everything_and_load_nothing():
    m = net()
    before = m.state_dict()
    bad = dict(before)
    bad.pop("inp.b")
    bad.pop("bn.running_mean")
    bad["extra.W"] = np.zeros(3)
    bad["out.W"] = np.zeros((3, 3))
    bad["inp.W"] = np.full((6, 8), 9.0)  # fits, but must not be copied: another key fails
    with pytest.raises(ValueError) as e:
        m.load_state_dict(bad)
    msg = str(e.value)
    for part in ("missing keys: inp.b, bn.running_mean", "unexpected keys: extra.W",
                 "out.W: the model's array has shape (8, 2), the state's (3, 3)"):
        assert part in msg
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    with pytest.raises(ValueError, match="res.0.W: needs a numeric array"):
        m.load_state_dict({**before, "res.0.W": np.full((8, 8), "x")})
    with pytest.raises(TypeError, match="mapping"):
        m.load_state_dict([("inp.W", before["inp.W"])])
    with pytest.raises(ValueError, match="not built"):
        Sequential([Dense(2)]).load_state_dict({"dense_1.W": np.zeros((2, 2))})


def test_non_strict_returns_missing_and_unexpected_and_loads_the_rest():
    m = net(seed=0)
    other = net(seed=9).state_dict()
    state = {"out.W": other["out.W"], "res.2.b": other["res.2.b"], "nope": np.ones(2)}
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert unexpected == ["nope"]
    assert missing == [k for k in m.state_dict() if k not in ("out.W", "res.2.b")]
    np.testing.assert_array_equal(m.get_layer("out").params["W"], other["out.W"])
    np.testing.assert_array_equal(m.get_layer("res").layers[2].params["b"], other["res.2.b"])
    with pytest.raises(ValueError, match="shape"):  # shapes are checked when not strict too
        m.load_state_dict({"out.b": np.zeros(5)}, strict=False)


def test_values_are_cast_to_the_model_dtype():
    m = net(dtype="float32")
    state = {k: v.astype(np.float64) + 0.1 for k, v in m.state_dict().items()}
    m.load_state_dict(state)
    for k, v in m.state_dict().items():
        assert v.dtype == np.float32
        np.testing.assert_array_equal(v, state[k].astype(np.float32))
    ints = {k: np.ones(v.shape, np.int64) for k, v in m.state_dict().items()}
    m.load_state_dict(ints)
    assert all((v == 1).all() for v in m.state_dict().values())
