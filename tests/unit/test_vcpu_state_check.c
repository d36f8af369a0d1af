/* hv/core/vcpu_state_check.c: the access-rights and visible-CR conversions, each rule a
 * state to restore must pass (refused one at a time from a state that passes them all),
 * what a host offers, and the MSR policy's values through a CPUID view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/vcpu_state_check.h"
#include "hv/core/exit/xcr0_policy.h"
#include "tests/unit/vcpu_state_sample.h"

static struct vcpu_state s, t;

static void conversions_test(void **state)
{
    (void)state;
    assert_int_equal(vcpu_seg_attr_from_vmx(0xa09b), 0xa09b);
    assert_int_equal(vcpu_seg_attr_from_vmx(0x1c0f3), VSEG_ATTR_UNUSABLE | VSEG_ATTR_DPL);
    assert_int_equal(vcpu_seg_attr_from_vmx(0x10000), VSEG_ATTR_UNUSABLE);
    assert_int_equal(vcpu_seg_attr_from_vmx(0xfffe0f93), 0x93);   /* reserved bits dropped */
    assert_int_equal(vcpu_seg_attr_to_vmx(0xc093), 0xc093);
    assert_int_equal(vcpu_seg_attr_to_vmx(VSEG_ATTR_UNUSABLE | 0x60), 0x10060);
    /* CR0: NE and CD/NW owned by the host; the guest cleared NE and set CD */
    assert_int_equal(vcpu_visible_cr(0x80000031, 0x60000020, 0x40000011), 0xc0000011);
    assert_int_equal(vcpu_visible_cr(0x2020, 0x2000, 0), 0x20);     /* CR4.VMXE hidden */
}

static void sample_passes_test(void **state)
{
    (void)state;
    vcpu_state_sample(&s);
    assert_null(vcpu_state_impossible(&s));
    s.run_state = VCPU_RS_RUNNING;      /* real mode after reset */
    s.halted_irqs_off = false;
    s.event.valid = false;
    s.event = (struct vcpu_event){ 0 };
    s.interruptibility = 0;
    s.cr0 = 0x60000010;
    s.cr4 = 0;
    s.efer = 0;
    s.rip = 0xfff0;
    s.rflags = 2;
    for (unsigned i = VSEG_ES; i <= VSEG_GS; i++)
        s.seg[i] = (struct vcpu_segment){ 0, 0xffff, 0x93, 0 };
    s.seg[VSEG_CS] = (struct vcpu_segment){ 0xf000, 0xffff, 0x9b, 0xffff0000 };
    s.seg[VSEG_LDTR] = (struct vcpu_segment){ 0, 0xffff, 0x82, 0 };
    s.seg[VSEG_TR] = (struct vcpu_segment){ 0, 0xffff, 0x8b, 0 };
    assert_null(vcpu_state_impossible(&s));
    s.sipi_pending = true;
    assert_null(vcpu_state_impossible(&s));
}

struct spoil {
    void (*fn)(struct vcpu_state *);
    const char *why;
};

