"""One thread budget for fastnn's OpenMP loops and for BLAS."""

import os

from . import _runtime
from ._validation import integer

_requested = None


def set_num_threads(n):
    """Use at most ``n`` threads in fastnn's kernels and in the BLAS they call.

    fastnn's OpenMP loops take ``n`` as an explicit argument (the process-wide OpenMP
    setting is left alone), and the BLAS libraries loaded in the process (SciPy's and
    numpy's OpenBLAS, MKL, ...) are limited to ``n`` through threadpoolctl. fastnn never
    calls BLAS from inside one of its own parallel regions, so at most ``n`` threads
    compute at any moment. In a build without OpenMP the kernels stay serial.
    """
    global _requested
    n = integer("n", n, lo=1)
    from threadpoolctl import threadpool_limits

    _runtime._set_native_threads(n)
    threadpool_limits(limits=n, user_api="blas")
    _requested = n


def get_num_threads():
    """The thread budget set by :func:`set_num_threads` (by default the number of
    threads OpenMP would use, i.e. ``OMP_NUM_THREADS`` or the CPUs available)."""
    return _requested if _requested is not None else default_num_threads()


def default_num_threads():
    if _runtime.openmp_version():
        return _runtime.openmp_max_threads()
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
