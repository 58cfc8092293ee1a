/*
 * test_network.c - network { } specs: layers chained output to input,
 * shape mismatches named by both layers, the static memory plan and the
 * generated network checked against the reference layer by layer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INPUT "input = { channels = 3, height = 5, width = 5 }"

/* Loading text as net.lua must fail as the user's error with a message
 * containing every one of needles. */
static void check_rejected(const char *text, const char *const *needles)
{
    char err[TS_ERRLEN];
    int rc = ts_load_status("net.lua", text, err, sizeof err);
    if (rc != CG_ERR_INPUT)
        fail_msg("expected CG_ERR_INPUT, got %d (%s) for:\n%s", rc,
                 rc == CG_OK ? "it loaded" : err, text);
    for (; *needles; ++needles)
        if (!strstr(err, *needles))
            fail_msg("message lacks \"%s\": %s", *needles, err);
}
#define REJECTS(text, ...) check_rejected(text, (const char *const[]){ __VA_ARGS__, NULL })

/* --- the chain ------------------------------------------------------------ */

static void test_network_layers_take_their_input_from_the_layer_before(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("net.lua",
        "network {\n"
        "  name = \"n\",\n"
        "  conv2d { name = \"a\", " INPUT ", batch = 2, filters = 6, kernel = 3 },\n"
        "  conv2d { name = \"b\", filters = 4, kernel = 2, stride = 2, padding = \"same\" },\n"
        "}\n");
    char err[TS_ERRLEN];
    cg_conv b;
    assert_int_equal(cg_gen_count(g), 2);
    assert_int_equal(cg_gen_params(g, 1, &b, err, sizeof err), CG_OK);
    /* a: 5x5 with a 3x3 kernel, no padding -> 3x3, 6 filters, batch 2. */
    assert_int_equal(b.channels, 6);
    assert_int_equal(b.height, 3);
    assert_int_equal(b.width, 3);
    assert_int_equal(b.batch, 2);
    /* b: "same" with stride 2 over 3 pixels -> 2 outputs; padding
     * (2 - 1) * 2 + 2 - 3 = 1 in all, after. */
    assert_int_equal(b.out_h, 2);
    assert_int_equal(b.pad_top, 0);
    assert_int_equal(b.pad_bottom, 1);

    cg_network net;
    assert_int_equal(cg_gen_network_count(g), 1);
    assert_int_equal(cg_gen_network(g, 0, &net, err, sizeof err), CG_OK);
    assert_string_equal(net.name, "n");
    assert_int_equal(net.count, 2);
    assert_int_equal(net.layers[0], 0);
    assert_int_equal(net.layers[1], 1);
    assert_int_equal(net.input_size, 2 * 3 * 5 * 5);
    assert_int_equal(net.output_size, 2 * 4 * 2 * 2);
    cg_network_free(&net);
    cg_gen_free(g);
}

static void test_network_input_that_does_not_match_names_both_layers(void **state)
{
    (void)state;
    REJECTS("network {\n"
            "  name = \"n\",\n"
            "  conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 },\n"
            "  conv2d { name = \"b\", input = { channels = 6, height = 4, width = 3 }, filters = 4, kernel = 1 },\n"
            "}\n",
            "net.lua:4: layer 'b'", "'input'", "6 x 4 x 3", "6 x 3 x 3", "layer 'a' (net.lua:3)",
            "network 'n'");
    REJECTS("network {\n"
            "  name = \"n\",\n"
            "  conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 },\n"
            "  conv2d { name = \"b\", batch = 3, filters = 4, kernel = 1 },\n"
            "}\n",
            "net.lua:4: layer 'b'", "'batch'", "layer 'a'");
    REJECTS("network {\n"
            "  name = \"n\",\n"
            "  conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 },\n"
            "  conv2d { name = \"b\", layout = \"nhwc\", filters = 4, kernel = 1 },\n"
            "}\n",
            "net.lua:4: layer 'b'", "'layout'", "\"nhwc\"", "layer 'a' (net.lua:3)");
}

static void test_network_a_matching_input_may_be_written_out(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("net.lua",
        "network { name = \"n\",\n"
        "  conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 },\n"
        "  conv2d { name = \"b\", input = { channels = 6, height = 3, width = 3 }, filters = 4, kernel = 1 } }\n");
    cg_gen_free(g);
}

