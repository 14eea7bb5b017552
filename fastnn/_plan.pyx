"""The fused training plan: Cython's side of src_c/plan.c.

`TrainingPlan` holds a C `fnn_plan` whose pointers reach into numpy arrays owned by the
layers (weights, gradients) and the optimizer (its state), plus workspaces allocated
here once. `train()` runs any range of mini-batches in one call without the GIL; the
parameters change in place, so the layers' arrays always show the current weights.
fastnn._fused builds plans from Sequential models; this module knows nothing of layers.
"""

from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Calloc, PyMem_Free
from libc.stdint cimport int64_t

import os

import numpy as np

from ._memory import aligned_zeros
from .errors import NonFiniteInputError

cimport numpy as cnp

cnp.import_array()

from ._runtime cimport current_num_threads, fnn_cpu_bind, shared_cpu
from .ops.conv cimport (fnn_conv_backward_tmp, fnn_conv_direct_f32, fnn_conv_direct_f64,
                        fnn_conv_implicit_dx_ok, fnn_conv_implicit_ok,
                        fnn_conv_geom, fnn_conv_pooled_dw_ok)
from .ops.matmul cimport (blas_hold, blas_release, gemm_f32, gemm_f64,
                          gemm_team_threads)
from ._runtime import isa

fnn_cpu_bind(shared_cpu())  # one CPU description (src_c/cpu.h) for every module

cdef extern from "gemm_variants.h" nogil:
    int FNN_GEMM_MASK_COLS

# plan.h (fnn_plan, fnn_step, fnn_optimizer, the FNN_* kinds, fnn_plan_train/predict) is
# declared in _plan.pxd, which Cython takes in here as this module's own declarations.

cdef extern from "runtime.h" nogil:
    int fnn_all_finite_f32(Py_ssize_t n, const float *x, int n_threads)
    int fnn_all_finite_f64(Py_ssize_t n, const double *x, int n_threads)

STEP_KINDS = {"dense": FNN_STEP_DENSE, "activation": FNN_STEP_ACTIVATION,
              "dropout": FNN_STEP_DROPOUT, "conv": FNN_STEP_CONV, "maxpool": FNN_STEP_MAXPOOL,
              "avgpool": FNN_STEP_AVGPOOL, "global_avgpool": FNN_STEP_GLOBAL_AVGPOOL,
              "batchnorm": FNN_STEP_BATCHNORM, "res_begin": FNN_STEP_RES_BEGIN,
              "res_end": FNN_STEP_RES_END, "recurrent": FNN_STEP_RECURRENT,
              "layernorm": FNN_STEP_LAYERNORM, "embedding": FNN_STEP_EMBEDDING,
              "python": FNN_STEP_PYTHON, "time_avgpool": FNN_STEP_TIME_AVGPOOL,
              "bidirectional": FNN_STEP_BIDIRECTIONAL}
_GEOM_KEYS = ("c", "h", "w", "f", "oh", "ow", "kh", "kw", "sh", "sw", "pt", "pl", "dh", "dw")


cdef _set_geom(fnn_conv_geom *g, spec, Py_ssize_t in_dim, int step, bint pool):
    """Fill g from spec["geom"] (a dict of _GEOM_KEYS) after checking what the C loops
    rely on: positive sizes, (C, H, W) matching the input, and for pooling (which reads
    without bounds checks) every window inside the input. Convolutions check bounds per
    position (zero padding), so any padding is safe there."""
    d = spec["geom"]
    v = {k: int(d[k]) for k in _GEOM_KEYS}
    if min(v[k] for k in _GEOM_KEYS if k not in ("pt", "pl")) < 1 or min(v["pt"], v["pl"]) < 0:
        raise ValueError(f"step {step}: invalid geometry {v}")
    if v["c"] * v["h"] * v["w"] != in_dim:
        raise ValueError(f"step {step}: geometry (C, H, W) = ({v['c']}, {v['h']}, {v['w']}) "
                         f"does not match {in_dim} input features")
    if pool and (v["f"] != v["c"] or v["pt"] or v["pl"] or v["dh"] != 1 or v["dw"] != 1
                 or (v["oh"] - 1) * v["sh"] + v["kh"] > v["h"]
                 or (v["ow"] - 1) * v["sw"] + v["kw"] > v["w"]):
        raise ValueError(f"step {step}: pooling windows do not fit the input: {v}")
    g.c, g.h, g.w, g.f, g.oh, g.ow = v["c"], v["h"], v["w"], v["f"], v["oh"], v["ow"]
    g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw = (v["kh"], v["kw"], v["sh"], v["sw"],
                                                      v["pt"], v["pl"], v["dh"], v["dw"])
    return v
LOSS_KINDS = {"mse": FNN_LOSS_MSE, "squared_error": FNN_LOSS_SQUARED_ERROR,
              "xent_labels": FNN_LOSS_XENT_LABELS, "xent_probs": FNN_LOSS_XENT_PROBS,
              "binary_xent": FNN_LOSS_BINARY_XENT}
OPTIMIZER_KINDS = {"sgd": FNN_OPT_SGD, "adam": FNN_OPT_ADAM, "adamw": FNN_OPT_ADAMW,
                   "rmsprop": FNN_OPT_RMSPROP}


cdef void *_ptr(a) except? NULL:
    """Data pointer of a C-contiguous ndarray (None -> NULL)."""
    if a is None:
        return NULL
    if not cnp.PyArray_Check(a) or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
        raise ValueError("plan arrays must be C-contiguous ndarrays")
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef bint _indices_ok(const Py_ssize_t *idx, Py_ssize_t count, Py_ssize_t bound,
                      const Py_ssize_t *through) noexcept nogil:
    """Every idx[i] -- or through[idx[i]] when through is given (idx checked already) --
    lies in [0, bound)."""
    cdef Py_ssize_t i, v
    for i in range(count):
        v = idx[i] if through == NULL else through[idx[i]]
        if v < 0 or v >= bound:
            return False
    return True


