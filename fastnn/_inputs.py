"""Argument checks for every op, shared by the two twins.

Each function takes the twin's `Checks` object (which knows how to scan for NaN/inf)
and the op's arguments, and returns them validated, with outputs allocated. Both
fastnn.ops and fastnn.reference call these, so the twins accept and reject exactly
the same inputs with the same messages.
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import Checks, _shape_str, integer, scalar


def _disjoint(writes: Iterable[tuple[str, NDArray[Any] | None]],
              reads: Iterable[tuple[str, NDArray[Any] | None]] = (),
              in_place: Collection[tuple[str, str]] = ()) -> None:
    """ValueError when an array the op writes shares memory with another of its arrays:
    the kernels (native and numpy alike) read and write in an order of their own, so the
    result would depend on it. ``writes``, ``reads``: (name, array) pairs, None arrays
    skipped. ``in_place``: (written, read) name pairs that may be the very same array --
    the same memory, shape and strides -- where the op is elementwise and both twins
    compute in place correctly."""
    written = [(n, a) for n, a in writes if a is not None]
    every = written + [(n, a) for n, a in reads if a is not None]
    for i, (wn, w) in enumerate(written):
        for rn, r in every[i + 1:]:
            if not np.may_share_memory(w, r):
                continue
            if (wn, rn) in in_place and w.shape == r.shape and w.strides == r.strides and \
                    w.__array_interface__["data"][0] == r.__array_interface__["data"][0]:
                continue
            raise ValueError(f"{wn} must not share memory with {rn}")


# ---------------------------------------------------------------------------- GEMM


def gemm_inputs(V: Checks, a: NDArray[Any], b: NDArray[Any], trans_a: bool, trans_b: bool,
                alpha: float, beta: float, out: NDArray[Any] | None
                ) -> tuple[NDArray[Any], NDArray[Any], float, float, NDArray[Any]]:
    a = V.float_array("a", a, ndim=2)
    b = V.float_array("b", b, ndim=2)
    V.same_dtype("a", a, b=b)
    alpha = scalar("alpha", alpha)
    beta = scalar("beta", beta)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k2, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k2:
        raise ValueError(
            f"inner dimensions differ: op(a) has shape ({m}, {k}) and op(b) has shape ({k2}, {n})"
        )
    if beta != 0.0 and out is None:
        raise ValueError("beta != 0 scales the existing contents of out, so out must be given")
    out = V.output("out", out, (m, n), a.dtype)
    if beta != 0.0:
        V.float_array("out", out)
    _disjoint([("out", out)], [("a", a), ("b", b)])
    return a, b, alpha, beta, out


# ----------------------------------------------------------------------- recurrent

# Recurrent cells (src_c/recurrent.h) and their gate counts; the order is the C enum's.
CELLS = {"tanh": 1, "relu": 1, "gru": 3, "lstm": 4}

# What recurrent_forward keeps for recurrent_backward, time-major: the activated gates
# (T, N, G*H), the state after each step (T, N, H) and GRU's h W_hn^T + b_hn or LSTM's
# cell state (T, N, H; None for the simple cells).
RecurrentCache = namedtuple("RecurrentCache", ["gates", "hs", "aux"])


def _cell(cell: object) -> str:
    if not isinstance(cell, str) or cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
    return cell


def _lengths(lengths: ArrayLike | None, n: int, t: int) -> NDArray[np.int64] | None:
    """Per-sample sequence lengths (N,) in [0, T] as int64, or None (all T steps)."""
    if lengths is None:
        return None
    a = np.asarray(lengths)
    if a.dtype.kind not in "iu":
        raise TypeError(f"lengths must hold integers, got dtype {a.dtype}")
    if a.shape != (n,):
        raise ValueError(f"lengths must have shape ({n},), got {_shape_str(a.shape)}")
    if n and (int(a.min()) < 0 or int(a.max()) > t):
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise ValueError(f"lengths has {bad}, outside [0, {t}] for sequences of {t} steps")
    return np.ascontiguousarray(a, dtype=np.int64)


def _recurrent_weights(V: Checks, x: NDArray[Any], weight_ih: NDArray[Any],
                       weight_hh: NDArray[Any], cell: str) -> tuple[int, int, int, int, int]:
    """(n, t, f, h, g) from x (N, T, F), weight_ih (G*H, F) and weight_hh (G*H, H)."""
    n, t, f = x.shape
    if t == 0 or f == 0:
        raise ValueError(f"x must have at least one time step and one feature, got shape "
                         f"{_shape_str(x.shape)}")
    g = CELLS[cell]
    weight_ih = V.float_array("weight_ih", weight_ih, ndim=2)
    weight_hh = V.float_array("weight_hh", weight_hh, ndim=2)
    V.same_dtype("x", x, weight_ih=weight_ih, weight_hh=weight_hh)
    gh, h = weight_hh.shape
    if h == 0 or gh != g * h:
        raise ValueError(f"weight_hh must have shape ({g} * hidden, hidden) with hidden >= 1 "
                         f"for cell {cell!r}, got {_shape_str(weight_hh.shape)}")
    if weight_ih.shape != (gh, f):
        raise ValueError(f"weight_ih must have shape ({gh}, {f}) (gates * hidden, features of "
                         f"x), got {_shape_str(weight_ih.shape)}")
    return n, t, f, h, g


def _state(V: Checks, name: str, a: NDArray[Any] | None, x: NDArray[Any], n: int,
           h: int) -> NDArray[Any] | None:
    if a is None:
        return None
    a = V.float_array(name, a, ndim=2)
    V.same_dtype("x", x, **{name: a})
    V.shape_is(name, a, (n, h))
    return a


def recurrent_inputs(V: Checks, x: NDArray[Any], weight_ih: NDArray[Any],
                     weight_hh: NDArray[Any], bias_ih: NDArray[Any] | None,
                     bias_hh: NDArray[Any] | None, h0: NDArray[Any] | None,
                     c0: NDArray[Any] | None, cell: str, lengths: ArrayLike | None
                     ) -> tuple[NDArray[Any], tuple[int, int, int, int, int],
                                NDArray[Any] | None, NDArray[Any] | None,
                                NDArray[Any] | None, NDArray[Any] | None, str,
                                NDArray[np.int64] | None]:
    cell = _cell(cell)
    x = V.float_array("x", x, ndim=3)
    n, t, f, h, g = _recurrent_weights(V, x, weight_ih, weight_hh, cell)
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None:
            V.float_array(name, b, ndim=1)
            V.same_dtype("x", x, **{name: b})
            V.shape_is(name, b, (g * h,))
    h0 = _state(V, "h0", h0, x, n, h)
    if c0 is not None and cell != "lstm":
        raise ValueError(f"c0 is the cell state of an LSTM; cell {cell!r} has none")
    c0 = _state(V, "c0", c0, x, n, h)
    return (x, (n, t, f, h, g), bias_ih, bias_hh, h0, c0, cell, _lengths(lengths, n, t))


def recurrent_backward_inputs(V: Checks, dy: NDArray[Any] | None, dh_n: NDArray[Any] | None,
                              dc_n: NDArray[Any] | None, x: NDArray[Any],
                              weight_ih: NDArray[Any], weight_hh: NDArray[Any],
                              cache: Sequence[NDArray[Any] | None], h0: NDArray[Any] | None,
                              c0: NDArray[Any] | None, cell: str, lengths: ArrayLike | None
                              ) -> tuple[NDArray[Any] | None, NDArray[Any] | None,
                                         NDArray[Any] | None, NDArray[Any],
                                         tuple[int, int, int, int, int], Any,
                                         NDArray[Any] | None, NDArray[Any] | None, str,
                                         NDArray[np.int64] | None]:
    cell = _cell(cell)
    x = V.float_array("x", x, ndim=3)
    n, t, f, h, g = _recurrent_weights(V, x, weight_ih, weight_hh, cell)
    if dy is not None:
        dy = V.float_array("dy", dy, ndim=3)
        V.same_dtype("x", x, dy=dy)
        V.shape_is("dy", dy, (n, t, h))
    dh_n = _state(V, "dh_n", dh_n, x, n, h)
    if dc_n is not None and cell != "lstm":
        raise ValueError(f"dc_n is the gradient of an LSTM's cell state; cell {cell!r} has none")
    dc_n = _state(V, "dc_n", dc_n, x, n, h)
    if dy is None and dh_n is None and dc_n is None:
        raise ValueError("recurrent_backward needs a gradient: dy, dh_n or dc_n")
    if not isinstance(cache, tuple) or len(cache) != 3:
        raise TypeError("cache must be the cache recurrent_forward returned")
    gates, hs, aux = cache
    gates = V.float_array("cache.gates", gates, ndim=3, finite=False)
    hs = V.float_array("cache.hs", hs, ndim=3, finite=False)
    V.same_dtype("x", x, gates=gates, hs=hs)
    V.shape_is("cache.gates", gates, (t, n, g * h))
    V.shape_is("cache.hs", hs, (t, n, h))
    if (aux is None) != (g == 1):
        raise ValueError(f"cache.aux does not match cell {cell!r}")
    if aux is not None:
        aux = V.float_array("cache.aux", aux, ndim=3, finite=False)
        V.same_dtype("x", x, aux=aux)
        V.shape_is("cache.aux", aux, (t, n, h))
    h0 = _state(V, "h0", h0, x, n, h)
    if c0 is not None and cell != "lstm":
        raise ValueError(f"c0 is the cell state of an LSTM; cell {cell!r} has none")
    c0 = _state(V, "c0", c0, x, n, h)
    return (dy, dh_n, dc_n, x, (n, t, f, h, g), RecurrentCache(gates, hs, aux), h0, c0, cell,
            _lengths(lengths, n, t))


# --------------------------------------------------------------------------- dense


def _check_inner(x: NDArray[Any], w: NDArray[Any]) -> None:
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features per row but w has shape {tuple(w.shape)} "
            f"(expected ({x.shape[1]}, units))"
        )


def dense_forward_inputs(V: Checks, x: NDArray[Any], w: NDArray[Any], b: NDArray[Any] | None,
                         out: NDArray[Any] | None
                         ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None, NDArray[Any]]:
    x = V.float_array("x", x, ndim=2)
    w = V.float_array("w", w, ndim=2)
    V.same_dtype("x", x, w=w)
    _check_inner(x, w)
    if b is not None:
        b = V.float_array("b", b, ndim=1)
        V.same_dtype("x", x, b=b)
        V.shape_is("b", b, (w.shape[1],))
    out = V.output("out", out, (x.shape[0], w.shape[1]), x.dtype)
    _disjoint([("out", out)], [("x", x), ("w", w), ("b", b)])
    return x, w, b, out


def dense_backward_inputs(V: Checks, x: NDArray[Any], w: NDArray[Any], dy: NDArray[Any],
                          dx: NDArray[Any] | None, dw: NDArray[Any] | None,
                          db: NDArray[Any] | None, compute_dx: bool, compute_db: bool,
                          accumulate: bool
                          ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any],
                                     NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]:
    x = V.float_array("x", x, ndim=2)
    w = V.float_array("w", w, ndim=2)
    V.same_dtype("x", x, w=w)
    _check_inner(x, w)
    dy = V.float_array("dy", dy, ndim=2)
    V.same_dtype("x", x, dy=dy)
    V.shape_is("dy", dy, (x.shape[0], w.shape[1]))
    if accumulate and (dw is None or (compute_db and db is None)):
        raise ValueError("accumulate=True adds into dw (and db): pass them")
    dw = V.output("dw", dw, w.shape, x.dtype)
    db = V.output("db", db, (w.shape[1],), x.dtype) if compute_db else None
    dx = V.output("dx", dx, x.shape, x.dtype) if compute_dx else None
    if accumulate:
        V.float_array("dw", dw)
        if db is not None:
            V.float_array("db", db)
    _disjoint([("dx", dx), ("dw", dw), ("db", db)], [("x", x), ("w", w), ("dy", dy)])
    return x, w, dy, dx, dw, db


# --------------------------------------------------------------------- activations


def activation_inputs(V: Checks, x: NDArray[Any], out: NDArray[Any] | None,
                      rows: bool = False) -> tuple[NDArray[Any], NDArray[Any]]:
    """Elementwise activations take any shape; row-wise ones (softmax) need ndim >= 1."""
    x = V.float_array("x", x)
    if rows and (x.ndim == 0 or x.shape[-1] == 0):
        raise ValueError(f"x must have a non-empty last axis, got shape {tuple(x.shape)}")
    out = V.output("out", out, x.shape, x.dtype)
    _disjoint([("out", out)], [("x", x)], in_place={("out", "x")})
    return x, out


def activation_backward_inputs(V: Checks, dy: NDArray[Any], x: NDArray[Any], y: NDArray[Any],
                               out: NDArray[Any] | None, rows: bool = False
                               ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any],
                                          NDArray[Any]]:
    dy = V.float_array("dy", dy)
    x = V.float_array("x", x)
    y = V.float_array("y", y)
    V.same_dtype("dy", dy, x=x, y=y)
    V.shape_is("x", x, dy.shape)
    V.shape_is("y", y, dy.shape)
    if rows and (dy.ndim == 0 or dy.shape[-1] == 0):
        raise ValueError(f"dy must have a non-empty last axis, got shape {tuple(dy.shape)}")
    out = V.output("out", out, dy.shape, dy.dtype)
    _disjoint([("out", out)], [("dy", dy), ("x", x), ("y", y)],
              in_place={("out", "dy"), ("out", "x"), ("out", "y")})
    return dy, x, y, out


def alpha_input(alpha: float) -> float:
    return scalar("alpha", alpha)


# -------------------------------------------------------------------------- losses


def _loss_common(V: Checks, pred_name: str, pred: NDArray[Any], sample_weight: ArrayLike | None,
                 grad: NDArray[Any] | None, return_grad: bool, ndim: int | tuple[int, ...]
                 ) -> tuple[NDArray[Any], NDArray[Any] | None, NDArray[Any] | None]:
    pred = V.float_array(pred_name, pred, ndim=ndim)
    V.nonempty(pred_name, pred)
    sw = V.sample_weight(sample_weight, pred.shape[0], pred.dtype)
    grad = V.output("grad", grad, pred.shape, pred.dtype) if return_grad else None
    return pred, sw, grad


def mse_inputs(V: Checks, pred: NDArray[Any], target: NDArray[Any],
               sample_weight: ArrayLike | None, grad: NDArray[Any] | None, return_grad: bool
               ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None, NDArray[Any] | None]:
    pred, sw, grad = _loss_common(V, "pred", pred, sample_weight, grad, return_grad, (1, 2))
    target = V.float_array("target", target)
    V.same_dtype("pred", pred, target=target)
    V.shape_is("target", target, pred.shape)
    _disjoint([("grad", grad)], [("pred", pred), ("target", target), ("sample_weight", sw)],
              in_place={("grad", "pred")})
    return pred, target, sw, grad


def softmax_cross_entropy_inputs(V: Checks, logits: NDArray[Any], target: NDArray[Any],
                                 sample_weight: ArrayLike | None, grad: NDArray[Any] | None,
                                 return_grad: bool
                                 ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None,
                                            NDArray[Any] | None]:
    """`target` is either integer labels (n,) or float class probabilities (n, classes)."""
    logits, sw, grad = _loss_common(V, "logits", logits, sample_weight, grad, return_grad, 2)
    n, c = logits.shape
    if c == 0:
        raise ValueError("logits must have at least one class column")
    if isinstance(target, np.ndarray) and target.dtype.kind in "iu":
        target = V.labels("target", target, n, c)
        _disjoint([("grad", grad)], [("logits", logits), ("sample_weight", sw)])
        return logits, target, sw, grad
    if isinstance(target, np.ndarray) and target.dtype.kind == "b":
        raise TypeError("target must hold integer labels or float probabilities, got dtype bool")
    target = V.float_array("target", target, ndim=2)
    V.same_dtype("logits", logits, target=target)
    V.shape_is("target", target, logits.shape)
    if target.min() < 0:
        raise ValueError("target probabilities must be >= 0")
    _disjoint([("grad", grad)], [("logits", logits), ("target", target), ("sample_weight", sw)])
    return logits, target, sw, grad


def binary_cross_entropy_inputs(V: Checks, logits: NDArray[Any], target: NDArray[Any],
                                sample_weight: ArrayLike | None, grad: NDArray[Any] | None,
                                return_grad: bool
                                ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None,
                                           NDArray[Any] | None]:
    logits, sw, grad = _loss_common(V, "logits", logits, sample_weight, grad, return_grad, (1, 2))
    target = V.float_array("target", target)
    V.same_dtype("logits", logits, target=target)
    V.shape_is("target", target, logits.shape)
    if target.min() < 0 or target.max() > 1:
        raise ValueError("target values must lie in [0, 1] for binary cross-entropy")
    _disjoint([("grad", grad)], [("logits", logits), ("target", target), ("sample_weight", sw)],
              in_place={("grad", "logits")})
    return logits, target, sw, grad


# ---------------------------------------------------------------------- optimizers


def _param_grad(V: Checks, param: NDArray[Any],
                grad: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    param = V.float_array("param", param, finite=False)
    if not param.flags.writeable:
        raise ValueError("param is read-only")
    grad = V.float_array("grad", grad)
    V.same_dtype("param", param, grad=grad)
    V.shape_is("grad", grad, param.shape)
    return param, grad


def sgd_inputs(V: Checks, param: NDArray[Any], grad: NDArray[Any], velocity: NDArray[Any] | None,
               lr: float, momentum: float, weight_decay: float
               ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None, float, float, float]:
    param, grad = _param_grad(V, param, grad)
    lr = scalar("lr", lr, lo=0.0)
    momentum = scalar("momentum", momentum, lo=0.0, hi=1.0)
    weight_decay = scalar("weight_decay", weight_decay, lo=0.0)
    if momentum != 0.0:
        velocity = V.state("velocity", velocity, param, "param")
    _disjoint([("param", param), ("velocity", velocity if momentum != 0.0 else None)],
              [("grad", grad)])
    return param, grad, velocity, lr, momentum, weight_decay


def adam_inputs(V: Checks, param: NDArray[Any], grad: NDArray[Any], m: NDArray[Any],
                v: NDArray[Any], step: int, lr: float, beta1: float, beta2: float, eps: float,
                weight_decay: float, amsgrad: bool, v_max: NDArray[Any] | None
                ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any], int, float,
                           float, float, float, float, NDArray[Any] | None]:
    param, grad = _param_grad(V, param, grad)
    m = V.state("m", m, param, "param")
    v = V.state("v", v, param, "param")
    step = integer("step", step, lo=1)
    lr = scalar("lr", lr, lo=0.0)
    beta1 = scalar("beta1", beta1, lo=0.0, hi=1.0, hi_open=True)
    beta2 = scalar("beta2", beta2, lo=0.0, hi=1.0, hi_open=True)
    eps = scalar("eps", eps, lo=0.0)
    weight_decay = scalar("weight_decay", weight_decay, lo=0.0)
    if amsgrad:
        v_max = V.state("v_max", v_max, param, "param")
    _disjoint([("param", param), ("m", m), ("v", v), ("v_max", v_max if amsgrad else None)],
              [("grad", grad)])
    return param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, v_max


def rmsprop_inputs(V: Checks, param: NDArray[Any], grad: NDArray[Any], square_avg: NDArray[Any],
                   lr: float, rho: float, eps: float, weight_decay: float, momentum: float,
                   velocity: NDArray[Any] | None, centered: bool, grad_avg: NDArray[Any] | None
                   ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], float, float, float,
                              float, float, NDArray[Any] | None, NDArray[Any] | None]:
    param, grad = _param_grad(V, param, grad)
    square_avg = V.state("square_avg", square_avg, param, "param")
    lr = scalar("lr", lr, lo=0.0)
    rho = scalar("rho", rho, lo=0.0, hi=1.0, hi_open=True)
    eps = scalar("eps", eps, lo=0.0)
    weight_decay = scalar("weight_decay", weight_decay, lo=0.0)
    momentum = scalar("momentum", momentum, lo=0.0, hi=1.0)
    if momentum != 0.0:
        velocity = V.state("velocity", velocity, param, "param")
    if centered:
        grad_avg = V.state("grad_avg", grad_avg, param, "param")
    _disjoint([("param", param), ("square_avg", square_avg),
               ("velocity", velocity if momentum != 0.0 else None),
               ("grad_avg", grad_avg if centered else None)], [("grad", grad)])
    return param, grad, square_avg, lr, rho, eps, weight_decay, momentum, velocity, grad_avg


def clip_grad_norm_inputs(V: Checks, grads: NDArray[Any] | Iterable[NDArray[Any]],
                          max_norm: float) -> tuple[list[NDArray[Any]], float]:
    if isinstance(grads, np.ndarray):
        grads = [grads]
    grads = list(grads)
    for i, g in enumerate(grads):
        V.float_array(f"grads[{i}]", g)
        if not g.flags.writeable:
            raise ValueError(f"grads[{i}] is read-only")
    max_norm = scalar("max_norm", max_norm, lo=0.0, lo_open=True)
    _disjoint([(f"grads[{i}]", g) for i, g in enumerate(grads)])
    return grads, max_norm


# ------------------------------------------------------------------------- dropout


def dropout_inputs(V: Checks, x: NDArray[Any], rate: float, seed: int, offset: int,
                   out: NDArray[Any] | None, mask: NDArray[Any] | None
                   ) -> tuple[NDArray[Any], float, int, int, NDArray[Any], NDArray[Any]]:
    x = V.float_array("x", x)
    rate = scalar("rate", rate, lo=0.0, hi=1.0, hi_open=True)
    seed = integer("seed", seed, lo=0)
    offset = integer("offset", offset, lo=0)
    if seed >= 2**64 or offset >= 2**64:
        raise ValueError("seed and offset must be below 2**64")
    out = V.output("out", out, x.shape, x.dtype)
    mask = V.output("mask", mask, x.shape, x.dtype)
    _disjoint([("out", out), ("mask", mask)], [("x", x)], in_place={("out", "x")})
    return x, rate, seed, offset, out, mask


def dropout_backward_inputs(V: Checks, dy: NDArray[Any], mask: NDArray[Any],
                            out: NDArray[Any] | None
                            ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    dy = V.float_array("dy", dy)
    mask = V.float_array("mask", mask)
    V.same_dtype("dy", dy, mask=mask)
    V.shape_is("mask", mask, dy.shape)
    out = V.output("out", out, dy.shape, dy.dtype)
    _disjoint([("out", out)], [("dy", dy), ("mask", mask)], in_place={("out", "dy")})
    return dy, mask, out


# ---------------------------------------------------------------------------- conv


ConvGeometry = namedtuple(
    "ConvGeometry", "c h w oh ow kh kw sh sw pt pb pl pr dh dw"
)
ConvGeometry.__doc__ = """Normalised geometry of a 2-D convolution (channels first).

