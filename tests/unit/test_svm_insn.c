/* svm_insn: an intercepted instruction's length from its bytes (no NRIPS), only when the
 * bytes are the instruction the exit reports; MOV CR, CLTS, LMSW and SMSW decoded and held
 * against the CR number and direction of the exit; bytes that end early are told apart
 * from bytes that are another instruction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/svm/svm_insn.h"

#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static enum svm_decoded len_of(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                               enum svm_insn want, unsigned *length)
{
    *length = 0xdead;
    return svm_insn_decode(mode, b, got, want, length);
}

static void plain_encodings(void **state)
{
    (void)state;
    unsigned n;
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0xa2), SVM_INSN_CPUID, &n), SVM_DECODED);
    assert_int_equal(n, 2);
    assert_int_equal(len_of(MMIO_MODE_REAL16, BYTES(0xf4, 0x00), SVM_INSN_HLT, &n), SVM_DECODED);
    assert_int_equal(n, 1);
    assert_int_equal(len_of(MMIO_MODE_PROT32, BYTES(0x0f, 0x30), SVM_INSN_WRMSR, &n), SVM_DECODED);
    assert_int_equal(n, 2);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x32), SVM_INSN_RDMSR, &n), SVM_DECODED);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0xd9), SVM_INSN_VMMCALL, &n),
                     SVM_DECODED);
    assert_int_equal(n, 3);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0xd1), SVM_INSN_XSETBV, &n),
                     SVM_DECODED);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x09), SVM_INSN_WBINVD, &n), SVM_DECODED);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x08), SVM_INSN_INVD, &n), SVM_DECODED);
}

/* Prefixes the CPU accepts: the decoder gives the whole length. */
static void prefixed_forms(void **state)
{
    (void)state;
    unsigned n;
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x66, 0x0f, 0xa2), SVM_INSN_CPUID, &n),
                     SVM_DECODED);
    assert_int_equal(n, 3);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x2e, 0x3e, 0x48, 0x0f, 0x30), SVM_INSN_WRMSR, &n),
                     SVM_DECODED);
    assert_int_equal(n, 5);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0xf3, 0x0f, 0x09), SVM_INSN_WBINVD, &n),
                     SVM_DECODED);                   /* WBNOINVD: the WBINVD intercept */
    assert_int_equal(n, 3);
}

/* Bytes rewritten since the exit: not the instruction the exit reports. */
static void other_instructions(void **state)
{
    (void)state;
    unsigned n;
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x90, 0x90), SVM_INSN_CPUID, &n), SVM_DECODE_OTHER);
    assert_int_equal(n, 0xdead);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x32), SVM_INSN_WRMSR, &n),
                     SVM_DECODE_OTHER);              /* RDMSR where the exit said WRMSR */
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x0b), SVM_INSN_HLT, &n), SVM_DECODE_OTHER);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0xff, 0xff, 0xff), SVM_INSN_CPUID, &n),
                     SVM_DECODE_OTHER);
    uint8_t prefixes[SVM_INSN_MAX];                  /* 15 prefixes and no opcode: too long */
    memset(prefixes, 0x66, sizeof(prefixes));
    assert_int_equal(len_of(MMIO_MODE_LONG64, prefixes, sizeof(prefixes), SVM_INSN_CPUID, &n),
                     SVM_DECODE_OTHER);
    assert_int_equal(svm_insn_decode(MMIO_MODE_LONG64, BYTES(0x0f, 0xa2), SVM_INSN_COUNT, &n),
                     SVM_DECODE_OTHER);
}

/* The bytes stop where the guest's next page is not mapped: the fetch faults there. */
static void bytes_cut_short(void **state)
{
    (void)state;
    unsigned n;
    assert_int_equal(len_of(MMIO_MODE_LONG64, NULL, 0, SVM_INSN_HLT, &n), SVM_DECODE_SHORT);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f), SVM_INSN_CPUID, &n), SVM_DECODE_SHORT);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x01), SVM_INSN_VMMCALL, &n),
                     SVM_DECODE_SHORT);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x66, 0x66), SVM_INSN_CPUID, &n),
                     SVM_DECODE_SHORT);
    assert_int_equal(len_of(MMIO_MODE_LONG64, BYTES(0x66, 0x0f), SVM_INSN_CPUID, &n),
                     SVM_DECODE_SHORT);
}

/* ---- control registers ------------------------------------------------------------------ */

static enum svm_decoded cr_of(enum mmio_cpu_mode mode, const uint8_t *b, unsigned got,
                              struct svm_cr_insn *d)
{
    memset(d, 0xa5, sizeof(*d));
    return svm_cr_decode(mode, b, got, d);
}