cdef int _check_signals() except -1:
    return PyErr_CheckSignals()


cdef int _poll_signals(void *ctx) noexcept nogil:
    """The plan's poll (plan.h): Python's pending signal handlers run here, with the GIL
    taken for the moment (in the main thread; elsewhere this does nothing). 1 if one
    raised (Ctrl-C: KeyboardInterrupt), kept on the plan (ctx) for train/predict to
    raise once the native call has returned."""
    with gil:
        try:
            _check_signals()
        except BaseException as e:
            (<TrainingPlan>ctx)._pending = e
            return 1
    return 0


cdef int _call_python(void *ctx, int step, int backward, const void *inp, void *out,
                      Py_ssize_t rows, int flag) noexcept nogil:
    """The plan's call (plan.h): a python step's forward or backward, run with the GIL.
    1 if the layer's method raised, kept on the plan (ctx) for train/predict to raise once
    the native call has returned."""
    with gil:
        try:
            (<TrainingPlan>ctx)._run_python(step, backward, <size_t>inp, <size_t>out, rows,
                                           flag)
        except BaseException as e:
            (<TrainingPlan>ctx)._pending = e
            return 1
    return 0


cdef object _view(size_t addr, Py_ssize_t n, object dtype, tuple shape):
    """A numpy array over n elements of the plan's memory at addr (no copy), shaped."""
    cdef float[::1] f
    cdef double[::1] d
    if dtype == np.float32:
        f = <float[:n]><float *>addr
        return np.asarray(f).reshape(shape)
    d = <double[:n]><double *>addr
    return np.asarray(d).reshape(shape)


cdef class _StepBuild:
    """What building the steps (TrainingPlan.__init__) carries from one step to the next."""
    cdef object batch_size
    cdef object ws_tmp, ws_dcols  # the conv workspaces: the largest any conv step needs
    cdef list begins              # the res_begin steps of the residual blocks still open


