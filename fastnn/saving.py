"""Save and load Sequential models: one file, no pickle.

The file is a zip archive written with ``numpy.savez``: every array (layer parameters,
optimizer state) as a ``.npy`` member, plus a JSON header stored as a uint8 array under
``"__fastnn__"``. The header holds the magic ``"fastnn-model"``, the format version,
fastnn's version, dtype, seed, the layer configs (backend-independent; Dropout's seed and
offset included), the names and shapes of the parameters and buffers (BatchNorm's
running statistics), the loss, the optimizer (class, config, iterations, state keys)
and the model's RNG state, so that a resumed ``fit`` continues exactly where the saved
one stopped. An optional ``metadata`` object (short string keys, JSON scalar values;
``fastnn train`` records the dataset and seed there) is kept under ``"metadata"``; files
without it load as before.

``load`` reads with ``allow_pickle=False`` always and checks everything: a SHA-256 of the
whole file first (kept in the zip archive's comment, so any changed byte is caught, zip
metadata included; nothing is parsed before it passes), that every member is stored
uncompressed (so reading them costs no more than the file's size), the zip's CRCs, the
magic and version, every array named in the header (present, right shape and dtype) and
that nothing else is in the file. Any problem raises
:class:`fastnn.errors.ModelFileError` naming it. Writes are atomic: a temporary file in
the same directory, fsync, ``os.replace``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import numpy as np
from numpy.typing import NDArray

from . import metrics as _metrics
from ._model_state import array_name
from ._version import __version__
from .errors import ModelFileError
from .layers import BACKENDS, layer_from_config
from .layers_custom import check_saveable
from .losses import LOSSES, get_loss
from .model import Sequential
from .optimizers import optimizer_from_config

if TYPE_CHECKING:
    from numpy.lib.npyio import NpzFile

__all__ = ["save_model", "load", "load_with_metadata", "MAGIC", "FORMAT_VERSION", "HEADER_KEY"]

MAGIC = "fastnn-model"
FORMAT_VERSION = 1
HEADER_KEY = "__fastnn__"
# The zip archive's comment: this prefix and the hex SHA-256 of every byte before the digest.
SEAL_PREFIX = b"fastnn-sha256:"
_SEAL_LEN = len(SEAL_PREFIX) + 64
_EOCD_LEN = 22  # end-of-central-directory record without a comment
# Limits on the layer tree a header may describe, far above any real model
MAX_LAYERS = 100_000
MAX_DEPTH = 64
# Limits on the metadata object: a few short annotations, not a data store
MAX_METADATA_ITEMS = 64
MAX_METADATA_CHARS = 1024

_T = TypeVar("_T")


def _sha256(f: BinaryIO, n: int) -> bytes:
    """Hex SHA-256 of the first n bytes of the open file f."""
    h = hashlib.sha256()
    f.seek(0)
    left = n
    while left:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            break
        h.update(chunk)
        left -= len(chunk)
    return h.hexdigest().encode()


def _seal(f: BinaryIO) -> None:
    """Append the checksum comment to the zip archive in the open file f (read/write)."""
    size = f.seek(0, os.SEEK_END)
    f.seek(size - _EOCD_LEN)
    eocd = f.read(_EOCD_LEN)
    if len(eocd) != _EOCD_LEN or eocd[:4] != b"PK\x05\x06" or eocd[20:] != b"\0\0":
        raise RuntimeError("numpy.savez wrote an unexpected zip layout; cannot seal it")
    f.seek(size - 2)
    f.write(struct.pack("<H", _SEAL_LEN) + SEAL_PREFIX)
    f.flush()
    digest = _sha256(f, size + len(SEAL_PREFIX))
    f.seek(0, os.SEEK_END)
    f.write(digest)
    f.flush()


# ============================================================================ save


def _header_and_arrays(model: Sequential) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    for layer in model.all_layers():
        check_saveable(layer)  # registered, with a config that makes it again
    arrays: dict[str, NDArray[Any]] = {}
    params_meta = []
    index = {}
    for i, (layer, key, arr) in enumerate(model.params):
        name = f"param.{i}"
        arrays[name] = arr
        index[id(arr)] = i
        params_meta.append({"layer": layer.name, "key": key, "array": name,
                            "shape": list(arr.shape)})

    buffers_meta = []
    for i, (layer, key, arr) in enumerate(model.buffers):
        name = f"buffer.{i}"
        arrays[name] = arr
        buffers_meta.append({"layer": layer.name, "key": key, "array": name,
                             "shape": list(arr.shape)})

    opt_meta: dict[str, Any] | None = None
    opt = model.optimizer
    if opt is not None:
        opt_meta = {"config": opt.get_config(), "iterations": int(opt.iterations),
                    "state_keys": list(opt.state_keys()), "params": None, "state": None}
        if opt.state is not None:
            aligned = getattr(model, "_train_params", None)
            if (aligned is None or len(aligned) != len(opt.state)
                    or any(id(a) not in index for a in aligned)):
                raise ValueError(
                    "the optimizer's state does not belong to this model's parameters; "
                    "fit the model with it first, or set model.optimizer = None"
                )
            opt_meta["params"] = [index[id(a)] for a in aligned]
            state_meta = []
            for j, s in enumerate(opt.state):
                entry = {}
                for k, a in s.items():
                    name = f"opt.{j}.{k}"
                    arrays[name] = a
                    entry[k] = name
                state_meta.append(entry)
            opt_meta["state"] = state_meta

    assert model.input_shape is not None  # save_model checked that the model is built
    loss = model.loss
    header = {
        "magic": MAGIC,
        "format_version": FORMAT_VERSION,
        "fastnn_version": __version__,
        "dtype": str(model.dtype),
        "seed": model.seed,
        "backend": model.backend,
        "input_shape": list(model.input_shape),
        "layers": [layer.get_config() for layer in model.layers],
        "params": params_meta,
        "buffers": buffers_meta,
        "loss": loss.name if loss is not None and loss.name in LOSSES else None,
        "metrics": list(model.metrics),
        "optimizer": opt_meta,
        "rng_state": model.rng.bit_generator.state,
    }
    return header, arrays


def _check_metadata(metadata: object) -> str | None:
    """Why ``metadata`` cannot be stored (None when it can): a dict of at most
    MAX_METADATA_ITEMS str keys to str, int, float (finite), bool or None values, each
    string at most MAX_METADATA_CHARS long."""
    if not isinstance(metadata, dict):
        return f"metadata must be a dict, got {type(metadata).__name__}"
    if len(metadata) > MAX_METADATA_ITEMS:
        return f"metadata has {len(metadata)} items, at most {MAX_METADATA_ITEMS} are kept"
    for k, v in metadata.items():
        if not isinstance(k, str) or len(k) > MAX_METADATA_CHARS:
            return f"metadata keys must be strings of at most {MAX_METADATA_CHARS} characters"
        if isinstance(v, str):
            if len(v) > MAX_METADATA_CHARS:
                return f"metadata[{k!r}] is longer than {MAX_METADATA_CHARS} characters"
        elif isinstance(v, float):
            if not np.isfinite(v):
                return f"metadata[{k!r}] is not finite"
        elif v is not None and not isinstance(v, (int, bool)):
            return (f"metadata[{k!r}] must be a str, int, float, bool or None, got "
                    f"{type(v).__name__}")
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_model(model: Sequential, path: str | os.PathLike[str], *,
               metadata: dict[str, str | int | float | bool | None] | None = None) -> None:
    """Write ``model`` to ``path`` (one .npz-format file; the name is used as given).
    ``metadata``: a small dict of annotations (str keys; str, int, float, bool or None
    values) stored in the header; :func:`load_with_metadata` returns it."""
    if not isinstance(model, Sequential):
        raise TypeError(f"save_model takes a Sequential, got {type(model).__name__}")
    if not model.built:
        raise ValueError("the model is not built yet, so it has no weights to save: fit it, "
                         "predict once, or call model.build(input_shape)")
    path = os.fspath(path)
    if metadata is not None:
        problem = _check_metadata(metadata)
        if problem:
            raise ValueError(problem)
    header, arrays = _header_and_arrays(model)
    if metadata:
        header["metadata"] = dict(metadata)
    blob = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    members = {HEADER_KEY: np.frombuffer(blob, dtype=np.uint8)}
    members.update(arrays)

    def fill(f: BinaryIO) -> None:
        np.savez(f, **members)  # type: ignore[arg-type]  # no member is named allow_pickle
        _seal(f)

    write_atomic(path, fill)


def write_atomic(path: str, fill: Callable[[BinaryIO], object]) -> None:
    """Write a file whole or not at all: ``fill`` writes a temporary file beside ``path``
    (opened "w+b"), which then replaces ``path`` -- with the umask's permissions, durably."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "w+b") as f:
            fill(f)
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# ============================================================================ load


