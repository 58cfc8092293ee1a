/* cg_verify.c - a generated layer against the reference, on random data. */
#include "cg_verify.h"

#include <math.h>
#include <stdlib.h>

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
