"""The ``fastnn`` command line: train, evaluate, predict, info, bench.

    fastnn train                       # the embedded 8x8 digits, offline, in seconds
    fastnn train --dataset mnist --data-dir DIR --hidden 128 --epochs 3
    fastnn train --data my.npz         # arrays X (n, features) and y (n,) integer labels
    fastnn evaluate model.fnn [--dataset digits | --data FILE.npz]
    fastnn predict model.fnn --data FILE.npz [--output predictions.csv]
    fastnn info [--json]
    fastnn bench --quick [--json run.json] [--plot run.png]
    fastnn bench --compare old.json new.json

Errors are one line on stderr with exit status 1 (2 for a bad command line).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import numpy as np
from numpy.typing import NDArray

from ._version import __version__

if TYPE_CHECKING:
    from .bench import Case
    from .model import Sequential

DEFAULT_MODEL = "fastnn-model.fnn"


# ------------------------------------------------------------------------------ data


@overload
def _load_npz(path: str, need_y: Literal[True] = ...) -> tuple[NDArray[Any], NDArray[Any]]:
    ...


@overload
def _load_npz(path: str, need_y: bool) -> tuple[NDArray[Any], NDArray[Any] | None]:
    ...


def _load_npz(path: str, need_y: bool = True) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """X (and y) from an .npz file, read without pickle."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f.files or (need_y and "y" not in f.files):
                want = "X and y" if need_y else "X"
                raise ValueError(f"{path}: expected arrays {want}, found {sorted(f.files)}")
            X = f["X"]
            y = f["y"] if "y" in f.files else None
    except (OSError, EOFError) as e:
        raise OSError(f"cannot read {path}: {e}") from None
    if X.ndim == 1:
        raise ValueError(f"{path}: X must have one row per sample, got shape {X.shape}")
    if X.dtype.kind in "iub":
        # integer images: scale 8-bit pixels to [0, 1], other integers as they are
        X = X.astype(np.float32) / (255.0 if X.dtype == np.uint8 else 1.0)
    return X.reshape(X.shape[0], -1), y


def _dataset(args: argparse.Namespace) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any],
                                                NDArray[Any], str]:
    """(X_train, y_train, X_test, y_test, name) for the data the options name."""
    from .datasets import load_digits, load_mnist, train_test_split

    if args.data:
        X, y = _load_npz(args.data)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, seed=args.seed)
        return Xtr, ytr, Xte, yte, os.path.basename(args.data)
    if args.dataset == "mnist":
        (Xtr, ytr), (Xte, yte) = load_mnist(args.data_dir, download=args.download)
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


def _cmd_train(args: argparse.Namespace) -> int:
    import fastnn
    from fastnn import GRU, LSTM, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Reshape, Sequential

    if args.threads:
        fastnn.set_num_threads(args.threads)
    Xtr, ytr, Xte, yte, name = _dataset(args)
    n_classes = int(max(ytr.max(), yte.max())) + 1
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
    optimizer = fastnn.optimizers.get_optimizer(args.optimizer)
    if args.lr is not None:
        optimizer.lr = args.lr
    print(f"fastnn {fastnn.__version__}: training on {name}: {len(Xtr)} samples for "
          f"training, {len(Xte)} for testing, {Xtr.shape[1]} features, {n_classes} classes; "
          f"{fastnn.get_num_threads()} threads")
    history = model.fit(Xtr, ytr, epochs=args.epochs, batch_size=args.batch_size,
                        optimizer=optimizer, loss="cross_entropy",
                        validation_split=args.validation_split, verbose=1)
    result = model.evaluate(Xte, yte)
    print(f"test loss {result['loss']:.4f} - test accuracy {result['accuracy']:.4f}")
    model.save(args.output)
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


