"""Native fully connected layer: ``y = x @ w + b`` and its gradients.

The products go to BLAS (fastnn.ops.matmul); the bias broadcast and the bias
gradient are fastnn's own C loops (src_c/dense.c). All of it runs without the GIL.
"""

import numpy as np
from cython cimport floating

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks
from .matmul cimport blas_hold, blas_release, gemm_team_f32, gemm_team_f64
from .matmul import _check_blas_size

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

V = Checks(all_finite)

# Stand-ins for the arrays a call does not use (no bias, no dx, no db): typed memoryview
# arguments cannot be None.
_EMPTY32 = np.zeros(1, dtype=np.float32)
_EMPTY64 = np.zeros(1, dtype=np.float64)
_EMPTY32_2D = np.zeros((1, 1), dtype=np.float32)
_EMPTY64_2D = np.zeros((1, 1), dtype=np.float64)


cdef inline void _gemm(bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       floating alpha, const floating *a, const floating *b, floating beta,
                       floating *c) noexcept nogil:
    if floating is float:
        gemm_team_f32(ta, tb, m, n, k, alpha, a, b, beta, c)
    else:
        gemm_team_f64(ta, tb, m, n, k, alpha, a, b, beta, c)


cdef void _forward(const floating[:, ::1] x, const floating[:, ::1] w,
                   const floating[::1] b, bint has_bias, floating[:, ::1] y):
    cdef Py_ssize_t n = x.shape[0], k = x.shape[1], m = w.shape[1]
    cdef int nt = current_num_threads()
    cdef int held
    if n == 0 or m == 0:
        return
    with nogil:
        held = blas_hold()
        if has_bias:
            if floating is float:
                fnn_bias_rows_f32(n, m, &b[0], &y[0, 0], nt)
            else:
                fnn_bias_rows_f64(n, m, &b[0], &y[0, 0], nt)
        _gemm(False, False, n, m, k, <floating>1, &x[0, 0] if k else NULL,
              &w[0, 0] if k else NULL, <floating>(1 if has_bias else 0), &y[0, 0])
        blas_release(held)


cdef void _backward(const floating[:, ::1] x, const floating[:, ::1] w,
                    const floating[:, ::1] dy, floating[:, ::1] dx, bint want_dx,
                    floating[:, ::1] dw, floating[::1] db, bint want_db, bint accumulate):
    cdef Py_ssize_t n = x.shape[0], k = x.shape[1], m = w.shape[1]
    cdef int nt = current_num_threads()
    cdef floating beta = 1 if accumulate else 0
    cdef const floating *px = &x[0, 0] if x.size else NULL
    cdef const floating *pw = &w[0, 0] if w.size else NULL
    cdef const floating *pdy = &dy[0, 0] if dy.size else NULL
    cdef floating *pdw = &dw[0, 0] if dw.size else NULL
    cdef floating *pdx = &dx[0, 0] if want_dx and dx.size else NULL
    cdef int held
    with nogil:
        held = blas_hold()
        # dw (k, m) = x^T (k, n) @ dy (n, m)
        _gemm(True, False, k, m, n, <floating>1, px, pdy, beta, pdw)
        if want_db and m > 0:
            if floating is float:
                fnn_column_sums_f32(n, m, pdy, &db[0], accumulate, nt)
            else:
                fnn_column_sums_f64(n, m, pdy, &db[0], accumulate, nt)
        # dx (n, k) = dy (n, m) @ w^T (m, k)
        if want_dx:
            _gemm(False, True, n, k, m, <floating>1, pdy, pw, <floating>0, pdx)
        blas_release(held)


def dense_forward(x, w, b=None, *, out=None):
    """``y = x @ w + b`` for x (n, in), w (in, units), b (units,) or None. Returns y."""
    x, w, b, out = _inputs.dense_forward_inputs(V, x, w, b, out)
    _check_blas_size(*x.shape, *w.shape)
    has_bias = b is not None
    if x.dtype.itemsize == 4:
        _forward[float](x, w, b if has_bias else _EMPTY32, has_bias, out)
    else:
        _forward[double](x, w, b if has_bias else _EMPTY64, has_bias, out)
    return out


def dense_backward(
    x, w, dy, *, dx=None, dw=None, db=None, compute_dx=True, compute_db=True, accumulate=False
):
    """Gradients of ``y = x @ w + b`` given ``dy = dL/dy``. Returns ``(dx, dw, db)``.

    ``dx = dy @ w.T`` (None unless compute_dx), ``dw = x.T @ dy``,
    ``db = dy.sum(axis=0)`` (None unless compute_db). With ``accumulate=True``, dw
    and db are added into the arrays passed in (gradients of a shared weight are
    summed); dx is always overwritten.
    """
    x, w, dy, dx, dw, db = _inputs.dense_backward_inputs(
        V, x, w, dy, dx, dw, db, compute_dx, compute_db, accumulate
    )
    _check_blas_size(*x.shape, *w.shape)
    if x.dtype.itemsize == 4:
        _backward[float](x, w, dy, dx if compute_dx else _EMPTY32_2D, compute_dx, dw,
                         db if compute_db else _EMPTY32, compute_db, accumulate)
    else:
        _backward[double](x, w, dy, dx if compute_dx else _EMPTY64_2D, compute_dx, dw,
                          db if compute_db else _EMPTY64, compute_db, accumulate)
    return dx, dw, db

