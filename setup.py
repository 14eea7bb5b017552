"""Build script for fastnn's native extensions.

Project metadata lives in pyproject.toml; this file only describes the
Cython extensions and the compiler flags they need.

Environment switches
--------------------
FASTNN_NO_OPENMP=1   build without OpenMP (serial kernels; a warning is printed)
FASTNN_NATIVE=1      add -march=native (local builds only: the result is not portable)
FASTNN_DEBUG=1       -O0 -g and Cython bounds checks, for debugging crashes
FASTNN_BUILD_JOBS=N  compile with N parallel jobs (default: every CPU; `build_ext -j N`
                     overrides it). pip runs build_ext without -j, so this default is
                     what makes `pip install .` compile in parallel.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_C = "src_c"


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


# Each extension lists the plain-C kernel files it compiles in. Kernels take the
# thread count as an argument; the one piece of C state, the CPU description (cpu.c),
# is linked into every extension (the dispatch tables and the per-level leaves read the
# level in force), owned by fastnn._runtime and shared with every other module at import.
# The instruction sets with kernel variants: one folder each under src_c/arch/ (each file
# compiles to nothing on another architecture).
ARCHES = ("avx512", "avx2", "neon")
# The gemm family: its table, and the generated files of every instruction set.
GEMM = ["gemm_variants.c"] + [f"arch/{a}/gemm_{dt}.c" for a in ARCHES
                                       for dt in ("f32", "f64")]
# The optimizers with the adam family's variants.
OPTIMIZERS = ["optimizers.c"] + [f"arch/{a}/adam_f32.c" for a in ARCHES]
# The maxpool2x2 family.
POOL = ["pool_variants.c"] + [f"arch/{a}/maxpool2x2_f32.c" for a in ARCHES]
# The conv family (direct and implicit-GEMM kernels), over the gemm family for im2col.
CONV = ["conv.c", "conv_variants.c"] + [f"arch/{a}/conv_f32.c" for a in ARCHES]
EXTENSIONS = {
    "fastnn._runtime": ["runtime.c"],
    "fastnn.ops.matmul": ["matmul.c", *GEMM],
    "fastnn.ops.dense": ["dense.c"],
    "fastnn.ops.activations": ["activations.c"],
    "fastnn.ops.dropout": ["dropout.c"],
    "fastnn.ops.conv": [*CONV, "matmul.c", *GEMM],
    "fastnn.ops.pool": ["pool.c", *POOL],
    "fastnn.ops.batchnorm": ["batchnorm.c"],
    "fastnn.ops.residual": ["residual.c"],
    "fastnn.ops.losses": ["losses.c"],
    "fastnn.ops.optimizers": [*OPTIMIZERS],
    "fastnn._plan": ["plan.c", "matmul.c", *GEMM, "runtime.c", "activations.c", "dense.c",
                     "dropout.c", *CONV, "losses.c", *OPTIMIZERS,
                     "pool.c", *POOL, "batchnorm.c", "residual.c"],
}

OPENMP_PROBE = textwrap.dedent(
    """\
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n == omp_get_max_threads() ? 1 : 0);
        return 0;
    }
    """
)


def _try_build(compiler, code, compile_args, link_args, run=True):
    """Compile, link and (optionally) run a tiny C program; True on success."""
    tmp = tempfile.mkdtemp(prefix="fastnn-probe-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(code)
        # Compiler chatter from a failed probe is expected; keep the build log readable.
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(2)
        os.dup2(devnull, 2)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=compile_args)
            exe = os.path.join(tmp, "probe")
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=link_args)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
        if run:
            out = subprocess.run([exe], capture_output=True, text=True, timeout=60)
            return out.returncode == 0 and out.stdout.strip() == "1"
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _openmp_candidates(compiler):
    if compiler.compiler_type == "msvc":
        return [(["/openmp"], [])]
    if sys.platform == "darwin":
        # Apple clang: OpenMP comes from a separately installed libomp.
        return [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    return [(["-fopenmp"], ["-fopenmp"])]


def _build_jobs():
    jobs = os.environ.get("FASTNN_BUILD_JOBS", "").strip()
    return int(jobs) if jobs.isdigit() and int(jobs) > 0 else (os.cpu_count() or 1)


class BuildExt(build_ext):
    """build_ext that probes the compiler for OpenMP before compiling."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = _build_jobs()

    def build_extensions(self):
        compiler = self.compiler
        is_msvc = compiler.compiler_type == "msvc"
        compile_args, link_args, macros = [], [], []

        if is_msvc:
            compile_args += ["/O2", "/fp:precise"]
        elif _env_flag("FASTNN_DEBUG"):
            compile_args += ["-O0", "-g"]
        else:
            # -fno-math-errno lets sqrt become one instruction, so loops that use it vectorize.
            # -g0: no debug sections (Python's own CFLAGS carry -g); they tripled the
            # size of the wheel.
            compile_args += ["-O3", "-fno-math-errno", "-g0"]

        if _env_flag("FASTNN_NATIVE") and not is_msvc:
            compile_args.append("-march=native")

        openmp = None
        if _env_flag("FASTNN_NO_OPENMP"):
            reason = "FASTNN_NO_OPENMP is set"
        else:
            reason = "the compiler could not build and run an OpenMP test program"
            for c_args, l_args in _openmp_candidates(compiler):
                if _try_build(compiler, OPENMP_PROBE, c_args, l_args):
                    openmp = (c_args, l_args)
                    break
        if openmp is not None:
            compile_args += openmp[0]
            link_args += openmp[1]
        else:
            warnings.warn(
                f"fastnn: building WITHOUT OpenMP ({reason}); the kernels will run on one thread.",
                stacklevel=1,
            )
            print(f"*** fastnn: OpenMP disabled ({reason}); building a serial version ***")
            # Keep `#pragma omp simd` vectorization when the compiler offers it on its own.
            if not is_msvc and _try_build(
                compiler, "int main(void){return 0;}\n", ["-fopenmp-simd"], [], run=False
            ):
                compile_args.append("-fopenmp-simd")

        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args or []) + compile_args
            ext.extra_link_args = list(ext.extra_link_args or []) + link_args
            ext.define_macros = list(ext.define_macros or []) + macros
        self._compile_shared_sources(compile_args)
        super().build_extensions()

    def _compile_shared_sources(self, compile_args):
        """Compile each src_c file once and link its object into every extension that
        lists it (the generated gemm files alone are listed by three). Each extension
        still gets its own copy of the code and of cpu.c's state, as with per-extension
        compiles. Only the extensions build_ext is about to rebuild are considered."""
        from concurrent.futures import ThreadPoolExecutor

        from setuptools._distutils.dep_util import newer_group

        stale = [e for e in self.extensions
                 if self.force or newer_group(list(e.sources) + list(e.depends or []),
                                              self.get_ext_fullpath(e.name), "newer")]
        shared = sorted({s for e in stale for s in e.sources if s.endswith(".c")
                         and os.path.normpath(s).startswith(SRC_C + os.sep)})
        if not shared:
            return
        ext0 = stale[0]

        def compile_one(src):
            return src, self.compiler.compile(
                [src], output_dir=self.build_temp, macros=ext0.define_macros,
                include_dirs=ext0.include_dirs, extra_postargs=ext0.extra_compile_args,
                depends=ext0.depends)[0]

        with ThreadPoolExecutor(max_workers=max(1, self.parallel or 1)) as pool:
            objects = dict(pool.map(compile_one, shared))
        for e in stale:
            e.extra_objects = list(e.extra_objects or []) + [objects[s] for s in e.sources
                                                             if s in objects]
            e.sources = [s for s in e.sources if s not in objects]


def _c_sources():
    """Every C source and header under src_c (a change to any rebuilds the extensions)."""
    found = []
    for root, _dirs, files in os.walk(os.path.join(HERE, SRC_C)):
        found += [os.path.relpath(os.path.join(root, f), HERE) for f in files
                  if f.endswith((".c", ".h"))]
    return sorted(found)


def _extensions():
    import numpy
    from Cython.Build import cythonize

    exts = []
    for name, c_files in EXTENSIONS.items():
        pyx = name.replace(".", "/") + ".pyx"
        c_files = [*dict.fromkeys(c_files), "cpu.c"]
        exts.append(
            Extension(
                name,
                sources=[pyx] + [os.path.join(SRC_C, f) for f in c_files],
                include_dirs=[SRC_C, numpy.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                depends=_c_sources(),
            )
        )
    debug = _env_flag("FASTNN_DEBUG")
    return cythonize(
        exts,
        nthreads=_build_jobs() if sys.platform.startswith("linux") else 0,  # fork; spawn would rerun setup.py
        compiler_directives={
            "language_level": 3,
            "boundscheck": debug,
            "wraparound": False,
            "initializedcheck": debug,
            "cdivision": True,
            "embedsignature": True,
        },
    )


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
