# Channels and the hypercalls' argument checks: the portable bookkeeping is host-tested
# and fuzzed; channel.c and hypercall.c (in core.mk) add the locks, page tables and doorbells.
KERNEL_SRCS += hv/core/channel_grants.c hv/core/hypercall_args.c

UNIT_TESTS += test_channel_grants
test_channel_grants_SRCS := tests/unit/test_channel_grants.c hv/core/channel_grants.c

UNIT_TESTS += test_hypercall_args
test_hypercall_args_SRCS := tests/unit/test_hypercall_args.c hv/core/hypercall_args.c \
	hv/core/channel_grants.c hv/core/vgpu_surfaces.c

FUZZ_TARGETS += fuzz_hypercall
fuzz_hypercall_SRCS := tests/fuzz/fuzz_hypercall.c hv/core/hypercall_args.c hv/core/channel_grants.c \
	hv/core/vgpu_surfaces.c

UNIT_TESTS += test_channel
test_channel_SRCS := tests/unit/test_channel.c hv/core/channel.c hv/core/channel_grants.c
test_channel_CFLAGS := -iquote tests/unit/channel_fakes
