# The vendor-neutral exit layer: exit records decided in the core (portable, host-tested),
# and the event each entry injects.
KERNEL_SRCS += hv/core/exit/exit_cr.c hv/core/exit/exit_event.c hv/core/exit/exit_handlers.c \
	hv/core/exit/exit_hlt.c hv/core/exit/exit_io.c hv/core/exit/exit_mmio.c hv/core/exit/exit_msr.c \
	hv/core/exit/exit_vcpu.c hv/core/exit/exit_vmcall.c hv/core/exit/exit_exception.c \
	hv/core/exit/exit_lifecycle.c hv/core/exit/exit_instruction.c

EXIT_HOST_SRCS = hv/core/exit/exit_cr.c hv/core/exit/exit_handlers.c hv/core/exit/exit_hlt.c \
	hv/core/exit/exit_io.c hv/core/exit/exit_mmio.c hv/core/exit/exit_msr.c hv/core/exit/xcr0_policy.c \
	hv/core/exit/exit_vmcall.c hv/core/exit/exit_exception.c hv/core/exit/exit_lifecycle.c \
	hv/core/exit/exit_instruction.c hv/lib/format.c

UNIT_TESTS += test_exit_cr
test_exit_cr_SRCS = tests/unit/test_exit_cr.c $(EXIT_HOST_SRCS)

UNIT_TESTS += test_exit_handlers
test_exit_handlers_SRCS = tests/unit/test_exit_handlers.c $(EXIT_HOST_SRCS)

UNIT_TESTS += test_exit_event
test_exit_event_SRCS = tests/unit/test_exit_event.c hv/core/exit/exit_event.c

FUZZ_TARGETS += fuzz_exit
fuzz_exit_SRCS = tests/fuzz/fuzz_exit.c $(EXIT_HOST_SRCS) hv/core/exit/exit_event.c

UNIT_TESTS += test_exit_guest_events
test_exit_guest_events_SRCS = tests/unit/test_exit_guest_events.c $(EXIT_HOST_SRCS)

# The MMIO emulator's arithmetic (with mmio.c in core.mk).
KERNEL_SRCS += hv/core/exit/mmio_alu.c
