#include "hv/core/exit/mmio.h"

#include <Zydis/Zydis.h>

#include "hv/core/exit/insn_decoder.h"
#include "hv/core/exit/mmio_alu.h"
#include "hv/lib/x86_bits.h"

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

/* ---- accesses ------------------------------------------------------------------------------ */

static enum mmio_result access_result(enum mmio_access_result r)
{
    return r == MMIO_ACCESS_OK ? MMIO_DONE : r == MMIO_ACCESS_STOP ? MMIO_STOP : MMIO_UNMAPPED;
}

/* size bytes at the exit's guest-physical address: where the CPU accessed the operand. */
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

static enum mmio_result linear_access(const struct mmio_ops *ops, uint64_t linear, unsigned size,
                                      bool write, uint64_t *value, struct mmio_outcome *out)
{
    if (write)
        *value &= size_mask(size);
    enum mmio_access_result r = ops->linear(ops->ctx, linear, size, write, value);
    if (r == MMIO_ACCESS_UNMAPPED) {
        out->linear = linear;
        out->write = write;
        out->fetch = false;
    }
    if (!write)
        *value &= size_mask(size);
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

static bool segment_of(ZydisRegister r, enum mmio_seg *seg)
{
    switch (r) {
    case ZYDIS_REGISTER_ES: *seg = MMIO_SEG_ES; return true;
    case ZYDIS_REGISTER_CS: *seg = MMIO_SEG_CS; return true;
    case ZYDIS_REGISTER_SS: *seg = MMIO_SEG_SS; return true;
    case ZYDIS_REGISTER_DS: *seg = MMIO_SEG_DS; return true;
    case ZYDIS_REGISTER_FS: *seg = MMIO_SEG_FS; return true;
    case ZYDIS_REGISTER_GS: *seg = MMIO_SEG_GS; return true;
    default: return false;
    }
}

/* The guest-linear address of memory operand m moved by delta bytes: base + index * scale +
 * displacement + delta in the address size, plus the segment's base (in 64-bit mode only
 * FS's and GS's), as the CPU computes it. */
static bool operand_linear(const struct mmio_cpu *c, const struct insn *in,
                           const ZydisDecodedOperand *m, int64_t delta, uint64_t *linear)
{
    unsigned index, width, shift;
    enum mmio_seg seg;
    uint64_t ea = (uint64_t)m->mem.disp.value + (uint64_t)delta;
    if (m->mem.base == ZYDIS_REGISTER_RIP || m->mem.base == ZYDIS_REGISTER_EIP)
        ea += c->rip + in->d.length;
    else if (m->mem.base != ZYDIS_REGISTER_NONE) {
        if (!gpr_of(m->mem.base, &index, &width, &shift))
            return false;
        ea += c->gpr[index] & size_mask(width);
    }
    if (m->mem.index != ZYDIS_REGISTER_NONE) {
        if (!gpr_of(m->mem.index, &index, &width, &shift))
            return false;
        ea += (c->gpr[index] & size_mask(width)) * m->mem.scale;
    }
    if (!segment_of(m->mem.segment, &seg))
        return false;
    ea &= size_mask(in->d.address_width / 8);
    if (c->mode == MMIO_MODE_LONG64)
        *linear = ea + (seg >= MMIO_SEG_FS ? c->seg_base[seg] : 0);
    else
        *linear = (ea + c->seg_base[seg]) & 0xffffffffull;
    return true;
}

/* ---- loads, stores and read-modify-write at the exit's address ------------------------------ */

static enum mmio_result emulate_mov(struct mmio_cpu *c, const struct mmio_ops *ops,
                                    const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    unsigned index, width, shift;
    uint64_t value;
    if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        if ((in->d.mnemonic != ZYDIS_MNEMONIC_MOV && in->d.mnemonic != ZYDIS_MNEMONIC_MOVNTI) ||
            !read_reg_operand(c, src, &value))
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

static uint64_t byte_swap(uint64_t v, unsigned size)
{
    if (size == 2)
        return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
    return size == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap64(v);
}

/* MOVBE: a load or store with the bytes reversed.  CPUID passes the host's MOVBE bit
 * through (cpuid_policy.c), so a guest that exits on one runs on a CPU that has it. */
static enum mmio_result emulate_movbe(struct mmio_cpu *c, const struct mmio_ops *ops,
                                      const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    unsigned index, width, shift;
    uint64_t value;
    if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        if (src->type != ZYDIS_OPERAND_TYPE_REGISTER || !read_reg_operand(c, src, &value))
            return MMIO_UNSUPPORTED;
        value = byte_swap(value, dst->size / 8);
        return phys(ops, gpa, dst->size / 8, true, &value);
    }
    if (dst->type != ZYDIS_OPERAND_TYPE_REGISTER || src->type != ZYDIS_OPERAND_TYPE_MEMORY ||
        !gpr_of(dst->reg.value, &index, &width, &shift) || width != src->size / 8)
        return MMIO_UNSUPPORTED;
    enum mmio_result r = phys(ops, gpa, width, false, &value);
    if (r == MMIO_DONE)
        set_gpr(c, index, width, shift, byte_swap(value, width));    /* 16 bits: the rest kept */
    return r;
}

static bool alu_of(ZydisMnemonic m, enum alu_op *op)
{
    switch (m) {
    case ZYDIS_MNEMONIC_ADD: *op = ALU_ADD; return true;
    case ZYDIS_MNEMONIC_OR: *op = ALU_OR; return true;
    case ZYDIS_MNEMONIC_ADC: *op = ALU_ADC; return true;
    case ZYDIS_MNEMONIC_SBB: *op = ALU_SBB; return true;
    case ZYDIS_MNEMONIC_AND: *op = ALU_AND; return true;
    case ZYDIS_MNEMONIC_SUB: *op = ALU_SUB; return true;
    case ZYDIS_MNEMONIC_XOR: *op = ALU_XOR; return true;
    case ZYDIS_MNEMONIC_CMP: *op = ALU_CMP; return true;
    case ZYDIS_MNEMONIC_TEST: *op = ALU_TEST; return true;
    default: return false;
    }
}

/* OP mem, reg/imm (the result stored but for CMP and TEST) or OP reg, mem; RFLAGS change
 * once the access is made. */
static enum mmio_result emulate_alu(struct mmio_cpu *c, const struct mmio_ops *ops,
                                    const struct insn *in, enum alu_op op, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    bool stores = op != ALU_CMP && op != ALU_TEST;
    unsigned index, width, shift;
    uint64_t mem, other, rflags = c->rflags;
    enum mmio_result r;
    if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        unsigned size = dst->size / 8;
        if (!read_reg_operand(c, src, &other))
            return MMIO_UNSUPPORTED;
        r = phys(ops, gpa, size, false, &mem);
        if (r != MMIO_DONE)
            return r;
        uint64_t result = alu_apply(op, mem, other, size, &rflags);
        if (stores)
            r = phys(ops, gpa, size, true, &result);
    } else {
        if (src->type != ZYDIS_OPERAND_TYPE_MEMORY || !gpr_of(dst->reg.value, &index, &width, &shift))
            return MMIO_UNSUPPORTED;
        r = phys(ops, gpa, width, false, &mem);
        if (r != MMIO_DONE)
            return r;
        uint64_t result = alu_apply(op, (c->gpr[index] >> shift) & size_mask(width), mem, width,
                                    &rflags);
        if (stores)
            set_gpr(c, index, width, shift, result);
    }
    if (r == MMIO_DONE)
        c->rflags = rflags;
    return r;
}

