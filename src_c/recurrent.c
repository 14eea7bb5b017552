/* recurrent.c -- the steps of SimpleRNN, GRU and LSTM, forward and through time; bodies
 * in recurrent_impl.h, gate arithmetic in recurrent_leaves.h.
 *
 * Threads: each step's product is split over the GEMM team (matmul.h) and its rows'
 * gates over the same team. The gates of a row do not depend on the team; the products
 * are as exact as the GEMM's, whose blocks BLAS may round differently from one whole
 * call. */
#include "recurrent.h"

#include "fnn_math.h"

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "recurrent_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_GEMM_FN fnn_gemm_f32_fn
#include "fnn_each_level.h"
#include "recurrent_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_FN

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_GEMM_FN fnn_gemm_f64_fn
#include "fnn_each_level.h"
#include "recurrent_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_FN
