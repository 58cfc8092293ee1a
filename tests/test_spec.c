/*
 * test_spec.c - the spec loader: every class of bad input is refused as
 * the user's error (CG_ERR_INPUT) with a message naming the file and the
 * line or field; the sandbox hides everything but data; good specs load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cg_host.h"   /* CG_SPEC_SECONDS */

/* A spec whose only conv2d call is on line 2. */
#define LAYER(fields) "-- one layer\nconv2d { " fields " }\n"
#define INPUT "input = { channels = 4, height = 8, width = 8 }"
#define GOOD "name = \"a\", " INPUT ", filters = 4, kernel = 3"

/* Loading text as bad.lua must fail as the user's error, and the message
 * must name bad.lua and contain every one of needles. */
static void check_rejected(const char *text, const char *const *needles)
{
    char err[TS_ERRLEN];
    int rc = ts_load_status("bad.lua", text, err, sizeof err);
    if (rc != CG_ERR_INPUT)
        fail_msg("expected CG_ERR_INPUT, got %d (%s) for:\n%s", rc,
                 rc == CG_OK ? "it loaded" : err, text);
    if (!strstr(err, "bad.lua"))
        fail_msg("message does not name bad.lua: %s", err);
    for (; *needles; ++needles)
        if (!strstr(err, *needles))
            fail_msg("message lacks \"%s\": %s", *needles, err);
}
#define REJECTS(text, ...) check_rejected(text, (const char *const[]){ __VA_ARGS__, NULL })

/* A field error: on the conv2d line, naming the field as 'field'. */
#define REJECTS_FIELD(fields, field) REJECTS(LAYER(fields), "bad.lua:2:", "'" field "'")

static void check_loads(const char *text)
{
    char err[TS_ERRLEN];
    int rc = ts_load_status("good.lua", text, err, sizeof err);
    if (rc != CG_OK)
        fail_msg("did not load (%d): %s\n%s", rc, err, text);
}

/* CPU time, as the sandbox's own time limit counts it: a bound on it holds
 * on a loaded machine too. */
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* --- bad input ---------------------------------------------------------- */

static void test_spec_syntax_error_names_its_line(void **state)
{
    (void)state;
    REJECTS("conv2d {\n  name = \"a\",\n  kernel = = 3,\n}\n", "bad.lua:3:");
}

static void test_spec_long_path_is_named_in_full(void **state)
{
    (void)state;
    /* Lua shortens chunk names past 60 bytes to "...tail". */
    const char *path = "/a/directory/name/long/enough/that/lua/would/shorten/it/in/messages/bad.lua";
    char err[TS_ERRLEN];
    assert_int_equal(ts_load_status(path, "conv2d {\n  name = \n", err, sizeof err), CG_ERR_INPUT);
    if (strncmp(err, path, strlen(path)) != 0 || strncmp(err + strlen(path), ":3:", 3) != 0)
        fail_msg("message does not start with %s:3: %s", path, err);
}

static void test_spec_unknown_field_suggests_the_right_one(void **state)
{
    (void)state;
    REJECTS(LAYER("name = \"a\", " INPUT ", filters = 4, kernal = 3"),
            "bad.lua:2:", "'kernal'", "did you mean 'kernel'");
}

static void test_spec_unknown_field_inside_a_table_is_named_with_its_table(void **state)
{
    (void)state;
    REJECTS(LAYER("name = \"a\", input = { channels = 4, hieght = 8, width = 8 }, filters = 4, kernel = 3"),
            "bad.lua:2:", "'input.hieght'", "did you mean 'input.height'");
    REJECTS_FIELD(GOOD ", stride = { height = 1, widht = 1 }", "stride.widht");
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 4, kernel = { height = 3, wdth = 3 }", "kernel.wdth");
    REJECTS_FIELD(GOOD ", padding = { top = 1, bottum = 1 }", "padding.bottum");
}

static void test_spec_positional_values_are_refused(void **state)
{
    (void)state;
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 4, kernel = { 3, 3 }", "kernel");
    REJECTS(LAYER(GOOD ", 7"), "bad.lua:2:", "positional");
}

