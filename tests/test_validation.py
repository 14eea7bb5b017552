"""Bad input: every op of both twins raises a clear ValueError/TypeError (never a crash,
never another exception type), and the native op raises exactly the same exception
type with exactly the same message as its numpy twin.

Each op is described once by a Spec: how to build a valid call, and which of its
arrays are plain inputs, outputs, accumulated outputs or in-place state. Generic
mutations (wrong dtype, mixed dtypes, list, non-contiguous, wrong shape/ndim, NaN/inf,
read-only) are derived from that; op-specific cases (hyperparameters, labels, ...)
follow.
"""

import re
from dataclasses import dataclass, field

import numpy as np
import pytest

import fastnn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

TWIN_PAIR = (ops, reference)


def raises_same(call, exc, match=None):
    """call(M) must raise `exc` for both twins, with identical type and message."""
    caught = []
    for impl in TWIN_PAIR:
        with pytest.raises((ValueError, TypeError)) as info:
            call(impl)
        caught.append(info.value)
    native, ref = caught
    assert type(native) is type(ref), f"native raised {native!r}, reference {ref!r}"
    assert str(native) == str(ref), f"messages differ:\n native:    {native}\n reference: {ref}"
    assert isinstance(ref, exc), f"expected {exc.__name__}, got {ref!r}"
    if match is not None:
        assert re.search(match, str(ref)), f"{str(ref)!r} does not match {match!r}"
    return ref


def accepted(call):
    """call(M) must succeed for both twins."""
    return [call(impl) for impl in TWIN_PAIR]


# ------------------------------------------------------------------ op specs


def _u(shape, dt, lo=-1.0, hi=1.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dt)


@dataclass
class Spec:
    name: str
    build: object           # dt -> dict of arguments (fresh arrays each call)
    call: object            # (impl, args) -> result
    inputs: tuple = ()      # read-only is fine; NaN/inf rejected
    outputs: tuple = ()     # overwritten: NaN fine; must be writeable
    accum: tuple = ()       # read then written: NaN rejected; must be writeable
    states: tuple = ()      # in-place state: NaN fine; must be writeable
    inouts: tuple = ()      # scanned for NaN and written (clip_grad_norm)
    mixable: tuple = field(default=())  # arrays that may legally differ in dtype
    any_shape: bool = False  # no shape relation between the arrays (clip_grad_norm)
    free_rows: tuple = ()   # arrays whose row count nothing else fixes (an embedding table)
    ranged: dict = field(default_factory=dict)  # arg -> infinities outside its valid range

    @property
    def arrays(self):
        return self.inputs + self.outputs + self.accum + self.states + self.inouts


def _act_spec(name, takes_alpha):
    def build(dt):
        x = _u((3, 4), dt, -2, 2)
        return {"x": x, "out": np.empty_like(x)}

    def call(impl, a):
        f = getattr(impl, name)
        return f(a["x"], 0.3, out=a["out"]) if takes_alpha else f(a["x"], out=a["out"])

    return Spec(name, build, call, inputs=("x",), outputs=("out",))


def _act_bwd_spec(name, takes_alpha):
    def build(dt):
        x = _u((3, 4), dt, -2, 2)
        y = getattr(reference, name)(x)
        return {"dy": _u((3, 4), dt, seed=1), "x": x, "y": y, "out": np.empty_like(x)}

    def call(impl, a):
        f = getattr(impl, f"{name}_backward")
        args = (a["dy"], a["x"], a["y"]) + ((0.3,) if takes_alpha else ())
        return f(*args, out=a["out"])

    return Spec(f"{name}_backward", build, call, inputs=("dy", "x", "y"), outputs=("out",))


def _loss_spec(name, kind):
    def build(dt):
        a = {"pred": _u((4, 3), dt, -2, 2), "grad": np.empty((4, 3), dt)}
        if name == "mse":
            a["target"] = _u((4, 3), dt, seed=1)
        elif name == "binary_cross_entropy":
            a["target"] = _u((4, 3), dt, 0, 1, seed=1)
        elif kind == "probs":
            a["target"] = _u((4, 3), dt, 0, 1, seed=1)
        else:
            a["target"] = np.array([0, 2, 1, 2])
        return a

    def call(impl, a):
        return getattr(impl, name)(a["pred"], a["target"], sample_weight=[1.0, 2.0, 0.5, 1.0],
                                   grad=a["grad"])

    # the library names the first argument pred (mse) or logits (the cross-entropies)
    first = "pred" if name == "mse" else "logits"

    def build_named(dt):
        a = build(dt)
        a[first] = a.pop("pred")
        return a

    def call_named(impl, a):
        return getattr(impl, name)(a[first], a["target"], sample_weight=[1.0, 2.0, 0.5, 1.0],
                                   grad=a["grad"])

    inputs = (first,) + (("target",) if kind != "labels" else ())
    ranged = ({"target": (np.inf, -np.inf)} if name == "binary_cross_entropy"  # [0, 1]
              else {"target": (-np.inf,)} if kind == "probs" else {})  # >= 0
    return Spec(f"{name}-{kind}" if kind else name, build_named, call_named, inputs=inputs,
                outputs=("grad",), ranged=ranged)


def _gemm_spec():
    def build(dt):
        return {"a": _u((4, 3), dt), "b": _u((3, 5), dt, seed=1), "out": _u((4, 5), dt, seed=2)}

    def call(impl, a):
        return impl.gemm(a["a"], a["b"], alpha=1.5, beta=0.5, out=a["out"])

    return Spec("gemm", build, call, inputs=("a", "b"), accum=("out",))


def _gemm_beta0_spec():
    def build(dt):
        return {"a": _u((4, 3), dt), "b": _u((3, 5), dt, seed=1), "out": _u((4, 5), dt, seed=2)}

    def call(impl, a):
        return impl.gemm(a["a"], a["b"], trans_a=False, alpha=1.5, out=a["out"])

    return Spec("gemm-beta0", build, call, inputs=("a", "b"), outputs=("out",))


def _dense_forward_spec():
    def build(dt):
        return {"x": _u((4, 3), dt), "w": _u((3, 5), dt, seed=1), "b": _u((5,), dt, seed=2),
                "out": np.empty((4, 5), dt)}

    def call(impl, a):
        return impl.dense_forward(a["x"], a["w"], a["b"], out=a["out"])

    return Spec("dense_forward", build, call, inputs=("x", "w", "b"), outputs=("out",))


def _dense_backward_spec():
    def build(dt):
        return {"x": _u((4, 3), dt), "w": _u((3, 5), dt, seed=1), "dy": _u((4, 5), dt, seed=2),
                "dx": np.empty((4, 3), dt), "dw": _u((3, 5), dt, seed=3),
                "db": _u((5,), dt, seed=4)}

    def call(impl, a):
        return impl.dense_backward(a["x"], a["w"], a["dy"], dx=a["dx"], dw=a["dw"], db=a["db"],
                                   accumulate=True)

    return Spec("dense_backward", build, call, inputs=("x", "w", "dy"), outputs=("dx",),
                accum=("dw", "db"))


def _sgd_spec():
    def build(dt):
        return {"param": _u((4, 3), dt), "grad": _u((4, 3), dt, seed=1),
                "velocity": _u((4, 3), dt, seed=2)}

    def call(impl, a):
        return impl.sgd_update(a["param"], a["grad"], a["velocity"], lr=0.1, momentum=0.9,
                               nesterov=True, weight_decay=0.01)

    return Spec("sgd_update", build, call, inputs=("grad",), states=("param", "velocity"))


