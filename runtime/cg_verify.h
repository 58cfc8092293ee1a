/*
 * cg_verify.h - run a generated layer on seeded random data and compare it
 * with the reference convolution.
 */
#ifndef CG_VERIFY_H
#define CG_VERIFY_H

#include <stdint.h>

#include "cg_conv.h"
#include "cg_tensor.h"

/*
 * Fill input, weights and bias from seed (uniform in [-1, 1)), run fn and
 * the reference, and compare. Every buffer the kernel sees is allocated to
 * its exact size and ends at an inaccessible page (cg_guard.h), so a
 * kernel reading or writing past one faults, instrumented or not.
 * Returns 0 and fills *result (result->failures == 0 means agreement), or
 * -1 if memory runs out.
 */
int cg_verify(const cg_conv *p, cg_conv_fn fn, uint64_t seed, cg_compare *result);

/*
 * The same for the packed entries: pack the weights and bias into a buffer
 * of exactly packed_size floats, then run. Same data as cg_verify for the
 * same seed.
 */
int cg_verify_packed(const cg_conv *p, cg_pack_fn pack, cg_run_fn run, size_t packed_size,
                     uint64_t seed, cg_compare *result);

/*
 * The same for a layer with baked weights: fn(input, output) holds its
 * weights; the reference gets weights and bias (NULL when the layer has
 * none), the values baked in. The input is cg_verify's for the same seed;
 * input and output end at guard pages.
 */
int cg_verify_baked(const cg_conv *p, cg_baked_fn fn, const float *weights, const float *bias,
                    uint64_t seed, cg_compare *result);

/* One layer of a network as cg_verify_network sees it: its parameters,
 * its own entry and the weights and bias it bakes in (bias NULL when
 * p->bias is 0). */
typedef struct cg_net_layer {
    const cg_conv *p;
    cg_baked_fn fn;
    const float *weights, *bias;
} cg_net_layer;

/* A generated network: input, output and scratch (see network { }). */
typedef void (*cg_net_fn)(const float *input, float *output, float *scratch);

/*
 * Check a network against the reference applied layer by layer. fn runs
 * on a seeded random input (uniform in [-1, 1)); then the layers run one
 * by one from the same input, each into a buffer of its own, and each
 * layer's output is compared with the reference applied to that layer's
 * actual input (the tolerance of cg_compare_floats: rounding errors do not
 * pile up across layers). *result merges the layers' comparisons (worst
 * is the flat index within the worst layer, *worst_layer that layer).
 * The network's output must then equal the last layer's bit for bit: the
 * same functions on the same data, so any difference (*mismatches
 * outputs) means the memory plan or the calls are wrong. Every buffer
 * (input, output and scratch_size floats of scratch) ends at a guard page.
 * Returns 0, or -1 if memory runs out.
 */
int cg_verify_network(const cg_net_layer *layers, int n, cg_net_fn fn, size_t scratch_size,
                      uint64_t seed, cg_compare *result, int *worst_layer, size_t *mismatches);

#endif
