"""fastnn.datasets: IDX reading, MNIST (local files, hashes, download from a local
server), the embedded digits, and the helpers.

The MNIST tests read the directory from FASTNN_MNIST_DIR and skip when it is unset. The
download tests talk only to an HTTP server on 127.0.0.1 started here (and to a closed
port on 127.0.0.1); the default public mirrors are blanked out for the whole module.
"""

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastnn import datasets
from fastnn.datasets import (
    DatasetError,
    load_digits,
    load_idx,
    load_mnist,
    one_hot,
    standardize,
    train_test_split,
)
from fastnn.datasets import _mnist

MNIST_FILES = _mnist.MNIST_FILES
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]

# ------------------------------------------------------------------ an IDX writer

CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
         np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(arr, code=None, dims=None):
    """The IDX encoding of ``arr`` (header from ``code``/``dims`` when given)."""
    arr = np.asarray(arr)
    code = CODES[arr.dtype] if code is None else code
    dims = arr.shape if dims is None else dims
    header = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz=False):
    path = Path(path)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


# ------------------------------------------------------------------ load_idx round trips

SAMPLES = {
    np.uint8: lambda rng, s: rng.integers(0, 256, s).astype(np.uint8),
    np.int8: lambda rng, s: rng.integers(-128, 128, s).astype(np.int8),
    np.int16: lambda rng, s: rng.integers(-2**15, 2**15, s).astype(np.int16),
    np.int32: lambda rng, s: rng.integers(-2**31, 2**31, s, dtype=np.int64).astype(np.int32),
    np.float32: lambda rng, s: (rng.standard_normal(s) * 1e3).astype(np.float32),
    np.float64: lambda rng, s: rng.standard_normal(s) * 1e3,
}


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("dtype", list(SAMPLES), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 1, 3, 2), (0, 4)])
def test_idx_round_trip(tmp_path, rng, dtype, gz, shape):
    arr = SAMPLES[dtype](rng, shape)
    path = write(tmp_path / "a.idx", idx_bytes(arr), gz)
    got = load_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    assert got.shape == shape
    np.testing.assert_array_equal(got, arr)
    assert load_idx(str(path)).shape == shape  # str paths too


def test_idx_extremes_and_specials(tmp_path):
    arr = np.array([0, 1, -1, 2**31 - 1, -2**31], np.int32)
    np.testing.assert_array_equal(load_idx(write(tmp_path / "i", idx_bytes(arr))), arr)
    f = np.array([np.inf, -np.inf, -0.0, 1e-45, 3.4e38], np.float32)
    np.testing.assert_array_equal(load_idx(write(tmp_path / "f", idx_bytes(f))), f)


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    # compressed file without .gz, raw file with .gz
    np.testing.assert_array_equal(load_idx(write(tmp_path / "x.idx", idx_bytes(arr), True)), arr)
    np.testing.assert_array_equal(load_idx(write(tmp_path / "y.gz", idx_bytes(arr))), arr)


def test_idx_result_is_writable(tmp_path):
    arr = np.arange(6, dtype=np.uint8)
    got = load_idx(write(tmp_path / "a", idx_bytes(arr), True))
    got[0] = 9  # a normal array, not a read-only view of a buffer
    assert got[0] == 9


# ------------------------------------------------------------------ load_idx errors

