/* fuzz_support.c - what the fuzz targets share (see fuzz_support.h). */
#include "fuzz_support.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_host.h"

#ifdef CG_FUZZ_COVERAGE
enum { COUNTERS = 1 << 16 };

/* libFuzzer reads every byte array in this section as coverage counters. */
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_edges[COUNTERS];

static uint32_t previous;

static uint32_t hash_source(const char *s)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *s; ++s)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void on_line(void *ud, const char *source, int line)
{
    (void)ud;
    static const char *last_source;
    static uint32_t last_hash;
    if (strncmp(source, "@generator/", 11) != 0 && strncmp(source, "@templates/", 11) != 0)
        return;
    if (source != last_source) {   /* interned: the same chunk, the same pointer */
        last_source = source;
        last_hash = hash_source(source);
    }
    uint32_t here = (last_hash ^ ((uint32_t)line * 2654435761u)) & (COUNTERS - 1);
    lua_edges[(here ^ previous) & (COUNTERS - 1)]++;
    previous = here >> 1;
}
#endif

void fuzz_init(void)
{
#ifdef CG_FUZZ_COVERAGE
    cg_host_set_line_hook(on_line, NULL);
    previous = 0;
#endif
}

void fuzz_fail(const char *input, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz: contract broken: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n--- input ---\n%s\n--- end ---\n", input ? input : "");
    abort();
}