c, h, w: input channels, height, width; oh, ow: output height, width; kh, kw: kernel;
sh, sw: stride; pt, pb, pl, pr: zero padding top, bottom, left, right; dh, dw: dilation.
"""


def _is_int(v: object) -> TypeGuard[numbers.Integral]:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _int_pair(name: str, v: object, lo: int) -> tuple[int, int]:
    """An int or a pair (h, w) of ints, each >= lo, as a tuple of two Python ints."""
    if _is_int(v):
        pair = (int(v), int(v))
    elif isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(e) for e in v):
        pair = (int(v[0]), int(v[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair (h, w) of ints, got {v!r}")
    if min(pair) < lo:
        raise ValueError(f"{name} must be >= {lo}, got {pair}")
    return pair


def _padding(v: object) -> tuple[int, ...]:
    """padding p, (ph, pw) or ((top, bottom), (left, right)) -> (pt, pb, pl, pr)."""
    msg = ("padding must be an int, a pair (ph, pw) or a pair of pairs "
           f"((top, bottom), (left, right)) of ints, got {v!r}")
    if _is_int(v):
        pads: tuple[int, ...] = (int(v),) * 4
    elif isinstance(v, (tuple, list)) and len(v) == 2:
        pads = ()
        for side in v:
            if _is_int(side):
                pads += (int(side), int(side))
            elif (isinstance(side, (tuple, list)) and len(side) == 2
                  and all(_is_int(e) for e in side)):
                pads += (int(side[0]), int(side[1]))
            else:
                raise TypeError(msg)
    else:
        raise TypeError(msg)
    if min(pads) < 0:
        raise ValueError(f"padding must be >= 0, got {v!r}")
    return pads


def conv_geometry(x_shape: Sequence[int], kernel_size: int | Sequence[int],
                  stride: int | Sequence[int] = 1, padding: int | Sequence[int | Sequence[int]] = 0,
                  dilation: int | Sequence[int] = 1) -> ConvGeometry:
    """Normalise a 2-D convolution's hyperparameters for an input of shape `x_shape`
    ((N, C, H, W), or (C, H, W) for one sample) and return a ConvGeometry.

    kernel_size, stride, dilation: an int or a pair (h, w), all >= 1. padding: an int,
    a pair (ph, pw) (symmetric), or ((top, bottom), (left, right)); all >= 0.
    Output size: oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1 (likewise ow).
    """
    shape = tuple(x_shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"x must be 4-D (N, C, H, W), got shape {_shape_str(shape)}")
    c, h, w = (int(s) for s in shape[-3:])
    kh, kw = _int_pair("kernel_size", kernel_size, 1)
    sh, sw = _int_pair("stride", stride, 1)
    dh, dw = _int_pair("dilation", dilation, 1)
    pt, pb, pl, pr = _padding(padding)
    hp, wp = h + pt + pb, w + pl + pr
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if span_h > hp or span_w > wp:
        raise ValueError(
            f"kernel ({kh}, {kw}) with dilation ({dh}, {dw}) is larger than the padded input "
            f"({hp}, {wp}) (x has shape {_shape_str(shape)}, padding ({pt}, {pb}, {pl}, {pr}))"
        )
    return ConvGeometry(c, h, w, (hp - span_h) // sh + 1, (wp - span_w) // sw + 1,
                        kh, kw, sh, sw, pt, pb, pl, pr, dh, dw)


def _x_shape(x_shape: Sequence[int]) -> tuple[int, ...]:
    """col2im's target shape: a sequence of 4 non-negative ints."""
    if not isinstance(x_shape, (tuple, list)) or len(x_shape) != 4 or \
            not all(_is_int(s) for s in x_shape):
        raise TypeError(f"x_shape must be a tuple (N, C, H, W) of 4 ints, got {x_shape!r}")
    shape = tuple(int(s) for s in x_shape)
    if min(shape) < 0:
        raise ValueError(f"x_shape must not have negative sizes, got {shape}")
    return shape


