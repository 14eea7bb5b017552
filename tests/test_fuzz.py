"""Fuzz: every op of fastnn._kernels.KERNELS on random shapes, dtypes, memory layouts
(C order, Fortran order, strided views), hyperparameters and values (now and then a NaN
or an infinity), native against its numpy twin. For each drawn call either both twins
raise the same exception with the same message, or both return, and then the returned
values and every array the op may write in place agree within the dtype's tolerance.

The values are multiples of 1/8 in [-4, 4]: sums of their products are exact in both
dtypes for the sizes drawn here, so the linear ops (products, convolutions, pooling
sums) must agree to the last bit but for division and the nonlinear functions, and the
tolerance need not allow for cancellation. Hypothesis profile "fastnn" (conftest) keeps
it to 25 calls per op and level; FASTNN_HYPOTHESIS_PROFILE=thorough runs 500.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import FLOAT_DTYPES, assert_twins_close
from fastnn import ops, reference
from fastnn._kernels import KERNELS

ALL_OPS = [name for names in KERNELS.values() for name in names]

pytestmark = pytest.mark.usefixtures("isa")  # at every level this CPU runs


class Draw:
    """Arrays and arguments drawn for one call; every array goes through ``arr``."""

    def __init__(self, data, dtype):
        self.data, self.dt = data, dtype
        # most calls take C-ordered, finite arrays (else few calls of an op with many
        # arrays would get past the boundary's checks); the others mix layouts and values
        self.mixed = self(st.integers(0, 3), "mixed layouts?") == 0
        self.nonfinite = self(st.integers(0, 5), "a NaN or infinity?") == 0

    def __call__(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    def int(self, lo, hi, label=None):
        return self(st.integers(lo, hi), label)

    def pick(self, *options, label=None):
        return self(st.sampled_from(options), label)

    def arr(self, shape, lo=-4, hi=4, label=None, layout=True, nonfinite=True, dtype=None):
        """Multiples of 1/8 in [lo, hi] of `shape`, C-ordered mostly, sometimes Fortran
        ordered or a strided view; now and then one NaN or infinity."""
        dt = self.dt if dtype is None else dtype
        units = self(hnp.arrays(np.int16, shape, elements=st.integers(8 * lo, 8 * hi)), label)
        a = np.array(units / 8, dtype=dt)
        if layout and self.mixed and a.ndim:
            kind = self.pick("C", "C", "C", "F", "strided", label=f"{label} layout")
            if kind == "F":
                a = np.asfortranarray(a)
            elif kind == "strided":
                wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dt)
                wide[..., ::2] = a
                a = wide[..., ::2]
        if nonfinite and self.nonfinite and a.size and \
                self(st.integers(0, 2), f"{label} nonfinite?") == 0:
            i = self.int(0, a.size - 1, f"{label} where")
            a[np.unravel_index(i, a.shape)] = self.pick(np.nan, np.inf, -np.inf,
                                                         label=f"{label} value")
        return a

    def shape(self, ndim_lo=1, ndim_hi=3, side=7, label=None):
        return self(hnp.array_shapes(min_dims=ndim_lo, max_dims=ndim_hi, min_side=1,
                                     max_side=side), label)


def _geometry(d, spatial=True):
    """Conv-style arguments: x shape (n, c, h, w), kernel, stride, padding, dilation."""
    n, c = d.int(0, 3, "n"), d.int(1, 3, "c")
    h, w = d.int(1, 8, "h"), d.int(1, 8, "w")
    k = (d.int(1, 4, "kh"), d.int(1, 4, "kw")) if spatial else d.int(1, 3, "k")
    stride = d.pick(1, 2, (2, 1), label="stride")
    padding = d.pick(0, 1, (1, 0), ((1, 0), (0, 2)), label="padding")
    dilation = d.pick(1, 1, 2, label="dilation")
    return (n, c, h, w), k, stride, padding, dilation


def _ref_or_skip(fn, *args, **kwargs):
    """A reference result used to shape another argument; draws it cannot make are
    skipped (the op itself gets its invalid calls elsewhere)."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError):
        assume(False)


