/* activations.c -- activation kernels; the bodies are in activations_impl.h. */
#include <math.h>

#include "activations.h"
#include "fnn_math.h"

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "activations_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_LOG logf
#include "fnn_each_level.h"
#include "activations_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_LOG

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_LOG log
#include "fnn_each_level.h"
#include "activations_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_LOG
