"""Callbacks for ``Sequential.fit``: hooks run at the start and end of training, of each
epoch and, for callbacks that ask for them, of each mini-batch.

    Callback                    base class; ``self.model`` is the model being trained
    History                     per-epoch logs: ``history.history["loss"]``, ``history.epoch``
    EarlyStopping               stop when a monitored value stops improving
    LearningRateScheduler(fn)   lr = fn(epoch, lr) at each epoch begin
    StepDecay(step_size, gamma) lr = lr0 * gamma ** (epoch // step_size)
    ExponentialDecay(gamma)     lr = lr0 * gamma ** epoch
    CosineDecay(total_epochs, min_lr)
                                lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * epoch / total)) / 2
    ReduceLROnPlateau           lr *= factor when a monitored value stops improving
    ModelCheckpoint(filepath)   model.save(filepath) each epoch, or when the monitored value
                                improves
    CSVLogger(filename)         one row of logs per epoch
    TerminateOnNaN              stop when the loss is NaN or infinite

Epochs are numbered from 0 within each ``fit`` call; ``lr0`` is the optimizer's learning
rate when the schedule first sees it.

Batch hooks (``on_train_batch_begin`` / ``on_train_batch_end``) cost nothing unless a
callback overrides one: the fused training loop runs a whole epoch in one native call,
and only when some callback of the ``fit`` overrides a batch hook does it run the epoch
one batch per call, returning to Python between batches (the numbers are bit-identical
either way). Batches are numbered from 0 within each epoch.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import string
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from numpy.typing import NDArray

from . import metrics as _metrics
from ._pickling import Picklable
from ._validation import integer, scalar

if TYPE_CHECKING:
    from tqdm.auto import tqdm

    from .model import Sequential
    from .optimizers import Optimizer

__all__ = ["Callback", "History", "EarlyStopping", "LearningRateScheduler", "StepDecay",
           "ExponentialDecay", "CosineDecay", "ReduceLROnPlateau", "ModelCheckpoint",
           "CSVLogger", "TerminateOnNaN"]


class Callback(Picklable):
    """Base class. Override any of the hooks; ``self.model`` is set before training and
    ``self.params`` holds {"epochs", "samples", "batch_size", "verbose"}.

    ``on_train_batch_begin(batch, logs)`` / ``on_train_batch_end(batch, logs)`` run around
    every mini-batch (``batch`` counts from 0 within the epoch), but only when some
    callback overrides one of them: then each epoch runs one batch per native call
    instead of one call per epoch (same numbers, a little slower on small batches). The
    end hook's logs: ``"loss"`` (the batch's mean loss), ``"size"`` (its rows) and
    ``"accuracy"`` when fit tracks it. A batch whose sample weights are all 0 trains
    nothing: its logs are ``{"size": 0}``. ``model.stop_training = True`` set in a batch
    hook ends the epoch after that batch (its logs cover the batches that ran; validation
    and ``on_epoch_end`` still run) and then training. A change to
    ``model.optimizer.lr`` in a batch hook applies from the next batch on.
    """

    def __init__(self) -> None:
        self.model: Sequential | None = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Sequential) -> None:
        self.model = model

    def set_params(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        pass

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        pass

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        pass

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        pass

    def _wants_batches(self) -> bool:
        """Whether fit must return to Python between batches for this callback: it
        overrides a batch hook."""
        return _overrides_batch_hooks(type(self), Callback)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _overrides_batch_hooks(cls: type[Callback], base: type[Callback]) -> bool:
    """Whether ``cls`` has batch hooks other than those of ``base``."""
    return (cls.on_train_batch_begin is not base.on_train_batch_begin
            or cls.on_train_batch_end is not base.on_train_batch_end)


class _BatchHooks:
    """Runs the batch hooks of every callback of a fit; fit makes one only when some
    callback wants them (Callback._wants_batches)."""

    def __init__(self, callbacks: list[Callback], model: Sequential) -> None:
        self.callbacks = callbacks
        self.model = model
        # batches of the epoch done before the current native call: a streamed fit
        # trains an epoch in several calls, each counting its batches from 0
        self.offset = 0

    def begin(self, batch: int) -> None:
        for cb in self.callbacks:
            cb.on_train_batch_begin(self.offset + batch, {})

    def end(self, batch: int, loss_sum: float, correct: float | None, size: int) -> bool:
        """Calls the end hooks with the batch's logs; returns True when one of them set
        ``model.stop_training``."""
        logs: dict[str, float] = {"size": size}
        if size:
            logs["loss"] = loss_sum / size
            if correct is not None:
                logs["accuracy"] = correct / size
        for cb in self.callbacks:
            cb.on_train_batch_end(self.offset + batch, logs)
        return bool(self.model.stop_training)


def batch_hooks(callbacks: list[Callback], model: Sequential) -> _BatchHooks | None:
    """The batch hooks fit runs, or None when no callback overrides one."""
    if any(cb._wants_batches() for cb in callbacks):
        return _BatchHooks(callbacks, model)
    return None


def _path(what: str, value: object) -> str:
    path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(path, str):
        raise TypeError(f"{what} must be a str or a path, got {type(value).__name__}")
    return path


def _check_monitor(monitor: object) -> str:
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be a str, got {type(monitor).__name__}")
    return monitor


def _resolve_mode(mode: object, monitor: str) -> str:
    """"min" or "max"; "auto" is "min" for losses and error metrics (mse, mae) and
    "max" for accuracies and the other metrics of fastnn.metrics (higher is better)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return str(mode)
    name = _metrics._canonical(monitor.removeprefix("val_"))
    if name is not None:
        return "min" if name in ("mse", "mae") else "max"
    return "max" if "acc" in monitor else "min"


