"""Sequential, part 3: forward and backward through the layers, predict and evaluate.
(fastnn/model.py lists the parts.)"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _fused, metrics as _metrics
from ._config import config_context
from ._validation import integer
from .layers import Activation, Dense, Layer
from .losses import Loss, get_loss
from ._model_inputs import _InputChecks

if TYPE_CHECKING:
    from ._plan import TrainingPlan

# Rows per inference batch when predict / evaluate get no batch_size: bounded memory.
INFERENCE_BATCH = 1024


class _Inference(_InputChecks):
    """The passes through the layers, and the model's inference."""

    fused: bool
    metrics: tuple[str, ...]
    seed: int | None
    _lock: threading.RLock
    _infer_generation: int | None
    _bw_stop: int
    _task: str | None
    _threshold: float | None
    _fold: str | None

    # ================================================================== forward/backward

    def _head_activation(self) -> str | None:
        """The activation applied last (Activation layer or Dense activation), or None."""
        if not self.layers:
            return None
        last = self.layers[-1]
        if isinstance(last, (Activation, Dense)):
            return last.activation
        return None

    def _fold_mode(self, loss: Loss) -> str | None:
        """How the loss absorbs the output activation: "layer" (the last layer is a Softmax
        / Sigmoid layer, skipped: the loss takes its input), "dense" (the last Dense's
        activation is skipped), or None."""
        want = getattr(loss, "fused_activation", None)
        if not want or not self.layers:
            return None
        last = self.layers[-1]
        if last._custom_compute:  # its own forward and backward run, whatever it derives from
            return None
        if isinstance(last, Activation) and last.activation == want:
            return "layer"
        if isinstance(last, Dense) and last.activation == want:
            return "dense"
        return None

    def _forward_logits(self, x: NDArray[Any], training: bool,
                        fold: str | None) -> NDArray[Any]:
        """Forward through the model; with ``fold`` stop before the folded activation."""
        layers = self.layers
        last = len(layers) - 1
        for i in range(last):
            x = layers[i]._forward(x, training)
        if fold == "layer":
            return x
        if fold == "dense":
            return cast(Dense, layers[last])._forward(x, training, activate=False)
        return layers[last]._forward(x, training)

    def _backward(self, g: NDArray[Any] | None, fold: str | None,
                  stop: int) -> NDArray[Any] | None:
        """Backprop the loss gradient ``g`` from the top down to layer ``stop``."""
        layers = self.layers
        top = len(layers) - 1 if fold == "layer" else len(layers)
        for i in range(top - 1, stop - 1, -1):
            assert g is not None  # only the bottom layer may skip dx
            g = layers[i].backward(g)
        return g

    @contextmanager
    def _session(self, bw_stop: int | None = None) -> Iterator[None]:
        """While the model computes: layers reuse their buffers, the bottom layer of the
        backward pass skips dx, and the ops skip their NaN scans (the data was checked;
        divergence is detected from the loss)."""
        layers = self.layers
        for layer in layers:
            layer._reuse = True
        if bw_stop is not None and bw_stop < len(layers):
            layers[bw_stop]._need_dx = False
        try:
            with config_context(check_finite=False), \
                    np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                yield
        finally:
            for layer in layers:
                layer._reuse = False
                layer._need_dx = True

    def _first_trainable(self) -> int:
        """Index of the lowest layer with trainable parameters (len(layers) if none)."""
        for i, layer in enumerate(self.layers):
            if layer.trainable_keys():
                return i
        return len(self.layers)

    def _count_correct(self, out: NDArray[Any], yb: NDArray[Any]) -> float:
        """Correctly classified samples in a batch (binary with several outputs: the
        fraction of outputs on the right side of the threshold, summed over rows)."""
        if self._task == "multiclass":
            truth = yb if yb.ndim == 1 else yb.argmax(axis=1)
            return float(np.count_nonzero(out.argmax(axis=1) == truth))
        assert self._threshold is not None  # set by fit or evaluate
        hit = (out > self._threshold) == (yb > 0.5)
        hit = hit.reshape(hit.shape[0], -1)
        if hit.shape[1] == 1:
            return float(np.count_nonzero(hit))
        return float(hit.mean(axis=1).sum())

    # ================================================================== inference

    def _infer_batch(self, batch_size: int | None) -> int:
        if batch_size is None:
            return INFERENCE_BATCH
        return integer("batch_size", batch_size, lo=1)

    def predict(self, X: ArrayLike, batch_size: int | None = None) -> NDArray[Any]:
        """Raw outputs of the last layer for X, computed in batches (inference mode).
        Safe to call from several threads at once (they take turns on the model)."""
        with self._lock:
            plan = self._infer_plan
            if (plan is not None and batch_size is None and self.fused
                    and self._infer_generation == Layer._generation
                    and self._input_shape is not None and len(self._input_shape) == 1):
                # The common case, checked natively: one call that checks X's type, shape
                # and layout, scans it for NaN/inf and runs every layer (single-sample
                # latency matters); anything else, None, takes the checked path below.
                out = plan.predict_rows(X)
                if out is not None:
                    assert self._output_shape is not None  # built with the plan
                    return out if len(self._output_shape) == 1 else \
                        out.reshape((out.shape[0],) + self._output_shape)
            return self._predict(X, batch_size)

    def _predict(self, X: ArrayLike, batch_size: int | None) -> NDArray[Any]:
        bs = self._infer_batch(batch_size)
        X = self._check_X(X)
        self._ensure_built(X)
        self._check_features(X)
        assert self._output_shape is not None  # built
        n = X.shape[0]
        if self.fused and self.backend == "native" and n:
            if self._infer_plan is None or self._infer_generation != Layer._generation:
                # (the plan holds pointers to every layer's arrays: rebuilt when one was
                # replaced)
                self._infer_plan = _fused.inference_plan(self, INFERENCE_BATCH)
                self._infer_generation = Layer._generation
            if self._infer_plan is not None:  # one native call: every layer, every row
                out = np.empty((n,) + self._output_shape, self.dtype)
                self._infer_plan.predict(_fused.plan_inputs(self, X), out.reshape(n, -1))
                return out
        with self._session():
            if n <= bs:
                return np.array(self._forward_logits(X, False, None), copy=True)
            out = np.empty((n,) + self._output_shape, self.dtype)
            for s in range(0, n, bs):
                e = min(s + bs, n)
                out[s:e] = self._forward_logits(X[s:e], False, None)
        return out

    def _output_threshold(self, loss: Loss | None = None) -> float:
        """Where one output splits the classes (predict_classes): 0.5 on probabilities, 0
        on logits. ``loss`` defaults to fit's."""
        if self._head_activation() == "sigmoid":
            return 0.5
        loss = self.loss if loss is None else loss
        if loss is None or loss.name == "binary_cross_entropy":
            return 0.0
        return 0.5

    def predict_proba(self, X: ArrayLike, batch_size: int | None = None) -> NDArray[Any]:
        """Class probabilities: the outputs if the last layer already is a Softmax or a
        Sigmoid, otherwise the softmax of the outputs (sigmoid for one output or
        binary_cross_entropy)."""
        out = self.predict(X, batch_size)
        act = self._head_activation()
        if act in ("softmax", "sigmoid"):
            return out
        with config_context(check_finite=False):
            if out.ndim == 2 and out.shape[1] > 1 and not (
                    self.loss is not None and self.loss.name == "binary_cross_entropy"):
                return cast("NDArray[Any]", self._ops.softmax(out, out=out))
            return cast("NDArray[Any]", self._ops.sigmoid(out, out=out))

    def predict_classes(self, X: ArrayLike,
                        batch_size: int | None = None) -> NDArray[np.integer[Any]]:
        """Predicted class per sample (int64): argmax over several outputs, or the side of
        the threshold (0.5 on probabilities, 0 on logits) for one output."""
        out = self.predict(X, batch_size)
        if out.ndim == 2 and out.shape[1] > 1:
            return cast("NDArray[np.integer[Any]]", out.argmax(axis=1))
        return (out.reshape(out.shape[0], -1)[:, 0] > self._output_threshold()).astype(np.int64)

    def _extra_metrics(self, metrics: tuple[str, ...], task: str | None) -> list[str]:
        """The metrics other than accuracy (which has its own path), checked against the
        targets' task and the model's outputs."""
        assert self._output_shape is not None  # built
        n_outputs = int(np.prod(self._output_shape))
        extra = [m for m in metrics if m != "accuracy"]
        for m in extra:
            _metrics._check_for_model(m, task, n_outputs)
        return extra

    def _evaluate_prepared(self, X: NDArray[Any], y: NDArray[Any], loss: Loss, task: str | None,
                           batch_size: int | None,
                           metrics: tuple[str, ...] | None = None) -> tuple[float, float | None]:
        bs = self._infer_batch(batch_size)
        fold = self._fold_mode(loss)
        track = "accuracy" in (self.metrics if metrics is None else metrics) \
            and task is not None
        saved = (getattr(self, "_task", None), getattr(self, "_threshold", None))
        self._task = task
        self._threshold = 0.0 if loss.name == "binary_cross_entropy" else 0.5
        n = X.shape[0]
        loss_sum, correct = 0.0, 0.0
        try:
            with self._session():
                for s in range(0, n, bs):
                    e = min(s + bs, n)
                    out = self._forward_logits(X[s:e], False, fold)
                    loss_sum += loss.value(out, y[s:e]) * (e - s)
                    if track:
                        correct += self._count_correct(out, y[s:e])
        finally:
            self._task, self._threshold = saved
        return float(loss_sum / n), (float(correct / n) if track else None)

    def evaluate(self, X: ArrayLike, y: ArrayLike, batch_size: int | None = None, *,
                 loss: str | Loss | None = None,
                 metrics: str | Iterable[str] | None = None) -> dict[str, float]:
        """``{"loss": ..., "accuracy": ...}`` on (X, y) (accuracy for classification),
        in inference mode and in batches. ``loss`` defaults to the one used by fit.
        ``metrics``: names as for fit (``fastnn.metrics.NAMES``), by default fit's; each
        is a key of the result. Metrics other than accuracy take one more forward pass,
        over all of X (the outputs that ``predict`` returns).
        Safe to call from several threads at once (they take turns on the model)."""
        with self._lock:
            return self._evaluate(X, y, batch_size, loss, metrics)

    def _evaluate(self, X: ArrayLike, y: ArrayLike, batch_size: int | None,
                  loss: str | Loss | None,
                  metrics: str | Iterable[str] | None = None) -> dict[str, float]:
        from ._model_training import _check_metrics
        names = self.metrics if metrics is None else _check_metrics(metrics)
        if loss is None:
            loss = self.loss
            if loss is None:
                raise ValueError("evaluate needs a loss: fit the model first or pass loss=")
        loss = get_loss(loss)
        loss._ops = self._ops
        X = self._check_X(X)
        self._ensure_built(X)
        self._check_features(X)
        y, task = self._prepare_targets(y, X.shape[0], loss)
        extra = self._extra_metrics(names, task)
        value, acc = self._evaluate_prepared(X, y, loss, task, batch_size, names)
        result = {"loss": value}
        if acc is not None:
            result["accuracy"] = acc
        if extra:
            out = self._predict(X, batch_size)
            threshold = self._output_threshold(loss)
            for name in extra:
                result[name] = _metrics._for_model(name, out, y, task, threshold)
        return result
