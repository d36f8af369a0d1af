# vgpu-render: the host reference for captured vGPU frames (tools/vgpu-render/vgpu_render.c),
# built from the proxy the VSP runs (VSP_SRCS, from guest/vsp/vsp.mk, read before this fragment), the
# guest's command-buffer builder and the hypervisor's PNG writer.
HOST_TOOLS += $(BUILD)/tools/vgpu-render

VGPU_RENDER_SRCS = tools/vgpu-render/vgpu_render.c tools/vgpu-render/png_read.c \
	tools/vgpu-render/pixman_replay.c guest/lib/vgpu_cmdbuf.c hv/lib/png_write.c $(VSP_SRCS)

$(BUILD)/tools/vgpu-render: $(VGPU_RENDER_SRCS) $(wildcard tools/vgpu-render/*.h guest/vsp/*.h) \
		guest/tests/vgpu_test_scene.h guest/tests/vgpu_test.h hv/lib/png_write.h
	@mkdir -p $(@D)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(HOST_TOOL_CFLAGS) $(shell pkg-config --cflags pixman-1) -o $@ \
		$(VGPU_RENDER_SRCS) $(shell pkg-config --libs pixman-1) -lz

TEST_STEPS += test-vgpu-render
.PHONY: test-vgpu-render
test-vgpu-render: $(BUILD)/tools/vgpu-render
	$(Q)tools/vgpu-render/test-vgpu-render $(BUILD)/tools/vgpu-render $(BUILD)/vgpu-render-test

# bochs-grub-vgpu compares its captured frame with this tool (tests/system/check-vgpu-frame).
test-system test-long: $(BUILD)/tools/vgpu-render
