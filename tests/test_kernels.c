/*
 * test_kernels.c - generated kernels against the reference convolution.
 *
 * A seeded random sweep of layer shapes (stride, asymmetric padding,
 * dilation, groups and depthwise, bias on and off, every activation,
 * batch > 1, 1x1 inputs, kernels equal to the input, strides larger than
 * the kernel, small code budgets that force rolled-up loops; NCHW and NHWC)
 * is generated, compiled in-process with TinyCC and compared with the
 * reference; a subset is built with the system compiler (cc -O2) and
 * compared the same way.
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
#include "cg_ref.h"
#include "cg_tensor.h"
#include "cg_verify.h"
#include "support.h"

enum { SWEEP_SHAPES = 600, CC_EVERY = 30 };

/* Check a layer's plain entry and its packed entries against the
 * reference; fails the test, naming the entry and printing the spec. */
static void verify_entries(const cg_conv *p, void *plain, void *pack, void *run,
                           size_t packed_size, uint64_t seed, const char *spec)
{
    cg_conv_fn fn;
    cg_pack_fn pack_fn;
    cg_run_fn run_fn;
    memcpy(&fn, &plain, sizeof fn);
    memcpy(&pack_fn, &pack, sizeof pack_fn);
    memcpy(&run_fn, &run, sizeof run_fn);
    cg_compare r;
    assert_int_equal(cg_verify(p, fn, seed, &r), 0);
    if (r.failures != 0)
        fail_msg("%s: %zu outputs disagree with the reference (max abs error %g, worst %g x tolerance at %zu)\n%s",
                 p->name, r.failures, r.max_abs, r.worst_ratio, r.worst, spec);
    assert_int_equal(cg_verify_packed(p, pack_fn, run_fn, packed_size, seed, &r), 0);
    if (r.failures != 0)
        fail_msg("%s_run: %zu outputs disagree with the reference (max abs error %g, worst %g x tolerance at %zu)\n%s",
                 p->name, r.failures, r.max_abs, r.worst_ratio, r.worst, spec);
}

/* Generate layer 0 of spec for target (NULL: the default) and build it
 * in-process with TinyCC, or with cc -O2 when use_cc is set or the target
 * needs it; the layer in *p, the build in *jit or *so (the other NULL),
 * its packed size in *packed_size. Returns the plain entry. Fails the
 * test, printing the spec, when generating or building fails. */
static void *build_layer(const char *spec, const char *target, int use_cc, cg_conv *p,
                         cg_jit **jit, cg_so **so, size_t *packed_size)
{
    char err[TS_ERRLEN], flags[256];
    cg_gen *g = ts_gen_from_text("sweep.lua", spec);
    cg_sources src;
    cg_gen_options opts = { target, 0, 0 };
    assert_int_equal(cg_gen_params(g, 0, p, err, sizeof err), CG_OK);
    int rc = cg_gen_emit(g, 0, &opts, &src, err, sizeof err);
    cg_gen_free(g);
    if (rc != CG_OK)
        fail_msg("generation failed: %s\n%s", err, spec);

    *jit = NULL;
    *so = NULL;
    void *sym = NULL;
    if (use_cc || !src.tinycc) {
        snprintf(flags, sizeof flags, "-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror %s", src.cflags);
        *so = cg_cc_build(src.c, NULL, flags, err, sizeof err);
        sym = *so ? cg_so_symbol(*so, p->name) : NULL;
    } else {
        *jit = cg_jit_compile(src.c, p->name, err, sizeof err);
        sym = *jit ? cg_jit_symbol(*jit, p->name) : NULL;
    }
    *packed_size = src.packed_size;
    cg_sources_free(&src);
    if (!sym)
        fail_msg("the kernel did not build: %s\n%s", err, spec);
    return sym;
}

/* Generate layer 0 of spec and check it with TinyCC (or cc if use_cc).
 * Fails the test, printing the spec, on any disagreement. */
static void check_spec_for(const char *spec, const char *target, int use_cc, uint64_t seed)
{
    cg_conv p;
    cg_jit *jit;
    cg_so *so;
    size_t packed_size;
    void *sym = build_layer(spec, target, use_cc, &p, &jit, &so, &packed_size);
    char name[96];
    snprintf(name, sizeof name, "%s_pack", p.name);
    void *pack_sym = so ? cg_so_symbol(so, name) : cg_jit_symbol(jit, name);
    snprintf(name, sizeof name, "%s_run", p.name);
    void *run_sym = so ? cg_so_symbol(so, name) : cg_jit_symbol(jit, name);
    assert_non_null(pack_sym);
    assert_non_null(run_sym);
    verify_entries(&p, sym, pack_sym, run_sym, packed_size, seed, spec);
    cg_jit_free(jit);
    cg_so_free(so);
}

static void check_spec(const char *spec, int use_cc, uint64_t seed)
{
    check_spec_for(spec, NULL, use_cc, seed);
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
        ts_drop_budget(spec);
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
        ts_random_spec(&r, i, spec, sizeof spec);
        /* Every other NHWC shape forces the filter-vectorized packed kernel. */
        if (i % 2 == 0)
            ts_force_filter_vectors(spec, 0);
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
        ts_random_spec(&r, i, spec, sizeof spec);
        if (i % CC_EVERY == 0 || i % CC_EVERY == 11)
            check_sweep_spec(spec, 1, (uint64_t)i);
    }
}

