"""What a reader changes in the book's code, fastnn.compat honours.

Each case changes one thing the way a student does -- a subclass's method, a method
replaced on the class or set on the instance, the module's ``sigmoid``, a cost of their
own (elementwise or not), ``random.shuffle`` -- and compares fastnn.compat's network
with `Book` below: the book's network.py / network2.py algorithm written out with the
same change, example by example. Where the change replaces something the native path
stands in for, compat must run the book's code (and warn once, naming the change);
where it does not, training stays native and the change is called as the book calls it.
"""

import random
import warnings

import numpy as np
import pytest

from fastnn.compat import BookCodeWarning, _engine, network, network2

SIZES = [5, 7, 3]


# ====================================================================== the book, written out


def book_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Book:
    """The book's Network: feedforward, backprop, update_mini_batch, SGD, evaluate,
    accuracy and total_cost as network.py / network2.py write them, with the parts a
    reader changes passed in: ``sigmoid`` (sigmoid_prime follows it, as in the book),
    ``delta(z, a, y)`` (the output error: the cost class's delta, or
    cost_derivative(a, y) * sigmoid_prime(z)), ``fn(a, y)`` and ``shuffle``."""

    def __init__(self, net, sigmoid=book_sigmoid, delta=None, fn=None, shuffle=None):
        self.weights = [np.array(w, dtype=np.float64) for w in net.weights]
        self.biases = [np.array(b, dtype=np.float64) for b in net.biases]
        self.sigmoid = sigmoid
        self.delta = delta or (lambda z, a, y: (a - y) * self.sigmoid_prime(z))
        self.fn = fn
        self.shuffle = shuffle or random.shuffle

    def sigmoid_prime(self, z):
        return self.sigmoid(z) * (1 - self.sigmoid(z))

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = self.sigmoid(np.dot(w, a) + b)
        return a

    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = self.sigmoid(z)
            activations.append(activation)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = self.delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].T)
        for l in range(2, len(self.weights) + 1):
            delta = np.dot(self.weights[-l + 1].T, delta) * self.sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].T)
        return nabla_b, nabla_w

    def update_mini_batch(self, mini_batch, eta, lmbda=0.0, n=1):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            db, dw = self.backprop(x, y)
            nabla_b = [nb + d for nb, d in zip(nabla_b, db)]
            nabla_w = [nw + d for nw, d in zip(nabla_w, dw)]
        m = len(mini_batch)
        self.weights = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0):
        training_data = list(training_data)
        n = len(training_data)
        for _ in range(epochs):
            self.shuffle(training_data)
            for k in range(0, n, mini_batch_size):
                self.update_mini_batch(training_data[k:k + mini_batch_size], eta, lmbda, n)
        return self

    def evaluate(self, test_data):
        return sum(int(np.argmax(self.feedforward(x)) == y) for x, y in test_data)

    def total_cost(self, data, lmbda, convert=False):
        cost = 0.0
        for x, y in data:
            a = self.feedforward(x)
            if convert:
                y = np.eye(len(a))[[y]].T
            cost += self.fn(a, y) / len(data)
        return cost + 0.5 * (lmbda / len(data)) * sum(np.linalg.norm(w) ** 2
                                                      for w in self.weights)


# ====================================================================== helpers


def data(n, seed, labels=False):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]))
    X[X < 0.3] = 0.0
    y = rng.integers(0, SIZES[-1], n)
    if labels:
        return [(x.reshape(-1, 1), int(t)) for x, t in zip(X, y)]
    return [(x.reshape(-1, 1), np.eye(SIZES[-1])[[t]].T) for x, t in zip(X, y)]


def seeded(module, cls=None, **kw):
    np.random.seed(0)
    return (cls or module.Network)(SIZES, **kw)