static void test_spec_missing_required_fields_are_named(void **state)
{
    (void)state;
    REJECTS_FIELD(INPUT ", filters = 4, kernel = 3", "name");
    REJECTS_FIELD("name = \"a\", filters = 4, kernel = 3", "input");
    REJECTS_FIELD("name = \"a\", input = { height = 8, width = 8 }, filters = 4, kernel = 3",
                  "input.channels");
    REJECTS_FIELD("name = \"a\", " INPUT ", kernel = 3", "filters");
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 4", "kernel");
    REJECTS_FIELD(GOOD ", stride = { height = 2 }", "stride");
}

static void test_spec_wrong_types_are_named(void **state)
{
    (void)state;
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = \"4\", kernel = 3", "filters");
    REJECTS_FIELD("name = { \"a\" }, " INPUT ", filters = 4, kernel = 3", "name");
    REJECTS_FIELD(GOOD ", activation = { \"relu\" }", "activation");
    REJECTS_FIELD(GOOD ", bias = \"yes\"", "bias");
    REJECTS_FIELD("name = \"a\", input = 8, filters = 4, kernel = 3", "input");
    REJECTS_FIELD(GOOD ", activation = \"leaky_relu\", alpha = \"0.1\"", "alpha");
}

static void test_spec_messages_show_no_table_addresses(void **state)
{
    (void)state;
    REJECTS(LAYER("name = { \"a\" }, " INPUT ", filters = 4, kernel = 3"), "'name'", "{ ... }");
}

static void test_spec_zero_and_negative_sizes_are_refused(void **state)
{
    (void)state;
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 0, kernel = 3", "filters");
    REJECTS_FIELD("name = \"a\", input = { channels = 4, height = -8, width = 8 }, filters = 4, kernel = 3",
                  "input.height");
    REJECTS_FIELD("name = \"a\", input = { channels = 0, height = 8, width = 8 }, filters = 4, kernel = 3",
                  "input.channels");
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 4, kernel = 0", "kernel");
    REJECTS_FIELD(GOOD ", stride = 0", "stride");
    REJECTS_FIELD(GOOD ", dilation = -1", "dilation");
    REJECTS_FIELD(GOOD ", padding = -1", "padding");
    REJECTS_FIELD(GOOD ", padding = { left = -1 }", "padding.left");
    REJECTS_FIELD(GOOD ", batch = 0", "batch");
    REJECTS_FIELD(GOOD ", groups = 0", "groups");
    REJECTS_FIELD(GOOD ", channel_block = 0", "channel_block");
    REJECTS_FIELD(GOOD ", row_group = 0", "row_group");
    REJECTS_FIELD(GOOD ", tile = { filters = 1, rows = 1, vectors = 1, unroll = 0 }", "tile.unroll");
}

static void test_spec_non_integer_sizes_are_refused(void **state)
{
    (void)state;
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 4, kernel = 3.5", "kernel");
    REJECTS_FIELD("name = \"a\", input = { channels = 4, height = 8, width = 7.5 }, filters = 4, kernel = 3",
                  "input.width");
    REJECTS_FIELD(GOOD ", stride = { height = 1, width = 1.5 }", "stride.width");
    REJECTS_FIELD(GOOD ", padding = 0.5", "padding");
    REJECTS_FIELD(GOOD ", tile = { filters = 1, rows = 1, vectors = 1, unroll = 1.5 }", "tile.unroll");
}

static void test_spec_kernel_larger_than_the_padded_input_is_refused(void **state)
{
    (void)state;
    /* padded 8: a 9-tap kernel does not fit; padded 8 + 1 + 1 = 10: 11 taps do not */
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 4, kernel = 9", "kernel");
    REJECTS_FIELD("name = \"a\", " INPUT ", filters = 4, kernel = 11, padding = 1", "kernel");
    /* 3 taps at dilation 4 span 2*4 + 1 = 9 pixels */
    REJECTS_FIELD(GOOD ", dilation = 4", "kernel");
    /* the boundary: 10 taps in a padded 10 fit, once */
    check_loads(LAYER("name = \"a\", " INPUT ", filters = 4, kernel = 10, padding = 1"));
}

