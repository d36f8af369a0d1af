# Vendor-neutral core and the VT-x backend.
KERNEL_SRCS += \
	hv/core/guest_mem.c hv/core/guest_walk.c hv/core/partition.c hv/core/platform_glue.c \
	hv/core/sched.c hv/core/services.c hv/core/exit/cpuid_policy.c hv/core/exit/msr_policy.c \
	hv/core/hypercall.c hv/core/channel.c hv/core/partition_disks.c hv/core/console_input.c hv/core/console_ring.c hv/core/partition_console.c hv/core/exit/mmio.c hv/core/exit/insn_decoder.c hv/core/config/manifest.c \
	hv/core/config/script.c hv/core/script_run.c hv/core/write_track.c hv/core/partition_writes.c \
	hv/core/loader/loader_common.c hv/core/loader/loader_flat.c hv/core/loader/loader_multiboot.c hv/core/loader/loader_elf64.c \
	hv/core/loader/loader_acpi.c \
	hv/vmx/vmcs.c hv/vmx/vmx_cpu.c hv/vmx/vmx_vcpu.c hv/vmx/vmx_entry.S hv/vmx/vmx_exit.c \
	hv/vmx/vmx_event.c hv/vmx/vmx_guest_state.c hv/vmx/ept.c
KERNEL_SRCS += hv/core/end_verdict.c hv/core/virt.c hv/core/virt_flush.c hv/core/guest_xstate.c \
	hv/core/vcpu_run.c
KERNEL_SRCS += hv/core/exit/emulate.c hv/core/exit/exit_apply.c
KERNEL_LIBS += $(LIB_ZYDIS)

build/k/hv/core/exit/mmio.o build/k/hv/core/exit/insn_decoder.o: KCFLAGS += $(THIRD_PARTY_INC_ZYDIS)

FUZZ_TARGETS += fuzz_loader
fuzz_loader_SRCS := tests/fuzz/fuzz_loader.c hv/core/loader/loader_flat.c hv/core/loader/loader_multiboot.c \
	hv/core/loader/loader_elf64.c hv/core/loader/loader_common.c hv/core/loader/loader_acpi.c hv/core/loader/acpi_build.c \
	hv/lib/format.c

UNIT_TESTS += test_loader
test_loader_SRCS := tests/unit/test_loader.c hv/core/loader/loader_flat.c hv/core/loader/loader_multiboot.c \
	hv/core/loader/loader_elf64.c hv/core/loader/loader_common.c hv/core/loader/loader_acpi.c hv/core/loader/acpi_build.c \
	drivers/acpi/acpi_tables.c hv/lib/format.c
KERNEL_SRCS += hv/core/disk_ops.c
