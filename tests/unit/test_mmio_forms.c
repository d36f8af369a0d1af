/* mmio_emulate against the host CPU.  Each instruction form a real guest may aim at a device
 * register beyond MOV and the ALU basics (ADC, SBB, BT/BTS/BTR/BTC, XADD, CMPXCHG,
 * CMPXCHG8B, SETcc, MOVNTI, MOVBE, the shifts and rotates) runs natively on a RAM buffer and
 * emulated on a device page, from the same registers, flags and bytes, at every operand
 * size and for edge values; the bytes around the operand, every register, the flags the SDM
 * defines for the form, and the length (RIP) must agree.  A form's bytes are assembled
 * once, into this test's .text as a stub that ends in RET (no code is made at run time):
 * the emulator decodes them and the host calls them.  The memory operand is [RDI]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cpuid.h>
#include <cmocka.h>

#include "hv/core/exit/mmio.h"

#define CODE     0x1000ull          /* linear address of the instruction */
#define RAM      0x100000ull        /* linear [RAM, RAM + 0x10000) is RAM */
#define DEV      0xfee00000ull      /* a device page, linear == guest-physical */
#define UNMAPPED 0x7000000ull       /* a page the guest's page tables do not map */
#define WINDOW   512                /* bytes compared around the operand */
#define AT       256                /* the operand's offset in the window */
#define DEV_AT   0x400              /* the window's offset in the device page */

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };
#define CF (1ull << 0)
#define PF (1ull << 2)
#define AF (1ull << 4)
#define ZF (1ull << 6)
#define SF (1ull << 7)
#define OF (1ull << 11)
#define ARITH (CF | PF | AF | ZF | SF | OF)

/* ---- a fake guest: code, RAM, one device page, an unmapped page, the rest all-ones ------- */

static struct {
    uint8_t code[16];
    size_t code_len;
    uint8_t ram[0x10000];
    uint8_t dev[4096];
    unsigned dev_reads, dev_writes;
} f;

static size_t fetch(void *ctx, uint64_t linear, uint8_t *buf, size_t len)
{
    if (linear != CODE)
        return 0;
    size_t n = len < f.code_len ? len : f.code_len;
    memcpy(buf, f.code, n);
    return n;
}

static enum mmio_access_result phys(void *ctx, uint64_t gpa, unsigned size, bool write,
                                    uint64_t *value)
{
    if (gpa >= DEV && gpa < DEV + 4096) {
        assert_true(gpa + size <= DEV + 4096);
        if (write) {
            f.dev_writes++;
            memcpy(f.dev + (gpa - DEV), value, size);
        } else {
            f.dev_reads++;
            *value = 0;
            memcpy(value, f.dev + (gpa - DEV), size);
        }
    } else if (!write) {
        *value = ~0ull;
    }
    return MMIO_ACCESS_OK;
}

static bool unmapped(uint64_t lin)
{
    return lin >= UNMAPPED && lin < UNMAPPED + 0x1000;
}

static enum mmio_access_result linear(void *ctx, uint64_t lin, unsigned size, bool write,
                                      uint64_t *value)
{
    if (unmapped(lin) || unmapped(lin + size - 1))
        return MMIO_ACCESS_UNMAPPED;
    if (lin >= RAM && lin + size <= RAM + sizeof(f.ram)) {
        if (write)
            memcpy(f.ram + (lin - RAM), value, size);
        else {
            *value = 0;
            memcpy(value, f.ram + (lin - RAM), size);
        }
        return MMIO_ACCESS_OK;
    }
    return phys(ctx, lin, size, write, value);
}

static enum mmio_access_result probe(void *ctx, uint64_t lin, unsigned size, bool write)
{
    return unmapped(lin) ? MMIO_ACCESS_UNMAPPED : MMIO_ACCESS_OK;
}

static void io(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    fail_msg("no form here reaches a port");
}

static const struct mmio_ops ops = { .fetch = fetch, .linear = linear, .phys = phys, .io = io,
                                     .probe = probe };

static int setup(void **state)
{
    memset(&f, 0, sizeof(f));
    return 0;
}

#define CODE_BYTES(...)                                                   \
    do {                                                                  \
        static const uint8_t b_[] = { __VA_ARGS__ };                      \
        memcpy(f.code, b_, sizeof(b_));                                   \
        f.code_len = sizeof(b_);                                          \
    } while (0)

static struct mmio_cpu cpu64(void)
{
    struct mmio_cpu c;
    memset(&c, 0, sizeof(c));
    c.rip = CODE;
    c.rflags = 0x2;
    c.mode = MMIO_MODE_LONG64;
    return c;
}

static enum mmio_result run(struct mmio_cpu *c, uint64_t gpa, struct mmio_outcome *out)
{
    struct mmio_exit e = { .gpa = gpa };
    return mmio_emulate(c, &ops, &e, out);
}

/* ---- the forms ------------------------------------------------------------------------------- */

enum kind { ALU, BITR, BITI, XADD, CMPXCHG, CMPXCHG8B, SETCC, STORE, LOAD, SHIFT };
enum shift_class { NONE, ROTATE, SHLR, SAR };