#define SPOIL(name, ...) static void name(struct vcpu_state *x) { __VA_ARGS__; }
SPOIL(run_state, x->run_state = (enum vcpu_run_state)3)
SPOIL(irqs_off_running, x->run_state = VCPU_RS_RUNNING)
SPOIL(sipi_halted, x->sipi_pending = true)
SPOIL(xsave_small, x->xsave_size = 511)
SPOIL(xsave_big, x->xsave_size = VCPU_STATE_XSAVE_MAX + 64)
SPOIL(xcr0_no_x87, x->xcr0 = 6)
SPOIL(xcr0_avx_no_sse, x->xcr0 = 5)
SPOIL(cr0_high, x->cr0 |= 1ull << 32)
SPOIL(cr0_pg_no_pe, x->cr0 &= ~1ull)
SPOIL(cr0_nw_no_cd, x->cr0 |= 1ull << 29)
SPOIL(cr4_no_pae, x->cr4 &= ~(1ull << 5))
SPOIL(cr4_high, x->cr4 |= 1ull << 40)
SPOIL(efer_bits, x->efer |= 1ull << 12)
SPOIL(efer_lma_alone, x->efer &= ~(1ull << 8))
SPOIL(efer_lma_no_pg, x->cr0 &= ~(1ull << 31))
SPOIL(dr6_high, x->dr6 |= 1ull << 32)
SPOIL(dr7_high, x->dr7 |= 1ull << 40)
SPOIL(debugctl, x->debugctl = 1)
SPOIL(pat, x->pat = 0x0007040600070402ull)
SPOIL(sysenter, x->sysenter_eip = 1ull << 60)
SPOIL(sysenter_cs, x->sysenter_cs = 1ull << 33)
SPOIL(lstar, x->lstar = 0x0000900000000000ull)
SPOIL(kgs, x->kernel_gs_base = 1ull << 62)
SPOIL(tsc_aux, x->tsc_aux = 1ull << 32)
SPOIL(fmask, x->fmask = 1ull << 32)
SPOIL(pdpte_long, x->pdpte[2] = 0x1001)
SPOIL(pdpte_reserved, { x->efer = 0; x->pdpte[0] = 0x1003; })
SPOIL(gdtr, x->gdtr_limit = 0x10000)
SPOIL(idtr, x->idtr_base = 1ull << 50)
SPOIL(rip, x->rip = 0x0000800000000000ull)
SPOIL(rip_compat, { x->seg[VSEG_CS].attributes = 0xc09b; x->rip = 1ull << 32; })
SPOIL(rflags_fixed, x->rflags = 0x240)
SPOIL(rflags_reserved, x->rflags |= 1ull << 15)
SPOIL(rflags_high, x->rflags |= 1ull << 22)
SPOIL(rflags_vm_long, x->rflags |= 1ull << 17)
SPOIL(intr_bits, x->interruptibility = 4)
SPOIL(intr_both, x->interruptibility = 3)
SPOIL(intr_sti_no_if, x->rflags = 0x46)
SPOIL(pending_dbg, x->pending_debug = 1ull << 16)
SPOIL(pending_bs, x->pending_debug = 1ull << 14)
SPOIL(pending_tf, x->rflags |= 1ull << 8)
SPOIL(attr_reserved, x->seg[VSEG_DS].attributes |= 1u << 9)
SPOIL(attr_unusable, x->seg[VSEG_GS].attributes |= 0x93)
SPOIL(attr_high, x->seg[VSEG_DS].attributes |= 1u << 20)
SPOIL(cs_unusable, x->seg[VSEG_CS].attributes = VSEG_ATTR_UNUSABLE)
SPOIL(cs_data, x->seg[VSEG_CS].attributes = 0xa091)
SPOIL(cs_not_present, x->seg[VSEG_CS].attributes &= ~VSEG_ATTR_P)
SPOIL(cs_dpl, x->seg[VSEG_CS].attributes |= 3u << 5)
SPOIL(cs_conforming_dpl, x->seg[VSEG_CS].attributes = 0xa09f | (3u << 5))
SPOIL(cs_l_and_d, x->seg[VSEG_CS].attributes |= VSEG_ATTR_DB)
SPOIL(cs_limit_g, x->seg[VSEG_CS].limit = 0xfffff000)
SPOIL(cs_base, x->seg[VSEG_CS].base = 1ull << 32)
SPOIL(ss_type, x->seg[VSEG_SS].attributes = 0xc091)
SPOIL(ss_limit, { x->seg[VSEG_SS].limit = 0x100000; x->seg[VSEG_SS].attributes = 0x4093; })
SPOIL(ss_base, x->seg[VSEG_SS].base = 1ull << 40)
SPOIL(ss_dpl_real, { x->seg[VSEG_SS].attributes |= 3u << 5; x->seg[VSEG_CS].attributes = 0xa093; })
SPOIL(ds_not_accessed, x->seg[VSEG_DS].attributes = 0xc092)
SPOIL(ds_exec_only, x->seg[VSEG_DS].attributes = 0xc099)
SPOIL(ds_system, x->seg[VSEG_DS].attributes = 0xc083)
SPOIL(ds_base, x->seg[VSEG_DS].base = 1ull << 32)
SPOIL(fs_base, x->seg[VSEG_FS].base = 1ull << 48)
SPOIL(gs_base_unusable, x->seg[VSEG_GS].base = 1ull << 48)
SPOIL(tr_unusable, x->seg[VSEG_TR].attributes = VSEG_ATTR_UNUSABLE)
SPOIL(tr_16bit_long, x->seg[VSEG_TR].attributes = 0x83)
SPOIL(tr_ti, x->seg[VSEG_TR].selector = 0x44)
SPOIL(tr_base, x->seg[VSEG_TR].base = 1ull << 50)
SPOIL(ldtr_type, x->seg[VSEG_LDTR].attributes = 0x8b)
SPOIL(ldtr_base, x->seg[VSEG_LDTR].base = 1ull << 50)
SPOIL(v86_segment, { x->efer = 0; x->cr0 = 0x11; x->cr4 = 0; x->rip = 0x100;
                     x->rflags |= 1ull << 17; x->event.valid = false;
                     x->event = (struct vcpu_event){ 0 }; })
