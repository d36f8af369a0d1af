# The vGPU proxy: damage-tile composing vs full recompose, time-bank shares vs weights, and
# the engine's overlay shaders and whole composes vs pixman (host, same run).
VSP_BENCH := $(BUILD)/bench/vsp-bench
BENCHES += $(VSP_BENCH)
$(VSP_BENCH): tests/bench/vsp_bench.c tests/unit/vsp_cmdbuf.c tests/unit/vsp_host_lanes.c $(VSP_SRCS) $(wildcard guest/vsp/*.h) \
		tests/bench/bench_cli.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) $(shell pkg-config --cflags pixman-1) -o $@ \
		tests/bench/vsp_bench.c tests/unit/vsp_cmdbuf.c tests/unit/vsp_host_lanes.c $(VSP_SRCS) \
		$(shell pkg-config --libs pixman-1) -lpthread

tools: $(VSP_BENCH)
