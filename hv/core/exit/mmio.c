#include "hv/core/exit/mmio.h"

#include <Zydis/Zydis.h>

#include "hv/core/exit/insn_decoder.h"
#include "hv/lib/x86_bits.h"

#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

struct insn {
    ZydisDecodedInstruction d;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

enum mmio_cpu_mode mmio_cpu_mode_of(bool pe, bool lma, bool vm86, bool cs_l, bool cs_d)
{
    if (!pe || vm86)
        return MMIO_MODE_REAL16;
    if (lma)
        return cs_l ? MMIO_MODE_LONG64 : cs_d ? MMIO_MODE_COMPAT32 : MMIO_MODE_COMPAT16;
    return cs_d ? MMIO_MODE_PROT32 : MMIO_MODE_PROT16;
}

uint64_t mmio_next_rip(enum mmio_cpu_mode mode, uint64_t rip, unsigned len)
{
    rip += len;
    if (mode == MMIO_MODE_LONG64)
        return rip;
    return mode == MMIO_MODE_PROT32 || mode == MMIO_MODE_COMPAT32 ? rip & 0xffffffffull : rip & 0xffff;
}

static uint64_t size_mask(unsigned bytes)
{
    return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

enum decoded { DECODED, DECODE_SHORT, DECODE_INVALID, DECODE_TOO_LONG, DECODE_BAD };

/* DECODE_SHORT: the bytes ran out where an unmapped page begins, at *stop. */
static enum decoded decode(const struct mmio_cpu *c, const struct mmio_ops *ops, struct insn *in,
                           uint64_t *stop)
{
    if ((unsigned)c->mode > MMIO_MODE_LONG64)
        return DECODE_BAD;
    uint64_t linear = c->seg_base[MMIO_SEG_CS] + c->rip;
    if (c->mode != MMIO_MODE_LONG64)
        linear &= 0xffffffffull;
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    size_t len = ops->fetch(ops->ctx, linear, bytes, sizeof(bytes));
    if (len > sizeof(bytes))
        return DECODE_BAD;
    *stop = linear + len;
    if (c->mode != MMIO_MODE_LONG64)
        *stop &= 0xffffffffull;
    if (!len)
        return DECODE_SHORT;
    ZydisDecoder dec;
    if (!insn_decoder_init(&dec, c->mode))
        return DECODE_BAD;
    ZyanStatus st = ZydisDecoderDecodeFull(&dec, bytes, len, &in->d, in->ops);
    if (ZYAN_SUCCESS(st))
        return DECODED;
    switch (st) {
    case ZYDIS_STATUS_NO_MORE_DATA:
        return len < sizeof(bytes) ? DECODE_SHORT : DECODE_TOO_LONG;
    case ZYDIS_STATUS_INSTRUCTION_TOO_LONG:
        return DECODE_TOO_LONG;
    case ZYDIS_STATUS_DECODING_ERROR:
    case ZYDIS_STATUS_BAD_REGISTER:
    case ZYDIS_STATUS_ILLEGAL_LOCK:
    case ZYDIS_STATUS_ILLEGAL_LEGACY_PFX:
    case ZYDIS_STATUS_ILLEGAL_REX:
    case ZYDIS_STATUS_INVALID_MAP:
    case ZYDIS_STATUS_MALFORMED_EVEX:
    case ZYDIS_STATUS_MALFORMED_MVEX:
    case ZYDIS_STATUS_INVALID_MASK:
        return DECODE_INVALID;
    default:
        return DECODE_BAD;
    }
}

/* ---- registers ------------------------------------------------------------------------ */

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
    return *width == 1 || *width == 2 || *width == 4 || *width == 8;
}

static void set_gpr(struct mmio_cpu *c, unsigned index, unsigned width, unsigned shift,
                    uint64_t value)
{
    uint64_t *r = &c->gpr[index];
    if (width == 8)
        *r = value;
    else if (width == 4)
        *r = (uint32_t)value;                   /* 32-bit writes zero the upper half */
    else {
        uint64_t mask = size_mask(width) << shift;
        *r = (*r & ~mask) | ((value << shift) & mask);
    }
}

static bool read_reg_operand(const struct mmio_cpu *c, const ZydisDecodedOperand *op,
                             uint64_t *value)
{
    unsigned index, width, shift;
    if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        *value = op->imm.value.u;
        return true;
    }
    if (op->type != ZYDIS_OPERAND_TYPE_REGISTER || !gpr_of(op->reg.value, &index, &width, &shift))
        return false;
    *value = (c->gpr[index] >> shift) & size_mask(width);
    return true;
}

