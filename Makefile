# Lightning build. Plain make, no generated makefiles.
#
#   make            build lightning-server, liblightning.{a,so}, utils
#   make run        build and start the server on lightning.conf
#   make test       build and run every test (unit + integration + compat)
#   make test-asan  the same suite under AddressSanitizer + UBSan
#   make test-tsan  the concurrency tests under ThreadSanitizer
#   make bench      benchmarks side by side with redis-server (docs/BENCHMARKS.md)
#   make bench-short  the same at tiny sizes: every benchmark runs
#   make config-doc regenerate docs/CONFIG.md from the directive table
#
# BUILD selects the output folder so sanitizer builds never mix objects with
# the normal one. Builds run JOBS compilers at once (default: one per core;
# make -jN on the command line also works).

BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 1)
MAKEFLAGS += -j$(JOBS)
# `make clean all` (or clean with anything else) runs its goals in order.
ifneq ($(filter clean,$(MAKECMDGOALS)),)
.NOTPARALLEL:
endif
CC      ?= cc
OPT     ?= -O2
SAN     ?=
CFLAGS  ?=
CFLAGS  += -std=gnu11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter \
           -Wno-missing-field-initializers -fno-strict-aliasing -pthread \
           -D_GNU_SOURCE -Iinclude -Isrc $(SAN)
LDFLAGS += -pthread $(SAN)
SERVER_LIBS = -luring -lzstd -llz4 -lm -lssl -lcrypto
# Lua 5.1 (scripting, src/script/): Debian's liblua5.1 with its cjson and
# bitop modules linked as libraries.
LUA_CFLAGS = -I/usr/include/lua5.1
LUA_LIBS = -llua5.1 -l:liblua5.1-cjson.so.0 -l:liblua5.1-bitop.so.0
SERVER_LIBS += $(LUA_LIBS)
# jemalloc is linked into the server only: sanitizers bring their own malloc.
ifeq ($(SAN),)
SERVER_LIBS += -ljemalloc
endif
TEST_LIBS = -lhiredis

