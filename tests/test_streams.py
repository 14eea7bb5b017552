"""fit on streams (fastnn/_model_streams.py): a Sequence of batches, an iterator of
batches, a memory-mapped X. The oracle is the array fit: the same batches in the same
order give the same weights to the bit (the same kernels on the same rows, in the same
plan), on the fused plan and on the per-layer path alike."""

import itertools
import tracemalloc

import numpy as np
import pytest

import fastnn
from fastnn import Dense, Dropout, Sequential, SGD
from fastnn import _fused, _model_streams
from fastnn.datasets import load_digits
from fastnn.errors import TrainingDivergedError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return np.ascontiguousarray(X[:500], np.float32), y[:500].astype(np.int64)


def _model(seed=0, fused=True, dropout=False):
    layers = [Dense(24, activation="relu")] + ([Dropout(0.2)] if dropout else []) + [Dense(10)]
    m = Sequential(layers, seed=seed)
    m.fused = fused
    return m


def _weights(model):
    return [a.copy() for _, _, a in model.params]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


class Batches:
    """A Sequence (keras.utils.Sequence's protocol) over arrays, recording the indices
    asked for and the on_epoch_end calls."""

    def __init__(self, X, y, batch_size, w=None, sizes=None):
        self.X, self.y, self.w = X, y, w
        cuts = np.cumsum(sizes) if sizes is not None else \
            np.arange(batch_size, len(X) + batch_size, batch_size)
        self.bounds = list(zip(np.r_[0, cuts[:-1]], np.minimum(cuts, len(X))))
        self.asked, self.epochs_ended = [], 0

    def __len__(self):
        return len(self.bounds)

    def __getitem__(self, i):
        self.asked.append(i)
        s, e = self.bounds[i]
        if self.w is None:
            return self.X[s:e], self.y[s:e]
        return self.X[s:e], self.y[s:e], self.w[s:e]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _forever(X, y, batch_size):
    while True:
        for s in range(0, len(X), batch_size):
            yield X[s:s + batch_size], y[s:s + batch_size]


# ================================================================== same batches, same bits

@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_sequence_trains_the_weights_of_the_array_fit(digits, fused, weighted):
    X, y = digits  # 500 rows: 15 batches of 32 and one of 20
    w = np.random.default_rng(0).random(len(X)) if weighted else None
    ref = _model(fused=fused, dropout=True)
    h_ref = ref.fit(X, y, epochs=3, batch_size=32, shuffle=False, sample_weight=w,
                    verbose=0)
    m = _model(fused=fused, dropout=True)
    seq = Batches(X, y, 32, w=w)
    h = m.fit(seq, epochs=3, shuffle=False, verbose=0)
    assert _same(_weights(m), _weights(ref))
    assert h.history == h_ref.history
    assert seq.asked == [0] + list(range(16)) * 3  # batch 0 first builds the model
    assert seq.epochs_ended == 3
    assert m.optimizer.iterations == ref.optimizer.iterations == 48


def test_iterator_trains_the_weights_of_the_array_fit(digits):
    X, y = digits
    ref = _model()
    ref.fit(X, y, epochs=2, batch_size=50, shuffle=False, verbose=0)
    m = _model()
    m.fit(_forever(X, y, 50), steps_per_epoch=10, epochs=2, verbose=0)
    assert _same(_weights(m), _weights(ref))


def test_batches_of_a_sequence_go_several_to_a_native_call(digits, monkeypatch):
    X, y = digits
    calls = []
    real = _fused.run_epoch
    monkeypatch.setattr(_fused, "run_epoch",
                        lambda model, plan, Xc, *a, **k: calls.append(len(Xc)) or
                        real(model, plan, Xc, *a, **k))
    _model().fit(Batches(X, y, 32), epochs=1, shuffle=False, verbose=0)
    assert calls == [480, 20]  # the 15 full batches in one call, the short one alone
    calls.clear()
    monkeypatch.setattr(_model_streams, "STAGE_BYTES", 5 * 32 * X[0].nbytes)
    _model().fit(Batches(X, y, 32), epochs=1, shuffle=False, verbose=0)
    assert calls == [160, 160, 160, 20]


