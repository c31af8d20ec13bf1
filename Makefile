# supervise — build, check, demo, bench, install
#
#   make            build build/supervise (BPF skeletons included)
#   make check      install missing packages (as root), build, run every test
#   make check-vm   the pure cgroup v2 lane: Debian's kernel under qemu
#   make check SANITIZE=1   ASan + UBSan build in build-asan/, unit and integration tests
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS (default 60) each
#   make demo       run supervise on a bundled workload and show what it saw
#   make install    PREFIX=/usr/local DESTDIR=
#   V=1             print full commands

# SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer, in an output
# directory of its own so the plain build is never mixed with it.
SANITIZE    ?=
ifeq ($(SANITIZE),1)
OUTPUT      ?= build-asan
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
OUTPUT      ?= build
CC          ?= gcc
CLANG       ?= clang
BPFTOOL     ?= bpftool
PKG_CONFIG  ?= pkg-config
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man

# vmlinux.h is generated from the running kernel's BTF and never committed (it is
# ~3 MB). For a reproducible build, point VMLINUX_H at a header you keep.
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VMLINUX_H   ?=

VERSION     := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(V),1)
  Q =
  msg =
else
  Q = @
  msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Every library goes through pkg-config; scripts/setup.sh installs them.
PKGS        := libbpf libelf zlib json-c libseccomp libcap inih libmicrohttpd ncursesw
PKG_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
TEST_LIBS   := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)

ARCH        := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
WARN        := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-truncation
CFLAGS      ?= -O2 -g
# Sanitized: supervise, libsupervise-advice, its example and the tests (not the
# BPF objects, not the workload helpers under tests/helpers).
override CFLAGS += $(SAN_FLAGS)
ALL_CFLAGS  := $(CFLAGS) -std=gnu11 $(WARN) -D_GNU_SOURCE -DSUPERVISE_VERSION='"$(VERSION)"' \
               -Iinclude -Isupervisor -I$(OUTPUT) $(PKG_CFLAGS)
BPF_CFLAGS  := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Iinclude -I$(OUTPUT) \
               $(shell $(PKG_CONFIG) --cflags-only-I libbpf 2>/dev/null)
DEPFLAGS     = -MMD -MP -MF $(@:.o=.d) -MT $@

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS       := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

