/* cg_npy.c - a strict reader of float32 .npy files (see cg_npy.h). */
#include "cg_npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cg_files.h"

static const char MAGIC[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

/* The header dictionary as parsed; each key at most once. */
struct header {
    char descr[32];
    int have_descr, have_fortran, fortran;
    int have_shape, ndims;
    long long shape[CG_NPY_MAX_DIMS];
};

struct cursor {
    const char *p, *end;
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        ++c->p;
}

static int accept(struct cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        ++c->p;
        return 1;
    }
    return 0;
}

/* A Python string literal in single or double quotes, without escapes
 * (numpy writes none in the keys and descr it produces). */
static int string_lit(struct cursor *c, char *out, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    ++c->p;
    out[n] = '\0';
    return 0;
}

static int word(struct cursor *c, const char *w)
{
    skip_space(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* (d0, d1, ...) with Python's spellings of the 0- and 1-tuple. */
static int shape_lit(struct cursor *c, struct header *h)
{
    if (!accept(c, '('))
        return -1;
    h->ndims = 0;
    for (;;) {
        if (accept(c, ')'))
            return 0;
        skip_space(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9' || h->ndims == CG_NPY_MAX_DIMS)
            return -1;
        long long v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*c->p++ - '0');
        }
        h->shape[h->ndims++] = v;
        if (!accept(c, ',')) {
            if (!accept(c, ')'))
                return -1;
            return 0;
        }
    }
}

/* Parse the header dictionary; returns 0, or -1 with reason set. */
static int parse_header(const char *text, size_t len, struct header *h, const char **reason)
{
    struct cursor c = { text, text + len };
    memset(h, 0, sizeof *h);
    *reason = "the header is not a Python dictionary literal";
    if (!accept(&c, '{'))
        return -1;
    for (;;) {
        char key[32];
        if (accept(&c, '}'))
            break;
        if (string_lit(&c, key, sizeof key) != 0 || !accept(&c, ':'))
            return -1;
        if (strcmp(key, "descr") == 0 && !h->have_descr) {
            if (string_lit(&c, h->descr, sizeof h->descr) != 0)
                return -1;
            h->have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !h->have_fortran) {
            if (word(&c, "True"))
                h->fortran = 1;
            else if (!word(&c, "False"))
                return -1;
            h->have_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !h->have_shape) {
            if (shape_lit(&c, h) != 0)
                return -1;
            h->have_shape = 1;
        } else {
            *reason = "the header has an unknown or repeated key";
            return -1;
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                return -1;
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end)
        return -1;
    if (!h->have_descr || !h->have_fortran || !h->have_shape) {
        *reason = "the header lacks one of 'descr', 'fortran_order', 'shape'";
        return -1;
    }
    return 0;
}

/* "(8, 3, 5, 5)" as Python prints a tuple; "(8,)" for one dimension. */
static void format_shape(char *buf, size_t cap, const long long *dims, int n)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < n && used < cap; ++i)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "", dims[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "%s)", n == 1 ? "," : "");
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int cg_npy_read_f32(const char *path, const long long *dims, int ndims, const char *what,
                    char **data, size_t *nbytes, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    *data = NULL;
    *nbytes = 0;
    /* Only a regular file, read no further than its header (at most
     * 64 KiB in practice; 1 MiB allowed) and the data the spec expects
     * could need: a device or a FIFO would never end. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    const size_t header_max = (size_t)1 << 20, limit = (SIZE_MAX - header_max) / 4;
    size_t values = 1;
    for (int i = 0; i < ndims; ++i)
        values = dims[i] <= 0 ? 0 : values > limit / (size_t)dims[i] ? limit : values * (size_t)dims[i];
    const size_t max = header_max + 4 * values;
    if (cg_read_file_max(path, max, &buf, &len, err, errlen) != 0)
        return -1;
    const unsigned char *u = (const unsigned char *)buf;
    struct header h;
    const char *reason;
    char got[160], want[160];
    size_t hstart, hlen;

    if (len < 10 || memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
        snprintf(err, errlen, "%s: not a .npy file (no \\x93NUMPY magic at the start)", path);
        goto fail;
    }
    if (u[6] == 1 && u[7] == 0) {
        hstart = 10;
        hlen = (size_t)u[8] | (size_t)u[9] << 8;
    } else if ((u[6] == 2 || u[6] == 3) && u[7] == 0) {
        if (len < 12) {
            snprintf(err, errlen, "%s: truncated in the header", path);
            goto fail;
        }
        hstart = 12;
        hlen = le32(u + 8);
    } else {
        snprintf(err, errlen, "%s: unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)",
                 path, u[6], u[7]);
        goto fail;
    }
    if (hlen > len - hstart) {
        snprintf(err, errlen, "%s: truncated in the header (%zu header bytes announced, %zu present)",
                 path, hlen, len - hstart);
        goto fail;
    }
    if (parse_header(buf + hstart, hlen, &h, &reason) != 0) {
        snprintf(err, errlen, "%s: bad header: %s", path, reason);
        goto fail;
    }
    if (strcmp(h.descr, "<f4") != 0) {
        snprintf(err, errlen, "%s: dtype '%s' is not little-endian float32 ('<f4')", path, h.descr);
        goto fail;
    }
    if (h.fortran) {
        snprintf(err, errlen, "%s: fortran_order is True; convgen needs C order (save np.ascontiguousarray(a))",
                 path);
        goto fail;
    }
    int same = h.ndims == ndims;
    for (int i = 0; same && i < ndims; ++i)
        same = h.shape[i] == dims[i];
    if (!same) {
        format_shape(got, sizeof got, h.shape, h.ndims);
        format_shape(want, sizeof want, dims, ndims);
        snprintf(err, errlen, "%s: shape %s does not match the spec's %s %s", path, got, what, want);
        goto fail;
    }
    size_t count = 1;
    for (int i = 0; i < ndims; ++i)
        count *= (size_t)dims[i];
    size_t have = len - hstart - hlen;
    if (have != count * 4) {
        snprintf(err, errlen, "%s: %s: %zu bytes of data for %zu float32 values (%zu bytes)", path,
                 have < count * 4 ? "truncated" : "trailing bytes", have, count, count * 4);
        goto fail;
    }
    const unsigned char *d = u + hstart + hlen;
    for (size_t i = 0; i < count; ++i) {
        if ((le32(d + 4 * i) & 0x7f800000u) == 0x7f800000u) {
            snprintf(err, errlen, "%s: value %zu (flat index) is %s; weights must be finite", path, i,
                     (le32(d + 4 * i) & 0x007fffffu) ? "NaN" : "infinite");
            goto fail;
        }
    }
    /* The data to the front of the buffer: one allocation, no copy. */
    memmove(buf, d, count * 4);
    *data = buf;
    *nbytes = count * 4;
    return 0;

fail:
    free(buf);
    return -1;
}
