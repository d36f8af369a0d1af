# A vCPU's architectural state in the stream (hv/core/vcpu_state.h).
KERNEL_SRCS += hv/core/vcpu_state_desc.c
UNIT_TESTS += test_vcpu_state
test_vcpu_state_SRCS := tests/unit/test_vcpu_state.c hv/core/vcpu_state_desc.c hv/state/state_stream.c \
	hv/state/state_desc.c hv/lib/crc32c.c hv/lib/format.c
