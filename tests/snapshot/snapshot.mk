# The snapshot host tool on real files (make test).
TEST_STEPS += test-snapshot-tool
.PHONY: test-snapshot-tool
test-snapshot-tool: $(BUILD)/tools/snapshot $(BUILD)/guest/linux/vmlinux
	$(Q)tests/snapshot/run-tool-tests
