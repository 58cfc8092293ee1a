/*
 * bench_peak.h - the FMA peak loops, each in its own file because it alone
 * is compiled for its ISA: bench_peak.c with -O2 -mavx2 -mfma (ymm, the
 * peak convgen is measured against), bench_peak512.c with -O2 -mavx512f
 * (zmm, to tell on an AVX-512 CPU how far the peers that use it can go).
 * The harness runs each only after checking that the CPU has the ISA.
 */
#ifndef BENCH_PEAK_H
#define BENCH_PEAK_H

/* Floating-point operations done by one iteration of bench_peak_fma. */
#define BENCH_PEAK_FLOPS_PER_ITER (12 * 8 * 2)

/* iters iterations of 12 independent 8-wide FMA chains; returns a value
 * that depends on every chain, so the compiler cannot drop any. */
float bench_peak_fma(long iters);

#define BENCH_PEAK512_FLOPS_PER_ITER (12 * 16 * 2)

/* The same with 12 independent 16-wide zmm chains (AVX-512F). */
float bench_peak_fma512(long iters);

#endif
