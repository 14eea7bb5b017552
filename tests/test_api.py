"""The public surface: every kernel of fastnn._kernels.KERNELS exists natively and as a
numpy twin with the same signature; show_config / config() / ``python -m fastnn info``."""

import ast
import importlib
import importlib.machinery
import inspect
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn import _info, ops, reference
from fastnn._kernels import KERNELS

ALL = [(family, name) for family, names in KERNELS.items() for name in names]
IDS = [name for _, name in ALL]
REPO = Path(fastnn.__file__).resolve().parent.parent


def test_kernel_names_unique():
    names = [n for _, n in ALL]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("family,name", ALL, ids=IDS)
def test_twins_exist_with_identical_signatures(family, name):
    native, twin = getattr(ops, name), getattr(reference, name)
    assert native is not twin
    assert _unannotated(inspect.signature(native)) == _unannotated(inspect.signature(twin))
    # the types: the compiled op's stub states the twin's annotations
    assert _stub_annotations(family, name) == _annotations(twin)
    # the family module holds it, under the same name on both sides
    assert getattr(importlib.import_module(f"fastnn.ops.{family}"), name) is native
    assert getattr(importlib.import_module(f"fastnn.reference.{family}"), name) is twin
    assert name in ops.__all__ and name in reference.__all__


def _unannotated(sig):
    return sig.replace(parameters=[p.replace(annotation=inspect.Parameter.empty)
                                   for p in sig.parameters.values()],
                       return_annotation=inspect.Signature.empty)


def _normalized(annotation):
    return ast.unparse(ast.parse(annotation, mode="eval"))


def _annotations(fn):
    """The function's annotations as source text, normalized ("return" included)."""
    return {k: _normalized(v if isinstance(v, str) else inspect.formatannotation(v))
            for k, v in inspect.get_annotations(fn).items()}


def _stub_annotations(family, name):
    """The annotations of `name` in fastnn.ops.<family>'s .pyi stub."""
    path = os.path.join(os.path.dirname(fastnn.__file__), "ops", f"{family}.pyi")
    with open(path) as f:
        tree = ast.parse(f.read())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
    args += [a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
    found = {a.arg: ast.unparse(a.annotation) for a in args if a.annotation is not None}
    if fn.returns is not None:
        found["return"] = ast.unparse(fn.returns)
    return found


@pytest.mark.parametrize("family", sorted(KERNELS))
def test_native_family_is_compiled(family):
    """fastnn.ops.<family> is an extension module, not Python standing in for it."""
    mod = importlib.import_module(f"fastnn.ops.{family}")
    assert mod.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), mod.__file__
    ref = importlib.import_module(f"fastnn.reference.{family}")
    assert ref.__file__.endswith(".py")
    for name in KERNELS[family]:
        assert getattr(mod, name).__module__ == f"fastnn.ops.{family}"


def test_tables_agree():
    assert set(ops.ACTIVATIONS) == set(reference.ACTIVATIONS)
    for name, (f, b, takes_alpha) in ops.ACTIVATIONS.items():
        rf, rb, r_alpha = reference.ACTIVATIONS[name]
        assert (f.__name__, b.__name__, takes_alpha) == (rf.__name__, rb.__name__, r_alpha)
        assert f is getattr(ops, name) and b is getattr(ops, f"{name}_backward")
    assert set(ops.LOSSES) == set(reference.LOSSES) == set(KERNELS["losses"])


def test_show_config_lists_every_kernel():
    buf = io.StringIO()
    assert fastnn.show_config(file=buf) is None
    text = buf.getvalue()
    assert "MISSING TWIN" not in text
    for family, names in KERNELS.items():
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(family + " ")), None)
        assert line is not None, f"no line for family {family}"
        listed = {n.strip() for n in line.split(None, 1)[1].split(",")}
        assert listed == set(names)
    for key in ("openmp", "threads", "blas", "leaves", "kernels"):
        assert key in text


def test_show_config_prints_to_stdout(capsys):
    fastnn.show_config()
    out = capsys.readouterr().out
    assert out.startswith(f"fastnn {fastnn.__version__}")


def test_config_dict():
    c = _info.config()
    for key in ("fastnn", "openmp", "blas", "leaves", "threads", "kernels", "cpu_features"):
        assert key in c
    assert set(c["openmp"]) >= {"enabled", "version", "runtime"}
    assert isinstance(c["openmp"]["enabled"], bool)
    assert isinstance(c["blas"], list)
    assert set(c["leaves"]) == {"compiled", "chosen"}
    assert c["leaves"]["chosen"] in c["leaves"]["compiled"]
    assert c["threads"] == fastnn.get_num_threads()
    for family, names in KERNELS.items():
        for name in names:
            k = c["kernels"][family][name]
            assert k["native"] == f"fastnn.ops.{family}.{name}"
            assert k["reference"] == f"fastnn.reference.{family}.{name}"
    json.dumps(c)  # serializable, as `fastnn info --json` needs


def _run_cli(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "fastnn", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_info():
    r = _run_cli("info")
    assert r.returncode == 0, r.stderr
    assert "MISSING TWIN" not in r.stdout
    for names in KERNELS.values():
        for name in names:
            assert name in r.stdout


def test_cli_info_json():
    r = _run_cli("info", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"openmp", "blas", "leaves", "kernels"} <= set(data)
    assert set(data["kernels"]) == set(KERNELS)


def test_cli_without_command_prints_help():
    r = _run_cli()
    assert r.returncode == 2
    assert "info" in r.stdout


def test_version_and_all():
    assert isinstance(fastnn.__version__, str) and fastnn.__version__
    for name in fastnn.__all__:
        assert hasattr(fastnn, name)


IMPORT_CHILD = """
import sys
import numpy as np
import fastnn
assert "scipy.linalg" not in sys.modules, "import fastnn imported scipy.linalg"
a = np.arange(12.0).reshape(3, 4)
np.testing.assert_array_equal(fastnn.ops.gemm(a, a, trans_b=True), a @ a.T)
import scipy.linalg
import scipy.linalg.cython_blas
from scipy.linalg import cython_blas
assert cython_blas is scipy.linalg.cython_blas is sys.modules["scipy.linalg.cython_blas"]
np.testing.assert_array_equal(scipy.linalg.solve(np.eye(2), np.ones(2)), np.ones(2))
np.testing.assert_array_equal(fastnn.ops.gemm(a, a, trans_b=True), a @ a.T)
print("ok")
"""


def test_import_takes_scipys_blas_without_scipy_linalg(tmp_path):
    """fastnn/_scipy_blas.py: `import fastnn` loads SciPy's cython_blas without the 0.2 s of
    scipy.linalg's Python layer, and scipy.linalg imported afterwards works as usual."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env = dict(os.environ, PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", IMPORT_CHILD], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
