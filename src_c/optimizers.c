/* optimizers.c -- fused optimizer updates; bodies in optimizers_impl.h. */
#include <float.h>
#include <math.h>

#include "optimizers.h"

/* Fixed-size blocks for the deterministic sum of squares: at most this many partial
 * sums, each over a contiguous block whose size depends only on n. */
#define FNN_MAX_BLOCKS 256
#define FNN_MIN_BLOCK 4096

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_SQRT sqrtf
#define FNN_TINY FLT_MIN
#include "optimizers_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_SQRT
#undef FNN_TINY

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_SQRT sqrt
#define FNN_TINY DBL_MIN
#include "optimizers_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_SQRT
#undef FNN_TINY
