/*
 * test_baked.c - layers whose trained weights come from .npy files.
 *
 * The tests write the .npy files themselves (ts_write_npy) into a
 * temporary directory, next to the spec text's nominal path, so that the
 * spec's relative paths resolve there. They check that the static array in
 * the generated .c holds the .npy's values bit for bit (as text and as
 * compiled), that baked kernels agree with the reference run on the same
 * weights on every target this machine runs (the NEON one is in
 * test_cross.c), that zero weights are skipped and counted exactly, and
 * that every malformed file is an error naming it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_cc.h"
#include "cg_jit.h"
#include "cg_verify.h"
#include "support.h"

#define SWEEP_SEED 4242

/* ---- helpers ------------------------------------------------------------ */

/* A temporary directory per test (the fixture). */
static int make_dir(void **state)
{
    char *dir = malloc(64);
    if (!dir)
        return -1;
    ts_mkdtemp(dir);
    *state = dir;
    return 0;
}

static int remove_dir(void **state)
{
    ts_rmtree(*state);
    free(*state);
    return 0;
}

/* The spec's path inside dir (so that its .npy paths resolve there). */
static const char *spec_path(const char *dir)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/layer.lua", dir);
    return path;
}

/* The floats of "static const float <name>_packed[N] = { ... };" in c,
 * read with strtof (C's own conversion); *n receives N. */
static float *parse_packed(const char *c, const char *name, size_t *n)
{
    char decl[128];
    snprintf(decl, sizeof decl, "static const float %s_packed[", name);
    const char *s = strstr(c, decl);
    if (!s)
        fail_msg("no '%s' in the generated code", decl);
    s += strlen(decl);
    *n = strtoul(s, (char **)&s, 10);
    s = strchr(s, '{');
    assert_non_null(s);
    ++s;
    float *v = malloc(*n * sizeof *v + 1);
    assert_non_null(v);
    for (size_t i = 0; i < *n; ++i) {
        char *end;
        v[i] = strtof(s, &end);
        if (end == s)
            fail_msg("value %zu of %s_packed is not a float: %.40s", i, name, s);
        if (*end != 'f')
            fail_msg("value %zu of %s_packed lacks the f suffix: %.40s", i, name, s);
        s = end + 1 + strspn(end + 1, ", \n");
    }
    assert_int_equal(*s, '}');
    return v;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void assert_same_bits(const float *got, const float *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; ++i)
        if (bits(got[i]) != bits(want[i]))
            fail_msg("%s: value %zu is 0x%08x (%a), the .npy has 0x%08x (%a)", what, i,
                     (unsigned)bits(got[i]), (double)got[i], (unsigned)bits(want[i]), (double)want[i]);
}

/* The value of the "key: " line of info text (up to the newline). */
static const char *info_value(const char *info, const char *key, char *buf, size_t len)
{
    char k[64];
    snprintf(k, sizeof k, "\n%s: ", key);
    const char *s = strstr(info, k);
    if (!s)
        fail_msg("no '%s' line in:\n%s", key, info);
    s += strlen(k);
    size_t n = strcspn(s, "\n");
    snprintf(buf, len, "%.*s", (int)n, s);
    return buf;
}

/* ---- the array is the .npy, bit for bit ------------------------------- */

/* Floats whose spelling is easy to get wrong: signed zero, subnormals
 * down to the smallest, the extremes, values with no short decimal form. */
static const float tricky[] = {
    -0.0f, 0.0f, 1e-45f, -1e-45f, 0x1p-149f, 0x1.fffffcp-127f, FLT_MIN, -FLT_MIN, FLT_MAX,
    -FLT_MAX, 0.1f, -0.1f, 1.0f / 3.0f, 16777217.0f, 0x1.000002p0f, 3.4e38f, 1e-40f, 6e-39f,
};

/* Weights: the tricky floats, then every finite exponent in turn (0, the
 * subnormals, to 254) with a random sign and mantissa. */
static void fill_tricky(float *w, size_t n, cg_rng *r)
{
    const size_t nt = sizeof tricky / sizeof tricky[0];
    for (size_t i = 0; i < n; ++i) {
        if (i < nt) {
            w[i] = tricky[i];
            continue;
        }
        uint32_t mantissa = (uint32_t)cg_rng_int(r, 0, (1 << 23) - 1);
        uint32_t u = (uint32_t)cg_rng_int(r, 0, 1) << 31 | (uint32_t)((i - nt) % 255) << 23 | mantissa;
        memcpy(&w[i], &u, sizeof u);
    }
}

/* The .c of spec (one baked layer) for target, and the array compiled by
 * TinyCC (generic) or cc, read back through an accessor appended to it. */