def expect_error(path, *words):
    with pytest.raises(DatasetError) as info:
        load_idx(path)
    msg = str(info.value)
    assert str(path) in msg
    for w in words:
        assert w in msg.lower(), msg
    assert info.value.path == str(path)
    assert isinstance(info.value, ValueError)
    return msg


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_idx_truncated_payload(tmp_path, gz):
    data = idx_bytes(np.arange(100, dtype=np.int16).reshape(10, 10))
    expect_error(write(tmp_path / "t", data[:-1], gz), "truncated", "10 x 10")
    expect_error(write(tmp_path / "t", data[:60], gz), "truncated")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_idx_truncated_header(tmp_path, gz):
    data = idx_bytes(np.zeros((2, 3), np.uint8))
    for cut in (1, 3, 5, 11):
        expect_error(write(tmp_path / "h", data[:cut], gz), "truncated")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_idx_extra_bytes(tmp_path, gz):
    data = idx_bytes(np.zeros((2, 3), np.float32))
    expect_error(write(tmp_path / "e", data + b"\0", gz), "extra")
    expect_error(write(tmp_path / "e", data + b"more data" * 50, gz), "extra")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_idx_bad_magic(tmp_path, gz):
    good = idx_bytes(np.zeros(4, np.uint8))
    expect_error(write(tmp_path / "m", b"\x01" + good[1:], gz), "not an idx file")
    expect_error(write(tmp_path / "m", b"PK\x03\x04" + good[4:], gz), "not an idx file")
    msg = expect_error(write(tmp_path / "m", good[:2] + b"\x0a" + good[3:], gz),
                       "type code 0x0a")
    assert "0x0D float32" in msg  # lists the valid codes
    expect_error(write(tmp_path / "m", good[:3] + b"\x00", gz), "0 dimensions")


def test_idx_empty_and_text_files(tmp_path):
    expect_error(write(tmp_path / "empty", b""), "empty")
    expect_error(write(tmp_path / "text", b"hello, world\n"), "not an idx file")


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope")


def test_idx_bad_gzip(tmp_path):
    data = idx_bytes(np.arange(1000, dtype=np.int32))
    gz = bytearray(gzip.compress(data, mtime=0))
    # CRC (4 bytes before the last 4) flipped
    bad_crc = bytearray(gz)
    bad_crc[-8] ^= 0xFF
    expect_error(write(tmp_path / "crc", bytes(bad_crc)), "gzip", "crc")
    # length field wrong
    bad_len = bytearray(gz)
    bad_len[-1] ^= 0x01
    expect_error(write(tmp_path / "len", bytes(bad_len)), "gzip")
    # compressed stream cut short (no trailer)
    expect_error(write(tmp_path / "cut", bytes(gz[:-10])), "gzip")
    expect_error(write(tmp_path / "cut2", bytes(gz[:12])))
    # garbage in the deflate data
    junk = bytearray(gz)
    junk[20:40] = b"\xff" * 20
    expect_error(write(tmp_path / "junk", bytes(junk)))
    # gzip header with a bad method byte
    meth = bytearray(gz)
    meth[2] = 7
    expect_error(write(tmp_path / "meth", bytes(meth)), "gzip")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_idx_huge_claimed_dims(tmp_path, gz):
    """A header claiming 10^12 (or 2^96) elements is refused without allocating."""
    tracemalloc.start()
    try:
        for dims, code in [((1000000, 1000000), 0x08), ((2**32 - 1,) * 3, 0x0E),
                           ((1000, 1000, 1000), 0x0C)]:
            data = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
            path = write(tmp_path / "huge", data + b"\x01" * 4096, gz)
            t0 = time.perf_counter()
            expect_error(path, "truncated")
            assert time.perf_counter() - t0 < 1.0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_idx_gzip_bomb_header_reads_only_what_decompresses(tmp_path):
    """A gzip file small enough to pass the size bound still never allocates the
    promised size: it is read chunk by chunk and found short."""
    dims = (64, 1024, 1024)  # 64 MiB promised; the stream holds 1 MiB of noise
    noise = np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    data = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", *dims) + noise
    path = write(tmp_path / "bomb", data, True)
    assert path.stat().st_size * 1032 > 64 << 20  # within the deflate bound
    tracemalloc.start()
    try:
        expect_error(path, "truncated")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


@given(data=st.data(), gz=st.booleans(),
       dtype=st.sampled_from(list(SAMPLES)),
       shape=st.lists(st.integers(0, 5), min_size=1, max_size=3).map(tuple))
