"""Process-wide native state: the thread budget, build facts, finiteness check.

The thread count is one number, set by :func:`fastnn.set_num_threads`. Native
kernels receive it as an explicit ``n_threads`` argument (they never read the
OpenMP global), and the BLAS thread pools are limited to the same number through
threadpoolctl, so fastnn's own parallel loops and BLAS calls, which never run at
the same time, each use at most that many threads.
"""

cdef extern from "runtime.h" nogil:
    int fnn_openmp_version()
    int fnn_openmp_max_threads()
    const char *fnn_compiler()
    const char *fnn_leaf_levels()
    const char *fnn_leaf_level()
    int fnn_cpu_supports(const char *feature)
    int fnn_all_finite_f32(Py_ssize_t n, const float *x, int n_threads)
    int fnn_all_finite_f64(Py_ssize_t n, const double *x, int n_threads)

cdef extern from "cpu.h" nogil:
    ctypedef struct fnn_cpu_fields "fnn_cpu":
        int detected
        int level
        int gemm_blas
        char note[200]
        int bound
    fnn_cpu *fnn_cpu_state()
    int fnn_cpu_force(int level)
    void fnn_cpu_force_gemm_blas(int on)
    const char *fnn_isa_name(int isa)
    int fnn_isa_from_name(const char *name)
    int fnn_isa_runs(int isa)
    int fnn_isa_runnable(int level)
    int FNN_ISA_COUNT

cdef int _num_threads = max(1, fnn_openmp_max_threads())


cdef fnn_cpu *shared_cpu() noexcept nogil:
    return fnn_cpu_state()


def isa():
    """The instruction-set level the kernels run at (src_c/cpu.h), as a dict:
    ``detected`` (the best this CPU runs), ``level`` (in force: lower when forced by
    FASTNN_ISA or ``fastnn.set_config(isa=...)``), ``levels`` (every level this CPU can
    be forced to, best first), ``gemm_blas`` (FASTNN_GEMM=blas), ``note`` (why) and
    ``modules`` (how many other compiled modules share this state)."""
    cdef fnn_cpu_fields *c = <fnn_cpu_fields *>fnn_cpu_state()
    levels = [fnn_isa_name(i).decode() for i in range(FNN_ISA_COUNT - 1, -1, -1)
              if fnn_isa_runnable(i)]
    return {"detected": fnn_isa_name(c.detected).decode(), "level": fnn_isa_name(c.level).decode(),
            "levels": levels, "gemm_blas": bool(c.gemm_blas), "note": c.note.decode(),
            "modules": c.bound}


def force_gemm(name):
    """"blas": every product to BLAS (fastnn's own product kernels off), "fastnn": they
    may run, None or "auto": what FASTNN_GEMM asks. Process-wide, like force_isa."""
    if name is None or name == "auto":
        fnn_cpu_force_gemm_blas(-1)
    elif name == "blas" or name == "fastnn":
        fnn_cpu_force_gemm_blas(name == "blas")
    else:
        raise ValueError(f"gemm must be 'blas', 'fastnn' or 'auto', not {name!r}")


def force_isa(name):
    """Run no kernel variant above the level ``name`` ("avx512", "avx2", "neon",
    "generic"); None or "auto" goes back to what FASTNN_ISA asks (or the CPU's best).
    Process-wide: change it only while no fastnn call is running."""
    cdef int level = -1
    if name is not None and name != "auto":
        level = fnn_isa_from_name(str(name).encode())
        if level < 0:
            raise ValueError(f"unknown instruction-set level {name!r}; known: avx512, avx2, "
                             "neon, generic, auto")
    if fnn_cpu_force(level) != 0:
        raise ValueError(f"this CPU cannot run {name!r}: it runs {isa()['levels']}")


cdef int current_num_threads() noexcept nogil:
    return _num_threads


def _set_native_threads(int n):
    global _num_threads
    if fnn_openmp_version() == 0:
        n = 1  # a serial build has one thread whatever is asked
    _num_threads = n


def _get_native_threads():
    return _num_threads


def openmp_version():
    """The ``_OPENMP`` value the kernels were compiled with (yyyymm), 0 if serial."""
    return fnn_openmp_version()


def openmp_max_threads():
    return fnn_openmp_max_threads()


def compiler():
    return fnn_compiler().decode()


def leaf_levels():
    """The levels the compiler-vectorized loops are built for, best first."""
    return fnn_leaf_levels().decode().split(",")


def leaf_level():
    """The build of the compiler-vectorized loops in force (follows the forced level)."""
    return fnn_leaf_level().decode()


def cpu_supports(str feature):
    return bool(fnn_cpu_supports(feature.encode()))


def all_finite(x):
    """True if the C-contiguous float32/float64 array ``x`` has no NaN or inf."""
    cdef const float[::1] x32
    cdef const double[::1] x64
    cdef int ok
    flat = x.reshape(-1)
    if flat.dtype.itemsize == 4:
        x32 = flat
        with nogil:
            ok = fnn_all_finite_f32(x32.shape[0], &x32[0] if x32.shape[0] else NULL, _num_threads)
    else:
        x64 = flat
        with nogil:
            ok = fnn_all_finite_f64(x64.shape[0], &x64[0] if x64.shape[0] else NULL, _num_threads)
    return bool(ok)
