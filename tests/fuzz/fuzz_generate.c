/*
 * fuzz_generate.c - libFuzzer target: the bytes choose a valid layer of
 * small shape (every field: groups and depthwise, stride, dilation, each
 * padding form, kernel up to the padded input, bias, activation, batch,
 * code budget, forced tile, packed kernel, layout), which is generated, compiled
 * in-process with TinyCC and run against the reference, plain and packed
 * entries both.
 *
 * The contract: a valid spec loads; generating it succeeds or refuses
 * only for a code budget too small or a packed kernel the target lacks;
 * the kernel compiles and agrees with the reference within tolerance; and
 * it touches nothing past its buffers, which end at guard pages
 * (cg_verify), so even TinyCC's uninstrumented code faults on an overrun.
 * Built and replayed as fuzz_spec.c is.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_gen.h"
#include "cg_jit.h"
#include "cg_verify.h"
#include "fuzz_support.h"

#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

/* The input read as a stream of small choices; zeros once it runs out. */
struct bytes {
    const uint8_t *p;
    size_t left;
};

/* An integer in [lo, hi] taken from the next byte. */
static int pick(struct bytes *b, int lo, int hi)
{
    int v = 0;
    if (b->left) {
        v = *b->p++;
        b->left--;
    }
    return lo + v % (hi - lo + 1);
}

static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* The largest kernel extent (at most 7) that fits a padded extent. */
static int max_kernel(int padded, int dilation)
{
    int k = (padded - 1) / dilation + 1;
    return k < 7 ? k : 7;
}

/* Write the layer the bytes choose into spec (2048 bytes). */
static void spec_from_bytes(struct bytes *b, char *spec, size_t len)
{
    static const char *const acts[] = { "none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh" };
    int mode = pick(b, 0, 4), groups, cpg, fpg;
    if (mode == 4) {                       /* depthwise */
        groups = pick(b, 1, 8);
        cpg = 1;
        fpg = pick(b, 1, 3);
    } else {
        groups = mode == 3 ? pick(b, 2, 4) : 1;
        cpg = pick(b, 1, 6);
        fpg = pick(b, 1, 5);
    }
    int wide = pick(b, 0, 7) == 0;
    int h = pick(b, 1, wide ? 40 : 16), w = pick(b, 1, wide ? 48 : 20);
    int sh = pick(b, 1, 4), sw = pick(b, 1, 4), dh = pick(b, 1, 3), dw = pick(b, 1, 3);
    int pad = pick(b, 0, 3), pt = 0, pb = 0, pl = 0, pr = 0;
    char padding[96];
    if (pad == 0) {
        snprintf(padding, sizeof padding, "\"valid\"");
    } else if (pad == 1) {
        snprintf(padding, sizeof padding, "\"same\"");
    } else if (pad == 2) {
        pt = pb = pl = pr = pick(b, 0, 4);
        snprintf(padding, sizeof padding, "%d", pt);
    } else {
        pt = pick(b, 0, 4), pb = pick(b, 0, 4), pl = pick(b, 0, 4), pr = pick(b, 0, 4);
        snprintf(padding, sizeof padding, "{ top = %d, bottom = %d, left = %d, right = %d }",
                 pt, pb, pl, pr);
    }
    /* "same" pads whatever any kernel needs. */
    int kh = pick(b, 1, pad == 1 ? 7 : max_kernel(h + pt + pb, dh));
    int kw = pick(b, 1, pad == 1 ? 7 : max_kernel(w + pl + pr, dw));
    const char *act = acts[pick(b, 0, 5)];

    snprintf(spec, len,
             "conv2d { name = \"fz\", batch = %d,\n"
             "  input = { channels = %d, height = %d, width = %d },\n"
             "  filters = %d, groups = %d, kernel = { height = %d, width = %d },\n"
             "  stride = { height = %d, width = %d }, dilation = { height = %d, width = %d },\n"
             "  padding = %s, bias = %s, activation = \"%s\",\n",
             pick(b, 1, 2), groups * cpg, h, w, groups * fpg, groups, kh, kw,
             sh, sw, dh, dw, padding, pick(b, 0, 1) ? "true" : "false", act);
    if (strcmp(act, "leaky_relu") == 0)
        append(spec, len, "  alpha = %d / 64,\n", pick(b, -64, 64));
    if (pick(b, 0, 3) == 0)
        append(spec, len, "  code_budget = %d,\n", pick(b, 2, 200) * 10);
    if (pick(b, 0, 3) == 0) {
        int tf = pick(b, 1, 8), tr = pick(b, 1, 4), tv = pick(b, 1, 2);
        append(spec, len, "  tile = { filters = %d, rows = %d, vectors = %d },\n", tf, tr, tv);
    }
    int kernel = pick(b, 0, 2);
    if (kernel == 1 || (kernel == 2 && fpg > 1))
        append(spec, len, "  packed_kernel = \"%s\",\n", kernel == 1 ? "tiled" : "filter_vectors");
    /* Drawn last: an input that ends before it stays NCHW. */
    if (pick(b, 0, 1))
        append(spec, len, "  layout = \"nhwc\",\n");
    append(spec, len, "}\n");
}