def _adam_spec(name):
    def build(dt):
        return {"param": _u((4, 3), dt), "grad": _u((4, 3), dt, seed=1),
                "m": _u((4, 3), dt, seed=2), "v": _u((4, 3), dt, 0, 1, seed=3),
                "v_max": _u((4, 3), dt, 1, 2, seed=4)}

    def call(impl, a):
        return getattr(impl, name)(a["param"], a["grad"], a["m"], a["v"], step=3, lr=0.01,
                                   weight_decay=0.01, amsgrad=True, v_max=a["v_max"])

    return Spec(name, build, call, inputs=("grad",), states=("param", "m", "v", "v_max"))


def _rmsprop_spec():
    def build(dt):
        return {"param": _u((4, 3), dt), "grad": _u((4, 3), dt, seed=1),
                "square_avg": _u((4, 3), dt, 1, 2, seed=2), "velocity": _u((4, 3), dt, seed=3),
                "grad_avg": _u((4, 3), dt, -0.1, 0.1, seed=4)}

    def call(impl, a):
        return impl.rmsprop_update(a["param"], a["grad"], a["square_avg"], lr=0.01, momentum=0.9,
                                   velocity=a["velocity"], centered=True, grad_avg=a["grad_avg"])

    return Spec("rmsprop_update", build, call, inputs=("grad",),
                states=("param", "square_avg", "velocity", "grad_avg"))


def _clip_spec():
    def build(dt):
        return {"grads[0]": _u((4, 3), dt), "grads[1]": _u((6,), dt, seed=1)}

    def call(impl, a):
        return impl.clip_grad_norm([a["grads[0]"], a["grads[1]"]], 0.5)

    return Spec("clip_grad_norm", build, call, inouts=("grads[0]", "grads[1]"),
                mixable=("grads[0]", "grads[1]"), any_shape=True)


def _dropout_specs():
    def build_f(dt):
        return {"x": _u((3, 4), dt), "out": np.empty((3, 4), dt), "mask": np.empty((3, 4), dt)}

    def call_f(impl, a):
        return impl.dropout_forward(a["x"], 0.3, 7, 2, out=a["out"], mask=a["mask"])

    def build_b(dt):
        return {"dy": _u((3, 4), dt), "mask": _u((3, 4), dt, 0, 2, seed=1),
                "out": np.empty((3, 4), dt)}

    def call_b(impl, a):
        return impl.dropout_backward(a["dy"], a["mask"], out=a["out"])

    return [Spec("dropout_forward", build_f, call_f, inputs=("x",), outputs=("out", "mask")),
            Spec("dropout_backward", build_b, call_b, inputs=("dy", "mask"), outputs=("out",))]


def _conv_specs():
    # x (2, 3, 5, 4), kernel (3, 2), stride (2, 1), padding ((1, 0), (1, 1)) -> (2, 5) output
    spd = ((2, 1), ((1, 0), (1, 1)), 1)
    cols_shape = (3 * 3 * 2, 2 * 2 * 5)

    def build_i(dt):
        return {"x": _u((2, 3, 5, 4), dt), "out": np.zeros(cols_shape, dt)}

    def call_i(impl, a):
        return impl.im2col(a["x"], (3, 2), *spd, out=a["out"])

    def build_c(dt):
        return {"cols": _u(cols_shape, dt), "out": np.zeros((2, 3, 5, 4), dt)}

    def call_c(impl, a):
        return impl.col2im(a["cols"], (2, 3, 5, 4), (3, 2), *spd, out=a["out"])

    def build_f(dt):
        return {"x": _u((2, 3, 5, 4), dt), "w": _u((4, 3, 3, 2), dt, seed=1),
                "b": _u((4,), dt, seed=2), "out": np.zeros((2, 4, 2, 5), dt)}

    def call_f(impl, a):
        return impl.conv2d_forward(a["x"], a["w"], a["b"], *spd, out=a["out"])

    def build_b(dt):
        return {"x": _u((2, 3, 5, 4), dt), "w": _u((4, 3, 3, 2), dt, seed=1),
                "dy": _u((2, 4, 2, 5), dt, seed=2), "dx": np.zeros((2, 3, 5, 4), dt),
                "dw": np.zeros((4, 3, 3, 2), dt), "db": np.zeros((4,), dt)}

    def call_b(impl, a):
        return impl.conv2d_backward(a["x"], a["w"], a["dy"], *spd, dx=a["dx"], dw=a["dw"],
                                    db=a["db"])

    def build_p(dt):  # the conv's (2, 4, 2, 5) output max pooled by (1, 2) windows
        y = reference.conv2d_forward(_u((2, 3, 5, 4), np.float64, seed=3),
                                     _u((4, 3, 3, 2), np.float64, seed=4), None, *spd)
        return {"x": _u((2, 3, 5, 4), dt), "w": _u((4, 3, 3, 2), dt, seed=1),
                "dy": _u((2, 4, 2, 2), dt, seed=2),
                "argmax": reference.maxpool2d_forward(y, (1, 2))[1],
                "dw": np.zeros((4, 3, 3, 2), dt), "db": np.zeros((4,), dt)}

    def call_p(impl, a):
        return impl.conv2d_pooled_backward(a["x"], a["w"], a["dy"], a["argmax"], (1, 2), None,
                                           *spd, dw=a["dw"], db=a["db"])

    return [Spec("im2col", build_i, call_i, inputs=("x",), outputs=("out",)),
            Spec("col2im", build_c, call_c, inputs=("cols",), outputs=("out",)),
            Spec("conv2d_forward", build_f, call_f, inputs=("x", "w", "b"), outputs=("out",)),
            Spec("conv2d_backward", build_b, call_b, inputs=("x", "w", "dy"),
                 outputs=("dx", "dw", "db")),
            Spec("conv2d_pooled_backward", build_p, call_p, inputs=("x", "w", "dy"),
                 outputs=("dw", "db"))]


