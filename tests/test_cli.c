/*
 * test_cli.c - the convgen command line, run as a user runs it: exit
 * statuses, messages, files written (or not), the example specs, template
 * overrides and an installed copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

#define OUTLEN 65536

static char out[OUTLEN], errout[OUTLEN];

/* Run convgen with up to 12 arguments (NULL-terminated). */
static int convgen(const char *cwd, const char *a1, const char *a2, const char *a3,
                   const char *a4, const char *a5, const char *a6)
{
    const char *argv[] = { CONVGEN_BIN, a1, a2, a3, a4, a5, a6, NULL };
    return ts_run(argv, cwd, out, sizeof out, errout, sizeof errout);
}

static int shell(const char *cmd)
{
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    return ts_run(argv, SOURCE_DIR, out, sizeof out, errout, sizeof errout);
}

static int count_of(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        ++n;
    return n;
}

static void test_help_is_printed_for_every_command(void **state)
{
    (void)state;
    assert_int_equal(convgen(NULL, "--help", NULL, NULL, NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "usage: convgen COMMAND"));
    const char *commands[] = { "generate", "check", "info", "tune" };
    for (int i = 0; i < 4; ++i) {
        assert_int_equal(convgen(NULL, commands[i], "--help", NULL, NULL, NULL, NULL), 0);
        char want[64];
        snprintf(want, sizeof want, "usage: convgen %s", commands[i]);
        assert_non_null(strstr(out, want));
        assert_non_null(strstr(out, "--templates DIR"));
    }
    assert_int_equal(convgen(NULL, "--version", NULL, NULL, NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "convgen "));
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    assert_int_equal(convgen(NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(convgen(NULL, "frobnicate", NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(errout, "unknown command 'frobnicate'"));
    assert_int_equal(convgen(NULL, "info", NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(errout, "no spec file"));
    assert_int_equal(convgen(SOURCE_DIR, "info", "--bogus", "specs/demo.lua", NULL, NULL, NULL), 2);
    assert_non_null(strstr(errout, "unknown option '--bogus'"));
    assert_int_equal(convgen(SOURCE_DIR, "check", "specs/demo.lua", "--seed", "x", NULL, NULL), 2);
    assert_non_null(strstr(errout, "--seed"));
    assert_int_equal(convgen(SOURCE_DIR, "info", "specs/demo.lua", "--code-budget", "0", NULL, NULL), 2);
    assert_int_equal(convgen(SOURCE_DIR, "info", "specs/demo.lua", "--target", "vax", NULL, NULL), 2);
    assert_non_null(strstr(errout, "unknown target 'vax'"));
#if defined(__x86_64__)
    /* A target this CPU cannot run is refused by check, not run. */
    assert_int_equal(convgen(SOURCE_DIR, "check", "specs/lenet5_c1.lua", "--target", "neon", NULL, NULL), 2);
    assert_non_null(strstr(errout, "target neon needs a CPU with neon"));
#endif
}

static void test_missing_spec_file_is_named(void **state)
{
    (void)state;
    assert_int_equal(convgen(NULL, "info", "/nonexistent/x.lua", NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(errout, "/nonexistent/x.lua"));
}

static void test_info_reports_the_demo_shape_and_counts(void **state)
{
    (void)state;
    assert_int_equal(convgen(SOURCE_DIR, "info", "specs/demo.lua", NULL, NULL, NULL, NULL), 0);
    /* The numbers of the project's notes: (1*10*10 + 1) * 1 parameters,
     * 1*200*200*1*10*10 MACs; "same" pads a 10-tap kernel by 9 = 4 + 5. */
    assert_non_null(strstr(out, "input: 1x1x200x200 (NCHW)"));
    assert_non_null(strstr(out, "output: 1x1x200x200 (NCHW)"));
    assert_non_null(strstr(out, "padding: top 4, bottom 5, left 4, right 5"));
    assert_non_null(strstr(out, "parameters: 101\n"));
    assert_non_null(strstr(out, "macs: 4000000\n"));
    assert_non_null(strstr(out, "flops: 8000000\n"));
    assert_non_null(strstr(out, "workspace bytes: 0\n"));
    assert_non_null(strstr(out, "code size: "));
}

static void test_info_and_header_list_nhwc_dimensions_in_their_order(void **state)
{
    (void)state;
    char dir[64], spec[96], header[96], text[4096];
    ts_mkdtemp(dir);
    snprintf(spec, sizeof spec, "%s/t.lua", dir);
    snprintf(header, sizeof header, "%s/t.h", dir);
    ts_write_file(spec, "conv2d { name = \"t\", batch = 2, input = { channels = 6, height = 10, width = 12 },\n"
                        "  filters = 4, groups = 2, kernel = { height = 3, width = 5 }, layout = \"nhwc\" }\n");
    assert_int_equal(convgen(NULL, "info", spec, NULL, NULL, NULL, NULL), 0);
    /* valid: 10 - 3 + 1 = 8 rows, 12 - 5 + 1 = 8 columns */
    assert_non_null(strstr(out, "input: 2x10x12x6 (NHWC)\n"));
    assert_non_null(strstr(out, "weights: 4x3x5x3 (FHWC)\n"));
    assert_non_null(strstr(out, "output: 2x8x8x4 (NHWC)\n"));
    assert_int_equal(convgen(NULL, "generate", spec, "-o", dir, NULL, NULL), 0);
    FILE *f = fopen(header, "r");
    assert_non_null(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "input    [2][10][12][6]   (N, H, W, C)"));
    assert_non_null(strstr(text, "weights  [4][3][5][3]   (F, KH, KW, C/groups), TensorFlow Lite's layout"));
    assert_non_null(strstr(text, "output   [2][8][8][4]   (N, OH, OW, F)"));
    assert_non_null(strstr(text, "#define T_INPUT_SIZE 1440\n"));   /* 2*10*12*6 */
    ts_rmtree(dir);
}

static void test_generate_writes_a_c_and_h_per_layer(void **state)
{
    (void)state;
    char dir[64];
    ts_mkdtemp(dir);
    assert_int_equal(convgen(SOURCE_DIR, "generate", "specs/mobilenet_v1.lua", "-o", dir, NULL, NULL), 0);
    assert_int_equal(ts_count_entries(dir), 4);
    char path[128];
    snprintf(path, sizeof path, "%s/mobilenet_dw1.h", dir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/mobilenet_pw1.c", dir);
    assert_int_equal(access(path, R_OK), 0);
    ts_rmtree(dir);
}

static void test_missing_output_directory_is_an_error(void **state)
{
    (void)state;
    assert_int_equal(convgen(SOURCE_DIR, "generate", "specs/demo.lua", "-o", "/nonexistent/dir", NULL, NULL), 2);
    assert_non_null(strstr(errout, "/nonexistent/dir"));
}

/* One bad spec per class: its text and a word the message must contain. */
static const struct {
    const char *text, *field;
} bad_specs[] = {
    { "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1 kernel = 3 }", ":1:" },
    { "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernal = 3 }", "kernal" },
    { "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, kernel = 3 }", "filters" },
    { "conv2d { name = \"a\", input = { channels = \"1\", height = 4, width = 4 }, filters = 1, kernel = 3 }", "input.channels" },
    { "conv2d { name = \"a\", input = { channels = 1, height = 0, width = 4 }, filters = 1, kernel = 3 }", "input.height" },
    { "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 2.5 }", "kernel" },
    { "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 5 }", "kernel" },
    { "conv2d { name = \"a\", input = { channels = 3, height = 4, width = 4 }, filters = 2, kernel = 3, groups = 2 }", "groups" },
    { "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 3, activation = \"gelu\" }", "activation" },
    { "conv2d { name = \"a\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 3, padding = \"full\" }", "padding" },
    { "conv2d { name = \"while\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 3 }", "name" },
    { "conv2d { name = \"a b\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 3 }", "name" },
    { "conv2d { name = \"a\", input = { channels = 65536, height = 256, width = 256 }, filters = 1, kernel = 3 }", "input" },
    { "-- no layer here\n", "no layer" },
    { "while true do end", "instructions" },
};

/* A bad spec after a good one: exit 2, the message names the file and the
 * field, and nothing at all is written - not even the good layer. */
static void test_bad_specs_exit_2_name_the_field_and_write_nothing(void **state)
{
    (void)state;
    char dir[64], outdir[96], good[96], bad[96];
    ts_mkdtemp(dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(good, sizeof good, "%s/good.lua", dir);
    snprintf(bad, sizeof bad, "%s/bad.lua", dir);
    assert_int_equal(mkdir(outdir, 0755), 0);
    ts_write_file(good, "conv2d { name = \"good\", input = { channels = 1, height = 4, width = 4 }, filters = 1, kernel = 3 }\n");
    for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; ++i) {
        ts_write_file(bad, bad_specs[i].text);
        const char *commands[] = { "generate", "check", "info" };
        for (int c = 0; c < 3; ++c) {
            int rc = c == 0 ? convgen(NULL, commands[c], good, bad, "-o", outdir, NULL)
                            : convgen(NULL, commands[c], good, bad, NULL, NULL, NULL);
            if (rc != 2 || !strstr(errout, "bad.lua") || !strstr(errout, bad_specs[i].field))
                fail_msg("%s with spec %zu: exit %d, stderr:\n%s", commands[c], i, rc, errout);
        }
        assert_int_equal(ts_count_entries(outdir), 0);
    }
    ts_rmtree(dir);
}

/* A layer with baked weights from the command line: generate writes a
 * .c/.h pair that builds on its own (the header declares only the
 * two-argument entry), info names the file, check passes; a bad .npy is
 * exit 2 naming the file, for every command, with nothing written; tune
 * refuses a baked layer. */
static void test_baked_weights_from_the_command_line(void **state)
{
    (void)state;
    char dir[64], outdir[96], path[128], cmd[512];
    ts_mkdtemp(dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    assert_int_equal(mkdir(outdir, 0755), 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    float w[4 * 2 * 3 * 3], b[4];
    for (int i = 0; i < 72; ++i)
        w[i] = i % 3 ? 0.25f * (float)(i % 7) - 2.0f : 0.0f;   /* zero at i = 0, 3, 6, ...: 24 */
    for (int i = 0; i < 4; ++i)
        b[i] = 0.5f - 0.25f * (float)i;
    const long long wd[4] = { 4, 2, 3, 3 }, bd[1] = { 4 };
    snprintf(path, sizeof path, "%s/sub/w.npy", dir);
    ts_write_npy(path, wd, 4, w);
    snprintf(path, sizeof path, "%s/sub/b.npy", dir);
    ts_write_npy(path, bd, 1, b);
    snprintf(path, sizeof path, "%s/sub/baked.lua", dir);
    ts_write_file(path, "conv2d { name = \"baked\", input = { channels = 2, height = 7, width = 9 },\n"
                        "  filters = 4, kernel = 3, padding = \"same\", activation = \"relu\",\n"
                        "  weights = \"w.npy\", bias_values = \"b.npy\" }\n");

    /* From another directory: the .npy paths are the spec's, not the cwd's. */
    assert_int_equal(convgen(dir, "generate", "sub/baked.lua", "-o", "out", NULL, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && printf '#include \"baked.h\"\\nint main(void) { static float x[BAKED_INPUT_SIZE], "
             "y[BAKED_OUTPUT_SIZE]; baked(x, y); return BAKED_BAKED == 1 && BAKED_PACKED_SIZE == 76 ? 0 : 1; }\\n' > m.c && "
             "cc -std=c99 -Wall -Wextra -Wpedantic -Werror -o m m.c baked.c && ./m && "
             "! grep -q 'baked_pack\\|baked_run' baked.h", outdir);
    if (shell(cmd) != 0)
        fail_msg("the baked layer does not build alone:\n%s%s", out, errout);
    assert_int_equal(convgen(dir, "info", "sub/baked.lua", NULL, NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "baked weights: sub/w.npy (72 floats)"));
    assert_non_null(strstr(out, "baked bias: sub/b.npy (4 floats)"));
    assert_non_null(strstr(out, "zero weights: 24 of 72"));
    assert_non_null(strstr(out, "zero skipping: "));
    assert_int_equal(convgen(dir, "check", "sub/baked.lua", NULL, NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "baked weights): PASS"));
    assert_int_equal(convgen(dir, "check", "sub/baked.lua", "--cc", NULL, NULL, NULL), 0);
    assert_int_equal(convgen(dir, "tune", "sub/baked.lua", NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(errout, "cannot tune a layer with baked weights"));

    /* A truncated weights file: every command says which file, writes nothing. */
    snprintf(path, sizeof path, "%s/out/baked.c", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/out/baked.h", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/sub/w.npy", dir);
    ts_write_npy(path, wd, 4, w);
    assert_int_equal(truncate(path, 200), 0);
    const char *commands[] = { "generate", "check", "info" };
    for (int c = 0; c < 3; ++c) {
        int rc = c == 0 ? convgen(dir, "generate", "sub/baked.lua", "-o", "out", NULL, NULL)
                        : convgen(dir, commands[c], "sub/baked.lua", NULL, NULL, NULL, NULL);
        if (rc != 2 || !strstr(errout, "sub/w.npy: truncated") || !strstr(errout, "field 'weights'"))
            fail_msg("%s: exit %d, stderr:\n%s", commands[c], rc, errout);
    }
    assert_int_equal(ts_count_entries(outdir), 2);   /* m.c and m: nothing new */
    ts_rmtree(dir);
}

/* Every example spec generates, compiles warning-free with gcc and clang
 * under strict flags (header and source together, so the prototype must
 * match the definition), and passes check. */
static void test_every_example_spec_builds_clean_and_passes_check(void **state)
{
    (void)state;
    glob_t g;
    assert_int_equal(glob(SOURCE_DIR "/specs/*.lua", 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 4);
    char dir[64], cmd[2048];
    ts_mkdtemp(dir);
    int layers = 0;
    for (size_t i = 0; i < g.gl_pathc; ++i) {
        assert_int_equal(convgen(NULL, "generate", g.gl_pathv[i], "-o", dir, NULL, NULL), 0);
        layers += count_of(out, "wrote ");
    }
    const char *compilers[] = { "gcc", "clang" };
    for (int c = 0; c < 2; ++c) {
        snprintf(cmd, sizeof cmd,
                 "command -v %s >/dev/null || { echo 'no %s' >&2; exit 0; }; cd %s && "
                 "for f in *.c; do b=${f%%.c}; "
                 "printf '#include \"%%s.h\"\\n#include \"%%s.c\"\\n' $b $b > tu_$b.x; "
                 "%s -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -x c -c tu_$b.x -o /dev/null || exit 1; "
                 "done",
                 compilers[c], compilers[c], dir, compilers[c]);
        if (shell(cmd) != 0)
            fail_msg("%s rejected a generated kernel:\n%s%s", compilers[c], out, errout);
    }
    ts_rmtree(dir);

    const char *argv[32] = { CONVGEN_BIN, "check" };
    size_t n = 2;
    for (size_t i = 0; i < g.gl_pathc && n < 31; ++i)
        argv[n++] = g.gl_pathv[i];
    argv[n] = NULL;
    int rc = ts_run(argv, NULL, out, sizeof out, errout, sizeof errout);
    globfree(&g);
    if (rc != 0)
        fail_msg("check failed (exit %d):\n%s%s", rc, out, errout);
    assert_int_equal(count_of(out, ": PASS\n"), layers);
    assert_int_equal(count_of(out, "FAIL"), 0);
}

/* A user's template overrides the built-in one; a broken kernel is caught
 * by check (exit 1, FAIL), and a template error names the template line. */
static void test_templates_override_and_check_catches_a_wrong_kernel(void **state)
{
    (void)state;
    char dir[64], path[160], cmd[512];
    ts_mkdtemp(dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/conv2d/generic && "
             "sed 's/\\[l\\] = %%s;/[l] = %%s + 0.5f;/' templates/conv2d/generic/isa.lua "
             "> %s/conv2d/generic/isa.lua && grep -q '0.5f' %s/conv2d/generic/isa.lua", dir, dir, dir);
    assert_int_equal(shell(cmd), 0);
    assert_int_equal(convgen(SOURCE_DIR, "check", "specs/lenet5_c1.lua", "--templates", dir, NULL, NULL), 1);
    assert_non_null(strstr(out, "lenet5_c1: "));
    assert_non_null(strstr(out, "FAIL"));
    /* The built-in templates still pass. */
    assert_int_equal(convgen(SOURCE_DIR, "check", "specs/lenet5_c1.lua", NULL, NULL, NULL, NULL), 0);

    snprintf(path, sizeof path, "%s/conv2d/tiled.c.in", dir);
    ts_write_file(path, "/* line 1 */\n/* line 2 */\n$error(\"broken on purpose\")\n");
    assert_int_equal(convgen(SOURCE_DIR, "generate", "specs/lenet5_c1.lua", "--templates", dir, "-o", dir), 2);
    assert_non_null(strstr(errout, "conv2d/tiled.c.in:3: broken on purpose"));
    /* ${} refuses floats: Lua 5.4's 8/2 is 4.0, which must not reach C. */
    ts_write_file(path, "/* line 1 */\nint x = ${8/2};\n");
    assert_int_equal(convgen(SOURCE_DIR, "generate", "specs/lenet5_c1.lua", "--templates", dir, "-o", dir), 2);
    assert_non_null(strstr(errout, "conv2d/tiled.c.in:2:"));
    assert_non_null(strstr(errout, "string or an integer"));
    assert_int_equal(ts_count_entries(dir), 1);   /* only conv2d/: nothing written */
    assert_int_equal(unlink(path), 0);

    assert_int_equal(convgen(SOURCE_DIR, "info", "specs/lenet5_c1.lua", "--templates", "/nonexistent", NULL, NULL), 2);
    assert_non_null(strstr(errout, "/nonexistent"));
    ts_rmtree(dir);
}

/* A new temporary directory for one layer: its spec t.lua and, beside it,
 * the tune record t.lua.tuned (paths only; neither is written). */
typedef struct layer_files {
    char dir[64], spec[96], tuned[112];
} layer_files;

static void layer_files_make(layer_files *f)
{
    ts_mkdtemp(f->dir);
    snprintf(f->spec, sizeof f->spec, "%s/t.lua", f->dir);
    snprintf(f->tuned, sizeof f->tuned, "%s/t.lua.tuned", f->dir);
}

/* tune times candidates, records the fastest beside the spec, and the
 * record then steers generation without timing again. */
static void test_tune_records_a_choice_that_generate_reuses(void **state)
{
    (void)state;
    if (!ts_cpu_runs("avx2")) {
        print_message("this CPU has no AVX2+FMA: tune for avx2 cannot run here\n");
        skip();
    }
    layer_files lf;
    layer_files_make(&lf);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 3, height = 10, width = 12 },\n"
                           "  filters = 20, kernel = 3, padding = 1, activation = \"relu\" }\n");
    if (convgen(NULL, "tune", lf.spec, "--target", "avx2", NULL, NULL) != 0)
        fail_msg("tune failed:\n%s%s", out, errout);
    assert_non_null(strstr(out, "fastest: "));
    assert_int_equal(access(lf.tuned, R_OK), 0);
    /* The plain entry's choice is recorded too: the whole plane (this
     * 10x12 plane has one) or a tiled kernel, whichever ran faster. */
    char record[1024];
    ts_read_text(lf.tuned, record, sizeof record);
    if (!strstr(out, "plain entry: planes") != !strstr(record, "plain_kernel = \"planes\"")
        || !strstr(record, "plain_kernel = \""))
        fail_msg("the plain entry's choice is not recorded as reported:\n%s%s", out, record);
    /* A recorded tile carries the channels a pass of the tiled kernel it
     * reports (" uN"): the plain entry's, or else the packed entry's. */
    const char *tiled = strstr(out, "plain entry: tiled ");
    if (!tiled)
        tiled = strstr(out, "fastest: tiled ");
    if (tiled) {
        int u_out = 0, u_rec = 0;
        const char *u = strstr(tiled, " u"), *r = strstr(record, "unroll = ");
        if (!u || sscanf(u, " u%d", &u_out) != 1 || !r || sscanf(r, "unroll = %d", &u_rec) != 1 || u_out != u_rec)
            fail_msg("the tiled kernel's channels a pass are not recorded as reported:\n%s%s", out, record);
    }

    /* A record naming a tile the model would not pick is obeyed. */
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx2\", packed_kernel = \"tiled\",\n"
                            "        tile = { filters = 1, rows = 1, vectors = 1 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
    assert_non_null(strstr(out, "tile: 1 filters x 1 rows x 1 vectors"));
    assert_int_equal(convgen(NULL, "check", lf.spec, "--target", "avx2", NULL, NULL), 0);
    /* Another target is not steered by it. */
    assert_int_equal(convgen(NULL, "info", lf.spec, NULL, NULL, NULL, NULL), 0);
    assert_null(strstr(out, "tile: 1 filters x 1 rows x 1 vectors"));

    /* A record's plain_kernel picks the plain entry's kernel. */
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx2\", packed_kernel = \"tiled\", plain_kernel = \"planes\",\n"
                            "        tile = { filters = 1, rows = 1, vectors = 1 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
    assert_non_null(strstr(out, "\nplain kernel: whole plane: "));
    assert_non_null(strstr(out, "\npacked kernel: the tiled kernel above"));
    assert_int_equal(convgen(NULL, "check", lf.spec, "--target", "avx2", NULL, NULL), 0);
    /* Where the layer has no whole-plane kernel, that is an input error
     * naming the record, and so is a value other than the two kernels. */
    ts_write_file(lf.tuned, "\ntuned { layer = \"t\", target = \"neon\", plain_kernel = \"planes\" }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "neon", NULL, NULL), 2);
    if (!strstr(errout, "t.lua.tuned:2:") || !strstr(errout, "plain_kernel") || !strstr(errout, "masked loads"))
        fail_msg("unexpected message: %s", errout);
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx2\", plain_kernel = \"plane\" }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 2);
    if (!strstr(errout, "t.lua.tuned:1:") || !strstr(errout, "plain_kernel"))
        fail_msg("unexpected message: %s", errout);

    /* A broken record is an input error naming its file and line. */
    ts_write_file(lf.tuned, "\ntuned { layer = \"t\", target = \"avx2\", tile = { filters = 0, rows = 1, vectors = 1 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(errout, "t.lua.tuned:2:"));
    assert_non_null(strstr(errout, "tile.filters"));
    ts_rmtree(lf.dir);
}

/* Channel blocks recorded by tune steer both kernels, which agree with the
 * reference: 40 filters make the tiled kernel's last tile of 3 filters
 * overlap the one before (its overlap must not be added twice), the
 * plane's last tiles reach past its edges, and leaky_relu (not
 * idempotent) must be applied once, after the last block. A record
 * without channels runs unblocked, as it was timed. */
static void test_tuned_channel_blocks_steer_both_kernels(void **state)
{
    (void)state;
    if (!ts_cpu_runs("avx512")) {
        print_message("this CPU has no AVX-512F: the blocked kernels cannot run here\n");
        skip();
    }
    layer_files lf;
    layer_files_make(&lf);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 48, height = 9, width = 11 },\n"
                           "  filters = 40, kernel = 3, padding = 1, activation = \"leaky_relu\", alpha = 0.2 }\n");
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx512\", packed_kernel = \"filter_vectors\",\n"
                            "        plain_kernel = \"tiled\", tile = { filters = 3, rows = 2, vectors = 1, channels = 16 },\n"
                            "        fv_tile = { vectors = 2, rows = 2, pixels = 4, channels = 12 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx512", NULL, NULL), 0);
    assert_non_null(strstr(out, "\nchannel blocks: 16 of 48 channels\n"));
    assert_non_null(strstr(out, "vectors of 16 filters x 2 rows x 4 pixels"));
    assert_non_null(strstr(out, "\npacked channel blocks: 12 of 48 channels\n"));
    if (convgen(NULL, "check", lf.spec, "--target", "avx512", NULL, NULL) != 0)
        fail_msg("check failed:\n%s%s", out, errout);

    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx512\", packed_kernel = \"filter_vectors\",\n"
                            "        plain_kernel = \"tiled\", tile = { filters = 3, rows = 2, vectors = 1 },\n"
                            "        fv_tile = { vectors = 2, rows = 2, pixels = 4 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx512", NULL, NULL), 0);
    assert_null(strstr(out, "channel blocks"));

    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx512\", tile = { filters = 3, rows = 2, vectors = 1, channels = 0 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(errout, "t.lua.tuned:1:"));
    assert_non_null(strstr(errout, "tile.channels"));
    ts_rmtree(lf.dir);
}

/* Row groups of the filter-vectorized kernel: forced by the spec (nine
 * rows with padding 1 leave seven interior one-row tiles, three to a
 * group: three groups, the borders in the first and the last), the
 * kernel agrees with the reference; and chosen for resnet50_pw_s2, whose
 * 1.6 MB input outgrows L2: 28 x 2 input rows x 512 channels x 4 bytes =
 * 114688 bytes per output row, six rows in 768 KiB, 14 rows in 3 groups. */
static void test_row_groups_are_forced_or_chosen_and_agree(void **state)
{
    (void)state;
    if (!ts_cpu_runs("avx512")) {
        print_message("this CPU has no AVX-512F: the filter-vectorized kernel cannot run here\n");
        skip();
    }
    char bench[512];
    layer_files lf;
    layer_files_make(&lf);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 20, height = 9, width = 11 },\n"
                           "  filters = 40, kernel = 3, padding = 1, row_group = 3, activation = \"relu\" }\n");
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx512\", packed_kernel = \"filter_vectors\",\n"
                            "        plain_kernel = \"tiled\", tile = { filters = 3, rows = 2, vectors = 1 },\n"
                            "        fv_tile = { vectors = 1, rows = 1, pixels = 4 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx512", NULL, NULL), 0);
    assert_non_null(strstr(out, "vectors of 16 filters x 1 rows x 4 pixels"));
    assert_non_null(strstr(out, "\npacked row groups: 3 over 9 output rows\n"));
    if (convgen(NULL, "check", lf.spec, "--target", "avx512", NULL, NULL) != 0)
        fail_msg("check failed:\n%s%s", out, errout);
    ts_rmtree(lf.dir);

    snprintf(bench, sizeof bench, "%s/specs/bench/bench_resnet50_pw_s2.lua", SOURCE_DIR);
    assert_int_equal(convgen(NULL, "info", bench, "--target", "avx512", NULL, NULL), 0);
    assert_non_null(strstr(out, "\npacked row groups: 3 over 14 output rows\n"));
}

