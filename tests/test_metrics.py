"""fastnn.metrics: each function against scikit-learn's on random and edge inputs, its
input errors, and the metric names of fit/evaluate against the functions applied to the
model's predict outputs."""

import warnings

import numpy as np
import pytest

import fastnn
from fastnn import Dense, Sequential, metrics as M
from fastnn.datasets import load_digits
from fastnn.metrics import UndefinedMetricWarning


def _sk():
    return pytest.importorskip("sklearn.metrics")


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


RNG = np.random.default_rng(0)
LABEL_CASES = {
    "binary": (RNG.integers(0, 2, 50), RNG.integers(0, 2, 50)),
    "multiclass": (RNG.integers(0, 5, 80), RNG.integers(0, 5, 80)),
    "class_absent_from_pred": (np.array([0, 1, 2, 2, 1, 0, 2]), np.array([0, 1, 1, 1, 1, 0, 0])),
    "class_absent_from_true": (np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])),
    "all_one_class": (np.zeros(6, int), np.zeros(6, int)),
    "all_one_class_true": (np.ones(6, int), np.array([1, 0, 1, 1, 0, 1])),
    "strings": (np.array(["a", "b", "c", "a"]), np.array(["a", "c", "c", "b"])),
}


@pytest.mark.parametrize("case", list(LABEL_CASES))
def test_label_metrics_match_sklearn(case):
    sk = _sk()
    t, p = LABEL_CASES[case]
    assert M.accuracy(t, p) == pytest.approx(sk.accuracy_score(t, p))
    n_labels = len(np.unique(np.concatenate([t, p])))
    averages = ["macro", "micro", "weighted"] + (["binary"] if n_labels <= 2 and
                                                 t.dtype.kind != "U" else [])
    for average in averages:
        for ours, theirs in [(M.precision, sk.precision_score), (M.recall, sk.recall_score),
                             (M.f1, sk.f1_score)]:
            kw = {"pos_label": 1} if average == "binary" else {}
            want = _quiet(theirs, t, p, average=average, **kw)
            got = _quiet(ours, t, p, average=average, **kw)
            assert got == pytest.approx(want), (ours.__name__, average)


def test_zero_division_warns_and_gives_zero():
    t, p = np.array([0, 1, 2, 2]), np.array([0, 1, 1, 1])  # class 2 never predicted
    with pytest.warns(UndefinedMetricWarning, match="Precision"):
        assert M.precision(t, p, average="macro") == pytest.approx(
            (1 + 1 / 3 + 0) / 3)
    with pytest.warns(UndefinedMetricWarning):
        assert M.f1(np.zeros(3, int), np.zeros(3, int), average="binary") == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M.f1(t, p)  # f1 of a never predicted class is 0 without a zero denominator


def test_confusion_matrix_matches_sklearn():
    sk = _sk()
    for t, p in [LABEL_CASES["multiclass"], LABEL_CASES["class_absent_from_pred"],
                 LABEL_CASES["all_one_class"]]:
        n = int(max(t.max(), p.max())) + 1
        np.testing.assert_array_equal(
            M.confusion_matrix(t, p), _quiet(sk.confusion_matrix, t, p, labels=np.arange(n)))
    cm = M.confusion_matrix([0, 1], [1, 1], n_classes=4)
    assert cm.shape == (4, 4) and cm.sum() == 2 and cm[0, 1] == 1 and cm[1, 1] == 1


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("ties", [False, True])
def test_top_k_accuracy_matches_sklearn(k, ties):
    sk = _sk()
    scores = RNG.normal(size=(60, 5))
    if ties:
        scores = np.round(scores)  # many equal scores within a row
    t = RNG.integers(0, 5, 60)
    assert M.top_k_accuracy(t, scores, k) == pytest.approx(
        sk.top_k_accuracy_score(t, scores, k=k, labels=np.arange(5)))


def test_top_k_with_k_at_least_classes_warns_and_is_one():
    with pytest.warns(UndefinedMetricWarning):
        assert M.top_k_accuracy([0, 1], [[0.0, 1.0], [1.0, 0.0]], k=2) == 1.0


