/* matmul.c -- GEMM split across the OpenMP team; bodies in matmul_impl.h. */
#include "matmul.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#define FNN_GEMM_T fnn_gemm_f32_fn
#include "matmul_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T

#define REAL double
#define FNN_SFX(name) name##_f64
#define FNN_GEMM_T fnn_gemm_f64_fn
#include "matmul_impl.h"
#undef REAL
#undef FNN_SFX
#undef FNN_GEMM_T
