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
