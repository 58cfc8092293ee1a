/*
 * test_cross.c - kernels built with cross compilers.
 *
 * NEON: a seeded sweep of random layers (ts_random_spec, as in test_kernels)
 * and a few layers whose outputs reach every activation's saturation are
 * generated for the neon target and built in batches with
 * aarch64-linux-gnu-gcc into small executables. Kernels cannot be loaded
 * into this process, so each executable (tests/cross/neon_main.c) fills
 * every layer's input, weights and bias with the seeded generator of
 * runtime/cg_tensor.c (built for aarch64 too), runs each kernel's plain
 * and packed entries with their buffers against inaccessible pages (a
 * read or write outside one faults) and writes their outputs to a file.
 * It runs under qemu-aarch64 and the outputs are compared here with the
 * reference convolution on the same data.
 *
 * Cortex-M4: every layer of the top-level spec files in specs/ is
 * generated for the generic target and compiled with arm-none-eabi-gcc for
 * a Cortex-M4F; the code size of each is reported, and the object must
 * keep no state and call no double-precision helper.
 *
 * The toolchains come from Debian packages that `.ci/deps build` installs.
 * Without them these tests skip with a message, except under CI (CI set in
 * the environment), where a missing toolchain is a failure.
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
#include <time.h>
#include <unistd.h>

#include "cg_conv.h"
#include "cg_gen.h"
#include "cg_tensor.h"
#include "cg_verify.h"
#include "support.h"

enum { NEON_SHAPES = 150, NEON_BATCH = 50, NEON_PARTS = 4, MAX_LAYERS = 64, OUTLEN = 1 << 16 };

#define SWEEP_SEED 20261124
#define AARCH64_SYSROOT "/usr/aarch64-linux-gnu"
#define NEON_CFLAGS "-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror"
#define M4_CFLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os " \
                  "-std=c99 -Wall -Wextra -Wpedantic -Werror"

/* ---- small helpers ---------------------------------------------------- */

/* A growing string (abort on out of memory: this is a test). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        assert_non_null(b->s = realloc(b->s, b->cap));
    }
}

/* The full path of program name found on PATH, into path; 0 if found. */
static int find_tool(const char *name, char *path, size_t len)
{
    const char *p = getenv("PATH");
    if (!p || !*p)
        p = "/usr/local/bin:/usr/bin:/bin";
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0 && (size_t)snprintf(path, len, "%.*s/%s", (int)n, p, name) < len &&
            access(path, X_OK) == 0)
            return 0;
        p += n + (p[n] == ':');
    }
    return -1;
}

/* Find each of the NULL-terminated names (paths[i] receives the full
 * path); the file need, if not NULL, must exist too. Skips the test when
 * one is missing, or fails it under CI. */
static void need_tools(const char *const names[], char paths[][256], const char *need,
                       const char *packages)
{
    const char *missing = NULL;
    for (int i = 0; names[i] && !missing; ++i)
        if (find_tool(names[i], paths[i], sizeof paths[i]) != 0)
            missing = names[i];
    if (!missing && need && access(need, R_OK) != 0)
        missing = need;
    if (!missing)
        return;
    if (getenv("CI"))
        fail_msg("%s not found: `.ci/deps build` should have installed %s", missing, packages);
    print_message("%s not found: the cross toolchain is not installed (%s; `.ci/deps build` "
                  "installs it): skipped\n", missing, packages);
    skip();
}

/* Run argv in dir; fails the test with the command's output (the end of
 * its stderr) unless it exits with status 0. */
static void run_ok(const char *const argv[], const char *dir, const char *what)
{
    char *out = malloc(OUTLEN), *err = malloc(OUTLEN);
    assert_non_null(out);
    assert_non_null(err);
    int rc = ts_run(argv, dir, out, OUTLEN, err, OUTLEN);
    if (rc != 0) {
        size_t n = strlen(err);
        const char *tail = n > 6000 ? err + n - 6000 : err;
        if (rc == -1)
            fail_msg("%s: %s was killed by a signal (a fault: a read or write outside a buffer?)\n%.2000s%s",
                     what, argv[0], out, tail);
        fail_msg("%s: %s exited with status %d\n%.2000s%s", what, argv[0], rc, out, tail);
    }
    free(out);
    free(err);
}