def _fail(path: str, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}", path=path)


def _sniff(path: str) -> None:
    """Reject what is plainly not a fastnn file before opening it as a zip archive."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise _fail(path, "the file is empty (0 bytes), not a fastnn model file")
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        raise _fail(path, "not a fastnn model file: it looks like a Python pickle, which "
                          "fastnn never loads (unpickling can run arbitrary code)")
    if head.startswith(b"\x93NUMPY"):
        raise _fail(path, "not a fastnn model file: it is a single .npy array")
    if head.startswith(b"PK\x05\x06"):
        raise _fail(path, "not a fastnn model file: it is an empty zip archive")
    if not head.startswith(b"PK\x03\x04"):
        raise _fail(path, "not a fastnn model file: it is not a zip archive (fastnn model "
                          "files are written by model.save)")


def _check_zip(path: str) -> list[str]:
    """The archive's member names, after checking every member's CRC."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [info.filename for info in infos]
            # fastnn writes every member stored (np.savez): a compressed one could inflate
            # to far more than the file holds, so it is refused before anything is read
            # (and then reading the members costs no more than the file's size)
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED or \
                        info.file_size != info.compress_size:
                    raise _fail(path, f"not a fastnn model file: member {info.filename!r} is "
                                      "compressed (fastnn stores its arrays uncompressed)")
            bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError) as e:  # RuntimeError: "encrypted" flag
        raise _fail(path, f"the file is truncated or corrupted (its zip archive cannot be "
                          f"read: {e})") from None
    if bad is not None:
        raise _fail(path, f"the file is corrupted: member {bad!r} fails its CRC check")
    keys = []
    for name in names:
        if not name.endswith(".npy") or "/" in name:
            raise _fail(path, f"not a fastnn model file: unexpected member {name!r}")
        keys.append(name[:-4])
    if len(set(keys)) != len(keys):
        raise _fail(path, "the file is corrupted: duplicate members")
    return keys


