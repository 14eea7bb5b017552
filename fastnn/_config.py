"""Global switches (scikit-learn style): get_config / set_config / config_context."""

from contextlib import contextmanager

from . import _runtime

_config = {
    # Scan float inputs of every op for NaN/inf and raise ValueError. A native scan is
    # one pass over memory; turn it off only when the inputs are known to be clean.
    "check_finite": True,
    # The instruction-set level the kernels may use ("avx512", "avx2", "neon", "generic";
    # None: what FASTNN_ISA asks, else the CPU's best). Lowering it runs the same
    # computation on other kernel variants (src_c/cpu.h), for tests and comparisons.
    "isa": None,
    # "blas": every matrix product to BLAS, fastnn's own product kernels off (None: what
    # FASTNN_GEMM asks; "fastnn": allowed). For comparisons and tests.
    "gemm": None,
}


def get_config():
    """Return a copy of fastnn's global settings."""
    return dict(_config)


def set_config(check_finite=None, isa=None, gemm=None):
    """Change global settings; arguments left as None keep their value.

    ``isa``: run no kernel variant above this level ("avx512", "avx2", "neon",
    "generic"), or "auto" for the CPU's best (after FASTNN_ISA). A level this CPU cannot
    run raises ValueError. Process-wide, like the thread count: change it only while no
    fastnn call is running in another thread. ``gemm``: "blas" sends every matrix product
    to BLAS, "fastnn" lets fastnn's own kernels take the small ones, "auto" goes back to
    what FASTNN_GEMM asks. A training plan picks its path when it is built.
    """
    if check_finite is not None:
        _config["check_finite"] = bool(check_finite)
    if isa is not None:
        _runtime.force_isa(isa)
        _config["isa"] = None if isa == "auto" else isa
    if gemm is not None:
        _runtime.force_gemm(gemm)
        _config["gemm"] = None if gemm == "auto" else gemm


@contextmanager
def config_context(**settings):
    """Temporarily change settings: ``with fastnn.config_context(check_finite=False): ...``."""
    unknown = set(settings) - set(_config)
    if unknown:
        raise TypeError(f"unknown fastnn setting(s): {sorted(unknown)}; known: {sorted(_config)}")
    old = get_config()
    set_config(**settings)
    try:
        yield
    finally:
        _config["check_finite"] = old["check_finite"]
        if "isa" in settings:
            set_config(isa=old["isa"] or "auto")
        if "gemm" in settings:
            set_config(gemm=old["gemm"] or "auto")