SPOIL(event_leftover, { x->event.valid = false; })
SPOIL(event_type1, x->event.type = 1)
SPOIL(event_type7, x->event.type = 7)
SPOIL(event_nmi_vector, { x->event = (struct vcpu_event){ true, 3, 2, false, 0, 0 };
                          x->interruptibility = 0; })
SPOIL(event_nmi_blocked, { x->event = (struct vcpu_event){ true, 2, 2, false, 0, 0 };
                           x->interruptibility = 8; })
SPOIL(event_extint_cli, { x->event = (struct vcpu_event){ true, 0x30, 0, false, 0, 0 };
                          x->interruptibility = 0; x->rflags = 2; })
SPOIL(event_extint_sti, x->event = ((struct vcpu_event){ true, 0x30, 0, false, 0, 0 }))
SPOIL(event_exc_vector, x->event.vector = 32)
SPOIL(event_exc_nmi, { x->event.vector = 2; x->event.has_error = false; x->event.error = 0; })
SPOIL(event_no_error, x->event.has_error = false)
SPOIL(event_extra_error, { x->event.vector = 6; })
SPOIL(event_error_high, x->event.error = 0x10000)
SPOIL(event_soft_len, x->event = ((struct vcpu_event){ true, 0x80, 4, false, 0, 0 }))
SPOIL(event_soft_len16, x->event = ((struct vcpu_event){ true, 3, 6, false, 0, 16 }))
SPOIL(event_hw_len, x->event.instr_len = 2)

