"""What fastnn.compat.network and network2 share: the book's data checked and stacked
into matrices, and the native twin of a book network that trains on them.

The book keeps a network as two lists, ``weights[l]`` (n_out, n_in) and ``biases[l]``
(n_out, 1), and its data as lists of ``(x, y)`` column vectors. fastnn keeps a Dense
layer's W as (n_in, n_out) and b as (n_out,) and takes samples as rows of a matrix.
`NativeNetwork` is a float64 ``fastnn.Sequential`` of sigmoid Dense layers with the
book's layer sizes; the compat modules copy the book's lists into it before it computes
and read the results back after (once per epoch: a few hundred kilobytes at most).

Training an epoch (`EpochTrainer`) is one native call through the model's fused plan
(``Sequential._run_epoch``) with the sample order given explicitly. The book's rules map
onto fastnn's losses and plain SGD exactly (up to float64 rounding):

    quadratic cost      "squared_error" (0.5 * sum_j (a_j - y_j)^2, mean over the
                        batch): its gradient is the book's sum over the mini-batch
                        divided by m, so lr = eta.
    cross-entropy cost  "binary_cross_entropy" from the last layer's input z (the
                        sigmoid is folded into the loss, so the output error is
                        a - y as in the book); fastnn also averages over the d outputs,
                        so lr = eta * d.
    L2 (lmbda > 0)      SGD's weight_decay adds wd * w to the weights' gradients
                        (decay_biases=False: the book does not decay biases); with
                        lr * wd = eta * lmbda / n the weights follow the book's
                        w <- (1 - eta*lmbda/n) w - eta/m sum nabla_w.

`BookNetwork` is the base class of both modules' Network: the book's feedforward and
backprop in numpy, the batched mini-batch gradient, the plumbing between the book's
lists and the twin, and the choice, made before each native path is taken, between it
and the book's own code: `_replaced` compares what a reader may have changed (methods
of the network, functions of its module) with the book's definitions as imported.
An epoch is a `NativeLoop` (the book's shuffle drawn natively, one fused call) or,
when the training code was changed, a `BookLoop` (the book's loop, with a one-time
`BookCodeWarning`).
"""

from __future__ import annotations

import numbers
import os
import random
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, SupportsIndex, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _runtime
from . import _native
from ..layers import Dense
from ..model import Sequential
from ..optimizers import SGD

if TYPE_CHECKING:
    from ..layers import Layer

__all__ = ["vectorized_result", "check_sizes", "pairs", "stack_columns",
           "stack_labels", "NativeNetwork", "EpochTrainer", "book_shuffle_order",
           "BookCodeWarning", "warn_once", "BookData", "hits", "BookLoop", "NativeLoop",
           "BookNetwork"]

# The book's float arrays: activations, weighted inputs z, output errors.
FloatArray: TypeAlias = NDArray[np.floating[Any]]
# One (x, y) example in the book's format: x a column vector, y a one-hot column or a label.
Pair: TypeAlias = tuple[ArrayLike, ArrayLike]
# Two lists of one array per layer: (weights, biases) or the gradients (nabla_b, nabla_w).
LayerArrays: TypeAlias = tuple[list[NDArray[Any]], list[NDArray[Any]]]


