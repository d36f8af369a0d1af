# The display and the virtual GPU's transport (docs/vgpu.md): the portable surface
# bookkeeping and argument checks are host-tested and fuzzed; display.c and vgpu.c add
# the locks, page tables and partitions.
KERNEL_SRCS += hv/core/vgpu_surfaces.c hv/core/vgpu_frame.c hv/core/vgpu.c hv/core/display.c hv/core/display_capture.c \
	hv/lib/png_write.c

UNIT_TESTS += test_vgpu_surfaces
test_vgpu_surfaces_SRCS := tests/unit/test_vgpu_surfaces.c hv/core/vgpu_surfaces.c

UNIT_TESTS += test_vgpu_frame
test_vgpu_frame_SRCS := tests/unit/test_vgpu_frame.c hv/core/vgpu_frame.c

FUZZ_TARGETS += fuzz_vgpu_surfaces
fuzz_vgpu_surfaces_SRCS := tests/fuzz/fuzz_vgpu_surfaces.c hv/core/vgpu_surfaces.c
