"""Callbacks: History, EarlyStopping, learning-rate schedules, the hooks' order, batch
hooks, ModelCheckpoint, CSVLogger, ReduceLROnPlateau and TerminateOnNaN."""

import copy
import csv
import math
import pickle

import numpy as np
import pytest

import fastnn
from fastnn import (
    SGD,
    Adam,
    Callback,
    CosineDecay,
    CSVLogger,
    Dense,
    Dropout,
    EarlyStopping,
    ExponentialDecay,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    Sequential,
    StepDecay,
    TerminateOnNaN,
    TrainingDivergedError,
    load,
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


# ====================================================================== batch hooks


class BatchRecorder(Callback):
    def __init__(self, stop_at=None, lr_after=None):
        super().__init__()
        self.events = []
        self.logs = []
        self.stop_at = stop_at
        self.lr_after = lr_after

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"begin{epoch}")

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(f"b{batch}")

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(f"e{batch}")
        self.logs.append(dict(logs))
        if self.lr_after is not None and batch == self.lr_after:
            self.model.optimizer.lr = 0.0
        if self.stop_at is not None and batch == self.stop_at:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"end{epoch}")


class NoOpBatchHook(Callback):
    def on_train_batch_end(self, batch, logs=None):
        pass


def drop_model(seed=0):
    return Sequential([Dense(16, activation="relu"), Dropout(0.3), Dense(3)], seed=seed)


def data3(n=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)


@pytest.mark.parametrize("fused", [True, False])
def test_batch_hooks_order_and_logs_against_numpy(fused):
    """Batch hooks run around every batch, numbered per epoch; with lr 0 the weights never
    move, so each batch's loss is the textbook cross-entropy of predict's logits on its
    rows (no shuffling, no dropout)."""
    X, y = data3(n=50)
    m = Sequential([Dense(8, activation="tanh"), Dense(3)], seed=1)
    m.fused = fused
    rec = BatchRecorder()
    h = m.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(lr=0.0), shuffle=False,
              callbacks=[rec], verbose=0)
    per_epoch = ["b0", "e0", "b1", "e1", "b2", "e2", "b3", "e3"]
    assert rec.events == ["begin0", *per_epoch, "end0", "begin1", *per_epoch, "end1"]
    z = m.predict(X).astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    nll = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]
    hits = z.argmax(axis=1) == y
    for i, logs in enumerate(rec.logs[:4]):
        rows = slice(16 * i, 16 * (i + 1))
        assert logs["size"] == len(y[rows])
        assert logs["loss"] == pytest.approx(nll[rows].mean(), rel=1e-5)
        assert logs["accuracy"] == pytest.approx(hits[rows].mean())
    assert h.history["loss"][0] == pytest.approx(nll.mean(), rel=1e-5)


@pytest.mark.parametrize("fused", [True, False])
def test_a_no_op_batch_hook_changes_no_bit(fused):
    """The epoch run batch by batch (for the hook) trains exactly as the epoch in one
    go: dropout, Adam, shuffling, sample weights with an all-zero batch."""
    X, y = data3(n=100)
    sw = np.ones(100, np.float32)
    sw[:20] = 0.0  # with shuffle=False, batch 0 (rows 0..15) has weight 0

    def run(callbacks, shuffle):
        m = drop_model(seed=3)
        m.fused = fused
        h = m.fit(X, y, epochs=3, batch_size=16, optimizer=Adam(lr=0.01), shuffle=shuffle,
                  sample_weight=sw, callbacks=callbacks, verbose=0)
        return m, h

    for shuffle in (True, False):
        a, ha = run([], shuffle)
        rec = BatchRecorder()
        b, hb = run([NoOpBatchHook(), rec], shuffle)
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(wa, wb)
        assert ha.history == hb.history  # the same sums: loss and accuracy to the bit
        assert a.optimizer.iterations == b.optimizer.iterations
        assert len(rec.logs) == 3 * 7
        if not shuffle:
            assert rec.logs[0] == {"size": 0}  # all its weights are 0: nothing trained
            assert rec.logs[1]["size"] == 16 and "loss" in rec.logs[1]


def test_fused_and_per_layer_paths_agree_batch_by_batch():
    X, y = data3(n=70)
    logs = []
    for fused in (True, False):
        m = Sequential([Dense(8, activation="relu"), Dense(3)], seed=2, dtype="float64")
        m.fused = fused
        rec = BatchRecorder()
        m.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(lr=0.1), callbacks=[rec],
              verbose=0)
        logs.append(rec.logs)
    assert len(logs[0]) == len(logs[1]) == 10
    for a, b in zip(*logs):
        assert a["size"] == b["size"] and a["accuracy"] == b["accuracy"]
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-12)


