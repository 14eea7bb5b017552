"""Native layer normalization (src_c/layernorm.c) over the last axis (the features) of
x (..., D).

Same signatures, validation and formulas as fastnn.reference.layernorm; per-row
statistics are summed in float64 in an order fixed by the shape (threads split the
rows; for dgamma and dbeta, the columns), so the results do not depend on the thread
count and agree with the numpy twin to rounding.
"""

import numpy as np
from cython cimport floating

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["layernorm_forward", "layernorm_backward"]

V = Checks(all_finite)

# Stand-ins for arrays a call does not use (typed memoryviews cannot be None).
_EMPTY32 = np.zeros(1, dtype=np.float32)
_EMPTY64 = np.zeros(1, dtype=np.float64)


cdef void _forward(Py_ssize_t r, Py_ssize_t d, const floating[::1] x,
                   const floating[::1] gamma, const floating[::1] beta, floating[::1] y,
                   floating[::1] mean, floating[::1] inv_std, double eps):
    cdef int nt = current_num_threads()
    with nogil:
        if floating is float:
            fnn_layernorm_forward_f32(r, d, &x[0], &gamma[0], &beta[0], &y[0], &mean[0],
                                      &inv_std[0], eps, nt)
        else:
            fnn_layernorm_forward_f64(r, d, &x[0], &gamma[0], &beta[0], &y[0], &mean[0],
                                      &inv_std[0], eps, nt)


cdef void _backward(Py_ssize_t r, Py_ssize_t d, const floating[::1] x,
                    const floating[::1] dy, const floating[::1] gamma,
                    const floating[::1] mean, const floating[::1] inv_std, floating[::1] dx,
                    bint want_dx, floating[::1] dgamma, floating[::1] dbeta):
    cdef int nt = current_num_threads()
    cdef floating *pdx = &dx[0] if want_dx else NULL
    with nogil:
        if floating is float:
            fnn_layernorm_backward_f32(r, d, &x[0], &dy[0], &gamma[0], &mean[0], &inv_std[0],
                                       pdx, &dgamma[0], &dbeta[0], nt)
        else:
            fnn_layernorm_backward_f64(r, d, &x[0], &dy[0], &gamma[0], &mean[0], &inv_std[0],
                                       pdx, &dgamma[0], &dbeta[0], nt)


def layernorm_forward(x, gamma, beta, eps=1e-5, *, out=None, mean=None, inv_std=None):
    """Layer normalization of x (..., D) over its last axis, as PyTorch's
    ``nn.LayerNorm(D)``.

    Per row (x viewed as (R, D)): the mean and the biased variance of its D values (sums
    in float64), ``inv_std = 1 / sqrt(var + eps)`` and
    ``y = (x - mean) * inv_std * gamma + beta`` with gamma, beta of shape (D,).

    Returns ``(y, mean, inv_std)``; mean and inv_std (R,) are what layernorm_backward
    needs. out may be x.
    """
    x, (r, d), gamma, beta, eps, out, mean, inv_std = _inputs.layernorm_inputs(
        V, x, gamma, beta, eps, out, mean, inv_std)
    if r == 0:
        return out, mean, inv_std
    if x.dtype.itemsize == 4:
        _forward[float](r, d, x.reshape(-1), gamma, beta, out.reshape(-1), mean, inv_std, eps)
    else:
        _forward[double](r, d, x.reshape(-1), gamma, beta, out.reshape(-1), mean, inv_std, eps)
    return out, mean, inv_std


def layernorm_backward(dy, x, gamma, mean, inv_std, *, dx=None, dgamma=None, dbeta=None,
                       compute_dx=True):
    """Gradients of layernorm_forward given ``dy = dL/dy``, from the mean and inv_std it
    returned. Returns ``(dx, dgamma, dbeta)`` with ``xhat = (x - mean) * inv_std`` and
    ``g = dy * gamma``: ``dgamma = sum(dy * xhat)`` and ``dbeta = sum(dy)`` over the rows
    (float64 sums), and per row over its D values
    ``dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))`` (None unless compute_dx;
    dx may be dy).
    """
    dy, x, (r, d), gamma, mean, inv_std, dx, dgamma, dbeta = \
        _inputs.layernorm_backward_inputs(V, dy, x, gamma, mean, inv_std, dx, dgamma, dbeta,
                                          compute_dx)
    if r == 0:
        dgamma.fill(0)
        dbeta.fill(0)
        return dx, dgamma, dbeta
    want_dx = dx is not None
    if x.dtype.itemsize == 4:
        _backward[float](r, d, x.reshape(-1), dy.reshape(-1), gamma, mean, inv_std,
                         dx.reshape(-1) if want_dx else _EMPTY32, want_dx, dgamma, dbeta)
    else:
        _backward[double](r, d, x.reshape(-1), dy.reshape(-1), gamma, mean, inv_std,
                          dx.reshape(-1) if want_dx else _EMPTY64, want_dx, dgamma, dbeta)
    return dx, dgamma, dbeta