def assert_same(net, book, rtol=1e-10):
    for a, e in zip(net.weights + net.biases, book.weights + book.biases):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=1e-12 * max(1.0, np.abs(e).max()))


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Each test sees the first warning of its change (they are once per process)."""
    monkeypatch.setattr(_engine, "_warned", set())


@pytest.fixture
def plan_calls(monkeypatch):
    """How many epochs ran as one native call of the fused plan."""
    from fastnn import _fused

    calls = []
    run_epoch = _fused.run_epoch

    def counting(*args, **kwargs):
        calls.append(1)
        return run_epoch(*args, **kwargs)

    monkeypatch.setattr(_fused, "run_epoch", counting)
    return calls


# ====================================================================== nothing changed


def test_nothing_changed_trains_natively_without_a_warning(plan_calls, capsys):
    train, test = data(30, 1), data(12, 2, labels=True)
    for module, kw in ((network, {}), (network2, {"lmbda": 0.5})):
        net = seeded(module)
        book = Book(net, delta=None if module is network else lambda z, a, y: a - y)
        with warnings.catch_warnings():
            warnings.simplefilter("error", BookCodeWarning)
            random.seed(3)
            if module is network:
                net.SGD(train, 2, 4, 3.0, test_data=test)
            else:
                net.SGD(train, 2, 4, 0.5, evaluation_data=test, monitor_evaluation_accuracy=True,
                        monitor_training_cost=True, **kw)
        random.seed(3)
        book.SGD(train, 2, 4, 3.0 if module is network else 0.5, kw.get("lmbda", 0.0))
        assert_same(net, book)
    assert len(plan_calls) == 4


# ====================================================================== methods SGD calls


def test_sgd_prints_what_an_overridden_evaluate_returns(plan_calls, capsys):
    seen = []

    class Scored(network.Network):
        def evaluate(self, test_data):
            seen.append(test_data)
            return 100 + len(seen)

    train, test = data(20, 1), data(9, 2, labels=True)
    net = seeded(network, Scored)
    net.SGD(train, 2, 5, 3.0, test_data=iter(test))
    assert capsys.readouterr().out == "Epoch 0: 101 / 9\nEpoch 1: 102 / 9\n"
    assert len(seen) == 2 and all(s == test for s in seen)  # the list, as the book passes it
    assert len(plan_calls) == 2  # training itself stays native


def test_network2_sgd_monitors_through_overridden_accuracy_and_total_cost(plan_calls, capsys):
    calls = []

    class Monitored(network2.Network):
        def accuracy(self, data, convert=False):
            calls.append(("accuracy", len(data), convert))
            return 1000 + len(calls)

        def total_cost(self, data, lmbda, convert=False):
            calls.append(("total_cost", len(data), lmbda, convert))
            return 0.25 * len(calls)

    train, valid = data(20, 1), data(8, 2, labels=True)
    net = seeded(network2, Monitored)
    result = net.SGD(train, 1, 5, 0.5, lmbda=0.1, evaluation_data=valid,
                     monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                     monitor_training_cost=True, monitor_training_accuracy=True)
    # the book's order and arguments
    assert calls == [("total_cost", 20, 0.1, False), ("accuracy", 20, True),
                     ("total_cost", 8, 0.1, True), ("accuracy", 8, False)]
    assert result == ([0.75], [1004], [0.25], [1002])
    out = capsys.readouterr().out
    assert "Accuracy on training data: 1002 / 20" in out
    assert "Accuracy on evaluation data: 1004 / 8" in out
    assert len(plan_calls) == 1


def test_overridden_feedforward_scores_through_it_and_training_stays_native(plan_calls, capsys):
    class Softmaxed(network.Network):  # the book's backprop does not call feedforward
        def feedforward(self, a):
            out = super().feedforward(a)
            return -out  # a changed answer: the worst output wins

    train, test = data(20, 1), data(15, 2, labels=True)
    net = seeded(network, Softmaxed)
    with pytest.warns(BookCodeWarning, match="Softmaxed.feedforward overrides "
                                             "Network.feedforward: evaluate"):
        net.SGD(train, 1, 5, 3.0, test_data=test)
    book = Book(net)
    expected = sum(int(np.argmax(-book.feedforward(x)) == y) for x, y in test)
    assert capsys.readouterr().out == f"Epoch 0: {expected} / 15\n"
    assert net.evaluate(test) == expected
    assert len(plan_calls) == 1
    net2 = seeded(network2)
    net2.feedforward = lambda a: np.ones((3, 1)) * 0.5  # on the instance
    with pytest.warns(BookCodeWarning, match="net.feedforward is set on the instance"):
        assert net2.accuracy(test) == sum(int(y == 0) for _, y in test)
    cost = 0.0
    for x, y in test:
        e = np.eye(3)[[y]].T
        cost += network2.CrossEntropyCost.fn(np.ones((3, 1)) * 0.5, e) / len(test)
    cost += 0.5 * (0.3 / len(test)) * sum(np.linalg.norm(w) ** 2 for w in net2.weights)
    assert net2.total_cost(test, 0.3, convert=True) == pytest.approx(cost, rel=1e-12)


# ====================================================================== training code changed


def test_cost_derivative_set_on_the_instance(plan_calls, capsys):
    train = data(22, 1)
    net = seeded(network)
    net.cost_derivative = lambda a, y: 2.0 * (a - y)
    book = Book(net, delta=lambda z, a, y: 2.0 * (a - y) * book.sigmoid_prime(z))
    random.seed(4)
    with pytest.warns(BookCodeWarning, match="net.cost_derivative is set on the instance: "
                                             "SGD trains with the book's own loop"):
        net.SGD(train, 2, 4, 1.0)
    random.seed(4)
    assert_same(net, book.SGD(train, 2, 4, 1.0))
    assert plan_calls == []


def test_backprop_replaced_on_the_class(monkeypatch, plan_calls, capsys):
    calls = []
    book_backprop = network.Network.backprop

    def counting(self, x, y):
        calls.append(1)
        return book_backprop(self, x, y)

    monkeypatch.setattr(network.Network, "backprop", counting)
    train = data(18, 1)
    net = seeded(network)
    book = Book(net)
    random.seed(5)
    with pytest.warns(BookCodeWarning, match="Network.backprop was replaced"):
        net.SGD(train, 2, 4, 3.0)
    random.seed(5)
    assert_same(net, book.SGD(train, 2, 4, 3.0))
    assert len(calls) == 2 * len(train) and plan_calls == []


def test_update_mini_batch_overridden_is_called_per_mini_batch(plan_calls, capsys):
    sizes = []

    class Logged(network2.Network):
        def update_mini_batch(self, mini_batch, eta, lmbda, n):
            sizes.append((len(mini_batch), eta, lmbda, n))
            super().update_mini_batch(mini_batch, eta, lmbda, n)

    train = data(11, 1)
    net = seeded(network2, Logged)
    book = Book(net, delta=lambda z, a, y: a - y)
    random.seed(6)
    with pytest.warns(BookCodeWarning, match="Logged.update_mini_batch overrides"):
        net.SGD(train, 1, 4, 0.5, lmbda=2.0)
    random.seed(6)
    assert_same(net, book.SGD(train, 1, 4, 0.5, 2.0))
    assert sizes == [(4, 0.5, 2.0, 11), (4, 0.5, 2.0, 11), (3, 0.5, 2.0, 11)]
    assert plan_calls == []


def test_module_sigmoid_replaced(monkeypatch, plan_calls, capsys):
    """The book's exercise of trying another activation: replace the module's sigmoid;
    sigmoid_prime follows it, as the book's calls the module's sigmoid."""
    def steeper(z):
        return 1.0 / (1.0 + np.exp(-2.0 * z))

    train, test = data(16, 1), data(10, 2, labels=True)
    for module in (network, network2):
        monkeypatch.setattr(module, "sigmoid", steeper)
        net = seeded(module, cost=network2.QuadraticCost) if module is network2 \
            else seeded(module)
        book = Book(net, sigmoid=steeper)
        x = train[0][0]
        np.testing.assert_allclose(net.feedforward(x), book.feedforward(x), rtol=1e-14)
        np.testing.assert_allclose(module.sigmoid_prime(x), book.sigmoid_prime(x), rtol=1e-14)
        random.seed(7)
        with pytest.warns(BookCodeWarning, match=rf"{module.__name__.split('.')[-1]}"
                                                 r"\.sigmoid was replaced"):
            if module is network:
                net.SGD(train, 2, 4, 3.0, test_data=test)
            else:
                net.SGD(train, 2, 4, 3.0)
        random.seed(7)
        assert_same(net, book.SGD(train, 2, 4, 3.0))
        if module is network:
            assert net.evaluate(test) == book.evaluate(test)
            assert capsys.readouterr().out.splitlines()[-1] == \
                f"Epoch 1: {book.evaluate(test)} / 10"
        else:
            assert net.accuracy(test) == book.evaluate(test)
    assert plan_calls == []


def test_costs_that_are_not_elementwise_get_one_column_per_example(plan_calls, capsys):
    """A delta that normalises per example gives other weights when it is handed the
    whole mini-batch: it must see (n_out, 1) columns, as in the book."""
    class Normalised:
        fn = network2.CrossEntropyCost.fn

        @staticmethod
        def delta(z, a, y):
            assert a.shape == (3, 1)
            d = a - y
            return d / np.linalg.norm(d)

    train = data(14, 1)
    net = seeded(network2, cost=Normalised)
    book = Book(net, delta=Normalised.delta)
    random.seed(8)
    with pytest.warns(BookCodeWarning, match="the cost Normalised is not network2's"):
        net.SGD(train, 2, 5, 0.5, lmbda=0.2)
    random.seed(8)
    assert_same(net, book.SGD(train, 2, 5, 0.5, 0.2))

    class SumScaled(network.Network):  # cost_derivative scaled by each example's sum
        def cost_derivative(self, output_activations, y):
            assert output_activations.shape == (3, 1)
            d = output_activations - y
            return d / np.abs(d).sum()

    net = seeded(network, SumScaled)
    book = Book(net, delta=lambda z, a, y: (a - y) / np.abs(a - y).sum() * book.sigmoid_prime(z))
    random.seed(9)
    with pytest.warns(BookCodeWarning, match="SumScaled.cost_derivative overrides"):
        net.SGD(train, 2, 5, 3.0)
    random.seed(9)
    assert_same(net, book.SGD(train, 2, 5, 3.0))
    assert plan_calls == []


def test_a_cost_class_method_replaced(monkeypatch, plan_calls, capsys):
    monkeypatch.setattr(network2.CrossEntropyCost, "delta",
                        staticmethod(lambda z, a, y: 0.5 * (a - y)))
    train = data(12, 1)
    net = seeded(network2)
    book = Book(net, delta=lambda z, a, y: 0.5 * (a - y))
    random.seed(10)
    with pytest.warns(BookCodeWarning, match="CrossEntropyCost.delta was replaced"):
        net.SGD(train, 1, 4, 0.5)
    random.seed(10)
    assert_same(net, book.SGD(train, 1, 4, 0.5))
    assert plan_calls == []


def test_a_custom_cost_fn_is_called_per_example_in_total_cost(capsys):
    class Absolute:
        delta = network2.CrossEntropyCost.delta

        @staticmethod
        def fn(a, y):
            assert a.shape == (3, 1) and y.shape == (3, 1)
            return float(np.abs(a - y).sum())

    train, test = data(12, 1), data(7, 2, labels=True)
    net = seeded(network2, cost=Absolute)
    with pytest.warns(BookCodeWarning, match="cost Absolute"):
        _, _, training_cost, _ = net.SGD(train, 1, 4, 0.5, lmbda=0.4, monitor_training_cost=True)
    assert training_cost[0] == pytest.approx(Book(net, fn=Absolute.fn).total_cost(train, 0.4),
                                             rel=1e-12)
    assert net.total_cost(test, 0.4, convert=True) == pytest.approx(
        Book(net, fn=Absolute.fn).total_cost(test, 0.4, convert=True), rel=1e-12)


def test_the_warning_comes_once_and_names_the_change(capsys):
    class Once(network.Network):
        def backprop(self, x, y):
            return super().backprop(x, y)

    train = data(8, 1)
    net = seeded(network, Once)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.SGD(train, 1, 4, 3.0)
        net.SGD(train, 1, 4, 3.0)
        seeded(network, Once).SGD(train, 1, 4, 3.0)
    book = [w for w in caught if issubclass(w.category, BookCodeWarning)]
    assert len(book) == 1
    assert str(book[0].message).startswith("fastnn.compat.network: Once.backprop overrides "
                                           "Network.backprop")
    assert book[0].filename == __file__  # attributed to the caller's line


def test_a_replaced_random_shuffle_orders_the_native_batches(monkeypatch, plan_calls, capsys):
    train = data(13, 1)

    def reverse(x):
        x.reverse()

    monkeypatch.setattr(random, "shuffle", reverse)
    net = seeded(network)
    book = Book(net, shuffle=reverse)
    net.SGD(train, 3, 4, 3.0)
    assert_same(net, book.SGD(train, 3, 4, 3.0))
    assert len(plan_calls) == 3  # still native: only the order came from the user


def test_native_shuffle_leaves_random_where_the_books_shuffle_does(capsys):
    train = data(25, 1)
    net = seeded(network)
    random.seed(11)
    net.SGD(train, 3, 5, 3.0)
    after = random.random()
    random.seed(11)
    lst = list(range(25))
    for _ in range(3):
        random.shuffle(lst)
    assert random.random() == after