def test_idx_damage_gives_dataset_error_or_array(tmp_path_factory, data, gz, dtype, shape):
    """Any truncation, extension or flipped byte of a valid file: either an array (the
    damage kept it a valid IDX file) or DatasetError, never another exception."""
    arr = SAMPLES[dtype](np.random.default_rng(len(shape)), shape)
    blob = bytearray(idx_bytes(arr))
    if gz:
        blob = bytearray(gzip.compress(bytes(blob), mtime=0))
    action = data.draw(st.sampled_from(["cut", "flip", "append"]))
    if action == "cut":
        blob = blob[:data.draw(st.integers(0, len(blob) - 1))]
    elif action == "flip":
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] ^= data.draw(st.integers(1, 255))
    else:
        blob += bytes(data.draw(st.binary(min_size=1, max_size=16)))
    path = tmp_path_factory.mktemp("fuzz") / "f"
    path.write_bytes(bytes(blob))
    try:
        got = load_idx(path)
    except DatasetError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(got, np.ndarray)


# ------------------------------------------------------------------ MNIST from the shared files

@pytest.fixture(scope="module")
def mnist_dir():
    d = os.environ.get("FASTNN_MNIST_DIR")
    if not d:
        pytest.skip("FASTNN_MNIST_DIR is not set (the directory of the MNIST IDX files)")
    return Path(d)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(mnist_dir)


def counts(y):
    return np.bincount(y, minlength=10).tolist()


def test_mnist_shapes_dtypes_counts(mnist):
    (X_train, y_train), (X_test, y_test) = mnist
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X_train.dtype == np.float32 and X_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for X in (X_train, X_test):
        assert X.flags.c_contiguous
        assert X.min() == 0.0 and X.max() == 1.0
    assert counts(y_train) == TRAIN_COUNTS
    assert counts(y_test) == TEST_COUNTS
    # pixel values are k / 255 exactly as float32
    k = np.round(X_test[:100] * 255)
    np.testing.assert_array_equal(X_test[:100], (k / np.float32(255)).astype(np.float32))


def test_mnist_matches_load_idx(mnist, mnist_dir):
    (_, y_train), (X_test, _) = mnist
    raw = load_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8
    np.testing.assert_array_equal(X_test, raw.reshape(10000, 784) / np.float32(255))
    np.testing.assert_array_equal(y_train, load_idx(mnist_dir / "train-labels-idx1-ubyte.gz"))


def test_mnist_hashes_match_shared_sums(mnist_dir):
    sums = (mnist_dir / "SHA256SUMS.uncompressed")
    if not sums.exists():
        pytest.skip("no SHA256SUMS.uncompressed next to the files")
    listed = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line.strip())
    assert listed == _mnist.MNIST_SHA256