def vectorized_result(j: SupportsIndex) -> NDArray[np.float64]:
    """The one-hot (10, 1) column for the digit ``j``."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


# ====================================================================== checks


def check_sizes(sizes: Iterable[SupportsIndex]) -> list[int]:
    """``sizes`` checked (a list of at least two positive integer layer widths, such as
    [784, 30, 10]); returns them as a list of ints."""
    try:
        widths = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a list of layer widths such as [784, 30, 10], got "
                        f"{sizes!r}") from None
    if len(widths) < 2:
        raise ValueError(f"sizes needs at least two layers (inputs and outputs), got {sizes!r}")
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1:
            raise ValueError(f"sizes must hold positive integers, got {sizes!r}")
    return [int(w) for w in widths]


def pairs(data: Iterable[Pair], what: str) -> tuple[list[ArrayLike], list[ArrayLike]]:
    """The x's and the y's of a list of (x, y) pairs, as two lists."""
    try:
        return [x for x, _ in data], [y for _, y in data]
    except (TypeError, ValueError):
        pass
    for i, item in enumerate(data):
        try:
            _, _ = item
        except (TypeError, ValueError):
            raise TypeError(f"{what}[{i}] must be a pair (x, y), got "
                            f"{type(item).__name__}") from None
    raise TypeError(f"{what} must be a list of (x, y) pairs")  # pragma: no cover


def _column_error(columns: Sequence[ArrayLike], rows: int, what: str,
                  part: str) -> ValueError | TypeError:
    """The error for the first entry of `columns` that is not a (rows, 1) column."""
    for i, c in enumerate(columns):
        shape = np.shape(c)
        if shape == (rows, 1):
            continue
        if shape == (rows,):
            hint = f": a flat vector; make it a column with {part}.reshape({rows}, 1)"
        elif shape == (1, rows):
            hint = f": a row vector; make it a column with {part}.T"
        elif shape == () and part == "y":
            hint = (": a class label; training data needs one-hot columns such as "
                    "vectorized_result(y)")
        else:
            hint = ""
        return ValueError(f"{what}[{i}][{0 if part == 'x' else 1}] ({part}) has shape "
                          f"{shape}, but the network takes column vectors of shape "
                          f"({rows}, 1){hint}")
    return TypeError(f"{what}: every {part} must be a numeric array")


def stack_columns(columns: Sequence[ArrayLike], rows: int, what: str,
                  part: str = "x") -> NDArray[np.float64]:
    """(rows, 1) column vectors -> a C-contiguous (len(columns), rows) float64 matrix
    whose i-th row is the i-th column; clear errors for a wrong shape or NaN/inf.
    float64 and float32 arrays are copied natively (fastnn.compat._native); anything
    else (lists, integer arrays) goes through numpy."""
    columns = list(columns)
    fast = np.empty((len(columns), rows))
    if _native.stack_columns(columns, rows, fast) == len(columns):
        return fast
    out: NDArray[np.float64] | None
    try:
        out = np.array(columns, dtype=np.float64)
    except (TypeError, ValueError):
        out = None
    if out is None or out.shape != (len(columns), rows, 1):
        raise _column_error(columns, rows, what, part)
    out = out.reshape(len(columns), rows)
    if not _runtime.all_finite(out):
        bad = int(np.argmax(~np.isfinite(out).all(axis=1)))
        raise ValueError(f"{what}[{bad}][{0 if part == 'x' else 1}] ({part}) contains NaN "
                         "or infinity")
    return out


def _is_integral(y: Any) -> bool:
    if isinstance(y, (bool, np.bool_)):
        return False
    if isinstance(y, numbers.Integral):
        return True
    try:
        return float(y).is_integer()
    except (TypeError, ValueError):
        return False


def stack_labels(labels: Sequence[ArrayLike], what: str) -> NDArray[np.int64]:
    """Integer class labels -> an int64 vector; a clear error for anything else (such as
    the one-hot columns of training data)."""
    try:
        arr = np.asarray(labels) if len(labels) else np.zeros(0, np.int64)
    except (TypeError, ValueError):
        arr = np.zeros((0, 0))
    if arr.dtype.kind in "iu" and arr.ndim == 1:
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and arr.ndim == 1 and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    for i, y in enumerate(labels):
        if np.ndim(y) or not _is_integral(y):
            shape = f" of shape {np.shape(y)}" if np.ndim(y) else f" {y!r}"
            raise TypeError(f"{what}[{i}][1] is {type(y).__name__}{shape}, but the y's of "
                            f"{what} must be integer class labels (the book's format for "
                            "test and validation data; one-hot columns are the training "
                            "data's format)")
    raise TypeError(f"the y's of {what} must be integer class labels")  # pragma: no cover


# ====================================================================== the native twin


class NativeNetwork:
    """A float64 ``fastnn.Sequential`` of sigmoid Dense layers with the book's sizes.

    ``load(weights, biases)`` copies the book's lists in (checked), ``parameters()``
    returns them as new arrays in the book's shapes, ``predict(X)`` is the batched
    native forward of the rows of X.
    """

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = tuple(sizes)
        self.model = Sequential([Dense(n, activation="sigmoid") for n in self.sizes[1:]],
                                dtype="float64", input_shape=(self.sizes[0],), seed=0)
        self.model.build()
        # the first predict builds the inference plan: later ones take predict's native
        # path, which reads float32 rows as they are
        self.model.predict(np.zeros((1, self.sizes[0])))
        self.layers = list(self.model.layers)

    def load(self, weights: Sequence[ArrayLike], biases: Sequence[ArrayLike]) -> None:
        """Copy the book's ``weights`` / ``biases`` lists into the model."""
        n = len(self.layers)
        if len(weights) != n or len(biases) != n:
            raise ValueError(f"the network has {n} layers of weights and biases (sizes "
                             f"{list(self.sizes)}), but net.weights has {len(weights)} "
                             f"and net.biases has {len(biases)} entries")
        checked: list[tuple[Layer, NDArray[Any], NDArray[Any]]] = []
        for i, (layer, w, b) in enumerate(zip(self.layers, weights, biases)):
            n_in, n_out = self.sizes[i], self.sizes[i + 1]
            w, b = np.asarray(w), np.asarray(b)
            if w.shape != (n_out, n_in):
                raise ValueError(f"net.weights[{i}] has shape {w.shape}, but sizes "
                                 f"{list(self.sizes)} need ({n_out}, {n_in})")
            if b.shape != (n_out, 1):
                raise ValueError(f"net.biases[{i}] has shape {b.shape}, but sizes "
                                 f"{list(self.sizes)} need ({n_out}, 1)")
            for name, a in (("weights", w), ("biases", b)):
                if a.dtype.kind not in "biuf":
                    raise TypeError(f"net.{name}[{i}] must be numeric, got dtype {a.dtype}")
                if not np.isfinite(a).all():
                    raise ValueError(f"net.{name}[{i}] contains NaN or infinity")
            checked.append((layer, w, b))
        for layer, w, b in checked:
            layer.params["W"][...] = w.T
            layer.params["b"][...] = b[:, 0]

    def parameters(self) -> LayerArrays:
        """(weights, biases): new float64 arrays of the book's shapes."""
        weights = [np.ascontiguousarray(layer.params["W"].T) for layer in self.layers]
        biases = [layer.params["b"].reshape(-1, 1).copy() for layer in self.layers]
        return weights, biases

    def predict(self, X: NDArray[Any]) -> NDArray[Any]:
        """The network's outputs for the rows of X (n, sizes[0]): (n, sizes[-1])."""
        return self.model.predict(X)


class EpochTrainer:
    """Trains a `NativeNetwork` on fixed data (X (n, n_in), Y (n, n_out) float64), one
    epoch per ``run(order)`` in the given sample order, with the book's rule for
    ``cost`` ("quadratic" or "cross_entropy") and L2 parameter ``lmbda``."""

    def __init__(self, net: NativeNetwork, X: NDArray[Any], Y: NDArray[Any], mini_batch_size: int,
                 eta: float, cost: str = "quadratic", lmbda: float = 0.0) -> None:
        if cost not in ("quadratic", "cross_entropy"):
            raise ValueError(f"unknown cost {cost!r}")
        if not eta >= 0:
            raise ValueError(f"eta must be a number >= 0, got {eta!r}")
        if not lmbda >= 0:
            raise ValueError(f"lmbda must be a number >= 0, got {lmbda!r}")
        self.net, self.X, self.Y = net, X, Y
        self.batch_size = mini_batch_size
        n, d = Y.shape
        scale = 1.0 if cost == "quadratic" else float(d)
        loss = "squared_error" if cost == "quadratic" else "binary_cross_entropy"
        # the book decays the weights only: w <- (1 - eta*lmbda/n) w - eta/m sum nabla_w
        optimizer = SGD(lr=eta * scale, weight_decay=lmbda / (n * scale), decay_biases=False)
        model = net.model
        # fit with 0 epochs sets up the loss, the optimizer and the fused-plan settings
        # (one row is enough: the epochs below get the whole X).
        model.fit(X[:1], Y[:1], epochs=0, batch_size=mini_batch_size, loss=loss,
                  optimizer=optimizer, shuffle=False, metrics=(), verbose=0,
                  on_nonfinite="ignore")

    def run(self, order: Sequence[int] | NDArray[np.intp]) -> None:
        """One epoch over the rows of X in ``order`` (a permutation of range(n)): one
        native call."""
        model = self.net.model
        perm = np.asarray(order, dtype=np.intp)
        with model._session(model._bw_stop):
            model._run_epoch(self.X, self.Y, perm, self.batch_size, None)