def test_no_batch_hook_no_per_batch_python(tmp_path):
    seen = []

    class Look(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model._batch_hooks)

    X, y = data()
    m = model()
    m.fit(X, y, epochs=1, callbacks=[Look(), EarlyStopping(monitor="loss"),
                                    TerminateOnNaN(), ModelCheckpoint(tmp_path / "m.fnn")],
          verbose=0)
    m.fit(X, y, epochs=1, callbacks=[Look(), NoOpBatchHook()], verbose=0)
    assert seen[0] is None and seen[1] is not None
    assert m._batch_hooks is None  # cleared after fit


@pytest.mark.parametrize("fused", [True, False])
def test_stop_training_in_a_batch_hook_ends_after_that_batch(fused):
    X, y = data3(n=100)
    m = drop_model()
    m.fused = fused
    rec = BatchRecorder(stop_at=2)
    h = m.fit(X, y, epochs=5, batch_size=16, optimizer=Adam(), callbacks=[rec], verbose=0)
    assert rec.events == ["begin0", "b0", "e0", "b1", "e1", "b2", "e2", "end0"]
    assert h.epoch == [0] and m.optimizer.iterations == 3
    # the epoch's loss is over the three batches that ran
    expect = sum(lg["loss"] * lg["size"] for lg in rec.logs) / 48
    assert h.history["loss"][0] == pytest.approx(expect, rel=1e-6)


