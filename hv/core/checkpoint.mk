# The checkpoint round trip (hv/core/checkpoint.h): pause, capture, destroy, restore, resume.
KERNEL_SRCS += hv/core/partition_pause.c hv/core/checkpoint.c hv/core/checkpoint_stream.c

UNIT_TESTS += test_checkpoint_stream
# = not :=: VCPU_STATE_HOST_SRCS is set by hv/core/vcpu_state.mk, read after this file.
test_checkpoint_stream_SRCS = tests/unit/test_checkpoint_stream.c hv/core/checkpoint_stream.c \
	$(VCPU_STATE_HOST_SRCS)

FUZZ_TARGETS += fuzz_checkpoint_stream
fuzz_checkpoint_stream_SRCS = tests/fuzz/fuzz_checkpoint_stream.c hv/core/checkpoint_stream.c \
	$(VCPU_STATE_HOST_SRCS)