static void test_spec_groups_must_divide_channels_and_filters(void **state)
{
    (void)state;
    REJECTS(LAYER(GOOD ", groups = 3"), "bad.lua:2:", "'groups'", "input.channels");
    REJECTS(LAYER("name = \"a\", " INPUT ", filters = 6, kernel = 3, groups = 4"),
            "bad.lua:2:", "'groups'", "filters");
}

static void test_spec_unknown_words_are_refused(void **state)
{
    (void)state;
    REJECTS(LAYER(GOOD ", activation = \"relu7\""), "bad.lua:2:", "'activation'", "relu7",
            "did you mean 'relu'");
    REJECTS(LAYER(GOOD ", padding = \"full\""), "bad.lua:2:", "'padding'", "full");
    REJECTS(LAYER(GOOD ", padding = \"SAME\""), "bad.lua:2:", "'padding'", "SAME");
    REJECTS(LAYER(GOOD ", layout = \"nhcw\""), "bad.lua:2:", "'layout'", "nhcw",
            "expected one of: nchw, nhwc");
    REJECTS(LAYER(GOOD ", layout = \"NHWC\""), "bad.lua:2:", "'layout'", "NHWC");
    REJECTS(LAYER(GOOD ", layout = 1"), "bad.lua:2:", "'layout'", "must be a string");
    REJECTS(LAYER(GOOD ", plain_kernel = \"plane\""), "bad.lua:2:", "'plain_kernel'", "plane",
            "expected one of: auto, tiled, planes");
    REJECTS(LAYER(GOOD ", stores = \"stream\""), "bad.lua:2:", "'stores'", "stream",
            "expected one of: auto, cached, streaming");
    REJECTS(LAYER(GOOD ", stores = true"), "bad.lua:2:", "'stores'", "must be a string");
}

static void test_spec_filter_vectors_need_filters_to_vectorize(void **state)
{
    (void)state;
    /* One filter per group has none to vectorize, depthwise in NCHW or
     * grouped in NHWC; an NHWC depthwise layer with one filter per
     * channel vectorizes its channels. */
#define DW "name = \"a\", input = { channels = 4, height = 8, width = 8 }, kernel = 3, " \
           "packed_kernel = \"filter_vectors\""
    REJECTS(LAYER(DW ", groups = 4, filters = 4"), "bad.lua:2:", "'packed_kernel'",
            "more than one filter per group");
    REJECTS(LAYER(DW ", groups = 2, filters = 2, layout = \"nhwc\""), "bad.lua:2:", "'packed_kernel'",
            "more than one filter per group");
    char err[TS_ERRLEN];
    assert_int_equal(ts_load_status("good.lua", LAYER(DW ", groups = 4, filters = 4, layout = \"nhwc\""), err, sizeof err),
                     CG_OK);
#undef DW
}

static void test_spec_alpha_needs_leaky_relu(void **state)
{
    (void)state;
    REJECTS_FIELD(GOOD ", activation = \"relu\", alpha = 0.1", "alpha");
    REJECTS_FIELD(GOOD ", alpha = 0.1", "alpha");
    REJECTS_FIELD(GOOD ", activation = \"leaky_relu\", alpha = 0/0", "alpha");
}

static void test_spec_names_must_be_plain_c_identifiers(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "1abc", "a-b", "", "a b", "int", "static", "_Bool", "while", "__x", "_Upper",
        "a234567890123456789012345678901234567890123456789012345678901234", /* 64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        char text[512];
        snprintf(text, sizeof text, LAYER("name = \"%s\", " INPUT ", filters = 4, kernel = 3"), bad[i]);
        REJECTS(text, "bad.lua:2:", "'name'");
    }
    check_loads(LAYER("name = \"_x9\", " INPUT ", filters = 4, kernel = 3"));
    check_loads(LAYER("name = \"a23456789012345678901234567890123456789012345678901234567890123\", "
                      INPUT ", filters = 4, kernel = 3"));   /* 63 */
}

