# System tests: scenarios booted under Bochs and QEMU (tests/system/run), the GRUB ISO
# (`make iso`), `make run`, and the harness self-test kernel.

SYSTEM_JOBS ?= 2
SYSTEM_ARGS ?=

# `make iso`: the default demo on a GRUB rescue ISO.
iso: $(BUILD)/atoll.iso

$(BUILD)/atoll.iso: $(BUILD)/atoll.elf tools/image/default.cfg tools/image/mkiso.sh guests linux-guest
	@echo "  ISO     $@"
	$(Q)tools/image/mkiso.sh -o $@ -k $(BUILD)/atoll.elf -m tools/image/default.cfg \
		-d $(BUILD)/guest/tests -d $(BUILD)/guest/linux

# `make test-system` boots every short scenario; `make test-long` the `long = yes` ones.
# Scenarios build their own images, so they need the kernel and the EFI loader (`esp`).
test-system: kernel esp
	$(Q)tests/system/run -j$(SYSTEM_JOBS) $(SYSTEM_ARGS)

test-long: kernel esp
	$(Q)tests/system/run -j$(SYSTEM_JOBS) --long $(SYSTEM_ARGS)

# `make run`: build, then boot the default demo in the best emulator present.
run:
	$(Q)tools/run/atoll-run

# The harness self-test: stand-ins (NOT Atoll) that print the lines the first scenarios
# expect, measured the same way, so the runner's plumbing can be proven on its own: a
# 32-bit Multiboot2 ELF for GRUB and a 64-bit ELF entered by boot/efi's loader.
SELFTEST_DIR   := $(BUILD)/system/selftest
SELFTEST_MB2   := $(SELFTEST_DIR)/selftest.elf
SELFTEST_EFI   := $(SELFTEST_DIR)/selftest-efi.elf
SELFTEST_COMMON := tests/system/selftest/selftest.c tests/system/selftest/selftest.h
SELFTEST_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
	-mno-red-zone -mno-sse -mno-mmx -mgeneral-regs-only -nostdlib -static -no-pie -I. \
	-Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -Wall -Wextra -Werror

$(SELFTEST_MB2): tests/system/selftest/entry_mb2.S tests/system/selftest/selftest_mb2.c \
		tests/system/selftest/link_mb2.ld $(SELFTEST_COMMON)
	@mkdir -p $(@D)
	@echo "  SELFTEST $@"
	$(Q)gcc -m32 $(SELFTEST_CFLAGS) -Wl,-m,elf_i386 -Wl,-T,tests/system/selftest/link_mb2.ld \
		-o $@ $(filter %.S %.c,$^)
	$(Q)grub-file --is-x86-multiboot2 $@

$(SELFTEST_EFI): tests/system/selftest/entry_efi.S tests/system/selftest/selftest_efi.c \
		tests/system/selftest/link_efi.ld $(SELFTEST_COMMON) boot/bootinfo.h
	@mkdir -p $(@D)
	@echo "  SELFTEST $@"
	$(Q)gcc -m64 -mcmodel=small $(SELFTEST_CFLAGS) -Wl,-T,tests/system/selftest/link_efi.ld \
		-o $@ $(filter %.S %.c,$^)

# Boots the scenarios with the stand-ins; UEFI ones need the real loader and mkesp.sh.
.PHONY: test-system-selftest
test-system-selftest: $(SELFTEST_MB2) $(SELFTEST_EFI)
	$(Q)tests/system/run -j$(SYSTEM_JOBS) --selftest $(SYSTEM_ARGS)