/* A filter-vectorized tile one register short (tune tries them): its
 * accumulators, weight vectors and broadcast pixel need 33 AVX-512
 * registers (4 x 7 + 4 + 1) or 17 AVX2 ones (2 x 7 + 2 + 1). Its last
 * weight vector is then read from memory by each multiply-add instead of
 * the compiler spilling an accumulator; info says so, and the kernel,
 * with 72 filters (on avx512 the last vector partial) and a stride of 2,
 * agrees with the reference on each target this CPU runs.
 * Untuned, the model takes such a tile for a 1x1 NCHW layer on avx512
 * (resnet50_pw_s2's shape: 4x7, as tune found) but not on avx2, where
 * the extra loads cost more than the tile gains. */
static void test_tiles_one_register_short_read_weights_from_memory(void **state)
{
    (void)state;
    char c_file[112];
    layer_files lf;
    layer_files_make(&lf);
    snprintf(c_file, sizeof c_file, "%s/t.c", lf.dir);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 24, height = 10, width = 28 },\n"
                           "  filters = 72, kernel = 1, stride = 2, activation = \"relu\" }\n");
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx512\", packed_kernel = \"filter_vectors\",\n"
                            "        tile = { filters = 4, rows = 1, vectors = 1 },\n"
                            "        fv_tile = { vectors = 4, rows = 1, pixels = 7 } }\n"
                            "tuned { layer = \"t\", target = \"avx2\", packed_kernel = \"filter_vectors\",\n"
                            "        tile = { filters = 4, rows = 1, vectors = 1 },\n"
                            "        fv_tile = { vectors = 2, rows = 1, pixels = 7 } }\n");
    const char *targets[] = { "avx512", "avx2" };
    const char *tiles[] = { "4 vectors of 16 filters x 1 rows x 7 pixels", "2 vectors of 8 filters x 1 rows x 7 pixels" };
    for (int t = 0; t < 2; ++t) {
        assert_int_equal(convgen(NULL, "info", lf.spec, "--target", targets[t], NULL, NULL), 0);
        const char *line = strstr(out, tiles[t]);
        if (!line || !strstr(line, "; 1 weight vector read from memory by the multiply-adds\n"))
            fail_msg("%s: no memory weights in:\n%s", targets[t], out);
        assert_int_equal(convgen(NULL, "generate", lf.spec, "-o", lf.dir, "--target", targets[t]), 0);
        char grep[160];
        snprintf(grep, sizeof grep, "grep -qF '__asm__(\"vfmadd231ps %%2, %%1, %%0\"' %s", c_file);
        if (shell(grep) != 0)
            fail_msg("%s: no multiply-add with a memory operand in %s", targets[t], c_file);
        if (!ts_cpu_runs(targets[t])) {
            print_message("this CPU has no %s: its kernel cannot run here\n", targets[t]);
            continue;
        }
        if (convgen(NULL, "check", lf.spec, "--target", targets[t], NULL, NULL) != 0)
            fail_msg("%s: check failed:\n%s%s", targets[t], out, errout);
    }

    assert_int_equal(unlink(lf.tuned), 0);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 512, height = 28, width = 28 },\n"
                           "  filters = 1024, kernel = 1, stride = 2 }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx512", NULL, NULL), 0);
    if (!strstr(out, "4 vectors of 16 filters x 1 rows x 7 pixels; 2504 lines of reduction code; "
                     "1 weight vector read from memory by the multiply-adds\n"))
        fail_msg("avx512: the model did not take the 4x7 tile:\n%s", out);
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
    if (strstr(out, "read from memory"))
        fail_msg("avx2: the model took a tile one register short:\n%s", out);
    ts_rmtree(lf.dir);
}

