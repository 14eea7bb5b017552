"""A quick fit on the embedded 8x8 digits (no network, no environment variable).

64-64-10 ReLU, Adam (lr 3e-3), batch 32, 30 epochs on a stratified 75/25 split with a
fixed seed: measured test accuracy 0.967-0.987 over seeds 0-9 (0.973 for seed 0), in
about 25 ms of fit. The test asks for >= 0.95.
"""

import time

import numpy as np

import fastnn
from fastnn.datasets import load_digits, train_test_split


def test_digits_mlp_reaches_95_percent():
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.25, seed=0, stratify=y)
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    model = fastnn.Sequential([fastnn.Dense(64, activation="relu"), fastnn.Dense(10)],
                              seed=0)
    t0 = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=30, batch_size=32,
                        optimizer=fastnn.Adam(lr=3e-3), verbose=0)
    seconds = time.perf_counter() - t0
    result = model.evaluate(X_test, y_test)
    print(f"\ndigits 64-64-10: test accuracy {result['accuracy']:.4f}, fit {seconds:.3f} s")
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert result["accuracy"] >= 0.95
    assert seconds < 30
    # predictions agree with evaluate
    pred = model.predict(X_test).argmax(axis=1)
    assert np.isclose(np.mean(pred == y_test), result["accuracy"])
