/*
 * baked_main.c - the aarch64 program of test_cross's baked-weights test.
 *
 * Built with the generated kernels and baked.inc, which test_cross.c
 * writes: the prototypes and the table
 *     static const struct layer layers[] = { { fn, "name", ni, no, seed }, ... };
 * For each layer it fills the input as cg_verify_baked does (from the
 * layer's seed, uniform in [-1, 1)) and runs the kernel, whose weights are
 * in its own .c, twice: with input and output right after an inaccessible
 * page, then right before one, so that a read or write outside them
 * faults. The two outputs must be the same bits; they are appended to the
 * file argv[1].
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

struct layer {
    void (*fn)(const float *, float *);
    const char *name;
    size_t ni, no;
    unsigned long long seed;
};

#include "baked.inc"

/* n floats against an inaccessible page: after it (at_end 0) or before it
 * (at_end 1). Returns the floats, or NULL; *base and *bytes for munmap. */
static float *guarded(size_t n, int at_end, void **base, size_t *bytes)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t data = (n * sizeof(float) + page - 1) / page * page;
    *bytes = data + 2 * page;
    unsigned char *p = mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *base = p;
    if (mprotect(p, page, PROT_NONE) != 0 || mprotect(p + page + data, page, PROT_NONE) != 0)
        return NULL;
    return (float *)(at_end ? p + page + data - n * sizeof(float) : p + page);
}

static int run(const struct layer *L, const float *x, float *y, int at_end)
{
    void *bx, *by;
    size_t nx, ny;
    float *gx = guarded(L->ni, at_end, &bx, &nx), *gy = guarded(L->no, at_end, &by, &ny);
    if (!gx || !gy)
        return 3;
    memcpy(gx, x, L->ni * sizeof *x);
    for (size_t j = 0; j < L->no; ++j)
        gy[j] = NAN;
    L->fn(gx, gy);
    memcpy(y, gy, L->no * sizeof *y);
    munmap(bx, nx);
    munmap(by, ny);
    return 0;
}

int main(int argc, char **argv)
{
    FILE *out = argc == 2 ? fopen(argv[1], "wb") : NULL;
    if (!out)
        return 2;
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; ++i) {
        const struct layer *L = &layers[i];
        float *x = malloc(L->ni * sizeof *x);
        float *y0 = malloc(L->no * sizeof *y0), *y1 = malloc(L->no * sizeof *y1);
        if (!x || !y0 || !y1)
            return 3;
        cg_rng r;
        cg_rng_seed(&r, L->seed);
        cg_fill_uniform(x, L->ni, &r, -1.0f, 1.0f);
        int rc = run(L, x, y0, 0);
        if (rc == 0)
            rc = run(L, x, y1, 1);
        if (rc != 0)
            return rc;
        if (memcmp(y0, y1, L->no * sizeof *y0) != 0) {
            fprintf(stderr, "%s: the two runs differ\n", L->name);
            return 4;
        }
        if (fwrite(y0, sizeof *y0, L->no, out) != L->no)
            return 2;
        free(x);
        free(y0);
        free(y1);
    }
    return fclose(out) == 0 ? 0 : 2;
}