/* info on spec for avx512 must say each of want[0..n) (what names the
 * case in failures), and where this CPU has AVX-512 the kernel must agree
 * with the reference. */
static void avx512_info_says_and_checks(const char *spec, const char *const *want, int n, const char *what)
{
    assert_int_equal(convgen(NULL, "info", spec, "--target", "avx512", NULL, NULL), 0);
    for (int i = 0; i < n; ++i)
        if (!strstr(out, want[i]))
            fail_msg("%s: no '%s' in:\n%s", what, want[i], out);
    if (ts_cpu_runs("avx512") && convgen(NULL, "check", spec, "--target", "avx512", NULL, NULL) != 0)
        fail_msg("%s: check failed:\n%s%s", what, out, errout);
}

/* The untuned model's tiled kernel for a 1x1 layer on AVX-512: a tie in
 * modelled cost goes to 4 filters x 4 vectors (8 x 2 ran 2-8% slower on
 * Zen 5), and the channel loop takes 2 channels a pass (plan.UNROLLS:
 * 4 x 4 accumulators take 24 lines a channel, and a pass is held to 64).
 * The long run tune also times, 32 channels (half the layer: a straight
 * run of 64 spilled the accumulators and ran at half speed), is what a
 * record of 32 gives. A 3x3 layer keeps the old tie-break, more filters
 * first. The kernels agree with the reference. */