static uint64_t sign_extend(uint64_t v, unsigned bytes)
{
    unsigned bits = bytes * 8;
    return bits >= 64 ? v : (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits));
}

/* ---- arithmetic ----------------------------------------------------------------------- */

enum alu_op { ALU_ADD, ALU_OR, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, ALU_TEST };

static bool alu_of(ZydisMnemonic m, enum alu_op *op)
{
    switch (m) {
    case ZYDIS_MNEMONIC_ADD: *op = ALU_ADD; return true;
    case ZYDIS_MNEMONIC_OR: *op = ALU_OR; return true;
    case ZYDIS_MNEMONIC_AND: *op = ALU_AND; return true;
    case ZYDIS_MNEMONIC_SUB: *op = ALU_SUB; return true;
    case ZYDIS_MNEMONIC_XOR: *op = ALU_XOR; return true;
    case ZYDIS_MNEMONIC_CMP: *op = ALU_CMP; return true;
    case ZYDIS_MNEMONIC_TEST: *op = ALU_TEST; return true;
    default: return false;
    }
}

/* a OP b at size bytes; the arithmetic flags as the CPU sets them (AF cleared by the
 * logical operations, where the SDM leaves it undefined). */
static uint64_t alu(enum alu_op op, uint64_t a, uint64_t b, unsigned size, uint64_t *rflags)
{
    uint64_t mask = size_mask(size), sign = 1ull << (size * 8 - 1), r, f = 0;
    a &= mask, b &= mask;
    switch (op) {
    case ALU_ADD:
        r = (a + b) & mask;
        f |= r < a ? RFLAGS_CF : 0;
        f |= ((a ^ r) & (b ^ r) & sign) ? RFLAGS_OF : 0;
        f |= ((a ^ b ^ r) & 0x10) ? RFLAGS_AF : 0;
        break;
    case ALU_SUB:
    case ALU_CMP:
        r = (a - b) & mask;
        f |= a < b ? RFLAGS_CF : 0;
        f |= ((a ^ b) & (a ^ r) & sign) ? RFLAGS_OF : 0;
        f |= ((a ^ b ^ r) & 0x10) ? RFLAGS_AF : 0;
        break;
    case ALU_OR: r = a | b; break;
    case ALU_XOR: r = a ^ b; break;
    default: r = a & b; break;          /* AND, TEST */
    }
    f |= r == 0 ? RFLAGS_ZF : 0;
    f |= (r & sign) ? RFLAGS_SF : 0;
    f |= (__builtin_popcountll(r & 0xff) & 1) ? 0 : RFLAGS_PF;
    *rflags = (*rflags & ~RFLAGS_ARITH) | f;
    return r;
}

/* ---- one access at the exit's guest-physical address ------------------------------------ */

static enum mmio_result access_result(enum mmio_access_result r)
{
    return r == MMIO_ACCESS_OK ? MMIO_DONE : r == MMIO_ACCESS_STOP ? MMIO_STOP : MMIO_UNMAPPED;
}

static enum mmio_result phys(const struct mmio_ops *ops, uint64_t gpa, unsigned size, bool write,
                             uint64_t *value)
{
    if (write)
        *value &= size_mask(size);
    enum mmio_result r = access_result(ops->phys(ops->ctx, gpa, size, write, value));
    if (!write)
        *value &= size_mask(size);
    return r;
}

