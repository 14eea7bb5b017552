"""fit(class_weight=...): per-class weights become per-sample weights, on both training
paths; "balanced" is scikit-learn's compute_class_weight."""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from fastnn import SGD, Adam, Dense, Sequential
from fastnn._class_weight import class_weights


def _data(n=90, d=5, classes=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    # unbalanced: class 0 is rare
    y = np.where(rng.random(n) < 0.15, 0, rng.integers(1, classes, n)).astype(np.int64)
    return X, y


def _model(out=3, dtype=np.float64):
    return Sequential([Dense(6, activation="tanh"), Dense(out)], seed=4, dtype=dtype)


def _fit(fused, X, y, dtype=np.float64, out=3, **kw):
    m = _model(out, dtype)
    m.fused = fused
    m.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(lr=0.1, momentum=0.5), verbose=0,
          shuffle=True, **kw)
    return m


def _same(m1, m2, exact=True):
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_balanced_is_scikit_learns_compute_class_weight():
    _, y = _data()
    want = compute_class_weight("balanced", classes=np.unique(y), y=y)
    got = class_weights("balanced", y.astype(np.intp), 3)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    # a class absent from y: the present ones as scikit-learn computes them
    y2 = y[y != 1]
    got2 = class_weights("balanced", y2.astype(np.intp), 3)
    want2 = compute_class_weight("balanced", classes=np.unique(y2), y=y2)
    np.testing.assert_allclose(got2[[0, 2]], want2, rtol=1e-15)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("cw", [{0: 4.0, 2: 0.5}, "balanced"], ids=["dict", "balanced"])
@pytest.mark.parametrize("with_sw", [False, True])
def test_class_weight_is_sample_weight_by_class(fused, cw, with_sw):
    """The oracle: the same fit with sample_weight = class weight of each sample's label
    (times the given sample weight), computed here by hand."""
    X, y = _data()
    sw = np.random.default_rng(5).random(len(y)) + 0.5 if with_sw else None
    if cw == "balanced":
        counts = np.bincount(y, minlength=3)
        per_class = len(y) / (3 * counts)
    else:
        per_class = np.array([4.0, 1.0, 0.5])
    manual = per_class[y] * (sw if sw is not None else 1.0)
    a = _fit(fused, X, y, class_weight=cw, sample_weight=sw)
    b = _fit(fused, X, y, sample_weight=manual)
    _same(a, b, exact=False)
    # and it matters
    c = _fit(fused, X, y, sample_weight=sw)
    assert not all(np.allclose(u, v) for u, v in zip(a.get_weights(), c.get_weights()))


@pytest.mark.parametrize("cw", [{0: 3.0, 1: 0.7}, "balanced"], ids=["dict", "balanced"])
def test_both_paths_agree(cw):
    X, y = _data()
    _same(_fit(True, X, y, class_weight=cw), _fit(False, X, y, class_weight=cw), exact=False)


def test_one_hot_targets_and_binary_cross_entropy():
    X, y = _data()
    onehot = np.eye(3)[y]
    a = _fit(True, X, onehot, class_weight={0: 2.0})
    b = _fit(True, X, onehot, sample_weight=np.where(y == 0, 2.0, 1.0))
    _same(a, b, exact=False)

    yb = (y == 0).astype(np.float64)
    kw = dict(loss="binary_cross_entropy")
    balanced = compute_class_weight("balanced", classes=np.array([0, 1]), y=yb.astype(int))
    for target in (yb, yb[:, None]):
        a = _fit(False, X, target, out=1, class_weight="balanced", **kw)
        b = _fit(False, X, target, out=1, sample_weight=balanced[yb.astype(int)], **kw)
        _same(a, b, exact=False)


