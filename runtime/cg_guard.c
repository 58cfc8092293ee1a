/* cg_guard.c - buffers followed by a guard page (see cg_guard.h). */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include "cg_guard.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* Bytes mapped for n floats: whole pages for the data, one for the guard. */
static size_t mapped_bytes(size_t n, size_t page)
{
    return (n * sizeof(float) + page - 1) / page * page + page;
}

float *cg_guard_alloc(size_t n)
{
    size_t page = page_size();
    if (n > (SIZE_MAX - 2 * page) / sizeof(float))
        return NULL;
    size_t total = mapped_bytes(n, page);
    char *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    char *guard = base + total - page;
    if (mprotect(guard, page, PROT_NONE) != 0) {
        munmap(base, total);
        return NULL;
    }
    return (float *)(void *)(guard - n * sizeof(float));
}

void cg_guard_free(float *p, size_t n)
{
    if (!p)
        return;
    size_t page = page_size();
    size_t total = mapped_bytes(n, page);
    char *end = (char *)p + n * sizeof(float) + page;   /* the guard's end */
    munmap(end - total, total);
}
