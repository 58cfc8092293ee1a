/* cg_verify.c - a generated layer against the reference, on random data. */
#include "cg_verify.h"

#include <math.h>
#include <stdlib.h>

#include "cg_ref.h"

int cg_verify(const cg_conv *p, cg_conv_fn fn, uint64_t seed, cg_compare *result)
{
    const size_t ni = cg_conv_input_size(p), nw = cg_conv_weights_size(p);
    const size_t nb = cg_conv_bias_size(p), no = cg_conv_output_size(p);
    float *in = malloc(ni * sizeof *in);
    float *w = malloc(nw * sizeof *w);
    float *b = malloc(nb * sizeof *b);
    float *got = malloc(no * sizeof *got);
    float *want = malloc(no * sizeof *want);
    double *mag = malloc(no * sizeof *mag);
    int rc = -1;

    if (in && w && b && got && want && mag) {
        cg_rng r;
        cg_rng_seed(&r, seed);
        cg_fill_uniform(in, ni, &r, -1.0f, 1.0f);
        cg_fill_uniform(w, nw, &r, -1.0f, 1.0f);
        cg_fill_uniform(b, nb, &r, -1.0f, 1.0f);
        /* A kernel must write every output: poison them first. */
        for (size_t i = 0; i < no; ++i)
            got[i] = NAN;
        fn(in, w, p->bias ? b : NULL, got);
        cg_ref_conv2d(p, in, w, p->bias ? b : NULL, want, mag);
        cg_compare_floats(got, want, mag, no, cg_conv_reduction_length(p), result);
        rc = 0;
    }
    free(in);
    free(w);
    free(b);
    free(got);
    free(want);
    free(mag);
    return rc;
}
