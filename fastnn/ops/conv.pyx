"""Native 2-D convolution (channels first) through im2col and GEMM (src_c/conv.c), or
for few input channels (a first layer) in float32 where a conv variant runs, directly
(src_c/conv_variants.h: no im2col matrix; see _direct_path).

The patches of the whole batch are unfolded into one matrix (im2col), so the forward
pass is one product W (F, C*KH*KW) @ cols (C*KH*KW, N*OH*OW) and the backward pass two
(dW = dY' @ cols^T, dcols = W^T @ dY', then col2im). The products go to BLAS through
fastnn.ops.matmul, split over fastnn's OpenMP team while BLAS is held to one thread;
the unfolding, its adjoint, the permutations and the bias are fastnn's own loops. All of
it runs without the GIL. The workspaces (cols, and for backward a transposed dy and
dcols) are allocated per call here; the training plan passes its own.

A large batch runs in chunks of samples (fnn_conv_chunk_rows, src_c/conv.h), with Python's
pending signals acted on between two of them, so Ctrl-C stops a long call within a
fraction of a second; dW and db then sum the chunks' shares.
"""

import numpy as np
from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating

from .. import _inputs
from .._memory import aligned_empty
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks
from .._variants import family
from .matmul cimport blas_hold, blas_release, gemm_f32, gemm_f64, gemm_team_threads
from .matmul import _check_blas_size
from .pool import maxpool2d_backward

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "conv2d_pooled_backward"]

V = Checks(all_finite)

# Stand-ins for the arrays a call does not use (no bias, no dx, no db): typed memoryview
# arguments cannot be None.
_EMPTY32 = np.zeros(0, dtype=np.float32)
_EMPTY64 = np.zeros(0, dtype=np.float64)