/* X(name, kind, operand bytes, shift class, count (0: CL), instruction bytes...) */
#define FORMS(X) \
    X(adc8_mr, ALU, 1, NONE, 0, 0x10, 0x0f)                                \
    X(adc8_rm, ALU, 1, NONE, 0, 0x12, 0x0f)                                \
    X(adc16_mr, ALU, 2, NONE, 0, 0x66, 0x11, 0x0f)                         \
    X(adc16_rm, ALU, 2, NONE, 0, 0x66, 0x13, 0x0f)                         \
    X(adc32_mr, ALU, 4, NONE, 0, 0x11, 0x0f)                               \
    X(adc32_rm, ALU, 4, NONE, 0, 0x13, 0x0f)                               \
    X(adc64_mr, ALU, 8, NONE, 0, 0x48, 0x11, 0x0f)                         \
    X(adc64_rm, ALU, 8, NONE, 0, 0x48, 0x13, 0x0f)                         \
    X(adc8_mr_ch, ALU, 1, NONE, 0, 0x10, 0x2f)                             \
    X(adc8_mi, ALU, 1, NONE, 0, 0x80, 0x17, 0x7f)                          \
    X(adc16_mi8, ALU, 2, NONE, 0, 0x66, 0x83, 0x17, 0x80)                  \
    X(adc16_mi, ALU, 2, NONE, 0, 0x66, 0x81, 0x17, 0x01, 0x80)             \
    X(adc32_mi, ALU, 4, NONE, 0, 0x81, 0x17, 0xff, 0xff, 0xff, 0x7f)       \
    X(adc32_mi8, ALU, 4, NONE, 0, 0x83, 0x17, 0x01)                        \
    X(adc64_mi8, ALU, 8, NONE, 0, 0x48, 0x83, 0x17, 0xff)                  \
    X(adc64_mi, ALU, 8, NONE, 0, 0x48, 0x81, 0x17, 0x00, 0x00, 0x00, 0x80) \
    X(lock_adc32_mr, ALU, 4, NONE, 0, 0xf0, 0x11, 0x0f)                    \
    X(sbb8_mr, ALU, 1, NONE, 0, 0x18, 0x0f)                                \
    X(sbb8_rm, ALU, 1, NONE, 0, 0x1a, 0x0f)                                \
    X(sbb16_mr, ALU, 2, NONE, 0, 0x66, 0x19, 0x0f)                         \
    X(sbb16_rm, ALU, 2, NONE, 0, 0x66, 0x1b, 0x0f)                         \
    X(sbb32_mr, ALU, 4, NONE, 0, 0x19, 0x0f)                               \
    X(sbb32_rm, ALU, 4, NONE, 0, 0x1b, 0x0f)                               \
    X(sbb64_mr, ALU, 8, NONE, 0, 0x48, 0x19, 0x0f)                         \
    X(sbb64_rm, ALU, 8, NONE, 0, 0x48, 0x1b, 0x0f)                         \
    X(sbb8_mr_ch, ALU, 1, NONE, 0, 0x18, 0x2f)                             \
    X(sbb8_mi, ALU, 1, NONE, 0, 0x80, 0x1f, 0x7f)                          \
    X(sbb16_mi8, ALU, 2, NONE, 0, 0x66, 0x83, 0x1f, 0x80)                  \
    X(sbb16_mi, ALU, 2, NONE, 0, 0x66, 0x81, 0x1f, 0x01, 0x80)             \
    X(sbb32_mi, ALU, 4, NONE, 0, 0x81, 0x1f, 0xff, 0xff, 0xff, 0x7f)       \
    X(sbb32_mi8, ALU, 4, NONE, 0, 0x83, 0x1f, 0x01)                        \
    X(sbb64_mi8, ALU, 8, NONE, 0, 0x48, 0x83, 0x1f, 0xff)                  \
    X(sbb64_mi, ALU, 8, NONE, 0, 0x48, 0x81, 0x1f, 0x00, 0x00, 0x00, 0x80) \
    X(lock_sbb32_mr, ALU, 4, NONE, 0, 0xf0, 0x19, 0x0f)                    \
    X(bt16_r, BITR, 2, NONE, 0, 0x66, 0x0f, 0xa3, 0x0f)                    \
    X(bt32_r, BITR, 4, NONE, 0, 0x0f, 0xa3, 0x0f)                          \
    X(bt64_r, BITR, 8, NONE, 0, 0x48, 0x0f, 0xa3, 0x0f)                    \
    X(bt16_i13, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x27, 0x13)            \
    X(bt32_i05, BITI, 4, NONE, 0, 0x0f, 0xba, 0x27, 0x05)                  \
    X(bt32_i25, BITI, 4, NONE, 0, 0x0f, 0xba, 0x27, 0x25)                  \
    X(bt32_iff, BITI, 4, NONE, 0, 0x0f, 0xba, 0x27, 0xff)                  \
    X(bt64_i3f, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x27, 0x3f)            \
    X(bt64_i21, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x27, 0x21)            \
    X(bt16_i0f, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x27, 0x0f)            \
    X(bts16_r, BITR, 2, NONE, 0, 0x66, 0x0f, 0xab, 0x0f)                   \
    X(bts32_r, BITR, 4, NONE, 0, 0x0f, 0xab, 0x0f)                         \
    X(bts64_r, BITR, 8, NONE, 0, 0x48, 0x0f, 0xab, 0x0f)                   \
    X(bts16_i13, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x2f, 0x13)           \
    X(bts32_i05, BITI, 4, NONE, 0, 0x0f, 0xba, 0x2f, 0x05)                 \
    X(bts32_i25, BITI, 4, NONE, 0, 0x0f, 0xba, 0x2f, 0x25)                 \
    X(bts32_iff, BITI, 4, NONE, 0, 0x0f, 0xba, 0x2f, 0xff)                 \
    X(bts64_i3f, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x2f, 0x3f)           \
    X(bts64_i21, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x2f, 0x21)           \
    X(bts16_i0f, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x2f, 0x0f)           \
    X(lock_bts32_r, BITR, 4, NONE, 0, 0xf0, 0x0f, 0xab, 0x0f)              \
    X(lock_bts64_i, BITI, 8, NONE, 0, 0xf0, 0x48, 0x0f, 0xba, 0x2f, 0x07)  \
    X(btr16_r, BITR, 2, NONE, 0, 0x66, 0x0f, 0xb3, 0x0f)                   \
    X(btr32_r, BITR, 4, NONE, 0, 0x0f, 0xb3, 0x0f)                         \
    X(btr64_r, BITR, 8, NONE, 0, 0x48, 0x0f, 0xb3, 0x0f)                   \
    X(btr16_i13, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x37, 0x13)           \
    X(btr32_i05, BITI, 4, NONE, 0, 0x0f, 0xba, 0x37, 0x05)                 \
    X(btr32_i25, BITI, 4, NONE, 0, 0x0f, 0xba, 0x37, 0x25)                 \
    X(btr32_iff, BITI, 4, NONE, 0, 0x0f, 0xba, 0x37, 0xff)                 \
    X(btr64_i3f, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x37, 0x3f)           \
    X(btr64_i21, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x37, 0x21)           \
    X(btr16_i0f, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x37, 0x0f)           \
    X(lock_btr32_r, BITR, 4, NONE, 0, 0xf0, 0x0f, 0xb3, 0x0f)              \
    X(lock_btr64_i, BITI, 8, NONE, 0, 0xf0, 0x48, 0x0f, 0xba, 0x37, 0x07)  \
    X(btc16_r, BITR, 2, NONE, 0, 0x66, 0x0f, 0xbb, 0x0f)                   \
    X(btc32_r, BITR, 4, NONE, 0, 0x0f, 0xbb, 0x0f)                         \
    X(btc64_r, BITR, 8, NONE, 0, 0x48, 0x0f, 0xbb, 0x0f)                   \
    X(btc16_i13, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x3f, 0x13)           \
    X(btc32_i05, BITI, 4, NONE, 0, 0x0f, 0xba, 0x3f, 0x05)                 \
    X(btc32_i25, BITI, 4, NONE, 0, 0x0f, 0xba, 0x3f, 0x25)                 \
    X(btc32_iff, BITI, 4, NONE, 0, 0x0f, 0xba, 0x3f, 0xff)                 \
    X(btc64_i3f, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x3f, 0x3f)           \
    X(btc64_i21, BITI, 8, NONE, 0, 0x48, 0x0f, 0xba, 0x3f, 0x21)           \
    X(btc16_i0f, BITI, 2, NONE, 0, 0x66, 0x0f, 0xba, 0x3f, 0x0f)           \
    X(lock_btc32_r, BITR, 4, NONE, 0, 0xf0, 0x0f, 0xbb, 0x0f)              \
    X(lock_btc64_i, BITI, 8, NONE, 0, 0xf0, 0x48, 0x0f, 0xba, 0x3f, 0x07)  \
    X(xadd8, XADD, 1, NONE, 0, 0x0f, 0xc0, 0x0f)                           \
    X(xadd16, XADD, 2, NONE, 0, 0x66, 0x0f, 0xc1, 0x0f)                    \
    X(xadd32, XADD, 4, NONE, 0, 0x0f, 0xc1, 0x0f)                          \
    X(xadd64, XADD, 8, NONE, 0, 0x48, 0x0f, 0xc1, 0x0f)                    \
    X(xadd8_ch, XADD, 1, NONE, 0, 0x0f, 0xc0, 0x2f)                        \
    X(lock_xadd32, XADD, 4, NONE, 0, 0xf0, 0x0f, 0xc1, 0x0f)               \
    X(cmpxchg8, CMPXCHG, 1, NONE, 0, 0x0f, 0xb0, 0x0f)                     \
    X(cmpxchg16, CMPXCHG, 2, NONE, 0, 0x66, 0x0f, 0xb1, 0x0f)              \
    X(cmpxchg32, CMPXCHG, 4, NONE, 0, 0x0f, 0xb1, 0x0f)                    \
    X(cmpxchg64, CMPXCHG, 8, NONE, 0, 0x48, 0x0f, 0xb1, 0x0f)              \
    X(cmpxchg8_ch, CMPXCHG, 1, NONE, 0, 0x0f, 0xb0, 0x2f)                  \
    X(lock_cmpxchg32, CMPXCHG, 4, NONE, 0, 0xf0, 0x0f, 0xb1, 0x0f)         \
    X(cmpxchg8b, CMPXCHG8B, 8, NONE, 0, 0x0f, 0xc7, 0x0f)                  \
    X(lock_cmpxchg8b, CMPXCHG8B, 8, NONE, 0, 0xf0, 0x0f, 0xc7, 0x0f)       \
    X(seto, SETCC, 1, NONE, 0, 0x0f, 0x90, 0x07)                           \
    X(setno, SETCC, 1, NONE, 0, 0x0f, 0x91, 0x07)                          \
    X(setb, SETCC, 1, NONE, 0, 0x0f, 0x92, 0x07)                           \
    X(setae, SETCC, 1, NONE, 0, 0x0f, 0x93, 0x07)                          \
    X(sete, SETCC, 1, NONE, 0, 0x0f, 0x94, 0x07)                           \
    X(setne, SETCC, 1, NONE, 0, 0x0f, 0x95, 0x07)                          \
    X(setbe, SETCC, 1, NONE, 0, 0x0f, 0x96, 0x07)                          \
    X(seta, SETCC, 1, NONE, 0, 0x0f, 0x97, 0x07)                           \
    X(sets, SETCC, 1, NONE, 0, 0x0f, 0x98, 0x07)                           \
    X(setns, SETCC, 1, NONE, 0, 0x0f, 0x99, 0x07)                          \
    X(setp, SETCC, 1, NONE, 0, 0x0f, 0x9a, 0x07)                           \
    X(setnp, SETCC, 1, NONE, 0, 0x0f, 0x9b, 0x07)                          \
    X(setl, SETCC, 1, NONE, 0, 0x0f, 0x9c, 0x07)                           \
    X(setge, SETCC, 1, NONE, 0, 0x0f, 0x9d, 0x07)                          \
    X(setle, SETCC, 1, NONE, 0, 0x0f, 0x9e, 0x07)                          \
    X(setg, SETCC, 1, NONE, 0, 0x0f, 0x9f, 0x07)                           \
    X(movnti32, STORE, 4, NONE, 0, 0x0f, 0xc3, 0x0f)                       \
    X(movnti64, STORE, 8, NONE, 0, 0x48, 0x0f, 0xc3, 0x0f)                 \
    X(movbe16_load, LOAD, 2, NONE, 0, 0x66, 0x0f, 0x38, 0xf0, 0x0f)        \
    X(movbe16_store, STORE, 2, NONE, 0, 0x66, 0x0f, 0x38, 0xf1, 0x0f)      \
    X(movbe32_load, LOAD, 4, NONE, 0, 0x0f, 0x38, 0xf0, 0x0f)              \
    X(movbe32_store, STORE, 4, NONE, 0, 0x0f, 0x38, 0xf1, 0x0f)            \
    X(movbe64_load, LOAD, 8, NONE, 0, 0x48, 0x0f, 0x38, 0xf0, 0x0f)        \
    X(movbe64_store, STORE, 8, NONE, 0, 0x48, 0x0f, 0x38, 0xf1, 0x0f)      \
    X(rol8_1, SHIFT, 1, ROTATE, 1, 0xd0, 0x07)                             \
    X(rol8_cl, SHIFT, 1, ROTATE, 0, 0xd2, 0x07)                            \
    X(rol16_1, SHIFT, 2, ROTATE, 1, 0x66, 0xd1, 0x07)                      \
    X(rol16_cl, SHIFT, 2, ROTATE, 0, 0x66, 0xd3, 0x07)                     \
    X(rol32_1, SHIFT, 4, ROTATE, 1, 0xd1, 0x07)                            \
    X(rol32_cl, SHIFT, 4, ROTATE, 0, 0xd3, 0x07)                           \
    X(rol64_1, SHIFT, 8, ROTATE, 1, 0x48, 0xd1, 0x07)                      \
    X(rol64_cl, SHIFT, 8, ROTATE, 0, 0x48, 0xd3, 0x07)                     \
    X(rol8_i09, SHIFT, 1, ROTATE, 9, 0xc0, 0x07, 0x09)                     \
    X(rol8_i11, SHIFT, 1, ROTATE, 17, 0xc0, 0x07, 0x11)                    \
    X(rol16_i11, SHIFT, 2, ROTATE, 17, 0x66, 0xc1, 0x07, 0x11)             \
    X(rol32_i05, SHIFT, 4, ROTATE, 5, 0xc1, 0x07, 0x05)                    \
    X(rol32_i20, SHIFT, 4, ROTATE, 32, 0xc1, 0x07, 0x20)                   \
    X(rol64_i41, SHIFT, 8, ROTATE, 65, 0x48, 0xc1, 0x07, 0x41)             \
    X(rol64_i3f, SHIFT, 8, ROTATE, 63, 0x48, 0xc1, 0x07, 0x3f)             \
    X(ror8_1, SHIFT, 1, ROTATE, 1, 0xd0, 0x0f)                             \
    X(ror8_cl, SHIFT, 1, ROTATE, 0, 0xd2, 0x0f)                            \
    X(ror16_1, SHIFT, 2, ROTATE, 1, 0x66, 0xd1, 0x0f)                      \
    X(ror16_cl, SHIFT, 2, ROTATE, 0, 0x66, 0xd3, 0x0f)                     \
    X(ror32_1, SHIFT, 4, ROTATE, 1, 0xd1, 0x0f)                            \
    X(ror32_cl, SHIFT, 4, ROTATE, 0, 0xd3, 0x0f)                           \
    X(ror64_1, SHIFT, 8, ROTATE, 1, 0x48, 0xd1, 0x0f)                      \
    X(ror64_cl, SHIFT, 8, ROTATE, 0, 0x48, 0xd3, 0x0f)                     \
    X(ror8_i09, SHIFT, 1, ROTATE, 9, 0xc0, 0x0f, 0x09)                     \
    X(ror8_i11, SHIFT, 1, ROTATE, 17, 0xc0, 0x0f, 0x11)                    \
    X(ror16_i11, SHIFT, 2, ROTATE, 17, 0x66, 0xc1, 0x0f, 0x11)             \
    X(ror32_i05, SHIFT, 4, ROTATE, 5, 0xc1, 0x0f, 0x05)                    \
    X(ror32_i20, SHIFT, 4, ROTATE, 32, 0xc1, 0x0f, 0x20)                   \
    X(ror64_i41, SHIFT, 8, ROTATE, 65, 0x48, 0xc1, 0x0f, 0x41)             \
    X(ror64_i3f, SHIFT, 8, ROTATE, 63, 0x48, 0xc1, 0x0f, 0x3f)             \
    X(rcl8_1, SHIFT, 1, ROTATE, 1, 0xd0, 0x17)                             \
    X(rcl8_cl, SHIFT, 1, ROTATE, 0, 0xd2, 0x17)                            \
    X(rcl16_1, SHIFT, 2, ROTATE, 1, 0x66, 0xd1, 0x17)                      \
    X(rcl16_cl, SHIFT, 2, ROTATE, 0, 0x66, 0xd3, 0x17)                     \
    X(rcl32_1, SHIFT, 4, ROTATE, 1, 0xd1, 0x17)                            \
    X(rcl32_cl, SHIFT, 4, ROTATE, 0, 0xd3, 0x17)                           \
    X(rcl64_1, SHIFT, 8, ROTATE, 1, 0x48, 0xd1, 0x17)                      \
    X(rcl64_cl, SHIFT, 8, ROTATE, 0, 0x48, 0xd3, 0x17)                     \
    X(rcl8_i09, SHIFT, 1, ROTATE, 9, 0xc0, 0x17, 0x09)                     \
    X(rcl8_i11, SHIFT, 1, ROTATE, 17, 0xc0, 0x17, 0x11)                    \
    X(rcl16_i11, SHIFT, 2, ROTATE, 17, 0x66, 0xc1, 0x17, 0x11)             \
    X(rcl32_i05, SHIFT, 4, ROTATE, 5, 0xc1, 0x17, 0x05)                    \
    X(rcl32_i20, SHIFT, 4, ROTATE, 32, 0xc1, 0x17, 0x20)                   \
    X(rcl64_i41, SHIFT, 8, ROTATE, 65, 0x48, 0xc1, 0x17, 0x41)             \
    X(rcl64_i3f, SHIFT, 8, ROTATE, 63, 0x48, 0xc1, 0x17, 0x3f)             \
    X(rcr8_1, SHIFT, 1, ROTATE, 1, 0xd0, 0x1f)                             \
    X(rcr8_cl, SHIFT, 1, ROTATE, 0, 0xd2, 0x1f)                            \
    X(rcr16_1, SHIFT, 2, ROTATE, 1, 0x66, 0xd1, 0x1f)                      \
    X(rcr16_cl, SHIFT, 2, ROTATE, 0, 0x66, 0xd3, 0x1f)                     \
    X(rcr32_1, SHIFT, 4, ROTATE, 1, 0xd1, 0x1f)                            \
    X(rcr32_cl, SHIFT, 4, ROTATE, 0, 0xd3, 0x1f)                           \
    X(rcr64_1, SHIFT, 8, ROTATE, 1, 0x48, 0xd1, 0x1f)                      \
    X(rcr64_cl, SHIFT, 8, ROTATE, 0, 0x48, 0xd3, 0x1f)                     \
    X(rcr8_i09, SHIFT, 1, ROTATE, 9, 0xc0, 0x1f, 0x09)                     \
    X(rcr8_i11, SHIFT, 1, ROTATE, 17, 0xc0, 0x1f, 0x11)                    \
    X(rcr16_i11, SHIFT, 2, ROTATE, 17, 0x66, 0xc1, 0x1f, 0x11)             \
    X(rcr32_i05, SHIFT, 4, ROTATE, 5, 0xc1, 0x1f, 0x05)                    \
    X(rcr32_i20, SHIFT, 4, ROTATE, 32, 0xc1, 0x1f, 0x20)                   \
    X(rcr64_i41, SHIFT, 8, ROTATE, 65, 0x48, 0xc1, 0x1f, 0x41)             \
    X(rcr64_i3f, SHIFT, 8, ROTATE, 63, 0x48, 0xc1, 0x1f, 0x3f)             \
    X(shl8_1, SHIFT, 1, SHLR, 1, 0xd0, 0x27)                               \
    X(shl8_cl, SHIFT, 1, SHLR, 0, 0xd2, 0x27)                              \
    X(shl16_1, SHIFT, 2, SHLR, 1, 0x66, 0xd1, 0x27)                        \
    X(shl16_cl, SHIFT, 2, SHLR, 0, 0x66, 0xd3, 0x27)                       \
    X(shl32_1, SHIFT, 4, SHLR, 1, 0xd1, 0x27)                              \
    X(shl32_cl, SHIFT, 4, SHLR, 0, 0xd3, 0x27)                             \
    X(shl64_1, SHIFT, 8, SHLR, 1, 0x48, 0xd1, 0x27)                        \
    X(shl64_cl, SHIFT, 8, SHLR, 0, 0x48, 0xd3, 0x27)                       \
    X(shl8_i09, SHIFT, 1, SHLR, 9, 0xc0, 0x27, 0x09)                       \
    X(shl8_i11, SHIFT, 1, SHLR, 17, 0xc0, 0x27, 0x11)                      \
    X(shl16_i11, SHIFT, 2, SHLR, 17, 0x66, 0xc1, 0x27, 0x11)               \
    X(shl32_i05, SHIFT, 4, SHLR, 5, 0xc1, 0x27, 0x05)                      \
    X(shl32_i20, SHIFT, 4, SHLR, 32, 0xc1, 0x27, 0x20)                     \
    X(shl64_i41, SHIFT, 8, SHLR, 65, 0x48, 0xc1, 0x27, 0x41)               \
    X(shl64_i3f, SHIFT, 8, SHLR, 63, 0x48, 0xc1, 0x27, 0x3f)               \
    X(shr8_1, SHIFT, 1, SHLR, 1, 0xd0, 0x2f)                               \
    X(shr8_cl, SHIFT, 1, SHLR, 0, 0xd2, 0x2f)                              \
    X(shr16_1, SHIFT, 2, SHLR, 1, 0x66, 0xd1, 0x2f)                        \
    X(shr16_cl, SHIFT, 2, SHLR, 0, 0x66, 0xd3, 0x2f)                       \
    X(shr32_1, SHIFT, 4, SHLR, 1, 0xd1, 0x2f)                              \
    X(shr32_cl, SHIFT, 4, SHLR, 0, 0xd3, 0x2f)                             \
    X(shr64_1, SHIFT, 8, SHLR, 1, 0x48, 0xd1, 0x2f)                        \
    X(shr64_cl, SHIFT, 8, SHLR, 0, 0x48, 0xd3, 0x2f)                       \
    X(shr8_i09, SHIFT, 1, SHLR, 9, 0xc0, 0x2f, 0x09)                       \
    X(shr8_i11, SHIFT, 1, SHLR, 17, 0xc0, 0x2f, 0x11)                      \
    X(shr16_i11, SHIFT, 2, SHLR, 17, 0x66, 0xc1, 0x2f, 0x11)               \
    X(shr32_i05, SHIFT, 4, SHLR, 5, 0xc1, 0x2f, 0x05)                      \
    X(shr32_i20, SHIFT, 4, SHLR, 32, 0xc1, 0x2f, 0x20)                     \
    X(shr64_i41, SHIFT, 8, SHLR, 65, 0x48, 0xc1, 0x2f, 0x41)               \
    X(shr64_i3f, SHIFT, 8, SHLR, 63, 0x48, 0xc1, 0x2f, 0x3f)               \
    X(sar8_1, SHIFT, 1, SAR, 1, 0xd0, 0x3f)                                \
    X(sar8_cl, SHIFT, 1, SAR, 0, 0xd2, 0x3f)                               \
    X(sar16_1, SHIFT, 2, SAR, 1, 0x66, 0xd1, 0x3f)                         \
    X(sar16_cl, SHIFT, 2, SAR, 0, 0x66, 0xd3, 0x3f)                        \
    X(sar32_1, SHIFT, 4, SAR, 1, 0xd1, 0x3f)                               \
    X(sar32_cl, SHIFT, 4, SAR, 0, 0xd3, 0x3f)                              \
    X(sar64_1, SHIFT, 8, SAR, 1, 0x48, 0xd1, 0x3f)                         \
    X(sar64_cl, SHIFT, 8, SAR, 0, 0x48, 0xd3, 0x3f)                        \
    X(sar8_i09, SHIFT, 1, SAR, 9, 0xc0, 0x3f, 0x09)                        \
    X(sar8_i11, SHIFT, 1, SAR, 17, 0xc0, 0x3f, 0x11)                       \
    X(sar16_i11, SHIFT, 2, SAR, 17, 0x66, 0xc1, 0x3f, 0x11)                \
    X(sar32_i05, SHIFT, 4, SAR, 5, 0xc1, 0x3f, 0x05)                       \
    X(sar32_i20, SHIFT, 4, SAR, 32, 0xc1, 0x3f, 0x20)                      \
    X(sar64_i41, SHIFT, 8, SAR, 65, 0x48, 0xc1, 0x3f, 0x41)                \
    X(sar64_i3f, SHIFT, 8, SAR, 63, 0x48, 0xc1, 0x3f, 0x3f)                \
    X(sal32_1, SHIFT, 4, SHLR, 1, 0xd1, 0x37)