static void test_network_entries_must_be_new_layers(void **state)
{
    (void)state;
    REJECTS("local a = conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 }\n"
            "network { name = \"n\", a }\n"
            "network { name = \"m\", a }\n",
            "net.lua:3: network 'm'", "layer 'a' (net.lua:1)", "already in network 'n' (net.lua:2)");
    REJECTS("local a = conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 }\n"
            "network { name = \"n\", a, a }\n",
            "net.lua:2: network 'n'", "already in network 'n'");
    REJECTS("network { name = \"n\", 42 }\n", "net.lua:1: network 'n'", "entry 1 is 42, not a layer");
    REJECTS("network { name = \"n\", { name = \"x\" } }\n", "net.lua:1: network 'n'", "not a layer");
    REJECTS("network { name = \"n\" }\n", "net.lua:1: network 'n'", "no layers");
    REJECTS("network { name = \"n\", [2] = conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 } }\n",
            "net.lua:1: network 'n'", "entry 1 of 2 is missing");
    REJECTS("network { name = \"n\", layers = 3, conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 } }\n",
            "net.lua:1: network 'n'", "unknown field 'layers'");
    REJECTS("network \"n\"\n", "net.lua:1:", "network expects a table");
}

static void test_network_names_are_checked_like_layer_names(void **state)
{
    (void)state;
    REJECTS("network { conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 } }\n",
            "net.lua:1: network #1", "missing required field 'name'");
    REJECTS("network { name = \"int\", conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 } }\n",
            "net.lua:1: network 'int'", "C keyword");
    REJECTS("network { name = \"A\", conv2d { name = \"a\", " INPUT ", filters = 6, kernel = 3 } }\n",
            "net.lua:1: network 'A'", "clashes with layer 'a'");
}

static void test_network_first_layer_needs_an_input(void **state)
{
    (void)state;
    REJECTS("network { name = \"n\", conv2d { name = \"a\", filters = 6, kernel = 3 } }\n",
            "net.lua:1: layer 'a'", "missing required field 'input'");
}

/* --- the memory plan ------------------------------------------------------- */

/* 3x5x5 (75 floats) -> 5 filters (125) -> 7 (175) -> 2 (50) -> 3 (75),
 * all 1x1. The activations between layers, rounded up to 16 floats: 128,
 * 176, 64. At alternate ends of scratch, the largest consecutive pair sets
 * its size: 128 + 176 = 304 floats; the first and third at offset 0, the
 * second at 304 - 176 = 128. Naive: 75 + 125 + 175 + 50 + 75 = 500 floats;
 * this plan: 75 + 75 + 304 = 454. */
static const char plan_spec[] =
    "network { name = \"n\",\n"
    "  conv2d { name = \"l1\", " INPUT ", filters = 5, kernel = 1 },\n"
    "  conv2d { name = \"l2\", filters = 7, kernel = 1 },\n"
    "  conv2d { name = \"l3\", filters = 2, kernel = 1 },\n"
    "  conv2d { name = \"l4\", filters = 3, kernel = 1 } }\n";

static void test_network_memory_plan_reuses_two_buffers(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("plan.lua", plan_spec);
    char err[TS_ERRLEN], *text;
    cg_network net;
    assert_int_equal(cg_gen_network(g, 0, &net, err, sizeof err), CG_OK);
    assert_int_equal(net.scratch_size, 304);
    assert_int_equal(net.input_size, 75);
    assert_int_equal(net.output_size, 75);
    cg_network_free(&net);
    assert_int_equal(cg_gen_network_info(g, 0, &text, err, sizeof err), CG_OK);
    const char *want[] = {
        "network: n\n", "layers: 4: l1 -> l2 -> l3 -> l4\n",
        "scratch: 1216 bytes (304 floats)",
        "activation memory: 1816 bytes (454 floats) with this plan",
        "activation memory, naive: 2000 bytes (500 floats)",
        "parameters: 87\n",   /* (3+1)*5 + (5+1)*7 + (7+1)*2 + (2+1)*3 = 20 + 42 + 16 + 9 */
        "macs: 1750\n",       /* 25 * (3*5 + 5*7 + 7*2 + 2*3) = 25 * 70 */
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; ++i)
        if (!strstr(text, want[i]))
            fail_msg("info lacks \"%s\":\n%s", want[i], text);
    free(text);
    cg_gen_free(g);
}