@pytest.mark.parametrize("sizes", [[10, 40, 40, 30, 40, 7], [40, 40, 3, 40, 40, 40]])
def test_batches_of_several_sizes_fused_equals_per_layer(digits, sizes):
    """A larger batch rebuilds the plan; a smaller one runs alone on the plan in force:
    the fused plan still trains what the per-layer path does."""
    X, y = digits
    X, y = X[:sum(sizes)], y[:sum(sizes)]
    models = []
    for fused in (True, False):
        m = _model(fused=fused)
        m.fit(Batches(X, y, None, sizes=sizes), epochs=2, shuffle=False, verbose=0)
        models.append(_weights(m))
    assert _same(*models)


def test_shuffled_sequence_visits_each_batch_once_per_epoch(digits):
    X, y = digits
    seqs = []
    for _ in range(2):
        seqs.append(Batches(X, y, 32))
        _model(seed=3).fit(seqs[-1], epochs=3, verbose=0)
    asked = seqs[0].asked[1:]
    epochs = [asked[i * 16:(i + 1) * 16] for i in range(3)]
    assert all(sorted(e) == list(range(16)) for e in epochs)
    assert epochs[0] != list(range(16)) and epochs[0] != epochs[1]
    assert seqs[1].asked == seqs[0].asked  # the model's seed gives the order


def test_steps_per_epoch_takes_part_of_a_sequence(digits):
    X, y = digits
    seq = Batches(X, y, 32)
    m = _model()
    m.fit(seq, steps_per_epoch=4, epochs=2, shuffle=False, verbose=0)
    assert seq.asked == [0] + [0, 1, 2, 3] * 2 and m.optimizer.iterations == 8


# ================================================================== memory-mapped X

@pytest.fixture
def mapped(digits, tmp_path):
    X, y = digits
    np.save(tmp_path / "X.npy", X.astype(np.float64))  # float64 on disk, float32 model
    return np.load(tmp_path / "X.npy", mmap_mode="r"), y


def test_memmap_in_file_order_trains_the_weights_of_the_array_fit(mapped, monkeypatch):
    Xm, y = mapped
    monkeypatch.setattr(_model_streams, "CHUNK_BYTES", 3 * 32 * Xm.shape[1] * 4)
    ref = _model(dropout=True)
    h_ref = ref.fit(np.asarray(Xm), y, epochs=2, batch_size=32, shuffle=False,
                    metrics=["accuracy", "f1"], verbose=0)
    m = _model(dropout=True)
    h = m.fit(Xm, y, epochs=2, batch_size=32, shuffle=False, metrics=["accuracy", "f1"],
              verbose=0)
    assert _same(_weights(m), _weights(ref))
    assert h.history == h_ref.history


def test_memmap_shuffle_is_chunk_order_then_rows_within_a_chunk(mapped, monkeypatch):
    Xm, y = mapped
    chunk = 3 * 32
    monkeypatch.setattr(_model_streams, "CHUNK_BYTES", chunk * Xm.shape[1] * 4)
    m = _model(seed=5)
    m.build(Xm.shape[1:])
    rng = np.random.default_rng()
    rng.bit_generator.state = m.rng.bit_generator.state
    seen = []
    real = _model_streams._Runner.run

    def record(self, unit):
        Xc, _, _, perm, batch = unit
        first = int(np.flatnonzero((np.asarray(Xm, np.float32) == Xc[0]).all(axis=1))[0])
        seen.append((first, len(Xc), perm, batch))
        return real(self, unit)

    monkeypatch.setattr(_model_streams._Runner, "run", record)
    m.fit(Xm, y, epochs=2, batch_size=32, verbose=0)
    n = len(Xm)
    starts = list(range(0, n, chunk))
    want = []
    for _ in range(2):  # the documented order, drawn from the model's rng
        for k in rng.permutation(len(starts)):
            s = starts[k]
            want.append((s, min(chunk, n - s), rng.permutation(min(chunk, n - s))))
    assert [(f, ln) for f, ln, _, _ in seen] == [(s, ln) for s, ln, _ in want]
    assert all(np.array_equal(p, wp) for (_, _, p, _), (_, _, wp) in zip(seen, want))
    assert {b for *_, b in seen} == {32}


