# Live migration: the portable protocol (framing, page batches, the compression decision),
# host-tested; the kernel's source and target are hv/core/migrate_*.c.
MIGRATE_SRCS := hv/migrate/mig_proto.c hv/migrate/mig_choice.c hv/migrate/mig_converge.c \
	hv/migrate/mig_learn.c

UNIT_TESTS += test_mig_proto test_mig_choice test_mig_converge test_mig_failures \
	test_mig_vblk_reissue test_mig_groups test_mig_learn
test_mig_proto_SRCS := tests/unit/test_mig_proto.c tests/unit/snap_codec_state.c \
	hv/migrate/mig_proto.c hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c \
	hv/lib/crc32c.c hv/lib/format.c
test_mig_proto_LIBS := -llz4
test_mig_choice_SRCS := tests/unit/test_mig_choice.c hv/migrate/mig_choice.c
test_mig_converge_SRCS := tests/unit/test_mig_converge.c hv/migrate/mig_converge.c
# Round 0's learning passes: fitting, lending, settling.
test_mig_learn_SRCS := tests/unit/test_mig_learn.c hv/migrate/mig_learn.c hv/migrate/mig_converge.c
# Both halves of a migration over a fake link, every failure before the acknowledgement.
test_mig_failures_SRCS := tests/unit/test_mig_failures.c tests/unit/test_mig_host.c \
	hv/core/migrate_source.c hv/core/migrate_target.c hv/core/migrate_chan.c \
	hv/core/write_track.c $(MIGRATE_SRCS) hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c \
	hv/lib/crc32c.c hv/lib/format.c hv/lib/peer_slots.c
test_mig_failures_CFLAGS := -include tests/unit/test_mig_strlcpy.h
test_mig_failures_LIBS := -llz4
# Page groups per region: write tracking's per-region fault size driven by the rule.
test_mig_groups_SRCS := tests/unit/test_mig_groups.c hv/core/write_track.c hv/migrate/mig_converge.c
# virtio-blk requests in flight cancelled at stop-and-copy, started again after the move
# (`=`: VIRTIO_TEST_SRCS is defined in a later fragment, hv/vdev/virtio.mk).
test_mig_vblk_reissue_SRCS = tests/unit/test_mig_vblk_reissue.c $(VIRTIO_TEST_SRCS)

FUZZ_TARGETS += fuzz_mig_receive
fuzz_mig_receive_SRCS := tests/fuzz/fuzz_mig_receive.c hv/migrate/mig_proto.c \
	hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c hv/lib/crc32c.c hv/lib/format.c
fuzz_mig_receive_LIBS := -llz4
