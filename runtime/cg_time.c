/* cg_time.c - median timing of a function (see cg_time.h). */
#include "cg_time.h"

#include <stdlib.h>
#include <time.h>

double cg_time_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double cg_time_median(void (*fn)(void *), void *arg, int samples, double min_seconds)
{
    enum { MAX_SAMPLES = 64 };
    double t[MAX_SAMPLES];
    if (samples < 1)
        samples = 1;
    if (samples > MAX_SAMPLES)
        samples = MAX_SAMPLES;

    /* Warm up, and find how many calls make a sample. */
    long reps = 1;
    for (;;) {
        double start = cg_time_now();
        for (long r = 0; r < reps; ++r)
            fn(arg);
        double took = cg_time_now() - start;
        if (took >= min_seconds || reps >= (1L << 30))
            break;
        reps = took > 0 ? (long)(reps * (min_seconds / took) * 1.2) + 1 : reps * 10;
    }
    for (int k = 0; k < samples; ++k) {
        double start = cg_time_now();
        for (long r = 0; r < reps; ++r)
            fn(arg);
        t[k] = (cg_time_now() - start) / (double)reps;
    }
    return cg_median(t, samples);
}

double cg_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], compare_doubles);
    return v[n / 2];
}
