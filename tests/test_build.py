"""The build itself: OpenMP on or off as CI expects, the leaves per level, kernels listed."""

import importlib
import importlib.machinery
import importlib.util
import os
import pkgutil
import sys

import pytest

import fastnn
from fastnn import _runtime
from fastnn._kernels import KERNELS


@pytest.mark.skipif("FASTNN_EXPECT_OPENMP" not in os.environ,
                    reason="CI sets FASTNN_EXPECT_OPENMP to the build it made")
def test_openmp_state_matches_the_build_ci_asked_for():
    expected = os.environ["FASTNN_EXPECT_OPENMP"] == "1"
    assert bool(_runtime.openmp_version()) == expected
    cfg = fastnn._info.config()
    assert cfg["openmp"]["enabled"] == expected
    if not expected:
        fastnn.set_num_threads(2)
        try:
            assert _runtime._get_native_threads() == 1  # a serial build stays serial
        finally:
            fastnn.set_num_threads(fastnn._threads.default_num_threads())


def test_the_leaves_follow_the_level_in_force():
    """The compiler-vectorized loops are built per level and run the level in force, so
    a forced level reaches them as it reaches the hand-written variants."""
    compiled = _runtime.leaf_levels()
    levels = _runtime.isa()["levels"]
    if len(compiled) == 1:
        assert compiled == ["generic"] and _runtime.leaf_level() == "generic"
        return
    assert compiled == ["avx512", "avx2", "generic"]
    for level in levels:
        with fastnn.config_context(isa=level):
            assert _runtime.leaf_level() == level
            assert fastnn._info.config()["leaves"]["chosen"] == level
    assert _runtime.leaf_level() == _runtime.isa()["level"]


def test_every_compiled_module_shares_the_one_cpu_description():
    """A module that did not bind would keep its own level: a level forced at run time
    would not reach its kernels."""
    names = _compiled_modules()
    for name in names:
        importlib.import_module(name)
    assert _runtime.isa()["modules"] == len(names) - 1  # all but _runtime, which owns it


def test_every_compiled_module_has_its_stub():
    """The .pyi of each extension module is what type checkers read (CI's stubtest
    checks its contents against the module)."""
    for name in _compiled_modules():
        stub = _stub_path(name)
        assert os.path.isfile(stub), stub
    assert os.path.isfile(os.path.join(os.path.dirname(fastnn.__file__), "py.typed"))


def _compiled_modules():
    """Every extension module of the package: those found in its folders (a wheel, a
    source tree) and the ones it is known to have (an editable install keeps them in
    its build folder, where no folder walk looks)."""
    found = {m.name for m in pkgutil.walk_packages(fastnn.__path__, "fastnn.") if not m.ispkg}
    known = {"fastnn._runtime", "fastnn._plan", *(f"fastnn.ops.{f}" for f in KERNELS)}
    names = sorted(n for n in found | known
                   if isinstance(importlib.util.find_spec(n).loader,
                                 importlib.machinery.ExtensionFileLoader))
    assert set(names) >= known, sorted(known - set(names))
    return names


def _stub_path(name):
    """fastnn.a.b -> <package>/a/b.pyi (beside the .pyx in a source tree or an editable
    install, beside the compiled module in a wheel)."""
    return os.path.join(os.path.dirname(fastnn.__file__), *name.split(".")[1:]) + ".pyi"


@pytest.mark.skipif("FASTNN_EXPECT_INSTALLED" not in os.environ,
                    reason="CI sets FASTNN_EXPECT_INSTALLED when it tests an installed wheel")
def test_fastnn_comes_from_the_installed_wheel_with_its_openmp_runtime():
    import sysconfig

    here = os.path.dirname(os.path.abspath(fastnn.__file__))
    site = os.path.realpath(sysconfig.get_paths()["purelib"])
    assert os.path.realpath(here).startswith(site), (here, site)
    libs = os.path.join(os.path.dirname(here), "fastnn_cpu.libs")  # named after the distribution
    if _runtime.openmp_version() and sys.platform.startswith("linux"):
        # auditwheel bundled the OpenMP runtime next to the package
        assert any(n.startswith("libgomp") for n in os.listdir(libs)), os.listdir(libs)


@pytest.mark.skipif("FASTNN_EXPECT_INSTALLED" not in os.environ,
                    reason="CI sets FASTNN_EXPECT_INSTALLED when it tests an installed wheel")
def test_the_wheel_has_every_file_of_the_source_package():
    """The build lists what it installs (fastnn/**/meson.build): a file added to the
    package but not to its meson.build would be missing from the wheel."""
    source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fastnn")
    installed = os.path.dirname(os.path.abspath(fastnn.__file__))
    missing = []
    for root, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if f.endswith((".py", ".pyi", ".pxd", ".typed")) or os.path.basename(root) == "data":
                rel = os.path.relpath(os.path.join(root, f), source)
                if not os.path.exists(os.path.join(installed, rel)):
                    missing.append(rel)
    assert not missing, missing
