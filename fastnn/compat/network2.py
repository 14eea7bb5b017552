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
the book's mini-batch order (``random.shuffle`` consumes the same random numbers as the
book's shuffle of its list), with the book's update rule

    w <- (1 - eta * lmbda / n) w - (eta / m) * sum of nabla_w over the mini-batch
    b <- b - (eta / m) * sum of nabla_b                        (biases are not decayed)

so seeded runs give the book's weights up to float64 rounding. The quadratic cost maps
onto fastnn's "squared_error" loss and the cross-entropy cost onto
"binary_cross_entropy" (scaled, see fastnn.compat._engine), L2 onto SGD's
weight_decay with decay_biases=False; an epoch is one native call of the model's fused
plan. ``accuracy`` and ``total_cost`` use one batched native
forward. A cost class other than the two here (or a subclass that replaces
``update_mini_batch`` or ``backprop``) trains through ``update_mini_batch`` as in the
book, with numpy: the mini-batch as one matrix whose columns are the examples, so a
custom ``cost.delta(z, a, y)`` gets (n_out, m) matrices.

Differences from the book's code: the training list you pass is copied, not shuffled in
place (as in the Python 3 port); bad input raises a clear error; ``load`` only knows the
two cost classes here (the book looks any name up in its module); ``SGD`` also takes
``early_stopping_n`` as the Python 3 port of the book does (stop once the evaluation
accuracy has not improved for that many epochs; needs monitor_evaluation_accuracy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import ModelFileError
from ._engine import BookNetwork, check_sizes, sigmoid, sigmoid_prime, vectorized_result
from .network import _count, _read, _save

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence
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
        ``Accuracy on evaluation data: {correct} / {n_data}``, and an empty line.
        ``evaluation_data`` holds (x, label) pairs."""
        training_data = list(training_data)
        epochs = _count("epochs", epochs)
        mini_batch_size = _count("mini_batch_size", mini_batch_size, lo=1)
        early_stopping_n = _count("early_stopping_n", early_stopping_n)
        if not training_data:
            raise ValueError("training_data is empty")
        n = len(training_data)
        X, Y = self._inputs(training_data, "training_data", "onehot")
        if evaluation_data is not None:
            evaluation_data = list(evaluation_data)
        watch_evaluation = monitor_evaluation_cost or monitor_evaluation_accuracy
        if watch_evaluation:
            if not evaluation_data:
                raise ValueError("monitor_evaluation_cost / monitor_evaluation_accuracy need "
                                 "evaluation_data")
            n_data = len(evaluation_data)
            X_eval, labels_eval = self._inputs(evaluation_data, "evaluation_data", "labels")
        if early_stopping_n and not monitor_evaluation_accuracy:
            raise ValueError("early_stopping_n watches the evaluation accuracy: pass "
                             "evaluation_data and monitor_evaluation_accuracy=True")
        evaluation_cost: list[float]
        evaluation_accuracy: list[int]
        training_cost: list[float]
        training_accuracy: list[int]
        evaluation_cost, evaluation_accuracy = [], []
        training_cost, training_accuracy = [], []
        best_accuracy, no_accuracy_change = 0, 0  # as in the Python 3 port

        def update(mini_batch: list[Pair]) -> None:
            self.update_mini_batch(mini_batch, eta, lmbda, n)

        for j in self._epochs(training_data, X, Y, epochs, mini_batch_size, eta, lmbda,
                              update):
            print("Epoch %s training complete" % j)
            if monitor_training_cost or monitor_training_accuracy:
                outputs = self._outputs(X)
            if monitor_training_cost:
                cost = self._total_cost(outputs, Y, lmbda)
                training_cost.append(cost)
                print("Cost on training data: {}".format(cost))
            if monitor_training_accuracy:
                accuracy = _hits(outputs, Y.argmax(axis=1))
                training_accuracy.append(accuracy)
                print("Accuracy on training data: {} / {}".format(accuracy, n))
            if watch_evaluation:
                outputs = self._outputs(X_eval)
            if monitor_evaluation_cost:
                cost = self._total_cost(outputs, self._one_hot(labels_eval), lmbda)
                evaluation_cost.append(cost)
                print("Cost on evaluation data: {}".format(cost))
            if monitor_evaluation_accuracy:
                accuracy = _hits(outputs, labels_eval)
                evaluation_accuracy.append(accuracy)
                print("Accuracy on evaluation data: {} / {}".format(accuracy, n_data))
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
        if convert:
            X, Y = self._inputs(data, "data", "onehot")
            return _hits(self._outputs(X), Y.argmax(axis=1))
        X, labels = self._inputs(data, "data", "labels")
        return _hits(self._outputs(X), labels)

    def total_cost(self, data: Iterable[Pair], lmbda: float, convert: bool = False) -> float:
        """The mean cost over ``data`` plus the L2 term 0.5 * lmbda / len(data) * sum of
        the squared weights. ``convert`` is False for training data (one-hot y) and True
        for validation / test data (label y)."""
        data = list(data)
        if not data:
            raise ValueError("data is empty")
        if convert:
            X, labels = self._inputs(data, "data", "labels")
            return self._total_cost(self._outputs(X), self._one_hot(labels), lmbda)
        X, Y = self._inputs(data, "data", "onehot")
        return self._total_cost(self._outputs(X), Y, lmbda)

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Write sizes, weights, biases and the cost's class name to ``filename`` as
        the book's JSON."""
        cost = self.cost
        _save(self, filename, getattr(cost, "__name__", type(cost).__name__))

    # ------------------------------------------------------------------ internals

    def _output_delta(self, z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
        return self.cost.delta(z, a, y)

    def _native_cost(self) -> str | None:
        """The twin's name for self.cost, or None when it is neither cost class here."""
        delta = getattr(self.cost, "delta", None)
        if delta is QuadraticCost.delta:
            return "quadratic"
        if delta is CrossEntropyCost.delta:
            return "cross_entropy"
        return None

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

    def _total_cost(self, outputs: NDArray[Any], Y: NDArray[Any], lmbda: float) -> float:
        """total_cost from the outputs (rows) and the one-hot targets (rows)."""
        n = len(outputs)
        fn = self.cost.fn
        with np.errstate(divide="ignore", invalid="ignore"):
            if fn is QuadraticCost.fn or fn is CrossEntropyCost.fn:
                cost = fn(outputs, Y) / n  # both sum over every element
            else:
                cost = sum(fn(a.reshape(-1, 1), y.reshape(-1, 1)) / n
                           for a, y in zip(outputs, Y))
        cost += 0.5 * (lmbda / n) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return float(cost)


Network._home = Network


def _hits(outputs: NDArray[Any], truth: NDArray[Any]) -> int:
    """How many rows of outputs have their largest entry at the true class."""
    return int(np.count_nonzero(outputs.argmax(axis=1) == truth))


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
