"""Reading IDX files (the format of MNIST), gzip-compressed or raw.

An IDX file is a header and a payload:

    bytes 0-1   0x00 0x00
    byte  2     the type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64 (multi-byte values are big-endian)
    byte  3     the number of dimensions, d
    then        d sizes, each a big-endian uint32
    then        prod(sizes) values, row-major, and nothing more

``load_idx`` checks every part of that and returns a numpy array in native byte order.
It never trusts the header with memory: a raw file's size is compared with the header's
promise before anything is read, and a gzip stream is decompressed in chunks (after
checking that the compressed size could hold the promised data at all), so a header
claiming 10^12 elements costs nothing.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ._errors import DatasetError

if TYPE_CHECKING:
    import hashlib
    import io

__all__ = ["load_idx", "IDX_DTYPES"]

# type code -> (dtype as stored, name)
IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
# DEFLATE cannot compress better than about 1032:1, so a gzip file of c bytes decompresses
# to at most ~1032 * c bytes: a header promising more is lying (or the file is truncated).
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20


def _codes() -> str:
    return ", ".join(f"0x{code:02X} {dt.name}" for code, dt in IDX_DTYPES.items())


def _fmt_dims(dims: Iterable[int]) -> str:
    return " x ".join(str(d) for d in dims)


def load_idx(path: str | os.PathLike[str]) -> NDArray[Any]:
    """Read the IDX file at ``path`` (gzip-compressed or raw, told apart by the first
    bytes, not by the name) and return its contents as a numpy array of the stored type
    (uint8, int8, int16, int32, float32 or float64) in native byte order, with the
    stored dimensions as its shape.

    Raises :class:`DatasetError` (a ValueError) naming the file and the problem when it
    is not an IDX file, has an unknown type code, is truncated, has bytes beyond what
    its header promises, or is a damaged gzip stream (bad data or CRC). A missing file
    raises FileNotFoundError.
    """
    return _read_idx(path)


def _read_idx(path: str | os.PathLike[str],
              hasher: hashlib._Hash | None = None) -> NDArray[Any]:
    """``load_idx``; ``hasher`` (a hashlib object), when given, is fed every decompressed
    byte of the file, header included."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        if file_size == 0:
            raise DatasetError(f"{path}: the file is empty (expected an IDX file)", path)
        start = f.read(2)
        f.seek(0)
        if start == _GZIP_MAGIC:
            try:
                with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                    return _parse(stream, path, hasher, file_size, compressed=True)
            except (OSError, EOFError, zlib.error) as exc:
                raise DatasetError(f"{path}: damaged gzip stream ({exc})", path) from None
        return _parse(f, path, hasher, file_size, compressed=False)


def _read_upto(stream: io.BufferedIOBase, n: int, hasher: hashlib._Hash | None) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream)."""
    parts = []
    got = 0
    while got < n:
        chunk = stream.read(min(n - got, _CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    data = b"".join(parts)
    if hasher is not None:
        hasher.update(data)
    return data


def _parse(stream: io.BufferedIOBase, path: str, hasher: hashlib._Hash | None, file_size: int,
           compressed: bool) -> NDArray[Any]:
    what = "decompressed data" if compressed else "file"
    magic = _read_upto(stream, 4, hasher)
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        if len(magic) >= 2 and magic[:2] != b"\x00\x00":
            raise DatasetError(
                f"{path}: not an IDX file: it starts with bytes {magic[:4].hex(' ')} "
                "(an IDX file starts with 00 00, a type code and the number of dimensions)",
                path)
        raise DatasetError(f"{path}: truncated: the {what} ends inside the 4-byte IDX "
                           f"magic number ({len(magic)} bytes)", path)
    code, ndim = magic[2], magic[3]
    stored = IDX_DTYPES.get(code)
    if stored is None:
        raise DatasetError(f"{path}: unknown IDX type code 0x{code:02X} in the magic number "
                           f"{magic.hex(' ')} (valid codes: {_codes()})", path)
    if ndim == 0:
        raise DatasetError(f"{path}: the IDX header declares 0 dimensions", path)
    raw_dims = _read_upto(stream, 4 * ndim, hasher)
    if len(raw_dims) < 4 * ndim:
        raise DatasetError(f"{path}: truncated: the {what} ends inside the header ({ndim} "
                           f"dimensions need {4 * ndim} bytes of sizes, found "
                           f"{len(raw_dims)})", path)
    dims = struct.unpack(f">{ndim}I", raw_dims)
    header = 4 + 4 * ndim
    count = 1
    for d in dims:
        count *= d
    nbytes = count * stored.itemsize
    promise = (f"the header promises {_fmt_dims(dims)} {stored.name} values "
               f"({nbytes} bytes of data)")

    if not compressed:
        have = file_size - header
        if have < nbytes:
            raise DatasetError(f"{path}: truncated: {promise}, but the file holds only "
                               f"{have} bytes after the header", path)
        if have > nbytes:
            raise DatasetError(f"{path}: {have - nbytes} unexpected extra bytes after the "
                               f"data: {promise} and the file holds {have}", path)
        buf = bytearray(nbytes)
        view = memoryview(buf)
        got = 0
        while got < nbytes:
            k = stream.readinto(view[got:got + _CHUNK])
            if not k:
                raise DatasetError(f"{path}: truncated while reading: {promise}, read "
                                   f"{got}", path)
            got += k
        if hasher is not None:
            hasher.update(buf)
    else:
        limit = _MAX_DEFLATE_RATIO * file_size
        if header + nbytes > limit:
            raise DatasetError(f"{path}: truncated or corrupted: {promise}, but a "
                               f"{file_size}-byte gzip file cannot hold that much", path)
        # grown chunk by chunk: memory follows what really decompresses, not the header
        buf = bytearray()
        while len(buf) < nbytes:
            chunk = stream.read(min(nbytes - len(buf), _CHUNK))
            if not chunk:
                raise DatasetError(f"{path}: truncated: {promise}, but the decompressed "
                                   f"data ends after {len(buf)} bytes", path)
            buf += chunk
            if hasher is not None:
                hasher.update(chunk)
        # reading on to the end also checks the gzip CRC and length
        if stream.read(1):
            raise DatasetError(f"{path}: unexpected extra bytes after the data: {promise} "
                               "and the decompressed data holds more", path)

    arr = np.frombuffer(buf, dtype=stored, count=count).reshape(dims)
    if stored.itemsize > 1:
        arr = arr.astype(stored.newbyteorder("="))
    return arr
