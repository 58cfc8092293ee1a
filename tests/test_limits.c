/*
 * test_limits.c - no spec, however large, keeps convgen busy for long or
 * makes it write more than the code budget's worth of C: a ResNet-50-sized
 * spec generates in seconds with kernels of reasonable size, and absurd
 * specs (a plane two billion pixels wide, a 4000-tap kernel, a code budget
 * of two billion lines, thousands of layers, tables of half a million
 * keys) stop within seconds with an error naming the file and the limit.
 * And the output is reproducible: the same spec gives the same bytes from
 * another directory, with another environment (LUA_PATH, LUA_INIT, the
 * locale) and inside a process whose C locale writes decimal commas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

#define OUTLEN 65536
#define RESNET50 SOURCE_DIR "/tests/specs/resnet50.lua"

static char out[OUTLEN], errout[OUTLEN];

/* Run convgen with argv[1..] (NULL-terminated, at most 14) under a CPU
 * limit, so that a missing guard fails the test instead of hanging it;
 * *seconds receives the wall time. */
static int convgen(const char *const args[], const ts_limits *extra, double *seconds)
{
    const char *argv[16] = { CONVGEN_BIN };
    for (int i = 0; args[i] && i < 14; ++i)
        argv[i + 1] = args[i];
    ts_limits lim = extra ? *extra : (ts_limits){ 0 };
    lim.cpu_seconds = 60;
    double t0 = ts_wall_seconds();
    int rc = ts_run_limited(argv, NULL, &lim, out, sizeof out, errout, sizeof errout);
    if (seconds)
        *seconds = ts_wall_seconds() - t0;
    return rc;
}

/* --- the code-size guard -------------------------------------------------- */

static long long largest_file(const char *dir, const char *suffix, long long *total, int *count)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    long long largest = 0;
    *total = 0;
    *count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name), k = strlen(suffix);
        if (n < k || strcmp(e->d_name + n - k, suffix) != 0)
            continue;
        char path[512];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        assert_int_equal(stat(path, &st), 0);
        *total += st.st_size;
        largest = st.st_size > largest ? st.st_size : largest;
        ++*count;
    }
    closedir(d);
    return largest;
}

/* ResNet-50, all 53 convolutions: seconds, and no kernel beyond a few MiB
 * (the default budget is a few thousand lines of reduction code). */
static void test_resnet50_generates_in_seconds_with_reasonable_output(void **state)
{
    (void)state;
    const char *const targets[] = { "generic", "avx512" };
    for (int t = 0; t < 2; ++t) {
        char dir[64];
        ts_mkdtemp(dir);
        double s;
        const char *args[] = { "generate", RESNET50, "--target", targets[t], "-o", dir, NULL };
        int rc = convgen(args, NULL, &s);
        if (rc != 0)
            fail_msg("%s: exit %d: %s", targets[t], rc, errout);
        long long total;
        int count;
        long long largest = largest_file(dir, ".c", &total, &count);
        print_message("resnet50 (%s): %d kernels in %.2f s, %.1f MiB of C, largest %.2f MiB\n",
                      targets[t], count, s, total / 1048576.0, largest / 1048576.0);
        assert_int_equal(count, 53);
        assert_true(s < 10.0);
        assert_true(largest < (8 << 20));
        assert_true(total < (128 << 20));
        ts_rmtree(dir);
    }
}

/* One absurd spec per row: the word its message must contain. */
static const struct {
    const char *what, *text, *needle;
} absurd[] = {
    { "a plane 2e9 pixels wide",
      "conv2d { name = \"wide\", input = { channels = 1, height = 1, width = 2000000000 },\n"
      "  filters = 1, kernel = 1, padding = { left = 1 } }\n", "layer 'wide': convgen stopped after" },
    { "a 3999x3999 kernel over 4000x4000 padded by 3998",
      "conv2d { name = \"bigk\", input = { channels = 1, height = 4000, width = 4000 },\n"
      "  filters = 1, kernel = 3999, padding = 3998 }\n", "layer 'bigk': convgen stopped after" },
    { "a code budget of two billion lines",
      "conv2d { name = \"lines\", input = { channels = 100000, height = 3, width = 3 },\n"
      "  filters = 2, kernel = 3, padding = 1, code_budget = 2000000000 }\n", "code_budget" },
    { "a layer generated over and over",
      "for i = 1, 1000000 do conv2d { name = \"l\" .. i, input = { channels = 64, height = 56, width = 56 },\n"
      "  filters = 64, kernel = 3, padding = 1 } end\n", "4096 layers" },
    { "half a million unknown fields",
      "local t = { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 1 }\n"
      "for i = 1, 500000 do t[\"f\" .. i] = i end\nconv2d(t)\n", "unknown field" },
    { "a name of ten million characters",
      "conv2d { name = (\"n\"):rep(10000000), input = { channels = 1, height = 4, width = 4 },\n"
      "  filters = 1, kernel = 1 }\n", "'name'" },
    { "a word of ten million characters",
      "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 1,\n"
      "  activation = (\"r\"):rep(10000000) }\n", "'activation'" },
};

