"""A drop-in replacement for ``network2.py`` of Michael Nielsen's book *Neural Networks
and Deep Learning* (chapter 3): the cross-entropy and quadratic costs, L2
regularization, the scaled weight initialization, monitoring and JSON save / load --
the same classes, methods, printed lines and numbers, with the training loop running
natively.

    from fastnn.compat import network2         # instead of: import network2
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
        training_data, 30, 10, 0.5, lmbda=5.0, evaluation_data=validation_data,
        monitor_evaluation_accuracy=True)
    net.save("net.json")                       # the book's JSON; network2.load reads it

Data are in the book's format (see fastnn.compat.network): (x, y) pairs with x a
(784, 1) column; y one-hot (10, 1) for training data, an int label for validation and
test data. ``net.weights`` / ``net.biases`` are the book's float64 lists; what you write
to them is used by the next SGD / accuracy / total_cost.

How it runs: SGD trains each epoch natively on a float64 ``fastnn.Sequential`` twin, in
the book's mini-batch order (the permutation the book's ``random.shuffle`` makes,
drawn from ``random``'s own state), with the book's update rule

    w <- (1 - eta * lmbda / n) w - (eta / m) * sum of nabla_w over the mini-batch
    b <- b - (eta / m) * sum of nabla_b                        (biases are not decayed)

so seeded runs give the book's weights up to float64 rounding. The quadratic cost maps
onto fastnn's "squared_error" loss and the cross-entropy cost onto
"binary_cross_entropy" (scaled, see fastnn.compat._engine), L2 onto SGD's
weight_decay with decay_biases=False; an epoch is one native call of the model's fused
plan. The monitors are ``self.total_cost`` and ``self.accuracy``, called as the book
calls them; the book's own run one batched native forward per data set and epoch.

Changes you make are honoured, as in fastnn.compat.network: a cost class other than
the two here (or one of theirs whose ``delta`` was replaced), ``update_mini_batch`` or
``backprop`` overridden, replaced or set on the instance, or the module's ``sigmoid`` /
``sigmoid_prime`` replaced make SGD run the book's loop (each example's ``delta``
gets (n_out, 1) columns, as in the book), with a one-time ``BookCodeWarning``; a cost's
own ``fn`` is what ``total_cost`` calls, per example; a changed ``feedforward``,
``accuracy`` or ``total_cost`` is called where the book calls it.

Differences from the book's code: the training list you pass is copied, not shuffled in
place (as in the Python 3 port); bad input raises a clear error, and an empty
``training_data`` (such as a ``zip`` object read once) raises; ``load`` only knows the
two cost classes here (the book looks any name up in its module); ``SGD`` also takes
``early_stopping_n`` as the Python 3 port of the book does (stop once the evaluation
accuracy has not improved for that many epochs; needs monitor_evaluation_accuracy).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import ModelFileError
from ._engine import BookData, BookNetwork, check_sizes, hits, vectorized_result
from .network import _count, _read, _save

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Sequence
    from typing import Protocol

    from numpy.typing import ArrayLike, NDArray

    from ._engine import FloatArray, LayerArrays, Pair

    class _Cost(Protocol):
        """What Network needs of a cost class such as QuadraticCost."""

        @staticmethod
        def fn(a: FloatArray, y: FloatArray) -> float | np.floating[Any]: ...

        @staticmethod
        def delta(z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray: ...

__all__ = ["QuadraticCost", "CrossEntropyCost", "Network", "load", "vectorized_result",
           "sigmoid", "sigmoid_prime"]


def sigmoid(z: FloatArray) -> FloatArray:
    """The sigmoid function 1 / (1 + e^-z), elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: FloatArray) -> FloatArray:
    """Derivative of the sigmoid function. As in the book it calls this module's
    ``sigmoid``: replace ``network2.sigmoid`` and the derivative follows."""
    return sigmoid(z) * (1 - sigmoid(z))