static enum mmio_result emulate_mov(struct mmio_cpu *c, const struct mmio_ops *ops,
                                    const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    unsigned index, width, shift;
    uint64_t value;
    if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        if (in->d.mnemonic != ZYDIS_MNEMONIC_MOV || !read_reg_operand(c, src, &value))
            return MMIO_UNSUPPORTED;
        return phys(ops, gpa, dst->size / 8, true, &value);
    }
    if (dst->type != ZYDIS_OPERAND_TYPE_REGISTER || src->type != ZYDIS_OPERAND_TYPE_MEMORY ||
        !gpr_of(dst->reg.value, &index, &width, &shift))
        return MMIO_UNSUPPORTED;
    unsigned size = src->size / 8;
    enum mmio_result r = phys(ops, gpa, size, false, &value);
    if (r != MMIO_DONE)
        return r;
    if (in->d.mnemonic == ZYDIS_MNEMONIC_MOVSX || in->d.mnemonic == ZYDIS_MNEMONIC_MOVSXD)
        value = sign_extend(value, size);
    set_gpr(c, index, width, shift, value);
    return MMIO_DONE;
}

/* OP mem, reg/imm (the result stored but for CMP and TEST) or OP reg, mem. */
static enum mmio_result emulate_alu(struct mmio_cpu *c, const struct mmio_ops *ops,
                                    const struct insn *in, enum alu_op op, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    unsigned index, width, shift;
    uint64_t mem, other;
    if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        unsigned size = dst->size / 8;
        if (!read_reg_operand(c, src, &other))
            return MMIO_UNSUPPORTED;
        enum mmio_result r = phys(ops, gpa, size, false, &mem);
        if (r != MMIO_DONE)
            return r;
        uint64_t result = alu(op, mem, other, size, &c->rflags);
        return op == ALU_CMP || op == ALU_TEST ? MMIO_DONE : phys(ops, gpa, size, true, &result);
    }
    if (src->type != ZYDIS_OPERAND_TYPE_MEMORY || !gpr_of(dst->reg.value, &index, &width, &shift))
        return MMIO_UNSUPPORTED;
    enum mmio_result r = phys(ops, gpa, width, false, &mem);
    if (r != MMIO_DONE)
        return r;
    uint64_t result = alu(op, (c->gpr[index] >> shift) & size_mask(width), mem, width, &c->rflags);
    if (op != ALU_CMP && op != ALU_TEST)
        set_gpr(c, index, width, shift, result);
    return MMIO_DONE;
}

/* INC, DEC, NOT, NEG of a device register (INC and DEC keep CF; NOT changes no flag). */
static enum mmio_result emulate_unary(struct mmio_cpu *c, const struct mmio_ops *ops,
                                      const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0];
    if (dst->type != ZYDIS_OPERAND_TYPE_MEMORY)
        return MMIO_UNSUPPORTED;
    unsigned size = dst->size / 8;
    uint64_t value, result, cf = c->rflags & RFLAGS_CF;
    enum mmio_result r = phys(ops, gpa, size, false, &value);
    if (r != MMIO_DONE)
        return r;
    switch (in->d.mnemonic) {
    case ZYDIS_MNEMONIC_INC:
        result = alu(ALU_ADD, value, 1, size, &c->rflags);
        c->rflags = (c->rflags & ~RFLAGS_CF) | cf;
        break;
    case ZYDIS_MNEMONIC_DEC:
        result = alu(ALU_SUB, value, 1, size, &c->rflags);
        c->rflags = (c->rflags & ~RFLAGS_CF) | cf;
        break;
    case ZYDIS_MNEMONIC_NEG:
        result = alu(ALU_SUB, 0, value, size, &c->rflags);
        break;
    default:                            /* NOT */
        result = ~value;
        break;
    }
    return phys(ops, gpa, size, true, &result);
}