SRCS        := $(wildcard supervisor/*.c)
OBJS        := $(patsubst %.c,$(OUTPUT)/%.o,$(SRCS))
# libsupervise-advice: the client of the live advice page (include/supervise/advice.h)
ADVICE_LIB  := $(OUTPUT)/libsupervise-advice.a $(OUTPUT)/libsupervise-advice.so $(OUTPUT)/supervise-advice.pc
ADVICE_OBJS := $(OUTPUT)/lib/advice.o
LIB_OBJS    := $(filter-out $(OUTPUT)/supervisor/main.o,$(OBJS)) $(ADVICE_OBJS)
EXAMPLES    := $(OUTPUT)/examples/pool
# A Rust helper for the vm lane's available_parallelism case, when rustc exists.
RUSTC       ?= $(shell command -v rustc 2>/dev/null)
RUST_HELPERS := $(if $(RUSTC),$(OUTPUT)/tests/helpers/parallelism)

UNIT_SRCS   := $(wildcard tests/unit/*.c)
UNIT_BINS   := $(patsubst %.c,$(OUTPUT)/%,$(UNIT_SRCS))
INTEG_SRCS  := $(wildcard tests/integration/*.c)
INTEG_BINS  := $(patsubst %.c,$(OUTPUT)/%,$(INTEG_SRCS))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPERS     := $(patsubst %.c,$(OUTPUT)/%,$(HELPER_SRCS))

.DELETE_ON_ERROR:
# The skeletons and BPF objects are made by a chain of pattern rules: keep them
# (as intermediates make would delete them, and rebuild every user of them next time).
.SECONDARY: $(BPF_OBJS) $(SKELS)
.PHONY: all setup check check-unit check-integration check-fuzz check-vm test-bins fuzz fuzz-bins demo install clean bench

all: $(OUTPUT)/supervise $(ADVICE_LIB) $(EXAMPLES)

# --- BPF: vmlinux.h -> .bpf.o -> .skel.h ------------------------------------
ifneq ($(VMLINUX_H),)
$(OUTPUT)/vmlinux.h: $(VMLINUX_H) | $(OUTPUT)
	$(call msg,CP,$@)
	$(Q)cp $< $@
else
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@
endif

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	$(Q)$(BPFTOOL) gen object $(@:.bpf.o=.tmp.o) $@ && mv $(@:.bpf.o=.tmp.o) $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# --- user space --------------------------------------------------------------
# Order-only on the skeletons: the first build needs them to exist; after that
# the -MMD depfiles name exactly which object includes which skeleton.
$(OUTPUT)/supervisor/%.o: supervisor/%.c | $(OUTPUT)/supervisor $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/supervise: $(OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@

# --- libsupervise-advice, examples -------------------------------------------
$(OUTPUT)/lib/%.o: lib/%.c | $(OUTPUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 $(WARN) -D_GNU_SOURCE -fPIC -fvisibility=default -Iinclude $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/libsupervise-advice.a: $(ADVICE_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/libsupervise-advice.so: $(ADVICE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -shared -Wl,-soname,libsupervise-advice.so.1 $^ -o $@.1
	$(Q)ln -sf libsupervise-advice.so.1 $@

$(OUTPUT)/supervise-advice.pc: lib/supervise-advice.pc.in VERSION | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< > $@

$(OUTPUT)/examples/%: examples/%.c $(OUTPUT)/libsupervise-advice.a | $(OUTPUT)/examples
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -pthread $< $(OUTPUT)/libsupervise-advice.a -o $@

# --- tests -------------------------------------------------------------------
$(OUTPUT)/tests/unit/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests/unit
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP -MF $@.d -MT $@ $< $(LIB_OBJS) $(PKG_LIBS) $(TEST_LIBS) -o $@

$(OUTPUT)/tests/integration/%: tests/integration/%.c tests/integration/harness.h | $(OUTPUT)/tests/integration
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/integration -MMD -MP -MF $@.d -MT $@ $< $(PKG_LIBS) $(TEST_LIBS) -o $@

# test_monitor drives the monitor API itself (root, BPF): it links the objects.
$(OUTPUT)/tests/integration/test_monitor: tests/integration/test_monitor.c tests/integration/harness.h $(LIB_OBJS) | $(OUTPUT)/tests/integration
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/integration -MMD -MP -MF $@.d -MT $@ $< $(LIB_OBJS) $(PKG_LIBS) $(TEST_LIBS) -o $@

# The helpers are workloads whose RSS and map counts the tests measure exactly:
# never sanitized (ASan's shadow, quarantine and allocator mappings would change
# those figures; the code under test is supervise).
$(OUTPUT)/tests/helpers/%: tests/helpers/%.c | $(OUTPUT)/tests/helpers
	$(call msg,CC,$@)
	$(Q)$(CC) $(filter-out $(SAN_FLAGS),$(ALL_CFLAGS)) -pthread $< -o $@

# '+': rustc is a jobserver client; without make's fds it warns under make -jN.
$(OUTPUT)/tests/helpers/parallelism: tests/helpers/parallelism.rs | $(OUTPUT)/tests/helpers
	$(call msg,RUSTC,$@)
	$(Q)+$(RUSTC) -O --edition 2021 $< -o $@

# --- fuzz targets (libFuzzer) ------------------------------------------------
# One target per parser of outside input: tests/fuzz/fuzz_NAME.c, seeds in
# tests/fuzz/corpus/NAME/. clang's libFuzzer (Debian: libclang-rt-dev), with
# ASan + UBSan; the supervisor objects are rebuilt with clang and coverage for
# them in $(OUTPUT)/fuzz/. `make check` replays the corpora; `make fuzz` searches.
FUZZ_OUT    := $(OUTPUT)/fuzz
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(FUZZ_SRCS))
FUZZ_OBJS   := $(patsubst supervisor/%.c,$(FUZZ_OUT)/supervisor/%.o,$(filter-out supervisor/main.c,$(SRCS)))
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) -std=gnu11 $(filter-out -Wno-format-truncation,$(WARN)) -Wno-format-nonliteral -D_GNU_SOURCE -DSUPERVISE_VERSION='"$(VERSION)"' \
               -Iinclude -Isupervisor -I$(OUTPUT) $(PKG_CFLAGS)
FUZZ_SECONDS ?= 60
# Evaluated only by the rules that need it: can $(CLANG) link a libFuzzer target?
FUZZ_OK      = $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' | \
		 $(CLANG) -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null && echo 1)

$(FUZZ_OUT)/supervisor/%.o: supervisor/%.c | $(FUZZ_OUT)/supervisor $(SKELS)
	$(call msg,FUZZCC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

# An archive: a target that includes a parser's .c file (to reach its static
# functions) is not given a second copy of that object.
$(FUZZ_OUT)/libsupervise-fuzz.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OUT)/libsupervise-fuzz.a
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -MMD -MP -MF $@.d -MT $@ $< \
		$(FUZZ_OUT)/libsupervise-fuzz.a $(PKG_LIBS) -o $@

# Without libFuzzer the targets are not built and the fuzz lane skips, saying why.
fuzz-bins: | $(FUZZ_OUT)
	$(Q)if [ "$(FUZZ_OK)" = 1 ]; then rm -f $(FUZZ_OUT)/.unavailable; \
		$(MAKE) --no-print-directory $(FUZZ_BINS); \
	else echo "$(CLANG) cannot link -fsanitize=fuzzer (install libclang-rt-dev: scripts/setup.sh)" \
		| tee $(FUZZ_OUT)/.unavailable; fi

# Each target for FUZZ_SECONDS, from its corpus; new inputs that reach new code
# are added to tests/fuzz/corpus/NAME/ (commit the useful ones), crashes are
# written to $(FUZZ_OUT)/crashes/ and stop the run.
fuzz:
	$(Q)scripts/setup.sh
	$(Q)$(MAKE) --no-print-directory fuzz-bins
	$(Q)OUTPUT=$(OUTPUT) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)

ifeq ($(SANITIZE),1)
# The sanitizer pass: unit and integration tests (the fuzz targets are
# sanitized builds already; the vm lane boots its own kernel and is not run).
CHECK_LANES := unit integration
FUZZ_TEST_BINS :=
else
CHECK_LANES :=
FUZZ_TEST_BINS := fuzz-bins
endif

test-bins: $(OUTPUT)/supervise $(UNIT_BINS) $(INTEG_BINS) $(HELPERS) $(RUST_HELPERS) $(ADVICE_LIB) $(EXAMPLES) $(FUZZ_TEST_BINS)

# setup runs first and alone: pkg-config flags are read when make parses this
# file, so the build is a second make that sees the installed packages.
check:
	$(Q)scripts/setup.sh
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)OUTPUT=$(OUTPUT) SANITIZE=$(SANITIZE) scripts/run-tests.sh $(CHECK_LANES)

check-unit check-integration check-fuzz:
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)OUTPUT=$(OUTPUT) SANITIZE=$(SANITIZE) scripts/run-tests.sh $(@:check-%=%)

check-vm:
	$(Q)if [ "$(SANITIZE)" = 1 ]; then echo "check-vm: the vm lane runs the plain build only (the guest has no sanitizer runtime set up, and ASan under qemu's TCG is far too slow); run it without SANITIZE=1" >&2; exit 2; fi
	$(Q)scripts/setup.sh --vm
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)OUTPUT=$(OUTPUT) scripts/run-tests.sh vm

# Measures only (never part of check): needs root, takes about 10 minutes.
# BENCH_ARGS: e.g. --runs 9, --only cpucost, --workload faults.
bench:
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/supervise $(LIB_OBJS)
	$(Q)OUTPUT=$(OUTPUT) CC="$(CC)" bench/bench.py $(BENCH_ARGS)

demo:
	$(Q)scripts/setup.sh
	$(Q)$(MAKE) --no-print-directory $(OUTPUT)/supervise $(HELPERS)
	$(Q)OUTPUT=$(OUTPUT) scripts/demo.sh

setup:
	$(Q)scripts/setup.sh

install: $(OUTPUT)/supervise $(ADVICE_LIB)
	install -D -m 0755 $(OUTPUT)/supervise $(DESTDIR)$(BINDIR)/supervise
	install -D -m 0644 docs/supervise.1 $(DESTDIR)$(MANDIR)/man1/supervise.1
	install -D -m 0644 include/supervise/advice.h $(DESTDIR)$(INCLUDEDIR)/supervise/advice.h
	install -D -m 0644 $(OUTPUT)/libsupervise-advice.a $(DESTDIR)$(LIBDIR)/libsupervise-advice.a
	install -D -m 0755 $(OUTPUT)/libsupervise-advice.so.1 $(DESTDIR)$(LIBDIR)/libsupervise-advice.so.1
	ln -sf libsupervise-advice.so.1 $(DESTDIR)$(LIBDIR)/libsupervise-advice.so
	install -D -m 0644 $(OUTPUT)/supervise-advice.pc $(DESTDIR)$(LIBDIR)/pkgconfig/supervise-advice.pc

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/supervisor $(OUTPUT)/lib $(OUTPUT)/examples $(OUTPUT)/tests/unit $(OUTPUT)/tests/integration $(OUTPUT)/tests/helpers $(FUZZ_OUT) $(FUZZ_OUT)/supervisor:
	$(Q)mkdir -p $@

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/supervisor/*.d $(OUTPUT)/lib/*.d $(OUTPUT)/tests/*/*.d \
	$(FUZZ_OUT)/*.d $(FUZZ_OUT)/supervisor/*.d)
