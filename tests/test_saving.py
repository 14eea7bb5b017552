"""model.save / fastnn.load: round trip, exact resume, atomic writes, and every kind of
bad file raising ModelFileError (never unpickling anything)."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import Adam, Dense, Dropout, ModelFileError, RMSprop, Sequential, SGD, Softmax
from fastnn import saving
from fastnn.saving import FORMAT_VERSION, HEADER_KEY, MAGIC


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, y


def make_model(seed=3, dtype="float32"):
    return Sequential([Dense(10, activation="relu"), Dropout(0.25), Dense(8, activation="elu",
                                                                          alpha=0.5),
                       Dense(3), Softmax()], seed=seed, dtype=dtype)


@pytest.fixture
def saved(tmp_path):
    X, y = data()
    model = make_model()
    model.fit(X, y, epochs=2, batch_size=16, optimizer=Adam(lr=0.01, amsgrad=True), verbose=0)
    path = tmp_path / "model.fnn"
    model.save(path)
    return model, path, X, y


# ====================================================================== round trip


def test_round_trip_restores_everything(saved):
    model, path, X, y = saved
    loaded = fastnn.load(path)
    assert isinstance(loaded, Sequential)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    for (la, ka, a), (lb, kb, b) in zip(loaded.params, model.params):
        assert (la.name, ka) == (lb.name, kb) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.dtype == model.dtype and loaded.seed == model.seed
    assert loaded.loss.name == "cross_entropy"
    opt = loaded.optimizer
    assert type(opt) is Adam and opt.get_config() == model.optimizer.get_config()
    assert opt.iterations == model.optimizer.iterations == 12
    for sa, sb in zip(opt.state, model.optimizer.state):
        assert set(sa) == {"m", "v", "v_max"}
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])
    assert loaded.rng.bit_generator.state == model.rng.bit_generator.state
    assert loaded.layers[1].offset == model.layers[1].offset > 0
    assert loaded.layers[1].seed == model.layers[1].seed
    assert loaded.evaluate(X, y) == model.evaluate(X, y)


def test_round_trip_float64_reference_backend_and_str_path(tmp_path):
    X, y = data()
    model = make_model(dtype="float64")
    model.backend = "reference"
    model.fit(X, y, epochs=1, optimizer=RMSprop(momentum=0.5, centered=True), verbose=0)
    path = str(tmp_path / "m64")
    model.save(path)
    assert os.path.exists(path) and not os.path.exists(path + ".npz")
    loaded = fastnn.load(path)
    assert loaded.backend == "reference" and loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert fastnn.load(path, backend="native").backend == "native"
    assert set(loaded.optimizer.state[0]) == {"square_avg", "velocity", "grad_avg"}


def test_model_without_optimizer_and_with_frozen_layer(tmp_path):
    model = Sequential([Dense(4, input_dim=3, trainable=False), Dense(2)], seed=1)
    model.build()
    model.save(tmp_path / "m")
    loaded = fastnn.load(tmp_path / "m")
    assert loaded.optimizer is None and loaded.loss is None
    assert not loaded.layers[0].trainable
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_saving_an_unbuilt_model_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        Sequential([Dense(3)]).save(tmp_path / "m")
    assert not os.listdir(tmp_path)


def test_resumed_fit_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    X, y = data()
    full = make_model(seed=5)
    full.fit(X, y, epochs=4, batch_size=16, optimizer=Adam(lr=0.01), verbose=0)

    first = make_model(seed=5)
    first.fit(X, y, epochs=2, batch_size=16, optimizer=Adam(lr=0.01), verbose=0)
    first.save(tmp_path / "ckpt")
    del first
    resumed = fastnn.load(tmp_path / "ckpt")
    resumed.fit(X, y, epochs=2, batch_size=16, optimizer=resumed.optimizer, verbose=0)
    for (layer, key, a), b in zip(full.params, resumed.get_weights()):
        np.testing.assert_array_equal(a, b, err_msg=f"{layer.name}.{key}")
    assert resumed.optimizer.iterations == full.optimizer.iterations
    assert resumed.layers[1].offset == full.layers[1].offset


def test_resume_with_sgd_momentum(tmp_path):
    X, y = data(seed=1)
    full = make_model(seed=6)
    full.fit(X, y, epochs=3, batch_size=10, optimizer=SGD(lr=0.05, momentum=0.9), verbose=0)
    part = make_model(seed=6)
    part.fit(X, y, epochs=1, batch_size=10, optimizer=SGD(lr=0.05, momentum=0.9), verbose=0)
    part.save(tmp_path / "c")
    resumed = fastnn.load(tmp_path / "c")
    resumed.fit(X, y, epochs=2, batch_size=10, optimizer=resumed.optimizer, verbose=0)
    for a, b in zip(full.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


# ====================================================================== atomic writes


def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_one(saved, monkeypatch):
    model, path, X, y = saved
    before = path.read_bytes()
    real_savez = np.savez

    def failing_savez(f, **arrays):
        real_savez(f, **arrays)
        f.truncate(100)  # half written when the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", failing_savez)
    model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(OSError, match="No space"):
        model.save(path)
    with pytest.raises(OSError):
        model.save(path.parent / "new.fnn")
    monkeypatch.undo()
    assert sorted(os.listdir(path.parent)) == ["model.fnn"]  # no temp files, no new.fnn
    assert path.read_bytes() == before
    fastnn.load(path)


def test_save_replaces_an_existing_file(saved):
    model, path, X, y = saved
    model.fit(X, y, epochs=1, verbose=0)
    model.save(path)
    np.testing.assert_array_equal(fastnn.load(path).predict(X), model.predict(X))
    assert sorted(os.listdir(path.parent)) == ["model.fnn"]


# ====================================================================== bad files


def _rewrite(path, out, header_fn=None, arrays_fn=None, **savez_kw):
    """Copy a model file, editing its header (dict) and arrays (dict)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays.pop(HEADER_KEY).tobytes())
    if header_fn is not None:
        header = header_fn(header) or header
    if arrays_fn is not None:
        arrays = arrays_fn(arrays) or arrays
    blob = np.frombuffer(json.dumps(header).encode(), np.uint8)
    _savez_sealed(out, {HEADER_KEY: blob, **arrays}, **savez_kw)
    return out


