#include "hv/svm/svm_insn.h"

#include <Zydis/Zydis.h>

#include "hv/core/exit/insn_decoder.h"

/* The encodings compilers emit, checked without the decoder. */
static const struct {
    uint8_t length;
    uint8_t bytes[3];
} plain[SVM_INSN_COUNT] = {
    [SVM_INSN_CPUID] = { 2, { 0x0f, 0xa2 } },   [SVM_INSN_HLT] = { 1, { 0xf4 } },
    [SVM_INSN_RDMSR] = { 2, { 0x0f, 0x32 } },   [SVM_INSN_WRMSR] = { 2, { 0x0f, 0x30 } },
    [SVM_INSN_XSETBV] = { 3, { 0x0f, 0x01, 0xd1 } },
    [SVM_INSN_VMMCALL] = { 3, { 0x0f, 0x01, 0xd9 } },
    [SVM_INSN_INVD] = { 2, { 0x0f, 0x08 } },    [SVM_INSN_WBINVD] = { 2, { 0x0f, 0x09 } },
    [SVM_INSN_RDPMC] = { 2, { 0x0f, 0x33 } },
    [SVM_INSN_MONITOR] = { 3, { 0x0f, 0x01, 0xc8 } },
    [SVM_INSN_MWAIT] = { 3, { 0x0f, 0x01, 0xc9 } },
};

static bool is(enum svm_insn want, ZydisMnemonic m)
{
    switch (want) {
    case SVM_INSN_CPUID: return m == ZYDIS_MNEMONIC_CPUID;
    case SVM_INSN_HLT: return m == ZYDIS_MNEMONIC_HLT;
    case SVM_INSN_RDMSR: return m == ZYDIS_MNEMONIC_RDMSR;
    case SVM_INSN_WRMSR: return m == ZYDIS_MNEMONIC_WRMSR;
    case SVM_INSN_XSETBV: return m == ZYDIS_MNEMONIC_XSETBV;
    case SVM_INSN_VMMCALL: return m == ZYDIS_MNEMONIC_VMMCALL;
    case SVM_INSN_INVD: return m == ZYDIS_MNEMONIC_INVD;
    case SVM_INSN_WBINVD: return m == ZYDIS_MNEMONIC_WBINVD;  /* Zydis 4.0: F3 0F 09 too */
    case SVM_INSN_RDPMC: return m == ZYDIS_MNEMONIC_RDPMC;
    case SVM_INSN_MONITOR: return m == ZYDIS_MNEMONIC_MONITOR || m == ZYDIS_MNEMONIC_MONITORX;
    case SVM_INSN_MWAIT: return m == ZYDIS_MNEMONIC_MWAIT || m == ZYDIS_MNEMONIC_MWAITX;
    default: return false;
    }
}

static enum svm_decoded decode(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                               enum svm_insn want, unsigned *length)
{
    ZydisDecoder dec;
    ZydisDecodedInstruction d;
    if (!insn_decoder_init(&dec, mode))
        return SVM_DECODE_OTHER;
    ZyanStatus st = ZydisDecoderDecodeInstruction(&dec, NULL, b, got, &d);
    if (st == ZYDIS_STATUS_NO_MORE_DATA)
        return got < SVM_INSN_MAX ? SVM_DECODE_SHORT : SVM_DECODE_OTHER;
    if (!ZYAN_SUCCESS(st) || !is(want, d.mnemonic))
        return SVM_DECODE_OTHER;
    *length = d.length;
    return SVM_DECODED;
}

enum svm_decoded svm_insn_decode(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                                 enum svm_insn want, unsigned *length)
{
    if ((unsigned)want >= SVM_INSN_COUNT)
        return SVM_DECODE_OTHER;
    if (got > SVM_INSN_MAX)
        got = SVM_INSN_MAX;
    if (!got)
        return SVM_DECODE_SHORT;
    unsigned n = plain[want].length, same = 0;
    while (same < n && same < got && b[same] == plain[want].bytes[same])
        same++;
    if (same == n) {
        *length = n;
        return SVM_DECODED;
    }
    if (same == got)                    /* the plain form, cut short */
        return SVM_DECODE_SHORT;
    return decode(mode, b, got, want, length);
}

static bool legacy_prefix(uint8_t x)
{
    return x == 0xf0 || x == 0x66 || x == 0x67 || x == 0x2e || x == 0x3e || x == 0x26 ||
           x == 0x36 || x == 0x64 || x == 0x65;
}

/* Whether n bytes are there; else SHORT while the instruction could still fit. */
#define NEED(n)                                                                   \
    do {                                                                          \
        if ((n) > SVM_INSN_MAX)                                                   \
            return SVM_DECODE_OTHER;                                              \
        if ((n) > got)                                                            \
            return SVM_DECODE_SHORT;                                              \
    } while (0)