/* Compile every .c file in dir with compiler and flags into <file>.o, as
 * many at once as there are processors; fails the test with the compilers'
 * output if any fails. */
static void compile_all(const char *compiler, const char *flags, const char *dir, const char *what)
{
    char script[1024];
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(script, sizeof script, "ls *.c | xargs -P %ld -n 1 \"$0\" %s -c", jobs > 0 ? jobs : 1, flags);
    const char *argv[] = { "/bin/sh", "-c", script, compiler, NULL };
    run_ok(argv, dir, what);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* ---- NEON under qemu ---------------------------------------------------- */

typedef struct neon_layer {
    char spec[1024];
    cg_conv p;
    size_t packed_size;   /* floats <name>_pack writes */
} neon_layer;

/* Layer 0 of spec generated for target; a spec whose code_budget is too
 * small for its borders is retried with the default budget (as the
 * test_kernels sweep does). */
static void emit_for(char *spec, const char *target, cg_conv *p, cg_sources *src)
{
    char err[TS_ERRLEN];
    cg_gen_options opts = { .target = target };
    for (int attempt = 0;; ++attempt) {
        cg_gen *g = ts_gen_from_text("sweep.lua", spec);
        assert_int_equal(cg_gen_params(g, 0, p, err, sizeof err), CG_OK);
        int rc = cg_gen_emit(g, 0, &opts, src, err, sizeof err);
        cg_gen_free(g);
        if (rc == CG_OK)
            return;
        if (attempt > 0 || !strstr(err, "code budget"))
            fail_msg("%s: generation failed: %s\n%s", target, err, spec);
        ts_drop_budget(spec);
    }
}

/* The layer table of a batch for tests/cross/neon_main.c: prototypes and
 * layers[] (entries, name, element counts, bias, seed). */
static void neon_table(sbuf *m, const neon_layer *layers, int n, int first)
{
    for (int k = 0; k < n; ++k) {
        const char *name = layers[k].p.name;
        sb_printf(m, "void %s(const float *, const float *, const float *, float *);\n"
                     "void %s_pack(const float *, const float *, float *);\n"
                     "void %s_run(const float *, const float *, float *);\n", name, name, name);
    }
    sb_printf(m, "\nstatic const struct layer layers[] = {\n");
    for (int k = 0; k < n; ++k) {
        const cg_conv *p = &layers[k].p;
        sb_printf(m, "    { %s, %s_pack, %s_run, \"%s\", %zu, %zu, %zu, %zu, %zu, %d, %d },\n",
                  p->name, p->name, p->name, p->name, cg_conv_input_size(p),
                  cg_conv_weights_size(p), cg_conv_bias_size(p), cg_conv_output_size(p),
                  layers[k].packed_size, p->bias, first + k);
    }
    sb_printf(m, "};\n");
}

/* Entries for cg_verify and cg_verify_packed that replay outputs computed
 * elsewhere: they copy replay_count floats from replay_output. */
static const float *replay_output;
static size_t replay_count;

static void replay_kernel(const float *input, const float *weights, const float *bias, float *output)
{
    (void)input;
    (void)weights;
    (void)bias;
    memcpy(output, replay_output, replay_count * sizeof *output);
}

static void replay_pack(const float *weights, const float *bias, float *packed)
{
    (void)weights;
    (void)bias;
    (void)packed;
}

static void replay_run(const float *input, const float *packed, float *output)
{
    (void)input;
    (void)packed;
    memcpy(output, replay_output, replay_count * sizeof *output);
}

static float *read_floats(const char *path, size_t *count)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0)
        fail_msg("cannot read %s", path);
    float *v = malloc((size_t)st.st_size + 1);
    assert_non_null(v);
    *count = fread(v, sizeof *v, (size_t)st.st_size / sizeof *v, f);
    fclose(f);
    return v;
}

