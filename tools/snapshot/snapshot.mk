# The snapshot host tool, built from the same module the hypervisor will use.
HOST_TOOLS += $(BUILD)/tools/snapshot

SNAPSHOT_TOOL_SRCS := tools/snapshot/snapshot_cli.c hv/snapshot/snap_file.c $(SNAPSHOT_SRCS) \
	hv/lib/crc32c.c hv/lib/format.c

$(BUILD)/tools/snapshot: $(SNAPSHOT_TOOL_SRCS) $(wildcard hv/snapshot/*.h)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ $(SNAPSHOT_TOOL_SRCS) -llz4
