"""scikit-learn estimators trained by fastnn: ``MLPClassifier`` and ``MLPRegressor``.

    from fastnn.sklearn import MLPClassifier       # instead of sklearn.neural_network
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=20).fit(X, y)

Parameter names, meanings and fitted attributes follow ``sklearn.neural_network``
(``coefs_``, ``intercepts_``, ``loss_curve_``, ``n_iter_``, ``classes_``,
``best_validation_score_``, ``n_features_in_``, ...), so the estimators work in
``Pipeline``, ``GridSearchCV`` and the rest of scikit-learn. Every epoch runs as one call
into fastnn's fused native training loop. float32 input is trained in float32; anything
else in float64.

Differences from scikit-learn, on purpose:
- solvers "adam" and "sgd" only (no "lbfgs");
- ``alpha`` is applied as L2 weight decay ``alpha / batch_size`` on the weights (the
  intercepts are left alone, as in scikit-learn), with the full batch size also for a
  last, smaller batch;
- SGD momentum in PyTorch's form (v = momentum v + g; w -= lr v) where scikit-learn uses
  v = momentum v - lr g; w += v: the same steps at a constant learning rate, but with
  learning_rate="invscaling" a lowered rate applies to the whole velocity at once, so
  training slows sooner than scikit-learn's;
- with several binary outputs (multilabel) the gradient is averaged over the outputs
  where scikit-learn sums it (a constant factor, which Adam does not see);
- pickling keeps the weights and the training state (``loss_curve_`` etc.) but not the
  optimizer's moments: ``partial_fit`` after unpickling starts the optimizer afresh.

Needs scikit-learn: ``pip install "fastnn[sklearn]"``. ``import fastnn`` never imports
this module.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("fastnn.sklearn needs scikit-learn >= 1.6: "
                      "pip install 'fastnn[sklearn]'") from e

from .layers import Dense
from .model import Sequential
from .optimizers import SGD, Adam

if TYPE_CHECKING:
    from sklearn.utils import Tags
    from typing_extensions import Self

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"identity": None, "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


class _BaseMLP(BaseEstimator):  # type: ignore[misc]  # scikit-learn is untyped
    """Shared by MLPClassifier and MLPRegressor; parameters as in scikit-learn."""

    coefs_: list[NDArray[Any]]
    intercepts_: list[NDArray[Any]]
    loss_curve_: list[float]
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    best_loss_: float | None
    _model: Sequential | None
    _optimizer: SGD | Adam | None
    _best: list[NDArray[Any]] | None

    if TYPE_CHECKING:  # defined by MLPClassifier and MLPRegressor
        def _prepare(self, X: ArrayLike, y: ArrayLike, reset: bool,
                     incremental: bool) -> tuple[NDArray[Any], NDArray[Any]]: ...

        def _stratify(self, Y: NDArray[Any]) -> NDArray[Any] | None: ...

        def _val_score(self, Xv: NDArray[Any], Yv: NDArray[Any]) -> float: ...

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------------ checks

    def _validate_params(self) -> list[int]:
        def num(name: str, lo: float, hi: float | None = None, lo_open: bool = False,
                integer: bool = False) -> None:
            v = getattr(self, name)
            kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
            if isinstance(v, bool) or not isinstance(v, kind):
                raise ValueError(f"{name} must be a{'n integer' if integer else ' number'}, "
                                 f"got {v!r}")
            if (v <= lo if lo_open else v < lo) or (hi is not None and v > hi):
                raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}"
                                 + (f" and <= {hi}" if hi is not None else "") + f", got {v!r}")

        hidden: Any = self.hidden_layer_sizes  # whatever was set; checked below
        hidden = [hidden] if np.isscalar(hidden) else list(hidden)
        if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
               for h in hidden):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got "
                             f"{self.hidden_layer_sizes!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got "
                             f"{self.activation!r}")
        if self.solver not in ("adam", "sgd"):
            raise ValueError(f"solver must be 'adam' or 'sgd' (fastnn has no 'lbfgs'), got "
                             f"{self.solver!r}")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError("learning_rate must be 'constant', 'invscaling' or 'adaptive', "
                             f"got {self.learning_rate!r}")
        if not (self.batch_size == "auto" or (isinstance(self.batch_size, (int, np.integer))
                                              and not isinstance(self.batch_size, bool)
                                              and self.batch_size >= 1)):
            raise ValueError(f"batch_size must be 'auto' or a positive integer, got "
                             f"{self.batch_size!r}")
        num("alpha", 0.0)
        num("learning_rate_init", 0.0, lo_open=True)
        num("power_t", 0.0)
        num("max_iter", 1, integer=True)
        num("tol", 0.0)
        num("momentum", 0.0, 1.0)
        num("validation_fraction", 0.0, 1.0, lo_open=True)
        if self.validation_fraction >= 1.0:
            raise ValueError(f"validation_fraction must be < 1, got {self.validation_fraction}")
        num("beta_1", 0.0, 1.0)
        num("beta_2", 0.0, 1.0)
        if self.beta_1 >= 1.0 or self.beta_2 >= 1.0:
            raise ValueError("beta_1 and beta_2 must be in [0, 1)")
        num("epsilon", 0.0, lo_open=True)
        num("n_iter_no_change", 1, integer=True)
        return [int(h) for h in hidden]

    # ---------------------------------------------------------------- training

    def _batch(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped", UserWarning)
        return int(min(self.batch_size, n))

    def _new_model(self, n_in: int, hidden: Sequence[int], n_out: int, dtype: np.dtype[Any],
                   rng: np.random.RandomState) -> Sequential:
        act = _ACTIVATIONS[self.activation]
        layers = [Dense(h, activation=act, kernel_init="glorot") for h in hidden]
        layers.append(Dense(n_out, activation=self._out_activation, kernel_init="glorot"))
        model = Sequential(layers, seed=int(rng.randint(np.iinfo(np.int32).max)), dtype=dtype)
        model.build((n_in,))
        return model

    def _new_optimizer(self, batch: int) -> SGD | Adam:
        wd = self.alpha / batch
        if self.solver == "adam":
            return Adam(lr=self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                        eps=self.epsilon, weight_decay=wd, decay_biases=False)
        return SGD(lr=self.learning_rate_init, momentum=self.momentum,
                   nesterov=bool(self.nesterovs_momentum and self.momentum > 0),
                   weight_decay=wd, decay_biases=False)

    def _model_class_weight(self, incremental: bool) -> dict[int, float] | str | None:
        """class_weight as Sequential.fit takes it (classes as the model's outputs)."""
        return None

    def _dense_layers(self) -> list[Dense]:
        assert self._model is not None
        return [layer for layer in self._model.layers if isinstance(layer, Dense)]

    def _export(self) -> None:
        """The model's weights as scikit-learn's coefs_ / intercepts_ (copies)."""
        dense = self._dense_layers()
        self.coefs_ = [layer.params["W"].copy() for layer in dense]
        self.intercepts_ = [layer.params["b"].copy() for layer in dense]
        self.n_layers_ = len(dense) + 1
        self.n_outputs_ = int(dense[-1].params["W"].shape[1])

    def _import(self) -> None:
        """coefs_ / intercepts_ into the model (after unpickling or user edits)."""
        for layer, W, b in zip(self._dense_layers(), self.coefs_, self.intercepts_):
            layer.params["W"][...] = W
            layer.params["b"][...] = b

    def _ensure_model(self) -> Sequential:
        if getattr(self, "_model", None) is None:
            sizes = [W.shape[1] for W in self.coefs_]
            # the fitted shapes, not the parameters (set_params may have changed them);
            # the random weights are overwritten just below
            self._model = self._new_model(self.coefs_[0].shape[0], sizes[:-1], sizes[-1],
                                          self.coefs_[0].dtype, check_random_state(0))
            self._import()
            self._optimizer = None
        assert self._model is not None
        return self._model

    def _fit(self, X: ArrayLike, y: ArrayLike, incremental: bool) -> Self:
        hidden = self._validate_params()
        first = not (hasattr(self, "coefs_") and (self.warm_start or incremental))
        X, Y = self._prepare(X, y, reset=first or not hasattr(self, "n_features_in_"),
                             incremental=incremental)
        dtype = X.dtype
        if first:
            self._random_state = check_random_state(self.random_state)
            self._model = self._new_model(X.shape[1], hidden, self._n_out, dtype,
                                          self._random_state)
            self._optimizer = None
            self.loss_curve_ = []
            self.n_iter_ = 0
            self.t_ = 0
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_, self.validation_scores_ = np.inf, None
                self.best_validation_score_ = None
        else:
            model = self._ensure_model()
            if model.dtype != dtype:  # continue in the dtype the model was trained in
                X = X.astype(model.dtype)
                Y = Y.astype(model.dtype) if Y.dtype.kind == "f" else Y
        assert self._model is not None
        model = self._model
        Xv = Yv = None
        if self.early_stopping and not incremental:
            stratify = self._stratify(Y)
            X, Xv, Y, Yv = cast("tuple[NDArray[Any], ...]",
                                train_test_split(X, Y, test_size=self.validation_fraction,
                                                 random_state=self._random_state,
                                                 stratify=stratify))
            if len(Xv) < 2:
                raise ValueError("early_stopping: the validation set has fewer than 2 "
                                 "samples; raise validation_fraction or pass more data")
        n = X.shape[0]
        batch = self._batch(n)
        if self._optimizer is None:
            self._optimizer = self._new_optimizer(batch)
        self._optimizer.weight_decay = self.alpha / batch
        epochs = 1 if incremental else self.max_iter
        class_weight = self._model_class_weight(incremental)
        converged = False
        for _ in range(epochs):
            hist = model.fit(X, Y, epochs=1, batch_size=batch, loss=self._loss,
                             optimizer=self._optimizer, shuffle=bool(self.shuffle), metrics=(),
                             verbose=0, class_weight=class_weight)
            penalty = 0.5 * self.alpha * sum(float(np.sum(np.square(layer.params["W"],
                                                                    dtype=np.float64)))
                                              for layer in self._dense_layers()) / batch
            loss = float(hist.history["loss"][0]) * self._loss_scale + penalty
            self.n_iter_ += 1
            self.t_ += n
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            if self.early_stopping and Xv is not None:
                assert Yv is not None and self.validation_scores_ is not None
                assert self.best_validation_score_ is not None
                score = self._val_score(Xv, Yv)
                self.validation_scores_.append(score)
                if score < self.best_validation_score_ + self.tol:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    self._best = model.get_weights()
            elif not self.early_stopping:
                assert self.best_loss_ is not None
                if loss > self.best_loss_ - self.tol:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                self.best_loss_ = min(self.best_loss_, loss)
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                self._optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
            if not incremental and self._no_improvement_count > self.n_iter_no_change:
                if self.solver == "sgd" and self.learning_rate == "adaptive" \
                        and self._optimizer.lr > 1e-6:
                    self._optimizer.lr /= 5.0
                    self._no_improvement_count = 0
                else:
                    converged = True
                    break
        if not incremental and not converged:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning)
        if self.early_stopping and not incremental and getattr(self, "_best", None) is not None:
            assert self._best is not None
            model.set_weights(self._best)
            self._best = None
        self._export()
        return self

    def fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """Train from scratch (or from the current weights with warm_start=True) for up
        to max_iter epochs, stopping as scikit-learn does (tol, n_iter_no_change,
        early_stopping)."""
        return self._fit(X, y, incremental=False)

    def _forward(self, X: ArrayLike) -> NDArray[Any]:
        check_is_fitted(self, "coefs_")
        X = cast("NDArray[Any]",
                 validate_data(self, X, reset=False, dtype=(np.float64, np.float32),
                               accept_sparse=False))
        model = self._ensure_model()
        return model.predict(np.ascontiguousarray(X, dtype=model.dtype))

    # ----------------------------------------------------------------- pickling

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for transient in ("_model", "_optimizer", "_best"):
            state.pop(transient, None)  # native objects; rebuilt from coefs_ on demand
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._model = None
        self._optimizer = None


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc]  # scikit-learn is untyped
    """Multi-layer perceptron classifier (softmax cross-entropy for several classes,
    sigmoid cross-entropy for two classes or multilabel targets)."""

    classes_: NDArray[Any]

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | Literal["auto"] = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 class_weight: dict[Any, float] | str | None = None) -> None:
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate=learning_rate, learning_rate_init=learning_rate_init,
            power_t=power_t, max_iter=max_iter, shuffle=shuffle, random_state=random_state,
            tol=tol, verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change)
        self.class_weight = class_weight

    def _model_class_weight(self, incremental: bool) -> dict[int, float] | str | None:
        """``class_weight`` (scikit-learn's convention: a dict keyed by the labels of y, or
        "balanced" over the training rows; not "balanced" in partial_fit, as
        SGDClassifier) with its classes as the model's outputs."""
        cw = self.class_weight
        if cw is None:
            return None
        if self._task == "multilabel":
            raise ValueError("class_weight is not supported for multilabel targets")
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be a dict, 'balanced' or None, got {cw!r}")
            if incremental:
                raise ValueError("class_weight='balanced' is not supported for partial_fit; "
                                 "pass a dict of class weights")
            return cw
        if not isinstance(cw, dict):
            raise ValueError(f"class_weight must be a dict, 'balanced' or None, got "
                             f"{type(cw).__name__}")
        out: dict[int, float] = {}
        for label, w in cw.items():
            where = np.flatnonzero(self.classes_ == label)
            if len(where) == 0:
                raise ValueError(f"class_weight has label {label!r}, which is not in "
                                 f"classes_ {list(self.classes_)}")
            out[int(where[0])] = w  # binary: classes_[1] is the output's 1, as in the model
        return out

    def _prepare(self, X: ArrayLike, y: ArrayLike, reset: bool,
                 incremental: bool) -> tuple[NDArray[Any], NDArray[Any]]:
        X, y = cast("tuple[NDArray[Any], NDArray[Any]]",
                    validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                                  multi_output=True, accept_sparse=False))
        if y.ndim == 2 and y.shape[1] == 1:
            y = cast("NDArray[Any]",
                     column_or_1d(y, warn=True))  # a DataConversionWarning, as scikit-learn
        if reset and not incremental:
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        elif not hasattr(self, "_label_binarizer"):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        unseen: NDArray[Any] | list[Any]
        unseen = np.setdiff1d(np.unique(y), self.classes_) if y.ndim == 1 else []
        if len(unseen):
            raise ValueError(f"y has classes {list(unseen)} that are not in classes_ "
                             f"{list(self.classes_)}")
        self._task = ("multilabel" if self._label_binarizer.y_type_.startswith("multilabel")
                      else "binary" if len(self.classes_) <= 2 else "multiclass")
        if self._task == "multiclass":
            self._n_out, self._out_activation, self._loss = len(self.classes_), "softmax", \
                "cross_entropy"
            Y = np.searchsorted(self.classes_, y).astype(np.intp)
        else:
            Y = self._label_binarizer.transform(y).astype(X.dtype)
            self._n_out, self._out_activation, self._loss = Y.shape[1], "sigmoid", \
                "binary_cross_entropy"
        # fastnn's binary cross-entropy averages over the outputs; scikit-learn's
        # loss_curve_ sums them
        self._loss_scale = float(self._n_out) if self._task == "multilabel" else 1.0
        return np.ascontiguousarray(X), Y

    def _stratify(self, Y: NDArray[Any]) -> NDArray[Any] | None:
        return Y if self._task == "multiclass" else (Y if Y.shape[1] == 1 else None)

    def _val_score(self, Xv: NDArray[Any], Yv: NDArray[Any]) -> float:
        assert self._model is not None
        return cast(float, accuracy_score(self._decode(self._model.predict(Xv)),
                                          self._decode_target(Yv)))

    def _decode_target(self, Y: NDArray[Any]) -> NDArray[Any]:
        if self._task == "multiclass":
            return cast("NDArray[Any]", self.classes_[Y])
        return cast("NDArray[Any]", self._label_binarizer.inverse_transform(Y))

    def _decode(self, out: NDArray[Any]) -> NDArray[Any]:
        if self._task == "multiclass":
            return cast("NDArray[Any]", self.classes_[np.argmax(out, axis=1)])
        return cast("NDArray[Any]", self._label_binarizer.inverse_transform(out, threshold=0.5))

    def partial_fit(self, X: ArrayLike, y: ArrayLike,
                    classes: Sequence[Any] | NDArray[Any] | None = None) -> Self:
        """One epoch over (X, y). The first call needs ``classes`` (all the labels
        that will ever appear), as in scikit-learn."""
        if not hasattr(self, "coefs_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={list(classes)}` is not the same as on the first call "
                             f"to partial_fit, which was {list(self.classes_)}")
        return self._fit(X, y, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predicted class labels."""
        return self._decode(self._forward(X))

    def predict_proba(self, X: ArrayLike) -> NDArray[Any]:
        """Class probabilities, columns in the order of ``classes_``."""
        p = self._forward(X)
        if self._task == "binary":
            return np.hstack([1 - p, p])
        return p

    def predict_log_proba(self, X: ArrayLike) -> NDArray[Any]:
        return cast("NDArray[Any]", np.log(self.predict_proba(X)))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc]  # scikit-learn is untyped
    """Multi-layer perceptron regressor (identity output, squared error)."""

    def _prepare(self, X: ArrayLike, y: ArrayLike, reset: bool,
                 incremental: bool) -> tuple[NDArray[Any], NDArray[Any]]:
        X, y = cast("tuple[NDArray[Any], NDArray[Any]]",
                    validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                                  multi_output=True, y_numeric=True, accept_sparse=False))
        self._y_1d = y.ndim == 1
        Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=X.dtype)
        if hasattr(self, "coefs_") and not reset and Y.shape[1] != self.coefs_[-1].shape[1]:
            raise ValueError(f"y has {Y.shape[1]} outputs; the model was fitted with "
                             f"{self.coefs_[-1].shape[1]}")
        self._n_out, self._out_activation, self._loss = Y.shape[1], None, "squared_error"
        # fastnn's squared_error is 0.5 sum_j (a_j - y_j)^2 per sample (the gradient
        # scikit-learn uses); scikit-learn reports it divided by the number of outputs
        self._loss_scale = 1.0 / Y.shape[1]
        return np.ascontiguousarray(X), Y

    def _stratify(self, Y: NDArray[Any]) -> None:
        return None

    def _val_score(self, Xv: NDArray[Any], Yv: NDArray[Any]) -> float:
        assert self._model is not None
        return cast(float, r2_score(Yv, self._model.predict(Xv)))

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> Self:
        """One epoch over (X, y)."""
        return self._fit(X, y, incremental=True)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predicted values: (n,) for a 1-d target, else (n, outputs)."""
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 and getattr(self, "_y_1d", True) else out
