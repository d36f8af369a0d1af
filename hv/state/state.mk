# hv/state: the portable state stream (STREAM.md) and declarative state descriptions.
STATE_SRCS := hv/state/state_stream.c hv/state/state_desc.c
# Host builds bring what the kernel links from elsewhere (crc32c.c comes with VHDX).
STATE_HOST_SRCS := $(STATE_SRCS) hv/lib/crc32c.c hv/lib/format.c

KERNEL_SRCS += $(STATE_SRCS)

UNIT_TESTS += test_state_stream test_state_desc
test_state_stream_SRCS := tests/unit/test_state_stream.c $(STATE_HOST_SRCS)
test_state_desc_SRCS   := tests/unit/test_state_desc.c $(STATE_HOST_SRCS)

# Hostile streams reach the reader, the field tables and the device restores behind them.
FUZZ_TARGETS += fuzz_state_stream
fuzz_state_stream_SRCS := tests/fuzz/fuzz_state_stream.c $(STATE_HOST_SRCS) \
	tests/unit/test_vdev_fake.c hv/vdev/pit8254.c hv/vdev/cmos_rtc.c hv/vdev/vdev_bus.c