#define STUB(id, kind, size, sh, count, ...)                                               \
    __asm__(".pushsection .text\n" #id "_stub:\n\t.byte " #__VA_ARGS__ "\n\tret\n\t.popsection"); \
    void id##_stub(void);                                                                  \
    static const uint8_t id##_bytes[] = { __VA_ARGS__ };
FORMS(STUB)

struct form {
    const char *name;
    const uint8_t *bytes;
    unsigned len;
    void (*stub)(void);
    enum kind kind;
    unsigned size;
    enum shift_class sh;
    unsigned count;
};

#define ENTRY(id, kind, size, sh, count, ...) \
    { #id, id##_bytes, sizeof(id##_bytes), id##_stub, kind, size, sh, count },
static const struct form forms[] = { FORMS(ENTRY) };

/* ---- running one case both ways ----------------------------------------------------------- */

struct regs {
    uint64_t gpr[8];                /* RSP and RBP unused */
    uint64_t rflags;
};

/* The stub called with RAX..RDI and the arithmetic flags from r, which gets them back.  The
 * red zone is stepped over before the call pushes. */
static void host_run(void (*stub)(void), struct regs *r)
{
    uint64_t a = r->gpr[RAX], c = r->gpr[RCX], d = r->gpr[RDX], b = r->gpr[RBX];
    uint64_t si = r->gpr[RSI], di = r->gpr[RDI], fl = r->rflags & ARITH;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "pushfq\n\t"
                     "andq %[keep], (%%rsp)\n\t"
                     "orq %[fl], (%%rsp)\n\t"
                     "popfq\n\t"
                     "call *%[stub]\n\t"
                     "pushfq\n\t"
                     "popq %[fl]\n\t"
                     "add $128, %%rsp"
                     : "+a"(a), "+c"(c), "+d"(d), "+b"(b), "+S"(si), "+D"(di), [fl] "+r"(fl)
                     : [stub] "r"(stub), [keep] "i"(~ARITH)
                     : "cc", "memory");
    r->gpr[RAX] = a, r->gpr[RCX] = c, r->gpr[RDX] = d, r->gpr[RBX] = b;
    r->gpr[RSI] = si, r->gpr[RDI] = di, r->rflags = fl;
}

/* The flags the SDM defines after the form (unaffected ones included); OF after a shift or
 * rotate by more than 1, CF after SHL or SHR by the operand size or more, and AF after a
 * shift, are undefined, as are OF, SF, AF and PF after BT*. */
static uint64_t defined_flags(const struct form *fm, uint64_t rcx)
{
    if (fm->kind == BITR || fm->kind == BITI)
        return CF | ZF;
    if (fm->kind != SHIFT)
        return ARITH;
    unsigned n = (fm->count ? fm->count : (unsigned)(rcx & 0xff)) & (fm->size == 8 ? 63 : 31);
    if (n == 0)
        return ARITH;
    uint64_t d = CF | (n == 1 ? OF : 0);
    if (fm->sh == ROTATE)
        return d | SF | ZF | AF | PF;
    if (fm->sh == SHLR && n >= fm->size * 8)
        d &= ~CF;
    return d | SF | ZF | PF;
}

static unsigned failures;

static void run_case(const struct form *fm, const struct regs *in, const uint8_t *window)
{
    static uint8_t host[WINDOW];
    memcpy(host, window, WINDOW);
    struct regs h = *in;
    h.gpr[RDI] = (uint64_t)(uintptr_t)(host + AT);
    host_run(fm->stub, &h);

    memcpy(f.dev + DEV_AT, window, WINDOW);
    memcpy(f.code, fm->bytes, fm->len);
    f.code_len = fm->len;
    struct mmio_cpu c = cpu64();
    memcpy(c.gpr, in->gpr, sizeof(in->gpr));
    c.gpr[RDI] = DEV + DEV_AT + AT;
    c.rflags = 0x2 | (in->rflags & ARITH);
    struct mmio_outcome out;
    enum mmio_result r = run(&c, DEV + DEV_AT + AT, &out);

    uint64_t defined = defined_flags(fm, in->gpr[RCX]);
    bool ok = r == MMIO_DONE && out.length == fm->len &&
              mmio_next_rip(c.mode, c.rip, out.length) == CODE + fm->len &&
              memcmp(host, f.dev + DEV_AT, WINDOW) == 0 &&
              ((h.rflags ^ c.rflags) & defined) == 0 && (c.rflags & ~ARITH) == 0x2 &&
              c.gpr[RDI] == DEV + DEV_AT + AT;
    static const unsigned compared[] = { RAX, RCX, RDX, RBX, RSI };
    for (unsigned i = 0; i < sizeof(compared) / sizeof(compared[0]); i++)
        ok = ok && h.gpr[compared[i]] == c.gpr[compared[i]];
    if (ok)
        return;
    uint64_t hm, em;
    memcpy(&hm, host + AT, 8);
    memcpy(&em, f.dev + DEV_AT + AT, 8);
    print_error("%s: in: mem %#llx rax %#llx rcx %#llx rdx %#llx rbx %#llx flags %#llx\n"
                "  result %d length %u; host: mem %#llx rax %#llx rcx %#llx rdx %#llx flags %#llx;"
                " emulated: mem %#llx rax %#llx rcx %#llx rdx %#llx flags %#llx (compared %#llx)%s\n",
                fm->name, (unsigned long long)*(const uint64_t *)(window + AT),
                (unsigned long long)in->gpr[RAX], (unsigned long long)in->gpr[RCX],
                (unsigned long long)in->gpr[RDX], (unsigned long long)in->gpr[RBX],
                (unsigned long long)in->rflags, r, out.length, (unsigned long long)hm,
                (unsigned long long)h.gpr[RAX], (unsigned long long)h.gpr[RCX],
                (unsigned long long)h.gpr[RDX], (unsigned long long)h.rflags,
                (unsigned long long)em, (unsigned long long)c.gpr[RAX],
                (unsigned long long)c.gpr[RCX], (unsigned long long)c.gpr[RDX],
                (unsigned long long)c.rflags, (unsigned long long)defined,
                memcmp(host, f.dev + DEV_AT, WINDOW) ? " (memory differs)" : "");
    if (++failures > 20)
        fail_msg("too many mismatches");
}

static const uint64_t values[] = {
    0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff,
    0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
    ~0ull, 0x0123456789abcdefull, 0xfedcba9876543210ull, 0x5555555555555555ull,
    0xaaaaaaaaaaaaaaaaull, 0x00000000ffff0001ull, 0x8000000080008080ull,
};
#define NVALUES (sizeof(values) / sizeof(values[0]))

static const uint64_t flag_sets[] = { 0, CF, ARITH, CF | ZF | OF, PF | AF | SF, ZF };
#define NFLAGS (sizeof(flag_sets) / sizeof(flag_sets[0]))

/* Bytes that differ from their neighbours, so a stray byte written shows. */
static void fill_window(uint8_t *w, unsigned seed, uint64_t operand)
{
    for (unsigned i = 0; i < WINDOW; i++)
        w[i] = (uint8_t)(i * 37 + seed * 101 + 11);
    memcpy(w + AT, &operand, 8);
}

/* The registers for memory value mem and register value v: every third case RAX (and EDX:EAX)
 * equals the memory, so CMPXCHG and CMPXCHG8B take both ways. */
static struct regs regs_for(uint64_t mem, unsigned j, uint64_t flags)
{
    uint64_t v = values[j];
    struct regs r = { .rflags = flags };
    r.gpr[RAX] = j % 3 == 0 ? mem : v ^ 0x1111111111111111ull;
    r.gpr[RDX] = j % 3 == 0 ? mem >> 32 : ~v;
    r.gpr[RCX] = v;
    r.gpr[RBX] = v * 0x9e3779b97f4a7c15ull;
    r.gpr[RSI] = 0x5eed5eed5eed5eedull;
    return r;
}

static void check_operands(const struct form *fm)
{
    uint8_t w[WINDOW];
    for (unsigned i = 0; i < NVALUES; i++)
        for (unsigned j = 0; j < NVALUES; j++)
            for (unsigned k = 0; k < NFLAGS; k++) {
                fill_window(w, i + j, values[i]);
                struct regs r = regs_for(values[i], j, flag_sets[k]);
                run_case(fm, &r, w);
            }
}

static void check_shift(const struct form *fm)
{
    static const uint64_t counts[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63,
                                       64, 65, 0xff, 0x100 };
    uint8_t w[WINDOW];
    for (unsigned i = 0; i < NVALUES; i++)
        for (unsigned j = 0; j < sizeof(counts) / sizeof(counts[0]); j++)
            for (unsigned k = 0; k < NFLAGS; k++) {
                fill_window(w, i + j, values[i]);
                struct regs r = regs_for(values[i], j, flag_sets[k]);
                r.gpr[RCX] = 0xabcd000000000000ull | counts[j];
                run_case(fm, &r, w);
            }
}

/* Register offsets: signed, reaching units before and after the operand within the window
 * (a 16-bit offset takes only CX, whatever is above it). */
static void check_bit_string(const struct form *fm)
{
    static const int64_t offsets[] = { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100,
                                       1000, 1900, -1, -2, -8, -15, -16, -17, -32, -33, -64,
                                       -65, -100, -1000, -1900, 0x12340005, 0xffff0010,
                                       0x7fffffff, -0x80000000ll };
    uint8_t w[WINDOW];
    for (unsigned i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        int64_t off = offsets[i];
        if (fm->size == 2)
            off = (int16_t)off;
        else if (fm->size == 4)
            off = (int32_t)off;
        int64_t unit = off >= 0 ? off / (fm->size * 8) : -((-off + fm->size * 8 - 1) / (fm->size * 8));
        if (AT + unit * (int64_t)fm->size < 0 || AT + (unit + 1) * (int64_t)fm->size > WINDOW)
            continue;               /* beyond what is compared: the directed tests */
        for (unsigned j = 0; j < 4; j++)
            for (unsigned k = 0; k < NFLAGS; k++) {
                fill_window(w, i * 4 + j, values[j * 5 + 3]);
                struct regs r = regs_for(values[j], j + 1, flag_sets[k]);
                r.gpr[RCX] = (uint64_t)offsets[i];
                run_case(fm, &r, w);
            }
    }
}

/* Every condition under every combination of the six arithmetic flags. */
static void check_setcc(const struct form *fm)
{
    static const uint64_t bit[6] = { CF, PF, AF, ZF, SF, OF };
    uint8_t w[WINDOW];
    for (unsigned m = 0; m < 64; m++) {
        uint64_t flags = 0;
        for (unsigned b = 0; b < 6; b++)
            flags |= (m >> b & 1) ? bit[b] : 0;
        fill_window(w, m, values[m % NVALUES]);
        struct regs r = regs_for(values[m % NVALUES], m % NVALUES, flags);
        run_case(fm, &r, w);
    }
}

static bool host_has_movbe(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 22));
}

