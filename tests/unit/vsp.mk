# The virtual GPU's portable proxy (guest/vsp, VSP_SRCS from guest/vsp/vsp.mk).
UNIT_TESTS += test_vsp_shader
test_vsp_shader_SRCS = tests/unit/test_vsp_shader.c $(VSP_SRCS)