/* INC, DEC, NOT, NEG of a device register (INC and DEC keep CF; NOT changes no flag). */
static enum mmio_result emulate_unary(struct mmio_cpu *c, const struct mmio_ops *ops,
                                      const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0];
    if (dst->type != ZYDIS_OPERAND_TYPE_MEMORY)
        return MMIO_UNSUPPORTED;
    unsigned size = dst->size / 8;
    uint64_t value, result, rflags = c->rflags;
    enum mmio_result r = phys(ops, gpa, size, false, &value);
    if (r != MMIO_DONE)
        return r;
    switch (in->d.mnemonic) {
    case ZYDIS_MNEMONIC_INC:
        result = alu_apply(ALU_ADD, value, 1, size, &rflags);
        rflags = (rflags & ~RFLAGS_CF) | (c->rflags & RFLAGS_CF);
        break;
    case ZYDIS_MNEMONIC_DEC:
        result = alu_apply(ALU_SUB, value, 1, size, &rflags);
        rflags = (rflags & ~RFLAGS_CF) | (c->rflags & RFLAGS_CF);
        break;
    case ZYDIS_MNEMONIC_NEG:
        result = alu_apply(ALU_SUB, 0, value, size, &rflags);
        break;
    default:                            /* NOT */
        result = ~value;
        break;
    }
    r = phys(ops, gpa, size, true, &result);
    if (r == MMIO_DONE)
        c->rflags = rflags;
    return r;
}