class _Monitor:
    """The best value so far of one log key, improved by more than ``min_delta`` in
    ``mode``'s direction; warns once when the key is missing from the logs."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float) -> None:
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, min_delta
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.warned = False

    def value(self, logs: Mapping[str, float] | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None and not self.warned:
            warnings.warn(
                f"{self.owner} monitors {self.monitor!r}, which is not in the logs "
                f"(available: {', '.join(logs or {}) or 'none'}); it does nothing",
                RuntimeWarning, stacklevel=3,
            )
            self.warned = True
        return value

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class History(Callback):
    """Records the logs of every epoch: ``history`` maps "loss", "accuracy", "val_loss",
    "val_accuracy" (as applicable) to lists with one value per epoch; ``epoch`` lists the
    epoch numbers. ``fit`` returns one."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History({len(self.epoch)} epoch(s): {keys})"


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs (sets ``model.stop_training``). ``mode`` "min", "max" or "auto"
    (min for losses, mse and mae; max for accuracies and the other metrics). With
    ``restore_best_weights`` the weights of the best epoch are put back when it stops
    (and at the end of training)."""

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        super().__init__()
        self.monitor = _check_monitor(monitor)
        self.patience = integer("patience", patience, lo=0)
        self.min_delta = abs(scalar("min_delta", min_delta))
        self.mode = _resolve_mode(mode, monitor)
        self.restore_best_weights = bool(restore_best_weights)
        self._monitor = _Monitor("EarlyStopping", monitor, self.mode, self.min_delta)
        self._reset()

    @property
    def best(self) -> float:
        """The best monitored value so far."""
        return self._monitor.best

    def _reset(self) -> None:
        self.wait = 0
        self._monitor.reset()
        self.best_epoch: int | None = None
        self.best_weights: list[NDArray[Any]] | None = None
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        value = self._monitor.value(logs)
        if value is None:
            return
        if self._monitor.improved(value):
            self._monitor.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                assert self.model is not None  # set by fit before training
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            assert self.model is not None  # set by fit before training
            self.model.stop_training = True

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None \
                and self.best_epoch is not None:
            assert self.model is not None  # set by fit before training
            self.model.set_weights(self.best_weights)

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, mode={self.mode!r}, "
                f"restore_best_weights={self.restore_best_weights})")


class LearningRateScheduler(Callback):
    """Sets ``model.optimizer.lr`` at the beginning of every epoch to ``fn(epoch, lr)``
    (``lr`` is the current rate), or ``fn(epoch)`` for a one-argument function."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = int(verbose)
        self._two_args = _takes_two_args(schedule)

    def _lr_at(self, epoch: int, lr: float) -> float:
        return self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        assert self.model is not None  # set by fit before training
        opt = self.model.optimizer
        assert opt is not None  # fit sets the optimizer before any callback runs
        new = self._lr_at(epoch, opt.lr)
        opt.lr = scalar("learning rate returned by the schedule", new, lo=0.0)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {opt.lr:.6g}", file=sys.stdout)