cdef class TrainingPlan:
    """A compiled training loop over fixed buffers. Build it with fastnn._fused."""

    cdef fnn_plan p
    cdef list _keep      # every array the C struct points into
    cdef object dtype
    cdef object _pending  # the exception a signal handler raised during a poll
    cdef dict _python     # python steps: index -> (layer, input shape, output shape)
    cdef public list step_specs
    cdef public list dropout_layers

    def __cinit__(self):
        self._keep = []
        self._python = {}

    def _run_python(self, int step, int backward, size_t inp, size_t out, Py_ssize_t rows,
                    int flag):
        """A python step (plan_steps/python.h) through the layer's own methods, as the
        per-layer path calls them: forward -> st.y; backward -> the layer's grads (the
        arrays the optimizer holds) and dL/dx when flag says a step below needs it."""
        layer, x_shape, y_shape = self._python[step]
        cdef Py_ssize_t n_in = rows * _prod(x_shape), n_out = rows * _prod(y_shape)
        if not backward:
            # a copy: the layer may keep its input for backward, and the plan reuses
            # the buffer it came in
            x = _view(inp, n_in, self.dtype, (rows,) + x_shape).copy()
            y = layer._forward(x, bool(flag))
            _view(out, n_out, self.dtype, (rows,) + y_shape)[...] = _checked(
                layer, "forward", y, (rows,) + y_shape, self.dtype)
            return
        dy = _view(inp, n_out, self.dtype, (rows,) + y_shape).copy()
        layer._need_dx = bool(flag)
        dx = layer.backward(dy)
        if flag:
            _view(out, n_in, self.dtype, (rows,) + x_shape)[...] = _checked(
                layer, "backward", dx, (rows,) + x_shape, self.dtype)

    def __init__(self, steps, *, loss, fold_last, batch_size, in_dim, dtype,
                 optimizer, params, grads, states, has_weights=False, accuracy=0,
                 threshold=0.5, stop_on_nonfinite=True, pooled_conv=True):
        """steps: list of dicts with "kind" and, per kind: dense {W, b, dW, db, trainable};
        activation {activation (C code), alpha, dim}; dropout {rate, seed, offset, dim}.
        optimizer: dict with "kind" and its hyperparameters and "iterations"; params,
        grads: the trainable arrays in update order; states: per param a list of up to
        three state arrays in the order documented in plan.h (None where unused).
        pooled_conv: let backward run a conv on the direct kernels and the max pooling
        right after it as one (see _pool_convs)."""
        cdef fnn_plan *p = &self.p
        cdef fnn_step *st
        cdef Py_ssize_t i, widest, d
        cdef _StepBuild b = _StepBuild()
        self.dtype = np.dtype(dtype)
        self.step_specs = list(steps)
        p.dtype_size = self.dtype.itemsize
        p.n_steps = len(steps)
        p.batch_size = batch_size
        p.in_dim = in_dim
        p.loss = LOSS_KINDS[loss]
        p.fold_last = bool(fold_last)
        p.has_weights = bool(has_weights)
        p.accuracy = accuracy
        p.threshold = threshold
        p.stop_on_nonfinite = bool(stop_on_nonfinite)
        p.n_threads = current_num_threads()
        p.gemm = <void *>gemm_f32 if p.dtype_size == 4 else <void *>gemm_f64
        p.steps = <fnn_step *>PyMem_Calloc(max(1, p.n_steps), sizeof(fnn_step))
        if p.steps == NULL:
            raise MemoryError()
        b.batch_size = batch_size
        b.ws_tmp = b.ws_dcols = 0
        b.begins = []
        d = in_dim
        widest = in_dim
        for i, spec in enumerate(steps):
            st = &p.steps[i]
            st.kind = STEP_KINDS[spec["kind"]]
            st.in_dim = d
            _STEP_BUILDERS[st.kind](self, st, spec, i, b)
            if st.kind != FNN_STEP_RES_BEGIN:
                st.y = self._buffer(batch_size * st.out_dim)
            d = st.out_dim
            widest = max(widest, d)
        if b.begins:
            raise ValueError(f"step {b.begins[len(b.begins) - 1]}: res_begin without a res_end")
        p.conv_tmp = self._buffer(b.ws_tmp)
        p.conv_dcols = self._buffer(b.ws_dcols)
        if pooled_conv:
            self._pool_convs()
        p.out_dim = d
        p.xb = self._buffer(batch_size * in_dim)
        if self.dtype == np.float64:  # float32 X, widened row by row (plan.h: x_f32)
            p.xw = self._buffer(batch_size * in_dim)
        p.tb = self._buffer(batch_size * d)
        lb = np.zeros(batch_size, dtype=np.intp)
        self._keep.append(lb)
        p.lb = <Py_ssize_t *>_ptr(lb)
        p.wb = self._buffer(batch_size)
        p.grad_a = self._buffer(batch_size * widest)
        p.grad_b = self._buffer(batch_size * widest)
        rl = np.zeros(batch_size, dtype=np.float64)
        self._keep.append(rl)
        p.row_loss = <double *>_ptr(rl)
        # the first layer's active columns (plan.h, enum fnn_cols_mode)
        cols = np.zeros(max(1, in_dim), dtype=np.intc)
        zcols = np.zeros(max(1, in_dim), dtype=np.intc)
        self._keep += [cols, zcols]
        p.cols = <int *>_ptr(cols)
        p.zcols = <int *>_ptr(zcols)
        if (p.n_steps > 0 and p.steps[0].kind == FNN_STEP_DENSE and
                p.steps[0].spatial == 1 and
                p.steps[0].out_dim >= FNN_PLAN_COMPACT_MIN_OUT and
                not isa()["gemm_blas"]):  # FNN_COLS_COMPACT
            act = np.zeros(max(1, in_dim), dtype=np.uint8)
            runs = np.zeros(2 * max(1, in_dim), dtype=np.intc)
            self._keep += [act, runs]
            p.act = <unsigned char *>_ptr(act)
            p.runs = <int *>_ptr(runs)
            p.wact = self._buffer(in_dim * p.steps[0].out_dim)
        # FNN_COLS_KERNELS (the plan decides per run whether a gemm variant takes it)
        rowp = np.zeros(batch_size, dtype=np.uintp)
        masks = np.zeros((in_dim + FNN_GEMM_MASK_COLS - 1) // FNN_GEMM_MASK_COLS + 1,
                         dtype=np.uint16)
        gidx = np.zeros(FNN_PLAN_GBLOCK, dtype=np.intc)
        self._keep += [rowp, masks, gidx]
        p.rowp = <const void **>_ptr(rowp)
        p.masks = <unsigned short *>_ptr(masks)
        p.gblock = self._buffer(FNN_PLAN_GBLOCK)
        p.gidx = <int *>_ptr(gidx)
        self._set_optimizer(optimizer, params, grads, states)

    cdef _pool_convs(self):
        """Mark each max pooling step that follows a float32 conv step on the direct
        kernels which fnn_conv_pooled_dw takes (plan.h: fnn_step.pooled). When that conv
        is the first step that trains (it owes no dx), backward forms its dW and db
        straight from the pooled gradient: same values as the two steps apart, summed
        in another order (float32 rounding)."""
        cdef fnn_plan *p = &self.p
        cdef Py_ssize_t i
        if p.dtype_size != 4:
            return
        for i in range(p.n_steps - 1):
            if (p.steps[i].kind == FNN_STEP_CONV and p.steps[i + 1].kind == FNN_STEP_MAXPOOL
                    and fnn_conv_pooled_dw_ok(&p.steps[i].geom, &p.steps[i + 1].geom)):
                p.steps[i + 1].pooled = i + 1

    property pooled_steps:
        """The max pooling steps whose backward runs together with the conv before
        them (when that conv is the first step that trains)."""
        def __get__(self):
            return [i for i in range(self.p.n_steps) if self.p.steps[i].pooled]

    cdef void *_arr(self, a, Py_ssize_t size, int step) except? NULL:
        """Pointer into a parameter-like array of the plan's dtype and `size` elements
        (None -> NULL)."""
        if a is None:
            return NULL
        if not isinstance(a, np.ndarray) or a.dtype != self.dtype or a.size != size:
            raise ValueError(f"step {step}: expected a {self.dtype} array of {size} elements")
        self._keep.append(a)
        return _ptr(a)

    cdef _set_conv_params(self, fnn_step *st, spec, g, int step):
        cdef Py_ssize_t wsize = g["f"] * g["c"] * g["kh"] * g["kw"]
        W = spec["W"]
        if not isinstance(W, np.ndarray) or W.shape[0] != g["f"]:
            raise ValueError(f"step {step}: W must have {g['f']} filters")
        st.W = self._arr(W, wsize, step)
        st.dW = self._arr(spec["dW"], wsize, step)
        st.b = self._arr(spec.get("b"), g["f"], step)
        st.db = self._arr(spec.get("db"), g["f"], step)
        st.trainable = bool(spec["trainable"])
        # im2col workspace (blocks of samples); the direct and the implicit-GEMM kernels
        # read x in place and take none
        direct = (fnn_conv_direct_f32(&st.geom) if self.p.dtype_size == 4
                  else fnn_conv_direct_f64(&st.geom))
        implicit = self.p.dtype_size == 4 and fnn_conv_implicit_ok(&st.geom)
        st.cols = self._buffer(0 if direct or implicit else
                               g["c"] * g["kh"] * g["kw"] * self.p.batch_size * g["oh"] * g["ow"])

    cdef void *_buffer(self, Py_ssize_t n) except? NULL:
        a = aligned_zeros(max(1, n), self.dtype)  # 64-byte aligned for the AVX-512 kernels
        self._keep.append(a)
        return _ptr(a)

    cdef _set_optimizer(self, cfg, params, grads, states):
        cdef fnn_optimizer *o = &self.p.opt
        cdef Py_ssize_t n = len(params), i
        o.kind = OPTIMIZER_KINDS[cfg["kind"]]
        o.lr = cfg.get("lr", 0.0)
        o.momentum = cfg.get("momentum", 0.0)
        o.beta1 = cfg.get("beta1", 0.9)
        o.beta2 = cfg.get("beta2", 0.999)
        o.eps = cfg.get("eps", 1e-8)
        o.weight_decay = cfg.get("weight_decay", 0.0)
        o.rho = cfg.get("rho", 0.99)
        o.nesterov = bool(cfg.get("nesterov", False))
        o.amsgrad = bool(cfg.get("amsgrad", False))
        o.centered = bool(cfg.get("centered", False))
        o.iterations = cfg.get("iterations", 0)
        self.clip = (cfg.get("clipnorm"), cfg.get("clipvalue"))
        o.n_params = n
        o.param = <void **>PyMem_Calloc(max(1, n), sizeof(void *))
        o.grad = <void **>PyMem_Calloc(max(1, n), sizeof(void *))
        o.state0 = <void **>PyMem_Calloc(max(1, n), sizeof(void *))
        o.state1 = <void **>PyMem_Calloc(max(1, n), sizeof(void *))
        o.state2 = <void **>PyMem_Calloc(max(1, n), sizeof(void *))
        o.size = <Py_ssize_t *>PyMem_Calloc(max(1, n), sizeof(Py_ssize_t))
        if not (o.param and o.grad and o.state0 and o.state1 and o.state2 and o.size):
            raise MemoryError()
        for i in range(n):
            st = list(states[i]) + [None, None, None]
            o.param[i] = _ptr(params[i])
            o.grad[i] = _ptr(grads[i])
            o.state0[i], o.state1[i], o.state2[i] = _ptr(st[0]), _ptr(st[1]), _ptr(st[2])
            o.size[i] = params[i].size
            self._keep += [params[i], grads[i]] + [s for s in st[:3] if s is not None]
        decay = cfg.get("decay")
        if decay is not None:
            if len(decay) != n:
                raise ValueError(f"optimizer decay has {len(decay)} entries for {n} params")
            decay = np.ascontiguousarray(decay, dtype=np.float64)
            self._keep.append(decay)
            o.decay = <double *>_ptr(decay)

    def __dealloc__(self):
        PyMem_Free(self.p.steps)
        PyMem_Free(self.p.opt.param)
        PyMem_Free(self.p.opt.grad)
        PyMem_Free(self.p.opt.state0)
        PyMem_Free(self.p.opt.state1)
        PyMem_Free(self.p.opt.state2)
        PyMem_Free(self.p.opt.size)

    property stop_on_nonfinite:
        def __get__(self):
            return bool(self.p.stop_on_nonfinite)

    property compact_batches:
        """Batches whose first layer ran over their active columns only (plan.h,
        FNN_COLS_COMPACT), counted over the plan's life."""
        def __get__(self):
            return self.p.compact_batches

    property iterations:
        def __get__(self):
            return self.p.opt.iterations

    property weight_decay:
        def __get__(self):
            return self.p.opt.weight_decay

        def __set__(self, double value):
            if not value >= 0:
                raise ValueError(f"weight_decay must be >= 0, got {value}")
            self.p.opt.weight_decay = value

    property lr:
        def __get__(self):
            return self.p.opt.lr

        def __set__(self, double value):
            self.p.opt.lr = value

    property clip:
        """(clipnorm, clipvalue) of the optimizer, None for an option that is off."""
        def __get__(self):
            return (self.p.opt.clipnorm or None, self.p.opt.clipvalue or None)

        def __set__(self, value):
            norm, val = value
            norm = 0.0 if norm is None else float(norm)
            val = 0.0 if val is None else float(val)
            if not (norm >= 0 and val >= 0):
                raise ValueError(f"clipnorm and clipvalue must be > 0 or None, got {value}")
            self.p.opt.clipnorm = norm
            self.p.opt.clipvalue = val

    def dropout_offsets(self):
        """The current offset of every dropout step, in step order."""
        return [self.p.steps[i].offset for i in range(self.p.n_steps)
                if self.p.steps[i].kind == FNN_STEP_DROPOUT]

    def train(self, X, targets, sample_weight, perm, Py_ssize_t first_batch,
              Py_ssize_t last_batch, *, bint check_rows=False):
        """Run mini-batches [first_batch, last_batch) of the epoch ordered by `perm`.
        Every array is checked against the plan (dtype, shape, contiguity, index ranges)
        before C touches it. Returns (loss_sum, correct, seen, bad_batch) where bad_batch is 0 or the
        1-based index of the first batch whose loss was not finite.

        check_rows: each batch's rows of X are checked for NaN/inf as they are gathered
        (a fit's first epoch, instead of a separate scan of X); a bad one stops the run
        before its batch and raises NonFiniteInputError (its ``row``). The batches
        before it have trained."""
        cdef double loss_sum = 0.0, correct = 0.0
        cdef Py_ssize_t seen = 0, bad
        cdef Py_ssize_t n = X.shape[0]
        cdef const void *px = _ptr(X)
        cdef const void *pt = _ptr(targets)
        cdef const void *pw = _ptr(sample_weight)
        cdef const Py_ssize_t *pp = <const Py_ssize_t *>_ptr(perm)
        # The C loop trusts these pointers: check every size, dtype and index it will use.
        # The indices it reads are those of the range's rows, perm[lo:hi] and the labels
        # they pick: only those are scanned, so an epoch run a batch per call (callbacks'
        # batch hooks) scans each once, as one call for the whole epoch does.
        if X is None or not self._x_dtype_ok(X) or X.ndim != 2 or X.shape[1] != self.p.in_dim:
            raise ValueError("train(): X does not match the plan")
        if first_batch < 0 or last_batch < first_batch:
            raise ValueError("train(): bad batch range")
        cdef Py_ssize_t bs = self.p.batch_size
        cdef Py_ssize_t nb = (n + bs - 1) // bs  # batches in the epoch
        cdef Py_ssize_t lo = min(n, min(first_batch, nb) * bs)  # no overflow: nb * bs < n + bs
        cdef Py_ssize_t hi = min(n, min(last_batch, nb) * bs)
        if perm.dtype != np.intp or perm.shape != (n,) or not _indices_ok(pp + lo, hi - lo,
                                                                          n, NULL):
            raise ValueError("train(): perm must be intp indices into the rows of X")
        if self.p.loss == FNN_LOSS_XENT_LABELS:
            if targets.dtype != np.intp or targets.shape != (n,) or not _indices_ok(
                    pp + lo, hi - lo, self.p.out_dim, <const Py_ssize_t *>pt):
                raise ValueError(f"train(): labels must be intp in [0, {self.p.out_dim})")
        elif targets.dtype != self.dtype or targets.shape != (n, self.p.out_dim):
            raise ValueError("train(): targets do not match the plan")
        if (sample_weight is not None) != bool(self.p.has_weights) or (
                sample_weight is not None and (sample_weight.dtype != self.dtype
                                               or sample_weight.shape != (n,))):
            raise ValueError("train(): sample_weight does not match the plan")
        cdef int held
        self.p.n_threads = current_num_threads()
        self.p.gemm_threads = gemm_team_threads()
        self.p.check_rows = check_rows
        self.p.x_f32 = cnp.PyArray_TYPE(<cnp.ndarray>X) != (
            cnp.NPY_FLOAT32 if self.p.dtype_size == 4 else cnp.NPY_FLOAT64)
        self.p.bad_row = -1
        self.p.poll = _poll_signals
        self.p.poll_ctx = <void *>self
        self.p.interrupted = 0
        with nogil:
            held = blas_hold()
            bad = fnn_plan_train(&self.p, px, n, pt, pw, pp, first_batch, last_batch,
                                 &loss_sum, &correct, &seen)
            blas_release(held)
        self.p.check_rows = 0
        if self.p.interrupted:  # a signal handler raised (Ctrl-C) between two batches
            self.p.interrupted = 0
            e, self._pending = self._pending, None
            raise e
        if self.p.bad_row >= 0:
            raise NonFiniteInputError(self.p.bad_row)
        return loss_sum, correct, seen, bad

    cdef bint _x_dtype_ok(self, X):
        """X (an ndarray) has the plan's dtype, or float32 for a float64 plan (plan.h:
        x_f32)."""
        cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>X)
        return (t == (cnp.NPY_FLOAT32 if self.p.dtype_size == 4 else cnp.NPY_FLOAT64)
                or (t == cnp.NPY_FLOAT32 and self.p.xw != NULL))

    def predict_rows(self, X):
        """Model.predict's fast path: X an ndarray (exactly) of the plan's dtype (or float32
        for a float64 plan: its rows are widened as they are read), (n >= 1,
        in_dim), C-contiguous, and free of NaN/inf -> a new (n, out_dim) array of the
        outputs. None for anything else (the caller's checked path then says what is
        wrong), so this never raises on user input."""
        if not cnp.PyArray_CheckExact(X):
            return None
        cdef cnp.ndarray xa = <cnp.ndarray>X
        cdef int typenum = cnp.NPY_FLOAT32 if self.p.dtype_size == 4 else cnp.NPY_FLOAT64
        if (not self._x_dtype_ok(X) or cnp.PyArray_NDIM(xa) != 2
                or cnp.PyArray_DIMS(xa)[0] < 1 or cnp.PyArray_DIMS(xa)[1] != self.p.in_dim
                or not cnp.PyArray_IS_C_CONTIGUOUS(xa)):
            return None
        cdef cnp.npy_intp dims[2]
        dims[0] = cnp.PyArray_DIMS(xa)[0]
        dims[1] = self.p.out_dim
        out = cnp.PyArray_EMPTY(2, dims, typenum, 0)
        return out if self.predict(X, out, True) else None

    def predict(self, X, out, bint check_finite=False):
        """Forward every row of X (inference: dropout off) into out (n, out_dim).
        With check_finite, X is first scanned for NaN/inf natively; returns False (and
        computes nothing) if it holds any, True otherwise."""
        cdef const void *px = _ptr(X)
        cdef void *po = _ptr(out)
        cdef int ok = 1
        if px == NULL or po == NULL:
            raise ValueError("predict(): X and out must be arrays")
        # C-level checks (a single-sample call is a few microseconds in all)
        cdef int typenum = cnp.NPY_FLOAT32 if self.p.dtype_size == 4 else cnp.NPY_FLOAT64
        cdef cnp.ndarray xa = <cnp.ndarray>X, oa = <cnp.ndarray>out
        if (not self._x_dtype_ok(X) or cnp.PyArray_TYPE(oa) != typenum
                or cnp.PyArray_NDIM(xa) != 2 or cnp.PyArray_NDIM(oa) != 2
                or cnp.PyArray_DIMS(xa)[1] != self.p.in_dim
                or cnp.PyArray_DIMS(oa)[0] != cnp.PyArray_DIMS(xa)[0]
                or cnp.PyArray_DIMS(oa)[1] != self.p.out_dim):
            raise ValueError("predict(): arrays do not match the plan")
        cdef Py_ssize_t n = cnp.PyArray_DIMS(xa)[0]
        cdef int held
        self.p.n_threads = current_num_threads()
        self.p.gemm_threads = gemm_team_threads()
        self.p.x_f32 = cnp.PyArray_TYPE(xa) != typenum
        with nogil:
            if check_finite:
                if self.p.dtype_size == 4 or self.p.x_f32:
                    ok = fnn_all_finite_f32(n * self.p.in_dim, <const float *>px,
                                            self.p.n_threads)
                else:
                    ok = fnn_all_finite_f64(n * self.p.in_dim, <const double *>px,
                                            self.p.n_threads)
            if ok:
                self.p.poll = _poll_signals
                self.p.poll_ctx = <void *>self
                self.p.interrupted = 0
                held = blas_hold()
                fnn_plan_predict(&self.p, px, n, po)
                blas_release(held)
        if self.p.interrupted:  # a signal handler raised (Ctrl-C) between two blocks of rows
            self.p.interrupted = 0
            e, self._pending = self._pending, None
            raise e
        return bool(ok)


