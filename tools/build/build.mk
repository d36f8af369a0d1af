# The build's own scripts: `make bench`'s table (tools/build/run-benches) tested with stand-in
# benchmarks.
TEST_STEPS += test-run-benches
.PHONY: test-run-benches
test-run-benches:
	$(Q)tools/build/test-run-benches $(BUILD)/bench-test
