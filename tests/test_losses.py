"""Losses: fastnn.ops.losses against fastnn.reference.losses (value and gradient), with
labels and probability targets, sample weights, grad= and return_grad=False; the
gradients against central differences of the loss value (float64), and the values
against a plain-Python computation of the textbook formulas."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import FLOAT_DTYPES, TWINS, assert_twins_close, randn
from fastnn import ops, reference
from fastnn._kernels import KERNELS

IMPLS = [t.values[0] for t in TWINS]
IMPL_IDS = ["native", "reference"]


def test_table_covers_kernels():
    assert set(KERNELS["losses"]) == set(reference.LOSSES) == set(ops.LOSSES)
    for name in KERNELS["losses"]:
        assert ops.LOSSES[name] is getattr(ops, name)
        assert reference.LOSSES[name] is getattr(reference, name)


# ------------------------------------------------------------------ helpers


def _scale(n, sw):
    if sw is None:
        return np.full(n, 1.0 / n)
    sw = np.asarray(sw, dtype=np.float64)
    return sw / sw.sum()


def _rows(a):
    return np.asarray(a, dtype=np.float64).reshape(a.shape[0], -1)


def _magnitudes(name, pred, target, sw):
    """(loss magnitude, grad magnitude, terms): the absolute size of what is summed or
    cancelled, so that the twins may differ by ~eps times it (conftest)."""
    n = pred.shape[0]
    c = _scale(n, sw)
    z = _rows(pred)
    d = z.shape[1]
    if name == "mse":
        t = _rows(target)
        diff = np.abs(z - t) + np.abs(z) + np.abs(t)
        loss_mag = float(c @ ((diff * diff).sum(axis=1) / d))
        grad_mag = diff * (2.0 / d * c)[:, None]
    elif name == "softmax_cross_entropy":
        if target.ndim == 1:
            t = np.zeros_like(z)
            t[np.arange(n), target] = 1.0
        else:
            t = _rows(target)
        tsum = t.sum(axis=1)
        zabs = np.abs(z).max(axis=1)
        lse_mag = zabs + np.log(d) + 1
        loss_mag = float(c @ (lse_mag * tsum + (t * (np.abs(z) + zabs[:, None])).sum(axis=1)))
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad_mag = (p * tsum[:, None] + t) * c[:, None] * (1 + zabs[:, None])
    else:
        t = _rows(target)
        loss_mag = float(c @ ((2 * np.abs(z) + 1).sum(axis=1) / d))
        grad_mag = (1 + t) * (c / d)[:, None]
    return loss_mag, grad_mag.reshape(pred.shape), d


def check_loss(name, pred, target, *, sample_weight=None, grad=None, return_grad=True, what=""):
    """Run both twins and compare. Returns the reference (loss, grad)."""
    saved = [a.copy() for a in (pred, target)]
    g_n = None if grad is None else grad.copy()
    g_r = None if grad is None else grad.copy()
    kw = {"sample_weight": sample_weight, "return_grad": return_grad}
    res_n = getattr(ops, name)(pred, target, grad=g_n, **kw)
    res_r = getattr(reference, name)(pred, target, grad=g_r, **kw)
    for a, a0 in zip((pred, target), saved):
        np.testing.assert_array_equal(a, a0, err_msg="a loss modified its input")
    assert isinstance(res_n, tuple) and len(res_n) == 2
    (ln, gn), (lr, gr) = res_n, res_r
    loss_mag, grad_mag, d = _magnitudes(name, pred, target, sample_weight)
    assert_twins_close(ln, lr, pred.dtype, terms=d + 4, magnitude=loss_mag,
                       err_msg=f"{name} loss{what}")
    if not return_grad:
        assert gn is None and gr is None
        return lr, gr
    if grad is not None:
        assert gn is g_n and gr is g_r, "grad= must be filled and returned"
    assert gn.dtype == gr.dtype == pred.dtype and gn.shape == pred.shape
    assert_twins_close(gn, gr, terms=d + 4, magnitude=grad_mag, err_msg=f"{name} grad{what}")
    return lr, gr


def _weights(rng, n, kind):
    if kind is None:
        return None
    if kind == "random":
        sw = rng.uniform(0.0, 2.0, n)
        sw[:: 3] = 0.0  # zero weights drop samples
        sw[0] = 0.5
        return sw
    if kind == "list":
        return [int(v) for v in rng.integers(1, 4, n)]
    raise ValueError(kind)


def _probs(rng, n, c, dtype, kind):
    if kind == "normalized":
        t = rng.uniform(0, 1, (n, c))
        t /= t.sum(axis=1, keepdims=True)
    elif kind == "unnormalized":
        t = rng.uniform(0, 1, (n, c))
        t[:, :: 2] = 0.0
    else:  # one-hot floats
        t = np.eye(c)[rng.integers(0, c, n)]
    return t.astype(dtype)


SW_KINDS = [None, "random", "list"]

# ------------------------------------------------------------------- mse

MSE_SHAPES = [(1,), (7,), (257,), (1, 1), (7, 33), (33, 7), (257, 33), (20000, 10)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("sw_kind", SW_KINDS)
@pytest.mark.parametrize("shape", MSE_SHAPES)
def test_mse_twins(rng, shape, sw_kind, dtype):
    pred, target = randn(rng, shape, dtype), randn(rng, shape, dtype)
    check_loss("mse", pred, target, sample_weight=_weights(rng, shape[0], sw_kind),
               what=f" {shape}")


# ---------------------------------------------------- softmax cross-entropy

CE_SHAPES = [(1, 1), (1, 7), (7, 33), (33, 7), (257, 33), (3000, 100)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8, np.intp])
@pytest.mark.parametrize("sw_kind", SW_KINDS)
@pytest.mark.parametrize("n,c", CE_SHAPES)
def test_softmax_cross_entropy_labels_twins(rng, n, c, sw_kind, label_dtype, dtype):
    logits = randn(rng, (n, c), dtype, scale=3.0)
    labels = rng.integers(0, c, n).astype(label_dtype)
    check_loss("softmax_cross_entropy", logits, labels,
               sample_weight=_weights(rng, n, sw_kind), what=f" {n}x{c}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("kind", ["normalized", "unnormalized", "onehot"])
@pytest.mark.parametrize("sw_kind", SW_KINDS)
@pytest.mark.parametrize("n,c", CE_SHAPES)
def test_softmax_cross_entropy_probs_twins(rng, n, c, sw_kind, kind, dtype):
    logits = randn(rng, (n, c), dtype, scale=3.0)
    check_loss("softmax_cross_entropy", logits, _probs(rng, n, c, dtype, kind),
               sample_weight=_weights(rng, n, sw_kind), what=f" {n}x{c} {kind}")


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_cross_entropy_labels_equal_onehot(rng, impl, dtype):
    """Integer labels and their one-hot probability rows are the same loss."""
    logits = randn(rng, (9, 5), dtype, scale=2.0)
    labels = rng.integers(0, 5, 9)
    onehot = np.eye(5, dtype=dtype)[labels]
    sw = rng.uniform(0.5, 2, 9)
    l1, g1 = impl.softmax_cross_entropy(logits, labels, sample_weight=sw)
    l2, g2 = impl.softmax_cross_entropy(logits, onehot, sample_weight=sw)
    rt = 1e-5 if dtype == np.float32 else 1e-12
    assert math.isclose(l1, l2, rel_tol=rt, abs_tol=rt)
    np.testing.assert_allclose(g1, g2, rtol=rt, atol=rt)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_cross_entropy_one_class(dtype):
    """With one class the loss and gradient are exactly 0 for labels."""
    logits = np.array([[3.0], [-2.0], [0.0]], dtype=dtype)
    labels = np.zeros(3, dtype=np.int64)
    for impl in IMPLS:
        loss, grad = impl.softmax_cross_entropy(logits, labels)
        assert loss == 0.0
        assert grad.dtype == dtype and not grad.any()


# ----------------------------------------------------- binary cross-entropy

BCE_SHAPES = [(1,), (7,), (257,), (10000,), (1, 1), (7, 33), (33, 7), (3000, 10)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("sw_kind", SW_KINDS)
@pytest.mark.parametrize("shape", BCE_SHAPES)
def test_binary_cross_entropy_twins(rng, shape, sw_kind, soft, dtype):
    logits = randn(rng, shape, dtype, scale=3.0)
    target = (rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape)).astype(dtype)
    if soft and target.size > 2:
        target.reshape(-1)[:2] = [0.0, 1.0]  # the interval's ends are valid targets
    check_loss("binary_cross_entropy", logits, target,
               sample_weight=_weights(rng, shape[0], sw_kind), what=f" {shape}")


# ------------------------------------------------------ options for all losses


def _example(rng, name, dtype, target_kind="labels"):
    if name == "mse":
        return randn(rng, (13, 5), dtype), randn(rng, (13, 5), dtype)
    if name == "binary_cross_entropy":
        return randn(rng, (13, 5), dtype), rng.uniform(0, 1, (13, 5)).astype(dtype)
    logits = randn(rng, (13, 5), dtype)
    if target_kind == "labels":
        return logits, rng.integers(0, 5, 13)
    return logits, _probs(rng, 13, 5, dtype, "normalized")


LOSS_VARIANTS = [("mse", None), ("binary_cross_entropy", None),
                 ("softmax_cross_entropy", "labels"), ("softmax_cross_entropy", "probs")]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,kind", LOSS_VARIANTS)
def test_return_grad_false(rng, name, kind, dtype):
    pred, target = _example(rng, name, dtype, kind)
    sw = rng.uniform(0.1, 1, 13)
    loss, grad = check_loss(name, pred, target, sample_weight=sw, return_grad=False)
    assert grad is None
    for impl in IMPLS:
        with_grad, _ = getattr(impl, name)(pred, target, sample_weight=sw)
        no_grad, g = getattr(impl, name)(pred, target, sample_weight=sw, return_grad=False)
        assert g is None
        assert no_grad == pytest.approx(with_grad, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,kind", LOSS_VARIANTS)
def test_grad_given(rng, name, kind, dtype):
    pred, target = _example(rng, name, dtype, kind)
    check_loss(name, pred, target, grad=np.full_like(pred, np.nan))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,kind", LOSS_VARIANTS)
def test_sample_weight_float64_list_and_dtype_kept(rng, name, kind, dtype):
    """sample_weight may be a list or another float dtype; grad keeps the input dtype."""
    pred, target = _example(rng, name, dtype, kind)
    sw64 = rng.uniform(0.1, 1, 13)
    _, g = check_loss(name, pred, target, sample_weight=sw64)
    assert g.dtype == dtype
    check_loss(name, pred, target, sample_weight=list(sw64))
    check_loss(name, pred, target, sample_weight=sw64.astype(np.float32))


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("name,kind", LOSS_VARIANTS)
def test_sample_weight_semantics(rng, impl, name, kind):
    """Uniform weights change nothing; an integer weight equals repeating the sample;
    zero weight equals dropping it (float64)."""
    pred, target = _example(rng, name, np.float64, kind)
    f = getattr(impl, name)
    base, gbase = f(pred, target)
    loss, g = f(pred, target, sample_weight=np.full(13, 3.0))
    assert loss == pytest.approx(base, rel=1e-12)
    np.testing.assert_allclose(g, gbase, rtol=1e-12, atol=1e-15)
    sw = np.ones(13)
    sw[0], sw[1] = 2.0, 0.0
    loss, _ = f(pred, target, sample_weight=sw)
    idx = [0] + list(range(2, 13))
    rep, _ = f(np.ascontiguousarray(pred[idx]), np.ascontiguousarray(target[idx]))
    # weights 2, 0, 1, ..., 1 == rows 0, 0, 2, ..., 12 unweighted
    idx2 = [0, 0] + list(range(2, 13))
    rep2, _ = f(np.ascontiguousarray(pred[idx2]), np.ascontiguousarray(target[idx2]))
    assert loss == pytest.approx(rep2, rel=1e-12)
    assert loss != pytest.approx(rep, rel=1e-9)  # the weight 2 really counts


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name,kind", LOSS_VARIANTS)
def test_extreme_logits_stay_finite(name, kind, dtype):
    big = np.array([[-1000.0, 1000.0, 0.0], [500.0, -80.0, 80.0], [1000.0, 999.0, -1000.0]],
                   dtype=dtype)
    if name == "mse":
        target = np.zeros_like(big)
    elif name == "binary_cross_entropy":
        target = np.array([[1, 0, 1], [0, 1, 0], [0.5, 1, 0]], dtype=dtype)
    elif kind == "labels":
        target = np.array([0, 1, 2])
    else:
        target = np.array([[0.5, 0, 0.5], [0, 1, 0], [0.25, 0.25, 0.5]], dtype=dtype)
    loss, grad = check_loss(name, big, target)
    for impl in IMPLS:
        loss, grad = getattr(impl, name)(big, target)
        assert math.isfinite(loss) and np.isfinite(grad).all(), impl.__name__


# ------------------------------------------------------------------ hypothesis


def _elems(dtype, lo=-20, hi=20):
    return st.floats(lo, hi, width=32 if dtype == np.float32 else 64)


@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES), two_d=st.booleans(),
       weighted=st.booleans())
def test_mse_property(data, dtype, two_d, weighted):
    n = data.draw(st.integers(1, 30), label="n")
    shape = (n, data.draw(st.integers(1, 12), label="d")) if two_d else (n,)
    pred = data.draw(hnp.arrays(dtype, shape, elements=_elems(dtype)), label="pred")
    target = data.draw(hnp.arrays(dtype, shape, elements=_elems(dtype)), label="target")
    sw = data.draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.5, 2)), label="sw") \
        if weighted else None
    check_loss("mse", pred, target, sample_weight=sw)


@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES), labels=st.booleans(),
       weighted=st.booleans())
def test_softmax_cross_entropy_property(data, dtype, labels, weighted):
    n = data.draw(st.integers(1, 30), label="n")
    c = data.draw(st.integers(1, 12), label="c")
    logits = data.draw(hnp.arrays(dtype, (n, c), elements=_elems(dtype, -50, 50)), label="z")
    if labels:
        target = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)),
                           label="labels")
    else:
        target = data.draw(hnp.arrays(dtype, (n, c), elements=_elems(dtype, 0, 1)), label="t")
    sw = data.draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.5, 2)), label="sw") \
        if weighted else None
    check_loss("softmax_cross_entropy", logits, target, sample_weight=sw)


@given(data=st.data(), dtype=st.sampled_from(FLOAT_DTYPES), two_d=st.booleans(),
       weighted=st.booleans())
def test_binary_cross_entropy_property(data, dtype, two_d, weighted):
    n = data.draw(st.integers(1, 30), label="n")
    shape = (n, data.draw(st.integers(1, 12), label="d")) if two_d else (n,)
    logits = data.draw(hnp.arrays(dtype, shape, elements=_elems(dtype, -50, 50)), label="z")
    target = data.draw(hnp.arrays(dtype, shape, elements=_elems(dtype, 0, 1)), label="t")
    sw = data.draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.5, 2)), label="sw") \
        if weighted else None
    check_loss("binary_cross_entropy", logits, target, sample_weight=sw)


# ------------------------------------------------- values by hand (plain Python)


def _hand_loss(name, pred, target, sw):
    n = pred.shape[0]
    w = [1.0] * n if sw is None else [float(v) for v in sw]
    per = []
    for i in range(n):
        z = [float(v) for v in np.ravel(pred[i])]
        if name == "mse":
            t = [float(v) for v in np.ravel(target[i])]
            per.append(sum((a - b) ** 2 for a, b in zip(z, t)) / len(z))
        elif name == "binary_cross_entropy":
            t = [float(v) for v in np.ravel(target[i])]
            terms = []
            for a, b in zip(z, t):
                p = 1 / (1 + math.exp(-a))
                terms.append(-(b * math.log(p) + (1 - b) * math.log(1 - p)))
            per.append(sum(terms) / len(z))
        else:
            if target.ndim == 1:
                t = [0.0] * len(z)
                t[int(target[i])] = 1.0
            else:
                t = [float(v) for v in target[i]]
            s = sum(math.exp(a) for a in z)
            per.append(-sum(b * math.log(math.exp(a) / s) for a, b in zip(z, t)))
    return sum(wi * li for wi, li in zip(w, per)) / sum(w)


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,kind,one_d", [("mse", None, False), ("mse", None, True),
                                             ("binary_cross_entropy", None, False),
                                             ("binary_cross_entropy", None, True),
                                             ("softmax_cross_entropy", "labels", False),
                                             ("softmax_cross_entropy", "probs", False)])
def test_value_matches_textbook_formula(rng, impl, name, kind, one_d, weighted):
    pred, target = _example(rng, name, np.float64, kind)
    if one_d:
        pred, target = np.ascontiguousarray(pred[:, 0]), np.ascontiguousarray(target[:, 0])
    sw = rng.uniform(0.1, 2, 13) if weighted else None
    loss, _ = getattr(impl, name)(pred, target, sample_weight=sw)
    assert isinstance(loss, float)
    assert loss == pytest.approx(_hand_loss(name, pred, target, sw), rel=1e-12, abs=1e-14)


# --------------------------------------------------- finite-difference gradients

FD_VARIANTS = [("mse", None, (6, 4)), ("mse", None, (6,)),
               ("binary_cross_entropy", None, (6, 4)), ("binary_cross_entropy", None, (6,)),
               ("softmax_cross_entropy", "labels", (6, 4)),
               ("softmax_cross_entropy", "probs", (6, 4)),
               ("softmax_cross_entropy", "unnormalized", (6, 4))]


@pytest.mark.parametrize("impl", IMPLS, ids=IMPL_IDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,kind,shape", FD_VARIANTS)
def test_grad_matches_finite_differences(rng, impl, name, kind, shape, weighted):
    """grad == d loss / d input, by central differences of the loss value (float64)."""
    f = getattr(impl, name)
    pred = rng.standard_normal(shape) * 2
    if name == "mse":
        target = rng.standard_normal(shape)
    elif name == "binary_cross_entropy":
        target = rng.uniform(0, 1, shape)
    elif kind == "labels":
        target = rng.integers(0, shape[1], shape[0])
    else:
        target = _probs(rng, shape[0], shape[1], np.float64,
                        "normalized" if kind == "probs" else "unnormalized")
    sw = None
    if weighted:
        sw = rng.uniform(0.2, 2.0, shape[0])
        sw[1] = 0.0
    _, grad = f(pred, target, sample_weight=sw)
    h = 1e-6
    numeric = np.empty_like(pred)
    for i in np.ndindex(shape):
        orig = pred[i]
        pred[i] = orig + h
        lp, _ = f(pred, target, sample_weight=sw, return_grad=False)
        pred[i] = orig - h
        lm, _ = f(pred, target, sample_weight=sw, return_grad=False)
        pred[i] = orig
        numeric[i] = (lp - lm) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    if weighted:
        assert not grad[1].any(), "a zero-weight sample has no gradient"
