# Samsa build. `make` builds ./samsa (no Python needed); `make test` builds the
# sanitizer variant and runs unit and integration tests; `make regen` rebuilds
# the generated protocol codecs from ../shared/kafka-protocol.

CC ?= cc
PROTO_SCHEMAS ?= ../shared/kafka-protocol
BUILD ?= build/release
CFLAGS_BASE := -std=gnu11 -g -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-Isrc -D_GNU_SOURCE -pthread -MMD -MP
LIBS := -pthread -lz -llz4 -lzstd -lsnappy -lm
OPT ?= -O2
SAN ?=
CFLAGS := $(CFLAGS_BASE) $(OPT) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)

LIB_SRC := $(sort $(shell find src -name '*.c' ! -path 'src/cli/*'))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all unit asan test regen fuzz bench clean check-regen

all: samsa

samsa: $(BUILD)/samsa
	@if [ "$(BUILD)" = build/release ]; then cp $(BUILD)/samsa samsa.tmp && mv -f samsa.tmp samsa; fi

$(BUILD)/samsa: $(CLI_OBJ) $(BUILD)/libsamsa.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libsamsa.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsamsa.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libsamsa.a $(LDFLAGS) $(LIBS) -lcmocka

unit: $(UNIT_BIN) $(BUILD)/samsa

# Address + undefined-behaviour sanitizer build used by the test suite.
asan:
	$(MAKE) BUILD=build/asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit

test: asan samsa
	tests/run

regen:
	python3 tools/protogen.py --schemas $(PROTO_SCHEMAS) --out src/proto/gen

fuzz:
	$(MAKE) -f tests/fuzz/Makefile

# Benchmarks: the release broker, the librdkafka tools in bench/, then the
# Samsa-vs-mock suite (bench/run), which writes its table and the plot
# bench/figures/ratios.png into BENCHMARKS.md. Options for bench/run go in
# BENCH_ARGS, e.g. make bench BENCH_ARGS='--reps 5'.
BENCH_ARGS ?=

bench:
	$(MAKE) BUILD=build/release samsa
	$(MAKE) -C bench kbench
	BENCH_COMMAND="make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" bench/run --no-build $(BENCH_ARGS)

clean:
	rm -rf build samsa

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
