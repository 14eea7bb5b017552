"""Sequential, part 5: fit on data that is not two arrays in memory -- a Sequence of
batches, an iterator of batches, or X memory-mapped from a file -- and on validation data
of those kinds. ``_Training._fit`` hands such a fit to :func:`fit`, whose epochs run as
the array fit's do (callbacks, History, divergence and its recovery). Each batch or chunk
is checked as fit checks its arrays (dtype, shape, NaN/inf, labels), the error naming the
batch or the row. (fastnn/model.py lists the parts.)

How the rows reach the fused plan: a chunk of a memory-mapped X is one native call over
its batches; the batches of a Sequence or an iterator that have the plan's batch size
are gathered, up to STAGE_BYTES of rows, into one array trained on in one native call,
and a smaller batch runs on its own on the same plan, as the last batch of an array
epoch does. The plan's batch size is the largest batch seen so far (a larger one
rebuilds it). So a Sequence yielding the batches of ``fit(X, y, shuffle=False)`` in that
order trains the same weights to the bit, and so does a memory-mapped X with
``shuffle=False``.

The order of a memory-mapped X: its rows are cut into chunks of consecutive rows, each a
multiple of the batch size holding at most CHUNK_BYTES in the model's dtype (the last
chunk shorter). With ``shuffle=True`` each epoch draws, from the model's ``rng``, the
order of the chunks, then, as it reaches each chunk, the order of the chunk's rows: a
batch never mixes two chunks, so neighbouring rows of the file meet in a batch more often
than under a full shuffle. With ``shuffle=False`` the rows go in file order, in the
batches of ``fit(np.asarray(X), y, shuffle=False)``. Only the chunk being trained is ever
read (a chunk-sized copy where X's dtype is not the model's); y and sample_weight, one
entry per row, are read whole.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _fused, metrics as _metrics
from ._model_inputs import _all_finite, _first_nonfinite_row
from .callbacks import Callback, History
from .errors import TrainingDivergedError
from .layers import Layer, _fmt_shape
from .losses import Loss
from .optimizers import Optimizer
from ._validation import integer

if TYPE_CHECKING:
    from ._model_training import _Training

# Rows of a memory-mapped X per chunk: at most this many bytes in the model's dtype.
CHUNK_BYTES = 64 << 20
# Rows of a Sequence's (or an iterator's) batches gathered into one native call.
STAGE_BYTES = 4 << 20

# (X, y, sample_weight or None, row order or None, batch size): rows the plan trains on
# in one call, in batches of the batch size taken in the row order.
_Unit = tuple[NDArray[Any], NDArray[Any], Union[NDArray[Any], None],
              Union[NDArray[np.intp], None], int]
# (X, y) checked, for a forward pass in inference mode (metrics, validation)
_Pair = tuple[NDArray[Any], NDArray[Any]]


# ================================================================== what goes through here

def _is_sequence(obj: object) -> bool:
    return hasattr(obj, "__len__") and hasattr(obj, "__getitem__")


def _is_batches(obj: object) -> bool:
    """A Sequence of batches or an iterable of them: not an array or an array-like with a
    shape (a DataFrame, a tensor), a string or a dict."""
    if obj is None or isinstance(obj, (np.ndarray, str, bytes, dict)) or \
            hasattr(obj, "__array__") or hasattr(obj, "shape"):
        return False
    return _is_sequence(obj) or hasattr(obj, "__iter__") or hasattr(obj, "__next__")


def _is_val_batches(v: object) -> bool:
    # validation_data as a tuple or a list is (X_val, y_val), as for arrays
    return not isinstance(v, (tuple, list)) and _is_batches(v)


def streamed(X: object, y: object, validation_data: object, steps_per_epoch: int | None,
             validation_steps: int | None) -> bool:
    """Whether a fit goes through here rather than the array fit; raises for stream
    arguments that do not fit the data."""
    x_batches = y is None and _is_batches(X)
    if y is not None and not isinstance(X, (tuple, list)) and _is_batches(X):
        raise TypeError(f"fit got X of type {type(X).__name__}, a Sequence or an iterator "
                        "of batches, and y: omit y, each batch brings its targets as "
                        "(X, y) or (X, y, sample_weight)")
    if steps_per_epoch is not None and not x_batches:
        raise ValueError("steps_per_epoch counts the batches of a Sequence or an iterator "
                         "passed as X (with y omitted); over arrays an epoch is every row")
    if validation_steps is not None and not _is_val_batches(validation_data):
        raise ValueError("validation_steps counts the batches of a Sequence or an iterator "
                         "passed as validation_data")
    val_memmap = (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2
                  and isinstance(validation_data[0], np.memmap))
    return (x_batches or (isinstance(X, np.memmap) and y is not None)
            or _is_val_batches(validation_data) or val_memmap)


# ================================================================== checking a batch

def _describe(item: object) -> str:
    if isinstance(item, (tuple, list)):
        return f"a {type(item).__name__} of {len(item)}"
    return type(item).__name__


class _BatchCheck:
    """Checks the batches of one source as fit checks its arrays, and that every batch
    has the targets (shape, dtype, task) and the sample weights (present or not) of the
    first."""

    def __init__(self, model: _Training, loss: Loss, what: str) -> None:
        self.model, self.loss, self.what = model, loss, what
        self.form: tuple[tuple[int, ...], np.dtype[Any], bool] | None = None
        self.task: str | None = None
        self.first = 0

    def __call__(self, item: object, index: int) -> tuple[NDArray[Any], NDArray[Any],
                                                          NDArray[Any] | None]:
        model, where = self.model, f"{self.what} {index}"
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise TypeError(f"{where} must be a tuple (X, y) or (X, y, sample_weight), got "
                            f"{_describe(item)}")
        X = model._check_X(item[0], f"{where} X")
        model._ensure_built(X)
        model._check_features(X, f"{where} X")
        y, task = model._prepare_targets(item[1], X.shape[0], self.loss, f"{where} y")
        sw = None if len(item) == 2 or item[2] is None else \
            _batch_weights(item[2], X.shape[0], model.dtype, where)
        form = (y.shape[1:], y.dtype, sw is not None)
        if self.form is None:
            self.form, self.task, self.first = form, task, index
        elif form[:2] != self.form[:2]:
            raise ValueError(f"{where} y has samples of shape {_fmt_shape(form[0])} "
                             f"({form[1]} as fit takes them) but {self.what} {self.first} "
                             f"had {_fmt_shape(self.form[0])} ({self.form[1]}): every "
                             "batch needs targets of one kind")
        elif form[2] != self.form[2]:
            raise ValueError(f"{where} {'has' if form[2] else 'has no'} sample_weight but "
                             f"{self.what} {self.first} {'had' if self.form[2] else 'had none'}"
                             ": give every batch weights, or none")
        elif self.task is not None and task != self.task:
            raise ValueError(f"{where} y does not hold class targets ({self.task}) like "
                             f"{self.what} {self.first}'s")
        return X, y, sw


def _batch_weights(sample_weight: ArrayLike, n: int, dtype: np.dtype[Any],
                   where: str) -> NDArray[Any]:
    """A batch's sample weights: as fit's, except that they may all be 0 (the batch is
    then skipped, as a zero-weight batch of an array fit is)."""
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "biuf":
        raise TypeError(f"{where} sample_weight must be numeric, got dtype {sw.dtype}")
    if sw.shape != (n,):
        raise ValueError(f"{where} sample_weight must have shape ({n},), got "
                         f"{_fmt_shape(sw.shape)}")
    sw = np.ascontiguousarray(sw, dtype=dtype)
    if not _all_finite(sw):
        raise ValueError(f"{where} sample_weight contains NaN or infinity")
    if n and sw.min() < 0:
        raise ValueError(f"{where} sample_weight must be >= 0")
    return sw


# ================================================================== sources of rows

class _Source:
    """Rows for training or for a pass in inference mode."""

    samples: int | None = None  # rows per epoch, where known (the progress bar)
    steps: int | None = None    # batches per epoch, where known
    repeatable = True           # can be read again (the training metrics' pass)
    task: str | None = None

    def units(self, rng: np.random.Generator, shuffle: bool) -> Iterator[_Unit]:
        """One epoch of training, checked, as the plan's calls."""
        raise NotImplementedError

    def pairs(self) -> Iterator[_Pair]:
        """Every row once, checked, in order."""
        raise NotImplementedError

    def epoch_end(self) -> None:
        pass


