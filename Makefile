# convgen - shape-specialized convolution kernels from layer specs.
#
#   make            build bin/convgen
#   make demo       generate, check and describe the demo spec
#   make test       build and run every cmocka test
#   make install    install convgen into $(PREFIX)/bin (templates are embedded)
#
# Each of these first installs any missing Debian package (.ci/deps).

CONVGEN_VERSION := 0.1.0

PREFIX ?= /usr/local
CC ?= cc
CFLAGS ?= -O2 -g
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
TCC_DIR ?= /usr/lib/$(MULTIARCH)/tcc

# Recursive (=) so pkg-config runs after .ci/deps has installed it.
LUA_CFLAGS = $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIBS = $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)

HOST_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(CFLAGS) \
	-Igenerator -Iruntime -Ibuild $(LUA_CFLAGS) \
	-DCONVGEN_VERSION='"$(CONVGEN_VERSION)"' -DCG_TCC_DIR='"$(TCC_DIR)"'
LIBS = $(LUA_LIBS) -ltcc -ldl -lpthread -lm

LUA_MODULES := $(wildcard generator/lua/*.lua)
TEMPLATES := $(shell find templates -type f | LC_ALL=C sort)
RUNTIME_SRC := $(wildcard runtime/*.c)
GENERATOR_SRC := generator/cg_host.c generator/cg_gen.c generator/cg_files.c
LIB_OBJ := $(patsubst %.c,build/%.o,$(RUNTIME_SRC) $(GENERATOR_SRC)) build/cg_embedded.o

TESTS := $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
TEST_BINS := $(addprefix build/tests/,$(TESTS))
TEST_SUPPORT := build/tests/support.o

.PHONY: all deps demo test install clean FORCE
all: bin/convgen

deps:
	@./.ci/deps build

build/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

build/embed: generator/embed.c | deps
	@mkdir -p build
	$(CC) $(HOST_CFLAGS) -o $@ $<

# The Lua modules and templates, compiled into the binary. The list file
# changes when a file is added or removed, which mtimes alone miss.
EMBEDDED_LIST := $(LUA_MODULES) $(TEMPLATES)
build/embedded.list: FORCE
	@mkdir -p build
	@echo '$(EMBEDDED_LIST)' | cmp -s - $@ || echo '$(EMBEDDED_LIST)' > $@

build/cg_embedded.c: build/embed build/embedded.list $(LUA_MODULES) $(TEMPLATES)
	./build/embed $@ $(foreach f,$(LUA_MODULES),lua/$(notdir $(f))=$(f)) \
		$(foreach f,$(TEMPLATES),$(f)=$(f))

build/cg_embedded.o: build/cg_embedded.c
	$(CC) $(HOST_CFLAGS) -c -o $@ $<

bin/convgen: build/generator/main.o $(LIB_OBJ)
	@mkdir -p bin
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(LIBS)

build/tests/%: build/tests/%.o $(TEST_SUPPORT) $(LIB_OBJ)
	$(CC) $(HOST_CFLAGS) -o $@ $^ $(LIBS) -lcmocka

build/tests/%.o: tests/%.c | deps
	@mkdir -p build/tests
	$(CC) $(HOST_CFLAGS) -Itests -DCONVGEN_BIN='"$(CURDIR)/bin/convgen"' \
		-DSOURCE_DIR='"$(CURDIR)"' -MMD -MP -c -o $@ $<

# Every test runs even if one fails; the target fails if any did.
test: bin/convgen $(TEST_BINS)
	@failed=""; for t in $(TEST_BINS); do \
		echo "== $$t"; $$t 2>&1 || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "all $(words $(TEST_BINS)) test programs passed"

demo: bin/convgen
	./bin/convgen info specs/demo.lua
	./bin/convgen check specs/demo.lua
	@mkdir -p build/demo
	./bin/convgen generate specs/demo.lua -o build/demo

install: bin/convgen
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 bin/convgen $(DESTDIR)$(PREFIX)/bin/convgen

clean:
	rm -rf build bin

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
