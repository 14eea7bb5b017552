/* dropout.c -- inverted dropout; bodies in dropout_impl.h. */
#include "dropout.h"

/* splitmix64 finaliser of seed + (index + 1) * golden ratio: 24 uniform bits. */
static inline uint32_t fnn_hash24(uint64_t seed, uint64_t index)
{
    uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    return (uint32_t)(z >> 40);
}

/* keep iff u >= rate with u = hash / 2^24, i.e. hash >= ceil(rate * 2^24) */
static inline uint32_t fnn_keep_threshold(double rate)
{
    double t = rate * 16777216.0;
    uint32_t ti = (uint32_t)t;
    return ti + ((double)ti < t);
}

/* the vector loops, once per instruction-set level (fnn_leaves.h) */
#define FNN_LEAVES "dropout_leaves.h"

#define REAL float
#define FNN_SFX(name) name##_f32
#include "fnn_each_level.h"
#include "dropout_impl.h"
#undef REAL
#undef FNN_SFX

#define REAL double
#define FNN_SFX(name) name##_f64
#include "fnn_each_level.h"
#include "dropout_impl.h"
#undef REAL
#undef FNN_SFX