class _Arrays(_Source):
    """X and y in memory, checked whole: an epoch is one call, as in the array fit."""

    def __init__(self, X: NDArray[Any], y: NDArray[Any], sw: NDArray[Any] | None,
                 batch_size: int, task: str | None) -> None:
        self.X, self.y, self.sw, self.task = X, y, sw, task
        self.samples = X.shape[0]
        self.batch_size = min(batch_size, X.shape[0])

    def units(self, rng: np.random.Generator, shuffle: bool) -> Iterator[_Unit]:
        perm = rng.permutation(self.X.shape[0]) if shuffle else None
        yield self.X, self.y, self.sw, perm, self.batch_size

    def pairs(self) -> Iterator[_Pair]:
        yield self.X, self.y


class _Memmap(_Source):
    """A memory-mapped X, read in chunks of rows (the module's docstring: the order)."""

    def __init__(self, model: _Training, X: NDArray[Any], y: NDArray[Any],
                 sw: NDArray[Any] | None, batch_size: int, task: str | None,
                 name: str, start: int = 0) -> None:
        self.model, self.X, self.y, self.sw, self.task = model, X, y, sw, task
        self.name, self.start = name, start  # start: X's first row in the file's X
        n = self.samples = X.shape[0]
        self.batch_size = min(batch_size, n)
        row = int(np.prod(X.shape[1:], dtype=np.int64)) * model.dtype.itemsize
        self.chunk = max(1, CHUNK_BYTES // max(1, row)) // self.batch_size * self.batch_size
        self.chunk = max(self.chunk, self.batch_size)
        self.steps = -(-n // self.batch_size)

    def _read(self, s: int, e: int) -> NDArray[Any]:
        """Rows s:e, in the model's dtype, checked for NaN/inf."""
        model = self.model
        x = model._check_X(self.X[s:e], self.name, finite=False)
        if x.dtype.kind == "f" and not _all_finite(x):
            raise ValueError(f"{self.name} contains NaN or infinity (first in row "
                             f"{self.start + s + _first_nonfinite_row(x)}, read in the chunk "
                             f"of rows {self.start + s}:{self.start + e})")
        return x

    def _bounds(self) -> list[tuple[int, int]]:
        n = self.X.shape[0]
        return [(s, min(s + self.chunk, n)) for s in range(0, n, self.chunk)]

    def units(self, rng: np.random.Generator, shuffle: bool) -> Iterator[_Unit]:
        bounds = self._bounds()
        order = rng.permutation(len(bounds)) if shuffle else range(len(bounds))
        for k in order:
            s, e = bounds[k]
            perm = rng.permutation(e - s) if shuffle else None
            yield (self._read(s, e), self.y[s:e], None if self.sw is None else self.sw[s:e],
                   perm, self.batch_size)

    def pairs(self) -> Iterator[_Pair]:
        for s, e in self._bounds():
            yield self._read(s, e), self.y[s:e]


class _Batches(_Source):
    """A Sequence (``len``, ``[i]``, optional ``on_epoch_end()``) or an iterator of
    batches; an epoch is ``steps`` batches."""

    def __init__(self, model: _Training, data: Any, steps: int | None, loss: Loss,
                 what: str, steps_name: str) -> None:
        self.model = model
        self.check = _BatchCheck(model, loss, what)
        self.sequence = _is_sequence(data)
        self.seen = 0  # batches drawn from an iterator so far
        self.plan_rows = 0  # the largest batch so far: the plan's batch size
        self.pending: list[tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None]] = []
        if steps is not None:
            steps = integer(steps_name, steps, lo=1)
        if self.sequence:
            n = len(data)
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"the Sequence of {what}es has no batches (len {n})")
            if steps is not None and steps > n:
                raise ValueError(f"{steps_name}={steps} but the Sequence has {n} batches")
            self.data, self.n, self.per_epoch = data, int(n), (steps or int(n))
        else:
            if steps is None:
                raise ValueError(f"{steps_name} is required with an iterator of batches: "
                                 "it says how many batches make one epoch (a Sequence, with "
                                 "len(), needs none)")
            self.data, self.per_epoch, self.repeatable = iter(data), steps, False
        self.steps = self.per_epoch
        # the first batch builds the model and gives the task
        first = self._draw(0)
        if not self.sequence:
            self.pending.append(first)
        self.task = self.check.task

    def _draw(self, i: int) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None]:
        if self.sequence:
            return self.check(self.data[i], i)
        try:
            item = next(self.data)
        except StopIteration:
            raise ValueError(
                f"the iterator of {self.check.what}es ran out after {self.seen} batches; "
                f"each epoch takes {self.per_epoch} ({self.check.what}es per epoch): give one "
                "that does not end (a `while True` loop, itertools.cycle) or use a Sequence"
            ) from None
        self.seen += 1
        return self.check(item, self.seen - 1)

    def _epoch(self, rng: np.random.Generator | None) -> Iterator[
            tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None]]:
        """The epoch's batches, checked; from a Sequence in a random order with rng."""
        if self.sequence:
            order = rng.permutation(self.n)[:self.per_epoch] if rng is not None \
                else range(self.per_epoch)
            for i in order:
                yield self._draw(int(i))
            return
        for _ in range(self.per_epoch):
            yield self.pending.pop() if self.pending else self._draw(self.seen)

    def units(self, rng: np.random.Generator, shuffle: bool) -> Iterator[_Unit]:
        stage: list[tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None]] = []
        for X, y, sw in self._epoch(rng if shuffle and self.sequence else None):
            m = X.shape[0]
            if m > self.plan_rows:
                yield from _flush(stage, self.plan_rows)
                self.plan_rows = m
            if m == self.plan_rows:
                stage.append((X, y, sw))
                if len(stage) * X.nbytes >= STAGE_BYTES:
                    yield from _flush(stage, m)
            else:  # a smaller batch, on its own, on the plan of the batch size
                yield from _flush(stage, self.plan_rows)
                yield X, y, sw, None, self.plan_rows
        yield from _flush(stage, self.plan_rows)

    def pairs(self) -> Iterator[_Pair]:
        for X, y, _ in self._epoch(None):
            yield X, y

    def epoch_end(self) -> None:
        end = getattr(self.data, "on_epoch_end", None) if self.sequence else None
        if callable(end):
            end()