static void test_spec_tensors_beyond_a_c_int_are_refused(void **state)
{
    (void)state;
    /* 4096 * 1024 * 1024 = 2^32 input elements */
    REJECTS(LAYER("name = \"a\", input = { channels = 4096, height = 1024, width = 1024 }, filters = 1, kernel = 1"),
            "bad.lua:2:", "input", "elements");
    /* 65536 * 65536 * 1 * 1 = 2^32 weights */
    REJECTS(LAYER("name = \"a\", input = { channels = 65536, height = 1, width = 1 }, filters = 65536, kernel = 1"),
            "bad.lua:2:", "weights", "elements");
    /* (1 + 2*40000)^2 = 6400160001 output pixels */
    REJECTS(LAYER("name = \"a\", input = { channels = 1, height = 1, width = 1 }, filters = 1, kernel = 1, padding = 40000"),
            "bad.lua:2:", "output", "elements");
    REJECTS_FIELD("name = \"a\", input = { channels = 3e9, height = 1, width = 1 }, filters = 1, kernel = 1",
                  "input.channels");
}

static void test_spec_padded_extent_beyond_a_c_int_is_refused(void **state)
{
    (void)state;
    /* 2147483647 + 1 + 2147483647 pixels: only 3x3 outputs, but the C index
     * arithmetic o*stride - pad would overflow an int. */
    REJECTS_FIELD("name = \"a\", input = { channels = 1, height = 1, width = 1 }, filters = 1, kernel = 1, "
                  "stride = 2147483647, padding = 2147483647", "padding");
}

static void test_spec_without_a_layer_is_refused(void **state)
{
    (void)state;
    REJECTS("local x = 1\n", "no layer");
    REJECTS("", "no layer");
}

static void test_spec_layer_names_must_differ_even_ignoring_case(void **state)
{
    (void)state;
    REJECTS("conv2d { " GOOD " }\nconv2d { " GOOD " }\n", "bad.lua:2:", "name", "bad.lua:1");
    REJECTS("conv2d { " GOOD " }\nconv2d { name = \"A\", " INPUT ", filters = 4, kernel = 3 }\n",
            "bad.lua:2:", "'A'", "'a'", "bad.lua:1");
}

static void test_spec_conv2d_needs_a_table(void **state)
{
    (void)state;
    REJECTS("\nconv2d \"a\"\n", "bad.lua:2:", "conv2d expects a table");
    REJECTS("conv2d()\n", "bad.lua:1:", "conv2d expects a table");
    REJECTS("conv2d(3)\n", "bad.lua:1:", "conv2d expects a table");
}

static void test_spec_errors_raised_by_the_spec_name_the_file(void **state)
{
    (void)state;
    REJECTS("error(\"boom\")\n", "bad.lua:1:", "boom");
    REJECTS("error(\"boom\", 0)\n", "boom");
    REJECTS("error({ msg = \"fake\" })\n", "table");
    REJECTS("error()\n", "nil");
}

/* --- the sandbox ---------------------------------------------------------- */

/* name must be nil inside a spec (the spec still loads), and a spec that
 * uses it with call must fail, naming bad.lua and the missing last part of
 * name ("random" for math.random). */
static void check_hidden(const char *name, const char *call)
{
    char text[512];
    snprintf(text, sizeof text, "assert(%s == nil, [[%s is reachable]])\n"
             "conv2d { " GOOD " }\n", name, name);
    check_loads(text);
    snprintf(text, sizeof text, "local x = %s\nconv2d { " GOOD " }\n", call);
    const char *dot = strrchr(name, '.');
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", dot ? dot + 1 : name);
    REJECTS(text, "bad.lua:1:", "nil", quoted);
}