COMMON_SRC = $(wildcard src/common/*.c)
ENGINE_SRC = $(wildcard src/engine/*.c)
SERVER_SRC = $(filter-out src/server/main.c,$(wildcard src/server/*.c src/server/*/*.c)) \
             $(wildcard src/script/*.c) \
             $(wildcard src/cluster/*.c) \
             $(wildcard src/repl/*.c)
LIB_SRC    = $(COMMON_SRC) $(ENGINE_SRC)

LIB_OBJ    = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_PIC    = $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
SERVER_OBJ = $(SERVER_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC   = $(wildcard tests/unit/test_*.c)
INTEG_SRC  = $(wildcard tests/integration/test_*.c)
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_BIN  = $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
TESTLIB_OBJ = $(BUILD)/tests/testlib.o $(BUILD)/tests/harness.o $(BUILD)/tests/difftest.o
COMPAT_SRC = $(wildcard redis-compat/*.c)
COMPAT_BIN = $(BUILD)/redis-compat/lightning-compat

SERVER_BIN = $(BUILD)/lightning-server
LIB_A      = $(BUILD)/liblightning.a
LIB_SO     = $(BUILD)/liblightning.so
# The shared library's ABI version (soname liblightning.so.$(LIB_MAJOR)):
# bump LIB_MAJOR when include/lightning.h changes incompatibly.
LIB_MAJOR  = 1
LIB_VERSION = $(LIB_MAJOR).1.0
LIB_SO_REAL = $(LIB_SO).$(LIB_VERSION)
# What the library needs besides libc (also the pkg-config Libs.private).
LIB_LIBS   = -lzstd -llz4 -lm
PREFIX  ?= /usr/local
DESTDIR ?=

# Keep test objects: they are intermediate files make would delete.
.SECONDARY:

.PHONY: install all deps run test test-asan test-tsan bench bench-short clean tests tests-concurrency fuzz fuzz-build fuzz-ci compat config-doc

all: deps $(SERVER_BIN) $(LIB_A) $(LIB_SO) utils-bins

deps:
	@sh deps/install.sh

$(BUILD)/src/script/%.o: CFLAGS += $(LUA_CFLAGS)

# Every compile waits for deps (the headers it installs), never races it.
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pic/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Only the lt_* API is exported (src/liblightning.map).
$(LIB_SO): $(LIB_PIC) src/liblightning.map
	$(CC) -shared -Wl,-soname,liblightning.so.$(LIB_MAJOR) \
	    -Wl,--version-script,src/liblightning.map -o $(LIB_SO_REAL) $(LIB_PIC) \
	    $(LDFLAGS) $(LIB_LIBS)
	ln -sf liblightning.so.$(LIB_VERSION) $(BUILD)/liblightning.so.$(LIB_MAJOR)
	ln -sf liblightning.so.$(LIB_MAJOR) $@

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the server, the
# library (shared with its soname links, and static), the header and a
# pkg-config file (`pkg-config --cflags --libs lightning`).
install: $(SERVER_BIN) $(LIB_A) $(LIB_SO)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include
	install -m 755 $(SERVER_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 include/lightning.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO_REAL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf liblightning.so.$(LIB_VERSION) $(DESTDIR)$(PREFIX)/lib/liblightning.so.$(LIB_MAJOR)
	ln -sf liblightning.so.$(LIB_MAJOR) $(DESTDIR)$(PREFIX)/lib/liblightning.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(LIB_VERSION)|' \
	    -e 's|@LIBS@|$(LIB_LIBS) -pthread|' src/lightning.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/lightning.pc

$(SERVER_BIN): $(BUILD)/src/server/main.o $(SERVER_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) $(SERVER_LIBS)

# Utilities: every utils/<name>.c is one program linked with the engine.
UTILS_SRC = $(wildcard utils/*.c)
UTILS_BIN = $(UTILS_SRC:utils/%.c=$(BUILD)/utils/%)
utils-bins: $(UTILS_BIN)
$(BUILD)/utils/%: $(BUILD)/utils/%.o $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) -lzstd -llz4 -lm

# docs/CONFIG.md is generated from the directive table (src/server/config.c).
CONFIG_DOC_BIN = $(BUILD)/utils/gen/gen-config-doc
$(CONFIG_DOC_BIN): $(BUILD)/utils/gen/gen-config-doc.o $(SERVER_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) $(SERVER_LIBS)
config-doc: $(CONFIG_DOC_BIN)
	$(CONFIG_DOC_BIN) > docs/CONFIG.md

# Unit tests link the engine and the server's modules (not main.c).
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/testlib.o $(SERVER_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) $(SERVER_LIBS)

# Integration tests may use the engine's own modules too (e.g. to write a
# WAL in an older format).
$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(TESTLIB_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) $(TEST_LIBS) $(SERVER_LIBS) -lm

$(COMPAT_BIN): $(COMPAT_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/harness.o $(BUILD)/tests/testlib.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(TEST_LIBS) -lm

tests: all $(UNIT_BIN) $(INTEG_BIN) $(if $(COMPAT_SRC),$(COMPAT_BIN))

# Test binaries run TEST_JOBS at once (default: one per core); each starts
# its own servers on free ports.
TEST_JOBS ?= $(JOBS)
test: tests
	@BUILD=$(BUILD) TEST_JOBS=$(TEST_JOBS) sh tests/run.sh

test-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# Only the concurrency tests run under TSan: only they (and the server they
# start) are built.
CONCURRENCY_BIN = $(filter %_concurrency,$(UNIT_BIN) $(INTEG_BIN))
tests-concurrency: all $(CONCURRENCY_BIN)

test-tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 SAN="-fsanitize=thread" tests-concurrency
	@BUILD=build-tsan TESTS_FILTER=concurrency TEST_JOBS=$(TEST_JOBS) sh tests/run.sh

# Fuzzers (libFuzzer, clang): every tests/fuzz/fuzz_<name>.c runs for
# FUZZ_SECONDS from its seed corpus tests/fuzz/corpus/<name>/.
FUZZ_SECONDS ?= 60
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_LIB_SRC = $(SERVER_SRC) $(LIB_SRC)
# The server and engine are compiled once (instrumented for libFuzzer, not
# linked with its main) and linked into every fuzzer.
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fsanitize=address,undefined -D_GNU_SOURCE -Iinclude -Isrc \
              $(LUA_CFLAGS) -pthread
FUZZ_OBJ = $(FUZZ_LIB_SRC:%.c=build-fuzz/obj/%.o)
build-fuzz/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ \
	    -luring -lzstd -llz4 -lm -lssl -lcrypto $(LUA_LIBS)
-include $(FUZZ_OBJ:.o=.d)
fuzz-build: deps $(FUZZ_BIN)
# CI: every fuzzer briefly, from its checked-in seed corpus (new inputs go
# to build-fuzz/, never into the repository).
FUZZ_CI_SECONDS ?= 10
fuzz-ci: fuzz-build
	@for f in $(FUZZ_BIN); do n=$${f#build-fuzz/fuzz_}; mkdir -p build-fuzz/ci-$$n; \
	  echo "fuzz $$n for $(FUZZ_CI_SECONDS)s"; \
	  if ! $$f -max_total_time=$(FUZZ_CI_SECONDS) -rss_limit_mb=2048 \
	      -artifact_prefix=$(CURDIR)/build-fuzz/ $(CURDIR)/build-fuzz/ci-$$n \
	      $(CURDIR)/tests/fuzz/corpus/$$n > build-fuzz/$$n.log 2>&1; then \
	    tail -40 build-fuzz/$$n.log; exit 1; fi; tail -1 build-fuzz/$$n.log; done
fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do n=$${f#build-fuzz/fuzz_}; mkdir -p build-fuzz/corpus-$$n; \
	  echo "fuzz $$n for $(FUZZ_SECONDS)s"; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	      -artifact_prefix=$(CURDIR)/build-fuzz/ $(CURDIR)/build-fuzz/corpus-$$n \
	      $(CURDIR)/tests/fuzz/corpus/$$n > build-fuzz/$$n.log 2>&1; then \
	    tail -40 build-fuzz/$$n.log; exit 1; fi; tail -1 build-fuzz/$$n.log; done

run: all
	./$(SERVER_BIN) lightning.conf

# The embedded benchmark links LMDB and RocksDB (deps/install.sh installs
# them): it is built only here, never by `all`, so the rest of the build
# does not need them.
BENCH_EMBEDDED = $(BUILD)/utils/bench/bench-embedded
$(BENCH_EMBEDDED): $(BUILD)/utils/bench/bench-embedded.o $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) -llmdb -lrocksdb $(LIB_LIBS)

bench: all $(BENCH_EMBEDDED)
	@BUILD=$(BUILD) sh utils/bench.sh

# Every benchmark at tiny sizes: checks that each one runs and prints numbers.
bench-short: all $(BENCH_EMBEDDED)
	@BUILD=$(BUILD) BENCH_SHORT=1 sh utils/bench.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
