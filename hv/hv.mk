# The hypervisor core: bring-up, memory, console, VT-x.  Subsystems with their own
# fragments (hv/vdev, hv/storage, ...) add their files to KERNEL_SRCS themselves.
KERNEL_SRCS += \
	boot/mb2/mb2_entry.S boot/mb2/mb2_parse.c \
	hv/arch/x86/boot_entry.S hv/arch/x86/isr.S hv/arch/x86/ap_trampoline.S \
	hv/arch/x86/idt.c hv/arch/x86/exception.c hv/arch/x86/percpu.c hv/arch/x86/paging.c \
	hv/arch/x86/lapic.c hv/arch/x86/tsc.c hv/arch/x86/smp.c hv/arch/x86/machine.c \
	hv/arch/x86/platform.c \
	hv/mm/frame_alloc.c hv/mm/kmem.c hv/mm/scrub_queue.c \
	hv/lib/string.c hv/lib/format.c hv/lib/bitmap.c hv/lib/log_ring.c hv/lib/cmdline.c \
	hv/lib/peer_slots.c \
	hv/core/main.c hv/arch/x86/console.c hv/core/config/boot_config.c hv/core/run.c \
	drivers/acpi/acpi_tables.c \
	 \
	hv/vmx/vmx_caps.c \
	drivers/uart/uart8250.c drivers/uart/serial_queue.c
