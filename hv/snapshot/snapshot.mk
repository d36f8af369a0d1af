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
$(SNAPSHOT_BENCH): tests/bench/snapshot_bench.c $(SNAPSHOT_SRCS) $(wildcard hv/snapshot/*.h) \
		tests/bench/bench_cli.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -pthread -o $@ tests/bench/snapshot_bench.c $(SNAPSHOT_SRCS) -llz4

# The image's per-block costs at every level, for the policy's simulation
# (tests/bench/snapshot-policy-sim POLICY_C COSTS_CSV; not part of make bench).
$(BUILD)/bench/snapshot-costs: tests/bench/snapshot_costs.c $(SNAPSHOT_SRCS) $(wildcard hv/snapshot/*.h)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ tests/bench/snapshot_costs.c $(SNAPSHOT_SRCS) -llz4

# Real memory for the bench: the RAM of Debian's kernel at its shell, writing files, from
# the snapshot the scenario bochs-grub-snapshot-linux-disk keeps (build/bench/debian-linux.snp,
# tests/snapshot/check-linux-snapshot).  When that snapshot is missing the rule runs the
# scenario once: Bochs boots Debian's kernel, 30 to 60 minutes on 2 shared cores.  If it
# cannot be made, debian-ram.failed says so and later runs do not try again (remove it to
# retry); the bench then says in one line that it measures the random image only.
DEBIAN_SNAPSHOT := $(BUILD)/bench/debian-linux.snp
DEBIAN_RAM := $(BUILD)/bench/debian-ram.img
$(DEBIAN_RAM): $(wildcard $(DEBIAN_SNAPSHOT)) | all $(BUILD)/tools/snapshot
	@mkdir -p $(@D)
	$(Q)if [ ! -s $(DEBIAN_SNAPSHOT) ] && [ ! -e $(BUILD)/bench/debian-ram.failed ]; then \
	    echo "  SCENARIO bochs-grub-snapshot-linux-disk (no $(DEBIAN_SNAPSHOT) yet: 30-60 minutes)"; \
	    tests/system/run -j1 bochs-grub-snapshot-linux-disk >$(BUILD)/bench/debian-snapshot.log 2>&1 || \
	        { tail -3 $(BUILD)/bench/debian-snapshot.log; touch $(BUILD)/bench/debian-ram.failed; }; \
	fi
	$(Q)if [ -s $(DEBIAN_SNAPSHOT) ]; then \
	    $(BUILD)/tools/snapshot extract $(DEBIAN_SNAPSHOT) $@.tmp && mv $@.tmp $@; \
	else echo "  no Debian RAM image: the snapshot bench measures the random image only"; fi

BENCHES += $(BUILD)/bench/run-snapshot-bench
$(BUILD)/bench/run-snapshot-bench: $(SNAPSHOT_BENCH) $(DEBIAN_RAM)
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nexec %s --csv %s %s\n' "$(abspath $(SNAPSHOT_BENCH))" "$(abspath $(BUILD)/bench/snapshot.csv)" "$(abspath $(DEBIAN_RAM))" >$@
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

# The live snapshot's pass rule.
UNIT_TESTS += test_snap_passes
test_snap_passes_SRCS += tests/unit/test_snap_passes.c hv/snapshot/snap_passes.c

# A lazy restore's block bookkeeping and the CRC-32C of RAM from its blocks.
UNIT_TESTS += test_snap_lazy
test_snap_lazy_SRCS += tests/unit/test_snap_lazy.c hv/snapshot/snap_lazy.c hv/lib/crc32c.c

# The lazy restore's reading of a real file: fault-then-RAM order, bit-exact, damage met late.
UNIT_TESTS += test_snap_lazy_file
test_snap_lazy_file_SRCS += tests/unit/test_snap_lazy_file.c tests/unit/snap_codec_state.c \
	hv/snapshot/snap_lazy.c hv/snapshot/snap_file.c $(SNAPSHOT_SRCS) hv/lib/crc32c.c \
	hv/lib/format.c
test_snap_lazy_file_LIBS += -llz4
