/*
 * pruned_bench.c - what zero skipping buys: DS-CNN's pointwise layer with
 * its weights baked in by convgen, dense and randomly pruned to 50% and
 * 90% zeros (bench/pruned.h). Each kernel is checked against the
 * reference convolution on its own weights, then the three are timed in
 * interleaved samples (bench_time.h), pinned to one CPU like `make bench`.
 *
 * usage: pruned_bench [--results DIR]   prints a table; with --results,
 * appends it to DIR/results.md. Exit status 0, 1 if a kernel disagreed
 * with the reference, 2 on bad usage or an unwritable file, 3 out of memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_env.h"
#include "bench_time.h"
#include "bench_util.h"
#include "cg_ref.h"
#include "pruned.h"

void bench_pruned_dense(const float *input, float *output);
void bench_pruned_50(const float *input, float *output);
void bench_pruned_90(const float *input, float *output);

static void (*const kernels[PRUNED_VARIANTS])(const float *, float *) = {
    bench_pruned_dense, bench_pruned_50, bench_pruned_90,
};

struct call {
    void (*fn)(const float *, float *);
    const float *in;
    float *out;
};

static void run_call(void *state)
{
    struct call *c = state;
    c->fn(c->in, c->out);
}

static void table(FILE *f, const bench_job *jobs, const int *zeros, int markdown)
{
    const double flops = 2.0 * PRUNED_NW * pruned_layer.out_h * pruned_layer.out_w;
    if (markdown)
        fprintf(f, "\n## Baked weights: zero skipping\n\n"
                   "DS-CNN's pointwise layer (64 -> 64, 1x1, 25x5) with its weights baked in, dense and\n"
                   "randomly pruned (seed %u); convgen leaves the multiply-adds of zero weights out of\n"
                   "the unrolled code. GFLOP/s count the dense layer's work.\n\n"
                   "| weights | zero weights | time per call | speedup over dense | GFLOP/s (dense-equivalent) |\n"
                   "|---|--:|--:|--:|--:|\n", PRUNED_SEED);
    else
        fprintf(f, "\nBaked weights, zero skipping: DS-CNN pointwise 64->64 1x1 on 25x5 (seed %u)\n"
                   "%-10s %14s %14s %10s %10s\n", PRUNED_SEED, "weights", "zero weights", "time",
                   "speedup", "GFLOP/s");
    for (int v = 0; v < PRUNED_VARIANTS; ++v) {
        char t[32], label[16];
        double s = jobs[v].timing.median;
        snprintf(label, sizeof label, v == 0 ? "dense" : "%d%% zeros", pruned_zero_pct[v]);
        bench_format_time(s, t, sizeof t);
        if (markdown)
            fprintf(f, "| %s | %d of %d | %s | %.2fx | %.1f |\n", label, zeros[v], PRUNED_NW, t,
                    jobs[0].timing.median / s, flops / s / 1e9);
        else
            fprintf(f, "%-10s %7d of %4d %14s %9.2fx %10.1f\n", label, zeros[v], PRUNED_NW, t,
                    jobs[0].timing.median / s, flops / s / 1e9);
    }
}

int main(int argc, char **argv)
{
    const char *results = NULL;
    char msg[256];
    if (argc == 3 && strcmp(argv[1], "--results") == 0) {
        results = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: pruned_bench [--results DIR]\n");
        return 2;
    }
    if (bench_env_pin(msg, sizeof msg) < 0)
        fprintf(stderr, "pruned_bench: warning: not pinned: %s\n", msg);

    const cg_conv *p = &pruned_layer;
    const size_t ni = cg_conv_input_size(p), no = cg_conv_output_size(p);
    float *in = bench_floats(ni), *got[PRUNED_VARIANTS], *want = bench_floats(no);
    float *w = bench_floats(PRUNED_NW), *b = bench_floats(PRUNED_NB);
    double *mag = malloc(no * sizeof *mag);
    if (!in || !want || !w || !b || !mag)
        return 3;
    cg_rng r;
    cg_rng_seed(&r, 1);
    cg_fill_uniform(in, ni, &r, -1.0f, 1.0f);

    bench_job jobs[PRUNED_VARIANTS];
    struct call calls[PRUNED_VARIANTS];
    int zeros[PRUNED_VARIANTS], wrong = 0;
    for (int v = 0; v < PRUNED_VARIANTS; ++v) {
        if (!(got[v] = bench_floats(no)))
            return 3;
        pruned_weights(v, w, b);
        zeros[v] = 0;
        for (int i = 0; i < PRUNED_NW; ++i)
            zeros[v] += w[i] == 0.0f;
        bench_fill_nan(got[v], no);
        kernels[v](in, got[v]);
        cg_ref_conv2d(p, in, w, b, want, mag);
        cg_compare cmp;
        cg_compare_floats(got[v], want, mag, no, cg_conv_reduction_length(p), &cmp);
        if (cmp.failures) {
            fprintf(stderr, "pruned_bench: %s: %zu outputs disagree with the reference\n",
                    pruned_names[v], cmp.failures);
            wrong = 1;
        }
        calls[v] = (struct call){ kernels[v], in, got[v] };
        jobs[v] = (bench_job){ .run = run_call, .state = &calls[v] };
    }
    if (wrong)
        return 1;
    bench_plan plan = bench_plan_default();
    if (bench_measure(jobs, PRUNED_VARIANTS, &plan) != 0)
        return 3;
    table(stdout, jobs, zeros, 0);
    if (results) {
        char path[4096];
        snprintf(path, sizeof path, "%s/results.md", results);
        FILE *f = fopen(path, "a");
        if (!f) {
            fprintf(stderr, "pruned_bench: cannot append to %s\n", path);
            return 2;
        }
        table(f, jobs, zeros, 1);
        if (fclose(f) != 0) {
            fprintf(stderr, "pruned_bench: cannot append to %s\n", path);
            return 2;
        }
    }
    return 0;
}
