#include "hv/core/exit/mmio_alu.h"

#include "hv/lib/x86_bits.h"

#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* ZF, SF and PF of a result (PF: even parity of its low byte). */
static uint64_t zsp(uint64_t r, uint64_t sign)
{
    return (r == 0 ? RFLAGS_ZF : 0) | ((r & sign) ? RFLAGS_SF : 0) |
           ((__builtin_popcountll(r & 0xff) & 1) ? 0 : RFLAGS_PF);
}

uint64_t alu_apply(enum alu_op op, uint64_t a, uint64_t b, unsigned size, uint64_t *rflags)
{
    uint64_t mask = size_mask(size), sign = 1ull << (size * 8 - 1), r, f = 0;
    uint64_t carry = (op == ALU_ADC || op == ALU_SBB) && (*rflags & RFLAGS_CF) ? 1 : 0;
    a &= mask, b &= mask;
    switch (op) {
    case ALU_ADD:
    case ALU_ADC:
        r = (a + b + carry) & mask;
        f |= r < a || (carry && r == a) ? RFLAGS_CF : 0;
        f |= ((a ^ r) & (b ^ r) & sign) ? RFLAGS_OF : 0;
        f |= ((a ^ b ^ r) & 0x10) ? RFLAGS_AF : 0;
        break;
    case ALU_SUB:
    case ALU_SBB:
    case ALU_CMP:
        r = (a - b - carry) & mask;
        f |= a < b || (carry && a == b) ? RFLAGS_CF : 0;
        f |= ((a ^ b) & (a ^ r) & sign) ? RFLAGS_OF : 0;
        f |= ((a ^ b ^ r) & 0x10) ? RFLAGS_AF : 0;
        break;
    case ALU_OR: r = a | b; break;
    case ALU_XOR: r = a ^ b; break;
    default: r = a & b; break;          /* AND, TEST */
    }
    *rflags = (*rflags & ~RFLAGS_ARITH) | f | zsp(r, sign);
    return r;
}

unsigned alu_shift_count(unsigned count, unsigned size)
{
    return count & (size == 8 ? 0x3f : 0x1f);
}

/* The SDM's pseudo-code, a bit at a time (at most 63 steps). */
uint64_t alu_shift(enum alu_shift op, uint64_t v, unsigned count, unsigned size,
                   uint64_t *rflags)
{
    unsigned bits = size * 8, n = alu_shift_count(count, size), i;
    uint64_t mask = size_mask(size), msb = 1ull << (bits - 1), r = v & mask;
    bool cf = *rflags & RFLAGS_CF, of = false;
    if (n == 0)
        return r;
    switch (op) {
    case SHIFT_ROL:
        for (i = n % bits; i; i--)
            r = ((r << 1) | (r >> (bits - 1))) & mask;
        cf = r & 1;
        of = !!(r & msb) ^ cf;
        break;
    case SHIFT_ROR:
        for (i = n % bits; i; i--)
            r = (r >> 1) | ((r & 1) ? msb : 0);
        cf = r & msb;
        of = !!(r & msb) ^ !!(r & (msb >> 1));
        break;
    case SHIFT_RCL:
        for (i = size == 1 ? n % 9 : size == 2 ? n % 17 : n; i; i--) {
            bool out = r & msb;
            r = ((r << 1) & mask) | cf;
            cf = out;
        }
        of = !!(r & msb) ^ cf;
        break;
    case SHIFT_RCR:
        of = !!(r & msb) ^ cf;
        for (i = size == 1 ? n % 9 : size == 2 ? n % 17 : n; i; i--) {
            bool out = r & 1;
            r = (r >> 1) | (cf ? msb : 0);
            cf = out;
        }
        break;
    case SHIFT_SHL:
        for (i = n; i; i--) {
            cf = r & msb;
            r = (r << 1) & mask;
        }
        of = !!(r & msb) ^ cf;
        break;
    case SHIFT_SHR:
        for (i = n; i; i--) {
            cf = r & 1;
            r >>= 1;
        }
        of = v & msb;
        break;
    case SHIFT_SAR:
        for (i = n; i; i--) {
            cf = r & 1;
            r = (r >> 1) | (r & msb);
        }
        break;
    }
    uint64_t f = *rflags & ~(RFLAGS_CF | RFLAGS_OF);
    f |= (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0);
    if (op == SHIFT_SHL || op == SHIFT_SHR || op == SHIFT_SAR)
        f = (f & ~(RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF)) | zsp(r, msb);
    *rflags = f;
    return r;
}

bool alu_condition(unsigned cc, uint64_t rflags)
{
    bool cf = rflags & RFLAGS_CF, zf = rflags & RFLAGS_ZF, sf = rflags & RFLAGS_SF;
    bool of = rflags & RFLAGS_OF, pf = rflags & RFLAGS_PF, holds;
    switch ((cc >> 1) & 7) {
    case 0: holds = of; break;
    case 1: holds = cf; break;
    case 2: holds = zf; break;
    case 3: holds = cf || zf; break;
    case 4: holds = sf; break;
    case 5: holds = pf; break;
    case 6: holds = sf != of; break;
    default: holds = zf || sf != of; break;
    }
    return holds != (cc & 1);
}