static void test_untuned_1x1_layers_take_wide_tiles_in_short_runs(void **state)
{
    (void)state;
    layer_files lf;
    layer_files_make(&lf);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 64, height = 25, width = 5 },\n"
                           "  filters = 64, kernel = 1 }\n");
    const char *untuned[] = { "tile: 4 filters x 1 rows x 4 vectors of 16", "channel loop unrolled by 2)" };
    avx512_info_says_and_checks(lf.spec, untuned, 2, "untuned 1x1");
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx512\", packed_kernel = \"tiled\",\n"
                            "        tile = { filters = 4, rows = 1, vectors = 4, channels = 64, unroll = 32 } }\n");
    const char *long_run[] = { "channel loop unrolled by 32)" };
    avx512_info_says_and_checks(lf.spec, long_run, 1, "1x1 with a record of 32 channels a pass");
    /* A record's count that does not divide the channels is an input
     * error naming the record's line and the field. */
    ts_write_file(lf.tuned, "\ntuned { layer = \"t\", target = \"avx512\", packed_kernel = \"tiled\",\n"
                            "        tile = { filters = 4, rows = 1, vectors = 4, channels = 64, unroll = 24 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx512", NULL, NULL), 2);
    if (!strstr(errout, "t.lua.tuned:2:") || !strstr(errout, "'tile.unroll'") || !strstr(errout, "block of 64"))
        fail_msg("unexpected message: %s", errout);
    assert_int_equal(unlink(lf.tuned), 0);

    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 16, height = 28, width = 28 },\n"
                           "  filters = 64, kernel = 3, padding = 1 }\n");
    const char *three[] = { "tile: 8 filters x 2 rows x 1 vectors of 16" };
    avx512_info_says_and_checks(lf.spec, three, 1, "untuned 3x3");
    ts_rmtree(lf.dir);
}