/* Layers the random sweep does not reach: its reductions are too short
 * for relu6's upper clamp (the first 600 shapes have 9 outputs above 5
 * before it), so these have 400-term reductions that often pass 6, and
 * the other activations at the same magnitudes. */
static const char *const neon_extras[] = {
    "conv2d { name = \"extra_relu6\", input = { channels = 16, height = 9, width = 14 },\n"
    "  filters = 5, kernel = 5, padding = 2, activation = \"relu6\" }\n",
    "conv2d { name = \"extra_leaky\", input = { channels = 16, height = 7, width = 11 },\n"
    "  filters = 3, kernel = 5, padding = 2, activation = \"leaky_relu\", alpha = 0.25 }\n",
    "conv2d { name = \"extra_sigmoid\", input = { channels = 16, height = 10, width = 21 },\n"
    "  filters = 4, kernel = 5, stride = 2, padding = \"same\", activation = \"sigmoid\" }\n",
    "conv2d { name = \"extra_tanh\", input = { channels = 16, height = 6, width = 9 },\n"
    "  filters = 2, kernel = 5, padding = 1, activation = \"tanh\", bias = false }\n",
    /* The same in NHWC. */
    "conv2d { name = \"extra_relu6_nhwc\", input = { channels = 16, height = 9, width = 14 },\n"
    "  filters = 5, kernel = 5, padding = 2, activation = \"relu6\", layout = \"nhwc\" }\n",
    "conv2d { name = \"extra_leaky_nhwc\", input = { channels = 16, height = 7, width = 11 },\n"
    "  filters = 3, kernel = 5, padding = 2, activation = \"leaky_relu\", alpha = 0.25, layout = \"nhwc\" }\n",
    "conv2d { name = \"extra_sigmoid_nhwc\", input = { channels = 16, height = 10, width = 21 },\n"
    "  filters = 4, kernel = 5, stride = 2, padding = \"same\", activation = \"sigmoid\", layout = \"nhwc\" }\n",
    "conv2d { name = \"extra_tanh_nhwc\", input = { channels = 16, height = 6, width = 9 },\n"
    "  filters = 2, kernel = 5, padding = 1, activation = \"tanh\", bias = false, layout = \"nhwc\" }\n",
};

/* Layers [first, first + n) of specs (layer k with seed k): generate,
 * build, run under qemu, compare. */
