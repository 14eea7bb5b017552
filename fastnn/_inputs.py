"""Argument checks for every op, shared by the two twins.

Each function takes the twin's `Checks` object (which knows how to scan for NaN/inf)
and the op's arguments, and returns them validated, with outputs allocated. Both
fastnn.ops and fastnn.reference call these, so the twins accept and reject exactly
the same inputs with the same messages.
"""

import numpy as np

from ._validation import integer, scalar

# ---------------------------------------------------------------------------- GEMM


def gemm_inputs(V, a, b, trans_a, trans_b, alpha, beta, out):
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
    return a, b, alpha, beta, out


# --------------------------------------------------------------------------- dense


def _check_inner(x, w):
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"x has {x.shape[1]} features per row but w has shape {tuple(w.shape)} "
            f"(expected ({x.shape[1]}, units))"
        )


def dense_forward_inputs(V, x, w, b, out):
    x = V.float_array("x", x, ndim=2)
    w = V.float_array("w", w, ndim=2)
    V.same_dtype("x", x, w=w)
    _check_inner(x, w)
    if b is not None:
        b = V.float_array("b", b, ndim=1)
        V.same_dtype("x", x, b=b)
        V.shape_is("b", b, (w.shape[1],))
    out = V.output("out", out, (x.shape[0], w.shape[1]), x.dtype)
    return x, w, b, out


def dense_backward_inputs(V, x, w, dy, dx, dw, db, compute_dx, compute_db, accumulate):
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
    return x, w, dy, dx, dw, db


# --------------------------------------------------------------------- activations


def activation_inputs(V, x, out, rows=False):
    """Elementwise activations take any shape; row-wise ones (softmax) need ndim >= 1."""
    x = V.float_array("x", x)
    if rows and (x.ndim == 0 or x.shape[-1] == 0):
        raise ValueError(f"x must have a non-empty last axis, got shape {tuple(x.shape)}")
    return x, V.output("out", out, x.shape, x.dtype)


def activation_backward_inputs(V, dy, x, y, out, rows=False):
    dy = V.float_array("dy", dy)
    x = V.float_array("x", x)
    y = V.float_array("y", y)
    V.same_dtype("dy", dy, x=x, y=y)
    V.shape_is("x", x, dy.shape)
    V.shape_is("y", y, dy.shape)
    if rows and (dy.ndim == 0 or dy.shape[-1] == 0):
        raise ValueError(f"dy must have a non-empty last axis, got shape {tuple(dy.shape)}")
    return dy, x, y, V.output("out", out, dy.shape, dy.dtype)


def alpha_input(alpha):
    return scalar("alpha", alpha)


# -------------------------------------------------------------------------- losses


def _loss_common(V, pred_name, pred, sample_weight, grad, return_grad, ndim):
    pred = V.float_array(pred_name, pred, ndim=ndim)
    V.nonempty(pred_name, pred)
    sw = V.sample_weight(sample_weight, pred.shape[0], pred.dtype)
    grad = V.output("grad", grad, pred.shape, pred.dtype) if return_grad else None
    return pred, sw, grad


def mse_inputs(V, pred, target, sample_weight, grad, return_grad):
    pred, sw, grad = _loss_common(V, "pred", pred, sample_weight, grad, return_grad, (1, 2))
    target = V.float_array("target", target)
    V.same_dtype("pred", pred, target=target)
    V.shape_is("target", target, pred.shape)
    return pred, target, sw, grad


def softmax_cross_entropy_inputs(V, logits, target, sample_weight, grad, return_grad):
    """`target` is either integer labels (n,) or float class probabilities (n, classes)."""
    logits, sw, grad = _loss_common(V, "logits", logits, sample_weight, grad, return_grad, 2)
    n, c = logits.shape
    if c == 0:
        raise ValueError("logits must have at least one class column")
    if isinstance(target, np.ndarray) and target.dtype.kind in "iu":
        return logits, V.labels("target", target, n, c), sw, grad
    if isinstance(target, np.ndarray) and target.dtype.kind == "b":
        raise TypeError("target must hold integer labels or float probabilities, got dtype bool")
    target = V.float_array("target", target, ndim=2)
    V.same_dtype("logits", logits, target=target)
    V.shape_is("target", target, logits.shape)
    if target.min() < 0:
        raise ValueError("target probabilities must be >= 0")
    return logits, target, sw, grad


def binary_cross_entropy_inputs(V, logits, target, sample_weight, grad, return_grad):
    logits, sw, grad = _loss_common(V, "logits", logits, sample_weight, grad, return_grad, (1, 2))
    target = V.float_array("target", target)
    V.same_dtype("logits", logits, target=target)
    V.shape_is("target", target, logits.shape)
    if target.min() < 0 or target.max() > 1:
        raise ValueError("target values must lie in [0, 1] for binary cross-entropy")
    return logits, target, sw, grad


# ---------------------------------------------------------------------- optimizers


def _param_grad(V, param, grad):
    param = V.float_array("param", param, finite=False)
    if not param.flags.writeable:
        raise ValueError("param is read-only")
    grad = V.float_array("grad", grad)
    V.same_dtype("param", param, grad=grad)
    V.shape_is("grad", grad, param.shape)
    return param, grad


def sgd_inputs(V, param, grad, velocity, lr, momentum, weight_decay):
    param, grad = _param_grad(V, param, grad)
    lr = scalar("lr", lr, lo=0.0)
    momentum = scalar("momentum", momentum, lo=0.0, hi=1.0)
    weight_decay = scalar("weight_decay", weight_decay, lo=0.0)
    if momentum != 0.0:
        velocity = V.state("velocity", velocity, param, "param")
    return param, grad, velocity, lr, momentum, weight_decay


def adam_inputs(V, param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max):
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
    return param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, v_max


def rmsprop_inputs(V, param, grad, square_avg, lr, rho, eps, weight_decay, momentum, velocity,
                   centered, grad_avg):
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
    return param, grad, square_avg, lr, rho, eps, weight_decay, momentum, velocity, grad_avg


def clip_grad_norm_inputs(V, grads, max_norm):
    if isinstance(grads, np.ndarray):
        grads = [grads]
    grads = list(grads)
    for i, g in enumerate(grads):
        V.float_array(f"grads[{i}]", g)
        if not g.flags.writeable:
            raise ValueError(f"grads[{i}] is read-only")
    max_norm = scalar("max_norm", max_norm, lo=0.0, lo_open=True)
    return grads, max_norm


# ------------------------------------------------------------------------- dropout


def dropout_inputs(V, x, rate, seed, offset, out, mask):
    x = V.float_array("x", x)
    rate = scalar("rate", rate, lo=0.0, hi=1.0, hi_open=True)
    seed = integer("seed", seed, lo=0)
    offset = integer("offset", offset, lo=0)
    if seed >= 2**64 or offset >= 2**64:
        raise ValueError("seed and offset must be below 2**64")
    out = V.output("out", out, x.shape, x.dtype)
    mask = V.output("mask", mask, x.shape, x.dtype)
    return x, rate, seed, offset, out, mask


def dropout_backward_inputs(V, dy, mask, out):
    dy = V.float_array("dy", dy)
    mask = V.float_array("mask", mask)
    V.same_dtype("dy", dy, mask=mask)
    V.shape_is("mask", mask, dy.shape)
    return dy, mask, V.output("out", out, dy.shape, dy.dtype)