# ------------------------------------------------------------------ per-op calls
# Each builder returns (args, kwargs, terms): terms bounds the number of products summed
# into one result (the tolerance of assert_twins_close).


def _gemm(d):
    m, k, n = d.int(0, 9, "m"), d.int(0, 9, "k"), d.int(0, 9, "n")
    ta, tb = d(st.booleans(), "trans_a"), d(st.booleans(), "trans_b")
    a = d.arr((k, m) if ta else (m, k), label="a")
    b = d.arr((n, k) if tb else (k, n), label="b")
    beta = d.pick(0.0, 1.0, 0.5, label="beta")
    kw = {"trans_a": ta, "trans_b": tb, "alpha": d.pick(1.0, 0.5, -2.0, label="alpha"),
          "beta": beta}
    if beta or d(st.booleans(), "out"):
        kw["out"] = d.arr((m, n), label="out")
    return (a, b), kw, k + 1


def _dense_forward(d):
    n, k, m = d.int(0, 6, "n"), d.int(1, 9, "k"), d.int(1, 9, "m")
    b = d.arr((m,), label="b") if d(st.booleans(), "bias") else None
    return (d.arr((n, k), label="x"), d.arr((k, m), label="w"), b), {}, k + 1


def _dense_backward(d):
    n, k, m = d.int(0, 6, "n"), d.int(1, 9, "k"), d.int(1, 9, "m")
    kw = {"compute_dx": d(st.booleans(), "compute_dx"),
          "compute_db": d(st.booleans(), "compute_db"),
          "accumulate": d(st.booleans(), "accumulate")}
    if kw["accumulate"]:
        kw["dw"] = d.arr((k, m), label="dw")
        if kw["compute_db"]:
            kw["db"] = d.arr((m,), label="db")
    args = (d.arr((n, k), label="x"), d.arr((k, m), label="w"), d.arr((n, m), label="dy"))
    return args, kw, max(n, m) + 1


def _activation(name):
    takes_alpha = name.split("_backward")[0] in ("leaky_relu", "elu")
    rowwise = name.split("_backward")[0] in ("softmax", "log_softmax")
    backward = name.endswith("_backward")

    def build(d):
        x = d.arr(d.shape(1 if rowwise else 0, 3), label="x")
        alpha = (d.pick(0.01, 0.3, 1.0, label="alpha"),) if takes_alpha else ()
        if not backward:
            return (x,) + alpha, {}, x.shape[-1] if rowwise and x.ndim else 1
        fwd = getattr(reference, name[:-len("_backward")])
        y = _ref_or_skip(fwd, x, *alpha)
        dy = d.arr(x.shape, label="dy")
        return (dy, x, y) + alpha, {}, (x.shape[-1] if rowwise else 1) + 1

    return build


def _dropout_forward(d):
    x = d.arr(d.shape(1, 3), label="x")
    return (x, d.pick(0.0, 0.25, 0.5, 0.9, label="rate"), d.int(0, 2**40, "seed"),
            d.int(0, 1000, "offset")), {}, 1


def _dropout_backward(d):
    dy = d.arr(d.shape(1, 3), label="dy")
    rate = d.pick(0.25, 0.5, label="rate")
    keep = d(hnp.arrays(np.bool_, dy.shape), "keep")
    mask = np.where(keep, 1 / (1 - rate), 0).astype(d.dt)
    return (dy, mask), {}, 1


def _im2col(d):
    xs, k, s, p, dil = _geometry(d)
    return (d.arr(xs, label="x"), k, s, p, dil), {}, 1


def _col2im(d):
    xs, k, s, p, dil = _geometry(d)
    cols = _ref_or_skip(reference.im2col, np.zeros(xs, d.dt), k, s, p, dil)
    return (d.arr(cols.shape, label="cols"), xs, k, s, p, dil), {}, 16


def _conv_w(d, c):
    return d.arr((d.int(1, 4, "f"), c, d.int(1, 4, "kh"), d.int(1, 4, "kw")), label="w")