def test_validation_split_balances_the_training_rows():
    X, y = _data()
    split = int(len(y) * 0.8)
    ytr = y[:split]
    per_class = compute_class_weight("balanced", classes=np.unique(ytr), y=ytr)
    m1 = _model()
    m1.fit(X, y, epochs=1, batch_size=16, shuffle=False, validation_split=0.2,
           class_weight="balanced", optimizer=SGD(lr=0.1), verbose=0)
    m2 = _model()
    m2.fit(X[:split], ytr, epochs=1, batch_size=16, shuffle=False,
           sample_weight=per_class[ytr], optimizer=SGD(lr=0.1), verbose=0)
    _same(m1, m2, exact=False)


@pytest.mark.parametrize("kw,exc,match", [
    (dict(class_weight={3: 1.0}), ValueError, "class 3"),
    (dict(class_weight={-1: 1.0}), ValueError, "class -1"),
    (dict(class_weight={"a": 1.0}), ValueError, "class 'a'"),
    (dict(class_weight={0: -1.0}), ValueError, "must be a finite number >= 0"),
    (dict(class_weight={0: float("nan")}), ValueError, "finite"),
    (dict(class_weight={0: 0.0, 1: 0.0, 2: 0.0}), ValueError, "weight 0"),
    (dict(class_weight="balance"), ValueError, "'balanced'"),
    (dict(class_weight=[1.0, 2.0, 3.0]), TypeError, "dict"),
    (dict(class_weight={0: 2.0}, loss="mse"), ValueError, "classification losses"),
])
def test_bad_class_weight(kw, exc, match):
    X, y = _data()
    m = _model()
    with pytest.raises(exc, match=match):
        m.fit(X, y, epochs=1, verbose=0, **kw)


def test_soft_targets_and_multilabel_are_refused():
    X, y = _data()
    soft = np.full((len(y), 3), 1 / 3)
    with pytest.raises(ValueError, match="one-hot"):
        _model().fit(X, soft, epochs=1, verbose=0, class_weight={0: 2.0})
    multi = (np.random.default_rng(1).random((len(y), 2)) > 0.5).astype(np.float64)
    with pytest.raises(ValueError, match="one binary output"):
        _model(2).fit(X, multi, loss="binary_cross_entropy", epochs=1, verbose=0,
                      class_weight={1: 2.0})


def test_float32_model():
    X, y = _data(dtype=np.float32)
    a = _fit(True, X, y, dtype=np.float32, class_weight="balanced")
    b = _fit(False, X, y, dtype=np.float32, class_weight="balanced")
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=2e-4, atol=1e-6)
    assert a.optimizer is not None and isinstance(a.optimizer, (SGD, Adam))


# ------------------------------------------------------------------ scikit-learn estimator


def _clf_data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 4))
    y = np.where(X[:, 0] + 0.3 * rng.standard_normal(120) > 1.0, "rare", "common")
    return X, y


def _clf(**kw):
    from fastnn.sklearn import MLPClassifier
    return MLPClassifier(hidden_layer_sizes=(5,), max_iter=15, random_state=0,
                         learning_rate_init=0.01, **kw)


def test_mlp_classifier_class_weight_by_label():
    import warnings

    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    X, y = _clf_data()
    balanced = compute_class_weight("balanced", classes=np.unique(y), y=y)
    by_label = dict(zip(np.unique(y), balanced))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = _clf(class_weight="balanced").fit(X, y)
        b = clone(_clf(class_weight=by_label)).fit(X, y)
        c = _clf().fit(X, y)
        d = _clf(class_weight={"rare": 20.0}).fit(X, y)
    assert a.get_params()["class_weight"] == "balanced"
    for u, v in zip(a.coefs_, b.coefs_):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    # weighting the rare class up finds more of it
    assert (d.predict(X) == "rare").sum() > (c.predict(X) == "rare").sum()
    with pytest.raises(ValueError, match="label 'other'"):
        _clf(class_weight={"other": 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit"):
        _clf(class_weight="balanced").partial_fit(X, y, classes=np.unique(y))