static void test_sandbox_hides_io(void **s) { (void)s; check_hidden("io", "io.open(\"/etc/hostname\")"); }
static void test_sandbox_hides_os(void **s) { (void)s; check_hidden("os", "os.getenv(\"HOME\")"); }
static void test_sandbox_hides_require(void **s) { (void)s; check_hidden("require", "require(\"os\")"); }
static void test_sandbox_hides_load(void **s) { (void)s; check_hidden("load", "load(\"return 1\")"); }
static void test_sandbox_hides_dofile(void **s) { (void)s; check_hidden("dofile", "dofile(\"/dev/null\")"); }
static void test_sandbox_hides_loadfile(void **s) { (void)s; check_hidden("loadfile", "loadfile(\"/dev/null\")"); }
static void test_sandbox_hides_debug(void **s) { (void)s; check_hidden("debug", "debug.getinfo(1)"); }
static void test_sandbox_hides_getmetatable(void **s) { (void)s; check_hidden("getmetatable", "getmetatable(\"\")"); }
static void test_sandbox_hides_setmetatable(void **s) { (void)s; check_hidden("setmetatable", "setmetatable({}, {})"); }
static void test_sandbox_hides_string_dump(void **s) { (void)s; check_hidden("string.dump", "string.dump(function() end)"); }
static void test_sandbox_hides_collectgarbage(void **s) { (void)s; check_hidden("collectgarbage", "collectgarbage(\"count\")"); }
static void test_sandbox_hides_math_random(void **s) { (void)s; check_hidden("math.random", "math.random()"); }

static void test_sandbox_hides_dump_behind_the_string_metatable(void **state)
{
    (void)state;
    check_hidden("(\"\").dump", "(\"\").dump(function() end)");
}

/* Pattern matching backtracks for exponential time inside one C call,
 * where no instruction budget can stop it; table.move copies a range that
 * need not exist. Neither is reachable, as a function or a string method. */
static void test_sandbox_hides_pattern_matching(void **state)
{
    (void)state;
    check_hidden("string.find", "string.find(\"aaa\", \"a-a-a-b\")");
    check_hidden("string.match", "string.match(\"a\", \"a\")");
    check_hidden("string.gmatch", "string.gmatch(\"a\", \"a\")");
    check_hidden("string.gsub", "string.gsub(\"a\", \"a\", \"b\")");
    check_hidden("(\"\").find", "(\"aaa\"):find(\"a-a-a-b\")");
    check_hidden("(\"\").match", "(\"a\"):match(\"a\")");
    check_hidden("(\"\").gmatch", "(\"a\"):gmatch(\"a\")");
    check_hidden("(\"\").gsub", "(\"a\"):gsub(\"a\", \"b\")");
}

static void test_sandbox_hides_table_move(void **s) { (void)s; check_hidden("table.move", "table.move({}, 1, 1 << 40, 1)"); }

/* Strings reach only the spec's own string table: not the metatable, not
 * the generator's library. */
static void test_sandbox_hides_the_string_metatable(void **state)
{
    (void)state;
    check_hidden("(\"\").__index", "(\"\").__index.rep");
    check_loads("string.upper = nil\nassert((\"a\").upper == nil)\nconv2d { " GOOD " }\n");
}

/* string.rep("", n) loops n times doing nothing in C: answered at once. */
static void test_sandbox_repeats_nothing_at_once(void **state)
{
    (void)state;
    double t0 = cpu_seconds();
    check_loads("assert(string.rep(\"\", 1 << 34) == \"\" and (\"\"):rep(1 << 34, \"\") == \"\")\n"
                "assert(string.rep(\"ab\", 3, \",\") == \"ab,ab,ab\" and string.rep(\"\", 0) == \"\")\n"
                "conv2d { " GOOD " }\n");
    double t = cpu_seconds() - t0;
    if (t > 1.0)
        fail_msg("string.rep of nothing ran %.1f s", t);
}

/* Library calls whose each run is bounded by the memory cap, made in a
 * loop: few instructions, much work. The time limit stops them. */
static void test_sandbox_stops_a_loop_of_heavy_calls(void **state)
{
    (void)state;
    double t0 = cpu_seconds();
    REJECTS("local s = (\"x\"):rep(1 << 16)\nwhile true do local t = s:upper() end\n",
            "bad.lua:2:", "seconds");
    double t = cpu_seconds() - t0;
    if (t > 5.0)
        fail_msg("the loop of heavy calls ran %.1f s", t);
}