/* At a 1x1 NCHW layer the filter-vectorized kernel's first filter tile
 * prefetches, channel by channel, the next tile's input (the later filter
 * tiles find it in cache). The layer here has a padded border (tiles
 * without taps), two-row tiles, row groups and a stride of 2. A harness
 * built with the kernel records each prefetched address: there must be
 * some, all inside the input. A 3x3 layer gets none. The kernel agrees
 * with the reference. */
static void test_first_filter_tile_prefetches_the_next_tiles_input(void **state)
{
    (void)state;
    if (!ts_cpu_runs("avx2")) {
        print_message("this CPU has no AVX2+FMA: the kernel cannot run here\n");
        skip();
    }
    char harness[112], cmd[512];
    layer_files lf;
    layer_files_make(&lf);
    snprintf(harness, sizeof harness, "%s/harness.c", lf.dir);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 24, height = 21, width = 28 },\n"
                           "  filters = 40, kernel = 1, stride = 2, padding = 1, row_group = 4 }\n");
    ts_write_file(lf.tuned, "tuned { layer = \"t\", target = \"avx2\", packed_kernel = \"filter_vectors\",\n"
                            "        tile = { filters = 4, rows = 1, vectors = 1 },\n"
                            "        fv_tile = { vectors = 1, rows = 2, pixels = 5 } }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
    assert_non_null(strstr(out, "1 vectors of 8 filters x 2 rows x 5 pixels"));
    assert_non_null(strstr(out, "\npacked row groups: 2 over 12 output rows\n"));
    assert_int_equal(convgen(NULL, "generate", lf.spec, "-o", lf.dir, "--target", "avx2"), 0);
    ts_write_file(harness,
        "#include <immintrin.h>\n"
        "#include <stdio.h>\n"
        "static const char *lo, *hi;\n"
        "static long inside, outside;\n"
        "static void seen(const void *p)\n"
        "{\n"
        "    if ((const char *)p >= lo && (const char *)p < hi) ++inside; else ++outside;\n"
        "}\n"
        "#undef _mm_prefetch\n"
        "#define _mm_prefetch(p, hint) seen(p)\n"
        "#include \"t.h\"\n"
        "#include \"t.c\"\n"
        "static float in[T_INPUT_SIZE], w[T_WEIGHTS_SIZE], b[T_BIAS_SIZE], pk[T_PACKED_SIZE], o[T_OUTPUT_SIZE];\n"
        "int main(void)\n"
        "{\n"
        "    lo = (const char *)in;\n"
        "    hi = (const char *)(in + T_INPUT_SIZE);\n"
        "    t_pack(w, b, pk);\n"
        "    t_run(in, pk, o);\n"
        "    printf(\"%ld inside, %ld outside\\n\", inside, outside);\n"
        "    return inside > 0 && outside == 0 ? 0 : 1;\n"
        "}\n");
    snprintf(cmd, sizeof cmd, "cd %s && cc -O2 -mavx2 -mfma -o harness harness.c && ./harness", lf.dir);
    if (shell(cmd) != 0)
        fail_msg("prefetches: %s%s", out, errout);
    if (convgen(NULL, "check", lf.spec, "--target", "avx2", NULL, NULL) != 0)
        fail_msg("check failed:\n%s%s", out, errout);

    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 24, height = 21, width = 28 },\n"
                           "  filters = 40, kernel = 3, stride = 2, padding = 1 }\n");
    assert_int_equal(convgen(NULL, "generate", lf.spec, "-o", lf.dir, "--target", "avx2"), 0);
    snprintf(cmd, sizeof cmd, "grep -c _mm_prefetch %s/t.c", lf.dir);
    if (shell(cmd) == 0)
        fail_msg("a 3x3 layer prefetches: %s", out);
    ts_rmtree(lf.dir);
}

