/*
 * test_kernels.c - generated kernels against the reference convolution.
 *
 * A seeded random sweep of layer shapes (stride, asymmetric padding,
 * dilation, groups and depthwise, bias on and off, every activation,
 * batch > 1, 1x1 inputs, kernels equal to the input, strides larger than
 * the kernel, small code budgets that force rolled-up loops) is generated,
 * compiled in-process with TinyCC and compared with the reference; a subset
 * is built with the system compiler (cc -O2) and compared the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_cc.h"
#include "cg_gen.h"
#include "cg_jit.h"
#include "cg_tensor.h"
#include "cg_verify.h"
#include "support.h"

enum { SWEEP_SHAPES = 600, CC_EVERY = 30 };

static const char *const activations[] = {
    "none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh"
};

/* A random valid layer, written as spec text into buf. Shape i of the sweep
 * forces some classes so every run covers them. */
static void random_spec(cg_rng *r, int i, char *buf, size_t len)
{
    int groups, cpg, fpg;
    switch (cg_rng_int(r, 0, 4)) {
    case 0: groups = 1; break;
    case 1: groups = 1; break;
    case 2: groups = cg_rng_int(r, 2, 3); break;
    default: groups = -1; break;   /* depthwise */
    }
    if (groups == -1) {
        groups = cg_rng_int(r, 1, 8);
        cpg = 1;
        fpg = cg_rng_int(r, 1, 2);
    } else {
        cpg = cg_rng_int(r, 1, 5);
        fpg = cg_rng_int(r, 1, 4);
    }
    int h = cg_rng_int(r, 1, 12), w = cg_rng_int(r, 1, 12);
    int sh = cg_rng_int(r, 1, 3), sw = cg_rng_int(r, 1, 3);
    int dh = cg_rng_int(r, 1, 3), dw = cg_rng_int(r, 1, 3);
    int pt = cg_rng_int(r, 0, 3), pb = cg_rng_int(r, 0, 3);
    int pl = cg_rng_int(r, 0, 3), pr = cg_rng_int(r, 0, 3);
    int mode = cg_rng_int(r, 0, 9);   /* 0-3 explicit, 4-5 same, 6-7 valid, 8-9 symmetric */
    char padding[96];

    if (i % 20 == 3) {                /* wide enough for interior tile loops */
        h = cg_rng_int(r, 12, 40);
        w = cg_rng_int(r, 16, 48);
    }
    if (i % 10 == 0) {                /* a 1x1 input */
        h = w = 1;
    } else if (i % 10 == 1) {         /* kernel equal to the input */
        mode = 6;
        dh = dw = 1;
    } else if (i % 10 == 2) {         /* stride larger than the kernel */
        sh = cg_rng_int(r, 3, 5);
        sw = cg_rng_int(r, 3, 5);
    }
    if (mode >= 4 && mode <= 7)
        pt = pb = pl = pr = 0;
    if (mode >= 8)
        pb = pl = pr = pt;
    /* Kernel extents that fit the padded input (same padding pads up to
     * whatever it needs, so any kernel fits). */
    int room_h = mode == 4 || mode == 5 ? 7 : h + pt + pb;
    int room_w = mode == 4 || mode == 5 ? 7 : w + pl + pr;
    if ((room_h - 1) / dh < 1) dh = 1;
    if ((room_w - 1) / dw < 1) dw = 1;
    int kh = cg_rng_int(r, 1, (room_h - 1) / dh + 1 < 5 ? (room_h - 1) / dh + 1 : 5);
    int kw = cg_rng_int(r, 1, (room_w - 1) / dw + 1 < 5 ? (room_w - 1) / dw + 1 : 5);
    if (i % 10 == 1) {
        kh = h;
        kw = w;
    }
    if (i % 10 == 2) {
        kh = cg_rng_int(r, 1, sh - 1);
        kw = cg_rng_int(r, 1, sw - 1);
        dh = dw = 1;
        if (kh > room_h) kh = room_h;
        if (kw > room_w) kw = room_w;
    }

    if (mode <= 3)
        snprintf(padding, sizeof padding, "{ top = %d, bottom = %d, left = %d, right = %d }", pt, pb, pl, pr);
    else if (mode <= 5)
        snprintf(padding, sizeof padding, "\"same\"");
    else if (mode <= 7)
        snprintf(padding, sizeof padding, "\"valid\"");
    else
        snprintf(padding, sizeof padding, "%d", pt);

    const char *act = activations[i % 6];
    int batch = cg_rng_int(r, 0, 4) == 0 ? cg_rng_int(r, 2, 3) : 1;
    int bias = cg_rng_int(r, 0, 2) != 0;
    char extra[64] = "";
    if (strcmp(act, "leaky_relu") == 0)
        snprintf(extra, sizeof extra, "alpha = %g,", cg_rng_int(r, 1, 30) / 100.0);
    char budget[48] = "";
    if (cg_rng_int(r, 0, 3) == 0)
        snprintf(budget, sizeof budget, "code_budget = %d,", cg_rng_int(r, 20, 300));

    snprintf(buf, len,
             "conv2d { name = \"sweep%d\", batch = %d,\n"
             "  input = { channels = %d, height = %d, width = %d },\n"
             "  filters = %d, groups = %d, kernel = { height = %d, width = %d },\n"
             "  stride = { height = %d, width = %d }, dilation = { height = %d, width = %d },\n"
             "  padding = %s, bias = %s, activation = \"%s\", %s %s }\n",
             i, batch, groups * cpg, h, w, groups * fpg, groups, kh, kw,
             sh, sw, dh, dw, padding, bias ? "true" : "false", act, extra, budget);
}

