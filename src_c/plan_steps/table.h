/* plan_steps/table.h -- the table of step kinds: one record per enum fnn_step_kind
 * (plan.h), which plan_impl.h's forward and backward loops call through. Included once
 * per REAL by plan_impl.h, after the steps' files.
 *
 * A new step kind is its enum value and fields in plan.h, one file here with its forward
 * and backward (included by plan_impl.h), and one entry below. */

typedef struct {
    const char *name;          /* the "kind" of fastnn/_plan.pyx's step specs */
    /* y = f(x) for `rows` rows; returns the step's output (x itself for a step that
     * passes its input through). st == &p->steps[s]; the loop has set st->x = x.
     * `training`: 1 in training, 0 in inference; `cols`: how the batch reached the first
     * step (enum fnn_cols_mode). */
    const REAL *(*forward)(fnn_plan *p, fnn_step *st, int s, const REAL *x, fnn_idx rows,
                           int training, int cols);
    /* From dL/d(output) in *g: the step's parameter gradients, and if *s > stop (a step
     * before it needs it) dL/d(input), left in *g -- in place, or in *other and the two
     * swapped. *s is the step; one that also does steps before it moves *s onto the
     * lowest of them. */
    void (*backward)(fnn_plan *p, int *s, int stop, fnn_idx rows, int cols, REAL **g,
                     REAL **other);
    /* Has the step parameters that training updates when st->trainable? NULL: never. */
    int (*has_params)(const fnn_step *st);
} FNN_SFX(step_ops);

static int FNN_SFX(params_always)(const fnn_step *st)
{
    (void)st;
    return 1;
}

#define FNN_STEP_OPS(kind, name, params)                                                    \
    [kind] = {#name, FNN_SFX(name##_forward), FNN_SFX(name##_backward), params}

static const FNN_SFX(step_ops) FNN_SFX(step_table)[] = {
    FNN_STEP_OPS(FNN_STEP_DENSE, dense, FNN_SFX(params_always)),
    FNN_STEP_OPS(FNN_STEP_ACTIVATION, activation, NULL),
    FNN_STEP_OPS(FNN_STEP_DROPOUT, dropout, NULL),
    FNN_STEP_OPS(FNN_STEP_CONV, conv, FNN_SFX(params_always)),
    FNN_STEP_OPS(FNN_STEP_MAXPOOL, maxpool, NULL),
    FNN_STEP_OPS(FNN_STEP_AVGPOOL, avgpool, NULL),
    FNN_STEP_OPS(FNN_STEP_GLOBAL_AVGPOOL, global_avgpool, NULL),
    FNN_STEP_OPS(FNN_STEP_BATCHNORM, batchnorm, FNN_SFX(params_always)),
    FNN_STEP_OPS(FNN_STEP_RES_BEGIN, res_begin, NULL),
    FNN_STEP_OPS(FNN_STEP_RES_END, res_end, FNN_SFX(res_end_has_params)),
    FNN_STEP_OPS(FNN_STEP_RECURRENT, recurrent, FNN_SFX(params_always)),
    FNN_STEP_OPS(FNN_STEP_LAYERNORM, layernorm, FNN_SFX(params_always)),
    FNN_STEP_OPS(FNN_STEP_EMBEDDING, embedding, FNN_SFX(params_always)),
    FNN_STEP_OPS(FNN_STEP_PYTHON, python, FNN_SFX(params_always)),
    FNN_STEP_OPS(FNN_STEP_TIME_AVGPOOL, time_avgpool, NULL),
    FNN_STEP_OPS(FNN_STEP_BIDIRECTIONAL, bidirectional, FNN_SFX(bidirectional_has_params)),
};
#undef FNN_STEP_OPS

_Static_assert(sizeof FNN_SFX(step_table) / sizeof FNN_SFX(step_table)[0] == FNN_STEP_KINDS,
               "one entry in the step table per enum fnn_step_kind");