static const struct spoil spoils[] = {
#define S(n, w) { n, w }
    S(run_state, "run state"), S(irqs_off_running, "halted with interrupts off"),
    S(sipi_halted, "SIPI pending"), S(xsave_small, "XSAVE area size"),
    S(xsave_big, "XSAVE area size"), S(xcr0_no_x87, "XCR0"), S(xcr0_avx_no_sse, "XCR0"),
    S(cr0_high, "CR0"), S(cr0_pg_no_pe, "CR0"), S(cr0_nw_no_cd, "CR0"), S(cr4_no_pae, "CR4"),
    S(cr4_high, "CR4"), S(efer_bits, "EFER"), S(efer_lma_alone, "EFER"),
    S(efer_lma_no_pg, "EFER"), S(dr6_high, "DR6"), S(dr7_high, "DR7"),
    S(debugctl, "DEBUGCTL"), S(pat, "PAT"), S(sysenter, "SYSENTER"),
    S(sysenter_cs, "SYSENTER"), S(lstar, "SYSCALL"), S(kgs, "SYSCALL"), S(tsc_aux, "SYSCALL"),
    S(fmask, "SYSCALL"), S(pdpte_long, "PDPTE"), S(pdpte_reserved, "PDPTE"), S(gdtr, "GDTR"), S(idtr, "GDTR"), S(rip, "RIP"),
    S(rip_compat, "RIP"), S(rflags_fixed, "RFLAGS"), S(rflags_reserved, "RFLAGS"),
    S(rflags_high, "RFLAGS"), S(rflags_vm_long, "RFLAGS"), S(intr_bits, "interruptibility"),
    S(intr_both, "interruptibility"), S(intr_sti_no_if, "interruptibility"),
    S(pending_dbg, "pending debug"), S(pending_bs, "pending single step"),
    S(pending_tf, "pending single step"), S(attr_reserved, "segment attribute bits"),
    S(attr_unusable, "segment attribute bits"), S(attr_high, "segment attribute bits"),
    S(cs_unusable, "CS"), S(cs_data, "CS type"), S(cs_not_present, "CS"), S(cs_dpl, "CS DPL"),
    S(cs_conforming_dpl, "CS DPL"), S(cs_l_and_d, "CS with both"), S(cs_limit_g, "CS"),
    S(cs_base, "CS base"), S(ss_type, "SS"), S(ss_limit, "SS"), S(ss_base, "SS base"),
    S(ss_dpl_real, "SS DPL"), S(ds_not_accessed, "data segment"),
    S(ds_exec_only, "data segment"), S(ds_system, "data segment"), S(ds_base, "DS or ES"),
    S(fs_base, "FS or GS"), S(gs_base_unusable, "FS or GS"), S(tr_unusable, "TR"),
    S(tr_16bit_long, "TR"), S(tr_ti, "TR"), S(tr_base, "TR"), S(ldtr_type, "LDTR"),
    S(ldtr_base, "LDTR"), S(v86_segment, "virtual-8086"), S(event_leftover, "without an event"),
    S(event_type1, "pending event type"), S(event_type7, "pending event type"),
    S(event_nmi_vector, "pending NMI"), S(event_nmi_blocked, "pending NMI"),
    S(event_extint_cli, "interrupts are blocked"), S(event_extint_sti, "interrupts are blocked"),
    S(event_exc_vector, "exception vector"), S(event_exc_nmi, "exception vector"),
    S(event_no_error, "error code"), S(event_extra_error, "error code"),
    S(event_error_high, "error code"), S(event_soft_len, "instruction length"),
    S(event_soft_len16, "instruction length"), S(event_hw_len, "instruction length"),
#undef S
};

static void impossible_test(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(spoils) / sizeof(spoils[0]); i++) {
        vcpu_state_sample(&s);
        spoils[i].fn(&s);
        const char *why = vcpu_state_impossible(&s);
        if (!why || !strstr(why, spoils[i].why))
            fail_msg("spoil %zu: expected '%s', got '%s'", i, spoils[i].why, why ? why : "(accepted)");
    }
}

/* Leaf 0xD of a CPU with AVX-512: AVX at 576, the AVX-512 trio from 1088 to 2688. */
static struct cpuid_result leaf_d(uint32_t leaf, uint32_t subleaf)
{
    static const struct cpuid_result sub[8] = {
        [2] = { 256, 576, 0, 0 }, [5] = { 64, 1088, 0, 0 }, [6] = { 512, 1152, 0, 0 },
        [7] = { 1024, 1664, 0, 0 },
    };
    if (leaf == 0xd && subleaf < 8)
        return sub[subleaf];
    return (struct cpuid_result){ 0, 0, 0, 0 };
}

static const struct vcpu_state_offer avx512_host = {
    .cr4_allowed = 0x3767ff, .xcr0_offered = 0xe7, .xsave_size = 2688, .mxcsr_mask = 0xffff,
    .phys_addr_bits = 39, .host = leaf_d,
};