# One builder per step kind (enum fnn_step_kind), as src_c/plan_steps/table.h has one
# forward and backward per kind: it checks the step's spec and fills the step's fields
# (st.kind and st.in_dim are set), st.out_dim included; `i` is the step's index.
ctypedef int (*_step_builder)(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                              _StepBuild b) except -1


cdef int _build_dense(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                      _StepBuild b) except -1:
    d = st.in_dim
    W = spec["W"]
    cdef Py_ssize_t reps = spec.get("steps", 1)  # TimeDistributed(Dense): rows per sample
    if reps < 1 or W.shape[0] * reps != d:
        raise ValueError(f"step {i}: W has {W.shape[0]} rows for {d} inputs"
                         + (f" in {reps} steps" if reps != 1 else ""))
    st.spatial = reps
    st.out_dim = W.shape[1] * reps
    st.W, st.b, st.dW, st.db = _ptr(W), _ptr(spec.get("b")), \
        _ptr(spec["dW"]), _ptr(spec.get("db"))
    st.trainable = bool(spec["trainable"])
    plan._keep += [W, spec.get("b"), spec["dW"], spec.get("db")]
    return 0


cdef int _build_activation(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                           _StepBuild b) except -1:
    st.out_dim = st.in_dim
    st.activation = spec["activation"]
    st.alpha = spec.get("alpha") or 0.0
    return 0