static void test_sandbox_keeps_pure_helpers(void **state)
{
    (void)state;
    check_loads("local n = math.floor(7.9) + #string.rep(\"x\", 2) + select(\"#\", 1, 2)\n"
                "assert(n == 11 and (\"%d\"):format(3) == \"3\" and table.concat({ 1, 2 }) == \"12\")\n"
                "conv2d { " GOOD " }\n");
}

static void test_sandbox_stops_an_endless_loop(void **state)
{
    (void)state;
    double t0 = cpu_seconds();
    REJECTS("conv2d { " GOOD " }\nwhile true do end\n", "bad.lua:2:", "instructions");
    double t = cpu_seconds() - t0;
    if (t > 2.0)
        fail_msg("the endless loop ran %.1f s", t);
}

/* Many small allocations, all kept: the memory cap stops them. The message
 * says so, which also means the time limit (2 s of CPU) did not come first.
 * Each piece is a fresh string and none becomes garbage, so that the hog
 * touches no more than the cap (ASan's quarantine would keep garbage too). */
static void test_sandbox_stops_a_memory_hog(void **state)
{
    (void)state;
    REJECTS("local t = {} for i = 1, 1e9 do t[i] = (\"x\"):rep(1000) end\n", "memory");
}

/* The time limit counts CPU time: a spec that computes for a few tens of
 * milliseconds loads although the generator, descheduled as on a busy
 * machine, took longer than the limit in wall time. A child process loads
 * the spec while the parent lets it run 2 ms in every 152 (SIGSTOP and
 * SIGCONT) until it exits. The child checks that the load took longer than
 * the limit in wall time, so that the test would catch a wall-clock limit.
 * The spec is pure arithmetic (no allocation), so ASan hardly slows it. */
static void test_sandbox_time_limit_counts_cpu_time_not_wall_time(void **state)
{
    (void)state;
    const char *text = "local x = 0\n"
                       "for i = 1, 3000000 do x = x + i % 7 end\n"   /* 40 ms, 15M instructions */
                       "conv2d { " GOOD " }\n";
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[TS_ERRLEN];
        double t0 = ts_wall_seconds();
        int rc = ts_load_status("good.lua", text, err, sizeof err);
        double wall = ts_wall_seconds() - t0;
        if (rc != CG_OK)
            fprintf(stderr, "child: %s\n", err);
        _exit(rc != CG_OK ? 1 : wall <= CG_SPEC_SECONDS ? 3 : 0);
    }
    const struct timespec run = { 0, 2 * 1000 * 1000 }, stopped = { 0, 150 * 1000 * 1000 };
    int status;
    pid_t done;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0) {
        nanosleep(&run, NULL);
        kill(pid, SIGSTOP);
        nanosleep(&stopped, NULL);
        kill(pid, SIGCONT);
    }
    assert_int_equal(done, pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 1)
        fail_msg("the spec was refused: the time limit counted the time it was stopped");
    if (WEXITSTATUS(status) == 3)
        fail_msg("the spec took less than the limit in wall time: make it compute longer");
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* After a spec hits a limit, the same generator loads the next spec. */
static void test_sandbox_limits_are_lifted_after_the_spec(void **state)
{
    (void)state;
    char err[TS_ERRLEN];
    int status;
    cg_gen *g = cg_gen_new(NULL, &status, err, sizeof err);
    if (!g)
        fail_msg("cg_gen_new: %s", err);
    assert_int_equal(cg_gen_load_string(g, "loop.lua", "while true do end", err, sizeof err),
                     CG_ERR_INPUT);
    assert_int_equal(cg_gen_load_string(g, "hog.lua", "local s = (\"x\"):rep(1 << 30)", err, sizeof err),
                     CG_ERR_INPUT);
    assert_non_null(strstr(err, "memory"));
    if (cg_gen_load_string(g, "good.lua", "conv2d { " GOOD " }", err, sizeof err) != CG_OK)
        fail_msg("good.lua: %s", err);
    assert_int_equal(cg_gen_count(g), 1);
    /* Generation, which needs the whole string library, works too. */
    cg_sources src;
    if (cg_gen_emit(g, 0, NULL, &src, err, sizeof err) != CG_OK)
        fail_msg("emit after the sandbox: %s", err);
    cg_sources_free(&src);
    cg_gen_free(g);
}