def _verify_seal(path: str) -> None:
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        if size < _SEAL_LEN + _EOCD_LEN:
            raise _fail(path, "the file is truncated (too short for a fastnn model file)")
        f.seek(size - _SEAL_LEN - 2)
        tail = f.read(_SEAL_LEN + 2)
        if tail[:2] != struct.pack("<H", _SEAL_LEN) or not tail[2:].startswith(SEAL_PREFIX):
            raise _fail(path, "the file's checksum is missing: it was not written by "
                              "fastnn's save, or it was truncated or altered")
        if _sha256(f, size - 64) != tail[2 + len(SEAL_PREFIX):]:
            raise _fail(path, "the file is corrupted: its SHA-256 checksum does not match")


def _read_array(npz: NpzFile[Any], key: str, path: str) -> NDArray[Any]:
    try:
        return npz[key]
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise _fail(path, f"array {key!r} holds pickled Python objects, which fastnn "
                              "never loads") from None
        raise _fail(path, f"array {key!r} is corrupted ({e})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise _fail(path, f"array {key!r} cannot be read: the file is truncated or "
                          f"corrupted ({e})") from None


def _read_header(npz: NpzFile[Any], path: str) -> dict[str, Any]:
    raw = _read_array(npz, HEADER_KEY, path)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _fail(path, f"the {HEADER_KEY!r} header must be a 1-D uint8 array, got "
                          f"{raw.dtype} of shape {raw.shape}")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _fail(path, f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise _fail(path, "the header is not a JSON object")
    if header.get("magic") != MAGIC:
        raise _fail(path, f"not a fastnn model file (header magic {header.get('magic')!r}, "
                          f"expected {MAGIC!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _fail(path, f"the header has an invalid format_version {version!r}")
    if version != FORMAT_VERSION:
        writer = header.get("fastnn_version")
        newer = (f" (written by a newer fastnn{' ' + str(writer) if writer else ''}; upgrade "
                 "fastnn to read it)") if version > FORMAT_VERSION else ""
        raise _fail(path, f"unsupported format version {version}{newer}: fastnn "
                          f"{__version__} reads format version {FORMAT_VERSION}")
    return header


def _field(header: dict[str, Any], key: str, types: type[_T] | tuple[type[_T], ...], path: str,
           what: str | None = None) -> _T:
    if key not in header:
        raise _fail(path, f"the header lacks {key!r}")
    value = header[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,))):
        raise _fail(path, f"the header's {key!r} is invalid: {value!r:.200}"
                          f"{' (' + what + ')' if what else ''}")
    return value


