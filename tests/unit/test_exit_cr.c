/* The control-register rules (exit_cr.h), each both ways, and the CR-access exit handler's
 * decisions on a fake partition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/exit/exit.h"

#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define REAL   (CR0_ET | CR0_NE)
#define PROT   (REAL | CR0_PE)
#define PAGED  (PROT | CR0_PG)

static const struct guest_ctl real_mode = { REAL, 0, 0 };
static const struct guest_ctl long_mode = { PAGED, CR4_PAE, EFER_LME | EFER_LMA };

static void cr0_refuses_what_the_sdm_refuses(void **state)
{
    (void)state;
    struct guest_ctl next;
    assert_false(guest_cr0_write(&real_mode, REAL | CR0_PG, &next));         /* PG without PE */
    assert_false(guest_cr0_write(&real_mode, REAL | CR0_NW, &next));         /* NW without CD */
    assert_true(guest_cr0_write(&real_mode, REAL | CR0_NW | CR0_CD, &next));
    assert_false(guest_cr0_write(&real_mode, REAL | (1ull << 32), &next));   /* reserved high */
    assert_true(guest_cr0_write(&real_mode, PROT, &next));
    assert_int_equal(next.cr0, PROT);
    assert_int_equal(next.efer, 0);
}

static void paging_with_lme_enters_long_mode_only_with_pae(void **state)
{
    (void)state;
    struct guest_ctl now = { PROT, 0, EFER_LME }, next;
    assert_false(guest_cr0_write(&now, PAGED, &next));
    now.cr4 = CR4_PAE;
    assert_true(guest_cr0_write(&now, PAGED, &next));
    assert_int_equal(next.efer, EFER_LME | EFER_LMA);
    assert_int_equal(next.cr4, CR4_PAE);
    /* without LME, paging is legacy paging and needs no PAE */
    now = (struct guest_ctl){ PROT, 0, 0 };
    assert_true(guest_cr0_write(&now, PAGED, &next));
    assert_int_equal(next.efer, 0);
}

static void paging_off_leaves_long_mode(void **state)
{
    (void)state;
    struct guest_ctl next;
    assert_true(guest_cr0_write(&long_mode, PROT, &next));
    assert_int_equal(next.efer, EFER_LME);
    /* paging staying on keeps LMA as it is */
    assert_true(guest_cr0_write(&long_mode, PAGED | CR0_TS, &next));
    assert_int_equal(next.efer, EFER_LME | EFER_LMA);
}

static void cr4_only_offered_bits_and_pae_in_long_mode(void **state)
{
    (void)state;
    struct guest_ctl next;
    uint64_t offered = CR4_PAE | CR4_OSXSAVE;
    assert_true(guest_cr4_write(&real_mode, CR4_OSXSAVE, offered, &next));
    assert_int_equal(next.cr4, CR4_OSXSAVE);
    assert_int_equal(next.cr0, REAL);
    assert_false(guest_cr4_write(&real_mode, 1ull << 13, offered, &next));    /* VMXE */
    assert_false(guest_cr4_write(&long_mode, CR4_OSXSAVE, offered, &next));   /* PAE off */
    assert_true(guest_cr4_write(&long_mode, CR4_PAE | CR4_OSXSAVE, offered, &next));
}

static void efer_writable_bits_and_lma_read_only(void **state)
{
    (void)state;
    struct guest_ctl next;
    assert_true(guest_efer_write(&real_mode, EFER_SCE | EFER_LME | EFER_NXE, &next));
    assert_int_equal(next.efer, EFER_SCE | EFER_LME | EFER_NXE);
    assert_false(guest_efer_write(&real_mode, 1ull << 9, &next));            /* reserved */
    assert_false(guest_efer_write(&real_mode, 1ull << 12, &next));           /* SVME: not offered */
    assert_true(guest_efer_write(&real_mode, EFER_LMA, &next));               /* LMA ignored */
    assert_int_equal(next.efer, 0);
    assert_true(guest_efer_write(&long_mode, EFER_LME | EFER_NXE, &next));    /* LMA kept */
    assert_int_equal(next.efer, EFER_LME | EFER_LMA | EFER_NXE);
    assert_false(guest_efer_write(&long_mode, EFER_NXE, &next));              /* LME cleared */
}