def cols_shape(n: int, g: ConvGeometry) -> tuple[int, int]:
    """Shape of im2col's matrix for a batch of n: (C*KH*KW, N*OH*OW)."""
    return (g.c * g.kh * g.kw, n * g.oh * g.ow)


def im2col_inputs(V: Checks, x: NDArray[Any], kernel_size: int | Sequence[int],
                  stride: int | Sequence[int], padding: int | Sequence[int | Sequence[int]],
                  dilation: int | Sequence[int], out: NDArray[Any] | None
                  ) -> tuple[NDArray[Any], ConvGeometry, NDArray[Any]]:
    x = V.float_array("x", x, ndim=4)
    g = conv_geometry(x.shape, kernel_size, stride, padding, dilation)
    out = V.output("out", out, cols_shape(x.shape[0], g), x.dtype)
    _disjoint([("out", out)], [("x", x)])
    return x, g, out


def col2im_inputs(V: Checks, cols: NDArray[Any], x_shape: Sequence[int],
                  kernel_size: int | Sequence[int], stride: int | Sequence[int],
                  padding: int | Sequence[int | Sequence[int]], dilation: int | Sequence[int],
                  out: NDArray[Any] | None
                  ) -> tuple[NDArray[Any], tuple[int, ...], ConvGeometry, NDArray[Any]]:
    cols = V.float_array("cols", cols, ndim=2)
    x_shape = _x_shape(x_shape)
    g = conv_geometry(x_shape, kernel_size, stride, padding, dilation)
    want = cols_shape(x_shape[0], g)
    if cols.shape != want:
        raise ValueError(
            f"cols must have shape {_shape_str(want)} for x_shape {_shape_str(x_shape)} and "
            f"kernel ({g.kh}, {g.kw}) (C*KH*KW, N*OH*OW with OH, OW = {g.oh}, {g.ow}), got "
            f"{_shape_str(cols.shape)}"
        )
    out = V.output("out", out, x_shape, cols.dtype)
    _disjoint([("out", out)], [("cols", cols)])
    return cols, x_shape, g, out


