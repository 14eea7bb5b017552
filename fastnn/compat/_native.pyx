"""The book drop-ins' two native helpers, each held equal in tests/test_compat_native.py
to the plain Python it replaces:

    stack_columns(columns, rows, out)   the book's (rows, 1) column vectors copied into
                                        the rows of a float64 matrix; twin:
                                        ``np.array(columns, dtype=np.float64)``
    rows_view(columns, rows)            the same matrix without a copy, when the columns
                                        are consecutive rows of one array
    shuffled_order(n, rng)              the permutation ``rng.shuffle`` makes of a list of
                                        n items, drawn from rng's own Mersenne Twister
                                        state, which it leaves where ``rng.shuffle``
                                        leaves it; twin: ``rng.shuffle(list(range(n)))``

Both replace per-object Python work that costs more than a whole native epoch: numpy
converts a list of 50,000 (784, 1) arrays in about a second, and ``random.shuffle``
makes 50,000 Python calls per epoch.
"""

from libc.stdint cimport uint32_t, uint64_t

import numpy as np

cimport numpy as cnp

cnp.import_array()

from .._runtime cimport fnn_cpu_bind, shared_cpu

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

cdef extern from *:
    int __builtin_clzll(unsigned long long x) nogil


def stack_columns(list columns, Py_ssize_t rows, double[:, ::1] out):
    """Copy ``columns[i]`` into ``out[i]`` for every i while each is a well-behaved
    float64 or float32 ndarray of shape (rows, 1) (any stride) holding only finite
    numbers. Returns how many were copied: ``len(columns)``, or the index of the first
    column that is anything else (the caller's numpy path converts or reports it)."""
    cdef Py_ssize_t n = len(columns), i, j, stride
    cdef cnp.ndarray a
    cdef const char *src
    cdef double *dst
    cdef double check
    cdef int typenum
    if out.shape[0] < n or out.shape[1] != rows:
        raise ValueError(f"out must have at least {n} rows of {rows}")
    for i in range(n):
        obj = columns[i]
        if not cnp.PyArray_Check(obj):
            return i
        a = <cnp.ndarray>obj
        if (cnp.PyArray_NDIM(a) != 2 or cnp.PyArray_DIM(a, 0) != rows
                or cnp.PyArray_DIM(a, 1) != 1 or not cnp.PyArray_ISBEHAVED_RO(a)):
            return i
        typenum = cnp.PyArray_TYPE(a)
        src = <const char *>cnp.PyArray_DATA(a)
        stride = cnp.PyArray_STRIDE(a, 0)
        dst = &out[i, 0]
        # check stays 0 while every value is finite: inf * 0 and NaN * 0 are NaN
        check = 0.0
        if typenum == cnp.NPY_DOUBLE:
            for j in range(rows):
                dst[j] = (<const double *>(src + j * stride))[0]
                check += dst[j] * 0.0
        elif typenum == cnp.NPY_FLOAT:
            for j in range(rows):
                dst[j] = (<const float *>(src + j * stride))[0]
                check += dst[j] * 0.0
        else:
            return i
        if check != 0.0:
            return i
    return n


