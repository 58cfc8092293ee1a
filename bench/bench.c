/*
 * bench.c - the convgen benchmark: every layer compiled into this binary
 * (or those named on the command line), through convgen's kernel and its
 * peers, in one single-threaded run.
 *
 * Per layer: seeded random input, weights and bias; the reference
 * convolution (runtime/cg_ref) once; every system set up, run once and
 * compared with the reference (a system that disagrees, or cannot run the
 * layer, is reported and not timed); then the systems that passed are
 * timed together (bench_time.h). At the end: tables on stdout, and
 * results.csv and results.md in the results directory.
 *
 * Exit status: 0, or 1 if a convgen kernel disagreed with the reference,
 * 2 on bad usage or an unwritable results directory, 3 out of memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "bench_env.h"
#include "bench_peer.h"
#include "bench_registry.h"
#include "bench_report.h"
#include "bench_time.h"
#include "bench_util.h"
#include "cg_ref.h"
#include "cg_tensor.h"

#ifndef BENCH_XNNPACK_VERSION
#define BENCH_XNNPACK_VERSION "unknown version"
#endif

static const bench_peer *const peers[] = {
    &bench_peer_convgen, &bench_peer_convgen_plain, &bench_peer_dnnl_nchw, &bench_peer_dnnl_any,
    &bench_peer_xnnpack, &bench_peer_blas, &bench_peer_naive,
};
enum { NPEERS = sizeof peers / sizeof peers[0] };
_Static_assert(NPEERS <= BENCH_MAX_PEERS, "raise BENCH_MAX_PEERS");

static const char usage[] =
    "usage: bench [--results DIR] [--seed N] [--time S] [--rounds N] [--list] [LAYER...]\n"
    "\n"
    "Benchmark convgen's kernels for the layers compiled in (all, or each LAYER,\n"
    "named as in the suite or with its bench_ prefix) against oneDNN, XNNPACK,\n"
    "im2col + OpenBLAS and a naive loop, on one thread.\n"
    "\n"
    "  --results DIR   also write DIR/results.csv and DIR/results.md\n"
    "  --seed N        seed of the random tensors (default 1)\n"
    "  --time S        seconds of timed calls per system and layer (default 0.3)\n"
    "  --rounds N      interleaved rounds those calls are split into (default %d)\n"
    "  --list          print the layers compiled in and exit\n";

static const bench_layer *find_layer(const char *name)
{
    for (int i = 0; i < bench_layer_count; ++i) {
        const char *n = bench_layers[i].name;
        if (strcmp(n, name) == 0 || (strncmp(n, "bench_", 6) == 0 && strcmp(n + 6, name) == 0))
            return &bench_layers[i];
    }
    return NULL;
}

/* The seed of a layer's tensors: the run's seed mixed with the layer's name,
 * so a layer gets the same data whichever subset runs. */
static uint64_t layer_seed(uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; *name; ++name)
        h = (h ^ (unsigned char)*name) * 1099511628211ull;
    return h;
}

/* Check every system on one layer, then time those that passed. Returns 0,
 * or -1 if out of memory. */