/* Generate lf's layer for avx2, build lf's harness.c with it and defines
 * (the harness exits 0 when its prefetches pass), run it, and check the
 * kernel against the reference; fail naming what on any step. */
static void prefetch_harness_passes(const layer_files *lf, const char *defines, const char *what)
{
    char cmd[640];
    assert_int_equal(convgen(NULL, "generate", lf->spec, "-o", lf->dir, "--target", "avx2"), 0);
    snprintf(cmd, sizeof cmd, "cd %s && cc -O2 -mavx2 -mfma %s -o harness harness.c && ./harness",
             lf->dir, defines);
    if (shell(cmd) != 0)
        fail_msg("%s: %s%s", what, out, errout);
    if (convgen(NULL, "check", lf->spec, "--target", "avx2", NULL, NULL) != 0)
        fail_msg("%s: check failed:\n%s%s", what, out, errout);
}

/* Where a filter-vectorized kernel's weights come from memory at every
 * call (more than 4 MiB; here 256 -> 512 filters, 3x3: 4.7 MB), every
 * channel step prefetches its share of the next block's weights, so that
 * each block after the first comes in while the one before computes. A
 * harness built with the kernel marks each prefetched cache line: every
 * prefetch lies inside the packed weights, and every line of them is
 * prefetched but the first block's (filter tile 0, channels 0..63, two
 * vectors of 8 filters: 64 * 9 * 8 floats each, K * 8 = 18432 floats
 * apart), both in blocks of 64 channels and unblocked (where the first
 * block is all of filter tile 0's weights). The kernel agrees with the
 * reference. With one tile position per block, at most 8 lines go per
 * step; a layer whose outputs all see only padding (8 MiB of weights) has
 * no positions and no prefetch. A layer with 4.1 MB of weights (in L3)
 * gets no such prefetch. */
