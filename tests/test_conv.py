"""2-D convolution: fastnn.ops.conv against fastnn.reference.conv, and both against the
textbook definition.

im2col and col2im are copies and sums in a fixed (kh, kw) order, so the twins agree
exactly; conv2d_forward/backward contain matrix products and are compared with the
error bound of a k-term sum (conftest.assert_twins_close). The reference itself is
checked against a direct loop over the definition, and the gradients against central
finite differences.
"""

import inspect

import numpy as np
import pytest

import fastnn
from conftest import FLOAT_DTYPES, GRAIN_CHEAP, TWINS, assert_twins_close, randn
from fastnn import _inputs, ops, reference
from fastnn._kernels import KERNELS
from fastnn.ops.conv import own_kernels

# every kernel test runs once per instruction-set level this CPU runs (conftest.isa)
pytestmark = pytest.mark.usefixtures("isa")

# (n, c, h, w, filters, kernel_size, stride, padding, dilation)
CASES = [
    (1, 1, 1, 1, 1, 1, 1, 0, 1),
    (1, 1, 5, 5, 2, 3, 1, 0, 1),
    (3, 3, 7, 5, 4, 3, 2, 1, 1),
    (3, 1, 13, 7, 2, 5, 3, 2, 1),
    (1, 3, 5, 13, 5, 2, 1, ((0, 1), (1, 0)), 1),
    (3, 3, 13, 13, 4, (3, 2), (2, 1), ((1, 2), (0, 1)), (2, 1)),
    (1, 3, 7, 7, 3, 3, 1, 2, 2),
    (3, 1, 1, 13, 2, (1, 3), (1, 2), (0, 1), (1, 2)),  # a 1-D convolution (H = KH = 1)
    (1, 1, 5, 1, 1, (5, 1), 3, ((2, 2), (0, 0)), 1),
    (3, 3, 5, 7, 2, 3, 3, ((2, 0), (0, 2)), 2),
    (1, 3, 7, 5, 3, 1, 2, 0, 1),  # 1x1 kernel with stride
    (3, 3, 13, 13, 3, 5, 1, 0, 1),
    (1, 1, 3, 3, 1, 5, 1, 1, 1),  # kernel larger than the image: padding makes it fit
    # rows of at most 16 columns, stride 1: the narrow-plane col2im (float32, the conv family)
    # -- the LeNet's second layer, 16-wide "same" rows, 6-wide rows with padding on
    # three sides, and 17 columns (the generic loops again)
    (2, 16, 12, 12, 32, 5, 1, 0, 1),
    (2, 2, 16, 16, 3, 3, 1, 1, 1),
    (2, 3, 9, 6, 2, 3, 1, ((1, 2), (0, 1)), 1),
    (1, 2, 6, 17, 2, 3, 1, 0, 1),
]
CASE_IDS = [f"n{c[0]}c{c[1]}-{c[2]}x{c[3]}-f{c[4]}-k{c[5]}-s{c[6]}-p{c[7]}-d{c[8]}"
            .replace(" ", "") for c in CASES]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _make(rng, case, dtype):
    n, c, h, w, f, k, s, p, d = case
    kh, kw = _pair(k)
    x = randn(rng, (n, c, h, w), dtype)
    wt = randn(rng, (f, c, kh, kw), dtype)
    b = randn(rng, (f,), dtype)
    return x, wt, b, (s, p, d)


def _abs64(a):
    return np.abs(a).astype(np.float64)


# ------------------------------------------------------------------ registry


def test_registered():
    assert KERNELS["conv"] == ["im2col", "col2im", "conv2d_forward", "conv2d_backward",
                               "conv2d_pooled_backward"]
    for name in KERNELS["conv"]:  # the same docstring (Cython prepends the signature)
        assert inspect.cleandoc(getattr(reference, name).__doc__) in \
            inspect.cleandoc(getattr(ops, name).__doc__)


# ------------------------------------------------------------------ geometry