static int bench_layer_run(const bench_layer *l, bench_row *row, const bench_plan *plan, uint64_t seed)
{
    const cg_conv *p = &l->conv;
    const size_t n_in = cg_conv_input_size(p), n_w = cg_conv_weights_size(p);
    const size_t n_b = cg_conv_bias_size(p), n_out = cg_conv_output_size(p);
    float *in = bench_floats(n_in), *w = bench_floats(n_w), *b = bench_floats(n_b);
    float *want = bench_floats(n_out), *got = bench_floats(n_out);
    double *mag = malloc(n_out * sizeof *mag);
    void *state[NPEERS] = { 0 };
    bench_job jobs[NPEERS];
    int job_peer[NPEERS], njobs = 0, rc = -1;

    if (!in || !w || !b || !want || !got || !mag)
        goto done;
    cg_rng rng;
    cg_rng_seed(&rng, layer_seed(seed, l->name));
    cg_fill_uniform(in, n_in, &rng, -1.0f, 1.0f);
    cg_fill_uniform(w, n_w, &rng, -1.0f, 1.0f);
    cg_fill_uniform(b, n_b, &rng, -1.0f, 1.0f);
    cg_ref_conv2d(p, in, w, b, want, mag);

    row->layer = l;
    row->flops = bench_conv_flops(p);
    const bench_problem pb = { p, l->fn, l->pack, l->run, l->packed_size, in, w, b };
    for (int k = 0; k < NPEERS; ++k) {
        bench_cell *c = &row->cell[k];
        memset(c, 0, sizeof *c);
        state[k] = peers[k]->create(&pb, c->note, sizeof c->note);
        if (!state[k]) {
            c->status = BENCH_UNAVAILABLE;
            continue;
        }
        snprintf(c->impl, sizeof c->impl, "%s", peers[k]->impl(state[k]));
        peers[k]->run(state[k]);
        peers[k]->result(state[k], got);
        cg_compare cmp;
        cg_compare_floats(got, want, mag, n_out, cg_conv_reduction_length(p), &cmp);
        c->max_abs_err = cmp.max_abs;
        if (cmp.failures) {
            c->status = BENCH_WRONG;
            snprintf(c->note, sizeof c->note,
                     "%zu of %zu outputs beyond tolerance (max abs error %.3g; flat index %zu is %.3g x its tolerance)",
                     cmp.failures, n_out, cmp.max_abs, cmp.worst, cmp.worst_ratio);
            continue;
        }
        jobs[njobs] = (bench_job){ .run = peers[k]->run, .state = state[k] };
        job_peer[njobs++] = k;
    }
    if (bench_measure(jobs, njobs, plan) != 0)
        goto done;
    for (int j = 0; j < njobs; ++j)
        row->cell[job_peer[j]].timing = jobs[j].timing;
    rc = 0;
done:
    for (int k = 0; k < NPEERS; ++k)
        if (state[k])
            peers[k]->destroy(state[k]);
    free(in);
    free(w);
    free(b);
    free(want);
    free(got);
    free(mag);
    return rc;
}

/* One line per layer on stderr while the run goes on. */
static void progress(int i, int n, const bench_row *r)
{
    fprintf(stderr, "[%2d/%d] %-22s %8.2f MFLOP:", i + 1, n, r->layer->name, r->flops / 1e6);
    for (int k = 0; k < NPEERS; ++k) {
        const bench_cell *c = &r->cell[k];
        char t[32];
        if (c->status == BENCH_OK)
            fprintf(stderr, " %s %s", peers[k]->name, bench_format_time(c->timing.median, t, sizeof t));
        else
            fprintf(stderr, " %s %s", peers[k]->name, c->status == BENCH_WRONG ? "WRONG" : "n/a");
    }
    fputc('\n', stderr);
}

/* Write dir/name through a temporary file, so a failed run leaves the last
 * good one. Returns 0 or -1. */
