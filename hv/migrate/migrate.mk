# Live migration: the portable protocol (framing, page batches, the compression decision),
# host-tested; the kernel's source and target are hv/core/migrate_*.c.
MIGRATE_SRCS := hv/migrate/mig_proto.c hv/migrate/mig_choice.c

UNIT_TESTS += test_mig_proto test_mig_choice
test_mig_proto_SRCS := tests/unit/test_mig_proto.c tests/unit/snap_codec_state.c \
	hv/migrate/mig_proto.c hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c \
	hv/lib/crc32c.c hv/lib/format.c
test_mig_proto_LIBS := -llz4
test_mig_choice_SRCS := tests/unit/test_mig_choice.c hv/migrate/mig_choice.c

FUZZ_TARGETS += fuzz_mig_receive
fuzz_mig_receive_SRCS := tests/fuzz/fuzz_mig_receive.c hv/migrate/mig_proto.c \
	hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c hv/lib/crc32c.c hv/lib/format.c
fuzz_mig_receive_LIBS := -llz4
