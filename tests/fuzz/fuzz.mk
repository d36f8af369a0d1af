# libFuzzer targets for the parsers of untrusted input; seeds in tests/fuzz/corpus/NAME/.

FUZZ_TARGETS += fuzz_mb2
fuzz_mb2_SRCS := tests/fuzz/fuzz_mb2.c boot/mb2/mb2_parse.c hv/lib/format.c

FUZZ_TARGETS += fuzz_manifest
fuzz_manifest_SRCS := tests/fuzz/fuzz_manifest.c hv/core/config/manifest.c hv/lib/format.c

FUZZ_TARGETS += fuzz_script
fuzz_script_SRCS := tests/fuzz/fuzz_script.c hv/core/config/script.c hv/storage/disk_op_request.c hv/core/config/manifest.c hv/lib/format.c

FUZZ_TARGETS += fuzz_acpi
fuzz_acpi_SRCS := tests/fuzz/fuzz_acpi.c drivers/acpi/acpi_tables.c hv/lib/format.c

FUZZ_TARGETS += fuzz_guest_walk
fuzz_guest_walk_SRCS := tests/fuzz/fuzz_guest_walk.c tests/unit/guest_mem_flat.c hv/core/guest_walk.c

FUZZ_TARGETS += fuzz_ept
fuzz_ept_SRCS := tests/fuzz/fuzz_ept.c tests/unit/fake_kmem.c hv/vmx/ept.c hv/core/guest_mem.c
fuzz_ept_CFLAGS := -iquote tests/unit/fake_kmem

# Well-formed seeds for the migration receivers (tests/fuzz/gen_mig_seeds.c); the ones in
# the corpora came from it.  `make fuzz-seeds-mig` writes them again into the corpora.
.PHONY: fuzz-seeds-mig
fuzz-seeds-mig:
	@mkdir -p $(BUILD)/seedgen tests/fuzz/corpus/fuzz_mig_receive tests/fuzz/corpus/fuzz_storage_mig_proto
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $(BUILD)/seedgen/gen_mig_seeds tests/fuzz/gen_mig_seeds.c \
		hv/migrate/mig_proto.c hv/snapshot/snap_codec.c hv/storage/storage_mig_proto.c \
		hv/storage/storage_mig_remote.c hv/storage/storage_mig_chain.c hv/lib/crc32c.c \
		hv/lib/guid.c hv/lib/format.c -llz4
	$(Q)$(BUILD)/seedgen/gen_mig_seeds tests/fuzz/corpus/fuzz_mig_receive tests/fuzz/corpus/fuzz_storage_mig_proto
