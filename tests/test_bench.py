"""fastnn.bench and `fastnn bench`: the quick run end to end (CI's smoke test), its
JSON, the comparison of two runs, the chart, and that disagreeing sides are caught.
Nothing here asserts a timing."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fastnn import bench
from test_cli import PKG_PARENT, run


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    r = run(["bench", "--quick", "--json", "run.json"], d, timeout=600)
    assert r.returncode == 0, r.stderr
    return d, r.stdout, bench.read_json(d / "run.json")


def test_quick_run_prints_every_group_and_saves_json(quick_run):
    _, out, report = quick_run
    for group in bench.GROUPS:
        assert f"[{group}]" in out
    assert "MNIST 784-30-10 batch 10 sgd" in out and "sgemm peak" in out
    m = report["machine"]
    for key in ("cpu", "logical_cpus", "isa", "leaves", "blas", "threads", "versions"):
        assert m[key] is not None, key
    assert m["blas"] and all("core_type" in b for b in m["blas"])
    assert report["sgemm_peak_gflops"] > 0
    groups = {r["group"] for r in report["results"]}
    assert groups == set(bench.GROUPS)
    for r in report["results"]:
        assert r["agreed"] is True  # every case checked both sides before timing
        assert r["native_s"] > 0 and r["reference_s"] > 0 and r["speedup"] > 0
        if r["group"] in ("training", "threads"):
            assert r["native_items_per_s"] > 0 and 0 < r["sgemm_peak_share"]
    threads = sorted({r["threads"] for r in report["results"] if r["group"] == "threads"})
    assert threads == [1, 2]


def test_compare_two_runs(quick_run, tmp_path):
    d, _, report = quick_run
    slower = json.loads(json.dumps(report))
    for r in slower["results"]:
        r["native_s"] *= 2
    bench.write_json(slower, tmp_path / "slower.json")
    r = run(["bench", "--compare", str(d / "run.json"), str(tmp_path / "slower.json")], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "+100.0%" in r.stdout and "gemm 64x64x64" in r.stdout


def test_chart(quick_run, tmp_path):
    pytest.importorskip("matplotlib")
    bench.plot(quick_run[2], tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chart_without_matplotlib_is_one_clear_line(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from fastnn.cli import main; "
            "sys.exit(main(['bench', '--quick', '--only', 'kernels', '--plot', 'x.png']))")
    env = dict(os.environ, PYTHONPATH=PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "needs matplotlib" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_bad_inputs_are_one_line_errors(tmp_path):
    (tmp_path / "junk.json").write_bytes(b"\x89PNG not json")
    r = run(["bench", "--compare", "junk.json", "junk.json"], tmp_path)
    assert r.returncode == 1 and "not a fastnn bench JSON file" in r.stderr
    r = run(["bench", "--only", "nothing"], tmp_path)
    assert r.returncode == 2


def test_a_disagreeing_side_stops_the_measurement():
    case = bench.kernel_cases(quick=True)[0]
    wrong = bench._twin_case("gemm", "gemm", (np.eye(3, dtype=np.float32),
                                              np.eye(3, dtype=np.float32)), {}, None,
                             lambda r, a, k: [r])
    bench.measure(wrong, min_time=0.001)  # the identity agrees with itself
    bad = bench.Case("kernels", "bad", native=case.native, reference=case.reference,
                     check=lambda: bench._agree(np.ones(3), np.zeros(3)))
    with pytest.raises(AssertionError):
        bench.measure(bad, min_time=0.001)


def test_training_check_compares_the_epoch_losses():
    rng = np.random.default_rng(0)
    X = rng.random((200, 784), dtype=np.float32)
    y = rng.integers(0, 10, 200)
    case = bench.training_cases(X, y, [bench.TRAINING_CONFIGS[1]])[0]
    case.check()  # same work: passes
    assert case.flops == bench.train_flops(128, 200) and case.items == 200


def test_rnn_cases_run_and_agree():
    rng = np.random.default_rng(0)
    X = rng.random((128, 784), dtype=np.float32)  # two batches
    y = rng.integers(0, 10, 128)
    cases = bench.rnn_cases(X, y, quick=True, rounds=1)
    assert [c.name.split()[2] for c in cases] == ["GRU(128)", "LSTM(128)"]
    for case in cases:
        assert case.group == "rnn" and case.threads == 1 and case.items == 128
        r = bench.measure(case)  # check, warm-up, alternating rounds
        assert r["agreed"] and r["native_items_per_s"] > 0 and r["reference_items_per_s"] > 0
    # GRU: 3 gates, 28 steps of 28 pixels, 128 units; LSTM: 4 gates
    assert cases[0].flops == 2.0 * 128 * (28 * 3 * 128 * (2 * (28 + 128) + 128) + 3 * 128 * 10)
    assert cases[1].flops > cases[0].flops


def test_cnn_cases_run_and_agree():
    rng = np.random.default_rng(0)
    X = rng.random((64, 784), dtype=np.float32)  # one batch
    y = rng.integers(0, 10, 64)
    cases = bench.cnn_cases(X, y, quick=True, rounds=1)
    assert {c.group for c in cases} == {"cnn"} and len(cases) == 7
    for case in cases[:-1]:
        case.check()  # raises if the two sides disagree
        case.native(), case.reference()
    r = bench.measure(cases[-1])  # the LeNet epoch: check, warm-up, alternating rounds
    assert r["agreed"] and r["native_items_per_s"] > 0 and r["reference_items_per_s"] > 0
    assert cases[0].flops == 2.0 * 64 * 16 * 1 * 5 * 5 * 24 * 24  # conv1 forward
    assert cases[1].flops == 2 * cases[0].flops                 # dW + dx
    assert bench.conv2d_flops((64, 32, 32, 32), (64, 32, 3, 3), 1) == \
        2.0 * 64 * 64 * 32 * 9 * 32 * 32                         # "same" padding
    lenet = cases[-1]
    assert lenet.items == 64 and lenet.flops == bench.lenet_train_flops(64)
    # 3x the forward multiply-adds of the two convs and two dense layers, less conv1's dx
    conv1, conv2, dense = 16 * 25 * 24 * 24, 32 * 16 * 25 * 8 * 8, 512 * 128 + 128 * 10
    assert bench.lenet_train_flops(1) == 2.0 * (3 * (conv1 + conv2 + dense) - conv1)


def test_an_avx2_run_on_an_avx512_cpu_holds_numpy_and_blas_to_avx2_too(tmp_path):
    from fastnn import _runtime

    env = bench.emulation_env("avx2")
    if _runtime.isa()["detected"] != "avx512":
        assert env is None  # nothing above avx2 to hold back
        return
    assert env["FASTNN_ISA"] == "avx2" and env["OPENBLAS_CORETYPE"] == "Haswell"
    held = env["NPY_DISABLE_CPU_FEATURES"].split(",")
    assert held and all(f.startswith("AVX512") or f == "X86_V4" for f in held)
    code = ("import numpy, threadpoolctl, scipy.linalg; from fastnn import bench, _runtime; "
            "print(_runtime.isa()['level'], bench.emulated_level(), "
            "sorted({p['architecture'] for p in threadpoolctl.threadpool_info() "
            "if p['user_api'] == 'blas'}))")
    env = dict(env, PYTHONPATH=PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # (run outside the source tree, whose fastnn/ has no compiled modules in CI)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split(None, 2)
    assert out[:2] == ["avx2", "avx2"] and "SkylakeX" not in out[2]
    assert bench.emulation_env("generic") is None  # only avx2 is emulated


def test_rerun_emulating_does_nothing_inside_an_emulated_run(monkeypatch):
    monkeypatch.setenv(bench.EMULATED_ENV, "avx2")
    bench.rerun_emulating("avx2", [sys.executable, "-c", "raise SystemExit(3)"])
    assert bench.emulated_level() == "avx2"


def test_bench_isa_runs_at_that_level_and_says_so(tmp_path):
    from fastnn import _runtime

    level = "avx2" if "avx2" in _runtime.isa()["levels"] else "generic"
    r = run(["bench", "--isa", level, "--quick", "--only", "inference"], tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert f"ISA level {level}" in first
    assert ("emulated" in first) == (bench.emulation_env(level) is not None)


def test_an_unknown_group_is_refused():
    with pytest.raises(ValueError, match="unknown benchmark group"):
        bench.run(["training", "nonsense"])