def _load_model(path: str) -> Sequential:
    import fastnn

    if not os.path.exists(path):
        raise OSError(f"no model file at {path} (train one with: fastnn train --output {path})")
    return fastnn.load(path)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    _, _, X, y, name = _dataset(args)
    if args.data:  # evaluate on all of the given file, not a split of it
        X, y = _load_npz(args.data)
    result = model.evaluate(X, y)
    print(f"{name}: {len(X)} samples - loss {result['loss']:.4f} - "
          f"accuracy {result['accuracy']:.4f}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    X, _ = _load_npz(args.data, need_y=False)
    classes = model.predict_classes(X)
    if args.output:
        np.savetxt(args.output, classes, fmt="%d")
        print(f"{len(classes)} predictions written to {args.output}")
    else:
        print("\n".join(str(c) for c in classes))
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


def _add_data_options(p: argparse.ArgumentParser, default_dataset: str = "digits") -> None:
    p.add_argument("--dataset", choices=("digits", "mnist"), default=default_dataset,
                   help="built-in data: the embedded 8x8 digits, or MNIST (default: %(default)s)")
    p.add_argument("--data-dir", default=None,
                   help="directory of the MNIST IDX files (else $FASTNN_DATA or the cache)")
    p.add_argument("--download", action="store_true",
                   help="fetch MNIST from the usual mirrors if it is missing")
    p.add_argument("--data", default=None, metavar="FILE.npz",
                   help="your own data: an .npz file with arrays X and y")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    from . import bench

    p = argparse.ArgumentParser(prog="fastnn", description="fastnn command line",
                                epilog="fastnn COMMAND --help shows a command's options")
    p.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a network and save it (default data: embedded digits)")
    _add_data_options(t)
    t.add_argument("--hidden", type=_positive_ints, default=[64], metavar="SIZES",
                   help="hidden layer sizes, comma separated (default: 64)")
    t.add_argument("--arch", choices=("mlp", "lenet", "gru", "lstm"), default="mlp",
                   help="mlp: dense layers only; lenet: two Conv2D + MaxPool2D blocks (16 and 32 "
                        "filters, 'same' padding, 5x5 kernels for 20x20 images and up, else 3x3) "
                        "before the dense layers; gru, lstm: each image read row by row as a "
                        "sequence by a GRU or LSTM of the first --hidden size, the other sizes "
                        "dense layers after it (default: %(default)s)")
    t.add_argument("--activation", default="relu", help="hidden activation (default: relu)")
    t.add_argument("--dropout", type=float, default=0.0, help="dropout rate after each hidden layer")
    t.add_argument("--optimizer", default="adam", choices=("adam", "adamw", "sgd", "rmsprop"))
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--validation-split", type=float, default=0.1)
    t.add_argument("--threads", type=int, default=None, help="threads (default: all available)")
    t.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    t.add_argument("--output", default=DEFAULT_MODEL, help="model file (default: %(default)s)")
    t.add_argument("--plot", default=None, metavar="FILE.png",
                   help="write the training curves as a PNG (needs matplotlib)")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("evaluate", help="loss and accuracy of a saved model")
    e.add_argument("model", help="a file written by fastnn train or model.save")
    _add_data_options(e)
    e.set_defaults(func=_cmd_evaluate)

    r = sub.add_parser("predict", help="predicted classes for the rows of an .npz file")
    r.add_argument("model")
    r.add_argument("--data", required=True, metavar="FILE.npz", help="an .npz file with array X")
    r.add_argument("--output", default=None, help="write one class per line here")
    r.set_defaults(func=_cmd_predict)

    i = sub.add_parser("info", help="show how fastnn was built and what it runs on")
    i.add_argument("--json", action="store_true", help="print the configuration as JSON")
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
    b.set_defaults(func=_cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .errors import FastnnError

    try:
        return cast(int, args.func(args))
    except (FastnnError, ValueError, TypeError, OSError, ImportError) as e:
        one_line = " ".join(str(e).split())  # some library messages span several lines
        print(f"fastnn: error: {one_line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fastnn: interrupted", file=sys.stderr)
        return 130
