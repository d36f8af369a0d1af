# The launcher (`make run`, tools/run/atoll-run) and its host tests: options, the exit
# status under QEMU and Bochs, and no emulator left behind by a killed launcher.
TEST_STEPS += test-atoll-run
.PHONY: test-atoll-run
test-atoll-run: $(BUILD)/atoll.elf guests
	$(Q)tools/run/test-atoll-run $(BUILD)/run-test
