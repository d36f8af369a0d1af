/* The exit handlers' decisions (CPUID, MSRs and EFER, XSETBV, HLT, I/O, MMIO) on a fake
 * partition that records what it was asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/exit/exit.h"
#include "hv/core/exit/xcr0_policy.h"

#define MSR_EFER 0xc0000080u

static struct {
    uint32_t leaf, subleaf;
    uint32_t msr;
    uint64_t msr_value;
    bool msr_ok;
    uint16_t port;
    unsigned size;
    bool io_write;
    uint32_t io_value, io_answer;
    bool vector, nmi;
    bool ram, write_handled;
    unsigned calls;
} fake;

static void cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    (void)ctx;
    fake.leaf = leaf;
    fake.subleaf = subleaf;
    *out = (struct cpuid_result){ leaf + 1, leaf + 2, subleaf + 3, subleaf + 4 };
}

static bool msr_read(void *ctx, uint32_t msr, uint64_t *value)
{
    (void)ctx;
    fake.msr = msr;
    fake.calls++;
    *value = fake.msr_value;
    return fake.msr_ok;
}

static bool msr_write(void *ctx, uint32_t msr, uint64_t value)
{
    (void)ctx;
    fake.msr = msr;
    fake.msr_value = value;
    fake.calls++;
    return fake.msr_ok;
}

static void io(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    (void)ctx;
    fake.port = port;
    fake.size = size;
    fake.io_write = write;
    fake.io_value = *value;
    fake.calls++;
    if (!write)
        *value = fake.io_answer;
}

static bool interrupt_pending(void *ctx) { (void)ctx; return fake.vector; }
static bool nmi_pending(void *ctx) { (void)ctx; return fake.nmi; }
static bool in_ram(void *ctx, uint64_t gpa) { (void)ctx; (void)gpa; return fake.ram; }
static bool write_fault(void *ctx, uint64_t gpa) { (void)ctx; (void)gpa; fake.calls++; return fake.write_handled; }

static const struct exit_env env = {
    .cpuid = cpuid, .msr_read = msr_read, .msr_write = msr_write, .io = io,
    .interrupt_pending = interrupt_pending, .nmi_pending = nmi_pending, .in_ram = in_ram,
    .write_fault = write_fault,
};

static int reset(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof(fake));
    return 0;
}

static struct exit_effects decide(struct exit_info e)
{
    struct exit_effects fx;
    memset(&fx, 0xa5, sizeof(fx));         /* exit_decide must clear what it leaves */
    exit_decide(&env, &e, &fx);
    return fx;
}

static void assert_gp(const struct exit_effects *fx)
{
    assert_int_equal(fx->verdict, VERDICT_RESUME);
    assert_true(fx->exception.valid);
    assert_int_equal(fx->exception.vector, 13);
    assert_true(fx->exception.has_error);
    assert_int_equal(fx->exception.error, 0);
    assert_false(fx->complete);
    assert_int_equal(fx->gpr_written, 0);
}

static void cpuid_answers_four_registers(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_CPUID, .cpuid = { 0x80000001u, 7 } });
    assert_int_equal(fake.leaf, 0x80000001u);
    assert_int_equal(fake.subleaf, 7);
    assert_int_equal(fx.count, EXIT_CPUID);
    assert_int_equal(fx.gpr_written, (1u << RAX) | (1u << RBX) | (1u << RCX) | (1u << RDX));
    assert_int_equal(fx.gpr[RAX], 0x80000002u);
    assert_int_equal(fx.gpr[RBX], 0x80000003u);
    assert_int_equal(fx.gpr[RCX], 10);
    assert_int_equal(fx.gpr[RDX], 11);
    assert_true(fx.complete);
    assert_int_equal(fx.verdict, VERDICT_RESUME);
}

static void rdmsr_splits_into_edx_eax_or_raises_gp(void **state)
{
    (void)state;
    fake.msr_ok = true;
    fake.msr_value = 0x1122334455667788ull;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_READ, .msr = { .index = 0x1a0 } });
    assert_int_equal(fake.msr, 0x1a0);
    assert_int_equal(fx.count, EXIT_MSR);
    assert_int_equal(fx.gpr_written, (1u << RAX) | (1u << RDX));
    assert_int_equal(fx.gpr[RAX], 0x55667788u);
    assert_int_equal(fx.gpr[RDX], 0x11223344u);
    assert_true(fx.complete);
    fake.msr_ok = false;
    fx = decide((struct exit_info){ .kind = EXIT_IS_MSR_READ, .msr = { .index = 0x1234 } });
    assert_gp(&fx);
}

static void wrmsr_passes_edx_eax_or_raises_gp(void **state)
{
    (void)state;
    fake.msr_ok = true;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_WRITE, .msr = { .index = 0x3b, .value = 0xabcdef0123ull } });
    assert_int_equal(fake.msr, 0x3b);
    assert_int_equal(fake.msr_value, 0xabcdef0123ull);
    assert_true(fx.complete);
    assert_int_equal(fx.gpr_written, 0);
    fake.msr_ok = false;
    fx = decide((struct exit_info){ .kind = EXIT_IS_MSR_WRITE, .msr = { .index = 0x3b } });
    assert_gp(&fx);
}