/* Each of these, let through, is a VM entry the CPU refuses (SDM Vol. 3, 27.3.1.1) rather
 * than the #GP the guest's own CPU gives. */
static void pcide_only_in_long_mode(void **state)
{
    (void)state;
    struct guest_ctl next, pae = { PROT, CR4_PAE, 0 };
    uint64_t offered = CR4_PAE | CR4_PCIDE;
    assert_false(guest_cr4_write(&pae, CR4_PAE | CR4_PCIDE, offered, &next));
    assert_true(guest_cr4_write(&long_mode, CR4_PAE | CR4_PCIDE, offered, &next));
    /* and paging stays on while it is set */
    struct guest_ctl pcid = { PAGED, CR4_PAE | CR4_PCIDE, EFER_LME | EFER_LMA };
    assert_false(guest_cr0_write(&pcid, PROT, &next));
    assert_true(guest_cr0_write(&pcid, PAGED | CR0_TS, &next));
    assert_true(guest_cr0_write(&long_mode, PROT, &next));
}

static void cet_needs_wp(void **state)
{
    (void)state;
    struct guest_ctl next, wp = { PAGED | CR0_WP, CR4_PAE, EFER_LME | EFER_LMA };
    uint64_t offered = CR4_PAE | CR4_CET;
    assert_false(guest_cr4_write(&long_mode, CR4_PAE | CR4_CET, offered, &next));
    assert_true(guest_cr4_write(&wp, CR4_PAE | CR4_CET, offered, &next));
    struct guest_ctl cet = { PAGED | CR0_WP, CR4_PAE | CR4_CET, EFER_LME | EFER_LMA };
    assert_false(guest_cr0_write(&cet, PAGED, &next));
    assert_true(guest_cr0_write(&cet, PAGED | CR0_WP | CR0_TS, &next));
}

static void la57_fixed_in_long_mode(void **state)
{
    (void)state;
    struct guest_ctl next, la57 = { PAGED, CR4_PAE | CR4_LA57, EFER_LME | EFER_LMA };
    uint64_t offered = CR4_PAE | CR4_LA57;
    assert_false(guest_cr4_write(&long_mode, CR4_PAE | CR4_LA57, offered, &next));
    assert_false(guest_cr4_write(&la57, CR4_PAE, offered, &next));
    assert_true(guest_cr4_write(&la57, CR4_PAE | CR4_LA57, offered, &next));
    assert_true(guest_cr4_write(&real_mode, CR4_PAE | CR4_LA57, offered, &next));
}

static void efer_lme_fixed_while_paging(void **state)
{
    (void)state;
    struct guest_ctl next, legacy = { PAGED, CR4_PAE, 0 };
    assert_false(guest_efer_write(&legacy, EFER_LME, &next));
    assert_true(guest_efer_write(&legacy, EFER_NXE | EFER_SCE, &next));
    assert_int_equal(next.efer, EFER_NXE | EFER_SCE);
}

static void clts_and_lmsw(void **state)
{
    (void)state;
    assert_int_equal(guest_cr0_after_clts(PROT | CR0_TS), PROT);
    assert_int_equal(guest_cr0_after_lmsw(PROT | CR0_TS, 0), PROT);           /* PE stays */
    assert_int_equal(guest_cr0_after_lmsw(REAL, 0xffff), REAL | 0xf);         /* low four bits */
    assert_int_equal(guest_cr0_after_lmsw(PAGED, 0x8), PAGED | CR0_TS);
}

/* ---- the handler ---------------------------------------------------------------------- */

static uint64_t tpr;

