# Hypervisor benchmarks run under the emulators (host-side module benchmarks add theirs).
BENCHES += tests/bench/cpuid-exit

# The block layer at queue depth 1, 8, 32 vs block_rw_sync on a RAM disk, same run.
BLOCK_BENCH := $(BUILD)/bench/block-bench
BENCHES += $(BLOCK_BENCH)
$(BLOCK_BENCH): tests/bench/block_bench.c hv/storage/block.c hv/storage/block.h tests/bench/bench_cli.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ tests/bench/block_bench.c hv/storage/block.c

tools: $(BLOCK_BENCH)

# Disk jobs (copy, convert) vs qemu-img convert on the same files; dedup bytes not written.
BENCHES += tests/bench/disk-jobs-bench

# Live migration (issue 13): write faults with per-region page groups vs per-page
# protection, and the per-batch compression choice vs raw and always-LZ4, same data, same run.
MIG_BENCH := $(BUILD)/bench/mig-bench
MIG_BENCH_SRCS = tests/bench/mig_bench.c hv/core/write_track.c $(MIGRATE_SRCS) \
	hv/snapshot/snap_codec.c hv/snapshot/snap_policy.c hv/lib/crc32c.c hv/lib/format.c
BENCHES += $(BUILD)/bench/run-mig-bench
$(MIG_BENCH): $(MIG_BENCH_SRCS) tests/bench/bench_cli.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(MIG_BENCH_SRCS) -llz4

# run-benches calls each entry with no arguments: the binary image is the kernel and a guest.
$(BUILD)/bench/run-mig-bench: $(MIG_BENCH) $(BUILD)/atoll.elf
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nexec %s %s %s\n' "$(abspath $(MIG_BENCH))" "$(abspath $(BUILD)/atoll.elf)" "$(abspath $(GUEST_OUT)/tests/migrate_records.elf)" >$@
	$(Q)chmod +x $@

tools: $(BUILD)/bench/run-mig-bench

# Guest request latency while a merge runs (idle, unthrottled, throttled): the kernel's
# block queue, merge job and token bucket on host files, a simulated guest stream.
DISK_MERGE_BENCH := $(BUILD)/bench/disk-merge-bench
DISK_MERGE_BENCH_SRCS = tests/bench/disk_merge_bench.c tools/vhdx/vhdx_file.c \
	hv/storage/block.c hv/storage/rate_limit.c $(VHDX_HOST_SRCS)
BENCHES += $(BUILD)/bench/run-disk-merge-bench
$(DISK_MERGE_BENCH): $(DISK_MERGE_BENCH_SRCS) $(VHDX_HEADERS) tests/bench/bench_cli.h tests/bench/bench_dir.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(DISK_MERGE_BENCH_SRCS) -lbearssl

$(BUILD)/bench/run-disk-merge-bench: $(DISK_MERGE_BENCH)
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\n# tmpfs: the figures are the queue and the job, not a disk\nd=/dev/shm; [ -d $$d ] || d=%s\nexec %s $$d/atoll-disk-merge-work "$$@"\n' "$(abspath $(BUILD)/bench)" "$(abspath $(DISK_MERGE_BENCH))" >$@
	$(Q)chmod +x $@

tools: $(BUILD)/bench/run-disk-merge-bench

# De-duplication on a pool of similar disks: MiB a move sends with the pool's index.
DEDUP_POOL_BENCH := $(BUILD)/bench/dedup-pool-bench
DEDUP_POOL_BENCH_SRCS = tests/bench/dedup_pool_bench.c tools/vhdx/vhdx_file.c $(VHDX_HOST_SRCS)
BENCHES += $(BUILD)/bench/run-dedup-pool-bench
$(DEDUP_POOL_BENCH): $(DEDUP_POOL_BENCH_SRCS) $(VHDX_HEADERS) tests/bench/bench_cli.h tests/bench/bench_dir.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(DEDUP_POOL_BENCH_SRCS) -lbearssl

$(BUILD)/bench/run-dedup-pool-bench: $(DEDUP_POOL_BENCH)
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nd=/dev/shm; [ -d $$d ] || d=%s\nexec %s $$d/atoll-dedup-pool-work\n' "$(abspath $(BUILD)/bench)" "$(abspath $(DEDUP_POOL_BENCH))" >$@
	$(Q)chmod +x $@

tools: $(BUILD)/bench/run-dedup-pool-bench

# The command lines of the benches above, of the others' binaries and scripts and of the
# small host tools (--help, --version, an unknown option), and dedup-pool-bench's WORKDIR
# removed without a shell: a few seconds (tests/bench/test-bench-cli).
BENCH_CLI_PROGRAMS = $(addprefix $(BUILD)/bench/,block-bench dedup-pool-bench disk-merge-bench \
	mig-bench offload-bench snapshot-bench vhdx-bench vsp-bench) \
	$(BUILD)/tools/vgpu-render $(BUILD)/tools/atoll-control-hostd
BENCH_CLI_SCRIPTS = $(addprefix tests/bench/,offload-bench offload-hosts-bench disk-jobs-bench \
	qemu-debian-ram snapshot-policy-sim cpuid-exit)
TEST_STEPS += test-bench-cli
.PHONY: test-bench-cli
test-bench-cli: $(BENCH_CLI_PROGRAMS) tests/bench/test-bench-cli
	$(Q)tests/bench/test-bench-cli $(BUILD)/bench-cli-test $(ATOLL_VERSION) $(BENCH_CLI_PROGRAMS) \
		$(BENCH_CLI_SCRIPTS)