cdef inline const floating *_cp(const floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


cdef inline floating *_p(floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] else NULL


cdef fnn_conv_geom _geom(g, Py_ssize_t filters):
    """The C struct of an _inputs.ConvGeometry (bottom/right padding is implied by oh/ow)."""
    cdef fnn_conv_geom cg
    cg.c, cg.h, cg.w = g.c, g.h, g.w
    cg.f, cg.oh, cg.ow = filters, g.oh, g.ow
    cg.kh, cg.kw = g.kh, g.kw
    cg.sh, cg.sw = g.sh, g.sw
    cg.pt, cg.pl = g.pt, g.pl
    cg.dh, cg.dw = g.dh, g.dw
    return cg


cdef extern from "conv_variants.h" nogil:
    ctypedef struct fnn_conv_variant:
        const char *name
        int isa
    const fnn_conv_variant *const *fnn_conv_variants(int *count)
    const fnn_conv_variant *fnn_conv_pick()

cdef extern from "cpu.h" nogil:
    const char *fnn_isa_name(int isa)
    int fnn_isa_runnable(int level)


def own_kernels():
    """The instruction set of the conv family's variant in use now (src_c/conv_variants.h:
    the float32 kernels that read x in place -- direct, implicit GEMM, pooled dW, narrow
    col2im), else None (im2col + the gemm family)."""
    cdef const fnn_conv_variant *v = fnn_conv_pick()
    return fnn_isa_name(v.isa).decode() if v != NULL else None


def variants():
    """The conv family's table (src_c/conv_variants.h), best first, and the variant in use
    now."""
    cdef int count = 0, i
    cdef const fnn_conv_variant *const *table = fnn_conv_variants(&count)
    cdef const fnn_conv_variant *v = fnn_conv_pick()
    return family("conv", "im2col + gemm",
                  [(table[i].name.decode(), fnn_isa_name(table[i].isa).decode(), True,
                    fnn_isa_runnable(table[i].isa)) for i in range(count)],
                  v.name.decode() if v != NULL else None)


def _flat(a):
    return a.reshape(-1)


def _direct_path(x_shape, w_shape, stride=1, padding=0, dilation=1, dtype=np.float32):
    """Whether conv2d_forward/backward take the direct kernels (src_c/conv_variants.h: few
    input channels, stride 1, float32, a conv variant running) for these shapes, rather than im2col +
    GEMM. For tests and `fastnn info`."""
    geo = _inputs.conv_geometry(x_shape, tuple(w_shape[2:]), stride, padding, dilation)
    cdef fnn_conv_geom g = _geom(geo, w_shape[0])
    if np.dtype(dtype) == np.float32:
        return bool(fnn_conv_direct_f32(&g))
    return bool(fnn_conv_direct_f64(&g))



def _implicit_path(x_shape, w_shape, stride=1, padding=0, dilation=1, dtype=np.float32):
    """Whether conv2d_forward, and the dW of conv2d_backward, take the implicit-GEMM
    kernels (src_c/conv_variants.h: float32, a conv variant running, stride 1, no padding, at most 32
    filters, kernels 2 to 7 wide; layers on the direct kernels excepted) for these
    shapes, rather than im2col + GEMM. For tests."""
    geo = _inputs.conv_geometry(x_shape, tuple(w_shape[2:]), stride, padding, dilation)
    cdef fnn_conv_geom g = _geom(geo, w_shape[0])
    return (np.dtype(dtype) == np.float32 and not fnn_conv_direct_f32(&g)
            and bool(fnn_conv_implicit_ok(&g)))


def _implicit_dx_path(x_shape, w_shape, stride=1, padding=0, dilation=1, dtype=np.float32):
    """Whether the dx of conv2d_backward takes the implicit kernel (no dcols, no
    col2im; src_c/conv_variants.h: float32, a conv variant running, stride 1, no padding, input rows of
    at most 16, output rows of at least 4, kernels 3, 5 or 7 wide). For tests."""
    geo = _inputs.conv_geometry(x_shape, tuple(w_shape[2:]), stride, padding, dilation)
    cdef fnn_conv_geom g = _geom(geo, w_shape[0])
    return np.dtype(dtype) == np.float32 and bool(fnn_conv_implicit_dx_ok(&g))

cdef fnn_conv_geom _pooling_geom(geo, pgeo, Py_ssize_t filters):
    """The C struct of the max pooling (pgeo: an _inputs.PoolGeometry) of a conv's output."""
    cdef fnn_conv_geom pg
    pg.c, pg.h, pg.w, pg.f = filters, geo.oh, geo.ow, filters
    pg.oh, pg.ow, pg.kh, pg.kw = pgeo.oh, pgeo.ow, pgeo.kh, pgeo.kw
    pg.sh, pg.sw, pg.pt, pg.pl, pg.dh, pg.dw = pgeo.sh, pgeo.sw, 0, 0, 1, 1
    return pg


def _chunk_rows(x_shape, w_shape, stride=1, padding=0, dilation=1):
    """Samples per native call of conv2d_forward/backward for these shapes (src_c/conv.h:
    fnn_conv_chunk_rows; Ctrl-C is acted on between two calls). For tests."""
    geo = _inputs.conv_geometry(x_shape, tuple(w_shape[2:]), stride, padding, dilation)
    cdef fnn_conv_geom g = _geom(geo, w_shape[0])
    return fnn_conv_chunk_rows(&g, x_shape[0])


def _pooled_path(x_shape, w_shape, pool_size, pool_stride=None, stride=1, padding=0,
                 dilation=1, dtype=np.float32):
    """Whether conv2d_pooled_backward takes fnn_conv_pooled_dw (float32, a conv on the
    direct kernels with C*KH <= 8) for these shapes, rather than the pooling's backward
    and then the conv's. For tests."""
    geo = _inputs.conv_geometry(x_shape, tuple(w_shape[2:]), stride, padding, dilation)
    pgeo = _inputs.pool_geometry((x_shape[0], w_shape[0], geo.oh, geo.ow), pool_size,
                                 pool_stride)
    cdef fnn_conv_geom g = _geom(geo, w_shape[0])
    cdef fnn_conv_geom pg = _pooling_geom(geo, pgeo, w_shape[0])
    return np.dtype(dtype) == np.float32 and bool(fnn_conv_pooled_dw_ok(&g, &pg))


cdef void _im2col(const fnn_conv_geom *g, Py_ssize_t n, const floating[::1] x,
                  floating[::1] cols):
    cdef int nt = current_num_threads()
    if cols.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            fnn_im2col_f32(g, n, _cp(x), &cols[0], nt)
        else:
            fnn_im2col_f64(g, n, _cp(x), &cols[0], nt)


cdef void _col2im(const fnn_conv_geom *g, Py_ssize_t n, const floating[::1] cols,
                  floating[::1] dx):
    cdef int nt = current_num_threads()
    if dx.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            fnn_col2im_f32(g, n, _cp(cols), &dx[0], nt)
        else:
            fnn_col2im_f64(g, n, _cp(cols), &dx[0], nt)


cdef void _forward(const fnn_conv_geom *g, Py_ssize_t n, const floating[::1] x,
                   const floating[::1] w, const floating[::1] b, bint has_bias,
                   floating[::1] y, floating[::1] cols, floating[::1] tmp):
    cdef int nt = current_num_threads()
    cdef int held, gt
    cdef const floating *pb = _cp(b) if has_bias else NULL
    if y.shape[0] == 0:
        return
    with nogil:
        held = blas_hold()
        gt = gemm_team_threads()
        if floating is float:
            fnn_conv_forward_f32(<fnn_gemm_f32_fn>gemm_f32, gt, g, n, _cp(x), _cp(w), pb,
                                 &y[0], _p(cols), _p(tmp), nt)
        else:
            fnn_conv_forward_f64(<fnn_gemm_f64_fn>gemm_f64, gt, g, n, _cp(x), _cp(w), pb,
                                 &y[0], _p(cols), _p(tmp), nt)
        blas_release(held)


cdef void _backward(const fnn_conv_geom *g, Py_ssize_t n, const floating[::1] x,
                    const floating[::1] w, const floating[::1] dy, floating[::1] dx,
                    bint want_dx, floating[::1] dw, floating[::1] db, bint want_db,
                    floating[::1] cols, floating[::1] tmp, floating[::1] dcols):
    cdef int nt = current_num_threads()
    cdef int held, gt
    cdef floating *pdx = _p(dx) if want_dx else NULL
    cdef floating *pdb = _p(db) if want_db else NULL
    with nogil:
        held = blas_hold()
        gt = gemm_team_threads()
        if floating is float:
            fnn_conv_backward_f32(<fnn_gemm_f32_fn>gemm_f32, gt, g, n, _cp(x), _p(cols), _cp(w),
                                  _cp(dy), pdx, _p(dw), pdb, _p(tmp), _p(dcols), nt)
        else:
            fnn_conv_backward_f64(<fnn_gemm_f64_fn>gemm_f64, gt, g, n, _cp(x), _p(cols), _cp(w),
                                  _cp(dy), pdx, _p(dw), pdb, _p(tmp), _p(dcols), nt)
        blas_release(held)


def _gradient_chunks(n, rows, dw, db):
    """(i0, i1, dw_c, db_c) for each chunk [i0, i1) of n samples (at least one chunk, so
    an empty batch still zeroes dW and db). The first chunk's dW and db are written to dw
    and db (db may be None), each later chunk's to scratch arrays that are added in when
    the caller asks for the next chunk; Python's pending signals are acted on between
    two chunks."""
    dw_c, db_c = dw, db
    for i0 in range(0, max(n, 1), max(rows, 1)):
        if i0:
            PyErr_CheckSignals()
            if dw_c is dw:
                dw_c = np.empty_like(dw)
                db_c = None if db is None else np.empty_like(db)
        yield i0, min(n, i0 + rows), dw_c, db_c
        if i0:
            dw += dw_c
            if db is not None:
                db += db_c


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, *, out=None):
    """Unfold the patches of x (N, C, H, W) into cols (C*KH*KW, N*OH*OW). Returns cols.

    ``cols[(c*KH + kh)*KW + kw, (i*OH + oh)*OW + ow] =
    x[i, c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw]``, 0 outside the image.
    kernel_size, stride, dilation: int or pair (h, w), >= 1. padding: int, pair
    (ph, pw) (symmetric) or ((top, bottom), (left, right)), >= 0.
    """
    x, geo, out = _inputs.im2col_inputs(V, x, kernel_size, stride, padding, dilation, out)
    cdef fnn_conv_geom g = _geom(geo, 0)
    if x.dtype.itemsize == 4:
        _im2col[float](&g, x.shape[0], _flat(x), _flat(out))
    else:
        _im2col[double](&g, x.shape[0], _flat(x), _flat(out))
    return out