static void check_form(const struct form *fm)
{
    if (!strncmp(fm->name, "movbe", 5) && !host_has_movbe()) {
        print_message("%s: not checked, this host has no MOVBE\n", fm->name);
        return;
    }
    switch (fm->kind) {
    case SHIFT: check_shift(fm); break;
    case BITR: check_bit_string(fm); break;
    case SETCC: check_setcc(fm); break;
    default: check_operands(fm); break;
    }
}

static void check_kind(enum kind kind)
{
    unsigned checked = 0;
    failures = 0;
    for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        if (forms[i].kind == kind) {
            check_form(&forms[i]);
            checked++;
        }
    assert_true(checked > 0);
    assert_int_equal(failures, 0);
}

static void test_adc_sbb(void **state) { check_kind(ALU); }
static void test_bit_register_offset(void **state) { check_kind(BITR); }
static void test_bit_immediate_offset(void **state) { check_kind(BITI); }
static void test_xadd(void **state) { check_kind(XADD); }
static void test_cmpxchg(void **state) { check_kind(CMPXCHG); }
static void test_cmpxchg8b(void **state) { check_kind(CMPXCHG8B); }
static void test_setcc(void **state) { check_kind(SETCC); }
static void test_movnti_movbe_store(void **state) { check_kind(STORE); }
static void test_movbe_load(void **state) { check_kind(LOAD); }
static void test_shift_rotate(void **state) { check_kind(SHIFT); }

