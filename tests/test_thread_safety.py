"""One model, several threads: concurrent predict, predict_proba and evaluate give the
answers of one thread, on the fused path, the per-layer path and the numpy backend; fit
in one thread while another predicts is serialized. (Before: about a third of the
concurrent predictions were wrong, and evaluate raised TypeError.)"""

import threading

import numpy as np
import pytest

import fastnn
from fastnn.layers import Dense, Dropout

THREADS, CALLS = 4, 40


def _model(rng, backend):
    # big enough that calls overlap: each spends about a millisecond without the GIL
    m = fastnn.Sequential([Dense(256, activation="relu"), Dropout(0.1), Dense(4)], seed=0,
                          backend=backend)
    X = rng.random((1024, 200)).astype(np.float32)
    y = rng.integers(0, 4, 1024)
    m.fit(X, y, epochs=1, batch_size=16, verbose=0, loss="cross_entropy")
    return m, X, y


def _hammer(work):
    """Run work(thread, call) from THREADS threads at once; re-raise the first failure."""
    errors, start = [], threading.Barrier(THREADS)

    def run(t):
        try:
            start.wait()
            for c in range(CALLS):
                work(t, c)
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


@pytest.mark.parametrize("path", ["fused", "per-layer", "reference"])
def test_concurrent_predict_and_evaluate(rng, path):
    m, X, y = _model(rng, "reference" if path == "reference" else "native")
    m.fused = path == "fused"
    # rows of different counts (1-row calls take the single-sample path)
    blocks = [X[i:i + k] for i, k in ((0, 1), (5, 700), (20, 512), (100, 900))]
    want = [m.predict(b) for b in blocks]
    want_p = [m.predict_proba(b) for b in blocks]
    want_e = m.evaluate(X, y)

    def work(t, c):
        i = (t + c) % len(blocks)
        np.testing.assert_array_equal(m.predict(blocks[i]), want[i])
        np.testing.assert_array_equal(m.predict_proba(blocks[i]), want_p[i])
        if c % 8 == 0:
            assert m.evaluate(X, y) == want_e

    _hammer(work)


def test_fit_while_predicting(rng):
    m, X, y = _model(rng, "native")
    done = threading.Event()
    seen = []

    def predicting():
        while not done.is_set():
            out = m.predict(X[:3])
            seen.append(bool(np.isfinite(out).all()))

    th = threading.Thread(target=predicting)
    th.start()
    try:
        m.fit(X, y, epochs=5, batch_size=8, verbose=0, loss="cross_entropy",
              optimizer=m.optimizer)
    finally:
        done.set()
        th.join()
    assert seen and all(seen)
    np.testing.assert_array_equal(m.predict(X[:3]), m.predict(X[:3]))