def col2im(cols, x_shape, kernel_size, stride=1, padding=0, dilation=1, *, out=None):
    """The adjoint of im2col: fold cols (C*KH*KW, N*OH*OW) back into dx of shape x_shape
    (N, C, H, W), each entry added to the input position it was read from (entries read
    from the zero padding are dropped). Returns dx (overwritten, not accumulated into).
    """
    cols, x_shape, geo, out = _inputs.col2im_inputs(V, cols, x_shape, kernel_size, stride,
                                                    padding, dilation, out)
    cdef fnn_conv_geom g = _geom(geo, 0)
    if cols.dtype.itemsize == 4:
        _col2im[float](&g, x_shape[0], _flat(cols), _flat(out))
    else:
        _col2im[double](&g, x_shape[0], _flat(cols), _flat(out))
    return out


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, *, out=None):
    """2-D convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with w
    (F, C, KH, KW), plus b (F,) or None. Returns y (N, F, OH, OW):
    ``y[i, f, oh, ow] = b[f] + sum_{c,kh,kw} w[f, c, kh, kw] *
    x[i, c, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw]`` with x read as 0 outside the image.
    stride, dilation: int or pair (h, w), >= 1. padding: int, pair (ph, pw) (symmetric)
    or ((top, bottom), (left, right)), >= 0.
    """
    x, w, b, geo, out = _inputs.conv2d_forward_inputs(V, x, w, b, stride, padding, dilation,
                                                      out)
    n, f = x.shape[0], w.shape[0]
    k, cols_n = _inputs.cols_shape(n, geo)
    _check_blas_size(f, k, cols_n)
    cdef fnn_conv_geom g = _geom(geo, f)
    cdef Py_ssize_t rows = fnn_conv_chunk_rows(&g, n), i0, i1
    k, cols_n = _inputs.cols_shape(rows, geo)
    # workspaces for one chunk, 64-byte aligned (_memory); the direct and implicit-GEMM
    # kernels read x in place and take none
    inplace = x.dtype.itemsize == 4 and (fnn_conv_direct_f32(&g) or fnn_conv_implicit_ok(&g))
    cols = aligned_empty(0 if inplace else k * cols_n, x.dtype)
    tmp = aligned_empty(0 if inplace else f * cols_n, x.dtype)
    has_bias = b is not None
    for i0 in range(0, n, rows):
        i1 = min(n, i0 + rows)
        if i0:
            PyErr_CheckSignals()
        if x.dtype.itemsize == 4:
            _forward[float](&g, i1 - i0, _flat(x[i0:i1]), _flat(w),
                            b if has_bias else _EMPTY32, has_bias, _flat(out[i0:i1]), cols,
                            tmp)
        else:
            _forward[double](&g, i1 - i0, _flat(x[i0:i1]), _flat(w),
                             b if has_bias else _EMPTY64, has_bias, _flat(out[i0:i1]), cols,
                             tmp)
    return out