/* ---- bit strings beyond the operand ------------------------------------------------------- */

/* BTS with a register offset far past the operand: the unit it reaches is computed from the
 * operand's address (RIP-relative, FS-based, 32-bit DS-based), whatever the exit said. */
static void test_bit_string_reaches_past_the_operand(void **state)
{
    struct mmio_cpu c = cpu64();
    struct mmio_outcome out;
    CODE_BYTES(0x0f, 0xab, 0x0d, 0xf9, 0xf1, 0x0f, 0x00);  /* bts [rip + 0xff1f9], ecx */
    c.gpr[RCX] = 40;                                        /* [RAM + 0x200] + 4, bit 8 */
    assert_int_equal(run(&c, RAM + 0x204, &out), MMIO_DONE);
    assert_int_equal(out.length, 7);
    assert_int_equal(f.ram[0x205], 1);
    assert_int_equal(f.ram[0x201], 0);

    CODE_BYTES(0x64, 0x48, 0x0f, 0xab, 0x0f);               /* bts fs:[rdi], rcx */
    c.seg_base[MMIO_SEG_FS] = DEV;
    c.seg_base[MMIO_SEG_DS] = 0x5000;                       /* no base in 64-bit mode */
    c.gpr[RDI] = 0x300;
    c.gpr[RCX] = (uint64_t)-63;                             /* the qword before, bit 1 */
    assert_int_equal(run(&c, DEV + 0x2f8, &out), MMIO_DONE);
    assert_int_equal(f.dev[0x2f8], 2);

    c = cpu64();
    c.mode = MMIO_MODE_PROT32;
    c.seg_base[MMIO_SEG_DS] = DEV - 0x1000;
    CODE_BYTES(0x0f, 0xb3, 0x0f);                           /* btr [edi], ecx */
    c.gpr[RDI] = 0xffffffff00001100ull;                     /* EDI alone addresses */
    c.gpr[RCX] = (uint32_t)-1;                              /* the dword before, bit 31 */
    f.dev[0xff] = 0xff;
    assert_int_equal(run(&c, DEV + 0xfc, &out), MMIO_DONE);
    assert_int_equal(f.dev[0xff], 0x7f);
    assert_true(c.rflags & CF);

    /* into RAM, and a bit that is already set: CF=1, stored all the same */
    c = cpu64();
    CODE_BYTES(0x0f, 0xab, 0x0f);                           /* bts [rdi], ecx */
    c.gpr[RDI] = RAM + 0x100;
    c.gpr[RCX] = 8 * 0x40 + 3;
    f.ram[0x140] = 0x08;
    assert_int_equal(run(&c, RAM + 0x140, &out), MMIO_DONE);
    assert_int_equal(f.ram[0x140], 0x08);
    assert_true(c.rflags & CF);
}

