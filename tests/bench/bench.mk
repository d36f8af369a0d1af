# Hypervisor benchmarks run under the emulators (host-side module benchmarks add theirs).
BENCHES += tests/bench/cpuid-exit

# The block layer at queue depth 1, 8, 32 vs block_rw_sync on a RAM disk, same run.
BLOCK_BENCH := $(BUILD)/bench/block-bench
BENCHES += $(BLOCK_BENCH)
$(BLOCK_BENCH): tests/bench/block_bench.c hv/storage/block.c hv/storage/block.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ tests/bench/block_bench.c hv/storage/block.c

tools: $(BLOCK_BENCH)

# Disk jobs (copy, convert) vs qemu-img convert on the same files; dedup bytes not written.
BENCHES += tests/bench/disk-jobs-bench