/* A layer whose 1 MiB output the model would stream (plan.streaming)
 * keeps it in the cache inside a network, where the next layer reads it
 * at once; the same layer on its own streams. */
static void test_network_layers_keep_their_outputs_in_the_cache(void **state)
{
    (void)state;
    static const char layer[] =
        "conv2d { name = \"big\", input = { channels = 16, height = 64, width = 64 }, filters = 64, kernel = 1 }";
    char text[512], err[TS_ERRLEN];
    for (int in_net = 0; in_net < 2; ++in_net) {
        if (in_net)
            snprintf(text, sizeof text, "network { name = \"n\",\n  %s,\n  conv2d { name = \"next\", filters = 4, kernel = 1 } }\n", layer);
        else
            snprintf(text, sizeof text, "%s\n", layer);
        cg_gen *g = ts_gen_from_text("big.lua", text);
        cg_gen_options opts = { "avx512", 0, 0 };
        cg_sources src;
        assert_int_equal(cg_gen_emit(g, 0, &opts, &src, err, sizeof err), CG_OK);
        cg_gen_free(g);
        if ((strstr(src.c, "_mm512_stream_ps(") != NULL) == in_net)
            fail_msg("%s: %s streaming stores", text, in_net ? "has" : "lacks");
        cg_sources_free(&src);
    }
}

static void test_network_without_baked_weights_does_not_generate(void **state)
{
    (void)state;
    char dir[64], spec[96], out[4096], errout[4096];
    ts_mkdtemp(dir);
    snprintf(spec, sizeof spec, "%s/plan.lua", dir);
    ts_write_file(spec, plan_spec);
    const char *argv[] = { CONVGEN_BIN, "generate", "-o", dir, spec, NULL };
    assert_int_equal(ts_run(argv, NULL, out, sizeof out, errout, sizeof errout), 2);
    if (!strstr(errout, "network 'n'") || !strstr(errout, "layer 'l1'") || !strstr(errout, "'weights'"))
        fail_msg("unexpected message: %s", errout);
    assert_int_equal(ts_count_entries(dir), 1);   /* the spec alone */
    ts_rmtree(dir);
}

/* --- the example network, generated, checked and embedded ------------------ */

#define OUTLEN 65536
static char out[OUTLEN], errout[OUTLEN];

static int shell(const char *cmd, const char *cwd)
{
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    return ts_run(argv, cwd, out, sizeof out, errout, sizeof errout);
}

static void test_network_example_passes_check(void **state)
{
    (void)state;
    const char *argv[] = { CONVGEN_BIN, "check", "specs/kws.lua", NULL };
    int rc = ts_run(argv, SOURCE_DIR, out, sizeof out, errout, sizeof errout);
    if (rc != 0 || !strstr(out, "kws: network of 11 layers") || !strstr(out, "PASS"))
        fail_msg("check specs/kws.lua: exit %d\n%s%s", rc, out, errout);
}

/* A network template with a broken plan (every activation at the start
 * of scratch, so layers overwrite their own input) and one that adds 1
 * to an output: check must catch both. */
static void test_network_check_catches_a_wrong_network(void **state)
{
    (void)state;
    static const struct { const char *from, *to; } breaks[] = {
        { "return \"scratch + \" .. P.at[i]", "return \"scratch\"" },
        { "\n}\n", "\n    output[0] += 1.0f;\n}\n" },
    };
    char path[256], dir[64];
    FILE *f = fopen(SOURCE_DIR "/templates/network/network.c.in", "r");
    assert_non_null(f);
    static char text[16384], broken[16384 + 64];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    for (size_t b = 0; b < sizeof breaks / sizeof *breaks; ++b) {
        const char *at = strstr(text, breaks[b].from);
        if (!at)
            fail_msg("the network template no longer contains %s", breaks[b].from);
        snprintf(broken, sizeof broken, "%.*s%s%s", (int)(at - text), text, breaks[b].to,
                 at + strlen(breaks[b].from));
        ts_mkdtemp(dir);
        snprintf(path, sizeof path, "%s/network", dir);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/network/network.c.in", dir);
        ts_write_file(path, broken);
        const char *argv[] = { CONVGEN_BIN, "check", "--templates", dir, "specs/kws.lua", NULL };
        int rc = ts_run(argv, SOURCE_DIR, out, sizeof out, errout, sizeof errout);
        if (rc != 1 || !strstr(out, "kws: network of 11 layers") || !strstr(out, "FAIL"))
            fail_msg("break %zu: check exited %d:\n%s%s", b, rc, out, errout);
        ts_rmtree(dir);
    }
}