/* A memory operand and a general register of the same width (XCHG, XADD, CMPXCHG). */
static bool mem_and_reg(const ZydisDecodedOperand *mem, const ZydisDecodedOperand *reg,
                        unsigned *index, unsigned *width, unsigned *shift)
{
    return mem->type == ZYDIS_OPERAND_TYPE_MEMORY && reg->type == ZYDIS_OPERAND_TYPE_REGISTER &&
           gpr_of(reg->reg.value, index, width, shift) && *width == mem->size / 8;
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
    if (!mem_and_reg(mem, reg, &index, &width, &shift))
        return MMIO_UNSUPPORTED;
    uint64_t old, value = (c->gpr[index] >> shift) & size_mask(width);
    enum mmio_result r = phys(ops, gpa, width, false, &old);
    if (r == MMIO_DONE)
        r = phys(ops, gpa, width, true, &value);
    if (r == MMIO_DONE)
        set_gpr(c, index, width, shift, old);
    return r;
}

/* XADD mem, reg: the sum stored, the old value to the register, the flags of the ADD. */
static enum mmio_result emulate_xadd(struct mmio_cpu *c, const struct mmio_ops *ops,
                                     const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *mem = &in->ops[0], *reg = &in->ops[1];
    unsigned index, width, shift;
    if (!mem_and_reg(mem, reg, &index, &width, &shift))
        return MMIO_UNSUPPORTED;
    uint64_t old, rflags = c->rflags;
    enum mmio_result r = phys(ops, gpa, width, false, &old);
    if (r != MMIO_DONE)
        return r;
    uint64_t sum = alu_apply(ALU_ADD, old, (c->gpr[index] >> shift) & size_mask(width), width,
                             &rflags);
    r = phys(ops, gpa, width, true, &sum);
    if (r == MMIO_DONE) {
        set_gpr(c, index, width, shift, old);
        c->rflags = rflags;
    }
    return r;
}

/* CMPXCHG mem, reg: the accumulator compared with the device register (the flags of CMP);
 * equal: reg stored; not: the register's value loaded into the accumulator, and stored back
 * to it, as the CPU writes the destination either way (SDM Vol. 2 CMPXCHG). */
static enum mmio_result emulate_cmpxchg(struct mmio_cpu *c, const struct mmio_ops *ops,
                                        const struct insn *in, uint64_t gpa)
{
    const ZydisDecodedOperand *mem = &in->ops[0], *reg = &in->ops[1];
    unsigned index, width, shift;
    if (!mem_and_reg(mem, reg, &index, &width, &shift))
        return MMIO_UNSUPPORTED;
    uint64_t old, rflags = c->rflags;
    enum mmio_result r = phys(ops, gpa, width, false, &old);
    if (r != MMIO_DONE)
        return r;
    alu_apply(ALU_CMP, c->gpr[RAX], old, width, &rflags);
    bool equal = rflags & RFLAGS_ZF;
    uint64_t store = equal ? (c->gpr[index] >> shift) & size_mask(width) : old;
    r = phys(ops, gpa, width, true, &store);
    if (r != MMIO_DONE)
        return r;
    c->rflags = rflags;
    if (!equal)
        set_gpr(c, RAX, width, 0, old);
    return MMIO_DONE;
}