/* Generate layer 0 of spec and check it with TinyCC (or cc if use_cc).
 * Fails the test, printing the spec, on any disagreement. */
static void check_spec(const char *spec, int use_cc, uint64_t seed)
{
    char err[TS_ERRLEN];
    cg_gen *g = ts_gen_from_text("sweep.lua", spec);
    cg_conv p;
    cg_sources src;
    assert_int_equal(cg_gen_params(g, 0, &p, err, sizeof err), CG_OK);
    int rc = cg_gen_emit(g, 0, NULL, &src, err, sizeof err);
    cg_gen_free(g);
    if (rc != CG_OK)
        fail_msg("generation failed: %s\n%s", err, spec);

    cg_jit *jit = NULL;
    cg_so *so = NULL;
    void *sym = NULL;
    if (use_cc) {
        so = cg_cc_build(src.c, NULL, "-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror", err, sizeof err);
        sym = so ? cg_so_symbol(so, p.name) : NULL;
    } else {
        jit = cg_jit_compile(src.c, p.name, err, sizeof err);
        sym = jit ? cg_jit_symbol(jit, p.name) : NULL;
    }
    cg_sources_free(&src);
    if (!sym)
        fail_msg("the kernel did not build: %s\n%s", err, spec);

    cg_conv_fn fn;
    memcpy(&fn, &sym, sizeof fn);
    cg_compare r;
    assert_int_equal(cg_verify(&p, fn, seed, &r), 0);
    cg_jit_free(jit);
    cg_so_free(so);
    if (r.failures != 0)
        fail_msg("%zu outputs disagree with the reference (max abs error %g, worst %g x tolerance at %zu)\n%s",
                 r.failures, r.max_abs, r.worst_ratio, r.worst, spec);
}

/* Blank out the code_budget field of spec text, if any. */
static void drop_budget(char *spec)
{
    char *b = strstr(spec, "code_budget");
    if (b)
        memset(b, ' ', strcspn(b, ",") + 1);
}

/* Like check_spec, but a spec whose code_budget is too small for its
 * borders is retried with the default budget instead of failing. */
static void check_sweep_spec(char *spec, int use_cc, uint64_t seed)
{
    char err[TS_ERRLEN];
    cg_gen *g = ts_gen_from_text("sweep.lua", spec);
    cg_sources src;
    int rc = cg_gen_emit(g, 0, NULL, &src, err, sizeof err);
    cg_gen_free(g);
    if (rc == CG_OK) {
        cg_sources_free(&src);
    } else if (strstr(err, "code budget")) {
        drop_budget(spec);
    }
    check_spec(spec, use_cc, seed);
}