static void test_large_weights_are_prefetched_a_block_ahead(void **state)
{
    (void)state;
    if (!ts_cpu_runs("avx2")) {
        print_message("this CPU has no AVX2+FMA: the kernel cannot run here\n");
        skip();
    }
    static const struct {
        int channels;                 /* the channel block */
        long first[2][2];             /* the first block: [lo, hi) floats of each vector */
    } cases[] = {
        { 64, { { 0, 4608 }, { 18432, 23040 } } },
        { 256, { { 0, 18432 }, { 18432, 36864 } } },
    };
    char harness[112], tuned[256], defines[128], what[64];
    layer_files lf;
    layer_files_make(&lf);
    snprintf(harness, sizeof harness, "%s/harness.c", lf.dir);
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 256, height = 6, width = 6 },\n"
                           "  filters = 512, kernel = 3, padding = 1 }\n");
    ts_write_file(harness,
        "#include <immintrin.h>\n"
        "#include <stdio.h>\n"
        "#define W (512L * 256 * 9)   /* weight floats: the packed weights, then the bias */\n"
        "static _Alignas(64) float pk[W + 512];\n"
        "static unsigned char marked[W / 16];\n"
        "static long outside;\n"
        "static void seen(const void *p)\n"
        "{\n"
        "    long f = (const float *)p - pk;\n"
        "    if (f >= 0 && f < W) marked[f / 16] = 1; else ++outside;\n"
        "}\n"
        "#undef _mm_prefetch\n"
        "#define _mm_prefetch(p, hint) seen(p)\n"
        "#include \"t.h\"\n"
        "#include \"t.c\"\n"
        "static float in[T_INPUT_SIZE], w[T_WEIGHTS_SIZE], b[T_BIAS_SIZE], o[T_OUTPUT_SIZE];\n"
        "int main(void)\n"
        "{\n"
        "    _Static_assert(T_PACKED_SIZE == W + 512, \"the packed layout changed\");\n"
        "    long missing = 0, first = 0, hit = 0;\n"
        "    t_pack(w, b, pk);\n"
        "    t_run(in, pk, o);\n"
        "    for (long l = 0; l < W / 16; ++l) {\n"
        "        int in_first = (l * 16 >= F0LO && l * 16 < F0HI) || (l * 16 >= F1LO && l * 16 < F1HI);\n"
        "        first += in_first;\n"
        "        missing += !in_first && !marked[l];\n"
        "        hit += marked[l];\n"
        "    }\n"
        "    printf(\"%ld lines not prefetched (of %ld), %ld outside the weights; first block %ld lines\\n\",\n"
        "           missing, W / 16, outside, first);\n"
        "    return (missing == 0 || !COVER) && outside == 0 && hit > 0 ? 0 : 1;\n"
        "}\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        snprintf(tuned, sizeof tuned,
                 "tuned { layer = \"t\", target = \"avx2\", packed_kernel = \"filter_vectors\",\n"
                 "        tile = { filters = 4, rows = 1, vectors = 1 },\n"
                 "        fv_tile = { vectors = 2, rows = 3, pixels = 3, channels = %d } }\n",
                 cases[i].channels);
        ts_write_file(lf.tuned, tuned);
        assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
        assert_non_null(strstr(out, "2 vectors of 8 filters x 3 rows x 3 pixels"));
        assert_non_null(strstr(out, "\npacked weight prefetch: the next block's weights"));
        snprintf(defines, sizeof defines, "-DCOVER=1 -DF0LO=%ld -DF0HI=%ld -DF1LO=%ld -DF1HI=%ld",
                 cases[i].first[0][0], cases[i].first[0][1], cases[i].first[1][0], cases[i].first[1][1]);
        snprintf(what, sizeof what, "blocks of %d channels", cases[i].channels);
        prefetch_harness_passes(&lf, defines, what);
    }

    /* One output pixel, so one tile position per block: spreading a
     * block's 288 lines per vector over its few steps would take dozens a
     * step. At most 8 go, all inside the weights. */
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 256, height = 2, width = 2 },\n"
                           "  filters = 512, kernel = 3, stride = 3, padding = 1 }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
    if (!strstr(out, "\npacked weight prefetch: the next block's weights, ")
        || !strstr(out, "cache lines, 8 per channel step\n"))
        fail_msg("one position per block: not 8 lines a step:\n%s", out);
    prefetch_harness_passes(&lf, "-DCOVER=0 -DF0LO=0 -DF0HI=0 -DF1LO=0 -DF1HI=0", "one position per block");

    /* Every output sees only padding: no tile position, no prefetch. */
    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 256, height = 1, width = 1 },\n"
                           "  filters = 8192, kernel = 1, stride = 2, padding = 1 }\n");
    if (convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL) != 0)
        fail_msg("a layer of padding only: %s%s", out, errout);
    assert_non_null(strstr(out, "filter-vectorized"));
    if (strstr(out, "weight prefetch"))
        fail_msg("a layer of padding only prefetches:\n%s", out);
    if (convgen(NULL, "check", lf.spec, "--target", "avx2", NULL, NULL) != 0)
        fail_msg("a layer of padding only: check failed:\n%s%s", out, errout);

    ts_write_file(lf.spec, "conv2d { name = \"t\", input = { channels = 256, height = 6, width = 6 },\n"
                           "  filters = 448, kernel = 3, padding = 1 }\n");
    assert_int_equal(convgen(NULL, "info", lf.spec, "--target", "avx2", NULL, NULL), 0);
    assert_non_null(strstr(out, "2 vectors of 8 filters x 3 rows x 3 pixels"));
    if (strstr(out, "weight prefetch"))
        fail_msg("4.1 MB of weights are prefetched:\n%s", out);
    ts_rmtree(lf.dir);
}

