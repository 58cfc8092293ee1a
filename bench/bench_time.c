/* bench_time.c - see bench_time.h. */
#include "bench_time.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "bench_peak.h"

bench_plan bench_plan_default(void)
{
    bench_plan p = { 0.3, 3.0, 100e-6, 10, 4000, 3, 12 };
    return p;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted x[0..n-1], interpolating between neighbours. */
static double quantile(const double *x, int n, double q)
{
    double pos = q * (n - 1);
    int i = (int)pos;
    if (i >= n - 1)
        return x[n - 1];
    return x[i] + (pos - i) * (x[i + 1] - x[i]);
}

/* Seconds per call. The check call before it was the warm-up; a call of
 * 10 ms or more is its own estimate, faster ones are repeated for 10 ms. */
static double calibrate(const bench_job *j)
{
    double t0 = bench_now();
    j->run(j->state);
    double t = bench_now() - t0;
    if (t >= 0.01)
        return t;
    int calls = 0;
    t0 = bench_now();
    do {
        j->run(j->state);
        ++calls;
        t = bench_now() - t0;
    } while (t < 0.01 && calls < 100000);
    return t / calls;
}

int bench_measure(bench_job *jobs, int njobs, const bench_plan *plan)
{
    double **times = calloc((size_t)njobs, sizeof *times);
    double *t1s = calloc((size_t)njobs, sizeof *t1s);
    int *taken = calloc((size_t)njobs, sizeof *taken);
    if (!times || !t1s || !taken)
        goto oom;

    for (int k = 0; k < njobs; ++k) {
        bench_timing *tm = &jobs[k].timing;
        double t1 = calibrate(&jobs[k]);
        if (t1 <= 0.0)
            t1 = 1e-9;
        t1s[k] = t1;
        tm->batch = t1 >= plan->min_sample ? 1 : (int)ceil(plan->min_sample / t1);
        double per_sample = tm->batch * t1;
        double want = plan->target / per_sample;
        int n = want < plan->min_samples ? plan->min_samples
              : want > plan->max_samples ? plan->max_samples : (int)lround(want);
        if (n * per_sample > plan->cap && n == plan->min_samples) {
            n = (int)(plan->cap / per_sample);
            if (n < plan->floor_samples)
                n = plan->floor_samples;
        }
        tm->samples = n;
        tm->reduced = n < plan->min_samples;
        tm->spent = 0.0;
        if (!(times[k] = malloc((size_t)n * sizeof **times)))
            goto oom;
    }

    for (int r = 0; r < plan->rounds; ++r) {
        for (int k = 0; k < njobs; ++k) {
            bench_job *j = &jobs[k];
            bench_timing *tm = &j->timing;
            int upto = (int)((long long)tm->samples * (r + 1) / plan->rounds);
            if (taken[k] >= upto)
                continue;
            /* One untimed call to bring this system's data back into cache
             * after the other systems ran, when that is cheap. */
            if (t1s[k] < 1e-3)
                j->run(j->state);
            for (; taken[k] < upto; ++taken[k]) {
                double t0 = bench_now();
                for (int b = 0; b < tm->batch; ++b)
                    j->run(j->state);
                double t = bench_now() - t0;
                tm->spent += t;
                times[k][taken[k]] = t / tm->batch;
            }
        }
    }

    for (int k = 0; k < njobs; ++k) {
        bench_timing *tm = &jobs[k].timing;
        qsort(times[k], (size_t)tm->samples, sizeof **times, cmp_double);
        tm->median = quantile(times[k], tm->samples, 0.5);
        tm->p25 = quantile(times[k], tm->samples, 0.25);
        tm->p75 = quantile(times[k], tm->samples, 0.75);
        free(times[k]);
    }
    free(times);
    free(t1s);
    free(taken);
    return 0;
oom:
    if (times)
        for (int k = 0; k < njobs; ++k)
            free(times[k]);
    free(times);
    free(t1s);
    free(taken);
    return -1;
}

int bench_fma_peak(bench_isa isa, double sample_s, int samples, double *median, double *best)
{
    float (*loop)(long) = bench_peak_fma;
    double flops_per_iter = BENCH_PEAK_FLOPS_PER_ITER;
    __builtin_cpu_init();
    if (isa == BENCH_ISA_AVX512) {
        if (!__builtin_cpu_supports("avx512f"))
            return -1;
        loop = bench_peak_fma512;
        flops_per_iter = BENCH_PEAK512_FLOPS_PER_ITER;
    } else if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        return -1;
    }
    volatile float sink = 0.0f;
    /* Size one sample to about sample_s. */
    long iters = 1 << 14;
    for (;;) {
        double t0 = bench_now();
        sink += loop(iters);
        double t = bench_now() - t0;
        if (t >= sample_s / 4 || iters > (1L << 40)) {
            iters = (long)(iters * (sample_s / (t > 0 ? t : 1e-9)));
            break;
        }
        iters *= 4;
    }
    if (iters < 1)
        iters = 1;
    double *g = malloc((size_t)samples * sizeof *g);
    if (!g)
        return -1;
    for (int i = 0; i < samples; ++i) {
        double t0 = bench_now();
        sink += loop(iters);
        double t = bench_now() - t0;
        g[i] = (double)iters * flops_per_iter / t / 1e9;
    }
    qsort(g, (size_t)samples, sizeof *g, cmp_double);
    *median = quantile(g, samples, 0.5);
    *best = g[samples - 1];
    free(g);
    (void)sink;
    return 0;
}