def _flush(stage: list[tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None]],
           batch_size: int) -> Iterator[_Unit]:
    """The staged batches (each of batch_size rows) as one unit; empties the stage."""
    if not stage:
        return
    if len(stage) == 1:
        X, y, sw = stage[0]
    else:
        X = np.concatenate([b[0] for b in stage])
        y = np.concatenate([b[1] for b in stage])
        sw = None if stage[0][2] is None else np.concatenate([b[2] for b in stage
                                                             if b[2] is not None])
    stage.clear()
    yield X, y, sw, None, batch_size


# ================================================================== building the sources

def _training_source(model: _Training, X: Any, y: Any, sample_weight: ArrayLike | None,
                     batch_size: int, steps_per_epoch: int | None, loss: Loss,
                     validation_split: float
                     ) -> tuple[_Source, _Source | None]:
    """The training rows, and the validation rows that validation_split takes."""
    if y is None:
        if sample_weight is not None:
            raise ValueError("sample_weight is for arrays; the batches of a Sequence or an "
                             "iterator bring their own as (X, y, sample_weight)")
        if validation_split:
            raise ValueError("validation_split takes the last rows of arrays; with a "
                             "Sequence or an iterator of batches pass validation_data")
        return _Batches(model, X, steps_per_epoch, loss, "batch", "steps_per_epoch"), None
    if isinstance(X, np.memmap):
        n = X.shape[0] if X.ndim else 0
        head = model._check_X(X[:1] if n else X, finite=False)  # dtype and shape
        model._ensure_built(head)
        model._check_features(head)
        yp, task = model._prepare_targets(y, n, loss)
        sw = model._check_sample_weight(sample_weight, n)
        if not validation_split:
            return _Memmap(model, X, yp, sw, batch_size, task, "X"), None
        split = _split(validation_split, n)
        return (_Memmap(model, X[:split], yp[:split], None if sw is None else sw[:split],
                        batch_size, task, "X"),
                _Memmap(model, X[split:], yp[split:], None, batch_size, task, "X", split))
    Xc = model._check_X(X)
    model._ensure_built(Xc)
    model._check_features(Xc)
    n = Xc.shape[0]
    yp, task = model._prepare_targets(y, n, loss)
    sw = model._check_sample_weight(sample_weight, n)
    if not validation_split:
        return _Arrays(Xc, yp, sw, batch_size, task), None
    split = _split(validation_split, n)
    return (_Arrays(Xc[:split], yp[:split], None if sw is None else sw[:split], batch_size,
                    task),
            _Arrays(Xc[split:], yp[split:], None, batch_size, task))