def _int_list(value: object, path: str, what: str, lo: int = 0) -> list[int]:
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= lo for v in value):
        raise _fail(path, f"the header's {what} is invalid: {value!r:.200}")
    return value


def load(path: str | os.PathLike[str], *, backend: str | ModuleType | None = None) -> Sequential:
    """Load a model written by ``model.save`` / ``save_model``. ``backend`` overrides the
    saved one ("native" or "reference"). Raises ModelFileError for anything that is not a
    valid fastnn model file; never unpickles."""
    return load_with_metadata(path, backend=backend)[0]


def load_with_metadata(path: str | os.PathLike[str], *,
                       backend: str | ModuleType | None = None
                       ) -> tuple[Sequential, dict[str, Any]]:
    """``load``, and the metadata dict saved with the model (empty when there is none)."""
    path = os.fspath(path)
    _sniff(path)
    keys = _check_zip(path)
    if HEADER_KEY not in keys:
        shown = ", ".join(repr(k) for k in keys[:8]) + (", ..." if len(keys) > 8 else "")
        raise _fail(path, f"not a fastnn model file: a .npz archive without the {HEADER_KEY!r} "
                          f"header (it holds {shown or 'no arrays'})")
    _verify_seal(path)  # one streamed pass: nothing is parsed from a file that fails it
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise _fail(path, f"the file cannot be read ({e})") from None
    with npz:
        try:
            header = _read_header(npz, path)
            metadata = header.get("metadata", {})
            problem = _check_metadata(metadata)
            if problem:
                raise _fail(path, f"the header's {problem}")
            return _build(header, npz, set(keys), path, backend), dict(metadata)
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError,
                MemoryError, OverflowError, UnicodeError) as e:
            raise _fail(path, f"the file is inconsistent: {type(e).__name__}: {e}") from None