static void expect_not_offered(const struct vcpu_state_offer *o, const char *why)
{
    const char *got = vcpu_state_not_offered(&s, o);
    if (!got || !strstr(got, why))
        fail_msg("expected '%s', got '%s'", why, got ? got : "(accepted)");
}

static void offered_test(void **state)
{
    (void)state;
    struct vcpu_state_offer o = avx512_host;
    vcpu_state_sample(&s);
    assert_null(vcpu_state_not_offered(&s, &o));
    s.cr4 |= 1ull << 22;                                    /* PKE */
    expect_not_offered(&o, "CR4");
    vcpu_state_sample(&s);
    s.cr3 = 1ull << 40;
    expect_not_offered(&o, "CR3");
    vcpu_state_sample(&s);
    s.efer = 0;                                             /* PAE paging */
    s.rip = 0x100000;
    s.seg[VSEG_CS].attributes = 0xc09b;
    s.pdpte[1] = (1ull << 45) | 1;
    assert_null(vcpu_state_impossible(&s));
    expect_not_offered(&o, "PDPTE");
    vcpu_state_sample(&s);
    s.xcr0 = 0x207;                                         /* PKRU: not offered here */
    expect_not_offered(&o, "XCR0");
    vcpu_state_sample(&s);
    s.xsave_size = 2752;
    expect_not_offered(&o, "larger than this host");
    vcpu_state_sample(&s);
    s.xsave[512] = 0xe7;                                    /* AVX-512 data past 832 bytes */
    expect_not_offered(&o, "beyond the area");
    s.xsave_size = 2688;
    assert_null(vcpu_state_not_offered(&s, &o));
    s.xsave[513] = 0x2;                                     /* XSTATE_BV bit 9 (PKRU) */
    expect_not_offered(&o, "not offered");
    vcpu_state_sample(&s);
    s.xsave[512 + 15] = 0x80;                               /* XCOMP_BV[63]: compacted */
    expect_not_offered(&o, "XSAVE header");
    vcpu_state_sample(&s);
    s.xsave[512 + 40] = 1;
    expect_not_offered(&o, "XSAVE header");
    vcpu_state_sample(&s);
    s.xsave[26] = 1;                                        /* MXCSR bit 16 */
    expect_not_offered(&o, "MXCSR");
    vcpu_state_sample(&s);
    s.xsave[24] = 0xc0;                                     /* DAZ where the mask lacks it */
    o.mxcsr_mask = 0xffbf;
    expect_not_offered(&o, "MXCSR");
    /* A CPU without XSAVE: a 512-byte FXSAVE image and XCR0 = x87. */
    struct vcpu_state_offer fx = { .cr4_allowed = 0x3767ff, .xsave_size = 512,
                                   .phys_addr_bits = 36, .host = leaf_d };
    vcpu_state_sample(&s);
    expect_not_offered(&fx, "XCR0");
    s.xcr0 = 1;
    expect_not_offered(&fx, "larger than this host");
    s.xsave_size = 512;
    assert_null(vcpu_state_not_offered(&s, &fx));
}

/* ---- the MSR policy's values through a CPUID view ---------------------------------- */

static bool show_mtrr, show_tsc_adjust, show_ibrs;

static void view(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    (void)ctx;
    (void)subleaf;
    *out = (struct cpuid_result){ 0, 0, 0, 0 };
    if (leaf == 0)
        out->eax = 7;
    if (leaf == 1)
        out->edx = (1u << 4) | (show_mtrr ? 1u << 12 : 0);
    if (leaf == 7) {
        out->ebx = show_tsc_adjust ? 1u << 1 : 0;
        out->edx = show_ibrs ? 1u << 26 : 0;
    }
}

