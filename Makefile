# One rule set for the whole tree: common/ becomes a static library, every folder
# with a src/main.c becomes a daemon, every tests/test_*.c becomes a check program.
# Objects go out of tree under $(BUILD); `make -j` is safe.
#
#   make            build everything (build/bin/<daemon>, build/lib/libeda.a)
#   make test       build, start the local stack if needed, run every suite
#   make chaos      the fault-injection campaign (tests/chaos/run.sh, own stack)
#   make asan       the same tree and tests under ASan + UBSan (build/asan)
#   make asan-suites  the library's and the daemons' suites under ASan + UBSan (CI)
#   make images     every image of docker-compose.yml, built with podman (no Docker)
#   make deps       install what a fresh Debian 12 machine lacks
#   make infra-up | infra-down | infra-status | infra-clean   the local stack alone
#   make up | down | status | logs   the stack and the four daemons
#   make fuzz       run the libFuzzer drivers for longer
#   make format | format-check | tidy   (tidy: clang-tidy, a finding fails)

BUILD   ?= build
CC      ?= cc
PKGS    := rdkafka libmicrohttpd jansson libpq libmongoc-1.0 libjwt libcurl uuid
STACK   := infrastructure/scripts/stack.sh

# Under the sanitizers, -O1 leaves gcc less range information, so -Wformat-truncation
# reports snprintf calls that the -O2 build proves safe: a warning there, not an error.
ifeq ($(SAN),1)
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -Wno-error=format-truncation
else
OPT     := -O2 -g -D_FORTIFY_SOURCE=2
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) check 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror \
	   -fstack-protector-strong -pthread -MMD -MP -Icommon/include $(PKG_CFLAGS)
# --as-needed: a program loads only the libraries it uses. Every program is
# linked with every library of the project, and libmongoc, once loaded, sets up
# shared-memory counters in a constructor and prints a warning on stderr when
# /dev/shm holds a stale segment for the same pid (left by a killed process):
# that line must not reach the daemons that never talk to MongoDB.
LDFLAGS += -pthread -Wl,--as-needed $(filter -fsanitize=%,$(OPT))
LDLIBS  := $(PKG_LIBS) -lm

# ---- sources ----------------------------------------------------------------

