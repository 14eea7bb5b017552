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
backprop in numpy, the batched mini-batch gradient, the epoch loop and the plumbing
between the book's lists and the twin.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, SupportsIndex, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import _runtime
from ..layers import Dense
from ..model import Sequential
from ..optimizers import SGD

if TYPE_CHECKING:
    from ..layers import Layer

__all__ = ["sigmoid", "sigmoid_prime", "vectorized_result", "check_sizes", "pairs", "stack_columns",
           "stack_labels", "NativeNetwork", "EpochTrainer", "BookNetwork"]

# The book's float arrays: activations, weighted inputs z, output errors.
FloatArray: TypeAlias = NDArray[np.floating[Any]]
# One (x, y) example in the book's format: x a column vector, y a one-hot column or a label.
Pair: TypeAlias = tuple[ArrayLike, ArrayLike]
# Two lists of one array per layer: (weights, biases) or the gradients (nabla_b, nabla_w).
LayerArrays: TypeAlias = tuple[list[NDArray[Any]], list[NDArray[Any]]]


def sigmoid(z: FloatArray) -> FloatArray:
    """The sigmoid function 1 / (1 + e^-z), elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def vectorized_result(j: SupportsIndex) -> NDArray[np.float64]:
    """The one-hot (10, 1) column for the digit ``j``."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


def sigmoid_prime(z: FloatArray) -> FloatArray:
    """Derivative of the sigmoid function: sigmoid(z) * (1 - sigmoid(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


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
    whose i-th row is the i-th column; clear errors for a wrong shape or NaN/inf."""
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

    def run(self, order: Sequence[int]) -> None:
        """One epoch over the rows of X in ``order`` (a permutation of range(n)): one
        native call."""
        model = self.net.model
        perm = np.asarray(order, dtype=np.intp)
        with model._session(model._bw_stop):
            model._run_epoch(self.X, self.Y, perm, self.batch_size, None)


# ====================================================================== the shared base


class BookNetwork:
    """What network.Network and network2.Network share: the book's feedforward and
    backprop, the batched mini-batch gradient, the native twin behind SGD / evaluate,
    and the epoch loop. Subclasses set ``_home`` (their own class, to tell a user's
    overrides apart) and define ``_output_delta(z, a, y)`` and ``_native_cost()``."""

    _home: type[BookNetwork] | None = None
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
        a = self._check_column(a, np.shape(self.weights[0])[1], "a")
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def _backprop(self, x: ArrayLike, y: ArrayLike) -> LayerArrays:
        """The book's backpropagation for one example, or for a matrix whose columns are
        the examples of a mini-batch (then the gradients are summed over them)."""
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
        """(nabla_b, nabla_w, m): the gradients summed over the mini-batch. One batched
        pass (the examples as the columns of a matrix), or the book's loop over
        self.backprop when a subclass replaced it."""
        mini_batch = list(mini_batch)
        if not mini_batch:
            raise ValueError("mini_batch is empty")
        if self._overridden("backprop"):
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

    def _overridden(self, name: str) -> bool:
        """Whether the class of self replaced the book method `name`."""
        return getattr(type(self), name) is not getattr(self._home, name)

    def _native(self) -> NativeNetwork:
        """The native twin, holding the current weights and biases."""
        sizes = check_sizes(self.sizes)
        if self._twin is None or self._twin.sizes != tuple(sizes):
            self._twin = NativeNetwork(sizes)
        self._twin.load(self.weights, self.biases)
        return self._twin

    def _outputs(self, X: NDArray[Any]) -> NDArray[Any]:
        """The network's outputs for the rows of X, as rows: one native batched forward
        (or self.feedforward per example when a subclass replaced it)."""
        if self._overridden("feedforward"):
            return np.array([np.ravel(self.feedforward(x.reshape(-1, 1))) for x in X])
        return self._native().predict(X)

    def _inputs(self, data: Iterable[Pair], what: str,
                targets: str) -> tuple[NDArray[np.float64], NDArray[Any]]:
        """A list of (x, y) pairs -> X (n, n_in) and, per ``targets``: "onehot" Y
        (n, n_out) float64 or "labels" (n,) int64."""
        sizes = check_sizes(self.sizes)
        xs, ys = pairs(data, what)
        X = stack_columns(xs, sizes[0], what, "x")
        if targets == "onehot":
            return X, stack_columns(ys, sizes[-1], what, "y")
        return X, stack_labels(ys, what)

    def _epochs(self, training_data: list[Pair], X: NDArray[Any], Y: NDArray[Any], epochs: int,
                mini_batch_size: int, eta: float, lmbda: float,
                update: Callable[[list[Pair]], None]) -> Iterator[int]:
        """Train epoch by epoch, yielding the epoch number after each one.

        Natively (one fused call per epoch over the stacked X, Y) unless a subclass
        replaced update_mini_batch or backprop, or the cost has no native twin; then the
        book's own loop calls ``update(mini_batch)``. Either way each epoch first calls
        ``random.shuffle`` on a list as long as the training data, as the book does, so
        seeding ``random`` gives the book's mini-batches."""
        n = len(training_data)
        cost = self._native_cost()
        if cost is None or self._overridden("update_mini_batch") or self._overridden("backprop"):
            for j in range(epochs):
                random.shuffle(training_data)
                for k in range(0, n, mini_batch_size):
                    update(training_data[k:k + mini_batch_size])
                yield j
            return
        twin = self._native()
        trainer = EpochTrainer(twin, X, Y, mini_batch_size, eta, cost, lmbda)
        order = list(range(n))  # shuffled like the book's list: the same random calls
        for j in range(epochs):
            random.shuffle(order)
            twin.load(self.weights, self.biases)  # as the user may have changed them
            try:
                trainer.run(order)
            finally:
                self.weights, self.biases = twin.parameters()
            yield j

    # ------------------------------------------------------------------ copies

    def __getstate__(self) -> dict[str, Any]:
        """For copy.deepcopy: the book's attributes, without the native twin (its plan
        holds native buffers; a copy builds its own when it needs one)."""
        state = dict(self.__dict__)
        state.pop("_twin", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