@pytest.mark.parametrize("fused", [True, False])
def test_lr_set_in_a_batch_hook_applies_from_the_next_batch(fused):
    """lr 0 after batch 1: the weights are those after the first two batches, i.e. of
    a fit on those 32 rows alone."""
    X, y = data(n=80)
    m = model(seed=5)
    m.fused = fused
    m.fit(X, y, epochs=1, batch_size=16, optimizer=SGD(lr=0.1), shuffle=False,
          callbacks=[BatchRecorder(lr_after=1)], verbose=0)
    ref = model(seed=5)
    ref.fused = fused
    ref.fit(X[:32], y[:32], epochs=1, batch_size=16, optimizer=SGD(lr=0.1),
            shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_batch_hooks_see_the_optimizer_step_count():
    steps = []

    class Steps(Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(self.model.optimizer.iterations)

    X, y = data()
    model().fit(X, y, epochs=2, batch_size=32, optimizer=Adam(), callbacks=[Steps()],
                verbose=0)
    assert steps == [1, 2, 3, 4, 5, 6]


# ====================================================================== ModelCheckpoint


def test_model_checkpoint_every_epoch_with_formatted_names(tmp_path):
    X, y = data(n=120)
    m = model(seed=2)
    ck = ModelCheckpoint(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.fnn")
    h = m.fit(X, y, epochs=3, batch_size=16, validation_split=0.25, callbacks=[ck],
              verbose=0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"m-{e + 1:02d}-{v:.3f}.fnn" for e, v in enumerate(h.history["val_loss"])]
    assert ck.last_saved == str(tmp_path / names[-1])
    loaded = load(ck.last_saved)
    np.testing.assert_array_equal(loaded.predict(X), m.predict(X))


def test_model_checkpoint_best_only_keeps_the_best_epoch(tmp_path):
    X, y = data(n=120)
    weights = []

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append(self.model.get_weights())

    m = model(seed=3)
    path = tmp_path / "best.fnn"
    ck = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    h = m.fit(X, y, epochs=12, batch_size=8, optimizer=Adam(lr=0.2), validation_split=0.5,
              callbacks=[ck, Keep()], verbose=0)
    vl = h.history["val_loss"]
    best = int(np.argmin(vl))
    assert best < len(vl) - 1  # the data makes it overfit: the test means something
    assert ck.best == vl[best]
    for a, b in zip(load(path).get_weights(), weights[best]):
        np.testing.assert_array_equal(a, b)
    ck2 = ModelCheckpoint(tmp_path / "acc.fnn", monitor="val_accuracy", save_best_only=True)
    assert ck2.mode == "max"
    assert ModelCheckpoint(tmp_path / "x", monitor="val_mae").mode == "min"
    assert ModelCheckpoint(tmp_path / "x", monitor="val_f1").mode == "max"


def test_model_checkpoint_missing_monitor_warns_once_and_skips(tmp_path):
    X, y = data()
    ck = ModelCheckpoint(tmp_path / "m.fnn", monitor="val_loss", save_best_only=True)
    with pytest.warns(RuntimeWarning, match="val_loss") as w:
        model().fit(X, y, epochs=3, callbacks=[ck], verbose=0)
    assert len([x for x in w if "val_loss" in str(x.message)]) == 1
    assert list(tmp_path.iterdir()) == [] and ck.last_saved is None


def test_model_checkpoint_every_n_batches(tmp_path):
    X, y = data(n=48)
    ck = ModelCheckpoint(tmp_path / "e{epoch}-b{batch}-{loss:.2f}.fnn", save_freq=2)
    rec = BatchRecorder()
    model().fit(X, y, epochs=2, batch_size=16, callbacks=[ck, rec], verbose=0)
    names = sorted(p.name for p in tmp_path.iterdir())
    losses = [lg["loss"] for lg in rec.logs]  # 3 batches an epoch: saves after 2, 4, 6
    assert names == sorted([f"e1-b2-{losses[1]:.2f}.fnn", f"e2-b1-{losses[3]:.2f}.fnn",
                            f"e2-b3-{losses[5]:.2f}.fnn"])


def test_model_checkpoint_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="format"):
        ModelCheckpoint(str(tmp_path / "m-{epoch.fnn"))
    with pytest.raises(ValueError, match="named"):
        ModelCheckpoint(str(tmp_path / "m-{}.fnn"))
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.fnn", save_freq="batch")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.fnn", save_freq=0)
    with pytest.raises(TypeError):
        ModelCheckpoint(3)
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint("m.fnn", mode="up")
    X, y = data()
    ck = ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.fnn"))
    with pytest.raises(ValueError, match="val_acc.*not in the logs"):
        model().fit(X, y, epochs=1, callbacks=[ck], verbose=0)


# ====================================================================== CSVLogger


def test_csv_logger_rows_match_the_history(tmp_path):
    X, y = data(n=100)
    path = tmp_path / "log.csv"
    m = model()
    log = CSVLogger(path)
    h = m.fit(X, y, epochs=3, validation_split=0.2, callbacks=[log], verbose=0)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(rows) == 4
    for e, row in enumerate(rows[1:]):
        assert int(row[0]) == e
        for key, cell in zip(rows[0][1:], row[1:]):
            assert float(cell) == h.history[key][e]  # written exactly
    assert log._file is None  # closed at the end of training
    # append: more rows, no second header; another separator
    m.fit(X, y, epochs=2, validation_split=0.2, callbacks=[CSVLogger(path, append=True)],
          verbose=0)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 6 and rows[0][0] == "epoch" and [r[0] for r in rows[4:]] == ["0", "1"]
    semi = tmp_path / "semi.csv"
    m.fit(X, y, epochs=1, callbacks=[CSVLogger(semi, separator=";")], verbose=0)
    assert semi.read_text().splitlines()[0] == "epoch;accuracy;loss"
    with pytest.raises(ValueError, match="separator"):
        CSVLogger(path, separator="::")


def test_csv_logger_flushes_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    lines = []

    class Peek(Callback):
        def on_epoch_end(self, epoch, logs=None):
            lines.append(len(path.read_text().splitlines()))

    X, y = data()
    model().fit(X, y, epochs=3, callbacks=[CSVLogger(path), Peek()], verbose=0)
    assert lines == [2, 3, 4]


# ====================================================================== ReduceLROnPlateau


class FakeOptModel(FakeModel):
    def __init__(self, lr):
        super().__init__()
        self.optimizer = SGD(lr=lr)


def test_reduce_lr_on_plateau_follows_patience_cooldown_and_min_lr():
    r = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=2,
                          min_lr=0.02, min_delta=0.0)
    fm = FakeOptModel(0.1)
    r.set_model(fm)
    r.on_train_begin()
    lrs = []
    # (Keras's rules) best 1.0 at epoch 0; no improvement in 1, 2 -> reduce at 2;
    # cooldown: the counter runs down in 3 and 4 (wait reset), so epoch 3 is not
    # counted, epoch 4 counts 1, 5 counts 2 -> reduce; 6 not counted, 7 and 8 -> reduce
    # to min_lr; then it stays there
    for epoch, v in enumerate([1.0, 1.0, 1.2, 1.1, 1.0, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8]):
        r.on_epoch_end(epoch, {"val_loss": v})
        lrs.append(fm.optimizer.lr)
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02,
                                 0.02, 0.02])
    r.on_train_begin()
    assert r.wait == 0 and r.best == math.inf
    r2 = ReduceLROnPlateau(monitor="accuracy", patience=0, factor=0.1)
    assert r2.mode == "max"
    fm2 = FakeOptModel(1.0)
    r2.set_model(fm2)
    r2.on_epoch_end(0, {"accuracy": 0.5})
    r2.on_epoch_end(1, {"accuracy": 0.6})
    assert fm2.optimizer.lr == 1.0
    r2.on_epoch_end(2, {"accuracy": 0.6})
    assert fm2.optimizer.lr == pytest.approx(0.1)
    for bad in (dict(factor=1.0), dict(factor=-0.1), dict(patience=-1), dict(min_lr=-1),
                dict(mode="sideways")):
        with pytest.raises(ValueError):
            ReduceLROnPlateau(**bad)


