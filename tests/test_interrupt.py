"""Ctrl-C during a fused epoch (one native call) is acted on between two batches within a
fraction of a second, not at the end of the epoch, and leaves the model consistent: the
weights and the optimizer's step counter of the last completed batch, ready to predict
and to train on. (Before: with verbose=0 the interrupt waited for the whole epoch.)
Likewise a long call of a bare conv op."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import fastnn

CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import fastnn
    from fastnn.layers import Dense

    rng = np.random.default_rng(0)
    X = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 60000)
    m = fastnn.Sequential([Dense(1024, activation="relu"), Dense(1024, activation="relu"),
                           Dense(10)], seed=0)
    opt = fastnn.optimizers.Adam(lr=1e-4)
    m.fit(X[:64], y[:64], epochs=1, batch_size=32, verbose=0, loss="cross_entropy",
          optimizer=opt)
    print("start", flush=True)
    try:
        m.fit(X, y, epochs=20, batch_size=32, verbose=0, loss="cross_entropy", optimizer=opt)
        print("finished", flush=True)
    except KeyboardInterrupt:
        t = time.perf_counter()
        steps = opt.iterations
        ok = all(np.isfinite(p).all() for l in m.layers for p in l.params.values())
        out = m.predict(X[:5])
        m.fit(X[:64], y[:64], epochs=1, batch_size=32, verbose=0, loss="cross_entropy",
              optimizer=opt)
        print("interrupted", t, steps, opt.iterations, ok, out.shape, flush=True)
""")


CONV_CHILD = textwrap.dedent("""
    import time
    import numpy as np
    import fastnn
    from fastnn import ops

    # one call of 1.9e11 flops in float64 on one thread: seconds on any CPU (5 s on a
    # Zen 4 core), so the signal lands inside it
    fastnn.set_num_threads(1)
    rng = np.random.default_rng(0)
    x, w = rng.random((600, 64, 20, 20)), rng.random((256, 64, 7, 7))
    ops.conv2d_forward(x[:2], w)
    print("start", flush=True)
    try:
        ops.conv2d_forward(x, w)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter(), flush=True)
""")


def _interrupt_child(script, tmp_path):
    """Run script in a child, SIGINT it 0.5 s after it prints "start"; (the time the
    signal was sent, the child's last line split)."""
    # the child imports the fastnn this test imported (an installed one, or a build in
    # place), from outside the source tree: there fastnn/ has no compiled modules when CI
    # tests the installed package
    here = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                             env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path})
    try:
        first = child.stdout.readline().strip()
        if first != "start":
            child.kill()
            pytest.fail(f"the child did not start: {first!r}\n{child.communicate()[1][-2000:]}")
        time.sleep(0.5)
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    line = out.strip().splitlines()[-1].split()
    assert line[0] == "interrupted", (out, err)
    return sent, line


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_a_fused_epoch_between_batches(tmp_path):
    # the signal lands inside the first epoch (seconds long: 1,875 batches)
    sent, line = _interrupt_child(CHILD, tmp_path)
    # perf_counter is CLOCK_MONOTONIC on Linux: the two processes share it
    reacted = float(line[1]) - sent
    steps, steps_after, finite = int(line[2]), int(line[3]), line[4] == "True"
    assert reacted < 1.0, f"the interrupt took {reacted:.2f} s"
    assert 2 < steps < 2 + 1875  # some batches of the epoch ran, not all
    assert steps_after == steps + 2 and finite


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_a_long_conv_call(tmp_path):
    """A bare ops.conv2d_forward over a large batch runs in chunks (src_c/conv.h) and acts
    on Ctrl-C between them. (Before: the interrupt waited for the whole call.)"""
    sent, line = _interrupt_child(CONV_CHILD, tmp_path)
    reacted = float(line[1]) - sent
    assert reacted < 1.0, f"the interrupt took {reacted:.2f} s"
