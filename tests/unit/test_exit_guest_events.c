/* The exit handlers that used to decide inside the VT-x backend: hypercalls, intercepted
 * exceptions, instructions that always exit, triple faults, INIT and SIPI, broken
 * second-level tables and string I/O, each with hostile records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/exit/exit.h"

static struct {
    unsigned calls;
    uint64_t nr, arg[HYPERCALL_ARGS];
    int64_t answer;
} fake;

static int64_t hypercall(void *ctx, uint64_t nr, const uint64_t arg[HYPERCALL_ARGS])
{
    (void)ctx;
    fake.calls++;
    fake.nr = nr;
    memcpy(fake.arg, arg, sizeof(fake.arg));
    return fake.answer;
}

static void io(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    (void)ctx; (void)port; (void)size; (void)write; (void)value;
    fake.calls++;                           /* string I/O never reaches the ports here */
}

static const struct exit_env env = { .hypercall = hypercall, .io = io };

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

static void assert_nothing_applied(const struct exit_effects *fx)
{
    assert_false(fx->complete);
    assert_false(fx->exception.valid);
    assert_int_equal(fx->gpr_written, 0);
    assert_int_equal(fx->ctl_written, 0);
    assert_false(fx->xcr0_written);
}

/* ---- VMCALL ----------------------------------------------------------------------------- */

static void vmcall_passes_every_argument_and_answers_in_rax(void **state)
{
    (void)state;
    fake.answer = -38;                      /* whatever the partition says, even an error */
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_VMCALL, .instr_len = 3,
        .vmcall = { .nr = 0xffffffffffffffffull, .arg = { ~0ull, 1ull << 63, 0, 0x8000000000000000ull } } });
    assert_int_equal(fake.calls, 1);
    assert_int_equal(fake.nr, 0xffffffffffffffffull);
    assert_int_equal(fake.arg[0], ~0ull);
    assert_int_equal(fake.arg[1], 1ull << 63);
    assert_int_equal(fake.arg[3], 0x8000000000000000ull);
    assert_int_equal(fx.verdict, VERDICT_RESUME);
    assert_int_equal(fx.count, EXIT_HYPERCALL);
    assert_true(fx.complete);
    assert_false(fx.exception.valid);
    assert_int_equal(fx.gpr_written, 1u << RAX);        /* RAX only: no other register moves */
    assert_int_equal(fx.gpr[RAX], (uint64_t)-38);
}

static void vmcall_in_real_mode_is_still_a_hypercall(void **state)
{
    (void)state;
    fake.answer = 7;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_VMCALL, .real_mode = true, .vmcall = { .nr = 1 } });
    assert_int_equal(fake.calls, 1);
    assert_true(fx.complete);
    assert_int_equal(fx.gpr[RAX], 7);
}

/* VMCALL exits at any CPL: a guest's user program must not end its partition, grant its
 * kernel's pages to a peer or write the console. */
static void vmcall_above_cpl0_is_refused_without_the_partition(void **state)
{
    (void)state;
    fake.answer = 0;
    for (unsigned cpl = 1; cpl < 4; cpl++) {
        struct exit_effects fx = decide((struct exit_info){
            .kind = EXIT_IS_VMCALL, .instr_len = 3, .vmcall = { .nr = 4, .cpl = cpl } });
        assert_int_equal(fake.calls, 0);
        assert_true(fx.complete);
        assert_false(fx.exception.valid);
        assert_int_equal(fx.gpr_written, 1u << RAX);
        assert_int_equal(fx.gpr[RAX], (uint64_t)-1);    /* -HC_EPERM */
    }
}

/* ---- exceptions ------------------------------------------------------------------------- */

static void alignment_check_is_given_back_with_error_code_zero(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_EXCEPTION, .exception = { .vector = VECTOR_AC, .has_error = true,
                                                  .error = 0xdeadbeef } });
    assert_int_equal(fx.verdict, VERDICT_RESUME);
    assert_int_equal(fx.count, EXIT_EXCEPTION);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, VECTOR_AC);
    assert_true(fx.exception.has_error);
    assert_int_equal(fx.exception.error, 0);            /* not the hostile one reported */
    assert_false(fx.complete);
}

/* #DB is intercepted (CVE-2015-8104) and given back as the CPU would have delivered it. */
static void debug_exception_is_given_back(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_EXCEPTION, .exception = { .vector = VECTOR_DB } });
    assert_int_equal(fx.verdict, VERDICT_RESUME);
    assert_int_equal(fx.count, EXIT_EXCEPTION);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, VECTOR_DB);
    assert_false(fx.exception.has_error);
    assert_false(fx.complete);
}

static void machine_check_ends_the_partition(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_EXCEPTION, .vcpu = 3, .rip = 0xfff0,
        .exception = { .vector = VECTOR_MC } });
    assert_int_equal(fx.verdict, VERDICT_STOP);
    assert_string_equal(fx.kill_line, "vcpu3: machine check at rip 0xfff0");
    assert_nothing_applied(&fx);
}

