# RAM snapshots: the portable pipeline (policy, codec, scanner and workers), host-tested.
SNAPSHOT_SRCS := hv/snapshot/snap_policy.c hv/snapshot/snap_codec.c hv/snapshot/snap_pipeline.c

UNIT_TESTS += test_snap_policy test_snap_codec
test_snap_policy_SRCS := tests/unit/test_snap_policy.c hv/snapshot/snap_policy.c
test_snap_codec_SRCS := tests/unit/test_snap_codec.c tests/unit/snap_codec_state.c $(SNAPSHOT_SRCS)
test_snap_codec_LIBS := -llz4

FUZZ_TARGETS += fuzz_snap_decode
fuzz_snap_decode_SRCS := tests/fuzz/fuzz_snap_decode.c hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c
fuzz_snap_decode_LIBS := -llz4

# The pipeline against fixed levels on a simulated disk (make bench).
SNAPSHOT_BENCH := $(BUILD)/bench/snapshot-bench
$(SNAPSHOT_BENCH): tests/bench/snapshot_bench.c $(SNAPSHOT_SRCS) $(wildcard hv/snapshot/*.h)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -pthread -o $@ tests/bench/snapshot_bench.c $(SNAPSHOT_SRCS) -llz4

BENCHES += $(BUILD)/bench/run-snapshot-bench
$(BUILD)/bench/run-snapshot-bench: $(SNAPSHOT_BENCH) $(BUILD)/guest/linux/vmlinux
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nexec %s --csv %s %s %s\n' "$(abspath $(SNAPSHOT_BENCH))" "$(abspath $(BUILD)/bench/snapshot.csv)" "$(abspath $(BUILD)/guest/linux/vmlinux)" "$(abspath $(BUILD)/guest/linux/initrd.gz)" >$@
	$(Q)chmod +x $@

bench: $(BUILD)/bench/run-snapshot-bench

UNIT_TESTS += test_snap_file
test_snap_file_SRCS := tests/unit/test_snap_file.c tests/unit/snap_codec_state.c \
	hv/snapshot/snap_file.c $(SNAPSHOT_SRCS) hv/lib/crc32c.c hv/lib/format.c
test_snap_file_LIBS := -llz4

FUZZ_TARGETS += fuzz_snap_file
fuzz_snap_file_SRCS := tests/fuzz/fuzz_snap_file.c hv/snapshot/snap_file.c $(SNAPSHOT_SRCS) \
	hv/lib/crc32c.c hv/lib/format.c
fuzz_snap_file_LIBS := -llz4

# A worker against a scripted sink: what the policy is shown and taught, counters, failure.
UNIT_TESTS += test_snap_pipeline
test_snap_pipeline_SRCS += tests/unit/test_snap_pipeline.c tests/unit/snap_codec_state.c \
	$(SNAPSHOT_SRCS)
test_snap_pipeline_LIBS += -llz4

# A lazy restore's block bookkeeping and the CRC-32C of RAM from its blocks.
UNIT_TESTS += test_snap_lazy
test_snap_lazy_SRCS += tests/unit/test_snap_lazy.c hv/snapshot/snap_lazy.c hv/lib/crc32c.c

# The lazy restore's reading of a real file: fault-then-RAM order, bit-exact, damage met late.
UNIT_TESTS += test_snap_lazy_file
test_snap_lazy_file_SRCS += tests/unit/test_snap_lazy_file.c tests/unit/snap_codec_state.c \
	hv/snapshot/snap_lazy.c hv/snapshot/snap_file.c $(SNAPSHOT_SRCS) hv/lib/crc32c.c \
	hv/lib/format.c
test_snap_lazy_file_LIBS += -llz4
