/*
 * bench_env.h - the process environment the measurements need: one thread
 * for OpenMP (oneDNN) and OpenBLAS, no OpenBLAS core-type or cache-size
 * override, and the process pinned to one CPU.
 */
#ifndef BENCH_ENV_H
#define BENCH_ENV_H

#include <stddef.h>

/*
 * If OMP_NUM_THREADS or OPENBLAS_NUM_THREADS is not "1", or
 * OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE is set, fix the environment and
 * re-execute this program (the libraries read it when they load, before
 * main). Returns only when the environment is right (or re-exec failed:
 * then a warning is written to msg).
 */
void bench_env_single_thread(char **argv, char *msg, size_t len);

/* Pin the process to the first CPU it may run on. Returns that CPU, or -1
 * (with the reason in msg) if it cannot. */
int bench_env_pin(char *msg, size_t len);

/* The thread-related variables as they are, e.g. for the report. */
void bench_env_describe(char *buf, size_t len);

/* The CPU's model name from /proc/cpuinfo, or "unknown". */
void bench_env_cpu_model(char *buf, size_t len);

#endif
