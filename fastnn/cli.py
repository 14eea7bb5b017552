"""The ``fastnn`` command line: train, evaluate, predict, export, info, bench.

    fastnn train                       # the embedded 8x8 digits, offline, in seconds
    fastnn train --dataset mnist --data-dir DIR --hidden 128 --epochs 3
    fastnn train --data my.npz         # arrays X (n, features) and y (n,) integer labels
    fastnn evaluate model.fnn [--dataset digits | --data FILE.npz]
    fastnn predict model.fnn --data FILE.npz [--output predictions.csv]
    fastnn export model.fnn model.onnx [--opset N] [--proba] [--dtype float32]   # needs onnx
    fastnn info [--json]
    fastnn bench --quick [--json run.json] [--plot run.png]
    fastnn bench --compare old.json new.json

    fastnn predict model.fnn --data rows.csv --proba   # class probabilities

``--data`` takes an .npz archive (X, y), ``X.npy`` with ``--labels y.npy``, or a CSV file
(the last column the label, a header line optional). Every user error is one line on
stderr naming the option or file, exit status 1 (2 for a bad command line, 141, quietly,
when stdout is closed early as in ``fastnn predict ... | head -1``); never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

import numpy as np
from numpy.typing import NDArray

from ._version import __version__

if TYPE_CHECKING:
    from .bench import Case
    from .model import Sequential

DEFAULT_MODEL = "fastnn-model.fnn"


# ------------------------------------------------------------------------------ data


class UsageError(Exception):
    """A mistake in what the user asked for: one line on stderr, exit status 1."""


DATA_HELP = ("your own data: an .npz archive with arrays X (one row per sample) and y "
             "(integer labels 0..K-1); an .npy array of X with --labels y.npy; or a .csv "
             "file, comma separated, one sample per line, the last column the label "
             "(a header line is skipped)")


def _input_file(path: str, option: str) -> None:
    """Refuse a missing file or a directory, naming the option."""
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory, not a file")
    if not os.path.exists(path):
        raise UsageError(f"{option} {path}: no such file")


def _output_file(path: str, option: str) -> None:
    """Refuse, before any work, an output path that cannot be written."""
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory, not a file name")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"{option} {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{option} {path}: the directory {parent} is not writable")


def _read_npz(path: str, option: str) -> tuple[dict[str, NDArray[Any]], list[str]]:
    """Arrays X and y (those present) and the names of all the archive's arrays."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files if k in ("X", "y")}, list(f.files)
    except ValueError as e:
        if "pickle" in str(e):
            raise UsageError(f"{option} {path}: holds pickled Python objects, which fastnn "
                             "never loads") from None
        raise UsageError(f"{option} {path}: not a readable .npz archive ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise UsageError(f"{option} {path}: the .npz archive is truncated or corrupted "
                         f"({e})") from None


def _read_npy(path: str, option: str) -> NDArray[Any]:
    try:
        return cast("NDArray[Any]", np.load(path, allow_pickle=False))
    except ValueError as e:
        if "pickle" in str(e):
            raise UsageError(f"{option} {path}: holds pickled Python objects, which fastnn "
                             "never loads") from None
        raise UsageError(f"{option} {path}: not a readable .npy array ({e})") from None
    except (OSError, EOFError) as e:
        raise UsageError(f"{option} {path}: the .npy file is truncated or corrupted "
                         f"({e})") from None


