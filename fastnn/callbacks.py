"""Callbacks for ``Sequential.fit``: hooks run at the start and end of training and of
each epoch (the fused training loop returns to Python once per epoch, so there are no
per-batch hooks).

    Callback                    base class; ``self.model`` is the model being trained
    History                     per-epoch logs: ``history.history["loss"]``, ``history.epoch``
    EarlyStopping               stop when a monitored value stops improving
    LearningRateScheduler(fn)   lr = fn(epoch, lr) at each epoch begin
    StepDecay(step_size, gamma) lr = lr0 * gamma ** (epoch // step_size)
    ExponentialDecay(gamma)     lr = lr0 * gamma ** epoch
    CosineDecay(total_epochs, min_lr)
                                lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * epoch / total)) / 2

Epochs are numbered from 0 within each ``fit`` call; ``lr0`` is the optimizer's learning
rate when the schedule first sees it.
"""

from __future__ import annotations

import inspect
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from numpy.typing import NDArray

from ._pickling import Picklable
from ._validation import integer, scalar

if TYPE_CHECKING:
    from tqdm.auto import tqdm

    from .model import Sequential
    from .optimizers import Optimizer

__all__ = ["Callback", "History", "EarlyStopping", "LearningRateScheduler", "StepDecay",
           "ExponentialDecay", "CosineDecay"]


class Callback(Picklable):
    """Base class. Override any of the hooks; ``self.model`` is set before training and
    ``self.params`` holds {"epochs", "samples", "batch_size", "verbose"}."""

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


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
    (max for accuracies, min otherwise). With ``restore_best_weights`` the weights of the
    best epoch are put back when it stops (and at the end of training)."""

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a str, got {type(monitor).__name__}")
        self.monitor = monitor
        self.patience = integer("patience", patience, lo=0)
        self.min_delta = abs(scalar("min_delta", min_delta))
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_weights: list[NDArray[Any]] | None = None
        self.stopped_epoch: int | None = None
        self._warned = False

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            if not self._warned:
                warnings.warn(
                    f"EarlyStopping monitors {self.monitor!r}, which is not in the logs "
                    f"(available: {', '.join(logs or {}) or 'none'}); it does nothing",
                    RuntimeWarning, stacklevel=2,
                )
                self._warned = True
            return
        if self._improved(value):
            self.best = value
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
