"""fastnn.compat._native against the plain Python it replaces: stack_columns against
``np.array(columns)`` and shuffled_order against ``random.shuffle``."""

import random

import numpy as np
import pytest

from fastnn.compat import _native
from fastnn.compat._engine import book_shuffle_order, stack_columns


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 64, 1000, 50_001])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_shuffled_order_is_random_shuffle(n, seed):
    book, native = random.Random(seed), random.Random(seed)
    book.random(), native.random()  # somewhere inside the twister's block
    items = list(range(n))
    book.shuffle(items)
    order = _native.shuffled_order(n, native)
    assert order.dtype == np.intp and order.tolist() == items
    assert native.getstate() == book.getstate()
    assert native.random() == book.random()


def test_shuffled_order_crosses_twister_blocks_and_keeps_gauss():
    book, native = random.Random(3), random.Random(3)
    book.gauss(0, 1), native.gauss(0, 1)  # leaves a cached second normal (gauss_next)
    for n in (623, 624, 625, 5000):
        items = list(range(n))
        book.shuffle(items)
        assert _native.shuffled_order(n, native).tolist() == items
    assert native.getstate() == book.getstate()
    assert native.gauss(0, 1) == book.gauss(0, 1)


def test_book_shuffle_order_uses_the_global_random():
    random.seed(5)
    items = list(range(300))
    random.shuffle(items)
    after = random.random()
    random.seed(5)
    assert book_shuffle_order(300).tolist() == items
    assert random.random() == after


def test_shuffled_order_rejects_other_states():
    class NotTwister:
        def getstate(self):
            return (3, (1, 2, 3), None)

    with pytest.raises(ValueError, match="Mersenne"):
        _native.shuffled_order(5, NotTwister())