def _read_csv(path: str, option: str, with_labels: bool
              ) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """Features (and the last column as labels) from a comma-separated file."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [(i, r) for i, r in enumerate(csv.reader(f), 1) if any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{option} {path}: not a text CSV file ({e})") from None
    if rows:
        try:
            [float(c) for c in rows[0][1]]
        except ValueError:
            rows = rows[1:]  # a header line
    if not rows:
        raise UsageError(f"{option} {path}: the CSV file has no data rows")
    width = len(rows[0][1])
    if width < (2 if with_labels else 1):
        raise UsageError(f"{option} {path}: a CSV row needs at least one feature column"
                         + (" and the label column" if with_labels else ""))
    for line, r in rows:
        if len(r) != width:
            raise UsageError(f"{option} {path}: line {line} has {len(r)} columns, line "
                             f"{rows[0][0]} has {width}")
    cols = width - 1 if with_labels else width
    X = np.empty((len(rows), cols), np.float64)
    for j, (line, r) in enumerate(rows):
        try:
            X[j] = [float(c) for c in r[:cols]]
        except ValueError:
            bad = next(c for c in r[:cols] if not _is_number(c))
            raise UsageError(f"{option} {path}: line {line}: {bad.strip()[:40]!r} is not a "
                             "number") from None
    y = np.array([r[-1].strip() for _, r in rows]) if with_labels else None
    if y is not None and all(_is_number(v) for v in y):
        y = y.astype(np.float64)
    return X, y


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_X(X: NDArray[Any], where: str) -> NDArray[Any]:
    if X.dtype.kind not in "fiub":
        raise UsageError(f"{where}: X holds {X.dtype} values, not numbers")
    if X.ndim < 2:
        raise UsageError(f"{where}: X must have one row per sample, got shape {X.shape}")
    if X.shape[0] == 0:
        raise UsageError(f"{where}: X has no rows")
    if X.dtype.kind in "iub":
        # integer images: scale 8-bit pixels to [0, 1], other integers as they are
        X = X.astype(np.float32) / (255.0 if X.dtype == np.uint8 else 1.0)
    return X.reshape(X.shape[0], -1)


def _check_y(y: NDArray[Any], n: int, where: str) -> NDArray[np.int64]:
    """Integer class labels 0..K-1, one per row of X."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise UsageError(f"{where}: the labels must be one integer per sample, got shape "
                         f"{y.shape}")
    if len(y) != n:
        raise UsageError(f"{where}: {n} samples but {len(y)} labels")
    if y.dtype.kind not in "iubf":
        shown = ", ".join(repr(str(v)) for v in np.unique(y)[:3])
        raise UsageError(f"{where}: the labels are {y.dtype.name} values ({shown}, ...); "
                         "fastnn needs integer class labels 0..K-1 (map names to numbers "
                         "first)")
    if y.dtype.kind == "f" and not (np.all(np.isfinite(y)) and np.all(y == np.round(y))):
        raise UsageError(f"{where}: the labels must be integers 0..K-1, got non-integer "
                         "values")
    if len(y) and y.min() < 0:
        raise UsageError(f"{where}: the labels must be integers 0..K-1, got {y.min():g}")
    return y.astype(np.int64)


def _load_data(path: str, labels: str | None, need_y: bool = True
               ) -> tuple[NDArray[Any], NDArray[np.int64] | None]:
    """X (and y) from --data FILE (.npz, .npy with --labels, or .csv), read without pickle.
    Every problem is a UsageError naming the option and the file."""
    option = "--data"
    _input_file(path, option)
    if labels is not None:
        _input_file(labels, "--labels")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot be read ({e.strerror or e})") from None
    where = f"{option} {path}"
    y: NDArray[Any] | None
    if head.startswith(b"PK"):
        if labels is not None:
            raise UsageError(f"--labels: an .npz archive holds its own y; --labels goes "
                             f"with --data X.npy or X.csv")
        arrays, names = _read_npz(path, option)
        if "X" not in arrays or (need_y and "y" not in arrays):
            want = "X and y" if need_y else "X"
            found = ", ".join(sorted(names)[:8]) or "no arrays"
            raise UsageError(f"{where}: expected arrays {want}, found {found}")
        X, y = arrays["X"], arrays.get("y")
    elif head.startswith(b"\x93NUMPY"):
        X = _read_npy(path, option)
        y = None
        if labels is None and need_y:
            raise UsageError(f"{where}: an .npy file holds X only: pass the labels with "
                             "--labels y.npy")
    elif path.lower().endswith(".csv"):
        X, y = _read_csv(path, option, with_labels=need_y and labels is None)
    else:
        raise UsageError(f"{where}: not an .npz archive, an .npy array or a .csv file")
    if labels is not None:
        with open(labels, "rb") as f:
            is_npy = f.read(6) == b"\x93NUMPY"
        y = _read_npy(labels, "--labels") if is_npy \
            else _read_csv(labels, "--labels", with_labels=False)[0]
        where = f"{where} with --labels {labels}"
    X = _check_X(X, where)
    return X, (None if y is None else _check_y(y, X.shape[0], where))


def _mnist_dir(args: argparse.Namespace) -> str | None:
    return cast("str | None", args.data_dir or os.environ.get("FASTNN_MNIST_DIR") or None)