@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_matches_sklearn(ties):
    sk = _sk()
    for n in (2, 7, 100):
        t = RNG.integers(0, 2, n)
        t[0], t[1] = 0, 1
        s = RNG.normal(size=n)
        if ties:
            s = np.round(s)
        assert M.roc_auc(t, s) == pytest.approx(sk.roc_auc_score(t, s))
    s = np.array([0.5, 0.5, 0.5, 0.5])
    assert M.roc_auc([0, 1, 0, 1], s) == 0.5 == sk.roc_auc_score([0, 1, 0, 1], s)
    assert M.roc_auc(np.array([True, False]), np.array([[0.9], [0.1]])) == 1.0


def test_roc_auc_one_class_warns_nan():
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(M.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))


@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 3)])
def test_regression_metrics_match_sklearn(shape):
    sk = _sk()
    t = RNG.normal(size=shape)
    p = t + RNG.normal(scale=0.5, size=shape)
    assert M.mean_squared_error(t, p) == pytest.approx(sk.mean_squared_error(t, p))
    assert M.mean_absolute_error(t, p) == pytest.approx(sk.mean_absolute_error(t, p))
    assert M.r2(t, p) == pytest.approx(sk.r2_score(t, p))


def test_r2_edges_match_sklearn():
    sk = _sk()
    const = np.ones(5)
    assert M.r2(const, const) == sk.r2_score(const, const) == 1.0
    assert M.r2(const, const + 1) == sk.r2_score(const, const + 1) == 0.0
    t = np.column_stack([const, np.arange(5.0)])
    assert M.r2(t, t * 0.9) == pytest.approx(sk.r2_score(t, t * 0.9))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(M.r2([1.0], [2.0]))
    assert M.mean_squared_error([1, 2], [[1], [4]]) == 2.0  # (n,) against (n, 1)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: M.accuracy([], []), ValueError, "empty"),
    (lambda: M.accuracy([0, 1], [0]), ValueError, "2 samples but y_pred has 1"),
    (lambda: M.accuracy([[0, 1]], [[0, 1]]), ValueError, "1-D"),
    (lambda: M.accuracy([0.0, np.nan], [0, 1]), ValueError, "NaN"),
    (lambda: M.accuracy([0.5, 1.0], [0, 1]), ValueError, "non-integer"),
    (lambda: M.accuracy(["a"], [1]), TypeError, "mix strings"),
    (lambda: M.f1([0, 1], [0, 1], average="samples"), ValueError, "average must be"),
    (lambda: M.f1([0, 1, 2], [0, 1, 2], average="binary"), ValueError, "at most 2"),
    (lambda: M.precision([0, 2], [0, 2], average="binary"), ValueError, "pos_label=1"),
    (lambda: M.confusion_matrix([0, -1], [0, 1]), ValueError, ">= 0"),
    (lambda: M.confusion_matrix([0, 3], [0, 1], n_classes=2), ValueError, "out of range"),
    (lambda: M.top_k_accuracy([0, 1], [0.1, 0.2]), ValueError, "classes"),
    (lambda: M.top_k_accuracy([0, 3], np.zeros((2, 3)), k=1), ValueError, "column indices"),
    (lambda: M.top_k_accuracy([0, 1], np.zeros((2, 3)), k=0), ValueError, "k must"),
    (lambda: M.top_k_accuracy([0, 1], np.zeros((3, 3)), k=1), ValueError, "rows"),
    (lambda: M.roc_auc([0, 2], [0.1, 0.2]), ValueError, "binary"),
    (lambda: M.roc_auc([0, 1], [0.1, np.inf]), ValueError, "infinity"),
    (lambda: M.roc_auc([0, 1], np.zeros((2, 2, 2))), ValueError, "shape"),
    (lambda: M.roc_auc([0, 1, 3], np.full((3, 3), 1 / 3)), ValueError, "column indices"),
    (lambda: M.roc_auc([0, 1, 1], np.full((3, 3), 1 / 3)), ValueError, "no sample of class 2"),
    (lambda: M.roc_auc([0, 1, 2], np.eye(3), multi_class="raise"), ValueError, "multi_class"),
    (lambda: M.roc_auc([0, 1, 2], np.eye(3), average="micro"), ValueError, "average"),
    (lambda: M.roc_auc([0, 1, 2], np.eye(3), multi_class="ovo", sample_weight=[1, 1, 1]),
     ValueError, "not supported"),
    (lambda: M.accuracy([0, 1], [0, 1], sample_weight=[1.0]), ValueError, r"shape \(2,\)"),
    (lambda: M.accuracy([0, 1], [0, 1], sample_weight=[[1.0, 1.0]]), ValueError, "shape"),
    (lambda: M.f1([0, 1], [0, 1], sample_weight=[1.0, -1.0]), ValueError, ">= 0"),
    (lambda: M.r2([0, 1], [0, 1], sample_weight=[1.0, np.nan]), ValueError, "NaN"),
    (lambda: M.mean_squared_error([0, 1], [0, 1], sample_weight=[0, 0]), ValueError,
     "positive sum"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], sample_weight=["a", "b"]), TypeError,
     "numeric"),
    (lambda: M.mean_squared_error([1.0, 2.0], [1.0]), ValueError, "shape"),
    (lambda: M.mean_absolute_error([], []), ValueError, "empty"),
    (lambda: M.r2(["a"], ["b"]), TypeError, "numeric"),
    (lambda: M.r2([1.0, np.nan], [1.0, 2.0]), ValueError, "NaN"),
])
def test_bad_inputs_raise_clearly(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ================================================================== by name in fit/evaluate

@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X[:600], y[:600], X[600:900], y[600:900]


MULTICLASS = {
    "accuracy": lambda y, out: M.accuracy(y, out.argmax(1)),
    "precision": lambda y, out: M.precision(y, out.argmax(1), average="macro"),
    "recall": lambda y, out: M.recall(y, out.argmax(1), average="macro"),
    "f1": lambda y, out: M.f1(y, out.argmax(1), average="macro"),
    "top_k_accuracy": lambda y, out: M.top_k_accuracy(y, out, k=5),
    "top3_accuracy": lambda y, out: M.top_k_accuracy(y, out, k=3),
    "mse": lambda y, out: M.mean_squared_error(np.eye(10)[y], out),
    "mae": lambda y, out: M.mean_absolute_error(np.eye(10)[y], out),
    "r2": lambda y, out: M.r2(np.eye(10)[y], out),
}


@pytest.mark.parametrize("fused", [True, False])
def test_fit_and_evaluate_report_each_metric_multiclass(digits, fused):
    X, y, Xv, yv = digits
    names = list(MULTICLASS)
    model = Sequential([Dense(16, activation="relu"), Dense(10)], seed=0)
    model.fused = fused
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        h = model.fit(X, y, epochs=2, metrics=names, validation_data=(Xv, yv),
                      verbose=0).history
        for name in names:
            assert len(h[name]) == 2 and len(h["val_" + name]) == 2
        out, outv = model.predict(X), model.predict(Xv)
        for name in names:
            if name != "accuracy":  # accuracy during training: the running count
                assert h[name][-1] == pytest.approx(MULTICLASS[name](y, out), abs=1e-12), name
            assert h["val_" + name][-1] == pytest.approx(MULTICLASS[name](yv, outv),
                                                         abs=1e-12), name
        ev = model.evaluate(Xv, yv)
        assert set(ev) == {"loss", *names}
        for name in names:
            assert ev[name] == pytest.approx(MULTICLASS[name](yv, outv), abs=1e-12), name
        assert set(model.evaluate(Xv, yv, metrics=["f1"])) == {"loss", "f1"}
        assert set(model.evaluate(Xv, yv, metrics=None)) == {"loss", *names}


def test_fit_and_evaluate_binary_metrics(digits):
    X, y, Xv, yv = digits
    yb, yvb = (y == 3).astype(np.int64), (yv == 3).astype(np.int64)
    names = ["accuracy", "precision", "recall", "f1", "auc", "mse", "mae", "r2"]
    model = Sequential([Dense(16, activation="relu"), Dense(1)], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        h = model.fit(X, yb, epochs=3, loss="binary_cross_entropy", metrics=names,
                      validation_data=(Xv, yvb), verbose=0).history
        ev = model.evaluate(Xv, yvb)
    outv = model.predict(Xv)
    pred = model.predict_classes(Xv)
    want = {
        "precision": M.precision(yvb, pred, average="binary"),
        "recall": M.recall(yvb, pred, average="binary"),
        "f1": M.f1(yvb, pred, average="binary"),
        "auc": M.roc_auc(yvb, outv[:, 0]),
        "mse": M.mean_squared_error(yvb, outv),
        "mae": M.mean_absolute_error(yvb, outv),
        "r2": M.r2(yvb, outv),
    }
    for name, value in want.items():
        assert h["val_" + name][-1] == pytest.approx(value, abs=1e-12), name
        assert ev[name] == pytest.approx(value, abs=1e-12), name
    assert 0.5 < ev["auc"] <= 1.0


def test_regression_metrics_by_name():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = Sequential([Dense(8, activation="tanh"), Dense(1)], seed=0)
    h = model.fit(X, y, epochs=3, loss="mse", metrics=["mse", "mae", "r2"], verbose=0).history
    out = model.predict(X)
    assert h["r2"][-1] == pytest.approx(M.r2(y, out), abs=1e-12)
    assert h["mae"][-1] == pytest.approx(M.mean_absolute_error(y, out), abs=1e-12)
    assert "accuracy" not in model.evaluate(X, y)
    with pytest.raises(ValueError, match="classification targets"):
        model.fit(X, y, epochs=1, loss="mse", metrics=["f1"], verbose=0)
    with pytest.raises(ValueError, match="classification targets"):
        model.evaluate(X, y, metrics=["auc"])


def test_no_extra_pass_without_extra_metrics(digits, monkeypatch):
    X, y, _, _ = digits
    model = Sequential([Dense(8, activation="relu"), Dense(10)], seed=0)
    calls = []
    real = model._predict
    monkeypatch.setattr(model, "_predict", lambda *a: calls.append(1) or real(*a))
    model.fit(X, y, epochs=2, verbose=0)
    assert calls == []
    model.fit(X, y, epochs=2, metrics=["accuracy", "f1"], verbose=0)
    assert len(calls) == 2


def test_unknown_metric_lists_the_valid_ones(digits):
    X, y, _, _ = digits
    model = Sequential([Dense(8), Dense(10)], seed=0)
    for bad in ("f2", "top0_accuracy", 3):
        with pytest.raises(ValueError, match=r"unknown metric .*valid metrics: accuracy, "
                                             r"top_k_accuracy, precision, recall, f1, auc, "
                                             r"mse, mae, r2"):
            model.fit(X, y, epochs=0, metrics=[bad], verbose=0)
    model.fit(X, y, epochs=0, verbose=0)
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        model.evaluate(X, y, metrics="nope")
    with pytest.raises(ValueError, match="auc.*binary"):
        model.fit(X, y, epochs=0, metrics=["auc"], verbose=0)


def test_metric_names_survive_save_and_load(digits, tmp_path):
    X, y, _, _ = digits
    model = Sequential([Dense(8, activation="relu"), Dense(10)], seed=0)
    model.fit(X, y, epochs=1, metrics=["acc", "f1", "top3_accuracy"], verbose=0)
    assert model.metrics == ("accuracy", "f1", "top3_accuracy")
    model.save(tmp_path / "m.fastnn")
    loaded = fastnn.load(tmp_path / "m.fastnn")
    assert loaded.metrics == model.metrics
    assert set(loaded.evaluate(X, y)) == {"loss", "accuracy", "f1", "top3_accuracy"}


# ================================================================== sample weights

def _weights_for(n, kind, rng):
    """Float weights with some zeros, or small integers (some 0), one per sample."""
    if kind == "int":
        return rng.integers(0, 4, n)
    w = rng.random(n) * 3
    w[rng.random(n) < 0.2] = 0.0
    return w


@pytest.mark.parametrize("wkind", ["float", "int"])
@pytest.mark.parametrize("case", list(LABEL_CASES))
def test_weighted_label_metrics_match_sklearn(case, wkind):
    sk = _sk()
    t, p = LABEL_CASES[case]
    rng = np.random.default_rng(len(case))
    w = _weights_for(t.shape[0], wkind, rng)
    if w.sum() == 0:
        w[0] = 1
    assert M.accuracy(t, p, sample_weight=w) == pytest.approx(
        sk.accuracy_score(t, p, sample_weight=w), rel=1e-12)
    n_labels = len(np.unique(np.concatenate([t, p])))
    averages = ["macro", "micro", "weighted"] + (["binary"] if n_labels <= 2 and
                                                 t.dtype.kind != "U" else [])
    for average in averages:
        for ours, theirs in [(M.precision, sk.precision_score), (M.recall, sk.recall_score),
                             (M.f1, sk.f1_score)]:
            kw = {"pos_label": 1} if average == "binary" else {}
            want = _quiet(theirs, t, p, average=average, sample_weight=w, **kw)
            got = _quiet(ours, t, p, average=average, sample_weight=w, **kw)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15), (ours.__name__, average)
    if t.dtype.kind != "U":
        n = int(max(t.max(), p.max())) + 1
        got = M.confusion_matrix(t, p, sample_weight=w)
        want = _quiet(sk.confusion_matrix, t, p, labels=np.arange(n), sample_weight=w)
        assert got.dtype == want.dtype == (np.int64 if wkind == "int" else np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_weights_change_the_label_metrics():
    """Not ignored: zero weight on the misclassified samples makes every score perfect."""
    t, p = np.array([0, 1, 2, 2, 1]), np.array([0, 1, 1, 2, 0])
    w = (t == p).astype(float)
    assert M.accuracy(t, p) == 0.6 and M.accuracy(t, p, sample_weight=w) == 1.0
    for fn in (M.precision, M.recall, M.f1):
        assert fn(t, p) < 1.0 and fn(t, p, sample_weight=w) == 1.0
    np.testing.assert_array_equal(M.confusion_matrix(t, p, sample_weight=w),
                                  np.diag([1.0, 1.0, 1.0]))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_weighted_top_k_matches_sklearn(k):
    sk = _sk()
    rng = np.random.default_rng(k)
    scores = np.round(rng.normal(size=(70, 5)), 1)
    t = rng.integers(0, 5, 70)
    w = _weights_for(70, "float", rng)
    assert M.top_k_accuracy(t, scores, k, sample_weight=w) == pytest.approx(
        sk.top_k_accuracy_score(t, scores, k=k, labels=np.arange(5), sample_weight=w),
        rel=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_weighted_binary_roc_auc_matches_sklearn(ties):
    sk = _sk()
    rng = np.random.default_rng(7)
    for n in (3, 10, 200):
        t = rng.integers(0, 2, n)
        t[0], t[1] = 0, 1
        s = rng.normal(size=n)
        if ties:
            s = np.round(s)
        w = rng.random(n) * 2
        w[:2] = 1.0  # one positive and one negative keep weight
        assert M.roc_auc(t, s, sample_weight=w) == pytest.approx(
            sk.roc_auc_score(t, s, sample_weight=w), rel=1e-12)
    # weight 0 on every positive: one class left, as unweighted with one class
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(M.roc_auc([0, 1, 0], [0.1, 0.2, 0.3], sample_weight=[1, 0, 1]))
    # integer weights count as repeated samples
    t, s = np.array([0, 1, 1, 0]), np.array([0.3, 0.2, 0.9, 0.1])
    assert M.roc_auc(t, s, sample_weight=[2, 1, 1, 1]) == pytest.approx(
        M.roc_auc(np.r_[t, 0], np.r_[s, 0.3]), rel=1e-15)


def _probabilities(rng, n, c, ties):
    """Rows of class probabilities (each sums to 1). With ties: rows drawn from a palette
    of 6 rows, so every column holds many equal scores."""
    z = rng.normal(size=(6 if ties else n, c))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return p[rng.integers(0, 6, n)] if ties else p


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("c", [2, 3, 6])
def test_multiclass_roc_auc_matches_sklearn(c, ties):
    sk = _sk()
    rng = np.random.default_rng(c)
    n = 150
    t = rng.integers(0, c, n)
    t[:c] = np.arange(c)
    s = _probabilities(rng, n, c, ties)
    # scikit-learn reads two classes as binary, from the positive class's column
    sk_auc = (lambda **kw: sk.roc_auc_score(t, s[:, 1], sample_weight=kw.get("sample_weight"))) \
        if c == 2 else (lambda **kw: sk.roc_auc_score(t, s, **kw))
    w = rng.random(n)
    for average in ("macro", "weighted"):
        for mc in ("ovr", "ovo"):
            got = M.roc_auc(t, s, multi_class=mc, average=average)
            assert got == pytest.approx(sk_auc(multi_class=mc, average=average),
                                        rel=1e-12), (mc, average)
        got = M.roc_auc(t, s, multi_class="ovr", average=average, sample_weight=w)
        assert got == pytest.approx(
            sk_auc(multi_class="ovr", average=average, sample_weight=w), rel=1e-12)


def test_multiclass_roc_auc_by_hand():
    """One-vs-rest and one-vs-one written out on a 3-class example."""
    t = np.array([0, 0, 1, 1, 2, 2])
    s = np.array([[0.8, 0.1, 0.1], [0.3, 0.4, 0.3], [0.2, 0.7, 0.1],
                  [0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.4, 0.1, 0.5]])
    # ovr, class 0 on column 0: positives 0.8, 0.3; negatives 0.2, 0.5, 0.1, 0.4
    # pairs won: 0.8 beats 4, 0.3 beats 2 (0.2, 0.1) -> 6 / 8
    ovr0, ovr1, ovr2 = 6 / 8, 7 / 8, 8 / 8  # columns 1 and 2 counted the same way
    assert M.roc_auc(t, s) == pytest.approx((ovr0 + ovr1 + ovr2) / 3)
    w = np.array([1, 1, 1, 1, 2, 2])
    # weighted samples: class 1 on column 1, 0.7 beats negative weight 6 of 6, 0.3 beats
    # 0.1 (weight 1) + 0.2 (2) + 0.1 (2) -> 11 / 12; class 0: 9 / 12; class 2: 1. The
    # weighted average weights the classes by their weight, 2, 2 and 4
    assert M.roc_auc(t, s, average="weighted", sample_weight=w) == pytest.approx(
        (2 * 9 / 12 + 2 * 11 / 12 + 4 * 1.0) / 8)
    assert M.roc_auc(t, s, sample_weight=w) == pytest.approx((9 / 12 + 11 / 12 + 1.0) / 3)
    # ovo pair (0, 1): 0 vs 1 on column 0: {0.8, 0.3} vs {0.2, 0.5} -> 3/4;
    # 1 vs 0 on column 1: {0.7, 0.3} vs {0.1, 0.4} -> 3/4
    both = np.isin(t, (0, 1))
    assert M.roc_auc(t[both] == 0, s[both, 0]) == 0.75
    assert M.roc_auc(t[both] == 1, s[both, 1]) == 0.75


@pytest.mark.parametrize("shape", [(40,), (40, 3)])
def test_weighted_regression_metrics_match_sklearn(shape):
    sk = _sk()
    rng = np.random.default_rng(3)
    t = rng.normal(size=shape)
    p = t + rng.normal(scale=0.5, size=shape)
    w = _weights_for(40, "float", rng)
    for ours, theirs in [(M.mean_squared_error, sk.mean_squared_error),
                         (M.mean_absolute_error, sk.mean_absolute_error),
                         (M.r2, sk.r2_score)]:
        got, want = ours(t, p, sample_weight=w), theirs(t, p, sample_weight=w)
        assert got == pytest.approx(want, rel=1e-12), ours.__name__
        assert got != pytest.approx(ours(t, p), rel=1e-6), ours.__name__  # weights count
    # a column that is constant where the weight is: SS_tot 0, as scikit-learn
    t2 = np.column_stack([np.r_[np.ones(5), 9.0], np.arange(6.0)])
    w2 = np.r_[np.ones(5), 0.0]
    assert M.r2(t2, t2, sample_weight=w2) == sk.r2_score(t2, t2, sample_weight=w2)
    assert M.r2(t2, t2 * 0.9, sample_weight=w2) == pytest.approx(
        sk.r2_score(t2, t2 * 0.9, sample_weight=w2), rel=1e-12)


def test_fit_metrics_are_not_weighted(digits):
    """fit(sample_weight=w) weights the loss; the metrics it logs are over the samples
    unweighted (Keras' ``metrics=``, not ``weighted_metrics=``)."""
    X, y, _, _ = digits
    w = np.where(y < 5, 1.0, 0.05)
    model = Sequential([Dense(16, activation="relu"), Dense(10)], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        h = model.fit(X, y, epochs=2, sample_weight=w, metrics=["accuracy", "f1", "r2"],
                      verbose=0).history
        out = model.predict(X)
        f1_plain = M.f1(y, out.argmax(1))
        f1_weighted = M.f1(y, out.argmax(1), sample_weight=w)
    assert h["f1"][-1] == pytest.approx(f1_plain, abs=1e-12)
    assert abs(f1_plain - f1_weighted) > 1e-3  # the test can tell the two apart
    assert h["r2"][-1] == pytest.approx(M.r2(np.eye(10)[y], out), abs=1e-12)
