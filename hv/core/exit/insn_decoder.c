#include "hv/core/exit/insn_decoder.h"

bool insn_decoder_init(ZydisDecoder *dec, enum mmio_cpu_mode mode)
{
    static const ZydisMachineMode modes[] = {
        [MMIO_MODE_REAL16] = ZYDIS_MACHINE_MODE_REAL_16,
        [MMIO_MODE_PROT16] = ZYDIS_MACHINE_MODE_LEGACY_16,
        [MMIO_MODE_PROT32] = ZYDIS_MACHINE_MODE_LEGACY_32,
        [MMIO_MODE_COMPAT16] = ZYDIS_MACHINE_MODE_LONG_COMPAT_16,
        [MMIO_MODE_COMPAT32] = ZYDIS_MACHINE_MODE_LONG_COMPAT_32,
        [MMIO_MODE_LONG64] = ZYDIS_MACHINE_MODE_LONG_64,
    };
    static const ZydisStackWidth widths[] = {
        [MMIO_MODE_REAL16] = ZYDIS_STACK_WIDTH_16, [MMIO_MODE_PROT16] = ZYDIS_STACK_WIDTH_16,
        [MMIO_MODE_PROT32] = ZYDIS_STACK_WIDTH_32, [MMIO_MODE_COMPAT16] = ZYDIS_STACK_WIDTH_16,
        [MMIO_MODE_COMPAT32] = ZYDIS_STACK_WIDTH_32, [MMIO_MODE_LONG64] = ZYDIS_STACK_WIDTH_64,
    };
    return (unsigned)mode <= MMIO_MODE_LONG64 &&
           ZYAN_SUCCESS(ZydisDecoderInit(dec, modes[mode], widths[mode]));
}
