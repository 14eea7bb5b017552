"""The UCI ML hand-written digits, shipped inside the package (no network needed).

1,797 images of 8x8 pixels, each pixel a count 0..16, in 10 classes. The file
``data/digits.csv.gz`` is scikit-learn's copy of the test set of "Optical Recognition of
Handwritten Digits" (E. Alpaydin, C. Kaynak, UCI Machine Learning Repository, 1998;
CC BY 4.0): one row per image, 64 pixel values then the label. See ``data/README.md``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from ._errors import DatasetError

__all__ = ["load_digits", "DIGITS_FILE", "DIGITS_SHA256"]

DIGITS_FILE = "digits.csv.gz"
# SHA-256 of the decompressed CSV (as shipped by scikit-learn)
DIGITS_SHA256 = "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8"
N_DIGITS = 1797


@functools.lru_cache(maxsize=1)
def _raw() -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    res = resources.files(__package__).joinpath("data").joinpath(DIGITS_FILE)
    name = f"fastnn/datasets/data/{DIGITS_FILE}"
    try:
        blob = res.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{name} is missing from the installed package: reinstall "
                           "fastnn", name) from None
    try:
        text = gzip.decompress(blob)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{name}: damaged gzip stream ({exc}): reinstall fastnn",
                           name) from None
    if hashlib.sha256(text).hexdigest() != DIGITS_SHA256:
        raise DatasetError(f"{name}: SHA-256 mismatch, the file is damaged: reinstall "
                           "fastnn", name)
    table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.uint8, ndmin=2)
    if table.shape != (N_DIGITS, 65):
        raise DatasetError(f"{name}: expected {N_DIGITS} rows of 65 values, got shape "
                           f"{table.shape}", name)
    images, labels = table[:, :64].copy(), table[:, 64].copy()
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_digits() -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """The embedded 8x8 hand-written digits: ``(X, y)`` with X float32 of shape
    (1797, 64) (pixels 0..16 scaled to [0, 1], row-major 8x8: ``X.reshape(-1, 8, 8)``
    gives the images) and y int64 of shape (1797,), labels 0..9.

    Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten
    Digits" (E. Alpaydin, C. Kaynak, 1998), CC BY 4.0, as distributed with
    scikit-learn. Each call returns new arrays.
    """
    images, labels = _raw()
    X = images.astype(np.float32)
    X /= np.float32(16.0)
    return X, labels.astype(np.int64)