def link_files(src, dst, names=MNIST_FILES, skip=()):
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name in skip:
            continue
        (dst / (name + ".gz")).symlink_to(src / (name + ".gz"))


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No $FASTNN_DATA, a private cache under tmp_path, no proxy for 127.0.0.1."""
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    monkeypatch.delenv("FASTNN_MNIST_MIRROR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # whatever happens, never the public mirrors
    monkeypatch.setattr(_mnist, "DEFAULT_MIRRORS", ("http://127.0.0.1:9/",))
    return tmp_path / "cache" / "fastnn" / "mnist"


def test_mnist_search_order(mnist_dir, tmp_path, clean_env, monkeypatch):
    cache = clean_env
    assert datasets.mnist_cache_dir() == cache
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert datasets.mnist_cache_dir() == Path.home() / ".cache" / "fastnn" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    data = tmp_path / "data"
    monkeypatch.setenv("FASTNN_DATA", str(data))
    dirs = _mnist._search_dirs(None)
    assert dirs == [data / "mnist", data, cache]
    link_files(mnist_dir, cache)
    assert _mnist._locate(dirs)[0] == cache
    link_files(mnist_dir, data)
    assert _mnist._locate(dirs)[0] == data
    link_files(mnist_dir, data / "mnist")
    assert _mnist._locate(dirs)[0] == data / "mnist"
    # an explicit data_dir is the only place looked at
    assert _mnist._search_dirs(tmp_path / "x") == [tmp_path / "x"]


def test_mnist_from_env_and_cache_uncompressed(mnist_dir, tmp_path, clean_env, monkeypatch):
    """$FASTNN_DATA/mnist with a mix of compressed and decompressed files."""
    data = tmp_path / "data"
    link_files(mnist_dir, data / "mnist", skip={"t10k-labels-idx1-ubyte"})
    raw = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (data / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(raw)
    monkeypatch.setenv("FASTNN_DATA", str(data))
    (_, _), (X_test, y_test) = load_mnist()
    assert counts(y_test) == TEST_COUNTS and X_test.shape == (10000, 784)


def tamper_labels(src, dst):
    """Copy of the test labels with one label changed (still a valid label, so only the
    hash can tell)."""
    raw = bytearray(gzip.decompress(src.read_bytes()))
    raw[8] = (raw[8] + 1) % 10
    dst.write_bytes(gzip.compress(bytes(raw), mtime=0))


def test_mnist_hash_mismatch_rejected(mnist_dir, tmp_path, clean_env):
    d = tmp_path / "m"
    link_files(mnist_dir, d, skip={"t10k-labels-idx1-ubyte"})
    bad = d / "t10k-labels-idx1-ubyte.gz"
    tamper_labels(mnist_dir / "t10k-labels-idx1-ubyte.gz", bad)
    with pytest.raises(DatasetError) as info:
        load_mnist(d)
    msg = str(info.value)
    assert str(bad) in msg and "SHA-256" in msg
    assert _mnist.MNIST_SHA256["t10k-labels-idx1-ubyte"] in msg
    # verify=False takes the file as it is
    (_, _), (_, y_test) = load_mnist(d, verify=False)
    assert counts(y_test) != TEST_COUNTS and y_test.shape == (10000,)


def test_mnist_damaged_file(mnist_dir, tmp_path, clean_env):
    d = tmp_path / "m"
    link_files(mnist_dir, d, skip={"train-labels-idx1-ubyte"})
    blob = (mnist_dir / "train-labels-idx1-ubyte.gz").read_bytes()
    (d / "train-labels-idx1-ubyte.gz").write_bytes(blob[:len(blob) // 2])
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz"):
        load_mnist(d, verify=False)


def test_mnist_wrong_file_kind(tmp_path, clean_env):
    d = tmp_path / "m"
    d.mkdir()
    for name in MNIST_FILES:  # right names, wrong contents (valid IDX all the same)
        write(d / name, idx_bytes(np.zeros((5, 3), np.uint8)))
    with pytest.raises(DatasetError, match="SHA-256"):
        load_mnist(d)
    with pytest.raises(DatasetError, match="not an MNIST file"):
        load_mnist(d, verify=False)


def test_mnist_missing_files_message(tmp_path, clean_env, monkeypatch):
    d = tmp_path / "empty"
    d.mkdir()
    with pytest.raises(DatasetError) as info:
        load_mnist(d)
    msg = str(info.value)
    assert str(d) in msg and "download=True" in msg
    for name in MNIST_FILES:
        assert name + ".gz" in msg
    # without data_dir: every place looked at is named, and the cache is where to put them
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetError) as info:
        load_mnist()
    msg = str(info.value)
    assert str(tmp_path / "data" / "mnist") in msg and str(clean_env) in msg
    assert "download=True" in msg and "FASTNN_DATA" in msg
    assert not clean_env.exists()  # nothing created without download=True


# ------------------------------------------------------------------ download (local server only)

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def closed_port():
    """A URL on 127.0.0.1 whose port refuses connections (bound, never listening)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{s.getsockname()[1]}/mnist/"
    finally:
        s.close()


def serve(mnist_dir, root, sub, tamper=None):
    d = root / sub
    d.mkdir(parents=True)
    for name in MNIST_FILES:
        if name == tamper:
            tamper_labels(mnist_dir / (name + ".gz"), d / (name + ".gz"))
        else:
            shutil.copyfile(mnist_dir / (name + ".gz"), d / (name + ".gz"))
    return d


