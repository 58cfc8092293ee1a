/* bench_util.h - buffers and small helpers shared by the harness modules. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>

#include "cg_conv.h"

/* n floats, 64-byte aligned (free with free()); NULL if out of memory. */
float *bench_floats(size_t n);

/* Fill x with NaN, so an output element nobody writes fails the check. */
void bench_fill_nan(float *x, size_t n);

/* 2 * N * F * OH * OW * (C/groups) * KH * KW. */
double bench_conv_flops(const cg_conv *p);

/* Format seconds as "12.3 us", "4.56 ms" or "1.23 s" into buf. */
const char *bench_format_time(double seconds, char *buf, size_t len);

#endif
