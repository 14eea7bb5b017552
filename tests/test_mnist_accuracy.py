"""Measured accuracy on real MNIST through Sequential.fit (the fused native epoch).

Needs the MNIST IDX files in the directory named by FASTNN_MNIST_DIR (skipped
otherwise; .ci/run sets it). Each test prints its accuracy and wall time (pytest -s).

    784-128-10 ReLU, Adam, batch 32, 3 epochs, cross-entropy            -> >= 0.97
    784-30-10 sigmoid, plain SGD lr 3.0, batch 10, 5 epochs, the textbook
    quadratic cost ("squared_error" on one-hot targets)                 -> >= 0.93
    LeNet (two Conv2D + MaxPool blocks, two Dense), Adam, 3 epochs      -> >= 0.988
    a small residual CNN (BatchNorm, a 1x1 projection), 1 epoch         -> >= 0.97

Both thresholds hold with a wide margin for every seed, not only the one fixed here
(measured over seeds 0-9; a different SIMD path or thread count changes the rounding,
which amounts to another draw):

- Adam with a constant lr=1e-3 gives 0.9675-0.9761 (mean 0.973): one seed in ten falls
  under 0.97. A cosine schedule over the 3 epochs from lr=2e-3 (2e-3, 1.5e-3, 6e-4)
  gives 0.9764-0.9804 (mean 0.978), so that is the recipe tested.
- The sigmoid network with the N(0, 1) weights of Nielsen's first chapter gets stuck
  near 0.85 for some seeds (saturated units); with the initializer of his later
  chapters (weights N(0, 1/n_in), i.e. "lecun"; biases N(0, 1)) it gives 0.9515-0.9575.
"""

import os
import time

import pytest

import fastnn


@pytest.fixture
def threads(restore_threads):
    """Up to 2 threads (what the CI machine has), restored afterwards."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    restore_threads(max(1, min(2, cpus)))
    return fastnn.get_num_threads()


def _fit_and_score(model, mnist, **fit):
    (X_train, y_train), (X_test, y_test) = mnist
    t0 = time.perf_counter()
    history = model.fit(X_train, y_train, verbose=0, **fit)
    seconds = time.perf_counter() - t0
    acc = model.evaluate(X_test, y_test)["accuracy"]
    return acc, seconds, history


def test_relu_adam_3_epochs(mnist, threads):
    model = fastnn.Sequential([fastnn.Dense(128, activation="relu"), fastnn.Dense(10)],
                              seed=0)
    acc, seconds, history = _fit_and_score(
        model, mnist, epochs=3, batch_size=32, loss="cross_entropy",
        optimizer=fastnn.Adam(lr=2e-3), callbacks=[fastnn.CosineDecay(3, min_lr=1e-4)])
    print(f"\n784-128-10 relu adam: test accuracy {acc:.4f}, fit {seconds:.2f} s "
          f"({threads} threads), train loss {history.history['loss']}")
    assert len(history.history["loss"]) == 3
    assert acc >= 0.97


def test_sigmoid_sgd_quadratic_5_epochs(mnist, threads):
    # Nielsen's network: sigmoid everywhere, quadratic cost on one-hot targets, weights
    # N(0, 1/n_in) and biases N(0, 1) (his "default_weight_initializer")
    bias = {"name": "normal", "std": 1.0}
    model = fastnn.Sequential([
        fastnn.Dense(30, activation="sigmoid", kernel_init="lecun", bias_init=bias),
        fastnn.Dense(10, activation="sigmoid", kernel_init="lecun", bias_init=bias),
    ], seed=0)
    acc, seconds, history = _fit_and_score(
        model, mnist, epochs=5, batch_size=10, loss="squared_error",
        optimizer=fastnn.SGD(lr=3.0))
    print(f"\n784-30-10 sigmoid sgd quadratic: test accuracy {acc:.4f}, fit {seconds:.2f} s "
          f"({threads} threads), train loss {history.history['loss']}")
    assert len(history.history["loss"]) == 5
    assert acc >= 0.93


def _lenet(seed=0):
    """Two Conv2D + MaxPool blocks and two Dense layers on 28x28 images."""
    return fastnn.Sequential([
        fastnn.Reshape((1, 28, 28)),
        fastnn.Conv2D(16, 5, activation="relu"), fastnn.MaxPool2D(2),
        fastnn.Conv2D(32, 5, activation="relu"), fastnn.MaxPool2D(2),
        fastnn.Flatten(), fastnn.Dense(128, activation="relu"), fastnn.Dense(10),
    ], seed=seed)


def test_lenet_3_epochs(mnist, threads):
    # Adam from lr 2e-3 with a cosine decay over the 3 epochs: 0.9898-0.9918 test
    # accuracy for seeds 0-2 (measured); the issue asks for >= 0.988
    model = _lenet()
    acc, seconds, history = _fit_and_score(
        model, mnist, epochs=3, batch_size=64, optimizer=fastnn.Adam(lr=2e-3),
        callbacks=[fastnn.CosineDecay(3, min_lr=1e-4)])
    print(f"\nLeNet (conv 16 5x5, pool, conv 32 5x5, pool, 128, 10): test accuracy {acc:.4f}, "
          f"fit {seconds:.2f} s ({threads} threads), train loss {history.history['loss']}")
    assert model._plan is not None  # the whole epoch ran in the fused plan
    assert acc >= 0.988


def test_small_residual_cnn_1_epoch(mnist, threads):
    # two residual blocks (one with BatchNorm inside, one with a 1x1 projection):
    # 0.9767-0.9812 after one epoch for seeds 0-1 (measured)
    model = fastnn.Sequential([
        fastnn.Reshape((1, 28, 28)),
        fastnn.Conv2D(8, 3, padding=1, activation="relu"), fastnn.MaxPool2D(2),
        fastnn.Residual([fastnn.Conv2D(8, 3, padding=1, activation="relu"), fastnn.BatchNorm(),
                         fastnn.Conv2D(8, 3, padding=1)]),
        fastnn.ReLU(), fastnn.MaxPool2D(2),
        fastnn.Residual([fastnn.Conv2D(16, 3, padding=1, activation="relu"),
                         fastnn.Conv2D(16, 3, padding=1)], projection=fastnn.Conv2D(16, 1)),
        fastnn.ReLU(), fastnn.Flatten(), fastnn.Dense(10),
    ], seed=0)
    acc, seconds, history = _fit_and_score(model, mnist, epochs=1, batch_size=64,
                                           optimizer=fastnn.Adam(lr=2e-3))
    print(f"\nresidual CNN: test accuracy {acc:.4f}, fit {seconds:.2f} s ({threads} threads)")
    assert model._plan is not None
    assert acc >= 0.97
