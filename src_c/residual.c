/* residual.c -- out = a + b, elementwise; bodies in residual_impl.h. */
#include "residual.h"

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "residual_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "fnn_each_level.h"
#include "residual_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "residual_impl.h"
#undef REAL
#undef FNN_SFX