/* The whole sweep for a target the system compiler builds: the kernels are
 * compiled in batches (one shared object per batch) to keep it quick. */
static void sweep_with_cc(const char *target, const char *flags, int nchw_fv)
{
    enum { BATCH = 60 };
    cg_rng r;
    cg_rng_seed(&r, 20261124);
    char spec[1024], err[TS_ERRLEN];
    cg_gen_options opts = { target, 0, 0 };
    for (int first = 0; first < SWEEP_SHAPES; first += BATCH) {
        char *specs[BATCH];
        cg_conv params[BATCH];
        size_t packed[BATCH];
        size_t len = 0, cap = 1 << 20;
        char *source = malloc(cap);
        assert_non_null(source);
        source[0] = '\0';
        int n = first + BATCH <= SWEEP_SHAPES ? BATCH : SWEEP_SHAPES - first;
        for (int k = 0; k < n; ++k) {
            ts_random_spec(&r, first + k, spec, sizeof spec);
            ts_drop_budget(spec);
            if ((first + k) % 2 == 0)
                ts_force_filter_vectors(spec, nchw_fv);
            specs[k] = strdup(spec);
            cg_gen *g = ts_gen_from_text("sweep.lua", spec);
            cg_sources src;
            assert_int_equal(cg_gen_params(g, 0, &params[k], err, sizeof err), CG_OK);
            if (cg_gen_emit(g, 0, &opts, &src, err, sizeof err) != CG_OK)
                fail_msg("generation failed: %s\n%s", err, spec);
            cg_gen_free(g);
            packed[k] = src.packed_size;
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
            char name[sizeof params[k].name + 8];
            void *sym = cg_so_symbol(so, params[k].name);
            snprintf(name, sizeof name, "%.63s_pack", params[k].name);
            void *pack = cg_so_symbol(so, name);
            snprintf(name, sizeof name, "%.63s_run", params[k].name);
            void *run = cg_so_symbol(so, name);
            assert_true(sym && pack && run);
            verify_entries(&params[k], sym, pack, run, packed[k], (uint64_t)(first + k), specs[k]);
            free(specs[k]);
        }
        cg_so_free(so);
    }
}

static void test_sweep_avx2_kernels_agree_with_the_reference(void **state)
{
    (void)state;
    if (!ts_cpu_runs("avx2")) {
        print_message("this CPU has no AVX2+FMA: the avx2 sweep cannot run here\n");
        skip();
    }
    /* Every other shape forces the filter-vectorized packed kernel (NCHW
     * outputs stored through a transpose), whatever the model picks. */
    sweep_with_cc("avx2", "-std=c99 -O0 -mavx2 -mfma -Wall -Wextra -Wpedantic -Werror", 1);
}