static void efer_by_the_rules_never_by_the_devices(void **state)
{
    (void)state;
    uint64_t efer = EFER_LME | EFER_LMA | EFER_SCE;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_READ, .msr = { .index = MSR_EFER, .efer = efer } });
    assert_int_equal(fx.gpr[RAX], efer);
    assert_int_equal(fx.gpr[RDX], 0);
    assert_true(fx.complete);
    fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_WRITE, .msr = { .index = MSR_EFER, .value = EFER_LME | EFER_NXE,
                                            .efer = efer } });
    assert_int_equal(fx.ctl_written, GUEST_CTL_EFER);
    assert_int_equal(fx.ctl.efer, EFER_LME | EFER_LMA | EFER_NXE);
    assert_true(fx.complete);
    fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_WRITE, .msr = { .index = MSR_EFER, .value = 0, .efer = efer } });
    assert_gp(&fx);
    assert_int_equal(fx.ctl_written, 0);
    fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_WRITE, .msr = { .index = MSR_EFER, .value = 1ull << 12 } });
    assert_gp(&fx);
    /* LME set under 32-bit paging would leave LME != LMA with CR0.PG: a failed VM entry */
    fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_WRITE, .msr = { .index = MSR_EFER, .value = EFER_LME,
                                            .cr0 = (1ull << 31) | 1 } });
    assert_gp(&fx);
    assert_int_equal(fx.ctl_written, 0);
    fx = decide((struct exit_info){
        .kind = EXIT_IS_MSR_WRITE, .msr = { .index = MSR_EFER, .value = EFER_LME, .cr0 = 1 } });
    assert_int_equal(fx.ctl.efer, EFER_LME);
    assert_true(fx.complete);
    assert_int_equal(fake.calls, 0);
}

static void xsetbv_by_xcr0_policy(void **state)
{
    (void)state;
    struct exit_info e = { .kind = EXIT_IS_XSETBV,
                           .xsetbv = { .xcr = 0, .value = XCR0_X87 | XCR0_SSE | XCR0_AVX,
                                       .cpl = 0, .osxsave = true,
                                       .offered = XCR0_X87 | XCR0_SSE | XCR0_AVX } };
    struct exit_effects fx = decide(e);
    assert_int_equal(fx.count, EXIT_XSETBV);
    assert_true(fx.xcr0_written);
    assert_int_equal(fx.xcr0, XCR0_X87 | XCR0_SSE | XCR0_AVX);
    assert_true(fx.complete);
    e.xsetbv.osxsave = false;
    fx = decide(e);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, 6);
    assert_false(fx.exception.has_error);
    assert_false(fx.xcr0_written);
    assert_false(fx.complete);
    e.xsetbv.osxsave = true;
    e.xsetbv.cpl = 3;
    fx = decide(e);
    assert_gp(&fx);
    assert_false(fx.xcr0_written);
    e.xsetbv.cpl = 0;
    e.xsetbv.value |= XCR0_PKRU;                                             /* not offered */
    fx = decide(e);
    assert_gp(&fx);
}

static struct exit_effects hlt(bool irqs, bool tf, bool queued)
{
    return decide((struct exit_info){ .kind = EXIT_IS_HLT, .event_queued = queued,
                                      .hlt = { .irqs_enabled = irqs, .single_step = tf } });
}

static void hlt_sleeps_unless_something_it_can_take_waits(void **state)
{
    (void)state;
    struct exit_effects fx = hlt(true, false, false);
    assert_int_equal(fx.verdict, VERDICT_HALT);
    assert_int_equal(fx.count, EXIT_HLT);
    assert_true(fx.complete);
    assert_false(fx.halted_irqs_off);
    fake.vector = true;
    assert_int_equal(hlt(true, false, false).verdict, VERDICT_RESUME);
    fx = hlt(false, false, false);                   /* interrupts off: the vector waits */
    assert_int_equal(fx.verdict, VERDICT_HALT);
    assert_true(fx.halted_irqs_off);
    assert_true(fx.complete);
    fake.nmi = true;                                  /* an NMI wakes it anyway */
    assert_int_equal(hlt(false, false, false).verdict, VERDICT_RESUME);
    fake.nmi = fake.vector = false;
    assert_int_equal(hlt(false, false, true).verdict, VERDICT_RESUME);  /* an event queued */
    assert_int_equal(hlt(false, true, false).verdict, VERDICT_RESUME);  /* its #DB trap */
}

static struct exit_effects port(bool in, uint8_t size, uint64_t rax)
{
    return decide((struct exit_info){ .kind = EXIT_IS_IO,
                                      .io = { .port = 0x3f8, .size = size, .in = in, .rax = rax } });
}

