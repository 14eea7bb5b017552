"""A drop-in replacement for ``network.py`` of Michael Nielsen's book *Neural Networks
and Deep Learning* (chapter 1): the same class, methods, printed lines and numbers, with
the training loop running natively.

    from fastnn.compat import network          # instead of: import network
    net = network.Network([784, 30, 10])
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

The network is the book's: sigmoid neurons everywhere, the quadratic cost, weights and
biases drawn from ``np.random.randn`` (numpy's global RNG) in the book's order, plain
mini-batch gradient descent. Data come in the book's format: a list (or any iterable,
such as the ``zip`` objects of the Python 3 ``mnist_loader``) of ``(x, y)`` pairs, x a
column vector of shape (784, 1); y the one-hot (10, 1) column of the right digit for
training data and the digit itself (an int) for test data.

``net.weights[l]`` (n_out, n_in) and ``net.biases[l]`` (n_out, 1) are the book's float64
lists: read them, edit them in place or assign new arrays, and the next SGD / evaluate
uses what you wrote. As in the book, SGD replaces them with new arrays as it trains.

How it runs: SGD copies the data into float64 matrices once per call (natively: about
50 ms and 320 MB for 50,000 MNIST images) and trains each epoch in one native call of a
float64 ``fastnn.Sequential`` twin (its fused training plan, fastnn._fused), mini-batch
by mini-batch in the book's order: each epoch draws the permutation ``random.shuffle``
would make of the training list, from ``random``'s own state, which it leaves where the
book's shuffle leaves it (fastnn.compat._native). So with ``random.seed(...)`` and
``np.random.seed(...)`` you get the book's batches, its starting weights and -- up to
float64 rounding -- its trained weights. After each epoch SGD calls ``self.evaluate``,
as the book does; the book's ``evaluate`` is one batched native forward over test data
stacked once per call.

Changes you make are honoured, as the book's code would honour them. If anything the
native training stands in for differs from the book's own definition -- ``backprop``,
``update_mini_batch`` or ``cost_derivative`` overridden in a subclass, replaced on the
class or set on the instance, or the module's ``sigmoid`` / ``sigmoid_prime`` replaced
(``network.sigmoid = ...``) -- SGD runs the book's own loop, example by example in
Python, and says so once with a ``fastnn.compat.BookCodeWarning`` naming the change. A
changed ``feedforward`` (or ``sigmoid``) is what ``evaluate`` calls, per example; a
changed ``evaluate`` is what SGD prints; a replaced ``random.shuffle`` orders the
batches.

Differences from the book's code: the training list you pass is copied, not shuffled in
place (as in the Python 3 form of the book's code); bad input (wrong shapes, NaN/inf)
raises a clear error instead of broadcasting silently; an empty ``training_data`` (such
as a ``zip`` object already read once) raises instead of training on nothing;
``save`` / ``load`` (from network2.py) are here too.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelFileError
from ._engine import BookData, BookNetwork, check_sizes, hits, vectorized_result

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Sequence

    from numpy.typing import ArrayLike, NDArray

    from ._engine import FloatArray, LayerArrays, Pair

__all__ = ["Network", "sigmoid", "sigmoid_prime", "vectorized_result", "load"]


def sigmoid(z: FloatArray) -> FloatArray:
    """The sigmoid function 1 / (1 + e^-z), elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: FloatArray) -> FloatArray:
    """Derivative of the sigmoid function. As in the book it calls this module's
    ``sigmoid``: replace ``network.sigmoid`` and the derivative follows."""
    return sigmoid(z) * (1 - sigmoid(z))


