"""Native optimizer updates (src_c/optimizers.c), in place, one fused pass per array.

Signatures and conventions (PyTorch's) match fastnn.reference.optimizers; see there
for the formulas. Every update runs without the GIL.
"""

from cython cimport floating
from libc.math cimport sqrt

from .. import _inputs
from .._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .._runtime import all_finite
from .._validation import Checks
from .._variants import family

__all__ = ["sgd_update", "adam_update", "adamw_update", "rmsprop_update", "clip_grad_norm"]

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

V = Checks(all_finite)


cdef inline floating *_ptr(floating[::1] a) noexcept:
    return &a[0] if a is not None and a.shape[0] else NULL


cdef extern from "optimizers.h" nogil:
    ctypedef struct fnn_adam_f32_variant:
        const char *name
        int isa
    const fnn_adam_f32_variant *const *fnn_adam_f32_variants(int *count)
    const fnn_adam_f32_variant *fnn_adam_f32_pick()

cdef extern from "cpu.h" nogil:
    const char *fnn_isa_name(int isa)
    int fnn_isa_runnable(int level)


def variants():
    """The adam family (float32 Adam/AdamW without amsgrad, src_c/optimizers.h), best
    first, and the variant in use now."""
    cdef int count = 0, i
    cdef const fnn_adam_f32_variant *const *table = fnn_adam_f32_variants(&count)
    cdef const fnn_adam_f32_variant *chosen = fnn_adam_f32_pick()
    return family("adam", "compiler-vectorized loop",
                  [(table[i].name.decode(), fnn_isa_name(table[i].isa).decode(), True,
                    fnn_isa_runnable(table[i].isa)) for i in range(count)],
                  chosen.name.decode() if chosen != NULL else None)


def _flat(a):
    return None if a is None else a.reshape(-1)


cdef void _sgd(floating[::1] p, const floating[::1] g, floating[::1] vel, double lr,
               double momentum, bint nesterov, double wd):
    cdef floating *pv = _ptr(vel)
    cdef Py_ssize_t n = p.shape[0]
    cdef int nt = current_num_threads()
    if n == 0:
        return
    with nogil:
        if floating is float:
            fnn_sgd_f32(n, &p[0], &g[0], pv, lr, momentum, nesterov, wd, nt)
        else:
            fnn_sgd_f64(n, &p[0], &g[0], pv, lr, momentum, nesterov, wd, nt)


