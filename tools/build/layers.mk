# `make check-layers`: includes and names point only down the layers (part of make test).
.PHONY: check-layers
TEST_STEPS += check-layers
check-layers:
	$(Q)tools/build/check-layers
