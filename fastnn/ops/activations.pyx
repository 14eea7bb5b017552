"""Native activations (src_c/activations.c): forward ``y = f(x)`` and backward
``dx = dy * f'(x)``, float32 and float64, vectorized and threaded, without the GIL.

Signatures match fastnn.reference.activations: ``f(x[, alpha], *, out=None)`` and
``f_backward(dy, x, y[, alpha], *, out=None)``. softmax and log_softmax work along
the last axis; the others elementwise on any shape. ``out`` may be ``x`` (forward)
or ``dy`` (backward) to work in place.
"""

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

__all__ = [
    "identity",
    "identity_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "elu",
    "elu_backward",
    "gelu",
    "gelu_backward",
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "ACTIVATIONS",
]

V = Checks(all_finite)


cdef (Py_ssize_t, Py_ssize_t) _block(a, bint rowwise):
    """(rows, cols) of the 2-D block an activation sees: rows of the last axis for
    softmax, one long row otherwise."""
    if rowwise:
        cols = a.shape[a.ndim - 1]
        return a.size // cols, cols
    return 1, a.size


cdef _forward(int kind, x, out, double alpha, bint rowwise):
    x, out = _inputs.activation_inputs(V, x, out, rowwise)
    cdef Py_ssize_t rows, cols
    rows, cols = _block(x, rowwise)
    cdef int nt = current_num_threads()
    cdef const float[::1] x32
    cdef float[::1] y32
    cdef const double[::1] x64
    cdef double[::1] y64
    if x.size == 0:
        return out
    if x.dtype.itemsize == 4:
        x32, y32 = x.reshape(-1), out.reshape(-1)
        with nogil:
            fnn_activation_forward_f32(kind)(rows, cols, &x32[0], &y32[0], <float>alpha, nt)
    else:
        x64, y64 = x.reshape(-1), out.reshape(-1)
        with nogil:
            fnn_activation_forward_f64(kind)(rows, cols, &x64[0], &y64[0], alpha, nt)
    return out


cdef _backward(int kind, dy, x, y, out, double alpha, bint rowwise):
    dy, x, y, out = _inputs.activation_backward_inputs(V, dy, x, y, out, rowwise)
    cdef Py_ssize_t rows, cols
    rows, cols = _block(dy, rowwise)
    cdef int nt = current_num_threads()
    cdef const float[::1] g32, x32, y32
    cdef float[::1] d32
    cdef const double[::1] g64, x64, y64
    cdef double[::1] d64
    if dy.size == 0:
        return out
    if dy.dtype.itemsize == 4:
        g32, x32, y32, d32 = dy.reshape(-1), x.reshape(-1), y.reshape(-1), out.reshape(-1)
        with nogil:
            fnn_activation_backward_f32(kind)(rows, cols, &g32[0], &x32[0], &y32[0], &d32[0],
                                              <float>alpha, nt)
    else:
        g64, x64, y64, d64 = dy.reshape(-1), x.reshape(-1), y.reshape(-1), out.reshape(-1)
        with nogil:
            fnn_activation_backward_f64(kind)(rows, cols, &g64[0], &x64[0], &y64[0], &d64[0],
                                              alpha, nt)
    return out


def identity(x, *, out=None):
    return _forward(FNN_IDENTITY, x, out, 0.0, False)


def identity_backward(dy, x, y, *, out=None):
    return _backward(FNN_IDENTITY, dy, x, y, out, 0.0, False)


def sigmoid(x, *, out=None):
    """1 / (1 + exp(-x)), stable for both signs."""
    return _forward(FNN_SIGMOID, x, out, 0.0, False)


def sigmoid_backward(dy, x, y, *, out=None):
    """dx = dy * y * (1 - y)."""
    return _backward(FNN_SIGMOID, dy, x, y, out, 0.0, False)


def tanh(x, *, out=None):
    return _forward(FNN_TANH, x, out, 0.0, False)


def tanh_backward(dy, x, y, *, out=None):
    """dx = dy * (1 - y^2)."""
    return _backward(FNN_TANH, dy, x, y, out, 0.0, False)


def relu(x, *, out=None):
    return _forward(FNN_RELU, x, out, 0.0, False)


def relu_backward(dy, x, y, *, out=None):
    """dx = dy where x > 0, else 0."""
    return _backward(FNN_RELU, dy, x, y, out, 0.0, False)


def leaky_relu(x, alpha=0.01, *, out=None):
    """x for x >= 0, alpha * x below."""
    return _forward(FNN_LEAKY_RELU, x, out, _inputs.alpha_input(alpha), False)


def leaky_relu_backward(dy, x, y, alpha=0.01, *, out=None):
    """dx = dy where x > 0, alpha * dy elsewhere."""
    return _backward(FNN_LEAKY_RELU, dy, x, y, out, _inputs.alpha_input(alpha), False)


def elu(x, alpha=1.0, *, out=None):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _forward(FNN_ELU, x, out, _inputs.alpha_input(alpha), False)


def elu_backward(dy, x, y, alpha=1.0, *, out=None):
    """dx = dy for x > 0, dy * (y + alpha) otherwise."""
    return _backward(FNN_ELU, dy, x, y, out, _inputs.alpha_input(alpha), False)


def gelu(x, *, out=None):
    """GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return _forward(FNN_GELU, x, out, 0.0, False)


def gelu_backward(dy, x, y, *, out=None):
    return _backward(FNN_GELU, dy, x, y, out, 0.0, False)


def softmax(x, *, out=None):
    """exp(x - max) / sum(exp(x - max)) along the last axis."""
    return _forward(FNN_SOFTMAX, x, out, 0.0, True)


def softmax_backward(dy, x, y, *, out=None):
    """dx = y * (dy - sum(dy * y)) along the last axis."""
    return _backward(FNN_SOFTMAX, dy, x, y, out, 0.0, True)


def log_softmax(x, *, out=None):
    """x - max - log(sum(exp(x - max))) along the last axis."""
    return _forward(FNN_LOG_SOFTMAX, x, out, 0.0, True)


def log_softmax_backward(dy, x, y, *, out=None):
    """dx = dy - exp(y) * sum(dy) along the last axis."""
    return _backward(FNN_LOG_SOFTMAX, dy, x, y, out, 0.0, True)


# name -> (forward, backward, takes_alpha), as in fastnn.reference.activations.
ACTIVATIONS = {
    "identity": (identity, identity_backward, False),
    "sigmoid": (sigmoid, sigmoid_backward, False),
    "tanh": (tanh, tanh_backward, False),
    "relu": (relu, relu_backward, False),
    "leaky_relu": (leaky_relu, leaky_relu_backward, True),
    "elu": (elu, elu_backward, True),
    "gelu": (gelu, gelu_backward, False),
    "softmax": (softmax, softmax_backward, False),
    "log_softmax": (log_softmax, log_softmax_backward, False),
}

# The C enum code of each activation, for the layers' native plan.
ACTIVATION_CODES = {
    "identity": FNN_IDENTITY, "sigmoid": FNN_SIGMOID, "tanh": FNN_TANH, "relu": FNN_RELU,
    "leaky_relu": FNN_LEAKY_RELU, "elu": FNN_ELU, "gelu": FNN_GELU, "softmax": FNN_SOFTMAX,
    "log_softmax": FNN_LOG_SOFTMAX,
}
