"""Native 2-D pooling (src_c/pool.c), channels first, without padding: max pooling (with
the argmax that backward needs), average pooling and global average pooling.

Same signatures, validation and results as fastnn.reference.pool: max and average
pooling agree bit for bit (both sum a window offset by offset in the same order); the
global mean, summed in float64, agrees to rounding. The kernels split the (sample,
channel) planes over the threads, so the results do not depend on the thread count.
"""

from cython cimport floating

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks
from .._variants import family

__all__ = ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward",
           "avgpool2d_backward", "global_avgpool_forward", "global_avgpool_backward",
           "time_avgpool_forward", "time_avgpool_backward"]

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

V = Checks(all_finite)


cdef fnn_conv_geom _geom(Py_ssize_t c, Py_ssize_t h, Py_ssize_t w, Py_ssize_t oh,
                         Py_ssize_t ow, Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh,
                         Py_ssize_t sw):
    cdef fnn_conv_geom g
    g.c = c
    g.h = h
    g.w = w
    g.f = c
    g.oh = oh
    g.ow = ow
    g.kh = kh
    g.kw = kw
    g.sh = sh
    g.sw = sw
    g.pt = 0
    g.pl = 0
    g.dh = 1
    g.dw = 1
    return g


cdef fnn_conv_geom _pool_geom(g):
    return _geom(g.c, g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw)


cdef void _maxpool_fwd(fnn_conv_geom g, Py_ssize_t n, const floating[::1] x,
                       floating[::1] y, Py_ssize_t[::1] argmax):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_maxpool_forward_f32(&g, n, &x[0], &y[0], &argmax[0], nt)
        else:
            fnn_maxpool_forward_f64(&g, n, &x[0], &y[0], &argmax[0], nt)


cdef void _maxpool_bwd(fnn_conv_geom g, Py_ssize_t n, const floating[::1] dy,
                       const Py_ssize_t[::1] argmax, floating[::1] dx):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_maxpool_backward_f32(&g, n, &dy[0], &argmax[0], &dx[0], nt)
        else:
            fnn_maxpool_backward_f64(&g, n, &dy[0], &argmax[0], &dx[0], nt)


cdef void _avgpool_fwd(fnn_conv_geom g, Py_ssize_t n, const floating[::1] x,
                       floating[::1] y):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_avgpool_forward_f32(&g, n, &x[0], &y[0], nt)
        else:
            fnn_avgpool_forward_f64(&g, n, &x[0], &y[0], nt)


cdef void _avgpool_bwd(fnn_conv_geom g, Py_ssize_t n, const floating[::1] dy,
                       floating[::1] dx):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_avgpool_backward_f32(&g, n, &dy[0], &dx[0], nt)
        else:
            fnn_avgpool_backward_f64(&g, n, &dy[0], &dx[0], nt)


cdef void _gap_fwd(Py_ssize_t rows, Py_ssize_t s, const floating[::1] x, floating[::1] y):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_global_avgpool_forward_f32(rows, s, &x[0], &y[0], nt)
        else:
            fnn_global_avgpool_forward_f64(rows, s, &x[0], &y[0], nt)


cdef void _gap_bwd(Py_ssize_t rows, Py_ssize_t s, const floating[::1] dy, floating[::1] dx):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_global_avgpool_backward_f32(rows, s, &dy[0], &dx[0], nt)
        else:
            fnn_global_avgpool_backward_f64(rows, s, &dy[0], &dx[0], nt)


cdef void _tap_fwd(Py_ssize_t n, Py_ssize_t t, Py_ssize_t f, const floating[::1] x,
                   floating[::1] y):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_time_avgpool_forward_f32(n, t, f, &x[0], &y[0], nt)
        else:
            fnn_time_avgpool_forward_f64(n, t, f, &x[0], &y[0], nt)


cdef void _tap_bwd(Py_ssize_t n, Py_ssize_t t, Py_ssize_t f, const floating[::1] dy,
                   floating[::1] dx):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_time_avgpool_backward_f32(n, t, f, &dy[0], &dx[0], nt)
        else:
            fnn_time_avgpool_backward_f64(n, t, f, &dy[0], &dx[0], nt)


cdef extern from "pool_variants.h" nogil:
    ctypedef struct fnn_maxpool2x2_variant:
        const char *name
        int isa
    const fnn_maxpool2x2_variant *const *fnn_maxpool2x2_variants(int *count)
    const fnn_maxpool2x2_variant *fnn_maxpool2x2_pick()

cdef extern from "cpu.h" nogil:
    const char *fnn_isa_name(int isa)
    int fnn_isa_runnable(int level)


def variants():
    """The maxpool2x2 family's table (src_c/pool_variants.h: 2x2 stride-2 max pooling,
    float32), best first, and the variant in use now."""
    cdef int count = 0, i
    cdef const fnn_maxpool2x2_variant *const *table = fnn_maxpool2x2_variants(&count)
    cdef const fnn_maxpool2x2_variant *v = fnn_maxpool2x2_pick()
    return family("maxpool2x2", "compiler-vectorized loops",
                  [(table[i].name.decode(), fnn_isa_name(table[i].isa).decode(), True,
                    fnn_isa_runnable(table[i].isa)) for i in range(count)],
                  v.name.decode() if v != NULL else None)


