/*
 * cg_jit.h - compile C source in memory with TinyCC (libtcc).
 *
 * This is the only file of convgen that includes libtcc.h. A cg_jit owns
 * its TinyCC state; the function pointers it hands out die with it.
 */
#ifndef CG_JIT_H
#define CG_JIT_H

#include <stddef.h>

typedef struct cg_jit cg_jit;

/*
 * Compile source (C99) and relocate it into memory. name appears in
 * compiler messages as "<name>.c:LINE". Returns NULL on failure with the
 * compiler's messages in err.
 */
cg_jit *cg_jit_compile(const char *source, const char *name, char *err, size_t errlen);

/* The same for n translation units linked together (a network and its
 * layers): sources[i] is compiled as "<names[i]>.c". */
cg_jit *cg_jit_compile_units(const char *const *sources, const char *const *names, int n,
                             char *err, size_t errlen);

/* The address of a global symbol, or NULL. */
void *cg_jit_symbol(cg_jit *j, const char *symbol);

void cg_jit_free(cg_jit *j);

#endif