static int write_result(const char *dir, const char *name, const bench_run *run,
                        void (*render)(FILE *, const bench_run *))
{
    char path[4096], tmp[4100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    render(f, run);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

static void describe_libs(char *buf, size_t len)
{
    const dnnl_version_t *v = dnnl_version();
    const char *xnn = BENCH_XNNPACK_VERSION;
    snprintf(buf, len, "oneDNN %d.%d.%d; OpenBLAS %s; XNNPACK (Debian) %s", v->major, v->minor, v->patch,
             openblas_get_config(), xnn[0] ? xnn : "unknown version");
}

/* Measure the FMA peaks (ymm, and zmm on an AVX-512 CPU); called at the
 * start and the end of the run. The higher median of the two is the peak
 * the kernels are compared with, so that a burst of load from the
 * machine's other tenants during one of them does not lower it. */
static void measure_peaks(bench_run *run, int at_end)
{
    const char *when = at_end ? "end" : "start";
    double med, best;
    if (bench_fma_peak(BENCH_ISA_AVX2, 0.02, 15, &med, &best) == 0) {
        fprintf(stderr, "bench: ymm FMA peak at the %s: %.1f GFLOP/s (median of 15; best %.1f)\n", when, med, best);
        *(at_end ? &run->peak_end : &run->peak_start) = med;
        run->peak = med > run->peak ? med : run->peak;
        run->peak_best = best > run->peak_best ? best : run->peak_best;
    }
    if (bench_fma_peak(BENCH_ISA_AVX512, 0.02, 15, &med, &best) == 0) {
        fprintf(stderr, "bench: zmm FMA peak at the %s: %.1f GFLOP/s (median of 15; best %.1f)\n", when, med, best);
        *(at_end ? &run->peak512_end : &run->peak512_start) = med;
        run->peak512 = med > run->peak512 ? med : run->peak512;
        run->peak512_best = best > run->peak512_best ? best : run->peak512_best;
    }
}

/* The distinct convgen targets of the selected layers. */
static void describe_targets(const bench_run *run, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < run->nrows; ++i) {
        const char *t = run->rows[i].layer->target;
        if (!strstr(buf, t) && strlen(buf) + strlen(t) + 3 < len) {
            if (buf[0])
                strcat(buf, ", ");
            strcat(buf, t);
        }
    }
}

int main(int argc, char **argv)
{
    char msg[256];
    bench_env_single_thread(argv, msg, sizeof msg);
    if (msg[0])
        fprintf(stderr, "bench: warning: %s\n", msg);

    const char *results = NULL;
    uint64_t seed = 1;
    bench_plan plan = bench_plan_default();
    const bench_layer **chosen = calloc((size_t)bench_layer_count + (size_t)argc, sizeof *chosen);
    int nchosen = 0;
    if (!chosen)
        return 3;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fprintf(stdout, usage, bench_plan_default().rounds);
            return 0;
        } else if (strcmp(a, "--list") == 0) {
            for (int j = 0; j < bench_layer_count; ++j)
                printf("%s\n", bench_layers[j].name);
            return 0;
        } else if (strcmp(a, "--results") == 0 && i + 1 < argc) {
            results = argv[++i];
        } else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(a, "--time") == 0 && i + 1 < argc) {
            plan.target = strtod(argv[++i], NULL);
            if (!(plan.target > 0.0 && plan.target < 60.0)) {
                fprintf(stderr, "bench: --time needs seconds in (0, 60)\n");
                return 2;
            }
        } else if (strcmp(a, "--rounds") == 0 && i + 1 < argc) {
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (*end || r < 1 || r > 1000) {
                fprintf(stderr, "bench: --rounds needs a whole number in 1..1000\n");
                return 2;
            }
            plan.rounds = (int)r;
        } else if (a[0] == '-') {
            fprintf(stderr, "bench: unknown option '%s'\n", a);
            fprintf(stderr, usage, bench_plan_default().rounds);
            return 2;
        } else {
            const bench_layer *l = find_layer(a);
            if (!l) {
                fprintf(stderr, "bench: no layer '%s' compiled in; 'bench --list' lists them\n", a);
                return 2;
            }
            chosen[nchosen++] = l;
        }
    }
    if (nchosen == 0)
        for (int j = 0; j < bench_layer_count; ++j)
            chosen[nchosen++] = &bench_layers[j];

    bench_run run = { 0 };
    run.peers = peers;
    run.npeers = NPEERS;
    run.plan = plan;
    run.rows = calloc((size_t)nchosen, sizeof *run.rows);
    if (!run.rows)
        return 3;
    time_t now = time(NULL);
    strftime(run.started, sizeof run.started, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
    double t0 = bench_now();

    run.pinned_cpu = bench_env_pin(msg, sizeof msg);
    if (run.pinned_cpu < 0)
        fprintf(stderr, "bench: warning: not pinned: %s\n", msg);
    openblas_set_num_threads(1);
    bench_env_cpu_model(run.cpu, sizeof run.cpu);
    bench_env_describe(run.threads, sizeof run.threads);
    describe_libs(run.libs, sizeof run.libs);

    measure_peaks(&run, 0);
    int convgen_wrong = 0;
    for (int i = 0; i < nchosen; ++i) {
        bench_row *r = &run.rows[i];
        if (bench_layer_run(chosen[i], r, &plan, seed) != 0) {
            fprintf(stderr, "bench: out of memory on layer %s\n", chosen[i]->name);
            return 3;
        }
        run.nrows = i + 1;
        convgen_wrong |= r->cell[0].status != BENCH_OK;
        progress(i, nchosen, r);
    }
    measure_peaks(&run, 1);
    run.wall = bench_now() - t0;
    describe_targets(&run, run.target, sizeof run.target);

    fputc('\n', stdout);
    bench_report_text(stdout, &run);
    fflush(stdout);
    int rc = convgen_wrong ? 1 : 0;
    if (results) {
        if (write_result(results, "results.csv", &run, bench_report_csv) != 0 ||
            write_result(results, "results.md", &run, bench_report_markdown) != 0) {
            fprintf(stderr, "bench: cannot write the results to '%s'\n", results);
            rc = 2;
        } else {
            fprintf(stderr, "bench: wrote %s/results.csv and %s/results.md\n", results, results);
        }
    }
    if (convgen_wrong)
        fprintf(stderr, "bench: a convgen kernel disagreed with the reference (see Problems)\n");
    free(run.rows);
    free(chosen);
    return rc;
}