def test_geometry_normalises():
    g = _inputs.conv_geometry((2, 3, 13, 11), (3, 2), (2, 1), ((1, 2), (0, 1)), (2, 1))
    assert g == _inputs.ConvGeometry(c=3, h=13, w=11, oh=(13 + 3 - 5) // 2 + 1,
                                     ow=(11 + 1 - 2) // 1 + 1, kh=3, kw=2, sh=2, sw=1,
                                     pt=1, pb=2, pl=0, pr=1, dh=2, dw=1)
    # (C, H, W) of one sample, lists, numpy integers and the symmetric pair form
    g1 = _inputs.conv_geometry((3, 13, 11), [3, 2], np.int64(2), [1, 0], 1)
    assert (g1.pt, g1.pb, g1.pl, g1.pr, g1.sh, g1.sw, g1.dh) == (1, 1, 0, 0, 2, 2, 1)
    assert (g1.oh, g1.ow) == ((13 + 2 - 3) // 2 + 1, (11 - 2) // 2 + 1)
    g2 = _inputs.conv_geometry((1, 1, 4, 4), 2, 1, (1, (0, 3)), 1)  # mixed pair form
    assert (g2.pt, g2.pb, g2.pl, g2.pr) == (1, 1, 0, 3)


# ------------------------------------------------------------------ im2col / col2im


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_im2col_col2im_twins_exact(rng, case, dtype):
    x, wt, _, (s, p, d) = _make(rng, case, dtype)
    k = wt.shape[2:]
    g = _inputs.conv_geometry(x.shape, k, s, p, d)
    shape = (g.c * g.kh * g.kw, x.shape[0] * g.oh * g.ow)
    out_n, out_r = np.full(shape, np.nan, dtype), np.full(shape, np.nan, dtype)
    cols_n = ops.im2col(x, k, s, p, d, out=out_n)
    cols_r = reference.im2col(x, k, s, p, d, out=out_r)
    assert cols_n is out_n and cols_r is out_r
    np.testing.assert_array_equal(cols_n, cols_r, strict=True)
    c = randn(rng, shape, dtype)
    dx_n = ops.col2im(c, x.shape, k, s, p, d, out=np.full(x.shape, np.nan, dtype))
    dx_r = reference.col2im(c, x.shape, k, s, p, d)
    assert dx_n.dtype == dtype
    np.testing.assert_array_equal(dx_n, dx_r, strict=True)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("impl", TWINS)
def test_col2im_is_the_adjoint_of_im2col(rng, impl, case):
    """<im2col(x), c> == <x, col2im(c)> for every x and c."""
    x, wt, _, (s, p, d) = _make(rng, case, np.float64)
    k = wt.shape[2:]
    cols = impl.im2col(x, k, s, p, d)
    c = randn(rng, cols.shape, np.float64)
    lhs = float(np.vdot(cols, c))
    rhs = float(np.vdot(x, impl.col2im(c, x.shape, k, s, p, d)))
    scale = float(np.vdot(np.abs(cols), np.abs(c))) + 1.0
    assert abs(lhs - rhs) <= 1e-12 * scale, (lhs, rhs)


@pytest.mark.parametrize("impl", TWINS)
def test_im2col_by_hand(impl):
    """A 1 x 1 x 3 x 3 image, 2 x 2 kernel, padding 1 on the left only, stride 2."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    cols = impl.im2col(x, 2, 2, ((0, 0), (1, 0)))
    # output positions (oh, ow) in {0} x {0, 1}; window top-left at (0, -1) and (0, 1)
    np.testing.assert_array_equal(cols, [[0, 2],    # (kh, kw) = (0, 0)
                                         [1, 3],    # (0, 1)
                                         [0, 5],    # (1, 0)
                                         [4, 6]])   # (1, 1)


# ------------------------------------------------------------------ conv2d


def _direct_conv(x, w, b, stride, padding, dilation):
    """y[i, f, oh, ow] = b[f] + sum w[f, c, kh, kw] x[i, c, oh*sh - pt + kh*dh, ...],
    literally, in float64 (padding given as ((top, bottom), (left, right)))."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    (pt, pb), (pl, pr) = padding
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, f, oh, ow))
    for i, fi, o1, o2 in np.ndindex(n, f, oh, ow):
        acc = 0.0 if b is None else float(b[fi])
        for ci, k1, k2 in np.ndindex(c, kh, kw):
            ih, iw = o1 * sh - pt + k1 * dh, o2 * sw - pl + k2 * dw
            if 0 <= ih < h and 0 <= iw < wd:
                acc += float(w[fi, ci, k1, k2]) * float(x[i, ci, ih, iw])
        y[i, fi, o1, o2] = acc
    return y