static void test_absurd_specs_stop_within_seconds_with_a_clear_error(void **state)
{
    (void)state;
    char dir[64], spec[96];
    ts_mkdtemp(dir);
    snprintf(spec, sizeof spec, "%s/absurd.lua", dir);
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; ++i) {
        ts_write_file(spec, absurd[i].text);
        double s;
        const char *args[] = { "generate", spec, "-o", dir, NULL };
        int rc = convgen(args, NULL, &s);
        print_message("%s: exit %d in %.2f s\n", absurd[i].what, rc, s);
        if (rc != 2 || !strstr(errout, "absurd.lua") || !strstr(errout, absurd[i].needle))
            fail_msg("%s: exit %d after %.1f s, expected 2 and '%s':\n%.2000s", absurd[i].what,
                     rc, s, absurd[i].needle, errout);
        if (s > 10.0)
            fail_msg("%s: took %.1f s", absurd[i].what, s);
        if (strlen(errout) > 2000)
            fail_msg("%s: a message of %zu bytes", absurd[i].what, strlen(errout));
        assert_int_equal(ts_count_entries(dir), 1);   /* only the spec */
    }
    ts_rmtree(dir);
}

/* A spent run budget fails every later call of the run, the next layer's
 * too; a new budget (tune starts one per layer) lets that layer generate. */
static void test_a_new_run_budget_lets_the_next_layer_generate(void **state)
{
    (void)state;
    char text[512], err[TS_ERRLEN];
    snprintf(text, sizeof text, "%sconv2d { name = \"small\", input = { channels = 2, height = 5, width = 5 },"
             " filters = 3, kernel = 3 }\n", absurd[0].text);
    cg_gen *g = ts_gen_from_text("two.lua", text);
    cg_gen_options opts = { "generic", 0, 0 };
    cg_sources src;
    assert_int_equal(cg_gen_emit(g, 0, &opts, &src, err, sizeof err), CG_ERR_INPUT);
    assert_non_null(strstr(err, absurd[0].needle));
    assert_int_equal(cg_gen_emit(g, 1, &opts, &src, err, sizeof err), CG_ERR_INPUT);
    assert_non_null(strstr(err, "layer 'small': convgen stopped after"));
    cg_gen_new_run_budget(g);
    if (cg_gen_emit(g, 1, &opts, &src, err, sizeof err) != CG_OK)
        fail_msg("after a new budget: %s", err);
    assert_non_null(strstr(src.c, "void small("));
    cg_sources_free(&src);
    cg_gen_free(g);
}

static void test_code_budgets_have_a_maximum(void **state)
{
    (void)state;
    char text[256], err[TS_ERRLEN];
    const char *fmt = "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 },"
                      " filters = 1, kernel = 1, code_budget = %d }";
    snprintf(text, sizeof text, fmt, 65536);
    assert_int_equal(ts_load_status("max.lua", text, err, sizeof err), CG_OK);
    snprintf(text, sizeof text, fmt, 65537);
    assert_int_equal(ts_load_status("max.lua", text, err, sizeof err), CG_ERR_INPUT);
    assert_non_null(strstr(err, "'code_budget'"));
    assert_non_null(strstr(err, "65536"));

    const char *args[] = { "info", SOURCE_DIR "/specs/demo.lua", "--code-budget", "65537", NULL };
    assert_int_equal(convgen(args, NULL, NULL), 2);
    assert_non_null(strstr(errout, "--code-budget"));
}

/* 4096 layers load (quickly: names are checked in linear time); 4097 do
 * not, whether in one file or across files. */