class QuadraticCost:
    """The quadratic cost 0.5 * ||a - y||^2."""

    @staticmethod
    def fn(a: FloatArray, y: FloatArray) -> np.floating[Any]:
        """The cost of output ``a`` for the desired output ``y``."""
        return cast("np.floating[Any]", 0.5 * np.linalg.norm(a - y) ** 2)  # norm is typed Any

    @staticmethod
    def delta(z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
        """The error of the output layer: (a - y) * sigmoid'(z)."""
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """The cross-entropy cost sum_j -y_j ln a_j - (1 - y_j) ln(1 - a_j)."""

    @staticmethod
    def fn(a: FloatArray, y: FloatArray) -> np.floating[Any]:
        """The cost of output ``a`` for the desired output ``y``; np.nan_to_num makes
        0 * ln(0) (an output of exactly 0 or 1 where y agrees) count as 0."""
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
        """The error of the output layer: a - y (the sigmoid's derivative cancels)."""
        return a - y


COSTS: dict[str, _Cost] = {"QuadraticCost": QuadraticCost, "CrossEntropyCost": CrossEntropyCost}


class Network(BookNetwork):
    """A feedforward network of sigmoid neurons with a choice of cost.

    ``sizes`` lists the neurons per layer, inputs first; ``cost`` is QuadraticCost or
    CrossEntropyCost (or any class with static ``fn(a, y)`` and ``delta(z, a, y)``).
    The weights start from ``default_weight_initializer``.
    """

    _TRAINING_METHODS = ("update_mini_batch", "backprop")

    def __init__(self, sizes: Sequence[int], cost: _Cost = CrossEntropyCost) -> None:
        check_sizes(sizes)
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.default_weight_initializer()
        self.cost = cost

    def default_weight_initializer(self) -> None:
        """Biases from N(0, 1); weights from N(0, 1/n_in), n_in the inputs of the
        neuron (np.random.randn, biases first, as the book draws them)."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def large_weight_initializer(self) -> None:
        """Biases and weights from N(0, 1), as in chapter 1 (network.py)."""
        self.biases = [np.random.randn(y, 1) for y in self.sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(self.sizes[:-1], self.sizes[1:])]

    def feedforward(self, a: ArrayLike) -> NDArray[Any]:
        """The network's output for the input column vector ``a`` (n_in, 1)."""
        return self._feedforward(a)

    def SGD(self, training_data: Iterable[Pair], epochs: int, mini_batch_size: int, eta: float,
            lmbda: float = 0.0, evaluation_data: Iterable[Pair] | None = None,
            monitor_evaluation_cost: bool = False, monitor_evaluation_accuracy: bool = False,
            monitor_training_cost: bool = False, monitor_training_accuracy: bool = False,
            early_stopping_n: int = 0
            ) -> tuple[list[float], list[int], list[float], list[int]]:
        """Train with mini-batch stochastic gradient descent and L2 regularization
        ``lmbda``; returns ``(evaluation_cost, evaluation_accuracy, training_cost,
        training_accuracy)``, one entry per epoch in each list whose monitor_* flag is
        set (empty otherwise). After each epoch it prints
        ``Epoch {j} training complete``, then per monitor ``Cost on training data: ...``,
        ``Accuracy on training data: {correct} / {n}``, ``Cost on evaluation data: ...``,
        ``Accuracy on evaluation data: {correct} / {n_data}``, and an empty line. The
        monitors are ``self.total_cost`` and ``self.accuracy``, as in the book.
        ``evaluation_data`` holds (x, label) pairs."""
        training_data = list(training_data)
        epochs = _count("epochs", epochs)
        mini_batch_size = _count("mini_batch_size", mini_batch_size, lo=1)
        early_stopping_n = _count("early_stopping_n", early_stopping_n)
        if not training_data:
            raise ValueError("training_data is empty (an iterator such as zip(...) is empty "
                             "once it has been read)")
        if not lmbda >= 0:
            raise ValueError(f"lmbda must be a number >= 0, got {lmbda!r}")
        n = len(training_data)
        if evaluation_data is not None:
            evaluation_data = list(evaluation_data)
        watch_evaluation = monitor_evaluation_cost or monitor_evaluation_accuracy
        if watch_evaluation and not evaluation_data:
            raise ValueError("monitor_evaluation_cost / monitor_evaluation_accuracy need "
                             "evaluation_data")
        if early_stopping_n and not monitor_evaluation_accuracy:
            raise ValueError("early_stopping_n watches the evaluation accuracy: pass "
                             "evaluation_data and monitor_evaluation_accuracy=True")
        train = self._data(training_data, "training_data")
        monitors = _Monitors(self, train, evaluation_data if watch_evaluation else None, lmbda,
                             monitor_training_cost or monitor_training_accuracy)
        training = self._training(train, mini_batch_size, eta, lmbda,
                                  lambda mini_batch: self.update_mini_batch(
                                      mini_batch, eta, lmbda, n))
        evaluation_cost: list[float]
        evaluation_accuracy: list[int]
        training_cost: list[float]
        training_accuracy: list[int]
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        best_accuracy, no_accuracy_change = 0, 0  # as in the Python 3 port
        for j in range(epochs):
            training.epoch()
            monitors.next_epoch(training.current)
            print("Epoch %s training complete" % j)
            if monitor_training_cost:
                cost = monitors.training_cost()
                training_cost.append(cost)
                print("Cost on training data: {}".format(cost))
            if monitor_training_accuracy:
                accuracy = monitors.training_accuracy()
                training_accuracy.append(accuracy)
                print("Accuracy on training data: {} / {}".format(accuracy, n))
            if monitor_evaluation_cost:
                cost = monitors.evaluation_cost()
                evaluation_cost.append(cost)
                print("Cost on evaluation data: {}".format(cost))
            if monitor_evaluation_accuracy:
                accuracy = monitors.evaluation_accuracy()
                evaluation_accuracy.append(accuracy)
                print("Accuracy on evaluation data: {} / {}".format(
                    accuracy, len(evaluation_data or ())))
            print()
            if early_stopping_n:
                if accuracy > best_accuracy:
                    best_accuracy, no_accuracy_change = accuracy, 0
                else:
                    no_accuracy_change += 1
                if no_accuracy_change == early_stopping_n:
                    break
        return evaluation_cost, evaluation_accuracy, training_cost, training_accuracy

    def update_mini_batch(self, mini_batch: Iterable[Pair], eta: float, lmbda: float,
                          n: int) -> None:
        """One gradient-descent step on ``mini_batch`` (a list of (x, y)) with L2
        regularization: ``w <- (1 - eta*lmbda/n) w - eta/m * nabla_w``, ``b <- b -
        eta/m * nabla_b``; ``n`` is the size of the whole training set. Replaces
        self.weights and self.biases."""
        nabla_b, nabla_w, m = self._mini_batch_gradients(mini_batch)
        self.weights = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x: ArrayLike, y: ArrayLike) -> LayerArrays:
        """``(nabla_b, nabla_w)``: the gradient of the cost of one example (x, y), as
        lists shaped like self.biases and self.weights."""
        return self._backprop(x, y)

    def accuracy(self, data: Iterable[Pair], convert: bool = False) -> int:
        """How many of the (x, y) pairs of ``data`` the network gets right. ``convert``
        is False for validation / test data (y a label) and True for training data (y
        a one-hot column)."""
        data = list(data)
        if not data:
            return 0
        return self._accuracy(self._data(data, "data"), convert)

    def total_cost(self, data: Iterable[Pair], lmbda: float, convert: bool = False) -> float:
        """The mean cost over ``data`` plus the L2 term 0.5 * lmbda / len(data) * sum of
        the squared weights. ``convert`` is False for training data (one-hot y) and True
        for validation / test data (label y)."""
        data = list(data)
        if not data:
            raise ValueError("data is empty")
        return self._total_cost(self._data(data, "data"), lmbda, convert)

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Write sizes, weights, biases and the cost's class name to ``filename`` as
        the book's JSON."""
        cost = self.cost
        _save(self, filename, getattr(cost, "__name__", type(cost).__name__))

    # ------------------------------------------------------------------ internals

    def _output_delta(self, z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
        return self.cost.delta(z, a, y)

    def _native_cost(self) -> str | None:
        """The twin's name for self.cost, or None when it is neither cost class here as
        the book defines it."""
        for name, (cost, fn, delta) in _BOOK_COSTS.items():
            if self.cost is cost:
                return name if cost.delta is delta else None
        return None

    def _cost_changes(self, part: str) -> list[str]:
        """Why self.cost's ``part`` ("fn" or "delta") is not the book's: [] if it is."""
        cost = self.cost
        name = getattr(cost, "__name__", type(cost).__name__)
        for book_cost, fn, delta in _BOOK_COSTS.values():
            if cost is book_cost:
                if getattr(cost, part) is not (fn if part == "fn" else delta):
                    return [f"{name}.{part} was replaced"]
                return []
        return [f"the cost {name} is not network2's QuadraticCost or CrossEntropyCost"]

    def _accuracy(self, data: BookData, convert: bool,
                  outputs: NDArray[Any] | None = None) -> int:
        """accuracy on `data`: from the native forward (or `outputs`, its rows), or the
        book's loop over self.feedforward when the book's forward was changed."""
        if outputs is None and self._forward_changes():
            results: list[tuple[Any, Any]]
            if convert:
                results = [(np.argmax(self.feedforward(x)), np.argmax(y)) for (x, y) in data.pairs]
            else:
                results = [(np.argmax(self.feedforward(x)), y) for (x, y) in data.pairs]
            return sum(int(x == y) for (x, y) in results)
        X, truth = data.stacked("onehot" if convert else "labels")
        if outputs is None:
            outputs = self._native().predict(X)
        return hits(outputs, truth.argmax(axis=1) if convert else truth)

    def _total_cost(self, data: BookData, lmbda: float, convert: bool,
                    outputs: NDArray[Any] | None = None) -> float:
        """total_cost on `data`: self.cost.fn over all outputs at once for the book's
        costs, else per example as the book calls it ((n_out, 1) columns); the outputs
        from the native forward (or `outputs`), or from self.feedforward when the book's
        forward was changed; labels made one-hot by the module's vectorized_result."""
        n = len(data)
        fn = self.cost.fn
        book_fn = not self._cost_changes("fn")
        one_hot = self._replaced((), ("vectorized_result",)) if convert else []
        if outputs is None and self._forward_changes():
            outputs = np.array([np.ravel(self.feedforward(x)) for x, _ in data.pairs])
        if outputs is None:
            outputs = self._native().predict(data.X)
        if not convert:
            Y = data.Y
        elif one_hot:  # a reader's own vectorized_result
            Y = np.array([np.ravel(vectorized_result_now(y)) for _, y in data.pairs])
        else:
            Y = self._one_hot(data.labels)
        with np.errstate(divide="ignore", invalid="ignore"):
            if book_fn:
                cost = fn(outputs, Y) / n  # both sum over every element
            else:
                cost = sum(fn(a.reshape(-1, 1), y.reshape(-1, 1)) / n
                           for a, y in zip(outputs, Y))
        cost += 0.5 * (lmbda / n) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return float(cost)

    def _one_hot(self, labels: NDArray[Any]) -> NDArray[np.float64]:
        """Labels -> one-hot rows (the book's vectorized_result, for sizes[-1] outputs)."""
        d = np.shape(self.weights[-1])[0]
        bad = (labels < 0) | (labels >= d)
        if bad.any():
            raise ValueError(f"label {labels[np.argmax(bad)]} is outside [0, {d}): the "
                             f"network has {d} outputs")
        Y = np.zeros((len(labels), d))
        Y[np.arange(len(labels)), labels] = 1.0
        return Y


class _Monitors:
    """SGD's four monitors, each epoch: ``self.total_cost`` / ``self.accuracy`` called as
    the book calls them when they are not the book's; else one native forward per data
    set and epoch, shared by its cost and its accuracy, on data stacked once (and so
    checked before any training)."""

    def __init__(self, net: Network, train: BookData, evaluation: list[Pair] | None,
                 lmbda: float, watch_training: bool) -> None:
        self.net, self.train, self.lmbda = net, train, lmbda
        self.evaluation_pairs = evaluation
        self.evaluation = net._data(evaluation, "evaluation_data") if evaluation else None
        self.own_cost = bool(net._replaced(("total_cost",)))
        self.own_accuracy = bool(net._replaced(("accuracy",)))
        self.outputs: dict[int, NDArray[Any]] = {}
        self.training_list: Callable[[], list[Pair]] = lambda: train.pairs
        forward = not net._forward_changes()
        if forward and watch_training:
            train.stacked("onehot")
        if forward and self.evaluation is not None:
            self.evaluation.stacked("labels")

    def next_epoch(self, training_list: Callable[[], list[Pair]]) -> None:
        self.outputs.clear()
        self.training_list = training_list

    def _outputs(self, data: BookData) -> NDArray[Any] | None:
        """The native forward of `data` this epoch (None: the book's forward was changed)."""
        if self.net._forward_changes():
            return None
        if id(data) not in self.outputs:
            self.outputs[id(data)] = self.net._native().predict(data.X)
        return self.outputs[id(data)]

    def training_cost(self) -> float:
        if self.own_cost:  # the training list in the order the book's SGD holds it
            return self.net.total_cost(self.training_list(), self.lmbda)
        return self.net._total_cost(self.train, self.lmbda, False, self._outputs(self.train))

    def training_accuracy(self) -> int:
        if self.own_accuracy:
            return self.net.accuracy(self.training_list(), convert=True)
        return self.net._accuracy(self.train, True, self._outputs(self.train))

    def evaluation_cost(self) -> float:
        assert self.evaluation is not None and self.evaluation_pairs is not None
        if self.own_cost:
            return self.net.total_cost(self.evaluation_pairs, self.lmbda, convert=True)
        return self.net._total_cost(self.evaluation, self.lmbda, True,
                                    self._outputs(self.evaluation))

    def evaluation_accuracy(self) -> int:
        assert self.evaluation is not None and self.evaluation_pairs is not None
        if self.own_accuracy:
            return self.net.accuracy(self.evaluation_pairs)
        return self.net._accuracy(self.evaluation, False, self._outputs(self.evaluation))


def vectorized_result_now(j: Any) -> NDArray[Any]:
    """The module's vectorized_result as it is now (a reader may have replaced it)."""
    return np.asarray(sys.modules[__name__].vectorized_result(j))


# the book's cost classes as defined here: (class, fn, delta) by the twin's name
_BOOK_COSTS: dict[str, tuple[Any, Any, Any]] = {
    "quadratic": (QuadraticCost, QuadraticCost.fn, QuadraticCost.delta),
    "cross_entropy": (CrossEntropyCost, CrossEntropyCost.fn, CrossEntropyCost.delta),
}

Network._register(sys.modules[__name__],
                  ("feedforward", "SGD", "update_mini_batch", "backprop", "accuracy",
                   "total_cost"),
                  ("sigmoid", "sigmoid_prime", "vectorized_result"))



def load(filename: str | os.PathLike[str]) -> Network:
    """A Network from a JSON file written by ``save`` (here, in network.py or by the
    book's network2.py). Like the book's load, it first builds ``Network(sizes,
    cost)``, which draws from np.random, then puts the saved weights and biases in."""
    sizes, weights, biases, cost_name = _read(filename)
    if cost_name is None:
        cost_name = "CrossEntropyCost"
    cost = COSTS.get(cost_name)
    if cost is None:
        raise ModelFileError(f"{filename}: unknown cost {cost_name!r}; known: "
                             f"{', '.join(COSTS)}", filename)
    net = Network(sizes, cost=cost)
    net.weights, net.biases = weights, biases
    return net