static void mov_cr(void **state)
{
    (void)state;
    struct svm_cr_insn d;
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x22, 0xe0), &d), SVM_DECODED);
    assert_int_equal(d.form, SVM_CR_MOV_TO);        /* mov cr4, rax */
    assert_int_equal(d.cr, 4);
    assert_int_equal(d.gpr, 0);
    assert_int_equal(d.length, 3);
    assert_true(d.wide);
    assert_true(svm_cr_agrees(&d, 4, true));
    assert_false(svm_cr_agrees(&d, 0, true));
    assert_false(svm_cr_agrees(&d, 4, false));

    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x44, 0x0f, 0x20, 0xc3), &d), SVM_DECODED);
    assert_int_equal(d.form, SVM_CR_MOV_FROM);      /* mov rbx, cr8 (REX.R) */
    assert_int_equal(d.cr, 8);
    assert_int_equal(d.gpr, 3);
    assert_int_equal(d.length, 4);
    assert_true(svm_cr_agrees(&d, 8, false));

    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x41, 0x0f, 0x22, 0xc7), &d), SVM_DECODED);
    assert_int_equal(d.cr, 0);                      /* mov cr0, r15 (REX.B) */
    assert_int_equal(d.gpr, 15);

    assert_int_equal(cr_of(MMIO_MODE_PROT32, BYTES(0xf0, 0x0f, 0x22, 0xc1), &d), SVM_DECODED);
    assert_int_equal(d.cr, 8);                      /* AMD: LOCK mov cr0 is CR8 */
    assert_int_equal(d.gpr, 1);
    assert_false(d.wide);

    /* REX in 32-bit code is INC/DEC, not a prefix; a REX before a legacy prefix is ignored;
     * ModRM.mod is ignored. */
    assert_int_equal(cr_of(MMIO_MODE_PROT32, BYTES(0x44, 0x0f, 0x22, 0xe0), &d), SVM_DECODE_OTHER);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x44, 0x66, 0x0f, 0x22, 0xe0), &d), SVM_DECODED);
    assert_int_equal(d.cr, 4);
    assert_int_equal(d.length, 5);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x22, 0x20), &d), SVM_DECODED);
    assert_int_equal(d.cr, 4);
    assert_int_equal(d.gpr, 0);
}

static void clts_lmsw_smsw(void **state)
{
    (void)state;
    struct svm_cr_insn d;
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x06), &d), SVM_DECODED);
    assert_int_equal(d.form, SVM_CR_CLTS);
    assert_int_equal(d.length, 2);
    assert_true(svm_cr_agrees(&d, 0, true));
    assert_false(svm_cr_agrees(&d, 4, true));
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0xf0, 0x0f, 0x06), &d), SVM_DECODE_OTHER);

    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0xf2), &d), SVM_DECODED);
    assert_int_equal(d.form, SVM_CR_LMSW);          /* lmsw dx */
    assert_int_equal(d.gpr, 2);
    assert_false(d.memory);
    assert_int_equal(d.length, 3);
    assert_true(svm_cr_agrees(&d, 0, true));
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0x30), &d), SVM_DECODED);
    assert_int_equal(d.form, SVM_CR_LMSW);          /* lmsw [rax] */
    assert_true(d.memory);

    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0xe0), &d), SVM_DECODED);
    assert_int_equal(d.form, SVM_CR_SMSW);
    assert_true(svm_cr_agrees(&d, 0, false));
    assert_false(svm_cr_agrees(&d, 0, true));
}

/* What a second vCPU could leave at RIP after a CR4-write exit. */
static void disagreeing_bytes(void **state)
{
    (void)state;
    struct svm_cr_insn d;
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0xa2), &d), SVM_DECODE_OTHER);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x90, 0x0f, 0x22, 0xe0), &d), SVM_DECODE_OTHER);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0xd9), &d), SVM_DECODE_OTHER);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0xf3, 0x0f, 0x22, 0xe0), &d), SVM_DECODE_OTHER);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x22, 0xc0), &d), SVM_DECODED);
    assert_false(svm_cr_agrees(&d, 4, true));       /* mov cr0 where CR4 was written */
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f, 0x20, 0xe0), &d), SVM_DECODED);
    assert_false(svm_cr_agrees(&d, 4, true));       /* a read where a write exited */
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0xf0, 0x0f, 0x22, 0xe0), &d), SVM_DECODED);
    assert_int_equal(d.cr, 12);                     /* LOCK mov cr4: no such register */
    assert_false(svm_cr_agrees(&d, 4, true));
    assert_false(svm_cr_agrees(&d, 8, true));
}