COMMON_SRCS := $(wildcard common/src/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
LIBEDA      := $(BUILD)/lib/libeda.a
DAEMONS     := $(patsubst %/src/main.c,%,$(wildcard */src/main.c))

TEST_HELPERS := $(wildcard common/tests/support/*.c)

srcs_of = $(shell find $(1)/src -name '*.c' | sort)
objs_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(call srcs_of,$(1)))

# A daemon's tests link its objects without main.o, so they call into the same code.
define daemon_rules
$(BUILD)/bin/$(1): $(call objs_of,$(1)) $(LIBEDA)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)

# ... and with the shared test helpers plus their own tests/support/*.c.
$(BUILD)/tests/$(1)/%: $(1)/tests/%.c $(filter-out %/main.o,$(call objs_of,$(1))) $(TEST_HELPERS) \
		$(wildcard $(1)/tests/support/*.c) $(LIBEDA)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -I$(1)/src -I$(1)/tests -Icommon/tests $$(LDFLAGS) -o $$@ $$^ $$(CHECK_LIBS) $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rules,$(d))))

TOOLS      := $(patsubst infrastructure/tools/%.c,$(BUILD)/bin/%,$(wildcard infrastructure/tools/*.c))
# Order matters for `make test`: the library, then each daemon, then the whole system.
TEST_SRCS  := $(wildcard common/tests/test_*.c) \
	      $(foreach d,$(DAEMONS),$(wildcard $(d)/tests/test_*.c)) $(wildcard tests/test_*.c)
TEST_BINS  := $(patsubst %.c,$(BUILD)/tests/%,$(subst /tests/,/,$(TEST_SRCS)))
TEST_BINS  := $(patsubst $(BUILD)/tests/tests/%,$(BUILD)/tests/system/%,$(TEST_BINS))
BINS       := $(DAEMONS:%=$(BUILD)/bin/%) $(TOOLS)

.PHONY: all test asan asan-suites asan-suites-run images layers tidy tidy-files deps infra-up infra-down infra-status infra-clean dlq up down status logs demo bench chaos \
	tests fuzz fuzz-smoke \
	format format-check clean
.DEFAULT_GOAL := all

all: $(BINS) tests
tests: $(TEST_BINS)

# ---- compile and link -------------------------------------------------------

# Daemon sources see their own src/ as include root ("services/order_service.h").
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(firstword $(subst /, ,$<))/src -c -o $@ $<

$(LIBEDA): $(COMMON_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# Operator tools (eda-topics, eda-dlq, eda-demo): one C file each, linked with the library.
$(BUILD)/bin/%: infrastructure/tools/%.c $(LIBEDA)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/common/%: common/tests/%.c $(TEST_HELPERS) $(LIBEDA)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icommon/tests $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/system/%: tests/%.c $(TEST_HELPERS) $(wildcard tests/support/*.c) $(LIBEDA)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icommon/tests -Itests $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# ---- fuzzing ----------------------------------------------------------------

# fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput; its seed corpus is
# fuzz/corpus/<name>/. Built with clang's libFuzzer, ASan and UBSan, straight
# from the library's sources so that they carry the fuzzer's coverage.
FUZZ_SRCS    := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -O1 -g -fno-sanitize-recover=all -Icommon/include \
		$(PKG_CFLAGS) -pthread
FUZZ_LIB     := $(BUILD)/fuzz/libeda-fuzz.a
FUZZ_SECONDS ?= 10

# The library is compiled once with coverage instrumentation; each driver links it.
$(BUILD)/fuzz/obj/%.o: common/src/%.c
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -Icommon/src -c -o $@ $<

$(FUZZ_LIB): $(COMMON_SRCS:common/src/%.c=$(BUILD)/fuzz/obj/%.o)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIB)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

# Runs every driver on a copy of its corpus (new inputs stay out of the tree).
fuzz-smoke fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
		name=$${f##*/fuzz_}; work=$(BUILD)/fuzz/corpus-$$name; \
		mkdir -p $$work && cp -r fuzz/corpus/$$name/. $$work/ 2>/dev/null; \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=0 \
			$$work >$(BUILD)/fuzz/$$name.log 2>&1 || { tail -n 40 $(BUILD)/fuzz/$$name.log; exit 1; }; \
	done

fuzz: FUZZ_SECONDS = 300

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- test -------------------------------------------------------------------

# The stack is started once for all suites; suites read its addresses from .stack/env.
# `make test` on a fresh clone of a fresh machine: install what is missing, then
# build in a sub-make, which reads pkg-config again once the libraries are there.
test:
	@infrastructure/scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@infrastructure/scripts/layers.sh
	$(if $(filter 1,$(SAN)),,@$(MAKE) --no-print-directory fuzz-smoke)
	@$(STACK) up
	@EDA_BIN_DIR=$(abspath $(BUILD))/bin infrastructure/scripts/run-tests.sh $(TEST_BINS)
	@BUILD=$(BUILD) tests/chaos/run.sh --short
	$(if $(filter 1,$(SAN)),,@BUILD=$(BUILD) infrastructure/scripts/images.sh)

asan:
	$(MAKE) BUILD=build/asan SAN=1 test

# CI's sanitizer pass, within its time: the library's suites and each daemon's,
# with the daemons themselves, under ASan + UBSan; not the whole-system suites,
# the fuzzers (always sanitized) or the chaos pass, which make asan adds.
SUITE_BINS := $(filter-out $(BUILD)/tests/system/%,$(TEST_BINS))
asan-suites:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 asan-suites-run

asan-suites-run: $(BINS) $(SUITE_BINS)
	@$(STACK) up
	@EDA_BIN_DIR=$(abspath $(BUILD))/bin infrastructure/scripts/run-tests.sh $(SUITE_BINS)

# Every daemon's #includes against ARCHITECTURE.md's layers (make test runs it).
layers:
	@infrastructure/scripts/layers.sh

# Every image docker-compose.yml builds, for real, with podman (make test runs it).
images:
	@BUILD=$(BUILD) infrastructure/scripts/images.sh

# ---- local stack ------------------------------------------------------------

deps:
	@infrastructure/scripts/deps.sh

# A stack that still partly runs (a server crashed) is restarted, not taken over:
# it stays make up's if make up started it. From nothing, it is infra-up's.
infra-up: $(BUILD)/bin/eda-topics
	@if $(STACK) running; then $(STACK) up; else \
		rm -f "$${EDA_STACK_DIR:-.stack}/run/stack-of-make-up" && $(STACK) up; fi

infra-down:
	@$(STACK) down
	@rm -f "$${EDA_STACK_DIR:-.stack}/run/stack-of-make-up"

infra-status:
	@$(STACK) status

infra-clean:
	@$(STACK) clean

# ---- the whole system ---------------------------------------------------------

SERVICES := infrastructure/scripts/services.sh

# Everything from a fresh machine: packages, build, stack, the four daemons.
# Run again, it restarts whatever is down (a crashed server or daemon) and
# leaves the rest running.
up:
	@infrastructure/scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@# down stops the stack only if this started it (not one of make infra-up);
	@# a restart of a crashed server keeps whose it is.
	@if $(STACK) running; then $(STACK) up; else \
		$(STACK) up && touch "$${EDA_STACK_DIR:-.stack}/run/stack-of-make-up"; fi
	@$(SERVICES) up

down:
	@$(SERVICES) down
	@if [ -f "$${EDA_STACK_DIR:-.stack}/run/stack-of-make-up" ] || \
		! $(STACK) running; then \
		$(STACK) down && rm -f "$${EDA_STACK_DIR:-.stack}/run/stack-of-make-up"; \
	else echo "infra: left running (make up found it running; make infra-down stops it)"; fi

status:
	@$(STACK) status; $(SERVICES) status

logs:
	@$(SERVICES) logs

# The four sagas through the gateway of a running `make up`, as a report.
demo: $(BUILD)/bin/eda-demo
	@. $${EDA_STACK_DIR:-.stack}/env && eval "$$($(SERVICES) tokens)" && $(BUILD)/bin/eda-demo

# The whole-system benchmark (bench/system/run.sh): a JSON result file and a table.
bench:
	@infrastructure/scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@$(STACK) up
	@BUILD=$(BUILD) bench/system/run.sh

# The fault-injection campaign (tests/chaos/run.sh): every server and daemon
# killed under load, on a stack of its own; `make test` runs its short pass.
chaos:
	@infrastructure/scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/chaos/run.sh

# Lists every dead-letter topic of infrastructure/kafka/topics.conf.
dlq: $(BUILD)/bin/eda-dlq
	@. $${EDA_STACK_DIR:-.stack}/env 2>/dev/null; \
	for t in $$(awk '$$1 ~ /^dlq\./ {print $$1}' infrastructure/kafka/topics.conf); do \
		echo "== $$t"; $(BUILD)/bin/eda-dlq list $$t || exit 1; \
	done

# ---- style ------------------------------------------------------------------

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: clean"

# clang-tidy on every C file of the tree with the flags it is compiled with, one
# stamp per file, so a second run checks only what changed (a change to any
# header or to .clang-tidy checks everything again). Any finding fails
# (WarningsAsErrors in .clang-tidy); its output is shown only then. Tests drive
# the stack through the shell on purpose (system, popen), so cert-env33-c is off
# for files under a tests/ folder only.
TIDY_SRCS    = $(shell git ls-files '*.c' 2>/dev/null)
TIDY_CFLAGS := $(filter-out -MMD -MP,$(CFLAGS))
tidy_top     = $(firstword $(subst /, ,$(1)))
tidy_checks  = $(if $(findstring /tests/,/$(1)),--checks=-cert-env33-c)

tidy:
	@$(MAKE) --no-print-directory tidy-files && echo "tidy: clean"

tidy-files: $(TIDY_SRCS:%.c=$(BUILD)/tidy/%.ok)

$(BUILD)/tidy/%.ok: %.c .clang-tidy $(shell git ls-files '*.h' 2>/dev/null)
	@mkdir -p $(@D)
	@clang-tidy --quiet $(call tidy_checks,$<) $< -- $(TIDY_CFLAGS) \
		-I$(call tidy_top,$<)/src -I$(call tidy_top,$<)/tests -I$(call tidy_top,$<) \
		-Icommon/tests -Icommon/src >$@.log 2>&1 || \
		{ grep -v 'warnings\? generated\.$$' $@.log >&2; exit 1; }
	@touch $@

clean:
	rm -rf build