class Network(BookNetwork):
    """A feedforward network of sigmoid neurons trained with the quadratic cost.

    ``sizes`` lists the neurons per layer, inputs first: ``Network([784, 30, 10])``.
    Biases and weights are drawn from N(0, 1) with ``np.random.randn``, every bias
    vector first and then every weight matrix, as the book does. The input layer has
    no biases.
    """

    _TRAINING_METHODS = ("update_mini_batch", "backprop", "cost_derivative")

    def __init__(self, sizes: Sequence[int]) -> None:
        check_sizes(sizes)
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a: ArrayLike) -> NDArray[Any]:
        """The network's output for the input column vector ``a`` (n_in, 1)."""
        return self._feedforward(a)

    def SGD(self, training_data: Iterable[Pair], epochs: int, mini_batch_size: int, eta: float,
            test_data: Iterable[Pair] | None = None) -> None:
        """Train with mini-batch stochastic gradient descent.

        ``training_data``: (x, y) pairs with one-hot y; ``epochs`` passes over it in
        mini-batches of ``mini_batch_size``, learning rate ``eta``. With ``test_data``
        ((x, label) pairs) the network is scored by ``self.evaluate`` after each epoch
        and ``Epoch {j}: {correct} / {n_test}`` printed; otherwise ``Epoch {j} complete``.
        """
        training_data = list(training_data)
        epochs = _count("epochs", epochs)
        mini_batch_size = _count("mini_batch_size", mini_batch_size, lo=1)
        if not training_data:
            raise ValueError("training_data is empty (an iterator such as zip(...) is empty "
                             "once it has been read)")
        if test_data is not None:
            test_data = list(test_data)
        score = self._scorer(test_data) if test_data else None
        training = self._training(self._data(training_data, "training_data"), mini_batch_size,
                                  eta, 0.0, lambda mini_batch: self.update_mini_batch(
                                      mini_batch, eta))
        for j in range(epochs):
            training.epoch()
            if score is not None:
                print("Epoch {0}: {1} / {2}".format(j, score(), len(test_data or ())))
            else:
                print("Epoch {0} complete".format(j))

    def update_mini_batch(self, mini_batch: Iterable[Pair], eta: float) -> None:
        """One gradient-descent step on ``mini_batch`` (a list of (x, y)): backprop's
        gradients summed over it, then ``w -= eta/m * nabla_w``, ``b -= eta/m *
        nabla_b`` (m = len(mini_batch)). Replaces self.weights and self.biases."""
        nabla_b, nabla_w, m = self._mini_batch_gradients(mini_batch)
        self.weights = [w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x: ArrayLike, y: ArrayLike) -> LayerArrays:
        """``(nabla_b, nabla_w)``: the gradient of the cost of one example (x, y), as
        lists shaped like self.biases and self.weights."""
        return self._backprop(x, y)

    def evaluate(self, test_data: Iterable[Pair]) -> int:
        """How many of the (x, label) pairs of ``test_data`` the network gets right (the
        output neuron with the highest activation is its answer)."""
        test_data = list(test_data)
        if not test_data:
            return 0
        return self._evaluate(self._data(test_data, "test_data"))

    def cost_derivative(self, output_activations: FloatArray, y: FloatArray) -> FloatArray:
        """dC/da of the quadratic cost for the output activations: a - y."""
        return output_activations - y

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Write sizes, weights and biases to ``filename`` as JSON, in the format of
        network2.py's save (with "cost": "QuadraticCost")."""
        _save(self, filename, "QuadraticCost")

    # ------------------------------------------------------------------ internals

    def _output_delta(self, z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
        sigmoid_prime: Callable[[FloatArray], FloatArray] = self._module.sigmoid_prime
        return self.cost_derivative(a, y) * sigmoid_prime(z)

    def _native_cost(self) -> str:
        return "quadratic"

    def _cost_changes(self, part: str) -> list[str]:
        return []  # the cost is cost_derivative, one of _TRAINING_METHODS

    def _evaluate(self, test: BookData) -> int:
        """evaluate on stacked data: one native forward, or the book's loop over
        self.feedforward when the book's forward was changed."""
        if self._forward_changes():
            results = [(np.argmax(self.feedforward(x)), y) for (x, y) in test.pairs]
            return sum(int(x == y) for (x, y) in results)
        return hits(self._native().predict(test.X), test.labels)

    def _scorer(self, test_data: list[Pair]) -> Callable[[], int]:
        """What SGD calls after each epoch: self.evaluate(test_data) when evaluate is not
        the book's, else the same count on test_data stacked once (and checked now,
        before any training)."""
        if self._replaced(("evaluate",)):
            return lambda: self.evaluate(test_data)
        test = self._data(test_data, "test_data")
        if not self._forward_changes():
            test.stacked("labels")  # checked before any training
        return lambda: self._evaluate(test)


Network._register(sys.modules[__name__], ("feedforward", "SGD", "update_mini_batch", "backprop",
                                             "evaluate", "cost_derivative"),
                  ("sigmoid", "sigmoid_prime"))


def load(filename: str | os.PathLike[str]) -> Network:
    """A Network from a JSON file written by ``save`` (here or in network2.py, with the
    quadratic cost). Like the book's load, it first builds ``Network(sizes)``, which
    draws from np.random, then puts the saved weights and biases in."""
    sizes, weights, biases, cost = _read(filename)
    if cost not in (None, "QuadraticCost"):
        raise ModelFileError(f"{filename} holds a network trained with {cost}; network.py "
                             "networks use the quadratic cost: load it with "
                             "fastnn.compat.network2.load", filename)
    net = Network(sizes)
    net.weights, net.biases = weights, biases
    return net



# ====================================================================== helpers (shared
# with network2)


def _count(name: str, value: int, lo: int = 0) -> int:
    """An int argument such as epochs, checked."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def _save(net: BookNetwork, filename: str | os.PathLike[str], cost_name: str) -> None:
    data = {"sizes": [int(s) for s in net.sizes],
            "weights": [np.asarray(w, dtype=np.float64).tolist() for w in net.weights],
            "biases": [np.asarray(b, dtype=np.float64).tolist() for b in net.biases],
            "cost": cost_name}
    with open(filename, "w") as f:
        json.dump(data, f)


def _read(filename: str | os.PathLike[str]
          ) -> tuple[list[int], list[NDArray[np.float64]], list[NDArray[np.float64]], str | None]:
    """(sizes, weights, biases, cost name or None) from a JSON file in the book's
    format, checked: shapes that fit the sizes, finite numbers."""
    try:
        with open(filename, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        # (RecursionError: nesting deeper than the interpreter's stack)
        raise ModelFileError(f"{filename} is not a JSON network file: {type(e).__name__}: "
                             f"{str(e)[:200]}", filename) from None
    if not isinstance(data, dict) or not {"sizes", "weights", "biases"} <= set(data):
        raise ModelFileError(f"{filename} is not a network file in the book's format (a JSON "
                             'object with "sizes", "weights", "biases" and "cost")', filename)
    try:
        sizes = check_sizes(data["sizes"])
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{filename}: {e}", filename) from None
    weights: list[NDArray[np.float64]]
    biases: list[NDArray[np.float64]]
    weights, biases = [], []
    for key, out, shapes in (
            ("weights", weights, [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]),
            ("biases", biases, [(o, 1) for o in sizes[1:]])):
        arrays = data[key]
        if not isinstance(arrays, list) or len(arrays) != len(shapes):
            raise ModelFileError(f"{filename}: {key} must be a list of {len(shapes)} arrays "
                                 f"for sizes {sizes}", filename)
        for i, (a, shape) in enumerate(zip(arrays, shapes)):
            try:
                a = np.array(a, dtype=np.float64)
            except (TypeError, ValueError):
                a = None
            if a is None or a.shape != shape:
                raise ModelFileError(f"{filename}: {key}[{i}] must be an array of shape "
                                     f"{shape} for sizes {sizes}", filename)
            if not np.isfinite(a).all():
                raise ModelFileError(f"{filename}: {key}[{i}] contains NaN or infinity",
                                     filename)
            out.append(a)
    cost = data.get("cost")
    if cost is not None and not isinstance(cost, str):
        raise ModelFileError(f"{filename}: cost must be a class name, got {cost!r}", filename)
    return sizes, weights, biases, cost
