# Power-cut trials of the disk jobs through the vhdx tool (qemu-img as the judge).
TEST_STEPS += test-disk-jobs
.PHONY: test-disk-jobs
test-disk-jobs: $(BUILD)/tools/vhdx
	$(Q)tests/storage/run-disk-jobs 8
