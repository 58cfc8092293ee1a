/*
 * neon_main.c - the aarch64 program of test_cross's NEON sweep.
 *
 * Built once per batch with the batch's kernels and layers.inc, which
 * test_cross.c writes: the prototypes and the table
 *     static const struct layer layers[] = {
 *         { fn, pack, run, "name", ni, nw, nb, no, np, bias, seed }, ... };
 * For each layer it fills input, weights and bias as cg_verify does (from
 * the layer's seed, uniform in [-1, 1), in that order), then runs the
 * plain entry and the packed one (pack, then run) on outputs poisoned with
 * NaN, each twice: once with every buffer right after an inaccessible page,
 * once right before one, so that a kernel reading or writing outside a
 * buffer faults. Each entry's two outputs must be the same bits; the plain
 * entry's, then the packed entry's, are appended to the file argv[1].
 *
 * Exit status: 0 done; 2 usage or output file; 3 out of memory; 4 the runs
 * differ; a fault kills it.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cg_tensor.h"

typedef void (*layer_fn)(const float *, const float *, const float *, float *);
typedef void (*pack_fn)(const float *, const float *, float *);
typedef void (*run_fn)(const float *, const float *, float *);

struct layer {
    layer_fn fn;
    pack_fn pack;
    run_fn run;
    const char *name;
    size_t ni, nw, nb, no, np;
    int bias;
    unsigned long long seed;
};

#include "layers.inc"

/* n floats between two inaccessible pages, against the first (at_end 0)
 * or the second (at_end 1). */
typedef struct guarded {
    unsigned char *base;
    size_t bytes;
    float *p;
} guarded;

static int guarded_alloc(guarded *g, size_t n, int at_end)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t data = (n * sizeof(float) + page - 1) / page * page;
    g->bytes = data + 2 * page;
    g->base = mmap(NULL, g->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->base == MAP_FAILED)
        return -1;
    if (mprotect(g->base, page, PROT_NONE) != 0 ||
        mprotect(g->base + page + data, page, PROT_NONE) != 0)
        return -1;
    g->p = (float *)(at_end ? g->base + page + data - n * sizeof(float) : g->base + page);
    return 0;
}

static void guarded_free(guarded *g)
{
    munmap(g->base, g->bytes);
}

/* Run layer L's plain entry (packed 0) or pack + run (packed 1) with its
 * buffers placed at_end; outputs into y. */
static int run(const struct layer *L, int packed, const float *x, const float *w,
               const float *b, float *y, int at_end)
{
    guarded gx, gw, gb, gp, gy;
    if (guarded_alloc(&gx, L->ni, at_end) || guarded_alloc(&gw, L->nw, at_end) ||
        guarded_alloc(&gb, L->nb, at_end) || guarded_alloc(&gp, L->np ? L->np : 1, at_end) ||
        guarded_alloc(&gy, L->no, at_end))
        return 3;
    memcpy(gx.p, x, L->ni * sizeof *x);
    memcpy(gw.p, w, L->nw * sizeof *w);
    memcpy(gb.p, b, L->nb * sizeof *b);
    for (size_t j = 0; j < L->no; ++j)
        gy.p[j] = NAN;
    fprintf(stderr, "running %s%s (buffers %s a guard page)\n", L->name,
            packed ? "_pack + _run" : "", at_end ? "before" : "after");
    if (packed) {
        L->pack(gw.p, L->bias ? gb.p : NULL, gp.p);
        L->run(gx.p, gp.p, gy.p);
    } else {
        L->fn(gx.p, gw.p, L->bias ? gb.p : NULL, gy.p);
    }
    memcpy(y, gy.p, L->no * sizeof *y);
    guarded_free(&gx);
    guarded_free(&gw);
    guarded_free(&gb);
    guarded_free(&gp);
    guarded_free(&gy);
    return 0;
}

int main(int argc, char **argv)
{
    FILE *out = argc == 2 ? fopen(argv[1], "wb") : NULL;
    if (!out)
        return 2;
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; ++i) {
        const struct layer *L = &layers[i];
        float *x = malloc(L->ni * sizeof *x), *w = malloc(L->nw * sizeof *w);
        float *b = malloc(L->nb * sizeof *b);
        float *y0 = malloc(L->no * sizeof *y0), *y1 = malloc(L->no * sizeof *y1);
        cg_rng r;
        if (!x || !w || !b || !y0 || !y1)
            return 3;
        cg_rng_seed(&r, L->seed);
        cg_fill_uniform(x, L->ni, &r, -1.0f, 1.0f);
        cg_fill_uniform(w, L->nw, &r, -1.0f, 1.0f);
        cg_fill_uniform(b, L->nb, &r, -1.0f, 1.0f);
        for (int packed = 0; packed <= 1; ++packed) {
            int rc = run(L, packed, x, w, b, y0, 0);
            if (rc == 0)
                rc = run(L, packed, x, w, b, y1, 1);
            if (rc != 0)
                return rc;
            if (memcmp(y0, y1, L->no * sizeof *y0) != 0) {
                fprintf(stderr, "%s%s: the two runs differ\n", L->name, packed ? "_run" : "");
                return 4;
            }
            if (fwrite(y0, sizeof *y0, L->no, out) != L->no)
                return 2;
        }
        free(x);
        free(w);
        free(b);
        free(y0);
        free(y1);
    }
    return fclose(out) == 0 ? 0 : 2;
}