@pytest.mark.parametrize("impl", TWINS)
@pytest.mark.parametrize("geom", [
    ((1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((2, 1), ((1, 0), (2, 1)), (1, 2)),
    ((1, 3), ((2, 2), (1, 1)), (2, 1)),
])
def test_conv2d_matches_the_definition(rng, impl, geom):
    stride, padding, dilation = geom
    x = rng.standard_normal((2, 2, 6, 7))
    w = rng.standard_normal((3, 2, 2, 3))
    b = rng.standard_normal(3)
    for bias in (b, None):
        got = impl.conv2d_forward(x, w, bias, stride, padding, dilation)
        np.testing.assert_allclose(got, _direct_conv(x, w, bias, stride, padding, dilation),
                                   rtol=1e-12, atol=1e-12)


def _forward_check(x, w, b, spd, what):
    y_n = ops.conv2d_forward(x, w, b, *spd, out=np.full(
        reference.conv2d_forward(x, w, b, *spd).shape, np.nan, x.dtype))
    y_r = reference.conv2d_forward(x, w, b, *spd)
    mag = reference.conv2d_forward(_abs64(x), _abs64(w), None if b is None else _abs64(b), *spd)
    assert_twins_close(y_n, y_r, terms=w[0].size + 1, magnitude=mag, err_msg=what)
    return y_n


def _backward_check(x, w, dy, spd, compute_dx, compute_db, what):
    f, _, kh, kw = w.shape
    n_out = dy.shape[0] * dy.shape[2] * dy.shape[3]
    bufs = {"dx": np.full(x.shape, np.nan, x.dtype) if compute_dx else None,
            "dw": np.full(w.shape, np.nan, x.dtype),
            "db": np.full((f,), np.nan, x.dtype) if compute_db else None}
    res_n = ops.conv2d_backward(x, w, dy, *spd, compute_dx=compute_dx, compute_db=compute_db,
                                **bufs)
    for r, key in zip(res_n, ("dx", "dw", "db")):
        assert r is bufs[key], f"{key}: a passed output array must be the one returned"
    res_r = reference.conv2d_backward(x, w, dy, *spd, compute_dx=compute_dx,
                                      compute_db=compute_db)
    mag = reference.conv2d_backward(_abs64(x), _abs64(w), _abs64(dy), *spd)
    dx_n, dw_n, db_n = res_n
    dx_r, dw_r, db_r = res_r
    assert_twins_close(dw_n, dw_r, terms=n_out, magnitude=mag[1], err_msg=f"{what} dw")
    if compute_dx:
        assert_twins_close(dx_n, dx_r, terms=f + kh * kw, magnitude=mag[0],
                           err_msg=f"{what} dx")
    else:
        assert dx_n is None and dx_r is None
    if compute_db:
        assert_twins_close(db_n, db_r, terms=n_out, magnitude=mag[2], err_msg=f"{what} db")
    else:
        assert db_n is None and db_r is None


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_conv2d_twins(rng, case, dtype):
    x, w, b, spd = _make(rng, case, dtype)
    y = _forward_check(x, w, b, spd, "forward")
    _forward_check(x, w, None, spd, "forward without bias")
    dy = randn(rng, y.shape, dtype)
    _backward_check(x, w, dy, spd, True, True, "backward")


# Stride 1, dilation 1 and at most 64 = C*KH*KW: the float32 direct kernels where a
# conv variant runs (conv_variants.h: every level but generic). Rows of 8 to 40 outputs
# (one or two vectors per tile, masked tails), kernels 1 to 7 wide, filters not a
# multiple of the 8- and 4-filter tiles, padding on one or both sides (masked loads,
# skipped rows).
DIRECT_CASES = [
    (3, 1, 28, 28, 16, 5, 1, 0, 1),                 # the MNIST LeNet's first layer
    (2, 1, 28, 28, 13, 5, 1, 2, 1),                 # "same" padding, 13 filters
    (2, 3, 11, 19, 7, 3, 1, 1, 1),
    (1, 2, 9, 31, 5, (3, 7), 1, (1, 3), 1),
    (4, 1, 12, 40, 9, 5, 1, 0, 1),                  # a row of 36: two tiles
    (2, 4, 10, 12, 6, 4, 1, ((2, 0), (0, 3)), 1),
    (1, 1, 8, 8, 3, 1, 1, 0, 1),                    # 1x1 kernel
    (2, 7, 9, 9, 10, 3, 1, 1, 1),                   # C*KH*KW = 63
    (1, 2, 6, 15, 17, (2, 6), 1, ((0, 1), (2, 2)), 1),
    (3, 1, 5, 47, 4, (1, 3), 1, 0, 1),              # a 1-D convolution
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", DIRECT_CASES,
                         ids=[f"n{c[0]}c{c[1]}-{c[2]}x{c[3]}-f{c[4]}-k{c[5]}-p{c[7]}"
                              .replace(" ", "") for c in DIRECT_CASES])
def test_conv2d_twins_direct_path(rng, case, dtype):
    """Where a conv variant runs, float32 runs the direct kernels here
    (test_direct_path_choice); float64, and float32 elsewhere, im2col + GEMM: the same
    check either way."""
    x, w, b, spd = _make(rng, case, dtype)
    y = _forward_check(x, w, b, spd, "forward")
    _forward_check(x, w, None, spd, "forward without bias")
    dy = randn(rng, y.shape, dtype)
    for compute_dx, compute_db in ((True, True), (False, True), (False, False)):
        _backward_check(x, w, dy, spd, compute_dx, compute_db, "backward")


def test_direct_path_choice():
    """Which shapes take the direct kernels: all of DIRECT_CASES in float32 where the CPU
    runs a conv variant (and FASTNN_GEMM is not "blas"), none in float64; stride, dilation,
    C*KH*KW > 64, a kernel wider than 7 or a row of fewer than 8 outputs send a layer to
    im2col + GEMM."""
    direct = ops.conv._direct_path
    on = bool(own_kernels())  # a conv variant runs at this level and FASTNN_GEMM != "blas"
    for c in DIRECT_CASES:
        n, ch, h, wd, f, k, s, p, d = c
        kh, kw = _pair(k)
        assert direct((n, ch, h, wd), (f, ch, kh, kw), s, p, d) == on, c
        assert not direct((n, ch, h, wd), (f, ch, kh, kw), s, p, d, np.float64), c
    assert not direct((1, 1, 28, 28), (16, 1, 5, 5), 2)              # stride
    assert not direct((1, 1, 28, 28), (16, 1, 5, 5), 1, 0, 2)        # dilation
    assert not direct((1, 3, 28, 28), (16, 3, 5, 5))                 # C*KH*KW = 75
    assert not direct((1, 1, 28, 28), (16, 1, 1, 8))                 # kernel 8 wide
    assert not direct((1, 1, 28, 11), (16, 1, 5, 5))                 # rows of 7 outputs


def _unpadded_ids(cases):
    """Test ids of stride-1 unpadded cases: samples, channels, plane, filters, kernel."""
    return [f"n{c[0]}c{c[1]}-{c[2]}x{c[3]}-f{c[4]}-k{c[5]}".replace(" ", "") for c in cases]


# Stride 1, no padding, at most 32 filters, kernels 2 to 7 wide, C*KH*KW > 64: the float32
# implicit-GEMM kernels where a conv variant runs (conv_variants.h: forward as positions x
# filters, dW^T by (c, kh) units x KW rows, both reading x in place). Filters 1, 5, 16 (one
# vector), 17, 24 and 32 (two, the second masked); output rows of 8, 11 (tiles of 8, 2
# and 1 positions), 28 (8 x 3 + 4), 4 and 1 wide; units (c, kh) that do not fill the last
# tile (15 units of 2, 20 of 3, 80 of 6).
IMPLICIT_CASES = [
    (3, 16, 12, 12, 32, 5, 1, 0, 1),                # the MNIST LeNet's second layer
    (2, 9, 13, 10, 5, 7, 1, 0, 1),
    (3, 40, 6, 7, 17, 2, 1, 0, 1),
    (2, 13, 10, 9, 16, (4, 6), 1, 0, 1),
    (2, 11, 8, 8, 1, (5, 3), 1, 0, 1),
    (1, 12, 7, 13, 24, 3, 1, 0, 1),
    (2, 10, 20, 30, 12, 3, 1, 0, 1),
    (2, 3, 9, 9, 20, 5, 1, 0, 1),
    (2, 5, 8, 8, 32, 4, 1, 0, 1),
    (1, 4, 8, 10, 8, (3, 6), 1, 0, 1),
    (2, 8, 3, 9, 6, 3, 1, 0, 1),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", IMPLICIT_CASES,
                         ids=_unpadded_ids(IMPLICIT_CASES))
def test_conv2d_twins_implicit_path(rng, case, dtype):
    """Where a conv variant runs, float32 runs the implicit-GEMM kernels here
    (test_implicit_path_choice); float64 im2col + GEMM: the same check either way."""
    x, w, b, spd = _make(rng, case, dtype)
    y = _forward_check(x, w, b, spd, "forward")
    _forward_check(x, w, None, spd, "forward without bias")
    dy = randn(rng, y.shape, dtype)
    for compute_dx, compute_db in ((True, True), (False, True), (False, False)):
        _backward_check(x, w, dy, spd, compute_dx, compute_db, "backward")


def test_implicit_path_choice():
    """Which shapes take the implicit-GEMM kernels: all of IMPLICIT_CASES in float32 where
    a conv variant runs (and FASTNN_GEMM is not "blas"), none in float64; padding, stride,
    dilation, more than 32 filters, a 1-wide or 8-wide kernel, or a layer the direct
    kernels take (C*KH*KW <= 64) send it elsewhere."""
    implicit = ops.conv._implicit_path
    on = bool(own_kernels())
    for c in IMPLICIT_CASES:
        n, ch, h, wd, f, k, s, p, d = c
        kh, kw = _pair(k)
        assert implicit((n, ch, h, wd), (f, ch, kh, kw), s, p, d) == on, c
        assert not implicit((n, ch, h, wd), (f, ch, kh, kw), s, p, d, np.float64), c
    lenet2 = ((1, 16, 12, 12), (32, 16, 5, 5))
    assert not implicit(*lenet2, 1, 1)                                # padding
    assert not implicit(*lenet2, 1, ((0, 1), (0, 0)))                 # padding at the bottom
    assert not implicit(*lenet2, 2)                                   # stride
    assert not implicit(*lenet2, 1, 0, 2)                             # dilation
    assert not implicit((1, 16, 12, 12), (33, 16, 5, 5))              # 33 filters
    assert not implicit((1, 80, 12, 12), (32, 80, 1, 1))              # 1x1 kernel
    assert not implicit((1, 16, 12, 12), (32, 16, 3, 8))              # kernel 8 wide
    assert not implicit((1, 1, 28, 28), (16, 1, 5, 5))                # the direct kernels
    assert not implicit((1, 40, 12, 12), (32, 40, 5, 5))              # W of 32,000 > 16,384


# dx without dcols or col2im (fnn_conv_implicit_dx: input rows of at most 16, output rows
# of at least 4, kernels 3, 5 or 7 wide): these IMPLICIT_CASES, plus 40 input channels
# (three blocks of 16, the last masked; rows of 16) and a first layer on the direct
# kernels (one channel) whose dx is asked for.
IMPLICIT_DX = [0, 1, 4, 5, 7, 10]
IMPLICIT_DX_EXTRA = [
    (2, 40, 12, 16, 8, (5, 3), 1, 0, 1),
    (2, 1, 16, 16, 7, 5, 1, 0, 1),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", IMPLICIT_DX_EXTRA,
                         ids=_unpadded_ids(IMPLICIT_DX_EXTRA))
def test_conv2d_twins_implicit_dx(rng, case, dtype):
    x, w, b, spd = _make(rng, case, dtype)
    dy = randn(rng, _forward_check(x, w, b, spd, "forward").shape, dtype)
    _backward_check(x, w, dy, spd, True, True, "backward")


def test_implicit_dx_path_choice():
    dx_path = ops.conv._implicit_dx_path
    on = bool(own_kernels())
    for i, c in enumerate(IMPLICIT_CASES + IMPLICIT_DX_EXTRA):
        n, ch, h, wd, f, k, s, p, d = c
        kh, kw = _pair(k)
        want = on and (i in IMPLICIT_DX or i >= len(IMPLICIT_CASES))
        assert dx_path((n, ch, h, wd), (f, ch, kh, kw), s, p, d) == want, c
        assert not dx_path((n, ch, h, wd), (f, ch, kh, kw), s, p, d, np.float64), c
    lenet2 = ((1, 16, 12, 12), (32, 16, 5, 5))
    assert dx_path(*lenet2) == on
    assert not dx_path(*lenet2, 1, 1)                                 # padding
    assert not dx_path((1, 16, 12, 17), (32, 16, 5, 5))               # rows of 17
    assert not dx_path((1, 16, 12, 6), (32, 16, 5, 4))                # kernel 4 wide
    assert not dx_path((1, 16, 12, 7), (32, 16, 5, 5))                # output rows of 3


# conv2d_pooled_backward: (conv case, pool_size, pool_stride). The first six take
# fnn_conv_pooled_dw in float32 where a conv variant runs (direct kernels, C*KH <= 8): the
# LeNet's first layer, "same" padding with 3x3 windows of stride 2 (overlapping), padding
# on three sides with windows of 1x3, stride-1 windows, an odd pooled plane (masked tail),
# padding only at the bottom and on the right (patches past the image's far edges);
# the rest go through maxpool2d_backward + conv2d_backward (C*KH = 9, rows of 5 outputs,
# a stride-2 conv).
POOLED_CASES = [
    ((3, 1, 28, 28, 16, 5, 1, 0, 1), 2, None),
    ((2, 2, 12, 13, 5, 3, 1, 1, 1), 3, 2),
    ((2, 1, 9, 15, 3, (4, 3), 1, ((1, 2), (0, 1)), 1), (1, 3), None),
    ((1, 2, 10, 10, 4, 3, 1, 0, 1), 2, 1),
    ((2, 1, 15, 21, 7, 2, 1, 0, 1), (3, 2), None),
    ((2, 1, 9, 11, 3, 5, 1, ((0, 1), (0, 2)), 1), 2, None),
    ((2, 3, 10, 10, 4, 3, 1, 1, 1), 2, None),
    ((2, 1, 9, 9, 3, 5, 1, 0, 1), 2, None),
    ((2, 1, 12, 12, 3, 3, 2, 0, 1), 2, None),
]
POOLED_IDS = [f"n{c[0]}c{c[1]}-{c[2]}x{c[3]}-f{c[4]}-k{c[5]}-s{c[6]}-p{c[7]}-pool{ps}-{pst}"
              .replace(" ", "") for c, ps, pst in POOLED_CASES]


def _pooled_inputs(rng, case, ps, pst, dtype):
    x, w, _, spd = _make(rng, case, dtype)
    y = reference.conv2d_forward(x, w, None, *spd)
    _, argmax = reference.maxpool2d_forward(y, ps, pst)
    dy = randn(rng, argmax.shape, dtype)
    dy[dy < 0] = 0  # a ReLU after the pooling: zeros the kernel still has to add
    return x, w, dy, argmax, spd


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case,ps,pst", POOLED_CASES, ids=POOLED_IDS)
def test_conv2d_pooled_backward_twins(rng, case, ps, pst, dtype):
    x, w, dy, argmax, spd = _pooled_inputs(rng, case, ps, pst, dtype)
    on = bool(own_kernels()) and dtype == np.float32 and POOLED_CASES.index((case, ps, pst)) < 6
    assert ops.conv._pooled_path(x.shape, w.shape, ps, pst, *spd, dtype=dtype) == on
    got = ops.conv2d_pooled_backward(x, w, dy, argmax, ps, pst, *spd)
    want = reference.conv2d_pooled_backward(x, w, dy, argmax, ps, pst, *spd)
    # the same as the pooling's backward followed by the conv's
    dyc = reference.maxpool2d_backward(dy, argmax, reference.conv2d_forward(x, w, None,
                                                                              *spd).shape)
    _, dw2, db2 = reference.conv2d_backward(x, w, dyc, *spd, compute_dx=False)
    np.testing.assert_array_equal(want[0], dw2)
    np.testing.assert_array_equal(want[1], db2)
    mag = reference.conv2d_backward(_abs64(x), _abs64(w), _abs64(dyc), *spd,
                                     compute_dx=False)
    assert_twins_close(got[0], want[0], terms=dy[:, 0].size, magnitude=mag[1].astype(dtype),
                       err_msg="dw")
    assert_twins_close(got[1], want[1], terms=dy[:, 0].size, magnitude=mag[2].astype(dtype),
                       err_msg="db")
    dw, db = ops.conv2d_pooled_backward(x, w, dy, argmax, ps, pst, *spd, compute_db=False,
                                        dw=np.full(w.shape, np.nan, dtype))
    assert db is None
    np.testing.assert_array_equal(dw, got[0])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_large_batches_run_in_chunks(rng, dtype):
    """A batch of more work than one chunk (src_c/conv.h: fnn_conv_chunk_rows; Ctrl-C is
    acted on between chunks) gives the reference's results: y and dx chunk by chunk, dW and
    db summed over the chunks."""
    x, w = randn(rng, (10, 32, 40, 40), dtype), randn(rng, (64, 32, 3, 3), dtype)
    b = randn(rng, (64,), dtype)
    spd = (1, 1, 1)
    assert ops.conv._chunk_rows(x.shape, w.shape, *spd) == 6  # chunks of 6 and 4 samples
    y = _forward_check(x, w, b, spd, "forward")
    dy = randn(rng, y.shape, dtype)
    for compute_dx, compute_db in ((True, True), (False, False)):
        _backward_check(x, w, dy, spd, compute_dx, compute_db, "backward")


def test_large_batches_run_in_chunks_pooled_backward(rng):
    """conv2d_pooled_backward in chunks, on the direct kernels where a conv variant runs."""
    case, ps = (2000, 1, 28, 28, 16, 5, 1, 0, 1), 2
    x, w, dy, argmax, spd = _pooled_inputs(rng, case, ps, None, np.float32)
    assert ops.conv._chunk_rows(x.shape, w.shape, *spd) == 868  # 3 chunks
    assert ops.conv._pooled_path(x.shape, w.shape, ps, None, *spd) == bool(own_kernels())
    got = ops.conv2d_pooled_backward(x, w, dy, argmax, ps, None, *spd)
    want = reference.conv2d_pooled_backward(x, w, dy, argmax, ps, None, *spd)
    dyc = reference.maxpool2d_backward(dy, argmax, reference.conv2d_forward(x, w, None,
                                                                              *spd).shape)
    mag = reference.conv2d_backward(_abs64(x), _abs64(w), _abs64(dyc), *spd,
                                     compute_dx=False)
    assert_twins_close(got[0], want[0], terms=dy[:, 0].size, magnitude=mag[1].astype(np.float32),
                       err_msg="dw")
    assert_twins_close(got[1], want[1], terms=dy[:, 0].size, magnitude=mag[2].astype(np.float32),
                       err_msg="db")


@pytest.mark.parametrize("impl", TWINS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_conv2d_pooled_backward_empty_batch(impl, dtype):
    x, w = np.zeros((0, 1, 28, 28), dtype), np.ones((16, 1, 5, 5), dtype)
    dw, db = impl.conv2d_pooled_backward(x, w, np.zeros((0, 16, 12, 12), dtype),
                                         np.zeros((0, 16, 12, 12), np.intp), 2,
                                         dw=np.full(w.shape, np.nan, dtype),
                                         db=np.full(16, np.nan, dtype))
    np.testing.assert_array_equal(dw, 0)
    np.testing.assert_array_equal(db, 0)


@pytest.mark.usefixtures("restore_threads")
def test_conv2d_pooled_backward_threads_give_the_same_result(rng):
    """The filters split over the team, each summed over the samples in order."""
    x, w, dy, argmax, spd = _pooled_inputs(rng, (40, 1, 28, 28, 16, 5, 1, 0, 1), 2, None,
                                           np.float32)

    def run(n_threads):
        fastnn.set_num_threads(n_threads)
        return ops.conv2d_pooled_backward(x, w, dy, argmax, 2, None, *spd)

    one = run(1)
    for n in (2, 3):
        for a, b in zip(run(n), one):
            np.testing.assert_array_equal(a, b, strict=True)


@pytest.mark.parametrize("impl", TWINS)
def test_conv2d_pooled_backward_bad_input(impl):
    x, w = m((2, 1, 12, 12), np.float32), m((3, 1, 5, 5), np.float32)
    dy, am = m((2, 3, 4, 4), np.float32), np.zeros((2, 3, 4, 4), np.intp)
    with pytest.raises(ValueError, match=r"^dy must have shape \(2, 3, 4, 4\), got \(2, 3, 8, 8\)"):
        impl.conv2d_pooled_backward(x, w, m((2, 3, 8, 8), np.float32), am, 2)
    with pytest.raises(ValueError, match=r"^argmax must have shape \(2, 3, 4, 4\)"):
        impl.conv2d_pooled_backward(x, w, dy, am[:, :2], 2)
    with pytest.raises(ValueError, match=r"^argmax has index 64 outside \[0, 64\)"):
        impl.conv2d_pooled_backward(x, w, dy, am + 64, 2)
    with pytest.raises(TypeError, match=r"^argmax must have dtype"):
        impl.conv2d_pooled_backward(x, w, dy, am.astype(np.int32), 2)
    with pytest.raises(TypeError, match=r"^dy has dtype float64 but x has dtype float32"):
        impl.conv2d_pooled_backward(x, w, dy.astype(np.float64), am, 2)
    with pytest.raises(ValueError, match=r"pool window \(9, 9\) is larger than the input "
                                         r"\(8, 8\)"):
        impl.conv2d_pooled_backward(x, w, dy, am, 9)
    bad = dy.copy()
    bad[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="dy"):
        impl.conv2d_pooled_backward(x, w, bad, am, 2)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("compute_dx,compute_db", [(False, True), (True, False),
                                                   (False, False)])
def test_conv2d_backward_flags(rng, compute_dx, compute_db, dtype):
    x, w, _, spd = _make(rng, CASES[5], dtype)
    dy = randn(rng, reference.conv2d_forward(x, w, None, *spd).shape, dtype)
    _backward_check(x, w, dy, spd, compute_dx, compute_db, "flags")


@pytest.mark.parametrize("impl", TWINS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_empty_batch(impl, dtype):
    x = np.zeros((0, 3, 5, 5), dtype)
    w = np.ones((2, 3, 3, 3), dtype)
    y = impl.conv2d_forward(x, w, np.ones(2, dtype), 1, 1)
    assert y.shape == (0, 2, 5, 5) and y.dtype == dtype
    dx, dw, db = impl.conv2d_backward(x, w, np.zeros((0, 2, 5, 5), dtype), 1, 1,
                                      dw=np.full(w.shape, np.nan, dtype),
                                      db=np.full(2, np.nan, dtype))
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dw, 0)  # overwritten: no samples, no gradient
    np.testing.assert_array_equal(db, 0)
    cols = impl.im2col(x, 3, 1, 1)
    assert cols.shape == (27, 0)
    assert impl.col2im(cols, x.shape, 3, 1, 1).shape == x.shape


@pytest.mark.parametrize("impl", TWINS)
def test_gradients_finite_differences(rng, impl):
    """conv2d_backward is the gradient of sum(dy * conv2d_forward(x, w, b)) (float64),
    with stride 2, asymmetric padding and dilation."""
    spd = ((2, 1), ((1, 2), (0, 1)), (2, 1))
    x = rng.standard_normal((2, 2, 6, 5))
    w = rng.standard_normal((3, 2, 3, 2))
    b = rng.standard_normal(3)
    dy = rng.standard_normal(impl.conv2d_forward(x, w, b, *spd).shape)
    dx, dw, db = impl.conv2d_backward(x, w, dy, *spd)
    h = 1e-6

    def loss():
        return float(np.sum(dy * impl.conv2d_forward(x, w, b, *spd)))

    for arr, grad, name in [(x, dx, "x"), (w, dw, "w"), (b, db, "b")]:
        num = np.empty_like(arr)
        for i in np.ndindex(arr.shape):
            orig = arr[i]
            arr[i] = orig + h
            fp = loss()
            arr[i] = orig - h
            fm = loss()
            arr[i] = orig
            num[i] = (fp - fm) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8, err_msg=name)


# ------------------------------------------------------------------ threads


THREAD_CASES = [  # above twice the parallel grain in im2col, col2im and the permutations
    ((16, 4, 16, 16), (40, 4, 3, 3), (1, 1, 1)),
    ((80, 4, 17, 17), (8, 4, 3, 3), (2, ((1, 2), (0, 1)), 2)),
    ((24, 16, 12, 12), (32, 16, 5, 5), (1, 0, 1)),  # the implicit-GEMM kernels (float32)
]


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("xs,ws,spd", THREAD_CASES)
def test_threads_give_the_same_result(rng, xs, ws, spd, dtype):
    """Every output (im2col, col2im, y, dx, dw, db) is bitwise identical on 1, 2 and 3
    threads."""
    x, w, b = randn(rng, xs, dtype), randn(rng, ws, dtype), randn(rng, ws[:1], dtype)
    k = ws[2:]
    g = _inputs.conv_geometry(xs, k, *spd)
    assert g.c * g.kh * g.kw * xs[0] * g.oh * g.ow > 2 * GRAIN_CHEAP
    dy = randn(rng, (xs[0], ws[0], g.oh, g.ow), dtype)
    c = randn(rng, (g.c * g.kh * g.kw, xs[0] * g.oh * g.ow), dtype)

    def run(n_threads):
        fastnn.set_num_threads(n_threads)
        return (ops.im2col(x, k, *spd), ops.col2im(c, xs, k, *spd),
                ops.conv2d_forward(x, w, b, *spd), *ops.conv2d_backward(x, w, dy, *spd))

    one = run(1)
    mag = reference.conv2d_backward(_abs64(x), _abs64(w), _abs64(dy), *spd)
    for n in (2, 3):
        many = run(n)
        # blocks of samples fixed by the geometry, one product per block; dw of at most
        # 64 filters in 4x4 tiles of dot products, the threads splitting whole tiles
        for i, what in ((0, "im2col"), (1, "col2im"), (2, "y"), (3, "dx"), (4, "dw"),
                        (5, "db")):
            np.testing.assert_array_equal(many[i], one[i], strict=True,
                                          err_msg=f"{what}, 1 vs {n} threads")
        assert_twins_close(many[4], reference.conv2d_backward(x, w, dy, *spd)[1],
                           terms=dy[:, 0].size, magnitude=mag[1], err_msg="dw")


# ------------------------------------------------------------------ bad input


def m(shape, dt=np.float64):
    return np.random.default_rng(0).uniform(-1, 1, shape).astype(dt)


def _nan_x():
    x = m((2, 3, 5, 5))
    x[1, 2, 4, 4] = np.nan
    return x


X, W = (2, 3, 5, 5), (4, 3, 3, 3)
BAD = [
    ("kernel-too-large", lambda M: M.conv2d_forward(m((1, 1, 3, 3)), m((1, 1, 5, 5))),
     ValueError, r"^kernel \(5, 5\) with dilation \(1, 1\) is larger than the padded input "
                 r"\(3, 3\)"),
    ("dilated-kernel-too-large", lambda M: M.conv2d_forward(m(X), m(W), dilation=(1, 3)),
     ValueError, r"kernel \(3, 3\) with dilation \(1, 3\) is larger than the padded input "
                 r"\(5, 5\)"),
    ("im2col-kernel-too-large", lambda M: M.im2col(m((1, 1, 2, 6)), (2, 7), padding=(0, 0)),
     ValueError, r"kernel \(2, 7\) with dilation \(1, 1\) is larger than the padded input "
                 r"\(2, 6\)"),
    ("stride-0", lambda M: M.conv2d_forward(m(X), m(W), stride=0), ValueError,
     r"^stride must be >= 1, got \(0, 0\)$"),
    ("stride-negative", lambda M: M.conv2d_backward(m(X), m(W), m((2, 4, 3, 3)), (1, -2)),
     ValueError, r"^stride must be >= 1, got \(1, -2\)$"),
    ("dilation-0", lambda M: M.im2col(m(X), 3, dilation=(0, 1)), ValueError,
     r"^dilation must be >= 1"),
    ("kernel-0", lambda M: M.im2col(m(X), 0), ValueError, r"^kernel_size must be >= 1"),
    ("padding-negative", lambda M: M.conv2d_forward(m(X), m(W), padding=((0, -1), (0, 0))),
     ValueError, r"^padding must be >= 0"),
    ("padding-triple", lambda M: M.conv2d_forward(m(X), m(W), padding=(1, 2, 3)), TypeError,
     r"^padding must be an int, a pair \(ph, pw\) or a pair of pairs"),
    ("stride-float", lambda M: M.conv2d_forward(m(X), m(W), stride=1.5), TypeError,
     r"^stride must be an int or a pair \(h, w\) of ints, got 1.5$"),
    ("stride-bool", lambda M: M.conv2d_forward(m(X), m(W), stride=True), TypeError,
     "^stride must be an int or a pair"),
    ("kernel-triple", lambda M: M.im2col(m(X), (3, 3, 3)), TypeError,
     "^kernel_size must be an int or a pair"),
    ("x-3d", lambda M: M.conv2d_forward(m((3, 5, 5)), m(W)), ValueError,
     r"^x must be 4-D, got shape \(3, 5, 5\)$"),
    ("w-3d", lambda M: M.conv2d_forward(m(X), m((4, 3, 3))), ValueError,
     r"^w must be 4-D, got shape \(4, 3, 3\)$"),
    ("im2col-x-2d", lambda M: M.im2col(m((5, 5)), 3), ValueError, "^x must be 4-D"),
    ("channels", lambda M: M.conv2d_forward(m((2, 3, 5, 5)), m((4, 1, 3, 3))), ValueError,
     r"^x has 3 channels but w expects 1 \(w has shape \(4, 1, 3, 3\)"),
    ("channels-backward",
     lambda M: M.conv2d_backward(m((2, 3, 5, 5)), m((4, 2, 3, 3)), m((2, 4, 3, 3))),
     ValueError, "^x has 3 channels but w expects 2"),
    ("dtype-mix-w", lambda M: M.conv2d_forward(m(X, np.float32), m(W)), TypeError,
     "^w has dtype float64 but x has dtype float32"),
    ("dtype-mix-b", lambda M: M.conv2d_forward(m(X), m(W), m((4,), np.float32)), TypeError,
     "^b has dtype float32 but x has dtype float64"),
    ("dtype-mix-dy", lambda M: M.conv2d_backward(m(X), m(W), m((2, 4, 3, 3), np.float32)),
     TypeError, "^dy has dtype float32 but x has dtype float64"),
    ("dtype-int", lambda M: M.im2col(np.zeros(X, np.int64), 3), TypeError,
     "^x must have dtype float32 or float64, got int64"),
    ("b-shape", lambda M: M.conv2d_forward(m(X), m(W), m((3,))), ValueError,
     r"^b must have shape \(4,\), got \(3,\)$"),
    ("dy-shape", lambda M: M.conv2d_backward(m(X), m(W), m((2, 4, 5, 5))), ValueError,
     r"^dy must have shape \(2, 4, 3, 3\), got \(2, 4, 5, 5\)$"),
    ("dy-shape-padding", lambda M: M.conv2d_backward(m(X), m(W), m((2, 4, 3, 3)), 1, 1),
     ValueError, r"^dy must have shape \(2, 4, 5, 5\), got \(2, 4, 3, 3\)$"),
    ("out-shape", lambda M: M.conv2d_forward(m(X), m(W), out=np.empty((2, 4, 5, 5))),
     ValueError, r"^out must have shape \(2, 4, 3, 3\), got \(2, 4, 5, 5\)$"),
    ("dw-shape", lambda M: M.conv2d_backward(m(X), m(W), m((2, 4, 3, 3)), dw=m((4, 3, 3))),
     ValueError, r"^dw must have shape \(4, 3, 3, 3\), got \(4, 3, 3\)$"),
    ("x-strided", lambda M: M.conv2d_forward(m((2, 3, 5, 10))[..., ::2], m(W)), ValueError,
     "^x must be C-contiguous"),
    ("w-transposed", lambda M: M.conv2d_forward(m(X), m((3, 3, 3, 4)).T), ValueError,
     "^w must be C-contiguous"),
    ("x-nan", lambda M: M.conv2d_forward(_nan_x(), m(W)), ValueError,
     "^x contains NaN or infinity$"),
    ("x-list", lambda M: M.im2col(m(X).tolist(), 3), TypeError,
     "^x must be a numpy.ndarray, got list$"),
    ("cols-shape", lambda M: M.col2im(m((27, 17)), X, 3), ValueError,
     r"^cols must have shape \(27, 18\) for x_shape \(2, 3, 5, 5\)"),
    ("cols-1d", lambda M: M.col2im(m((27,)), X, 3), ValueError, "^cols must be 2-D"),
    ("x_shape-3", lambda M: M.col2im(m((27, 18)), (3, 5, 5), 3), TypeError,
     r"^x_shape must be a tuple \(N, C, H, W\) of 4 ints"),
    ("x_shape-negative", lambda M: M.col2im(m((27, 18)), (2, 3, -5, 5), 3), ValueError,
     "^x_shape must not have negative sizes"),
    ("col2im-out-shape", lambda M: M.col2im(m((27, 18)), X, 3, out=np.empty((2, 3, 5, 4))),
     ValueError, r"^out must have shape \(2, 3, 5, 5\), got \(2, 3, 5, 4\)$"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(call, exc, match):
    """Both twins raise the same exception type with the same message."""
    caught = []
    for impl in (ops, reference):
        with pytest.raises(exc, match=match) as info:
            call(impl)
        caught.append(info.value)
    assert type(caught[0]) is type(caught[1])
    assert str(caught[0]) == str(caught[1])


@pytest.mark.parametrize("impl", TWINS)
def test_padding_makes_a_large_kernel_fit(impl):
    y = impl.conv2d_forward(m((1, 1, 3, 3)), m((1, 1, 5, 5)), padding=1)
    assert y.shape == (1, 1, 1, 1)