/* CMPXCHG8B: EDX:EAX compared with 8 bytes of the device, one access each way (ZF alone
 * changes).  CMPXCHG16B is refused: 16 bytes are no one access a device takes (struct
 * mmio_ops moves at most 8), and two would not be the one atomic access it promises. */
static enum mmio_result emulate_cmpxchg8b(struct mmio_cpu *c, const struct mmio_ops *ops,
                                          const struct insn *in, uint64_t gpa)
{
    if (in->ops[0].type != ZYDIS_OPERAND_TYPE_MEMORY || in->ops[0].size != 64)
        return MMIO_UNSUPPORTED;
    uint64_t old;
    enum mmio_result r = phys(ops, gpa, 8, false, &old);
    if (r != MMIO_DONE)
        return r;
    uint64_t expected = (c->gpr[RDX] << 32) | (uint32_t)c->gpr[RAX];
    bool equal = old == expected;
    uint64_t store = equal ? (c->gpr[RCX] << 32) | (uint32_t)c->gpr[RBX] : old;
    r = phys(ops, gpa, 8, true, &store);
    if (r != MMIO_DONE)
        return r;
    c->rflags = (c->rflags & ~RFLAGS_ZF) | (equal ? RFLAGS_ZF : 0);
    if (!equal) {
        set_gpr(c, RAX, 4, 0, (uint32_t)old);
        set_gpr(c, RDX, 4, 0, old >> 32);
    }
    return MMIO_DONE;
}

static bool is_setcc(const struct insn *in)
{
    return in->d.opcode_map == ZYDIS_OPCODE_MAP_0F && (in->d.opcode & 0xf0) == 0x90;
}

/* SETcc m8: 1 or 0 stored, no flag changed. */
static enum mmio_result emulate_setcc(struct mmio_cpu *c, const struct mmio_ops *ops,
                                      const struct insn *in, uint64_t gpa)
{
    if (in->ops[0].type != ZYDIS_OPERAND_TYPE_MEMORY || in->ops[0].size != 8)
        return MMIO_UNSUPPORTED;
    uint64_t value = alu_condition(in->d.opcode & 0xf, c->rflags) ? 1 : 0;
    return phys(ops, gpa, 1, true, &value);
}

static bool shift_of(ZydisMnemonic m, enum alu_shift *op)
{
    switch (m) {
    case ZYDIS_MNEMONIC_ROL: *op = SHIFT_ROL; return true;
    case ZYDIS_MNEMONIC_ROR: *op = SHIFT_ROR; return true;
    case ZYDIS_MNEMONIC_RCL: *op = SHIFT_RCL; return true;
    case ZYDIS_MNEMONIC_RCR: *op = SHIFT_RCR; return true;
    case ZYDIS_MNEMONIC_SHL: *op = SHIFT_SHL; return true;
    case ZYDIS_MNEMONIC_SHR: *op = SHIFT_SHR; return true;
    case ZYDIS_MNEMONIC_SAR: *op = SHIFT_SAR; return true;
    default: return false;
    }
}

/* A shift or rotate of a device register by 1, CL or imm8.  A count that masks to 0 reads
 * the register (the access the CPU made) and changes nothing: no store, no flag. */