/* --- good specs ----------------------------------------------------------- */

static cg_conv params_of(cg_gen *g, int i)
{
    char err[TS_ERRLEN];
    cg_conv p;
    if (cg_gen_params(g, i, &p, err, sizeof err) != CG_OK)
        fail_msg("cg_gen_params(%d): %s", i, err);
    return p;
}

static void test_spec_defaults_fill_the_optional_fields(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("good.lua", "conv2d { " GOOD " }");
    cg_conv p = params_of(g, 0);
    assert_string_equal(p.name, "a");
    assert_int_equal(p.batch, 1);
    assert_int_equal(p.stride_h, 1);
    assert_int_equal(p.stride_w, 1);
    assert_int_equal(p.dilation_h, 1);
    assert_int_equal(p.dilation_w, 1);
    assert_int_equal(p.pad_top + p.pad_bottom + p.pad_left + p.pad_right, 0);
    assert_int_equal(p.groups, 1);
    assert_int_equal(p.bias, 1);
    assert_int_equal(p.activation, CG_ACT_NONE);
    assert_int_equal(p.layout, CG_LAYOUT_NCHW);
    assert_int_equal(p.out_h, 6);   /* valid: 8 - 3 + 1 */
    cg_gen_free(g);
}

static void test_spec_layout_nhwc_reaches_the_params(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("good.lua",
        "conv2d { " GOOD ", layout = \"nhwc\" }\n"
        "conv2d { name = \"b\", " INPUT ", filters = 4, kernel = 3, layout = \"nchw\" }\n");
    assert_int_equal(params_of(g, 0).layout, CG_LAYOUT_NHWC);
    assert_int_equal(params_of(g, 1).layout, CG_LAYOUT_NCHW);
    cg_gen_free(g);
}

static void test_spec_leaky_relu_alpha_defaults_to_a_hundredth(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("good.lua",
        "conv2d { " GOOD ", activation = \"leaky_relu\" }\n"
        "conv2d { name = \"b\", " INPUT ", filters = 4, kernel = 3, activation = \"leaky_relu\", alpha = 0.25 }\n");
    cg_conv p = params_of(g, 0);
    assert_int_equal(p.activation, CG_ACT_LEAKY_RELU);
    assert_float_equal(p.alpha, 0.01f, 0.0f);
    assert_float_equal(params_of(g, 1).alpha, 0.25f, 0.0f);
    cg_gen_free(g);
}

static void test_spec_file_may_declare_several_layers(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("good.lua",
        "for i, c in ipairs({ 4, 8, 16 }) do\n"
        "  conv2d { name = \"l\" .. i, input = { channels = c, height = 8, width = 8 },\n"
        "           filters = 2 * c, kernel = 3 }\n"
        "end\n");
    assert_int_equal(cg_gen_count(g), 3);
    assert_string_equal(params_of(g, 0).name, "l1");
    assert_string_equal(params_of(g, 2).name, "l3");
    assert_int_equal(params_of(g, 2).channels, 16);
    assert_int_equal(params_of(g, 2).filters, 32);
    char err[TS_ERRLEN];
    assert_int_equal(cg_gen_load_string(g, "more.lua", "conv2d { " GOOD " }", err, sizeof err), CG_OK);
    assert_int_equal(cg_gen_count(g), 4);
    cg_gen_free(g);
}

