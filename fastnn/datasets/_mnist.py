"""MNIST: find, verify, load and (on request) download the four IDX files.

Where the files are looked for, in order:

    1. ``data_dir`` when given (only there);
    2. ``$FASTNN_DATA/mnist``, then ``$FASTNN_DATA`` itself;
    3. the per-user cache, ``$XDG_CACHE_HOME/fastnn/mnist`` (default
       ``~/.cache/fastnn/mnist``).

The first directory holding all four files is used. Each file may be gzip-compressed
(``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``). The SHA-256 of
each decompressed payload is checked against the published values (``verify=True``).

``download=True`` fetches the missing files into ``data_dir`` (when given) or the cache,
trying each mirror in turn, and keeps a file only when its payload hash is right.
Mirrors: the ``mirrors=`` argument, else ``$FASTNN_MNIST_MIRROR`` (base URLs separated
by whitespace or commas), else ``DEFAULT_MIRRORS``. Progress is logged on the
``fastnn.datasets`` logger (INFO).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import DatasetError
from ._idx import _read_idx

__all__ = ["load_mnist", "mnist_cache_dir", "MNIST_FILES", "MNIST_SHA256", "DEFAULT_MIRRORS"]

log = logging.getLogger("fastnn.datasets")

# The four files, in the order they are returned.
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# SHA-256 of each decompressed IDX file (the published MNIST payloads).
MNIST_SHA256 = {
    "train-images-idx3-ubyte":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_N = {"train": 60000, "t10k": 10000}

# Base URLs serving the four ``.gz`` files, tried in order.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)

MIRROR_ENV = "FASTNN_MNIST_MIRROR"
DATA_ENV = "FASTNN_DATA"
_TIMEOUT = 60.0
_CHUNK = 1 << 20
# the largest MNIST file is 47 MB decompressed: a response beyond this is not MNIST
_MAX_DOWNLOAD = 128 << 20


def mnist_cache_dir() -> Path:
    """The per-user cache directory for MNIST: ``$XDG_CACHE_HOME/fastnn/mnist``, by
    default ``~/.cache/fastnn/mnist`` (it may not exist yet)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "fastnn" / "mnist"


def _search_dirs(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    if data_dir is not None:
        return [Path(os.fspath(data_dir)).expanduser()]
    dirs = []
    env = os.environ.get(DATA_ENV, "")
    if env:
        root = Path(env).expanduser()
        dirs += [root / "mnist", root]
    dirs.append(mnist_cache_dir())
    return dirs


def _find_file(directory: Path, name: str) -> Path | None:
    """The path of ``name`` (gzip first, then raw) in ``directory``, or None."""
    for candidate in (directory / (name + ".gz"), directory / name):
        if candidate.is_file():
            return candidate
    return None


def _locate(dirs: Iterable[Path]) -> tuple[Path | None, dict[Any, Any]]:
    """(directory, {name: path}) of the first directory with all four files, or
    (None, {directory: [missing names]})."""
    missing = {}
    for d in dirs:
        found = {name: _find_file(d, name) for name in MNIST_FILES}
        absent = [name for name, p in found.items() if p is None]
        if not absent:
            return d, found
        missing[d] = absent
    return None, missing


def _mirror_list(mirrors: str | Iterable[str] | None) -> list[str]:
    if mirrors is None:
        env = os.environ.get(MIRROR_ENV, "").strip()
        mirrors = re.split(r"[\s,]+", env) if env else list(DEFAULT_MIRRORS)
    elif isinstance(mirrors, (str, bytes, os.PathLike)):
        mirrors = [os.fsdecode(mirrors) if not isinstance(mirrors, str) else mirrors]
    else:
        mirrors = list(mirrors)
    out = []
    for m in mirrors:
        if not isinstance(m, str) or not m:
            raise ValueError(f"mirrors must be base URLs (strings), got {m!r}")
        scheme = urllib.parse.urlsplit(m).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"mirror {m!r} is not an http:// or https:// URL")
        out.append(m if m.endswith("/") else m + "/")
    if not out:
        raise ValueError("no MNIST mirror to download from (mirrors is empty)")
    return out


