"""Native GEMM: row-major matrix products through SciPy's BLAS (cython_blas).

BLAS is column-major. A row-major matrix is the transpose of the same memory read
column-major, so the row-major product C = op(A) op(B) is computed as the
column-major product C^T = op(B)^T op(A)^T: swap the operands, swap m and n, and
keep each operand's transpose flag.

Threads: fastnn keeps one thread runtime busy at a time. While a fastnn call runs,
SciPy's BLAS is held at one thread (`blas_hold`) and a large product is split into
one block per OpenMP thread (src_c/matmul.c), each block a single-threaded BLAS call.
So OpenMP workers and BLAS's own pthreads never compete for the cores. Where the BLAS
library offers no thread control fastnn recognises, products are left to BLAS whole.
"""

import ctypes
import ctypes.util

from cython cimport floating
from libc.stdint cimport uintptr_t
from scipy.linalg.cython_blas cimport dgemm, sgemm

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks
from .._variants import family

__all__ = ["gemm"]

V = Checks(all_finite)

cdef int INT_MAX = 2147483647

cdef extern from "matmul.h" nogil:
    void fnn_gemm_team_f32(fnn_gemm_f32_fn gemm, int trans_a, int trans_b, Py_ssize_t m,
                           Py_ssize_t n, Py_ssize_t k, float alpha, const float *a,
                           const float *b, float beta, float *c, int n_threads)
    void fnn_gemm_team_f64(fnn_gemm_f64_fn gemm, int trans_a, int trans_b, Py_ssize_t m,
                           Py_ssize_t n, Py_ssize_t k, double alpha, const double *a,
                           const double *b, double beta, double *c, int n_threads)

# ----------------------------------------------------------------- BLAS thread control

ctypedef void (*set_threads_fn)(int) noexcept nogil
ctypedef int (*get_threads_fn)() noexcept nogil
cdef set_threads_fn _blas_set = NULL
cdef get_threads_fn _blas_get = NULL
_blas_control = {"library": None, "path": None, "symbol": None}


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _library_of(uintptr_t address):
    """Path of the shared library that holds `address` (dladdr), or None."""
    try:
        libc = ctypes.CDLL(None)
        dladdr = getattr(libc, "dladdr", None)
        if dladdr is None:
            dladdr = ctypes.CDLL(ctypes.util.find_library("dl")).dladdr
        info = _DlInfo()
        if dladdr(ctypes.c_void_p(address), ctypes.byref(info)) and info.dli_fname:
            return info.dli_fname.decode()
    except (OSError, AttributeError, TypeError):
        pass
    return None


def _find_blas_control():
    """Find openblas_set/get_num_threads in the library SciPy's sgemm lives in."""
    global _blas_set, _blas_get
    path = _library_of(<uintptr_t>sgemm)
    if path is None:
        return
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return
    for prefix in ("", "scipy_"):
        for suffix in ("", "64_", "_64"):
            setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                _blas_set = <set_threads_fn><uintptr_t>ctypes.cast(setter, ctypes.c_void_p).value
                _blas_get = <get_threads_fn><uintptr_t>ctypes.cast(getter, ctypes.c_void_p).value
                _blas_control.update(library="openblas", path=path,
                                     symbol=f"{prefix}openblas_set_num_threads{suffix}")
                return


_find_blas_control()


def blas_control():
    """How fastnn keeps BLAS to one thread inside its calls (for show_config)."""
    return dict(_blas_control)


cdef int blas_hold() noexcept nogil:
    cdef int previous
    if _blas_set == NULL:
        return -1
    previous = _blas_get()
    if previous != 1:
        _blas_set(1)
    return previous


cdef void blas_release(int previous) noexcept nogil:
    if _blas_set != NULL and previous > 1:
        _blas_set(previous)


cdef int gemm_team_threads() noexcept nogil:
    """OpenMP threads a product may be split over (1 when BLAS cannot be held)."""
    return current_num_threads() if _blas_set != NULL else 1

# ------------------------------------------------------------------------------ GEMM


cdef inline void _gemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       floating alpha, const floating *a, Py_ssize_t lda, const floating *b,
                       Py_ssize_t ldb, floating beta, floating *c,
                       Py_ssize_t ldc) noexcept nogil:
    cdef char ta = b't' if trans_a else b'n'
    cdef char tb = b't' if trans_b else b'n'
    cdef int mi = <int>m, ni = <int>n, ki = <int>k
    cdef int lda_ = <int>max(1, lda), ldb_ = <int>max(1, ldb), ldc_ = <int>max(1, ldc)
    cdef Py_ssize_t i, j
    if m == 0 or n == 0:
        return
    if k == 0:  # empty sum: C = beta * C
        for i in range(m):
            for j in range(n):
                c[i * ldc + j] = 0 if beta == 0 else beta * c[i * ldc + j]
        return
    # row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T
    if floating is float:
        sgemm(&tb, &ta, &ni, &mi, &ki, &alpha, <float *>b, &ldb_, <float *>a, &lda_,
              &beta, c, &ldc_)
    else:
        dgemm(&tb, &ta, &ni, &mi, &ki, &alpha, <double *>b, &ldb_, <double *>a, &lda_,
              &beta, c, &ldc_)


