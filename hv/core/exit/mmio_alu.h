/*
 * x86 integer arithmetic as the CPU computes it (Intel SDM Vol. 2): the result of one
 * operation on operands of 1, 2, 4 or 8 bytes, and the arithmetic flags it leaves in
 * RFLAGS (the others untouched).  The MMIO emulator (mmio.c) applies it to device
 * registers; it computes, touches nothing, and is host-tested against the host CPU.
 *
 * Where the SDM leaves a flag undefined the choice is fixed here, as no guest can rely on
 * it: the logical operations and the shifts clear AF; a shift or rotate by a count above 1
 * sets OF by the SDM's formula for a count of 1, where its pseudo-code would evaluate it;
 * SHL and SHR by the operand size or more leave in CF the last bit shifted out, bit by
 * bit (0 once every bit has gone), as the pseudo-code's loop does.
 */
#ifndef ATOLL_HV_CORE_EXIT_MMIO_ALU_H
#define ATOLL_HV_CORE_EXIT_MMIO_ALU_H
#include <stdbool.h>
#include <stdint.h>

enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, ALU_TEST };

/* a OP b at size bytes (ADC and SBB take RFLAGS.CF in); CF, PF, AF, ZF, SF and OF set. */
uint64_t alu_apply(enum alu_op op, uint64_t a, uint64_t b, unsigned size, uint64_t *rflags);

/* The shifts and rotates in the order of their ModRM reg field (group 2; SAL is SHL). */
enum alu_shift { SHIFT_ROL, SHIFT_ROR, SHIFT_RCL, SHIFT_RCR, SHIFT_SHL, SHIFT_SHR, SHIFT_SAR };

/* v shifted or rotated by count (masked to 5 bits, 6 for 8 bytes, as the CPU masks it).
 * A masked count of 0 changes neither value nor flags; OF is the SDM's for a count of 1;
 * rotates change only CF and OF, shifts CF, OF, SF, ZF, PF (and AF, cleared). */
uint64_t alu_shift(enum alu_shift op, uint64_t v, unsigned count, unsigned size,
                   uint64_t *rflags);

/* The count that alu_shift acts on: count masked as the CPU masks it. */
unsigned alu_shift_count(unsigned count, unsigned size);

/* Whether condition cc (the low nibble of a Jcc, SETcc or CMOVcc opcode: O, NO, B, AE, E,
 * NE, BE, A, S, NS, P, NP, L, GE, LE, G) holds in rflags. */
bool alu_condition(unsigned cc, uint64_t rflags);

#endif
