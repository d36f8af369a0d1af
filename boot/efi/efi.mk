# boot/efi: the UEFI loader BOOTX64.EFI (GNU-EFI), `make esp`, its test kernel and tests.

EFI_OUT      := $(BUILD)/boot/efi
EFI_LOADER   := $(EFI_OUT)/BOOTX64.EFI
EFI_SRCS     := boot/efi/main.c boot/efi/fatal.c boot/efi/volume.c boot/efi/pages.c \
                boot/efi/kernel_load.c boot/efi/modules_load.c boot/efi/firmware_info.c \
                boot/efi/handoff.c boot/efi/manifest_scan.c boot/efi/memory_map.c \
                boot/efi/elf_plan.c boot/efi/identity_map.c
EFI_OBJS     := $(patsubst %.c,$(EFI_OUT)/obj/%.o,$(notdir $(EFI_SRCS)))
GNUEFI_LIB   := /usr/lib
GNUEFI_INC   := /usr/include/efi
EFI_CFLAGS   := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -fpic -fshort-wchar \
                -mno-red-zone -maccumulate-outgoing-args -mgeneral-regs-only \
                -DGNU_EFI_USE_MS_ABI -isystem $(GNUEFI_INC) -isystem $(GNUEFI_INC)/x86_64 \
                -I. -DATOLL_VERSION='"$(ATOLL_VERSION)"' $(KWARN)
EFI_LDFLAGS  := -nostdlib -znocombreloc -shared -Bsymbolic --no-undefined \
                -T $(GNUEFI_LIB)/elf_x86_64_efi.lds
EFI_SECTIONS := .text .sdata .data .rodata .dynamic .dynsym .rel .rela .rel.* .rela.* .reloc

all: $(EFI_LOADER)

$(EFI_OUT)/obj/%.o: boot/efi/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  EFICC   $<"
	$(Q)$(KCC) $(EFI_CFLAGS) -MMD -MP -c $< -o $@

$(EFI_OUT)/BOOTX64.so: $(EFI_OBJS)
	@echo "  EFILD   $@"
	$(Q)$(KLD) $(EFI_LDFLAGS) -o $@ $(GNUEFI_LIB)/crt0-efi-x86_64.o $(EFI_OBJS) \
		-L$(GNUEFI_LIB) -lefi -lgnuefi

$(EFI_LOADER): $(EFI_OUT)/BOOTX64.so
	@echo "  EFIAPP  $@"
	$(Q)objcopy $(addprefix -j ,$(EFI_SECTIONS)) --target efi-app-x86_64 --subsystem=10 $< $@

-include $(EFI_OBJS:.o=.d)

# ---- make esp: the default demo on a FAT32 ESP image -------------------------------------
ESP_MANIFEST := $(firstword $(wildcard tools/image/default.cfg) boot/efi/test/no-partitions.cfg)

esp: $(BUILD)/esp.img

$(BUILD)/esp.img: $(EFI_LOADER) $(BUILD)/atoll.elf $(ESP_MANIFEST) tools/image/mkesp.sh guests linux-guest
	@echo "  ESP     $@"
	$(Q)tools/image/mkesp.sh -o $@ -e $(EFI_LOADER) -k $(BUILD)/atoll.elf -m $(ESP_MANIFEST) \
		-d $(BUILD)/guest/tests -d $(BUILD)/guest/linux

# ---- the loader's test kernel: prints what it got in boot_info, then ends the emulator ----
EFI_PROBE     := $(EFI_OUT)/test/probe.elf
EFI_PROBE_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-stack-protector -fno-pic -fno-pie \
                -mno-red-zone -mgeneral-regs-only -mcmodel=small -nostdlib -static -I. $(KWARN)

$(EFI_PROBE): boot/efi/test/probe.c boot/efi/test/probe.ld boot/bootinfo.h
	@mkdir -p $(@D)
	@echo "  PROBE   $@"
	$(Q)$(KCC) $(EFI_PROBE_CFLAGS) -Wl,-T,boot/efi/test/probe.ld -Wl,--build-id=none \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -o $@ boot/efi/test/probe.c

# `make efi-probe-test` (part of `make test`): the loader under QEMU+OVMF with the probe
# kernel, and its one error line for a missing module, a missing manifest, a bad kernel.
TEST_STEPS += efi-probe-test
.PHONY: efi-probe-test
efi-probe-test: $(EFI_LOADER) $(EFI_PROBE)
	$(Q)boot/efi/test/run-probe $(EFI_LOADER) $(EFI_PROBE)

# ---- host unit tests of the loader's portable parts ----------------------------------------
UNIT_TESTS += efi_manifest_scan efi_memory_map efi_elf_plan
efi_manifest_scan_SRCS := boot/efi/test/manifest_scan_test.c boot/efi/manifest_scan.c
efi_memory_map_SRCS    := boot/efi/test/memory_map_test.c boot/efi/memory_map.c \
                          boot/efi/identity_map.c
efi_elf_plan_SRCS      := boot/efi/test/elf_plan_test.c boot/efi/elf_plan.c boot/efi/identity_map.c