static void msrs_test(void **state)
{
    (void)state;
    struct vcpu_msrs m = { 0 };
    struct msr_guest g = { view, NULL, &m, 1000 };
    show_mtrr = show_tsc_adjust = show_ibrs = true;
    vcpu_state_sample(&s);
    s.spec_ctrl = 1;
    assert_null(vcpu_state_msrs_apply(&s, &g));
    assert_true(m.reset_done);
    assert_int_equal(m.mtrr_fixed[1], 0x0505050505050505ull);
    assert_int_equal(m.tsc_adjust, 77);
    assert_int_equal(m.tsc_offset, s.tsc_offset);
    memset(&t, 0, sizeof(t));
    vcpu_state_msrs_capture(&t, &g);
    assert_int_equal(t.spec_ctrl, 1);
    assert_int_equal(t.misc_enable, s.misc_enable);
    assert_int_equal(t.mtrr_def_type, s.mtrr_def_type);
    assert_memory_equal(t.mtrr_fixed, s.mtrr_fixed, sizeof(t.mtrr_fixed));
    assert_int_equal(t.tsc_adjust, 77);
    assert_int_equal(t.tsc_offset, s.tsc_offset);

    /* a vCPU that never reached an MSR exit: the reset values */
    struct vcpu_msrs fresh = { 0 };
    g.regs = &fresh;
    vcpu_state_msrs_capture(&t, &g);
    assert_int_equal(t.mtrr_def_type, 0xc06);
    assert_int_equal(t.mtrr_fixed[0], 0x0606060606060606ull);

    /* each value the view does not allow */
    show_ibrs = false;
    memset(&m, 0, sizeof(m));
    g.regs = &m;
    assert_string_equal(vcpu_state_msrs_apply(&s, &g), "IA32_SPEC_CTRL");
    s.spec_ctrl = 0;
    show_tsc_adjust = false;
    memset(&m, 0, sizeof(m));
    assert_string_equal(vcpu_state_msrs_apply(&s, &g), "IA32_TSC_ADJUST");
    s.tsc_adjust = 0;
    show_mtrr = false;
    memset(&m, 0, sizeof(m));
    assert_string_equal(vcpu_state_msrs_apply(&s, &g), "a fixed-range MTRR");
    s.mtrr_fixed[1] = 0x0606060606060606ull;
    memset(&m, 0, sizeof(m));
    assert_null(vcpu_state_msrs_apply(&s, &g));     /* reset values pass without MTRRs */
    show_mtrr = true;
    s.mtrr_fixed[3] = 0x0202020202020202ull;          /* memory type 2 does not exist */
    memset(&m, 0, sizeof(m));
    assert_string_equal(vcpu_state_msrs_apply(&s, &g), "a fixed-range MTRR");
    vcpu_state_sample(&s);
    s.tsc_adjust = 0;
    s.mtrr_def_type = 0x1006;
    memset(&m, 0, sizeof(m));
    assert_string_equal(vcpu_state_msrs_apply(&s, &g), "IA32_MTRR_DEF_TYPE");
    vcpu_state_sample(&s);
    s.tsc_adjust = 0;
    s.misc_enable = 1ull << 22;                       /* limit CPUID: never writable */
    memset(&m, 0, sizeof(m));
    assert_string_equal(vcpu_state_msrs_apply(&s, &g), "IA32_MISC_ENABLE");
}

static void difference_test(void **state)
{
    (void)state;
    vcpu_state_sample(&s);
    vcpu_state_sample(&t);
    assert_null(vcpu_state_first_difference(&s, &t));
    t.dr7 = 0x401;
    assert_string_equal(vcpu_state_first_difference(&s, &t), "dr7");
    t.seg[VSEG_TR].base = 0;
    assert_string_equal(vcpu_state_first_difference(&s, &t), "seg");
    vcpu_state_sample(&t);
    t.xsave[4000] = 1;
    assert_string_equal(vcpu_state_first_difference(&s, &t), "xsave");
    vcpu_state_sample(&t);
    t.tsc_adjust = 0;
    assert_string_equal(vcpu_state_first_difference(&s, &t), "tsc_adjust");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conversions_test),
        cmocka_unit_test(sample_passes_test),
        cmocka_unit_test(impossible_test),
        cmocka_unit_test(offered_test),
        cmocka_unit_test(msrs_test),
        cmocka_unit_test(difference_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