# ====================================================================== the book's shuffle


def book_shuffle_order(n: int) -> NDArray[np.intp]:
    """The order ``random.shuffle(x)`` puts a list of n items in (the shuffled list is
    ``[x[i] for i in order]``), leaving ``random``'s state where that call leaves it.
    Drawn natively from the generator's Mersenne Twister state when ``random.shuffle`` is
    the standard library's own (fastnn.compat._native); otherwise by calling it."""
    shuffle = random.shuffle
    rng = getattr(shuffle, "__self__", None)
    if (type(rng) is random.Random and getattr(shuffle, "__func__", None) is random.Random.shuffle
            and n < 2**32):
        return _native.shuffled_order(n, rng)
    order = list(range(n))
    shuffle(order)
    return np.asarray(order, dtype=np.intp)


# ====================================================================== changed book code


class BookCodeWarning(UserWarning):
    """Something the book's code would run was changed (a method overridden or replaced, a
    module function replaced, a cost class of your own), so fastnn.compat runs it the way
    the book does: per example, in Python, at the book's speed."""


_warned: set[str] = set()
_COMPAT_DIR = os.path.dirname(os.path.abspath(__file__))


def warn_once(message: str) -> None:
    """Warn with `message` (a BookCodeWarning) the first time it comes up in this process,
    attributed to the first caller outside fastnn.compat."""
    if message in _warned:
        return
    _warned.add(message)
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and \
            os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _COMPAT_DIR:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, BookCodeWarning, stacklevel=level)


# ====================================================================== the book's data


class BookData:
    """A list of (x, y) pairs in the book's format; made on first use and kept: its x's
    as the rows of a float64 matrix (``X``), its y's as one-hot rows (``Y``) or integer
    labels (``labels``). The native paths read these; the book's own code reads ``pairs``."""

    def __init__(self, pairs: list[Pair], what: str, n_in: int, n_out: int) -> None:
        self.pairs, self.what, self.n_in, self.n_out = pairs, what, n_in, n_out
        self._parts: tuple[list[ArrayLike], list[ArrayLike]] | None = None
        self._X: NDArray[np.floating[Any]] | None = None
        self._Y: NDArray[np.float64] | None = None
        self._labels: NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.pairs)

    def _split(self) -> tuple[list[ArrayLike], list[ArrayLike]]:
        if self._parts is None:
            self._parts = pairs(self.pairs, self.what)
        return self._parts

    @property
    def X(self) -> NDArray[np.floating[Any]]:
        """The x's as rows: the reader's own array, without a copy, when the x's are its
        consecutive rows (as the book's mnist_loader makes them; float32 rows train and
        predict natively in a float64 network, widened as they are read); else a float64
        copy."""
        if self._X is None:
            xs = self._split()[0]
            X = _native.rows_view(xs, self.n_in)
            if X is None or not _runtime.all_finite(X):
                X = stack_columns(xs, self.n_in, self.what, "x")
            self._X = X
        return self._X

    @property
    def Y(self) -> NDArray[np.float64]:
        if self._Y is None:
            self._Y = stack_columns(self._split()[1], self.n_out, self.what, "y")
        return self._Y

    @property
    def labels(self) -> NDArray[np.int64]:
        if self._labels is None:
            self._labels = stack_labels(self._split()[1], self.what)
        return self._labels

    def stacked(self, targets: str) -> tuple[NDArray[np.floating[Any]], NDArray[Any]]:
        """(X, Y) for targets "onehot", (X, labels) for "labels": stacked (and so checked)
        now if they were not yet."""
        return self.X, self.Y if targets == "onehot" else self.labels