static enum mmio_result emulate_shift(struct mmio_cpu *c, const struct mmio_ops *ops,
                                      const struct insn *in, enum alu_shift op, uint64_t gpa)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    uint64_t value, count, rflags = c->rflags;
    if (dst->type != ZYDIS_OPERAND_TYPE_MEMORY || !read_reg_operand(c, src, &count))
        return MMIO_UNSUPPORTED;
    unsigned size = dst->size / 8;
    enum mmio_result r = phys(ops, gpa, size, false, &value);
    if (r != MMIO_DONE || alu_shift_count((unsigned)count, size) == 0)
        return r;
    uint64_t result = alu_shift(op, value, (unsigned)count, size, &rflags);
    r = phys(ops, gpa, size, true, &result);
    if (r == MMIO_DONE)
        c->rflags = rflags;
    return r;
}

/* BT, BTS, BTR, BTC of a bit of a device register: CF gets the bit, BTS/BTR/BTC store it
 * set, cleared or flipped; ZF is kept and so are OF, SF, AF and PF (undefined in the SDM).
 * An immediate offset is taken modulo the operand size.  A register offset is a signed
 * index into a bit string based at the operand (SDM Vol. 2 BT, "bit base"): the CPU
 * accesses the operand-sized unit holding that bit, offset DIV (8 * size) units from the
 * operand (negative: before it), which may be another device register, RAM or an unmapped
 * page; that unit's guest-linear address is computed from the operand and reached through
 * ops->linear (the exit's address is the unit's too). */
static enum mmio_result emulate_bit(struct mmio_cpu *c, const struct mmio_ops *ops,
                                    const struct insn *in, uint64_t gpa, struct mmio_outcome *out)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    uint64_t offset, value, linear = 0;
    if (dst->type != ZYDIS_OPERAND_TYPE_MEMORY || !read_reg_operand(c, src, &offset))
        return MMIO_UNSUPPORTED;
    unsigned size = dst->size / 8, bits = size * 8;
    int64_t delta = 0;
    if (src->type == ZYDIS_OPERAND_TYPE_REGISTER)
        delta = ((int64_t)sign_extend(offset, size) >> __builtin_ctz(bits)) * (int64_t)size;
    bool writes = in->d.mnemonic != ZYDIS_MNEMONIC_BT;
    enum mmio_result r;
    if (delta == 0)
        r = phys(ops, gpa, size, false, &value);
    else if (!operand_linear(c, in, dst, delta, &linear))
        return MMIO_UNSUPPORTED;
    else if ((r = writes ? probe_write(ops, linear, size, out) : MMIO_DONE) == MMIO_DONE)
        r = linear_access(ops, linear, size, false, &value, out);
    if (r != MMIO_DONE)
        return r;
    uint64_t bit = 1ull << (offset & (bits - 1));
    if (writes) {
        uint64_t result = in->d.mnemonic == ZYDIS_MNEMONIC_BTS ? value | bit
                        : in->d.mnemonic == ZYDIS_MNEMONIC_BTR ? value & ~bit : value ^ bit;
        r = delta == 0 ? phys(ops, gpa, size, true, &result)
                       : linear_access(ops, linear, size, true, &result, out);
        if (r != MMIO_DONE)
            return r;
    }
    c->rflags = (c->rflags & ~RFLAGS_CF) | ((value & bit) ? RFLAGS_CF : 0);
    return MMIO_DONE;
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

/* ---- one instruction at an MMIO exit ------------------------------------------------------ */

/* Why a decoded instruction is not emulated, for the message that ends the partition. */
static const char *refusal(const struct insn *in)
{
    bool memory = false;
    for (unsigned i = 0; i < in->d.operand_count; i++) {
        const ZydisDecodedOperand *op = &in->ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_MEMORY && op->mem.type == ZYDIS_MEMOP_TYPE_MEM)
            memory = true;
        if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
            continue;
        switch (ZydisRegisterGetClass(op->reg.value)) {
        case ZYDIS_REGCLASS_X87: case ZYDIS_REGCLASS_MMX: case ZYDIS_REGCLASS_XMM:
        case ZYDIS_REGCLASS_YMM: case ZYDIS_REGCLASS_ZMM: case ZYDIS_REGCLASS_TMM:
        case ZYDIS_REGCLASS_MASK:
            return "x87, MMX, SSE and AVX register operands are not emulated";
        default:
            break;
        }
    }
    if (!memory)
        return "no memory operand: not the instruction that accessed the device";
    return "not an instruction form emulated here";
}

