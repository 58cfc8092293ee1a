/*
 * test_verify.c - cg_verify holds a kernel to its buffers' exact sizes:
 * they end at guard pages (cg_guard), so a kernel that reads or writes one
 * float past the end of its input, weights, bias or output dies at once,
 * even compiled by TinyCC, whose code no sanitizer instruments. The
 * kernels here are written by hand: right, or off by one element.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_guard.h"
#include "cg_jit.h"
#include "cg_verify.h"
#include "support.h"

/* A 1x1 convolution of 3 channels into 2 filters over a 2x2 plane, as a
 * kernel whose loops take their bounds from the macros below. */
static const cg_conv layer = {
    .name = "k", .batch = 1, .channels = 3, .height = 2, .width = 2, .filters = 2,
    .kernel_h = 1, .kernel_w = 1, .stride_h = 1, .stride_w = 1, .dilation_h = 1,
    .dilation_w = 1, .groups = 1, .bias = 1, .activation = CG_ACT_NONE,
    .out_h = 2, .out_w = 2,
};

static const char kernel_fmt[] =
    "void k(const float *in, const float *w, const float *b, float *out)\n"
    "{\n"
    "    float sink = 0.0f;\n"
    "    for (int f = 0; f < 2; ++f)\n"
    "        for (int p = 0; p < 4; ++p) {\n"
    "            float acc = b[f];\n"
    "            for (int c = 0; c < 3; ++c)\n"
    "                acc += w[f * 3 + c] * in[c * 4 + p];\n"
    "            out[f * 4 + p] = acc;\n"
    "        }\n"
    "    %s\n"        /* the stray access, if any */
    "    (void)sink;\n"
    "}\n";

/* The same layer with its weights in the kernel (a baked layer's entry). */
static const float baked_w[6] = { 0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.75f }, baked_b[2] = { 0.125f, -0.5f };

static const char baked_fmt[] =
    "static const float W[6] = { 0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.75f }, B[2] = { 0.125f, -0.5f };\n"
    "void k(const float *in, float *out)\n"
    "{\n"
    "    float sink = 0.0f;\n"
    "    for (int f = 0; f < 2; ++f)\n"
    "        for (int p = 0; p < 4; ++p) {\n"
    "            float acc = B[f];\n"
    "            for (int c = 0; c < 3; ++c)\n"
    "                acc += W[f * 3 + c] * in[c * 4 + p];\n"
    "            out[f * 4 + p] = acc;\n"
    "        }\n"
    "    %s\n"
    "    (void)sink;\n"
    "}\n";

/* In a child: a fault kills it, rather than reaching cmocka's handler
 * (which would go on running tests in the child). */
static void die_on_fault(void)
{
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
}

/* Build the kernel with extra as its last statement and verify it in a
 * child process; returns the child's wait status. */
static int verify_child(const char *fmt, const float *baked, const char *extra, cg_compare *out);

static int verify_in_child(const char *extra, cg_compare *out)
{
    return verify_child(kernel_fmt, NULL, extra, out);
}

/* The same for a baked kernel, checked against the weights w (and baked_b). */
static int verify_baked_in_child(const float *w, const char *extra, cg_compare *out)
{
    return verify_child(baked_fmt, w, extra, out);
}

static int verify_child(const char *fmt, const float *baked, const char *extra, cg_compare *out)
{
    char source[1024], err[TS_ERRLEN];
    snprintf(source, sizeof source, fmt, extra);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        die_on_fault();
        cg_jit *jit = cg_jit_compile(source, "k", err, sizeof err);
        void *sym = jit ? cg_jit_symbol(jit, "k") : NULL;
        if (!sym)
            _exit(3);
        cg_compare r;
        if (baked) {
            cg_baked_fn fn;
            memcpy(&fn, &sym, sizeof fn);
            if (cg_verify_baked(&layer, fn, baked, baked_b, 5, &r) != 0)
                _exit(4);
        } else {
            cg_conv_fn fn;
            memcpy(&fn, &sym, sizeof fn);
            if (cg_verify(&layer, fn, 5, &r) != 0)
                _exit(4);
        }
        if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(5);
        _exit(0);
    }
    close(fds[1]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        assert_int_equal(read(fds[0], out, sizeof *out), (ssize_t)sizeof *out);
    close(fds[0]);
    return status;
}

static void test_a_kernel_within_its_buffers_passes(void **state)
{
    (void)state;
    cg_compare r;
    int status = verify_in_child("sink = in[11] + w[5] + b[1]; out[7] = out[7];", &r);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the right kernel failed (status %d)", status);
    assert_int_equal(r.failures, 0);
}

/* A fault: SIGSEGV, or under AddressSanitizer (whose handler reports the
 * SEGV and exits 1) exit status 1. */
static int faulted(int status)
{
    return (WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS)) ||
           (WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

static void expect_fault(const char *extra)
{
    int status = verify_in_child(extra, NULL);
    if (!faulted(status))
        fail_msg("'%s' was not caught (status %d)", extra, status);
}

static void test_reading_one_past_the_input_faults(void **s) { (void)s; expect_fault("sink = in[12];"); }
static void test_reading_one_past_the_weights_faults(void **s) { (void)s; expect_fault("sink = w[6];"); }
static void test_reading_one_past_the_bias_faults(void **s) { (void)s; expect_fault("sink = b[2];"); }
static void test_writing_one_past_the_output_faults(void **s) { (void)s; expect_fault("out[8] = 0.0f;"); }

/* cg_verify_baked: the reference runs on the weights given, and the
 * kernel's input and output end at guard pages as cg_verify's do. */
static void test_a_baked_kernel_is_checked_against_its_weights(void **state)
{
    (void)state;
    cg_compare r;
    int status = verify_baked_in_child(baked_w, "sink = in[11]; out[7] = out[7];", &r);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the right baked kernel failed (status %d)", status);
    assert_int_equal(r.failures, 0);
    float other[6];
    memcpy(other, baked_w, sizeof other);
    other[4] = 0.5f;   /* weights other than the kernel's: its filter 1 is wrong */
    status = verify_baked_in_child(other, "", &r);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(r.failures, 4);
    status = verify_baked_in_child(baked_w, "sink = in[12];", NULL);
    if (!faulted(status))
        fail_msg("reading past a baked kernel's input was not caught (status %d)", status);
    status = verify_baked_in_child(baked_w, "out[8] = 0.0f;", NULL);
    if (!faulted(status))
        fail_msg("writing past a baked kernel's output was not caught (status %d)", status);
}

/* The guard itself: the last float is usable, the next one is not. */
static void test_guarded_buffers_end_at_an_inaccessible_page(void **state)
{
    (void)state;
    for (size_t n = 0; n < 3000; n += 997) {
        float *p = cg_guard_alloc(n);
        assert_non_null(p);
        for (size_t i = 0; i < n; ++i)
            p[i] = (float)i;
        assert_true(n == 0 || p[n - 1] == (float)(n - 1));
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            die_on_fault();
            volatile float *v = p;
            v[n] = 1.0f;
            _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(faulted(status));
        cg_guard_free(p, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guarded_buffers_end_at_an_inaccessible_page),
        cmocka_unit_test(test_a_kernel_within_its_buffers_passes),
        cmocka_unit_test(test_reading_one_past_the_input_faults),
        cmocka_unit_test(test_reading_one_past_the_weights_faults),
        cmocka_unit_test(test_reading_one_past_the_bias_faults),
        cmocka_unit_test(test_writing_one_past_the_output_faults),
        cmocka_unit_test(test_a_baked_kernel_is_checked_against_its_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