static void test_sweep_avx512_kernels_agree_with_the_reference(void **state)
{
    (void)state;
    if (!ts_cpu_runs("avx512")) {
        print_message("this CPU has no AVX-512F: the avx512 sweep cannot run here\n");
        skip();
    }
    /* Every other shape forces the filter-vectorized packed kernel, so that
     * it is tested whatever the cost model picks. */
    sweep_with_cc("avx512", "-std=c99 -O0 -mavx512f -mfma -Wall -Wextra -Wpedantic -Werror", 1);
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

/* Generate each of the n specs for each of the nt targets (where this CPU
 * runs them), fail with the message of what_is_wrong(code, i) unless it
 * returns NULL (the code is the kernel the test means), then check both
 * entries against the reference (generic built with TinyCC, the others
 * with the system compiler). Skips when this CPU runs none of them. */
static void check_on_targets(const char *const targets[], int nt, const char *const specs[], size_t n,
                             const char *(*what_is_wrong)(const char *c, size_t i), uint64_t seed)
{
    char err[TS_ERRLEN];
    int ran = 0;
    for (int t = 0; t < nt; ++t) {
        if (!ts_cpu_runs(targets[t])) {
            print_message("this CPU has no %s: its kernels cannot run here\n", targets[t]);
            continue;
        }
        for (size_t i = 0; i < n; ++i) {
            cg_gen *g = ts_gen_from_text("x86.lua", specs[i]);
            cg_sources src;
            cg_gen_options opts = { targets[t], 0, 0 };
            assert_int_equal(cg_gen_emit(g, 0, &opts, &src, err, sizeof err), CG_OK);
            cg_gen_free(g);
            const char *wrong = what_is_wrong(src.c, i);
            if (wrong)
                fail_msg("%s in the %s code of:\n%s", wrong, targets[t], specs[i]);
            cg_sources_free(&src);
            check_spec_for(specs[i], targets[t], 0, seed + (uint64_t)i);
            ++ran;
        }
    }
    if (!ran)
        skip();
}

/* check_on_targets for avx2 and avx512. */
static void check_on_x86_targets(const char *const specs[], size_t n,
                                 const char *(*what_is_wrong)(const char *c, size_t i), uint64_t seed)
{
    const char *const targets[] = { "avx2", "avx512" };
    check_on_targets(targets, 2, specs, n, what_is_wrong, seed);
}

/* Generating spec, as file, for target (NULL: the default) must be an
 * input error whose message names file:1:, the field quoted and why. */
static void expect_refused(const char *file, const char *spec, const char *target, const char *field,
                           const char *why)
{
    char err[TS_ERRLEN], at[64], quoted[48];
    cg_gen *g = ts_gen_from_text(file, spec);
    cg_gen_options opts = { target, 0, 0 };
    cg_sources src;
    assert_int_equal(cg_gen_emit(g, 0, &opts, &src, err, sizeof err), CG_ERR_INPUT);
    cg_gen_free(g);
    snprintf(at, sizeof at, "%s:1:", file);
    snprintf(quoted, sizeof quoted, "'%s'", field);
    if (!strstr(err, at) || !strstr(err, quoted) || !strstr(err, why))
        fail_msg("%s: unexpected message: %s\nfor:\n%s", target ? target : "default target", err, spec);
}

static const char *no_prefetch(const char *c, size_t i)
{
    (void)i;
    return strstr(c, "_mm_prefetch") ? NULL : "no prefetch";
}

/* 1x1 NCHW layers whose filter tiles run innermost prefetch the next tile
 * position's input (tiled.c.in). The prefetches are there, and the
 * kernels agree, when the channels share out unevenly over the filter
 * tiles (the last tiles prefetch fewer), with and without channel blocks,
 * and with groups. */
static void test_prefetching_1x1_kernels_agree_on_x86_targets(void **state)
{
    (void)state;
    const char *specs[] = {
        "conv2d { name = \"pf_blocked\", input = { channels = 40, height = 7, width = 9 },\n"
        "  filters = 24, kernel = 1, tile = { filters = 4, rows = 1, vectors = 1 }, channel_block = 8 }\n",
        "conv2d { name = \"pf_plain\", input = { channels = 5, height = 10, width = 10 },\n"
        "  filters = 7, kernel = 1, activation = \"relu\", tile = { filters = 2, rows = 1, vectors = 1 } }\n",
        "conv2d { name = \"pf_groups\", input = { channels = 8, height = 6, width = 6 },\n"
        "  filters = 6, groups = 2, kernel = 1, tile = { filters = 2, rows = 1, vectors = 1 } }\n",
    };
    check_on_x86_targets(specs, sizeof specs / sizeof specs[0], no_prefetch, 40);
}

/* Long reductions drive outputs far past relu6's clamp and into the flat
 * ends of sigmoid and tanh, which small random layers rarely reach. */
static void test_saturating_activations_agree_on_every_target(void **state)
{
    (void)state;
    const char *acts[] = { "relu6", "sigmoid", "tanh", "leaky_relu" };
    const char *targets[] = { "generic", "avx2", "avx512" };
    char spec[512];
    for (int a = 0; a < 8; ++a) {
        snprintf(spec, sizeof spec,
                 "conv2d { name = \"sat\", input = { channels = 50, height = 9, width = 20 },\n"
                 "  filters = 20, kernel = 3, padding = 1, activation = \"%s\", layout = \"%s\" }\n",
                 acts[a % 4], a < 4 ? "nchw" : "nhwc");
        for (int t = 0; t < 3; ++t)
            if (ts_cpu_runs(targets[t]))
                check_spec_for(spec, targets[t], 0, 5);
    }
}

/* Count spec's kernels that reduce in channel blocks: the tiled kernel
 * (*tiled; *overlap when its last filter tile overlaps the one before)
 * and the filter-vectorized one, forced on shape i as the avx512 sweep
 * forces it (*fv); and those whose filter-vectorized kernel takes its
 * rows in groups (*grouped; *grouped_fv also in channel blocks). The
 * kernels say so in their comments. */
static void count_blocks(const char *spec, int i, int *tiled, int *fv, int *overlap,
                         int *grouped, int *grouped_fv)
{
    char text[1024], err[TS_ERRLEN];
    cg_sources src;
    snprintf(text, sizeof text, "%s", spec);
    ts_drop_budget(text);
    if (i % 2 == 0)
        ts_force_filter_vectors(text, 1);
    cg_gen *g = ts_gen_from_text("sweep.lua", text);
    cg_gen_options opts = { "avx512", 0, 0 };
    if (cg_gen_emit(g, 0, &opts, &src, err, sizeof err) != CG_OK)
        fail_msg("generation failed: %s\n%s", err, text);
    cg_gen_free(g);
    const char *packed = strstr(src.c, "_pack(");
    const char *first = strstr(src.c, "in blocks of");
    *tiled += first && (!packed || first < packed);
    *fv += packed && strstr(packed, "in blocks of") != NULL;
    *overlap += strstr(src.c, "fskip") != NULL;
    const char *rows = strstr(src.c, "row groups, each");
    *grouped += rows != NULL;
    *grouped_fv += rows && packed && strstr(packed, "in blocks of") != NULL;
    cg_sources_free(&src);
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
    int blocked = 0, blocked_fv = 0, overlap = 0, rows = 0, rows_blocked = 0;
    int nhwc = 0, nhwc_grouped = 0, nhwc_depthwise = 0, nhwc_two = 0, nhwc_batch = 0;
    for (int i = 0; i < SWEEP_SHAPES; ++i) {
        ts_random_spec(&r, i, spec, sizeof spec);
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
        count_blocks(spec, i, &blocked, &blocked_fv, &overlap, &rows, &rows_blocked);
        if (p.layout == CG_LAYOUT_NHWC) {
            ++nhwc;
            nhwc_grouped += p.groups > 1 && p.groups != p.channels;
            nhwc_depthwise += p.groups > 1 && p.groups == p.channels;
            /* input lanes two floats apart: the deinterleaving loads */
            nhwc_two += p.channels * p.stride_w == 2;
            nhwc_batch += p.batch > 1;
        }
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
    assert_true(blocked >= 30);
    assert_true(blocked_fv >= 30);
    assert_true(overlap >= 5);
    assert_true(nhwc >= 250 && nhwc <= 350);
    assert_true(nhwc_grouped >= 15);
    assert_true(nhwc_depthwise >= 15);
    assert_true(nhwc_two >= 10);
    assert_true(nhwc_batch >= 15);
    print_message("sweep coverage: %d blocked tiled, %d blocked fv (%d overlapping), %d row-grouped "
                  "(%d with blocks), %d nhwc\n", blocked, blocked_fv, overlap, rows, rows_blocked, nhwc);
    assert_true(rows >= 20);
    assert_true(rows_blocked >= 4);
}

static const char big_layer[] =
    "conv2d { name = \"big\", input = { channels = 64, height = 9, width = 9 },\n"
    "  filters = 4, kernel = 3, padding = \"same\", code_budget = %d %s }\n";

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; ++s)
        n += *s == '\n';
    return n;
}