def _takes_two_args(fn: Callable[..., object]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    positional = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
        return True
    return len(positional) >= 2


class _Decay(LearningRateScheduler):
    """A schedule of the initial rate lr0 (captured when training first begins)."""

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(self._schedule, verbose)
        self.initial_lr: float | None = None
        self._optimizer: Optimizer | None = None

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        assert self.model is not None  # set by fit before training
        opt = self.model.optimizer
        assert opt is not None  # fit sets the optimizer before any callback runs
        if self.initial_lr is None or opt is not self._optimizer:
            self.initial_lr = opt.lr
            self._optimizer = opt

    def _schedule(self, epoch: int, lr: float) -> float:
        assert self.initial_lr is not None  # captured by on_train_begin
        return self.lr_at(epoch, self.initial_lr)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        raise NotImplementedError


class StepDecay(_Decay):
    """lr = lr0 * gamma ** (epoch // step_size)."""

    def __init__(self, step_size: int, gamma: float = 0.1, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.step_size = integer("step_size", step_size, lo=1)
        self.gamma = scalar("gamma", gamma, lo=0.0)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        return initial_lr * self.gamma ** (epoch // self.step_size)

    def __repr__(self) -> str:
        return f"StepDecay(step_size={self.step_size}, gamma={self.gamma})"


class ExponentialDecay(_Decay):
    """lr = lr0 * gamma ** epoch."""

    def __init__(self, gamma: float, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.gamma = scalar("gamma", gamma, lo=0.0)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        return initial_lr * self.gamma ** epoch

    def __repr__(self) -> str:
        return f"ExponentialDecay(gamma={self.gamma})"


class CosineDecay(_Decay):
    """lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * min(epoch, T) / T)) / 2, T = total_epochs."""

    def __init__(self, total_epochs: int, min_lr: float = 0.0, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.total_epochs = integer("total_epochs", total_epochs, lo=1)
        self.min_lr = scalar("min_lr", min_lr, lo=0.0)

    def lr_at(self, epoch: int, initial_lr: float) -> float:
        t = min(epoch, self.total_epochs) / self.total_epochs
        return self.min_lr + (initial_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))

    def __repr__(self) -> str:
        return f"CosineDecay(total_epochs={self.total_epochs}, min_lr={self.min_lr})"


class ReduceLROnPlateau(Callback):
    """Multiply ``model.optimizer.lr`` by ``factor`` when ``monitor`` has not improved by
    more than ``min_delta`` for ``patience`` epochs, never below ``min_lr``; after a
    reduction, wait ``cooldown`` epochs before counting again. ``mode`` as EarlyStopping's.
    The new rate applies from the next epoch (the fused plan reads ``lr`` at each epoch's
    start). ``verbose=1`` prints a line at each reduction. The state (best value, wait,
    cooldown) starts afresh at every ``fit``."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 mode: str = "auto", verbose: int = 0) -> None:
        super().__init__()
        self.monitor = _check_monitor(monitor)
        self.factor = scalar("factor", factor, lo=0.0, hi=1.0, hi_open=True)
        self.patience = integer("patience", patience, lo=0)
        self.min_delta = abs(scalar("min_delta", min_delta))
        self.cooldown = integer("cooldown", cooldown, lo=0)
        self.min_lr = scalar("min_lr", min_lr, lo=0.0)
        self.mode = _resolve_mode(mode, monitor)
        self.verbose = int(verbose)
        self._monitor = _Monitor("ReduceLROnPlateau", monitor, self.mode, self.min_delta)
        self._reset()

    def _reset(self) -> None:
        self._monitor.reset()
        self.wait = 0
        self.cooldown_counter = 0

    @property
    def best(self) -> float:
        """The best monitored value so far."""
        return self._monitor.best

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        value = self._monitor.value(logs)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._monitor.improved(value):
            self._monitor.best = value
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        assert self.model is not None  # set by fit before training
        opt = self.model.optimizer
        assert opt is not None  # fit sets the optimizer before any callback runs
        if opt.lr > self.min_lr:
            opt.lr = max(opt.lr * self.factor, self.min_lr)
            if self.verbose:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau reduced the learning rate to "
                      f"{opt.lr:.6g}", file=sys.stdout)
            self.cooldown_counter = self.cooldown
            self.wait = 0

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
                f"patience={self.patience}, min_delta={self.min_delta}, "
                f"cooldown={self.cooldown}, min_lr={self.min_lr}, mode={self.mode!r})")


class ModelCheckpoint(Callback):
    """Save the model (``model.save``: the safe file format) at the end of every epoch,
    or every ``save_freq`` batches when ``save_freq`` is an int.

    ``filepath`` may name fields of ``str.format``: ``{epoch}`` (counted from 1),
    ``{batch}`` (from 1 within the epoch; with an int ``save_freq``) and any log key,
    e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.fnn"``; a field missing from the logs raises
    ValueError. Without fields, each save overwrites the last ("last" checkpoint).
    With ``save_best_only`` it saves only when ``monitor`` improves on the best value
    seen so far (mode as EarlyStopping's); the best value is kept across ``fit`` calls,
    as in Keras. A monitor missing from the logs warns once and skips the save.
    ``last_saved`` is the path written last (None before any save); ``verbose=1``
    prints a line per save.

    An int ``save_freq`` uses the batch hooks, so the epoch runs one batch per native
    call (see Callback); the monitor then reads the batch logs (``"loss"``).
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 mode: str = "auto", save_best_only: bool = False,
                 save_freq: str | int = "epoch", verbose: int = 0) -> None:
        super().__init__()
        self.filepath = _path("filepath", filepath)
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.filepath)
                      if f is not None]
        except ValueError as e:
            raise ValueError(f"filepath {self.filepath!r} is not a valid format string: "
                             f"{e}") from None
        if any(not f or f[0].isdigit() for f in fields):
            raise ValueError(f"filepath {self.filepath!r}: format fields must be named, "
                             "e.g. {epoch} or {val_loss:.3f}")
        self.monitor = _check_monitor(monitor)
        self.mode = _resolve_mode(mode, monitor)
        self.save_best_only = bool(save_best_only)
        if isinstance(save_freq, str) and save_freq != "epoch":
            raise ValueError(f"save_freq must be 'epoch' or a number of batches, got "
                             f"{save_freq!r}")
        # None: at each epoch's end; else every this many batches
        self._every = None if save_freq == "epoch" else integer("save_freq", save_freq, lo=1)
        self.save_freq = save_freq if self._every is None else self._every
        self.verbose = int(verbose)
        self._monitor = _Monitor("ModelCheckpoint", monitor, self.mode, 0.0)
        self.last_saved: str | None = None
        self._epoch = 0
        self._batches = 0

    @property
    def best(self) -> float:
        """The best monitored value so far (with ``save_best_only``)."""
        return self._monitor.best

    def _wants_batches(self) -> bool:
        return self._every is not None or _overrides_batch_hooks(type(self), ModelCheckpoint)

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._batches = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._every is None:
            return
        self._batches += 1
        if self._batches % self._every == 0:
            self._save(logs or {}, batch=batch + 1)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._every is None:
            self._save(logs or {})

    def _save(self, logs: Mapping[str, float], batch: int | None = None) -> None:
        if self.save_best_only:
            value = self._monitor.value(logs)
            if value is None or not self._monitor.improved(value):
                return
            self._monitor.best = value
        fields: dict[str, Any] = dict(logs)
        fields["epoch"] = self._epoch + 1
        if batch is not None:
            fields["batch"] = batch
        try:
            path = self.filepath.format(**fields)
        except KeyError as e:
            raise ValueError(
                f"ModelCheckpoint filepath {self.filepath!r} names {e.args[0]!r}, which is "
                f"not in the logs (available: {', '.join(fields)})") from None
        assert self.model is not None  # set by fit before training
        self.model.save(path)
        self.last_saved = path
        if self.verbose:
            print(f"Epoch {self._epoch + 1}: saved the model to {path}", file=sys.stdout)

    def __repr__(self) -> str:
        return (f"ModelCheckpoint({self.filepath!r}, monitor={self.monitor!r}, "
                f"mode={self.mode!r}, save_best_only={self.save_best_only}, "
                f"save_freq={self.save_freq!r})")


class CSVLogger(Callback):
    """Write the logs of every epoch to a CSV file: a header line ``epoch`` followed by
    the log keys in sorted order (those of the first epoch), then one row per epoch
    (``epoch`` counted from 0, as in the History; a key missing from a later epoch's
    logs is written as ``NA``). The file is opened at the start of training (truncated,
    or appended to with ``append=True``: no second header when it already has lines),
    flushed after every row and closed when training ends."""

    _transient = ("_file", "_writer")

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        self.filename = _path("filename", filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character, got {separator!r}")
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._file: TextIO | None = None
        self._writer: Any = None
        self._header_written = False

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._close()
        has_lines = (self.append and os.path.exists(self.filename)
                     and os.path.getsize(self.filename) > 0)
        self._file = open(self.filename, "a" if self.append else "w", newline="",
                          encoding="utf-8")
        self._writer = csv.writer(self._file, delimiter=self.separator,
                                  lineterminator="\n")
        self.keys = None
        self._header_written = has_lines

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._file is None:  # used outside fit (or after on_train_end)
            self.on_train_begin()
        assert self._file is not None and self._writer is not None  # opened just now
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if not self._header_written:
            self._writer.writerow(["epoch", *self.keys])
            self._header_written = True
        self._writer.writerow([epoch, *(repr(float(logs[k])) if k in logs else "NA"
                                        for k in self.keys)])
        self._file.flush()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        self._close()

    def __repr__(self) -> str:
        return (f"CSVLogger({self.filename!r}, separator={self.separator!r}, "
                f"append={self.append})")


class TerminateOnNaN(Callback):
    """Stop training (``model.stop_training``) after the first epoch whose loss is NaN or
    infinite -- or the first such batch, when the epoch runs batch by batch because
    another callback overrides a batch hook (this one does not ask for that).

    It matters only with ``fit(on_nonfinite="ignore")``: under the default
    ``on_nonfinite="raise"``, a non-finite loss makes ``fit`` put back the weights from
    before the epoch and raise TrainingDivergedError before any callback sees it. With
    "ignore" and TerminateOnNaN, training stops without raising: the epoch's logs
    (loss NaN/inf) reach every callback and the History, and the weights are left as
    the non-finite batch made them (often NaN; nothing is restored). ``stopped_epoch``
    (and ``stopped_batch`` when stopped by a batch) say where."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped_epoch: int | None = None
        self.stopped_batch: int | None = None
        self._epoch = 0

    def _wants_batches(self) -> bool:  # a subclass with its own batch hooks does ask
        return _overrides_batch_hooks(type(self), TerminateOnNaN)

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.stopped_epoch = self.stopped_batch = None

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._epoch = epoch

    def _check(self, logs: Mapping[str, float] | None, where: str) -> bool:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return False
        assert self.model is not None  # set by fit before training
        self.model.stop_training = True
        self.stopped_epoch = self._epoch
        if self.params.get("verbose"):
            print(f"{where}: the loss is {loss}, terminating training", file=sys.stdout)
        return True

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        if self.stopped_batch is None and self._check(
                logs, f"Epoch {self._epoch + 1}, batch {batch}"):
            self.stopped_batch = batch

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._epoch = epoch
        if self.stopped_epoch is None:
            self._check(logs, f"Epoch {epoch + 1}")


class ProgressLogger(Callback):
    """What ``fit(verbose=1)`` shows: a tqdm bar over the samples of each epoch and a line
    per epoch (epoch, loss, accuracy, val_loss, val_accuracy, samples/s); ``verbose=2``
    prints the lines only. The model reports progress through ``update(rows)``.

    ``bar``: None (the default) draws the bar only where it can redraw itself: on a
    terminal or in a notebook, not into a file or a pipe (no carriage-return frames in
    logs); True always, False never. A ProgressLogger passed to ``fit(callbacks=...)``
    with ``verbose=0`` is the one ``fit`` reports to."""

    def __init__(self, verbose: int = 1, file: TextIO | None = None,
                 bar: bool | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.file = file
        self.bar = bar
        self._bar: tqdm[Any] | None = None

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._t0 = time.perf_counter()
        if self.verbose == 1:
            from tqdm.auto import tqdm  # imported lazily: `import fastnn` stays fast

            self._bar = tqdm(
                total=self.params.get("samples"), unit="sample", unit_scale=True,
                desc=f"Epoch {epoch + 1}/{self.params.get('epochs')}", leave=False,
                file=self.file if self.file is not None else sys.stderr, dynamic_ncols=True,
                disable=None if self.bar is None else not self.bar,  # None: only on a tty
            )

    def update(self, rows: int) -> None:
        if self._bar is not None:
            self._bar.update(rows)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._close()
        logs = logs or {}
        parts = [f"Epoch {epoch + 1}/{self.params.get('epochs')}"]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in logs:
                parts.append(f"{key}: {logs[key]:.4f}")
        stats = getattr(self.model, "_epoch_stats", None)
        if stats:
            seen, seconds = stats
            if seconds > 0:
                parts.append(f"{seen / seconds:,.0f} samples/s")
            parts.append(f"{time.perf_counter() - self._t0:.2f} s")
        print(" - ".join(parts), file=self.file if self.file is not None else sys.stdout,
              flush=True)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        self._close()
