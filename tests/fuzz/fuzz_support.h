/*
 * fuzz_support.h - what the fuzz targets share.
 *
 * libFuzzer sees the coverage of instrumented C, but most of convgen's
 * logic is Lua run by an uninstrumented interpreter. Built with
 * -DCG_FUZZ_COVERAGE, fuzz_init hooks every line of the generator's own Lua
 * (generator/lua/ and templates/, not the spec being fuzzed) into
 * libFuzzer's extra counters as (previous line, line) edges, so inputs that
 * reach new validation or planning code are kept.
 */
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

/* Set up once per process (idempotent). */
void fuzz_init(void);

/* Report a broken contract with the input that broke it, then abort. */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
void fuzz_fail(const char *input, const char *fmt, ...);

#endif
