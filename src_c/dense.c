/* dense.c -- bias broadcast and bias gradient of the fully connected layer. */
#include "dense.h"

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "dense_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "fnn_each_level.h"
#include "dense_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "dense_impl.h"
#undef REAL
#undef FNN_SFX