/* The templates are inside the binary: an installed convgen works from
 * any directory, with nothing beside it. */
static void test_installed_convgen_works_from_anywhere(void **state)
{
    (void)state;
    char dir[64], cmd[512];
    ts_mkdtemp(dir);
    snprintf(cmd, sizeof cmd, "make -s install PREFIX=%s >/dev/null && cd / && "
             "%s/bin/convgen check %s/specs/lenet5_c1.lua", dir, dir, SOURCE_DIR);
    if (shell(cmd) != 0)
        fail_msg("installed convgen failed:\n%s%s", out, errout);
    assert_non_null(strstr(out, "lenet5_c1: "));
    assert_non_null(strstr(out, "PASS"));
    ts_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_is_printed_for_every_command),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_missing_spec_file_is_named),
        cmocka_unit_test(test_info_reports_the_demo_shape_and_counts),
        cmocka_unit_test(test_info_and_header_list_nhwc_dimensions_in_their_order),
        cmocka_unit_test(test_generate_writes_a_c_and_h_per_layer),
        cmocka_unit_test(test_missing_output_directory_is_an_error),
        cmocka_unit_test(test_bad_specs_exit_2_name_the_field_and_write_nothing),
        cmocka_unit_test(test_baked_weights_from_the_command_line),
        cmocka_unit_test(test_every_example_spec_builds_clean_and_passes_check),
        cmocka_unit_test(test_templates_override_and_check_catches_a_wrong_kernel),
        cmocka_unit_test(test_tune_records_a_choice_that_generate_reuses),
        cmocka_unit_test(test_tuned_channel_blocks_steer_both_kernels),
        cmocka_unit_test(test_tiles_one_register_short_read_weights_from_memory),
        cmocka_unit_test(test_untuned_1x1_layers_take_wide_tiles_in_short_runs),
        cmocka_unit_test(test_row_groups_are_forced_or_chosen_and_agree),
        cmocka_unit_test(test_first_filter_tile_prefetches_the_next_tiles_input),
        cmocka_unit_test(test_large_weights_are_prefetched_a_block_ahead),
        cmocka_unit_test(test_installed_convgen_works_from_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