def _savez_sealed(out, arrays, **savez_kw):
    """np.savez plus fastnn's checksum: a well-formed file whose contents are wrong."""
    with open(out, "w+b") as f:
        np.savez(f, **arrays, **savez_kw)
        saving._seal(f)


def _expect(path, *words):
    with pytest.raises(ModelFileError) as e:
        fastnn.load(path)
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    for w in words:
        assert w in msg, msg
    return msg


@pytest.mark.parametrize("cut", [1, 10, 200, "half", -1, -30, -200])
def test_truncated_files(saved, tmp_path, cut):
    _, path, _, _ = saved
    raw = path.read_bytes()
    n = len(raw) // 2 if cut == "half" else (cut if cut > 0 else len(raw) + cut)
    bad = tmp_path / "truncated.fnn"
    bad.write_bytes(raw[:n])
    _expect(bad, "truncated.fnn")


def test_any_changed_byte_is_caught(saved, tmp_path):
    """Flip bytes all over the file (zip metadata, header, arrays, checksum): each is an
    error, never a silently different model."""
    _, path, _, _ = saved
    raw = path.read_bytes()
    bad = tmp_path / "corrupt.fnn"
    for i in list(range(0, len(raw), 37)) + list(range(len(raw) - 120, len(raw))):
        flipped = bytearray(raw)
        flipped[i] ^= 0x41
        bad.write_bytes(bytes(flipped))
        with pytest.raises(ModelFileError):
            fastnn.load(bad)


def test_a_file_without_the_checksum_is_refused(saved, tmp_path):
    _, path, _, _ = saved
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    plain = tmp_path / "plain.npz"
    np.savez(plain, **arrays)  # the right arrays, but not written by fastnn's save
    _expect(plain, "checksum is missing")


def test_corrupted_header_bytes_fail_the_crc(saved, tmp_path):
    _, path, _, _ = saved
    raw = bytearray(path.read_bytes())
    i = raw.index(b'"magic"')
    raw[i + 1] = ord("M")
    bad = tmp_path / "h.fnn"
    bad.write_bytes(bytes(raw))
    _expect(bad, "CRC")


def test_a_pickle_is_never_loaded(tmp_path):
    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps({"weights": [np.zeros(3)]}))
    _expect(bad, "pickle", "never loads")


