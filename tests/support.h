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

#endif
