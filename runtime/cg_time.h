/*
 * cg_time.h - timing a kernel on this machine: the median of repeated
 * samples after a warm-up, as convgen tune uses it. (Performance claims
 * come from make bench, which times the same way against other libraries.)
 */
#ifndef CG_TIME_H
#define CG_TIME_H

/* Seconds since an arbitrary start, from a monotonic clock. */
double cg_time_now(void);

/*
 * The median over `samples` samples of the seconds one call of fn(arg)
 * takes, each sample repeating the call until it lasts min_seconds.
 */
double cg_time_median(void (*fn)(void *), void *arg, int samples, double min_seconds);

/* The median of v[0..n) (n >= 1; v is sorted in place). */
double cg_median(double *v, int n);

#endif
