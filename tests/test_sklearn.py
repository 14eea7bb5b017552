"""fastnn.sklearn: scikit-learn's own estimator checks, use inside Pipeline and
GridSearchCV, accuracy against scikit-learn's MLP on the embedded digits, and the
attributes and behaviours scikit-learn users rely on."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnn.datasets import load_digits  # noqa: E402
from fastnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@parametrize_with_checks([MLPClassifier(max_iter=30, random_state=0),
                          MLPRegressor(max_iter=30, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    X = X.reshape(len(X), -1).astype(np.float64)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_accuracy_comparable_to_scikit_learn_on_the_digits(digits):
    # the same settings on both; measured: fastnn 0.98, scikit-learn 0.98 (seed 0)
    from sklearn.neural_network import MLPClassifier as SkMLP

    Xtr, Xte, ytr, yte = digits
    kw = dict(hidden_layer_sizes=(64,), max_iter=60, random_state=0, batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = make_pipeline(StandardScaler(), MLPClassifier(**kw)).fit(Xtr, ytr)
        theirs = make_pipeline(StandardScaler(), SkMLP(**kw)).fit(Xtr, ytr)
    a, b = ours.score(Xte, yte), theirs.score(Xte, yte)
    assert a >= 0.95
    assert a >= b - 0.02, (a, b)  # the stated margin: within 2 points of scikit-learn


def test_grid_search_in_a_pipeline(digits):
    Xtr, Xte, ytr, yte = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=40, batch_size=64,
                                                         random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(16,), (32,)],
                               "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(Xtr, ytr)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.score(Xte, yte) > 0.9


def test_fitted_attributes_and_float32(digits):
    Xtr, Xte, ytr, yte = digits
    X32 = Xtr.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(20, 10), max_iter=5, random_state=1).fit(X32, ytr)
    assert [W.shape for W in clf.coefs_] == [(64, 20), (20, 10), (10, 10)]
    assert [b.shape for b in clf.intercepts_] == [(20,), (10,), (10,)]
    assert all(W.dtype == np.float32 for W in clf.coefs_)  # float32 stays float32
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf.n_iter_ == 5 == len(clf.loss_curve_)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.n_features_in_ == 64 and list(clf.classes_) == list(range(10))
    assert clf.best_validation_score_ is None and clf.best_loss_ == min(clf.loss_curve_)
    np.testing.assert_allclose(clf.predict_proba(X32).sum(axis=1), 1.0, rtol=1e-5)


def test_early_stopping_keeps_the_best_validation_weights(digits):
    Xtr, _, ytr, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=3,
                        max_iter=200, random_state=0).fit(Xtr, ytr)
    assert clf.best_loss_ is None
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.validation_scores_) == clf.n_iter_ < 200  # stopped early


def test_partial_fit_and_warm_start(digits):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), batch_size=32, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(Xtr[:50], ytr[:50])
    for _ in range(10):
        clf.partial_fit(Xtr, ytr, classes=np.arange(10))
    assert clf.n_iter_ == 10 and clf.score(Xte, yte) > 0.9
    w = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        w.fit(Xtr, ytr.astype(float))
        first = [c.copy() for c in w.coefs_]
        w.fit(Xtr, ytr.astype(float))
    assert w.n_iter_ == 6 and len(w.loss_curve_) == 6
    assert not np.array_equal(first[0], w.coefs_[0])


def test_sgd_solver_schedules_and_regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.01 * rng.standard_normal(400)
    for lr in ("constant", "invscaling", "adaptive"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg = MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate=lr,
                               learning_rate_init=0.01, max_iter=100, random_state=0).fit(X, y)
        assert reg.predict(X).shape == (400,)
        if lr == "invscaling":  # lr_init / (samples seen + 1) ** 0.5: slow by design
            assert reg.loss_curve_[-1] < 0.8 * reg.loss_curve_[0]
            assert reg._optimizer.lr == pytest.approx(0.01 / (reg.t_ + 1) ** 0.5)
        else:
            assert reg.score(X, y) > 0.9, lr
    Y2 = np.stack([y, -y], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=200, random_state=0).fit(X, Y2)
    assert reg.predict(X).shape == (400, 2) and reg.score(X, Y2) > 0.9


def test_pickle_round_trip(digits):
    Xtr, Xte, ytr, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(Xtr, ytr)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(Xte), clf.predict_proba(Xte))
    again.partial_fit(Xtr, ytr)  # trains on after unpickling (fresh optimizer state)
    assert again.n_iter_ == 6


def test_bad_parameters_are_clear_errors(digits):
    Xtr, _, ytr, _ = digits
    for params, match in (({"solver": "lbfgs"}, "no 'lbfgs'"),
                          ({"hidden_layer_sizes": (0,)}, "positive integers"),
                          ({"activation": "gelu"}, "activation must be"),
                          ({"batch_size": 0}, "batch_size")):
        with pytest.raises(ValueError, match=match):
            MLPClassifier(**params).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="NaN|infinity"):
        MLPClassifier().fit(np.full((4, 2), np.nan), [0, 1, 0, 1])


def test_import_fastnn_does_not_import_scikit_learn(tmp_path):
    import fastnn

    parent = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    code = "import sys, fastnn; print('sklearn' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=parent + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=tmp_path).stdout.strip()
    assert out == "False"