def sgd_update(param, grad, velocity=None, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """SGD with optional momentum (``v = momentum * v + g``) and Nesterov look-ahead."""
    param, grad, velocity, lr, momentum, weight_decay = _inputs.sgd_inputs(
        V, param, grad, velocity, lr, momentum, weight_decay
    )
    vel = _flat(velocity) if momentum else None
    if param.dtype.itemsize == 4:
        _sgd[float](_flat(param), _flat(grad), vel, lr, momentum, nesterov, weight_decay)
    else:
        _sgd[double](_flat(param), _flat(grad), vel, lr, momentum, nesterov, weight_decay)


cdef void _adam(floating[::1] p, const floating[::1] g, floating[::1] m, floating[::1] v,
                floating[::1] vmax, long long step, double lr, double b1, double b2,
                double eps, double wd, bint decoupled):
    cdef floating *pvmax = _ptr(vmax)
    cdef Py_ssize_t n = p.shape[0]
    cdef int nt = current_num_threads()
    if n == 0:
        return
    with nogil:
        if floating is float:
            fnn_adam_f32(n, &p[0], &g[0], &m[0], &v[0], pvmax, step, lr, b1, b2, eps, wd,
                         decoupled, nt)
        else:
            fnn_adam_f64(n, &p[0], &g[0], &m[0], &v[0], pvmax, step, lr, b1, b2, eps, wd,
                         decoupled, nt)


def _adam_family(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max,
                 decoupled):
    param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, v_max = _inputs.adam_inputs(
        V, param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max
    )
    args = (_flat(param), _flat(grad), _flat(m), _flat(v), _flat(v_max) if amsgrad else None,
            step, lr, beta1, beta2, eps, weight_decay, decoupled)
    if param.dtype.itemsize == 4:
        _adam[float](*args)
    else:
        _adam[double](*args)


def adam_update(param, grad, m, v, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0, amsgrad=False, v_max=None):
    """Adam with bias correction: ``param -= lr * m_hat / (sqrt(v_hat) + eps)``.

    With ``amsgrad`` the running maximum of v (kept in ``v_max``) replaces v.
    """
    _adam_family(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max,
                 False)


def adamw_update(param, grad, m, v, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=1e-2, amsgrad=False, v_max=None):
    """AdamW: Adam with decoupled weight decay, ``param *= 1 - lr * weight_decay`` first."""
    _adam_family(param, grad, m, v, step, lr, beta1, beta2, eps, weight_decay, amsgrad, v_max,
                 True)


cdef void _rmsprop(floating[::1] p, const floating[::1] g, floating[::1] sq,
                   floating[::1] ga, floating[::1] vel, double lr, double rho, double eps,
                   double wd, double momentum):
    cdef floating *pga = _ptr(ga)
    cdef floating *pvel = _ptr(vel)
    cdef Py_ssize_t n = p.shape[0]
    cdef int nt = current_num_threads()
    if n == 0:
        return
    with nogil:
        if floating is float:
            fnn_rmsprop_f32(n, &p[0], &g[0], &sq[0], pga, pvel, lr, rho, eps, wd, momentum, nt)
        else:
            fnn_rmsprop_f64(n, &p[0], &g[0], &sq[0], pga, pvel, lr, rho, eps, wd, momentum, nt)


def rmsprop_update(param, grad, square_avg, *, lr=1e-2, rho=0.99, eps=1e-8, weight_decay=0.0,
                   momentum=0.0, velocity=None, centered=False, grad_avg=None):
    """RMSprop: ``param -= lr * g / (sqrt(E[g^2]) + eps)``, optionally centered
    (subtracting E[g]^2) and with momentum on the scaled step."""
    (param, grad, square_avg, lr, rho, eps, weight_decay, momentum, velocity,
     grad_avg) = _inputs.rmsprop_inputs(V, param, grad, square_avg, lr, rho, eps, weight_decay,
                                        momentum, velocity, centered, grad_avg)
    args = (_flat(param), _flat(grad), _flat(square_avg), _flat(grad_avg) if centered else None,
            _flat(velocity) if momentum else None, lr, rho, eps, weight_decay, momentum)
    if param.dtype.itemsize == 4:
        _rmsprop[float](*args)
    else:
        _rmsprop[double](*args)


cdef double _sum_squares(const floating[::1] x):
    cdef double s = 0
    cdef int nt = current_num_threads()
    if x.shape[0] == 0:
        return 0.0
    with nogil:
        if floating is float:
            s = fnn_sum_squares_f32(x.shape[0], &x[0], nt)
        else:
            s = fnn_sum_squares_f64(x.shape[0], &x[0], nt)
    return s


cdef void _scale(floating[::1] x, double factor):
    cdef int nt = current_num_threads()
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            fnn_scale_f32(x.shape[0], &x[0], factor, nt)
        else:
            fnn_scale_f64(x.shape[0], &x[0], factor, nt)


def clip_grad_norm(grads, max_norm):
    """Scale ``grads`` (an array or a list of arrays) in place so that their joint L2
    norm is at most ``max_norm``; return the norm before clipping (a float)."""
    grads, max_norm = _inputs.clip_grad_norm_inputs(V, grads, max_norm)
    cdef double sq = 0
    for g in grads:
        sq += _sum_squares[float](g.reshape(-1)) if g.dtype.itemsize == 4 else \
            _sum_squares[double](g.reshape(-1))
    total = sqrt(sq)  # C sqrt: inf or NaN stay real, as in the numpy twin
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            if g.dtype.itemsize == 4:
                _scale[float](g.reshape(-1), coef)
            else:
                _scale[double](g.reshape(-1), coef)
    return total
