/* residual.c -- out = a + b, elementwise; bodies in residual_impl.h. */
#include "residual.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "residual_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "residual_impl.h"
#undef REAL
#undef FNN_SFX
