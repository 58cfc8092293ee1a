/*
 * test_files.c - writing outputs all or nothing (cg_files) and the file
 * faults a user meets: an unwritable output directory, a full disk (a
 * file-size limit, and a tiny tmpfs where this machine can mount one), a
 * run killed in the middle of a write, a destination that cannot be
 * replaced, a missing or unreadable spec. Each is a clear error (exit 2,
 * naming the file and the reason) and leaves no kernel behind: no file
 * under its own name, not even the layers that did generate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_files.h"
#include "support.h"

#define OUTLEN 65536

static char out[OUTLEN], errout[OUTLEN];

/* Two layers: "small" (a few KiB of C) before "large" (far more). */
static const char two_layers[] =
    "conv2d { name = \"small\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 1 }\n"
    "conv2d { name = \"large\", input = { channels = 32, height = 48, width = 48 }, filters = 32,\n"
    "         kernel = 3, padding = 1 }\n";

struct fixture {
    char dir[64];        /* scratch, removed by teardown */
    char spec[96];       /* dir/two.lua */
    char outdir[96];     /* dir/out, empty */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    ts_mkdtemp(f->dir);
    chmod(f->dir, 0755);   /* reachable when a test runs convgen as nobody */
    snprintf(f->spec, sizeof f->spec, "%s/two.lua", f->dir);
    snprintf(f->outdir, sizeof f->outdir, "%s/out", f->dir);
    ts_write_file(f->spec, two_layers);
    chmod(f->spec, 0644);
    if (mkdir(f->outdir, 0755) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    chmod(f->outdir, 0755);
    ts_rmtree(f->dir);
    free(f);
    return 0;
}

static int generate(const char *spec, const char *outdir, const ts_limits *lim)
{
    const char *argv[] = { CONVGEN_BIN, "generate", spec, "-o", outdir, NULL };
    static const ts_limits none;
    return ts_run_limited(argv, NULL, lim ? lim : &none, out, sizeof out, errout, sizeof errout);
}

/* The names in dir that are not temporary files (".tmp-" in the name). */
static int count_final_names(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && !strstr(e->d_name, ".tmp-"))
            ++n;
    closedir(d);
    return n;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void read_small(const char *path, char *buf, size_t len)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, len - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/* --- cg_outset: all or nothing ------------------------------------------ */

static void test_outset_freed_uncommitted_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    char err[256], path[160];
    cg_outset *set = cg_outset_new();
    snprintf(path, sizeof path, "%s/a.c", f->outdir);
    assert_int_equal(cg_outset_add(set, path, "int a;\n", 7, err, sizeof err), 0);
    assert_int_equal(ts_count_entries(f->outdir), 1);   /* the temporary */
    assert_int_equal(count_final_names(f->outdir), 0);
    cg_outset_free(set);
    assert_int_equal(ts_count_entries(f->outdir), 0);
}

/* The second of three renames fails (its destination is a directory): the
 * first destination keeps its old content, the third never appears, and
 * no temporary or backup file is left. */
static void test_outset_commit_is_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    char err[256], a[160], b[160], c[160], text[64];
    snprintf(a, sizeof a, "%s/a.c", f->outdir);
    snprintf(b, sizeof b, "%s/b.c", f->outdir);
    snprintf(c, sizeof c, "%s/c.c", f->outdir);
    ts_write_file(a, "old a\n");
    assert_int_equal(mkdir(b, 0755), 0);

    cg_outset *set = cg_outset_new();
    assert_int_equal(cg_outset_add(set, a, "new a\n", 6, err, sizeof err), 0);
    assert_int_equal(cg_outset_add(set, b, "new b\n", 6, err, sizeof err), 0);
    assert_int_equal(cg_outset_add(set, c, "new c\n", 6, err, sizeof err), 0);
    assert_int_equal(cg_outset_commit(set, err, sizeof err), -1);
    cg_outset_free(set);

    assert_non_null(strstr(err, b));
    read_small(a, text, sizeof text);
    assert_string_equal(text, "old a\n");
    assert_int_equal(access(c, F_OK), -1);
    assert_int_equal(ts_count_entries(f->outdir), 2);   /* a.c and the directory b.c */
    assert_int_equal(rmdir(b), 0);
}

static void test_outset_commit_replaces_files_and_leaves_no_backup(void **state)
{
    struct fixture *f = *state;
    char err[256], a[160], text[64];
    snprintf(a, sizeof a, "%s/a.c", f->outdir);
    ts_write_file(a, "old a\n");
    cg_outset *set = cg_outset_new();
    assert_int_equal(cg_outset_add(set, a, "new a\n", 6, err, sizeof err), 0);
    assert_int_equal(cg_outset_commit(set, err, sizeof err), 0);
    cg_outset_free(set);
    read_small(a, text, sizeof text);
    assert_string_equal(text, "new a\n");
    assert_int_equal(ts_count_entries(f->outdir), 1);
}

/* --- the command line's faults ------------------------------------------ */

/* A destination that cannot be replaced, after others that were: the run
 * fails naming it and puts everything back. */
