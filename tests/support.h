/*
 * support.h - helpers shared by the cmocka tests.
 *
 * Include after the headers cmocka needs (stdarg.h, stddef.h, setjmp.h,
 * stdint.h, cmocka.h).
 */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <stddef.h>

#include "cg_conv.h"
#include "cg_gen.h"
#include "cg_tensor.h"

#define TS_ERRLEN 4096

/* A generator with spec text loaded under the name path. Fails the test if
 * the spec does not load. */
cg_gen *ts_gen_from_text(const char *path, const char *text);

/* Load spec text and return the loader's status; the message in err. */
int ts_load_status(const char *path, const char *text, char *err, size_t errlen);

/* Run argv (argv[0] a path) with stdout and stderr captured into out and
 * errout (NUL-terminated, truncated to their sizes); returns the exit
 * status, or -1 if it did not exit normally. cwd NULL: stay here. */
int ts_run(const char *const argv[], const char *cwd, char *out, size_t outlen,
           char *errout, size_t errlen);

/* A fresh empty directory under /tmp (path in dir, at least 64 bytes). */
void ts_mkdtemp(char *dir);
/* Remove dir and everything below it. */
void ts_rmtree(const char *dir);
/* Number of entries in dir, not counting . and .. */
int ts_count_entries(const char *dir);
/* Write text to path; fails the test on error. */
void ts_write_file(const char *path, const char *text);
/* Read up to len - 1 bytes of path into buf as a string (empty when the
 * file cannot be read). */
void ts_read_text(const char *path, char *buf, size_t len);

/* A random valid layer named "sweep<i>", written as spec text into buf
 * (1024 bytes are enough): the kernel sweeps' shapes (stride, asymmetric
 * padding, dilation, groups and depthwise, bias on and off, every
 * activation, batch > 1, small code budgets, either layout). Shape i forces some classes
 * (a 1x1 input, a kernel equal to the input, a stride larger than the
 * kernel, a wide plane, channel blocks with small tiles) so every run
 * covers them. */
void ts_random_spec(cg_rng *r, int i, char *buf, size_t len);

/* Make spec text (from ts_random_spec) force the filter-vectorized packed
 * kernel where the layer has one: more than one filter per group, or an
 * NHWC depthwise layer with one filter per channel; and, unless nchw_fv
 * (the target can store filter vectors into NCHW planes), an NHWC layer. */
void ts_force_filter_vectors(char *spec, int nchw_fv);

/* Whether this CPU runs the kernels of target ("generic", "avx2",
 * "avx512" or "neon"); tests skip the targets it does not. */
int ts_cpu_runs(const char *target);

/* Seconds on CLOCK_MONOTONIC (wall time, for durations). */
double ts_wall_seconds(void);

/* Blank out the code_budget field of spec text, if any. */
void ts_drop_budget(char *spec);

/* What ts_run_limited imposes on the child. Zero fields impose nothing. */
typedef struct ts_limits {
    long long file_bytes;   /* RLIMIT_FSIZE: the largest file it may write */
    int kill_on_file_limit; /* 1: writing past it kills (SIGXFSZ); 0: write() fails (EFBIG) */
    int cpu_seconds;        /* RLIMIT_CPU: killed after that much CPU time */
    int as_nobody;          /* when run as root: run as uid/gid 65534, so file
                               permissions apply */
    const char *const *env; /* NAME=VALUE settings added, NULL-terminated */
} ts_limits;

/* ts_run under limits; returns the exit status, or minus the signal
 * number if the child was killed. */
int ts_run_limited(const char *const argv[], const char *cwd, const ts_limits *lim,
                   char *out, size_t outlen, char *errout, size_t errlen);

/* Write a float32 .npy (version 1.0, '<f4', C order) of shape dims
 * holding v; fails the test on error. */
void ts_write_npy(const char *path, const long long *dims, int ndims, const float *v);

/* The header dictionary numpy writes for such an array, with descr and
 * fortran_order as given (for malformed files), into buf. */
void ts_npy_header(char *buf, size_t cap, const char *descr, int fortran, const long long *dims,
                   int ndims);

/* Write a .npy of format version major.0 with header and data verbatim. */
void ts_write_npy_raw(const char *path, int major, const char *header, const void *data,
                      size_t nbytes);

/* Random weights in [-1, 1), each zero with probability zero_pct / 100. */
void ts_fill_pruned(float *w, size_t n, cg_rng *r, int zero_pct);

/* spec (one layer) with weights = "<name>_w.npy" (and bias_values =
 * "<name>_b.npy" if it has a bias) added, the files written into dir with
 * ts_fill_pruned values and a random bias. Returns the new spec text
 * (free it); the layer in *p and the values written in *w and *b (free
 * them). Load the text under a path in dir so that the files resolve. */
char *ts_bake(const char *dir, const char *spec, cg_rng *r, int zero_pct, cg_conv *p,
              float **w, float **b);

#endif