def _pool_specs():
    # x (2, 3, 4, 5); 2x2 windows (stride 2) -> (2, 3, 2, 2). argmax (np.intp) is not a
    # float array, so the generic float mutations skip it (test_pool.py checks it).
    xs, ys = (2, 3, 4, 5), (2, 3, 2, 2)

    def build_mf(dt):
        return {"x": _u(xs, dt), "out": np.empty(ys, dt), "argmax": np.empty(ys, np.intp)}

    def call_mf(impl, a):
        return impl.maxpool2d_forward(a["x"], 2, out=a["out"], argmax=a["argmax"])

    def build_mb(dt):
        argmax = reference.maxpool2d_forward(_u(xs, np.float64, seed=3), 2)[1]
        return {"dy": _u(ys, dt), "argmax": argmax, "out": np.empty(xs, dt)}

    def call_mb(impl, a):
        return impl.maxpool2d_backward(a["dy"], a["argmax"], xs, out=a["out"])

    def build_af(dt):
        return {"x": _u(xs, dt), "out": np.empty((2, 3, 3, 2), dt)}

    def call_af(impl, a):
        return impl.avgpool2d_forward(a["x"], (2, 3), (1, 2), out=a["out"])

    def build_ab(dt):
        return {"dy": _u((2, 3, 3, 2), dt), "out": np.empty(xs, dt)}

    def call_ab(impl, a):
        return impl.avgpool2d_backward(a["dy"], xs, (2, 3), (1, 2), out=a["out"])

    def build_gf(dt):
        return {"x": _u(xs, dt), "out": np.empty((2, 3), dt)}

    def call_gf(impl, a):
        return impl.global_avgpool_forward(a["x"], out=a["out"])

    def build_gb(dt):
        return {"dy": _u((2, 3), dt), "out": np.empty(xs, dt)}

    def call_gb(impl, a):
        return impl.global_avgpool_backward(a["dy"], xs, out=a["out"])

    def build_tf(dt):
        return {"x": _u((2, 4, 3), dt), "out": np.empty((2, 3), dt)}

    def call_tf(impl, a):
        return impl.time_avgpool_forward(a["x"], out=a["out"])

    def build_tb(dt):
        return {"dy": _u((2, 3), dt), "out": np.empty((2, 4, 3), dt)}

    def call_tb(impl, a):
        return impl.time_avgpool_backward(a["dy"], 4, out=a["out"])

    return [Spec("maxpool2d_forward", build_mf, call_mf, inputs=("x",), outputs=("out",)),
            Spec("maxpool2d_backward", build_mb, call_mb, inputs=("dy",), outputs=("out",)),
            Spec("avgpool2d_forward", build_af, call_af, inputs=("x",), outputs=("out",)),
            Spec("avgpool2d_backward", build_ab, call_ab, inputs=("dy",), outputs=("out",)),
            Spec("global_avgpool_forward", build_gf, call_gf, inputs=("x",), outputs=("out",)),
            Spec("global_avgpool_backward", build_gb, call_gb, inputs=("dy",),
                 outputs=("out",)),
            Spec("time_avgpool_forward", build_tf, call_tf, inputs=("x",), outputs=("out",)),
            Spec("time_avgpool_backward", build_tb, call_tb, inputs=("dy",),
                 outputs=("out",))]


def _batchnorm_specs():
    xs = (2, 3, 4, 5)

    def build_t(dt):
        return {"x": _u(xs, dt), "gamma": _u((3,), dt, 0.5, 2, seed=1),
                "beta": _u((3,), dt, seed=2), "running_mean": _u((3,), dt, seed=3),
                "running_var": _u((3,), dt, 0.5, 2, seed=4), "out": np.empty(xs, dt),
                "mean": np.empty(3, dt), "inv_std": np.empty(3, dt)}

    def call_t(impl, a):
        return impl.batchnorm_forward(a["x"], a["gamma"], a["beta"], a["running_mean"],
                                      a["running_var"], momentum=0.2, out=a["out"],
                                      mean=a["mean"], inv_std=a["inv_std"])

    def build_i(dt):
        a = build_t(dt)
        a["x"], a["out"] = _u((4, 3), dt), np.empty((4, 3), dt)
        return a

    def call_i(impl, a):
        return impl.batchnorm_forward(a["x"], a["gamma"], a["beta"], a["running_mean"],
                                      a["running_var"], training=False, out=a["out"],
                                      mean=a["mean"], inv_std=a["inv_std"])

    def build_b(dt):
        return {"dy": _u(xs, dt), "x": _u(xs, dt, seed=1), "gamma": _u((3,), dt, seed=2),
                "mean": _u((3,), dt, seed=3), "inv_std": _u((3,), dt, 0.5, 2, seed=4),
                "dx": np.empty(xs, dt), "dgamma": np.empty(3, dt), "dbeta": np.empty(3, dt)}

    def call_b(impl, a):
        return impl.batchnorm_backward(a["dy"], a["x"], a["gamma"], a["mean"], a["inv_std"],
                                       dx=a["dx"], dgamma=a["dgamma"], dbeta=a["dbeta"])

    # training: the running statistics are state updated in place (not scanned)
    return [Spec("batchnorm_forward", build_t, call_t, inputs=("x", "gamma", "beta"),
                 outputs=("out", "mean", "inv_std"), states=("running_mean", "running_var")),
            Spec("batchnorm_forward-infer", build_i, call_i,
                 inputs=("x", "gamma", "beta", "running_mean", "running_var"),
                 outputs=("out", "mean", "inv_std")),
            Spec("batchnorm_backward", build_b, call_b,
                 inputs=("dy", "x", "gamma", "mean", "inv_std"),
                 outputs=("dx", "dgamma", "dbeta"))]


def _layernorm_specs():
    xs = (2, 2, 4)  # R == D: the rows' and the features' arrays can alias each other

    def build_f(dt):
        return {"x": _u(xs, dt), "gamma": _u((4,), dt, 0.5, 2, seed=1),
                "beta": _u((4,), dt, seed=2), "out": np.zeros(xs, dt),
                "mean": np.zeros(4, dt), "inv_std": np.zeros(4, dt)}

    def call_f(impl, a):
        return impl.layernorm_forward(a["x"], a["gamma"], a["beta"], 1e-3, out=a["out"],
                                      mean=a["mean"], inv_std=a["inv_std"])

    def build_b(dt):
        return {"dy": _u(xs, dt), "x": _u(xs, dt, seed=1), "gamma": _u((4,), dt, seed=2),
                "mean": _u((4,), dt, seed=3), "inv_std": _u((4,), dt, 0.5, 2, seed=4),
                "dx": np.zeros(xs, dt), "dgamma": np.zeros(4, dt), "dbeta": np.zeros(4, dt)}

    def call_b(impl, a):
        return impl.layernorm_backward(a["dy"], a["x"], a["gamma"], a["mean"], a["inv_std"],
                                       dx=a["dx"], dgamma=a["dgamma"], dbeta=a["dbeta"])

    return [Spec("layernorm_forward", build_f, call_f, inputs=("x", "gamma", "beta"),
                 outputs=("out", "mean", "inv_std")),
            Spec("layernorm_backward", build_b, call_b,
                 inputs=("dy", "x", "gamma", "mean", "inv_std"),
                 outputs=("dx", "dgamma", "dbeta"))]

def _residual_spec():
    def build(dt):
        return {"a": _u((4, 3), dt), "b": _u((4, 3), dt, seed=1), "out": np.empty((4, 3), dt)}

    def call(impl, a):
        return impl.residual_add(a["a"], a["b"], out=a["out"])

    return Spec("residual_add", build, call, inputs=("a", "b"), outputs=("out",))


# the indices are not a float array: their cases are op-specific (below)
_EMB_IDX = np.array([[0, 3, 3], [1, 0, 2]])


def _embedding_specs():
    def build_f(dt):
        return {"weight": _u((4, 3), dt), "out": np.empty((2, 3, 3), dt)}

    def call_f(impl, a):
        return impl.embedding_forward(_EMB_IDX, a["weight"], out=a["out"])

    # indices (4,), table (4, 3): dweight and dy share a shape (the aliasing cases)
    def build_b(dt):
        return {"dy": _u((4, 3), dt), "dweight": np.empty((4, 3), dt)}

    def call_b(impl, a):
        return impl.embedding_backward(a["dy"], np.array([3, 0, 3, 1]), 4, dweight=a["dweight"],
                                       padding_idx=1)

    return [Spec("embedding_forward", build_f, call_f, inputs=("weight",), outputs=("out",),
                 free_rows=("weight",)),
            Spec("embedding_backward", build_b, call_b, inputs=("dy",), outputs=("dweight",))]