/* The tile field's unroll fixes how many channels one pass of the tiled
 * kernel's channel loop takes: a whole channel block, a count that is
 * not a power of two, several passes per block, and a 3x3 layer's
 * border regions. One channel a pass also stands where the code budget
 * makes the kernel roll its kh loops up (as tune records it for such a
 * layer). Each kernel says so and agrees with the reference on the
 * generic target (TinyCC) and on the x86 targets this CPU runs. A count
 * that does not divide the channel block, or that needs more code than
 * the budget allows, is an input error naming the field. */
static const char *const unroll_specs[] = {
    "conv2d { name = \"u\", input = { channels = 24, height = 10, width = 20 },\n"
    "  filters = 9, kernel = 1, channel_block = 8, tile = { filters = 4, rows = 1, vectors = 1, unroll = 8 } }\n",
    "conv2d { name = \"u\", input = { channels = 24, height = 10, width = 20 }, activation = \"relu\",\n"
    "  filters = 9, kernel = 1, tile = { filters = 4, rows = 1, vectors = 2, unroll = 3 } }\n",
    "conv2d { name = \"u\", input = { channels = 12, height = 9, width = 20 }, padding = 1,\n"
    "  filters = 7, kernel = 3, tile = { filters = 2, rows = 2, vectors = 1, unroll = 4 } }\n",
    "conv2d { name = \"u\", input = { channels = 12, height = 9, width = 20 }, padding = 1, bias = false,\n"
    "  filters = 7, kernel = 3, channel_block = 6, tile = { filters = 3, rows = 2, vectors = 1, unroll = 2 } }\n",
    "conv2d { name = \"u\", input = { channels = 3, height = 12, width = 20 }, padding = 1, code_budget = 1000,\n"
    "  filters = 5, kernel = 5, tile = { filters = 5, rows = 1, vectors = 1, unroll = 1 } }\n",
};
static const int unroll_counts[] = { 8, 3, 4, 2, 1 };

static const char *unroll_not_as_forced(const char *c, size_t i)
{
    char want[64];
    snprintf(want, sizeof want, "channel loop unrolled by %d", unroll_counts[i]);
    return strstr(c, want) ? NULL : "not the forced unroll";
}

static void test_forced_unrolls_agree_with_the_reference(void **state)
{
    (void)state;
    const char *const targets[] = { "generic", "avx2", "avx512" };
    check_on_targets(targets, 3, unroll_specs, sizeof unroll_specs / sizeof *unroll_specs,
                     unroll_not_as_forced, 50);
}

static void test_unrolls_that_do_not_fit_are_refused(void **state)
{
    (void)state;
    const char *specs[] = {
        "conv2d { name = \"u\", input = { channels = 24, height = 10, width = 20 },\n"
        "  filters = 9, kernel = 1, channel_block = 8, tile = { filters = 4, rows = 1, vectors = 1, unroll = 3 } }\n",
        "conv2d { name = \"u\", input = { channels = 12, height = 9, width = 20 }, padding = 1, code_budget = 300,\n"
        "  filters = 7, kernel = 3, tile = { filters = 2, rows = 2, vectors = 1, unroll = 12 } }\n",
    };
    const char *why[] = { "do not divide the channel block of 8", "over the code budget of 300" };
    for (int i = 0; i < 2; ++i)
        expect_refused("u.lua", specs[i], NULL, "tile.unroll", why[i]);
}

/* The budget bounds the code: a small one rolls the reduction into loops
 * (and the kernel still agrees), a large one holds more of it unrolled. */