cdef int _build_dropout(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                        _StepBuild b) except -1:
    st.out_dim = st.in_dim
    st.rate = spec["rate"]
    st.seed = spec["seed"]
    st.offset = spec["offset"]
    st.mask = plan._buffer(b.batch_size * st.in_dim)
    return 0


cdef int _build_conv(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                     _StepBuild b) except -1:
    g = _set_geom(&st.geom, spec, st.in_dim, i, False)
    st.out_dim = g["f"] * g["oh"] * g["ow"]
    plan._set_conv_params(st, spec, g, i)
    b.ws_tmp = max(b.ws_tmp, fnn_conv_backward_tmp(&st.geom, b.batch_size))
    # dcols: dx by W^T @ dy and col2im; the first step owes no dx, and
    # the implicit kernel needs none
    if i > 0 and not (plan.p.dtype_size == 4 and fnn_conv_implicit_dx_ok(&st.geom)):
        b.ws_dcols = max(b.ws_dcols, g["c"] * g["kh"] * g["kw"] * b.batch_size
                         * g["oh"] * g["ow"])
    return 0


cdef int _build_maxpool(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                        _StepBuild b) except -1:
    g = _set_geom(&st.geom, spec, st.in_dim, i, True)
    st.out_dim = g["f"] * g["oh"] * g["ow"]
    am = np.zeros(max(1, b.batch_size * st.out_dim), dtype=np.intp)
    plan._keep.append(am)
    st.argmax = <Py_ssize_t *>_ptr(am)
    return 0