def _recurrent_specs():
    # an LSTM over (N, T, F) = (2, 3, 4) with 5 units: 4 gates
    def arrays(dt):
        return {"x": _u((2, 3, 4), dt), "weight_ih": _u((20, 4), dt, seed=1),
                "weight_hh": _u((20, 5), dt, seed=2), "bias_ih": _u(20, dt, seed=3),
                "bias_hh": _u(20, dt, seed=4), "h0": _u((2, 5), dt, seed=5),
                "c0": _u((2, 5), dt, seed=6)}

    def call_f(impl, a):
        return impl.recurrent_forward(a["x"], a["weight_ih"], a["weight_hh"], a["bias_ih"],
                                      a["bias_hh"], a["h0"], a["c0"], cell="lstm",
                                      lengths=[3, 1])

    def build_b(dt):
        a = arrays(dt)
        cache = reference.recurrent_forward(a["x"], a["weight_ih"], a["weight_hh"], a["bias_ih"],
                                            a["bias_hh"], a["h0"], a["c0"], cell="lstm")[3]
        del a["bias_ih"], a["bias_hh"]
        a.update(dy=_u((2, 3, 5), dt, seed=7), dh_n=_u((2, 5), dt, seed=8),
                 dc_n=_u((2, 5), dt, seed=9), cache=cache)
        return a

    def call_b(impl, a):
        return impl.recurrent_backward(a["dy"], a["dh_n"], a["dc_n"], a["x"], a["weight_ih"],
                                       a["weight_hh"], a["cache"], a["h0"], a["c0"],
                                       cell="lstm")

    fw_in = ("x", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "h0", "c0")
    bw_in = ("dy", "dh_n", "dc_n", "x", "weight_ih", "weight_hh", "h0", "c0")
    return [Spec("recurrent_forward", arrays, call_f, inputs=fw_in),
            Spec("recurrent_backward", build_b, call_b, inputs=bw_in)]


def _all_specs():
    specs = [_gemm_spec(), _gemm_beta0_spec(), _dense_forward_spec(), _dense_backward_spec()]
    for name, (_, _, takes_alpha) in reference.ACTIVATIONS.items():
        specs += [_act_spec(name, takes_alpha), _act_bwd_spec(name, takes_alpha)]
    specs += [_loss_spec("mse", None), _loss_spec("binary_cross_entropy", None),
              _loss_spec("softmax_cross_entropy", "labels"),
              _loss_spec("softmax_cross_entropy", "probs")]
    specs += [_sgd_spec(), _adam_spec("adam_update"), _adam_spec("adamw_update"),
              _rmsprop_spec(), _clip_spec()]
    specs += _dropout_specs()
    specs += _conv_specs()
    specs += _pool_specs() + _batchnorm_specs() + _layernorm_specs() + [_residual_spec()]
    specs += _embedding_specs() + _recurrent_specs()
    return specs


SPECS = _all_specs()
SPEC_IDS = [s.name for s in SPECS]


def test_specs_cover_every_kernel():
    covered = {s.name.split("-")[0] for s in SPECS}
    assert covered == {n for names in KERNELS.values() for n in names}


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_valid_call_is_accepted(spec, dt):
    """The unmutated call of each spec works for both twins (the baseline of the cases)."""
    accepted(lambda impl: spec.call(impl, spec.build(dt)))


# ------------------------------------------------------------ generic mutations


def _astype(a, dtype):
    with np.errstate(all="ignore"):  # np.empty outputs may hold NaN garbage
        return a.astype(dtype)


def _transposed_view(a):
    """The transpose of a C-contiguous array of the transposed shape: same shape and
    values as `a`, Fortran-ordered, not C-contiguous."""
    return np.ascontiguousarray(a.T).T


def _strided(a):
    big = np.zeros((a.shape[0] * 2,) + a.shape[1:], a.dtype)
    big[::2] = a
    return big[::2]