/* XCHG of a register with a device register (locked, as XCHG with memory always is). */
static enum mmio_result emulate_xchg(struct mmio_cpu *c, const struct mmio_ops *ops,
                                     const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *mem = &in->ops[0], *reg = &in->ops[1];
    if (mem->type != ZYDIS_OPERAND_TYPE_MEMORY) {
        mem = &in->ops[1];
        reg = &in->ops[0];
    }
    unsigned index, width, shift;
    if (mem->type != ZYDIS_OPERAND_TYPE_MEMORY || reg->type != ZYDIS_OPERAND_TYPE_REGISTER ||
        !gpr_of(reg->reg.value, &index, &width, &shift) || width != mem->size / 8)
        return MMIO_UNSUPPORTED;
    uint64_t old, value = (c->gpr[index] >> shift) & size_mask(width);
    enum mmio_result r = phys(ops, gpa, width, false, &old);
    if (r == MMIO_DONE)
        r = phys(ops, gpa, width, true, &value);
    if (r == MMIO_DONE)
        set_gpr(c, index, width, shift, old);
    return r;
}

/* ---- string instructions ---------------------------------------------------------------- */

enum string_kind { STR_MOVS, STR_STOS, STR_LODS, STR_INS, STR_OUTS };

static bool string_kind_of(const struct insn *in, enum string_kind *k)
{
    if (in->d.opcode_map != ZYDIS_OPCODE_MAP_DEFAULT)
        return false;
    switch (in->d.opcode) {
    case 0xa4: case 0xa5: *k = STR_MOVS; return true;
    case 0xaa: case 0xab: *k = STR_STOS; return true;
    case 0xac: case 0xad: *k = STR_LODS; return true;
    case 0x6c: case 0x6d: *k = STR_INS; return true;
    case 0x6e: case 0x6f: *k = STR_OUTS; return true;
    default: return false;
    }
}

/* The source segment: DS unless overridden (the destination is always ES). */
static enum mmio_seg source_segment(const struct insn *in)
{
    static const struct { ZyanU64 attrib; enum mmio_seg seg; } overrides[] = {
        { ZYDIS_ATTRIB_HAS_SEGMENT_ES, MMIO_SEG_ES }, { ZYDIS_ATTRIB_HAS_SEGMENT_CS, MMIO_SEG_CS },
        { ZYDIS_ATTRIB_HAS_SEGMENT_SS, MMIO_SEG_SS }, { ZYDIS_ATTRIB_HAS_SEGMENT_FS, MMIO_SEG_FS },
        { ZYDIS_ATTRIB_HAS_SEGMENT_GS, MMIO_SEG_GS },
    };
    for (unsigned i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++)
        if (in->d.attributes & overrides[i].attrib)
            return overrides[i].seg;
    return MMIO_SEG_DS;
}

struct string_op {
    enum string_kind kind;
    unsigned size;              /* element bytes */
    uint64_t addr_mask;         /* of RSI, RDI and RCX: the address size */
    uint64_t src_base, dst_base;
    bool long_mode;
};

static uint64_t string_linear(const struct string_op *s, uint64_t base, uint64_t offset)
{
    uint64_t linear = base + (offset & s->addr_mask);
    return s->long_mode ? linear : linear & 0xffffffffull;
}

/* Writes an index or count register at the address size (16-bit: the low word only). */
static void set_addr_reg(struct mmio_cpu *c, const struct string_op *s, unsigned index,
                         uint64_t value)
{
    set_gpr(c, index, s->addr_mask == 0xffff ? 2 : s->addr_mask == 0xffffffffull ? 4 : 8, 0, value);
}

static enum mmio_result linear_access(const struct mmio_ops *ops, uint64_t linear, unsigned size,
                                      bool write, uint64_t *value, struct mmio_outcome *out)
{
    enum mmio_access_result r = ops->linear(ops->ctx, linear, size, write, value);
    if (r == MMIO_ACCESS_UNMAPPED) {
        out->linear = linear;
        out->write = write;
        out->fetch = false;
    }
    return access_result(r);
}