static void neon_batch(char tools[][256], char (*specs)[1024], int first, int n)
{
    char dir[64], path[128], obj[NEON_PARTS][128], prog[128], outfile[128];
    char main_c[512], tensor_c[512], include[512], include_dir[128];
    neon_layer *layers = calloc((size_t)n, sizeof *layers);
    sbuf kernels[NEON_PARTS] = { { 0 } }, m = { 0 };
    assert_non_null(layers);
    ts_mkdtemp(dir);

    for (int k = 0; k < n; ++k) {
        cg_sources src;
        memcpy(layers[k].spec, specs[first + k], sizeof layers[k].spec);
        emit_for(layers[k].spec, "neon", &layers[k].p, &src);
        assert_string_equal(src.target, "neon");
        assert_int_equal(src.tinycc, 0);
        layers[k].packed_size = src.packed_size;
        sb_printf(&kernels[k % NEON_PARTS], "%s\n", src.c);
        cg_sources_free(&src);
    }
    neon_table(&m, layers, n, first);
    assert_true(n >= NEON_PARTS);
    for (int part = 0; part < NEON_PARTS; ++part) {
        snprintf(path, sizeof path, "%s/kernels%d.c", dir, part);
        ts_write_file(path, kernels[part].s);
        free(kernels[part].s);
        snprintf(obj[part], sizeof obj[part], "%s/kernels%d.o", dir, part);
    }
    snprintf(path, sizeof path, "%s/layers.inc", dir);
    ts_write_file(path, m.s);
    free(m.s);

    /* The kernels under the strict flags; main and the generator without
     * contraction, so that the data are the same bits as here. */
    snprintf(prog, sizeof prog, "%s/sweep", dir);
    snprintf(outfile, sizeof outfile, "%s/outputs.bin", dir);
    snprintf(tensor_c, sizeof tensor_c, "%s/runtime/cg_tensor.c", SOURCE_DIR);
    snprintf(main_c, sizeof main_c, "%s/tests/cross/neon_main.c", SOURCE_DIR);
    snprintf(include, sizeof include, "-I%s/runtime", SOURCE_DIR);
    snprintf(include_dir, sizeof include_dir, "-I%s", dir);
    compile_all(tools[0], NEON_CFLAGS, dir, "building a batch of neon kernels");
    const char *cc_main[] = { tools[0], "-std=c11", "-O2", "-ffp-contract=off", "-Wall", "-Wextra",
                              "-Werror", include, include_dir, "-o", prog, main_c, tensor_c,
                              obj[0], obj[1], obj[2], obj[3], "-lm", NULL };
    _Static_assert(NEON_PARTS == 4, "cc_main lists the parts' objects");
    run_ok(cc_main, dir, "building the aarch64 sweep program");
    const char *run[] = { tools[1], "-L", AARCH64_SYSROOT, prog, outfile, NULL };
    run_ok(run, dir, "running the neon kernels under qemu");

    size_t count, at = 0;
    float *outputs = read_floats(outfile, &count);
    for (int k = 0; k < n; ++k) {
        const cg_conv *p = &layers[k].p;
        const size_t no = cg_conv_output_size(p);
        for (int packed = 0; packed <= 1; ++packed) {
            if (at + no > count)
                fail_msg("the aarch64 program wrote %zu outputs, fewer than the batch's", count);
            replay_output = outputs + at;
            replay_count = no;
            at += no;
            cg_compare cmp;
            uint64_t seed = (uint64_t)(first + k);
            if (packed)
                assert_int_equal(cg_verify_packed(p, replay_pack, replay_run, layers[k].packed_size,
                                                  seed, &cmp), 0);
            else
                assert_int_equal(cg_verify(p, replay_kernel, seed, &cmp), 0);
            if (cmp.failures != 0)
                fail_msg("neon: %s%s: %zu outputs disagree with the reference (max abs error %g, worst %g x tolerance at %zu)\n%s",
                         p->name, packed ? "_pack + _run" : "", cmp.failures, cmp.max_abs,
                         cmp.worst_ratio, cmp.worst, layers[k].spec);
        }
    }
    assert_int_equal(at, count);
    free(outputs);
    free(layers);
    ts_rmtree(dir);
}

