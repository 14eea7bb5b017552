"""A plain vectorised numpy trainer, written the way a person writes one by hand: no
validation, no layer objects, one function per network. It is the baseline fastnn's
speed targets are stated against (benchmarks/compare.py), since the per-layer numpy
twins of ``fastnn.reference`` pay for checks and objects a hand-written loop does not.

Two networks, as in the MNIST tutorials:
- ``train_sgd_sigmoid``: 784-H-10, sigmoid hidden and output units, quadratic cost,
  plain SGD (the book's network);
- ``train_adam_relu``: 784-H-10, ReLU hidden units, softmax cross-entropy, Adam.
Both shuffle once per epoch and return the mean training loss.
"""

import numpy as np


def init(d_in, hidden, d_out, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    W1 = (rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)).astype(dtype)
    W2 = (rng.standard_normal((hidden, d_out)) / np.sqrt(hidden)).astype(dtype)
    return [W1, np.zeros(hidden, dtype), W2, np.zeros(d_out, dtype)]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def train_sgd_sigmoid(params, X, y, batch, lr, seed=0):
    """One epoch of SGD on the quadratic cost 0.5 * ||a - onehot(y)||^2 (mean per batch)."""
    W1, b1, W2, b2 = params
    dtype = W1.dtype
    Y = np.eye(W2.shape[1], dtype=dtype)[y]
    order = np.random.default_rng(seed).permutation(len(X))
    total = 0.0
    for s in range(0, len(X), batch):
        idx = order[s:s + batch]
        x, t = X[idx], Y[idx]
        a1 = _sigmoid(x @ W1 + b1)
        a2 = _sigmoid(a1 @ W2 + b2)
        n = len(idx)
        total += 0.5 * float(((a2 - t) ** 2).sum())
        d2 = (a2 - t) * a2 * (1 - a2)
        d1 = (d2 @ W2.T) * a1 * (1 - a1)
        step = dtype.type(lr / n)
        W2 -= step * (a1.T @ d2)
        b2 -= step * d2.sum(0)
        W1 -= step * (x.T @ d1)
        b1 -= step * d1.sum(0)
    return total / len(X)


def train_adam_relu(params, state, X, y, batch, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8,
                    seed=0):
    """One epoch of Adam on softmax cross-entropy; `state` is [m..., v..., step]."""
    W1, c1, W2, c2 = params
    dtype = W1.dtype
    if not state:
        state += [np.zeros_like(p) for p in params] + [np.zeros_like(p) for p in params] + [0]
    order = np.random.default_rng(seed).permutation(len(X))
    total = 0.0
    for s in range(0, len(X), batch):
        idx = order[s:s + batch]
        x, t = X[idx], y[idx]
        n = len(idx)
        h = np.maximum(x @ W1 + c1, 0)
        z = h @ W2 + c2
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(1, keepdims=True)
        total += -float(np.log(p[np.arange(n), t] + 1e-30).sum())
        p[np.arange(n), t] -= 1
        dz = p / n
        dh = (dz @ W2.T) * (h > 0)
        grads = [x.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
        state[-1] += 1
        k = state[-1]
        step = dtype.type(lr * np.sqrt(1 - b2 ** k) / (1 - b1 ** k))
        for i, (w, g) in enumerate(zip(params, grads)):
            m, v = state[i], state[4 + i]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            w -= step * m / (np.sqrt(v) + eps)
    return total / len(X)


def predict(params, x):
    """Class scores of the ReLU network for the rows of x (no softmax: argmax is the same)."""
    W1, c1, W2, c2 = params
    return np.maximum(x @ W1 + c1, 0) @ W2 + c2