cdef int _build_avgpool(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                        _StepBuild b) except -1:
    g = _set_geom(&st.geom, spec, st.in_dim, i, True)
    st.out_dim = g["f"] * g["oh"] * g["ow"]
    return 0


cdef int _build_global_avgpool(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                               _StepBuild b) except -1:
    d = st.in_dim
    st.channels, st.spatial = spec["channels"], spec["spatial"]
    if st.channels < 1 or st.spatial < 1 or st.channels * st.spatial != d:
        raise ValueError(f"step {i}: global_avgpool of {st.channels} x "
                         f"{st.spatial} does not match {d} features")
    st.out_dim = st.channels
    return 0


cdef int _build_time_avgpool(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                             _StepBuild b) except -1:
    d = st.in_dim
    st.spatial, st.channels = spec["steps"], spec["features"]
    if st.channels < 1 or st.spatial < 1 or st.channels * st.spatial != d:
        raise ValueError(f"step {i}: time_avgpool of {st.spatial} steps x "
                         f"{st.channels} features does not match {d} features")
    st.out_dim = st.channels
    return 0


cdef int _build_batchnorm(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                          _StepBuild b) except -1:
    d = st.in_dim
    st.channels, st.spatial = spec["channels"], spec["spatial"]
    if st.channels < 1 or st.spatial < 1 or st.channels * st.spatial != d:
        raise ValueError(f"step {i}: batchnorm of {st.channels} x "
                         f"{st.spatial} does not match {d} features")
    st.out_dim = d
    c = st.channels
    st.W = plan._arr(spec["gamma"], c, i)
    st.b = plan._arr(spec["beta"], c, i)
    st.dW = plan._arr(spec["dgamma"], c, i)
    st.db = plan._arr(spec["dbeta"], c, i)
    st.running_mean = plan._arr(spec["running_mean"], c, i)
    st.running_var = plan._arr(spec["running_var"], c, i)
    st.mean = plan._buffer(c)
    st.inv_std = plan._buffer(c)
    st.momentum, st.eps = spec["momentum"], spec["eps"]
    if not (0 <= st.momentum <= 1 and st.eps > 0):
        raise ValueError(f"step {i}: batchnorm momentum/eps out of range")
    st.trainable = bool(spec["trainable"])
    return 0


cdef int _build_res_begin(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                          _StepBuild b) except -1:
    st.out_dim = st.in_dim
    st.partner = spec["partner"]
    b.begins.append(i)
    return 0


