"""One record per kernel family for ``fastnn info`` and the tests: the variants compiled
into this build, the instruction set each needs, whether this CPU runs it, and the one in
use at the level in force (fastnn._runtime.isa)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def family(name: str, fallback: str, variants: Iterable[tuple[str, str, int, int]],
           chosen: str | None) -> dict[str, Any]:
    """variants: [(variant name, isa it needs, compiled, cpu runs it)], best first;
    chosen: the variant name in use now, or None (the fallback runs)."""
    return {"family": name, "fallback": fallback, "chosen": chosen,
            "variants": [{"name": v, "needs": isa, "compiled": bool(comp), "cpu_runs": bool(runs)}
                         for v, isa, comp, runs in variants]}


def why(rec: Mapping[str, Any], level: str, gemm_blas: bool) -> str:
    """A short reason for the family's choice, for ``fastnn info``."""
    if rec["chosen"]:
        return f"{rec['chosen']}: the best variant for level {level}"
    if gemm_blas and any(v["cpu_runs"] for v in rec["variants"]):
        return f"{rec['fallback']} (FASTNN_GEMM=blas)"
    if any(v["cpu_runs"] for v in rec["variants"]):
        return f"{rec['fallback']} (level {level} is below every variant)"
    return f"{rec['fallback']} (no variant for this CPU)"
