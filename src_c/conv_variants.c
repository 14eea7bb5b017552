/* conv_variants.c -- the conv family's table, shape rules and pick() (conv_variants.h).
 * Adding an instruction set: one file under src_c/arch/<isa>/ and one entry here. */

#include "conv_variants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_conv_variant fnn_conv_avx512, fnn_conv_avx2;
static const fnn_conv_variant *const table[] = {&fnn_conv_avx512, &fnn_conv_avx2};
#define COUNT 2
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_conv_variant fnn_conv_neon;
static const fnn_conv_variant *const table[] = {&fnn_conv_neon};
#define COUNT 1
#else
static const fnn_conv_variant *const table[] = {NULL};
#define COUNT 0
#endif

const fnn_conv_variant *const *fnn_conv_variants(int *count)
{
    *count = COUNT;
    return table;
}

const fnn_conv_variant *fnn_conv_pick(void)
{
    return fnn_pick((const void *const *)table, COUNT, 1);
}

const fnn_conv_variant *fnn_conv_by_name(const char *name)
{
    return fnn_by_name((const void *const *)table, COUNT, name);
}

const fnn_conv_variant *fnn_conv_run(void)
{
    const fnn_conv_variant *v = fnn_conv_pick();
    for (int i = 0; !v && i < COUNT; ++i)
        if (fnn_isa_runnable(table[i]->isa)) v = table[i];
    return v;
}

static int stride1(const fnn_conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1;
}

int fnn_conv_direct_ok(const fnn_conv_geom *g)
{
    return stride1(g) && g->c >= 1 && g->f >= 1 &&
           g->c * g->kh * g->kw <= FNN_CONV_DIRECT_MAX_K && g->kw <= FNN_CONV_DIRECT_MAX_KW &&
           g->ow >= 8 && g->oh >= 1 && fnn_conv_pick() != NULL;
}

fnn_idx fnn_conv_direct_dw_tasks(const fnn_conv_geom *g)
{
    return (g->f + FNN_CONV_DIRECT_DW_TASK - 1) / FNN_CONV_DIRECT_DW_TASK;
}

int fnn_conv_pooled_dw_ok(const fnn_conv_geom *g, const fnn_conv_geom *pg)
{
    return fnn_conv_direct_ok(g) && g->c * g->kh <= FNN_CONV_POOLED_MAX_CKH &&
           g->oh * g->ow <= FNN_CONV_POOLED_MAX_OHW && pg->c == g->f && pg->h == g->oh &&
           pg->w == g->ow && pg->oh >= 1 && pg->ow >= 1;
}

int fnn_conv_implicit_ok(const fnn_conv_geom *g)
{
    return stride1(g) && g->pt == 0 && g->pl == 0 && g->oh + g->kh - 1 <= g->h &&
           g->ow + g->kw - 1 <= g->w && g->kh >= 1 && g->kw >= 2 &&
           g->kw <= FNN_CONV_IMPLICIT_MAX_KW && g->f >= 1 && g->f <= FNN_CONV_IMPLICIT_MAX_F &&
           g->c * g->kh * g->kw * g->f <= FNN_CONV_IMPLICIT_MAX_WT && g->oh >= 1 &&
           g->ow >= 1 && fnn_conv_pick() != NULL;
}

int fnn_conv_implicit_dx_ok(const fnn_conv_geom *g)
{
    const fnn_idx KW = g->kw;
    return fnn_conv_implicit_ok(g) && g->w <= FNN_CONV_IMPLICIT_DX_MAX_W && g->ow >= 4 &&
           (KW == 3 || KW == 5 || KW == 7) &&
           ((g->c + 15) / 16) * 16 * g->f * g->kh * KW <= FNN_CONV_IMPLICIT_MAX_WT;
}

int fnn_col2im_narrow_ok(const fnn_conv_geom *g)
{
    return stride1(g) && g->w >= 1 && g->ow >= 1 && g->w <= FNN_COL2IM_NARROW_MAX_W &&
           g->ow <= FNN_COL2IM_NARROW_MAX_W && g->kw <= 16 && fnn_conv_pick() != NULL;
}

fnn_idx fnn_conv_implicit_dx_wr_size(const fnn_conv_geom *g, const fnn_conv_variant *v)
{
    const fnn_idx L = v->lanes;
    return (g->c + L - 1) / L * L * g->f * g->kh * g->kw;
}

void fnn_conv_implicit_dx_wr(const fnn_conv_geom *g, const fnn_conv_variant *v, const float *w,
                             float *wr)
{
    const fnn_idx C = g->c, F = g->f, KK = g->kh * g->kw, L = v->lanes;
    const fnn_idx blocks = (C + L - 1) / L;
    for (fnn_idx cb = 0; cb < blocks; ++cb)
        for (fnn_idx f = 0; f < F; ++f)
            for (fnn_idx k = 0; k < KK; ++k)
                for (fnn_idx l = 0; l < L; ++l) {
                    const fnn_idx c = L * cb + l;
                    wr[((cb * F + f) * KK + k) * L + l] = c < C ? w[(f * C + c) * KK + k] : 0.0f;
                }
}
