# The MMIO and string-instruction emulator (hv/core/exit/mmio.c) with Zydis, built for the host.
MMIO_HOST_SRCS := hv/core/exit/mmio.c hv/core/exit/mmio_alu.c hv/core/exit/insn_decoder.c $(ZYDIS_SRCS)
MMIO_HOST_CFLAGS := -I$(ZYDIS_DIR)/include -I$(ZYDIS_DIR)/src -I$(TP_INC) -DZYDIS_STATIC_BUILD \
                    -DZYCORE_STATIC_BUILD -DZYDIS_DISABLE_ENCODER -DZYDIS_DISABLE_FORMATTER

UNIT_TESTS += test_mmio
test_mmio_SRCS := tests/unit/test_mmio.c $(MMIO_HOST_SRCS)
test_mmio_CFLAGS := $(MMIO_HOST_CFLAGS)
$(BUILD)/unit/test_mmio: hv/core/exit/mmio.h hv/core/exit/mmio_alu.h

FUZZ_TARGETS += fuzz_mmio
fuzz_mmio_SRCS := tests/fuzz/fuzz_mmio.c $(MMIO_HOST_SRCS)
fuzz_mmio_CFLAGS := $(MMIO_HOST_CFLAGS)

UNIT_TESTS += test_mmio_forms
test_mmio_forms_SRCS := tests/unit/test_mmio_forms.c $(MMIO_HOST_SRCS)
test_mmio_forms_CFLAGS := $(MMIO_HOST_CFLAGS)
$(BUILD)/unit/test_mmio_forms: hv/core/exit/mmio.h hv/core/exit/mmio_alu.h