def test_foreign_files(tmp_path):
    rnd = tmp_path / "random.bin"
    rnd.write_bytes(np.random.default_rng(0).bytes(5000))
    _expect(rnd, "not a fastnn model file")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    _expect(empty, "empty")
    npz = tmp_path / "other.npz"
    np.savez(npz, a=np.zeros(3), b=np.ones((2, 2)))
    _expect(npz, "not a fastnn model file", "'a'")
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    _expect(npy, ".npy")
    text = tmp_path / "model.json"
    text.write_text('{"magic": "fastnn-model"}')
    _expect(text, "not a zip archive")
    zp = tmp_path / "other.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.writestr("readme.txt", "hello")
    _expect(zp, "unexpected member")
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "missing.fnn")


def test_wrong_version_and_magic(saved, tmp_path):
    _, path, _, _ = saved
    newer = _rewrite(path, tmp_path / "v2.npz",
                     lambda h: h.update(format_version=FORMAT_VERSION + 1))
    _expect(newer, "format version 2", "newer")
    old = _rewrite(path, tmp_path / "v0.npz", lambda h: h.update(format_version=0))
    _expect(old, "unsupported format version 0")
    magic = _rewrite(path, tmp_path / "magic.npz", lambda h: h.update(magic="other-model"))
    _expect(magic, "not a fastnn model file", "magic")


@pytest.mark.parametrize("edit,words", [
    (lambda h, a: a.pop("param.0"), ["missing", "param.0"]),
    (lambda h, a: a.update(extra=np.zeros(2, np.float32)), ["unexpected", "extra"]),
    (lambda h, a: a.update({"param.0": np.zeros((3, 3), np.float32)}), ["shape"]),
    (lambda h, a: a.update({"param.0": a["param.0"].astype(np.float64)}), ["dtype"]),
    (lambda h, a: h["layers"].pop(0), ["parameters"]),
    (lambda h, a: h["layers"][0].update({"class": "Evil"}), ["unknown layer class"]),
    (lambda h, a: h["layers"][0].update(units="ten"), ["units"]),
    (lambda h, a: h.update(dtype="int8"), ["dtype"]),
    (lambda h, a: h.update(loss="hinge"), ["loss"]),
    (lambda h, a: h["optimizer"]["config"].update({"class": "Evil"}), ["optimizer"]),
    (lambda h, a: h["optimizer"].update(iterations=-1), ["iterations"]),
    (lambda h, a: a.pop(h["optimizer"]["state"][0].pop("v_max")), ["keys"]),
    (lambda h, a: h.update(rng_state={"bit_generator": "MT19937"}), ["RNG"]),
    (lambda h, a: h["rng_state"].update(state="x"), ["RNG"]),
    (lambda h, a: h.pop("params"), ["params"]),
    (lambda h, a: h["params"][0].update(shape=[2]), ["shape"]),
], ids=["missing-array", "extra-array", "wrong-shape", "wrong-dtype", "layers-vs-params",
        "unknown-layer", "bad-layer-config", "bad-dtype", "unknown-loss",
        "unknown-optimizer", "bad-iterations", "state-keys", "rng-kind", "rng-state",
        "no-params", "header-shape"])
def test_inconsistent_files(saved, tmp_path, edit, words):
    _, path, _, _ = saved
    box = {}

    def hdr(h):
        box["h"] = h
        return h

    def arr(a):
        edit(box["h"], a)
        return a

    bad = _rewrite(path, tmp_path / "bad.npz", hdr, arr)
    _expect(bad, *words)


def test_object_arrays_are_refused_without_unpickling(saved, tmp_path):
    _, path, _, _ = saved
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = _rewrite(path, tmp_path / "obj.npz",
                   arrays_fn=lambda a: a.update({"param.0": np.array([Evil()], dtype=object)}))
    _expect(bad, "pickled Python objects")
    assert not marker.exists()


def test_bad_header_encodings(saved, tmp_path):
    _, path, _, _ = saved
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for blob, words in [
        (np.frombuffer(b"{not json", np.uint8), "not valid JSON"),
        (np.frombuffer(b"\xff\xfe", np.uint8), "not valid JSON"),
        (np.frombuffer(b"[1, 2]", np.uint8), "not a JSON object"),
        (np.zeros(4, np.float32), "uint8"),
    ]:
        out = tmp_path / "hdr.npz"
        _savez_sealed(out, {**arrays, HEADER_KEY: blob})
        _expect(out, words)


