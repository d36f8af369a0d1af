# guest/tests: one Multiboot v1 ELF32 image per test, build/guest/tests/NAME.elf, plus the
# flat (reset-vector), ELF64 and low-memory (linked at 0x8000) variants of some.
#
#   make guests              build them all (part of `make all`)
#   make test-guests-qemu    run them under QEMU TCG (no hypervisor) and check result lines

GUEST_TESTS := hello cpuid_msr hypercall timer smp isolation_a isolation_b hostile cpuid_bench virtio_io virtio_bad channel_owner channel_peer write_track nmi
GUEST_TESTS += regs_isolation
GUEST_TESTS += channel_hostile_owner channel_hostile_peer channel_hostile_toucher
GUEST_TESTS += xsetbv_hostile spin hostile_insn crashme
GUEST_TESTS += devfuzz
GUEST_TESTS += emulate
GUEST_TESTS += acpi hpet reset hlt_nmi_wake
GUEST_TESTS += tsc_adjust
GUEST_TESTS += console_flood virtio_flood virtio_rate
GUEST_TESTS += virtio_copy
GUEST_TESTS += disk_live
GUEST_TESTS += channel_flood
GUEST_TESTS += apic_modes ipi_pingpong
GUEST_TESTS += smp_dirty
GUEST_TESTS += migrate_records
# Linked at 0x8000 by guest/lib/guest_low.ld: build/guest/tests/NAME.low.elf.
GUEST_LOW_TESTS := low_image
GUEST_FLAT_TESTS := hello acpi
# Entered in 64-bit mode (`boot = elf64`): build/guest/tests/NAME.x64.
GUEST_X64_TESTS := hello acpi

GUEST_TEST_ELFS  := $(patsubst %,$(GUEST_OUT)/tests/%.elf,$(GUEST_TESTS))
GUEST_TEST_FLATS := $(patsubst %,$(GUEST_OUT)/tests/%.flat,$(GUEST_FLAT_TESTS))
GUEST_TEST_LOWS  := $(patsubst %,$(GUEST_OUT)/tests/%.low.elf,$(GUEST_LOW_TESTS))

.PHONY: guests guest-tests test-guests-qemu
guests: guest-tests
guest-tests: $(GUEST_TEST_ELFS) $(GUEST_TEST_FLATS) $(GUEST_TEST_LOWS) \
             $(patsubst %,$(GUEST_OUT)/tests/%.x64,$(GUEST_X64_TESTS))

# The ELF64 keeps symbols for debugging; the ELF32 is what loaders take.
$(GUEST_OUT)/tests/%.elf64: $(GUEST_OUT)/obj/guest/tests/%.o $(GUEST_LIB_OBJS) guest/lib/guest.ld
	@mkdir -p $(@D)
	@echo "  GUESTLD $@"
	$(Q)$(KLD) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB_OBJS)

# The same program entered in 64-bit mode, for `boot = elf64`.
$(GUEST_OUT)/tests/%.x64: $(GUEST_OUT)/obj/guest/tests/%.o $(GUEST_LIB_OBJS) guest/lib/guest.ld
	@mkdir -p $(@D)
	@echo "  GUESTLD $@"
	$(Q)$(KLD) $(GUEST_LDFLAGS) -e _start64 -o $@ $< $(GUEST_LIB_OBJS)

$(GUEST_OUT)/tests/%.low.elf64: $(GUEST_OUT)/obj/guest/tests/%.o $(GUEST_LIB_OBJS) guest/lib/guest_low.ld
	@mkdir -p $(@D)
	@echo "  GUESTLD $@"
	$(Q)$(KLD) $(filter-out -T guest/lib/guest.ld,$(GUEST_LDFLAGS)) -T guest/lib/guest_low.ld -o $@ $< $(GUEST_LIB_OBJS)

$(GUEST_OUT)/tests/%.elf: $(GUEST_OUT)/tests/%.elf64
	$(Q)objcopy -O elf32-i386 --strip-debug $< $@
	$(Q)grub-file --is-x86-multiboot $@ || { echo "error: $@ has no valid Multiboot header"; exit 1; }

$(GUEST_OUT)/tests/%.bin: $(GUEST_OUT)/tests/%.elf64
	$(Q)objcopy -O binary $< $@

$(GUEST_OUT)/tests/%.flat: $(GUEST_OUT)/tests/%.bin guest/lib/flat_reset.S guest/lib/layout.h
	@echo "  FLAT    $@"
	$(Q)$(KCC) $(GUEST_ASFLAGS) -DPAYLOAD='"$<"' -c guest/lib/flat_reset.S -o $(GUEST_OUT)/obj/$*.flat.o
	$(Q)$(KLD) -m elf_x86_64 -nostdlib -Ttext=0xe0000 -e image --oformat binary -o $@ $(GUEST_OUT)/obj/$*.flat.o
	$(Q)test $$(stat -c %s $@) -eq 131072 || { echo "error: $@ is not 128 KiB"; exit 1; }

.SECONDARY: $(patsubst %,$(GUEST_OUT)/obj/guest/tests/%.o,$(GUEST_TESTS) $(GUEST_LOW_TESTS)) \
            $(patsubst %,$(GUEST_OUT)/tests/%.elf64,$(GUEST_TESTS)) \
            $(patsubst %,$(GUEST_OUT)/tests/%.low.elf64,$(GUEST_LOW_TESTS)) \
            $(patsubst %,$(GUEST_OUT)/tests/%.bin,$(GUEST_FLAT_TESTS))

TEST_STEPS += test-guests-qemu

test-guests-qemu: guest-tests
	$(Q)guest/tests/run-qemu $(GUEST_OUT)/tests

-include $(patsubst %,$(GUEST_OUT)/obj/guest/tests/%.d,$(GUEST_TESTS) $(GUEST_LOW_TESTS))