static void test_a_destination_that_cannot_be_replaced_undoes_the_run(void **state)
{
    struct fixture *f = *state;
    char path[160], text[64];
    snprintf(path, sizeof path, "%s/small.c", f->outdir);
    ts_write_file(path, "old small\n");
    snprintf(path, sizeof path, "%s/large.h", f->outdir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(generate(f->spec, f->outdir, NULL), 2);
    assert_non_null(strstr(errout, "large.h"));
    snprintf(path, sizeof path, "%s/small.c", f->outdir);
    read_small(path, text, sizeof text);
    assert_string_equal(text, "old small\n");
    assert_int_equal(ts_count_entries(f->outdir), 2);
}

static void test_an_unwritable_output_directory_is_a_clear_error(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(chmod(f->outdir, 0555), 0);
    ts_limits lim = { .as_nobody = 1 };
    assert_int_equal(generate(f->spec, f->outdir, &lim), 2);
    if (!strstr(errout, "cannot write") || !strstr(errout, f->outdir) ||
        !strstr(errout, "Permission denied"))
        fail_msg("unclear message: %s", errout);
    assert_int_equal(ts_count_entries(f->outdir), 0);
}

/* The file-size limit such that both files of "small" and large.h fit and
 * large.c does not (checked on an unlimited run). */
static long long limit_between_the_layers(struct fixture *f)
{
    char path[160];
    assert_int_equal(generate(f->spec, f->outdir, NULL), 0);
    long long small_max = 0, large_c;
    const char *const smalls[] = { "small.c", "small.h", "large.h" };
    for (int i = 0; i < 3; ++i) {
        snprintf(path, sizeof path, "%s/%s", f->outdir, smalls[i]);
        long long n = file_size(path);
        small_max = n > small_max ? n : small_max;
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/large.c", f->outdir);
    large_c = file_size(path);
    unlink(path);
    long long limit = 16384;
    if (!(small_max < limit && limit < large_c))
        fail_msg("the layers no longer straddle %lld bytes (%lld, %lld)", limit, small_max, large_c);
    return limit;
}

/* A full disk as write() reports it (EFBIG under RLIMIT_FSIZE with SIGXFSZ
 * ignored): exit 2 naming the file, and the layer that fitted is not
 * written either. */
static void test_a_full_disk_is_a_clear_error_and_writes_nothing(void **state)
{
    struct fixture *f = *state;
    ts_limits lim = { .file_bytes = limit_between_the_layers(f) };
    assert_int_equal(generate(f->spec, f->outdir, &lim), 2);
    if (!strstr(errout, "cannot write") || !strstr(errout, "large.c") ||
        !strstr(errout, "File too large"))
        fail_msg("unclear message: %s", errout);
    assert_int_equal(ts_count_entries(f->outdir), 0);
}

/* Killed in the middle of writing large.c (SIGXFSZ): whatever is left is
 * a temporary file, never a kernel under its own name. */
static void test_a_run_killed_mid_write_leaves_no_kernel(void **state)
{
    struct fixture *f = *state;
    ts_limits lim = { .file_bytes = limit_between_the_layers(f), .kill_on_file_limit = 1 };
    assert_int_equal(generate(f->spec, f->outdir, &lim), -SIGXFSZ);
    assert_true(ts_count_entries(f->outdir) > 0);   /* it was writing */
    assert_int_equal(count_final_names(f->outdir), 0);
}

/* A real full file system (ENOSPC), where this machine lets us mount a
 * 64 KiB tmpfs; elsewhere the file-size tests stand for it. */
static void test_a_full_tmpfs_is_a_clear_error_and_writes_nothing(void **state)
{
    struct fixture *f = *state;
    if (mount("convgen-test", f->outdir, "tmpfs", 0, "size=64k") != 0) {
        print_message("cannot mount a tmpfs here (%s): skipped\n", strerror(errno));
        skip();
    }
    int rc = generate(f->spec, f->outdir, NULL);
    int entries = ts_count_entries(f->outdir);
    umount(f->outdir);
    assert_int_equal(rc, 2);
    if (!strstr(errout, "cannot write") || !strstr(errout, "No space left on device"))
        fail_msg("unclear message: %s", errout);
    assert_int_equal(entries, 0);
}

static void test_a_missing_spec_is_a_clear_error_and_writes_nothing(void **state)
{
    struct fixture *f = *state;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.lua", f->dir);
    const char *argv[] = { CONVGEN_BIN, "generate", f->spec, missing, "-o", f->outdir, NULL };
    assert_int_equal(ts_run(argv, NULL, out, sizeof out, errout, sizeof errout), 2);
    if (!strstr(errout, missing) || !strstr(errout, "No such file or directory"))
        fail_msg("unclear message: %s", errout);
    assert_int_equal(ts_count_entries(f->outdir), 0);

    argv[3] = f->dir;   /* a directory */
    assert_int_equal(ts_run(argv, NULL, out, sizeof out, errout, sizeof errout), 2);
    assert_non_null(strstr(errout, "is a directory"));
    assert_int_equal(ts_count_entries(f->outdir), 0);
}

static void test_an_unreadable_spec_is_a_clear_error(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(chmod(f->spec, 0), 0);
    ts_limits lim = { .as_nobody = 1 };
    assert_int_equal(generate(f->spec, f->outdir, &lim), 2);
    if (!strstr(errout, f->spec) || !strstr(errout, "Permission denied"))
        fail_msg("unclear message: %s", errout);
    assert_int_equal(ts_count_entries(f->outdir), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_outset_freed_uncommitted_leaves_nothing),
        T(test_outset_commit_is_all_or_nothing),
        T(test_outset_commit_replaces_files_and_leaves_no_backup),
        T(test_a_destination_that_cannot_be_replaced_undoes_the_run),
        T(test_an_unwritable_output_directory_is_a_clear_error),
        T(test_a_full_disk_is_a_clear_error_and_writes_nothing),
        T(test_a_run_killed_mid_write_leaves_no_kernel),
        T(test_a_full_tmpfs_is_a_clear_error_and_writes_nothing),
        T(test_a_missing_spec_is_a_clear_error_and_writes_nothing),
        T(test_an_unreadable_spec_is_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
