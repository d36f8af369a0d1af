# Background storage migration: the portable protocol (hv/storage/storage_mig_proto.c),
# host-tested and fuzzed; the kernel's source and target are hv/core/storage_migrate_*.c
# (hv/core/storage_migrate.mk), the listener net/kernel/storage_mig_link.c.
STORAGE_MIG_SRCS := hv/storage/storage_mig_proto.c hv/storage/storage_mig_remote.c \
	hv/storage/storage_mig_chain.c hv/storage/storage_mig_handover.c \
	hv/storage/storage_mig_resume.c
KERNEL_SRCS += $(STORAGE_MIG_SRCS)

UNIT_TESTS += test_storage_mig_proto
test_storage_mig_proto_SRCS := tests/unit/test_storage_mig_proto.c $(STORAGE_MIG_SRCS) \
	hv/lib/crc32c.c hv/lib/guid.c hv/lib/format.c

# A differencing chain's parents: the target's decision, PARENTS and PFILE, their order.
UNIT_TESTS += test_storage_mig_chain
test_storage_mig_chain_SRCS := tests/unit/test_storage_mig_chain.c hv/storage/storage_mig_chain.c \
	hv/lib/guid.c hv/lib/format.c

# The "after" mode's unit map against a model of the disk.
UNIT_TESTS += test_storage_mig_remote
test_storage_mig_remote_SRCS := tests/unit/test_storage_mig_remote.c hv/storage/storage_mig_remote.c

FUZZ_TARGETS += fuzz_storage_mig_proto
fuzz_storage_mig_proto_SRCS := tests/fuzz/fuzz_storage_mig_proto.c $(STORAGE_MIG_SRCS) \
	hv/lib/crc32c.c hv/lib/guid.c hv/lib/format.c

# The after mode's unit map under any sequence of operations (a hostile source names any unit).
FUZZ_TARGETS += fuzz_storage_mig_remote
fuzz_storage_mig_remote_SRCS := tests/fuzz/fuzz_storage_mig_remote.c hv/storage/storage_mig_remote.c

# Both kernel halves in one process over an in-memory pipe, the target's pool a FAT32 image
# (recursive: VHDX_HOST_SRCS comes from vhdx.mk, read later).
UNIT_TESTS += test_storage_migrate
test_storage_migrate_SRCS = tests/unit/test_storage_migrate.c tests/unit/test_block_mem.c \
	tests/unit/pool_parent_env.c \
	hv/core/storage_migrate_source.c hv/core/storage_migrate_target.c \
	hv/core/storage_migrate_parents.c \
	hv/core/storage_migrate_chan.c hv/storage/rate_limit.c $(STORAGE_MIG_SRCS) \
	$(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_HOST_SRCS) hv/lib/peer_slots.c

# `make bench`: bytes on the wire moving a differencing child whose parent the target holds
# against the same child with its parent sent whole (the chain), same run, by the kernel's
# halves in one process (test_storage_migrate's chain tests, SMIG_CHAIN_BENCH=1).
BENCHES += $(BUILD)/bench/run-storage-chain-bench
$(BUILD)/bench/run-storage-chain-bench: $(BUILD)/unit/test_storage_migrate
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nSMIG_CHAIN_BENCH=1 %s 2>/dev/null | grep -E "^ ?smig "\n' "$(abspath $(BUILD)/unit/test_storage_migrate)" >$@
	$(Q)chmod +x $@

bench: $(BUILD)/bench/run-storage-chain-bench

# Liveness and resume: KEEPALIVE, the identity, HELD, the resume's decision, the record.
UNIT_TESTS += test_storage_mig_resume
test_storage_mig_resume_SRCS := tests/unit/test_storage_mig_resume.c $(STORAGE_MIG_SRCS) \
	hv/lib/crc32c.c hv/lib/guid.c hv/lib/format.c
