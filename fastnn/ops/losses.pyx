"""Native losses (src_c/losses.c): value and gradient in one fused pass, without the GIL.

Each returns ``(loss, grad)``: ``loss`` is a Python float, the mean of the
per-sample losses (or their ``sample_weight``-weighted mean); ``grad`` has the
input's shape and dtype, or is None with ``return_grad=False``. Signatures match
fastnn.reference.losses.
"""

import numpy as np

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = ["mse", "softmax_cross_entropy", "binary_cross_entropy", "LOSSES"]

V = Checks(all_finite)

cdef enum LossKind:
    MSE
    XENT_LABELS
    XENT_PROBS
    BINARY_XENT


cdef double _run(LossKind kind, pred, target, sw, grad):
    """Call the C kernel for ``kind`` on validated arrays; pred is (n, ...) and is seen
    as (n, d) with d the elements per sample."""
    cdef Py_ssize_t n = pred.shape[0]
    cdef Py_ssize_t d = pred.size // n
    cdef int nt = current_num_threads()
    cdef double[::1] row_loss = np.empty(n, dtype=np.float64)
    cdef double loss = 0
    cdef const float[::1] p32, t32, w32
    cdef float[::1] g32
    cdef const double[::1] p64, t64, w64
    cdef double[::1] g64
    cdef const Py_ssize_t[::1] labels
    cdef const float *pw32 = NULL
    cdef const double *pw64 = NULL
    cdef float *pg32 = NULL
    cdef double *pg64 = NULL
    cdef bint is_labels = kind == XENT_LABELS
    if is_labels:
        labels = target
    if pred.dtype.itemsize == 4:
        p32 = pred.reshape(-1)
        if not is_labels:
            t32 = target.reshape(-1)
        if sw is not None:
            w32 = sw
            pw32 = &w32[0]
        if grad is not None:
            g32 = grad.reshape(-1)
            pg32 = &g32[0]
        with nogil:
            if kind == MSE:
                loss = fnn_mse_f32(n, d, &p32[0], &t32[0], pw32, pg32, &row_loss[0], nt)
            elif kind == XENT_LABELS:
                loss = fnn_softmax_xent_labels_f32(n, d, &p32[0], &labels[0], pw32, pg32,
                                                   &row_loss[0], nt)
            elif kind == XENT_PROBS:
                loss = fnn_softmax_xent_probs_f32(n, d, &p32[0], &t32[0], pw32, pg32,
                                                  &row_loss[0], nt)
            else:
                loss = fnn_binary_xent_f32(n, d, &p32[0], &t32[0], pw32, pg32, &row_loss[0], nt)
    else:
        p64 = pred.reshape(-1)
        if not is_labels:
            t64 = target.reshape(-1)
        if sw is not None:
            w64 = sw
            pw64 = &w64[0]
        if grad is not None:
            g64 = grad.reshape(-1)
            pg64 = &g64[0]
        with nogil:
            if kind == MSE:
                loss = fnn_mse_f64(n, d, &p64[0], &t64[0], pw64, pg64, &row_loss[0], nt)
            elif kind == XENT_LABELS:
                loss = fnn_softmax_xent_labels_f64(n, d, &p64[0], &labels[0], pw64, pg64,
                                                   &row_loss[0], nt)
            elif kind == XENT_PROBS:
                loss = fnn_softmax_xent_probs_f64(n, d, &p64[0], &t64[0], pw64, pg64,
                                                  &row_loss[0], nt)
            else:
                loss = fnn_binary_xent_f64(n, d, &p64[0], &t64[0], pw64, pg64, &row_loss[0], nt)
    return loss


def mse(pred, target, *, sample_weight=None, grad=None, return_grad=True):
    """Mean squared error: ``l_i = mean_j (pred_ij - target_ij)^2``."""
    pred, target, sw, grad = _inputs.mse_inputs(V, pred, target, sample_weight, grad, return_grad)
    return _run(MSE, pred, target, sw, grad), grad


def softmax_cross_entropy(logits, target, *, sample_weight=None, grad=None, return_grad=True):
    """Cross-entropy of softmax(logits), fused and stable for any logits.

    ``target`` is integer class labels (n,) or class probabilities (n, classes).
    ``l_i = sum_j t_ij (logsumexp(z_i) - z_ij)`` (for labels: ``lse - z_i,y``).
    """
    logits, target, sw, grad = _inputs.softmax_cross_entropy_inputs(
        V, logits, target, sample_weight, grad, return_grad
    )
    kind = XENT_LABELS if target.ndim == 1 else XENT_PROBS
    return _run(kind, logits, target, sw, grad), grad


def binary_cross_entropy(logits, target, *, sample_weight=None, grad=None, return_grad=True):
    """Binary cross-entropy of sigmoid(logits), from logits, stable for any logits.

    ``l_i = mean_j [max(z, 0) - z t + log(1 + exp(-|z|))]``.
    """
    logits, target, sw, grad = _inputs.binary_cross_entropy_inputs(
        V, logits, target, sample_weight, grad, return_grad
    )
    return _run(BINARY_XENT, logits, target, sw, grad), grad


LOSSES = {
    "mse": mse,
    "softmax_cross_entropy": softmax_cross_entropy,
    "binary_cross_entropy": binary_cross_entropy,
}
