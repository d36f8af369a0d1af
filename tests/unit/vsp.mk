# The virtual GPU's portable proxy (guest/vsp, VSP_SRCS from guest/vsp/vsp.mk).
UNIT_TESTS += test_vsp_shader
test_vsp_shader_SRCS = tests/unit/test_vsp_shader.c $(VSP_SRCS)

UNIT_TESTS += test_vsp_proxy
test_vsp_proxy_SRCS = tests/unit/test_vsp_proxy.c tests/unit/vsp_cmdbuf.c $(VSP_SRCS)

UNIT_TESTS += test_vsp_timebank
test_vsp_timebank_SRCS = tests/unit/test_vsp_timebank.c tests/unit/vsp_cmdbuf.c $(VSP_SRCS)

# The compositor against pixman as an independent reference (within 1 per channel).
UNIT_TESTS += test_vsp_pixman
test_vsp_pixman_SRCS = tests/unit/test_vsp_pixman.c tests/unit/vsp_cmdbuf.c $(VSP_SRCS)
test_vsp_pixman_CFLAGS = $(shell pkg-config --cflags pixman-1)
test_vsp_pixman_LIBS = $(shell pkg-config --libs pixman-1)

# The engine's operations split across lanes (host threads) against one CPU.
UNIT_TESTS += test_vsp_lanes
test_vsp_lanes_SRCS = tests/unit/test_vsp_lanes.c tests/unit/vsp_host_lanes.c tests/unit/vsp_cmdbuf.c \
	$(VSP_SRCS)
test_vsp_lanes_LIBS = -lpthread