static void test_a_run_holds_at_most_4096_layers(void **state)
{
    (void)state;
    const char *fmt = "for i = 1, %d do conv2d { name = \"%s\" .. i, input = { channels = 1,"
                      " height = 4, width = 4 }, filters = 1, kernel = 1 } end";
    char text[256], err[TS_ERRLEN];
    double t0 = ts_wall_seconds();
    snprintf(text, sizeof text, fmt, 4096, "a");
    cg_gen *g = ts_gen_from_text("many.lua", text);
    assert_int_equal(cg_gen_count(g), 4096);
    double s = ts_wall_seconds() - t0;
    if (s > 5.0)
        fail_msg("4096 layers took %.1f s to load", s);
    snprintf(text, sizeof text, fmt, 1, "b");
    assert_int_equal(cg_gen_load_string(g, "one_more.lua", text, err, sizeof err), CG_ERR_INPUT);
    assert_non_null(strstr(err, "one_more.lua"));
    assert_non_null(strstr(err, "4096 layers"));
    cg_gen_free(g);

    snprintf(text, sizeof text, fmt, 4097, "a");
    assert_int_equal(ts_load_status("many.lua", text, err, sizeof err), CG_ERR_INPUT);
    assert_non_null(strstr(err, "many.lua:1:"));
    assert_non_null(strstr(err, "4096 layers"));
}

/* --- reproducibility ------------------------------------------------------ */

/* A German locale (decimal comma), compiled into a scratch LOCPATH. */
struct locale_fixture {
    char dir[64];
    char locpath[96];
};

static int setup_locale(void **state)
{
    static struct locale_fixture f;
    ts_mkdtemp(f.dir);
    snprintf(f.locpath, sizeof f.locpath, "%s/locales", f.dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 "
             ">/dev/null 2>&1; test -d %s/de_DE.UTF-8", f.locpath, f.locpath, f.locpath);
    if (system(cmd) != 0) {
        fprintf(stderr, "setup: localedef could not build de_DE.UTF-8 (is 'locales' installed?)\n");
        return -1;
    }
    *state = &f;
    return 0;
}

static int teardown_locale(void **state)
{
    struct locale_fixture *f = *state;
    setlocale(LC_ALL, "C");
    ts_rmtree(f->dir);
    return 0;
}

/* The specs compared: the examples, ResNet-50 and one that spells floats
 * (leaky_relu's alpha is written as a hex float, which a comma locale
 * would change). */
static const char floats_spec[] =
    "conv2d { name = \"floats\", input = { channels = 3, height = 9, width = 9 }, filters = 5,\n"
    "  kernel = 3, padding = \"same\", activation = \"leaky_relu\", alpha = 0.1 }\n";

/* Every file of a must be in b with the same bytes, and as many. */
static void assert_same_tree(const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "diff -r -q %s %s", a, b);
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    if (ts_run(argv, NULL, out, sizeof out, errout, sizeof errout) != 0)
        fail_msg("the outputs differ:\n%s%s", out, errout);
    assert_true(ts_count_entries(a) > 100);
}

/* From the source tree with relative paths, then from / with absolute
 * paths and an environment that would change a careless embedding of Lua
 * or C: the same files, byte for byte. The runs are separate processes,
 * so Lua's string hashes (and any pairs() order) differ between them. */