def _payload_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the decompressed payload of ``path`` (read as IDX, so a damaged file
    raises DatasetError)."""
    h = hashlib.sha256()
    _read_idx(path, h)
    return h.hexdigest()


def _fetch(url: str, dest_dir: Path, name: str, timeout: float) -> Path:
    """Download ``url`` into a temporary file in ``dest_dir``, check the payload hash,
    and move it into place atomically. Returns the final path; raises on failure and
    leaves nothing behind."""
    tmp: str | None  # None once the file is in place
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            req = urllib.request.Request(url, headers={"User-Agent": "fastnn"})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                size = 0
                while chunk := resp.read(_CHUNK):
                    size += len(chunk)
                    if size > _MAX_DOWNLOAD:
                        raise DatasetError(f"{url}: more than {_MAX_DOWNLOAD} bytes, far "
                                           "larger than any MNIST file; rejected", url)
                    out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        with open(tmp, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        try:
            got = _payload_sha256(tmp)
        except DatasetError as exc:
            problem = str(exc).split(": ", 1)[-1]
            raise DatasetError(f"{url}: {problem}; rejected", url) from None
        want = MNIST_SHA256[name]
        if got != want:
            raise DatasetError(f"{url}: SHA-256 of the payload is {got}, expected {want}: "
                               "the file is corrupted or not the MNIST file; rejected", url)
        final = dest_dir / (name + ".gz" if gz else name)
        os.chmod(tmp, 0o644)  # mkstemp made it private
        os.replace(tmp, final)
        tmp = None
        return final
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def _download(dest_dir: Path, names: Iterable[str], mirrors: Iterable[str],
              timeout: float) -> None:
    dest_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        errors = []
        for base in mirrors:
            url = urllib.parse.urljoin(base, name + ".gz")
            log.info("downloading %s", url)
            try:
                path = _fetch(url, dest_dir, name, timeout)
            except (OSError, http.client.HTTPException, DatasetError, ValueError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    reason = f"HTTP {exc.code} {exc.reason}"
                else:
                    reason = str(getattr(exc, "reason", None) or exc)
                    reason = reason.removeprefix(url + ": ")
                errors.append(f"{url}: {reason}")
                log.info("failed: %s: %s", url, reason)
                continue
            log.info("saved %s", path)
            break
        else:
            raise DatasetError(
                f"could not download {name}.gz from any mirror:\n  " + "\n  ".join(errors)
                + f"\nPut the file in {dest_dir} yourself, or set {MIRROR_ENV} / pass "
                "mirrors= to use another mirror.", dest_dir)


def _missing_message(missing: dict[Path, list[str]], download_dir: Path) -> str:
    lines = ["MNIST files not found. Looked in:"]
    for d, names in missing.items():
        lines.append(f"  {d}: missing {', '.join(n + '[.gz]' for n in names)}")
    lines.append(f"Put the four files {', '.join(n + '.gz' for n in MNIST_FILES)} "
                 f"(gzip-compressed or not) in {download_dir}"
                 + (f" (or in ${DATA_ENV}/mnist, here {next(iter(missing))})"
                    if len(missing) > 1 else "")
                 + f", or call load_mnist(download=True) to fetch them into {download_dir}.")
    return "\n".join(lines)


def _check(arr: NDArray[Any], path: Path, ndim: int, shape_tail: tuple[int, ...],
           n: int | None) -> None:
    if arr.dtype != np.uint8 or arr.ndim != ndim or arr.shape[1:] != shape_tail \
            or (n is not None and arr.shape[0] != n):
        want = ", ".join(str(s) for s in ((n if n is not None else "n"),) + shape_tail)
        raise DatasetError(f"{path}: expected uint8 data of shape ({want}), got "
                           f"{arr.dtype} {arr.shape}: not an MNIST file", path)


def load_mnist(data_dir: str | os.PathLike[str] | None = None, download: bool = False, *,
               verify: bool = True, mirrors: str | Iterable[str] | None = None,
               timeout: float = _TIMEOUT
               ) -> tuple[tuple[NDArray[np.float32], NDArray[np.int64]],
                          tuple[NDArray[np.float32], NDArray[np.int64]]]:
    """Load MNIST: ``(X_train, y_train), (X_test, y_test)``.

    X is float32 of shape (n, 784) with pixels scaled to [0, 1]; y is int64 (0..9);
    n is 60,000 for training and 10,000 for testing.

    ``data_dir``: the directory holding the four IDX files (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
    each with or without ``.gz``); by default ``$FASTNN_DATA/mnist``, ``$FASTNN_DATA``,
    then the per-user cache (:func:`mnist_cache_dir`). ``download=True`` fetches missing
    files into ``data_dir`` or the cache from ``mirrors`` (base URLs; default
    ``$FASTNN_MNIST_MIRROR`` or ``DEFAULT_MIRRORS``), ``timeout`` seconds per request.
    ``verify``: check each decompressed payload's SHA-256 against the published value.

    Raises DatasetError when the files are missing (saying where to put them), damaged,
    or do not match their hashes.
    """
    dirs = _search_dirs(data_dir)
    where, found = _locate(dirs)
    if where is None:
        target = dirs[0] if data_dir is not None else mnist_cache_dir()
        if not download:
            raise DatasetError(_missing_message(found, target), target)
        mirror_list = _mirror_list(mirrors)
        present = {name: _find_file(target, name) for name in MNIST_FILES} \
            if target.is_dir() else dict.fromkeys(MNIST_FILES)
        _download(target, [n for n, p in present.items() if p is None], mirror_list, timeout)
        where, found = _locate([target])
        if where is None:  # pragma: no cover - _download raises first
            raise DatasetError(_missing_message(found, target), target)

    arrays = {}
    for name in MNIST_FILES:
        path = found[name]
        h = hashlib.sha256() if verify else None
        arr = _read_idx(path, h)
        if h is not None and h.hexdigest() != MNIST_SHA256[name]:
            raise DatasetError(
                f"{path}: SHA-256 of the decompressed payload is {h.hexdigest()}, expected "
                f"{MNIST_SHA256[name]}: the file is corrupted or not the original MNIST "
                "file (delete it and fetch it again, e.g. load_mnist(download=True))", path)
        n = _N[name.split("-")[0]]
        if name.endswith("images-idx3-ubyte"):
            _check(arr, path, 3, (28, 28), None if not verify else n)
        else:
            _check(arr, path, 1, (), None if not verify else n)
            if arr.size and arr.max() > 9:
                raise DatasetError(f"{path}: label {int(arr.max())} outside 0..9", path)
        arrays[name] = arr

    out = []
    for split in ("train", "t10k"):
        images = arrays[f"{split}-images-idx3-ubyte"]
        labels = arrays[f"{split}-labels-idx1-ubyte"]
        if images.shape[0] != labels.shape[0]:
            raise DatasetError(f"{found[f'{split}-images-idx3-ubyte']} holds "
                               f"{images.shape[0]} images but "
                               f"{found[f'{split}-labels-idx1-ubyte']} holds "
                               f"{labels.shape[0]} labels", where)
        X = images.reshape(images.shape[0], -1).astype(np.float32)
        X /= np.float32(255.0)
        out.append((X, labels.astype(np.int64)))
    return out[0], out[1]