def test_header_contents(saved):
    _, path, _, _ = saved
    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())
        header = json.loads(np.load(io.BytesIO(z.read(HEADER_KEY + ".npy"))).tobytes())
    assert header["magic"] == MAGIC and header["format_version"] == 1
    assert header["fastnn_version"] == fastnn.__version__
    assert header["dtype"] == "float32" and header["seed"] == 3
    assert header["loss"] == "cross_entropy"
    assert header["optimizer"]["config"]["class"] == "Adam"
    assert header["optimizer"]["state_keys"] == ["m", "v", "v_max"]
    assert header["rng_state"]["bit_generator"] == "PCG64"
    assert [p["shape"] for p in header["params"]][:2] == [[6, 10], [10]]
    assert header["layers"][1]["class"] == "Dropout" and "offset" in header["layers"][1]
    assert HEADER_KEY + ".npy" in names and all(n.endswith(".npy") for n in names)


def test_custom_layers_are_refused_and_numpy_scalars_are_saved(tmp_path):
    class Custom(Dense):
        pass

    model = Sequential([Custom(3, input_dim=2)], seed=0)
    model.build()
    with pytest.raises(ValueError, match="only fastnn's own layers"):
        model.save(tmp_path / "c")
    assert not os.listdir(tmp_path)
    X, y = data()
    m = make_model()
    opt = SGD(lr=np.float32(0.1), momentum=np.float64(0.5))
    m.fit(X, y, epochs=1, optimizer=opt, verbose=0)
    opt.lr = np.float32(0.05)  # as a user or a schedule might set it
    m.save(tmp_path / "m")
    assert fastnn.load(tmp_path / "m").optimizer.lr == pytest.approx(0.05)


# ================================================================= hostile files
# Files crafted to cost far more than their size: each is refused with ModelFileError
# while the memory Python allocates stays a small multiple of the file (tracemalloc
# sees numpy's buffers too) and in well under a second. They carry a valid seal: anyone
# can compute a SHA-256, so the seal proves integrity, not good intent.


def _zip_sealed(out, members, deflate=()):
    """A zip of raw .npy members (name -> bytes), those in `deflate` compressed, sealed."""
    import zipfile

    with open(out, "w+b") as f:
        with zipfile.ZipFile(f, "w") as zf:
            for name, data in members.items():
                method = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
                zf.writestr(name + ".npy", data, compress_type=method)
        saving._seal(f)
    return out


def _npy(a):
    import io

    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _expect_cheap(path, *words, limit=8 << 20, per_byte=4):
    import time
    import tracemalloc

    tracemalloc.start()
    t = time.perf_counter()
    try:
        msg = _expect(path, *words)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - t < 2.0
    assert peak < limit + per_byte * os.path.getsize(path), f"peak {peak} bytes"
    return msg


@pytest.mark.parametrize("member", ["header", "array"])
def test_compressed_members_are_refused_unread(saved, tmp_path, member):
    _, path, _, _ = saved
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays[HEADER_KEY].tobytes())
    if member == "header":  # 64 MiB of whitespace inside the JSON, deflated to ~64 KiB
        blob = json.dumps(header).encode()
        blob = blob[:1] + b" " * (64 << 20) + blob[1:]
        arrays[HEADER_KEY] = np.frombuffer(blob, np.uint8)
        name = HEADER_KEY
    else:  # the first parameter array declared 16384 x 1024 floats (64 MiB) of zeros
        name = header["params"][0]["array"]
        header["params"][0]["shape"] = [16384, 1024]
        arrays[name] = np.zeros((16384, 1024), np.float32)
        arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    members = {k: _npy(v) for k, v in arrays.items()}
    out = _zip_sealed(tmp_path / "bomb.fnn", members, deflate={name})
    assert os.path.getsize(out) < (1 << 20)
    _expect_cheap(out, "compressed")


def test_deeply_nested_header(tmp_path):
    blob = b'{"magic": "fastnn-model", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    out = _zip_sealed(tmp_path / "deep.fnn", {HEADER_KEY: _npy(np.frombuffer(blob, np.uint8))})
    _expect_cheap(out, "header")


