"""Callbacks: History, EarlyStopping, learning-rate schedules, and the hooks' order."""

import math

import numpy as np
import pytest

from fastnn import (
    SGD,
    Adam,
    Callback,
    CosineDecay,
    Dense,
    EarlyStopping,
    ExponentialDecay,
    History,
    LearningRateScheduler,
    Sequential,
    StepDecay,
)


def data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def model(seed=0):
    return Sequential([Dense(8, activation="tanh"), Dense(2)], seed=seed)


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.events = []
        self.lrs = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"begin{epoch}")
        self.lrs.append(self.model.optimizer.lr)

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"end{epoch}")

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def test_hooks_order_params_and_history():
    X, y = data()
    rec = Recorder()
    m = model()
    h = m.fit(X, y, epochs=3, batch_size=16, callbacks=[rec], verbose=0)
    assert rec.events == ["train_begin", "begin0", "end0", "begin1", "end1", "begin2", "end2",
                          "train_end"]
    assert rec.model is m and rec.params["epochs"] == 3 and rec.params["samples"] == 80
    assert isinstance(h, History) and h.epoch == [0, 1, 2]
    assert set(h.history) == {"loss", "accuracy"}
    assert all(isinstance(v, float) for vals in h.history.values() for v in vals)
    assert "History(3 epoch(s)" in repr(h)


def test_a_callback_can_stop_training():
    class StopAfter(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    X, y = data()
    h = model().fit(X, y, epochs=10, callbacks=[StopAfter()], verbose=0)
    assert h.epoch == [0, 1]


# ====================================================================== EarlyStopping


class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.w = 0
        self.restored = None

    def get_weights(self):
        return [self.w]

    def set_weights(self, w):
        self.restored = w[0]


@pytest.mark.parametrize("patience,values,stop_at,best", [
    (0, [3.0, 2.0, 2.5, 1.0], 2, 1),
    (1, [3.0, 2.0, 1.5, 2.5, 1.0], 3, 2),
    (2, [3.0, 2.0, 2.5, 1.5, 1.6, 1.7, 1.0], 5, 3),
])
def test_early_stopping_patience(patience, values, stop_at, best):
    es = EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    fm = FakeModel()
    es.set_model(fm)
    es.on_train_begin()
    stopped = None
    for epoch, v in enumerate(values):
        fm.w = epoch
        es.on_epoch_end(epoch, {"val_loss": v})
        if fm.stop_training:
            stopped = epoch
            break
    assert stopped == stop_at and es.stopped_epoch == stop_at
    assert es.best_epoch == best
    es.on_train_end()
    assert fm.restored == best


def test_early_stopping_min_delta_mode_and_missing_monitor():
    es = EarlyStopping(monitor="val_accuracy", min_delta=0.05, patience=0)
    assert es.mode == "max"
    fm = FakeModel()
    es.set_model(fm)
    es.on_train_begin()
    es.on_epoch_end(0, {"val_accuracy": 0.5})
    es.on_epoch_end(1, {"val_accuracy": 0.54})  # not better by more than min_delta
    assert fm.stop_training
    es = EarlyStopping(monitor="val_loss")
    es.set_model(FakeModel())
    with pytest.warns(RuntimeWarning, match="val_loss"):
        es.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_early_stopping_stops_fit_and_restores_the_best_weights():
    X, y = data()
    m = model(seed=4)
    es = EarlyStopping(monitor="loss", min_delta=1e9, restore_best_weights=True)
    h = m.fit(X, y, epochs=10, batch_size=16, optimizer=SGD(lr=0.1), callbacks=[es],
              verbose=0)
    assert h.epoch == [0, 1] and es.stopped_epoch == 1 and es.best_epoch == 0
    ref = model(seed=4)
    ref.fit(X, y, epochs=1, batch_size=16, optimizer=SGD(lr=0.1), verbose=0)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_on_validation_loss_in_fit():
    X, y = data(n=120)
    m = model(seed=1)
    es = EarlyStopping(monitor="val_loss", patience=1)
    h = m.fit(X, y, epochs=200, batch_size=8, optimizer=Adam(lr=0.05), validation_split=0.5,
              callbacks=[es], verbose=0)
    assert len(h.epoch) < 200 and es.stopped_epoch == h.epoch[-1]
    vl = h.history["val_loss"]
    assert min(vl[-2:]) >= min(vl) - 1e-12


# ====================================================================== schedules


def _lrs(schedule, epochs=6, lr=0.1, fits=1):
    X, y = data(n=16)
    rec = Recorder()
    m = model()
    opt = SGD(lr=lr)
    for _ in range(fits):
        m.fit(X, y, epochs=epochs, batch_size=16, optimizer=opt, callbacks=[schedule, rec],
              verbose=0)
    return rec.lrs, opt


def test_step_decay():
    lrs, opt = _lrs(StepDecay(step_size=2, gamma=0.5))
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rel=1e-15)
    assert opt.lr == pytest.approx(0.025)


def test_exponential_decay():
    lrs, _ = _lrs(ExponentialDecay(0.9))
    assert lrs == pytest.approx([0.1 * 0.9**e for e in range(6)], rel=1e-15)


def test_cosine_decay():
    lrs, _ = _lrs(CosineDecay(total_epochs=4, min_lr=0.01))
    expect = [0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * min(e, 4) / 4)) for e in range(6)]
    assert lrs == pytest.approx(expect, rel=1e-15)
    assert lrs[0] == pytest.approx(0.1) and lrs[4] == lrs[5] == pytest.approx(0.01)


def test_schedules_start_from_the_initial_lr_on_every_fit():
    lrs, _ = _lrs(StepDecay(step_size=1, gamma=0.1), epochs=2, fits=2)
    assert lrs == pytest.approx([0.1, 0.01, 0.1, 0.01])


def test_learning_rate_scheduler_with_one_or_two_arguments():
    lrs, _ = _lrs(LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)), epochs=3)
    assert lrs == pytest.approx([0.1, 0.05, 0.1 / 3])
    lrs, _ = _lrs(LearningRateScheduler(lambda epoch, lr: lr * 0.5), epochs=3)
    assert lrs == pytest.approx([0.05, 0.025, 0.0125])
    with pytest.raises(ValueError, match="learning rate"):
        _lrs(LearningRateScheduler(lambda epoch: -1.0), epochs=1)
    with pytest.raises(TypeError):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="step_size"):
        StepDecay(0)


def test_the_schedule_changes_the_update_size():
    """lr really reaches the optimizer: with lr 0 from epoch 1, the weights stop moving."""
    X, y = data()
    m = model()
    snap = []

    class Snap(Callback):
        def on_train_begin(self, logs=None):
            snap.append(self.model.get_weights())

        def on_epoch_end(self, epoch, logs=None):
            snap.append(self.model.get_weights())

    m.fit(X, y, epochs=3, optimizer=SGD(lr=0.1),
          callbacks=[LearningRateScheduler(lambda e: 0.1 if e == 0 else 0.0), Snap()],
          verbose=0)
    initial, after = snap[0], snap[1:]
    assert all(not np.array_equal(a, b) for a, b in zip(initial, after[0]))  # lr 0.1 moved
    for a, b, c in zip(*after):  # lr 0 in epochs 1 and 2: nothing moves
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(b, c)
