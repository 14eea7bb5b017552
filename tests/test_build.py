"""The build itself: OpenMP on or off as CI expects, SIMD clones, kernels listed."""

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


def test_simd_choice_is_one_of_the_compiled_clones():
    cfg = fastnn._info.config()
    assert cfg["simd"]["chosen"] in cfg["simd"]["compiled"]
    if "avx512f" in cfg["cpu_features"] and len(cfg["simd"]["compiled"]) > 1:
        assert cfg["simd"]["chosen"] == "avx512f"


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
