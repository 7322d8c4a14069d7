# Lightning build. Plain make, no generated makefiles.
#
#   make            build lightning-server, liblightning.{a,so}, utils
#   make run        build and start the server on lightning.conf
#   make test       build and run every test (unit + integration + compat)
#   make test-asan  the same suite under AddressSanitizer + UBSan
#   make test-tsan  the concurrency tests under ThreadSanitizer
#   make bench      benchmarks side by side with redis-server
#
# BUILD selects the output folder so sanitizer builds never mix objects with
# the normal one.

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
SAN     ?=
CFLAGS  ?=
CFLAGS  += -std=gnu11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter \
           -Wno-missing-field-initializers -fno-strict-aliasing -pthread \
           -D_GNU_SOURCE -Iinclude -Isrc $(SAN)
LDFLAGS += -pthread $(SAN)
SERVER_LIBS = -luring -lzstd -llz4 -lm
# jemalloc is linked into the server only: sanitizers bring their own malloc.
ifeq ($(SAN),)
SERVER_LIBS += -ljemalloc
endif
TEST_LIBS = -lhiredis

COMMON_SRC = $(wildcard src/common/*.c)
ENGINE_SRC = $(wildcard src/engine/*.c)
SERVER_SRC = $(filter-out src/server/main.c,$(wildcard src/server/*.c))
LIB_SRC    = $(COMMON_SRC) $(ENGINE_SRC)

LIB_OBJ    = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_PIC    = $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
SERVER_OBJ = $(SERVER_SRC:%.c=$(BUILD)/%.o)

UNIT_SRC   = $(wildcard tests/unit/test_*.c)
INTEG_SRC  = $(wildcard tests/integration/test_*.c)
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_BIN  = $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
TESTLIB_OBJ = $(BUILD)/tests/testlib.o $(BUILD)/tests/harness.o
COMPAT_SRC = $(wildcard redis-compat/*.c)
COMPAT_BIN = $(BUILD)/redis-compat/lightning-compat

SERVER_BIN = $(BUILD)/lightning-server
LIB_A      = $(BUILD)/liblightning.a
LIB_SO     = $(BUILD)/liblightning.so

# Keep test objects: they are intermediate files make would delete.
.SECONDARY:

.PHONY: all deps run test test-asan test-tsan bench clean tests fuzz fuzz-build compat

all: deps $(SERVER_BIN) $(LIB_A) $(LIB_SO) utils-bins

deps:
	@sh deps/install.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_PIC)
	$(CC) -shared -o $@ $^ $(LDFLAGS) -lm

$(SERVER_BIN): $(BUILD)/src/server/main.o $(SERVER_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) $(SERVER_LIBS)

# Utilities: every utils/<name>.c is one program linked with the engine.
UTILS_SRC = $(wildcard utils/*.c)
UTILS_BIN = $(UTILS_SRC:utils/%.c=$(BUILD)/utils/%)
utils-bins: $(UTILS_BIN)
$(BUILD)/utils/%: $(BUILD)/utils/%.o $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) -lzstd -llz4 -lm

# Unit tests link the engine and the server's modules (not main.c).
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/testlib.o $(SERVER_OBJ) $(LIB_A)
	$(CC) -o $@ $^ $(LDFLAGS) $(SERVER_LIBS)

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(TESTLIB_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS) $(TEST_LIBS) -lm

$(COMPAT_BIN): $(COMPAT_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/harness.o $(BUILD)/tests/testlib.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(TEST_LIBS) -lm

tests: all $(UNIT_BIN) $(INTEG_BIN) $(if $(COMPAT_SRC),$(COMPAT_BIN))

test: tests
	@BUILD=$(BUILD) sh tests/run.sh

test-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

test-tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 SAN="-fsanitize=thread" tests
	@BUILD=build-tsan TESTS_FILTER=concurrency sh tests/run.sh

# Fuzzers (libFuzzer, clang): every tests/fuzz/fuzz_<name>.c runs for
# FUZZ_SECONDS from its seed corpus tests/fuzz/corpus/<name>/.
FUZZ_SECONDS ?= 60
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_LIB_SRC = $(filter-out src/server/main.c,$(wildcard src/server/*.c)) $(LIB_SRC)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRC)
	@mkdir -p build-fuzz
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Isrc \
	    -pthread $< $(FUZZ_LIB_SRC) -o $@ -luring -lzstd -llz4 -lm
fuzz-build: deps $(FUZZ_BIN)
fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do n=$${f#build-fuzz/fuzz_}; mkdir -p build-fuzz/corpus-$$n; \
	  echo "fuzz $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 build-fuzz/corpus-$$n tests/fuzz/corpus/$$n \
	    2>&1 | tail -2 || exit 1; done

# A longer random differential run against real Redis: make compat SEED=7 N=200000
compat: tests
	./$(COMPAT_BIN) --only-random --seed $(or $(SEED),1) --n $(or $(N),100000)

run: all
	./$(SERVER_BIN) lightning.conf

bench: all
	@sh utils/bench.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
