/*
 * bench_blas.c - im2col + OpenBLAS cblas_sgemm, the classic Caffe scheme.
 *
 * Per image and group: col[(c, kh, kw)][(oh, ow)] gathers the input patches
 * (zeros in the padding), then out_g = W_g x col + bias, with W_g the
 * group's [F/groups][(C/groups) KH KW] weights as stored. A 1x1, stride 1,
 * unpadded layer multiplies the input directly (im2col is the identity).
 * The timed call includes im2col and the bias.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench_peer.h"
#include "bench_util.h"

typedef struct blaspeer_state {
    cg_conv p;
    const float *input, *weights, *bias;
    float *col;       /* [K][OH*OW], unused when identity */
    float *output;
    int identity;
    char impl[64];
} blaspeer_state;

static void blaspeer_im2col(const cg_conv *p, const float *x, float *col)
{
    const int cpg = p->channels / p->groups, ohw = p->out_h * p->out_w;
    for (int c = 0; c < cpg; ++c)
        for (int kh = 0; kh < p->kernel_h; ++kh)
            for (int kw = 0; kw < p->kernel_w; ++kw) {
                float *row = col + ((size_t)(c * p->kernel_h + kh) * p->kernel_w + kw) * ohw;
                const float *plane = x + (size_t)c * p->height * p->width;
                for (int oh = 0; oh < p->out_h; ++oh) {
                    const int ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
                    float *r = row + (size_t)oh * p->out_w;
                    if (ih < 0 || ih >= p->height) {
                        memset(r, 0, (size_t)p->out_w * sizeof *r);
                        continue;
                    }
                    const float *in = plane + (size_t)ih * p->width;
                    for (int ow = 0; ow < p->out_w; ++ow) {
                        const int iw = ow * p->stride_w - p->pad_left + kw * p->dilation_w;
                        r[ow] = (iw >= 0 && iw < p->width) ? in[iw] : 0.0f;
                    }
                }
            }
}

static void *blaspeer_create(const bench_problem *pb, char *err, size_t errlen)
{
    const cg_conv *p = pb->conv;
    if (p->activation != CG_ACT_NONE) {
        snprintf(err, errlen, "the harness runs peers only on layers without an activation");
        return NULL;
    }
    blaspeer_state *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->p = *p;
    s->input = pb->input;
    s->weights = pb->weights;
    s->bias = pb->bias;
    s->identity = p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                  p->pad_top == 0 && p->pad_bottom == 0 && p->pad_left == 0 && p->pad_right == 0;
    if (!s->identity &&
        !(s->col = bench_floats((size_t)cg_conv_reduction_length(p) * p->out_h * p->out_w)))
        goto oom;
    if (!(s->output = bench_floats(cg_conv_output_size(p))))
        goto oom;
    bench_fill_nan(s->output, cg_conv_output_size(p));
    snprintf(s->impl, sizeof s->impl, "%s", s->identity ? "sgemm (1x1: no im2col)" : "im2col+sgemm");
    return s;
oom:
    if (s) {
        free(s->col);
        free(s);
    }
    snprintf(err, errlen, "out of memory");
    return NULL;
}

static void blaspeer_run(void *state)
{
    blaspeer_state *s = state;
    const cg_conv *p = &s->p;
    const int cpg = p->channels / p->groups, fpg = p->filters / p->groups;
    const int k = cg_conv_reduction_length(p), ohw = p->out_h * p->out_w;
    const size_t in_plane = (size_t)p->height * p->width;

    for (int n = 0; n < p->batch; ++n)
        for (int g = 0; g < p->groups; ++g) {
            const float *x = s->input + ((size_t)n * p->channels + (size_t)g * cpg) * in_plane;
            float *y = s->output + ((size_t)n * p->filters + (size_t)g * fpg) * ohw;
            const float *b = s->identity ? x : s->col;
            if (!s->identity)
                blaspeer_im2col(p, x, s->col);
            for (int f = 0; f < fpg; ++f) {
                const float v = p->bias ? s->bias[g * fpg + f] : 0.0f;
                float *r = y + (size_t)f * ohw;
                for (int i = 0; i < ohw; ++i)
                    r[i] = v;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, fpg, ohw, k, 1.0f,
                        s->weights + (size_t)g * fpg * k, k, b, ohw, 1.0f, y, ohw);
        }
}

static void blaspeer_result(void *state, float *out)
{
    blaspeer_state *s = state;
    memcpy(out, s->output, cg_conv_output_size(&s->p) * sizeof *out);
}

static const char *blaspeer_impl(void *state)
{
    return ((blaspeer_state *)state)->impl;
}

static void blaspeer_destroy(void *state)
{
    blaspeer_state *s = state;
    if (s) {
        free(s->col);
        free(s->output);
        free(s);
    }
}

const bench_peer bench_peer_blas = {
    "im2col_blas", "im2col + OpenBLAS cblas_sgemm per group (NCHW; im2col and bias timed)",
    blaspeer_create, blaspeer_run, blaspeer_result, blaspeer_impl, blaspeer_destroy
};