static void io_reaches_the_devices_and_merges_into_rax(void **state)
{
    (void)state;
    struct exit_effects fx = port(false, 2, 0xffffffff12345678ull);
    assert_int_equal(fake.port, 0x3f8);
    assert_int_equal(fake.size, 2);
    assert_true(fake.io_write);
    assert_int_equal(fake.io_value, 0x12345678u);
    assert_int_equal(fx.count, EXIT_IO);
    assert_int_equal(fx.gpr_written, 0);
    assert_true(fx.complete);
    fake.io_answer = 0xaabbccdd;
    fx = port(true, 1, 0x1111111111111111ull);
    assert_false(fake.io_write);
    assert_int_equal(fake.io_value, 0);
    assert_int_equal(fx.gpr[RAX], 0x11111111111111ddull);
    fx = port(true, 2, 0x1111111111111111ull);
    assert_int_equal(fx.gpr[RAX], 0x111111111111ccddull);
    fx = port(true, 4, 0x1111111111111111ull);                /* IN EAX zero-extends */
    assert_int_equal(fx.gpr[RAX], 0xaabbccddull);
    assert_true(fx.complete);
}

static void string_io_is_emulated_and_odd_sizes_unhandled(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_IO, .io = { .port = 0x1f0, .size = 2, .in = true, .string = true } });
    assert_int_equal(fx.verdict, VERDICT_EMULATE);
    assert_int_equal(fx.count, EXIT_IO);
    assert_false(fx.complete);
    fx = port(true, 3, 0);
    assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
    fx = port(false, 8, 0);
    assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
    assert_int_equal(fake.calls, 0);
}

static struct exit_effects mmio(bool write, bool fetch, bool table, bool queued)
{
    return decide((struct exit_info){ .kind = EXIT_IS_MMIO, .vcpu = 2, .rip = 0x1234,
                                      .raw = 0x182, .event_queued = queued,
                                      .mmio = { .gpa = 0xfee00300, .write = write,
                                                .fetch = fetch, .table = table } });
}

static void mmio_outside_ram_is_emulated(void **state)
{
    (void)state;
    struct exit_effects fx = mmio(true, false, false, false);
    assert_int_equal(fx.verdict, VERDICT_EMULATE);
    assert_int_equal(fx.count, EXIT_MMIO);
    assert_false(fx.complete);
}

static void mmio_without_an_instruction_to_emulate_ends_the_partition(void **state)
{
    (void)state;
    struct exit_effects fx = mmio(false, true, false, false);
    assert_int_equal(fx.verdict, VERDICT_STOP);
    assert_string_equal(fx.kill_line,
                        "vcpu2: instruction fetch at gpa 0xfee00300, outside its memory (rip 0x1234)");
    fx = mmio(false, false, true, false);
    assert_string_equal(fx.kill_line,
                        "vcpu2: page-table access at gpa 0xfee00300, outside its memory (rip 0x1234)");
    fx = mmio(true, false, false, true);
    assert_string_equal(fx.kill_line,
                        "vcpu2: event delivery at gpa 0xfee00300, outside its memory (rip 0x1234)");
    assert_false(fx.complete);
}

static void ram_faults_are_dirty_tracking_or_fatal(void **state)
{
    (void)state;
    fake.ram = true;
    fake.write_handled = true;
    struct exit_effects fx = mmio(true, false, false, false);
    assert_int_equal(fx.verdict, VERDICT_RESUME);           /* the store runs again */
    assert_int_equal(fx.count, EXIT_EPT);
    assert_false(fx.complete);
    assert_int_equal(fake.calls, 1);
    fx = mmio(false, false, false, false);                  /* a read never asks */
    assert_int_equal(fake.calls, 1);
    assert_int_equal(fx.verdict, VERDICT_STOP);
    assert_string_equal(fx.kill_line,
                        "vcpu2: unexpected EPT violation at gpa 0xfee00300 (qualification 0x182)");
    fake.write_handled = false;
    fx = mmio(true, false, false, false);
    assert_int_equal(fx.verdict, VERDICT_STOP);
}

static void an_unknown_kind_is_unhandled(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){ .kind = EXIT_IS_KIND_COUNT });
    assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
    assert_int_equal(fx.count, EXIT_OTHER);
    assert_false(fx.complete);
    assert_false(fx.exception.valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(cpuid_answers_four_registers, reset),
        cmocka_unit_test_setup(rdmsr_splits_into_edx_eax_or_raises_gp, reset),
        cmocka_unit_test_setup(wrmsr_passes_edx_eax_or_raises_gp, reset),
        cmocka_unit_test_setup(efer_by_the_rules_never_by_the_devices, reset),
        cmocka_unit_test_setup(xsetbv_by_xcr0_policy, reset),
        cmocka_unit_test_setup(hlt_sleeps_unless_something_it_can_take_waits, reset),
        cmocka_unit_test_setup(io_reaches_the_devices_and_merges_into_rax, reset),
        cmocka_unit_test_setup(string_io_is_emulated_and_odd_sizes_unhandled, reset),
        cmocka_unit_test_setup(mmio_outside_ram_is_emulated, reset),
        cmocka_unit_test_setup(mmio_without_an_instruction_to_emulate_ends_the_partition, reset),
        cmocka_unit_test_setup(ram_faults_are_dirty_tracking_or_fatal, reset),
        cmocka_unit_test_setup(an_unknown_kind_is_unhandled, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