def leftovers(d):
    return sorted(p.name for p in d.iterdir() if p.name.startswith(".") or
                  p.suffix == ".part")


def test_download_closed_port_then_working_mirror(mnist_dir, server, closed_port, clean_env):
    root, base = server
    serve(mnist_dir, root, "good")
    (train, test) = load_mnist(download=True, mirrors=[closed_port, base + "good"])
    assert counts(train[1]) == TRAIN_COUNTS and counts(test[1]) == TEST_COUNTS
    cache = clean_env
    assert sorted(p.name for p in cache.iterdir()) == sorted(n + ".gz" for n in MNIST_FILES)
    for name in MNIST_FILES:
        h = hashlib.sha256(gzip.decompress((cache / (name + ".gz")).read_bytes()))
        assert h.hexdigest() == _mnist.MNIST_SHA256[name]
        assert (cache / (name + ".gz")).stat().st_mode & 0o777 == 0o644
    # now cached: no mirror is needed (an unusable one would fail)
    (train2, _) = load_mnist(download=True, mirrors=[closed_port])
    np.testing.assert_array_equal(train2[1], train[1])


def test_download_corrupted_file_rejected(mnist_dir, server, clean_env, tmp_path):
    root, base = server
    serve(mnist_dir, root, "bad", tamper="t10k-labels-idx1-ubyte")
    serve(mnist_dir, root, "good")
    target = tmp_path / "target"
    with pytest.raises(DatasetError) as info:
        load_mnist(target, download=True, mirrors=base + "bad")
    msg = str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and "SHA-256" in msg and "rejected" in msg
    # the good files were kept, the corrupted one deleted, no temporary files left
    assert not (target / "t10k-labels-idx1-ubyte.gz").exists()
    assert (target / "train-images-idx3-ubyte.gz").exists()
    assert leftovers(target) == []
    # a second mirror after the bad one: only the missing file is fetched, from it
    (_, _), (_, y_test) = load_mnist(target, download=True,
                                      mirrors=[base + "bad", base + "good"])
    assert counts(y_test) == TEST_COUNTS
    assert leftovers(target) == []
    assert not clean_env.exists()  # data_dir given: the cache is left alone


def test_download_errors_name_every_mirror(server, closed_port, clean_env, tmp_path):
    root, base = server
    (root / "broken").mkdir()
    (root / "broken" / "train-images-idx3-ubyte.gz").write_bytes(b"<html>not here</html>")
    target = tmp_path / "t"
    with pytest.raises(DatasetError) as info:
        load_mnist(target, download=True,
                   mirrors=[closed_port, base + "empty/", base + "broken/"])
    msg = str(info.value)
    assert closed_port in msg and "404" in msg and "not an IDX file" in msg
    assert str(target) in msg
    assert leftovers(target) == []


def test_download_oversized_response_rejected(server, clean_env, tmp_path, monkeypatch):
    root, base = server
    (root / "big").mkdir()
    (root / "big" / "train-images-idx3-ubyte.gz").write_bytes(bytes(5000))
    monkeypatch.setattr(_mnist, "_MAX_DOWNLOAD", 1000)
    target = tmp_path / "t"
    with pytest.raises(DatasetError, match="more than 1000 bytes"):
        load_mnist(target, download=True, mirrors=base + "big")
    assert leftovers(target) == []


def test_download_mirror_from_env(mnist_dir, server, closed_port, clean_env, monkeypatch):
    root, base = server
    serve(mnist_dir, root, "envmirror")
    monkeypatch.setenv("FASTNN_MNIST_MIRROR", f"{closed_port} {base}envmirror")
    (_, y_train), _ = load_mnist(download=True)
    assert counts(y_train) == TRAIN_COUNTS
    assert (clean_env / "train-labels-idx1-ubyte.gz").exists()


