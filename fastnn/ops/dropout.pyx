"""Native inverted dropout (src_c/dropout.c), bit-identical to fastnn.reference.dropout.

The keep/drop decision for element i is a hash of (seed, offset + i), so a layer that
advances ``offset`` by the number of elements after each call gets a fresh mask per
batch, reproducible on any thread count and in both twins.
"""

from libc.stdint cimport uint64_t

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["dropout_forward", "dropout_backward"]

V = Checks(all_finite)


def dropout_forward(x, rate, seed, offset=0, *, out=None, mask=None):
    """Inverted dropout: returns ``(y, mask)`` with ``mask`` = 1/(1-rate) for kept
    elements and 0 for dropped ones, and ``y = x * mask``."""
    x, rate, seed, offset, out, mask = _inputs.dropout_inputs(V, x, rate, seed, offset, out, mask)
    cdef Py_ssize_t n = x.size
    cdef int nt = current_num_threads()
    cdef double r = rate
    cdef uint64_t s = seed, off = offset
    cdef const float[::1] x32
    cdef float[::1] y32, m32
    cdef const double[::1] x64
    cdef double[::1] y64, m64
    if n == 0:
        return out, mask
    if x.dtype.itemsize == 4:
        x32, y32, m32 = x.reshape(-1), out.reshape(-1), mask.reshape(-1)
        with nogil:
            fnn_dropout_forward_f32(n, &x32[0], &y32[0], &m32[0], r, s, off, nt)
    else:
        x64, y64, m64 = x.reshape(-1), out.reshape(-1), mask.reshape(-1)
        with nogil:
            fnn_dropout_forward_f64(n, &x64[0], &y64[0], &m64[0], r, s, off, nt)
    return out, mask


def dropout_backward(dy, mask, *, out=None):
    """``dx = dy * mask`` (the mask returned by dropout_forward)."""
    dy, mask, out = _inputs.dropout_backward_inputs(V, dy, mask, out)
    cdef Py_ssize_t n = dy.size
    cdef int nt = current_num_threads()
    cdef const float[::1] g32, m32
    cdef float[::1] d32
    cdef const double[::1] g64, m64
    cdef double[::1] d64
    if n == 0:
        return out
    if dy.dtype.itemsize == 4:
        g32, m32, d32 = dy.reshape(-1), mask.reshape(-1), out.reshape(-1)
        with nogil:
            fnn_dropout_backward_f32(n, &g32[0], &m32[0], &d32[0], nt)
    else:
        g64, m64, d64 = dy.reshape(-1), mask.reshape(-1), out.reshape(-1)
        with nogil:
            fnn_dropout_backward_f64(n, &g64[0], &m64[0], &d64[0], nt)
    return out