cdef void gemm_f32(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   float alpha, const float *a, Py_ssize_t lda, const float *b,
                   Py_ssize_t ldb, float beta, float *c, Py_ssize_t ldc) noexcept nogil:
    _gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef void gemm_f64(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   double alpha, const double *a, Py_ssize_t lda, const double *b,
                   Py_ssize_t ldb, double beta, double *c, Py_ssize_t ldc) noexcept nogil:
    _gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


cdef void gemm_team_f32(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        float alpha, const float *a, const float *b, float beta,
                        float *c) noexcept nogil:
    fnn_gemm_team_f32(<fnn_gemm_f32_fn>gemm_f32, trans_a, trans_b, m, n, k, alpha, a, b,
                      beta, c, gemm_team_threads())


cdef void gemm_team_f64(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        double alpha, const double *a, const double *b, double beta,
                        double *c) noexcept nogil:
    fnn_gemm_team_f64(<fnn_gemm_f64_fn>gemm_f64, trans_a, trans_b, m, n, k, alpha, a, b,
                      beta, c, gemm_team_threads())


cdef inline void _gemm_arrays(bint trans_a, bint trans_b, const floating[:, ::1] a,
                              const floating[:, ::1] b, double alpha, double beta,
                              floating[:, ::1] out):
    cdef Py_ssize_t m = out.shape[0], n = out.shape[1]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1]
    cdef int held
    if m == 0 or n == 0:
        return
    cdef const floating *pa = &a[0, 0] if k else NULL
    cdef const floating *pb = &b[0, 0] if k else NULL
    with nogil:
        held = blas_hold()
        if floating is float:
            gemm_team_f32(trans_a, trans_b, m, n, k, <float>alpha, pa, pb, <float>beta,
                          &out[0, 0])
        else:
            gemm_team_f64(trans_a, trans_b, m, n, k, alpha, pa, pb, beta, &out[0, 0])
        blas_release(held)


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


cdef extern from "gemm_variants.h" nogil:
    ctypedef struct fnn_sgemm_variant:
        const char *name
        int isa
        void (*nn)(int m, int k, int n, const float *A, const float *B, float *C,
                   int accumulate) noexcept nogil
        void (*tn)(int m, int k, int n, const float *A, const float *G, float *C) noexcept nogil
        int (*pack_active)(int m, int k, const float *const *rows, float *xc, int *cols,
                           int *zcols, unsigned short *masks) noexcept nogil
        void (*nn_cols)(int m, int nact, int n, const float *xc, const int *cols,
                        const float *B, float *C, int accumulate) noexcept nogil
        void (*tn_cols)(int m, int nact, int n, const float *xc, int ldx, const int *cols,
                        int nzero, const int *zcols, const float *G, float *C, float alpha,
                        int accumulate) noexcept nogil
    const fnn_sgemm_variant *const *fnn_sgemm_variants(int *count)
    const fnn_sgemm_variant *fnn_sgemm_pick()
    const fnn_sgemm_variant *fnn_sgemm_by_name(const char *name)
    ctypedef struct fnn_dgemm_variant:
        const char *name
        int isa
        void (*nn)(int m, int k, int n, const double *A, const double *B, double *C,
                   int accumulate) noexcept nogil
        void (*tn)(int m, int k, int n, const double *A, const double *G, double *C) noexcept nogil
    const fnn_dgemm_variant *fnn_dgemm_pick()
    const fnn_dgemm_variant *fnn_dgemm_by_name(const char *name)
    int FNN_GEMM_MASK_COLS
    int FNN_GEMM_MAX_ROWS

cdef extern from "cpu.h" nogil:
    const char *fnn_isa_name(int isa)
    int fnn_isa_runnable(int level)

fnn_cpu_bind(shared_cpu())


def variants():
    """The gemm family's table (src_c/gemm_variants.h), best first, and the variant
    small products run on now (fastnn._variants.family). Each variant has a float32 and
    a float64 build (fnn_sgemm_* and fnn_dgemm_*, from one generator), chosen together."""
    cdef int count = 0, i
    cdef const fnn_sgemm_variant *const *table = fnn_sgemm_variants(&count)
    return family(
        "gemm", "BLAS (scipy.linalg.cython_blas)",
        [(table[i].name.decode(), fnn_isa_name(table[i].isa).decode(), True,
          fnn_isa_runnable(table[i].isa)) for i in range(count)],
        own_kernels())


def own_kernels():
    """The gemm variant that small float32 and float64 products (and the training plan's
    first layer) run on at the level in force, e.g. "avx2"; None when they go to BLAS (no variant for
    this CPU, or FASTNN_GEMM=blas)."""
    cdef const fnn_sgemm_variant *v = fnn_sgemm_pick()
    return v.name.decode() if v != NULL else None