def test_header_bytes_that_are_not_utf8(tmp_path):
    out = _zip_sealed(tmp_path / "bytes.fnn", {HEADER_KEY: _npy(np.arange(200, 256, dtype=np.uint8))})
    _expect_cheap(out, "header")


@pytest.mark.parametrize("layers", [
    [{"class": "Dense", "units": 12000}],                       # one 12000 x 12000 Dense
    [{"class": "Conv2D", "filters": 4096, "kernel_size": 3}],  # 4096 x 4096 x 3 x 3
    [{"class": "Residual", "layers": [{"class": "Dense", "units": 12000}]}],
])
def test_a_header_whose_layers_need_arrays_the_file_lacks_allocates_nothing(saved, tmp_path,
                                                                           layers):
    _, path, _, _ = saved

    def edit(h):
        h["input_shape"] = [4096, 8, 8] if layers[0]["class"] == "Conv2D" else [12000]
        h["layers"] = layers
        h["params"], h["buffers"], h["optimizer"] = [], [], None
    out = _rewrite(path, tmp_path / "hungry.fnn", header_fn=edit, arrays_fn=lambda a: a.clear())
    assert os.path.getsize(out) < 16384
    _expect_cheap(out, "the header lists 0 parameters")


@pytest.mark.parametrize("what,words", [
    ("wide", f"more than {saving.MAX_LAYERS} layers"),
    ("deep", f"more than {saving.MAX_DEPTH} deep"),
])
def test_layer_trees_beyond_the_limits(saved, tmp_path, what, words):
    _, path, _, _ = saved
    if what == "wide":
        layers = [{"class": "ReLU"}] * (saving.MAX_LAYERS + 1)
    else:
        layers = [{"class": "ReLU"}]
        for _ in range(saving.MAX_DEPTH):
            layers = [{"class": "Residual", "layers": layers}]
    out = _rewrite(path, tmp_path / "tree.fnn", header_fn=lambda h: h.update(layers=layers))
    # parsed JSON takes more bytes than its text: each 17-byte {"class": "ReLU"} becomes a
    # dict of about 200 bytes, before any layer is made
    _expect_cheap(out, words, per_byte=24)


def test_declared_arrays_match_what_build_allocates():
    """Layer.param_shapes / buffer_shapes (what load checks files against before building)
    are what build allocates, for every layer with parameters or buffers."""
    from fastnn import BatchNorm, Conv1D, Conv2D, Flatten, ReLU, Residual

    cases = [
        ((5,), [Dense(3), Dense(4, use_bias=False), Dropout(0.1), BatchNorm()]),
        ((2, 9, 7), [Conv2D(3, (3, 2), stride=2, padding="same"), BatchNorm(),
                     Conv2D(2, 1, use_bias=False), Flatten(), Dense(2)]),
        ((3, 11), [Conv1D(4, 3, dilation=2), ReLU(),
                   Residual([Conv1D(4, 3, padding="same"), BatchNorm()]),
                   Residual([Conv1D(5, 3, stride=2, padding="same")],
                            projection=Conv1D(5, 1, stride=2, use_bias=False))]),
    ]
    for input_shape, layers in cases:
        model = Sequential(layers)
        planned = model._array_shapes(input_shape)
        model.build(input_shape)
        assert planned[0] == [(l.name, k, a.shape) for l, k, a in model.params]
        assert planned[1] == [(l.name, k, a.shape) for l, k, a in model.buffers]
        assert planned[0] and planned[1]


def test_load_time_is_linear_in_the_number_of_layers(tmp_path):
    """A file of 16x more layers loads in far less than 16x16 the time (the per-layer
    cost falls with size, so linear loading gives about 10-16x; the bound is loose)."""
    import time

    from fastnn import ReLU

    def load_time(n):
        model = Sequential([Dense(2) if i % 2 else ReLU() for i in range(n)], input_shape=(2,))
        model.build()
        p = tmp_path / f"{n}.fnn"
        model.save(p)
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            fastnn.load(p)
            best = min(best, time.perf_counter() - t)
        return best

    small, large = load_time(500), load_time(8000)
    assert large / small < 48, (small, large)