cdef int _build_res_end(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                        _StepBuild b) except -1:
    cdef fnn_plan *p = &plan.p
    d = st.in_dim
    if not b.begins:
        raise ValueError(f"step {i}: res_end without a res_begin")
    b0 = b.begins.pop()
    if p.steps[b0].partner != i or spec["partner"] != b0:
        raise ValueError(f"step {i}: res_end does not pair with step {b0}")
    st.partner = b0
    st.out_dim = d
    d_in = p.steps[b0].in_dim
    proj = spec.get("proj")
    if proj is None:
        if d_in != d:
            raise ValueError(f"step {i}: residual of {d_in} features onto {d} "
                             "needs a projection")
    elif proj["kind"] == "conv":
        st.proj = FNN_PROJ_CONV
        g = _set_geom(&st.geom, proj, d_in, i, False)
        if g["f"] * g["oh"] * g["ow"] != d:
            raise ValueError(f"step {i}: the projection gives "
                             f"{g['f'] * g['oh'] * g['ow']} features, not {d}")
        plan._set_conv_params(st, proj, g, i)
        b.ws_tmp = max(b.ws_tmp, fnn_conv_backward_tmp(&st.geom, b.batch_size))
        b.ws_dcols = max(b.ws_dcols, g["c"] * g["kh"] * g["kw"] * b.batch_size
                         * g["oh"] * g["ow"])
    else:
        st.proj = FNN_PROJ_DENSE
        W = proj["W"]
        if W.shape != (d_in, d):
            raise ValueError(f"step {i}: projection W has shape {W.shape}, "
                             f"expected {(d_in, d)}")
        st.W = plan._arr(W, d_in * d, i)
        st.dW = plan._arr(proj["dW"], d_in * d, i)
        st.b = plan._arr(proj.get("b"), d, i)
        st.db = plan._arr(proj.get("db"), d, i)
        st.trainable = bool(proj["trainable"])
    st.skip = plan._buffer(b.batch_size * d_in)
    return 0


cdef extern from "recurrent.h" nogil:
    int FNN_CELL_TANH, FNN_CELL_RELU, FNN_CELL_GRU, FNN_CELL_LSTM
    int fnn_cell_gates(int cell)
    Py_ssize_t fnn_recurrent_workspace(int cell, Py_ssize_t n, Py_ssize_t h)


_CELLS = {"tanh": FNN_CELL_TANH, "relu": FNN_CELL_RELU, "gru": FNN_CELL_GRU,
          "lstm": FNN_CELL_LSTM}


cdef int _build_recurrent(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                          _StepBuild b) except -1:
    cdef Py_ssize_t t = spec["t_steps"], h = spec["units"], n = b.batch_size, f, gh
    if spec["cell"] not in _CELLS or t < 1 or h < 1 or st.in_dim % t:
        raise ValueError(f"step {i}: a recurrent step of {t} steps x {h} units does not "
                         f"fit {st.in_dim} input features")
    f = st.in_dim // t
    cell = _CELLS[spec["cell"]]
    gh = fnn_cell_gates(cell) * h
    # its own fields live in a byte array the plan keeps, like every buffer
    raw = np.zeros(sizeof(fnn_plan_rnn), np.uint8)
    plan._keep.append(raw)
    st.rnn = <fnn_plan_rnn *>_ptr(raw)
    r = st.rnn
    r.cell, r.t_steps, r.units = cell, t, h
    r.return_sequences = bool(spec["return_sequences"])
    r.go_backwards = bool(spec["go_backwards"])
    mask_value = spec["mask_value"]
    r.masked = mask_value is not None
    r.mask_value = mask_value if r.masked else 0.0
    lengths = np.zeros(max(1, n), np.int64)
    plan._keep.append(lengths)
    r.lengths = <int64_t *>_ptr(lengths)
    st.out_dim = t * h if r.return_sequences else h
    st.W = plan._arr(spec["W"], gh * f, i)
    st.dW = plan._arr(spec["dW"], gh * f, i)
    st.b = plan._arr(spec.get("b"), gh, i)
    st.db = plan._arr(spec.get("db"), gh, i)
    r.whh = plan._arr(spec["whh"], gh * h, i)
    r.dwhh = plan._arr(spec["dwhh"], gh * h, i)
    r.bhh = plan._arr(spec.get("bhh"), gh, i)
    r.dbhh = plan._arr(spec.get("dbhh"), gh, i)
    if (st.b == NULL) != (r.bhh == NULL):
        raise ValueError(f"step {i}: a recurrent step has both biases or neither")
    st.trainable = bool(spec["trainable"])
    r.bzero = plan._buffer(gh)
    r.whh_t = plan._buffer(gh * h)
    r.xt = plan._buffer(t * n * f)
    r.gates = plan._buffer(t * n * gh)
    r.hs = plan._buffer(t * n * h)
    r.aux = plan._buffer(t * n * h) if fnn_cell_gates(cell) > 1 else NULL
    r.work = plan._buffer(fnn_recurrent_workspace(cell, n, h) + n * h)
    r.dgx = plan._buffer(t * n * gh)
    r.dgh = plan._buffer(t * n * gh) if cell == FNN_CELL_GRU else NULL
    r.dhs = plan._buffer(t * n * h)
    r.dxt = plan._buffer(t * n * f)
    return 0


_MERGES = {"concat": FNN_MERGE_CONCAT, "sum": FNN_MERGE_SUM, "mul": FNN_MERGE_MUL,
           "ave": FNN_MERGE_AVE}


