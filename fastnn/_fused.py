"""Compile a Sequential model into a native TrainingPlan (fastnn._plan) and run epochs.

The plan points into the model's own arrays -- the layers' weights and gradients, the
optimizer's state -- so training updates them in place and the Python objects always
show the current state. The plan does exactly what the per-layer Python path does
(Sequential._run_epoch_python): same kernels, same order, same dropout counters, same
skipping of zero-weight batches; a test holds the two paths equal.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._config import POOLED_CONV
from ._plan import TrainingPlan
from .layers import shift_partners
from .losses import MSE, BinaryCrossEntropy, CrossEntropy, Loss, SquaredError
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from .ops.activations import ACTIVATION_CODES

if TYPE_CHECKING:
    from ._model_layers import _LayerStack
    from ._model_training import _Training

# Batches per call when a progress bar wants updates: about this many calls per epoch.
_PROGRESS_CALLS = 20


def _layers_unsupported(model: _LayerStack) -> str | None:
    if model.backend != "native":
        return "the reference backend runs the per-layer Python path"
    for layer in model.all_layers():
        # the innermost layer without a step (a block of supported layers has one)
        if layer.plan_steps() is None and all(sub.plan_steps() is not None
                                              for sub in layer.sublayers()):
            return f"layer {layer.name} ({type(layer).__name__}) has no fused step yet"
    return None


def unsupported_reason(model: _LayerStack) -> str | None:
    """Why `model` cannot train with the fused plan, or None if it can."""
    reason = _layers_unsupported(model)
    if reason:
        return reason
    if not isinstance(model.loss, (CrossEntropy, MSE, BinaryCrossEntropy, SquaredError)):
        return f"loss {type(model.loss).__name__} has no fused kernel"
    if type(model.optimizer) not in (SGD, Adam, AdamW, RMSprop):
        return f"optimizer {type(model.optimizer).__name__} has no fused kernel"
    return None


def _steps(model: _LayerStack) -> list[dict[str, Any]]:
    """The plan steps of the model's layers, in order (Layer.plan_steps)."""
    steps: list[dict[str, Any]] = []
    for layer in model.layers:
        mine = layer.plan_steps()
        assert mine is not None  # _layers_unsupported said every layer has steps
        steps += shift_partners(mine, len(steps))
    _pool_before_relu(steps)
    return steps


def _pool_before_relu(steps: list[dict[str, Any]]) -> None:
    """A ReLU followed by max pooling runs as max pooling followed by the ReLU, on a
    quarter of the values for 2x2 pools (the LeNet's two blocks). Nothing the model
    computes changes: relu(max(y)) = max(relu(y)) since relu is non-decreasing; and in
    backward both orders send a window's gradient to the position of its largest y, or
    nowhere when that y is <= 0 (where max(relu(y)) picks the first of the tied zeros, the
    ReLU's derivative there is 0 as well), so the gradients agree to the bit. Only ReLU:
    for a strictly increasing activation that saturates in floating point (sigmoid,
    tanh, ...) ties in f(y) that y does not have would pick another position."""
    relu = ACTIVATION_CODES["relu"]
    for i in range(len(steps) - 1):
        a, b = steps[i], steps[i + 1]
        if a["kind"] == "activation" and a["activation"] == relu and b["kind"] == "maxpool":
            steps[i], steps[i + 1] = b, a


def _optimizer(opt: Optimizer) -> tuple[dict[str, Any], list[list[NDArray[Any] | None]]]:
    """(config dict for the plan, per-param state arrays in plan.h's order)."""
    assert opt.state is not None  # set up by fit
    keys = {SGD: ("velocity",), Adam: ("m", "v", "v_max"), AdamW: ("m", "v", "v_max"),
            RMSprop: ("square_avg", "velocity", "grad_avg")}[type(opt)]
    cfg = dict(opt.get_config())
    cfg["kind"] = {SGD: "sgd", Adam: "adam", AdamW: "adamw", RMSprop: "rmsprop"}[type(opt)]
    cfg["lr"] = opt.lr
    cfg["iterations"] = opt.iterations
    # per-parameter weight decay factor: 0 for biases under decay_biases=False
    cfg["decay"] = [1.0 if d else 0.0 for d in (opt.decay or [True] * len(opt.state))]
    states = [[s.get(k) for k in keys] for s in opt.state]
    return cfg, states


def _loss_kind(loss: Loss, y: NDArray[Any]) -> str:
    if isinstance(loss, CrossEntropy):
        return "xent_labels" if y.ndim == 1 else "xent_probs"
    if isinstance(loss, SquaredError):
        return "squared_error"
    if isinstance(loss, MSE):
        return "mse"
    return "binary_xent"


def plan_inputs(model: _LayerStack, X: NDArray[Any]) -> NDArray[Any]:
    """X as the plan reads it: (n, features) rows in the model's dtype (indices for an
    Embedding first layer become floats, exact below 2**24 in float32, which that
    layer's plan_steps requires), or float32 rows left as they are for a float64 model
    (the plan widens each row it reads: no float64 copy of the data)."""
    X2 = X.reshape(X.shape[0], -1)
    if X2.dtype == model.dtype or (X2.dtype == np.float32 and model.dtype == np.float64
                                   and X2.flags.c_contiguous):
        return X2
    return X2.astype(model.dtype)


