"""Native batch normalization (src_c/batchnorm.c) over the channels (axis 1) of
x (N, C) or (N, C, *spatial).

Same signatures, validation and formulas as fastnn.reference.batchnorm; per-channel
statistics are summed in float64 in an order fixed by the shape (threads split the
channels), so the results do not depend on the thread count and agree with the numpy
twin to rounding.
"""

import numpy as np
from cython cimport floating

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["batchnorm_forward", "batchnorm_backward"]

V = Checks(all_finite)

# Stand-ins for arrays a call does not use (typed memoryviews cannot be None).
_EMPTY32 = np.zeros(1, dtype=np.float32)
_EMPTY64 = np.zeros(1, dtype=np.float64)


cdef void _train(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s, const floating[::1] x,
                 const floating[::1] gamma, const floating[::1] beta, floating[::1] y,
                 floating[::1] mean, floating[::1] inv_std, floating[::1] running_mean,
                 floating[::1] running_var, bint tracked, double momentum, double eps):
    cdef int nt = current_num_threads()
    cdef floating *rm = &running_mean[0] if tracked else NULL
    cdef floating *rv = &running_var[0] if tracked else NULL
    with nogil:
        if floating is float:
            fnn_batchnorm_forward_train_f32(n, c, s, &x[0], &gamma[0], &beta[0], &y[0],
                                            &mean[0], &inv_std[0], rm, rv, momentum, eps, nt)
        else:
            fnn_batchnorm_forward_train_f64(n, c, s, &x[0], &gamma[0], &beta[0], &y[0],
                                            &mean[0], &inv_std[0], rm, rv, momentum, eps, nt)


cdef void _infer(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s, const floating[::1] x,
                 const floating[::1] gamma, const floating[::1] beta,
                 const floating[::1] running_mean, const floating[::1] running_var,
                 double eps, floating[::1] y):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_batchnorm_forward_infer_f32(n, c, s, &x[0], &gamma[0], &beta[0],
                                            &running_mean[0], &running_var[0], eps, &y[0], nt)
        else:
            fnn_batchnorm_forward_infer_f64(n, c, s, &x[0], &gamma[0], &beta[0],
                                            &running_mean[0], &running_var[0], eps, &y[0], nt)


cdef void _backward(Py_ssize_t n, Py_ssize_t c, Py_ssize_t s, const floating[::1] x,
                    const floating[::1] dy, const floating[::1] gamma,
                    const floating[::1] mean, const floating[::1] inv_std, floating[::1] dx,
                    bint want_dx, floating[::1] dgamma, floating[::1] dbeta):
    cdef int nt = current_num_threads()
    cdef floating *pdx = &dx[0] if want_dx else NULL
    with nogil:
        if floating is float:
            fnn_batchnorm_backward_f32(n, c, s, &x[0], &dy[0], &gamma[0], &mean[0],
                                       &inv_std[0], pdx, &dgamma[0], &dbeta[0], nt)
        else:
            fnn_batchnorm_backward_f64(n, c, s, &x[0], &dy[0], &gamma[0], &mean[0],
                                       &inv_std[0], pdx, &dgamma[0], &dbeta[0], nt)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                      training=True, *, out=None, mean=None, inv_std=None):
    """Batch normalization of x (N, C) or (N, C, *spatial) over its channels (axis 1).

    Training: per channel, the mean and the biased variance of its M = N * S values
    (S the spatial size; sums in float64), ``inv_std = 1 / sqrt(var + eps)`` and
    ``y = (x - mean) * (gamma * inv_std) + beta``. running_mean and running_var (C,),
    if given (both, or both None: not tracked), are updated in place:
    ``r = (1 - momentum) * r + momentum * batch_stat``, with the unbiased variance
    ``var * M / (M - 1)`` (the biased one when M == 1).

    Inference (``training=False``): the same y from the running statistics (required),
    with ``mean = running_mean`` and ``inv_std = 1 / sqrt(running_var + eps)``.

    Returns ``(y, mean, inv_std)``; mean and inv_std (C,) are what batchnorm_backward
    needs.
    """
    (x, (n, c, s), gamma, beta, running_mean, running_var, momentum, eps, training, out,
     mean, inv_std) = _inputs.batchnorm_inputs(V, x, gamma, beta, running_mean, running_var,
                                               momentum, eps, training, out, mean, inv_std)
    f32 = x.dtype.itemsize == 4
    if training:
        if c == 0:
            return out, mean, inv_std
        tracked = running_mean is not None
        empty = _EMPTY32 if f32 else _EMPTY64
        rm = running_mean if tracked else empty
        rv = running_var if tracked else empty
        if f32:
            _train[float](n, c, s, x.reshape(-1), gamma, beta, out.reshape(-1), mean, inv_std,
                          rm, rv, tracked, momentum, eps)
        else:
            _train[double](n, c, s, x.reshape(-1), gamma, beta, out.reshape(-1), mean, inv_std,
                           rm, rv, tracked, momentum, eps)
        return out, mean, inv_std
    mean[...] = running_mean
    inv_std[...] = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
    if x.size:
        if f32:
            _infer[float](n, c, s, x.reshape(-1), gamma, beta, running_mean, running_var, eps,
                          out.reshape(-1))
        else:
            _infer[double](n, c, s, x.reshape(-1), gamma, beta, running_mean, running_var, eps,
                           out.reshape(-1))
    return out, mean, inv_std


def batchnorm_backward(dy, x, gamma, mean, inv_std, *, dx=None, dgamma=None, dbeta=None,
                       compute_dx=True):
    """Gradients of training-mode batchnorm_forward given ``dy = dL/dy``, from the mean
    and inv_std it returned. Returns ``(dx, dgamma, dbeta)`` with, per channel over its
    M = N * S values (sums in float64) and ``xhat = (x - mean) * inv_std``:
    ``dbeta = sum(dy)``, ``dgamma = sum(dy * xhat)`` and
    ``dx = gamma * inv_std / M * (M * dy - dbeta - xhat * dgamma)`` (None unless
    compute_dx; dx may be dy).
    """
    dy, x, (n, c, s), gamma, mean, inv_std, dx, dgamma, dbeta = \
        _inputs.batchnorm_backward_inputs(V, dy, x, gamma, mean, inv_std, dx, dgamma, dbeta,
                                          compute_dx)
    if x.size == 0:
        dgamma.fill(0)
        dbeta.fill(0)
        return dx, dgamma, dbeta
    want_dx = dx is not None
    if x.dtype.itemsize == 4:
        _backward[float](n, c, s, x.reshape(-1), dy.reshape(-1), gamma, mean, inv_std,
                         dx.reshape(-1) if want_dx else _EMPTY32, want_dx, dgamma, dbeta)
    else:
        _backward[double](n, c, s, x.reshape(-1), dy.reshape(-1), gamma, mean, inv_std,
                          dx.reshape(-1) if want_dx else _EMPTY64, want_dx, dgamma, dbeta)
    return dx, dgamma, dbeta
