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

# [MS-VHDX] conformance against qemu-img/qemu-io: their images read byte-exactly, ours and
# our writes pass qemu-img check and compare, a log qemu left replayed (skips without qemu-img).
TEST_STEPS += test-vhdx-conformance
.PHONY: test-vhdx-conformance
test-vhdx-conformance: $(BUILD)/tools/vhdx
	$(Q)tests/storage/vhdx-conformance $(BUILD)/tools/vhdx $(BUILD)/storage/conformance