def _load_mnist(args: argparse.Namespace
                ) -> tuple[tuple[NDArray[Any], NDArray[Any]], tuple[NDArray[Any], NDArray[Any]]]:
    from .datasets import DatasetError, load_mnist

    data_dir = _mnist_dir(args)
    if data_dir is not None and not os.path.isdir(data_dir):
        option = "--data-dir" if args.data_dir else "FASTNN_MNIST_DIR"
        raise UsageError(f"{option} {data_dir}: not a directory")
    try:
        return load_mnist(data_dir, download=args.download)
    except DatasetError as e:
        if not str(e).startswith("MNIST files not found"):
            raise
        where = f"in {data_dir}" if data_dir else "in $FASTNN_DATA or the cache"
        raise UsageError(f"MNIST files not found {where}: pass --data-dir DIR (the directory "
                         "of the four IDX files), set FASTNN_MNIST_DIR=DIR, or add --download "
                         "to fetch them") from None


def _dataset(args: argparse.Namespace) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any],
                                                NDArray[Any], str]:
    """(X_train, y_train, X_test, y_test, name) for the data the options name."""
    from .datasets import load_digits, train_test_split

    if args.data:
        X, y = _load_data(args.data, args.labels)
        assert y is not None
        if len(X) < 2:
            raise UsageError(f"--data {args.data}: {len(X)} sample; at least 2 are needed "
                             "(one for training, one for testing)")
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=args.seed)
        return Xtr, ytr, Xte, yte, os.path.basename(args.data)
    if args.dataset == "mnist":
        (Xtr, ytr), (Xte, yte) = _load_mnist(args)
        return Xtr, ytr, Xte, yte, "MNIST"
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=args.seed, stratify=y)
    return Xtr, ytr, Xte, yte, "digits (8x8, embedded)"


def _positive_ints(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 128 or 256,128, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}")
    return sizes


# -------------------------------------------------------------------------- commands


