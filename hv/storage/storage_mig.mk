# Background storage migration: the portable protocol (hv/storage/storage_mig_proto.c),
# host-tested and fuzzed; the kernel's source and target are hv/core/storage_migrate_*.c
# (hv/core/storage_migrate.mk), the listener net/kernel/storage_mig_link.c.
STORAGE_MIG_SRCS := hv/storage/storage_mig_proto.c
KERNEL_SRCS += $(STORAGE_MIG_SRCS)

UNIT_TESTS += test_storage_mig_proto
test_storage_mig_proto_SRCS := tests/unit/test_storage_mig_proto.c $(STORAGE_MIG_SRCS) \
	hv/lib/crc32c.c hv/lib/guid.c hv/lib/format.c

FUZZ_TARGETS += fuzz_storage_mig_proto
fuzz_storage_mig_proto_SRCS := tests/fuzz/fuzz_storage_mig_proto.c $(STORAGE_MIG_SRCS) \
	hv/lib/crc32c.c hv/lib/guid.c hv/lib/format.c
