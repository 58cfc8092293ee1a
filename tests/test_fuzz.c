/*
 * test_fuzz.c - the fuzz targets' inputs as regression tests: every seed
 * in tests/fuzz/corpus/<target>/ and every crash ever found, kept in
 * tests/fuzz/regressions/<target>/, run through the target's entry (the
 * same code `make fuzz` runs under libFuzzer, see tests/fuzz/). Each input
 * runs in a child process, so a crash names its file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz/fuzz_support.h"
#include "support.h"

typedef int (*entry_fn)(const uint8_t *data, size_t size);

int fuzz_spec_one(const uint8_t *data, size_t size);
int fuzz_generate_one(const uint8_t *data, size_t size);

static size_t read_all(const char *path, uint8_t **data)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf)
        fail_msg("out of memory reading %s", path);
    *data = buf;
    return n;
}

/* Run every file matching pattern through entry; returns how many ran. */
static int replay(const char *pattern, entry_fn entry)
{
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; ++i) {
        uint8_t *data;
        size_t n = read_all(g.gl_pathv[i], &data);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            /* A fault kills the child, not cmocka's handler in it. */
            signal(SIGSEGV, SIG_DFL);
            signal(SIGBUS, SIG_DFL);
            entry(data, n);
            _exit(0);
        }
        free(data);
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
            fail_msg("cannot run %s", g.gl_pathv[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("%s: the fuzz target %s %d", g.gl_pathv[i],
                     WIFSIGNALED(status) ? "died of signal" : "exited",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    int n = (int)g.gl_pathc;
    globfree(&g);
    return n;
}

static void test_spec_seeds_and_regressions_pass_the_loader(void **state)
{
    (void)state;
    int seeds = replay(SOURCE_DIR "/tests/fuzz/corpus/fuzz_spec/*", fuzz_spec_one);
    replay(SOURCE_DIR "/tests/fuzz/regressions/fuzz_spec/*", fuzz_spec_one);
    /* The seeds: the example specs and the bad-input classes at least. */
    if (seeds < 20)
        fail_msg("only %d seeds in tests/fuzz/corpus/fuzz_spec", seeds);
}

static void test_generate_seeds_and_regressions_agree_with_the_reference(void **state)
{
    (void)state;
    int seeds = replay(SOURCE_DIR "/tests/fuzz/corpus/fuzz_generate/*", fuzz_generate_one);
    replay(SOURCE_DIR "/tests/fuzz/regressions/fuzz_generate/*", fuzz_generate_one);
    if (seeds < 10)
        fail_msg("only %d seeds in tests/fuzz/corpus/fuzz_generate", seeds);
}

/* The targets' own contract checks fire: a breach is a crash. */
static void test_a_broken_contract_is_a_crash(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Silence the report the child is expected to print. */
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        fuzz_fail("input", "on purpose");
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_seeds_and_regressions_pass_the_loader),
        cmocka_unit_test(test_generate_seeds_and_regressions_agree_with_the_reference),
        cmocka_unit_test(test_a_broken_contract_is_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
