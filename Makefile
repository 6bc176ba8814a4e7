# carecomm build. `make run` and `make test` are the two commands of the README.
# Libraries are found with pkg-config; dependencies are installed by scripts/install-deps.

PKGS     := libwebsockets libuv jansson sqlite3 libpq libsodium openssl libcurl
CC       ?= cc
SAN      ?= 0
ifeq ($(SAN),1)
BUILD    ?= build-san
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD    ?= build
OPT      := -O2 -g
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes $(OPT) -Isrc $(PKG_CFLAGS)
LDFLAGS  := $(OPT)
LDLIBS   := $(PKG_LIBS) -lpthread -lm

LIB_SRC  := $(wildcard src/core/*.c src/store/*.c src/auth/*.c src/net/*.c src/account/*.c \
              src/msg/*.c src/media/*.c src/care/*.c src/interop/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC  := $(wildcard src/cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 15

.PHONY: all deps run test test-unit test-integration test-e2e test-san test-midnight fuzz fuzz-short bench bench-fanout bench-hl7 bench-join lint clean docs-config web

all: $(BUILD)/carecommd $(BUILD)/carecomm web

deps:
	@scripts/install-deps

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcarecomm.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/carecommd: $(BUILD)/obj/src/main.o $(BUILD)/libcarecomm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/carecomm: $(CLI_OBJ) $(BUILD)/libcarecomm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The web application (web/, TypeScript + Preact, built by Vite into web/dist, which carecommd
# serves). Rebuilt when a source file or the lock file changed; type-checked by tsc first.
WEB_SRC   := $(shell find web \( -path web/dist -o -path web/node_modules \) -prune -o -type f -print 2>/dev/null)
WEB_STAMP := web/dist/.stamp

web: $(WEB_STAMP)

$(WEB_STAMP): $(WEB_SRC) package.json package-lock.json
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --no-audit --no-fund --loglevel=error >/dev/null; fi
	npm run --silent build:web
	@touch $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libcarecomm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Fuzz targets: clang + libFuzzer, the library compiled with the same sanitizers.
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Isrc $(PKG_CFLAGS) -fsanitize=address,undefined
FUZZ_OBJ := $(LIB_SRC:%.c=build-fuzz/obj/%.o)
build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
build-fuzz/libfuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
build-fuzz/%: tests/fuzz/%.c build-fuzz/libfuzz.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

run: deps all
	scripts/run-dev

test: deps
	$(MAKE) lint all test-unit test-integration test-e2e fuzz-short
ifeq ($(CI),true)
	$(MAKE) test-san
endif

test-unit: $(UNIT_BIN)
	scripts/run-unit-tests $(BUILD)

test-integration: all
	CARECOMM_BUILD=$(BUILD) scripts/run-node-tests tests/integration/

# End-to-end tests of the web application: Chromium (Debian's) driven by playwright-core
# against a real carecommd serving web/dist.
test-e2e: all
	CARECOMM_BUILD=$(BUILD) scripts/run-node-tests tests/e2e/

# The integration tests and the agenda's end-to-end tests with the clocks at 23:54 in Paris
# (scripts/run-midnight-tests): what is booked ten minutes ahead is tomorrow's.
test-midnight: all
	CARECOMM_BUILD=$(BUILD) scripts/run-midnight-tests

test-san:
	$(MAKE) SAN=1 all test-unit test-integration

fuzz-short: $(FUZZ_BIN)
	scripts/run-fuzz $(FUZZ_SECONDS) $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	scripts/run-fuzz 600 $(FUZZ_BIN)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libcarecomm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench/fanout's load generator: its own objects, OpenSSL and jansson only (not the library).
FANOUT_SRC := $(wildcard bench/fanout/*.c)
FANOUT_OBJ := $(FANOUT_SRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/bench/fanout_gen: $(FANOUT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs openssl jansson 2>/dev/null)

# The lws-on-libuv floor that bench/run-all measures beside carecommd (bench/lws_floor.c).
$(BUILD)/bench/lws_floor: bench/lws_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(shell pkg-config --libs libwebsockets libuv 2>/dev/null)

bench: deps all $(BUILD)/bench/append_bench $(BUILD)/bench/fanout_gen $(BUILD)/bench/lws_floor
	bench/run-all

# Fan-out only (bench/fanout/run; FANOUT_QUICK=1 for a short run).
bench-fanout: deps all $(BUILD)/bench/fanout_gen
	bench/fanout/run

# HL7 v2 SIU ingest over MLLP (bench/hl7/run.mjs).
bench-hl7: deps all
	node bench/hl7/run.mjs $(BUILD)

# Join to first decoded frame, through carecommd and straight to Janus (bench/join/run).
bench-join: deps all
	CARECOMM_BUILD=$(BUILD) bench/join/run

lint:
	clang-format --dry-run -Werror $(shell find src tests/unit tests/fuzz -name '*.[ch]')
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
		-Isrc --include=/usr/include/jansson.h src

docs-config: $(BUILD)/carecomm
	$(BUILD)/carecomm config doc > docs/configuration.md

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj build-fuzz/obj -name '*.d' 2>/dev/null)
