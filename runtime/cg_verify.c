/* cg_verify.c - a generated layer against the reference, on random data. */
#include "cg_verify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg_guard.h"
#include "cg_ref.h"

/* Run the plain entry fn, or pack + run, on seeded data and compare. */
static int verify(const cg_conv *p, cg_conv_fn fn, cg_pack_fn pack, cg_run_fn run,
                  size_t packed_size, uint64_t seed, cg_compare *result)
{
    const size_t ni = cg_conv_input_size(p), nw = cg_conv_weights_size(p);
    const size_t nb = cg_conv_bias_size(p), no = cg_conv_output_size(p);
    /* What the kernel sees ends at a guard page (see cg_guard.h). */
    float *in = cg_guard_alloc(ni);
    float *w = cg_guard_alloc(nw);
    float *b = cg_guard_alloc(nb);
    float *got = cg_guard_alloc(no);
    float *want = malloc(no * sizeof *want);
    double *mag = malloc(no * sizeof *mag);
    float *packed = fn ? NULL : cg_guard_alloc(packed_size);
    int rc = -1;

    if (in && w && b && got && want && mag && (fn || packed)) {
        cg_rng r;
        cg_rng_seed(&r, seed);
        cg_fill_uniform(in, ni, &r, -1.0f, 1.0f);
        cg_fill_uniform(w, nw, &r, -1.0f, 1.0f);
        cg_fill_uniform(b, nb, &r, -1.0f, 1.0f);
        /* A kernel must write every output: poison them first. */
        for (size_t i = 0; i < no; ++i)
            got[i] = NAN;
        if (fn) {
            fn(in, w, p->bias ? b : NULL, got);
        } else {
            pack(w, p->bias ? b : NULL, packed);
            run(in, packed, got);
        }
        cg_ref_conv2d(p, in, w, p->bias ? b : NULL, want, mag);
        cg_compare_floats(got, want, mag, no, cg_conv_reduction_length(p), result);
        rc = 0;
    }
    cg_guard_free(in, ni);
    cg_guard_free(w, nw);
    cg_guard_free(b, nb);
    cg_guard_free(got, no);
    free(want);
    free(mag);
    cg_guard_free(packed, packed_size);
    return rc;
}

int cg_verify(const cg_conv *p, cg_conv_fn fn, uint64_t seed, cg_compare *result)
{
    return verify(p, fn, NULL, NULL, 0, seed, result);
}

int cg_verify_packed(const cg_conv *p, cg_pack_fn pack, cg_run_fn run, size_t packed_size,
                     uint64_t seed, cg_compare *result)
{
    return verify(p, NULL, pack, run, packed_size, seed, result);
}

int cg_verify_baked(const cg_conv *p, cg_baked_fn fn, const float *weights, const float *bias,
                    uint64_t seed, cg_compare *result)
{
    const size_t ni = cg_conv_input_size(p), no = cg_conv_output_size(p);
    float *in = cg_guard_alloc(ni);
    float *got = cg_guard_alloc(no);
    float *want = malloc(no * sizeof *want);
    double *mag = malloc(no * sizeof *mag);
    int rc = -1;

    if (in && got && want && mag) {
        cg_rng r;
        cg_rng_seed(&r, seed);
        cg_fill_uniform(in, ni, &r, -1.0f, 1.0f);
        for (size_t i = 0; i < no; ++i)
            got[i] = NAN;
        fn(in, got);
        cg_ref_conv2d(p, in, weights, p->bias ? bias : NULL, want, mag);
        cg_compare_floats(got, want, mag, no, cg_conv_reduction_length(p), result);
        rc = 0;
    }
    cg_guard_free(in, ni);
    cg_guard_free(got, no);
    free(want);
    free(mag);
    return rc;
}

/* The largest slope of activation a: how much an error in its argument
 * can grow through it. */