def test_reduce_lr_on_plateau_reaches_the_fused_plan():
    """The same weights as a schedule giving the same rates: the plan sees the new lr."""
    X, y = data()
    rec = Recorder()
    a = model(seed=1)
    a.fit(X, y, epochs=5, optimizer=SGD(lr=0.1), shuffle=False, verbose=0,
          callbacks=[ReduceLROnPlateau(monitor="loss", min_delta=1e9, patience=1,
                                       factor=0.5), rec])
    # epoch 0 improves on nothing; every later epoch is a plateau (min_delta)
    assert rec.lrs == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.0125])
    b = model(seed=1)
    b.fit(X, y, epochs=5, optimizer=SGD(lr=0.1), shuffle=False, verbose=0,
          callbacks=[LearningRateScheduler(lambda e: 0.1 * 0.5 ** max(0, e - 1))])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


# ====================================================================== TerminateOnNaN


def nan_data():
    """Rows 32..47 (batch 2 of 16, unshuffled) are so large that the first layer of
    nan_model overflows."""
    X, y = data(n=96)
    X[32:48] = 3e38
    return X, y


def nan_model():
    return Sequential([Dense(8), Dense(2)], seed=0)


@pytest.mark.parametrize("fused", [True, False])
def test_terminate_on_nan_at_the_epoch(fused):
    X, y = nan_data()
    m = nan_model()
    m.fused = fused
    t = TerminateOnNaN()
    h = m.fit(X, y, epochs=5, batch_size=16, optimizer=SGD(lr=0.1), shuffle=False,
              on_nonfinite="ignore", callbacks=[t], verbose=0)
    assert h.epoch == [0] and not math.isfinite(h.history["loss"][0])
    assert t.stopped_epoch == 0 and t.stopped_batch is None
    assert m.optimizer.iterations == 6  # the whole epoch ran
    # without it, "ignore" goes on through every epoch
    h = nan_model().fit(X, y, epochs=3, batch_size=16, shuffle=False, on_nonfinite="ignore",
                    verbose=0)
    assert h.epoch == [0, 1, 2]


@pytest.mark.parametrize("fused", [True, False])
def test_terminate_on_nan_at_the_batch_with_batch_hooks(fused):
    X, y = nan_data()
    m = nan_model()
    m.fused = fused
    t = TerminateOnNaN()
    rec = BatchRecorder()
    h = m.fit(X, y, epochs=5, batch_size=16, optimizer=SGD(lr=0.1), shuffle=False,
              on_nonfinite="ignore", callbacks=[rec, t], verbose=0)
    assert t.stopped_epoch == 0 and t.stopped_batch == 2
    assert rec.events == ["begin0", "b0", "e0", "b1", "e1", "b2", "e2", "end0"]
    assert not math.isfinite(rec.logs[2]["loss"]) and m.optimizer.iterations == 3
    assert h.epoch == [0] and not math.isfinite(h.history["loss"][0])


def test_terminate_on_nan_under_on_nonfinite_raise_never_sees_it():
    X, y = nan_data()
    m = nan_model()
    before = m.build(4).get_weights()
    t = TerminateOnNaN()
    with pytest.raises(TrainingDivergedError):
        m.fit(X, y, epochs=3, batch_size=16, shuffle=False, callbacks=[t, NoOpBatchHook()],
              verbose=0)
    assert t.stopped_epoch is None
    for a, b in zip(m.get_weights(), before):  # put back as before the epoch
        np.testing.assert_array_equal(a, b)


# ====================================================================== pickling


def test_new_callbacks_pickle_and_deepcopy(tmp_path):
    log = CSVLogger(tmp_path / "l.csv")
    X, y = data()
    log.set_model(model())
    log.on_train_begin()
    log.on_epoch_end(0, {"loss": 1.0})  # its file is open
    objs = [ReduceLROnPlateau(factor=0.5, patience=3),
            ModelCheckpoint(tmp_path / "{epoch}.fnn", monitor="loss", save_best_only=True),
            log, TerminateOnNaN()]
    for obj in objs:
        for clone in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
            assert type(clone) is type(obj) and repr(clone) == repr(obj)
    clone = pickle.loads(pickle.dumps(log))
    assert clone._file is None and log._file is not None
    log.on_train_end()
    clone = copy.deepcopy(objs[0])
    assert clone.factor == 0.5 and clone.patience == 3
    import fastnn.callbacks as cbmod
    for name in ("ReduceLROnPlateau", "ModelCheckpoint", "CSVLogger", "TerminateOnNaN"):
        assert name in cbmod.__all__ and getattr(fastnn, name) is getattr(cbmod, name)
