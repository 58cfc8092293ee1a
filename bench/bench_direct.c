/*
 * bench_direct.c - the two peers that work on convgen's own layouts:
 * convgen's generated kernel itself, and a naive direct loop (the obvious
 * seven loops in float, compiled like the kernels with -O3 -march=native).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_peer.h"
#include "bench_util.h"

typedef struct direct_state {
    cg_conv conv;
    cg_conv_fn fn;
    const float *input, *weights, *bias;
    float *output;
    size_t n_out;
} direct_state;

static void *direct_create(const bench_problem *pb, cg_conv_fn fn)
{
    direct_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->conv = *pb->conv;
    s->fn = fn;
    s->input = pb->input;
    s->weights = pb->weights;
    s->bias = pb->bias;
    s->n_out = cg_conv_output_size(pb->conv);
    if (!(s->output = bench_floats(s->n_out))) {
        free(s);
        return NULL;
    }
    bench_fill_nan(s->output, s->n_out);
    return s;
}

static void direct_result(void *state, float *out)
{
    direct_state *s = state;
    memcpy(out, s->output, s->n_out * sizeof *out);
}

static const char *direct_impl(void *state)
{
    (void)state;
    return "";
}

static void direct_destroy(void *state)
{
    direct_state *s = state;
    if (s) {
        free(s->output);
        free(s);
    }
}

/* ---- convgen ---- */

/* The packed entry: <name>_pack once (untimed, like the peers' own weight
 * reorders), then <name>_run is what is timed. */
typedef struct packed_state {
    direct_state d;
    cg_run_fn run;
    float *packed;
} packed_state;

static void *convgen_create(const bench_problem *pb, char *err, size_t errlen)
{
    packed_state *s = calloc(1, sizeof *s);
    direct_state *d = direct_create(pb, pb->kernel);
    if (!s || !d || !(s->packed = bench_floats(pb->packed_size))) {
        snprintf(err, errlen, "out of memory");
        free(s);
        direct_destroy(d);
        return NULL;
    }
    s->d = *d;
    free(d);
    s->run = pb->run;
    pb->pack(pb->weights, pb->bias, s->packed);
    return s;
}

static void convgen_run(void *state)
{
    packed_state *s = state;
    s->run(s->d.input, s->packed, s->d.output);
}

static void convgen_destroy(void *state)
{
    packed_state *s = state;
    if (s) {
        free(s->packed);
        free(s->d.output);
        free(s);
    }
}

const bench_peer bench_peer_convgen = {
    "convgen", "convgen's packed entry <name>_run, weights packed once by <name>_pack (cc -O3 -march=native)",
    convgen_create, convgen_run, direct_result, direct_impl, convgen_destroy
};

/* The plain entry <name>(input, weights, bias, output): no packing. */
static void *convgen_plain_create(const bench_problem *pb, char *err, size_t errlen)
{
    void *s = direct_create(pb, pb->kernel);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

static void convgen_plain_run(void *state)
{
    direct_state *s = state;
    s->fn(s->input, s->weights, s->bias, s->output);
}

const bench_peer bench_peer_convgen_plain = {
    "convgen_plain", "convgen's plain entry <name>(input, weights, bias, output), no packing",
    convgen_plain_create, convgen_plain_run, direct_result, direct_impl, direct_destroy
};

/* ---- naive ---- */

static void naive_conv(const cg_conv *p, const float *input, const float *weights,
                       const float *bias, float *output)
{
    const int cpg = p->channels / p->groups, fpg = p->filters / p->groups;
    for (int n = 0; n < p->batch; ++n)
        for (int f = 0; f < p->filters; ++f) {
            const int g = f / fpg;
            for (int oh = 0; oh < p->out_h; ++oh)
                for (int ow = 0; ow < p->out_w; ++ow) {
                    float acc = p->bias ? bias[f] : 0.0f;
                    for (int c = 0; c < cpg; ++c)
                        for (int kh = 0; kh < p->kernel_h; ++kh) {
                            const int ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
                            if (ih < 0 || ih >= p->height)
                                continue;
                            for (int kw = 0; kw < p->kernel_w; ++kw) {
                                const int iw = ow * p->stride_w - p->pad_left + kw * p->dilation_w;
                                if (iw < 0 || iw >= p->width)
                                    continue;
                                acc += input[(((size_t)n * p->channels + g * cpg + c) * p->height + ih) * p->width + iw] *
                                       weights[(((size_t)f * cpg + c) * p->kernel_h + kh) * p->kernel_w + kw];
                            }
                        }
                    output[(((size_t)n * p->filters + f) * p->out_h + oh) * p->out_w + ow] = acc;
                }
        }
}

static void *naive_create(const bench_problem *pb, char *err, size_t errlen)
{
    if (pb->conv->activation != CG_ACT_NONE) {
        snprintf(err, errlen, "the harness runs peers only on layers without an activation");
        return NULL;
    }
    void *s = direct_create(pb, NULL);
    if (!s)
        snprintf(err, errlen, "out of memory");
    return s;
}

static void naive_run(void *state)
{
    direct_state *s = state;
    naive_conv(&s->conv, s->input, s->weights, s->bias, s->output);
}

const bench_peer bench_peer_naive = {
    "naive", "a naive direct loop over NCHW in float (cc -O3 -march=native)",
    naive_create, naive_run, direct_result, direct_impl, direct_destroy
};