def _conv_xw(V: Checks, x: NDArray[Any], w: NDArray[Any], stride: int | Sequence[int],
             padding: int | Sequence[int | Sequence[int]], dilation: int | Sequence[int]
             ) -> tuple[NDArray[Any], NDArray[Any], ConvGeometry]:
    x = V.float_array("x", x, ndim=4)
    w = V.float_array("w", w, ndim=4)
    V.same_dtype("x", x, w=w)
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} channels but w expects {w.shape[1]} (w has shape "
            f"{_shape_str(w.shape)}: (filters, channels, KH, KW))"
        )
    g = conv_geometry(x.shape, w.shape[2:], stride, padding, dilation)
    return x, w, g


def conv2d_forward_inputs(V: Checks, x: NDArray[Any], w: NDArray[Any], b: NDArray[Any] | None,
                          stride: int | Sequence[int],
                          padding: int | Sequence[int | Sequence[int]],
                          dilation: int | Sequence[int], out: NDArray[Any] | None
                          ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any] | None,
                                     ConvGeometry, NDArray[Any]]:
    x, w, g = _conv_xw(V, x, w, stride, padding, dilation)
    if b is not None:
        b = V.float_array("b", b, ndim=1)
        V.same_dtype("x", x, b=b)
        V.shape_is("b", b, (w.shape[0],))
    out = V.output("out", out, (x.shape[0], w.shape[0], g.oh, g.ow), x.dtype)
    _disjoint([("out", out)], [("x", x), ("w", w), ("b", b)])
    return x, w, b, g, out


