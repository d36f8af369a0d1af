# guest/vsp: the video service partition's graphics proxy, portable (VGPU.md).  The host
# tests, fuzz targets and bench are in tests/unit/vsp.mk, tests/fuzz/vsp.mk and
# tests/bench/vsp.mk; here the sources are also compiled freestanding, as the VSP guest
# will, so that nothing in them needs libc or the FPU.
VSP_SRCS := guest/vsp/vsp.c guest/vsp/vsp_context.c guest/vsp/vsp_cmd_parse.c \
	guest/vsp/vsp_shader.c guest/vsp/vsp_builtin.c guest/vsp/vsp_surface.c \
	guest/vsp/vsp_engine_cpu.c guest/vsp/vsp_engine_lanes.c guest/vsp/vsp_engine_avx2.c guest/vsp/vsp_compose.c guest/vsp/vsp_timebank.c \
	guest/vsp/vsp_err.c
VSP_GUEST_OBJS := $(patsubst %,$(GUEST_OUT)/obj/%.o,$(basename $(VSP_SRCS)))

.PHONY: vsp-freestanding
guests: vsp-freestanding
vsp-freestanding: $(VSP_GUEST_OBJS)
-include $(VSP_GUEST_OBJS:.o=.d)