def test_memmap_is_never_read_into_memory_whole(tmp_path, monkeypatch):
    """tracemalloc sees numpy's allocations, not the pages of the mapping: the peak stays
    a small fraction of X -- chunks of 1 MB, and what is one entry per row (labels,
    outputs for the metrics). The same data through the array fit (a plain ndarray view
    of the mapping, converted to float32 whole) goes far above the bound, so this test
    sees a full copy when there is one."""
    rng = np.random.default_rng(0)
    n, d = 40_000, 128
    np.save(tmp_path / "X.npy", rng.standard_normal((n, d)))  # float64: 41 MB
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = (rng.random(n) < 0.5).astype(np.int64)
    monkeypatch.setattr(_model_streams, "CHUNK_BYTES", 1 << 20)

    def peak(X, metrics):
        m = Sequential([Dense(8, activation="relu"), Dense(2)], seed=0)
        tracemalloc.start()
        try:
            m.fit(X, y, epochs=1, batch_size=64, metrics=metrics,
                  validation_data=(Xm[:5000], y[:5000]), verbose=0)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(Xm, ["accuracy"]) < Xm.nbytes / 10
    assert peak(Xm, ["accuracy", "f1"]) < Xm.nbytes / 4  # + a pass over the chunks
    assert peak(Xm.view(np.ndarray), ["accuracy"]) > Xm.nbytes / 2  # the control


def test_memmap_validation_split_and_data(mapped, monkeypatch):
    Xm, y = mapped
    monkeypatch.setattr(_model_streams, "CHUNK_BYTES", 2 * 32 * Xm.shape[1] * 4)
    X = np.asarray(Xm, np.float32)
    ref = _model()
    h_ref = ref.fit(X, y, epochs=2, shuffle=False, validation_split=0.2, verbose=0)
    m = _model()
    h = m.fit(Xm, y, epochs=2, shuffle=False, validation_split=0.2, verbose=0)
    assert _same(_weights(m), _weights(ref))
    # the validation loss: a mean over the chunks' float32 means, not over all rows at once
    np.testing.assert_allclose(h.history["val_loss"], h_ref.history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(h.history["val_accuracy"], h_ref.history["val_accuracy"],
                               rtol=1e-12)
    m2 = _model()
    h2 = m2.fit(X[:400], y[:400], epochs=1, validation_data=(Xm[400:], y[400:]), verbose=0)
    ev = m2.evaluate(X[400:], y[400:])
    assert h2.history["val_loss"][-1] == pytest.approx(ev["loss"], rel=1e-6)
    assert h2.history["val_accuracy"][-1] == pytest.approx(ev["accuracy"], rel=1e-12)


# ================================================================== validation data

def test_validation_sequence_and_iterator(digits):
    X, y = digits
    Xt, yt, Xv, yv = X[:400], y[:400], X[400:], y[400:]
    m = _model()
    h = m.fit(Xt, yt, epochs=2, validation_data=Batches(Xv, yv, 30), metrics=["accuracy", "f1"],
              verbose=0)
    ev = m.evaluate(Xv, yv, metrics=["accuracy", "f1"])
    for key in ("loss", "accuracy", "f1"):  # the loss: float32 means per batch, averaged
        assert h.history["val_" + key][-1] == pytest.approx(
            ev[key], rel=1e-6 if key == "loss" else 1e-12), key
    m = _model()
    h = m.fit(Batches(Xt, yt, 32), epochs=2, validation_data=_forever(Xv, yv, 25),
              validation_steps=4, verbose=0)
    ev = m.evaluate(Xv, yv)
    assert h.history["val_loss"][-1] == pytest.approx(ev["loss"], rel=1e-6)
    with pytest.raises(ValueError, match="validation_steps is required"):
        _model().fit(Xt, yt, validation_data=_forever(Xv, yv, 25), verbose=0)


# ================================================================== bad input

def _bad(X, y, at, how):
    """A Sequence whose batch `at` is spoiled by `how`."""
    class Spoiled(Batches):
        def __getitem__(self, i):
            b = list(super().__getitem__(i))
            if i == at:
                b = how(b)
            return tuple(b) if isinstance(b, list) else b
    return Spoiled(X, y, 32)


def _nan(b):
    x = b[0].copy()
    x[2, 5] = np.nan
    return [x, b[1]]


@pytest.mark.parametrize("how, exc, match", [
    (_nan, ValueError, r"batch 3 X contains NaN or infinity \(first in row 2\)"),
    (lambda b: [b[0], b[1] + 10], ValueError, r"batch 3 y has label 1\d outside \[0, 10\)"),
    (lambda b: [b[0].astype(np.int64), b[1]], TypeError, "batch 3 X has dtype int64"),
    (lambda b: [b[0][:, :7], b[1]], ValueError, "batch 3 X has 7 features per sample"),
    (lambda b: [b[0], b[1][:5]], ValueError, "batch 3 X has 32 rows but batch 3 y has 5"),
    (lambda b: b[0], TypeError, r"batch 3 must be a tuple \(X, y\)"),
    (lambda b: [b[0], b[1], np.ones(32)], ValueError, "batch 3 has sample_weight but batch 0"),
    (lambda b: [b[0], b[1].astype(np.float32)], TypeError, "batch 3 y holds class labels"),
])
def test_a_bad_batch_is_named_and_the_epoch_undone(digits, how, exc, match):
    X, y = digits
    fresh = _model()
    fresh.build(X.shape[1:])
    m = _model()
    with pytest.raises(exc, match=match):
        m.fit(_bad(X, y, 3, how), epochs=2, shuffle=False, verbose=0)
    # batch 3 is read in epoch 1, after batches 0-2 trained: the model is as epoch 1
    # found it, that is as built
    assert _same(_weights(m), _weights(fresh)) and m.optimizer.iterations == 0


def test_a_bad_batch_in_a_later_epoch_leaves_the_model_of_the_epoch_before(digits):
    X, y = digits

    class LateNaN(Batches):
        def __getitem__(self, i):
            b = super().__getitem__(i)
            return _nan(list(b)) if len(self.asked) > 20 and i == 5 else b

    ref = _model()
    ref.fit(Batches(X, y, 32), epochs=1, shuffle=False, verbose=0)
    m = _model()
    with pytest.raises(ValueError, match="batch 5 X contains NaN"):
        m.fit(LateNaN(X, y, 32), epochs=3, shuffle=False, verbose=0)
    assert _same(_weights(m), _weights(ref)) and m.optimizer.iterations == 16


def test_memmap_nan_names_the_row(tmp_path, digits, monkeypatch):
    X, y = digits
    X = X.copy()
    X[433, 2] = np.inf
    np.save(tmp_path / "X.npy", X)
    monkeypatch.setattr(_model_streams, "CHUNK_BYTES", 64 * X.shape[1] * 4)
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first in row 433, "
                                         r"read in the chunk of rows 384:448\)"):
        _model().fit(np.load(tmp_path / "X.npy", mmap_mode="r"), y, batch_size=32,
                     verbose=0)


