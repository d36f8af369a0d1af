# The vhdx host tool, built from the same module the hypervisor uses.
HOST_TOOLS += $(BUILD)/tools/vhdx

VHDX_TOOL_SRCS := tools/vhdx/vhdx_cli.c tools/vhdx/vhdx_file.c tools/vhdx/vhdx_jobs.c \
	tools/vhdx/vhdx_sha256.c $(VHDX_HOST_SRCS)

$(BUILD)/tools/vhdx: $(VHDX_TOOL_SRCS) $(VHDX_HEADERS) tools/vhdx/vhdx_file.h tools/vhdx/vhdx_jobs.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(VHDX_TOOL_SRCS) -lbearssl

# `vhdx check` on each damaged structure, --repair, exit statuses; `create` without --force.
TEST_STEPS += test-vhdx-check
.PHONY: test-vhdx-check
test-vhdx-check: $(BUILD)/tools/vhdx
	$(Q)tools/vhdx/test-vhdx-check $(BUILD)/tools/vhdx $(BUILD)/storage/check-test