def _split(validation_split: float, n: int) -> int:
    split = int(n * (1.0 - validation_split))
    if split < 1 or split >= n:
        raise ValueError(f"validation_split={validation_split} of {n} rows leaves {split} "
                         f"for training and {n - split} for validation; both need at least "
                         "one")
    return split


def _validation_source(model: _Training, data: Any, steps: int | None, loss: Loss,
                       batch_size: int) -> _Source:
    if _is_val_batches(data):
        return _Batches(model, data, steps, loss, "validation batch", "validation_steps")
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError("validation_data must be a tuple (X_val, y_val), a Sequence or an "
                        "iterator of batches")
    Xv, yv = data
    name = "validation_data X"
    if isinstance(Xv, np.memmap):
        n = Xv.shape[0] if Xv.ndim else 0
        model._check_features(model._check_X(Xv[:1] if n else Xv, name, finite=False), name)
        yp, task = model._prepare_targets(yv, n, loss, "validation_data y")
        return _Memmap(model, Xv, yp, None, batch_size, task, name)
    Xc = model._check_X(Xv, name)
    model._check_features(Xc, name)
    yp, task = model._prepare_targets(yv, Xc.shape[0], loss, "validation_data y")
    return _Arrays(Xc, yp, None, batch_size, task)


# ================================================================== running the rows

