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
