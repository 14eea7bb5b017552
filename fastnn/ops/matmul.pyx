"""Native GEMM: row-major matrix products through SciPy's BLAS (cython_blas).

BLAS is column-major. A row-major matrix is the transpose of the same memory read
column-major, so the row-major product C = op(A) op(B) is computed as the
column-major product C^T = op(B)^T op(A)^T: swap the operands, swap m and n, and
keep each operand's transpose flag.
"""

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm

from .. import _inputs
from .._runtime import all_finite
from .._validation import Checks

V = Checks(all_finite)

cdef int INT_MAX = 2147483647


cdef inline void gemm_rowmajor(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n,
                        Py_ssize_t k, floating alpha, const floating *a,
                        const floating *b, floating beta, floating *c) noexcept nogil:
    cdef char ta = b't' if trans_a else b'n'
    cdef char tb = b't' if trans_b else b'n'
    # Leading dimension = length of a stored row; BLAS wants it >= 1 even when empty.
    cdef int lda = <int>max(1, m if trans_a else k)
    cdef int ldb = <int>max(1, k if trans_b else n)
    cdef int ldc = <int>max(1, n)
    cdef int mi = <int>m, ni = <int>n, ki = <int>k
    cdef Py_ssize_t i
    if m == 0 or n == 0:
        return
    if k == 0:  # empty sum: C = beta * C
        for i in range(m * n):
            c[i] = 0 if beta == 0 else beta * c[i]
        return
    if floating is float:
        sgemm(&tb, &ta, &ni, &mi, &ki, &alpha, <float *>b, &ldb, <float *>a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &ni, &mi, &ki, &alpha, <double *>b, &ldb, <double *>a, &lda,
              &beta, c, &ldc)


cdef void gemm_f32(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   float alpha, const float *a, const float *b, float beta,
                   float *c) noexcept nogil:
    gemm_rowmajor(trans_a, trans_b, m, n, k, alpha, a, b, beta, c)


cdef void gemm_f64(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   double alpha, const double *a, const double *b, double beta,
                   double *c) noexcept nogil:
    gemm_rowmajor(trans_a, trans_b, m, n, k, alpha, a, b, beta, c)


cdef inline void _gemm_arrays(bint trans_a, bint trans_b, const floating[:, ::1] a,
                              const floating[:, ::1] b, double alpha, double beta,
                              floating[:, ::1] out):
    cdef Py_ssize_t m = out.shape[0], n = out.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    if m == 0 or n == 0:
        return
    cdef const floating *pa = &a[0, 0] if k else NULL
    cdef const floating *pb = &b[0, 0] if k else NULL
    with nogil:
        gemm_rowmajor(trans_a, trans_b, m, n, k, <floating>alpha, pa, pb, <floating>beta,
                      &out[0, 0])


def _check_blas_size(*dims):
    for d in dims:
        if d > INT_MAX:
            raise ValueError(f"dimension {d} exceeds the 32-bit BLAS limit of {INT_MAX}")


def gemm(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """Row-major matrix product ``alpha * op(a) @ op(b) + beta * out``.

    op(a) is ``a.T`` when ``trans_a`` (likewise b). ``out`` receives the result and
    is allocated when None; with ``beta != 0`` its current contents are scaled and
    added, so it must be given. Returns ``out``.
    """
    a, b, alpha, beta, out = _inputs.gemm_inputs(V, a, b, trans_a, trans_b, alpha, beta, out)
    _check_blas_size(*a.shape, *b.shape)
    if a.dtype.itemsize == 4:
        _gemm_arrays[float](trans_a, trans_b, a, b, alpha, beta, out)
    else:
        _gemm_arrays[double](trans_a, trans_b, a, b, alpha, beta, out)
    return out
