# tests/hardening.mk - sanitizers, memcheck and fuzzing (included by the
# Makefile; uses its variables and rules).
#
#   make test-sanitize   build convgen and every test with ASan + UBSan into
#                        build-san/ and run the whole suite; kernels the tests
#                        build with the system compiler get the same flags
#                        (CONVGEN_KERNEL_CFLAGS). CC=clang: build-san-clang/.
#   make test-valgrind   memcheck over convgen check/generate/info of the
#                        example specs; any error or leak fails
#   make fuzz            build the libFuzzer targets with clang into
#                        build-fuzz/ and run each for FUZZ_TIME seconds
#                        (default 60); a crash leaves its input in
#                        build-fuzz/artifacts/ and fails the target
#
# Each installs what it needs first (.ci/deps sanitize or fuzz).

SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Leaks fail too; UBSan stops at the first report and says where. Not
# detect_stack_use_after_return: gcc's fake stack frames are not 64-byte
# aligned, and the avx512 kernels' spilled __m512 locals fault on them.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	CONVGEN_KERNEL_CFLAGS='$(SAN_FLAGS)'

.PHONY: test-sanitize test-valgrind fuzz fuzz-build sanitize-deps fuzz-deps
sanitize-deps:
	@./.ci/deps sanitize

# CC goes to the environment too: the kernels the tests compile must use
# the same compiler (and sanitizer runtime) as the test programs. gcc's
# and clang's objects must not mix, so each has its own directory.
SAN_B = build-san$(if $(findstring clang,$(notdir $(CC))),-clang)
test-sanitize: sanitize-deps
	+$(SAN_ENV) CC='$(CC)' $(MAKE) B=$(SAN_B) BIN=$(SAN_B)/bin \
		CFLAGS='-O1 -g $(SAN_FLAGS)' test

test-valgrind: sanitize-deps $(BIN)/convgen
	./tests/memcheck $(BIN)/convgen

# ---- the fuzz targets and their replay as a cmocka test (test_fuzz)
FUZZ_TARGETS := fuzz_spec fuzz_generate
FUZZ_TIME ?= 60
FUZZ_B := build-fuzz
FUZZ_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_ARGS = -timeout=20 -rss_limit_mb=4096 -print_final_stats=1

$(B)/tests/test_fuzz: $(patsubst %,$(B)/tests/fuzz/%.o,$(FUZZ_TARGETS)) $(B)/tests/fuzz/fuzz_support.o

$(B)/tests/fuzz/fuzz_support.o: tests/fuzz/fuzz_support.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(FUZZ_COVERAGE) -MMD -MP -c -o $@ $<

$(B)/tests/fuzz/%.o: tests/fuzz/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/fuzz $(if $(FUZZ_COVERAGE),,-DFUZZ_ENTRY=$*_one) -MMD -MP -c -o $@ $<

$(B)/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/fuzz_support.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz-deps:
	@./.ci/deps fuzz

fuzz-build: fuzz-deps
	+$(MAKE) B=$(FUZZ_B) BIN=$(FUZZ_B)/bin CC=clang FUZZ_COVERAGE=-DCG_FUZZ_COVERAGE \
		CFLAGS='$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link' $(addprefix $(FUZZ_B)/fuzz/,$(FUZZ_TARGETS))

# New inputs go to build-fuzz/corpus/<target>; the seeds and the past
# crashes in tests/fuzz/ are only read. A crash: turn its artifact into a
# file under tests/fuzz/regressions/<target>/ (test_fuzz replays them),
# then fix it.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/artifacts && \
		echo "== $$t for $(FUZZ_TIME) s" && \
		$(FUZZ_B)/fuzz/$$t $(FUZZ_ARGS) -max_total_time=$(FUZZ_TIME) \
			-artifact_prefix=$(FUZZ_B)/artifacts/$$t- \
			$$( [ -f tests/fuzz/$$t.dict ] && echo -dict=tests/fuzz/$$t.dict ) \
			$(FUZZ_B)/corpus/$$t tests/fuzz/corpus/$$t \
			$$( [ -d tests/fuzz/regressions/$$t ] && echo tests/fuzz/regressions/$$t ) || exit 1; \
	done

ifneq ($(B),build)
-include $(shell find $(B) -name '*.d' 2>/dev/null)
endif
