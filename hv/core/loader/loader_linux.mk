# Linux guests: the bzImage / PVH loader, the bzImage header parser and the ACPI table
# builder every loader uses (portable), their unit tests and fuzz targets.
KERNEL_SRCS += hv/core/loader/loader_linux.c hv/core/loader/bzimage.c hv/core/loader/acpi_build.c

UNIT_TESTS += test_acpi_build
test_acpi_build_SRCS := tests/unit/test_acpi_build.c hv/core/loader/acpi_build.c \
	drivers/acpi/acpi_tables.c hv/lib/format.c

LOADER_LINUX_SRCS := hv/core/loader/loader_linux.c hv/core/loader/bzimage.c \
	hv/core/loader/loader_common.c hv/core/loader/loader_acpi.c hv/core/loader/acpi_build.c hv/lib/format.c

UNIT_TESTS += test_loader_linux
test_loader_linux_SRCS := tests/unit/test_loader_linux.c $(LOADER_LINUX_SRCS)

FUZZ_TARGETS += fuzz_loader_linux
fuzz_loader_linux_SRCS := tests/fuzz/fuzz_loader_linux.c $(LOADER_LINUX_SRCS)

FUZZ_TARGETS += fuzz_bzimage
fuzz_bzimage_SRCS := tests/fuzz/fuzz_bzimage.c hv/core/loader/bzimage.c hv/lib/format.c
