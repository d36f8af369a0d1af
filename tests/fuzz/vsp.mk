# The virtual GPU's parsers of client input: command buffers and pixel shaders.
FUZZ_TARGETS += fuzz_vsp_cmd
fuzz_vsp_cmd_SRCS = tests/fuzz/fuzz_vsp_cmd.c $(VSP_SRCS)

FUZZ_TARGETS += fuzz_vsp_shader
fuzz_vsp_shader_SRCS = tests/fuzz/fuzz_vsp_shader.c $(VSP_SRCS)
