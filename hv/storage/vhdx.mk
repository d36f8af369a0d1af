# VHDX virtual disks: the portable module, its unit tests and its fuzz target.
VHDX_CORE_SRCS := hv/storage/vhdx_util.c hv/storage/vhdx_header.c hv/storage/vhdx_metadata.c \
	hv/storage/vhdx_log.c hv/storage/vhdx_bat.c hv/storage/vhdx_data.c hv/storage/vhdx_open.c \
	hv/storage/vhdx_create.c hv/storage/vhdx_check.c hv/storage/vhdx_merge.c \
	hv/storage/vhdx_parent_path.c hv/storage/vhdx_utf16.c \
	hv/lib/crc32c.c hv/lib/guid.c
VHDX_HEADERS   := $(wildcard hv/storage/vhdx*.h) hv/lib/crc32c.h hv/lib/guid.h hv/lib/format.h
# Host builds bring the formatter the module prints its errors with.
VHDX_HOST_SRCS := $(VHDX_CORE_SRCS) hv/lib/format.c

KERNEL_SRCS += $(VHDX_CORE_SRCS)

UNIT_TESTS += test_crc32c test_vhdx test_vhdx_parent_path
test_crc32c_SRCS := tests/unit/test_crc32c.c hv/lib/crc32c.c hv/lib/guid.c
test_vhdx_parent_path_SRCS := tests/unit/test_vhdx_parent_path.c hv/storage/vhdx_parent_path.c
test_vhdx_SRCS   := tests/unit/test_vhdx.c tests/unit/test_vhdx_mem_io.c $(VHDX_HOST_SRCS)

FUZZ_TARGETS += fuzz_vhdx_open
fuzz_vhdx_open_SRCS := tests/fuzz/fuzz_vhdx_open.c tests/unit/test_vhdx_mem_io.c $(VHDX_HOST_SRCS)

FUZZ_TARGETS += fuzz_vhdx_parent_path
fuzz_vhdx_parent_path_SRCS := tests/fuzz/fuzz_vhdx_parent_path.c hv/storage/vhdx_parent_path.c

# [MS-VHDX] rules on images crafted byte by byte, and the order the module writes in.
UNIT_TESTS += test_vhdx_spec
test_vhdx_spec_SRCS := tests/unit/test_vhdx_spec.c tests/unit/test_vhdx_mem_io.c $(VHDX_HOST_SRCS)
