"""One thread budget for fastnn's OpenMP loops and for BLAS."""

from __future__ import annotations

import os

from . import _runtime
from ._validation import integer

_requested: int | None = None
_forked = False


def set_num_threads(n: int) -> None:
    """Use at most ``n`` threads in fastnn's kernels and in the BLAS they call.

    fastnn's OpenMP loops take ``n`` as an explicit argument (the process-wide OpenMP
    setting is left alone), and the BLAS libraries loaded in the process (SciPy's and
    numpy's OpenBLAS, MKL, ...) are limited to ``n`` through threadpoolctl. fastnn never
    calls BLAS from inside one of its own parallel regions, so at most ``n`` threads
    compute at any moment. In a build without OpenMP the kernels stay serial.
    """
    global _requested
    n = integer("n", n, lo=1)
    if _forked and n > 1 and _runtime.openmp_version():
        import warnings

        warnings.warn("fastnn: this process was forked from one that had started OpenMP "
                      "threads; it stays on one thread (a parallel region would hang). Use "
                      "multiprocessing's 'spawn' or 'forkserver' start method for parallel "
                      "children.", RuntimeWarning, stacklevel=2)
        n = 1
    from threadpoolctl import threadpool_limits

    _runtime._set_native_threads(n)
    threadpool_limits(limits=n, user_api="blas")
    _requested = n


def get_num_threads() -> int:
    """The thread budget set by :func:`set_num_threads` (by default the number of
    threads OpenMP would use, i.e. ``OMP_NUM_THREADS`` or the CPUs available)."""
    return _requested if _requested is not None else default_num_threads()


def default_num_threads() -> int:
    if _runtime.openmp_version():
        return _runtime.openmp_max_threads()
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _one_thread_after_fork() -> None:
    """A child made by fork() runs fastnn on one thread. GNU OpenMP's worker threads do
    not survive fork(): the child's first parallel region would wait for them forever.
    On one thread fastnn never enters the OpenMP runtime (and holds SciPy's BLAS at one
    thread), so a forked child computes correctly, serially. Use the "spawn" or
    "forkserver" start method of multiprocessing for parallel children."""
    global _requested, _forked
    _runtime._set_native_threads(1)
    _requested = 1
    _forked = True


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_one_thread_after_fork)
