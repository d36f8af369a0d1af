# Host-side VHDX interop and crash-consistency tests (qemu-img as the peer).
VHDX_CRASHWRITER := $(BUILD)/storage/vhdx-crashwriter

$(VHDX_CRASHWRITER): tests/storage/vhdx_crashwriter.c tools/vhdx/vhdx_file.c $(VHDX_HOST_SRCS) $(VHDX_HEADERS)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ tests/storage/vhdx_crashwriter.c tools/vhdx/vhdx_file.c $(VHDX_HOST_SRCS)

TEST_STEPS += test-vhdx-host
.PHONY: test-vhdx-host test-long-vhdx
test-vhdx-host: $(BUILD)/tools/vhdx $(VHDX_CRASHWRITER)
	$(Q)tests/storage/run-vhdx-host 210

# The same with five times the crash trials (make test-long).
test-long-vhdx: $(BUILD)/tools/vhdx $(VHDX_CRASHWRITER)
	$(Q)tests/storage/run-vhdx-host 1000
