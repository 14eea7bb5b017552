"""The book's training algorithm, one example at a time, in plain numpy.

This is the numpy reference of ``fastnn.compat``: what the ``network.py`` /
``network2.py`` programs of Michael Nielsen's *Neural Networks and Deep Learning* compute,
written out from the book's equations with nothing batched, so that it can be read
side by side with chapters 1-3. The tests hold ``fastnn.compat.network`` and
``fastnn.compat.network2`` against it, and ``benchmarks/test_compat.py`` times it.

Parameters are the book's lists: ``weights[l]`` of shape (n_out, n_in) and
``biases[l]`` of shape (n_out, 1), float64. For one example (x a column vector, y the
one-hot column of the right answer):

    forward      z^l = w^l a^(l-1) + b^l,  a^l = sigmoid(z^l),  a^0 = x
    output error delta^L = (a^L - y) * sigmoid'(z^L)         (quadratic cost)
                 delta^L = a^L - y                           (cross-entropy cost)
    backward     delta^l = (w^(l+1))^T delta^(l+1) * sigmoid'(z^l)
    gradients    dC/db^l = delta^l,  dC/dw^l = delta^l (a^(l-1))^T

A mini-batch of m examples sums these gradients and takes one step

    w <- (1 - eta * lmbda / n) w - (eta / m) sum dC/dw      (n: training set size)
    b <- b - (eta / m) sum dC/db                              (biases are not decayed)

and an epoch shuffles the training list with ``random.shuffle`` and walks it in
consecutive mini-batches (the last one may be shorter).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from numpy.typing import ArrayLike, NDArray

    from ._engine import FloatArray, LayerArrays

    # an output error: delta(z, a, y)
    Delta = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
    # one example: (x, y) column vectors
    Example = tuple[NDArray[Any], NDArray[Any]]

__all__ = ["sigmoid", "sigmoid_prime", "initial_parameters", "feedforward",
           "quadratic_delta", "cross_entropy_delta", "DELTAS", "backprop",
           "update_mini_batch", "sgd", "as_book_data"]


def sigmoid(z: FloatArray) -> FloatArray:
    """The logistic function 1 / (1 + e^-z), elementwise."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: FloatArray) -> FloatArray:
    """Derivative of the sigmoid: sigmoid(z) * (1 - sigmoid(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def initial_parameters(sizes: Sequence[int], scaled: bool = True) -> LayerArrays:
    """Random (weights, biases) drawn from numpy's global RNG in the book's order: every
    bias vector first, then every weight matrix. Weights are N(0, 1/n_in) when
    ``scaled`` (network2's default initializer) and N(0, 1) otherwise (network.py and
    network2's large_weight_initializer); biases are N(0, 1)."""
    biases = [np.random.randn(n_out, 1) for n_out in sizes[1:]]
    weights = [np.random.randn(n_out, n_in) / (np.sqrt(n_in) if scaled else 1.0)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return weights, biases


def feedforward(weights: Sequence[NDArray[Any]], biases: Sequence[NDArray[Any]],
                a: NDArray[Any]) -> NDArray[Any]:
    """The network's output for the column vector ``a``."""
    for w, b in zip(weights, biases):
        a = sigmoid(np.dot(w, a) + b)
    return a


def quadratic_delta(z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
    """Output error of the quadratic cost 0.5 * ||a - y||^2."""
    return (a - y) * sigmoid_prime(z)


def cross_entropy_delta(z: FloatArray, a: FloatArray, y: FloatArray) -> FloatArray:
    """Output error of the cross-entropy cost (the sigmoid's derivative cancels)."""
    return a - y


DELTAS: dict[str, Delta] = {"quadratic": quadratic_delta, "cross_entropy": cross_entropy_delta}


def backprop(weights: Sequence[NDArray[Any]], biases: Sequence[NDArray[Any]], x: NDArray[Any],
             y: NDArray[Any], delta: Delta = quadratic_delta) -> LayerArrays:
    """Gradients (nabla_b, nabla_w) of the cost of one example (x, y), layer by layer."""
    activation = x
    activations = [x]
    zs = []
    for w, b in zip(weights, biases):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    nabla_b: list[Any] = [None] * len(biases)  # filled in below
    nabla_w: list[Any] = [None] * len(weights)
    d = delta(zs[-1], activations[-1], y)
    nabla_b[-1] = d
    nabla_w[-1] = np.dot(d, activations[-2].T)
    for l in range(2, len(weights) + 1):
        d = np.dot(weights[-l + 1].T, d) * sigmoid_prime(zs[-l])
        nabla_b[-l] = d
        nabla_w[-l] = np.dot(d, activations[-l - 1].T)
    return nabla_b, nabla_w


def update_mini_batch(weights: Sequence[NDArray[Any]], biases: Sequence[NDArray[Any]],
                      mini_batch: Sequence[Example], eta: float, lmbda: float = 0.0, n: int = 1,
                      delta: Delta = quadratic_delta) -> LayerArrays:
    """One gradient step on ``mini_batch`` (a list of (x, y)): the per-example gradients
    are summed, then ``w <- (1 - eta*lmbda/n) w - eta/m * sum``, ``b <- b - eta/m * sum``.
    Returns the new (weights, biases) lists."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        delta_b, delta_w = backprop(weights, biases, x, y, delta)
        nabla_b = [nb + db for nb, db in zip(nabla_b, delta_b)]
        nabla_w = [nw + dw for nw, dw in zip(nabla_w, delta_w)]
    m = len(mini_batch)
    weights = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / m) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def sgd(weights: list[NDArray[Any]], biases: list[NDArray[Any]], training_data: Iterable[Example],
        epochs: int, mini_batch_size: int, eta: float, lmbda: float = 0.0,
        cost: str = "quadratic") -> LayerArrays:
    """Train for ``epochs`` epochs as the book does: each epoch shuffles the training
    list with ``random.shuffle`` and takes one step per mini-batch. ``cost`` is
    "quadratic" (network.py) or "cross_entropy". Returns the final (weights, biases)."""
    delta = DELTAS[cost]
    training_data = list(training_data)
    n = len(training_data)
    for _ in range(epochs):
        random.shuffle(training_data)
        for k in range(0, n, mini_batch_size):
            weights, biases = update_mini_batch(weights, biases,
                                                training_data[k:k + mini_batch_size],
                                                eta, lmbda, n, delta)
    return weights, biases


def as_book_data(X: ArrayLike, y: Sequence[int] | NDArray[Any], vectorize: bool | int
                 ) -> list[tuple[NDArray[Any], int]] | list[tuple[NDArray[Any], NDArray[Any]]]:
    """(X, y) arrays -> the book's list of (x, y) tuples: x the (features, 1) column of
    a row of X (a view), y the one-hot (classes, 1) column of the label when
    ``vectorize`` (training data; 10 classes, or ``vectorize`` classes if it is an int)
    and the int label otherwise (test data)."""
    X = np.asarray(X)
    columns = X.reshape(X.shape[0], -1, 1)
    if not vectorize:
        return [(x, int(label)) for x, label in zip(columns, y)]
    classes = 10 if vectorize is True else int(vectorize)
    targets = np.zeros((len(y), classes, 1))
    targets[np.arange(len(y)), np.asarray(y, dtype=np.intp), 0] = 1.0
    return list(zip(columns, targets))