static void check_array_bits(const char *dir, const char *spec, const char *target,
                             const float *want, size_t nwant)
{
    char err[TS_ERRLEN];
    cg_gen *g = ts_gen_from_text(spec_path(dir), spec);
    cg_sources src;
    cg_gen_options opts = { .target = target };
    if (cg_gen_emit(g, 0, &opts, &src, err, sizeof err) != CG_OK)
        fail_msg("%s: %s", target, err);
    cg_gen_free(g);
    assert_int_equal(src.baked, 1);
    assert_int_equal(src.packed_size, nwant);
    assert_non_null(strstr(src.h, "#define BITS_BAKED 1"));
    assert_null(strstr(src.h, "bits_pack"));
    assert_null(strstr(src.h, "bits_run"));

    size_t n;
    float *text = parse_packed(src.c, "bits", &n);
    assert_int_equal(n, nwant);
    assert_same_bits(text, want, n, "the array as text");
    free(text);

    size_t len = src.c_len + 128;
    char *c = malloc(len);
    assert_non_null(c);
    snprintf(c, len, "%s\nconst float *bits_array(void) { return bits_packed; }\n", src.c);
    cg_jit *jit = NULL;
    cg_so *so = NULL;
    void *sym;
    if (src.tinycc) {
        jit = cg_jit_compile(c, "bits", err, sizeof err);
        if (!jit)
            fail_msg("tcc: %s", err);
        sym = cg_jit_symbol(jit, "bits_array");
    } else {
        char flags[256];
        snprintf(flags, sizeof flags, "-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror %s", src.cflags);
        so = cg_cc_build(c, NULL, flags, err, sizeof err);
        if (!so)
            fail_msg("cc: %s", err);
        sym = cg_so_symbol(so, "bits_array");
    }
    const float *(*get)(void);
    memcpy(&get, &sym, sizeof get);
    assert_non_null(get);
    assert_same_bits(get(), want, nwant, src.tinycc ? "the array compiled by TinyCC" : "the array compiled by cc");
    cg_jit_free(jit);
    cg_so_free(so);
    free(c);
    cg_sources_free(&src);
}

static void test_baked_array_holds_the_npy_values_bit_for_bit(void **state)
{
    const char *dir = *state;
    char path[128];
    cg_rng r;
    cg_rng_seed(&r, 7);
    enum { F = 20, C = 3, K = 3, NW = F * C * K * K };
    float w[NW], b[F], want[NW + F];
    fill_tricky(w, NW, &r);
    for (int i = 0; i < F; ++i)
        b[i] = tricky[(i + 5) % (sizeof tricky / sizeof tricky[0])];
    const long long wd[4] = { F, C, K, K }, bd[1] = { F };
    snprintf(path, sizeof path, "%s/w.npy", dir);
    ts_write_npy(path, wd, 4, w);
    snprintf(path, sizeof path, "%s/b.npy", dir);
    ts_write_npy(path, bd, 1, b);
    const char *spec =
        "conv2d { name = \"bits\", input = { channels = 3, height = 9, width = 9 },\n"
        "  filters = 20, kernel = 3, padding = 1, weights = \"w.npy\", bias_values = \"b.npy\" }\n";

    /* The tiled kernel's layout: the weights as the .npy holds them, then the bias. */
    memcpy(want, w, sizeof w);
    memcpy(want + NW, b, sizeof b);
    check_array_bits(dir, spec, "generic", want, NW + F);

    if (!ts_cpu_runs("avx512")) {
        print_message("no AVX-512F here: the filter-vectorized layout is not built\n");
        return;
    }
    /* The filter-vectorized layout (README): per block of 16 filters, each
     * tap's 16 filter weights (zero past the last filter), then the bias
     * in the same blocks. */
    const char *fv =
        "conv2d { name = \"bits\", input = { channels = 3, height = 9, width = 9 },\n"
        "  filters = 20, kernel = 3, padding = 1, weights = \"w.npy\", bias_values = \"b.npy\",\n"
        "  packed_kernel = \"filter_vectors\" }\n";
    enum { V = 16, NB = 2, KK = C * K * K, NP = NB * V * (KK + 1) };
    static float fvwant[NP];
    for (int blk = 0; blk < NB; ++blk)
        for (int k = 0; k < KK; ++k)
            for (int l = 0; l < V; ++l) {
                int f = blk * V + l;
                fvwant[(blk * KK + k) * V + l] = f < F ? w[f * KK + k] : 0.0f;
            }
    for (int f = 0; f < NB * V; ++f)
        fvwant[NB * V * KK + f] = f < F ? b[f] : 0.0f;
    check_array_bits(dir, fv, "avx512", fvwant, NP);
}

