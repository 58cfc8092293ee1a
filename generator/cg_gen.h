/*
 * cg_gen.h - the generator as C callers see it: load spec files, then ask
 * for each layer's parameters, generated sources or report.
 *
 * Every function returns CG_OK, CG_ERR_INPUT (the spec, an option or a
 * file is bad: the message names the file and the field or line) or
 * CG_ERR_INTERNAL, with the message in err. Layers are numbered from 0 in
 * the order they were loaded.
 */
#ifndef CG_GEN_H
#define CG_GEN_H

#include <stddef.h>

#include "cg_conv.h"
#include "cg_host.h"

typedef struct cg_gen cg_gen;

typedef struct cg_gen_options {
    const char *target;   /* NULL: "generic" */
    int code_budget;      /* 0: the default; a spec's code_budget wins */
    int variant;          /* 0, or k: generate tune candidate k (from 1) */
} cg_gen_options;

/* Generated sources of one layer and how to build them; free with
 * cg_sources_free. */
typedef struct cg_sources {
    char *c, *h;
    size_t c_len, h_len;
    char target[32];     /* the resolved target ("native" becomes one) */
    int tinycc;          /* 1 if TinyCC can compile c */
    char cflags[128];    /* flags the system compiler needs for c */
    size_t packed_size;  /* floats <name>_pack writes (baked: <name>_packed holds) */
    int runs_here;       /* 1 if this machine's CPU can run the kernel */
    char cpu[64];        /* the CPU features the kernel needs, "a+b" */
    int baked;           /* 1: weights baked in; the only entry is
                            <name>(input, output) (cg_baked_fn) */
} cg_sources;

/* template_dir: see cg_host_new. NULL with *status and err on failure. */
cg_gen *cg_gen_new(const char *template_dir, int *status, char *err, size_t errlen);
void cg_gen_free(cg_gen *g);

/* Read a spec file and add its layers; PATH.tuned, if it exists, holds
 * the choices convgen tune recorded for them. */
int cg_gen_load_file(cg_gen *g, const char *path, char *err, size_t errlen);
/* The same for spec text already in memory; path names it in messages. */
int cg_gen_load_string(cg_gen *g, const char *path, const char *text, char *err, size_t errlen);

int cg_gen_count(cg_gen *g);

/* Layer i's resolved parameters. */
int cg_gen_params(cg_gen *g, int i, cg_conv *out, char *err, size_t errlen);

/* Layer i's .c and .h. */
int cg_gen_emit(cg_gen *g, int i, const cg_gen_options *opts, cg_sources *out,
                char *err, size_t errlen);
void cg_sources_free(cg_sources *s);

/* A baked layer's weights (*nw floats, the spec's layout) and bias (*nb
 * floats; NULL and 0 when the spec has bias = false), exactly as its .npy
 * files hold them: free() both. CG_ERR_INPUT if layer i has none. */
int cg_gen_baked(cg_gen *g, int i, float **weights, size_t *nw, float **bias, size_t *nb,
                 char *err, size_t errlen);

/* Layer i's "key: value" report lines (free() the string). */
int cg_gen_info(cg_gen *g, int i, const cg_gen_options *opts, char **text,
                char *err, size_t errlen);

/* A new budget of CG_RUN_INSTRUCTIONS for the calls that follow (a spent
 * budget fails every call). For tune, which generates dozens of candidates
 * per layer, each nearly a generate run of its own: it starts one per
 * layer, so that a file of many layers tunes as each would alone. */
void cg_gen_new_run_budget(cg_gen *g);

/* The tune candidates of layer i: *count descriptions in *names (free
 * each and the array). */
int cg_gen_candidates(cg_gen *g, int i, const cg_gen_options *opts, char ***names, int *count,
                      char *err, size_t errlen);

/* The .tuned line recording candidate best for the packed entry and
 * candidate plain (0: none) for the plain entry (free() the string). */
int cg_gen_tuned_record(cg_gen *g, int i, const cg_gen_options *opts, int best, int plain,
                        char **text, char *err, size_t errlen);

/* A network: layers chained so that each one's input is the previous
 * one's output, run by one generated function through a static memory
 * plan. Networks are numbered from 0 in the order they were loaded. */
typedef struct cg_network {
    char name[64];
    int count;                /* layers */
    int *layers;              /* their indices, in order (cg_network_free) */
    size_t input_size;        /* floats the first layer reads */
    size_t output_size;       /* floats the last layer writes */
    size_t scratch_size;      /* floats of scratch the plan needs */
} cg_network;

int cg_gen_network_count(cg_gen *g);
int cg_gen_network(cg_gen *g, int k, cg_network *out, char *err, size_t errlen);
void cg_network_free(cg_network *n);

/* Network k's own .c and .h (c, h, c_len and h_len of out; the layers'
 * files come from cg_gen_emit). Every layer must have baked weights. */
int cg_gen_network_emit(cg_gen *g, int k, cg_sources *out, char *err, size_t errlen);

/* Network k's "key: value" report lines (free() the string). */
int cg_gen_network_info(cg_gen *g, int k, char **text, char *err, size_t errlen);

#endif