/* examples/kws builds from the generated files with cc alone and runs.
 * Its plan, by hand: every activation between layers is 64 x 25 x 5 =
 * 8000 floats except the pooled 64, so scratch holds two of 8000: 64000
 * bytes; with the input (490 floats) and output (12), 66008 bytes. A
 * buffer per activation: 490 + 9 x 8000 + 64 + 12 = 72566 floats, 290264
 * bytes. */
static void test_network_example_program_builds_with_cc_alone(void **state)
{
    (void)state;
    char dir[64], cmd[1024];
    ts_mkdtemp(dir);
    const char *gen[] = { CONVGEN_BIN, "generate", "specs/kws.lua", "-o", dir, NULL };
    assert_int_equal(ts_run(gen, SOURCE_DIR, out, sizeof out, errout, sizeof errout), 0);
    snprintf(cmd, sizeof cmd,
             "${CC:-cc} -std=c99 -O1 -Wall -Wextra -Wpedantic -Werror -I%s -o %s/kws "
             "examples/kws/main.c %s/*.c -lm && %s/kws", dir, dir, dir, dir);
    if (shell(cmd, SOURCE_DIR) != 0)
        fail_msg("%s\n%s%s", cmd, out, errout);
    const char *want[] = {
        "kws: 490 floats in, 12 scores out",
        "scratch 64000 bytes; input + output + scratch 66008 bytes, against 290264 bytes",
        "best: keyword",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; ++i)
        if (!strstr(out, want[i]))
            fail_msg("the example's output lacks \"%s\":\n%s", want[i], out);
    ts_rmtree(dir);
}

/* --- random networks ---------------------------------------------------- */

enum { RANDOM_NETWORKS = 10 };

static int out_size(int n, int k, int s, int pb, int pe)
{
    return (n + pb + pe - (k - 1) - 1) / s + 1;
}

/* Append a random network of 2 to 5 layers named net<i> to spec (and its
 * .npy files, random weights and biases, to dir). Shapes are tracked here,
 * by the formula of the output size, to keep every layer valid. */
