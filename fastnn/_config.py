"""Switches (scikit-learn style): get_config / set_config / config_context.

``check_finite`` is per thread (and per asyncio task): a ``contextvars.ContextVar``, so a
``config_context`` in one thread never changes what another thread sees; a new thread
starts from the default. ``isa`` and ``gemm`` choose kernels in C state shared by the
whole process, like the thread count.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import _runtime

# Scan float inputs of every op for NaN/inf and raise ValueError. A native scan is one
# pass over memory; turn it off only when the inputs are known to be clean.
CHECK_FINITE = contextvars.ContextVar("fastnn.check_finite", default=True)

_process: dict[str, str | None] = {
    # The instruction-set level the kernels may use ("avx512", "avx2", "neon", "generic";
    # None: what FASTNN_ISA asks, else the CPU's best). Lowering it runs the same
    # computation on other kernel variants (src_c/cpu.h), for tests and comparisons.
    "isa": None,
    # "blas": every matrix product to BLAS, fastnn's own product kernels off (None: what
    # FASTNN_GEMM asks; "fastnn": allowed). For comparisons and tests.
    "gemm": None,
}
_SETTINGS = ("check_finite", "isa", "gemm")


def get_config() -> dict[str, Any]:
    """Return a copy of fastnn's settings as this thread sees them."""
    return {"check_finite": CHECK_FINITE.get(), **_process}


def set_config(check_finite: bool | None = None, isa: str | None = None,
               gemm: str | None = None) -> None:
    """Change settings; arguments left as None keep their value. ``check_finite`` changes
    for the calling thread only.

    ``isa``: run no kernel variant above this level ("avx512", "avx2", "neon",
    "generic"), or "auto" for the CPU's best (after FASTNN_ISA). A level this CPU cannot
    run raises ValueError. Process-wide, like the thread count: change it only while no
    fastnn call is running in another thread. ``gemm``: "blas" sends every matrix product
    to BLAS, "fastnn" lets fastnn's own kernels take the small ones, "auto" goes back to
    what FASTNN_GEMM asks. A training plan picks its path when it is built.
    """
    if check_finite is not None:
        CHECK_FINITE.set(bool(check_finite))
    if isa is not None:
        _runtime.force_isa(isa)
        _process["isa"] = None if isa == "auto" else isa
    if gemm is not None:
        _runtime.force_gemm(gemm)
        _process["gemm"] = None if gemm == "auto" else gemm


@contextmanager
def config_context(**settings: Any) -> Iterator[None]:
    """Temporarily change settings: ``with fastnn.config_context(check_finite=False): ...``
    (``check_finite`` for this thread only; see set_config)."""
    unknown = set(settings) - set(_SETTINGS)
    if unknown:
        raise TypeError(f"unknown fastnn setting(s): {sorted(unknown)}; known: {sorted(_SETTINGS)}")
    old = get_config()
    token = CHECK_FINITE.set(CHECK_FINITE.get())
    set_config(**settings)
    try:
        yield
    finally:
        CHECK_FINITE.reset(token)
        if "isa" in settings:
            set_config(isa=old["isa"] or "auto")
        if "gemm" in settings:
            set_config(gemm=old["gemm"] or "auto")