def test_stream_argument_errors(digits):
    X, y = digits
    m = _model()
    with pytest.raises(ValueError, match="steps_per_epoch is required"):
        m.fit(_forever(X, y, 32), verbose=0)
    with pytest.raises(ValueError, match="ran out after 3 batches"):
        m.fit(iter([(X[:32], y[:32])] * 3), steps_per_epoch=2, epochs=2, verbose=0)
    with pytest.raises(TypeError, match="omit y"):
        m.fit(_forever(X, y, 32), y, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match="sample_weight is for arrays"):
        m.fit(Batches(X, y, 32), sample_weight=np.ones(len(X)), verbose=0)
    with pytest.raises(ValueError, match="validation_split takes the last rows"):
        m.fit(Batches(X, y, 32), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch counts the batches"):
        m.fit(X, y, steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch=20 but the Sequence has 16"):
        m.fit(Batches(X, y, 32), steps_per_epoch=20, verbose=0)
    with pytest.raises(ValueError, match="has no batches"):
        m.fit([], verbose=0)
    with pytest.raises(ValueError, match="metric 'f1' takes a pass over the training data"):
        m.fit(_forever(X, y, 32), steps_per_epoch=2, metrics=["f1"], verbose=0)
    with pytest.raises(ValueError, match="y is required"):
        m.fit(X, verbose=0)

    class ArrayLike:  # has __len__ and __getitem__, but is an array (a DataFrame, ...)
        def __array__(self, dtype=None, copy=None):
            return X

        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i]

    with pytest.raises(ValueError, match="y is required"):
        m.fit(ArrayLike(), verbose=0)
    with pytest.raises(ValueError, match="trained on no rows"):
        m.fit([(X[:32], y[:32], np.zeros(32))], verbose=0)


def test_sequence_metrics_match_the_array_fit(digits):
    X, y = digits
    names = ["accuracy", "f1", "top3_accuracy"]
    ref = _model()
    h_ref = ref.fit(X, y, epochs=2, shuffle=False, metrics=names, verbose=0)
    m = _model()
    h = m.fit(Batches(X, y, 32), epochs=2, shuffle=False, metrics=names, verbose=0)
    assert h.history == h_ref.history


def test_divergence_in_a_stream_restores_the_epoch(digits):
    X, y = digits
    m = _model()
    before = None

    class Watch(fastnn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            nonlocal before
            before = _weights(self.model)

    with pytest.raises(TrainingDivergedError):
        m.fit(Batches(X * 1e30, y, 32), epochs=2, optimizer=SGD(lr=1e10), verbose=0,
              callbacks=[Watch()])
    assert _same(_weights(m), before)


def test_list_of_batches_and_cycle(digits):
    X, y = digits
    batches = [(X[s:s + 100], y[s:s + 100]) for s in range(0, 500, 100)]
    ref = _model()
    ref.fit(X, y, batch_size=100, epochs=2, shuffle=False, verbose=0)
    a, b = _model(), _model()
    a.fit(batches, epochs=2, shuffle=False, verbose=0)
    b.fit(itertools.cycle(batches), steps_per_epoch=5, epochs=2, verbose=0)
    assert _same(_weights(a), _weights(ref)) and _same(_weights(b), _weights(ref))


def test_arrays_with_a_validation_sequence_train_as_the_array_fit(digits):
    """Array X with a streamed validation_data runs through the stream loop: the same
    shuffled epochs as the array fit, from the same rng."""
    X, y = digits
    ref = _model(dropout=True)
    h_ref = ref.fit(X[:400], y[:400], epochs=3, validation_data=(X[400:], y[400:]),
                    verbose=0)
    m = _model(dropout=True)
    h = m.fit(X[:400], y[:400], epochs=3, validation_data=Batches(X[400:], y[400:], 100),
              verbose=0)
    assert _same(_weights(m), _weights(ref))
    assert h.history["loss"] == h_ref.history["loss"]
    np.testing.assert_allclose(h.history["val_loss"], h_ref.history["val_loss"], rtol=1e-12)


class _BatchLog(fastnn.Callback):
    """Records (epoch, batch, rows, loss) from the batch hooks; stops at stop_at."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.seen, self.epoch, self.stop_at = [], None, stop_at

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append((self.epoch, batch, logs["size"], logs.get("loss")))
        if self.stop_at is not None and (self.epoch, batch) == self.stop_at:
            self.model.stop_training = True


@pytest.mark.parametrize("fused", [True, False])
def test_batch_hooks_on_a_sequence_count_the_epochs_batches(digits, fused):
    """A Sequence is trained several batches per native call: the hooks still see the
    epoch's batch numbers 0, 1, ... and the same logs as an array fit's hooks."""
    X, y = digits
    logs = {}
    for kind in ("array", "sequence"):
        m, cb = _model(fused=fused), _BatchLog()
        if kind == "array":
            m.fit(X, y, epochs=2, batch_size=32, shuffle=False, verbose=0, callbacks=[cb])
        else:
            m.fit(Batches(X, y, 32), epochs=2, shuffle=False, verbose=0, callbacks=[cb])
        logs[kind] = (cb.seen, _weights(m))
    n_batches = -(-len(X) // 32)
    assert [b for e, b, _, _ in logs["sequence"][0]] == list(range(n_batches)) * 2
    assert logs["sequence"][0] == logs["array"][0]
    assert _same(logs["sequence"][1], logs["array"][1])


def test_stop_training_in_a_batch_hook_stops_a_streamed_fit(digits):
    X, y = digits
    m, cb = _model(), _BatchLog(stop_at=(0, 4))
    h = m.fit(Batches(X, y, 32), epochs=3, shuffle=False, verbose=0, callbacks=[cb])
    assert [(e, b) for e, b, _, _ in cb.seen] == [(0, b) for b in range(5)]
    assert len(h.history["loss"]) == 1
    assert m._batch_hooks is None
