# minet — build, test, fuzz, bench.
#   make            bin/minet (and the other programs)
#   make test       install missing Debian packages, build, run the whole suite (tests/run)
#   make asan       the same suite against an ASan+UBSan build in build/asan
#   make fuzz       libFuzzer harnesses (clang) in build/fuzz/bin
#   make bench      benchmarks that print figures and ratios against peers
#   make demo       the analyzer on the bundled example subnet
# O=DIR puts objects and binaries under DIR (default: the tree itself, bin/ and obj/).

.DEFAULT_GOAL := all
O        ?= .
CC       ?= cc
PKGS     := jansson zlib openssl libevent libevent_openssl simdjson libmnl libnftables
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual \
            -Wpointer-arith -Wformat=2 -Wvla -Wno-unused-parameter
CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lstdc++ -lresolv
ifdef WERROR
override CFLAGS += -Werror
endif
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ifdef SAN
override CFLAGS += $(SANFLAGS)
LDFLAGS  += $(SANFLAGS)
endif

BIN := $(O)/bin
OBJ := $(O)/obj

# Layers (architecture.md): model and analysis are pure C; cli is the verb table.
LIB_SRCS  := $(wildcard src/model/*.c src/model/*.cc src/analysis/*.c src/realize/*.c)
CLI_SRCS  := $(wildcard src/cli/*.c)
LIB_OBJS  := $(patsubst %,$(OBJ)/%.o,$(basename $(LIB_SRCS)))
CLI_OBJS  := $(CLI_SRCS:%.c=$(OBJ)/%.o) $(OBJ)/gen/default_topology.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNITS     := $(UNIT_SRCS:tests/unit/%.c=$(BIN)/tests/%)
PROGS     := $(BIN)/minet

# Other components add themselves here (PROGS, LIB_SRCS, ...).
-include $(wildcard src/*/module.mk)

all: $(PROGS) $(UNITS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The default lab topology is built into the binary (minet topology --default).
$(OBJ)/gen/default_topology.c: lab/default-topology.json
	@mkdir -p $(dir $@)
	{ echo '/* generated from lab/default-topology.json */'; echo 'const char default_topology[] ='; \
	  sed 's/\\/\\\\/g; s/"/\\"/g; s/^/"/; s/$$/\\n"/' $<; echo ';'; } > $@

# The one C++ file wraps simdjson (src/model/tagscan.cc).
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Isrc -fno-exceptions $(if $(WERROR),-Werror) \
            $(if $(SAN),$(SANFLAGS))
$(OBJ)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -MMD -MP -c -o $@ $<

$(OBJ)/libminet.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/minet: $(CLI_OBJS) $(OBJ)/libminet.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

$(BIN)/tests/%: $(OBJ)/tests/unit/%.o $(OBJ)/libminet.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lm

deps:
	@scripts/install-deps

test: deps
	$(MAKE) all
	/usr/bin/python3 tests/run --bin $(BIN)

asan: deps
	$(MAKE) O=build/asan SAN=1 CFLAGS="-O1 -g" all
	ASAN_OPTIONS=detect_leaks=1 /usr/bin/python3 tests/run --bin build/asan/bin

demo: deps
	$(MAKE) all
	scripts/demo $(BIN)/minet

FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZERS   := $(FUZZ_SRCS:fuzz/%.c=build/fuzz/bin/%)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Isrc $(shell pkg-config --cflags $(PKGS))
FUZZ_OBJS := $(patsubst %,build/fuzz/obj/%.o,$(basename $(LIB_SRCS)))
fuzz: $(FUZZERS)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<
build/fuzz/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	clang++ -std=c++17 -fno-exceptions $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<
build/fuzz/bin/%: build/fuzz/obj/fuzz/%.o $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	clang++ -fsanitize=fuzzer,address,undefined -o $@ $^ $(shell pkg-config --libs $(PKGS)) -lm

BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCHES    := $(BENCH_SRCS:bench/%.c=$(BIN)/bench/%)
$(BIN)/bench/%: $(OBJ)/bench/%.o $(OBJ)/libminet.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm
$(BIN)/bench/bench_handshake: LDLIBS += -lgnutls
bench: deps all $(BENCHES)
	scripts/bench $(BIN)

clean:
	rm -rf bin obj build

.PHONY: all deps test asan demo fuzz bench clean
.PRECIOUS: $(OBJ)/%.o build/fuzz/obj/%.o
-include $(shell find $(OBJ) build/fuzz/obj -name '*.d' 2>/dev/null)