def _conv2d_forward(d):
    xs, _, s, p, dil = _geometry(d)
    w = _conv_w(d, xs[1])
    b = d.arr((w.shape[0],), label="b") if d(st.booleans(), "bias") else None
    return (d.arr(xs, label="x"), w, b, s, p, dil), {}, w[0].size + 1


def _conv2d_backward(d):
    xs, _, s, p, dil = _geometry(d)
    w = _conv_w(d, xs[1])
    y = _ref_or_skip(reference.conv2d_forward, np.zeros(xs, d.dt), np.zeros(w.shape, d.dt),
                     None, s, p, dil)
    kw = {"compute_dx": d(st.booleans(), "compute_dx"),
          "compute_db": d(st.booleans(), "compute_db")}
    args = (d.arr(xs, label="x"), w, d.arr(y.shape, label="dy"), s, p, dil)
    return args, kw, max(y[:, 0].size, w.shape[0] * w[0, 0].size) + 1


def _conv2d_pooled_backward(d):
    xs, _, s, p, dil = _geometry(d)
    w = _conv_w(d, xs[1])
    x = d.arr(xs, label="x", nonfinite=False, layout=False)
    y = _ref_or_skip(reference.conv2d_forward, x, w if np.isfinite(w).all() else
                     np.zeros_like(w), None, s, p, dil)
    ps, pst = d.pick(1, 2, 3, (2, 1), label="pool"), d.pick(None, 1, 2, label="pool stride")
    _, argmax = _ref_or_skip(reference.maxpool2d_forward, y, ps, pst)
    dy = d.arr(argmax.shape, label="dy")
    return (x, w, dy, argmax, ps, pst, s, p, dil), \
        {"compute_db": d(st.booleans(), "compute_db")}, y[:, 0].size + 1


def _pool_args(d):
    xs = (d.int(0, 3, "n"), d.int(1, 3, "c"), d.int(1, 8, "h"), d.int(1, 8, "w"))
    return xs, d.pick(1, 2, 3, (2, 3), label="pool"), d.pick(None, 1, 2, (1, 2), label="stride")


def _maxpool2d_forward(d):
    xs, ps, st_ = _pool_args(d)
    return (d.arr(xs, label="x"), ps, st_), {}, 1


def _maxpool2d_backward(d):
    xs, ps, st_ = _pool_args(d)
    _, argmax = _ref_or_skip(reference.maxpool2d_forward, d.arr(xs, nonfinite=False,
                                                                label="x"), ps, st_)
    return (d.arr(argmax.shape, label="dy"), argmax, xs), {}, 9


def _avgpool2d_forward(d):
    xs, ps, st_ = _pool_args(d)
    return (d.arr(xs, label="x"), ps, st_), {}, 9


def _avgpool2d_backward(d):
    xs, ps, st_ = _pool_args(d)
    y = _ref_or_skip(reference.avgpool2d_forward, np.zeros(xs, d.dt), ps, st_)
    return (d.arr(y.shape, label="dy"), xs, ps, st_), {}, 9


def _global_avgpool_forward(d):
    return (d.arr(d.shape(3, 4, 5), label="x"),), {}, 125


def _global_avgpool_backward(d):
    xs = d.shape(3, 4, 5, label="x_shape")
    return (d.arr(xs[:2], label="dy"), xs), {}, 1


def _time_avgpool_forward(d):
    return (d.arr(d.shape(3, 3, 6), label="x"),), {}, 6


def _time_avgpool_backward(d):
    return (d.arr(d.shape(2, 2, 6), label="dy"), d.int(1, 6, "steps")), {}, 1


def _bn_shape(d):
    return d.pick((d.int(1, 6, "n"), d.int(1, 5, "f")),
                  (d.int(1, 3, "n"), d.int(1, 3, "c"), d.int(1, 4, "h"), d.int(1, 4, "w")),
                  label="shape")


