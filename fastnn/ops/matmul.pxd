# Contract of fastnn.ops.matmul for other Cython modules: row-major GEMM on raw
# pointers, nogil, through SciPy's BLAS.
#   C (m x n) = alpha * op(A) (m x k) @ op(B) (k x n) + beta * C
# A is stored (m, k) row-major, or (k, m) when trans_a; B is (k, n), or (n, k) when
# trans_b; C is (m, n) and contiguous. beta == 0 means C is not read.

cdef void gemm_f32(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   float alpha, const float *a, const float *b, float beta,
                   float *c) noexcept nogil
cdef void gemm_f64(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   double alpha, const double *a, const double *b, double beta,
                   double *c) noexcept nogil