class _Runner:
    """Trains units of rows: through a fused plan (kept while the rows' form, the
    batch size and the layers stay the same), or the per-layer path."""

    def __init__(self, model: _Training) -> None:
        self.model = model
        self.plan: Any = None
        self.key: tuple[Any, ...] | None = None

    def run(self, unit: _Unit) -> tuple[float, int, float | None]:
        X, y, sw, perm, batch_size = unit
        model = self.model
        if not model.fused or _fused.unsupported_reason(model) is not None:
            return model._run_epoch_python(X, y, perm, batch_size, sw)
        targets = _fused.plan_targets(model, y, X.shape[0])
        key = (X.shape[1:], targets.shape[1:], targets.dtype, Layer._generation, batch_size,
               sw is not None)
        if self.plan is None or self.key != key:
            # the plan reads only the shape of X: batch_size rows of X's samples
            shape = np.broadcast_to(np.zeros((), X.dtype), (batch_size,) + X.shape[1:])
            self.plan = _fused.build_plan(model, shape, targets, batch_size, sw)
            self.key = key
        return _fused.run_epoch(model, self.plan, X, targets, perm, batch_size, sw)


def _metric_logs(model: _Training, outs: list[NDArray[Any]], ys: list[NDArray[Any]],
                 names: list[str], task: str | None, prefix: str) -> dict[str, float]:
    """The metrics on the outputs (as predict gives them) and the targets of every row."""
    out, y = (outs[0], ys[0]) if len(outs) == 1 else (np.concatenate(outs), np.concatenate(ys))
    threshold = model._output_threshold()
    return {prefix + name: _metrics._for_model(name, out, y, task, threshold)
            for name in names}


def _pass_logs(model: _Training, source: _Source, loss: Loss | None, task: str | None,
               extra: list[str], prefix: str) -> dict[str, float]:
    """One pass in inference mode over the rows of source: the loss and the accuracy
    (with a loss: validation) and the extra metrics, ``prefix``-ed."""
    rows, loss_sum, correct = 0, 0.0, 0.0
    outs: list[NDArray[Any]] = []
    ys: list[NDArray[Any]] = []
    for X, y in source.pairs():
        m = X.shape[0]
        if loss is not None:
            value, acc = model._evaluate_prepared(X, y, loss, task, None)
            rows, loss_sum, correct = rows + m, loss_sum + value * m, correct + (acc or 0.0) * m
        if extra:
            outs.append(model._predict(X, None))
            ys.append(y)
    logs = {}
    if loss is not None:
        logs[prefix + "loss"] = loss_sum / rows
        if model._track_accuracy:
            logs[prefix + "accuracy"] = correct / rows
    if extra:
        logs.update(_metric_logs(model, outs, ys, extra, task, prefix))
    return logs


# ================================================================== the fit