enum svm_decoded svm_cr_decode(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                               struct svm_cr_insn *out)
{
    bool long64 = mode == MMIO_MODE_LONG64, lock = false;
    uint8_t rex = 0;
    unsigned i = 0;
    if (got > SVM_INSN_MAX)
        got = SVM_INSN_MAX;
    for (;; i++) {
        NEED(i + 1);
        if (legacy_prefix(b[i])) {
            lock |= b[i] == 0xf0;
            rex = 0;                    /* a REX not right before the opcode is ignored */
        } else if (long64 && (b[i] & 0xf0) == 0x40) {
            rex = b[i];
        } else {
            break;
        }
    }
    NEED(i + 2);
    if (b[i] != 0x0f)
        return SVM_DECODE_OTHER;
    *out = (struct svm_cr_insn){ .wide = long64 };
    uint8_t op = b[i + 1];
    if (op == 0x06) {
        if (lock)
            return SVM_DECODE_OTHER;
        out->form = SVM_CR_CLTS;
        out->length = i + 2;
        return SVM_DECODED;
    }
    if (op != 0x20 && op != 0x22 && op != 0x01)
        return SVM_DECODE_OTHER;
    NEED(i + 3);
    uint8_t modrm = b[i + 2];
    unsigned reg = (modrm >> 3) & 7, rm = (modrm & 7) | ((rex & 1) ? 8 : 0);
    if (op == 0x20 || op == 0x22) {
        out->form = op == 0x22 ? SVM_CR_MOV_TO : SVM_CR_MOV_FROM;
        out->cr = reg | ((rex & 4) || lock ? 8 : 0);
        out->gpr = rm;
        out->length = i + 3;
        return SVM_DECODED;
    }
    if (op != 0x01 || lock || (reg != 6 && reg != 4))
        return SVM_DECODE_OTHER;
    out->form = reg == 6 ? SVM_CR_LMSW : SVM_CR_SMSW;
    out->wide = false;
    if ((modrm >> 6) != 3) {
        out->memory = true;
        return SVM_DECODED;
    }
    out->gpr = rm;
    out->length = i + 3;
    return SVM_DECODED;
}

bool svm_cr_agrees(const struct svm_cr_insn *d, unsigned number, bool write)
{
    switch (d->form) {
    case SVM_CR_MOV_TO: return write && d->cr == number;
    case SVM_CR_MOV_FROM: return !write && d->cr == number;
    case SVM_CR_CLTS:
    case SVM_CR_LMSW: return write && number == 0;
    case SVM_CR_SMSW: return !write && number == 0;
    }
    return false;
}

/* A general register as its number; -1 for none or another kind. */
static int gpr_number(ZydisRegister r)
{
    if (r == ZYDIS_REGISTER_NONE)
        return -1;
    if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP)
        return SVM_BASE_RIP;
    ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
    if (full < ZYDIS_REGISTER_RAX || full > ZYDIS_REGISTER_R15)
        return -2;
    return (int)(full - ZYDIS_REGISTER_RAX);
}

bool svm_lmsw_operand(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                      struct svm_mem_operand *m)
{
    static const ZydisRegister segs[] = { ZYDIS_REGISTER_ES, ZYDIS_REGISTER_CS, ZYDIS_REGISTER_SS,
                                          ZYDIS_REGISTER_DS, ZYDIS_REGISTER_FS, ZYDIS_REGISTER_GS };
    ZydisDecoder dec;
    ZydisDecodedInstruction d;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (got > SVM_INSN_MAX)
        got = SVM_INSN_MAX;
    if (!insn_decoder_init(&dec, mode) || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, b, got, &d, ops)) ||
        d.mnemonic != ZYDIS_MNEMONIC_LMSW || !d.operand_count_visible ||
        ops[0].type != ZYDIS_OPERAND_TYPE_MEMORY)
        return false;
    const ZydisDecodedOperand *op = &ops[0];
    *m = (struct svm_mem_operand){ .base = gpr_number(op->mem.base),
                                   .index = gpr_number(op->mem.index), .scale = op->mem.scale,
                                   .disp = op->mem.disp.has_displacement ? op->mem.disp.value : 0,
                                   .length = d.length };
    if (m->base == -2 || m->index == -2 || m->index == SVM_BASE_RIP)
        return false;
    m->addr_mask = d.address_width == 16 ? 0xffff : d.address_width == 32 ? 0xffffffffull : ~0ull;
    for (unsigned i = 0; i < 6; i++)
        if (op->mem.segment == segs[i]) {
            m->seg = (enum mmio_seg)i;
            return true;
        }
    return false;
}

uint64_t svm_mem_linear(const struct svm_mem_operand *m, enum mmio_cpu_mode mode,
                        const uint64_t gpr[16], uint64_t rip, const uint64_t seg_base[6])
{
    uint64_t ea = (uint64_t)m->disp;
    if (m->base == SVM_BASE_RIP)
        ea += rip + m->length;
    else if (m->base >= 0)
        ea += gpr[m->base];
    if (m->index >= 0)
        ea += gpr[m->index] * (m->scale ? m->scale : 1);
    ea &= m->addr_mask;
    if (mode == MMIO_MODE_LONG64)
        return ea + (m->seg == MMIO_SEG_FS || m->seg == MMIO_SEG_GS ? seg_base[m->seg] : 0);
    return (ea + seg_base[m->seg]) & 0xffffffffull;
}