def conv2d_backward_inputs(V: Checks, x: NDArray[Any], w: NDArray[Any], dy: NDArray[Any],
                           stride: int | Sequence[int],
                           padding: int | Sequence[int | Sequence[int]],
                           dilation: int | Sequence[int], dx: NDArray[Any] | None,
                           dw: NDArray[Any] | None, db: NDArray[Any] | None, compute_dx: bool,
                           compute_db: bool
                           ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], ConvGeometry,
                                      NDArray[Any] | None, NDArray[Any], NDArray[Any] | None]:
    x, w, g = _conv_xw(V, x, w, stride, padding, dilation)
    dy = V.float_array("dy", dy, ndim=4)
    V.same_dtype("x", x, dy=dy)
    V.shape_is("dy", dy, (x.shape[0], w.shape[0], g.oh, g.ow))
    dw = V.output("dw", dw, w.shape, x.dtype)
    db = V.output("db", db, (w.shape[0],), x.dtype) if compute_db else None
    dx = V.output("dx", dx, x.shape, x.dtype) if compute_dx else None
    _disjoint([("dx", dx), ("dw", dw), ("db", db)], [("x", x), ("w", w), ("dy", dy)])
    return x, w, dy, g, dx, dw, db


# ---- pool / batchnorm / residual


PoolGeometry = namedtuple("PoolGeometry", "n c h w oh ow kh kw sh sw")
PoolGeometry.__doc__ = """Geometry of a 2-D pooling (channels first, no padding).

n, c, h, w: the input shape; oh, ow: output height, width; kh, kw: window; sh, sw: stride.
"""


def pool_geometry(x_shape: Sequence[int], pool_size: int | Sequence[int],
                  stride: int | Sequence[int] | None) -> PoolGeometry:
    """Normalise pool_size / stride (an int or a pair (h, w), all >= 1; stride None means
    pool_size) for an input of shape (N, C, H, W): oh = (h - kh) // sh + 1 (likewise ow)."""
    n, c, h, w = x_shape
    kh, kw = _int_pair("pool_size", pool_size, 1)
    sh, sw = (kh, kw) if stride is None else _int_pair("stride", stride, 1)
    if kh > h or kw > w:
        raise ValueError(f"pool window ({kh}, {kw}) is larger than the input ({h}, {w})")
    return PoolGeometry(n, c, h, w, (h - kh) // sh + 1, (w - kw) // sw + 1, kh, kw, sh, sw)


def pool_forward_inputs(V: Checks, x: NDArray[Any], pool_size: int | Sequence[int],
                        stride: int | Sequence[int] | None, out: NDArray[Any] | None
                        ) -> tuple[NDArray[Any], PoolGeometry, NDArray[Any]]:
    x = V.float_array("x", x, ndim=4)
    g = pool_geometry(x.shape, pool_size, stride)
    out = V.output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype)
    _disjoint([("out", out)], [("x", x)])
    return x, g, out


def maxpool_forward_inputs(V: Checks, x: NDArray[Any], pool_size: int | Sequence[int],
                           stride: int | Sequence[int] | None, out: NDArray[Any] | None,
                           argmax: NDArray[np.intp] | None
                           ) -> tuple[NDArray[Any], PoolGeometry, NDArray[Any], NDArray[np.intp]]:
    x, g, out = pool_forward_inputs(V, x, pool_size, stride, out)
    argmax = V.output("argmax", argmax, out.shape, np.intp)
    _disjoint([("out", out), ("argmax", argmax)], [("x", x)])
    return x, g, out, argmax


