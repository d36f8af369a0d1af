/*
 * A Zydis decoder for the guest's CPU mode: the MMIO emulator's and the SVM backend's
 * instruction decoding start from the same one.  Portable.
 */
#ifndef ATOLL_HV_CORE_EXIT_INSN_DECODER_H
#define ATOLL_HV_CORE_EXIT_INSN_DECODER_H

#include <stdbool.h>
#include <Zydis/Zydis.h>

#include "hv/core/exit/mmio.h"

/* False for a mode outside enum mmio_cpu_mode or one Zydis refuses. */
bool insn_decoder_init(ZydisDecoder *dec, enum mmio_cpu_mode mode);

#endif