def columns_of(X, dtype, strided=False):
    if strided:  # every other element of a longer column: a (rows, 1) view, stride 2
        wide = np.repeat(X.astype(dtype), 2, axis=1)
        return [w.reshape(-1, 1)[::2] for w in wide]
    return [np.reshape(x, (-1, 1)) for x in X.astype(dtype)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("rows", [1, 5, 784])
def test_stack_columns_is_np_array(dtype, strided, rows):
    X = np.random.default_rng(rows).random((37, rows))
    X[X < 0.4] = 0.0
    cols = columns_of(X, dtype, strided)
    out = np.full((37, rows), -1.0)
    assert _native.stack_columns(cols, rows, out) == 37
    expected = np.array(cols, dtype=np.float64).reshape(37, rows)
    assert np.array_equal(out, expected)
    assert np.array_equal(stack_columns(cols, rows, "data"), expected)


def test_stack_columns_stops_at_what_it_does_not_take():
    X = np.random.default_rng(0).random((6, 4))
    cases = {
        "NaN": np.array([[0.0], [np.nan], [1.0], [2.0]]),
        "inf": np.array([[0.0], [1.0], [-np.inf], [2.0]], dtype=np.float32),
        "int": np.ones((4, 1), dtype=np.int64),
        "float16": np.ones((4, 1), dtype=np.float16),
        "list": [[0.0], [1.0], [2.0], [3.0]],
        "flat": np.ones(4),
        "row": np.ones((1, 4)),
        "short": np.ones((3, 1)),
        "swapped": np.ones((4, 1), dtype=">f8"),
    }
    for name, bad in cases.items():
        cols = [np.reshape(x, (4, 1)) for x in X]
        cols[3] = bad
        assert _native.stack_columns(cols, 4, np.empty((6, 4))) == 3, name
    with pytest.raises(ValueError, match="at least 6 rows of 4"):
        _native.stack_columns([np.ones((4, 1))] * 6, 4, np.empty((5, 4)))


def test_stack_columns_converts_or_reports_the_rest():
    X = np.random.default_rng(1).random((5, 3))
    cols = [np.reshape(x, (3, 1)) for x in X]
    cols[2] = [[1], [2], [3]]  # a nested list of ints: numpy's path takes it
    cols[4] = np.arange(3, dtype=np.int32).reshape(3, 1)
    out = stack_columns(cols, 3, "data")
    assert np.array_equal(out, np.array(cols, dtype=np.float64).reshape(5, 3))
    cols[1] = np.array([[0.0], [np.inf], [1.0]])
    with pytest.raises(ValueError, match=r"data\[1\]\[0\] \(x\) contains NaN or infinity"):
        stack_columns(cols, 3, "data")


# ====================================================================== rows_view


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_view_finds_the_matrix_the_columns_come_from(dtype):
    M = np.random.default_rng(2).random((12, 6)).astype(dtype)
    cols = [np.reshape(x, (6, 1)) for x in M]  # the book's mnist_loader
    view = _native.rows_view(cols, 6)
    assert view is not None and np.shares_memory(view, M) and np.array_equal(view, M)
    part = _native.rows_view(cols[3:9], 6)
    assert part.shape == (6, 6) and np.array_equal(part, M[3:9])
    assert np.array_equal(_native.rows_view([M[5].reshape(6, 1)], 6), M[5:6])


def test_rows_view_is_none_unless_the_rows_are_consecutive_views():
    M = np.random.default_rng(3).random((10, 4))
    cols = [np.reshape(x, (4, 1)) for x in M]
    other = np.random.default_rng(4).random((10, 4))
    F = np.asfortranarray(M)
    cases = {
        "reversed": cols[::-1],
        "skips a row": cols[:3] + cols[4:],
        "repeats a row": cols[:3] + [cols[2]] + cols[3:],
        "another array": cols[:5] + [np.reshape(x, (4, 1)) for x in other[5:]],
        "a copy": cols[:5] + [cols[5].copy()] + cols[6:],
        "a list": cols[:5] + [[[1.0]] * 4] + cols[6:],
        "no columns": [],
        "columns of a Fortran array": [F[i].reshape(4, 1) for i in range(10)],
        "every other element": [np.repeat(M, 2, axis=1)[i].reshape(-1, 1)[::2]
                                for i in range(10)],
    }
    for name, columns in cases.items():
        assert _native.rows_view(columns, 4) is None, name
    assert _native.rows_view(cols, 3) is None  # the wrong width


@pytest.mark.parametrize("mini_batch", [10, 300])
def test_float32_rows_train_as_their_float64_copies(mini_batch, capsys):
    """The book's float32 images train without a float64 copy (the plan widens each row
    it reads) to the same weights as a float64 copy of the same numbers, bit for bit;
    batches of 300 take the plan's other way of reading rows (gathered whole)."""
    from fastnn.compat import network, network2

    rng = np.random.default_rng(5)
    X = rng.random((900, 20)).astype(np.float32)
    X[X < 0.5] = 0.0
    y = rng.integers(0, 4, 900)
    onehot = [np.eye(4)[[t]].T for t in y]
    views = list(zip([np.reshape(x, (20, 1)) for x in X], onehot))
    copies = list(zip([np.reshape(x, (20, 1)).astype(np.float64) for x in X], onehot))
    test_views = list(zip([np.reshape(x, (20, 1)) for x in X[:200]], y[:200]))
    test_copies = [(x.astype(np.float64), t) for x, t in test_views]
    assert _native.rows_view([x for x, _ in views], 20) is not None
    assert _native.rows_view([x for x, _ in copies], 20) is None
    results = []
    for train, test in ((views, test_views), (copies, test_copies)):
        np.random.seed(1)
        random.seed(1)
        net = network2.Network([20, 9, 4])
        out = net.SGD(train, 2, mini_batch, 0.5, lmbda=0.1, evaluation_data=test,
                      monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                      monitor_training_cost=True, monitor_training_accuracy=True)
        results.append((net.weights + net.biases, out, net.accuracy(test)))
        np.random.seed(1)
        net = network.Network([20, 9, 4])
        net.SGD(train[:100], 1, 7, 3.0, test_data=test)
        results[-1] += (net.weights + net.biases, net.evaluate(test))
    (w32, out32, acc32, v32, e32), (w64, out64, acc64, v64, e64) = results
    for a, b in zip(w32 + v32, w64 + v64):
        np.testing.assert_array_equal(a, b)
    assert out32 == out64 and acc32 == acc64 and e32 == e64


def test_float32_rows_with_nan_are_reported(capsys):
    from fastnn.compat import network

    X = np.random.default_rng(6).random((8, 5)).astype(np.float32)
    X[6, 2] = np.nan
    data = list(zip([np.reshape(x, (5, 1)) for x in X], [np.eye(3)[[0]].T] * 8))
    net = network.Network([5, 4, 3])
    with pytest.raises(ValueError, match=r"training_data\[6\]\[0\] \(x\) contains NaN"):
        net.SGD(data, 1, 2, 3.0)


def test_a_float64_model_predicts_float32_rows_without_a_copy():
    import fastnn

    X = np.random.default_rng(7).random((300, 12)).astype(np.float32)
    model = fastnn.Sequential([fastnn.Dense(8, activation="tanh"), fastnn.Dense(3)],
                              dtype="float64", seed=0)
    model.build((12,))
    wide = model.predict(X.astype(np.float64))
    assert model.predict(X).dtype == np.float64
    np.testing.assert_array_equal(model.predict(X), wide)
    np.testing.assert_array_equal(model.predict(X[:1]), model.predict(X[:1].astype(np.float64)))
    X[5, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        model.predict(X)
