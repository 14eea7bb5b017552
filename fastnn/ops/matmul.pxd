# Contract of fastnn.ops.matmul for other Cython modules: row-major GEMM, nogil.
#   C (m x n) = alpha * op(A) (m x k) @ op(B) (k x n) + beta * C
# A is stored (m, k) row-major, or (k, m) when trans_a; B is (k, n), or (n, k) when
# trans_b. beta == 0 means C is not read.
#
# gemm_f32/gemm_f64: one BLAS call (with explicit row strides lda, ldb, ldc); their
#   addresses are what src_c/matmul.h calls fnn_gemm_*_fn.
# gemm_team_f32/f64: contiguous operands, the product split across fastnn's OpenMP team.
#   Call it between blas_hold() and blas_release(), which keep BLAS itself at one
#   thread meanwhile (one thread runtime at a time: see src_c/matmul.h).

cdef extern from "matmul.h" nogil:
    # the GEMM a kernel is handed (src_c/matmul.h): gemm_f32 / gemm_f64 below
    ctypedef void (*fnn_gemm_f32_fn)(int, int, Py_ssize_t, Py_ssize_t, Py_ssize_t, float,
                                     const float *, Py_ssize_t, const float *, Py_ssize_t,
                                     float, float *, Py_ssize_t)
    ctypedef void (*fnn_gemm_f64_fn)(int, int, Py_ssize_t, Py_ssize_t, Py_ssize_t, double,
                                     const double *, Py_ssize_t, const double *, Py_ssize_t,
                                     double, double *, Py_ssize_t)

cdef void gemm_f32(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   float alpha, const float *a, Py_ssize_t lda, const float *b,
                   Py_ssize_t ldb, float beta, float *c, Py_ssize_t ldc) noexcept nogil
cdef void gemm_f64(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   double alpha, const double *a, Py_ssize_t lda, const double *b,
                   Py_ssize_t ldb, double beta, double *c, Py_ssize_t ldc) noexcept nogil
cdef void gemm_team_f32(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        float alpha, const float *a, const float *b, float beta,
                        float *c) noexcept nogil
cdef void gemm_team_f64(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        double alpha, const double *a, const double *b, double beta,
                        double *c) noexcept nogil
cdef int blas_hold() noexcept nogil
cdef void blas_release(int previous) noexcept nogil
cdef int gemm_team_threads() noexcept nogil
