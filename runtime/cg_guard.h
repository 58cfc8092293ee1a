/*
 * cg_guard.h - buffers that end where an inaccessible page begins.
 *
 * A kernel that reads or writes even one float past the end of such a
 * buffer faults at once (SIGSEGV), whether it was built with an address
 * checker or not: TinyCC's code is not instrumented, and this is how the
 * border and tail code it runs is held to the buffers' exact sizes.
 */
#ifndef CG_GUARD_H
#define CG_GUARD_H

#include <stddef.h>

/* n floats (contents unspecified), 4-byte aligned, immediately followed
 * by an inaccessible page; n may be 0. NULL if memory runs out. Free with
 * cg_guard_free(p, n). */
float *cg_guard_alloc(size_t n);

void cg_guard_free(float *p, size_t n);

#endif