static void cr_bytes_cut_short(void **state)
{
    (void)state;
    struct svm_cr_insn d;
    assert_int_equal(cr_of(MMIO_MODE_LONG64, NULL, 0, &d), SVM_DECODE_SHORT);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x0f), &d), SVM_DECODE_SHORT);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x48, 0x0f, 0x22), &d), SVM_DECODE_SHORT);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, BYTES(0x66, 0x66, 0x66), &d), SVM_DECODE_SHORT);
    uint8_t b[SVM_INSN_MAX + 4];                    /* prefixes past 15 bytes: never */
    memset(b, 0x2e, sizeof(b));
    assert_int_equal(cr_of(MMIO_MODE_LONG64, b, sizeof(b), &d), SVM_DECODE_OTHER);
    memset(b, 0x2e, 13);
    memcpy(b + 13, (const uint8_t[]){ 0x0f, 0x22, 0xe0 }, 3);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, b, 16, &d), SVM_DECODE_OTHER);    /* 16 bytes */
    memcpy(b + 12, (const uint8_t[]){ 0x0f, 0x22, 0xe0 }, 3);
    assert_int_equal(cr_of(MMIO_MODE_LONG64, b, 15, &d), SVM_DECODED);         /* 15 bytes */
    assert_int_equal(d.length, 15);
}

/* LMSW from memory: the operand's address as the CPU forms it. */
static void lmsw_memory_operand(void **state)
{
    (void)state;
    struct svm_mem_operand m;
    uint64_t gpr[16] = { 0 }, seg[6] = { 0x100000, 0, 0x20000, 0x5000, 0x7000000, 0 };
    assert_true(svm_lmsw_operand(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0x30), &m));
    assert_int_equal(m.length, 3);
    gpr[0] = 0x1000;                                /* lmsw [rax]: DS's base is not used */
    assert_int_equal(svm_mem_linear(&m, MMIO_MODE_LONG64, gpr, 0, seg), 0x1000);

    assert_true(svm_lmsw_operand(MMIO_MODE_LONG64, BYTES(0x64, 0x0f, 0x01, 0x34, 0x8b), &m));
    gpr[3] = 0x100, gpr[1] = 3;                     /* lmsw fs:[rbx+rcx*4] */
    assert_int_equal(svm_mem_linear(&m, MMIO_MODE_LONG64, gpr, 0, seg), 0x7000000 + 0x100 + 12);

    assert_true(svm_lmsw_operand(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0x35, 0x10, 0, 0, 0), &m));
    assert_int_equal(m.length, 7);                  /* lmsw [rip+0x10]: from the end */
    assert_int_equal(svm_mem_linear(&m, MMIO_MODE_LONG64, gpr, 0x40000000, seg),
                     0x40000000 + 7 + 0x10);

    assert_true(svm_lmsw_operand(MMIO_MODE_PROT32, BYTES(0x0f, 0x01, 0x70, 0xfc), &m));
    gpr[0] = 2;                                     /* lmsw [eax-4]: wraps at 4 GiB */
    assert_int_equal(svm_mem_linear(&m, MMIO_MODE_PROT32, gpr, 0, seg), 0x5000 - 2);

    assert_true(svm_lmsw_operand(MMIO_MODE_REAL16, BYTES(0x0f, 0x01, 0x32), &m));
    gpr[5] = 0xfff0, gpr[6] = 0x20;                 /* lmsw [bp+si]: SS, wraps at 64 KiB */
    assert_int_equal(svm_mem_linear(&m, MMIO_MODE_REAL16, gpr, 0, seg), 0x20010);

    assert_false(svm_lmsw_operand(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0x20), &m));  /* SMSW */
    assert_false(svm_lmsw_operand(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0xf0), &m));  /* lmsw ax */
    assert_false(svm_lmsw_operand(MMIO_MODE_LONG64, BYTES(0x0f, 0x01, 0x34), &m));  /* cut short */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_encodings),
        cmocka_unit_test(prefixed_forms),
        cmocka_unit_test(other_instructions),
        cmocka_unit_test(bytes_cut_short),
        cmocka_unit_test(mov_cr),
        cmocka_unit_test(clts_lmsw_smsw),
        cmocka_unit_test(disagreeing_bytes),
        cmocka_unit_test(cr_bytes_cut_short),
        cmocka_unit_test(lmsw_memory_operand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