/* A unit in a page the guest does not map: #PF there (CR2 the unit), nothing changed. */
static void test_bit_string_into_an_unmapped_page(void **state)
{
    struct mmio_cpu c = cpu64();
    struct mmio_outcome out;
    CODE_BYTES(0x48, 0x0f, 0xa3, 0x0f);                     /* bt [rdi], rcx */
    c.gpr[RDI] = UNMAPPED + 0x1008;
    c.gpr[RCX] = (uint64_t)-65;                             /* 16 bytes before */
    c.rflags = 0x2 | ZF;
    assert_int_equal(run(&c, UNMAPPED + 0x1008, &out), MMIO_UNMAPPED);
    assert_int_equal(out.linear, UNMAPPED + 0xff8);
    assert_false(out.write);
    assert_int_equal(c.rflags, 0x2 | ZF);
    CODE_BYTES(0x48, 0x0f, 0xab, 0x0f);                     /* bts: the store's #PF comes first */
    assert_int_equal(run(&c, UNMAPPED + 0x1008, &out), MMIO_UNMAPPED);
    assert_true(out.write);
    assert_int_equal(f.dev_reads + f.dev_writes, 0);
}

/* ---- what the CPU refuses, and what is refused here ----------------------------------------- */

/* LOCK where the SDM does not allow it, and forms with no memory operand where they need one,
 * are #UD before any access. */