def hits(outputs: NDArray[Any], truth: NDArray[Any]) -> int:
    """How many rows of outputs have their largest entry at the true class."""
    return int(np.count_nonzero(outputs.argmax(axis=1) == truth))


# ====================================================================== epochs


class BookLoop:
    """The book's own epoch: ``random.shuffle`` the training list, then call
    ``update(mini_batch)`` (the network's update_mini_batch) on each slice of it."""

    def __init__(self, data: list[Pair], mini_batch_size: int,
                 update: Callable[[list[Pair]], None]) -> None:
        self.data, self.mini_batch_size, self.update = data, mini_batch_size, update

    def epoch(self) -> None:
        random.shuffle(self.data)
        m = self.mini_batch_size
        for k in range(0, len(self.data), m):
            self.update(self.data[k:k + m])

    def current(self) -> list[Pair]:
        """The training list in the order the book's code would now hold it."""
        return self.data


class NativeLoop:
    """The same epoch in one native call: the book's shuffle drawn as an order of the
    stacked rows (`book_shuffle_order`, composed epoch after epoch as the book's list is
    shuffled again and again), then the fused plan over the rows in that order."""

    def __init__(self, net: BookNetwork, data: BookData, mini_batch_size: int, eta: float,
                 lmbda: float, cost: str) -> None:
        self.net, self.data = net, data
        self.twin = net._native()
        self.trainer = EpochTrainer(self.twin, data.X, data.Y, mini_batch_size, eta, cost, lmbda)
        self.order = np.arange(len(data), dtype=np.intp)

    def epoch(self) -> None:
        self.order = self.order[book_shuffle_order(len(self.order))]
        net, twin = self.net, self.twin
        twin.load(net.weights, net.biases)  # as the user may have changed them
        try:
            self.trainer.run(self.order)
        finally:
            net.weights, net.biases = twin.parameters()

    def current(self) -> list[Pair]:
        pairs = self.data.pairs
        return [pairs[i] for i in self.order]


# ====================================================================== the shared base