def test_download_rejects_non_http_mirrors(tmp_path, clean_env):
    with pytest.raises(ValueError, match="http"):
        load_mnist(tmp_path / "x", download=True, mirrors=["file:///etc/"])
    with pytest.raises(ValueError, match="empty"):
        load_mnist(tmp_path / "x", download=True, mirrors=[])


# ------------------------------------------------------------------ digits

def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert counts(y) == DIGIT_COUNTS
    # pixel counts 0..16 scaled exactly
    k = X * 16
    np.testing.assert_array_equal(k, np.round(k))
    # the first image is a zero (scikit-learn's digits.images[0])
    assert y[0] == 0
    assert X.reshape(-1, 8, 8)[0, 0].tolist() == [0, 0, 5 / 16, 13 / 16, 9 / 16, 1 / 16, 0, 0]
    # new arrays on every call
    X[0, 0] = 5
    assert load_digits()[0][0, 0] == 0


def test_digits_file_is_small_and_documented():
    data = Path(datasets.__file__).parent / "data"
    assert (data / "digits.csv.gz").stat().st_size < 100_000
    note = (data / "README.md").read_text()
    for word in ("UCI", "Alpaydin", "Kaynak", "1998", "CC BY 4.0", "scikit-learn"):
        assert word in note


# ------------------------------------------------------------------ train_test_split

def test_split_basic(rng):
    X = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.arange(100)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, seed=0)
    assert X_tr.shape == (80, 2) and X_te.shape == (20, 2)
    assert y_tr.shape == (80,) and y_te.shape == (20,)
    assert X_tr.dtype == np.float32 and y_tr.dtype == y.dtype
    np.testing.assert_array_equal(X_tr[:, 0] / 2, y_tr)  # rows stay paired
    np.testing.assert_array_equal(X_te[:, 0] / 2, y_te)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(100))
    # same seed, same split; another seed, another split
    again = train_test_split(X, y, seed=0)
    np.testing.assert_array_equal(again[3], y_te)
    assert not np.array_equal(train_test_split(X, y, seed=1)[3], y_te)
    # a Generator works too
    assert train_test_split(X, y, seed=np.random.default_rng(3))[1].shape == (20, 2)


def test_split_sizes_and_no_shuffle():
    X = np.zeros((10, 3, 2))
    y = np.arange(10)
    assert train_test_split(X, y, 0.25, seed=0)[3].shape == (3,)  # ceil(2.5)
    assert train_test_split(X, y, 4, seed=0)[3].shape == (4,)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, 0.3, shuffle=False)
    assert y_tr.tolist() == list(range(7)) and y_te.tolist() == [7, 8, 9]
    assert X_te.shape == (3, 3, 2)
    # lists are accepted
    assert train_test_split(list(range(5)), list(range(5)), 1, seed=0)[1].shape == (1,)


def test_split_stratified():
    y = np.repeat(np.arange(3), [50, 30, 20])
    X = np.arange(100)[:, None]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, 0.2, seed=0, stratify=y)
    assert np.bincount(y_te).tolist() == [10, 6, 4]
    assert np.bincount(y_tr).tolist() == [40, 24, 16]
    assert set(X_tr[:, 0]).isdisjoint(X_te[:, 0])
    np.testing.assert_array_equal(y[X_te[:, 0]], y_te)
    # shuffled, not grouped by class
    assert not np.all(np.diff(y_te) >= 0)
    # digits: proportions kept within one row per class
    Xd, yd = load_digits()
    _, _, _, yt = train_test_split(Xd, yd, 0.25, seed=1, stratify=yd)
    assert yt.shape == (450,)
    expected = np.array(DIGIT_COUNTS) * 450 / 1797
    assert np.all(np.abs(np.bincount(yt) - expected) < 1)


