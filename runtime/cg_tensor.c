/* cg_tensor.c - seeded random tensors and tolerant comparison. */
#include "cg_tensor.h"

#include <math.h>

void cg_rng_seed(cg_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t cg_rng_next(cg_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

float cg_rng_uniform(cg_rng *r, float lo, float hi)
{
    /* 24 random bits: every value is exact in float. */
    const float unit = (float)(cg_rng_next(r) >> 40) * 0x1p-24f;
    return lo + (hi - lo) * unit;
}

int cg_rng_int(cg_rng *r, int lo, int hi)
{
    const uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
    return lo + (int)(cg_rng_next(r) % span);
}

void cg_fill_uniform(float *x, size_t n, cg_rng *r, float lo, float hi)
{
    for (size_t i = 0; i < n; ++i)
        x[i] = cg_rng_uniform(r, lo, hi);
}

void cg_compare_floats(const float *got, const float *want, const double *magnitude,
                       size_t n, int reduction_length, cg_compare *out)
{
    const double u = 0x1p-24;
    out->max_abs = 0.0;
    out->max_rel = 0.0;
    out->failures = 0;
    out->worst = 0;
    out->worst_ratio = 0.0;
    for (size_t i = 0; i < n; ++i) {
        const double w = want[i];
        const double err = fabs((double)got[i] - w);
        const double tol = 2.0 * (reduction_length + 2) * u * magnitude[i]
                         + 8.0 * u * fabs(w) + 1e-30;
        const double ratio = isnan(got[i]) ? INFINITY : err / tol;
        if (!(err <= out->max_abs))
            out->max_abs = isnan(got[i]) ? INFINITY : err;
        if (fabs(w) > 1e-3 && err / fabs(w) > out->max_rel)
            out->max_rel = err / fabs(w);
        if (!(ratio <= 1.0))
            out->failures++;
        if (!(ratio <= out->worst_ratio)) {
            out->worst_ratio = ratio;
            out->worst = i;
        }
    }
}
