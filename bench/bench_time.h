/*
 * bench_time.h - how the harness times calls.
 *
 * Each system is calibrated (a short warm-up that also estimates one call),
 * then timed in samples: a sample is `batch` back-to-back calls, batch
 * chosen so a sample lasts at least min_sample seconds; the number of
 * samples is chosen so the system's samples add up to about target seconds
 * (at least min_samples, at most max_samples). A system whose call is so
 * slow that min_samples would exceed cap seconds gets fewer samples (but
 * never fewer than floor_samples) and is flagged as such. The samples of
 * all the systems of a layer are taken in interleaved rounds, so a burst of
 * noise from the machine's other tenants lands on every system alike. The
 * rounds are short (12 of them, about 25 ms per system each) because the
 * shared machine drifts between slower and faster states over seconds:
 * with 3 rounds, resnet50_pw1's ratio to oneDNN spread over 0.98-1.03x in
 * eight runs, with 12 over 0.99-1.01x. A system whose call takes under
 * 1 ms makes one untimed call at the start of each round to bring its data
 * back into cache. The result is the median time per call.
 */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

typedef struct bench_plan {
    double target;        /* seconds of timed calls per system and layer */
    double cap;           /* at most this many seconds for a slow system */
    double min_sample;    /* a sample lasts at least this long */
    int min_samples, max_samples, floor_samples;
    int rounds;
} bench_plan;

/* The defaults: 0.3 s per measurement, samples of >= 100 us, 10..4000
 * samples, slow systems cut to >= 3 samples within 3 s, 12 rounds. */
bench_plan bench_plan_default(void);

typedef struct bench_timing {
    double median;        /* seconds per call */
    double p25, p75;      /* quartiles of the per-call sample times */
    int samples, batch;   /* samples taken, calls per sample */
    int reduced;          /* 1: fewer than min_samples (a slow system) */
    double spent;         /* seconds spent in timed calls */
} bench_timing;

typedef struct bench_job {
    void (*run)(void *state);
    void *state;
    bench_timing timing;  /* filled by bench_measure */
} bench_job;

/* Monotonic time in seconds. */
double bench_now(void);

/* Time every job (see above). Returns 0, or -1 if out of memory. */
int bench_measure(bench_job *jobs, int njobs, const bench_plan *plan);

/* Which FMA peak loop (bench_peak.h). */
typedef enum bench_isa { BENCH_ISA_AVX2, BENCH_ISA_AVX512 } bench_isa;

/* Single-core FMA peak in GFLOP/s of the isa's loop (12 independent FMA
 * chains): the median over `samples` runs, each about sample_s long; *best
 * gets the fastest. Returns 0, or -1 if this CPU lacks the ISA. */
int bench_fma_peak(bench_isa isa, double sample_s, int samples, double *median, double *best);

#endif