def _check_train_options(args: argparse.Namespace) -> None:
    """Everything the Python API would refuse, refused before any data is read, in the
    options' own names."""
    from .layers import ACTIVATION_NAMES

    def real(option: str, value: float) -> float:
        if not math.isfinite(value):
            raise UsageError(f"{option} must be a finite number, got {value}")
        return value

    if not 0.0 <= real("--dropout", args.dropout) < 1.0:
        raise UsageError(f"--dropout must be in [0, 1), got {args.dropout:g}")
    if args.lr is not None and not real("--lr", args.lr) > 0.0:
        raise UsageError(f"--lr must be > 0, got {args.lr:g}")
    if args.epochs < 1:
        raise UsageError(f"--epochs must be >= 1, got {args.epochs}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    if not 0.0 <= real("--validation-split", args.validation_split) < 1.0:
        raise UsageError(f"--validation-split must be in [0, 1), got {args.validation_split:g}")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    if args.activation not in ACTIVATION_NAMES:
        raise UsageError(f"--activation {args.activation!r} is not one of "
                         f"{', '.join(ACTIVATION_NAMES)}")
    if args.labels is not None and not args.data:
        raise UsageError("--labels goes with --data X.npy (or X.csv)")
    _output_file(args.output, "--output")
    if args.plot:
        _output_file(args.plot, "--plot")


def _cmd_train(args: argparse.Namespace) -> int:
    import fastnn
    from fastnn import GRU, LSTM, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Reshape, Sequential
    from fastnn.callbacks import ProgressLogger

    _check_train_options(args)
    if args.threads:
        fastnn.set_num_threads(args.threads)
    Xtr, ytr, Xte, yte, name = _dataset(args)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    if n_classes < 2:
        raise UsageError(f"{'--data ' + args.data if args.data else name}: every label is 0; "
                         "a classifier needs at least two classes")
    if args.validation_split:
        split = int(len(Xtr) * (1.0 - args.validation_split))
        if split < 1 or split >= len(Xtr):
            raise UsageError(f"--validation-split {args.validation_split:g} of {len(Xtr)} "
                             f"training samples leaves {split} for training and "
                             f"{len(Xtr) - split} for validation; both need at least one")
    layers = []
    hidden = list(args.hidden)
    if args.arch != "mlp":
        side = int(round(Xtr.shape[1] ** 0.5))
        if side * side != Xtr.shape[1]:
            print(f"fastnn train: --arch {args.arch} needs square one-channel images, but the "
                  f"data has {Xtr.shape[1]} features per sample", file=sys.stderr)
            return 2
    if args.arch == "lenet":
        k = 5 if side >= 20 else 3
        layers += [Reshape((1, side, side)),
                   Conv2D(16, k, padding="same", activation="relu"), MaxPool2D(2),
                   Conv2D(32, k, padding="same", activation="relu"), MaxPool2D(2), Flatten()]
    elif args.arch in ("gru", "lstm"):
        # each image row is one step of a sequence; the first size is the recurrent layer's
        cell = GRU if args.arch == "gru" else LSTM
        layers += [Reshape((side, side)), cell(hidden.pop(0))]
    for units in hidden:
        layers.append(Dense(units, activation=args.activation))
        if args.dropout:
            layers.append(Dropout(args.dropout))
    layers.append(Dense(n_classes))
    model = Sequential(layers, seed=args.seed, dtype=args.dtype)
    optimizer = fastnn.optimizers.OPTIMIZERS[args.optimizer](
        **({} if args.lr is None else {"lr": args.lr}))
    print(f"fastnn {fastnn.__version__}: training on {name}: {len(Xtr)} samples for "
          f"training, {len(Xte)} for testing, {Xtr.shape[1]} features, {n_classes} classes; "
          f"{fastnn.get_num_threads()} threads", flush=True)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    history = model.fit(Xtr, ytr, epochs=args.epochs, batch_size=args.batch_size,
                        optimizer=optimizer, loss="cross_entropy",
                        validation_split=args.validation_split, verbose=0,
                        callbacks=[ProgressLogger(1 if progress else 2, bar=progress)])
    result = model.evaluate(Xte, yte)
    print(f"test loss {result['loss']:.4f} - test accuracy {result['accuracy']:.4f}")
    from .saving import save_model

    metadata: dict[str, str | int | float | bool | None] = {"seed": args.seed}
    if args.data:
        metadata["data"] = os.path.basename(args.data)
    else:
        metadata["dataset"] = args.dataset
    save_model(model, args.output, metadata=metadata)
    print(f"model saved to {args.output}")
    if args.plot:
        _plot(history.history, args.plot)
    return 0


def _plot(hist: Mapping[str, Sequence[float]], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install matplotlib, or "
              "pip install 'fastnn[plot]')", file=sys.stderr)
        return
    epochs = np.arange(1, len(hist["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, ax in (("loss", ax1), ("accuracy", ax2)):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + key in hist:
                ax.plot(epochs, hist[prefix + key], style,
                        label="validation" if prefix else "training")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"training curves saved to {path}")


def _load_model(path: str) -> tuple[Sequential, dict[str, Any]]:
    from .saving import load_with_metadata

    if os.path.isdir(path):
        raise UsageError(f"model {path}: is a directory, not a model file")
    if not os.path.exists(path):
        raise UsageError(f"no model file at {path} (train one with: fastnn train --output "
                         f"{path})")
    return load_with_metadata(path)


def _check_features(model: Sequential, X: NDArray[Any], data: str, path: str,
                    meta: Mapping[str, Any]) -> None:
    shape = model.input_shape
    want = int(np.prod(shape)) if shape else X.shape[1]
    if X.shape[1] != want:
        trained = meta.get("dataset") or meta.get("data")
        raise UsageError(f"{data}: {X.shape[1]} features per sample, but the model {path} "
                         f"expects {want}" + (f" (it was trained on {trained})"
                                              if isinstance(trained, str) else ""))


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.labels is not None and not args.data:
        raise UsageError("--labels goes with --data X.npy (or X.csv)")
    model, meta = _load_model(args.model)
    if args.dataset is None:  # the data the model was trained on, else the digits
        saved = meta.get("dataset")
        if not args.data and saved is None and isinstance(meta.get("data"), str):
            raise UsageError(f"{args.model} was trained on your own data ({meta['data']}): "
                             "pass --data FILE")
        args.dataset = saved if saved in ("digits", "mnist") else "digits"
    if args.seed is None:  # the split the model was trained with
        saved_seed = meta.get("seed")
        args.seed = saved_seed if isinstance(saved_seed, int) and saved_seed >= 0 else 0
    if args.data:  # evaluate on all of the given file, not a split of it
        X, y = _load_data(args.data, args.labels)
        assert y is not None
        name = os.path.basename(args.data)
        where = f"--data {args.data}"
    else:
        _, _, X, y, name = _dataset(args)
        where = f"--dataset {args.dataset}"
    _check_features(model, X, where, args.model, meta)
    n_out = int(np.prod(model.output_shape)) if model.output_shape else 0
    if n_out > 1 and len(y) and y.max() >= n_out:
        raise UsageError(f"{where}: label {int(y.max())} but the model {args.model} has "
                         f"{n_out} classes (0..{n_out - 1})")
    # a model saved without a loss (never fitted) is scored as fastnn train's are
    result = model.evaluate(X, y, loss=None if model.loss is not None else "cross_entropy")
    print(f"{name}: {len(X)} samples - loss {result['loss']:.4f} - "
          f"accuracy {result['accuracy']:.4f}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    if args.output:
        _output_file(args.output, "--output")
    model, meta = _load_model(args.model)
    if args.data:
        X, _ = _load_data(args.data, None, need_y=False)
        where = f"--data {args.data}"
    else:  # the test split of the built-in data the model was trained on
        if args.dataset is None:
            saved = meta.get("dataset")
            if saved not in ("digits", "mnist"):
                raise UsageError("--data FILE is required"
                                 + (f": {args.model} was trained on your own data "
                                    f"({meta['data']})" if isinstance(meta.get("data"), str)
                                    else ""))
            args.dataset = saved
        saved_seed = meta.get("seed")
        args.seed = saved_seed if isinstance(saved_seed, int) and saved_seed >= 0 else 0
        args.labels = None
        _, _, X, _, _ = _dataset(args)
        where = f"--dataset {args.dataset}"
    _check_features(model, X, where, args.model, meta)
    if args.proba:
        proba = model.predict_proba(X)
        proba = proba.reshape(len(proba), -1)
        if proba.shape[1] == 1:  # one sigmoid output: P(class 0), P(class 1)
            proba = np.hstack([1 - proba, proba])
        rows = [",".join(f"{p:.6g}" for p in row) for row in proba]
    else:
        rows = [str(c) for c in model.predict_classes(X)]
    if args.output:
        with open(args.output, "w") as f:
            f.write("".join(r + "\n" for r in rows))
        print(f"{len(rows)} {'probability rows' if args.proba else 'predictions'} written "
              f"to {args.output}")
    else:
        sys.stdout.write("".join(r + "\n" for r in rows))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .export import export_onnx

    _output_file(args.output, "output")
    if os.path.exists(args.output) and os.path.exists(args.model) and \
            os.path.samefile(args.output, args.model):
        raise UsageError(f"output {args.output}: is the model file itself; name another file")
    model, _ = _load_model(args.model)
    export_onnx(model, args.output, args.opset, proba=args.proba, dtype=args.dtype)
    shape = ", ".join(str(s) for s in model.input_shape or ())
    out = ", ".join(str(s) for s in model.output_shape or ())
    print(f"{args.model} -> {args.output}: ONNX, input (N, {shape}), output (N, {out}) "
          f"{args.dtype or model.dtype}" + (", probabilities" if args.proba else ""))
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import fastnn

    if args.json:
        from fastnn._info import config

        print(json.dumps(config(), indent=2))
    else:
        fastnn.show_config()
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from fastnn import bench

    if args.compare:
        for path in args.compare:
            _input_file(path, "--compare")
        print(bench.compare(bench.read_json(args.compare[0]), bench.read_json(args.compare[1])))
        return 0
    if args.plot:  # fail before the run, not after it
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError("--plot needs matplotlib: pip install matplotlib, or "
                              "pip install 'fastnn[plot]'") from None
    if args.isa:
        import fastnn

        bench.rerun_emulating(args.isa, [sys.executable, "-m", "fastnn", *args.argv])
        fastnn.set_config(isa=args.isa)
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    if args.json:
        _output_file(args.json, "--json")
    if args.plot:
        _output_file(args.plot, "--plot")
    if args.threads:
        import fastnn

        fastnn.set_num_threads(args.threads)
    from tqdm import tqdm

    bar = tqdm(total=0, unit="case", leave=False, disable=not sys.stderr.isatty())

    def progress(i: int, n: int, case: Case) -> None:
        bar.total = n
        bar.set_description(case.name[:40])
        bar.update(i - bar.n)

    report = bench.run(args.only or bench.GROUPS, quick=args.quick, data_dir=args.data_dir,
                       progress=progress)
    bar.close()
    print(bench.format_table(report))
    if args.json:
        bench.write_json(report, args.json)
        print(f"results saved to {args.json}")
    if args.plot:
        bench.plot(report, args.plot)
        print(f"chart saved to {args.plot}")
    return 0


# ---------------------------------------------------------------------------- parser


def _add_data_options(p: argparse.ArgumentParser, train: bool = True) -> None:
    if train:
        p.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                       help="built-in data: the embedded 8x8 digits, or MNIST "
                       "(default: %(default)s)")
    else:
        p.add_argument("--dataset", choices=("digits", "mnist"), default=None,
                       help="built-in data: the embedded 8x8 digits, or MNIST (default: the "
                       "dataset the model was trained on, else digits; the test split)")
    p.add_argument("--data-dir", default=None,
                   help="directory of the MNIST IDX files (else $FASTNN_MNIST_DIR, "
                   "$FASTNN_DATA or the cache)")
    p.add_argument("--download", action="store_true",
                   help="fetch MNIST from the usual mirrors if it is missing")
    p.add_argument("--data", default=None, metavar="FILE", help=DATA_HELP)
    p.add_argument("--labels", default=None, metavar="Y.npy",
                   help="the labels for --data X.npy: an .npy array or a one-column CSV")
    p.add_argument("--seed", type=int, default=0 if train else None,
                   help="random seed of the train/test split" + (
                       " and the weights (default: %(default)s)" if train
                       else " (default: the one the model was trained with)"))


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line: what is wrong and where the help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", action="version", version=f"fastnn {__version__}")


def build_parser() -> argparse.ArgumentParser:
    from . import bench

    p = _Parser(prog="fastnn", description="fastnn command line",
                                epilog="fastnn COMMAND --help shows a command's options")
    _add_version(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a network and save it (default data: embedded digits)")
    _add_data_options(t)
    _add_version(t)
    t.add_argument("--hidden", type=_positive_ints, default=[64], metavar="SIZES",
                   help="hidden layer sizes, comma separated (default: 64)")
    t.add_argument("--arch", choices=("mlp", "lenet", "gru", "lstm"), default="mlp",
                   help="mlp: dense layers only; lenet: two Conv2D + MaxPool2D blocks (16 and 32 "
                        "filters, 'same' padding, 5x5 kernels for 20x20 images and up, else 3x3) "
                        "before the dense layers; gru, lstm: each image read row by row as a "
                        "sequence by a GRU or LSTM of the first --hidden size, the other sizes "
                        "dense layers after it (default: %(default)s)")
    t.add_argument("--activation", default="relu", help="hidden activation (default: relu)")
    t.add_argument("--dropout", type=float, default=0.0,
                   help="dropout rate after each hidden layer, in [0, 1) (default: 0)")
    t.add_argument("--optimizer", default="adam", choices=("adam", "adamw", "sgd", "rmsprop"))
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    t.add_argument("--epochs", type=int, default=20, help="passes over the data (default: 20)")
    t.add_argument("--batch-size", type=int, default=32, help="samples per step (default: 32)")
    t.add_argument("--validation-split", type=float, default=0.1,
                   help="fraction of the training samples held out for validation, in "
                   "[0, 1) (default: 0.1)")
    t.add_argument("--threads", type=int, default=None, help="threads (default: all available)")
    t.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    t.add_argument("--output", default=DEFAULT_MODEL, help="model file (default: %(default)s)")
    t.add_argument("--plot", default=None, metavar="FILE.png",
                   help="write the training curves as a PNG (needs matplotlib)")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar per epoch (default: only when stderr is a "
                   "terminal; the per-epoch lines are always printed)")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("evaluate", help="loss and accuracy of a saved model")
    e.add_argument("model", help="a file written by fastnn train or model.save")
    _add_data_options(e, train=False)
    _add_version(e)
    e.set_defaults(func=_cmd_evaluate)

    r = sub.add_parser("predict", help="predicted classes (or probabilities) for rows of data")
    r.add_argument("model", help="a file written by fastnn train or model.save")
    r.add_argument("--data", default=None, metavar="FILE",
                   help="the rows: an .npz archive with array X, an .npy array, or a .csv "
                   "file whose columns are all features (default: the test split of the "
                   "built-in dataset the model was trained on)")
    r.add_argument("--dataset", choices=("digits", "mnist"), default=None,
                   help="predict the test split of a built-in dataset instead")
    r.add_argument("--data-dir", default=None,
                   help="directory of the MNIST IDX files (else $FASTNN_MNIST_DIR, "
                   "$FASTNN_DATA or the cache)")
    r.add_argument("--download", action="store_true",
                   help="fetch MNIST from the usual mirrors if it is missing")
    r.add_argument("--proba", action="store_true",
                   help="write each row's class probabilities (comma separated, one column "
                   "per class) instead of its class")
    r.add_argument("--output", default=None, help="write one line per row here (default: "
                   "stdout)")
    _add_version(r)
    r.set_defaults(func=_cmd_predict)

    x = sub.add_parser("export", help="write a saved model as an ONNX file (needs onnx)",
                       description="Write a saved model as an ONNX graph computing what "
                       "predict returns (--proba: predict_proba), for any batch size; "
                       "needs the onnx package (pip install 'fastnn-cpu[onnx]').")
    x.add_argument("model", help="a file written by fastnn train or model.save")
    x.add_argument("output", help="the ONNX file to write, e.g. model.onnx")
    x.add_argument("--opset", type=int, default=None,
                   help="ONNX operator set, 17 or later (default: 17)")
    x.add_argument("--proba", action="store_true",
                   help="output class probabilities, as predict --proba, instead of the raw "
                   "outputs")
    x.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="the graph's float type (default: the model's; onnxruntime runs "
                   "convolutions and recurrent layers in float32 only)")
    _add_version(x)
    x.set_defaults(func=_cmd_export)

    i = sub.add_parser("info", help="show how fastnn was built and what it runs on")
    i.add_argument("--json", action="store_true", help="print the configuration as JSON")
    _add_version(i)
    i.set_defaults(func=_cmd_info)

    b = sub.add_parser("bench", help="time fastnn against the numpy reference, same work",
                       description="Kernels, MNIST training epochs, predict latency, "
                       "thread scaling and convolutions (conv2d kernels, a LeNet epoch), "
                       "each timed natively and with the numpy reference in "
                       "the same run (results checked to agree first).")
    b.add_argument("--quick", action="store_true",
                   help="fewer sizes, 10,000 MNIST rows: under a minute")
    b.add_argument("--only", nargs="+",
                   choices=bench.GROUPS,
                   help="run only these groups (sklearn: needs scikit-learn; cnn: conv2d "
                   "kernels and a LeNet epoch; rnn: GRU and LSTM epochs on MNIST rows)")
    b.add_argument("--threads", type=int, default=None, help="threads (default: all available)")
    b.add_argument("--data-dir", default=None,
                   help="MNIST IDX files (else $FASTNN_MNIST_DIR, $FASTNN_DATA, the cache, or "
                   "random data of MNIST's shape)")
    b.add_argument("--json", default=None, metavar="FILE.json",
                   help="save the results and the machine description")
    b.add_argument("--plot", default=None, metavar="FILE.png",
                   help="chart of the speedups (needs matplotlib)")
    b.add_argument("--compare", nargs=2, default=None, metavar=("OLD.json", "NEW.json"),
                   help="compare two saved runs and exit")
    b.add_argument("--isa", default=None, choices=("avx512", "avx2", "neon", "generic"),
                   help="run fastnn at this level; on an AVX-512 CPU, avx2 also holds "
                   "numpy and BLAS to AVX2 (an emulated AVX2 machine, so labelled)")
    _add_version(b)
    b.set_defaults(func=_cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status. 0: done; 1: a user error (one line
    on stderr, naming the option or file); 2: a bad command line (argparse's usage
    message); 130: interrupted; 141: stdout was closed early (``fastnn predict ... | head``),
    quietly, as a process killed by SIGPIPE reports it."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors
        code = e.code
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return _stdout_closed()
        return code if isinstance(code, int) else (0 if code is None else 2)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .errors import FastnnError

    try:
        status = cast(int, args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        return _stdout_closed()
    except (UsageError, FastnnError, ValueError, TypeError, OSError, ImportError,
            MemoryError) as e:
        one_line = " ".join(str(e).split())  # some library messages span several lines
        if isinstance(e, OSError) and not one_line:
            one_line = type(e).__name__
        print(f"fastnn: error: {one_line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fastnn: interrupted", file=sys.stderr)
        return 130


def _stdout_closed() -> int:
    """The reader of stdout went away: point stdout at devnull so that the flush at exit
    cannot fail again, and exit 141 (128 + SIGPIPE) without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
    return 141
