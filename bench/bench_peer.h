/*
 * bench_peer.h - one way of computing a convolution layer ("system"):
 * convgen's kernel or one of its peers. The harness creates a peer for a
 * layer (all layout conversion, packing and planning happen there, untimed),
 * runs it once and checks its result against the reference, then times
 * run() alone.
 */
#ifndef BENCH_PEER_H
#define BENCH_PEER_H

#include <stddef.h>

#include "cg_conv.h"

/* The layer and its data, in convgen's layouts: input NCHW, weights
 * [F][C/groups][KH][KW], bias [F]. A peer copies what it needs. */
typedef struct bench_problem {
    const cg_conv *conv;
    cg_conv_fn kernel;          /* convgen's plain entry for this layer */
    cg_pack_fn pack;            /* ... its <name>_pack and <name>_run */
    cg_run_fn run;
    size_t packed_size;         /* floats <name>_pack writes */
    const float *input, *weights, *bias;
} bench_problem;

typedef struct bench_peer {
    const char *name;           /* column label, a CSV-safe word */
    const char *about;          /* one line for the report */
    /* Prepare to compute the layer. Returns the peer's state, or NULL with
     * a message in err when it cannot run this layer. */
    void *(*create)(const bench_problem *pb, char *err, size_t errlen);
    /* The call that is timed: compute the whole layer once. */
    void (*run)(void *state);
    /* Write the last run's output to out as NCHW (untimed). */
    void (*result)(void *state, float *out);
    /* The implementation it picked ("" if it does not say). */
    const char *(*impl)(void *state);
    void (*destroy)(void *state);
} bench_peer;

extern const bench_peer bench_peer_convgen;     /* bench_direct.c */
extern const bench_peer bench_peer_convgen_plain; /* bench_direct.c */
extern const bench_peer bench_peer_naive;       /* bench_direct.c */
extern const bench_peer bench_peer_dnnl_nchw;   /* bench_dnnl.c */
extern const bench_peer bench_peer_dnnl_any;    /* bench_dnnl.c */
extern const bench_peer bench_peer_xnnpack;     /* bench_xnn.c */
extern const bench_peer bench_peer_blas;        /* bench_blas.c */

#endif