def _batchnorm_forward(d):
    shape = _bn_shape(d)
    c = shape[1]
    args = (d.arr(shape, label="x"), d.arr((c,), label="gamma"), d.arr((c,), label="beta"),
            d.arr((c,), label="running_mean"), d.arr((c,), 0, 4, label="running_var"),
            d.pick(0.0, 0.1, 1.0, label="momentum"), d.pick(1e-5, 0.5, label="eps"),
            d(st.booleans(), "training"))
    return args, {}, int(np.prod(shape)) // c + 4


def _batchnorm_backward(d):
    shape = _bn_shape(d)
    c = shape[1]
    x, gamma = d.arr(shape, label="x", nonfinite=False), d.arr((c,), label="gamma")
    _, mean, inv_std = _ref_or_skip(reference.batchnorm_forward, x, np.ones(c, d.dt),
                                    np.zeros(c, d.dt), np.zeros(c, d.dt), np.ones(c, d.dt))
    kw = {"compute_dx": d(st.booleans(), "compute_dx")}
    return (d.arr(shape, label="dy"), x, gamma, mean, inv_std), kw, \
        int(np.prod(shape)) // c + 4


def _layernorm_forward(d):
    shape = d.shape(1, 3, 6, label="shape")
    f = shape[-1]
    args = (d.arr(shape, label="x"), d.arr((f,), label="gamma"), d.arr((f,), label="beta"),
            d.pick(1e-5, 0.5, label="eps"))
    return args, {}, f + 4


