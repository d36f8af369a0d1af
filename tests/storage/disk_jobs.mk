# Power-cut trials of the disk jobs through the vhdx tool (qemu-img as the judge).
TEST_STEPS += test-disk-jobs
.PHONY: test-disk-jobs
test-disk-jobs: $(BUILD)/tools/vhdx
	$(Q)tests/storage/run-disk-jobs 4

# `make test-long` cuts each job at more points.
.PHONY: test-disk-jobs-long
test-long: test-disk-jobs-long
test-disk-jobs-long: $(BUILD)/tools/vhdx
	$(Q)tests/storage/run-disk-jobs 14