class BookNetwork:
    """What network.Network and network2.Network share: the book's feedforward and
    backprop (calling the module's current ``sigmoid`` / ``sigmoid_prime``, as the book's
    code does), the batched mini-batch gradient, the native twin and the choice between
    the native paths and the book's own code.

    Each module's Network registers itself (`_register`): the book's definitions as
    imported, so that a change anywhere -- a subclass's method, a method replaced on the
    class or set on the instance, a module function replaced -- is seen before a native
    path stands in for it. Subclasses also define ``_output_delta(z, a, y)``,
    ``_native_cost()`` and the names their training runs through."""

    # set by _register, per module
    _home: ClassVar[type[BookNetwork]]
    _module: ClassVar[ModuleType]
    _book_methods: ClassVar[dict[str, Any]]
    _book_functions: ClassVar[dict[str, Any]]
    # what native training stands in for: methods and module functions
    _TRAINING_METHODS: ClassVar[tuple[str, ...]]
    _TRAINING_FUNCTIONS: ClassVar[tuple[str, ...]] = ("sigmoid", "sigmoid_prime")

    _twin: NativeNetwork | None = None

    # set by the subclasses
    sizes: Sequence[int]
    weights: list[NDArray[Any]]
    biases: list[NDArray[Any]]

    if TYPE_CHECKING:
        # defined by the subclasses
        def feedforward(self, a: ArrayLike) -> NDArray[Any]: ...
        def backprop(self, x: ArrayLike, y: ArrayLike) -> LayerArrays: ...
        def _output_delta(self, z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray: ...
        def _native_cost(self) -> str | None: ...
        def _cost_changes(self, part: str) -> list[str]: ...

    @classmethod
    def _register(cls, module: ModuleType, methods: Iterable[str],
                  functions: Iterable[str]) -> None:
        cls._home, cls._module = cls, module
        cls._book_methods = {name: cls.__dict__[name] for name in methods}
        cls._book_functions = {name: getattr(module, name) for name in functions}

    # ------------------------------------------------------------------ changes

    def _replaced(self, methods: Iterable[str] = (), functions: Iterable[str] = ()) -> list[str]:
        """What differs from the book's definitions among `methods` (of the network) and
        `functions` (of its module), each as a phrase for a warning; [] if nothing."""
        reasons = []
        home = self._home.__name__
        for name in methods:
            if name in vars(self):
                reasons.append(f"net.{name} is set on the instance")
                continue
            owner = next((k for k in type(self).__mro__ if name in vars(k)), None)
            if owner is None:
                reasons.append(f"{home}.{name} was deleted")
            elif vars(owner)[name] is not self._book_methods[name]:
                reasons.append(f"{home}.{name} was replaced" if owner is self._home
                               else f"{owner.__name__}.{name} overrides {home}.{name}")
        module = self._module.__name__.rsplit(".", 1)[-1]
        for name in functions:
            if getattr(self._module, name, None) is not self._book_functions[name]:
                reasons.append(f"{module}.{name} was replaced")
        return reasons

    def _training_changes(self) -> list[str]:
        """What of the book's training code was changed (then SGD runs the book's loop)."""
        return (self._replaced(self._TRAINING_METHODS, self._TRAINING_FUNCTIONS)
                + self._cost_changes("delta"))

    def _forward_changes(self) -> list[str]:
        """What of the book's forward pass was changed (then the scores call
        self.feedforward per example, with a one-time warning)."""
        reasons = self._replaced(("feedforward",), ("sigmoid",))
        if reasons:
            warn_once(f"fastnn.compat.{self._module.__name__.rsplit('.', 1)[-1]}: "
                      f"{'; '.join(reasons)}: evaluate / accuracy / total_cost run it per "
                      "example, as the book does (at the book's speed)")
        return reasons

    # ------------------------------------------------------------------ book math

    def _check_column(self, a: ArrayLike, rows: int, name: str) -> NDArray[Any]:
        a = np.asarray(a)
        if a.ndim != 2 or a.shape[0] != rows:
            hint = f" (use {name}.reshape({rows}, 1))" if a.shape == (rows,) else ""
            raise ValueError(f"{name} must be a column vector of shape ({rows}, 1), got shape "
                             f"{a.shape}{hint}")
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinity")
        return a

    def _feedforward(self, a: ArrayLike) -> NDArray[Any]:
        sigmoid = self._module.sigmoid
        out = self._check_column(a, np.shape(self.weights[0])[1], "a")
        for b, w in zip(self.biases, self.weights):
            out = sigmoid(np.dot(w, out) + b)
        return out

    def _backprop(self, x: ArrayLike, y: ArrayLike) -> LayerArrays:
        """The book's backpropagation for one example, or for a matrix whose columns are
        the examples of a mini-batch (then the gradients are summed over them)."""
        sigmoid, sigmoid_prime = self._module.sigmoid, self._module.sigmoid_prime
        x = self._check_column(x, np.shape(self.weights[0])[1], "x")
        y = self._check_column(y, np.shape(self.weights[-1])[0], "y")
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        nabla_b: list[Any] = [None] * len(self.biases)  # filled in below
        nabla_w: list[Any] = [None] * len(self.weights)
        delta = self._output_delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta.sum(axis=1, keepdims=True)
        nabla_w[-1] = np.dot(delta, activations[-2].T)
        for l in range(2, len(self.weights) + 1):
            delta = np.dot(self.weights[-l + 1].T, delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta.sum(axis=1, keepdims=True)
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w

    def _mini_batch_gradients(self, mini_batch: Iterable[Pair]
                              ) -> tuple[list[NDArray[Any]], list[NDArray[Any]], int]:
        """(nabla_b, nabla_w, m): the gradients summed over the mini-batch. The book's loop
        over self.backprop, example by example; one batched pass (the examples as the
        columns of a matrix) when none of the book's training code was changed, which
        gives the same sums up to float64 rounding."""
        mini_batch = list(mini_batch)
        if not mini_batch:
            raise ValueError("mini_batch is empty")
        if self._training_changes():
            nabla_b = [np.zeros(np.shape(b)) for b in self.biases]
            nabla_w = [np.zeros(np.shape(w)) for w in self.weights]
            for x, y in mini_batch:
                delta_b, delta_w = self.backprop(x, y)
                nabla_b = [nb + db for nb, db in zip(nabla_b, delta_b)]
                nabla_w = [nw + dw for nw, dw in zip(nabla_w, delta_w)]
            return nabla_b, nabla_w, len(mini_batch)
        xs, ys = pairs(mini_batch, "mini_batch")
        X = stack_columns(xs, np.shape(self.weights[0])[1], "mini_batch", "x")
        Y = stack_columns(ys, np.shape(self.weights[-1])[0], "mini_batch", "y")
        nabla_b, nabla_w = self._backprop(X.T, Y.T)
        return nabla_b, nabla_w, len(mini_batch)

    # ------------------------------------------------------------------ native twin

    def _native(self) -> NativeNetwork:
        """The native twin, holding the current weights and biases."""
        sizes = check_sizes(self.sizes)
        if self._twin is None or self._twin.sizes != tuple(sizes):
            self._twin = NativeNetwork(sizes)
        self._twin.load(self.weights, self.biases)
        return self._twin

    def _data(self, data: list[Pair], what: str) -> BookData:
        sizes = check_sizes(self.sizes)
        return BookData(data, what, sizes[0], sizes[-1])

    def _outputs(self, data: BookData) -> NDArray[Any]:
        """The network's outputs for the examples of `data`, as rows: one native batched
        forward, or self.feedforward per example when the book's forward was changed."""
        if self._forward_changes():
            return np.array([np.ravel(self.feedforward(x)) for x, _ in data.pairs])
        return self._native().predict(data.X)

    def _training(self, data: BookData, mini_batch_size: int, eta: float, lmbda: float,
                  update: Callable[[list[Pair]], None]) -> BookLoop | NativeLoop:
        """How SGD runs its epochs: natively, or -- when the book's training code was
        changed -- the book's loop over ``update`` (with a one-time warning naming the
        change)."""
        reasons = self._training_changes()
        cost = self._native_cost()
        if reasons or cost is None:
            module = self._module.__name__.rsplit(".", 1)[-1]
            warn_once(f"fastnn.compat.{module}: {'; '.join(reasons)}: SGD trains with the "
                      "book's own loop, example by example in Python (at the book's speed)")
            return BookLoop(data.pairs, mini_batch_size, update)
        return NativeLoop(self, data, mini_batch_size, eta, lmbda, cost)

    # ------------------------------------------------------------------ copies

    def __getstate__(self) -> dict[str, Any]:
        """For copy.deepcopy: the book's attributes, without the native twin (its plan
        holds native buffers; a copy builds its own when it needs one)."""
        state = dict(self.__dict__)
        state.pop("_twin", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
