/* bench_util.c - see bench_util.h. */
#include "bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

float *bench_floats(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;   /* aligned_alloc wants a multiple */
    return aligned_alloc(64, bytes);
}

void bench_fill_nan(float *x, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        x[i] = NAN;
}

double bench_conv_flops(const cg_conv *p)
{
    return 2.0 * p->batch * p->filters * p->out_h * p->out_w *
           (double)(p->channels / p->groups) * p->kernel_h * p->kernel_w;
}

const char *bench_format_time(double s, char *buf, size_t len)
{
    if (s < 1e-3)
        snprintf(buf, len, "%.3g us", s * 1e6);
    else if (s < 1.0)
        snprintf(buf, len, "%.3g ms", s * 1e3);
    else
        snprintf(buf, len, "%.3g s", s);
    return buf;
}