def _check_structure(layer_cfgs: list[Any], path: str) -> None:
    """Bound the layer tree before any layer is made: at most MAX_LAYERS layers (Residual
    blocks' inner layers included), nested at most MAX_DEPTH deep."""
    count = 0
    stack = [(cfg, 1) for cfg in layer_cfgs]
    while stack:
        cfg, depth = stack.pop()
        count += 1
        if count > MAX_LAYERS:
            raise _fail(path, f"the header describes more than {MAX_LAYERS} layers")
        if depth > MAX_DEPTH:
            raise _fail(path, f"the header nests layers more than {MAX_DEPTH} deep")
        if isinstance(cfg, dict):
            inner = cfg.get("layers")
            if isinstance(inner, list):
                stack += [(c, depth + 1) for c in inner]
            if isinstance(cfg.get("projection"), dict):
                stack.append((cfg["projection"], depth + 1))


def _build(header: dict[str, Any], npz: NpzFile[Any], keys: set[str], path: str,
           backend: str | ModuleType | None) -> Sequential:
    dtype = _field(header, "dtype", str, path)
    if dtype not in ("float32", "float64"):
        raise _fail(path, f"the header's dtype {dtype!r} is not float32 or float64")
    seed = header.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise _fail(path, f"the header's seed is invalid: {seed!r}")
    saved_backend = header.get("backend", "native")
    if backend is None:
        backend = saved_backend if saved_backend in BACKENDS else "native"
    input_shape = _int_list(_field(header, "input_shape", list, path), path, "input_shape", 1)
    layer_cfgs = _field(header, "layers", list, path)
    params_meta = _field(header, "params", list, path)
    buffers_meta = header.get("buffers", [])  # absent in files without BatchNorm layers
    if not isinstance(buffers_meta, list):
        raise _fail(path, "the header's buffers entry is invalid")
    opt_meta = header.get("optimizer")
    loss_name = header.get("loss")
    rng_state = _field(header, "rng_state", dict, path)

    # every array the header names, present with the right dtype and shape; nothing else
    expected: dict[str, tuple[int, ...]] = {}
    for what, metas in (("params", params_meta), ("buffers", buffers_meta)):
        for i, m in enumerate(metas):
            if not isinstance(m, dict) or not isinstance(m.get("array"), str) \
                    or not isinstance(m.get("layer"), str) or not isinstance(m.get("key"), str) \
                    or m["array"] in expected:
                raise _fail(path, f"the header's {what}[{i}] is invalid: {m!r:.200}")
            expected[m["array"]] = tuple(_int_list(m.get("shape"), path, f"{what}[{i}].shape"))
    if opt_meta is not None:
        if not isinstance(opt_meta, dict):
            raise _fail(path, "the header's optimizer entry is invalid")
        state_meta = opt_meta.get("state")
        if state_meta is not None:
            opt_params = _int_list(opt_meta.get("params"), path, "optimizer.params")
            if not isinstance(state_meta, list) or len(state_meta) != len(opt_params):
                raise _fail(path, "the header's optimizer state does not match its params")
            for j, (entry, pi) in enumerate(zip(state_meta, opt_params)):
                if pi >= len(params_meta) or not isinstance(entry, dict):
                    raise _fail(path, f"the header's optimizer.state[{j}] is invalid")
                for k, name in entry.items():
                    if not isinstance(name, str):
                        raise _fail(path, f"the header's optimizer.state[{j}][{k!r}] is invalid")
                    expected[name] = tuple(params_meta[pi]["shape"])
    if HEADER_KEY in expected:
        raise _fail(path, "the header names itself as an array")
    missing = sorted(set(expected) - keys)
    if missing:
        raise _fail(path, f"array(s) named in the header are missing: {', '.join(missing[:8])}"
                          " (the file is truncated or was altered)")
    extra = sorted(keys - set(expected) - {HEADER_KEY})
    if extra:
        raise _fail(path, f"unexpected array(s) not named in the header: "
                          f"{', '.join(extra[:8])}")
    arrays: dict[str, NDArray[Any]] = {}
    for name, shape in expected.items():
        a = _read_array(npz, name, path)
        if a.dtype != np.dtype(dtype):
            raise _fail(path, f"array {name!r} has dtype {a.dtype}, the header says {dtype}")
        if a.shape != shape:
            raise _fail(path, f"array {name!r} has shape {a.shape}, the header says {shape}")
        arrays[name] = a

    # the model: its layers must allocate exactly the arrays the file holds, which is
    # checked before they allocate anything (so a header cannot ask for more memory than
    # the file's arrays hold)
    _check_structure(layer_cfgs, path)
    try:
        layers = [layer_from_config(cfg) for cfg in layer_cfgs]
    except (TypeError, ValueError) as e:
        raise _fail(path, f"invalid layer config: {e}") from None
    try:
        model = Sequential(layers, seed=seed, dtype=dtype, backend=backend)
        planned = model._array_shapes(tuple(input_shape))
    except (TypeError, ValueError) as e:
        raise _fail(path, f"the layers in the header do not form a valid model: {e}") from None
    for what, shapes, metas in (("parameters", planned[0], params_meta),
                                ("buffers", planned[1], buffers_meta)):
        if len(shapes) != len(metas):
            raise _fail(path, f"the header lists {len(metas)} {what}, but its layers have "
                              f"{len(shapes)}")
        for (name, key, shape), m in zip(shapes, metas):
            if (name, key, shape) != (m["layer"], m["key"], expected[m["array"]]):
                raise _fail(path, f"{what[:-1]} {array_name(m['layer'], m['key'])} "
                                  f"{expected[m['array']]} does not match the layers "
                                  f"({array_name(name, key)} {shape})")
    try:
        model.build(tuple(input_shape))
    except (TypeError, ValueError) as e:
        raise _fail(path, f"the layers in the header do not form a valid model: {e}") from None
    mparams = model.params
    for (_, _, arr), m in zip(mparams, params_meta):
        arr[...] = arrays[m["array"]]
    for (_, _, arr), m in zip(model.buffers, buffers_meta):
        arr[...] = arrays[m["array"]]

    if loss_name is not None:
        if loss_name not in LOSSES:
            raise _fail(path, f"unknown loss {loss_name!r}")
        model.loss = get_loss(loss_name)
        model.loss._ops = model._ops
    metrics = header.get("metrics", ["accuracy"])
    if not isinstance(metrics, list) or not all(
            _metrics._canonical(m) == m for m in metrics):
        raise _fail(path, f"the header's metrics are invalid: {metrics!r:.200}")
    model.metrics = tuple(metrics)

    if opt_meta is not None:
        try:
            opt = optimizer_from_config(opt_meta.get("config"))
        except (TypeError, ValueError) as e:
            raise _fail(path, f"invalid optimizer config: {e}") from None
        iterations = opt_meta.get("iterations")
        if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
            raise _fail(path, f"invalid optimizer iterations {iterations!r}")
        opt.iterations = iterations
        if opt_meta.get("state") is not None:
            keys_want = set(opt.state_keys())
            state = []
            for j, entry in enumerate(opt_meta["state"]):
                if set(entry) != keys_want:
                    raise _fail(path, f"optimizer.state[{j}] has keys {sorted(entry)}, "
                                      f"{type(opt).__name__} keeps {sorted(keys_want)}")
                state.append({k: np.ascontiguousarray(arrays[entry[k]]) for k in
                              opt.state_keys()})
            opt.state = state
            model._train_params = [mparams[i][2] for i in opt_meta["params"]]
            model._train_grads = [mparams[i][0].grads[mparams[i][1]]
                                  for i in opt_meta["params"]]
        opt._ops = model._ops
        model.optimizer = opt

    bitgen = model.rng.bit_generator
    if rng_state.get("bit_generator") != type(bitgen).__name__:
        raise _fail(path, f"the RNG state is for {rng_state.get('bit_generator')!r}, not "
                          f"{type(bitgen).__name__}")
    try:
        bitgen.state = rng_state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise _fail(path, f"invalid RNG state: {e}") from None
    return model