static void test_sweep_tinycc_kernels_agree_with_the_reference(void **state)
{
    (void)state;
    cg_rng r;
    cg_rng_seed(&r, 20261124);
    char spec[1024];
    for (int i = 0; i < SWEEP_SHAPES; ++i) {
        random_spec(&r, i, spec, sizeof spec);
        check_sweep_spec(spec, 0, (uint64_t)i);
    }
}

static void test_sweep_cc_O2_kernels_agree_with_the_reference(void **state)
{
    (void)state;
    cg_rng r;
    cg_rng_seed(&r, 20261124);
    char spec[1024];
    for (int i = 0; i < SWEEP_SHAPES; ++i) {
        random_spec(&r, i, spec, sizeof spec);
        if (i % CC_EVERY == 0 || i % CC_EVERY == 11)
            check_sweep_spec(spec, 1, (uint64_t)i);
    }
}

/* The whole sweep for a target the system compiler builds: the kernels are
 * compiled in batches (one shared object per batch) to keep it quick. */
static void sweep_with_cc(const char *target, const char *flags)
{
    enum { BATCH = 60 };
    cg_rng r;
    cg_rng_seed(&r, 20261124);
    char spec[1024], err[TS_ERRLEN];
    cg_gen_options opts = { target, 0 };
    for (int first = 0; first < SWEEP_SHAPES; first += BATCH) {
        char *specs[BATCH];
        cg_conv params[BATCH];
        size_t len = 0, cap = 1 << 20;
        char *source = malloc(cap);
        assert_non_null(source);
        source[0] = '\0';
        int n = first + BATCH <= SWEEP_SHAPES ? BATCH : SWEEP_SHAPES - first;
        for (int k = 0; k < n; ++k) {
            random_spec(&r, first + k, spec, sizeof spec);
            drop_budget(spec);
            specs[k] = strdup(spec);
            cg_gen *g = ts_gen_from_text("sweep.lua", spec);
            cg_sources src;
            assert_int_equal(cg_gen_params(g, 0, &params[k], err, sizeof err), CG_OK);
            if (cg_gen_emit(g, 0, &opts, &src, err, sizeof err) != CG_OK)
                fail_msg("generation failed: %s\n%s", err, spec);
            cg_gen_free(g);
            while (len + src.c_len + 1 > cap)
                assert_non_null(source = realloc(source, cap *= 2));
            memcpy(source + len, src.c, src.c_len + 1);
            len += src.c_len;
            cg_sources_free(&src);
        }
        cg_so *so = cg_cc_build(source, NULL, flags, err, sizeof err);
        free(source);
        if (!so)
            fail_msg("a batch of %s kernels did not build: %s", target, err);
        for (int k = 0; k < n; ++k) {
            void *sym = cg_so_symbol(so, params[k].name);
            assert_non_null(sym);
            cg_conv_fn fn;
            memcpy(&fn, &sym, sizeof fn);
            cg_compare cmp;
            assert_int_equal(cg_verify(&params[k], fn, (uint64_t)(first + k), &cmp), 0);
            if (cmp.failures != 0)
                fail_msg("%s: %zu outputs disagree with the reference (max abs error %g, worst %g x tolerance at %zu)\n%s",
                         target, cmp.failures, cmp.max_abs, cmp.worst_ratio, cmp.worst, specs[k]);
            free(specs[k]);
        }
        cg_so_free(so);
    }
}

static void test_sweep_avx2_kernels_agree_with_the_reference(void **state)
{
    (void)state;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        print_message("this CPU has no AVX2+FMA: the avx2 sweep cannot run here\n");
        skip();
    }
    sweep_with_cc("avx2", "-std=c99 -O0 -mavx2 -mfma -Wall -Wextra -Wpedantic -Werror");
}

static void test_sweep_avx512_kernels_agree_with_the_reference(void **state)
{
    (void)state;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f")) {
        print_message("this CPU has no AVX-512F: the avx512 sweep cannot run here\n");
        skip();
    }
    sweep_with_cc("avx512", "-std=c99 -O0 -mavx512f -mfma -Wall -Wextra -Wpedantic -Werror");
}