static void test_lock_and_register_forms_raise_ud(void **state)
{
    struct mmio_cpu c = cpu64();
    struct mmio_outcome out;
    c.gpr[RDI] = DEV;
    CODE_BYTES(0xf0, 0x0f, 0xa3, 0x0f);                     /* lock bt [rdi], ecx */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    assert_int_equal(out.vector, 6);
    CODE_BYTES(0xf0, 0x0f, 0x94, 0x07);                     /* lock sete [rdi] */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    CODE_BYTES(0xf0, 0xd1, 0x27);                           /* lock shl dword [rdi], 1 */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    CODE_BYTES(0xf0, 0x0f, 0x38, 0xf1, 0x0f);               /* lock movbe [rdi], ecx */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    CODE_BYTES(0xf0, 0x0f, 0xc3, 0x0f);                     /* lock movnti [rdi], ecx */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    CODE_BYTES(0xf0, 0x13, 0x0f);                           /* lock adc ecx, [rdi] */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    CODE_BYTES(0x0f, 0xc7, 0xc8);                           /* cmpxchg8b with a register */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    CODE_BYTES(0x0f, 0x38, 0xf0, 0xc8);                     /* movbe ecx, eax */
    assert_int_equal(run(&c, DEV, &out), MMIO_INVALID);
    assert_int_equal(f.dev_reads + f.dev_writes, 0);
    /* with LOCK where it is allowed: emulated */
    CODE_BYTES(0xf0, 0x0f, 0xc7, 0x0f);                     /* lock cmpxchg8b [rdi] */
    assert_int_equal(run(&c, DEV, &out), MMIO_DONE);
}

