# VHDX module vs qemu-img bench (VHDX and qcow2), same filesystem, same run.
VHDX_BENCH := $(BUILD)/bench/vhdx-bench
BENCHES += $(BUILD)/bench/run-vhdx-bench

$(VHDX_BENCH): tests/bench/vhdx_bench.c tools/vhdx/vhdx_file.c $(VHDX_HOST_SRCS) $(VHDX_HEADERS) \
		tests/bench/bench_cli.h tests/bench/bench_dir.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) -o $@ tests/bench/vhdx_bench.c tools/vhdx/vhdx_file.c $(VHDX_HOST_SRCS)

# run-benches calls each entry with no arguments: a two-line wrapper supplies them.
$(BUILD)/bench/run-vhdx-bench: $(VHDX_BENCH) $(BUILD)/tools/vhdx
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nexec %s %s %s\n' "$(abspath $(VHDX_BENCH))" "$(abspath $(BUILD)/tools/vhdx)" "$(abspath $(BUILD)/bench/vhdx-work)" >$@
	$(Q)chmod +x $@

tools: $(BUILD)/bench/run-vhdx-bench