/* A tile forced by the spec (as convgen tune records it) is used, clamped
 * to the layer, and the kernel still agrees. */
static void test_forced_tiles_agree_with_the_reference(void **state)
{
    (void)state;
    const char *tiles[] = { "1, rows = 1, vectors = 1", "3, rows = 2, vectors = 2",
                            "7, rows = 5, vectors = 1", "16, rows = 1, vectors = 3" };
    char spec[512], err[TS_ERRLEN], info_tile[64];
    for (int i = 0; i < 4; ++i) {
        snprintf(spec, sizeof spec,
                 "conv2d { name = \"forced\", input = { channels = 3, height = 11, width = 21 },\n"
                 "  filters = 5, kernel = 3, padding = 1, stride = { height = 1, width = 2 },\n"
                 "  tile = { filters = %s } }\n", tiles[i]);
        check_spec(spec, 0, 11);
        cg_gen *g = ts_gen_from_text("forced.lua", spec);
        char *info;
        assert_int_equal(cg_gen_info(g, 0, NULL, &info, err, sizeof err), CG_OK);
        cg_gen_free(g);
        /* 5 filters and 11 output rows bound the tile. */
        const int want_f[] = { 1, 3, 5, 5 }, want_r[] = { 1, 2, 5, 1 };
        snprintf(info_tile, sizeof info_tile, "tile: %d filters x %d rows", want_f[i], want_r[i]);
        if (!strstr(info, info_tile))
            fail_msg("expected '%s' in:\n%s", info_tile, info);
        free(info);
    }
}

/* The sweep is only as good as its coverage: count the classes it hits. */
static void test_sweep_covers_every_class(void **state)
{
    (void)state;
    cg_rng r;
    cg_rng_seed(&r, 20261124);
    char spec[1024], err[TS_ERRLEN];
    int asym = 0, same = 0, dil = 0, grouped = 0, depthwise = 0, nobias = 0;
    int batch = 0, one = 0, whole = 0, bigstride = 0, budget = 0, strided = 0;
    for (int i = 0; i < SWEEP_SHAPES; ++i) {
        random_spec(&r, i, spec, sizeof spec);
        cg_gen *g = ts_gen_from_text("sweep.lua", spec);
        cg_conv p;
        assert_int_equal(cg_gen_params(g, 0, &p, err, sizeof err), CG_OK);
        cg_gen_free(g);
        asym += p.pad_top != p.pad_bottom || p.pad_left != p.pad_right;
        same += strstr(spec, "\"same\"") != NULL;
        dil += p.dilation_h > 1 || p.dilation_w > 1;
        strided += p.stride_h > 1 || p.stride_w > 1;
        grouped += p.groups > 1 && p.groups != p.channels;
        depthwise += p.groups > 1 && p.groups == p.channels;
        nobias += !p.bias;
        batch += p.batch > 1;
        one += p.height == 1 && p.width == 1;
        whole += p.kernel_h == p.height && p.kernel_w == p.width && p.out_h == 1 && p.out_w == 1;
        bigstride += p.stride_h > p.kernel_h && p.stride_w > p.kernel_w;
        budget += strstr(spec, "code_budget") != NULL;
    }
    assert_true(asym >= 50);
    assert_true(same >= 50);
    assert_true(dil >= 50);
    assert_true(strided >= 50);
    assert_true(grouped >= 30);
    assert_true(depthwise >= 30);
    assert_true(nobias >= 50);
    assert_true(batch >= 30);
    assert_true(one >= 50);
    assert_true(whole >= 50);
    assert_true(bigstride >= 50);
    assert_true(budget >= 50);
}

static const char big_layer[] =
    "conv2d { name = \"big\", input = { channels = 64, height = 9, width = 9 },\n"
    "  filters = 4, kernel = 3, padding = \"same\", code_budget = %d }\n";

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; ++s)
        n += *s == '\n';
    return n;
}

/* The budget bounds the code: a small one rolls the reduction into loops
 * (and the kernel still agrees), a large one unrolls more of it. */
