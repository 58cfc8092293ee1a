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

/* One layer of a network as cg_verify_network sees it: its parameters
 * and its weights and bias (bias NULL when p->bias is 0). */
typedef struct cg_net_layer {
    const cg_conv *p;
    const float *weights, *bias;
} cg_net_layer;

/* A generated network: input, output and scratch (see network { }). */
typedef void (*cg_net_fn)(const float *input, float *output, float *scratch);

/*
 * Run the network fn on a seeded random input (uniform in [-1, 1)) and
 * compare its output with the reference applied layer by layer. Each
 * layer's rounding may reach the next layers, so element i of the output
 * may differ by the bound the reference itself carries forward: a layer's
 * own tolerance (as cg_compare_floats) plus the previous layer's bound
 * through the absolute weights, times the activation's steepest slope.
 * input, output and scratch (scratch_size floats) end at guard pages.
 * Returns 0 and fills *result, or -1 if memory runs out.
 */
int cg_verify_network(const cg_net_layer *layers, int n, cg_net_fn fn, size_t scratch_size,
                      uint64_t seed, cg_compare *result);

#endif