def maxpool_backward_inputs(V: Checks, dy: NDArray[Any], argmax: NDArray[np.intp],
                            x_shape: Sequence[int], out: NDArray[Any] | None
                            ) -> tuple[NDArray[Any], NDArray[np.intp], tuple[int, ...],
                                       NDArray[Any]]:
    """argmax: maxpool2d_forward's flat indices h * W + w into each input plane."""
    dy = V.float_array("dy", dy, ndim=4)
    x_shape = _argmax_input(V, dy, argmax, x_shape)
    out = V.output("out", out, x_shape, dy.dtype)
    _disjoint([("out", out)], [("dy", dy), ("argmax", argmax)])
    return dy, argmax, x_shape, out


def _argmax_input(V: Checks, dy: NDArray[Any], argmax: object,
                  x_shape: Sequence[int]) -> tuple[int, ...]:
    """Checks argmax against the pooled gradient dy and the pooling's input shape;
    returns that shape as a tuple."""
    if not isinstance(argmax, np.ndarray):
        raise TypeError(f"argmax must be a numpy.ndarray, got {type(argmax).__name__}")
    if argmax.dtype != np.intp:
        raise TypeError(
            f"argmax must have dtype {np.dtype(np.intp)} (as maxpool2d_forward returns it), "
            f"got {argmax.dtype}"
        )
    V.shape_is("argmax", argmax, dy.shape)
    if not argmax.flags.c_contiguous:
        raise ValueError("argmax must be C-contiguous")
    x_shape = _x_shape(x_shape)
    n, c, h, w = x_shape
    if dy.shape[:2] != (n, c) or dy.shape[2] > h or dy.shape[3] > w:
        raise ValueError(
            f"dy has shape {_shape_str(dy.shape)}, which no pooling of an input of shape "
            f"{_shape_str(x_shape)} produces"
        )
    if argmax.size:
        lo, hi = int(argmax.min()), int(argmax.max())
        if lo < 0 or hi >= h * w:
            raise ValueError(
                f"argmax has index {lo if lo < 0 else hi} outside [0, {h * w}) "
                f"(H * W of x_shape {_shape_str(x_shape)})"
            )
    return x_shape


def conv2d_pooled_backward_inputs(V: Checks, x: NDArray[Any], w: NDArray[Any], dy: NDArray[Any],
                                  argmax: NDArray[np.intp], pool_size: int | Sequence[int],
                                  pool_stride: int | Sequence[int] | None,
                                  stride: int | Sequence[int],
                                  padding: int | Sequence[int | Sequence[int]],
                                  dilation: int | Sequence[int], dw: NDArray[Any] | None,
                                  db: NDArray[Any] | None, compute_db: bool
                                  ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any],
                                             NDArray[np.intp], ConvGeometry, PoolGeometry,
                                             NDArray[Any], NDArray[Any] | None]:
    """A conv whose output goes straight into max pooling: dy and argmax are the
    pooling's gradient and indices (N, F, PH, PW)."""
    x, w, g = _conv_xw(V, x, w, stride, padding, dilation)
    conv_shape = (x.shape[0], w.shape[0], g.oh, g.ow)
    pg = pool_geometry(conv_shape, pool_size, pool_stride)
    dy = V.float_array("dy", dy, ndim=4)
    V.same_dtype("x", x, dy=dy)
    V.shape_is("dy", dy, (x.shape[0], w.shape[0], pg.oh, pg.ow))
    _argmax_input(V, dy, argmax, conv_shape)
    dw = V.output("dw", dw, w.shape, x.dtype)
    db = V.output("db", db, (w.shape[0],), x.dtype) if compute_db else None
    _disjoint([("dw", dw), ("db", db)], [("x", x), ("w", w), ("dy", dy), ("argmax", argmax)])
    return x, w, dy, argmax, g, pg, dw, db


def avgpool_backward_inputs(V: Checks, dy: NDArray[Any], x_shape: Sequence[int],
                            pool_size: int | Sequence[int], stride: int | Sequence[int] | None,
                            out: NDArray[Any] | None
                            ) -> tuple[NDArray[Any], PoolGeometry, NDArray[Any]]:
    dy = V.float_array("dy", dy, ndim=4)
    x_shape = _x_shape(x_shape)
    g = pool_geometry(x_shape, pool_size, stride)
    V.shape_is("dy", dy, (g.n, g.c, g.oh, g.ow))
    out = V.output("out", out, x_shape, dy.dtype)
    _disjoint([("out", out)], [("dy", dy)])
    return dy, g, out


def _spatial_size(name: str, shape: Sequence[int]) -> int:
    """(N, C, *spatial) with at least one spatial axis and no empty one -> the spatial size."""
    if len(shape) < 3:
        raise ValueError(
            f"{name} must have shape (N, C, *spatial) with at least one spatial axis, "
            f"got {_shape_str(shape)}"
        )
    s = 1
    for d in shape[2:]:
        s *= d
    if s == 0:
        raise ValueError(f"{name} has an empty spatial extent: shape {_shape_str(shape)}")
    return s


def global_avgpool_inputs(V: Checks, x: NDArray[Any], out: NDArray[Any] | None
                          ) -> tuple[NDArray[Any], int, NDArray[Any]]:
    x = V.float_array("x", x)
    s = _spatial_size("x", x.shape)
    out = V.output("out", out, x.shape[:2], x.dtype)
    _disjoint([("out", out)], [("x", x)])
    return x, s, out


def global_avgpool_backward_inputs(V: Checks, dy: NDArray[Any], x_shape: Sequence[int],
                                   out: NDArray[Any] | None
                                   ) -> tuple[NDArray[Any], tuple[int, ...], int, NDArray[Any]]:
    dy = V.float_array("dy", dy, ndim=2)
    if not isinstance(x_shape, (tuple, list)) or not all(_is_int(d) for d in x_shape):
        raise TypeError(f"x_shape must be a tuple (N, C, *spatial) of ints, got {x_shape!r}")
    x_shape = tuple(int(d) for d in x_shape)
    if x_shape and min(x_shape) < 0:
        raise ValueError(f"x_shape must not have negative sizes, got {x_shape}")
    s = _spatial_size("x_shape", x_shape)
    V.shape_is("dy", dy, x_shape[:2])
    out = V.output("out", out, x_shape, dy.dtype)
    _disjoint([("out", out)], [("dy", dy)])
    return dy, x_shape, s, out


