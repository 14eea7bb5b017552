"""Switches (scikit-learn style): get_config / set_config / config_context.

``check_finite`` and ``pooled_conv`` are per thread (and per asyncio task):
``contextvars.ContextVar``s, so a ``config_context`` in one thread never changes what
another thread sees; a new thread starts from the defaults. ``isa`` and ``gemm`` choose
kernels in C state shared by the whole process, like the thread count. The environment
variables FASTNN_ISA and FASTNN_GEMM give ``isa`` and ``gemm`` their starting values (read
once, in src_c/cpu.c).
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

# Let a training plan run a float32 first convolution and the max pooling right after it
# as one in backward (ops.conv2d_pooled_backward): the same dW and db summed in another
# order, so not bit-identical to the per-layer path. Read when a plan is built.
POOLED_CONV = contextvars.ContextVar("fastnn.pooled_conv", default=True)
_PER_THREAD: dict[str, contextvars.ContextVar[bool]] = {
    "check_finite": CHECK_FINITE, "pooled_conv": POOLED_CONV}

_process: dict[str, str | None] = {
    # The instruction-set level the kernels may use ("avx512", "avx2", "neon", "generic";
    # None: what FASTNN_ISA asks, else the CPU's best). Lowering it runs the same
    # computation on other kernel variants (src_c/cpu.h), for tests and comparisons.
    "isa": None,
    # "blas": every matrix product to BLAS, fastnn's own product kernels off (None: what
    # FASTNN_GEMM asks; "fastnn": allowed). For comparisons and tests.
    "gemm": None,
}
_SETTINGS = ("check_finite", "pooled_conv", "isa", "gemm")


def get_config() -> dict[str, Any]:
    """Return a copy of fastnn's settings as this thread sees them."""
    return {**{k: v.get() for k, v in _PER_THREAD.items()}, **_process}


def set_config(check_finite: bool | None = None, isa: str | None = None,
               gemm: str | None = None, pooled_conv: bool | None = None) -> None:
    """Change settings; arguments left as None keep their value. ``check_finite`` and
    ``pooled_conv`` change for the calling thread only.

    ``check_finite``: scan the float inputs of every op for NaN/inf. ``pooled_conv``: a
    training plan may run a float32 first convolution and the max pooling after it as
    one in backward (faster; dW summed in another order than the per-layer path).

    ``isa``: run no kernel variant above this level ("avx512", "avx2", "neon",
    "generic"), or "auto" for the CPU's best (after FASTNN_ISA). A level this CPU cannot
    run raises ValueError. Process-wide, like the thread count: change it only while no
    fastnn call is running in another thread. ``gemm``: "blas" sends every matrix product
    to BLAS, "fastnn" lets fastnn's own kernels take the small ones, "auto" goes back to
    what FASTNN_GEMM asks. A training plan picks its path when it is built.
    """
    if check_finite is not None:
        CHECK_FINITE.set(bool(check_finite))
    if pooled_conv is not None:
        POOLED_CONV.set(bool(pooled_conv))
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
    tokens = [(var, var.set(var.get())) for var in _PER_THREAD.values()]
    set_config(**settings)
    try:
        yield
    finally:
        for var, token in tokens:
            var.reset(token)
        if "isa" in settings:
            set_config(isa=old["isa"] or "auto")
        if "gemm" in settings:
            set_config(gemm=old["gemm"] or "auto")
