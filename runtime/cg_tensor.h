/*
 * cg_tensor.h - seeded random tensors and the float comparison used to
 * judge generated kernels against the reference.
 */
#ifndef CG_TENSOR_H
#define CG_TENSOR_H

#include <stddef.h>
#include <stdint.h>

/* A small seeded generator (splitmix64): the same seed gives the same data
 * on every machine. */
typedef struct cg_rng {
    uint64_t state;
} cg_rng;

void cg_rng_seed(cg_rng *r, uint64_t seed);
uint64_t cg_rng_next(cg_rng *r);
/* Uniform in [lo, hi). */
float cg_rng_uniform(cg_rng *r, float lo, float hi);
/* Uniform integer in [lo, hi]. */
int cg_rng_int(cg_rng *r, int lo, int hi);

void cg_fill_uniform(float *x, size_t n, cg_rng *r, float lo, float hi);

typedef struct cg_compare {
    double max_abs;      /* largest |got - want| */
    double max_rel;      /* largest |got - want| / |want| where |want| > 1e-3 */
    size_t failures;     /* elements beyond their tolerance */
    size_t worst;        /* index of the element furthest past its tolerance */
    double worst_ratio;  /* its error divided by its tolerance */
} cg_compare;

/*
 * Compare got with want element by element. Element i may differ by
 *     2 (K + 2) u magnitude[i] + 8 u |want[i]|,   u = 2^-24,
 * the rounding error of a K-term float reduction (any order, with or
 * without FMA) plus a few ulps for the activation. A NaN in got fails.
 */
void cg_compare_floats(const float *got, const float *want, const double *magnitude,
                       size_t n, int reduction_length, cg_compare *out);

#endif