def time_avgpool_inputs(V: Checks, x: NDArray[Any], out: NDArray[Any] | None
                        ) -> tuple[NDArray[Any], NDArray[Any]]:
    x = V.float_array("x", x, ndim=3)
    if x.shape[1] < 1:
        raise ValueError(f"x must have at least one step: shape (N, T, F) with T >= 1, got "
                         f"{_shape_str(x.shape)}")
    out = V.output("out", out, (x.shape[0], x.shape[2]), x.dtype)
    _disjoint([("out", out)], [("x", x)])
    return x, out


def time_avgpool_backward_inputs(V: Checks, dy: NDArray[Any], steps: int,
                                 out: NDArray[Any] | None
                                 ) -> tuple[NDArray[Any], int, NDArray[Any]]:
    dy = V.float_array("dy", dy, ndim=2)
    steps = integer("steps", steps, lo=1)
    out = V.output("out", out, (dy.shape[0], steps, dy.shape[1]), dy.dtype)
    _disjoint([("out", out)], [("dy", dy)])
    return dy, steps, out


def _channels_first(name: str, a: NDArray[Any]) -> tuple[int, int, int]:
    """(N, C) or (N, C, *spatial) -> (N, C, S) with S the spatial size (1 for 2-D)."""
    if a.ndim < 2:
        raise ValueError(
            f"{name} must have shape (N, C) or (N, C, *spatial), got {_shape_str(a.shape)}"
        )
    s = 1
    for d in a.shape[2:]:
        s *= d
    return a.shape[0], a.shape[1], s


def _per_channel(V: Checks, name: str, a: NDArray[Any] | None, x: NDArray[Any], c: int,
                 finite: bool = True) -> NDArray[Any]:
    a = V.float_array(name, a, ndim=1, finite=finite)
    V.same_dtype("x", x, **{name: a})
    V.shape_is(name, a, (c,))
    return a


def batchnorm_inputs(V: Checks, x: NDArray[Any], gamma: NDArray[Any], beta: NDArray[Any],
                     running_mean: NDArray[Any] | None, running_var: NDArray[Any] | None,
                     momentum: float, eps: float, training: bool, out: NDArray[Any] | None,
                     mean: NDArray[Any] | None, inv_std: NDArray[Any] | None
                     ) -> tuple[NDArray[Any], tuple[int, int, int], NDArray[Any], NDArray[Any],
                                NDArray[Any] | None, NDArray[Any] | None, float, float, bool,
                                NDArray[Any], NDArray[Any], NDArray[Any]]:
    x = V.float_array("x", x)
    n, c, s = _channels_first("x", x)
    gamma = _per_channel(V, "gamma", gamma, x, c)
    beta = _per_channel(V, "beta", beta, x, c)
    momentum = scalar("momentum", momentum, lo=0.0, hi=1.0)
    eps = scalar("eps", eps, lo=0.0, lo_open=True)
    training = bool(training)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var go together: pass both or neither")
    if training:
        if n * s == 0:
            raise ValueError(
                "batch normalization in training needs at least one value per channel "
                f"(N * spatial size >= 1), got x of shape {_shape_str(x.shape)}"
            )
        if running_mean is not None:
            # running statistics are state updated in place, like optimizer state
            running_mean = _per_channel(V, "running_mean", running_mean, x, c, finite=False)
            running_var = _per_channel(V, "running_var", running_var, x, c, finite=False)
            for name, a in (("running_mean", running_mean), ("running_var", running_var)):
                if not a.flags.writeable:
                    raise ValueError(f"{name} is read-only")
    else:
        if running_mean is None:
            raise ValueError(
                "inference (training=False) normalizes with running_mean and running_var: "
                "pass them"
            )
        running_mean = _per_channel(V, "running_mean", running_mean, x, c)
        running_var = _per_channel(V, "running_var", running_var, x, c)
        if running_var.size and running_var.min() < 0:
            raise ValueError("running_var must be >= 0")
    out = V.output("out", out, x.shape, x.dtype)
    mean = V.output("mean", mean, (c,), x.dtype)
    inv_std = V.output("inv_std", inv_std, (c,), x.dtype)
    _disjoint([("out", out), ("mean", mean), ("inv_std", inv_std),
               ("running_mean", running_mean if training else None),
               ("running_var", running_var if training else None)],
              [("x", x), ("gamma", gamma), ("beta", beta),
               ("running_mean", None if training else running_mean),
               ("running_var", None if training else running_var)],
              in_place={("out", "x")})
    return (x, (n, c, s), gamma, beta, running_mean, running_var, momentum, eps, training,
            out, mean, inv_std)


def batchnorm_backward_inputs(V: Checks, dy: NDArray[Any], x: NDArray[Any], gamma: NDArray[Any],
                              mean: NDArray[Any], inv_std: NDArray[Any], dx: NDArray[Any] | None,
                              dgamma: NDArray[Any] | None, dbeta: NDArray[Any] | None,
                              compute_dx: bool
                              ) -> tuple[NDArray[Any], NDArray[Any], tuple[int, int, int],
                                         NDArray[Any], NDArray[Any], NDArray[Any],
                                         NDArray[Any] | None, NDArray[Any], NDArray[Any]]:
    dy = V.float_array("dy", dy)
    n, c, s = _channels_first("dy", dy)
    x = V.float_array("x", x)
    V.same_dtype("dy", dy, x=x)
    V.shape_is("x", x, dy.shape)
    gamma = _per_channel(V, "gamma", gamma, x, c)
    mean = _per_channel(V, "mean", mean, x, c)
    inv_std = _per_channel(V, "inv_std", inv_std, x, c)
    dgamma = V.output("dgamma", dgamma, (c,), x.dtype)
    dbeta = V.output("dbeta", dbeta, (c,), x.dtype)
    dx = V.output("dx", dx, x.shape, x.dtype) if compute_dx else None
    _disjoint([("dx", dx), ("dgamma", dgamma), ("dbeta", dbeta)],
              [("dy", dy), ("x", x), ("gamma", gamma), ("mean", mean), ("inv_std", inv_std)],
              in_place={("dx", "dy")})
    return dy, x, (n, c, s), gamma, mean, inv_std, dx, dgamma, dbeta


