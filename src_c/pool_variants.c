/* pool_variants.c -- the maxpool2x2 family's table, geometry rule and pick()
 * (pool_variants.h). Adding an instruction set: one file under src_c/arch/<isa>/ and one
 * entry here. */
#include <limits.h>

#include "pool_variants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_maxpool2x2_variant fnn_maxpool2x2_avx512, fnn_maxpool2x2_avx2;
static const fnn_maxpool2x2_variant *const table[] = {&fnn_maxpool2x2_avx512,
                                                      &fnn_maxpool2x2_avx2};
#define COUNT 2
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
extern const fnn_maxpool2x2_variant fnn_maxpool2x2_neon;
static const fnn_maxpool2x2_variant *const table[] = {&fnn_maxpool2x2_neon};
#define COUNT 1
#else
static const fnn_maxpool2x2_variant *const table[] = {NULL};
#define COUNT 0
#endif

int fnn_maxpool2x2_bwd_fits(const fnn_conv_geom *g)
{
    return g->ow >= 1 && g->ow <= FNN_MAXPOOL2X2_MAX_OW && g->oh >= 1 && 2 * g->ow <= g->w &&
           2 * g->oh <= g->h && g->h * g->w < INT_MAX;
}

int fnn_maxpool2x2_fits(const fnn_conv_geom *g)
{
    return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && fnn_maxpool2x2_bwd_fits(g);
}

const fnn_maxpool2x2_variant *const *fnn_maxpool2x2_variants(int *count)
{
    *count = COUNT;
    return table;
}

const fnn_maxpool2x2_variant *fnn_maxpool2x2_pick(void)
{
    return fnn_pick((const void *const *)table, COUNT, 1);
}

const fnn_maxpool2x2_variant *fnn_maxpool2x2_by_name(const char *name)
{
    return fnn_by_name((const void *const *)table, COUNT, name);
}
