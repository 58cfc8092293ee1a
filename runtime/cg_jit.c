/* cg_jit.c - the TinyCC in-memory compile cycle (see cg_jit.h). */
#include "cg_jit.h"

#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where Debian's tcc package keeps libtcc1.a and tcc's own headers. */
#ifndef CG_TCC_DIR
#define CG_TCC_DIR "/usr/lib/x86_64-linux-gnu/tcc"
#endif

struct cg_jit {
    TCCState *tcc;
};

struct messages {
    char *buf;
    size_t len, used;
};

static void collect(void *opaque, const char *msg)
{
    struct messages *m = opaque;
    if (m->len == 0)
        return;
    int n = snprintf(m->buf + m->used, m->len - m->used, "%s%s",
                     m->used ? "\n" : "", msg);
    if (n > 0)
        m->used += (size_t)n < m->len - m->used ? (size_t)n : m->len - m->used - 1;
}

cg_jit *cg_jit_compile(const char *source, const char *name, char *err, size_t errlen)
{
    return cg_jit_compile_units(&source, &name, 1, err, errlen);
}

cg_jit *cg_jit_compile_units(const char *const *sources, const char *const *names, int n,
                             char *err, size_t errlen)
{
    struct messages m = { err, errlen, 0 };
    if (errlen)
        err[0] = '\0';

    cg_jit *j = calloc(1, sizeof *j);
    char *text = NULL;
    if (!j) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    j->tcc = tcc_new();
    if (!j->tcc) {
        snprintf(err, errlen, "tcc_new failed");
        goto fail;
    }
    tcc_set_error_func(j->tcc, &m, collect);
    /* Paths and options first: the output type fixes them. */
    tcc_set_lib_path(j->tcc, CG_TCC_DIR);
    tcc_set_options(j->tcc, "-std=c99 -Wall");
    tcc_set_output_type(j->tcc, TCC_OUTPUT_MEMORY);
    if (tcc_add_library(j->tcc, "m") < 0)
        goto failed;
    /* Each call of tcc_compile_string is a translation unit of its own. */
    for (int i = 0; i < n; ++i) {
        size_t need = strlen(sources[i]) + strlen(names[i]) + 32;
        free(text);
        if (!(text = malloc(need))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        snprintf(text, need, "#line 1 \"%s.c\"\n%s", names[i], sources[i]);
        if (tcc_compile_string(j->tcc, text) < 0)
            goto failed;
    }
    if (tcc_relocate(j->tcc, TCC_RELOCATE_AUTO) < 0)
        goto failed;
    free(text);
    return j;

failed:
    if (m.used == 0)
        snprintf(err, errlen, "%s.c: TinyCC failed without a message", n > 0 ? names[0] : "?");
fail:
    free(text);
    cg_jit_free(j);
    return NULL;
}

void *cg_jit_symbol(cg_jit *j, const char *symbol)
{
    return tcc_get_symbol(j->tcc, symbol);
}

void cg_jit_free(cg_jit *j)
{
    if (!j)
        return;
    if (j->tcc)
        tcc_delete(j->tcc);
    free(j);
}