/* NaN and infinity have no place in trained weights: refused, by index. */
static void test_npy_with_nan_or_infinity_is_refused_by_index(void **state)
{
    const char *dir = *state;
    char path[128], err[TS_ERRLEN];
    float w[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    const long long d[4] = { 2, 1, 2, 2 };
    const char *spec =
        "conv2d { name = \"nan\", input = { channels = 1, height = 4, width = 4 },\n"
        "  filters = 2, kernel = 2, bias = false, weights = \"w.npy\" }\n";
    snprintf(path, sizeof path, "%s/w.npy", dir);
    const float bad[2] = { NAN, -INFINITY };
    const char *words[2] = { "value 5 (flat index) is NaN", "value 5 (flat index) is infinite" };
    for (int k = 0; k < 2; ++k) {
        w[5] = bad[k];
        ts_write_npy(path, d, 4, w);
        assert_int_equal(ts_load_status(spec_path(dir), spec, err, sizeof err), CG_ERR_INPUT);
        if (!strstr(err, path) || !strstr(err, words[k]))
            fail_msg("expected '%s' naming %s, got: %s", words[k], path, err);
    }
}

/* ---- agreement with the reference ------------------------------------- */

/* Build the concatenated sources of n baked layers for target (TinyCC for
 * generic unless cc), run each, compare with the reference on its weights. */
static int sweep_target(const char *dir, const char *target, int use_cc, int n, int zero_pct, int first,
                        int *fv)
{
    char err[TS_ERRLEN];
    cg_rng r;
    cg_rng_seed(&r, SWEEP_SEED + (uint64_t)first);
    size_t cap = 1 << 20, used = 0;
    char *all = malloc(cap);
    assert_non_null(all);
    all[0] = '\0';
    cg_conv *ps = calloc((size_t)n, sizeof *ps);
    float **ws = calloc((size_t)n, sizeof *ws), **bs = calloc((size_t)n, sizeof *bs);
    char **specs = calloc((size_t)n, sizeof *specs);
    int unrolled = 0;
    char cflags[128] = "";
    assert_true(ps && ws && bs && specs);
    for (int i = 0; i < n; ++i) {
        char spec[1024];
        ts_random_spec(&r, first + i, spec, sizeof spec);
        for (int attempt = 0;; ++attempt) {
            specs[i] = ts_bake(dir, spec, &r, zero_pct, &ps[i], &ws[i], &bs[i]);
            cg_gen *g = ts_gen_from_text(spec_path(dir), specs[i]);
            cg_sources src;
            cg_gen_options opts = { .target = target };
            int rc = cg_gen_emit(g, 0, &opts, &src, err, sizeof err);
            cg_gen_free(g);
            if (rc == CG_OK) {
                assert_int_equal(src.baked, 1);
                unrolled += strstr(src.c, " (group ") != NULL;   /* block_open's comment */
                if (fv)
                    *fv += strstr(src.c, "_run(input, weights, output);") != NULL;
                snprintf(cflags, sizeof cflags, "%s", src.cflags);
                while (used + src.c_len + 2 > cap)
                    assert_non_null(all = realloc(all, cap *= 2));
                memcpy(all + used, src.c, src.c_len);
                used += src.c_len;
                all[used++] = '\n';
                all[used] = '\0';
                cg_sources_free(&src);
                break;
            }
            if (attempt > 0 || !strstr(err, "code budget"))
                fail_msg("%s: generation failed: %s\n%s", target, err, specs[i]);
            ts_drop_budget(spec);
            free(specs[i]);
            free(ws[i]);
            free(bs[i]);
        }
    }
    cg_jit *jit = NULL;
    cg_so *so = NULL;
    if (!use_cc) {
        jit = cg_jit_compile(all, "sweep", err, sizeof err);
        if (!jit)
            fail_msg("tcc: %s", err);
    } else {
        char flags[256];
        snprintf(flags, sizeof flags, "-std=c99 -O1 -Wall -Wextra -Wpedantic -Werror %s", cflags);
        so = cg_cc_build(all, NULL, flags, err, sizeof err);
        if (!so)
            fail_msg("cc (%s): %s", target, err);
    }
    for (int i = 0; i < n; ++i) {
        void *sym = jit ? cg_jit_symbol(jit, ps[i].name) : cg_so_symbol(so, ps[i].name);
        cg_baked_fn fn;
        memcpy(&fn, &sym, sizeof fn);
        assert_non_null(fn);
        cg_compare cmp;
        assert_int_equal(cg_verify_baked(&ps[i], fn, ws[i], bs[i], (uint64_t)i, &cmp), 0);
        if (cmp.failures)
            fail_msg("%s: %s: %zu outputs disagree (worst %g x tolerance)\n%s", target, ps[i].name,
                     cmp.failures, cmp.worst_ratio, specs[i]);
        free(ws[i]);
        free(bs[i]);
        free(specs[i]);
    }
    cg_jit_free(jit);
    cg_so_free(so);
    free(all);
    free(ps);
    free(ws);
    free(bs);
    free(specs);
    return unrolled;
}

static void test_sweep_of_baked_layers_agrees_on_every_target(void **state)
{
    const char *dir = *state;
    /* 30% zeros: zero skipping where it fits, the rolled kernels elsewhere. */
    int unrolled = sweep_target(dir, "generic", 0, 60, 30, 0, NULL);
    print_message("generic/TinyCC: 60 baked layers agree, %d with zero skipping\n", unrolled);
    assert_true(unrolled >= 10 && unrolled <= 55);
    sweep_target(dir, "generic", 1, 12, 30, 100, NULL);
    if (ts_cpu_runs("avx2"))
        sweep_target(dir, "avx2", 1, 16, 30, 200, NULL);
    else
        print_message("no AVX2+FMA here: avx2 not run\n");
    if (ts_cpu_runs("avx512")) {
        /* Dense too: no skipping, so the filter-vectorized kernel where the
         * model prefers it, on its own packed layout. */
        int fv = 0;
        sweep_target(dir, "avx512", 1, 16, 30, 300, NULL);
        sweep_target(dir, "avx512", 1, 24, 0, 400, &fv);
        print_message("avx512: 24 dense baked layers agree, %d with the filter-vectorized kernel\n", fv);
        assert_true(fv >= 2);
    } else {
        print_message("no AVX-512F here: avx512 not run\n");
    }
}

/* Pruned layers, 50% and 90% zeros, big enough for interior loops. */
static void test_pruned_layers_agree_and_report_skipped_work(void **state)
{
    const char *dir = *state;
    const char *targets[] = { "generic", "avx2", "avx512" };
    const int pcts[] = { 50, 90 };
    char err[TS_ERRLEN], buf[256];
    for (int k = 0; k < 2; ++k) {
        for (int t = 0; t < 3; ++t) {
            if (!ts_cpu_runs(targets[t]))
                continue;
            cg_rng r;
            cg_rng_seed(&r, (uint64_t)(10 * k + t));
            cg_conv p;
            float *w, *b;
            char *spec = ts_bake(dir,
                "conv2d { name = \"pruned\", input = { channels = 8, height = 20, width = 37 },\n"
                "  filters = 12, kernel = 3, padding = 1, activation = \"relu\", code_budget = 30000 }\n",
                &r, pcts[k], &p, &w, &b);
            cg_gen *g = ts_gen_from_text(spec_path(dir), spec);
            cg_gen_options opts = { .target = targets[t] };
            cg_sources src;
            char *info;
            assert_int_equal(cg_gen_emit(g, 0, &opts, &src, err, sizeof err), CG_OK);
            assert_int_equal(cg_gen_info(g, 0, &opts, &info, err, sizeof err), CG_OK);
            cg_gen_free(g);
            long long removed, total;
            info_value(info, "zero skipping", buf, sizeof buf);
            if (sscanf(buf, "%lld multiply-adds removed of %lld", &removed, &total) != 2)
                fail_msg("%s: %d%% zeros: no skipping reported: %s", targets[t], pcts[k], buf);
            /* Roughly the share of zero weights is skipped. */
            double share = (double)removed / (double)total;
            assert_true(share > pcts[k] / 100.0 - 0.1 && share < pcts[k] / 100.0 + 0.1);
            free(info);

            char flags[256];
            snprintf(flags, sizeof flags, "-std=c99 -O1 -Wall -Wextra -Wpedantic -Werror %s", src.cflags);
            cg_jit *jit = src.tinycc ? cg_jit_compile(src.c, "pruned", err, sizeof err) : NULL;
            cg_so *so = src.tinycc ? NULL : cg_cc_build(src.c, NULL, flags, err, sizeof err);
            if (!jit && !so)
                fail_msg("%s: %s", targets[t], err);
            void *sym = jit ? cg_jit_symbol(jit, "pruned") : cg_so_symbol(so, "pruned");
            cg_baked_fn fn;
            memcpy(&fn, &sym, sizeof fn);
            cg_compare cmp;
            assert_int_equal(cg_verify_baked(&p, fn, w, b, 3, &cmp), 0);
            if (cmp.failures)
                fail_msg("%s, %d%% zeros: %zu outputs disagree", targets[t], pcts[k], cmp.failures);
            cg_jit_free(jit);
            cg_so_free(so);
            cg_sources_free(&src);
            free(spec);
            free(w);
            free(b);
        }
    }
}

/* The zero-skipping kernel (unrolled filter blocks, its own way out of
 * the function) streams its stores too when told: a pruned layer with
 * stores = "streaming" agrees with the reference on the x86 targets. */
static void test_pruned_layers_stream_their_stores_when_told(void **state)
{
    const char *dir = *state;
    const char *targets[] = { "avx2", "avx512" };
    char err[TS_ERRLEN];
    int ran = 0;
    for (int t = 0; t < 2; ++t) {
        if (!ts_cpu_runs(targets[t]))
            continue;
        cg_rng r;
        cg_rng_seed(&r, (uint64_t)(40 + t));
        cg_conv p;
        float *w, *b;
        char *spec = ts_bake(dir,
            "conv2d { name = \"pruned\", input = { channels = 8, height = 20, width = 48 },\n"
            "  filters = 12, kernel = 3, padding = 1, activation = \"relu\", code_budget = 30000,\n"
            "  stores = \"streaming\" }\n",
            &r, 50, &p, &w, &b);
        cg_gen *g = ts_gen_from_text(spec_path(dir), spec);
        cg_gen_options opts = { .target = targets[t] };
        cg_sources src;
        assert_int_equal(cg_gen_emit(g, 0, &opts, &src, err, sizeof err), CG_OK);
        cg_gen_free(g);
        if (!strstr(src.c, "_stream_ps(") || !strstr(src.c, "/* filters "))
            fail_msg("%s: no streaming stores in the zero-skipping kernel", targets[t]);
        char flags[256];
        snprintf(flags, sizeof flags, "-std=c99 -O1 -Wall -Wextra -Wpedantic -Werror %s", src.cflags);
        cg_so *so = cg_cc_build(src.c, NULL, flags, err, sizeof err);
        if (!so)
            fail_msg("%s: %s", targets[t], err);
        void *sym = cg_so_symbol(so, "pruned");
        cg_baked_fn fn;
        memcpy(&fn, &sym, sizeof fn);
        cg_compare cmp;
        assert_int_equal(cg_verify_baked(&p, fn, w, b, 4, &cmp), 0);
        if (cmp.failures)
            fail_msg("%s: %zu outputs disagree", targets[t], cmp.failures);
        cg_so_free(so);
        cg_sources_free(&src);
        free(spec);
        free(w);
        free(b);
        ++ran;
    }
    if (!ran)
        skip();
}

/* An untuned 1x1 layer on avx512 takes the 4x1x4 tile, but a pruned one
 * (here half its weights zero) keeps 8x1x2: with the zeros' multiply-adds
 * left out, a tile of more filters has more multiply-adds per input load. */
static void test_pruned_1x1_layers_keep_tiles_of_more_filters(void **state)
{
    const char *dir = *state;
    const int pcts[] = { 0, 50 };
    const char *tiles[] = { "4 filters x 1 rows x 4 vectors of 16", "8 filters x 1 rows x 2 vectors of 16" };
    char err[TS_ERRLEN], buf[256];
    for (int k = 0; k < 2; ++k) {
        cg_rng r;
        cg_rng_seed(&r, (uint64_t)(30 + k));
        cg_conv p;
        float *w, *b;
        char *spec = ts_bake(dir,
            "conv2d { name = \"pw\", input = { channels = 64, height = 25, width = 5 },\n"
            "  filters = 64, kernel = 1, code_budget = 16384 }\n", &r, pcts[k], &p, &w, &b);
        cg_gen *g = ts_gen_from_text(spec_path(dir), spec);
        cg_gen_options opts = { .target = "avx512" };
        char *info;
        assert_int_equal(cg_gen_info(g, 0, &opts, &info, err, sizeof err), CG_OK);
        cg_gen_free(g);
        info_value(info, "tile", buf, sizeof buf);
        if (strncmp(buf, tiles[k], strlen(tiles[k])) != 0)
            fail_msg("%d%% zeros: tile %s, not %s", pcts[k], buf, tiles[k]);
        free(info);
        free(spec);
        free(w);
        free(b);
    }
}

/* ---- the count of skipped multiply-adds ------------------------------- */

/* Multiply-adds of weight (kh, kw) that read inside the input, counted
 * output by output: the work a zero there saves (per filter and channel). */
static long long reach(const cg_conv *p, int kh, int kw)
{
    long long n = 0;
    for (int oh = 0; oh < p->out_h; ++oh)
        for (int ow = 0; ow < p->out_w; ++ow) {
            int ih = oh * p->stride_h - p->pad_top + kh * p->dilation_h;
            int iw = ow * p->stride_w - p->pad_left + kw * p->dilation_w;
            n += ih >= 0 && ih < p->height && iw >= 0 && iw < p->width;
        }
    return n;
}

/* A layer whose tiles do not overlap (8 output columns: one generic vector;
 * 4 rows: one tile of 4; filter blocks of 2, 2 and 1), so every
 * multiply-add the kernel does is one the layer needs and the count of
 * those removed is exactly the zeros' reach. */
static void test_skipped_multiply_adds_are_counted_exactly(void **state)
{
    const char *dir = *state;
    char path[128], err[TS_ERRLEN], buf[256];
    enum { F = 5, C = 2, K = 3, NW = F * C * K * K };
    const char *spec =
        "conv2d { name = \"count\", input = { channels = 2, height = 4, width = 8 },\n"
        "  filters = 5, kernel = 3, padding = 1, bias = false, weights = \"w.npy\",\n"
        "  tile = { filters = 2, rows = 4, vectors = 1 } }\n";
    float w[NW];
    const long long d[4] = { F, C, K, K };
    snprintf(path, sizeof path, "%s/w.npy", dir);

    /* By hand first: one zero, at kh = 0, kw = 0 of filter 4, channel 1. It
     * reaches output rows 1..3 and columns 1..7: 21 multiply-adds. */
    for (int i = 0; i < NW; ++i)
        w[i] = 1.0f + (float)i;
    w[(4 * C + 1) * K * K + 0] = 0.0f;
    ts_write_npy(path, d, 4, w);
    cg_gen *g = ts_gen_from_text(spec_path(dir), spec);
    char *info;
    assert_int_equal(cg_gen_info(g, 0, NULL, &info, err, sizeof err), CG_OK);
    cg_gen_free(g);
    /* Every tap that reads inside: 4x8 outputs, 3x3 kernel, padding 1:
     * rows reached per kh 3,4,3 and columns per kw 7,8,7: 10 x 22 = 220
     * per filter and channel, 2200 in all. */
    info_value(info, "zero skipping", buf, sizeof buf);
    assert_string_equal(buf, "21 multiply-adds removed of 2200 (1.0%) per call; 2179 remain");
    assert_string_equal(info_value(info, "zero weights", buf, sizeof buf), "1 of 90");
    free(info);

    /* Then random zeros (and -0.0), against the count output by output. */
    cg_rng r;
    cg_rng_seed(&r, 99);
    cg_conv p;
    for (int trial = 0; trial < 4; ++trial) {
        long long want = 0;
        ts_fill_pruned(w, NW, &r, 25 * (trial + 1) - 5);
        g = ts_gen_from_text(spec_path(dir), spec);
        assert_int_equal(cg_gen_params(g, 0, &p, err, sizeof err), CG_OK);
        for (int i = 0; i < NW; ++i) {
            if (w[i] == 0.0f && cg_rng_int(&r, 0, 1))
                w[i] = -0.0f;
            if (w[i] == 0.0f)
                want += reach(&p, i % (K * K) / K, i % K);
        }
        ts_write_npy(path, d, 4, w);
        cg_gen_free(g);
        g = ts_gen_from_text(spec_path(dir), spec);
        assert_int_equal(cg_gen_info(g, 0, NULL, &info, err, sizeof err), CG_OK);
        cg_gen_free(g);
        long long removed, total;
        info_value(info, "zero skipping", buf, sizeof buf);
        assert_int_equal(sscanf(buf, "%lld multiply-adds removed of %lld", &removed, &total), 2);
        assert_int_equal(removed, want);
        assert_int_equal(total, 2200);
        free(info);
    }
}

/* ---- bad files and fields --------------------------------------------- */

/* Load spec (which names w.npy) and expect an error naming dir/w.npy and
 * containing words. */
static void expect_npy_error(const char *dir, const char *spec, const char *words)
{
    char err[TS_ERRLEN], path[128];
    snprintf(path, sizeof path, "%s/w.npy", dir);
    assert_int_equal(ts_load_status(spec_path(dir), spec, err, sizeof err), CG_ERR_INPUT);
    if (!strstr(err, path) || !strstr(err, words) || !strstr(err, "field 'weights'"))
        fail_msg("expected an error naming %s, field 'weights' and '%s', got: %s", path, words, err);
}

static const char npy_spec[] =
    "conv2d { name = \"bad\", input = { channels = 3, height = 6, width = 6 },\n"
    "  filters = 8, kernel = 5, bias = false, weights = \"w.npy\" }\n";

static const long long npy_dims[4] = { 8, 3, 5, 5 };
enum { NPY_COUNT = 8 * 3 * 5 * 5 };

static void write_bad(const char *dir, int major, const char *descr, int fortran,
                      const long long *dims, size_t nbytes)
{
    char path[128], header[512];
    static unsigned char data[NPY_COUNT * 8 + 64];   /* the <f8 case writes 8 bytes a value */
    snprintf(path, sizeof path, "%s/w.npy", dir);
    ts_npy_header(header, sizeof header, descr, fortran, dims, 4);
    ts_write_npy_raw(path, major, header, data, nbytes);
}

static void test_npy_with_bad_magic_is_an_error(void **state)
{
    char path[128];
    snprintf(path, sizeof path, "%s/w.npy", (char *)*state);
    ts_write_file(path, "PK\003\004 this is a zip file, not an array");
    expect_npy_error(*state, npy_spec, "not a .npy file");
}

static void test_npy_of_another_dtype_is_an_error(void **state)
{
    write_bad(*state, 1, "<f8", 0, npy_dims, NPY_COUNT * 8);
    expect_npy_error(*state, npy_spec, "dtype '<f8' is not little-endian float32");
    write_bad(*state, 1, ">f4", 0, npy_dims, NPY_COUNT * 4);
    expect_npy_error(*state, npy_spec, "dtype '>f4'");
    write_bad(*state, 1, "|f4", 0, npy_dims, NPY_COUNT * 4);
    expect_npy_error(*state, npy_spec, "dtype '|f4'");
}

static void test_npy_in_fortran_order_is_an_error(void **state)
{
    write_bad(*state, 1, "<f4", 1, npy_dims, NPY_COUNT * 4);
    expect_npy_error(*state, npy_spec, "fortran_order is True");
}

static void test_npy_of_the_wrong_shape_is_an_error(void **state)
{
    const long long dims[4] = { 8, 3, 3, 3 };
    write_bad(*state, 1, "<f4", 0, dims, 8 * 3 * 3 * 3 * 4);
    expect_npy_error(*state, npy_spec, "shape (8, 3, 3, 3) does not match the spec's weights (8, 3, 5, 5)");
}

static void test_truncated_npy_is_an_error(void **state)
{
    write_bad(*state, 1, "<f4", 0, npy_dims, NPY_COUNT * 4 - 3);
    expect_npy_error(*state, npy_spec, "truncated: 2397 bytes of data for 600 float32 values (2400 bytes)");
    write_bad(*state, 1, "<f4", 0, npy_dims, NPY_COUNT * 4 + 4);
    expect_npy_error(*state, npy_spec, "trailing bytes: 2404 bytes");
    /* Cut inside the header. */
    char path[128];
    snprintf(path, sizeof path, "%s/w.npy", (char *)*state);
    ts_write_npy_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 3, 5, 5), }\n",
                     NULL, 0);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 30), 0);
    fclose(f);
    expect_npy_error(*state, npy_spec, "truncated in the header");
}

