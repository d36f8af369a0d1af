# System tests: scenarios booted under Bochs and QEMU (tests/system/run), the GRUB ISO
# (`make iso`), `make run`, and the harness self-test kernel.

SYSTEM_JOBS ?= 2
SYSTEM_ARGS ?=

# `make iso`: the default demo on a GRUB rescue ISO.
iso: $(BUILD)/atoll.iso

$(BUILD)/atoll.iso: $(BUILD)/atoll.elf tools/image/default.cfg tools/image/mkiso.sh
	@echo "  ISO     $@"
	$(Q)tools/image/mkiso.sh -o $@ -k $(BUILD)/atoll.elf -m tools/image/default.cfg

# `make test-system` boots every short scenario; `make test-long` the `long = yes` ones.
# Scenarios build their own images, so they need the kernel and the EFI loader (`esp`).
test-system: kernel esp
	$(Q)tests/system/run -j$(SYSTEM_JOBS) $(SYSTEM_ARGS)

test-long: kernel esp
	$(Q)tests/system/run -j$(SYSTEM_JOBS) --long $(SYSTEM_ARGS)

# `make run`: build, then boot the default demo in the best emulator present.
run:
	$(Q)tools/run/atoll-run

# The harness self-test: a 32-bit Multiboot2 stand-in (NOT Atoll) that prints the lines the
# first scenarios expect, so the runner's plumbing can be proven on its own.
SELFTEST_ELF := $(BUILD)/system/selftest/selftest.elf
SELFTEST_SRCS := tests/system/selftest/entry.S tests/system/selftest/selftest.c
SELFTEST_CFLAGS := -m32 -std=gnu11 -O2 -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
	-mno-sse -mno-mmx -mgeneral-regs-only -nostdlib -static -no-pie \
	-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -Wall -Wextra -Werror

$(SELFTEST_ELF): $(SELFTEST_SRCS) tests/system/selftest/link.ld
	@mkdir -p $(@D)
	@echo "  SELFTEST $@"
	$(Q)gcc $(SELFTEST_CFLAGS) -Wl,-T,tests/system/selftest/link.ld -Wl,-m,elf_i386 \
		-Wl,--build-id=none -o $@ $(SELFTEST_SRCS)
	$(Q)grub-file --is-x86-multiboot2 $@

.PHONY: test-system-selftest
test-system-selftest: $(SELFTEST_ELF)
	$(Q)tests/system/run -j$(SYSTEM_JOBS) --selftest $(SYSTEM_ARGS)
