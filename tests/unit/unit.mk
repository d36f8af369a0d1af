# Host unit tests of the portable modules (cmocka, ASan + UBSan); run by `make test-unit`.

UNIT_TESTS += test_bitmap
test_bitmap_SRCS := tests/unit/test_bitmap.c hv/lib/bitmap.c

UNIT_TESTS += test_frame_alloc
test_frame_alloc_SRCS := tests/unit/test_frame_alloc.c hv/mm/frame_alloc.c hv/lib/bitmap.c

UNIT_TESTS += test_scrub_queue
test_scrub_queue_SRCS := tests/unit/test_scrub_queue.c hv/mm/scrub_queue.c hv/mm/frame_alloc.c \
	hv/lib/bitmap.c

UNIT_TESTS += test_format
test_format_SRCS := tests/unit/test_format.c hv/lib/format.c
test_format_CFLAGS := -Wno-format

UNIT_TESTS += test_mb2_parse
test_mb2_parse_SRCS := tests/unit/test_mb2_parse.c boot/mb2/mb2_parse.c hv/lib/format.c

UNIT_TESTS += test_manifest
test_manifest_SRCS := tests/unit/test_manifest.c hv/core/config/manifest.c hv/lib/format.c

UNIT_TESTS += test_script
test_script_SRCS := tests/unit/test_script.c hv/core/config/script.c hv/storage/disk_op_request.c hv/core/config/manifest.c hv/lib/format.c

UNIT_TESTS += test_console_ring
test_console_ring_SRCS := tests/unit/test_console_ring.c hv/core/console_ring.c

UNIT_TESTS += test_write_track
test_write_track_SRCS := tests/unit/test_write_track.c hv/core/write_track.c

UNIT_TESTS += test_acpi_tables
test_acpi_tables_SRCS := tests/unit/test_acpi_tables.c drivers/acpi/acpi_tables.c hv/lib/format.c

UNIT_TESTS += test_end_verdict
test_end_verdict_SRCS := tests/unit/test_end_verdict.c hv/core/end_verdict.c hv/lib/format.c

UNIT_TESTS += test_cmdline
test_cmdline_SRCS := tests/unit/test_cmdline.c hv/lib/cmdline.c hv/core/config/boot_config.c hv/lib/format.c

UNIT_TESTS += test_guest_walk
test_guest_walk_SRCS := tests/unit/test_guest_walk.c tests/unit/guest_mem_flat.c hv/core/guest_walk.c

UNIT_TESTS += test_msr_policy
test_msr_policy_SRCS := tests/unit/test_msr_policy.c hv/core/exit/msr_policy.c hv/core/exit/cpuid_policy.c hv/core/exit/xcr0_policy.c

# hv/vmx/ept.c (and guest_mem.c's translation) with a fake frame allocator in place of
# hv/mm/kmem.h.
UNIT_TESTS += test_ept
test_ept_SRCS := tests/unit/test_ept.c tests/unit/fake_kmem.c hv/vmx/ept.c hv/core/guest_mem.c
test_ept_CFLAGS := -iquote tests/unit/fake_kmem

UNIT_TESTS += test_cpuid_policy
test_cpuid_policy_SRCS := tests/unit/test_cpuid_policy.c hv/core/exit/cpuid_policy.c hv/core/exit/xcr0_policy.c

# A listener's slots shared fairly between peer addresses (control, offload link, migration).
UNIT_TESTS += test_peer_slots
test_peer_slots_SRCS := tests/unit/test_peer_slots.c hv/lib/peer_slots.c