static void test_npy_versions_two_and_three_load_and_others_do_not(void **state)
{
    char err[TS_ERRLEN];
    for (int major = 2; major <= 3; ++major) {
        write_bad(*state, major, "<f4", 0, npy_dims, NPY_COUNT * 4);
        assert_int_equal(ts_load_status(spec_path(*state), npy_spec, err, sizeof err), CG_OK);
    }
    write_bad(*state, 4, "<f4", 0, npy_dims, NPY_COUNT * 4);
    expect_npy_error(*state, npy_spec, "unsupported .npy format version 4.0");
}

static void test_npy_with_a_malformed_header_is_an_error(void **state)
{
    char path[128];
    static const unsigned char data[NPY_COUNT * 4];
    snprintf(path, sizeof path, "%s/w.npy", (char *)*state);
    ts_write_npy_raw(path, 1, "{'descr': '<f4', 'shape': (8, 3, 5, 5), }\n", data, sizeof data);
    expect_npy_error(*state, npy_spec, "lacks one of 'descr', 'fortran_order', 'shape'");
    ts_write_npy_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 3, 5, 5), 'x': 1}\n",
                     data, sizeof data);
    expect_npy_error(*state, npy_spec, "unknown or repeated key");
    ts_write_npy_raw(path, 1, "['descr', '<f4']\n", data, sizeof data);
    expect_npy_error(*state, npy_spec, "not a Python dictionary literal");
}

