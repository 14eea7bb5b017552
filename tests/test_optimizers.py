"""Optimizer updates: fastnn.ops.optimizers against fastnn.reference.optimizers over
several consecutive steps (parameters and every state array), and both twins against
updates recomputed by hand, element by element with Python floats, following
PyTorch's documented algorithms (torch.optim.SGD / Adam / AdamW / RMSprop and
torch.nn.utils.clip_grad_norm_)."""

import math

import numpy as np
import pytest

from conftest import FLOAT_DTYPES, TWINS, assert_twins_close, randn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

# every kernel test runs once per instruction-set level this CPU runs (conftest.isa)
pytestmark = pytest.mark.usefixtures("isa")

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]


def test_kernel_list():
    assert set(KERNELS["optimizers"]) == {"sgd_update", "adam_update", "adamw_update",
                                          "rmsprop_update", "clip_grad_norm"}


# --------------------------------------------------------------- running updates

VARIANTS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 1.0}),
    ("adam", {}),
    ("adam", {"lr": 1e-2, "beta1": 0.8, "beta2": 0.9, "eps": 1e-6}),
    ("adam", {"lr": 1e-2, "weight_decay": 0.1}),
    ("adam", {"lr": 1e-2, "amsgrad": True}),
    ("adam", {"lr": 1e-2, "amsgrad": True, "weight_decay": 0.05, "beta1": 0.0}),
    ("adamw", {}),
    ("adamw", {"lr": 1e-2, "weight_decay": 0.1}),
    ("adamw", {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
    ("adamw", {"lr": 1e-2, "weight_decay": 0.0}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 1e-2, "rho": 0.9, "eps": 1e-6}),
    ("rmsprop", {"lr": 1e-2, "centered": True}),
    ("rmsprop", {"lr": 1e-2, "momentum": 0.9}),
    ("rmsprop", {"lr": 1e-2, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
]
VARIANT_IDS = [f"{o}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for o, kw in VARIANTS]


def state_names(opt, kw):
    if opt == "sgd":
        return ["velocity"] if kw.get("momentum") else []
    if opt in ("adam", "adamw"):
        return ["m", "v"] + (["v_max"] if kw.get("amsgrad") else [])
    return (["square_avg"] + (["velocity"] if kw.get("momentum") else [])
            + (["grad_avg"] if kw.get("centered") else []))


def new_state(opt, kw, shape, dtype):
    return {name: np.zeros(shape, dtype) for name in state_names(opt, kw)}


def run_step(impl, opt, param, grad, state, t, kw):
    """One update of `impl` in place; t is the 1-based step number."""
    if opt == "sgd":
        return impl.sgd_update(param, grad, state.get("velocity"), **kw)
    if opt in ("adam", "adamw"):
        f = impl.adam_update if opt == "adam" else impl.adamw_update
        return f(param, grad, state["m"], state["v"], step=t, v_max=state.get("v_max"), **kw)
    return impl.rmsprop_update(param, grad, state["square_avg"], velocity=state.get("velocity"),
                               grad_avg=state.get("grad_avg"), **kw)


def grad_sequence(rng, shape, dtype, steps):
    """Large first gradients, then small ones: v decreases, so amsgrad's max matters."""
    return [randn(rng, shape, dtype, scale=3.0 if t < 2 else 0.02) for t in range(steps)]


# ----------------------------------------------------------------------- twins

SHAPES = [(), (1,), (7,), (33, 7), (257,), (401, 401)]  # (401, 401): > 2 * FNN_GRAIN_CHEAP


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("opt,kw", VARIANTS, ids=VARIANT_IDS)
def test_update_twins_several_steps(rng, opt, kw, shape, dtype):
    param0 = randn(rng, shape, dtype)
    grads = grad_sequence(rng, shape, dtype, 5)
    p_n, p_r = param0.copy(), param0.copy()
    s_n, s_r = new_state(opt, kw, shape, dtype), new_state(opt, kw, shape, dtype)
    for t, g in enumerate(grads, start=1):
        g0 = g.copy()
        r_n = run_step(ops, opt, p_n, g, s_n, t, kw)
        r_r = run_step(reference, opt, p_r, g, s_r, t, kw)
        assert r_n is None and r_r is None, "updates work in place and return None"
        np.testing.assert_array_equal(g, g0, err_msg="the update modified grad")
        assert_twins_close(p_n, p_r, err_msg=f"param after step {t}")
        for name in s_n:
            assert_twins_close(s_n[name], s_r[name], err_msg=f"{name} after step {t}")
    assert not np.array_equal(p_r, param0), "the parameter must move"


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("opt,kw", VARIANTS, ids=VARIANT_IDS)
def test_zero_learning_rate_keeps_param(rng, impl, opt, kw):
    kw = dict(kw, lr=0.0)
    p = randn(rng, (9,), np.float64)
    p0 = p.copy()
    state = new_state(opt, kw, p.shape, p.dtype)
    for t in range(1, 3):
        run_step(impl, opt, p, randn(rng, (9,), np.float64), state, t, kw)
    np.testing.assert_array_equal(p, p0)


# ----------------------------------------------------------------- by hand
# Plain-Python transcriptions of the PyTorch pseudo-code (docs of torch.optim), one
# element at a time; t is the 1-based step.


def hand_sgd(p, g, st, t, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    gi = g + weight_decay * p
    if momentum != 0.0:
        b = gi if t == 1 else momentum * st["velocity"] + gi  # dampening 0
        st["velocity"] = b
        gi = gi + momentum * b if nesterov else b
    return p - lr * gi


def hand_adam(p, g, st, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
              amsgrad=False, decoupled=False):
    if decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    st["m"] = beta1 * st["m"] + (1 - beta1) * g
    st["v"] = beta2 * st["v"] + (1 - beta2) * g * g
    m_hat = st["m"] / (1 - beta1 ** t)
    if amsgrad:
        st["v_max"] = max(st["v_max"], st["v"])
        v_hat = st["v_max"] / (1 - beta2 ** t)
    else:
        v_hat = st["v"] / (1 - beta2 ** t)
    return p - lr * m_hat / (math.sqrt(v_hat) + eps)


def hand_rmsprop(p, g, st, t, lr=1e-2, rho=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
    g = g + weight_decay * p
    st["square_avg"] = rho * st["square_avg"] + (1 - rho) * g * g
    v = st["square_avg"]
    if centered:
        st["grad_avg"] = rho * st["grad_avg"] + (1 - rho) * g
        v = v - st["grad_avg"] ** 2
    avg = math.sqrt(v) + eps
    if momentum > 0:
        st["velocity"] = momentum * st["velocity"] + g / avg
        return p - lr * st["velocity"]
    return p - lr * g / avg


def hand_step(opt, p, g, st, t, kw):
    if opt == "sgd":
        return hand_sgd(p, g, st, t, **kw)
    if opt == "adam":
        return hand_adam(p, g, st, t, **kw)
    if opt == "adamw":
        return hand_adam(p, g, st, t, **dict({"weight_decay": 1e-2}, **kw), decoupled=True)
    return hand_rmsprop(p, g, st, t, **kw)


HAND_TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-14}}


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("opt,kw", VARIANTS, ids=VARIANT_IDS)
def test_update_matches_hand_computation(rng, impl, opt, kw, dtype):
    n, steps = 7, 4
    param = randn(rng, (n,), dtype)
    grads = grad_sequence(rng, (n,), dtype, steps)
    state = new_state(opt, kw, (n,), dtype)
    # by hand, from the same (dtype-rounded) starting values, in double precision
    hp = [float(v) for v in param]
    hs = [{name: 0.0 for name in state} for _ in range(n)]
    for t, g in enumerate(grads, start=1):
        run_step(impl, opt, param, g, state, t, kw)
        hp = [hand_step(opt, hp[i], float(g[i]), hs[i], t, kw) for i in range(n)]
        tol = HAND_TOL[dtype]
        np.testing.assert_allclose(param, hp, **tol, err_msg=f"param after step {t}")
        for name, arr in state.items():
            np.testing.assert_allclose(arr, [s[name] for s in hs], **tol,
                                       err_msg=f"{name} after step {t}")
    if kw.get("amsgrad"):
        # the small late gradients made v fall below its running maximum
        assert (state["v_max"] >= state["v"]).all() and (state["v_max"] > state["v"]).any()


# ------------------------------------------------------------ clip_grad_norm


def hand_clip(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_: total 2-norm, coef = max_norm / (total + 1e-6),
    grads scaled by coef when coef < 1."""
    total = math.sqrt(sum(float(v) ** 2 for g in grads for v in np.ravel(g)))
    coef = max_norm / (total + 1e-6)
    scaled = [[float(v) * coef if coef < 1 else float(v) for v in np.ravel(g)] for g in grads]
    return total, scaled


def _grad_list(rng, dtypes):
    shapes = [(3, 4), (7,), (), (2, 3, 5)]
    return [randn(rng, s, dt) for s, dt in zip(shapes, dtypes)]


DTYPE_MIXES = {"float32": [np.float32] * 4, "float64": [np.float64] * 4,
               "mixed": [np.float32, np.float64, np.float64, np.float32]}


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("mix", sorted(DTYPE_MIXES))
@pytest.mark.parametrize("max_norm_factor", [0.1, 0.5, 2.0, 100.0])
def test_clip_grad_norm_by_hand(rng, impl, mix, max_norm_factor):
    grads = _grad_list(rng, DTYPE_MIXES[mix])
    norm = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    max_norm = max_norm_factor * norm
    before = [g.copy() for g in grads]
    total_h, scaled_h = hand_clip(before, max_norm)
    total = impl.clip_grad_norm(grads, max_norm)
    assert isinstance(total, float)
    assert total == pytest.approx(total_h, rel=1e-6 if mix != "float64" else 1e-13)
    for g, g0, want in zip(grads, before, scaled_h):
        assert g.dtype == g0.dtype and g.shape == g0.shape
        if max_norm_factor > 1:
            np.testing.assert_array_equal(g, g0, err_msg="below max_norm nothing changes")
        else:
            tol = HAND_TOL[g.dtype.type]
            np.testing.assert_allclose(g.reshape(-1), want, **tol)
    if max_norm_factor < 1:
        after = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
        assert after == pytest.approx(max_norm, rel=1e-5)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("max_norm_factor", [0.3, 3.0])
@pytest.mark.parametrize("sizes", [[1], [7, 33], [257, 1, 7], [401 * 401, 1000]])
def test_clip_grad_norm_twins(rng, sizes, max_norm_factor, dtype):
    grads = [randn(rng, (s,), dtype) for s in sizes]
    norm = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    g_n, g_r = [g.copy() for g in grads], [g.copy() for g in grads]
    t_n = ops.clip_grad_norm(g_n, max_norm_factor * norm)
    t_r = reference.clip_grad_norm(g_r, max_norm_factor * norm)
    assert_twins_close(t_n, t_r, dtype, terms=sum(sizes), magnitude=norm)
    for a, b in zip(g_n, g_r):
        assert_twins_close(a, b)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_clip_grad_norm_single_array_and_tuple(rng, impl, dtype):
    g = randn(rng, (5, 4), dtype)
    g0 = g.copy()
    total = impl.clip_grad_norm(g, 0.5)
    total_h, scaled = hand_clip([g0], 0.5)
    assert total == pytest.approx(total_h, rel=1e-6)
    np.testing.assert_allclose(g.reshape(-1), scaled[0], **HAND_TOL[dtype])
    a, b = randn(rng, (3,), dtype), randn(rng, (4,), dtype)
    total_h, scaled = hand_clip([a.copy(), b.copy()], 0.25)
    assert impl.clip_grad_norm((a, b), 0.25) == pytest.approx(total_h, rel=1e-6)
    np.testing.assert_allclose(a, scaled[0], **HAND_TOL[dtype])
    np.testing.assert_allclose(b, scaled[1], **HAND_TOL[dtype])


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
def test_clip_grad_norm_empty_and_zero(impl):
    assert impl.clip_grad_norm([], 1.0) == 0.0
    z = np.zeros(5)
    assert impl.clip_grad_norm([z], 1.0) == 0.0
    assert not z.any()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_clip_grad_norm_norm_overflowing_to_inf(dtype):
    """Finite gradients whose sum of squares overflows double (|g| ~ 1e200, only possible
    in float64; float32 stays finite in a double sum): both twins return the same norm
    (a float, inf for float64) and leave the same gradients, without raising."""
    big = 1e200 if dtype == np.float64 else 3e38
    results = []
    for impl in IMPLS:
        g = np.array([big, -big, 1.0], dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            total = impl.clip_grad_norm([g], 1.0)
        assert isinstance(total, float)
        results.append((total, g))
    (t_n, g_n), (t_r, g_r) = results
    assert t_n == pytest.approx(t_r, rel=1e-6)
    np.testing.assert_allclose(g_n, g_r, rtol=1e-6)


@pytest.mark.parametrize("impl", [ops, reference], ids=["native", "reference"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_states_decaying_into_subnormals_are_flushed_to_zero(impl, dtype):
    """Where the gradient is 0 (dead units) states decay geometrically; below the smallest
    normal number they are stored as 0, never as slow subnormals."""
    tiny = np.finfo(dtype).tiny
    n = 300
    grad = np.zeros(n, dtype)
    p = np.ones(n, dtype)
    m = np.full(n, tiny * 1.05, dtype)   # one decay step away from the subnormal range
    v = np.full(n, tiny * 1.0005, dtype)
    impl.adam_update(p, grad, m, v, step=5, lr=1e-3)
    vel = np.full(n, tiny * 1.05, dtype)
    impl.sgd_update(p, grad, vel, lr=0.1, momentum=0.9)
    sq = np.full(n, tiny * 1.005, dtype)
    ga = np.full(n, tiny * 1.005, dtype)  # rho = 0.99: 0.995 tiny after one step
    rv = np.full(n, tiny * 1.05, dtype)
    impl.rmsprop_update(p, grad, sq, centered=True, grad_avg=ga, momentum=0.5, velocity=rv)
    for name, state in (("m", m), ("v", v), ("velocity", vel), ("square_avg", sq),
                        ("grad_avg", ga), ("rmsprop velocity", rv)):
        assert not np.any((state != 0) & (np.abs(state) < tiny)), f"{name} holds subnormals"
        np.testing.assert_array_equal(state, 0, err_msg=name)
    np.testing.assert_array_equal(p, 1)  # zero gradients and zero states leave p alone


@pytest.mark.parametrize("decay", ["none", "l2", "decoupled"])
@pytest.mark.parametrize("step", [1, 8, 1000])
def test_native_adam_update_is_within_two_ulp_of_the_exact_step(step, decay):
    # float32 Adam may take a variant of the adam family (AVX-512, AVX2; src_c/arch/*/
    # adam_f32.c) that replaces sqrt and the division by refined hardware estimates; the
    # module's `isa` fixture runs each one this CPU has. Whatever path runs, the step
    # lr_t * m / (sqrt(v) ib + eps), from the stored moments, must be within 2.4e-7
    # (2 ulp) relative of its float64 value, beyond the final rounding of the weight.
    rng = np.random.default_rng(step)
    n = 100_003
    p = rng.standard_normal(n).astype(np.float32)
    g = (rng.standard_normal(n) * 10 ** rng.uniform(-6, 1, n)).astype(np.float32)
    m = (rng.standard_normal(n) * 1e-3).astype(np.float32)
    v = (rng.random(n) * 10 ** rng.uniform(-12, 0, n)).astype(np.float32)
    v[:100] = 0  # sqrt(0) must give 0, not NaN
    p0 = p.copy()
    wd = 0.0 if decay == "none" else 0.05
    if decay == "decoupled":
        ops.adamw_update(p, g, m, v, step=step, lr=1e-3, weight_decay=wd)
        p0 = p0 * np.float32(1 - 1e-3 * wd)  # the kernel shrinks first, in float32
    else:
        ops.adam_update(p, g, m, v, step=step, lr=1e-3, weight_decay=wd)
    lr_t = np.float64(np.float32(1e-3 / (1 - 0.9**step)))
    ib = np.float64(np.float32(1 / np.sqrt(1 - 0.999**step)))
    exact = lr_t * m.astype(np.float64) / (np.sqrt(v.astype(np.float64)) * ib + np.float64(np.float32(1e-8)))
    err = np.abs((p0.astype(np.float64) - p.astype(np.float64)) - exact) - 0.5 * np.spacing(np.abs(p))
    assert np.all(np.isfinite(p))
    assert np.all(err <= 2.4e-7 * np.abs(exact) + 1e-45)


def test_native_adam_on_subnormal_values_differs_from_the_twin_only_below_flt_min():
    # The hand-written Adams run with subnormals flushed (src_c/arch/adam_f32_body.h):
    # weights of inputs that are always zero shrink through the subnormal range under
    # weight decay, where
    # IEEE arithmetic is ~100x slower. Results may differ from the twin by < FLT_MIN only.
    tiny = np.finfo(np.float32).tiny
    p = np.array([1e-40, -3e-39, 1e-17, 2e-30, 0.5] * 20, np.float32)
    g = np.array([0.0, 1e-41, 0.0, -1e-25, 1e-3] * 20, np.float32)
    m = np.array([1e-39, 0.0, 1e-30, 0.0, 1e-4] * 20, np.float32)
    v = np.array([0.0, 1e-39, 1e-35, 1e-38, 1e-6] * 20, np.float32)
    arrays_n = [a.copy() for a in (p, g, m, v)]
    arrays_r = [a.copy() for a in (p, g, m, v)]
    for step in (1, 2, 3):
        ops.adam_update(*arrays_n, step=step, lr=1e-3, weight_decay=3e-6)
        reference.adam_update(*arrays_r, step=step, lr=1e-3, weight_decay=3e-6)
    for a, b in zip(arrays_n, arrays_r):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=tiny)


@pytest.mark.parametrize("cls", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_decay_biases_false_leaves_biases_out_of_weight_decay(cls):
    import fastnn

    W = np.ones((3, 2), np.float32)
    b = np.ones(2, np.float32)
    opt = getattr(fastnn, cls)(lr=0.1, weight_decay=0.5, decay_biases=False)
    opt.setup([W, b], is_bias=[False, True])
    zeros = [np.zeros_like(W), np.zeros_like(b)]
    opt.update([W, b], zeros)
    assert np.all(W < 1)                  # the weights decayed
    np.testing.assert_array_equal(b, 1)   # the biases did not (their gradient is 0)
    cfg = opt.get_config()
    assert cfg["decay_biases"] is False
    again = getattr(fastnn, cls).from_config(cfg)
    assert again.decay_biases is False
