"""Native embedding lookup (src_c/embedding.c): ``out[s] = weight[indices[s]]``, and its
gradient, the rows of dy added into a dense (V, D) array.

Same signatures, validation and results as fastnn.reference.embedding, to the bit: the
backward splits the D columns over the threads and each thread adds the rows in the
order of the indices, so every element is summed in that order whatever the thread
count.
"""

from cython cimport floating

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["embedding_forward", "embedding_backward"]

V = Checks(all_finite)


cdef void _forward(const Py_ssize_t[::1] idx, Py_ssize_t d, const floating[::1] weight,
                   floating[::1] out):
    cdef int nt = current_num_threads()
    cdef Py_ssize_t n = idx.shape[0]
    with nogil:
        if floating is float:
            fnn_embedding_forward_f32(n, d, &idx[0], &weight[0], &out[0], nt)
        else:
            fnn_embedding_forward_f64(n, d, &idx[0], &weight[0], &out[0], nt)


cdef void _backward(const Py_ssize_t[::1] idx, Py_ssize_t v, Py_ssize_t d,
                    const floating[::1] dy, Py_ssize_t padding_idx, floating[::1] dweight):
    cdef int nt = current_num_threads()
    cdef Py_ssize_t n = idx.shape[0]
    with nogil:
        if floating is float:
            fnn_embedding_backward_f32(n, v, d, &idx[0], &dy[0], padding_idx, &dweight[0], nt)
        else:
            fnn_embedding_backward_f64(n, v, d, &idx[0], &dy[0], padding_idx, &dweight[0], nt)


def embedding_forward(indices, weight, *, out=None):
    """The rows of the table ``weight`` (V, D) at ``indices`` (any shape S, integers in
    [0, V), or floats holding them): ``out[s] = weight[indices[s]]``, of shape S + (D,).
    Returns out."""
    idx, weight, out = _inputs.embedding_forward_inputs(V, indices, weight, out)
    if out.size == 0:
        return out
    d = weight.shape[1]
    if weight.dtype.itemsize == 4:
        _forward[float](idx.reshape(-1), d, weight.reshape(-1), out.reshape(-1))
    else:
        _forward[double](idx.reshape(-1), d, weight.reshape(-1), out.reshape(-1))
    return out


def embedding_backward(dy, indices, num_embeddings, *, dweight=None, padding_idx=None):
    """Gradient of embedding_forward with respect to the table, given ``dy = dL/dout``
    (S + (D,)) for the same ``indices`` (S): ``dweight`` (num_embeddings, D) is zeroed,
    then ``dweight[indices[s]] += dy[s]`` for every s in order (repeated indices add up).
    The row ``padding_idx`` (if given) stays zero. The gradient is dense: only the rows
    of the indices seen are nonzero. Returns dweight."""
    dy, idx, num_embeddings, dweight, padding_idx = _inputs.embedding_backward_inputs(
        V, dy, indices, num_embeddings, dweight, padding_idx)
    if dweight.size == 0:
        return dweight
    if idx.size == 0:
        dweight.fill(0)
        return dweight
    d = dy.shape[dy.ndim - 1]
    pad = -1 if padding_idx is None else padding_idx
    if dy.dtype.itemsize == 4:
        _backward[float](idx.reshape(-1), num_embeddings, d, dy.reshape(-1), pad,
                         dweight.reshape(-1))
    else:
        _backward[double](idx.reshape(-1), num_embeddings, d, dy.reshape(-1), pad,
                          dweight.reshape(-1))
    return dweight