def conv2d_backward(x, w, dy, stride=1, padding=0, dilation=1, *, dx=None, dw=None, db=None,
                    compute_dx=True, compute_db=True):
    """Gradients of ``y = conv2d_forward(x, w, b, stride, padding, dilation)`` given
    ``dy = dL/dy`` (N, F, OH, OW). Returns ``(dx, dw, db)``: dx (N, C, H, W) (None
    unless compute_dx), dw (F, C, KH, KW), db (F,) (None unless compute_db). Arrays
    passed as dx/dw/db are overwritten and returned.
    """
    x, w, dy, geo, dx, dw, db = _inputs.conv2d_backward_inputs(
        V, x, w, dy, stride, padding, dilation, dx, dw, db, compute_dx, compute_db
    )
    n, f = x.shape[0], w.shape[0]
    k, cols_n = _inputs.cols_shape(n, geo)
    _check_blas_size(f, k, cols_n)
    cdef fnn_conv_geom g = _geom(geo, f)
    cdef Py_ssize_t rows = fnn_conv_chunk_rows(&g, n), i0, i1
    k, cols_n = _inputs.cols_shape(rows, geo)
    # workspaces for one chunk; the direct and implicit-GEMM kernels read x itself: no
    # im2col matrix for them
    inplace = x.dtype.itemsize == 4 and (fnn_conv_direct_f32(&g) or fnn_conv_implicit_ok(&g))
    cols = aligned_empty(0 if inplace else k * cols_n, x.dtype)
    tmp = aligned_empty(fnn_conv_backward_tmp(&g, rows), x.dtype)
    implicit_dx = x.dtype.itemsize == 4 and fnn_conv_implicit_dx_ok(&g)  # no dcols
    dcols = aligned_empty(k * cols_n if compute_dx and not implicit_dx else 0, x.dtype)
    empty = _EMPTY32 if x.dtype.itemsize == 4 else _EMPTY64
    for i0, i1, dw_c, db_c in _gradient_chunks(n, rows, dw, db if compute_db else None):
        dxv = _flat(dx[i0:i1]) if compute_dx else empty
        if x.dtype.itemsize == 4:
            _backward[float](&g, i1 - i0, _flat(x[i0:i1]), _flat(w), _flat(dy[i0:i1]), dxv,
                             compute_dx, _flat(dw_c), db_c if compute_db else empty,
                             compute_db, cols, tmp, dcols)
        else:
            _backward[double](&g, i1 - i0, _flat(x[i0:i1]), _flat(w), _flat(dy[i0:i1]), dxv,
                              compute_dx, _flat(dw_c), db_c if compute_db else empty,
                              compute_db, cols, tmp, dcols)
    return dx, dw, db


