"""Regression: a small network learns y = sin(3 x0) + x1^2 / 2 + noise from 2,000
samples, with the mean squared error loss and standardised inputs.

    python examples/regression.py [--quick]
"""

import argparse

import numpy as np

from fastnn import Adam, Dense, Sequential
from fastnn.datasets import standardize, train_test_split

args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
args.add_argument("--quick", action="store_true", help="fewer epochs")
args = args.parse_args()

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(2000, 2)).astype(np.float32)
y = (np.sin(3 * X[:, 0]) + X[:, 1] ** 2 / 2 + rng.normal(0, 0.05, 2000)).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
X_train, X_test, _ = standardize(X_train, X_test)

model = Sequential([Dense(64, activation="tanh"), Dense(64, activation="tanh"), Dense(1)],
                   seed=0)
model.fit(X_train, y_train[:, None], epochs=20 if args.quick else 200, batch_size=32,
          loss="mse", optimizer=Adam(lr=3e-3), verbose=0)
pred = model.predict(X_test)[:, 0]
mse = float(np.mean((pred - y_test) ** 2))
baseline = float(np.var(y_test))
print(f"test MSE {mse:.4f} (predicting the mean: {baseline:.4f}; noise floor 0.0025)")
assert mse < baseline / 4, "the network did not learn the function"