def rows_view(list columns, Py_ssize_t rows):
    """The matrix whose rows the columns are, without a copy: when every ``columns[i]``
    is a (rows, 1) view of row ``start + i`` of one C-contiguous (m, rows) float32 or
    float64 array -- what the book's mnist_loader makes, ``np.reshape(x, (784, 1))``
    for each row x of its image matrix -- returns that array's rows ``start ..
    start + len(columns)`` (a view); otherwise None."""
    cdef Py_ssize_t n = len(columns), i, itemsize, row_bytes, start
    cdef cnp.ndarray a, base
    cdef char *first
    if n == 0 or rows < 1:
        return None
    obj = columns[0]
    if not cnp.PyArray_Check(obj):
        return None
    a = <cnp.ndarray>obj
    owner = <object>cnp.PyArray_BASE(a) if cnp.PyArray_BASE(a) != NULL else None
    if not cnp.PyArray_Check(owner):
        return None
    base = <cnp.ndarray>owner
    if (cnp.PyArray_NDIM(base) != 2 or cnp.PyArray_DIM(base, 1) != rows
            or not cnp.PyArray_IS_C_CONTIGUOUS(base) or not cnp.PyArray_ISBEHAVED_RO(base)
            or cnp.PyArray_TYPE(base) not in (cnp.NPY_DOUBLE, cnp.NPY_FLOAT)):
        return None
    itemsize = cnp.PyArray_ITEMSIZE(base)
    row_bytes = rows * itemsize
    first = <char *>cnp.PyArray_DATA(base)
    for i in range(n):
        obj = columns[i]
        if not cnp.PyArray_Check(obj):
            return None
        a = <cnp.ndarray>obj
        if (<void *>cnp.PyArray_BASE(a) != <void *>base or cnp.PyArray_NDIM(a) != 2
                or cnp.PyArray_DIM(a, 0) != rows or cnp.PyArray_DIM(a, 1) != 1
                or (rows > 1 and cnp.PyArray_STRIDE(a, 0) != itemsize)
                or cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(base)):
            return None
        if i == 0:
            if (<char *>cnp.PyArray_DATA(a) - first) % row_bytes:
                return None
            start = (<char *>cnp.PyArray_DATA(a) - first) // row_bytes
        elif <char *>cnp.PyArray_DATA(a) != first + (start + i) * row_bytes:
            return None
    if start + n > cnp.PyArray_DIM(base, 0):
        return None
    return base[start:start + n]


cdef enum:
    MT_N = 624
    MT_M = 397


cdef inline uint32_t _genrand(uint32_t *mt, int *index) noexcept nogil:
    """The next 32 bits of MT19937, exactly as CPython's _random module draws them."""
    cdef uint32_t y
    cdef int kk
    if index[0] >= MT_N:
        for kk in range(MT_N - MT_M):
            y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU)
            mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ (0x9908b0dfU if y & 1U else 0U)
        for kk in range(MT_N - MT_M, MT_N - 1):
            y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU)
            mt[kk] = mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ (0x9908b0dfU if y & 1U else 0U)
        y = (mt[MT_N - 1] & 0x80000000U) | (mt[0] & 0x7fffffffU)
        mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ (0x9908b0dfU if y & 1U else 0U)
        index[0] = 0
    y = mt[index[0]]
    index[0] += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c5680U
    y ^= (y << 15) & 0xefc60000U
    y ^= y >> 18
    return y


def shuffled_order(Py_ssize_t n, rng):
    """The order ``rng.shuffle(x)`` puts a list x of n items in, as an intp array p
    (the shuffled list is ``[x[i] for i in p]``), and rng's state advanced exactly as
    that call advances it. ``rng`` must be a plain ``random.Random`` (its shuffle draws
    ``getrandbits(k)`` for each position, k the bit length of the position + 1, until the
    draw is below it) and n < 2**32."""
    cdef uint32_t mt[MT_N]
    cdef int index, k
    cdef Py_ssize_t i, j, t
    cdef uint64_t bound
    cdef uint32_t r
    if n >= (<Py_ssize_t>1) << 32:
        raise ValueError("shuffled_order takes fewer than 2**32 items")
    version, internal, gauss_next = rng.getstate()
    if len(internal) != MT_N + 1:
        raise ValueError("not a Mersenne Twister state")
    for i in range(MT_N):
        mt[i] = <uint32_t>internal[i]
    index = <int>internal[MT_N]
    order = np.arange(n, dtype=np.intp)
    cdef Py_ssize_t[::1] p = order
    with nogil:
        for i in range(n - 1, 0, -1):
            bound = <uint64_t>(i + 1)
            k = 64 - __builtin_clzll(bound)  # bound's bit length, 1..32
            r = _genrand(mt, &index) >> (32 - k)
            while r >= bound:
                r = _genrand(mt, &index) >> (32 - k)
            j = <Py_ssize_t>r
            t = p[i]
            p[i] = p[j]
            p[j] = t
    rng.setstate((version, tuple([mt[i] for i in range(MT_N)]) + (index,), gauss_next))
    return order
