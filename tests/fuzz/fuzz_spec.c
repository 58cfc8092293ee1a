/*
 * fuzz_spec.c - libFuzzer target: arbitrary bytes as a spec file, through
 * the loader and the validator.
 *
 * The contract checked on every input: loading ends (the sandbox's limits
 * hold), a refusal is the user's error (CG_ERR_INPUT, never an internal
 * error) with a message naming the file, and a spec that loads resolves
 * into layers whose shapes are consistent: every size positive, the
 * output size what shape arithmetic says, every tensor within a C int.
 * A breach aborts, which libFuzzer reports as a crash.
 *
 * Built twice: with libFuzzer by `make fuzz` (entry LLVMFuzzerTestOneInput,
 * plus Lua line coverage, see fuzz_support.h), and into tests/test_fuzz.c,
 * which replays the seed corpus and every crash found so far (FUZZ_ENTRY
 * renames the entry).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_gen.h"
#include "fuzz_support.h"

#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

#define SPEC_PATH "fuzz.lua"

static long long out_size(long long n, long long k, long long s, long long d,
                          long long pb, long long pe)
{
    long long span = d * (k - 1) + 1;
    return (n + pb + pe - span) / s + 1;
}

/* The invariants of one resolved layer; aborts on a breach. */
static void check_layer(const cg_conv *p, const char *text)
{
    const int sizes[] = { p->batch, p->channels, p->height, p->width, p->filters,
                          p->kernel_h, p->kernel_w, p->stride_h, p->stride_w,
                          p->dilation_h, p->dilation_w, p->groups, p->out_h, p->out_w };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i)
        if (sizes[i] < 1)
            fuzz_fail(text, "layer '%s': size #%zu is %d", p->name, i, sizes[i]);
    if (p->pad_top < 0 || p->pad_bottom < 0 || p->pad_left < 0 || p->pad_right < 0)
        fuzz_fail(text, "layer '%s': negative padding", p->name);
    if (p->channels % p->groups || p->filters % p->groups)
        fuzz_fail(text, "layer '%s': groups %d divide neither", p->name, p->groups);
    if (out_size(p->height, p->kernel_h, p->stride_h, p->dilation_h, p->pad_top, p->pad_bottom) != p->out_h ||
        out_size(p->width, p->kernel_w, p->stride_w, p->dilation_w, p->pad_left, p->pad_right) != p->out_w)
        fuzz_fail(text, "layer '%s': output %dx%d disagrees with the shape arithmetic",
                  p->name, p->out_h, p->out_w);
    const size_t counts[] = { cg_conv_input_size(p), cg_conv_weights_size(p),
                              cg_conv_output_size(p) };
    for (size_t i = 0; i < 3; ++i)
        if (counts[i] > 2147483647u)
            fuzz_fail(text, "layer '%s': tensor #%zu has %zu elements", p->name, i, counts[i]);
    if (!p->name[0])
        fuzz_fail(text, "a layer without a name");
}

int FUZZ_ENTRY(const uint8_t *data, size_t size);

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static char err[4096];
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_init();

    int status;
    cg_gen *g = cg_gen_new(NULL, &status, err, sizeof err);
    if (!g)
        fuzz_fail(text, "cg_gen_new: %s", err);
    int rc = cg_gen_load_string(g, SPEC_PATH, text, err, sizeof err);
    if (rc == CG_OK) {
        int n = cg_gen_count(g);
        if (n < 1)
            fuzz_fail(text, "loaded with no layer");
        for (int i = 0; i < n; ++i) {
            cg_conv p;
            if (cg_gen_params(g, i, &p, err, sizeof err) != CG_OK)
                fuzz_fail(text, "layer %d: params: %s", i, err);
            check_layer(&p, text);
        }
    } else if (rc != CG_ERR_INPUT) {
        fuzz_fail(text, "not the user's error (%d): %s", rc, err);
    } else if (!strstr(err, SPEC_PATH)) {
        fuzz_fail(text, "the message does not name the file: %s", err);
    }
    cg_gen_free(g);
    free(text);
    return 0;
}