def test_split_errors():
    X, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        train_test_split(X, y[:9])
    for bad in (0.0, 1.0, -0.1, 1.5, 0, 10, -1):
        with pytest.raises(ValueError, match="test_size"):
            train_test_split(X, y, bad)
    with pytest.raises(ValueError, match="training rows"):
        train_test_split(X, y, 0.99)
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(X, y, "0.2")
    with pytest.raises(TypeError, match="seed"):
        train_test_split(X, y, seed=1.5)
    with pytest.raises(ValueError, match="at least 2"):
        train_test_split(X[:1], y[:1])
    with pytest.raises(ValueError, match="scalar"):
        train_test_split(np.float32(1), y)
    with pytest.raises(ValueError, match="shuffle"):
        train_test_split(X, y, stratify=y, shuffle=False)
    with pytest.raises(ValueError, match="only 1 sample"):
        train_test_split(X, np.array([0] * 9 + [1]), stratify=np.array([0] * 9 + [1]))
    with pytest.raises(ValueError, match="1-D array of 10"):
        train_test_split(X, y, stratify=y[:5])
    with pytest.raises(ValueError, match="per class"):
        lab = np.repeat(np.arange(5), 2)
        train_test_split(X, lab, 2, stratify=lab)


# ------------------------------------------------------------------ one_hot

def test_one_hot():
    y = np.array([2, 0, 1, 2])
    out = one_hot(y)
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[y])
    out = one_hot([1, 0], n_classes=4, dtype=np.float64)
    assert out.dtype == np.float64 and out.tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert one_hot(np.array([], np.int64), n_classes=3).shape == (0, 3)
    assert one_hot(np.array([3], np.uint8)).shape == (1, 4)


def test_one_hot_errors():
    with pytest.raises(ValueError, match="outside"):
        one_hot([0, 5], n_classes=3)
    with pytest.raises(ValueError, match="negative"):
        one_hot([0, -1])
    with pytest.raises(TypeError, match="astype"):
        one_hot(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="integer"):
        one_hot(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        one_hot(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="n_classes"):
        one_hot([0], n_classes=0)
    with pytest.raises(ValueError, match="empty"):
        one_hot(np.array([], np.int64))


# ------------------------------------------------------------------ standardize

def test_standardize(rng):
    X = (rng.standard_normal((500, 4)) * [1, 10, 100, 0] + [5, -3, 0, 7]).astype(np.float32)
    Xt = (rng.standard_normal((50, 4))).astype(np.float32)
    A, B, (mean, std) = standardize(X, Xt)
    assert A.dtype == B.dtype == mean.dtype == std.dtype == np.float32
    assert A.shape == X.shape and B.shape == Xt.shape
    np.testing.assert_allclose(A[:, :3].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(A[:, :3].std(axis=0), 1, rtol=1e-4)
    assert std[3] == 1 and np.all(A[:, 3] == 0)  # the constant column is only centered
    np.testing.assert_allclose(B, (Xt - mean) / std, rtol=1e-6)
    A2, (m2, s2) = standardize(X)
    np.testing.assert_array_equal(A2, A)
    # float64 stays float64, integers become float32
    assert standardize(X.astype(np.float64))[0].dtype == np.float64
    Ai, (mi, si) = standardize(np.arange(12).reshape(6, 2))
    assert Ai.dtype == np.float32 and mi.tolist() == [5.0, 6.0]


def test_standardize_errors():
    with pytest.raises(ValueError, match="empty"):
        standardize(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        standardize(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="X_test has samples of shape"):
        standardize(np.zeros((3, 2)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="X_test contains NaN"):
        standardize(np.zeros((3, 2)), np.full((1, 2), np.inf))
    with pytest.raises(TypeError, match="numeric"):
        standardize(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="eps"):
        standardize(np.zeros((3, 2)), eps=-1)


def test_exports():
    for name in ("load_idx", "load_mnist", "load_digits", "train_test_split", "one_hot",
                 "standardize", "DatasetError"):
        assert name in datasets.__all__ and hasattr(datasets, name)
    import fastnn

    assert issubclass(DatasetError, ValueError) and issubclass(DatasetError,
                                                              fastnn.FastnnError)
