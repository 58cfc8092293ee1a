/* cg_ref.c - the naive reference convolution (see cg_ref.h). */
#include "cg_ref.h"

#include <math.h>

double cg_ref_activate(cg_activation a, double alpha, double v)
{
    switch (a) {
    case CG_ACT_NONE:       return v;
    case CG_ACT_RELU:       return v < 0.0 ? 0.0 : v;
    case CG_ACT_RELU6:      return v < 0.0 ? 0.0 : (v > 6.0 ? 6.0 : v);
    case CG_ACT_LEAKY_RELU: return v < 0.0 ? alpha * v : v;
    case CG_ACT_SIGMOID:    return 1.0 / (1.0 + exp(-v));
    case CG_ACT_TANH:       return tanh(v);
    }
    return v;
}

/* Where element (n, c, h, w) of a [N][C][H][W] tensor lies in layout l:
 * NCHW keeps that order, NHWC puts the channel last. */
static size_t at(cg_layout l, int n, int c, int h, int w, int C, int H, int W)
{
    if (l == CG_LAYOUT_NHWC)
        return (((size_t)n * H + h) * W + w) * C + c;
    return (((size_t)n * C + c) * H + h) * W + w;
}

void cg_ref_conv2d(const cg_conv *p, const float *input, const float *weights,
                   const float *bias, float *output, double *magnitude)
{
    const int cpg = p->channels / p->groups;
    const int fpg = p->filters / p->groups;
    const cg_layout l = p->layout;

    for (int n = 0; n < p->batch; ++n) {
        for (int f = 0; f < p->filters; ++f) {
            const int g = f / fpg;
            for (int oh = 0; oh < p->out_h; ++oh) {
                for (int ow = 0; ow < p->out_w; ++ow) {
                    const size_t o = at(l, n, f, oh, ow, p->filters, p->out_h, p->out_w);
                    double sum = p->bias ? bias[f] : 0.0;
                    double mag = fabs(sum);
                    for (int c = 0; c < cpg; ++c) {
                        const int ic = g * cpg + c;
                        for (int kh = 0; kh < p->kernel_h; ++kh) {
                            const int ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
                            if (ih < 0 || ih >= p->height)
                                continue;
                            for (int kw = 0; kw < p->kernel_w; ++kw) {
                                const int iw = ow * p->stride_w - p->pad_left + kw * p->dilation_w;
                                if (iw < 0 || iw >= p->width)
                                    continue;
                                const double x = input[at(l, n, ic, ih, iw, p->channels, p->height, p->width)];
                                /* Weights as a [F][C/groups][KH][KW] tensor: NHWC's are [F][KH][KW][C/groups]. */
                                const double w = weights[at(l, f, c, kh, kw, cpg, p->kernel_h, p->kernel_w)];
                                sum += w * x;
                                mag += fabs(w * x);
                            }
                        }
                    }
                    output[o] = (float)cg_ref_activate(p->activation, p->alpha, sum);
                    if (magnitude)
                        magnitude[o] = mag;
                }
            }
        }
    }
}
