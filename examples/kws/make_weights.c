/*
 * make_weights.c - write the random weights of specs/kws.lua as .npy
 * files (float32, little-endian, C order), deterministically:
 *
 *     cc -O2 -o make_weights examples/kws/make_weights.c
 *     ./make_weights specs/kws
 *
 * Weights are uniform in [-s, s) with s = sqrt(6 / fan_in) (He), biases
 * uniform in [-0.1, 0.1); the pooling layer's weights are all 1/125, which
 * makes it the average over the 25 x 5 plane. Needs nothing but C99.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct tensor {
    const char *file;
    int rank, dims[4];
    int fan_in;      /* 0: bias; -1: the pooling layer's constant */
};

static const struct tensor tensors[] = {
    { "conv1_w.npy", 4, { 64, 1, 10, 4 }, 40 }, { "conv1_b.npy", 1, { 64 }, 0 },
    { "dw1_w.npy", 4, { 64, 1, 3, 3 }, 9 },     { "dw1_b.npy", 1, { 64 }, 0 },
    { "pw1_w.npy", 4, { 64, 64, 1, 1 }, 64 },   { "pw1_b.npy", 1, { 64 }, 0 },
    { "dw2_w.npy", 4, { 64, 1, 3, 3 }, 9 },     { "dw2_b.npy", 1, { 64 }, 0 },
    { "pw2_w.npy", 4, { 64, 64, 1, 1 }, 64 },   { "pw2_b.npy", 1, { 64 }, 0 },
    { "dw3_w.npy", 4, { 64, 1, 3, 3 }, 9 },     { "dw3_b.npy", 1, { 64 }, 0 },
    { "pw3_w.npy", 4, { 64, 64, 1, 1 }, 64 },   { "pw3_b.npy", 1, { 64 }, 0 },
    { "dw4_w.npy", 4, { 64, 1, 3, 3 }, 9 },     { "dw4_b.npy", 1, { 64 }, 0 },
    { "pw4_w.npy", 4, { 64, 64, 1, 1 }, 64 },   { "pw4_b.npy", 1, { 64 }, 0 },
    { "pool_w.npy", 4, { 64, 1, 25, 5 }, -1 },
    { "fc_w.npy", 4, { 12, 64, 1, 1 }, 64 },    { "fc_b.npy", 1, { 12 }, 0 },
};

static uint64_t state = 20171130;

/* splitmix64, then 24 bits: uniform in [0, 1), exact in float. */
static float uniform(void)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (float)(z >> 40) * 0x1p-24f;
}

static int write_npy(const char *dir, const struct tensor *t)
{
    char path[512], header[128], shape[64] = "";
    size_t count = 1;
    for (int i = 0; i < t->rank; ++i) {
        char d[16];
        snprintf(d, sizeof d, "%d,%s", t->dims[i], t->rank == 1 || i + 1 < t->rank ? " " : "");
        strcat(shape, d);
        count *= (size_t)t->dims[i];
    }
    /* "(64, 1, 10, 4)" and "(64,)", as NumPy writes them. */
    size_t len = strlen(shape);
    while (len && (shape[len - 1] == ' ' || (t->rank > 1 && shape[len - 1] == ',')))
        shape[--len] = '\0';
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shape);
    /* Magic, version 1.0, header length; the header padded with spaces
     * and ended by a newline so the data starts at a multiple of 64. */
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    snprintf(path, sizeof path, "%s/%s", dir, t->file);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    unsigned hlen = (unsigned)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(hlen & 0xff), f);
    fputc((int)(hlen >> 8), f);
    fwrite(header, 1, (size_t)n, f);
    for (int i = 0; i < pad; ++i)
        fputc(' ', f);
    fputc('\n', f);
    const float s = t->fan_in > 0 ? sqrtf(6.0f / (float)t->fan_in) : 0.1f;
    for (size_t i = 0; i < count; ++i) {
        float v = t->fan_in < 0 ? 1.0f / 125.0f : s * (2.0f * uniform() - 1.0f);
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        for (int b = 0; b < 4; ++b)
            fputc((int)((bits >> (8 * b)) & 0xff), f);
    }
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_weights DIR\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof tensors / sizeof *tensors; ++i)
        if (write_npy(argv[1], &tensors[i]) != 0)
            return 1;
    return 0;
}