/* A shift by a count that masks to 0 reads the register and stores nothing. */
static void test_shift_by_zero_stores_nothing(void **state)
{
    struct mmio_cpu c = cpu64();
    struct mmio_outcome out;
    CODE_BYTES(0xd3, 0x27);                                 /* shl dword [rdi], cl */
    c.gpr[RCX] = 32;
    c.rflags = 0x2 | CF | OF;
    assert_int_equal(run(&c, DEV, &out), MMIO_DONE);
    assert_int_equal(f.dev_reads, 1);
    assert_int_equal(f.dev_writes, 0);
    assert_int_equal(c.rflags, 0x2 | CF | OF);
    CODE_BYTES(0xc1, 0x27, 0x21);                           /* shl dword [rdi], 33: by 1 */
    f.dev[0] = 0x80;
    assert_int_equal(run(&c, DEV, &out), MMIO_DONE);
    assert_int_equal(f.dev[1], 1);
    assert_int_equal(f.dev_writes, 1);
}

/* 64-bit device accesses in 32-bit code: CMPXCHG8B is one 8-byte access; REX does not exist
 * there (0x48 is DEC EAX, no memory operand), and x87, MMX and SSE loads are refused with
 * the reason, nothing accessed; so is CMPXCHG16B in 64-bit code. */
static void test_64_bit_accesses_from_32_bit_code(void **state)
{
    struct mmio_cpu c = cpu64();
    struct mmio_outcome out;
    c.mode = MMIO_MODE_PROT32;
    c.gpr[RDI] = DEV + 0x10;
    c.gpr[RAX] = 0x44332211;
    c.gpr[RDX] = 0x88776655;
    c.gpr[RBX] = 0xddccbbaa;
    c.gpr[RCX] = 0x1100ffee;
    memcpy(f.dev + 0x10, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    CODE_BYTES(0xf0, 0x0f, 0xc7, 0x0f);                     /* lock cmpxchg8b [edi] */
    assert_int_equal(run(&c, DEV + 0x10, &out), MMIO_DONE);
    assert_memory_equal(f.dev + 0x10, "\xaa\xbb\xcc\xdd\xee\xff\x00\x11", 8);
    assert_true(c.rflags & ZF);
    assert_int_equal(f.dev_reads, 1);
    assert_int_equal(f.dev_writes, 1);

    unsigned accesses = f.dev_reads + f.dev_writes;
    CODE_BYTES(0x48, 0x89, 0x0f);                           /* dec eax; mov [edi], ecx */
    assert_int_equal(run(&c, DEV + 0x10, &out), MMIO_UNSUPPORTED);
    assert_string_equal(out.insn, "dec");
    assert_non_null(strstr(out.refused, "no memory operand"));
    CODE_BYTES(0xf3, 0x0f, 0x7e, 0x07);                     /* movq xmm0, [edi] */
    assert_int_equal(run(&c, DEV + 0x10, &out), MMIO_UNSUPPORTED);
    assert_non_null(strstr(out.refused, "SSE"));
    CODE_BYTES(0x0f, 0x6f, 0x07);                           /* movq mm0, [edi] */
    assert_int_equal(run(&c, DEV + 0x10, &out), MMIO_UNSUPPORTED);
    assert_non_null(strstr(out.refused, "MMX"));
    CODE_BYTES(0xdf, 0x2f);                                 /* fild qword [edi] */
    assert_int_equal(run(&c, DEV + 0x10, &out), MMIO_UNSUPPORTED);
    assert_non_null(strstr(out.refused, "x87"));
    c.mode = MMIO_MODE_LONG64;
    CODE_BYTES(0xf0, 0x48, 0x0f, 0xc7, 0x0f);               /* lock cmpxchg16b [rdi] */
    assert_int_equal(run(&c, DEV + 0x10, &out), MMIO_UNSUPPORTED);
    assert_string_equal(out.insn, "cmpxchg16b");
    assert_non_null(strstr(out.refused, "16 bytes"));
    assert_int_equal(f.dev_reads + f.dev_writes, accesses);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_adc_sbb, setup),
        cmocka_unit_test_setup(test_bit_register_offset, setup),
        cmocka_unit_test_setup(test_bit_immediate_offset, setup),
        cmocka_unit_test_setup(test_xadd, setup),
        cmocka_unit_test_setup(test_cmpxchg, setup),
        cmocka_unit_test_setup(test_cmpxchg8b, setup),
        cmocka_unit_test_setup(test_setcc, setup),
        cmocka_unit_test_setup(test_movnti_movbe_store, setup),
        cmocka_unit_test_setup(test_movbe_load, setup),
        cmocka_unit_test_setup(test_shift_rotate, setup),
        cmocka_unit_test_setup(test_bit_string_reaches_past_the_operand, setup),
        cmocka_unit_test_setup(test_bit_string_into_an_unmapped_page, setup),
        cmocka_unit_test_setup(test_lock_and_register_forms_raise_ud, setup),
        cmocka_unit_test_setup(test_shift_by_zero_stores_nothing, setup),
        cmocka_unit_test_setup(test_64_bit_accesses_from_32_bit_code, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