static void set_tpr(void *ctx, uint64_t cr8) { (void)ctx; tpr = cr8; }
static uint64_t get_tpr(void *ctx) { (void)ctx; return tpr; }

static const struct exit_env env = { .set_tpr = set_tpr, .get_tpr = get_tpr };

static struct exit_info cr_exit(unsigned number, enum cr_access access, uint64_t value,
                                struct guest_ctl now)
{
    return (struct exit_info){ .kind = EXIT_IS_CR, .instr_len = 3,
                               .cr = { .number = number, .access = access, .gpr = RBX,
                                       .value = value, .now = now,
                                       .cr4_offered = CR4_PAE | CR4_OSXSAVE } };
}

static void paging_stays_on_in_64_bit_mode(void **state)
{
    (void)state;
    struct exit_effects fx;
    struct exit_info e = cr_exit(0, CR_MOV_TO, PROT, long_mode);
    e.cr.cs_long = true;
    exit_decide(&env, &e, &fx);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, VECTOR_GP);
    assert_int_equal(fx.ctl_written, 0);
    assert_false(fx.complete);
    e.cr.cs_long = false;               /* compatibility mode: leaves long mode */
    exit_decide(&env, &e, &fx);
    assert_false(fx.exception.valid);
    assert_int_equal(fx.ctl.efer, EFER_LME);
    assert_true(fx.complete);
}

/* SDM Vol. 2, MOV to CR4: PCIDE goes from 0 to 1 only with CR3[11:0] clear. */
static void pcide_set_only_with_cr3_low_bits_clear(void **state)
{
    (void)state;
    struct exit_effects fx;
    struct exit_info e = cr_exit(4, CR_MOV_TO, CR4_PAE | CR4_PCIDE, long_mode);
    e.cr.cr4_offered |= CR4_PCIDE;
    e.cr.cr3 = 0x123008;
    exit_decide(&env, &e, &fx);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, VECTOR_GP);
    assert_int_equal(fx.ctl_written, 0);
    e.cr.cr3 = 0x123000;
    exit_decide(&env, &e, &fx);
    assert_false(fx.exception.valid);
    assert_int_equal(fx.ctl.cr4, CR4_PAE | CR4_PCIDE);
    e.cr.now.cr4 = CR4_PAE | CR4_PCIDE;         /* already set: CR3 holds a PCID */
    e.cr.cr3 = 0x123008;
    e.cr.value = CR4_PAE | CR4_PCIDE | CR4_OSXSAVE;
    exit_decide(&env, &e, &fx);
    assert_false(fx.exception.valid);
    assert_true(fx.complete);
}

static void mov_to_cr0_loads_cr0_and_efer_or_raises_gp(void **state)
{
    (void)state;
    struct exit_effects fx;
    struct guest_ctl now = { PROT, CR4_PAE, EFER_LME };
    struct exit_info e = cr_exit(0, CR_MOV_TO, PAGED, now);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.verdict, VERDICT_RESUME);
    assert_int_equal(fx.count, EXIT_CR);
    assert_true(fx.complete);
    assert_false(fx.exception.valid);
    assert_int_equal(fx.ctl_written, GUEST_CTL_CR0 | GUEST_CTL_EFER);
    assert_int_equal(fx.ctl.cr0, PAGED);
    assert_int_equal(fx.ctl.efer, EFER_LME | EFER_LMA);

    e = cr_exit(0, CR_MOV_TO, REAL | CR0_PG, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.verdict, VERDICT_RESUME);
    assert_false(fx.complete);
    assert_int_equal(fx.ctl_written, 0);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, 13);
    assert_true(fx.exception.has_error);
    assert_int_equal(fx.exception.error, 0);
}