/* The destination's page or pages, each checked without an access (CR2: the first byte
 * that faults is the first of its page). */
static enum mmio_result probe_write(const struct mmio_ops *ops, uint64_t linear, unsigned size,
                                    struct mmio_outcome *out)
{
    if (!ops->probe)
        return MMIO_DONE;
    unsigned first = (linear & 0xfff) + size > 4096 ? 4096 - (unsigned)(linear & 0xfff) : size;
    uint64_t part[2] = { linear, linear + first };
    unsigned len[2] = { first, size - first };
    for (unsigned i = 0; i < 2 && len[i]; i++) {
        if (ops->probe(ops->ctx, part[i], len[i], true) == MMIO_ACCESS_UNMAPPED) {
            out->linear = part[i];
            out->write = true;
            out->fetch = false;
            return MMIO_UNMAPPED;
        }
    }
    return MMIO_DONE;
}

static enum mmio_result string_step(struct mmio_cpu *c, const struct mmio_ops *ops,
                                    const struct string_op *s, struct mmio_outcome *out)
{
    uint64_t src = string_linear(s, s->src_base, c->gpr[RSI]);
    uint64_t dst = string_linear(s, s->dst_base, c->gpr[RDI]);
    uint16_t port = (uint16_t)c->gpr[RDX];
    uint64_t value = 0;
    uint32_t io_value = 0;
    enum mmio_result r = MMIO_DONE;
    switch (s->kind) {
    case STR_MOVS:
        r = linear_access(ops, src, s->size, false, &value, out);
        if (r == MMIO_DONE)
            r = linear_access(ops, dst, s->size, true, &value, out);
        break;
    case STR_STOS:
        value = c->gpr[RAX] & size_mask(s->size);
        r = linear_access(ops, dst, s->size, true, &value, out);
        break;
    case STR_LODS:
        r = linear_access(ops, src, s->size, false, &value, out);
        if (r == MMIO_DONE)
            set_gpr(c, RAX, s->size, 0, value & size_mask(s->size));
        break;
    case STR_INS:
        r = probe_write(ops, dst, s->size, out);
        if (r != MMIO_DONE)
            break;
        ops->io(ops->ctx, port, s->size, false, &io_value);
        value = io_value & size_mask(s->size);
        r = linear_access(ops, dst, s->size, true, &value, out);
        break;
    case STR_OUTS:
        r = linear_access(ops, src, s->size, false, &value, out);
        if (r == MMIO_DONE) {
            io_value = (uint32_t)(value & size_mask(s->size));
            ops->io(ops->ctx, port, s->size, true, &io_value);
        }
        break;
    }
    if (r != MMIO_DONE)
        return r;
    uint64_t delta = (c->rflags & RFLAGS_DF) ? (uint64_t)0 - s->size : s->size;
    if (s->kind == STR_MOVS || s->kind == STR_LODS || s->kind == STR_OUTS)
        set_addr_reg(c, s, RSI, c->gpr[RSI] + delta);
    if (s->kind == STR_MOVS || s->kind == STR_STOS || s->kind == STR_INS)
        set_addr_reg(c, s, RDI, c->gpr[RDI] + delta);
    return MMIO_DONE;
}

/* INS and OUTS have no 64-bit form: REX.W, which Zydis reports as a 64-bit operand, is
 * ignored by the CPU (SDM Vol. 2 INS, OUTS: 8, 16 or 32 bits in 64-bit mode). */
static unsigned string_io_size(const struct insn *in)
{
    return in->d.operand_width == 64 ? 4 : in->d.operand_width / 8;
}