int FUZZ_ENTRY(const uint8_t *data, size_t size);

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static char spec[2048], err[4096];
    struct bytes b = { data, size };
    spec_from_bytes(&b, spec, sizeof spec);
    fuzz_init();

    int status;
    cg_gen *g = cg_gen_new(NULL, &status, err, sizeof err);
    if (!g)
        fuzz_fail(spec, "cg_gen_new: %s", err);
    if (cg_gen_load_string(g, "fz.lua", spec, err, sizeof err) != CG_OK)
        fuzz_fail(spec, "a valid spec was refused: %s", err);
    cg_conv p;
    cg_sources src;
    if (cg_gen_params(g, 0, &p, err, sizeof err) != CG_OK)
        fuzz_fail(spec, "params: %s", err);
    int rc = cg_gen_emit(g, 0, NULL, &src, err, sizeof err);
    if (rc == CG_OK) {
        char *info;
        if (cg_gen_info(g, 0, NULL, &info, err, sizeof err) != CG_OK)
            fuzz_fail(spec, "info failed where emit did not: %s", err);
        free(info);
    }
    cg_gen_free(g);
    if (rc != CG_OK) {
        if (rc == CG_ERR_INPUT && (strstr(err, "code budget") || strstr(err, "packed_kernel")))
            return 0;
        fuzz_fail(spec, "generation failed (%d): %s", rc, err);
    }
    if (!src.tinycc)
        fuzz_fail(spec, "the generic target must compile with TinyCC");

    cg_jit *jit = cg_jit_compile(src.c, p.name, err, sizeof err);
    if (!jit)
        fuzz_fail(spec, "TinyCC rejected the kernel: %s", err);
    void *sym[3] = { cg_jit_symbol(jit, "fz"), cg_jit_symbol(jit, "fz_pack"),
                     cg_jit_symbol(jit, "fz_run") };
    if (!sym[0] || !sym[1] || !sym[2])
        fuzz_fail(spec, "an entry is missing");
    cg_conv_fn fn;
    cg_pack_fn pack;
    cg_run_fn run;
    memcpy(&fn, &sym[0], sizeof fn);
    memcpy(&pack, &sym[1], sizeof pack);
    memcpy(&run, &sym[2], sizeof run);
    cg_compare r;
    uint64_t seed = size ? data[0] : 0;
    if (cg_verify(&p, fn, seed, &r) != 0)
        fuzz_fail(spec, "out of memory");
    if (r.failures)
        fuzz_fail(spec, "plain entry: %zu outputs disagree (worst %g x tolerance at %zu)",
                  r.failures, r.worst_ratio, r.worst);
    if (cg_verify_packed(&p, pack, run, src.packed_size, seed, &r) != 0)
        fuzz_fail(spec, "out of memory");
    if (r.failures)
        fuzz_fail(spec, "packed entry: %zu outputs disagree (worst %g x tolerance at %zu)",
                  r.failures, r.worst_ratio, r.worst);
    cg_jit_free(jit);
    cg_sources_free(&src);
    return 0;
}