static void an_exception_nothing_intercepts_ends_the_partition(void **state)
{
    (void)state;
    static const uint8_t vectors[] = { 0, 2, 3, 8, VECTOR_UD, VECTOR_GP, 14, 31, 32, 255 };
    for (unsigned i = 0; i < sizeof(vectors); i++) {
        struct exit_effects fx = decide((struct exit_info){
            .kind = EXIT_IS_EXCEPTION, .exception = { .vector = vectors[i], .has_error = true } });
        assert_int_equal(fx.verdict, VERDICT_STOP);
        assert_non_null(strstr(fx.kill_line, "unexpected exception"));
        assert_nothing_applied(&fx);
    }
}

/* Real mode (and a real-mode guest with an alignment check it cannot have) takes no error
 * code: VM entry would refuse one. */
static void real_mode_raises_without_an_error_code(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_EXCEPTION, .real_mode = true,
        .exception = { .vector = VECTOR_AC, .has_error = true, .error = 5 } });
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, VECTOR_AC);
    assert_false(fx.exception.has_error);
    assert_int_equal(fx.exception.error, 0);
    fx = decide((struct exit_info){ .kind = EXIT_IS_INSTRUCTION, .real_mode = true,
                                    .instruction = { INSTR_RDPMC } });
    assert_int_equal(fx.exception.vector, VECTOR_GP);
    assert_false(fx.exception.has_error);
    fx = decide((struct exit_info){ .kind = EXIT_IS_INSTRUCTION, .instruction = { INSTR_RDPMC } });
    assert_true(fx.exception.has_error);                /* protected mode keeps it */
}

/* ---- instructions that always exit ------------------------------------------------------ */

static void instructions_the_partition_lacks_raise_ud_or_gp(void **state)
{
    (void)state;
    static const enum exit_instruction ud[] = { INSTR_VIRTUALIZATION, INSTR_GETSEC,
                                                INSTR_MONITOR, INSTR_MWAIT };
    for (unsigned i = 0; i < sizeof(ud) / sizeof(ud[0]); i++) {
        struct exit_effects fx = decide((struct exit_info){
            .kind = EXIT_IS_INSTRUCTION, .instruction = { ud[i] } });
        assert_int_equal(fx.verdict, VERDICT_RESUME);
        assert_true(fx.exception.valid);
        assert_int_equal(fx.exception.vector, VECTOR_UD);
        assert_false(fx.exception.has_error);
        assert_false(fx.complete);
    }
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_INSTRUCTION, .instruction = { INSTR_RDPMC } });
    assert_int_equal(fx.exception.vector, VECTOR_GP);
    assert_true(fx.exception.has_error);
    assert_int_equal(fx.exception.error, 0);
}

static void cache_flushes_complete_and_do_nothing_else(void **state)
{
    (void)state;
    for (enum exit_instruction w = INSTR_INVD; w <= INSTR_WBINVD; w++) {
        struct exit_effects fx = decide((struct exit_info){
            .kind = EXIT_IS_INSTRUCTION, .instruction = { w } });
        assert_int_equal(fx.verdict, VERDICT_RESUME);
        assert_true(fx.complete);
        assert_false(fx.exception.valid);
        assert_int_equal(fx.gpr_written, 0);
    }
}

static void an_unknown_instruction_is_unhandled(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_INSTRUCTION, .instruction = { (enum exit_instruction)1000 } });
    assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
    assert_nothing_applied(&fx);
}

/* ---- the vCPU's and the partition's life ------------------------------------------------ */

static void triple_fault_ends_the_partition(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_SHUTDOWN, .vcpu = 0, .rip = 0x7c00, .real_mode = true });
    assert_int_equal(fx.verdict, VERDICT_STOP);
    assert_int_equal(fx.count, EXIT_TRIPLE_FAULT);
    assert_string_equal(fx.kill_line, "vcpu0: triple fault at rip 0x7c00");
    assert_nothing_applied(&fx);
}

static void init_is_dropped_and_sipi_unhandled(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){ .kind = EXIT_IS_INIT, .rip = 5 });
    assert_int_equal(fx.verdict, VERDICT_RESUME);
    assert_int_equal(fx.count, EXIT_INIT_SIPI);
    assert_nothing_applied(&fx);                        /* RIP stays: nothing completed */
    fx = decide((struct exit_info){ .kind = EXIT_IS_SIPI });
    assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
    assert_int_equal(fx.count, EXIT_INIT_SIPI);
    assert_nothing_applied(&fx);
}

static void broken_tables_end_the_partition(void **state)
{
    (void)state;
    struct exit_effects fx = decide((struct exit_info){
        .kind = EXIT_IS_TABLES_BROKEN, .vcpu = 1, .raw = 0, .mmio = { .gpa = 0xfffffffffffff000ull } });
    assert_int_equal(fx.verdict, VERDICT_STOP);
    assert_int_equal(fx.count, EXIT_EPT);
    assert_non_null(strstr(fx.kill_line, "vcpu1: second-level page tables malformed at gpa 0xfffffffffffff000"));
}

