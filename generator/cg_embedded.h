/*
 * cg_embedded.h - files compiled into the convgen binary: the generator's
 * Lua modules ("lua/<module>.lua") and the templates
 * ("templates/<family>/..."), so an installed convgen needs nothing beside
 * it. The table is written at build time by generator/embed.c.
 */
#ifndef CG_EMBEDDED_H
#define CG_EMBEDDED_H

#include <stddef.h>

typedef struct cg_embedded_file {
    const char *name;
    const char *data;   /* NUL-terminated */
    size_t size;        /* without the NUL */
} cg_embedded_file;

/* Terminated by an entry whose name is NULL. */
extern const cg_embedded_file cg_embedded_files[];

/* The embedded file called name, or NULL. */
const cg_embedded_file *cg_embedded_find(const char *name);

#endif