def conv2d_pooled_backward(x, w, dy, argmax, pool_size, pool_stride=None, stride=1, padding=0,
                           dilation=1, *, dw=None, db=None, compute_db=True):
    """dW and db of a conv whose output goes straight into max pooling, from the pooling's
    gradient dy (N, F, PH, PW) and argmax (from maxpool2d_forward of the conv's output):
    the pooling's backward, then the conv's, without dx. Returns ``(dw, db)`` (db None
    unless compute_db).

    In float32 on the direct kernels (src_c/conv_variants.h: fnn_conv_pooled_dw, C*KH <= 8)
    the dense gradient of the conv's output is never formed: each pooled gradient adds
    its patch of x once. Otherwise the two backward passes run as in the reference."""
    x, w, dy, argmax, geo, pgeo, dw, db = _inputs.conv2d_pooled_backward_inputs(
        V, x, w, dy, argmax, pool_size, pool_stride, stride, padding, dilation, dw, db,
        compute_db
    )
    cdef fnn_conv_geom g = _geom(geo, w.shape[0])
    cdef fnn_conv_geom pg = _pooling_geom(geo, pgeo, w.shape[0])
    cdef Py_ssize_t n = x.shape[0], f = w.shape[0]
    if x.dtype != np.float32 or not fnn_conv_pooled_dw_ok(&g, &pg):
        dyc = maxpool2d_backward(dy, argmax, (n, f, geo.oh, geo.ow))
        conv2d_backward(x, w, dyc, stride, padding, dilation, dw=dw, db=db, compute_dx=False,
                        compute_db=compute_db)
        return dw, db
    cdef int nt = current_num_threads()
    cdef Py_ssize_t rows = fnn_conv_chunk_rows(&g, n), i0, i1
    cdef const float[::1] xv, dyv
    cdef const Py_ssize_t[::1] am
    cdef float[::1] dwv
    cdef float *pdb
    for i0, i1, dw_c, db_c in _gradient_chunks(n, rows, dw, db):
        xv, dyv, am = _flat(x[i0:i1]), _flat(dy[i0:i1]), argmax[i0:i1].reshape(-1)
        dwv = _flat(dw_c)
        pdb = _p[float](db_c) if db_c is not None else NULL
        with nogil:
            fnn_conv_pooled_dw_run(&g, &pg, i1 - i0, _cp(xv), _cp(dyv),
                                   &am[0] if i1 > i0 else NULL, &dwv[0], pdb, nt)
    return dw, db