static void test_spec_integral_floats_are_integers(void **state)
{
    (void)state;
    cg_gen *g = ts_gen_from_text("good.lua",
        "conv2d { name = \"a\", input = { channels = 4.0, height = 8.0, width = 8 }, "
        "filters = 2e0, kernel = 3.0, stride = 1.0, padding = 1.0 }");
    cg_conv p = params_of(g, 0);
    assert_int_equal(p.channels, 4);
    assert_int_equal(p.height, 8);
    assert_int_equal(p.filters, 2);
    assert_int_equal(p.kernel_h, 3);
    assert_int_equal(p.pad_left, 1);
    assert_int_equal(p.out_w, 8);   /* 8 + 2 - 3 + 1 */
    cg_gen_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_syntax_error_names_its_line),
        cmocka_unit_test(test_spec_long_path_is_named_in_full),
        cmocka_unit_test(test_spec_unknown_field_suggests_the_right_one),
        cmocka_unit_test(test_spec_unknown_field_inside_a_table_is_named_with_its_table),
        cmocka_unit_test(test_spec_positional_values_are_refused),
        cmocka_unit_test(test_spec_missing_required_fields_are_named),
        cmocka_unit_test(test_spec_wrong_types_are_named),
        cmocka_unit_test(test_spec_messages_show_no_table_addresses),
        cmocka_unit_test(test_spec_zero_and_negative_sizes_are_refused),
        cmocka_unit_test(test_spec_non_integer_sizes_are_refused),
        cmocka_unit_test(test_spec_kernel_larger_than_the_padded_input_is_refused),
        cmocka_unit_test(test_spec_groups_must_divide_channels_and_filters),
        cmocka_unit_test(test_spec_unknown_words_are_refused),
        cmocka_unit_test(test_spec_filter_vectors_need_filters_to_vectorize),
        cmocka_unit_test(test_spec_alpha_needs_leaky_relu),
        cmocka_unit_test(test_spec_names_must_be_plain_c_identifiers),
        cmocka_unit_test(test_spec_tensors_beyond_a_c_int_are_refused),
        cmocka_unit_test(test_spec_padded_extent_beyond_a_c_int_is_refused),
        cmocka_unit_test(test_spec_without_a_layer_is_refused),
        cmocka_unit_test(test_spec_layer_names_must_differ_even_ignoring_case),
        cmocka_unit_test(test_spec_conv2d_needs_a_table),
        cmocka_unit_test(test_spec_errors_raised_by_the_spec_name_the_file),
        cmocka_unit_test(test_sandbox_hides_io),
        cmocka_unit_test(test_sandbox_hides_os),
        cmocka_unit_test(test_sandbox_hides_require),
        cmocka_unit_test(test_sandbox_hides_load),
        cmocka_unit_test(test_sandbox_hides_dofile),
        cmocka_unit_test(test_sandbox_hides_loadfile),
        cmocka_unit_test(test_sandbox_hides_debug),
        cmocka_unit_test(test_sandbox_hides_getmetatable),
        cmocka_unit_test(test_sandbox_hides_setmetatable),
        cmocka_unit_test(test_sandbox_hides_string_dump),
        cmocka_unit_test(test_sandbox_hides_collectgarbage),
        cmocka_unit_test(test_sandbox_hides_math_random),
        cmocka_unit_test(test_sandbox_hides_dump_behind_the_string_metatable),
        cmocka_unit_test(test_sandbox_hides_pattern_matching),
        cmocka_unit_test(test_sandbox_hides_table_move),
        cmocka_unit_test(test_sandbox_hides_the_string_metatable),
        cmocka_unit_test(test_sandbox_repeats_nothing_at_once),
        cmocka_unit_test(test_sandbox_stops_a_loop_of_heavy_calls),
        cmocka_unit_test(test_sandbox_keeps_pure_helpers),
        cmocka_unit_test(test_sandbox_stops_an_endless_loop),
        cmocka_unit_test(test_sandbox_stops_a_memory_hog),
        cmocka_unit_test(test_sandbox_time_limit_counts_cpu_time_not_wall_time),
        cmocka_unit_test(test_sandbox_limits_are_lifted_after_the_spec),
        cmocka_unit_test(test_spec_defaults_fill_the_optional_fields),
        cmocka_unit_test(test_spec_leaky_relu_alpha_defaults_to_a_hundredth),
        cmocka_unit_test(test_spec_layout_nhwc_reaches_the_params),
        cmocka_unit_test(test_spec_file_may_declare_several_layers),
        cmocka_unit_test(test_spec_integral_floats_are_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
