/*
 * bench_xnn.c - XNNPACK's f32 NHWC convolution operator, one thread (NULL
 * threadpool). The input is converted to NHWC and the weights to XNNPACK's
 * [groups][F/groups][KH][KW][C/groups] in create(); the output comes back
 * from NHWC in result(). Only xnn_run_operator is timed. The output clamp
 * is [-inf, +inf], so XNNPACK uses its unclamped micro-kernels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <xnnpack.h>

#include "bench_peer.h"
#include "bench_util.h"

typedef struct xnnpeer_state {
    cg_conv p;
    xnn_operator_t op;
    float *input, *kernel, *output;   /* NHWC, packed by XNNPACK, NHWC */
} xnnpeer_state;

static int initialized;

static void xnnpeer_state_free(xnnpeer_state *s)
{
    if (!s)
        return;
    if (s->op)
        xnn_delete_operator(s->op);
    free(s->input);
    free(s->kernel);
    free(s->output);
    free(s);
}

static void *xnnpeer_create(const bench_problem *pb, char *err, size_t errlen)
{
    const cg_conv *p = pb->conv;
    enum xnn_status st;
    if (p->activation != CG_ACT_NONE) {
        snprintf(err, errlen, "the harness runs peers only on layers without an activation");
        return NULL;
    }
    if (!initialized) {
        if ((st = xnn_initialize(NULL)) != xnn_status_success) {
            snprintf(err, errlen, "xnn_initialize failed (status %d)", (int)st);
            return NULL;
        }
        initialized = 1;
    }
    xnnpeer_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->p = *p;
    const int C = p->channels, H = p->height, W = p->width, F = p->filters;
    const int cpg = C / p->groups, fpg = F / p->groups, KH = p->kernel_h, KW = p->kernel_w;
    s->input = bench_floats(cg_conv_input_size(p));
    s->kernel = bench_floats(cg_conv_weights_size(p));
    s->output = bench_floats(cg_conv_output_size(p));
    if (!s->input || !s->kernel || !s->output) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int n = 0; n < p->batch; ++n)
        for (int c = 0; c < C; ++c)
            for (int h = 0; h < H; ++h)
                for (int w = 0; w < W; ++w)
                    s->input[(((size_t)n * H + h) * W + w) * C + c] =
                        pb->input[(((size_t)n * C + c) * H + h) * W + w];
    /* [F][cpg][KH][KW] -> [F][KH][KW][cpg]: F already runs group-major. */
    for (int f = 0; f < F; ++f)
        for (int c = 0; c < cpg; ++c)
            for (int kh = 0; kh < KH; ++kh)
                for (int kw = 0; kw < KW; ++kw)
                    s->kernel[(((size_t)f * KH + kh) * KW + kw) * cpg + c] =
                        pb->weights[(((size_t)f * cpg + c) * KH + kh) * KW + kw];
    bench_fill_nan(s->output, cg_conv_output_size(p));

    st = xnn_create_convolution2d_nhwc_f32(
        (uint32_t)p->pad_top, (uint32_t)p->pad_right, (uint32_t)p->pad_bottom, (uint32_t)p->pad_left,
        (uint32_t)KH, (uint32_t)KW, (uint32_t)p->stride_h, (uint32_t)p->stride_w,
        (uint32_t)p->dilation_h, (uint32_t)p->dilation_w, (uint32_t)p->groups,
        (size_t)cpg, (size_t)fpg, (size_t)C, (size_t)F,
        s->kernel, p->bias ? pb->bias : NULL, -INFINITY, INFINITY, 0, &s->op);
    if (st != xnn_status_success) {
        snprintf(err, errlen, "xnn_create_convolution2d_nhwc_f32 failed (status %d)", (int)st);
        goto fail;
    }
    st = xnn_setup_convolution2d_nhwc_f32(s->op, (size_t)p->batch, (size_t)H, (size_t)W,
                                          s->input, s->output, NULL);
    if (st != xnn_status_success) {
        snprintf(err, errlen, "xnn_setup_convolution2d_nhwc_f32 failed (status %d)", (int)st);
        goto fail;
    }
    return s;
fail:
    xnnpeer_state_free(s);
    return NULL;
}

static void xnnpeer_run(void *state)
{
    xnn_run_operator(((xnnpeer_state *)state)->op, NULL);
}

static void xnnpeer_result(void *state, float *out)
{
    xnnpeer_state *s = state;
    const cg_conv *p = &s->p;
    const int F = p->filters, OH = p->out_h, OW = p->out_w;
    for (int n = 0; n < p->batch; ++n)
        for (int f = 0; f < F; ++f)
            for (int h = 0; h < OH; ++h)
                for (int w = 0; w < OW; ++w)
                    out[(((size_t)n * F + f) * OH + h) * OW + w] =
                        s->output[(((size_t)n * OH + h) * OW + w) * F + f];
}

static const char *xnnpeer_impl(void *state)
{
    (void)state;
    return "";
}

static void xnnpeer_destroy(void *state)
{
    xnnpeer_state_free(state);
}

const bench_peer bench_peer_xnnpack = {
    "xnnpack", "XNNPACK convolution2d_nhwc_f32, NULL threadpool (layout conversion untimed)",
    xnnpeer_create, xnnpeer_run, xnnpeer_result, xnnpeer_impl, xnnpeer_destroy
};
