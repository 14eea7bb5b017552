/* dense.c -- bias broadcast and bias gradient of the fully connected layer. */
#include "dense.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "dense_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "dense_impl.h"
#undef REAL
#undef FNN_SFX
