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

#endif