def maxpool2d_forward(x, pool_size, stride=None, *, out=None, argmax=None):
    """2-D max pooling of x (N, C, H, W) over windows of pool_size (an int or a pair
    (KH, KW)) moved by stride (default: pool_size), without padding:
    OH = (H - KH) // SH + 1, likewise OW.

    Returns ``(y, argmax)``: y (N, C, OH, OW) and argmax (N, C, OH, OW) of dtype
    np.intp, the flat index ``h * W + w`` in its input plane of each window's first
    maximum in row-major window order. A NaN counts as the maximum (it propagates).
    """
    x, g, out, argmax = _inputs.maxpool_forward_inputs(V, x, pool_size, stride, out, argmax)
    if out.size == 0:
        return out, argmax
    if x.dtype.itemsize == 4:
        _maxpool_fwd[float](_pool_geom(g), g.n, x.reshape(-1), out.reshape(-1),
                            argmax.reshape(-1))
    else:
        _maxpool_fwd[double](_pool_geom(g), g.n, x.reshape(-1), out.reshape(-1),
                             argmax.reshape(-1))
    return out, argmax


def maxpool2d_backward(dy, argmax, x_shape, *, out=None):
    """Gradient of max pooling: dx of shape x_shape (N, C, H, W), zero except that each
    element of dy (N, C, OH, OW) is added at the position its argmax (from
    maxpool2d_forward) names; where windows overlap, the contributions add up."""
    dy, argmax, x_shape, out = _inputs.maxpool_backward_inputs(V, dy, argmax, x_shape, out)
    if out.size == 0:
        return out
    if dy.size == 0:
        out.fill(0)
        return out
    n, c, h, w = x_shape
    # backward only reads the plane sizes: argmax says where each gradient goes
    cdef fnn_conv_geom cg = _geom(c, h, w, dy.shape[2], dy.shape[3], 1, 1, 1, 1)
    if dy.dtype.itemsize == 4:
        _maxpool_bwd[float](cg, n, dy.reshape(-1), argmax.reshape(-1), out.reshape(-1))
    else:
        _maxpool_bwd[double](cg, n, dy.reshape(-1), argmax.reshape(-1), out.reshape(-1))
    return out


def avgpool2d_forward(x, pool_size, stride=None, *, out=None):
    """2-D average pooling of x (N, C, H, W), with the window geometry of
    maxpool2d_forward. Returns y (N, C, OH, OW): each window summed offset by offset in
    row-major order, then multiplied by 1 / (KH * KW)."""
    x, g, out = _inputs.pool_forward_inputs(V, x, pool_size, stride, out)
    if out.size == 0:
        return out
    if x.dtype.itemsize == 4:
        _avgpool_fwd[float](_pool_geom(g), g.n, x.reshape(-1), out.reshape(-1))
    else:
        _avgpool_fwd[double](_pool_geom(g), g.n, x.reshape(-1), out.reshape(-1))
    return out


def avgpool2d_backward(dy, x_shape, pool_size, stride=None, *, out=None):
    """Gradient of average pooling: dx of shape x_shape (N, C, H, W), each element of
    dy (N, C, OH, OW) spread evenly over its window. Computed as the sum of the dy of
    the windows covering an element (added in row-major order of the window offsets),
    multiplied by 1 / (KH * KW)."""
    dy, g, out = _inputs.avgpool_backward_inputs(V, dy, x_shape, pool_size, stride, out)
    if out.size == 0:
        return out
    if dy.dtype.itemsize == 4:
        _avgpool_bwd[float](_pool_geom(g), g.n, dy.reshape(-1), out.reshape(-1))
    else:
        _avgpool_bwd[double](_pool_geom(g), g.n, dy.reshape(-1), out.reshape(-1))
    return out


def global_avgpool_forward(x, *, out=None):
    """Mean of x (N, C, *spatial) over its spatial axes (at least one, none empty),
    accumulated in float64. Returns y (N, C)."""
    x, s, out = _inputs.global_avgpool_inputs(V, x, out)
    if out.size == 0:
        return out
    if x.dtype.itemsize == 4:
        _gap_fwd[float](out.size, s, x.reshape(-1), out.reshape(-1))
    else:
        _gap_fwd[double](out.size, s, x.reshape(-1), out.reshape(-1))
    return out


def global_avgpool_backward(dy, x_shape, *, out=None):
    """Gradient of global_avgpool_forward: dx of shape x_shape (N, C, *spatial) with
    ``dx[n, c, ...] = dy[n, c] / S`` (S the spatial size, divided in float64)."""
    dy, x_shape, s, out = _inputs.global_avgpool_backward_inputs(V, dy, x_shape, out)
    if out.size == 0:
        return out
    if dy.dtype.itemsize == 4:
        _gap_bwd[float](dy.size, s, dy.reshape(-1), out.reshape(-1))
    else:
        _gap_bwd[double](dy.size, s, dy.reshape(-1), out.reshape(-1))
    return out


def time_avgpool_forward(x, *, out=None):
    """Mean of a sequence x (N, T, F) over its T steps (channels last; T >= 1), summed
    in float64 step by step. Returns y (N, F)."""
    x, out = _inputs.time_avgpool_inputs(V, x, out)
    if x.size == 0:
        return out
    n, t, f = x.shape
    if x.dtype.itemsize == 4:
        _tap_fwd[float](n, t, f, x.reshape(-1), out.reshape(-1))
    else:
        _tap_fwd[double](n, t, f, x.reshape(-1), out.reshape(-1))
    return out


def time_avgpool_backward(dy, steps, *, out=None):
    """Gradient of time_avgpool_forward: dx (N, steps, F) with ``dx[n, t, f] =
    dy[n, f] / steps`` (divided in float64)."""
    dy, steps, out = _inputs.time_avgpool_backward_inputs(V, dy, steps, out)
    if out.size == 0:
        return out
    n, f = dy.shape
    if dy.dtype.itemsize == 4:
        _tap_bwd[float](n, steps, f, dy.reshape(-1), out.reshape(-1))
    else:
        _tap_bwd[double](n, steps, f, dy.reshape(-1), out.reshape(-1))
    return out
