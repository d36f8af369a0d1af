# The portable PNG writer (hv/lib/png_write.c), decoded by the host's zlib.
UNIT_TESTS += test_png_write
test_png_write_SRCS = tests/unit/test_png_write.c hv/lib/png_write.c
test_png_write_LIBS = -lz