static enum mmio_result emulate_string(struct mmio_cpu *c, const struct mmio_ops *ops,
                                       const struct insn *in, enum string_kind kind,
                                       struct mmio_outcome *out)
{
    bool long_mode = c->mode == MMIO_MODE_LONG64;
    struct string_op s = {
        .kind = kind,
        .size = in->d.operand_width / 8,
        .addr_mask = size_mask(in->d.address_width / 8),
        .src_base = long_mode && source_segment(in) < MMIO_SEG_FS ? 0 : c->seg_base[source_segment(in)],
        .dst_base = long_mode ? 0 : c->seg_base[MMIO_SEG_ES],
        .long_mode = long_mode,
    };
    if (kind == STR_INS || kind == STR_OUTS)
        s.size = string_io_size(in);
    if (s.size != 1 && s.size != 2 && s.size != 4 && s.size != 8)
        return MMIO_UNSUPPORTED;
    bool rep = in->d.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
    if (!rep)
        return string_step(c, ops, &s, out);
    unsigned budget = (c->rflags & RFLAGS_TF) ? 1 : MMIO_REP_BUDGET;
    uint64_t count = c->gpr[RCX] & s.addr_mask;
    for (; count && budget; budget--) {
        enum mmio_result r = string_step(c, ops, &s, out);
        if (r != MMIO_DONE)
            return r;
        set_addr_reg(c, &s, RCX, --count);
    }
    return count ? MMIO_AGAIN : MMIO_DONE;
}

/* ---- entry ------------------------------------------------------------------------------ */

/* A string I/O exit whose bytes at RIP are not the INS or OUTS it reports (rewritten or
 * remapped since the CPU ran them): #UD, as for every instruction read back (DESIGN.md). */
static enum mmio_result not_the_exiting_instruction(struct mmio_outcome *out)
{
    out->vector = 6;
    out->error = 0;
    return MMIO_INVALID;
}

enum mmio_result mmio_emulate(struct mmio_cpu *c, const struct mmio_ops *ops,
                              const struct mmio_exit *e, struct mmio_outcome *out)
{
    struct insn in;
    out->length = 0;
    out->linear = 0;
    out->write = false;
    out->fetch = false;
    switch (decode(c, ops, &in, &out->linear)) {
    case DECODED:
        break;
    case DECODE_SHORT:
        out->fetch = true;
        return MMIO_UNMAPPED;
    case DECODE_INVALID:
        out->linear = 0;
        out->vector = 6;                /* #UD */
        out->error = 0;
        return MMIO_INVALID;
    case DECODE_TOO_LONG:
        out->linear = 0;
        out->vector = 13;               /* #GP(0): longer than 15 bytes */
        out->error = 0;
        return MMIO_INVALID;
    default:
        out->linear = 0;
        return MMIO_UNSUPPORTED;
    }
    out->length = in.d.length;
    enum string_kind kind;
    if (string_kind_of(&in, &kind)) {
        if (e->string_io && (kind != STR_INS && kind != STR_OUTS))
            return not_the_exiting_instruction(out);
        if (e->string_io && e->io_size &&
            ((kind == STR_INS) != e->io_in || string_io_size(&in) != e->io_size))
            return not_the_exiting_instruction(out);
        return emulate_string(c, ops, &in, kind, out);
    }
    if (e->string_io)
        return not_the_exiting_instruction(out);
    switch (in.d.mnemonic) {
    case ZYDIS_MNEMONIC_INC:
    case ZYDIS_MNEMONIC_DEC:
    case ZYDIS_MNEMONIC_NOT:
    case ZYDIS_MNEMONIC_NEG:
        return in.d.operand_count_visible == 1 ? emulate_unary(c, ops, &in, e->gpa) : MMIO_UNSUPPORTED;
    default:
        break;
    }
    if (in.d.operand_count_visible != 2)
        return MMIO_UNSUPPORTED;
    enum alu_op op;
    switch (in.d.mnemonic) {
    case ZYDIS_MNEMONIC_XCHG:
        return emulate_xchg(c, ops, &in, e->gpa);
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
        return emulate_mov(c, ops, &in, e->gpa);
    default:
        if (alu_of(in.d.mnemonic, &op))
            return emulate_alu(c, ops, &in, op, e->gpa);
        return MMIO_UNSUPPORTED;
    }
}
