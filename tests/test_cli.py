"""The command line, driven as a user drives it: a subprocess per command."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastnn

PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))


def run(args, cwd, timeout=300):
    env = dict(os.environ, PYTHONPATH=PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "fastnn", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_version(tmp_path):
    r = run(["--version"], tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == f"fastnn {fastnn.__version__}", r


@pytest.mark.skipif("FASTNN_EXPECT_INSTALLED" not in os.environ,
                    reason="CI sets FASTNN_EXPECT_INSTALLED when it tests an installed wheel")
def test_the_distribution_is_fastnn_cpu_with_the_package_version_and_licenses():
    from importlib import metadata

    dist = metadata.distribution("fastnn-cpu")
    assert dist.version == fastnn.__version__
    assert dist.metadata["License-Expression"] == "BSD-3-Clause"
    files = {str(f) for f in dist.files}
    assert any(f.endswith("licenses/LICENSE") for f in files), files


def test_train_evaluate_predict_on_the_embedded_digits(tmp_path):
    r = run(["train", "--epochs", "20", "--threads", "1", "--output", "m.fnn"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "training on digits" in r.stdout and "Epoch 20/20" in (r.stdout + r.stderr)
    acc = float(r.stdout.split("test accuracy")[1].split()[0])
    assert acc >= 0.93, r.stdout  # measured 0.96 with seed 0
    assert (tmp_path / "m.fnn").is_file()

    r = run(["evaluate", "m.fnn"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert abs(float(r.stdout.split("accuracy")[1].split()[0]) - acc) < 1e-9  # same split

    X, y = fastnn.datasets.load_digits()
    np.savez(tmp_path / "rows.npz", X=X[:25])
    r = run(["predict", "m.fnn", "--data", "rows.npz", "--output", "pred.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    pred = np.loadtxt(tmp_path / "pred.txt", dtype=np.int64)
    np.testing.assert_array_equal(pred, fastnn.load(tmp_path / "m.fnn").predict_classes(X[:25]))


def test_train_a_cnn_on_the_embedded_digits(tmp_path):
    r = run(["train", "--arch", "lenet", "--epochs", "8", "--threads", "1", "--output", "c.fnn"],
            tmp_path)
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("test accuracy")[1].split()[0])
    assert acc >= 0.9, r.stdout  # measured 0.95 with seed 0
    model = fastnn.load(tmp_path / "c.fnn")
    assert [type(l).__name__ for l in model.layers[:3]] == ["Reshape", "Conv2D", "MaxPool2D"]
    # a CNN needs square images
    X = np.zeros((20, 5), np.float32)
    np.savez(tmp_path / "flat.npz", X=X, y=np.arange(20) % 2)
    r = run(["train", "--arch", "lenet", "--data", "flat.npz"], tmp_path)
    assert r.returncode == 2 and "square one-channel images" in r.stderr


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_train_a_recurrent_network_on_the_embedded_digits(tmp_path, arch):
    r = run(["train", "--arch", arch, "--hidden", "64", "--epochs", "15", "--lr", "0.01",
             "--threads", "1", "--output", "r.fnn"], tmp_path)
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("test accuracy")[1].split()[0])
    assert acc >= 0.95, r.stdout  # measured 0.986 (gru) and 0.992 (lstm) with seed 0
    model = fastnn.load(tmp_path / "r.fnn")
    assert [type(l).__name__ for l in model.layers] == ["Reshape", arch.upper(), "Dense"]
    assert model.layers[0].shape == (8, 8)


def test_train_on_an_npz_file_with_plot(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    r = run(["train", "--data", "d.npz", "--hidden", "16,8", "--epochs", "5",
             "--output", "d.fnn", "--plot", "curves.png"], tmp_path)
    assert r.returncode == 0, r.stderr
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        assert "matplotlib is not installed" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["evaluate", "missing.fnn"], "no model file at missing.fnn"),
    (["train", "--data", "nothere.npz"], "nothere.npz"),
    (["train", "--data", "bad.npz"], "expected arrays X and y"),
    (["predict", "m.fnn", "--data", "wide.npz"], "features"),
    (["evaluate", "notamodel.fnn"], "not a fastnn model file"),
    (["train", "--dataset", "mnist", "--data-dir", "empty"], "MNIST"),
])
def test_errors_are_one_line_and_exit_1(tmp_path, args, message):
    np.savez(tmp_path / "bad.npz", Z=np.zeros(3))
    np.savez(tmp_path / "wide.npz", X=np.zeros((2, 65), np.float32))
    (tmp_path / "notamodel.fnn").write_bytes(b"\x80\x04K\x01.")  # a tiny pickle
    (tmp_path / "empty").mkdir()
    if "m.fnn" in args:
        assert run(["train", "--epochs", "1", "--output", "m.fnn"], tmp_path).returncode == 0
    r = run(args, tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastnn: error:"), r.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in r.stderr


def test_bad_option_exits_2_with_usage(tmp_path):
    r = run(["train", "--hidden", "0"], tmp_path)
    assert r.returncode == 2 and "layer sizes must be >= 1" in r.stderr
    r = run(["nosuchcommand"], tmp_path)
    assert r.returncode == 2


@pytest.mark.skipif(shutil.which("fastnn") is None, reason="console script not installed")
def test_console_script(tmp_path):
    r = subprocess.run(["fastnn", "info", "--json"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and '"kernels"' in r.stdout


@pytest.mark.skipif("FASTNN_MNIST_DIR" not in os.environ,
                    reason="FASTNN_MNIST_DIR is not set (the directory of the MNIST IDX files)")
def test_train_on_mnist(tmp_path):
    r = run(["train", "--dataset", "mnist", "--data-dir", os.environ["FASTNN_MNIST_DIR"],
             "--hidden", "64", "--epochs", "1", "--batch-size", "64", "--output", "mn.fnn"],
            tmp_path)
    assert r.returncode == 0, r.stderr
    assert "training on MNIST: 60000 samples for training, 10000 for testing" in r.stdout
    assert float(r.stdout.split("test accuracy")[1].split()[0]) >= 0.93  # measured 0.95
