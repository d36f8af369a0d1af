# Atoll top-level Makefile.
#
# Every subsystem contributes a fragment (`*.mk` beside its sources) that adds to the
# variables below; this file owns only the toolchain, the generic rules and the
# top-level targets.  Everything is built out of tree under $(BUILD).
#
#   KERNEL_SRCS   .c/.S files linked into build/atoll.elf (freestanding, -mcmodel=kernel)
#   KERNEL_LIBS   static libraries linked into atoll.elf (third-party, built freestanding)
#   KERNEL_EXTRA_OBJS  objects built by a fragment's own rule (e.g. data blobs)
#   UNIT_TESTS    names of host cmocka tests; each NAME sets NAME_SRCS (ASan + UBSan)
#   FUZZ_TARGETS  names of libFuzzer targets; each NAME sets NAME_SRCS
#   HOST_TOOLS    paths of host programs under build/tools (each fragment gives the rule)
#   BENCHES       commands `make bench` runs, one per line of the table
#   TEST_STEPS    extra phony targets `make test` runs after unit tests (before system)

BUILD      ?= build
V          ?= 0
Q          := $(if $(filter 1,$(V)),,@)

include tools/build/config.mk
include tools/deps/versions.mk

KERNEL_SRCS  :=
KERNEL_LIBS  :=
KERNEL_EXTRA_OBJS :=
UNIT_TESTS   :=
FUZZ_TARGETS :=
HOST_TOOLS   :=
BENCHES      :=
TEST_STEPS   :=