cdef int _build_bidirectional(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                              _StepBuild b) except -1:
    """spec: merge (a Bidirectional merge_mode) and dirs, the two directions' recurrent
    step specs (the second reading backwards), built as recurrent steps of their own."""
    cdef Py_ssize_t n = b.batch_size, k, out
    dirs = spec["dirs"]
    if spec["merge"] not in _MERGES or len(dirs) != 2:
        raise ValueError(f"step {i}: a bidirectional step needs a merge mode and two "
                         "directions")
    f, r = dirs
    if (f["kind"] != "recurrent" or r["kind"] != "recurrent" or f["go_backwards"]
            or not r["go_backwards"] or any(f[key] != r[key] for key in (
                "cell", "t_steps", "units", "return_sequences", "mask_value"))):
        raise ValueError(f"step {i}: a bidirectional step's directions are one recurrent "
                         "layer read forwards, then backwards")
    raw = np.zeros(2 * sizeof(fnn_step), np.uint8)
    plan._keep.append(raw)
    st.dirs = <fnn_step *>_ptr(raw)
    for k in range(2):
        st.dirs[k].kind = FNN_STEP_RECURRENT
        st.dirs[k].in_dim = st.in_dim
        _build_recurrent(plan, &st.dirs[k], dirs[k], i, b)
        st.dirs[k].y = plan._buffer(n * st.dirs[k].out_dim)
    st.merge = _MERGES[spec["merge"]]
    out = st.dirs[0].out_dim
    st.out_dim = 2 * out if st.merge == FNN_MERGE_CONCAT else out
    st.trainable = st.dirs[0].trainable or st.dirs[1].trainable
    st.gdir[0] = plan._buffer(n * out)
    st.gdir[1] = plan._buffer(n * out)
    st.dx_rev = plan._buffer(n * st.in_dim)
    return 0


cdef int _build_layernorm(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                          _StepBuild b) except -1:
    cdef Py_ssize_t d = spec["features"]
    if d < 1 or st.in_dim % d:
        raise ValueError(f"step {i}: layernorm over {d} features does not fit "
                         f"{st.in_dim} input features")
    st.channels = d
    st.out_dim = st.in_dim
    st.W = plan._arr(spec["gamma"], d, i)
    st.b = plan._arr(spec["beta"], d, i)
    st.dW = plan._arr(spec["dgamma"], d, i)
    st.db = plan._arr(spec["dbeta"], d, i)
    st.mean = plan._buffer(b.batch_size * (st.in_dim // d))
    st.inv_std = plan._buffer(b.batch_size * (st.in_dim // d))
    st.eps = spec["eps"]
    if not st.eps > 0:
        raise ValueError(f"step {i}: layernorm eps must be > 0")
    st.trainable = bool(spec["trainable"])
    return 0


cdef int _build_embedding(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                          _StepBuild b) except -1:
    cdef Py_ssize_t v = spec["vocab"], d = spec["dim"]
    if i != 0:
        raise ValueError(f"step {i}: an embedding step reads X's indices: it must come first")
    st.vocab, st.channels = v, d
    st.out_dim = st.in_dim * d
    st.W = plan._arr(spec["W"], v * d, i)
    st.dW = plan._arr(spec["dW"], v * d, i)
    pad = spec["padding_idx"]
    st.padding_idx = -1 if pad is None else pad
    idx = np.zeros(max(1, b.batch_size * st.in_dim), np.intp)
    plan._keep.append(idx)
    st.idx = <Py_ssize_t *>_ptr(idx)
    st.trainable = bool(spec["trainable"])
    return 0


cdef Py_ssize_t _prod(tuple shape):
    cdef Py_ssize_t n = 1
    for d in shape:
        n *= d
    return n


cdef object _checked(layer, str what, a, tuple shape, dtype):
    """A python step's result, checked before it goes into the plan's buffers."""
    if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype != dtype:
        got = (f"shape {a.shape}, dtype {a.dtype}" if isinstance(a, np.ndarray)
               else type(a).__name__)
        raise ValueError(f"{layer.name} ({type(layer).__name__}): {what} returned {got}; "
                         f"expected a {dtype} array of shape {shape}")
    return a


cdef int _build_python(TrainingPlan plan, fnn_step *st, object spec, Py_ssize_t i,
                       _StepBuild b) except -1:
    """spec: layer (built; computes in its own Python methods), input_shape and
    output_shape per sample, trainable (it has parameters training updates: they are
    among the optimizer's arrays)."""
    x_shape, y_shape = tuple(spec["input_shape"]), tuple(spec["output_shape"])
    if _prod(x_shape) != st.in_dim:
        raise ValueError(f"step {i}: input shape {x_shape} for {st.in_dim} inputs")
    st.out_dim = _prod(y_shape)
    st.trainable = bool(spec["trainable"])
    plan._python[i] = (spec["layer"], x_shape, y_shape)
    plan.p.call = _call_python
    plan.p.call_ctx = <void *>plan
    return 0


cdef _step_builder _STEP_BUILDERS[FNN_STEP_KINDS]
_STEP_BUILDERS[FNN_STEP_DENSE] = _build_dense
_STEP_BUILDERS[FNN_STEP_ACTIVATION] = _build_activation
_STEP_BUILDERS[FNN_STEP_DROPOUT] = _build_dropout
_STEP_BUILDERS[FNN_STEP_CONV] = _build_conv
_STEP_BUILDERS[FNN_STEP_MAXPOOL] = _build_maxpool
_STEP_BUILDERS[FNN_STEP_AVGPOOL] = _build_avgpool
_STEP_BUILDERS[FNN_STEP_GLOBAL_AVGPOOL] = _build_global_avgpool
_STEP_BUILDERS[FNN_STEP_BATCHNORM] = _build_batchnorm
_STEP_BUILDERS[FNN_STEP_RES_BEGIN] = _build_res_begin
_STEP_BUILDERS[FNN_STEP_RES_END] = _build_res_end
_STEP_BUILDERS[FNN_STEP_RECURRENT] = _build_recurrent
_STEP_BUILDERS[FNN_STEP_LAYERNORM] = _build_layernorm
_STEP_BUILDERS[FNN_STEP_EMBEDDING] = _build_embedding
_STEP_BUILDERS[FNN_STEP_PYTHON] = _build_python
_STEP_BUILDERS[FNN_STEP_TIME_AVGPOOL] = _build_time_avgpool
_STEP_BUILDERS[FNN_STEP_BIDIRECTIONAL] = _build_bidirectional