static void test_missing_npy_is_an_error_naming_it(void **state)
{
    expect_npy_error(*state, npy_spec, "No such file or directory");
}

/* A device or a FIFO would never end, and a huge file would be read
 * whole: only a regular file, and no more than its expected size (plus
 * room for any header), is read. */
static void test_npy_that_is_no_regular_file_or_far_too_large_is_an_error(void **state)
{
    char path[128];
    snprintf(path, sizeof path, "%s/w.npy", (char *)*state);
    assert_int_equal(mkfifo(path, 0600), 0);
    expect_npy_error(*state, npy_spec, "not a regular file");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/dev/zero", path), 0);
    expect_npy_error(*state, npy_spec, "not a regular file");
    assert_int_equal(unlink(path), 0);
    /* 600 values want 2400 bytes: 4 MiB of header and data is far beyond. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 4 << 20), 0);
    fclose(f);
    expect_npy_error(*state, npy_spec, "larger than");
}

static void test_bias_npy_errors_name_the_bias_file(void **state)
{
    const char *dir = *state;
    char path[128], err[TS_ERRLEN];
    float w[NPY_COUNT] = { 0 }, b[4] = { 0 };
    const long long bd[1] = { 4 };
    snprintf(path, sizeof path, "%s/w.npy", dir);
    ts_write_npy(path, npy_dims, 4, w);
    snprintf(path, sizeof path, "%s/b.npy", dir);
    ts_write_npy(path, bd, 1, b);
    const char *spec =
        "conv2d { name = \"bad\", input = { channels = 3, height = 6, width = 6 },\n"
        "  filters = 8, kernel = 5, weights = \"w.npy\", bias_values = \"b.npy\" }\n";
    assert_int_equal(ts_load_status(spec_path(dir), spec, err, sizeof err), CG_ERR_INPUT);
    if (!strstr(err, "field 'bias_values'") || !strstr(err, path) ||
        !strstr(err, "shape (4,) does not match the spec's bias (8,)"))
        fail_msg("got: %s", err);
}

static void test_weight_fields_follow_the_bias_rules(void **state)
{
    char err[TS_ERRLEN];
    const char *head = "conv2d { name = \"f\", input = { channels = 3, height = 6, width = 6 },\n"
                       "  filters = 8, kernel = 5, ";
    const struct { const char *fields, *words; } cases[] = {
        { "bias_values = \"b.npy\" }", "field 'bias_values' needs field 'weights'" },
        { "weights = \"w.npy\" }", "field 'bias_values' is missing" },
        { "weights = \"w.npy\", bias = false, bias_values = \"b.npy\" }",
          "field 'bias_values' is given but bias = false" },
        { "weights = 3, bias = false }", "field 'weights' must be the path of a .npy file" },
        { "weights = \"\", bias = false }", "field 'weights' must be the path of a .npy file" },
        { "weights = \"w.npy\", bias_values = { } }", "field 'bias_values' must be the path" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        char spec[512];
        snprintf(spec, sizeof spec, "%s%s\n", head, cases[k].fields);
        assert_int_equal(ts_load_status(spec_path(*state), spec, err, sizeof err), CG_ERR_INPUT);
        if (!strstr(err, cases[k].words) || !strstr(err, "layer.lua:1: layer 'f'"))
            fail_msg("expected '%s', got: %s", cases[k].words, err);
    }
}

/* A baked layer runs the tiled kernel, which leaves out zero weights: the
 * whole plane is refused for either entry, naming the field. */
static void test_baked_layers_refuse_the_whole_plane(void **state)
{
    char err[TS_ERRLEN], spec[512];
    static const char *const fields[] = { "packed_kernel", "plain_kernel" };
    for (int k = 0; k < 2; ++k) {
        snprintf(spec, sizeof spec,
                 "conv2d { name = \"f\", input = { channels = 3, height = 6, width = 6 },\n"
                 "  filters = 8, kernel = 3, padding = 1, bias = false, weights = \"w.npy\", %s = \"planes\" }\n",
                 fields[k]);
        assert_int_equal(ts_load_status(spec_path(*state), spec, err, sizeof err), CG_ERR_INPUT);
        char want[64];
        snprintf(want, sizeof want, "field '%s': \"planes\" is not for layers with baked", fields[k]);
        if (!strstr(err, want) || !strstr(err, "layer.lua:1: layer 'f'"))
            fail_msg("expected '%s', got: %s", want, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_baked_array_holds_the_npy_values_bit_for_bit, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_with_nan_or_infinity_is_refused_by_index, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_skipped_multiply_adds_are_counted_exactly, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_pruned_layers_agree_and_report_skipped_work, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_pruned_layers_stream_their_stores_when_told, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_pruned_1x1_layers_keep_tiles_of_more_filters, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_sweep_of_baked_layers_agrees_on_every_target, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_with_bad_magic_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_of_another_dtype_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_in_fortran_order_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_of_the_wrong_shape_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_truncated_npy_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_versions_two_and_three_load_and_others_do_not, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_with_a_malformed_header_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_missing_npy_is_an_error_naming_it, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_npy_that_is_no_regular_file_or_far_too_large_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_bias_npy_errors_name_the_bias_file, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_weight_fields_follow_the_bias_rules, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_baked_layers_refuse_the_whole_plane, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
