"""fastnn's settings: check_finite is per thread (a contextvars.ContextVar), so one
thread's config_context never turns the checks off for another. (Before: a process-wide
dict; two threads' contexts could leave the checks off for the whole process.)"""

import threading

import numpy as np
import pytest

import fastnn
from fastnn import ops


def test_check_finite_is_per_thread():
    bad = np.array([[np.nan, 1.0]], np.float32)
    w = np.ones((2, 2), np.float32)
    inside, release = threading.Event(), threading.Event()

    def unchecked():
        with fastnn.config_context(check_finite=False):
            ops.gemm(bad, w)  # no check here
            inside.set()
            release.wait(10)

    t = threading.Thread(target=unchecked)
    t.start()
    try:
        assert inside.wait(10)
        assert fastnn.get_config()["check_finite"]
        with pytest.raises(ValueError, match="NaN or infinity"):
            ops.gemm(bad, w)  # still checked in this thread
    finally:
        release.set()
        t.join()
    assert fastnn.get_config()["check_finite"]


def test_set_config_and_nested_contexts():
    with fastnn.config_context(check_finite=False):
        assert not fastnn.get_config()["check_finite"]
        with fastnn.config_context(check_finite=True):
            assert fastnn.get_config()["check_finite"]
        assert not fastnn.get_config()["check_finite"]
    assert fastnn.get_config()["check_finite"]
    with pytest.raises(TypeError, match="unknown fastnn setting"):
        with fastnn.config_context(check_nan=False):
            pass


def test_pooled_conv_is_a_setting_read_when_a_plan_is_built():
    """The plan's pooled conv backward is switched by config_context(pooled_conv=...),
    per thread, like check_finite (what the bit-for-bit plan tests turn off)."""
    from fastnn import Conv2D, Dense, Flatten, MaxPool2D, Reshape, Sequential

    assert fastnn.get_config()["pooled_conv"] is True
    X = np.random.default_rng(0).random((8, 144), dtype=np.float32)
    y = np.arange(8) % 2
    for setting in (False, True):
        with fastnn.config_context(pooled_conv=setting):
            assert fastnn.get_config()["pooled_conv"] is setting
            m = Sequential([Reshape((1, 12, 12)), Conv2D(6, 3, activation="relu"),
                            MaxPool2D(2), Flatten(), Dense(2)], seed=0)
            m.fit(X, y, epochs=1, verbose=0)
            # where the direct conv kernels run (AVX-512), the plan pools conv 0 and pool 1
            on = setting and fastnn.ops.conv.own_kernels() is not None
            assert m._plan.pooled_steps == ([1] if on else [])
    assert fastnn.get_config()["pooled_conv"] is True