static void test_code_budget_bounds_the_generated_code(void **state)
{
    (void)state;
    const int budgets[] = { 250, 2000, 8192 };
    int lines[3];
    char spec[512], err[TS_ERRLEN];
    for (int k = 0; k < 3; ++k) {
        snprintf(spec, sizeof spec, big_layer, budgets[k]);
        cg_gen *g = ts_gen_from_text("big.lua", spec);
        cg_sources src;
        assert_int_equal(cg_gen_emit(g, 0, NULL, &src, err, sizeof err), CG_OK);
        cg_gen_free(g);
        lines[k] = count_lines(src.c);
        cg_sources_free(&src);
        check_spec(spec, 0, 7);
    }
    /* The generic target spells a load and its multiply-adds on one line,
     * so its lines stay below the budget's statements. */
    assert_true(lines[0] < 250 + 100);
    assert_true(lines[0] < lines[1]);
    assert_true(lines[1] < lines[2]);
    assert_true(lines[1] < 2000 + 100);
    assert_true(lines[2] < 8192 + 100);
}

static void test_code_budget_too_small_for_the_borders_is_an_input_error(void **state)
{
    (void)state;
    char spec[512], err[TS_ERRLEN];
    snprintf(spec, sizeof spec, big_layer, 10);
    cg_gen *g = ts_gen_from_text("big.lua", spec);
    cg_sources src;
    assert_int_equal(cg_gen_emit(g, 0, NULL, &src, err, sizeof err), CG_ERR_INPUT);
    cg_gen_free(g);
    assert_non_null(strstr(err, "big.lua"));
    assert_non_null(strstr(err, "code_budget"));
}

/* Output written by the same spec is byte-identical from run to run. */
static void test_generation_is_byte_identical_across_runs(void **state)
{
    (void)state;
    char spec[1024], err[TS_ERRLEN];
    cg_rng r;
    cg_rng_seed(&r, 99);
    for (int i = 0; i < 20; ++i) {
        random_spec(&r, i, spec, sizeof spec);
        drop_budget(spec);
        cg_sources a, b;
        cg_gen *g1 = ts_gen_from_text("same.lua", spec);
        cg_gen *g2 = ts_gen_from_text("same.lua", spec);
        assert_int_equal(cg_gen_emit(g1, 0, NULL, &a, err, sizeof err), CG_OK);
        assert_int_equal(cg_gen_emit(g2, 0, NULL, &b, err, sizeof err), CG_OK);
        assert_int_equal(a.c_len, b.c_len);
        assert_memory_equal(a.c, b.c, a.c_len);
        assert_int_equal(a.h_len, b.h_len);
        assert_memory_equal(a.h, b.h, a.h_len);
        cg_sources_free(&a);
        cg_sources_free(&b);
        cg_gen_free(g1);
        cg_gen_free(g2);
    }
}

/* A kernel that only sees padding at some outputs writes the bias there. */
static void test_outputs_that_see_only_padding_get_the_bias(void **state)
{
    (void)state;
    check_spec("conv2d { name = \"padonly\", input = { channels = 2, height = 2, width = 2 },\n"
               "  filters = 3, kernel = 1, padding = 3, activation = \"relu\" }\n", 0, 3);
    check_spec("conv2d { name = \"padonly2\", input = { channels = 2, height = 2, width = 2 },\n"
               "  filters = 3, kernel = 1, padding = 3, bias = false }\n", 1, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_covers_every_class),
        cmocka_unit_test(test_sweep_tinycc_kernels_agree_with_the_reference),
        cmocka_unit_test(test_sweep_cc_O2_kernels_agree_with_the_reference),
        cmocka_unit_test(test_sweep_avx2_kernels_agree_with_the_reference),
        cmocka_unit_test(test_sweep_avx512_kernels_agree_with_the_reference),
        cmocka_unit_test(test_forced_tiles_agree_with_the_reference),
        cmocka_unit_test(test_code_budget_bounds_the_generated_code),
        cmocka_unit_test(test_code_budget_too_small_for_the_borders_is_an_input_error),
        cmocka_unit_test(test_generation_is_byte_identical_across_runs),
        cmocka_unit_test(test_outputs_that_see_only_padding_get_the_bias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