static double steepest_slope(const cg_conv *p)
{
    if (p->activation == CG_ACT_LEAKY_RELU && fabs(p->alpha) > 1.0)
        return fabs(p->alpha);
    return 1.0;
}

int cg_verify_network(const cg_net_layer *layers, int n, cg_net_fn fn, size_t scratch_size,
                      uint64_t seed, cg_compare *result)
{
    const double u = 0x1p-24;
    const size_t ni = cg_conv_input_size(layers[0].p);
    const size_t no = cg_conv_output_size(layers[n - 1].p);
    size_t most = ni, most_w = 0;
    for (int i = 0; i < n; ++i) {
        size_t o = cg_conv_output_size(layers[i].p), w = cg_conv_weights_size(layers[i].p);
        most = o > most ? o : most;
        most_w = w > most_w ? w : most_w;
    }
    float *in = cg_guard_alloc(ni);
    float *got = cg_guard_alloc(no);
    float *scratch = cg_guard_alloc(scratch_size);
    /* The reference's activations and error bounds, layer after layer. */
    float *want = malloc(most * sizeof *want), *next = malloc(most * sizeof *next);
    float *bound = calloc(most, sizeof *bound), *reach = malloc(most * sizeof *reach);
    float *absw = malloc((most_w ? most_w : 1) * sizeof *absw);
    double *mag = malloc(most * sizeof *mag);
    int rc = -1;

    if (in && got && scratch && want && next && bound && reach && absw && mag) {
        cg_rng r;
        cg_rng_seed(&r, seed);
        cg_fill_uniform(in, ni, &r, -1.0f, 1.0f);
        for (size_t i = 0; i < no; ++i)
            got[i] = NAN;
        fn(in, got, scratch);

        memcpy(want, in, ni * sizeof *want);
        for (int l = 0; l < n; ++l) {
            const cg_conv *p = layers[l].p;
            const size_t nw = cg_conv_weights_size(p), nout = cg_conv_output_size(p);
            const int k = cg_conv_reduction_length(p);
            /* The previous bound carried through |w|, without bias or
             * activation: the most the input's error can move an output.
             * The kernel rounds relative to its own inputs' magnitude,
             * which may exceed the reference's by as much. */
            cg_conv carry = *p;
            carry.bias = 0;
            carry.activation = CG_ACT_NONE;
            for (size_t i = 0; i < nw; ++i)
                absw[i] = fabsf(layers[l].weights[i]);
            cg_ref_conv2d(&carry, bound, absw, NULL, reach, NULL);
            cg_ref_conv2d(p, want, layers[l].weights, layers[l].bias, next, mag);
            for (size_t i = 0; i < nout; ++i)
                bound[i] = (float)(steepest_slope(p) * reach[i]
                                   + 2.0 * (k + 2) * u * (mag[i] + reach[i])
                                   + 8.0 * u * fabs(next[i]));
            float *t = want;
            want = next;
            next = t;
        }
        result->max_abs = 0.0;
        result->max_rel = 0.0;
        result->failures = 0;
        result->worst = 0;
        result->worst_ratio = 0.0;
        for (size_t i = 0; i < no; ++i) {
            const double err = fabs((double)got[i] - want[i]);
            const double ratio = isnan(got[i]) ? INFINITY : err / ((double)bound[i] + 1e-30);
            if (!(err <= result->max_abs))
                result->max_abs = isnan(got[i]) ? INFINITY : err;
            if (fabs(want[i]) > 1e-3 && err / fabs(want[i]) > result->max_rel)
                result->max_rel = err / fabs(want[i]);
            if (!(ratio <= 1.0))
                result->failures++;
            if (!(ratio <= result->worst_ratio)) {
                result->worst_ratio = ratio;
                result->worst = i;
            }
        }
        rc = 0;
    }
    cg_guard_free(in, ni);
    cg_guard_free(got, no);
    cg_guard_free(scratch, scratch_size);
    free(want);
    free(next);
    free(bound);
    free(reach);
    free(absw);
    free(mag);
    return rc;
}
