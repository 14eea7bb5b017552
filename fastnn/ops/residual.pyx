"""Native residual add (src_c/residual.c): ``out = a + b`` elementwise, the join of a
residual connection (its backward is an add too). Bit-identical to
fastnn.reference.residual; out may be a or b.
"""

from cython cimport floating

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["residual_add"]

V = Checks(all_finite)


cdef void _add(const floating[::1] a, const floating[::1] b, floating[::1] out):
    cdef int nt = current_num_threads()
    cdef Py_ssize_t n = a.shape[0]
    with nogil:
        if floating is float:
            fnn_residual_add_f32(n, &a[0], &b[0], &out[0], nt)
        else:
            fnn_residual_add_f64(n, &a[0], &b[0], &out[0], nt)


def residual_add(a, b, *, out=None):
    """``out = a + b`` for two arrays of the same shape and dtype. Returns out."""
    a, b, out = _inputs.residual_inputs(V, a, b, out)
    if a.size == 0:
        return out
    if a.dtype.itemsize == 4:
        _add[float](a.reshape(-1), b.reshape(-1), out.reshape(-1))
    else:
        _add[double](a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out