static void random_network(cg_rng *r, int i, const char *dir, char *spec, size_t cap)
{
    static const char *const acts[] = { "none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh" };
    int c = cg_rng_int(r, 1, 6), h = cg_rng_int(r, 3, 14), w = cg_rng_int(r, 3, 14);
    int batch = cg_rng_int(r, 1, 3) == 3 ? 2 : 1, layers = cg_rng_int(r, 2, 5);
    const int nhwc = i % 2;   /* the layout of the whole chain */
    size_t len = strlen(spec);
    len += (size_t)snprintf(spec + len, cap - len, "network { name = \"net%d\",\n", i);
    for (int l = 0; l < layers; ++l) {
        const int depthwise = c > 1 && cg_rng_int(r, 0, 3) == 0;
        const int f = depthwise ? c : cg_rng_int(r, 1, 9);
        const int k = cg_rng_int(r, 1, 3), s = cg_rng_int(r, 1, 4) == 4 ? 2 : 1;
        const int same = h < k || w < k || cg_rng_int(r, 0, 1);
        const int pad = same ? 0 : cg_rng_int(r, 0, k - 1);
        const int bias = cg_rng_int(r, 0, 3) != 0;
        const char *act = acts[cg_rng_int(r, 0, 5)];
        char wpath[256], bpath[256], input[96] = "", padding[16] = "\"same\"", bfield[64] = "";
        if (l == 0)
            snprintf(input, sizeof input, "input = { channels = %d, height = %d, width = %d }, batch = %d, ",
                     c, h, w, batch);
        if (!same)
            snprintf(padding, sizeof padding, "%d", pad);
        if (bias)
            snprintf(bfield, sizeof bfield, ", bias_values = \"net%d_l%d_b.npy\"", i, l);
        len += (size_t)snprintf(spec + len, cap - len,
            "  conv2d { name = \"net%d_l%d\", %sfilters = %d, kernel = %d, stride = %d, "
            "padding = %s, groups = %d, bias = %s, activation = \"%s\", layout = \"%s\", "
            "weights = \"net%d_l%d_w.npy\"%s },\n",
            i, l, input, f, k, s, padding, depthwise ? c : 1, bias ? "true" : "false", act,
            nhwc ? "nhwc" : "nchw", i, l, bfield);
        const int cpg = depthwise ? 1 : c;
        /* [F][C/groups][KH][KW], or TensorFlow Lite's [F][KH][KW][C/groups] */
        long long wd[4] = { f, nhwc ? k : cpg, k, nhwc ? cpg : k }, bd[1] = { f };
        float *wv = malloc(sizeof *wv * (size_t)(f * cpg * k * k)), bv[16];
        assert_non_null(wv);
        cg_fill_uniform(wv, (size_t)(f * cpg * k * k), r, -0.5f, 0.5f);
        cg_fill_uniform(bv, (size_t)f, r, -0.5f, 0.5f);
        snprintf(wpath, sizeof wpath, "%s/net%d_l%d_w.npy", dir, i, l);
        ts_write_npy(wpath, wd, 4, wv);
        if (bias) {
            snprintf(bpath, sizeof bpath, "%s/net%d_l%d_b.npy", dir, i, l);
            ts_write_npy(bpath, bd, 1, bv);
        }
        free(wv);
        if (same) {
            h = (h + s - 1) / s;
            w = (w + s - 1) / s;
        } else {
            h = out_size(h, k, s, pad, pad);
            w = out_size(w, k, s, pad, pad);
        }
        c = f;
    }
    snprintf(spec + len, cap - len, "}\n");
}

/* Random networks (random chains, shapes, activations, weights, depthwise
 * layers, batch 2, NCHW and NHWC) through check on every target this
 * machine runs. */
static void test_network_random_networks_pass_check_on_every_target(void **state)
{
    (void)state;
    char dir[64], path[128];
    static char spec[RANDOM_NETWORKS * 2048];
    cg_rng r;
    cg_rng_seed(&r, 20261125);
    ts_mkdtemp(dir);
    spec[0] = '\0';
    for (int i = 0; i < RANDOM_NETWORKS; ++i)
        random_network(&r, i, dir, spec, sizeof spec);
    snprintf(path, sizeof path, "%s/nets.lua", dir);
    ts_write_file(path, spec);

    const char *targets[] = { "generic", "avx2", "avx512" };
    for (int t = 0; t < 3; ++t) {
        if (!ts_cpu_runs(targets[t]))
            continue;
        const char *argv[] = { CONVGEN_BIN, "check", "--target", targets[t], path, NULL };
        int rc = ts_run(argv, NULL, out, sizeof out, errout, sizeof errout);
        char want[64];
        snprintf(want, sizeof want, "net%d: network of", RANDOM_NETWORKS - 1);
        if (rc != 0 || !strstr(out, want))
            fail_msg("--target %s: check exited %d:\n%s%s\nspec:\n%s", targets[t], rc, out, errout, spec);
    }
    ts_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_layers_take_their_input_from_the_layer_before),
        cmocka_unit_test(test_network_input_that_does_not_match_names_both_layers),
        cmocka_unit_test(test_network_a_matching_input_may_be_written_out),
        cmocka_unit_test(test_network_entries_must_be_new_layers),
        cmocka_unit_test(test_network_names_are_checked_like_layer_names),
        cmocka_unit_test(test_network_first_layer_needs_an_input),
        cmocka_unit_test(test_network_memory_plan_reuses_two_buffers),
        cmocka_unit_test(test_network_layers_keep_their_outputs_in_the_cache),
        cmocka_unit_test(test_network_without_baked_weights_does_not_generate),
        cmocka_unit_test(test_network_example_passes_check),
        cmocka_unit_test(test_network_check_catches_a_wrong_network),
        cmocka_unit_test(test_network_example_program_builds_with_cc_alone),
        cmocka_unit_test(test_network_random_networks_pass_check_on_every_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