/* ---- string I/O ------------------------------------------------------------------------- */

static struct exit_effects string_io(bool in, uint8_t size, bool rep, uint8_t addr_size, uint64_t rcx)
{
    return decide((struct exit_info){
        .kind = EXIT_IS_IO, .io = { .port = 0x1f0, .size = size, .in = in, .string = true,
                                    .rep = rep, .addr_size = addr_size, .rcx = rcx } });
}

static void string_io_is_emulated_with_what_the_exit_saw(void **state)
{
    (void)state;
    struct exit_effects fx = string_io(true, 2, true, 8, ~0ull);    /* REP INSW, RCX huge */
    assert_int_equal(fx.verdict, VERDICT_EMULATE);
    assert_int_equal(fx.count, EXIT_IO);
    assert_true(fx.emulate.string_io);
    assert_true(fx.emulate.io_in);
    assert_int_equal(fx.emulate.io_size, 2);
    assert_nothing_applied(&fx);
    fx = string_io(false, 4, false, 0, 0);              /* OUTSD, no REP, size unknown */
    assert_int_equal(fx.verdict, VERDICT_EMULATE);
    assert_false(fx.emulate.io_in);
    assert_int_equal(fx.emulate.io_size, 4);
    assert_int_equal(fake.calls, 0);
}

/* A zero count under the address size: nothing moves, the instruction completes.  The
 * upper bits of RCX do not count with a 16- or 32-bit address size. */
static void rep_with_a_zero_count_completes_without_an_access(void **state)
{
    (void)state;
    struct exit_effects fx = string_io(true, 1, true, 2, 0xffffffffffff0000ull);
    assert_int_equal(fx.verdict, VERDICT_RESUME);
    assert_true(fx.complete);
    assert_int_equal(fx.gpr_written, 0);
    fx = string_io(false, 1, true, 4, 0xffffffff00000000ull);
    assert_true(fx.complete);
    fx = string_io(false, 1, true, 8, 0xffffffff00000000ull);   /* 64-bit: a huge count */
    assert_int_equal(fx.verdict, VERDICT_EMULATE);
    fx = string_io(false, 1, true, 0, 0);              /* size unknown: the emulator sees */
    assert_int_equal(fx.verdict, VERDICT_EMULATE);
    fx = string_io(false, 1, false, 2, 0);             /* no REP: RCX means nothing */
    assert_int_equal(fx.verdict, VERDICT_EMULATE);
    assert_int_equal(fake.calls, 0);
}

static void string_io_of_impossible_sizes_is_unhandled(void **state)
{
    (void)state;
    static const uint8_t sizes[] = { 0, 3, 8, 255 };
    for (unsigned i = 0; i < sizeof(sizes); i++) {
        struct exit_effects fx = string_io(true, sizes[i], true, 4, 10);
        assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
        assert_nothing_applied(&fx);
    }
    static const uint8_t addr_sizes[] = { 1, 3, 16, 0xff };
    for (unsigned i = 0; i < sizeof(addr_sizes); i++) {
        struct exit_effects fx = string_io(true, 1, true, addr_sizes[i], 0);
        assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
        assert_nothing_applied(&fx);
    }
    assert_int_equal(fake.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(vmcall_passes_every_argument_and_answers_in_rax, reset),
        cmocka_unit_test_setup(vmcall_in_real_mode_is_still_a_hypercall, reset),
        cmocka_unit_test_setup(vmcall_above_cpl0_is_refused_without_the_partition, reset),
        cmocka_unit_test_setup(alignment_check_is_given_back_with_error_code_zero, reset),
        cmocka_unit_test_setup(debug_exception_is_given_back, reset),
        cmocka_unit_test_setup(machine_check_ends_the_partition, reset),
        cmocka_unit_test_setup(an_exception_nothing_intercepts_ends_the_partition, reset),
        cmocka_unit_test_setup(real_mode_raises_without_an_error_code, reset),
        cmocka_unit_test_setup(instructions_the_partition_lacks_raise_ud_or_gp, reset),
        cmocka_unit_test_setup(cache_flushes_complete_and_do_nothing_else, reset),
        cmocka_unit_test_setup(an_unknown_instruction_is_unhandled, reset),
        cmocka_unit_test_setup(triple_fault_ends_the_partition, reset),
        cmocka_unit_test_setup(init_is_dropped_and_sipi_unhandled, reset),
        cmocka_unit_test_setup(broken_tables_end_the_partition, reset),
        cmocka_unit_test_setup(string_io_is_emulated_with_what_the_exit_saw, reset),
        cmocka_unit_test_setup(rep_with_a_zero_count_completes_without_an_access, reset),
        cmocka_unit_test_setup(string_io_of_impossible_sizes_is_unhandled, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
