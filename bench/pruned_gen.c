/*
 * pruned_gen.c - write the pruned-weights benchmark's inputs: DIR/pruned.lua
 * (one baked layer per variant) and the .npy files it names.
 *
 * usage: pruned_gen DIR     exit status 0, or 2 if a file cannot be written
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pruned.h"

/* A float32 .npy (version 1.0, little-endian, C order) of shape dims. */
static int write_npy(const char *path, const char *shape, const float *v, int n)
{
    char header[128];
    int len = snprintf(header, sizeof header,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    while ((10 + len + 1) % 64 != 0)
        header[len++] = ' ';
    header[len++] = '\n';
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)len,
                              (unsigned char)(len >> 8) };
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len;
    for (int i = 0; ok && i < n; ++i) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        unsigned char b[4] = { (unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                               (unsigned char)(u >> 24) };
        ok = fwrite(b, 1, 4, f) == 4;
    }
    return fclose(f) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pruned_gen DIR\n");
        return 2;
    }
    char path[4096];
    static float w[PRUNED_NW], b[PRUNED_NB];
    snprintf(path, sizeof path, "%s/pruned.lua", argv[1]);
    FILE *spec = fopen(path, "w");
    if (!spec) {
        fprintf(stderr, "pruned_gen: cannot write %s\n", path);
        return 2;
    }
    fprintf(spec, "-- Written by bench/pruned_gen: DS-CNN's pointwise layer with baked weights,\n"
                  "-- dense and randomly pruned (seed %u).\n", PRUNED_SEED);
    for (int v = 0; v < PRUNED_VARIANTS; ++v) {
        pruned_weights(v, w, b);
        snprintf(path, sizeof path, "%s/%s_w.npy", argv[1], pruned_names[v]);
        if (write_npy(path, "(64, 64, 1, 1)", w, PRUNED_NW) != 0) {
            fprintf(stderr, "pruned_gen: cannot write %s\n", path);
            return 2;
        }
        snprintf(path, sizeof path, "%s/%s_b.npy", argv[1], pruned_names[v]);
        if (write_npy(path, "(64,)", b, PRUNED_NB) != 0) {
            fprintf(stderr, "pruned_gen: cannot write %s\n", path);
            return 2;
        }
        /* The budget fits the unrolled 50% kernel (about 7000 lines). */
        fprintf(spec, "conv2d { name = \"%s\", input = { channels = 64, height = 25, width = 5 },\n"
                      "  filters = 64, kernel = 1, code_budget = 16384,\n"
                      "  weights = \"%s_w.npy\", bias_values = \"%s_b.npy\" }\n",
                pruned_names[v], pruned_names[v], pruned_names[v]);
    }
    if (fclose(spec) != 0) {
        fprintf(stderr, "pruned_gen: cannot write %s/pruned.lua\n", argv[1]);
        return 2;
    }
    return 0;
}
