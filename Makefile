# SPDX-License-Identifier: MIT
#
# One top-level GNU Makefile, out-of-tree objects under build/.
#   make            build/exitd, build/tund and the test tool build/chain
#   make test       unit tests, then the network-namespace tests (root)
#   make unit       unit tests only
#   make asan       unit tests under AddressSanitizer and UBSan (build/san/)
#   make netns-asan the namespace tests with sanitizer builds of the daemons
#   make fuzz       libFuzzer targets (clang), each run briefly on its corpus
#   make deps       install the Debian packages needed (does nothing if present)
#   make demo       the tunnel in namespaces, a page fetched by name through 3 relays
#   make bench      netns-scripts/bench-chain.sh, then netns-scripts/bench-tun.sh
# WERROR=1 turns warnings into errors (CI sets it). V=1 shows commands.

CC      ?= cc
CFLAGS  ?= -O2 -g
PKGS    := openssl libcares libnl-3.0 libnl-route-3.0 libpcap
WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes \
           -Wmissing-prototypes -Wsign-compare -Wformat=2 -Wvla -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lcares -lnl-route-3 -lnl-3 -lpcap)
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -MMD -MP -Isrc $(WARN) $(PKG_CFLAGS) $(CFLAGS)

B       ?= build
SAN     ?=
ifeq ($(SAN),1)
B       := build/san
CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRCS := $(wildcard src/*.c)
EXITD_SRCS  := $(filter-out exitd/main.c,$(wildcard exitd/*.c))
TUND_SRCS   := $(filter-out tund/main.c,$(wildcard tund/*.c))
COMMON_OBJS := $(COMMON_SRCS:%.c=$(B)/obj/%.o)
EXITD_OBJS  := $(EXITD_SRCS:%.c=$(B)/obj/%.o)
TUND_OBJS   := $(TUND_SRCS:%.c=$(B)/obj/%.o)
LIB_OBJS    := $(COMMON_OBJS) $(EXITD_OBJS) $(TUND_OBJS)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES  := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_SECS   ?= 20

all: $(B)/exitd $(B)/tund $(B)/chain $(B)/routectl

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/exitd: $(B)/obj/exitd/main.o $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tund: $(B)/obj/tund/main.o $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/chain: $(B)/obj/tests/tools/chain.o $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/routectl: $(B)/obj/tests/tools/routectl.o $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

unit: $(UNIT_BINS)
	@tests/unit/run.sh $(UNIT_BINS)

asan:
	$(MAKE) SAN=1 unit

# The namespace tests again, with every daemon built with ASan and UBSan:
# what the unit tests cannot reach (event loops, real peers) is checked too.
# ASan's quarantine (256 MiB by default) keeps freed blocks out of reuse, so
# a relay's RSS grows with its 128 KB buffers' churn and the stall test's
# memory bound (16 MiB) would measure ASan: a 16 MiB quarantine keeps it
# about the daemons (use-after-free is still caught within it).
netns-asan:
	$(MAKE) SAN=1 all
	@ASAN_OPTIONS=quarantine_size_mb=16 EXITD=$(CURDIR)/build/san/exitd TUND=$(CURDIR)/build/san/tund \
		CHAIN=$(CURDIR)/build/san/chain tests/net/run.sh

netns-test: all
	@tests/net/run.sh

test: unit netns-test

# libFuzzer: every target is built with clang and run for FUZZ_SECS seconds on
# its kept corpus (tests/fuzz/corpus/NAME). New inputs go to a scratch copy so
# the kept corpus only changes when someone commits seeds on purpose.
FUZZ_B    := build/fuzz
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -Isrc -O1 -g -fsanitize=fuzzer,address,undefined \
              -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION $(PKG_CFLAGS)
FUZZ_LIBSRCS := $(COMMON_SRCS) $(EXITD_SRCS) $(TUND_SRCS)

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBSRCS) $(wildcard src/*.h exitd/*.h tund/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)clang $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIBSRCS) $(PKG_LIBS)

fuzz: $(FUZZ_NAMES:%=$(FUZZ_B)/fuzz_%)
	@set -e; for n in $(FUZZ_NAMES); do \
		rm -rf $(FUZZ_B)/work/$$n; mkdir -p $(FUZZ_B)/work/$$n tests/fuzz/corpus/$$n; \
		echo "  FUZZ    $$n ($(FUZZ_SECS) s)"; \
		$(FUZZ_B)/fuzz_$$n -max_total_time=$(FUZZ_SECS) -rss_limit_mb=1024 -print_final_stats=0 \
			$(FUZZ_B)/work/$$n tests/fuzz/corpus/$$n 2>$(FUZZ_B)/work/$$n.log \
			|| { tail -n 40 $(FUZZ_B)/work/$$n.log; exit 1; }; \
		grep -h '^#.*DONE' $(FUZZ_B)/work/$$n.log | tail -n 1; \
	done

deps:
	@netns-scripts/deps.sh

demo: all
	@netns-scripts/demo.sh

bench: all
	@netns-scripts/bench-chain.sh
	@netns-scripts/bench-tun.sh

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)

.PHONY: all unit asan netns-asan netns-test test fuzz deps demo bench clean
.DELETE_ON_ERROR:
.SECONDARY:
