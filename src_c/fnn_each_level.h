/* fnn_each_level.h -- compile the leaves file named by FNN_LEAVES once per level
 * (fnn_leaves.h), defining FNN_LEVEL_SFX for each. Not guarded: a kernel file includes
 * it once per REAL, after every header its leaves use (a header first included inside
 * a level's region would take that level's target options). */
#include "fnn_leaves.h"

#if FNN_LEAF_LEVELS
FNN_TARGET_PUSH(FNN_TARGET_AVX512)
#define FNN_LEVEL_SFX _avx512
#include FNN_LEAVES
#undef FNN_LEVEL_SFX
FNN_TARGET_POP

FNN_TARGET_PUSH(FNN_TARGET_AVX2)
#define FNN_LEVEL_SFX _avx2
#include FNN_LEAVES
#undef FNN_LEVEL_SFX
FNN_TARGET_POP
#endif

#define FNN_LEVEL_SFX _generic
#include FNN_LEAVES
#undef FNN_LEVEL_SFX
