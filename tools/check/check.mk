# atoll: the host-side checker (`atoll check MANIFEST`, `atoll check hardware`), built from
# the hypervisor's own portable manifest parser, script checker and image loaders.
HOST_TOOLS += $(BUILD)/tools/atoll

ATOLL_CHECK_SRCS := tools/check/main.c tools/check/check_manifest.c tools/check/check_hardware.c \
	hv/core/config/manifest.c hv/core/config/script.c hv/storage/disk_op_request.c hv/core/loader/loader_flat.c hv/core/loader/loader_multiboot.c \
	hv/core/loader/loader_elf64.c hv/core/loader/loader_linux.c hv/core/loader/bzimage.c hv/core/loader/loader_common.c hv/core/loader/loader_acpi.c \
	hv/core/loader/acpi_build.c \
	hv/lib/format.c

$(BUILD)/tools/atoll: $(ATOLL_CHECK_SRCS) tools/check/check.h hv/core/config/manifest.h hv/core/loader/loader.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(ATOLL_CHECK_SRCS)

TEST_STEPS += test-atoll-check
.PHONY: test-atoll-check
test-atoll-check: $(BUILD)/tools/atoll guests linux-guest
	$(Q)tools/check/test-atoll-check $(BUILD)/tools/atoll $(BUILD)/check-test