def _train(model: _Training, runner: _Runner, train: _Source, shuffle: bool,
           on_nonfinite: str) -> tuple[float, int, float]:
    """An epoch's training: (sum of batch loss * batch rows, rows, correct rows)."""
    loss_sum, seen, correct = 0.0, 0, 0.0
    hooks, done = model._batch_hooks, 0
    with model._session(model._bw_stop):
        for unit in train.units(model.rng, shuffle):
            if hooks is not None:
                hooks.offset = done  # the hooks count the epoch's batches, not the unit's
            ls, s, c = runner.run(unit)
            done += -(-unit[0].shape[0] // unit[4])
            loss_sum, seen, correct = loss_sum + ls, seen + s, correct + (c or 0.0)
            if not math.isfinite(ls) and on_nonfinite == "raise":
                break
            if hooks is not None and model.stop_training:  # set by a batch hook
                break
    return loss_sum, seen, correct


def _epoch(model: _Training, runner: _Runner, train: _Source, val: _Source | None,
           shuffle: bool, on_nonfinite: str, loss: Loss, task: str | None,
           extra: list[str]) -> dict[str, float]:
    """One epoch: training, then the passes for the metrics and the validation (skipped
    when the loss is not finite: the fit stops there). Returns the logs."""
    t0 = time.perf_counter()
    loss_sum, seen, correct = _train(model, runner, train, shuffle, on_nonfinite)
    if not seen and math.isfinite(loss_sum):
        raise ValueError("an epoch trained on no rows: the sample weights of every batch "
                         "sum to 0")
    model._epoch_stats = (seen, time.perf_counter() - t0)
    logs = {"loss": float(loss_sum / seen) if seen else math.nan}
    if on_nonfinite == "raise" and not math.isfinite(logs["loss"]):
        return logs
    if model._track_accuracy:
        logs["accuracy"] = float(correct / seen) if seen else math.nan
    if extra:
        logs.update(_pass_logs(model, train, None, task, extra, ""))
    if val is not None:
        logs.update(_pass_logs(model, val, loss, task, extra, "val_"))
    return logs


def fit(model: _Training, X: Any, y: Any, *, epochs: int, batch_size: int, loss: Loss,
        optimizer: Optimizer, shuffle: bool, validation_data: Any, validation_split: float,
        metrics: tuple[str, ...], callbacks: list[Callback], verbose: int,
        sample_weight: ArrayLike | None, on_nonfinite: str, steps_per_epoch: int | None,
        validation_steps: int | None) -> History:
    """_Training.fit for the data of this module (arguments checked by _Training._fit).
    An error in an epoch -- a bad batch, an exception from the Sequence -- leaves the model
    as it was at the start of that epoch."""
    from ._model_training import _diverged_message

    train, val = _training_source(model, X, y, sample_weight, batch_size, steps_per_epoch,
                                  loss, validation_split)
    if validation_data is not None:
        val = _validation_source(model, validation_data, validation_steps, loss, batch_size)
    task = train.task
    extra = model._begin_training(loss, optimizer, metrics, task, on_nonfinite)
    if extra and not train.repeatable:
        raise ValueError(f"metric {extra[0]!r} takes a pass over the training data at the "
                         "end of each epoch, which an iterator cannot give again: pass a "
                         "Sequence, or leave the metric out")
    history, cbs, progress = model._begin_callbacks(callbacks, verbose, {
        "epochs": epochs, "samples": train.samples, "steps": train.steps,
        "batch_size": batch_size, "verbose": verbose})
    runner = _Runner(model)
    model._x_unchecked = False  # every batch is checked as it is read
    try:
        for cb in cbs:
            cb.on_train_begin({})
        for epoch in range(epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            snapshot = model._snapshot()
            rng_state = model.rng.bit_generator.state
            try:
                logs = _epoch(model, runner, train, val, shuffle, on_nonfinite, loss, task,
                              extra)
            except Exception:
                model._restore(snapshot)
                model.rng.bit_generator.state = rng_state
                raise
            if on_nonfinite == "raise" and (not math.isfinite(logs["loss"])
                                            or not model._weights_finite()):
                model._restore(snapshot)
                raise TrainingDivergedError(
                    _diverged_message(epoch, epochs, logs["loss"], optimizer),
                    epoch=epoch + 1, loss=logs["loss"])
            train.epoch_end()
            if val is not None:
                val.epoch_end()
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        for cb in cbs:
            cb.on_train_end({})
    finally:
        model._progress = model._batch_hooks = None
        if progress is not None:
            progress._close()
    return history