/* The non-string forms: one memory operand, at the exit's guest-physical address. */
static enum mmio_result emulate_at(struct mmio_cpu *c, const struct mmio_ops *ops,
                                   const struct insn *in, uint64_t gpa, struct mmio_outcome *out)
{
    enum alu_op op;
    enum alu_shift shift;
    unsigned operands = in->d.operand_count_visible;
    if (is_setcc(in))
        return operands == 1 ? emulate_setcc(c, ops, in, gpa) : MMIO_UNSUPPORTED;
    switch (in->d.mnemonic) {
    case ZYDIS_MNEMONIC_INC:
    case ZYDIS_MNEMONIC_DEC:
    case ZYDIS_MNEMONIC_NOT:
    case ZYDIS_MNEMONIC_NEG:
        return operands == 1 ? emulate_unary(c, ops, in, gpa) : MMIO_UNSUPPORTED;
    case ZYDIS_MNEMONIC_CMPXCHG8B:
        return operands == 1 ? emulate_cmpxchg8b(c, ops, in, gpa) : MMIO_UNSUPPORTED;
    case ZYDIS_MNEMONIC_CMPXCHG16B:
        out->refused = "CMPXCHG16B: 16 bytes are not one device access";
        return MMIO_UNSUPPORTED;
    default:
        break;
    }
    if (operands != 2)
        return MMIO_UNSUPPORTED;
    switch (in->d.mnemonic) {
    case ZYDIS_MNEMONIC_XCHG:
        return emulate_xchg(c, ops, in, gpa);
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
    case ZYDIS_MNEMONIC_MOVNTI:
        return emulate_mov(c, ops, in, gpa);
    case ZYDIS_MNEMONIC_MOVBE:
        return emulate_movbe(c, ops, in, gpa);
    case ZYDIS_MNEMONIC_XADD:
        return emulate_xadd(c, ops, in, gpa);
    case ZYDIS_MNEMONIC_CMPXCHG:
        return emulate_cmpxchg(c, ops, in, gpa);
    case ZYDIS_MNEMONIC_BT:
    case ZYDIS_MNEMONIC_BTS:
    case ZYDIS_MNEMONIC_BTR:
    case ZYDIS_MNEMONIC_BTC:
        return emulate_bit(c, ops, in, gpa, out);
    default:
        if (alu_of(in->d.mnemonic, &op))
            return emulate_alu(c, ops, in, op, gpa);
        if (shift_of(in->d.mnemonic, &shift))
            return emulate_shift(c, ops, in, shift, gpa);
        return MMIO_UNSUPPORTED;
    }
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
    out->insn = NULL;
    out->refused = NULL;
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
        out->refused = "the bytes at RIP could not be decoded";
        return MMIO_UNSUPPORTED;
    }
    out->length = in.d.length;
    out->insn = ZydisMnemonicGetString(in.d.mnemonic);
    enum string_kind kind;
    if (string_kind_of(&in, &kind)) {
        if (e->string_io && (kind != STR_INS && kind != STR_OUTS))
            return not_the_exiting_instruction(out);
        if (e->string_io && e->io_size &&
            ((kind == STR_INS) != e->io_in || string_io_size(&in) != e->io_size))
            return not_the_exiting_instruction(out);
        enum mmio_result r = emulate_string(c, ops, &in, kind, out);
        if (r == MMIO_UNSUPPORTED)
            out->refused = "not a string operand size emulated here";
        return r;
    }
    if (e->string_io)
        return not_the_exiting_instruction(out);
    enum mmio_result r = emulate_at(c, ops, &in, e->gpa, out);
    if (r == MMIO_UNSUPPORTED && !out->refused)
        out->refused = refusal(&in);
    return r;
}