def _recast(a, dtype):
    """a in another float dtype; an output built with np.empty may hold any bits (a
    signaling NaN, a float64 beyond float32's range), whose cast numpy reports as invalid
    or overflowing (its values do not matter here)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return a.astype(dtype)


def _mutated(spec, dt, arg, fn):
    def call(impl):
        a = spec.build(dt)
        a[arg] = fn(a[arg])
        return spec.call(impl, a)

    return call


def _generic_cases():
    cases = []
    for spec in SPECS:
        for dt in (np.float32, np.float64):
            other = np.float64 if dt == np.float32 else np.float32
            for arg in spec.arrays:
                tag = f"{spec.name}-{arg}-{np.dtype(dt).name}"
                name_re = re.escape(arg)
                for bad in (np.int64, np.int32, np.float16, np.complex128):
                    if spec.name == "softmax_cross_entropy-probs" and arg == "target" \
                            and np.dtype(bad).kind == "i":
                        continue  # integer targets are labels (see the specific cases)
                    cases.append((f"{tag}-dtype-{np.dtype(bad).name}",
                                  _mutated(spec, dt, arg, lambda a, b=bad: _astype(a, b)),
                                  TypeError, name_re + ".*dtype"))
                if arg not in spec.mixable:
                    cases.append((f"{tag}-mixed-{np.dtype(other).name}",
                                  _mutated(spec, dt, arg, lambda a, o=other: _recast(a, o)),
                                  TypeError, "dtype"))
                cases.append((f"{tag}-list", _mutated(spec, dt, arg, lambda a: a.tolist()),
                              TypeError, name_re + " must be a numpy.ndarray"))
                cases.append((f"{tag}-strided", _mutated(spec, dt, arg, _strided),
                              ValueError, name_re + " must be C-contiguous"))
                if spec.any_shape:
                    continue
                if arg not in spec.free_rows:
                    cases.append((f"{tag}-extra-row",
                                  _mutated(spec, dt, arg, lambda a: np.concatenate([a, a[:1]])),
                                  ValueError, None))
                cases.append((f"{tag}-extra-axis", _mutated(spec, dt, arg, lambda a: a[None]),
                              ValueError, None))
                if arg == "b" and spec.name.startswith("dense"):
                    continue
                ndim = spec.build(dt)[arg].ndim
                if ndim == 2:
                    cases.append((f"{tag}-transposed-view", _mutated(spec, dt, arg, _transposed_view),
                                  ValueError, name_re + " must be C-contiguous"))
                    cases.append((f"{tag}-extra-column",
                                  _mutated(spec, dt, arg,
                                           lambda a: np.concatenate([a, a[:, :1]], axis=1)),
                                  ValueError, None))
    return cases


def _set(a, where, value):
    a = a.copy()
    a.reshape(-1)[where] = value
    return a


def _readonly(a):
    a = a.copy()
    a.setflags(write=False)
    return a


def _nonfinite_cases(rejected, values=(np.nan, np.inf, -np.inf), positions=(0, -1)):
    """(id, call, arg, ranged) for NaN/inf at the first and last element of each array
    whose values are scanned (rejected=True) or not (rejected=False); `ranged` when an
    infinity there also breaks a range check ([0, 1] targets, >= 0 probabilities)."""
    out = []
    for spec in SPECS:
        names = spec.inputs + spec.accum + spec.inouts if rejected else spec.outputs + spec.states
        for arg in names:
            for dt in (np.float32, np.float64):
                for value in values:
                    for where in positions:
                        out.append((f"{spec.name}-{arg}-{np.dtype(dt).name}-{value}-{where}",
                                    _mutated(spec, dt, arg,
                                             lambda a, v=value, w=where: _set(a, w, v)),
                                    arg, value in spec.ranged.get(arg, ())))
    return out


GENERIC = _generic_cases()


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in GENERIC], ids=[c[0] for c in GENERIC])
def test_generic_bad_input(call, exc, match):
    raises_same(call, exc, match)


NONFINITE_REJECTED = _nonfinite_cases(True)


@pytest.mark.parametrize("call,arg", [c[1:3] for c in NONFINITE_REJECTED],
                         ids=[c[0] for c in NONFINITE_REJECTED])
def test_nan_and_inf_rejected(call, arg):
    raises_same(call, ValueError, f"^{re.escape(arg)} contains NaN or infinity$")


NONFINITE_UNCHECKED = _nonfinite_cases(True, values=(np.nan, np.inf), positions=(-1,))


@pytest.mark.parametrize("call,arg,ranged", [c[1:] for c in NONFINITE_UNCHECKED],
                         ids=[c[0] for c in NONFINITE_UNCHECKED])
def test_check_finite_false_disables_the_scan(call, arg, ranged):
    """Without the scan NaN/inf go through (and propagate) instead of raising; an
    infinite target still fails its [0, 1] / >= 0 range check, identically."""
    with fastnn.config_context(check_finite=False), np.errstate(all="ignore"):
        assert fastnn.get_config()["check_finite"] is False
        if ranged:
            raises_same(call, ValueError, r"^target (values must lie in \[0, 1\]|probabilities must be >= 0)")
        else:
            accepted(call)
    assert fastnn.get_config()["check_finite"] is True
    raises_same(call, ValueError, "contains NaN or infinity")


NONFINITE_ACCEPTED = _nonfinite_cases(False)


@pytest.mark.parametrize("call,arg", [c[1:3] for c in NONFINITE_ACCEPTED],
                         ids=[c[0] for c in NONFINITE_ACCEPTED])
def test_nan_in_outputs_and_state_is_not_an_error(call, arg):
    """Outputs are overwritten and parameters/optimizer state are not scanned."""
    with np.errstate(all="ignore"):
        accepted(call)


def _readonly_cases():
    cases = []
    for spec in SPECS:
        for arg in spec.arrays:
            for dt in (np.float32, np.float64):
                cases.append((f"{spec.name}-{arg}-{np.dtype(dt).name}",
                              _mutated(spec, dt, arg, _readonly),
                              arg not in spec.inputs, arg))
    return cases


READONLY = _readonly_cases()


@pytest.mark.parametrize("call,rejected,arg", [c[1:] for c in READONLY],
                         ids=[c[0] for c in READONLY])
def test_read_only_arrays(call, rejected, arg):
    """Read-only outputs/state are rejected; read-only inputs are fine (const buffers)."""
    if rejected:
        raises_same(call, ValueError, f"^{re.escape(arg)} is read-only$")
    else:
        accepted(call)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_read_only_inputs_give_the_same_result(spec, dt):
    def call(impl):
        a = spec.build(dt)
        for arg in spec.inputs:
            a[arg].setflags(write=False)
        res = spec.call(impl, a)
        return res, a

    (r_n, a_n), (r_r, a_r) = accepted(call)
    for arg in spec.outputs + spec.accum + spec.states + spec.inouts:
        np.testing.assert_allclose(a_n[arg], a_r[arg], rtol=1e-4, atol=1e-5, err_msg=arg)


# ------------------------------------------------------------ shared memory
# Every array an op writes, passed as the very same array as another of its arguments
# (same shape and dtype): both twins either raise the same ValueError "<written> must not
# share memory with <other>", or -- the elementwise ops, in place -- compute what they
# compute with separate arrays. (Before: 93 such pairs gave a wrong answer in one twin or
# both, e.g. conv2d_backward(dx=x), dense_backward(dw=w), Adam with m aliased to v.)


def _returned_arrays(res):
    items = res if isinstance(res, tuple) else (res,)
    return [np.array(r, copy=True) for r in items if isinstance(r, (np.ndarray, np.floating, float))]


def _alias_cases():
    cases = []
    for spec in SPECS:
        base = spec.build(np.float64)
        for w in spec.outputs + spec.accum + spec.states + spec.inouts:
            for other in spec.arrays:
                if other == w or w not in base or other not in base:
                    continue
                a, b = base[w], base[other]
                if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
                        a.shape == b.shape and a.dtype == b.dtype:
                    cases.append(pytest.param(spec, w, other, id=f"{spec.name}-{w}={other}"))
    return cases


ALIAS_CASES = _alias_cases()


def test_alias_cases_are_many():
    assert len(ALIAS_CASES) >= 100  # the specs do produce the pairs


@pytest.mark.parametrize("spec,written,other", ALIAS_CASES)
def test_written_array_shared_with_another(spec, written, other):
    dt = np.float64
    outcome = []
    for impl in TWIN_PAIR:
        apart = spec.build(dt)
        want = _returned_arrays(spec.call(impl, apart))
        shared = spec.build(dt)
        shared[written] = shared[other]
        try:
            got = _returned_arrays(spec.call(impl, shared))
        except ValueError as e:
            outcome.append(str(e))
            continue
        for g, r in zip(got, want):
            np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-9, err_msg=impl.__name__)
        np.testing.assert_allclose(shared[other], apart[written], rtol=1e-6, atol=1e-9,
                                   err_msg=f"{impl.__name__}: {written} in place of {other}")
        outcome.append("in place")
    assert outcome[0] == outcome[1], outcome
    if outcome[0] != "in place":
        assert outcome[0] in (f"{written} must not share memory with {other}",
                              f"{other} must not share memory with {written}"), outcome[0]


# ------------------------------------------------------------ op-specific cases

F64 = np.float64


def m(shape, dt=F64, lo=-1, hi=1, seed=0):
    return _u(shape, dt, lo, hi, seed)


SPECIFIC = [
    # gemm
    ("gemm-inner-mismatch", lambda M: M.gemm(m((4, 3)), m((4, 5))), ValueError,
     r"^inner dimensions differ: op\(a\) has shape \(4, 3\) and op\(b\) has shape \(4, 5\)$"),
    ("gemm-inner-mismatch-trans", lambda M: M.gemm(m((4, 3)), m((4, 5)), trans_b=True),
     ValueError, "inner dimensions differ"),
    ("gemm-beta-without-out", lambda M: M.gemm(m((4, 3)), m((3, 5)), beta=1.0), ValueError,
     "out must be given"),
    ("gemm-out-shape", lambda M: M.gemm(m((4, 3)), m((3, 5)), out=np.empty((5, 4))),
     ValueError, r"^out must have shape \(4, 5\), got \(5, 4\)$"),
    ("gemm-out-dtype", lambda M: M.gemm(m((4, 3)), m((3, 5)), out=np.empty((4, 5), np.float32)),
     TypeError, "^out must have dtype float64, got float32$"),
    ("gemm-alpha-nan", lambda M: M.gemm(m((4, 3)), m((3, 5)), alpha=float("nan")), ValueError,
     "alpha must be finite"),
    ("gemm-alpha-inf", lambda M: M.gemm(m((4, 3)), m((3, 5)), alpha=float("inf")), ValueError,
     "alpha must be finite"),
    ("gemm-alpha-str", lambda M: M.gemm(m((4, 3)), m((3, 5)), alpha="2"), TypeError,
     "alpha must be a real number"),
    ("gemm-beta-bool", lambda M: M.gemm(m((4, 3)), m((3, 5)), beta=True, out=m((4, 5))),
     TypeError, "beta must be a real number"),
    ("gemm-1d", lambda M: M.gemm(m((3,)), m((3, 5))), ValueError, "^a must be 2-D"),
    ("gemm-0d", lambda M: M.gemm(m((4, 3)), np.float64(2.0)), TypeError,
     "b must be a numpy.ndarray"),
    ("gemm-scalar", lambda M: M.gemm(m((4, 3)), 2.0), TypeError, "b must be a numpy.ndarray"),
    # dense
    ("dense-bias-shape", lambda M: M.dense_forward(m((4, 3)), m((3, 5)), m((4,))), ValueError,
     r"^b must have shape \(5,\), got \(4,\)$"),
    ("dense-bias-2d", lambda M: M.dense_forward(m((4, 3)), m((3, 5)), m((1, 5))), ValueError,
     "^b must be 1-D"),
    ("dense-bias-dtype", lambda M: M.dense_forward(m((4, 3)), m((3, 5)), m((5,), np.float32)),
     TypeError, "b has dtype float32 but x has dtype float64"),
    ("dense-inner-mismatch", lambda M: M.dense_forward(m((4, 3)), m((4, 5))), ValueError,
     r"^x has 3 features per row but w has shape \(4, 5\)"),
    ("dense-x-1d", lambda M: M.dense_forward(m((3,)), m((3, 5))), ValueError, "^x must be 2-D"),
    ("dense-bwd-dy-shape", lambda M: M.dense_backward(m((4, 3)), m((3, 5)), m((4, 4))),
     ValueError, r"^dy must have shape \(4, 5\), got \(4, 4\)$"),
    ("dense-bwd-inner", lambda M: M.dense_backward(m((4, 3)), m((2, 5)), m((4, 5))), ValueError,
     "features per row"),
    ("dense-bwd-accumulate-no-dw",
     lambda M: M.dense_backward(m((4, 3)), m((3, 5)), m((4, 5)), accumulate=True), ValueError,
     "accumulate=True"),
    ("dense-bwd-accumulate-no-db",
     lambda M: M.dense_backward(m((4, 3)), m((3, 5)), m((4, 5)), dw=m((3, 5)), accumulate=True),
     ValueError, "accumulate=True"),
    ("dense-bwd-dw-shape",
     lambda M: M.dense_backward(m((4, 3)), m((3, 5)), m((4, 5)), dw=m((5, 3))), ValueError,
     r"^dw must have shape \(3, 5\), got \(5, 3\)$"),
    ("dense-bwd-db-shape",
     lambda M: M.dense_backward(m((4, 3)), m((3, 5)), m((4, 5)), db=m((4,))), ValueError,
     r"^db must have shape \(5,\)"),
    # activations
    ("softmax-0d", lambda M: M.softmax(np.array(1.0)), ValueError, "non-empty last axis"),
    ("softmax-empty-row", lambda M: M.softmax(np.empty((3, 0))), ValueError,
     r"non-empty last axis, got shape \(3, 0\)"),
    ("log_softmax-empty-row", lambda M: M.log_softmax(np.empty((0,))), ValueError,
     "non-empty last axis"),
    ("softmax_backward-empty-row",
     lambda M: M.softmax_backward(np.empty((2, 0)), np.empty((2, 0)), np.empty((2, 0))),
     ValueError, "dy must have a non-empty last axis"),
    ("relu_backward-x-shape", lambda M: M.relu_backward(m((3, 4)), m((4, 3)), m((3, 4))),
     ValueError, r"^x must have shape \(3, 4\), got \(4, 3\)$"),
    ("tanh_backward-y-shape", lambda M: M.tanh_backward(m((3, 4)), m((3, 4)), m((3,))),
     ValueError, r"^y must have shape \(3, 4\), got \(3,\)$"),
    ("sigmoid-out-shape", lambda M: M.sigmoid(m((3, 4)), out=np.empty(12)), ValueError,
     r"^out must have shape \(3, 4\), got \(12,\)$"),
    ("leaky_relu-alpha-str", lambda M: M.leaky_relu(m((3,)), "0.1"), TypeError,
     "^alpha must be a real number, got str$"),
    ("elu-alpha-nan", lambda M: M.elu(m((3,)), float("nan")), ValueError, "alpha must be finite"),
    ("elu_backward-alpha-inf",
     lambda M: M.elu_backward(m((3,)), m((3,)), m((3,)), float("inf")), ValueError,
     "alpha must be finite"),
    ("leaky_relu-alpha-bool", lambda M: M.leaky_relu(m((3,)), True), TypeError,
     "alpha must be a real number"),
    ("relu-scalar", lambda M: M.relu(1.0), TypeError, "x must be a numpy.ndarray, got float"),
    # losses
    ("mse-target-shape", lambda M: M.mse(m((4, 3)), m((4, 2))), ValueError,
     r"^target must have shape \(4, 3\), got \(4, 2\)$"),
    ("mse-3d", lambda M: M.mse(m((4, 3, 2)), m((4, 3, 2))), ValueError, "pred must be 1-D or 2-D"),
    ("mse-empty-batch", lambda M: M.mse(np.empty((0, 3)), np.empty((0, 3))), ValueError,
     r"^pred is empty \(0 rows\)$"),
    ("mse-empty-batch-1d", lambda M: M.mse(np.empty(0), np.empty(0)), ValueError, "empty"),
    ("bce-empty-batch", lambda M: M.binary_cross_entropy(np.empty(0), np.empty(0)), ValueError,
     r"^logits is empty \(0 rows\)$"),
    ("xent-empty-batch",
     lambda M: M.softmax_cross_entropy(np.empty((0, 3)), np.empty(0, np.int64)), ValueError,
     r"^logits is empty \(0 rows\)$"),
    ("xent-no-classes",
     lambda M: M.softmax_cross_entropy(np.empty((4, 0)), np.zeros(4, np.int64)), ValueError,
     "at least one class"),
    ("xent-label-too-large",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([0, 1, 3, 2])), ValueError,
     r"^target has label 3 outside \[0, 3\) for 3 classes$"),
    ("xent-label-negative",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([0, -1, 2, 2])), ValueError,
     r"^target has label -1 outside \[0, 3\)"),
    ("xent-label-negative-int8",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([0, -128, 2, 2], np.int8)),
     ValueError, "label -128"),
    ("xent-label-huge-uint64",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([0, 2**63, 2, 2], np.uint64)),
     ValueError, "outside"),
    ("xent-labels-float-1d",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([0.0, 1.0, 2.0, 1.0])), ValueError,
     r"^target must be 2-D, got shape \(4,\)$"),
    ("xent-labels-bool",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([True, False, True, True])),
     TypeError, "got dtype bool"),
    ("xent-labels-wrong-length",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([0, 1, 2])), ValueError,
     r"^target must have shape \(4,\), got \(3,\)$"),
    ("xent-labels-2d",
     lambda M: M.softmax_cross_entropy(m((4, 3)), np.zeros((4, 1), np.int64)), ValueError,
     r"target must have shape \(4,\)"),
    ("xent-labels-list", lambda M: M.softmax_cross_entropy(m((4, 3)), [0, 1, 2, 1]), TypeError,
     "target must be a numpy.ndarray"),
    ("xent-probs-shape", lambda M: M.softmax_cross_entropy(m((4, 3)), m((4, 2), lo=0)),
     ValueError, r"^target must have shape \(4, 3\), got \(4, 2\)$"),
    ("xent-probs-negative", lambda M: M.softmax_cross_entropy(m((4, 3)), m((4, 3))), ValueError,
     "target probabilities must be >= 0"),
    ("xent-logits-1d", lambda M: M.softmax_cross_entropy(m((4,)), np.array([0, 1, 0, 0])),
     ValueError, "logits must be 2-D"),
    ("bce-target-above-1", lambda M: M.binary_cross_entropy(m((4,)), m((4,), lo=0.5, hi=1.5)),
     ValueError, r"in \[0, 1\]"),
    ("bce-target-negative", lambda M: M.binary_cross_entropy(m((4, 2)), m((4, 2))), ValueError,
     r"in \[0, 1\]"),
    ("bce-target-shape", lambda M: M.binary_cross_entropy(m((4, 2)), m((4,), lo=0)), ValueError,
     r"^target must have shape \(4, 2\), got \(4,\)$"),
    ("loss-sw-shape", lambda M: M.mse(m((4, 3)), m((4, 3)), sample_weight=np.ones(3)),
     ValueError, r"^sample_weight must have shape \(4,\), got \(3,\)$"),
    ("loss-sw-2d", lambda M: M.mse(m((4, 3)), m((4, 3)), sample_weight=np.ones((4, 1))),
     ValueError, "sample_weight must be 1-D"),
    ("loss-sw-negative",
     lambda M: M.mse(m((4, 3)), m((4, 3)), sample_weight=np.array([1.0, -1, 1, 1])),
     ValueError, "sample_weight must be >= 0 with a positive sum"),
    ("loss-sw-all-zero", lambda M: M.binary_cross_entropy(m((4,)), m((4,), lo=0),
                                                          sample_weight=np.zeros(4)),
     ValueError, "positive sum"),
    ("loss-sw-nan", lambda M: M.softmax_cross_entropy(m((4, 3)), np.array([0, 1, 2, 0]),
                                                      sample_weight=[1, np.nan, 1, 1]),
     ValueError, "sample_weight"),
    ("loss-grad-shape", lambda M: M.mse(m((4, 3)), m((4, 3)), grad=np.empty((3, 4))), ValueError,
     r"^grad must have shape \(4, 3\), got \(3, 4\)$"),
    ("loss-grad-dtype",
     lambda M: M.binary_cross_entropy(m((4, 3)), m((4, 3), lo=0), grad=np.empty((4, 3), np.float32)),
     TypeError, "^grad must have dtype float64, got float32$"),
    # optimizers
    ("sgd-negative-lr", lambda M: M.sgd_update(m((3,)), m((3,)), lr=-0.1), ValueError,
     r"^lr must be >= 0.0, got -0.1$"),

    ("sgd-momentum-above-1",
     lambda M: M.sgd_update(m((3,)), m((3,)), m((3,)), lr=0.1, momentum=1.5), ValueError,
     "momentum must be <= 1.0"),
    ("sgd-momentum-negative", lambda M: M.sgd_update(m((3,)), m((3,)), lr=0.1, momentum=-0.5),
     ValueError, "momentum must be >= 0.0"),
    ("sgd-velocity-missing", lambda M: M.sgd_update(m((3,)), m((3,)), lr=0.1, momentum=0.9),
     ValueError, "^velocity is required$"),
    ("sgd-velocity-shape",
     lambda M: M.sgd_update(m((3,)), m((3,)), m((4,)), lr=0.1, momentum=0.9), ValueError,
     r"^velocity must have shape \(3,\), got \(4,\)$"),
    ("sgd-weight-decay-negative",
     lambda M: M.sgd_update(m((3,)), m((3,)), lr=0.1, weight_decay=-1e-4), ValueError,
     "weight_decay must be >= 0.0"),
    ("sgd-grad-shape", lambda M: M.sgd_update(m((3,)), m((3, 1)), lr=0.1), ValueError,
     r"^grad must have shape \(3,\), got \(3, 1\)$"),
    ("sgd-lr-str", lambda M: M.sgd_update(m((3,)), m((3,)), lr="0.1"), TypeError,
     "lr must be a real number"),
    ("adam-beta1-one", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0), step=1,
                                               beta1=1.0), ValueError, "^beta1 must be < 1.0, got 1.0$"),
    ("adam-beta1-above", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                 step=1, beta1=1.5), ValueError, "beta1 must be < 1.0"),
    ("adam-beta1-negative", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                    step=1, beta1=-0.1), ValueError, "beta1 must be >= 0.0"),
    ("adam-beta2-one", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0), step=1,
                                               beta2=1.0), ValueError, "beta2 must be < 1.0"),
    ("adam-step-zero", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0), step=0),
     ValueError, "^step must be >= 1, got 0$"),
    ("adam-step-negative", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                   step=-3), ValueError, "step must be >= 1"),
    ("adam-step-float", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                step=1.5), TypeError, "^step must be an integer, got float$"),
    ("adam-negative-lr", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                 step=1, lr=-1e-3), ValueError, "lr must be >= 0.0"),
    ("adam-negative-eps", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                  step=1, eps=-1e-8), ValueError, "eps must be >= 0.0"),
    ("adam-m-shape", lambda M: M.adam_update(m((3,)), m((3,)), m((2,)), m((3,), lo=0), step=1),
     ValueError, r"^m must have shape \(3,\), got \(2,\)$"),
    ("adam-v-dtype", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), np.float32, lo=0),
                                             step=1), TypeError, "v has dtype float32 but param has dtype float64"),
    ("adam-v-none", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), None, step=1), ValueError,
     "^v is required$"),
    ("adam-amsgrad-no-vmax", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                     step=1, amsgrad=True), ValueError, "^v_max is required$"),
    ("adam-vmax-shape", lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0), step=1,
                                                amsgrad=True, v_max=m((3, 1))), ValueError,
     r"v_max must have shape \(3,\)"),
    ("adamw-beta1-one", lambda M: M.adamw_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                 step=1, beta1=1.0), ValueError, "beta1 must be < 1.0"),
    ("adamw-step-zero", lambda M: M.adamw_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                 step=0), ValueError, "step must be >= 1"),
    ("adamw-negative-wd", lambda M: M.adamw_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0),
                                                   step=1, weight_decay=-0.1), ValueError,
     "weight_decay must be >= 0.0"),
    ("rmsprop-rho-one", lambda M: M.rmsprop_update(m((3,)), m((3,)), m((3,), lo=0), rho=1.0),
     ValueError, "rho must be < 1.0"),
    ("rmsprop-negative-lr", lambda M: M.rmsprop_update(m((3,)), m((3,)), m((3,), lo=0), lr=-1.0),
     ValueError, "lr must be >= 0.0"),
    ("rmsprop-momentum-no-velocity",
     lambda M: M.rmsprop_update(m((3,)), m((3,)), m((3,), lo=0), momentum=0.9), ValueError,
     "^velocity is required$"),
    ("rmsprop-centered-no-grad-avg",
     lambda M: M.rmsprop_update(m((3,)), m((3,)), m((3,), lo=0), centered=True), ValueError,
     "^grad_avg is required$"),
    ("rmsprop-square-avg-shape",
     lambda M: M.rmsprop_update(m((3,)), m((3,)), m((4,), lo=0)), ValueError,
     r"^square_avg must have shape \(3,\), got \(4,\)$"),
    ("rmsprop-square-avg-none", lambda M: M.rmsprop_update(m((3,)), m((3,)), None), ValueError,
     "^square_avg is required$"),
    # dropout
    ("dropout-rate-one", lambda M: M.dropout_forward(m((3,)), 1.0, 1), ValueError,
     "^rate must be < 1.0, got 1.0$"),
    ("dropout-rate-negative", lambda M: M.dropout_forward(m((3,)), -0.1, 1), ValueError,
     "rate must be >= 0.0"),
    ("dropout-rate-nan", lambda M: M.dropout_forward(m((3,)), float("nan"), 1), ValueError,
     "rate must be finite"),
    ("dropout-seed-negative", lambda M: M.dropout_forward(m((3,)), 0.5, -1), ValueError,
     "seed must be >= 0"),
    ("dropout-seed-2**64", lambda M: M.dropout_forward(m((3,)), 0.5, 2**64), ValueError,
     "below 2\\*\\*64"),
    ("dropout-offset-2**64", lambda M: M.dropout_forward(m((3,)), 0.5, 1, 2**64), ValueError,
     "below 2\\*\\*64"),
    ("dropout-offset-negative", lambda M: M.dropout_forward(m((3,)), 0.5, 1, -5), ValueError,
     "offset must be >= 0"),
    ("dropout-seed-float", lambda M: M.dropout_forward(m((3,)), 0.5, 1.5), TypeError,
     "^seed must be an integer, got float$"),
    ("dropout-offset-str", lambda M: M.dropout_forward(m((3,)), 0.5, 1, "3"), TypeError,
     "offset must be an integer"),
    ("dropout-mask-shape", lambda M: M.dropout_backward(m((3, 4)), m((4, 3))), ValueError,
     r"^mask must have shape \(3, 4\), got \(4, 3\)$"),
    ("dropout-mask-dtype", lambda M: M.dropout_backward(m((3, 4)), m((3, 4), np.float32)),
     TypeError, "mask has dtype float32 but dy has dtype float64"),
    ("clip-max-norm-zero", lambda M: M.clip_grad_norm([m((3,))], 0.0), ValueError,
     r"^max_norm must be > 0.0, got 0.0$"),
    ("clip-max-norm-negative", lambda M: M.clip_grad_norm([m((3,))], -1.0), ValueError,
     "max_norm must be > 0.0"),
    ("clip-max-norm-nan", lambda M: M.clip_grad_norm([m((3,))], float("nan")), ValueError,
     "max_norm must be finite"),
    ("clip-max-norm-str", lambda M: M.clip_grad_norm([m((3,))], "1"), TypeError,
     "max_norm must be a real number"),
    ("clip-not-iterable", lambda M: M.clip_grad_norm(5, 1.0), TypeError, None),
    ("clip-list-of-lists", lambda M: M.clip_grad_norm([[1.0, 2.0]], 1.0), TypeError,
     r"^grads\[0\] must be a numpy.ndarray, got list$"),
    # embedding: the indices
    ("embedding-index-too-large", lambda M: M.embedding_forward(np.array([0, 4]), m((4, 3))),
     ValueError, r"^indices has index 4 outside \[0, 4\) for 4 embeddings$"),
    ("embedding-index-negative",
     lambda M: M.embedding_backward(m((2, 3)), np.array([-1, 2], np.int8), 4), ValueError,
     r"^indices has index -1 outside \[0, 4\)"),
    ("embedding-index-huge-uint64",
     lambda M: M.embedding_forward(np.array([0, 2**63], np.uint64), m((4, 3))), ValueError,
     "index 9223372036854775808 outside"),
    ("embedding-index-fraction", lambda M: M.embedding_forward(np.array([0.0, 1.5]), m((4, 3))),
     ValueError, "^indices must hold integer indices, got 1.5$"),
    ("embedding-index-nan", lambda M: M.embedding_forward(np.array([np.nan]), m((4, 3))),
     ValueError, "^indices must hold integer indices, got nan$"),
    ("embedding-index-bool", lambda M: M.embedding_forward(np.array([True]), m((4, 3))),
     TypeError, "^indices must hold integer indices, got dtype bool$"),
    ("embedding-index-list", lambda M: M.embedding_forward([0, 1], m((4, 3))), TypeError,
     "^indices must be a numpy.ndarray, got list$"),
    ("embedding-weight-1d", lambda M: M.embedding_forward(np.array([0]), m((4,))), ValueError,
     "^weight must be 2-D"),
    ("embedding-dy-shape", lambda M: M.embedding_backward(m((2, 3)), np.zeros((2, 1), int), 4),
     ValueError, r"^dy must have shape \(2, 1, embedding_dim\) for indices of shape \(2, 1\)"),
    ("embedding-num-embeddings-negative",
     lambda M: M.embedding_backward(m((2, 3)), np.array([0, 1]), -1), ValueError,
     "^num_embeddings must be >= 0, got -1$"),
    ("embedding-padding-idx-too-large",
     lambda M: M.embedding_backward(m((2, 3)), np.array([0, 1]), 4, padding_idx=4), ValueError,
     r"^padding_idx must be < num_embeddings \(4\), got 4$"),
    ("embedding-padding-idx-float",
     lambda M: M.embedding_backward(m((2, 3)), np.array([0, 1]), 4, padding_idx=1.0), TypeError,
     "^padding_idx must be an integer, got float$"),
]


@pytest.mark.parametrize("call,exc,match", [c[1:] for c in SPECIFIC], ids=[c[0] for c in SPECIFIC])
def test_specific_bad_input(call, exc, match):
    raises_same(call, exc, match)


@pytest.mark.parametrize("call,arg", [
    (lambda M: M.sgd_update(m((3,)), m((3,))), "lr"),
    (lambda M: M.adam_update(m((3,)), m((3,)), m((3,)), m((3,), lo=0)), "step"),
    (lambda M: M.gemm(m((3, 3))), None),
    (lambda M: M.relu(m((3,)), m((3,))), None),
], ids=["sgd-no-lr", "adam-no-step", "gemm-no-b", "relu-positional-out"])
def test_call_signature_errors(call, arg):
    """A call that does not match the signature is a TypeError from both twins. (Python
    and Cython word these messages differently, so only the type and the argument are
    compared.)"""
    for impl in TWIN_PAIR:
        with pytest.raises(TypeError) as info:
            call(impl)
        if arg:
            assert arg in str(info.value)


# ------------------------------------------------- accepted unusual-but-valid input


def test_labels_any_integer_dtype_and_strided(rng):
    logits = rng.standard_normal((6, 4))
    labels = np.array([0, 3, 1, 2, 3, 0])
    want = reference.softmax_cross_entropy(logits, labels)
    for impl in TWIN_PAIR:
        for lab in (labels.astype(np.int8), labels.astype(np.uint16), labels.astype(np.int32),
                    np.repeat(labels, 2)[::2]):
            loss, grad = impl.softmax_cross_entropy(logits, lab)
            assert loss == pytest.approx(want[0], rel=1e-12)
            np.testing.assert_allclose(grad, want[1], rtol=1e-12, atol=1e-15)


def test_check_finite_setting_is_restored_after_error():
    with pytest.raises(RuntimeError):
        with fastnn.config_context(check_finite=False):
            raise RuntimeError
    assert fastnn.get_config()["check_finite"] is True
    with pytest.raises(TypeError, match="unknown fastnn setting"):
        with fastnn.config_context(bogus=True):
            pass
