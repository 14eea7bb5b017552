"""Optimizers: classes over the in-place update kernels (fastnn.ops by default).

    SGD(lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0)
        (every optimizer also takes decay_biases=True: False leaves biases out of
        weight_decay, as scikit-learn's alpha and most textbooks do; and clipvalue=None,
        clipnorm=None: gradient clipping before each update, see Optimizer)
    Adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False)
    AdamW(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2, amsgrad=False)
    RMSprop(lr=1e-2, rho=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0)

Shared API: ``lr`` (mutable: learning-rate schedules change it), ``iterations`` (updates
done; Adam's bias-correction step is ``iterations + 1``), ``setup(params)`` (allocates
``state`` once: a list, aligned with ``params``, of dicts of arrays), ``update(params,
grads)``, ``get_config()`` / ``from_config()``, ``get_state()`` / ``set_state()``.

State keys per parameter: SGD {"velocity"} with momentum; Adam/AdamW {"m", "v"} and
{"v_max"} with amsgrad; RMSprop {"square_avg"}, {"velocity"} with momentum, {"grad_avg"}
when centered. The fused native training loop reads and updates ``state``, ``lr`` and
``iterations`` in place, so these names are part of the contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import ops as _native
from ._pickling import Picklable
from ._validation import integer, scalar

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "OPTIMIZERS", "get_optimizer",
           "optimizer_from_config"]


class Optimizer(Picklable):
    """Base class of the optimizers.

    Gradient clipping, applied to the gradients of each step before the update (and
    before weight decay is added to them), in this order:

    ``clipvalue``: every gradient element is clamped to ``[-clipvalue, clipvalue]``
    (``torch.nn.utils.clip_grad_value_``); then ``clipnorm``: when the global L2 norm over
    all trainable gradients of the step exceeds it, every gradient is scaled by
    ``clipnorm / (norm + 1e-6)`` (``torch.nn.utils.clip_grad_norm_``, ``fastnn.ops.
    clip_grad_norm``). Both at once is PyTorch's ``clip_grad_value_`` followed by
    ``clip_grad_norm_``. Keras differs: its ``clipnorm`` is per variable (this one is
    global, Keras' ``global_clipnorm``), and Keras allows only one of the options.
    Clipping modifies the gradient arrays in place.
    """

    name: str | None = None
    _ops: ModuleType = _native
    weight_decay: float  # set by every subclass
    state: list[dict[str, NDArray[Any]]] | None
    decay: list[bool] | None

    def __init__(self, lr: float, decay_biases: bool = True, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        self.lr = scalar("lr", lr, lo=0.0)
        self.decay_biases = bool(decay_biases)
        self.clipnorm = None if clipnorm is None else \
            scalar("clipnorm", clipnorm, lo=0.0, lo_open=True)
        self.clipvalue = None if clipvalue is None else \
            scalar("clipvalue", clipvalue, lo=0.0, lo_open=True)
        self.iterations = 0
        self.state = None
        self.decay = None  # per parameter: does weight decay apply? (set by setup)

    # ------------------------------------------------------------------ state

    def state_keys(self) -> tuple[str, ...]:
        """The names of the state arrays kept per parameter (a tuple)."""
        return ()

    def setup(self, params: Iterable[NDArray[Any]],
              is_bias: Iterable[bool] | None = None) -> None:
        """Allocate the state for ``params`` (zeros), once. A second call with params of
        the same shapes and dtypes keeps the state (so training can continue).
        ``is_bias``: per param, whether it is a bias, which ``weight_decay`` leaves alone
        when the optimizer was made with ``decay_biases=False``."""
        params = list(params)
        is_bias = [False] * len(params) if is_bias is None else [bool(b) for b in is_bias]
        if len(is_bias) != len(params):
            raise ValueError(f"is_bias has {len(is_bias)} entries for {len(params)} params")
        self.decay = [self.decay_biases or not b for b in is_bias]
        if self.state is not None:
            self._check_aligned(params)
            return
        keys = self.state_keys()
        self.state = [{k: np.zeros_like(p) for k in keys} for p in params]

    def _check_aligned(self, params: Sequence[NDArray[Any]]) -> None:
        assert self.state is not None  # only called once state is allocated
        keys = set(self.state_keys())
        ok = len(self.state) == len(params) and all(
            set(s) == keys and all(s[k].shape == p.shape and s[k].dtype == p.dtype for k in keys)
            for s, p in zip(self.state, params)
        )
        if not ok:
            shapes = ", ".join(f"{tuple(p.shape)} {p.dtype}" for p in params[:6])
            raise ValueError(
                f"this {type(self).__name__} holds state for {len(self.state)} parameter(s) "
                f"that do not match the {len(params)} parameter(s) it is asked to update "
                f"({shapes}{', ...' if len(params) > 6 else ''}); use a new optimizer (or call "
                "reset()) for a different model or a different set of trainable layers"
            )

    def reset(self) -> None:
        """Forget the state and the iteration count."""
        self.state = None
        self.iterations = 0

    def get_state(self) -> dict[str, Any]:
        """``{"iterations": int, "state": [ {key: array copy} per param ]}``."""
        return {
            "iterations": self.iterations,
            "state": None if self.state is None
            else [{k: a.copy() for k, a in s.items()} for s in self.state],
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``get_state`` returned (arrays are copied into the existing state
        when shapes match, so references held by a native plan stay valid)."""
        self.iterations = integer("iterations", state["iterations"], lo=0)
        new = state["state"]
        if new is None:
            self.state = None
            return
        keys = set(self.state_keys())
        for i, s in enumerate(new):
            if set(s) != keys:
                raise ValueError(
                    f"state[{i}] has keys {sorted(s)}, but {type(self).__name__} with this "
                    f"configuration keeps {sorted(keys)}"
                )
        if self.state is not None and len(self.state) == len(new) and all(
            s[k].shape == n[k].shape and s[k].dtype == n[k].dtype
            for s, n in zip(self.state, new) for k in keys
        ):
            for s, n in zip(self.state, new):
                for k in keys:
                    s[k][...] = n[k]
        else:
            self.state = [{k: np.array(n[k], copy=True, order="C") for k in self.state_keys()}
                          for n in new]

    # ------------------------------------------------------------------ update

    def update(self, params: Sequence[NDArray[Any]], grads: Sequence[NDArray[Any]]) -> None:
        """One step: update every param in place from its grad, then iterations += 1."""
        if self.state is None:
            self.setup(params)
        assert self.state is not None  # setup allocated it
        if len(params) != len(self.state) or len(grads) != len(params):
            raise ValueError(
                f"update got {len(params)} params and {len(grads)} grads, but the optimizer "
                f"holds state for {len(self.state)}"
            )
        self.clip(grads)
        decay = self.decay if self.decay and len(self.decay) == len(params) \
            else [True] * len(params)
        for p, g, s, d in zip(params, grads, self.state, decay):
            self._update_one(p, g, s, self.weight_decay if d else 0.0)
        self.iterations += 1

    def clip(self, grads: Sequence[NDArray[Any]]) -> float | None:
        """Clip ``grads`` in place as ``update`` does (clipvalue, then clipnorm); returns
        the global norm before the norm clipping (None without clipnorm)."""
        if self.clipvalue is not None:
            v = self.clipvalue
            for g in grads:
                # exact in either dtype, so both backends and the fused plan agree
                np.clip(g, -v, v, out=g)
        if self.clipnorm is not None and grads:
            return float(self._ops.clip_grad_norm(list(grads), self.clipnorm))
        return None

    def _update_one(self, param: NDArray[Any], grad: NDArray[Any],
                    state: dict[str, NDArray[Any]], weight_decay: float) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        cfg = {"class": type(self).__name__, "lr": float(self.lr)}
        if not self.decay_biases:
            cfg["decay_biases"] = False
        if self.clipnorm is not None:
            cfg["clipnorm"] = self.clipnorm
        if self.clipvalue is not None:
            cfg["clipvalue"] = self.clipvalue
        return cfg

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Optimizer:
        cfg = dict(cfg)
        cls_name = cfg.pop("class", cls.__name__)
        if cls_name != cls.__name__:
            raise ValueError(f"config is for {cls_name}, not {cls.__name__}")
        return cls(**cfg)

    def __repr__(self) -> str:
        cfg = self.get_config()
        del cfg["class"]
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (``v = momentum * v + g``),
    Nesterov look-ahead and L2 weight decay (PyTorch conventions)."""

    name = "sgd"

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, decay_biases: bool = True,
                 clipnorm: float | None = None, clipvalue: float | None = None) -> None:
        super().__init__(lr, decay_biases, clipnorm, clipvalue)
        self.momentum = scalar("momentum", momentum, lo=0.0, hi=1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.weight_decay = scalar("weight_decay", weight_decay, lo=0.0)

    def state_keys(self) -> tuple[str, ...]:
        return ("velocity",) if self.momentum else ()

    def _update_one(self, param: NDArray[Any], grad: NDArray[Any],
                    state: dict[str, NDArray[Any]], weight_decay: float) -> None:
        self._ops.sgd_update(param, grad, state.get("velocity"), lr=self.lr,
                             momentum=self.momentum, nesterov=self.nesterov,
                             weight_decay=weight_decay)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam with bias correction; ``amsgrad`` keeps the running maximum of v. Weight decay
    here is L2 (added to the gradient); see AdamW for the decoupled form."""

    name = "adam"
    _kernel = "adam_update"

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 decay_biases: bool = True, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(lr, decay_biases, clipnorm, clipvalue)
        self.beta1 = scalar("beta1", beta1, lo=0.0, hi=1.0, hi_open=True)
        self.beta2 = scalar("beta2", beta2, lo=0.0, hi=1.0, hi_open=True)
        self.eps = scalar("eps", eps, lo=0.0)
        self.weight_decay = scalar("weight_decay", weight_decay, lo=0.0)
        self.amsgrad = bool(amsgrad)

    def state_keys(self) -> tuple[str, ...]:
        return ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    def _update_one(self, param: NDArray[Any], grad: NDArray[Any],
                    state: dict[str, NDArray[Any]], weight_decay: float) -> None:
        getattr(self._ops, self._kernel)(
            param, grad, state["m"], state["v"], step=self.iterations + 1, lr=self.lr,
            beta1=self.beta1, beta2=self.beta2, eps=self.eps, weight_decay=weight_decay,
            amsgrad=self.amsgrad, v_max=state.get("v_max"),
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps, "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``param *= 1 - lr * weight_decay`` each step."""

    name = "adamw"
    _kernel = "adamw_update"

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 decay_biases: bool = True, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(lr, beta1, beta2, eps, weight_decay, amsgrad, decay_biases,
                         clipnorm, clipvalue)


class RMSprop(Optimizer):
    """RMSprop: ``param -= lr * g / (sqrt(E[g^2]) + eps)``; optionally centered
    (subtracting E[g]^2) and with momentum on the scaled step (PyTorch conventions)."""

    name = "rmsprop"

    def __init__(self, lr: float = 1e-2, rho: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0, centered: bool = False, weight_decay: float = 0.0,
                 decay_biases: bool = True, clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(lr, decay_biases, clipnorm, clipvalue)
        self.rho = scalar("rho", rho, lo=0.0, hi=1.0, hi_open=True)
        self.eps = scalar("eps", eps, lo=0.0)
        self.momentum = scalar("momentum", momentum, lo=0.0, hi=1.0)
        self.centered = bool(centered)
        self.weight_decay = scalar("weight_decay", weight_decay, lo=0.0)

    def state_keys(self) -> tuple[str, ...]:
        keys: tuple[str, ...] = ("square_avg",)
        if self.momentum:
            keys += ("velocity",)
        if self.centered:
            keys += ("grad_avg",)
        return keys

    def _update_one(self, param: NDArray[Any], grad: NDArray[Any],
                    state: dict[str, NDArray[Any]], weight_decay: float) -> None:
        self._ops.rmsprop_update(
            param, grad, state["square_avg"], lr=self.lr, rho=self.rho, eps=self.eps,
            weight_decay=weight_decay, momentum=self.momentum,
            velocity=state.get("velocity"), centered=self.centered,
            grad_avg=state.get("grad_avg"),
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "eps": self.eps,
                "momentum": self.momentum, "centered": self.centered,
                "weight_decay": self.weight_decay}


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop)}
_BY_CLASS = {cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop)}


def get_optimizer(optimizer: str | Optimizer) -> Optimizer:
    """An Optimizer from a name in ``OPTIMIZERS`` (with default hyperparameters), or an
    Optimizer instance returned as is."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        cls = OPTIMIZERS.get(optimizer.lower())
        if cls is None:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; valid names: {', '.join(OPTIMIZERS)}"
            )
        return cls()
    raise TypeError(
        f"optimizer must be a name or a fastnn Optimizer, got {type(optimizer).__name__}"
    )


def optimizer_from_config(cfg: object) -> Optimizer:
    """An optimizer from ``get_config()`` output; only fastnn's own classes are known."""
    if not isinstance(cfg, dict):
        raise TypeError(f"an optimizer config must be a dict, got {type(cfg).__name__}")
    cls = _BY_CLASS.get(cfg["class"]) if isinstance(cfg.get("class"), str) else None
    if cls is None:
        raise ValueError(
            f"unknown optimizer class {cfg.get('class')!r}; known: {', '.join(_BY_CLASS)}"
        )
    return cls.from_config(cfg)