def _variant_product(a, b, bint trans_a=False, variant=None):
    """Test hook: a @ b (trans_a: a.T @ b) straight through the nn (tn) kernel of the gemm
    variant named `variant` (None: the one chosen now), for C-contiguous 2-d float32 or
    float64 arrays of one dtype. Returns None if that variant does not run here."""
    import numpy as np
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == 2 and
            b.ndim == 2 and a.dtype == b.dtype and a.dtype in (np.float32, np.float64) and
            a.flags.c_contiguous and b.flags.c_contiguous):
        raise TypeError("a and b must be C-contiguous 2-d arrays, both float32 or float64")
    cdef Py_ssize_t m = a.shape[1] if trans_a else a.shape[0]
    cdef Py_ssize_t k = a.shape[0] if trans_a else a.shape[1], n = b.shape[1]
    if b.shape[0] != k or min(m, k, n) < 1 or max(m, k, n) > INT_MAX:
        raise ValueError("shapes do not match, or empty or oversized operands")
    out = np.empty((m, n), a.dtype)
    cdef const fnn_sgemm_variant *sv
    cdef const fnn_dgemm_variant *dv
    cdef const float[:, ::1] af, bf
    cdef float[:, ::1] of
    cdef const double[:, ::1] ad, bd
    cdef double[:, ::1] od
    name = None if variant is None else str(variant).encode()
    if a.dtype == np.float32:
        sv = fnn_sgemm_pick() if name is None else fnn_sgemm_by_name(name)
        if sv == NULL:
            return None
        af, bf, of = a, b, out
        if trans_a:  # a is stored (k, m): C (m x n) = a^T b
            sv.tn(<int>k, <int>m, <int>n, &af[0, 0], &bf[0, 0], &of[0, 0])
        else:
            sv.nn(<int>m, <int>k, <int>n, &af[0, 0], &bf[0, 0], &of[0, 0], 0)
    else:
        dv = fnn_dgemm_pick() if name is None else fnn_dgemm_by_name(name)
        if dv == NULL:
            return None
        ad, bd, od = a, b, out
        if trans_a:
            dv.tn(<int>k, <int>m, <int>n, &ad[0, 0], &bd[0, 0], &od[0, 0])
        else:
            dv.nn(<int>m, <int>k, <int>n, &ad[0, 0], &bd[0, 0], &od[0, 0], 0)
    return out


def _active_columns(X, rows, W, Y, G, C, float alpha, bint accumulate, variant=None):
    """Test hook for the training plan's active-column kernels (src_c/gemm_variants.h).

    Packs the rows X[rows] (float32, m = len(rows)), then computes
    Y = X[rows] @ W (+ Y with accumulate) and C = alpha * X[rows].T @ G (+ C with
    accumulate), the first layer's forward product and weight gradient (or SGD step),
    on the gemm variant named `variant` (None: the one chosen now). Returns the number of
    active columns, or -1 (and computes nothing) if that variant does not run here."""
    import numpy as np
    for name, a in (("X", X), ("W", W), ("Y", Y), ("G", G), ("C", C)):
        if not (isinstance(a, np.ndarray) and a.dtype == np.float32 and a.ndim == 2
                and a.flags.c_contiguous):
            raise TypeError(f"{name} must be a C-contiguous 2-d float32 array")
    rows = np.ascontiguousarray(rows, dtype=np.intp)
    cdef Py_ssize_t m = rows.shape[0], k = X.shape[1], n = W.shape[1]
    if m < 1 or k < 1 or n < 1 or max(X.shape[0], k, n, m) > INT_MAX:
        raise ValueError("empty or oversized operands")
    if rows.min() < 0 or rows.max() >= X.shape[0]:
        raise ValueError("row index out of range")
    if W.shape != (k, n) or Y.shape != (m, n) or G.shape != (m, n) or C.shape != (k, n):
        raise ValueError("shapes do not match X[rows] (m x k), W (k x n)")
    cdef const fnn_sgemm_variant *v = (fnn_sgemm_pick() if variant is None
                                       else fnn_sgemm_by_name(str(variant).encode()))
    if v == NULL:
        return -1
    xc = np.empty(m * k, np.float32)
    cols = np.empty(k, np.intc)
    zcols = np.empty(k, np.intc)
    masks = np.empty((k + FNN_GEMM_MASK_COLS - 1) // FNN_GEMM_MASK_COLS, np.uint16)
    ptrs = np.array([X.ctypes.data + int(r) * k * 4 for r in rows], dtype=np.uintp)
    cdef uintptr_t[::1] pv = ptrs
    cdef float[::1] xcv = xc
    cdef int[::1] cv = cols, zv = zcols
    cdef unsigned short[::1] mv = masks
    cdef const float[:, ::1] Wv = W, Gv = G
    cdef float[:, ::1] Yv = Y, Cv = C
    cdef int nact
    with nogil:
        nact = v.pack_active(<int>m, <int>k, <const float *const *>&pv[0], &xcv[0], &cv[0],
                             &zv[0], &mv[0])
        v.nn_cols(<int>m, nact, <int>n, &xcv[0], &cv[0], &Wv[0, 0], &Yv[0, 0], accumulate)
        v.tn_cols(<int>m, nact, <int>n, &xcv[0], nact, &cv[0], <int>k - nact, &zv[0],
                  &Gv[0, 0], &Cv[0, 0], alpha, accumulate)
    return nact
