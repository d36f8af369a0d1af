# A vCPU's architectural state in the stream (hv/core/vcpu_state.h) and the rules a state
# must pass before a backend restores it (vcpu_state_check.c).
KERNEL_SRCS += hv/core/vcpu_state_desc.c hv/core/vcpu_state_check.c hv/core/vcpu_state_roundtrip.c \
	hv/core/vcpu_state_core.c
# hv/state's and hv/core's sources by name: this fragment is read before hv/state/state.mk.
VCPU_STATE_HOST_SRCS = hv/core/vcpu_state_desc.c hv/core/vcpu_state_check.c \
	hv/core/exit/msr_policy.c hv/core/exit/xcr0_policy.c \
	hv/state/state_stream.c hv/state/state_desc.c hv/lib/crc32c.c hv/lib/format.c

UNIT_TESTS += test_vcpu_state test_vcpu_state_check
test_vcpu_state_SRCS = tests/unit/test_vcpu_state.c $(VCPU_STATE_HOST_SRCS)
test_vcpu_state_check_SRCS = tests/unit/test_vcpu_state_check.c $(VCPU_STATE_HOST_SRCS)

# Hostile VCPU sections reach the loader and every check a restore runs.
FUZZ_TARGETS += fuzz_vcpu_state
fuzz_vcpu_state_SRCS = tests/fuzz/fuzz_vcpu_state.c $(VCPU_STATE_HOST_SRCS)