def plan_targets(model: _LayerStack, y: NDArray[Any], n: int) -> NDArray[Any]:
    """y as the plan reads it: intp labels, or a C-contiguous (n, outputs) float array."""
    if isinstance(model.loss, CrossEntropy) and y.ndim == 1:
        return np.ascontiguousarray(y, dtype=np.intp)
    return np.ascontiguousarray(y, dtype=model.dtype).reshape(n, -1)


def build_plan(model: _Training, X: NDArray[Any], y: NDArray[Any], batch_size: int,
               sample_weight: NDArray[Any] | None) -> TrainingPlan:
    assert model.optimizer is not None and model.loss is not None  # set by fit
    cfg, states = _optimizer(model.optimizer)
    steps = _steps(model)
    plan = TrainingPlan(
        steps,
        loss=_loss_kind(model.loss, y),
        fold_last=model._fold is not None,
        batch_size=min(batch_size, max(1, X.shape[0])),
        in_dim=int(np.prod(X.shape[1:])),
        dtype=model.dtype,
        optimizer=cfg,
        params=list(model._train_params),
        grads=list(model._train_grads),
        states=states,
        has_weights=sample_weight is not None,
        accuracy=(0 if not model._track_accuracy else 1 if model._task == "multiclass" else 2),
        threshold=float(getattr(model, "_threshold", 0.5) or 0.0),
        stop_on_nonfinite=model._on_nonfinite == "raise",
        pooled_conv=POOLED_CONV.get(),  # fastnn.config_context(pooled_conv=...)
    )
    plan.dropout_layers = [s["layer"] for s in steps if s["kind"] == "dropout"]
    return plan


def run_epoch(model: _Training, plan: TrainingPlan, X: NDArray[Any], y: NDArray[Any],
              perm: NDArray[np.intp] | None, batch_size: int,
              sample_weight: NDArray[Any] | None,
              check_rows: bool = False) -> tuple[float, int, float | None]:
    """One epoch through the plan; returns what Sequential._run_epoch returns.
    check_rows: the plan checks each row of X for NaN/inf as it gathers it, and raises
    errors.NonFiniteInputError at the first bad one (see TrainingPlan.train)."""
    assert model.optimizer is not None  # set by fit
    n = X.shape[0]
    X2 = plan_inputs(model, X)
    perm = np.arange(n, dtype=np.intp) if perm is None else np.ascontiguousarray(perm, np.intp)
    sw = None if sample_weight is None else np.ascontiguousarray(sample_weight, model.dtype)
    plan.lr = model.optimizer.lr  # schedules change lr between epochs
    plan.weight_decay = getattr(model.optimizer, "weight_decay", 0.0)
    plan.clip = (model.optimizer.clipnorm, model.optimizer.clipvalue)
    n_batches = -(-n // batch_size)
    report = model._progress
    hooks = model._batch_hooks
    # one native call per epoch; one per batch for batch hooks (the plan adds each
    # batch's loss, rows and correct count to zeros in batch order, as this loop does:
    # the same sums), about _PROGRESS_CALLS for a progress bar. Weights are the same.
    chunk = (1 if hooks is not None else n_batches if report is None
             else max(1, -(-n_batches // _PROGRESS_CALLS)))
    loss_sum, correct, seen = 0.0, 0.0, 0
    try:
        for first in range(0, n_batches, chunk):
            if hooks is not None:
                hooks.begin(first)
                plan.lr = model.optimizer.lr  # a batch hook may have changed it
            ls, c, s, bad = plan.train(X2, y, sw, perm, first, min(n_batches, first + chunk),
                                       check_rows=check_rows)
            loss_sum, correct, seen = loss_sum + ls, correct + c, seen + s
            if bad:
                loss_sum = math.nan
                if plan.stop_on_nonfinite:
                    break
            if report is not None:
                report(s)
            if hooks is not None:
                _sync(model, plan)  # the hooks see the model as it is now
                if hooks.end(first, ls, c if model._track_accuracy else None, s):
                    break
    finally:
        _sync(model, plan)
    return loss_sum, seen, (correct if model._track_accuracy else None)


def _sync(model: _Training, plan: TrainingPlan) -> None:
    """The plan advanced these in C; hand them back to the Python objects."""
    assert model.optimizer is not None  # set by fit
    model.optimizer.iterations = plan.iterations
    for layer, offset in zip(plan.dropout_layers, plan.dropout_offsets()):
        layer.offset = offset


def inference_plan(model: _LayerStack, batch_size: int) -> TrainingPlan | None:
    """A plan for predict(): the model's steps and buffers, no loss or optimizer work.
    None when a layer has no native step (predict then uses the layers)."""
    if _layers_unsupported(model) is not None:
        return None
    assert model.input_shape is not None  # built
    in_dim = int(np.prod(model.input_shape))
    return TrainingPlan(_steps(model), loss="mse", fold_last=False, batch_size=batch_size,
                        in_dim=in_dim, dtype=model.dtype, optimizer={"kind": "sgd"},
                        params=[], grads=[], states=[])
