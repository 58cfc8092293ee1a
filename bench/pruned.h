/*
 * pruned.h - the layer of the pruned-weights benchmark and its weights,
 * shared by the program that writes them as .npy files (pruned_gen.c) and
 * the one that times the kernels convgen bakes them into (pruned_bench.c).
 *
 * DS-CNN's pointwise layer (64 -> 64 channels, 1x1, on a 25x5 map), with
 * random weights from a fixed seed, dense or with each weight zero with
 * probability 1/2 or 9/10 (unstructured pruning).
 */
#ifndef PRUNED_H
#define PRUNED_H

#include "cg_conv.h"
#include "cg_tensor.h"

#define PRUNED_SEED 20261125u
#define PRUNED_VARIANTS 3

static const int pruned_zero_pct[PRUNED_VARIANTS] = { 0, 50, 90 };
static const char *const pruned_names[PRUNED_VARIANTS] = {
    "bench_pruned_dense", "bench_pruned_50", "bench_pruned_90",
};

static const cg_conv pruned_layer = {
    .name = "bench_pruned", .batch = 1, .channels = 64, .height = 25, .width = 5,
    .filters = 64, .kernel_h = 1, .kernel_w = 1, .stride_h = 1, .stride_w = 1,
    .dilation_h = 1, .dilation_w = 1, .groups = 1, .bias = 1,
    .activation = CG_ACT_NONE, .out_h = 25, .out_w = 5,
};

enum { PRUNED_NW = 64 * 64, PRUNED_NB = 64 };

/* Variant v's weights and bias (the bias is the same for all). */
static inline void pruned_weights(int v, float *w, float *b)
{
    cg_rng r;
    cg_rng_seed(&r, PRUNED_SEED);
    cg_fill_uniform(w, PRUNED_NW, &r, -1.0f, 1.0f);
    cg_fill_uniform(b, PRUNED_NB, &r, -1.0f, 1.0f);
    cg_rng_seed(&r, PRUNED_SEED + 1u + (unsigned)v);
    for (int i = 0; i < PRUNED_NW; ++i)
        if (cg_rng_int(&r, 0, 99) < pruned_zero_pct[v])
            w[i] = 0.0f;
}

#endif