static void test_output_is_the_same_from_anywhere_in_any_environment(void **state)
{
    struct locale_fixture *f = *state;
    char dir[64], a[96], b[96], spec[128], evil[96], evil_lua[128], locpath[128];
    ts_mkdtemp(dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(spec, sizeof spec, "%s/floats.lua", dir);
    snprintf(evil, sizeof evil, "%s/lua", dir);
    snprintf(evil_lua, sizeof evil_lua, "LUA_PATH=%s/?.lua", evil);
    snprintf(locpath, sizeof locpath, "LOCPATH=%s", f->locpath);
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    assert_int_equal(mkdir(evil, 0755), 0);
    ts_write_file(spec, floats_spec);
    char path[160];
    /* Modules that would take over if anything searched LUA_PATH. */
    const char *const modules[] = { "util", "spec", "plan", "convgen", "template", "string" };
    for (int i = 0; i < 6; ++i) {
        snprintf(path, sizeof path, "%s/%s.lua", evil, modules[i]);
        ts_write_file(path, "error('loaded from LUA_PATH')\n");
    }

    const char *rel[] = { "generate", "specs/demo.lua", "specs/lenet5_c1.lua", "specs/mobilenet_v1.lua",
                          "specs/resnet18_conv3x3.lua", "tests/specs/resnet50.lua", spec,
                          "-o", a, NULL };
    const char *argv_a[16] = { CONVGEN_BIN };
    for (int i = 0; rel[i]; ++i)
        argv_a[i + 1] = rel[i];
    assert_int_equal(ts_run_limited(argv_a, SOURCE_DIR, &(ts_limits){ 0 }, out, sizeof out,
                                    errout, sizeof errout), 0);

    const char *const env[] = { "LC_ALL=de_DE.UTF-8", "LANG=de_DE.UTF-8", locpath, evil_lua,
                                "LUA_CPATH=/nonexistent/?.so", "LUA_INIT=error('LUA_INIT ran')",
                                "LUA_INIT_5_4=error('LUA_INIT_5_4 ran')", "TZ=Asia/Kolkata", NULL };
    const char *argv_b[] = { CONVGEN_BIN, "generate", SOURCE_DIR "/specs/demo.lua",
                             SOURCE_DIR "/specs/lenet5_c1.lua", SOURCE_DIR "/specs/mobilenet_v1.lua",
                             SOURCE_DIR "/specs/resnet18_conv3x3.lua", RESNET50, spec,
                             "-o", b, NULL };
    ts_limits lim = { .env = env };
    if (ts_run_limited(argv_b, "/", &lim, out, sizeof out, errout, sizeof errout) != 0)
        fail_msg("generate failed from / in a German locale:\n%s", errout);
    assert_same_tree(a, b);
    ts_rmtree(dir);
}

/* Inside a process whose C locale writes decimal commas (an embedding
 * application called setlocale), the generator still writes C. */
static void test_output_ignores_the_process_locale(void **state)
{
    struct locale_fixture *f = *state;
    char err[TS_ERRLEN];
    cg_sources c_locale, de_locale;
    cg_gen *g = ts_gen_from_text("floats.lua", floats_spec);
    assert_int_equal(cg_gen_emit(g, 0, NULL, &c_locale, err, sizeof err), CG_OK);
    cg_gen_free(g);

    setenv("LOCPATH", f->locpath, 1);
    if (!setlocale(LC_ALL, "de_DE.UTF-8"))
        fail_msg("cannot switch to de_DE.UTF-8 from %s", f->locpath);
    assert_string_equal(localeconv()->decimal_point, ",");
    g = ts_gen_from_text("floats.lua", floats_spec);
    int rc = cg_gen_emit(g, 0, NULL, &de_locale, err, sizeof err);
    cg_gen_free(g);
    setlocale(LC_ALL, "C");
    assert_int_equal(rc, CG_OK);

    assert_non_null(strstr(c_locale.c, "0x1.99999ap-4f"));   /* alpha = 0.1 */
    assert_int_equal(c_locale.c_len, de_locale.c_len);
    assert_memory_equal(c_locale.c, de_locale.c, c_locale.c_len);
    assert_int_equal(c_locale.h_len, de_locale.h_len);
    assert_memory_equal(c_locale.h, de_locale.h, c_locale.h_len);
    cg_sources_free(&c_locale);
    cg_sources_free(&de_locale);
}

int main(void)
{
    const struct CMUnitTest limits[] = {
        cmocka_unit_test(test_resnet50_generates_in_seconds_with_reasonable_output),
        cmocka_unit_test(test_absurd_specs_stop_within_seconds_with_a_clear_error),
        cmocka_unit_test(test_a_new_run_budget_lets_the_next_layer_generate),
        cmocka_unit_test(test_code_budgets_have_a_maximum),
        cmocka_unit_test(test_a_run_holds_at_most_4096_layers),
    };
    const struct CMUnitTest reproducible[] = {
        cmocka_unit_test(test_output_is_the_same_from_anywhere_in_any_environment),
        cmocka_unit_test(test_output_ignores_the_process_locale),
    };
    int failed = cmocka_run_group_tests_name("limits", limits, NULL, NULL);
    failed += cmocka_run_group_tests_name("reproducible", reproducible, setup_locale, teardown_locale);
    return failed;
}
