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
    const char *fnn_simd_clones()
    const char *fnn_simd_chosen()
    int fnn_cpu_supports(const char *feature)
    int fnn_all_finite_f32(Py_ssize_t n, const float *x, int n_threads)
    int fnn_all_finite_f64(Py_ssize_t n, const double *x, int n_threads)

cdef int _num_threads = max(1, fnn_openmp_max_threads())


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


def simd_clones():
    return fnn_simd_clones().decode().split(",")


def simd_chosen():
    return fnn_simd_chosen().decode()


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
