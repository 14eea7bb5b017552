"""The build itself: OpenMP on or off as CI expects, the leaves per level, kernels listed."""

import importlib.machinery
import os
import sys

import pytest

import fastnn
from fastnn import _runtime


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
    import importlib
    import importlib.machinery
    import pkgutil

    names = [m.name for m in pkgutil.walk_packages(fastnn.__path__, "fastnn.")
             if not m.ispkg and _is_compiled(m)]
    for name in names:
        importlib.import_module(name)
    assert "fastnn._runtime" in names and len(names) > 10
    assert _runtime.isa()["modules"] == len(names) - 1  # all but _runtime, which owns it


def test_every_compiled_module_has_its_stub():
    """The .pyi beside each extension module is what type checkers read (CI's stubtest
    checks its contents against the module)."""
    import importlib
    import pkgutil

    for m in pkgutil.walk_packages(fastnn.__path__, "fastnn."):
        if not m.ispkg and _is_compiled(m):
            path = importlib.import_module(m.name).__file__
            stub = os.path.join(os.path.dirname(path), m.name.rsplit(".", 1)[1] + ".pyi")
            assert os.path.isfile(stub), stub
    assert os.path.isfile(os.path.join(os.path.dirname(fastnn.__file__), "py.typed"))


def _is_compiled(info):
    spec = info.module_finder.find_spec(info.name)
    return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)


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