def residual_inputs(V: Checks, a: NDArray[Any], b: NDArray[Any], out: NDArray[Any] | None
                    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    a = V.float_array("a", a)
    b = V.float_array("b", b)
    V.same_dtype("a", a, b=b)
    V.shape_is("b", b, a.shape)
    out = V.output("out", out, a.shape, a.dtype)
    _disjoint([("out", out)], [("a", a), ("b", b)], in_place={("out", "a"), ("out", "b")})
    return a, b, out


# ---------------------------------------------------------------------- embedding


def _index_text(v: float | int) -> str:
    """An index value for a message: 7, not 7.0; 1.5 and nan as they are."""
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return str(int(v))
    return str(v)


def indices_input(name: str, indices: object,
                  num_embeddings: int | None = None) -> NDArray[np.intp]:
    """Row numbers of an embedding table: an ndarray of any shape, of an integer dtype or
    a floating one holding whole numbers (a model may hold its inputs as floats), each in
    [0, num_embeddings) (>= 0 when num_embeddings is None). Returned as C-contiguous
    np.intp; the C kernels index with these values unchecked."""
    if not isinstance(indices, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(indices).__name__}")
    kind = indices.dtype.kind
    if kind not in "iuf":
        raise TypeError(f"{name} must hold integer indices, got dtype {indices.dtype}")
    if indices.size == 0:
        return np.asarray(indices, dtype=np.intp, order="C")
    if kind == "f":
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(indices) & (indices == np.floor(indices))
        if not whole.all():
            bad = float(indices[~whole].flat[0])
            raise ValueError(f"{name} must hold integer indices, got {bad}")
    lo, hi = indices.min(), indices.max()
    lo_v: float | int = float(lo) if kind == "f" else int(lo)
    hi_v: float | int = float(hi) if kind == "f" else int(hi)
    top = np.iinfo(np.intp).max if num_embeddings is None else num_embeddings - 1
    if lo_v < 0 or hi_v > top:
        bad_v = lo_v if lo_v < 0 else hi_v
        if num_embeddings is None:
            raise ValueError(f"{name} has index {_index_text(bad_v)} outside [0, {top + 1})")
        raise ValueError(
            f"{name} has index {_index_text(bad_v)} outside [0, {num_embeddings}) for "
            f"{num_embeddings} embeddings"
        )
    return np.asarray(indices, dtype=np.intp, order="C")  # (ascontiguousarray makes 0-d 1-d)


def embedding_forward_inputs(V: Checks, indices: NDArray[Any], weight: NDArray[Any],
                             out: NDArray[Any] | None
                             ) -> tuple[NDArray[np.intp], NDArray[Any], NDArray[Any]]:
    weight = V.float_array("weight", weight, ndim=2)
    idx = indices_input("indices", indices, weight.shape[0])
    out = V.output("out", out, idx.shape + (weight.shape[1],), weight.dtype)
    _disjoint([("out", out)], [("weight", weight), ("indices", indices)])
    return idx, weight, out


def embedding_backward_inputs(V: Checks, dy: NDArray[Any], indices: NDArray[Any],
                              num_embeddings: int, dweight: NDArray[Any] | None,
                              padding_idx: int | None
                              ) -> tuple[NDArray[Any], NDArray[np.intp], int, NDArray[Any],
                                         int | None]:
    dy = V.float_array("dy", dy)
    num_embeddings = integer("num_embeddings", num_embeddings, lo=0)
    idx = indices_input("indices", indices, num_embeddings)
    if dy.ndim != idx.ndim + 1 or dy.shape[:-1] != idx.shape:
        dims = [str(s) for s in idx.shape] + ["embedding_dim"]
        want = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
        raise ValueError(
            f"dy must have shape {want} for indices of shape {_shape_str(idx.shape)}, "
            f"got {_shape_str(dy.shape)}"
        )
    if padding_idx is not None:
        padding_idx = integer("padding_idx", padding_idx, lo=0)
        if padding_idx >= num_embeddings:
            raise ValueError(
                f"padding_idx must be < num_embeddings ({num_embeddings}), got {padding_idx}"
            )
    dweight = V.output("dweight", dweight, (num_embeddings, dy.shape[-1]), dy.dtype)
    _disjoint([("dweight", dweight)], [("dy", dy), ("indices", indices)])
    return dy, idx, num_embeddings, dweight, padding_idx


# ---- layernorm


def _rows_of_features(name: str, a: NDArray[Any]) -> tuple[int, int]:
    """(..., D) with D >= 1 -> (R, D), R the number of rows (the product of the other axes)."""
    if a.ndim < 1 or a.shape[-1] == 0:
        raise ValueError(
            f"{name} must have shape (..., D) with D >= 1 features along the last axis, "
            f"got {_shape_str(a.shape)}"
        )
    d = a.shape[-1]
    return a.size // d, d


def layernorm_inputs(V: Checks, x: NDArray[Any], gamma: NDArray[Any], beta: NDArray[Any],
                     eps: float, out: NDArray[Any] | None, mean: NDArray[Any] | None,
                     inv_std: NDArray[Any] | None
                     ) -> tuple[NDArray[Any], tuple[int, int], NDArray[Any], NDArray[Any],
                                float, NDArray[Any], NDArray[Any], NDArray[Any]]:
    x = V.float_array("x", x)
    r, d = _rows_of_features("x", x)
    gamma = _per_channel(V, "gamma", gamma, x, d)
    beta = _per_channel(V, "beta", beta, x, d)
    eps = scalar("eps", eps, lo=0.0, lo_open=True)
    out = V.output("out", out, x.shape, x.dtype)
    mean = V.output("mean", mean, (r,), x.dtype)
    inv_std = V.output("inv_std", inv_std, (r,), x.dtype)
    # out may be x: each row's statistics are complete before the row is written
    _disjoint([("out", out), ("mean", mean), ("inv_std", inv_std)],
              [("x", x), ("gamma", gamma), ("beta", beta)], in_place={("out", "x")})
    return x, (r, d), gamma, beta, eps, out, mean, inv_std


def layernorm_backward_inputs(V: Checks, dy: NDArray[Any], x: NDArray[Any], gamma: NDArray[Any],
                              mean: NDArray[Any], inv_std: NDArray[Any], dx: NDArray[Any] | None,
                              dgamma: NDArray[Any] | None, dbeta: NDArray[Any] | None,
                              compute_dx: bool
                              ) -> tuple[NDArray[Any], NDArray[Any], tuple[int, int],
                                         NDArray[Any], NDArray[Any], NDArray[Any],
                                         NDArray[Any] | None, NDArray[Any], NDArray[Any]]:
    dy = V.float_array("dy", dy)
    r, d = _rows_of_features("dy", dy)
    x = V.float_array("x", x)
    V.same_dtype("dy", dy, x=x)
    V.shape_is("x", x, dy.shape)
    gamma = _per_channel(V, "gamma", gamma, x, d)
    mean = _per_channel(V, "mean", mean, x, r)
    inv_std = _per_channel(V, "inv_std", inv_std, x, r)
    dgamma = V.output("dgamma", dgamma, (d,), x.dtype)
    dbeta = V.output("dbeta", dbeta, (d,), x.dtype)
    dx = V.output("dx", dx, x.shape, x.dtype) if compute_dx else None
    # dx may be dy: dgamma and dbeta are summed before dx is written
    _disjoint([("dx", dx), ("dgamma", dgamma), ("dbeta", dbeta)],
              [("dy", dy), ("x", x), ("gamma", gamma), ("mean", mean), ("inv_std", inv_std)],
              in_place={("dx", "dy")})
    return dy, x, (r, d), gamma, mean, inv_std, dx, dgamma, dbeta
