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


# ------------------------------------------------------------ user errors, in-process

from fastnn.cli import main  # noqa: E402


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A directory of good and bad inputs, and a digits model m.fnn (one quick epoch)."""
    monkeypatch.chdir(tmp_path)
    X, y = fastnn.datasets.load_digits()
    np.savez("good.npz", X=X[:40], y=y[:40])
    np.savez("noy.npz", X=X[:5])
    np.savez("strlabels.npz", X=X[:5], y=np.array(["a", "b", "c", "a", "b"]))
    np.savez("neglabels.npz", X=X[:5], y=-np.arange(5))
    np.savez("mnistlike.npz", X=np.zeros((4, 784), np.float32), y=np.arange(4))
    np.save("X.npy", X[:40])
    np.save("y.npy", y[:40])
    with open("corrupt.npz", "wb") as f:
        f.write(open("good.npz", "rb").read()[:300])
    (tmp_path / "notes.txt").write_text("hello, this is not data\n")
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "words.csv").write_text("1,2,cat\n3,4,dog\n")
    (tmp_path / "notamodel.fnn").write_bytes(b"\x80\x04K\x01.")
    (tmp_path / "adir").mkdir()
    (tmp_path / "empty").mkdir()
    model = fastnn.Sequential([fastnn.Dense(8, activation="relu"), fastnn.Dense(10)], seed=0)
    model.fit(X, y, epochs=1, verbose=0)
    fastnn.saving.save_model(model, "m.fnn", metadata={"dataset": "digits", "seed": 0})
    return tmp_path


BAD_ARGS = [
    # (argv, status, text in the message)
    (["train", "--dropout", "1.5"], 1, "--dropout must be in [0, 1), got 1.5"),
    (["train", "--lr", "-1"], 1, "--lr must be > 0"),
    (["train", "--lr", "nan"], 1, "--lr must be a finite number"),
    (["train", "--epochs", "0"], 1, "--epochs must be >= 1"),
    (["train", "--epochs", "-3"], 1, "--epochs must be >= 1"),
    (["train", "--batch-size", "0"], 1, "--batch-size must be >= 1"),
    (["train", "--validation-split", "1.5"], 1, "--validation-split must be in [0, 1)"),
    (["train", "--threads", "0"], 1, "--threads must be >= 1"),
    (["train", "--activation", "nope"], 1, "--activation 'nope' is not one of"),
    (["train", "--output", "adir"], 1, "--output adir: is a directory"),
    (["train", "--output", "nodir/m.fnn"], 1, "does not exist"),
    (["train", "--data", "corrupt.npz"], 1, "--data corrupt.npz: the .npz archive is truncated"),
    (["train", "--data", "notes.txt"], 1, "--data notes.txt: not an .npz archive"),
    (["train", "--data", "noy.npz"], 1, "--data noy.npz: expected arrays X and y"),
    (["train", "--data", "strlabels.npz"], 1, "integer class labels"),
    (["train", "--data", "neglabels.npz"], 1, "labels must be integers 0..K-1"),
    (["train", "--data", "missing.npz"], 1, "--data missing.npz: no such file"),
    (["train", "--data", "adir"], 1, "--data adir: is a directory"),
    (["train", "--data", "X.npy"], 1, "pass the labels with --labels y.npy"),
    (["train", "--data", "ragged.csv"], 1, "line 2 has 2 columns"),
    (["train", "--data", "words.csv"], 1, "integer class labels"),
    (["train", "--data", "good.npz", "--validation-split", "0.99"], 1,
     "--validation-split 0.99 of 32 training samples"),
    (["train", "--dataset", "mnist", "--data-dir", "empty"], 1, "--data-dir DIR"),
    (["train", "--epochs", "x"], 2, "--epochs: invalid int value"),
    (["train", "--nope"], 2, "unrecognized arguments"),
    (["evaluate"], 2, "the following arguments are required: model"),
    (["evaluate", "missing.fnn"], 1, "no model file at missing.fnn"),
    (["evaluate", "adir"], 1, "adir: is a directory"),
    (["evaluate", "notamodel.fnn"], 1, "not a fastnn model file"),
    (["evaluate", "m.fnn", "--data", "mnistlike.npz"], 1,
     "--data mnistlike.npz: 784 features per sample, but the model m.fnn expects 64"),
    (["evaluate", "m.fnn", "--data", "corrupt.npz"], 1, "truncated or corrupted"),
    (["evaluate", "m.fnn", "--labels", "y.npy"], 1, "--labels goes with --data"),
    (["predict", "m.fnn", "--data", "notes.txt"], 1, "--data notes.txt"),
    (["predict", "m.fnn", "--data", "mnistlike.npz"], 1, "expects 64"),
    (["predict", "m.fnn", "--data", "good.npz", "--output", "adir"], 1, "--output adir"),
    (["predict", "notamodel.fnn", "--data", "good.npz"], 1, "not a fastnn model file"),
    (["predict", "m.fnn", "--proba", "--nope"], 2, "unrecognized arguments"),
    (["export", "missing.fnn", "m.onnx"], 1, "no model file at missing.fnn"),
    (["export", "notamodel.fnn", "m.onnx"], 1, "not a fastnn model file"),
    (["export", "corrupt.npz", "m.onnx"], 1, "corrupt.npz"),
    (["export", "m.fnn", "adir"], 1, "output adir: is a directory"),
    (["export", "m.fnn", "nodir/m.onnx"], 1, "does not exist"),
    (["export", "m.fnn", "m.fnn"], 1, "output m.fnn: is the model file itself"),
    (["export", "m.fnn", "m.onnx", "--opset", "x"], 2, "--opset: invalid int value"),
    (["export", "m.fnn"], 2, "the following arguments are required: output"),
    (["info", "--nope"], 2, "unrecognized arguments"),
    (["bench", "--threads", "0"], 1, "--threads must be >= 1"),
    (["bench", "--compare", "a.json", "b.json"], 1, "--compare a.json: no such file"),
    (["bench", "--only", "nope"], 2, "invalid choice"),
    (["nosuchcommand"], 2, "invalid choice"),
]


@pytest.mark.parametrize("argv, status, message", BAD_ARGS,
                         ids=[" ".join(a[0]) for a in BAD_ARGS])
def test_every_user_error_is_one_line_without_a_traceback(files, capsys, argv, status,
                                                          message):
    assert main(argv) == status
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastnn"), err
    assert message in lines[0], lines[0]
    assert "Traceback" not in err and "training on" not in out  # refused before training
    assert not (files / "fastnn-model.fnn").exists()


def test_user_errors_from_a_real_process(files):
    for argv, status, message in [(["train", "--lr", "-1"], 1, "--lr must be > 0"),
                                  (["evaluate", "m.fnn", "--data", "corrupt.npz"], 1,
                                   "corrupted"),
                                  (["train", "--epochs", "x"], 2, "invalid int value")]:
        r = run(argv, files)
        assert r.returncode == status and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert not (files / "fastnn-model.fnn").exists()


@pytest.mark.parametrize("argv", [["--version"], ["train", "--version"],
                                  ["evaluate", "--version"], ["predict", "--version"],
                                  ["info", "--version"], ["bench", "--version"],
                                  ["export", "--version"]])
def test_version_on_every_subcommand(capsys, argv):
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == f"fastnn {fastnn.__version__}"


@pytest.mark.parametrize("argv", [["info"], ["predict", "m.fnn", "--data", "good.npz"]])
def test_a_closed_pipe_exits_quietly(files, argv):
    env = dict(os.environ, PYTHONPATH=PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-m", "fastnn", *argv], cwd=files, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before the command writes anything
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=120) == 141, err
    assert err == "", err


# ------------------------------------------------------------------- data and models


def test_data_formats_npy_with_labels_and_csv(files, capsys):
    X, y = np.load("X.npy"), np.load("y.npy")
    lines = ["f" + ",f".join(str(i) for i in range(64)) + ",label"]
    lines += [",".join(f"{v:g}" for v in row) + f",{label}" for row, label in zip(X, y)]
    (files / "d.csv").write_text("\n".join(lines) + "\n")
    (files / "rows.csv").write_text("\n".join(l.rsplit(",", 1)[0] for l in lines[1:6]) + "\n")
    for data in (["--data", "X.npy", "--labels", "y.npy"], ["--data", "d.csv"]):
        assert main(["train", *data, "--epochs", "1", "--output", "f.fnn"]) == 0
        out = capsys.readouterr().out
        assert "32 samples for training, 8 for testing, 64 features, 10 classes" in out, out
        assert main(["evaluate", "f.fnn", *data]) == 0
        assert "40 samples" in capsys.readouterr().out
    assert main(["predict", "f.fnn", "--data", "rows.csv"]) == 0
    pred = [int(v) for v in capsys.readouterr().out.split()]
    np.testing.assert_array_equal(pred, fastnn.load("f.fnn").predict_classes(X[:5]))
    # a model trained on a file needs --data to be evaluated
    assert main(["evaluate", "f.fnn"]) == 1
    assert "trained on your own data (d.csv): pass --data FILE" in capsys.readouterr().err


def test_predict_proba(files, capsys):
    assert main(["predict", "m.fnn", "--data", "good.npz", "--proba"]) == 0
    P = np.loadtxt(capsys.readouterr().out.splitlines(), delimiter=",")
    X = np.load("good.npz")["X"]
    assert P.shape == (40, 10)
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-4)
    np.testing.assert_allclose(P, fastnn.load("m.fnn").predict_proba(X), rtol=1e-5, atol=1e-7)
    assert main(["predict", "m.fnn", "--data", "good.npz", "--proba", "--output", "p.csv"]) == 0
    assert "40 probability rows written to p.csv" in capsys.readouterr().out
    np.testing.assert_allclose(np.loadtxt("p.csv", delimiter=","), P)


def test_export_writes_an_onnx_file_that_computes_predict(files, capsys):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    X = np.load("good.npz")["X"]
    model = fastnn.load("m.fnn")
    for argv, want, dtype in [([], model.predict(X), "float32"),
                              (["--proba", "--opset", "18"], model.predict_proba(X), "float32"),
                              (["--dtype", "float64"], model.predict(X), "float64")]:
        assert main(["export", "m.fnn", "m.onnx", *argv]) == 0
        out, err = capsys.readouterr()
        assert out.splitlines() == [
            f"m.fnn -> m.onnx: ONNX, input (N, 64), output (N, 10) {dtype}"
            + (", probabilities" if "--proba" in argv else "")], out
        assert err == ""
        onnx.checker.check_model(onnx.load("m.onnx"))
        sess = ort.InferenceSession("m.onnx", providers=["CPUExecutionProvider"])
        (got,) = sess.run(None, {"input": X.astype(dtype)})
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_export_errors_are_one_line(files, capsys, monkeypatch):
    pytest.importorskip("onnx")
    assert main(["export", "m.fnn", "m.onnx", "--opset", "9"]) == 1
    assert capsys.readouterr().err.startswith("fastnn: error: opset must be in [17, ")
    # a layer the exporter does not know (a file can only hold fastnn's layers, so the
    # exporter forgets one of them)
    import fastnn.export

    monkeypatch.delitem(fastnn.export._LAYERS, fastnn.Dense)
    assert main(["export", "m.fnn", "m.onnx"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("fastnn: error: layer 'dense_1' (fastnn.layers.Dense) has no ONNX "
                          "export"), err
    assert not (files / "m.onnx").exists()


def test_export_without_the_onnx_package(files):
    fake = files / "no_onnx" / "onnx"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named onnx')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(files / "no_onnx"), PKG_PARENT]))
    r = subprocess.run([sys.executable, "-m", "fastnn", "export", "m.fnn", "m.onnx"],
                       cwd=files, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r
    assert r.stderr.strip().splitlines() == [
        'fastnn: error: ONNX export needs the onnx package: pip install "fastnn-cpu[onnx]"'], r
    assert not (files / "m.onnx").exists()


def test_a_model_remembers_its_dataset_and_seed(files, capsys, monkeypatch):
    assert main(["train", "--epochs", "1", "--seed", "3", "--output", "s.fnn",
                 "--no-progress"]) == 0
    acc = float(capsys.readouterr().out.split("test accuracy")[1].split()[0])
    _, meta = fastnn.saving.load_with_metadata("s.fnn")
    assert meta == {"seed": 3, "dataset": "digits"}
    assert main(["evaluate", "s.fnn"]) == 0  # the same test split: seed 3
    assert abs(float(capsys.readouterr().out.split("accuracy")[1].split()[0]) - acc) < 1e-9
    # a model trained on MNIST evaluates on MNIST, found through FASTNN_MNIST_DIR
    model = fastnn.load("m.fnn")
    fastnn.saving.save_model(model, "mn.fnn", metadata={"dataset": "mnist", "seed": 0})
    monkeypatch.setenv("FASTNN_MNIST_DIR", str(files / "empty"))
    for argv in (["evaluate", "mn.fnn"], ["predict", "mn.fnn"]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"fastnn: error: MNIST files not found in {files / 'empty'}"), err
        for hint in ("--data-dir DIR", "--download", "FASTNN_MNIST_DIR"):
            assert hint in err
        assert "load_mnist" not in err
    # and digits data on an MNIST-sized model is refused by feature count, naming both
    big = fastnn.Sequential([fastnn.Dense(10)], input_shape=(784,), seed=0)
    big.build()
    fastnn.saving.save_model(big, "big.fnn", metadata={"dataset": "mnist"})
    assert main(["evaluate", "big.fnn", "--dataset", "digits"]) == 1
    err = capsys.readouterr().err
    assert "--dataset digits: 64 features per sample, but the model big.fnn expects 784 " \
           "(it was trained on mnist)" in err, err
    # files without metadata (older fastnn) still load, and default to the digits
    model.save("old.fnn")
    assert fastnn.saving.load_with_metadata("old.fnn")[1] == {}
    assert main(["evaluate", "old.fnn"]) == 0
    assert "digits" in capsys.readouterr().out


@pytest.mark.skipif("FASTNN_MNIST_DIR" not in os.environ,
                    reason="FASTNN_MNIST_DIR is not set (the directory of the MNIST IDX files)")
def test_an_mnist_model_evaluates_on_mnist_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    model = fastnn.Sequential([fastnn.Dense(10)], input_shape=(784,), seed=0)
    model.build()
    fastnn.saving.save_model(model, "mn.fnn", metadata={"dataset": "mnist", "seed": 0})
    assert main(["evaluate", "mn.fnn"]) == 0  # FASTNN_MNIST_DIR, no --data-dir
    assert capsys.readouterr().out.startswith("MNIST: 10000 samples")


def test_metadata_is_checked_on_save_and_load(tmp_path):
    model = fastnn.Sequential([fastnn.Dense(2)], input_shape=(3,), seed=0)
    model.build()
    for bad in ({"a": [1]}, {1: "x"}, {"a": float("nan")}, {"a": "x" * 2000}, ["a"]):
        with pytest.raises(ValueError, match="metadata"):
            fastnn.saving.save_model(model, tmp_path / "m.fnn", metadata=bad)
    fastnn.saving.save_model(model, tmp_path / "m.fnn", metadata={"k": "v", "n": 1.5,
                                                                  "b": True, "z": None})
    m, meta = fastnn.saving.load_with_metadata(tmp_path / "m.fnn")
    assert meta == {"k": "v", "n": 1.5, "b": True, "z": None}
    np.testing.assert_array_equal(m.predict(np.ones((1, 3))), model.predict(np.ones((1, 3))))


# -------------------------------------------------------------------------- progress


def test_no_carriage_returns_when_stderr_is_a_file(tmp_path):
    with open(tmp_path / "err.txt", "w") as err:
        env = dict(os.environ,
                   PYTHONPATH=PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        r = subprocess.run([sys.executable, "-m", "fastnn", "train", "--epochs", "1",
                            "--output", "m.fnn"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=err, text=True, timeout=300)
        code = ("import fastnn; X, y = fastnn.datasets.load_digits(); "
                "fastnn.Sequential([fastnn.Dense(10)], seed=0).fit(X, y, epochs=2, verbose=1)")
        r2 = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=err, text=True, timeout=300)
    assert r.returncode == 0 and r2.returncode == 0
    assert "Epoch 1/1" in r.stdout and "Epoch 2/2" in r2.stdout
    logged = (tmp_path / "err.txt").read_bytes()  # bytes: text mode turns "\r" into "\n"
    assert b"\r" not in logged and b"sample/s" not in logged, logged
    # --progress asks for the bar even so
    r = run(["train", "--epochs", "1", "--output", "m.fnn", "--progress"], tmp_path)
    assert r.returncode == 0 and "sample/s" in r.stderr, r.stderr
