/*
 * bench_report.h - the results of one benchmark run and their three
 * renderings: aligned text tables (stdout), Markdown and CSV.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdio.h>

#include "bench_peer.h"
#include "bench_registry.h"
#include "bench_time.h"

#define BENCH_MAX_PEERS 8
#define BENCH_SMALL_MFLOP 5.0   /* the "small layers" geometric mean */

typedef enum bench_status {
    BENCH_OK,           /* checked against the reference, then timed */
    BENCH_WRONG,        /* disagreed with the reference: not timed */
    BENCH_UNAVAILABLE   /* the peer could not set the layer up */
} bench_status;

typedef struct bench_cell {
    bench_status status;
    char note[256];     /* the reason when not OK */
    char impl[160];     /* the implementation the peer reported */
    double max_abs_err; /* from the check against the reference */
    bench_timing timing;
} bench_cell;

typedef struct bench_row {
    const bench_layer *layer;
    double flops;
    bench_cell cell[BENCH_MAX_PEERS];   /* one per peer, same order */
} bench_row;

typedef struct bench_run {
    const bench_peer *const *peers;     /* peers[0] is convgen */
    int npeers;
    bench_row *rows;
    int nrows;
    /* FMA peaks in GFLOP/s, medians measured at the start and the end of
     * the run (a gap between them means the machine was busy), the higher
     * of the two, and the best single sample; 0: not measured. */
    double peak_start, peak_end, peak, peak_best;               /* ymm */
    double peak512_start, peak512_end, peak512, peak512_best;   /* zmm */
    char cpu[128];
    int pinned_cpu;                     /* -1: not pinned */
    char threads[160];                  /* the thread environment */
    char target[64];                    /* convgen's target(s) */
    char libs[512];                     /* library versions */
    char started[40];                   /* local date and time */
    bench_plan plan;
    double wall;                        /* seconds the whole run took */
} bench_run;

/* Speedup of convgen over peer k on row r (peer time / convgen time), or
 * 0 when either is not OK. */
double bench_speedup(const bench_row *r, int k);

/* Geometric mean of the speedups over peer k on the rows whose MFLOP is
 * below max_mflop (0: all); *count gets the number of rows used. */
double bench_geomean_speedup(const bench_run *run, int k, double max_mflop, int *count);

void bench_report_text(FILE *f, const bench_run *run);
void bench_report_markdown(FILE *f, const bench_run *run);
void bench_report_csv(FILE *f, const bench_run *run);

#endif