# tools/deps first: the others use the third-party paths it defines.
DEPS_FRAGMENTS := $(filter-out tools/deps/versions.mk,$(sort $(wildcard tools/deps/*.mk)))
FRAGMENTS := $(sort $(wildcard tools/*/*.mk \
	boot/*/*.mk hv/*.mk hv/*/*.mk hv/*/*/*.mk drivers/*.mk drivers/*/*.mk \
	net/*.mk net/*/*.mk services/*.mk guest/*.mk guest/*/*.mk tests/*/*.mk))
FRAGMENTS := $(filter-out tools/deps/%.mk tools/build/config.mk,$(FRAGMENTS))
include $(DEPS_FRAGMENTS) $(FRAGMENTS)

.DEFAULT_GOAL := all
.PHONY: all deps kernel tools iso esp run test test-unit test-system test-long fuzz bench clean help

all: kernel tools guests

help:
	@echo "make            build the hypervisor, loader, guests and host tools into $(BUILD)/"
	@echo "make deps       install Debian packages and build third-party libraries"
	@echo "make tools      host tools into $(BUILD)/tools: atollctl, vhdx, atoll (check)"
	@echo "make iso|esp    bootable images: $(BUILD)/atoll.iso (GRUB) and $(BUILD)/esp.img (UEFI)"
	@echo "make run        boot the default demo (QEMU/KVM when nested VT-x exists, else Bochs);"
	@echo "                tools/run/atoll-run --help for more (--cpus 1 is faster, --net)"
	@echo "make test       unit tests, brief fuzzing and system scenarios; ends 'N passed, N failed'"
	@echo "make test-long  slow soak scenarios"
	@echo "make fuzz       every fuzz target for FUZZ_SECONDS (default 60) each"
	@echo "make bench      benchmarks, repeated: our figure, the anchor's, the ratio, which way is"
	@echo "                better; also $(BUILD)/bench/results.json and results.csv"
	@echo "make clean      remove $(BUILD)/"

# ---- hypervisor image -------------------------------------------------------------------
KERNEL_OBJS = $(patsubst %,$(BUILD)/k/%.o,$(basename $(KERNEL_SRCS))) $(KERNEL_EXTRA_OBJS)

kernel: $(BUILD)/atoll.elf

$(BUILD)/k/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(KCC) $(KCFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/k/%.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)$(KCC) $(KASFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/atoll.elf: $(KERNEL_OBJS) $(KERNEL_LIBS) linker.ld
	@echo "  LD      $@"
	$(Q)$(KLD) $(KLDFLAGS) -T linker.ld -o $@ $(KERNEL_OBJS) --start-group $(KERNEL_LIBS) --end-group
	$(Q)grub-file --is-x86-multiboot2 $@ || { echo "error: $@ has no valid Multiboot2 header"; exit 1; }

# ---- host unit tests (cmocka, ASan + UBSan) ---------------------------------------------
UNIT_BINS = $(patsubst %,$(BUILD)/unit/%,$(UNIT_TESTS))

# A test with no flags of its own links objects each source is compiled to once, shared by
# every such test (build/unit/obj); one with its own flags compiles its sources itself.
UNIT_OBJ = $(BUILD)/unit/obj
$(UNIT_OBJ)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TEST_CFLAGS) -MMD -MP -c $< -o $@

define unit_rule
ifeq ($$(strip $$($(1)_CFLAGS)),)
$(BUILD)/unit/$(1): $$(patsubst %.c,$(UNIT_OBJ)/%.o,$$($(1)_SRCS)) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@echo "  LINK    $$@"
	$(Q)$(HOSTCC) $(HOST_TEST_CFLAGS) -o $$@ $$(patsubst %.c,$(UNIT_OBJ)/%.o,$$($(1)_SRCS)) \
		$$($(1)_LIBS) -lcmocka
else
$(BUILD)/unit/$(1): $$($(1)_SRCS) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@echo "  HOSTCC  $$@"
	$(Q)$(HOSTCC) $(HOST_TEST_CFLAGS) $$($(1)_CFLAGS) -o $$@ $$($(1)_SRCS) $$($(1)_LIBS) -lcmocka
endif
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

# The slowest binaries start first so that the others fill the remaining CPUs.
UNIT_SLOW = $(patsubst %,$(BUILD)/unit/%,test_vhdx test_fat32 test_disk_job test_offload)
test-unit: $(UNIT_BINS)
	$(Q)tools/build/run-unit-tests $(filter $(UNIT_SLOW),$(UNIT_BINS)) $(filter-out $(UNIT_SLOW),$(UNIT_BINS))

# ---- fuzz targets (libFuzzer) -----------------------------------------------------------
FUZZ_BINS = $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 60

# As the unit tests: shared objects (build/fuzz/obj) where a target has no flags of its own.
FUZZ_OBJ = $(BUILD)/fuzz/obj
$(FUZZ_OBJ)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZCC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

define fuzz_rule
ifeq ($$(strip $$($(1)_CFLAGS)),)
$(BUILD)/fuzz/$(1): $$(patsubst %.c,$(FUZZ_OBJ)/%.o,$$($(1)_SRCS)) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@echo "  LINK    $$@"
	$(Q)$(FUZZCC) $(FUZZ_CFLAGS) -o $$@ $$(patsubst %.c,$(FUZZ_OBJ)/%.o,$$($(1)_SRCS)) $$($(1)_LIBS)
else
$(BUILD)/fuzz/$(1): $$($(1)_SRCS) | $(DEPS_STAMP)
	@mkdir -p $$(@D)
	@echo "  FUZZCC  $$@"
	$(Q)$(FUZZCC) $(FUZZ_CFLAGS) $$($(1)_CFLAGS) -o $$@ $$($(1)_SRCS) $$($(1)_LIBS)
endif
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz: $(FUZZ_BINS)
	$(Q)tools/build/run-fuzzers $(FUZZ_SECONDS) $(FUZZ_BINS)

test-fuzz-brief: $(FUZZ_BINS)
	$(Q)tools/build/run-fuzzers 2 $(FUZZ_BINS)

# ---- host tools, benchmarks -------------------------------------------------------------
tools: $(HOST_TOOLS)

bench: all
	$(Q)tools/build/run-benches $(BENCHES)

# ---- tests ------------------------------------------------------------------------------
# `make test` runs every step even when one fails, then prints one summary line.
test: all
	$(Q)tools/build/run-test-suite $(MAKE) test-unit test-fuzz-brief $(TEST_STEPS) test-system

clean:
	rm -rf $(BUILD)

-include $(KERNEL_OBJS:.o=.d)
-include $(patsubst %.c,$(UNIT_OBJ)/%.d,$(sort $(foreach t,$(UNIT_TESTS),$($(t)_SRCS))))
-include $(patsubst %.c,$(FUZZ_OBJ)/%.d,$(sort $(foreach t,$(FUZZ_TARGETS),$($(t)_SRCS))))
