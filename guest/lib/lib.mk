# guest/lib: the runtime every test guest links (see guest/tests/tests.mk for the images).
#
# Guests are compiled as 64-bit code linked at 1 MiB (identity mapped, small code model),
# then converted to ELF32 so that Multiboot v1 loaders (Atoll, QEMU -kernel, GRUB) take
# them; the 32-bit entry in entry32.S switches to long mode.

GUEST_OUT := $(BUILD)/guest

GUEST_WARN   := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
                -Wmissing-prototypes -Wpointer-arith -Wvla
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -mno-red-zone -fno-pic \
                -fno-pie -mcmodel=small -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387 \
                -fno-omit-frame-pointer -fno-strict-aliasing -fno-common \
                -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
                -nostdinc -isystem $(GCC_INCLUDE) -isystem hv/lib/libc/include -D_LIBC_LIMITS_H_ \
                -I. -DATOLL_GUEST=1 $(GUEST_WARN)
GUEST_ASFLAGS := $(filter-out -std=gnu11,$(GUEST_CFLAGS)) -D__ASSEMBLY__
GUEST_LDFLAGS := -m elf_x86_64 -nostdlib -z max-page-size=4096 -z noexecstack \
                 --no-warn-rwx-segments -T guest/lib/guest.ld

GUEST_LIB_SRCS := $(filter-out guest/lib/flat_reset.S,$(wildcard guest/lib/*.c guest/lib/*.S)) \
                  hv/lib/format.c hv/lib/string.c
GUEST_LIB_OBJS := $(patsubst %,$(GUEST_OUT)/obj/%.o,$(basename $(GUEST_LIB_SRCS)))

$(GUEST_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  GUESTCC $<"
	$(Q)$(KCC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OUT)/obj/%.o: %.S
	@mkdir -p $(@D)
	@echo "  GUESTAS $<"
	$(Q)$(KCC) $(GUEST_ASFLAGS) -MMD -MP -c $< -o $@

.SECONDARY: $(GUEST_LIB_OBJS)

-include $(GUEST_LIB_OBJS:.o=.d)
