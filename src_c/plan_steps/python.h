/* plan_steps/python.h -- the python step: a layer that computes in its own Python methods
 * (a user's Layer subclass with forward/backward) inside a fused plan. The native steps
 * around it run as usual; this one calls back through p->call, which takes the GIL. The
 * output is copied into st->y, dL/dx into *other. A call that raises sets p->interrupted,
 * after which the steps still in the batch do nothing and plan_train stops before the
 * batch's loss and update. Included once per REAL by plan_impl.h. */

static const REAL *FNN_SFX(python_forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x,
                                           fnn_idx rows, int training, int cols)
{
    (void)cols;
    if (!p->interrupted && p->call(p->call_ctx, s, 0, x, st->y, rows, training))
        p->interrupted = 1;
    return (const REAL *)st->y;
}

static void FNN_SFX(python_backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols,
                                     REAL **g, REAL **other)
{
    (void)cols;
    int dx = *s > stop;
    if (p->interrupted) return;
    if (p->call(p->call_ctx, *s, 1, *g, dx ? *other : NULL, rows, dx)) {
        p->interrupted = 1;
        return;
    }
    if (dx) {
        REAL *t = *g;
        *g = *other;
        *other = t;
    }
}