static void mov_to_cr4(void **state)
{
    (void)state;
    struct exit_effects fx;
    struct exit_info e = cr_exit(4, CR_MOV_TO, CR4_OSXSAVE, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.ctl_written, GUEST_CTL_CR4);
    assert_int_equal(fx.ctl.cr4, CR4_OSXSAVE);
    assert_true(fx.complete);
    e = cr_exit(4, CR_MOV_TO, 1ull << 13, real_mode);
    exit_decide(&env, &e, &fx);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, 13);
}

static void cr8_is_the_tpr_both_ways(void **state)
{
    (void)state;
    struct exit_effects fx;
    struct exit_info e = cr_exit(8, CR_MOV_TO, 0xb, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(tpr, 0xb);
    assert_true(fx.complete);
    /* bits 63:4 are reserved: #GP, the TPR unchanged (SDM Vol. 2, MOV to CR8) */
    e = cr_exit(8, CR_MOV_TO, 0x1234567c, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(tpr, 0xb);
    assert_false(fx.complete);
    assert_true(fx.exception.valid);
    assert_int_equal(fx.exception.vector, VECTOR_GP);
    e = cr_exit(8, CR_MOV_TO, 0xb, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.ctl_written, 0);
    assert_int_equal(fx.gpr_written, 0);
    e = cr_exit(8, CR_MOV_FROM, 0, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.gpr_written, 1u << RBX);
    assert_int_equal(fx.gpr[RBX], 0xb);
    assert_true(fx.complete);
}

static void mov_from_other_crs_reads_zero_and_to_them_is_unhandled(void **state)
{
    (void)state;
    struct exit_effects fx;
    struct exit_info e = cr_exit(3, CR_MOV_FROM, 0, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.gpr_written, 1u << RBX);
    assert_int_equal(fx.gpr[RBX], 0);
    e = cr_exit(3, CR_MOV_TO, 0x1000, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.verdict, VERDICT_UNHANDLED);
    assert_int_equal(fx.count, EXIT_CR);
    assert_false(fx.complete);
}

static void clts_and_lmsw_exits(void **state)
{
    (void)state;
    struct exit_effects fx;
    struct exit_info e = cr_exit(0, CR_CLTS, 0, (struct guest_ctl){ PROT | CR0_TS, 0, 0 });
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.ctl_written, GUEST_CTL_CR0 | GUEST_CTL_EFER);
    assert_int_equal(fx.ctl.cr0, PROT);
    assert_true(fx.complete);
    e = cr_exit(0, CR_LMSW, 0x0, (struct guest_ctl){ PROT, 0, 0 });
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.ctl.cr0, PROT);                                      /* PE stays */
    e = cr_exit(0, CR_LMSW, 0x9, real_mode);
    exit_decide(&env, &e, &fx);
    assert_int_equal(fx.ctl.cr0, REAL | CR0_PE | CR0_TS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cr0_refuses_what_the_sdm_refuses),
        cmocka_unit_test(paging_with_lme_enters_long_mode_only_with_pae),
        cmocka_unit_test(paging_off_leaves_long_mode),
        cmocka_unit_test(cr4_only_offered_bits_and_pae_in_long_mode),
        cmocka_unit_test(efer_writable_bits_and_lma_read_only),
        cmocka_unit_test(pcide_only_in_long_mode),
        cmocka_unit_test(cet_needs_wp),
        cmocka_unit_test(la57_fixed_in_long_mode),
        cmocka_unit_test(efer_lme_fixed_while_paging),
        cmocka_unit_test(clts_and_lmsw),
        cmocka_unit_test(mov_to_cr0_loads_cr0_and_efer_or_raises_gp),
        cmocka_unit_test(mov_to_cr4),
        cmocka_unit_test(cr8_is_the_tpr_both_ways),
        cmocka_unit_test(mov_from_other_crs_reads_zero_and_to_them_is_unhandled),
        cmocka_unit_test(clts_and_lmsw_exits),
        cmocka_unit_test(paging_stays_on_in_64_bit_mode),
        cmocka_unit_test(pcide_set_only_with_cr3_low_bits_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