static void test_neon_sweep_under_qemu_agrees_with_the_reference(void **state)
{
    (void)state;
    const char *const names[] = { "aarch64-linux-gnu-gcc", "qemu-aarch64", NULL };
    char tools[2][256];
    need_tools(names, tools, AARCH64_SYSROOT "/lib/ld-linux-aarch64.so.1",
               "gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const int extras = (int)(sizeof neon_extras / sizeof neon_extras[0]);
    const int total = NEON_SHAPES + extras;
    char (*specs)[1024] = calloc((size_t)total, sizeof *specs);
    assert_non_null(specs);
    cg_rng r;
    cg_rng_seed(&r, SWEEP_SEED);
    for (int i = 0; i < NEON_SHAPES; ++i) {
        ts_random_spec(&r, i, specs[i], sizeof specs[i]);
        /* Every other NHWC shape forces the filter-vectorized packed
         * kernel (NEON has no scatter for NCHW outputs). */
        if (i % 2 == 0)
            ts_force_filter_vectors(specs[i], 0);
    }
    for (int i = 0; i < extras; ++i)
        snprintf(specs[NEON_SHAPES + i], sizeof specs[i], "%s", neon_extras[i]);
    /* Batches of NEON_BATCH; the last one takes the extras too. */
    for (int first = 0; first < total; first += NEON_BATCH)
        neon_batch(tools, specs, first, total - first <= NEON_BATCH + extras ? total - first : NEON_BATCH);
    free(specs);
    print_message("neon: %d random layers and %d more built with aarch64-linux-gnu-gcc -O2 and run under "
                  "qemu-aarch64 in %.1f s: all agree with the reference\n", NEON_SHAPES, extras,
                  seconds_since(&t0));
}

/* ---- NEON with baked weights -------------------------------------------- */

static const float *replay_baked_output;

static void replay_baked(const float *input, float *output)
{
    (void)input;
    memcpy(output, replay_baked_output, replay_count * sizeof *output);
}

/* Random layers with pruned weights baked in (30% zeros: zero skipping
 * where it fits the budget, the rolled kernels elsewhere; and two larger
 * pruned layers), built for neon, run under qemu by tests/cross/baked_main.c
 * and compared with the reference run on the .npy values. */
static void test_neon_baked_layers_under_qemu_agree_with_the_reference(void **state)
{
    (void)state;
    const char *const names[] = { "aarch64-linux-gnu-gcc", "qemu-aarch64", NULL };
    char tools[2][256];
    need_tools(names, tools, AARCH64_SYSROOT "/lib/ld-linux-aarch64.so.1",
               "gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user");
    enum { N = 24 };
    char dir[64], spec_path[96], path[128], prog[128], outfile[128], err[TS_ERRLEN];
    char main_c[512], tensor_c[512], include[512], include_dir[128];
    ts_mkdtemp(dir);
    snprintf(spec_path, sizeof spec_path, "%s/layer.lua", dir);
    cg_conv p[N];
    float *w[N], *b[N];
    char *specs[N];
    sbuf kernels = { 0 }, m = { 0 };
    cg_rng r;
    cg_rng_seed(&r, SWEEP_SEED + 7);
    int unrolled = 0;
    for (int i = 0; i < N; ++i) {
        char spec[1024];
        if (i < N - 2)
            ts_random_spec(&r, i, spec, sizeof spec);
        else
            snprintf(spec, sizeof spec,
                     "conv2d { name = \"pruned%d\", input = { channels = 6, height = 13, width = 19 },\n"
                     "  filters = 7, kernel = 3, padding = 1, activation = \"relu\", code_budget = 20000 }\n", i);
        for (int attempt = 0;; ++attempt) {
            specs[i] = ts_bake(dir, spec, &r, i < N - 2 ? 30 : 50 + 40 * (i % 2), &p[i], &w[i], &b[i]);
            cg_gen *g = ts_gen_from_text(spec_path, specs[i]);
            cg_gen_options opts = { .target = "neon" };
            cg_sources src;
            int rc = cg_gen_emit(g, 0, &opts, &src, err, sizeof err);
            cg_gen_free(g);
            if (rc == CG_OK) {
                assert_int_equal(src.baked, 1);
                unrolled += strstr(src.c, " (group ") != NULL;
                sb_printf(&kernels, "%s\n", src.c);
                cg_sources_free(&src);
                break;
            }
            if (attempt > 0 || !strstr(err, "code budget"))
                fail_msg("neon: generation failed: %s\n%s", err, specs[i]);
            ts_drop_budget(spec);
            free(specs[i]);
            free(w[i]);
            free(b[i]);
        }
        sb_printf(&m, "void %s(const float *, float *);\n", p[i].name);
    }
    sb_printf(&m, "\nstatic const struct layer layers[] = {\n");
    for (int i = 0; i < N; ++i)
        sb_printf(&m, "    { %s, \"%s\", %zu, %zu, %d },\n", p[i].name, p[i].name,
                  cg_conv_input_size(&p[i]), cg_conv_output_size(&p[i]), i);
    sb_printf(&m, "};\n");
    snprintf(path, sizeof path, "%s/kernels.c", dir);
    ts_write_file(path, kernels.s);
    snprintf(path, sizeof path, "%s/baked.inc", dir);
    ts_write_file(path, m.s);
    free(kernels.s);
    free(m.s);

    snprintf(prog, sizeof prog, "%s/baked", dir);
    snprintf(outfile, sizeof outfile, "%s/outputs.bin", dir);
    snprintf(tensor_c, sizeof tensor_c, "%s/runtime/cg_tensor.c", SOURCE_DIR);
    snprintf(main_c, sizeof main_c, "%s/tests/cross/baked_main.c", SOURCE_DIR);
    snprintf(include, sizeof include, "-I%s/runtime", SOURCE_DIR);
    snprintf(include_dir, sizeof include_dir, "-I%s", dir);
    snprintf(path, sizeof path, "%s/kernels.o", dir);
    compile_all(tools[0], NEON_CFLAGS, dir, "building the baked neon kernels");
    const char *cc_main[] = { tools[0], "-std=c11", "-O2", "-ffp-contract=off", "-Wall", "-Wextra",
                              "-Werror", include, include_dir, "-o", prog, main_c, tensor_c, path,
                              "-lm", NULL };
    run_ok(cc_main, dir, "building the aarch64 baked program");
    const char *run[] = { tools[1], "-L", AARCH64_SYSROOT, prog, outfile, NULL };
    run_ok(run, dir, "running the baked neon kernels under qemu");

    size_t count, at = 0;
    float *outputs = read_floats(outfile, &count);
    for (int i = 0; i < N; ++i) {
        const size_t no = cg_conv_output_size(&p[i]);
        if (at + no > count)
            fail_msg("the aarch64 program wrote %zu outputs, fewer than the layers'", count);
        replay_baked_output = outputs + at;
        replay_count = no;
        at += no;
        cg_compare cmp;
        assert_int_equal(cg_verify_baked(&p[i], replay_baked, w[i], b[i], (uint64_t)i, &cmp), 0);
        if (cmp.failures != 0)
            fail_msg("neon: baked %s: %zu outputs disagree with the reference (worst %g x tolerance)\n%s",
                     p[i].name, cmp.failures, cmp.worst_ratio, specs[i]);
        free(w[i]);
        free(b[i]);
        free(specs[i]);
    }
    assert_int_equal(at, count);
    assert_true(unrolled >= 4 && unrolled < N);
    free(outputs);
    ts_rmtree(dir);
    print_message("neon: %d baked layers (%d with zero skipping) agree with the reference under qemu\n",
                  N, unrolled);
}

/* ---- Cortex-M4 ------------------------------------------------------ */

/* Undefined symbols a Cortex-M4F build of a kernel may call: the
 * activations' float functions and what gcc emits for copies. Anything
 * else (__aeabi_dadd and friends above all) means double precision in
 * software on a single-precision FPU. */
static int allowed_import(const char *sym)
{
    static const char *const ok[] = { "expf", "tanhf", "memcpy", "memset", "memmove" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; ++i)
        if (strcmp(sym, ok[i]) == 0)
            return 1;
    return 0;
}

/* One layer of the Cortex-M4 build: its name and spec file. */
typedef struct m4_layer {
    char name[64];
    const char *spec;
} m4_layer;

static int is_layer(const char *sym, const m4_layer *layers, int n)
{
    for (int i = 0; i < n; ++i)
        if (strcmp(sym, layers[i].name) == 0)
            return 1;
    return 0;
}

/* Write layer i of g, generated for the generic target, to dir. */
static void m4_write(cg_gen *g, int i, const char *dir, m4_layer *out)
{
    char err[TS_ERRLEN], path[256];
    cg_conv p;
    cg_sources src;
    cg_gen_options opts = { .target = "generic" };
    assert_int_equal(cg_gen_params(g, i, &p, err, sizeof err), CG_OK);
    if (cg_gen_emit(g, i, &opts, &src, err, sizeof err) != CG_OK)
        fail_msg("%s: generation failed: %s", out->spec, err);
    snprintf(path, sizeof path, "%s/%s.c", dir, p.name);
    ts_write_file(path, src.c);
    snprintf(path, sizeof path, "%s/%s.h", dir, p.name);
    ts_write_file(path, src.h);
    cg_sources_free(&src);
    snprintf(out->name, sizeof out->name, "%s", p.name);
}

/* The .text size of dir/<name>.o; checks that the object keeps no state
 * and imports only what allowed_import allows, or the functions of the
 * nalso layers also (a network calls its layers). */
static unsigned long m4_check(char tools[][256], const char *dir, const char *name,
                              const m4_layer *also, int nalso)
{
    char obj[128];
    char *out = malloc(OUTLEN), *errout = malloc(OUTLEN);
    assert_non_null(out);
    assert_non_null(errout);
    snprintf(obj, sizeof obj, "%.63s.o", name);
    const char *size[] = { tools[1], obj, NULL };
    assert_int_equal(ts_run(size, dir, out, OUTLEN, errout, OUTLEN), 0);
    /* Berkeley format: a header line, then text data bss dec hex name. */
    unsigned long text, data, bss;
    const char *line = strchr(out, '\n');
    if (!line || sscanf(line + 1, "%lu %lu %lu", &text, &data, &bss) != 3)
        fail_msg("cannot read arm-none-eabi-size's output:\n%s", out);
    assert_true(text > 0);
    if (data != 0 || bss != 0)
        fail_msg("%s: the kernel keeps state (.data %lu, .bss %lu bytes)", name, data, bss);

    const char *nm[] = { tools[2], "-u", obj, NULL };
    assert_int_equal(ts_run(nm, dir, out, OUTLEN, errout, OUTLEN), 0);
    for (char *save = NULL, *tok = strtok_r(out, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
        if (strcmp(tok, "U") != 0 && !allowed_import(tok) && !is_layer(tok, also, nalso))
            fail_msg("%s: the Cortex-M4 build calls %s (double precision or a library "
                     "function the kernel should not need)", name, tok);
    free(out);
    free(errout);
    return text;
}

static void test_cortex_m4_builds_every_spec_and_reports_its_size(void **state)
{
    (void)state;
    const char *const names[] = { "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", NULL };
    char tools[3][256];
    need_tools(names, tools, NULL, "gcc-arm-none-eabi, libnewlib-arm-none-eabi");

    char pattern[512], dir[64], err[TS_ERRLEN];
    glob_t files;
    m4_layer layers[MAX_LAYERS];
    int n = 0;
    snprintf(pattern, sizeof pattern, "%s/specs/*.lua", SOURCE_DIR);
    assert_int_equal(glob(pattern, 0, NULL, &files), 0);
    assert_true(files.gl_pathc >= 4);
    ts_mkdtemp(dir);
    for (size_t f = 0; f < files.gl_pathc; ++f) {
        const char *spec = files.gl_pathv[f];
        int status;
        cg_gen *g = cg_gen_new(NULL, &status, err, sizeof err);
        assert_non_null(g);
        if (cg_gen_load_file(g, spec, err, sizeof err) != CG_OK)
            fail_msg("%s did not load: %s", spec, err);
        /* A network's layers are built (and reported) together below. */
        for (int i = 0; i < cg_gen_count(g) && cg_gen_network_count(g) == 0; ++i) {
            assert_true(n < MAX_LAYERS);
            layers[n].spec = strrchr(spec, '/') + 1;
            m4_write(g, i, dir, &layers[n++]);
        }
        cg_gen_free(g);
    }
    assert_true(n >= 5);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    compile_all(tools[0], M4_CFLAGS, dir, "building the specs' layers for the Cortex-M4");
    print_message("Cortex-M4 (arm-none-eabi-gcc " M4_CFLAGS "), generic target, built in %.1f s:\n",
                  seconds_since(&t0));
    unsigned long total = 0;
    for (int k = 0; k < n; ++k) {
        unsigned long text = m4_check(tools, dir, layers[k].name, NULL, 0);
        print_message("  %-20s .text %7lu bytes   (%s)\n", layers[k].name, text, layers[k].spec);
        total += text;
    }
    print_message("  %d layers, %lu bytes of .text in all\n", n, total);
    globfree(&files);
    ts_rmtree(dir);
}

/* The example network of specs/kws.lua, generated for the generic target
 * (its layers and its own file) and built for the Cortex-M4: each object
 * is checked as the layers above are, and the code size (.text, with the
 * baked weights, which gcc keeps beside the code) and the RAM the plan
 * needs (from the generated header) are reported. */
static void test_cortex_m4_builds_the_example_network(void **state)
{
    (void)state;
    const char *const names[] = { "arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm", NULL };
    char tools[3][256];
    need_tools(names, tools, NULL, "gcc-arm-none-eabi, libnewlib-arm-none-eabi");

    char dir[64], err[TS_ERRLEN];
    int status;
    ts_mkdtemp(dir);
    cg_gen *g = cg_gen_new(NULL, &status, err, sizeof err);
    assert_non_null(g);
    if (cg_gen_load_file(g, SOURCE_DIR "/specs/kws.lua", err, sizeof err) != CG_OK)
        fail_msg("specs/kws.lua did not load: %s", err);
    assert_int_equal(cg_gen_network_count(g), 1);
    cg_network net;
    cg_sources src;
    m4_layer layers[MAX_LAYERS];
    assert_int_equal(cg_gen_network(g, 0, &net, err, sizeof err), CG_OK);
    assert_true(net.count < MAX_LAYERS);
    for (int i = 0; i < net.count; ++i) {
        layers[i].spec = "kws.lua";
        m4_write(g, net.layers[i], dir, &layers[i]);
    }
    if (cg_gen_network_emit(g, 0, &src, err, sizeof err) != CG_OK)
        fail_msg("the network did not generate: %s", err);
    char path[256];
    snprintf(path, sizeof path, "%s/%s.c", dir, net.name);
    ts_write_file(path, src.c);
    snprintf(path, sizeof path, "%s/%s.h", dir, net.name);
    ts_write_file(path, src.h);
    cg_sources_free(&src);

    compile_all(tools[0], M4_CFLAGS, dir, "building the example network for the Cortex-M4");
    unsigned long total = m4_check(tools, dir, net.name, layers, net.count);
    for (int i = 0; i < net.count; ++i)
        total += m4_check(tools, dir, layers[i].name, NULL, 0);
    print_message("Cortex-M4 (arm-none-eabi-gcc " M4_CFLAGS "), generic target:\n"
                  "  example network %s (specs/kws.lua, %d layers): .text %lu bytes with its baked weights;\n"
                  "  RAM %zu bytes: scratch %zu, input %zu, output %zu; no .data or .bss\n",
                  net.name, net.count, total,
                  4 * (net.scratch_size + net.input_size + net.output_size),
                  4 * net.scratch_size, 4 * net.input_size, 4 * net.output_size);
    cg_network_free(&net);
    cg_gen_free(g);
    ts_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neon_sweep_under_qemu_agrees_with_the_reference),
        cmocka_unit_test(test_neon_baked_layers_under_qemu_agree_with_the_reference),
        cmocka_unit_test(test_cortex_m4_builds_every_spec_and_reports_its_size),
        cmocka_unit_test(test_cortex_m4_builds_the_example_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