def _layernorm_backward(d):
    shape = d.shape(1, 3, 6, label="shape")
    f = shape[-1]
    x, gamma = d.arr(shape, label="x", nonfinite=False), d.arr((f,), label="gamma")
    _, mean, inv_std = _ref_or_skip(reference.layernorm_forward, x, np.ones(f, d.dt),
                                    np.zeros(f, d.dt))
    kw = {"compute_dx": d(st.booleans(), "compute_dx")}
    return (d.arr(shape, label="dy"), x, gamma, mean, inv_std), kw, \
        max(int(np.prod(shape)) // f, f) + 4

def _residual_add(d):
    shape = d.shape(1, 4)
    return (d.arr(shape, label="a"), d.arr(shape, label="b")), {}, 1


def _embedding_indices(d, v):
    """Indices of shape (), (n,) or (n, t) for a table of v rows: in [0, v) mostly, in
    [-1, v] on the calls that get non-finite values; of an integer dtype or float64 (now
    and then holding a fraction)."""
    shape = d.pick((), (d.int(0, 5, "n"),), (d.int(0, 3, "n"), d.int(0, 4, "t")),
                   label="indices shape")
    lo, hi = (-1, v) if d.nonfinite else (0, max(v - 1, 0))
    idx = d(hnp.arrays(np.int64, shape, elements=st.integers(lo, hi)), "indices")
    idx = idx.astype(d.pick(np.int64, np.int32, np.uint8, np.float64, label="indices dtype"))
    if idx.dtype.kind == "f" and idx.size and d.nonfinite:
        idx.reshape(-1)[0] += 0.5
    return idx


def _embedding_forward(d):
    v, k = d.int(0, 6, "v"), d.int(0, 5, "embedding_dim")
    idx = _embedding_indices(d, v)
    kw = {"out": d.arr(idx.shape + (k,), label="out")} if d(st.booleans(), "out") else {}
    return (idx, d.arr((v, k), label="weight")), kw, 1


def _embedding_backward(d):
    v, k = d.int(0, 6, "v"), d.int(0, 5, "embedding_dim")
    idx = _embedding_indices(d, v)
    kw = {"padding_idx": d.pick(None, 0, v - 1, label="padding_idx")}
    if d(st.booleans(), "dweight"):
        kw["dweight"] = d.arr((v, k), label="dweight")
    return (d.arr(idx.shape + (k,), label="dy"), idx, v), kw, idx.size + 1


_CELL_GATES = {"tanh": 1, "relu": 1, "gru": 3, "lstm": 4}


def _recurrent_problem(d):
    """x (N, T, F), the weights of a cell of H units (entries in [-1, 1], so that the steps
    do not amplify the twins' roundings), optional biases, states and lengths."""
    cell = d.pick(*_CELL_GATES, label="cell")
    n, t, f, h = d.int(0, 3, "n"), d.int(1, 4, "t"), d.int(1, 4, "f"), d.int(1, 4, "h")
    gh = _CELL_GATES[cell] * h
    a = {"x": d.arr((n, t, f), -1, 1, label="x"),
         "weight_ih": d.arr((gh, f), -1, 1, label="weight_ih"),
         "weight_hh": d.arr((gh, h), -1, 1, label="weight_hh")}
    kw = {"cell": cell}
    if d(st.booleans(), "bias"):
        a["bias_ih"] = d.arr((gh,), -1, 1, label="bias_ih")
        a["bias_hh"] = d.arr((gh,), -1, 1, label="bias_hh")
    if d(st.booleans(), "h0"):
        a["h0"] = d.arr((n, h), -1, 1, label="h0")
        if cell == "lstm":
            a["c0"] = d.arr((n, h), -1, 1, label="c0")
    if d(st.booleans(), "lengths"):
        kw["lengths"] = np.array([d.int(0, t, f"lengths[{i}]") for i in range(n)], np.int64)
    return a, kw, (n, t, f, h), 8 * t * (f + gh + 4)


def _recurrent_forward(d):
    a, kw, _, terms = _recurrent_problem(d)
    args = (a["x"], a["weight_ih"], a["weight_hh"], a.get("bias_ih"), a.get("bias_hh"),
            a.get("h0"), a.get("c0"))
    return args, kw, terms


def _recurrent_backward(d):
    a, kw, (n, t, f, h), terms = _recurrent_problem(d)
    clean = {k: np.ascontiguousarray(v) for k, v in a.items()}
    cache = _ref_or_skip(reference.recurrent_forward, clean["x"], clean["weight_ih"],
                         clean["weight_hh"], clean.get("bias_ih"), clean.get("bias_hh"),
                         clean.get("h0"), clean.get("c0"), **kw)[3]
    dy = d.arr((n, t, h), -1, 1, label="dy") if d(st.booleans(), "dy") else None
    dh_n = d.arr((n, h), -1, 1, label="dh_n") if d(st.booleans(), "dh_n") else None
    kw.update(bias="bias_ih" in a, compute_dx=d(st.booleans(), "compute_dx"))
    return (dy, dh_n, None, a["x"], a["weight_ih"], a["weight_hh"], cache, a.get("h0"),
            a.get("c0")), kw, terms


def _loss_kwargs(d, n):
    kw = {"return_grad": d(st.booleans(), "return_grad")}
    if n and d(st.booleans(), "weighted"):
        kw["sample_weight"] = d.arr((n,), 0, 2, label="sample_weight")
    return kw


def _mse(d):
    shape = d.pick((d.int(0, 6, "n"),), (d.int(0, 6, "n"), d.int(1, 5, "k")), label="shape")
    return (d.arr(shape, label="pred"), d.arr(shape, label="target")), \
        _loss_kwargs(d, shape[0]), int(np.prod(shape)) + 2


def _softmax_cross_entropy(d):
    n, k = d.int(0, 6, "n"), d.int(1, 6, "k")
    if d(st.booleans(), "labels"):
        target = d(hnp.arrays(np.int64, (n,), elements=st.integers(-1, k)), "target")
    else:  # probabilities (sometimes not summing to one)
        target = np.abs(d.arr((n, k), 0, 1, label="target", layout=False))
    return (d.arr((n, k), label="logits"), target), _loss_kwargs(d, n), n * k + 4


def _binary_cross_entropy(d):
    shape = d.pick((d.int(0, 6, "n"),), (d.int(0, 6, "n"), d.int(1, 4, "k")), label="shape")
    target = d.arr(shape, 0, 1, label="target")
    if d(st.booleans(), "hard"):
        target = np.round(target)
    return (d.arr(shape, label="logits"), target), _loss_kwargs(d, shape[0]), \
        int(np.prod(shape)) + 4


def _state_shape(d):
    return d.shape(1, 3, 9, label="shape")


def _sgd_update(d):
    shape = _state_shape(d)
    momentum = d.pick(0.0, 0.9, label="momentum")
    velocity = d.arr(shape, label="velocity") if momentum else None
    kw = {"lr": d.pick(0.1, 0.01, label="lr"), "momentum": momentum,
          "nesterov": bool(momentum) and d(st.booleans(), "nesterov"),
          "weight_decay": d.pick(0.0, 0.01, label="weight_decay")}
    return (d.arr(shape, label="param"), d.arr(shape, label="grad"), velocity), kw, 2


def _adam(name):
    def build(d):
        shape = _state_shape(d)
        amsgrad = d(st.booleans(), "amsgrad")
        v = d.arr(shape, 0, 4, label="v")
        kw = {"step": d.int(1, 100, "step"), "lr": d.pick(0.001, 0.1, label="lr"),
              "weight_decay": d.pick(0.0, 0.01, label="weight_decay"), "amsgrad": amsgrad}
        if amsgrad:
            kw["v_max"] = d.arr(shape, 0, 4, label="v_max")
        return (d.arr(shape, label="param"), d.arr(shape, label="grad"),
                d.arr(shape, label="m"), v), kw, 4

    return build


def _rmsprop_update(d):
    shape = _state_shape(d)
    momentum = d.pick(0.0, 0.9, label="momentum")
    centered = d(st.booleans(), "centered")
    kw = {"lr": d.pick(0.01, 0.1, label="lr"), "momentum": momentum, "centered": centered,
          "weight_decay": d.pick(0.0, 0.01, label="weight_decay")}
    if momentum:
        kw["velocity"] = d.arr(shape, label="velocity")
    square_avg = d.arr(shape, 1, 4, label="square_avg")
    if centered:  # a consistent state: E[g^2] - E[g]^2 >= 1 (no catastrophic cancellation)
        kw["grad_avg"] = ga = d.arr(shape, -1, 1, label="grad_avg")
        square_avg = square_avg + ga * ga
    return (d.arr(shape, label="param"), d.arr(shape, label="grad"), square_avg), kw, 4


def _clip_grad_norm(d):
    grads = [d.arr(d.shape(1, 2, 9, label=f"shape {i}"), label=f"grads[{i}]")
             for i in range(d.int(0, 3, "count"))]
    return (grads, d.pick(0.5, 1.0, 100.0, label="max_norm")), {}, 200


BUILDERS = {
    "gemm": _gemm, "dense_forward": _dense_forward, "dense_backward": _dense_backward,
    "dropout_forward": _dropout_forward, "dropout_backward": _dropout_backward,
    "im2col": _im2col, "col2im": _col2im, "conv2d_forward": _conv2d_forward,
    "conv2d_backward": _conv2d_backward, "conv2d_pooled_backward": _conv2d_pooled_backward,
    "maxpool2d_forward": _maxpool2d_forward, "maxpool2d_backward": _maxpool2d_backward,
    "avgpool2d_forward": _avgpool2d_forward, "avgpool2d_backward": _avgpool2d_backward,
    "global_avgpool_forward": _global_avgpool_forward,
    "global_avgpool_backward": _global_avgpool_backward,
    "time_avgpool_forward": _time_avgpool_forward,
    "time_avgpool_backward": _time_avgpool_backward,
    "batchnorm_forward": _batchnorm_forward, "batchnorm_backward": _batchnorm_backward,
    "layernorm_forward": _layernorm_forward, "layernorm_backward": _layernorm_backward,
    "residual_add": _residual_add, "embedding_forward": _embedding_forward,
    "embedding_backward": _embedding_backward, "recurrent_forward": _recurrent_forward,
    "recurrent_backward": _recurrent_backward, "mse": _mse,
    "softmax_cross_entropy": _softmax_cross_entropy,
    "binary_cross_entropy": _binary_cross_entropy, "sgd_update": _sgd_update,
    "adam_update": _adam("adam_update"), "adamw_update": _adam("adamw_update"),
    "rmsprop_update": _rmsprop_update, "clip_grad_norm": _clip_grad_norm,
    **{name: _activation(name) for name in KERNELS["activations"]},
}


def test_every_op_is_fuzzed():
    assert sorted(BUILDERS) == sorted(ALL_OPS)


# ------------------------------------------------------------------ comparison


def _copy(v):
    if isinstance(v, np.ndarray):
        c = np.empty_like(v, order="K")
        c[...] = v
        if not (v.flags.c_contiguous or v.flags.f_contiguous):  # keep the view's strides
            wide = np.zeros(v.shape[:-1] + (2 * v.shape[-1],), v.dtype)
            wide[..., ::2] = v
            c = wide[..., ::2]
        return c
    if isinstance(v, list):
        return [_copy(a) for a in v]
    if isinstance(v, dict):
        return {k: _copy(a) for k, a in v.items()}
    return v


def _arrays(v):
    """The arrays in a call's arguments or results, in order (None kept as a place)."""
    if isinstance(v, (list, tuple)):
        return [a for item in v for a in _arrays(item)]
    if isinstance(v, dict):
        return [a for k in sorted(v) for a in _arrays(v[k])]
    return [v]


# A state array that already holds an infinity (corrupt: no finite gradient puts one
# there) spoils its weight in both twins, but the native kernels' estimates of sqrt and
# division may turn the reference's inf into NaN: for these ops the non-finite results
# must sit at the same places, of either kind.
NONFINITE_KIND_MAY_DIFFER = {"adam_update", "adamw_update", "rmsprop_update"}


def _close(native, ref, dtype, terms, what, name):
    if isinstance(ref, np.ndarray) and ref.dtype.kind in "iub":
        np.testing.assert_array_equal(native, ref, err_msg=what, strict=True)
        return
    if name in NONFINITE_KIND_MAY_DIFFER and isinstance(ref, np.ndarray):
        bad = ~np.isfinite(ref)
        assert np.array_equal(bad, ~np.isfinite(native)), f"{what}: non-finite at other " \
            f"places: native {native}, reference {ref}"
        native = native.copy()
        native[bad] = ref[bad]
    if isinstance(ref, (np.ndarray, float)):
        finite = np.abs(np.asarray(ref, np.float64))
        finite = finite[np.isfinite(finite)]
        magnitude = (finite.max() if finite.size else 0.0) + 1.0
        assert_twins_close(native, ref, dtype, terms=terms, magnitude=magnitude, err_msg=what)
        return
    assert native == ref or (native is None and ref is None), f"{what}: {native!r} != {ref!r}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's, for inf - inf and the like
@pytest.mark.parametrize("name", ALL_OPS)
@given(data=st.data())
def test_twins_agree_on_random_calls(name, data):
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES), label="dtype")
    args, kwargs, terms = BUILDERS[name](Draw(data, dtype))
    outcomes = []
    for impl in (ops, reference):
        a, kw = _copy(list(args)), _copy(kwargs)
        try:
            result = getattr(impl, name)(*a, **kw)
        except (ValueError, TypeError) as e:
            outcomes.append((type(e), str(e)))
        else:
            outcomes.append((result, _arrays(a) + _arrays(kw)))
    native, ref = outcomes
    if isinstance(ref[0], type) or isinstance(native[0], type):
        assert native == ref, f"native: {native if isinstance(native[0], type) else 'returned'}; " \
                              f"reference: {ref if isinstance(ref[0], type) else 'returned'}"
        return
    got, want = _arrays(native[0]), _arrays(ref[0])
    assert len(got) == len(want), f"results: {len(got)} native, {len(want)} reference"
    for i, (g, w) in enumerate(zip(got, want)):
        _close(g, w, dtype, terms, f"{name} result {i}", name)
    for i, (g, w) in enumerate(zip(native[1], ref[1])):  # what was written in place
        _close(g, w, dtype, terms, f"{name} argument {i} afterwards", name)
