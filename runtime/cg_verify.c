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

int cg_verify_network(const cg_net_layer *layers, int n, cg_net_fn fn, size_t scratch_size,
                      uint64_t seed, cg_compare *result, int *worst_layer, size_t *mismatches)
{
    const size_t ni = cg_conv_input_size(layers[0].p);
    const size_t no = cg_conv_output_size(layers[n - 1].p);
    float *in = cg_guard_alloc(ni);
    float *got = cg_guard_alloc(no);
    float *scratch = cg_guard_alloc(scratch_size);
    float *x = NULL, *y = NULL, *want = NULL;
    double *mag = NULL;
    size_t nx = ni, ny = 0;
    int rc = -1;

    *worst_layer = 0;
    *mismatches = 0;
    memset(result, 0, sizeof *result);
    if (!in || !got || !scratch)
        goto done;
    cg_rng r;
    cg_rng_seed(&r, seed);
    cg_fill_uniform(in, ni, &r, -1.0f, 1.0f);
    for (size_t i = 0; i < no; ++i)
        got[i] = NAN;
    fn(in, got, scratch);

    /* The layers one by one: x is layer l's input, y its output. */
    if (!(x = cg_guard_alloc(ni)))
        goto done;
    memcpy(x, in, ni * sizeof *x);
    for (int l = 0; l < n; ++l) {
        const cg_conv *p = layers[l].p;
        cg_compare c;
        ny = cg_conv_output_size(p);
        y = cg_guard_alloc(ny);
        want = malloc(ny * sizeof *want);
        mag = malloc(ny * sizeof *mag);
        if (!y || !want || !mag)
            goto done;
        for (size_t i = 0; i < ny; ++i)
            y[i] = NAN;
        layers[l].fn(x, y);
        cg_ref_conv2d(p, x, layers[l].weights, p->bias ? layers[l].bias : NULL, want, mag);
        cg_compare_floats(y, want, mag, ny, cg_conv_reduction_length(p), &c);
        if (c.max_abs > result->max_abs)
            result->max_abs = c.max_abs;
        if (c.max_rel > result->max_rel)
            result->max_rel = c.max_rel;
        if (!(c.worst_ratio <= result->worst_ratio)) {
            result->worst_ratio = c.worst_ratio;
            result->worst = c.worst;
            *worst_layer = l;
        }
        result->failures += c.failures;
        free(want);
        free(mag);
        want = NULL;
        mag = NULL;
        cg_guard_free(x, nx);
        x = y;
        nx = ny;
        y = NULL;
    }
    /* NaN is never equal: an output the network never wrote counts. */
    for (size_t i = 0; i < no; ++i)
        if (!(memcmp(&got[i], &x[i], sizeof got[i]) == 0 && got[i] == got[i]))
            ++*mismatches;
    rc = 0;
done:
    cg_guard_free(in, ni);
    cg_guard_free(got, no);
    cg_guard_free(scratch, scratch_size);
    cg_guard_free(x, nx);
    cg_guard_free(y, ny);
    free(want);
    free(mag);
    return rc;
}
