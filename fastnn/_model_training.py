"""Sequential, part 4: fit -- the epoch loop, callbacks, divergence and its recovery,
the per-layer training path (the fused native plan plugs in at _run_epoch, through
fastnn._fused) -- and loss_and_gradients. (fastnn/model.py lists the parts.)"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _fused, _model_streams, layers_custom, metrics as _metrics
from ._class_weight import ClassWeight, apply_class_weight
from ._validation import integer, scalar
from .callbacks import Callback, History, ProgressLogger, _BatchHooks, batch_hooks
from .errors import NonFiniteInputError, TrainingDivergedError
from .layers import Dense, Dropout, Layer
from .losses import Loss, get_loss
from .optimizers import Optimizer, get_optimizer
from ._model_inference import _Inference
from ._model_inputs import _all_finite, _first_nonfinite_row, _nonfinite_error

if TYPE_CHECKING:
    from .model import Sequential

    # what _snapshot saves: parameters, optimizer state, dropout offsets, buffers
    _Snapshot: TypeAlias = tuple[list[NDArray[Any]], dict[str, Any] | None,
                                 list[tuple[Dropout, int]], list[NDArray[Any]]]

METRICS = ("accuracy",)  # fit's default; the names it takes: fastnn/metrics.py NAMES


class _Training(_Inference):
    """Training a model."""

    history: History | None
    stop_training: bool
    _plan_key: tuple[tuple[int, ...], tuple[int, ...], np.dtype[Any], int] | None
    _plan_targets: NDArray[Any] | None
    _progress: Callable[[int], None] | None
    _batch_hooks: _BatchHooks | None
    _epoch_stats: tuple[int, float] | None
    _on_nonfinite: str
    _x_unchecked: bool
    _train_params: list[NDArray[Any]]
    _train_grads: list[NDArray[Any]]
    _track_accuracy: bool

    # ================================================================== training

    def fit(self, X: ArrayLike | Any, y: ArrayLike | None = None, epochs: int = 1,
            batch_size: int = 32, loss: str | Loss = "cross_entropy",
            optimizer: str | Optimizer = "adam", shuffle: bool = True,
            validation_data: Sequence[ArrayLike] | Any | None = None,
            validation_split: float = 0.0,
            metrics: str | Iterable[str] | None = ("accuracy",),
            callbacks: Callback | Iterable[Callback] | None = None, verbose: int = 1,
            sample_weight: ArrayLike | None = None, on_nonfinite: str = "raise",
            class_weight: ClassWeight = None,
            steps_per_epoch: int | None = None,
            validation_steps: int | None = None) -> History:
        """Train for ``epochs`` passes over (X, y) in mini-batches; returns a History.

        Data that is not two arrays in memory (docs/data.md, "Streams"): ``X`` a
        Sequence of batches (``len`` = batches per epoch, ``X[i]`` -> ``(X_b, y_b)`` or
        ``(X_b, y_b, sample_weight_b)``, optional ``on_epoch_end()``) or an iterator of
        such batches (then ``steps_per_epoch`` is required), with ``y`` omitted;
        ``X`` an ``np.memmap`` (``np.load(..., mmap_mode="r")``): trained in chunks of
        rows, never read into memory whole. ``validation_data`` may be such a Sequence or
        iterator (``validation_steps`` batches of an iterator per epoch).

        ``loss``: "cross_entropy" (integer labels or class probabilities; the outputs are
        logits, or the input of a final Softmax), "binary_cross_entropy", "mse",
        "squared_error", or a Loss. ``optimizer``: "sgd", "adam", "adamw", "rmsprop" (new,
        with defaults) or an Optimizer instance (keeps its state across fit calls).
        ``validation_data=(Xv, yv)`` or ``validation_split`` (the last fraction of the rows,
        taken before shuffling). ``verbose``: 0 silent, 1 progress bar and a line per
        epoch, 2 lines only. ``on_nonfinite``: "raise" (TrainingDivergedError, weights of
        the last good epoch restored) or "ignore". While it runs, predict and evaluate
        called from other threads wait for it.

        ``class_weight`` (classification losses: cross_entropy with labels or one-hot
        targets, binary_cross_entropy with one 0/1 output): a dict ``{class: weight}``
        (classes left out weigh 1) or "balanced" (``n_samples / (n_classes *
        bincount(y))`` over the training rows, as scikit-learn); each sample's weight is
        its class's, times its ``sample_weight`` when both are given.

        ``metrics``: names from ``fastnn.metrics.NAMES`` -- "accuracy", "top_k_accuracy"
        (k=5) or "top3_accuracy" (any k), "precision", "recall", "f1" (macro over classes;
        binary for one output), "auc" (one binary output), "mse", "mae", "r2" (on the
        outputs as predict returns them). The History records each per epoch, and
        ``val_``-prefixed on the validation data. Loss and accuracy are counted during the
        epoch; every other metric costs one forward pass (inference mode) over the
        training rows, and one over the validation rows, at the end of each epoch -- only
        when asked for. ``sample_weight`` weights the loss, not the metrics (as Keras'
        ``metrics``, not its ``weighted_metrics``).
        """
        with self._lock:
            return self._fit(X, y, epochs, batch_size, loss, optimizer, shuffle,
                             validation_data, validation_split, metrics, callbacks, verbose,
                             sample_weight, on_nonfinite, class_weight, steps_per_epoch,
                             validation_steps)

    def _fit(self, X: ArrayLike | Any, y: ArrayLike | None, epochs: int, batch_size: int,
             loss: str | Loss, optimizer: str | Optimizer, shuffle: bool,
             validation_data: Sequence[ArrayLike] | Any | None, validation_split: float,
             metrics: str | Iterable[str] | None,
             callbacks: Callback | Iterable[Callback] | None, verbose: int,
             sample_weight: ArrayLike | None, on_nonfinite: str,
             class_weight: ClassWeight = None,
             steps_per_epoch: int | None = None,
             validation_steps: int | None = None) -> History:
        epochs = integer("epochs", epochs, lo=0)
        batch_size = integer("batch_size", batch_size, lo=1)
        validation_split = scalar("validation_split", validation_split, lo=0.0, hi=1.0,
                                  hi_open=True)
        if on_nonfinite not in ("raise", "ignore"):
            raise ValueError(f"on_nonfinite must be 'raise' or 'ignore', got {on_nonfinite!r}")
        verbose = _check_verbose(verbose)
        metrics = _check_metrics(metrics)
        callbacks = _check_callbacks(callbacks)
        loss = get_loss(loss)
        optimizer = get_optimizer(optimizer)
        if validation_data is not None and validation_split:
            raise ValueError("pass validation_data or validation_split, not both")
        if _model_streams.streamed(X, y, validation_data, steps_per_epoch, validation_steps):
            if class_weight is not None:  # the classes of a stream are not known up front
                raise ValueError("class_weight needs the targets in memory; with a stream "
                                 "of batches, give each batch its sample weights "
                                 "(X[i] -> (X_b, y_b, sample_weight_b))")
            return _model_streams.fit(
                self, X, y, epochs=epochs, batch_size=batch_size, loss=loss,
                optimizer=optimizer, shuffle=shuffle, validation_data=validation_data,
                validation_split=validation_split, metrics=metrics, callbacks=callbacks,
                verbose=verbose, sample_weight=sample_weight, on_nonfinite=on_nonfinite,
                steps_per_epoch=steps_per_epoch, validation_steps=validation_steps)

        # X's NaN/inf check: with epochs to run, the first epoch does it as it reads the
        # rows (the fused plan checks each row it gathers; a bad one puts the model back
        # and raises the same error), which saves a pass over X
        X = X_full = self._check_X(X, finite=epochs == 0)
        self._ensure_built(X)
        self._check_features(X)
        n = X.shape[0]
        y, task = self._prepare_targets(y, n, loss)
        sw = self._check_sample_weight(sample_weight, n)
        Xv = yv = None
        if validation_split:
            split = int(n * (1.0 - validation_split))
            if split < 1 or split >= n:
                raise ValueError(f"validation_split={validation_split} of {n} rows leaves "
                                 f"{split} for training and {n - split} for validation; "
                                 "both need at least one")
            X, Xv, y, yv = X[:split], X[split:], y[:split], y[split:]
            sw = None if sw is None else sw[:split]
            if not _all_finite(Xv):  # rows that training never reads
                raise _nonfinite_error(X_full)
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a tuple (X_val, y_val)")
            Xv = self._check_X(validation_data[0], "validation_data X")
            self._check_features(Xv, "validation_data X")
            yv, _ = self._prepare_targets(validation_data[1], Xv.shape[0], loss,
                                          "validation_data y")
        sw = apply_class_weight(class_weight, y, loss.name or type(loss).__name__,
                                int(np.prod(self._output_shape or ())), sw, self.dtype)

        extra = self._begin_training(loss, optimizer, metrics, task, on_nonfinite)
        history, cbs, progress = self._begin_callbacks(callbacks, verbose, {
            "epochs": epochs, "samples": X.shape[0], "batch_size": batch_size,
            "verbose": verbose})
        n_train = X.shape[0]
        self._x_unchecked = epochs > 0
        try:
            for cb in cbs:
                cb.on_train_begin({})
            for epoch in range(epochs):
                for cb in cbs:
                    cb.on_epoch_begin(epoch, {})
                unchecked = self._x_unchecked
                snapshot = self._snapshot() if on_nonfinite == "raise" or unchecked else None
                rng_state = self.rng.bit_generator.state if unchecked else None
                perm = self.rng.permutation(n_train) if shuffle else None
                t0 = time.perf_counter()
                try:
                    with self._session(self._bw_stop):
                        loss_sum, seen, correct = self._run_epoch(X, y, perm, batch_size, sw)
                except NonFiniteInputError:  # the model as it was before fit
                    assert snapshot is not None and rng_state is not None  # taken: unchecked
                    self._restore(snapshot)
                    self.rng.bit_generator.state = rng_state
                    raise _nonfinite_error(X_full) from None
                self._epoch_stats = (seen, time.perf_counter() - t0)
                epoch_loss = loss_sum / seen if seen else math.nan
                if on_nonfinite == "raise" and (not math.isfinite(epoch_loss)
                                                or not self._weights_finite()):
                    assert snapshot is not None  # taken: on_nonfinite == "raise"
                    self._restore(snapshot)
                    if unchecked and not _all_finite(X):  # bad input, not divergence
                        assert rng_state is not None  # taken: unchecked
                        self.rng.bit_generator.state = rng_state
                        raise _nonfinite_error(X_full)
                    raise TrainingDivergedError(
                        _diverged_message(epoch, epochs, epoch_loss, optimizer),
                        epoch=epoch + 1, loss=epoch_loss,
                    )
                self._x_unchecked = False
                logs = {"loss": float(epoch_loss)}
                if self._track_accuracy:
                    assert correct is not None  # counted when tracking accuracy
                    logs["accuracy"] = float(correct / seen) if seen else math.nan
                if extra:
                    self._log_metrics(logs, extra, "", X, y, task)
                if Xv is not None:
                    assert yv is not None  # set with Xv
                    vloss, vacc = self._evaluate_prepared(Xv, yv, loss, task, None)
                    logs["val_loss"] = vloss
                    if self._track_accuracy:
                        assert vacc is not None  # same metrics and task as training
                        logs["val_accuracy"] = vacc
                if extra and Xv is not None:
                    assert yv is not None  # set with Xv
                    self._log_metrics(logs, extra, "val_", Xv, yv, task)
                for cb in cbs:
                    cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            for cb in cbs:
                cb.on_train_end({})
        finally:
            self._progress = self._batch_hooks = None
            self._x_unchecked = False
            if progress is not None:
                progress._close()
        return history

    def _begin_training(self, loss: Loss, optimizer: Optimizer, metrics: tuple[str, ...],
                        task: str | None, on_nonfinite: str) -> list[str]:
        """Sets up a fit: the trainable parameters and the optimizer's state for them, the
        loss, the task and the metrics. Returns the metrics other than accuracy."""
        self._bw_stop = self._first_trainable()
        layers_custom.check_backward(self.layers, self._bw_stop)
        trainable = [(layer, key) for layer in self.layers[self._bw_stop:]
                     for key in layer.trainable_keys()]
        train_params = [layer.params[k] for layer, k in trainable]
        # raises if it holds state for other parameters
        optimizer.setup(train_params, is_bias=[k in getattr(layer, "bias_keys", ())
                                               for layer, k in trainable])
        self._train_params = train_params
        self._train_grads = [layer.grads[k] for layer, k in trainable]
        loss._ops = self._ops
        optimizer._ops = self._ops
        self.loss, self.optimizer, self.metrics = loss, optimizer, metrics
        self._task = task
        self._threshold = 0.0 if loss.name == "binary_cross_entropy" else 0.5
        self._fold = self._fold_mode(loss)
        self._track_accuracy = "accuracy" in metrics and task is not None
        # the other metrics: from one forward pass (inference mode) over the training
        # and the validation rows at the end of each epoch, only when asked for
        extra = self._extra_metrics(metrics, task)
        self._on_nonfinite = on_nonfinite
        self._plan = None  # built at the first epoch from this fit's settings
        return extra

    def _begin_callbacks(self, callbacks: list[Callback], verbose: int,
                         params: dict[str, Any]
                         ) -> tuple[History, list[Callback], ProgressLogger | None]:
        """A fit's History, its callbacks in calling order (the progress logger last) and
        the logger that shows progress, each given the model and ``params``."""
        history = History()
        mine = next((cb for cb in callbacks if isinstance(cb, ProgressLogger)), None)
        progress = ProgressLogger(verbose) if verbose else None
        cbs = [history, *callbacks] + ([progress] if progress else [])
        if progress is None and mine is not None:  # verbose=0 with the caller's own logger
            progress = mine
        for cb in cbs:
            cb.set_model(cast("Sequential", self))  # fit runs on a Sequential
            cb.set_params(params)
        self.history = history
        self.stop_training = False
        self._progress = progress.update if progress is not None and progress.verbose == 1 \
            else None
        # per-batch Python only when a callback overrides a batch hook
        self._batch_hooks = batch_hooks(cbs, cast("Sequential", self))
        return history, cbs, progress

    def _log_metrics(self, logs: dict[str, float], names: Sequence[str], prefix: str,
                     X: NDArray[Any], y: NDArray[Any], task: str | None) -> None:
        out = self._predict(X, None)
        threshold = self._output_threshold()
        for name in names:
            logs[prefix + name] = _metrics._for_model(name, out, y, task, threshold)

    def _run_epoch(self, X: NDArray[Any], y: NDArray[Any], perm: NDArray[np.intp] | None,
                   batch_size: int,
                   sample_weight: NDArray[Any] | None) -> tuple[float, int, float | None]:
        """One epoch of training. Returns (sum over batches of batch loss * batch rows,
        rows seen, correctly classified rows or None).

        This is where the fused native plan plugs in; it may use: ``self.loss``,
        ``self.optimizer`` (its ``state``, ``lr``, ``iterations``, updated in place),
        ``self._fold`` ("layer": the last Softmax/Sigmoid layer is folded into the loss;
        "dense": the last Dense's activation is), ``self._bw_stop`` (lowest layer that
        backward reaches), ``self._train_params`` / ``self._train_grads`` (aligned with the
        optimizer's state), ``self._task`` / ``self._threshold`` /
        ``self._track_accuracy`` (accuracy), ``self._on_nonfinite`` ("raise": stop at the
        first non-finite batch loss, without updating on it), ``self._progress``
        (None, or a callable taking the number of rows done, for the progress bar) and
        ``self._batch_hooks`` (None, or the callbacks' batch hooks: begin before each
        batch, end after it, which returns True to end the epoch there).
        Dropout layers advance ``offset`` by the batch's element count per batch.
        ``perm`` is the epoch's row order (from ``self.rng.permutation``), or None when
        ``shuffle=False`` (rows in order). ``y`` holds intp labels for cross-entropy with
        labels, else floats of the model dtype shaped (n,) + output_shape.
        """
        if not self.fused or _fused.unsupported_reason(self) is not None:
            if self._x_unchecked and not _all_finite(X):  # before any batch
                raise NonFiniteInputError(_first_nonfinite_row(X))
            return self._run_epoch_python(X, y, perm, batch_size, sample_weight)
        # the plan holds pointers to every layer's arrays: rebuilt when one was replaced
        key = (X.shape[1:], y.shape[1:], y.dtype, Layer._generation)
        if self._plan is None or self._plan_key != key:
            self._plan_targets = _fused.plan_targets(self, y, X.shape[0])
            self._plan = _fused.build_plan(self, X, self._plan_targets, batch_size,
                                           sample_weight)
            self._plan_key = key
        assert self._plan_targets is not None  # built with the plan
        return _fused.run_epoch(self, self._plan, X, self._plan_targets, perm, batch_size,
                                sample_weight, check_rows=self._x_unchecked)

    def _run_epoch_python(self, X: NDArray[Any], y: NDArray[Any],
                          perm: NDArray[np.intp] | None, batch_size: int,
                          sample_weight: NDArray[Any] | None) -> tuple[float, int, float | None]:
        """The per-layer Python path: per batch, forward (training) -> loss value and
        gradient -> backward -> optimizer update."""
        loss, opt = self.loss, self.optimizer
        assert loss is not None and opt is not None  # set by fit
        fold, stop = self._fold, self._bw_stop
        params, grads = self._train_params, self._train_grads
        update = bool(params)
        count = self._count_correct if self._track_accuracy else None
        stop_on_nonfinite = self._on_nonfinite == "raise"
        report = self._progress
        hooks = self._batch_hooks
        n = X.shape[0]
        loss_sum, seen = 0.0, 0
        correct = 0.0 if count is not None else None
        if perm is not None:  # gather buffers for the shuffled batches, allocated once
            m0 = min(batch_size, n)
            xbuf = np.empty((m0,) + X.shape[1:], X.dtype)
            ybuf = np.empty((m0,) + y.shape[1:], y.dtype)
            wbuf = None if sample_weight is None else np.empty(m0, sample_weight.dtype)
        gbufs: dict[tuple[int, ...], NDArray[Any]] = {}
        swb = None
        for start in range(0, n, batch_size):
            end = min(start + batch_size, n)
            m = end - start
            if perm is None:
                xb, yb = X[start:end], y[start:end]
                if sample_weight is not None:
                    swb = sample_weight[start:end]
            else:
                idx = perm[start:end]
                xb = np.take(X, idx, axis=0, out=xbuf[:m], mode="clip")
                yb = np.take(y, idx, axis=0, out=ybuf[:m], mode="clip")
                if sample_weight is not None:
                    assert wbuf is not None  # allocated with sample_weight
                    swb = np.take(sample_weight, idx, out=wbuf[:m], mode="clip")
            if hooks is not None:
                hooks.begin(start // batch_size)
            if swb is not None and not swb.sum() > 0:
                # every sample of this batch has weight 0: nothing to learn
                if hooks is not None and hooks.end(start // batch_size, 0.0, None, 0):
                    break
                continue
            out = self._forward_logits(xb, True, fold)
            gbuf = gbufs.get(out.shape)
            if gbuf is None:
                gbuf = gbufs[out.shape] = np.empty(out.shape, out.dtype)
            value, g = loss.value_and_grad(out, yb, swb, grad=gbuf)
            if not math.isfinite(value) and stop_on_nonfinite:
                return loss_sum + value * m, seen + m, correct
            batch_correct = count(out, yb) if count is not None else None
            if batch_correct is not None:
                assert correct is not None  # a float whenever count is set
                correct += batch_correct
            if update:
                self._backward(g, fold, stop)
                opt.update(params, grads)
            loss_sum += value * m
            seen += m
            if report is not None:
                report(m)
            if hooks is not None and hooks.end(start // batch_size, value * m, batch_correct, m):
                break
        return loss_sum, seen, correct

    def _snapshot(self) -> _Snapshot:
        return (
            [a.copy() for _, _, a in self.params],
            self.optimizer.get_state() if self.optimizer is not None else None,
            [(layer, layer.offset) for layer in self.all_layers() if isinstance(layer, Dropout)],
            [a.copy() for _, _, a in self.buffers],
        )

    def _restore(self, snapshot: _Snapshot) -> None:
        weights, opt_state, offsets, buffers = snapshot
        for (_, _, a), w in zip(self.params, weights):
            a[...] = w
        for (_, _, a), w in zip(self.buffers, buffers):
            a[...] = w
        if opt_state is not None:
            assert self.optimizer is not None  # it gave opt_state
            self.optimizer.set_state(opt_state)
        for layer, offset in offsets:
            layer.offset = offset

    def _weights_finite(self) -> bool:
        return all(_all_finite(a) for _, _, a in self.params)

    # ================================================================== gradients

    def loss_and_gradients(self, X: ArrayLike, y: ArrayLike, loss: str | Loss | None = None, *,
                           sample_weight: ArrayLike | None = None,
                           training: bool = False) -> tuple[float, list[NDArray[Any]]]:
        """The loss on (X, y) as one batch and its gradient with respect to every
        parameter: ``(loss, [grad per entry of params])`` (copies). No update is made.
        ``training=True`` runs the layers in training mode (dropout on)."""
        loss = get_loss(loss if loss is not None else (self.loss or "cross_entropy"))
        loss._ops = self._ops
        X = self._check_X(X)
        self._ensure_built(X)
        self._check_features(X)
        y, _ = self._prepare_targets(y, X.shape[0], loss)
        sw = self._check_sample_weight(sample_weight, X.shape[0])
        fold = self._fold_mode(loss)
        stop = next((i for i, layer in enumerate(self.layers) if layer.params),
                    len(self.layers))
        layers_custom.check_backward(self.layers, stop)
        with self._session(stop):
            out = self._forward_logits(X, bool(training), fold)
            value, g = loss.value_and_grad(out, y, sw)
            if stop < len(self.layers):
                self._backward(g, fold, stop)
        return value, [layer.grads[k].copy() for layer, k, _ in self.params]




def _check_verbose(verbose: int) -> int:
    if isinstance(verbose, bool):
        return int(verbose)
    v = integer("verbose", verbose)
    if v not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {v}")
    return v


def _check_metrics(metrics: str | Iterable[str] | None) -> tuple[str, ...]:
    if metrics is None:
        return ()
    if isinstance(metrics, str):
        metrics = (metrics,)
    out: list[str] = []
    for m in metrics:
        key = _metrics._canonical(m)
        if key is None:
            raise ValueError(f"unknown metric {m!r}; valid metrics: "
                             f"{_metrics._valid_names()}")
        if key not in out:
            out.append(key)
    return tuple(out)


def _check_callbacks(callbacks: Callback | Iterable[Callback] | None) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be fastnn Callback instances, got "
                            f"{type(cb).__name__}")
    return callbacks


def _diverged_message(epoch: int, epochs: int, value: float, optimizer: Optimizer) -> str:
    what = "NaN" if math.isnan(value) else ("infinite" if math.isinf(value) else
                                           "finite but the weights became NaN/inf")
    restored = ("the initial weights" if epoch == 0
                else f"the weights after epoch {epoch}, the last good one,")
    return (
        f"training diverged in epoch {epoch + 1}/{epochs}: the loss became {what}. "
        f"{restored[0].upper() + restored[1:]} and the optimizer state were restored. "
        f"Try a lower learning rate (lr is {optimizer.lr:g}), scaled inputs, or "
        "fit(..., on_nonfinite='ignore') to go on anyway."
    )