static void test_code_budget_bounds_the_generated_code(void **state)
{
    (void)state;
    /* The model's own loop rolled up to fit the smallest budget; the
     * larger ones hold a channel loop forced to take more channels a pass
     * (the model's 3x3 pass is one channel, whatever the budget). */
    const int budgets[] = { 250, 2000, 8192 };
    const char *unrolls[] = { "", ", tile = { filters = 4, rows = 2, vectors = 1, unroll = 2 }",
                              ", tile = { filters = 4, rows = 2, vectors = 1, unroll = 8 }" };
    int lines[3];
    char spec[512], err[TS_ERRLEN];
    for (int k = 0; k < 3; ++k) {
        snprintf(spec, sizeof spec, big_layer, budgets[k], unrolls[k]);
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
    snprintf(spec, sizeof spec, big_layer, 10, "");
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
        ts_random_spec(&r, i, spec, sizeof spec);
        ts_drop_budget(spec);
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
    check_spec("conv2d { name = \"padonly3\", input = { channels = 2, height = 2, width = 2 },\n"
               "  filters = 3, kernel = 1, padding = 3, activation = \"relu\", layout = \"nhwc\" }\n", 0, 3);
}

/* In NHWC the filter vectors of the filter-vectorized kernel lie side by
 * side in the output, so the model prefers it where NCHW's stores through
 * a transpose do not pay (MobileNet v1's first pointwise layer), and its
 * stores are plain masked stores, not scatters. */
static void test_nhwc_packed_entry_stores_filter_vectors_whole(void **state)
{
    (void)state;
    static const char *const layouts[] = { "nchw", "nhwc" };
    char spec[512], err[TS_ERRLEN];
    cg_gen_options opts = { "avx512", 0, 0 };
    for (int i = 0; i < 2; ++i) {
        snprintf(spec, sizeof spec,
                 "conv2d { name = \"pw\", input = { channels = 32, height = 112, width = 112 },\n"
                 "  filters = 64, kernel = 1, activation = \"relu6\", layout = \"%s\" }\n", layouts[i]);
        cg_gen *g = ts_gen_from_text("pw.lua", spec);
        char *info;
        cg_sources src;
        assert_int_equal(cg_gen_info(g, 0, &opts, &info, err, sizeof err), CG_OK);
        assert_int_equal(cg_gen_emit(g, 0, &opts, &src, err, sizeof err), CG_OK);
        cg_gen_free(g);
        int fv = strstr(info, "packed kernel: filter-vectorized") != NULL;
        free(info);
        if (i == 0) {
            assert_false(fv);
        } else {
            assert_true(fv);
            const char *run = strstr(src.c, "void pw_run(");
            assert_non_null(run);
            assert_null(strstr(run, "scatter"));
            assert_non_null(strstr(run, "_mm512_mask_storeu_ps("));
        }
        cg_sources_free(&src);
    }
}

/* NHWC depthwise layers with one filter per channel vectorize their
 * channels on every target: several blocks of channels, the last one
 * partial, at the borders and in the interior; checked on every target
 * that runs here (neon in test_cross). */
static void test_nhwc_depthwise_channel_blocks_agree_on_every_target(void **state)
{
    (void)state;
    const char *targets[] = { "generic", "avx2", "avx512" };
    const int channels[] = { 40, 24, 17, 7 };
    char spec[512], err[TS_ERRLEN];
    for (int i = 0; i < 4; ++i) {
        snprintf(spec, sizeof spec,
                 "conv2d { name = \"dw\", batch = 2, input = { channels = %d, height = 13, width = 11 },\n"
                 "  filters = %d, groups = %d, kernel = 3, stride = %d, padding = \"same\",\n"
                 "  activation = \"relu6\", layout = \"nhwc\" }\n",
                 channels[i], channels[i], channels[i], 1 + i % 2);
        cg_gen *g = ts_gen_from_text("dw.lua", spec);
        static const char *const fv_targets[] = { "generic", "avx2", "avx512", "neon" };
        for (int t = 0; t < 4; ++t) {
            char *info;
            cg_gen_options opts = { fv_targets[t], 0, 0 };
            assert_int_equal(cg_gen_info(g, 0, &opts, &info, err, sizeof err), CG_OK);
            if (!strstr(info, "packed kernel: filter-vectorized"))
                fail_msg("%s: expected the channel form for:\n%s\n%s", fv_targets[t], spec, info);
            free(info);
        }
        cg_gen_free(g);
        for (int t = 0; t < 3; ++t)
            if (ts_cpu_runs(targets[t]))
                check_spec_for(spec, targets[t], 0, 9);
    }
}

/* Forcing the filter-vectorized kernel where the target cannot run it
 * is an input error naming the field and the reason. */
static void test_filter_vectors_a_target_cannot_run_are_refused(void **state)
{
    (void)state;
    static const struct { const char *target, *layout, *why; } cases[] = {
        { "generic", "nchw", "no scatter" },
        { "neon", "nchw", "no scatter" },
    };
    char spec[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        snprintf(spec, sizeof spec,
                 "conv2d { name = \"fv\", input = { channels = 3, height = 9, width = 9 },\n"
                 "  filters = 12, kernel = 3, packed_kernel = \"filter_vectors\", layout = \"%s\" }\n",
                 cases[i].layout);
        expect_refused("fv.lua", spec, cases[i].target, "packed_kernel", cases[i].why);
    }
}

/* (test_nchw_filter_vectors_agree_on_x86_targets) Spec 3 must roll its
 * kh loops. */
static const char *not_fv_rows(const char *c, size_t i)
{
    const char *run = strstr(c, "with packed weights: filter-vectorized");
    if (!run || strstr(run, "scatter"))
        return "the packed entry is not filter-vectorized with row stores";
    if (i == 3 && !strstr(run, "for (int kh = "))
        return "the kh loops are not rolled";
    return NULL;
}

/* The filter-vectorized kernel in NCHW on the x86 targets: its tiles go
 * out (and, with channel blocks, come back) as filter rows through a
 * register transpose. Filters that leave the last vector partial (the
 * rows past them must not be written), runs longer than a transpose
 * takes, channel blocks, an activation finished lane by lane, a batch
 * with stride 2, and a 7x7 first layer whose budget only fits with its kh
 * loops rolled. */
static void test_nchw_filter_vectors_agree_on_x86_targets(void **state)
{
    (void)state;
    const char *specs[] = {
        "conv2d { name = \"fv_odd\", input = { channels = 9, height = 6, width = 13 },\n"
        "  filters = 20, kernel = 3, padding = 1, activation = \"relu\", channel_block = 3,\n"
        "  packed_kernel = \"filter_vectors\" }\n",
        "conv2d { name = \"fv_sig\", input = { channels = 8, height = 5, width = 9 },\n"
        "  filters = 11, kernel = 3, activation = \"sigmoid\", channel_block = 4,\n"
        "  packed_kernel = \"filter_vectors\" }\n",
        "conv2d { name = \"fv_s2\", input = { channels = 16, height = 14, width = 14 }, batch = 2,\n"
        "  filters = 40, kernel = 1, stride = 2, bias = false, packed_kernel = \"filter_vectors\" }\n",
        "conv2d { name = \"fv_roll\", input = { channels = 3, height = 40, width = 40 },\n"
        "  filters = 24, kernel = 7, stride = 2, padding = 3, code_budget = 3000,\n"
        "  tile = { filters = 4, rows = 1, vectors = 1 }, packed_kernel = \"filter_vectors\" }\n",
    };
    check_on_x86_targets(specs, sizeof specs / sizeof specs[0], not_fv_rows, 80);
}

static const char *no_plane(const char *c, size_t i)
{
    (void)i;
    return strstr(c, "whole-plane kernel") ? NULL : "no whole-plane kernel";
}

/* The whole-plane kernel (plan_plane.lua) of small stride-1 NCHW planes
 * whose padding keeps the width: each tap is a shifted, masked load of
 * the flattened plane. Depthwise as in DS-CNN; several filters per tile
 * with the last tile pulled back; dilation; uneven padding with fewer
 * output rows than input rows; a plane smaller than a vector; a batch;
 * and an activation finished lane by lane. */
static void test_whole_plane_kernels_agree_on_x86_targets(void **state)
{
    (void)state;
    const char *specs[] = {
        "conv2d { name = \"pl_dw\", input = { channels = 12, height = 25, width = 5 }, groups = 12,\n"
        "  filters = 12, kernel = 3, padding = 1, activation = \"relu\", packed_kernel = \"planes\" }\n",
        "conv2d { name = \"pl_dil\", input = { channels = 6, height = 9, width = 7 }, batch = 2,\n"
        "  filters = 10, kernel = 3, dilation = 2, padding = 2, activation = \"leaky_relu\",\n"
        "  packed_kernel = \"planes\" }\n",
        "conv2d { name = \"pl_uneven\", input = { channels = 4, height = 6, width = 11 },\n"
        "  filters = 5, kernel = { height = 2, width = 4 }, padding = { top = 0, bottom = 0, left = 1, right = 2 },\n"
        "  bias = false, packed_kernel = \"planes\" }\n",
        "conv2d { name = \"pl_tiny\", input = { channels = 3, height = 2, width = 3 },\n"
        "  filters = 4, kernel = 3, padding = 1, activation = \"sigmoid\", packed_kernel = \"planes\" }\n",
    };
    check_on_x86_targets(specs, sizeof specs / sizeof specs[0], no_plane, 60);
}

/* Which kernel the plain entry of the i-th spec below runs: the whole
 * plane (1) or the tiled kernel (0). */
static const int plain_plane_wanted[] = { 1, 1, 0, 1, 0 };

static const char *plain_plane(const char *c, size_t i)
{
    const int plane = strstr(c, "_plane(input, weights, bias, output);") != NULL;
    const int tiled = strstr(c, "regions; channel loop unrolled by") != NULL;
    if (plain_plane_wanted[i])
        return plane && !tiled ? NULL : "a plain entry that does not run the whole-plane kernel alone";
    return tiled && !plane ? NULL : "a plain entry that does not run the tiled kernel";
}

/* The plain entry reads the weights as they are, so where the model costs
 * the whole-plane kernel well under the tiled one it runs that instead,
 * and no tiled kernel is written: a DS-CNN-like depthwise layer (where
 * the packed entry runs the same kernel), and a 4x4 plane without bias
 * (avx512: its packed entry is filter-vectorized). A tile in the spec
 * keeps the tiled kernel, unless plain_kernel forces the whole plane;
 * plain_kernel = "tiled" keeps the tiled kernel where the model would
 * not. Both entries agree with the reference. */
static void test_plain_entries_run_the_whole_plane_where_it_is_cheaper(void **state)
{
    (void)state;
    const char *specs[] = {
        "conv2d { name = \"pp_dw\", input = { channels = 12, height = 25, width = 5 }, groups = 12,\n"
        "  filters = 12, kernel = 3, padding = 1, activation = \"relu\" }\n",
        "conv2d { name = \"pp_4x4\", input = { channels = 24, height = 4, width = 4 },\n"
        "  filters = 20, kernel = 3, padding = 1, bias = false, activation = \"relu6\" }\n",
        "conv2d { name = \"pp_tile\", input = { channels = 12, height = 25, width = 5 }, groups = 12,\n"
        "  filters = 12, kernel = 3, padding = 1, tile = { filters = 1, rows = 5, vectors = 1 } }\n",
        "conv2d { name = \"pp_forced\", input = { channels = 12, height = 25, width = 5 }, groups = 12,\n"
        "  filters = 12, kernel = 3, padding = 1, tile = { filters = 1, rows = 5, vectors = 1 },\n"
        "  plain_kernel = \"planes\", packed_kernel = \"tiled\" }\n",
        "conv2d { name = \"pp_kept\", input = { channels = 24, height = 4, width = 4 },\n"
        "  filters = 20, kernel = 3, padding = 1, plain_kernel = \"tiled\" }\n",
    };
    assert_int_equal(sizeof specs / sizeof specs[0], sizeof plain_plane_wanted / sizeof plain_plane_wanted[0]);
    check_on_x86_targets(specs, sizeof specs / sizeof specs[0], plain_plane, 90);
}

/* packed_kernel or plain_kernel = "planes" where the family does not
 * apply is an input error naming the field and the reason. */
static void test_planes_that_do_not_apply_are_refused(void **state)
{
    (void)state;
    static const struct { const char *target; int height, width; const char *layer, *why; } cases[] = {
        { "generic", 6, 6, "kernel = 3, padding = 1", "no masked loads" },
        { "avx512", 6, 6, "kernel = 3, padding = 1, stride = 2", "stride 1" },
        { "avx512", 6, 6, "kernel = 3", "as wide as the input" },
        { "avx512", 6, 6, "kernel = 3, padding = 1, layout = \"nhwc\"", "NCHW" },
        { "avx2", 6, 6, "kernel = 3, padding = 1, code_budget = 120", "code budget" },
        { "avx512", 40, 30, "kernel = 3, padding = 1", "larger than 64 vectors" },
    };
    static const char *const fields[] = { "packed_kernel", "plain_kernel" };
    char spec[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        for (int k = 0; k < 2; ++k) {
            snprintf(spec, sizeof spec,
                     "conv2d { name = \"pl\", input = { channels = 3, height = %d, width = %d },\n"
                     "  filters = 4, %s = \"planes\", %s }\n",
                     cases[i].height, cases[i].width, fields[k], cases[i].layer);
            expect_refused("pl.lua", spec, cases[i].target, fields[k], cases[i].why);
        }
    }
}

static const char *streams(const char *c, size_t i)
{
    (void)i;
    return strstr(c, "_stream_ps(") && strstr(c, "_mm_sfence();") ? NULL : "no streaming stores";
}

static const char *does_not_stream(const char *c, size_t i)
{
    (void)i;
    return strstr(c, "_stream_ps(") ? "streaming stores" : NULL;
}

/* Build layer 0 of spec for target with cc and run its plain entry with
 * the output one float past a vector boundary, where the kernel must fall
 * back to its cached stores; compare with the reference, and check that
 * nothing was written outside the output. */
static void check_misaligned_output(const char *spec, const char *target, uint64_t seed)
{
    cg_conv p;
    cg_jit *jit;
    cg_so *so;
    size_t packed_size;
    void *sym = build_layer(spec, target, 1, &p, &jit, &so, &packed_size);
    cg_conv_fn fn;
    memcpy(&fn, &sym, sizeof fn);

    const size_t ni = cg_conv_input_size(&p), nw = cg_conv_weights_size(&p);
    const size_t nb = cg_conv_bias_size(&p), no = cg_conv_output_size(&p);
    float *in = malloc(ni * sizeof *in), *w = malloc(nw * sizeof *w);
    float *b = malloc((nb ? nb : 1) * sizeof *b), *want = malloc(no * sizeof *want);
    double *mag = malloc(no * sizeof *mag);
    float *buf = aligned_alloc(64, (no + 16) * sizeof *buf);   /* no is a multiple of 16 */
    assert_true(in && w && b && want && mag && buf);
    cg_rng r;
    cg_rng_seed(&r, seed);
    cg_fill_uniform(in, ni, &r, -1.0f, 1.0f);
    cg_fill_uniform(w, nw, &r, -1.0f, 1.0f);
    cg_fill_uniform(b, nb, &r, -1.0f, 1.0f);
    for (size_t i = 0; i < no + 16; ++i)
        buf[i] = 1234.5f;
    fn(in, w, p.bias ? b : NULL, buf + 1);
    cg_ref_conv2d(&p, in, w, p.bias ? b : NULL, want, mag);
    cg_compare r2;
    cg_compare_floats(buf + 1, want, mag, no, cg_conv_reduction_length(&p), &r2);
    if (r2.failures != 0)
        fail_msg("%s (%s, misaligned output): %zu outputs disagree with the reference (max abs error %g)\n%s",
                 p.name, target, r2.failures, r2.max_abs, spec);
    assert_true(buf[0] == 1234.5f);
    for (size_t i = no + 1; i < no + 16; ++i)
        assert_true(buf[i] == 1234.5f);
    free(in);
    free(w);
    free(b);
    free(want);
    free(mag);
    free(buf);
    cg_so_free(so);
}

/* Streaming stores (plan.streaming): forced on a 1x1 layer (the plane as
 * one row, filter tiles pulled back, an activation), on a 3x3 layer with
 * border regions and a batch, and chosen by the model for an output of
 * 1 MiB. Both entries agree with the reference on aligned outputs (the
 * verifier's buffers end at a page), and the plain entry on an output one
 * float off, where the kernel keeps to its cached stores. */
static void test_streaming_stores_agree_aligned_or_not(void **state)
{
    (void)state;
    const char *specs[] = {
        "conv2d { name = \"st_1x1\", input = { channels = 8, height = 16, width = 32 },\n"
        "  filters = 12, kernel = 1, activation = \"relu\", stores = \"streaming\" }\n",
        "conv2d { name = \"st_3x3\", input = { channels = 5, height = 20, width = 48 }, batch = 2,\n"
        "  filters = 6, kernel = 3, padding = 1, bias = false, stores = \"streaming\" }\n",
        "conv2d { name = \"st_auto\", input = { channels = 4, height = 64, width = 64 },\n"
        "  filters = 64, kernel = 3, padding = 1 }\n",
    };
    const size_t n = sizeof specs / sizeof specs[0];
    check_on_x86_targets(specs, n, streams, 100);
    const char *targets[] = { "avx2", "avx512" };
    for (int t = 0; t < 2; ++t)
        if (ts_cpu_runs(targets[t]))
            for (size_t i = 0; i < n; ++i)
                check_misaligned_output(specs[i], targets[t], 110 + i);
}

/* The model streams only outputs of at least 1 MiB: a smaller one, and
 * the 1 MiB one with stores = "cached", keep the cache. */
static void test_small_or_cached_outputs_do_not_stream(void **state)
{
    (void)state;
    const char *specs[] = {
        "conv2d { name = \"st_small\", input = { channels = 4, height = 64, width = 64 },\n"
        "  filters = 60, kernel = 3, padding = 1 }\n",
        "conv2d { name = \"st_cached\", input = { channels = 4, height = 64, width = 64 },\n"
        "  filters = 64, kernel = 3, padding = 1, stores = \"cached\" }\n",
    };
    check_on_x86_targets(specs, sizeof specs / sizeof specs[0], does_not_stream, 120);
}

/* stores = "streaming" where it cannot apply is an input error naming
 * the field and the reason. */
static void test_streaming_stores_that_do_not_apply_are_refused(void **state)
{
    (void)state;
    static const struct { const char *target, *layer, *why; } cases[] = {
        { "generic", "width = 48 }, filters = 4, kernel = 3", "no streaming stores" },
        { "avx512", "width = 20 }, filters = 4, kernel = 3", "64-byte boundaries" },
        { "avx2", "width = 20 }, filters = 4, kernel = 3", "32-byte boundaries" },
        { "avx512", "width = 48 }, filters = 4, kernel = 3, layout = \"nhwc\"", "NHWC" },
        { "avx512", "width = 48 }, filters = 4, kernel = 3, activation = \"tanh\"", "lane by lane" },
        { "avx512", "width = 16 }, filters = 32, kernel = 1, channel_block = 1", "channel blocks" },
        { "avx512", "width = 16 }, filters = 4, kernel = 3, padding = 1, plain_kernel = \"planes\"",
          "plain_kernel = \"planes\"" },
    };
    char spec[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        snprintf(spec, sizeof spec,
                 "conv2d { name = \"st\", input = { channels = 3, height = 8, %s,\n"
                 "  stores = \"streaming\" }\n", cases[i].layer);
        expect_refused("st.lua", spec, cases[i].target, "stores", cases[i].why);
    }
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
        cmocka_unit_test(test_prefetching_1x1_kernels_agree_on_x86_targets),
        cmocka_unit_test(test_saturating_activations_agree_on_every_target),
        cmocka_unit_test(test_forced_unrolls_agree_with_the_reference),
        cmocka_unit_test(test_unrolls_that_do_not_fit_are_refused),
        cmocka_unit_test(test_code_budget_bounds_the_generated_code),
        cmocka_unit_test(test_code_budget_too_small_for_the_borders_is_an_input_error),
        cmocka_unit_test(test_generation_is_byte_identical_across_runs),
        cmocka_unit_test(test_outputs_that_see_only_padding_get_the_bias),
        cmocka_unit_test(test_nhwc_packed_entry_stores_filter_vectors_whole),
        cmocka_unit_test(test_filter_vectors_a_target_cannot_run_are_refused),
        cmocka_unit_test(test_nhwc_depthwise_channel_blocks_agree_on_every_target),
        cmocka_unit_test(test_nchw_filter_vectors_agree_on_x86_targets),
        cmocka_unit_test(test_whole_plane_kernels_agree_on_x86_targets),
        cmocka_unit_test(test_planes_that_do_not_apply_are_refused),
        cmocka_unit_test(test_plain_entries_run_the_whole_plane_where_it_is_cheaper),
        cmocka_unit_test(test_streaming_stores_agree_aligned_or_not),
        cmocka_unit_test(test_small_or_cached_outputs_do_not_stream),
        cmocka_unit_test(test_streaming_stores_that_do_not_apply_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
