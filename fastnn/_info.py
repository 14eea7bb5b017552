"""show_config(): what this fastnn was built with and what it runs on."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from typing import Any, TextIO, cast

from . import _runtime
from ._kernels import KERNELS
from ._threads import get_num_threads
from ._version import __version__

_OPENMP_SPEC = {201107: "3.1", 201307: "4.0", 201511: "4.5", 201811: "5.0", 202011: "5.1",
                202111: "5.2"}
_FEATURES = ("sse4.2", "avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _threadpools() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return cast("list[dict[str, Any]]", threadpool_info())  # threadpoolctl is untyped


def _small_products() -> str:
    from .ops.matmul import own_kernels

    skip = ("the training plan's first dense layer skips input columns that are zero in "
            "the whole batch (batches of up to 128 rows, 256 on one thread, on the "
            "gemm variant; other batches, "
            "for a layer of 64+ units, through BLAS with k = the active columns; "
            "FASTNN_GEMM=blas turns this off)")
    variant = own_kernels()
    if variant:
        return (f"fastnn's {variant} kernels: float32 and float64, 3-64 batch rows, and the "
                "sample blocks of float32 convolutions with up to 64 filters; " + skip)
    if _runtime.isa()["gemm_blas"]:
        return "BLAS (FASTNN_GEMM=blas)"
    return "BLAS (no gemm variant runs at this level); " + skip


def _families() -> list[dict[str, Any]]:
    """Each kernel family's variants, the one chosen and why (fastnn._variants)."""
    from . import _variants
    from .ops import conv, matmul, optimizers, pool

    state = _runtime.isa()
    out = []
    for mod in (matmul, conv, pool, optimizers):
        rec = mod.variants()
        rec["why"] = _variants.why(rec, state["level"], state["gemm_blas"])
        out.append(rec)
    return out


def _gemm_path() -> dict[str, Any]:
    from .ops.matmul import blas_control

    ctl = blas_control()
    if ctl["library"]:
        return {"path": "scipy.linalg.cython_blas, split across fastnn's OpenMP team",
                "small_products": _small_products(),
                "blas_threads_inside_fastnn": 1, "control": ctl["symbol"]}
    return {"path": "scipy.linalg.cython_blas, threaded by the BLAS itself (no thread "
                    "control found for this BLAS)", "blas_threads_inside_fastnn": None,
            "small_products": _small_products(), "control": None}


def config() -> dict[str, Any]:
    """Return the build and runtime configuration as a dict (what show_config prints)."""
    import numpy
    import scipy

    from . import ops, reference

    omp = _runtime.openmp_version()
    pools = _threadpools()
    return {
        "fastnn": __version__,
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_features": [f for f in _FEATURES if _runtime.cpu_supports(f)],
        "compiler": _runtime.compiler(),
        "openmp": {
            "enabled": bool(omp),
            "version": f"{_OPENMP_SPEC.get(omp, omp)} ({omp})" if omp else None,
            "runtime": [
                {"library": p.get("prefix"), "version": p.get("version"), "path": p.get("filepath")}
                for p in pools if p.get("user_api") == "openmp"
            ],
        },
        "threads": get_num_threads(),
        "blas": [
            {
                "library": p.get("internal_api"),
                "version": p.get("version"),
                "core_type": p.get("architecture"),
                "threading": p.get("threading_layer"),
                "threads": p.get("num_threads"),
                "path": p.get("filepath"),
            }
            for p in pools if p.get("user_api") == "blas"
        ],
        "gemm": _gemm_path(),
        "leaves": {"compiled": _runtime.leaf_levels(), "chosen": _runtime.leaf_level()},
        "isa": _runtime.isa(),
        "families": _families(),
        "kernels": {
            family: {
                name: {
                    "native": f"fastnn.ops.{family}.{name}" if hasattr(ops, name) else None,
                    "reference": f"fastnn.reference.{family}.{name}" if hasattr(reference, name) else None,
                }
                for name in names
            }
            for family, names in KERNELS.items()
        },
    }


def show_config(file: TextIO | None = None) -> None:
    """Print fastnn's build and runtime configuration (returns nothing)."""
    c = config()
    out = file or sys.stdout
    w: Callable[[str], None] = lambda *a: print(*a, file=out)  # noqa: E731
    w(f"fastnn {c['fastnn']}  (python {c['python']}, numpy {c['numpy']}, scipy {c['scipy']})")
    w(f"platform : {c['platform']}")
    w(f"cpu      : {c['cpu']}")
    w(f"features : {' '.join(c['cpu_features']) or '-'}")
    w(f"compiler : {c['compiler']}")
    o = c["openmp"]
    if o["enabled"]:
        rt = ", ".join(f"{r['library']} {r['version'] or ''} ({r['path']})" for r in o["runtime"])
        w(f"openmp   : on, OpenMP {o['version']}; runtime {rt or 'not loaded yet'}")
    else:
        w("openmp   : off (serial build)")
    w(f"threads  : {c['threads']} (fastnn.set_num_threads)")
    for b in c["blas"] or [{"library": "none loaded", "version": "", "core_type": "",
                            "threading": "", "threads": "", "path": ""}]:
        w(f"blas     : {b['library']} {b['version']}, core type {b['core_type']}, "
          f"{b['threading']} threading, {b['threads']} threads ({b['path']})")
    g = c["gemm"]
    w(f"gemm     : {g['path']}" + (f" (BLAS held at 1 thread via {g['control']})"
                                   if g["control"] else ""))
    w(f"small    : {g['small_products']}")
    w(f"leaves   : compiled {', '.join(c['leaves']['compiled'])}; chosen {c['leaves']['chosen']} "
      "(the compiler-vectorized loops; they follow the isa level)")
    isa = c["isa"]
    w(f"isa      : {isa['level']} (this CPU runs {', '.join(isa['levels'])}; FASTNN_ISA or "
      f"fastnn.set_config(isa=...) lowers it){'; ' + isa['note'] if isa['note'] else ''}")
    w("variants : (hand-written kernels per instruction set; chosen <- why)")
    for f in c["families"]:
        names = [v["name"] + ("" if v["compiled"] else " (not compiled)")
                 + ("" if v["cpu_runs"] else " (not on this CPU)") for v in f["variants"]]
        w(f"  {f['family'] + ':':<12} {', '.join(names) or '-'}; else {f['fallback']}")
        w(f"  {'':<12} chosen <- {f['why']}")
    w("kernels  : (native | numpy twin)")
    for family, kernels in c["kernels"].items():
        names = [n + ("" if k["native"] and k["reference"] else " (MISSING TWIN)")
                 for n, k in kernels.items()]
        w(f"  {family:<12} {', '.join(names)}")
