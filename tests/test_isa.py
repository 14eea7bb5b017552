"""The CPU description and the dispatch tables (src_c/cpu.h, src_c/gemm_variants.h):
detection, the FASTNN_ISA / FASTNN_GEMM overrides, forcing a level at run time, and the
same training on every level this CPU runs."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _runtime
from fastnn.layers import Dense
from fastnn.model import Sequential
from fastnn.ops import conv, matmul, optimizers, pool

ALL_LEVELS = ("avx512", "avx2", "neon", "generic")


def _run_python(code, **env):
    """Run `code` in a fresh interpreter with `env` added; returns its stdout."""
    parent = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    full = dict(os.environ, PYTHONPATH=parent + os.pathsep + os.environ.get("PYTHONPATH", ""),
                **env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, check=True, cwd=os.path.dirname(parent)).stdout.strip()


def test_the_description_is_consistent():
    info = _runtime.isa()
    assert info["detected"] in ALL_LEVELS and info["level"] in info["levels"]
    assert info["levels"][0] == info["detected"] and info["levels"][-1] == "generic"
    assert set(info["levels"]) <= set(ALL_LEVELS)
    # x86-64 runs generic < avx2 < avx512, aarch64 generic < neon: never both kinds
    assert not ({"neon"} & set(info["levels"]) and {"avx2", "avx512"} & set(info["levels"]))
    if "avx512" in info["levels"]:
        assert "avx2" in info["levels"]


def test_levels_follow_the_cpu_features():
    feats = set(fastnn._info.config()["cpu_features"])
    levels = _runtime.isa()["levels"]
    assert ("avx2" in levels) == ({"avx2", "fma"} <= feats)
    assert ("avx512" in levels) == ({"avx512f", "avx512vl", "avx512dq", "avx512bw", "avx2",
                                     "fma"} <= feats)


@pytest.mark.parametrize("level", _runtime.isa()["levels"])
def test_forcing_a_level_reaches_every_table(level):
    with fastnn.config_context(isa=level):
        assert _runtime.isa()["level"] == level
        assert fastnn.get_config()["isa"] == level
        for mod in (matmul, conv, pool, optimizers):
            rec = mod.variants()
            chosen = [v for v in rec["variants"] if rec["chosen"] and
                      rec["chosen"].startswith(v["name"].split(".")[0])]
            if level == "generic":
                assert rec["chosen"] is None, (rec["family"], rec)
            for v in chosen:  # a chosen variant never needs more than the level in force
                assert ALL_LEVELS.index(v["needs"]) >= ALL_LEVELS.index(level)
        assert (matmul.own_kernels() is None) == (level == "generic")
    assert _runtime.isa()["level"] == _runtime.isa()["detected"] or os.environ.get("FASTNN_ISA")


def test_a_level_the_cpu_lacks_or_an_unknown_name_is_refused():
    lacking = [lv for lv in ALL_LEVELS if lv not in _runtime.isa()["levels"]]
    before = _runtime.isa()
    for level in lacking + ["sse9", ""]:
        with pytest.raises(ValueError):
            fastnn.set_config(isa=level)
    assert _runtime.isa() == before
    with pytest.raises(TypeError, match="unknown fastnn setting"):
        with fastnn.config_context(simd="avx2"):
            pass


def test_environment_overrides_are_read_once_at_import():
    code = ("import fastnn; from fastnn.ops.matmul import own_kernels; "
            "i = fastnn._runtime.isa(); print(i['level'], own_kernels(), '|', i['note'])")
    out = _run_python(code, FASTNN_ISA="generic")
    assert out.startswith("generic None |") and "FASTNN_ISA=generic" in out
    out = _run_python(code, FASTNN_ISA="sse9")
    assert "not one of" in out and "ignored" in out
    assert out.split()[0] == _runtime.isa()["detected"]
    lacking = [lv for lv in ALL_LEVELS if lv not in _runtime.isa()["levels"]]
    if lacking:
        out = _run_python(code, FASTNN_ISA=lacking[0])
        assert "ignored" in out and out.split()[0] == _runtime.isa()["detected"]
    out = _run_python(code, FASTNN_GEMM="blas")
    assert out.split()[1] == "None"
    # `fastnn info` says so
    code = "from fastnn._info import config; print(config()['gemm']['small_products'])"
    assert _run_python(code, FASTNN_GEMM="blas") == "BLAS (FASTNN_GEMM=blas)"
    runs = any(v["cpu_runs"] for v in matmul.variants()["variants"])
    assert _run_python(code, FASTNN_GEMM="auto").startswith("fastnn's") == runs


def test_gemm_setting_sends_products_to_blas():
    with fastnn.config_context(gemm="blas"):
        assert matmul.own_kernels() is None and _runtime.isa()["gemm_blas"]
        assert conv.own_kernels() is None
    assert not _runtime.isa()["gemm_blas"] or os.environ.get("FASTNN_GEMM") == "blas"
    with pytest.raises(ValueError):
        fastnn.set_config(gemm="mkl")


def test_info_prints_the_tables():
    buf = io.StringIO()
    fastnn.show_config(file=buf)
    text = buf.getvalue()
    assert f"isa      : {_runtime.isa()['level']}" in text
    for family in ("gemm:", "conv:", "maxpool2x2:", "adam:"):
        assert any(ln.strip().startswith(family) for ln in text.splitlines()), family
    assert sum(ln.strip().startswith("chosen <- ") for ln in text.splitlines()) == 4
    cfg = fastnn._info.config()
    assert [f["family"] for f in cfg["families"]] == ["gemm", "conv", "maxpool2x2", "adam"]
    assert [v["name"] for v in cfg["families"][0]["variants"]][:2] in (["avx512", "avx2"], [])


def _mnist_like(n=400, d=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d)).astype(np.float32)
    X[X < 0.7] = 0
    X[:, :20] = 0
    return X, rng.integers(0, 5, n)


@pytest.mark.parametrize("batch_size", [10, 32, 100])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_every_level_trains_the_same_network(batch_size, optimizer):
    # Each level runs other kernels (and sums in another order), so the weights agree to
    # float32 rounding, not bit for bit; the fused plan and the per-layer path both.
    X, y = _mnist_like()
    results = {}
    for level in _runtime.isa()["levels"]:
        for fused in (True, False):
            with fastnn.config_context(isa=level):
                m = Sequential([Dense(32, activation="relu"), Dense(5)], seed=3)
                m.fused = fused
                h = m.fit(X, y, epochs=2, batch_size=batch_size, optimizer=optimizer,
                          verbose=0)
            results[level, fused] = (m.layers[0].params["W"].copy(), h.history["loss"])
    (w0, l0) = results["generic", False]
    for key, (w, loss) in results.items():
        np.testing.assert_allclose(w, w0, rtol=2e-4, atol=2e-5, err_msg=str(key))
        np.testing.assert_allclose(loss, l0, rtol=1e-4, err_msg=str(key))
