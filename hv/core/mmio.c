#include "hv/core/mmio.h"

#include <Zydis/Zydis.h>
#include "hv/core/guest_walk.h"
#include "hv/core/partition.h"
#include "hv/core/platform_glue.h"
#include "hv/core/virt.h"

static bool decode(struct vcpu *v, uint64_t rip, ZydisDecodedInstruction *insn,
                   ZydisDecodedOperand *ops)
{
    struct guest_paging pg;
    virt_get_paging(v, &pg);
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    uint64_t linear = pg.cs_base + rip;
    size_t len = sizeof(bytes);
    /* Fetch what is mapped: an instruction may end right before an unmapped page. */
    while (len && !guest_read_linear(&v->part->mem, &pg, linear, bytes, len))
        len = len > 4096 - (linear & 0xfff) ? 4096 - (linear & 0xfff) : 0;
    if (!len)
        return false;
    ZydisMachineMode mode = pg.cs_long ? ZYDIS_MACHINE_MODE_LONG_64 :
                            (pg.cr0 & 1) ? (pg.cs_32 ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32 :
                                                       ZYDIS_MACHINE_MODE_LEGACY_16) :
                            ZYDIS_MACHINE_MODE_REAL_16;
    if (!pg.cs_long && (pg.cr0 & 1) && !(pg.efer & (1ull << 10)))
        mode = pg.cs_32 ? ZYDIS_MACHINE_MODE_LEGACY_32 : ZYDIS_MACHINE_MODE_LEGACY_16;
    ZydisStackWidth sw = pg.cs_long ? ZYDIS_STACK_WIDTH_64 :
                         pg.cs_32 ? ZYDIS_STACK_WIDTH_32 : ZYDIS_STACK_WIDTH_16;
    ZydisDecoder dec;
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, mode, sw)))
        return false;
    return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, len, insn, ops));
}

/* A Zydis register as (gpr index, width in bytes, bit shift for AH..BH); false otherwise. */
static bool gpr_of(ZydisRegister r, unsigned *index, unsigned *width, unsigned *shift)
{
    static const ZydisRegister high8[] = { ZYDIS_REGISTER_AH, ZYDIS_REGISTER_CH,
                                           ZYDIS_REGISTER_DH, ZYDIS_REGISTER_BH };
    *shift = 0;
    for (unsigned i = 0; i < 4; i++)
        if (r == high8[i]) {
            *index = i, *width = 1, *shift = 8;
            return true;
        }
    ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
    if (full < ZYDIS_REGISTER_RAX || full > ZYDIS_REGISTER_R15)
        return false;
    *index = (unsigned)(full - ZYDIS_REGISTER_RAX);
    *width = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r) / 8;
    return true;
}

static void set_gpr(struct vcpu *v, unsigned index, unsigned width, unsigned shift, uint64_t value)
{
    uint64_t *r = &v->gpr[index];
    if (width == 8)
        *r = value;
    else if (width == 4)
        *r = (uint32_t)value;                   /* 32-bit writes zero the upper half */
    else {
        uint64_t mask = ((1ull << (width * 8)) - 1) << shift;
        *r = (*r & ~mask) | ((value << shift) & mask);
    }
}

static uint64_t sign_extend(uint64_t v, unsigned bytes)
{
    unsigned bits = bytes * 8;
    return bits >= 64 ? v : (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits));
}

enum mmio_result mmio_emulate(struct vcpu *v, struct mmio_access *a)
{
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!decode(v, a->rip, &insn, ops) || insn.operand_count_visible != 2)
        return MMIO_UNSUPPORTED;
    a->instr_len = insn.length;
    const ZydisDecodedOperand *dst = &ops[0], *src = &ops[1];
    unsigned index, width, shift;
    uint64_t value = 0;
    switch (insn.mnemonic) {
    case ZYDIS_MNEMONIC_MOV:
        if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY) {
            unsigned size = dst->size / 8;
            if (src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
                value = src->imm.value.u;
            else if (src->type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_of(src->reg.value, &index, &width, &shift))
                value = v->gpr[index] >> shift;
            else
                return MMIO_UNSUPPORTED;
            if (size < 8)
                value &= (1ull << (size * 8)) - 1;
            return partition_mmio(v, a->gpa, size, true, &value) ? MMIO_DONE : MMIO_NO_DEVICE;
        }
        __attribute__((fallthrough));   /* a load */
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD: {
        if (dst->type != ZYDIS_OPERAND_TYPE_REGISTER || src->type != ZYDIS_OPERAND_TYPE_MEMORY ||
            !gpr_of(dst->reg.value, &index, &width, &shift))
            return MMIO_UNSUPPORTED;
        unsigned size = src->size / 8;
        if (!partition_mmio(v, a->gpa, size, false, &value))
            return MMIO_NO_DEVICE;
        if (insn.mnemonic == ZYDIS_MNEMONIC_MOVSX || insn.mnemonic == ZYDIS_MNEMONIC_MOVSXD)
            value = sign_extend(value, size);
        set_gpr(v, index, width, shift, value);
        return MMIO_DONE;
    }
    default:
        return MMIO_UNSUPPORTED;
    }
}
