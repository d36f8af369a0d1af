# Storage below VHDX: the block layer, GPT, the FAT32 pool, the ATA and NVMe drivers and
# the kernel's storage service; their unit tests, fuzz targets and host interop checks.
# (PCI config access comes from drivers/pci/pci.c, which the network fragment links.)

BLOCK_SRCS := hv/storage/block.c
GPT_SRCS   := hv/storage/gpt.c hv/lib/guid.c
FAT32_SRCS := hv/storage/fat32.c hv/storage/fat32_dir.c hv/storage/fat32_file.c \
	hv/storage/fat32_ops.c hv/storage/pool_write_observer.c hv/storage/pool_vhdx_io.c

KERNEL_SRCS += $(BLOCK_SRCS) hv/storage/gpt.c $(FAT32_SRCS) \
	$(wildcard drivers/ata/ata.c drivers/ata/ata_bmdma.c drivers/nvme/nvme.c hv/storage/pool_service.c \
	hv/storage/pool_selftest.c hv/storage/pool_vhdx.c)

UNIT_TESTS += $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_block.c tests/unit/test_gpt.c)) test_fat32
test_block_SRCS := tests/unit/test_block.c $(BLOCK_SRCS)
test_gpt_SRCS   := tests/unit/test_gpt.c tests/unit/test_block_mem.c $(GPT_SRCS) $(BLOCK_SRCS) \
	hv/lib/format.c
test_fat32_SRCS := tests/unit/test_fat32.c tests/unit/test_block_mem.c $(FAT32_SRCS) \
	$(BLOCK_SRCS) hv/lib/format.c

FUZZ_TARGETS += $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_gpt.c tests/fuzz/fuzz_fat32.c))
fuzz_gpt_SRCS   := tests/fuzz/fuzz_gpt.c tests/unit/test_block_mem.c $(GPT_SRCS) $(BLOCK_SRCS) \
	hv/lib/format.c
fuzz_fat32_SRCS := tests/fuzz/fuzz_fat32.c tests/unit/test_block_mem.c $(FAT32_SRCS) \
	$(BLOCK_SRCS) hv/lib/format.c

# Host interop: our FAT32 code writes an image, fsck.fat and mtools judge it.
POOL_TOOL := $(BUILD)/storage/pool-tool
HOST_TOOLS += $(if $(wildcard tests/storage/pool-tool.c),$(POOL_TOOL))
$(POOL_TOOL): tests/storage/pool-tool.c tests/unit/test_block_mem.c $(FAT32_SRCS) $(GPT_SRCS) \
		$(BLOCK_SRCS) hv/lib/format.c $(wildcard hv/storage/fat32*.h hv/storage/gpt.h hv/storage/block.h)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ tests/storage/pool-tool.c tests/unit/test_block_mem.c \
		$(FAT32_SRCS) $(GPT_SRCS) $(BLOCK_SRCS) hv/lib/format.c

TEST_STEPS += $(if $(wildcard tests/storage/pool-interop),test-pool-host)
.PHONY: test-pool-host
test-pool-host: $(POOL_TOOL)
	$(Q)tests/storage/pool-interop $(POOL_TOOL) $(BUILD)/storage/pool-interop

# Per-disk and per-job I/O limits (token buckets).
KERNEL_SRCS += hv/storage/rate_limit.c
UNIT_TESTS += test_rate_limit
test_rate_limit_SRCS := tests/unit/test_rate_limit.c hv/storage/rate_limit.c

# Queued transfers to pool files: the offset -> LBA mapping (FAT chains, VHDX BATs) and
# the block requests it becomes.
POOL_IO_SRCS := hv/storage/pool_io.c hv/storage/vhdx_map.c
KERNEL_SRCS += $(POOL_IO_SRCS)
UNIT_TESTS += test_pool_io
test_pool_io_SRCS = tests/unit/test_pool_io.c tests/unit/test_block_mem.c $(POOL_IO_SRCS) \
	$(FAT32_SRCS) $(BLOCK_SRCS) $(VHDX_HOST_SRCS)

# Observers of writes to pool files and disks (the offload provider's invalidation); in
# FAT32_SRCS, since fat_open(TRUNC), fat_unlink and fat_rename tell them.
UNIT_TESTS += test_pool_write_observer
test_pool_write_observer_SRCS = tests/unit/test_pool_write_observer.c tests/unit/test_block_mem.c \
	$(FAT32_SRCS) $(BLOCK_SRCS) hv/lib/format.c
