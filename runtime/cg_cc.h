/*
 * cg_cc.h - build C source with the system compiler into a temporary
 * shared object and load it: the ahead-of-time path, used to check kernels
 * as a product would build them (cc -O2) and that they compile
 * warning-free under strict flags.
 */
#ifndef CG_CC_H
#define CG_CC_H

#include <stddef.h>

typedef struct cg_so cg_so;

/*
 * Compile source with compiler (NULL: $CC, else "cc") and flags (split on
 * spaces; then the words of $CONVGEN_KERNEL_CFLAGS, e.g. the sanitizers
 * of `make test-sanitize`; -shared -fPIC are added) into a shared object
 * in a fresh temporary directory, then dlopen it. The directory is removed
 * before returning. Returns NULL on failure with the compiler's output in
 * err.
 */
cg_so *cg_cc_build(const char *source, const char *compiler, const char *flags,
                   char *err, size_t errlen);

/* The same for n sources built and linked together, written as
 * "<names[i]>.c" (names must differ). */
cg_so *cg_cc_build_units(const char *const *sources, const char *const *names, int n,
                         const char *compiler, const char *flags, char *err, size_t errlen);

/* The address of a global symbol, or NULL. */
void *cg_so_symbol(cg_so *so, const char *symbol);

void cg_so_free(cg_so *so);

#endif
