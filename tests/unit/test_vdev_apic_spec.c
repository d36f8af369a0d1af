/*
 * The virtual LAPIC and IOAPIC against their specifications, rule by rule: Intel SDM
 * Vol. 3A chapter 10 (APIC; 11 in later editions), section 10.12 (x2APIC) above all, and
 * the 82093AA I/O APIC datasheet.  hv/vdev/apic.md lists the same rules and what the
 * models do.  Each test names the section it checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/vdev/platform_devices.h"
#include "hv/vdev/vdev_util.h"
#include "tests/unit/test_vdev_fake.h"

#define BASE      0xfee00000ull
#define EN        VLAPIC_BASE_EN
#define EXTD      VLAPIC_BASE_EXTD
#define GP        VDEV_MSR_GP
#define OK        VDEV_MSR_OK

struct ctx { struct fake_platform f; struct vdev_bus bus; struct platform_devices pd; };

static int setup(void **state)
{
    static struct ctx c;
    fake_platform_init(&c.f);
    c.f.plat.vcpu_count = 2;
    c.f.now_ns = 1000;
    vdev_bus_init(&c.bus);
    assert_true(platform_devices_init(&c.pd, &c.bus, &c.f.plat));
    *state = &c;
    return 0;
}

static enum vdev_msr_result wrmsr(struct ctx *c, unsigned vcpu, uint32_t msr, uint64_t v)
{
    return platform_devices_msr_write(&c->pd, vcpu, msr, v);
}

static uint64_t rdmsr(struct ctx *c, unsigned vcpu, uint32_t msr)
{
    uint64_t v = 0;
    assert_int_equal(platform_devices_msr_read(&c->pd, vcpu, msr, &v), OK);
    return v;
}

static bool read_gps(struct ctx *c, unsigned vcpu, uint32_t msr)
{
    uint64_t v;
    return platform_devices_msr_read(&c->pd, vcpu, msr, &v) == GP;
}

static uint32_t mmio_rd(struct ctx *c, unsigned vcpu, unsigned off)
{
    uint64_t v = 0;
    assert_true(platform_devices_mmio(&c->pd, vcpu, BASE + off, 4, false, &v));
    return (uint32_t)v;
}

static void mmio_wr(struct ctx *c, unsigned vcpu, unsigned off, uint32_t val)
{
    uint64_t v = val;
    assert_true(platform_devices_mmio(&c->pd, vcpu, BASE + off, 4, true, &v));
}

static int pending(struct ctx *c, unsigned vcpu)
{
    struct platform_intr in;
    if (!platform_devices_pending(&c->pd, vcpu, &in) || in.source != PLATFORM_INTR_LAPIC)
        return -1;
    return in.vector;
}

static void take(struct ctx *c, unsigned vcpu, int vector)
{
    struct platform_intr in = { PLATFORM_INTR_LAPIC, (uint8_t)vector };
    assert_int_equal(platform_devices_ack(&c->pd, vcpu, &in), vector);
}

/* Both vCPUs in x2APIC mode, software-enabled. */
static void x2apic_on(struct ctx *c)
{
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(wrmsr(c, i, 0x1b, BASE | EN | EXTD), OK);
        assert_int_equal(wrmsr(c, i, 0x80f, 0x1ff), OK);
    }
}

/* 10.12.1.2: the MSR map of x2APIC mode, its holes (APR, RRD, DFR, ICR2, CMCI on a LAPIC
 * with six LVT entries) and its read-only and write-only registers. */
static void test_x2apic_register_map(void **state)
{
    struct ctx *c = *state;
    x2apic_on(c);
    static const uint32_t readable[] = {
        0x802, 0x803, 0x808, 0x80a, 0x80d, 0x80f, 0x810, 0x817, 0x818, 0x81f, 0x820, 0x827,
        0x828, 0x830, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837, 0x838, 0x839, 0x83e,
    };
    for (size_t i = 0; i < sizeof(readable) / sizeof(readable[0]); i++) {
        uint64_t v;
        assert_int_equal(platform_devices_msr_read(&c->pd, 1, readable[i], &v), OK);
    }
    for (uint32_t msr = 0x800; msr <= 0x8ff; msr++) {
        bool listed = false;
        for (size_t i = 0; i < sizeof(readable) / sizeof(readable[0]); i++)
            listed |= readable[i] == msr;
        listed |= msr >= 0x810 && msr <= 0x827;
        if (!listed)
            assert_true(read_gps(c, 1, msr));          /* reserved or write-only */
    }
    /* Read-only: ID, version, PPR, LDR, ISR, TMR, IRR, current count. */
    static const uint32_t read_only[] = { 0x802, 0x803, 0x80a, 0x80d, 0x810, 0x818, 0x820,
                                          0x827, 0x839 };
    for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
        assert_int_equal(wrmsr(c, 1, read_only[i], 0), GP);
        assert_int_equal(wrmsr(c, 1, read_only[i], 1), GP);
    }
    /* Reserved: APR, RRD, DFR, ICR2, CMCI and the rest of the range, both ways. */
    static const uint32_t reserved[] = { 0x800, 0x801, 0x804, 0x809, 0x80c, 0x80e, 0x82f,
                                         0x831, 0x83a, 0x83d, 0x840, 0x8ff };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_true(read_gps(c, 1, reserved[i]));
        assert_int_equal(wrmsr(c, 1, reserved[i], 0), GP);
    }
    assert_true(read_gps(c, 1, 0x80b));                /* EOI, SELF IPI: write-only */
    assert_true(read_gps(c, 1, 0x83f));
    assert_int_equal(rdmsr(c, 1, 0x802), 1);           /* the 32-bit x2APIC ID */
}

/* 10.12.1.3: WRMSR with a reserved bit set #GPs and changes nothing; bits 63:32 are
 * reserved in every register but the ICR.  The known gap was the ICR. */
static void test_x2apic_icr_reserved_bits(void **state)
{
    struct ctx *c = *state;
    x2apic_on(c);
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    /* ICR, Figure 10-28: 12 (no delivery status in x2APIC), 13, 17:16, 31:20. */
    static const unsigned icr_rsvd[] = { 12, 13, 16, 17, 20, 24, 31 };
    for (size_t i = 0; i < sizeof(icr_rsvd) / sizeof(icr_rsvd[0]); i++) {
        assert_int_equal(wrmsr(c, 0, 0x830, (1ull << 32) | (1ull << icr_rsvd[i]) | 0x40), GP);
        assert_int_equal(pending(c, 1), -1);           /* nothing was sent */
    }
    assert_int_equal(l->stats.ipis_sent, 0);
    /* Every defined field at once: level, assert, logical, lowest priority, shorthand. */
    assert_int_equal(wrmsr(c, 0, 0x830, (0x2ull << 32) | 0xcc941), OK);
    assert_int_equal(wrmsr(c, 0, 0x830, (1ull << 32) | 0x4041), OK);
    assert_int_equal(pending(c, 1), 0x41);
}

static void test_x2apic_register_reserved_bits(void **state)
{
    struct ctx *c = *state;
    x2apic_on(c);
    /* TPR 31:8. */
    assert_int_equal(wrmsr(c, 0, 0x808, 0x100), GP);
    assert_int_equal(wrmsr(c, 0, 0x808, 1ull << 32), GP);
    assert_int_equal(rdmsr(c, 0, 0x808), 0);
    assert_int_equal(wrmsr(c, 0, 0x808, 0xff), OK);
    assert_int_equal(wrmsr(c, 0, 0x808, 0), OK);
    /* SVR: 10.9, bits 31:10 (no EOI-broadcast suppression: version bit 24 is clear). */
    assert_int_equal(VLAPIC_VERSION & (1u << 24), 0);
    assert_int_equal(wrmsr(c, 0, 0x80f, 0x1ff | (1u << 12)), GP);
    assert_int_equal(wrmsr(c, 0, 0x80f, 0x1ff | (1u << 10)), GP);
    assert_int_equal(wrmsr(c, 0, 0x80f, 0x0ff | (1ull << 40)), GP);
    assert_int_equal(rdmsr(c, 0, 0x80f), 0x1ff);       /* still enabled */
    assert_int_equal(wrmsr(c, 0, 0x80f, 0x3ff), OK);   /* focus checking bit is defined */
    /* LVT entries, Figure 10-8: per entry; delivery status and remote IRR are read-only,
     * not reserved: written, they are ignored. */
    static const struct { uint32_t msr, rsvd, ok; } lvt[] = {
        { 0x832, 1u << 8, 0x70040 | (1u << 12) },      /* timer: no delivery mode */
        { 0x833, 1u << 11, 0x107ff | (1u << 12) },     /* thermal */
        { 0x834, 1u << 13, 0x107ff },                  /* performance counters */
        { 0x835, 1u << 11, 0x1ffff & ~(1u << 11) },    /* LINT0: all defined bits */
        { 0x836, 1u << 17, 0x1a7ff | (1u << 14) },     /* LINT1 */
        { 0x837, 1u << 8, 0x100ff | (1u << 12) },      /* error: vector and mask only */
    };
    for (size_t i = 0; i < sizeof(lvt) / sizeof(lvt[0]); i++) {
        uint64_t before = rdmsr(c, 0, lvt[i].msr);
        assert_int_equal(wrmsr(c, 0, lvt[i].msr, 0x10040 | lvt[i].rsvd), GP);
        assert_int_equal(wrmsr(c, 0, lvt[i].msr, 0x10040 | (1u << 31)), GP);
        assert_int_equal(rdmsr(c, 0, lvt[i].msr), before);
        assert_int_equal(wrmsr(c, 0, lvt[i].msr, lvt[i].ok), OK);
        assert_int_equal(rdmsr(c, 0, lvt[i].msr) & ((1u << 12) | (1u << 14)), 0);
        assert_int_equal(wrmsr(c, 0, lvt[i].msr, 0x10000), OK);
    }
    /* Divide configuration, Figure 10-10: bits 0, 1, 3 only. */
    assert_int_equal(wrmsr(c, 0, 0x83e, 0x4), GP);
    assert_int_equal(wrmsr(c, 0, 0x83e, 0x10), GP);
    assert_int_equal(wrmsr(c, 0, 0x83e, 0xb), OK);
    assert_int_equal(rdmsr(c, 0, 0x83e), 0xb);
    /* SELF IPI, Figure 10-29: bits 31:8.  Initial count: all 32 bits. */
    assert_int_equal(wrmsr(c, 0, 0x83f, 0x141), GP);
    assert_int_equal(pending(c, 0), -1);
    assert_int_equal(wrmsr(c, 0, 0x838, 0xffffffffull), OK);
    assert_int_equal(wrmsr(c, 0, 0x838, 1ull << 32), GP);
    /* EOI and ESR take only 0. */
    assert_int_equal(wrmsr(c, 0, 0x80b, 1), GP);
    assert_int_equal(wrmsr(c, 0, 0x828, 0x80), GP);
    assert_int_equal(wrmsr(c, 0, 0x828, 0), OK);
}

/* 10.12.1.2, 10.12.10: the ICR is one 64-bit MSR with a 32-bit destination; the LDR is
 * read-only and derived from the x2APIC ID (cluster ID << 16 | 1 << (ID & 15)). */
static void test_x2apic_icr_and_ldr(void **state)
{
    struct ctx *c = *state;
    x2apic_on(c);
    assert_int_equal(rdmsr(c, 1, 0x80d), (0u << 16) | (1u << 1));
    assert_int_equal(wrmsr(c, 1, 0x80d, 0x10000), GP);
    assert_int_equal(wrmsr(c, 0, 0x830, (1ull << 32) | 0x4052), OK);
    assert_int_equal(rdmsr(c, 0, 0x830), (1ull << 32) | 0x4052);
    assert_int_equal(pending(c, 1), 0x52);
    assert_int_equal(wrmsr(c, 0, 0x830, (0x2ull << 32) | 0x4853), OK);  /* logical: bit 1 */
    take(c, 1, 0x52);
    assert_int_equal(wrmsr(c, 1, 0x80b, 0), OK);
    assert_int_equal(pending(c, 1), 0x53);
    assert_int_equal(wrmsr(c, 0, 0x830, (0xffffffffull << 32) | 0x4054), OK);  /* broadcast */
    assert_int_equal(pending(c, 0), 0x54);
}

/* 10.12.2: x2APIC MSRs #GP outside x2APIC mode; in x2APIC mode the xAPIC page behaves as
 * with the APIC globally disabled: nobody claims it, reads are all-ones. */
static void test_x2apic_availability(void **state)
{
    struct ctx *c = *state;
    assert_true(read_gps(c, 0, 0x802));                        /* xAPIC mode */
    assert_int_equal(wrmsr(c, 0, 0x808, 0), GP);
    assert_int_equal(wrmsr(c, 0, 0x830, 0x4040), GP);
    assert_int_equal(wrmsr(c, 0, 0x1b, BASE), OK);             /* disabled */
    assert_true(read_gps(c, 0, 0x802));
    assert_int_equal(wrmsr(c, 0, 0x1b, BASE | EN), OK);
    x2apic_on(c);
    uint64_t v = 0;
    assert_false(platform_devices_mmio(&c->pd, 0, BASE + 0x30, 4, false, &v));
    v = 0x1ff;
    assert_false(platform_devices_mmio(&c->pd, 0, BASE + 0xf0, 4, true, &v));
    assert_int_equal(rdmsr(c, 0, 0x80f), 0x1ff);
}

/* 10.12.5, Figure 10-27: the IA32_APIC_BASE transitions.  Legal: xAPIC <-> disabled,
 * xAPIC -> x2APIC, x2APIC -> disabled.  #GP: x2APIC -> xAPIC, disabled -> x2APIC, any ->
 * EN=0 EXTD=1, reserved bits (7:0, 9, MAXPHYADDR and up). */
static void test_apic_base_transitions(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EXTD), GP);        /* invalid state */
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN | (1u << 9)), GP);
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN | 0x80), GP);
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN | (1ull << 36)), GP);   /* MAXPHYADDR 36 */
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN | EXTD), OK);   /* xAPIC -> x2APIC */
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN), GP);          /* x2APIC -> xAPIC */
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EXTD), GP);
    assert_int_equal(rdmsr(c, 1, 0x1b), BASE | EN | EXTD);
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE), OK);               /* x2APIC -> disabled */
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN | EXTD), GP);   /* disabled -> x2APIC */
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN), OK);          /* disabled -> xAPIC */
    assert_int_equal(rdmsr(c, 1, 0x1b), BASE | EN);
    assert_int_equal(wrmsr(c, 0, 0x1b, BASE | EN), OK);          /* the BSP flag stays */
    assert_int_equal(rdmsr(c, 0, 0x1b), BASE | EN | VLAPIC_BASE_BSP);
}

/* IA32_APIC_BASE's reserved bits begin at the guest's MAXPHYADDR (10.4.4), which CPUID
 * leaf 0x80000008 shows the guest, not at a fixed 36. */
static void test_apic_base_follows_maxphyaddr(void **state)
{
    struct ctx *c = *state;
    c->f.plat.phys_addr_bits = 40;
    vdev_bus_init(&c->bus);
    assert_true(platform_devices_init(&c->pd, &c->bus, &c->f.plat));
    assert_int_equal(wrmsr(c, 1, 0x1b, (0xfull << 36) | EN), OK);
    assert_int_equal(mmio_rd(c, 0, 0x20), 0);          /* vCPU 0 still at the default page */
    uint64_t id = 0;
    assert_true(platform_devices_mmio(&c->pd, 1, (0xfull << 36) + 0x20, 4, false, &id));
    assert_int_equal(id, 1u << 24);
    assert_int_equal(wrmsr(c, 1, 0x1b, (1ull << 40) | EN), GP);
}

/* 10.12.5.1: what the transitions keep and reset.  To x2APIC: the ID stays, the LDR is
 * derived from it.  To disabled: everything but the ID is reset (SVR 0xff, LVTs masked,
 * DFR all-ones).  INIT in x2APIC mode keeps the mode and the ID, resets the rest. */
static void test_transition_state(void **state)
{
    struct ctx *c = *state;
    mmio_wr(c, 1, 0xf0, 0x1ff);
    mmio_wr(c, 1, 0x80, 0x30);
    mmio_wr(c, 1, 0xd0, 0x05000000);                   /* an xAPIC logical ID */
    mmio_wr(c, 1, 0x320, 0x20040);
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN | EXTD), OK);
    assert_int_equal(rdmsr(c, 1, 0x802), 1);
    assert_int_equal(rdmsr(c, 1, 0x80d), 1u << 1);
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE), OK);
    assert_int_equal(wrmsr(c, 1, 0x1b, BASE | EN), OK);
    assert_int_equal(mmio_rd(c, 1, 0x20), 1u << 24);
    assert_int_equal(mmio_rd(c, 1, 0xf0), 0xff);
    assert_int_equal(mmio_rd(c, 1, 0x80), 0);
    assert_int_equal(mmio_rd(c, 1, 0xd0), 0);
    assert_int_equal(mmio_rd(c, 1, 0xe0), 0xffffffff);
    assert_int_equal(mmio_rd(c, 1, 0x320), 0x10000);
    x2apic_on(c);
    assert_int_equal(wrmsr(c, 1, 0x808, 0x20), OK);
    vlapic_reset(platform_devices_lapic(&c->pd, 1));   /* INIT */
    assert_int_equal(rdmsr(c, 1, 0x1b), BASE | EN | EXTD);
    assert_int_equal(rdmsr(c, 1, 0x802), 1);
    assert_int_equal(rdmsr(c, 1, 0x80d), 1u << 1);
    assert_int_equal(rdmsr(c, 1, 0x808), 0);
    assert_int_equal(rdmsr(c, 1, 0x80f), 0xff);
}

/* 10.4.7.2: software-disabled, every LVT mask is set and cannot be cleared; fixed
 * interrupts are not accepted, NMIs are; the timer goes on counting. */
static void test_software_disable(void **state)
{
    struct ctx *c = *state;
    mmio_wr(c, 1, 0xf0, 0x1ff);
    mmio_wr(c, 1, 0x3e0, 0xb);
    mmio_wr(c, 1, 0x320, 0x00040);
    mmio_wr(c, 1, 0x370, 0x00050);
    mmio_wr(c, 1, 0x380, 100000);
    mmio_wr(c, 1, 0xf0, 0x0ff);                        /* software-disable */
    for (unsigned off = 0x320; off <= 0x370; off += 0x10) {
        assert_true(mmio_rd(c, 1, off) & (1u << 16));
        mmio_wr(c, 1, off, 0x60);
        assert_int_equal(mmio_rd(c, 1, off), 0x10060);
    }
    c->f.now_ns += 50000;
    assert_int_equal(mmio_rd(c, 1, 0x390), 50000);     /* still counting */
    struct vlapic *l = platform_devices_lapic(&c->pd, 1);
    vlapic_deliver(l, VLAPIC_DM_FIXED, 0x70, false);
    assert_int_equal(pending(c, 1), -1);
    vlapic_deliver(l, VLAPIC_DM_NMI, 0, false);
    assert_true(platform_devices_take_nmi(&c->pd, 1));
    mmio_wr(c, 1, 0xf0, 0x1ff);                        /* enabling again unmasks nothing */
    assert_int_equal(mmio_rd(c, 1, 0x320), 0x10060);
}

/* 10.5.3: illegal vectors (0-15) set Send Illegal Vector at the sender (ICR, SELF IPI)
 * and Receive Illegal Vector at the receiver (a local source such as the timer); the ESR
 * shows what was logged before its last write; the LVT error interrupt fires on an error
 * and, until the next ESR write rearms it, not again. */
static void test_esr_and_error_interrupt(void **state)
{
    struct ctx *c = *state;
    mmio_wr(c, 0, 0xf0, 0x1ff);
    mmio_wr(c, 0, 0x370, 0x000e0);                     /* error LVT: vector 0xe0 */
    mmio_wr(c, 0, 0x300, 0x40005);                     /* self IPI, vector 5 */
    assert_int_equal(mmio_rd(c, 0, 0x280), 0);         /* not latched before a write */
    assert_int_equal(pending(c, 0), 0xe0);
    take(c, 0, 0xe0);
    mmio_wr(c, 0, 0xb0, 0);
    mmio_wr(c, 0, 0x310, 1u << 24);
    mmio_wr(c, 0, 0x300, 0x4003);                      /* to vCPU 1, vector 3: logged only */
    assert_int_equal(pending(c, 0), -1);
    assert_int_equal(pending(c, 1), -1);
    mmio_wr(c, 0, 0x280, 0x12345678);                  /* any value: latches, rearms */
    assert_int_equal(mmio_rd(c, 0, 0x280), 0x20);
    mmio_wr(c, 0, 0x280, 0);
    assert_int_equal(mmio_rd(c, 0, 0x280), 0);
    mmio_wr(c, 0, 0x3e0, 0xb);                         /* a timer with vector 2 */
    mmio_wr(c, 0, 0x320, 0x00002);
    mmio_wr(c, 0, 0x380, 10);
    c->f.now_ns += 10;
    platform_devices_tick(&c->pd);
    assert_int_equal(pending(c, 0), 0xe0);             /* rearmed: fires again */
    mmio_wr(c, 0, 0x280, 0);
    assert_int_equal(mmio_rd(c, 0, 0x280), 0x40);
    x2apic_on(c);
    assert_int_equal(wrmsr(c, 0, 0x83f, 0x0f), OK);    /* SELF IPI, illegal vector */
    assert_int_equal(wrmsr(c, 0, 0x828, 0), OK);
    assert_int_equal(rdmsr(c, 0, 0x828), 0x20);
}

/* 10.5.4: the divide configuration's eight encodings, an initial count of 0 stops the
 * timer, and TSC-deadline mode (10.5.4.1): initial count writes ignored, current count 0,
 * IA32_TSC_DEADLINE reads 0 and drops writes in other modes, and a change to or from it
 * disarms.  A change between one-shot and periodic keeps the count going (as hardware
 * and KVM do; see apic.md). */
static void test_timer_rules(void **state)
{
    struct ctx *c = *state;
    static const struct { uint32_t dcr, div; } enc[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
        { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
    };
    struct vlapic *l = platform_devices_lapic(&c->pd, 0);
    mmio_wr(c, 0, 0x320, 0x10040);
    for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        mmio_wr(c, 0, 0x3e0, enc[i].dcr);
        mmio_wr(c, 0, 0x380, 1000);
        assert_int_equal(vlapic_timer_deadline(l), c->f.now_ns + 1000 * enc[i].div);
    }
    mmio_wr(c, 0, 0x3e0, 0x4 | 0xb);                  /* bit 2 is reserved: dropped */
    assert_int_equal(mmio_rd(c, 0, 0x3e0), 0xb);
    mmio_wr(c, 0, 0x380, 0);
    assert_int_equal(vlapic_timer_deadline(l), 0);
    assert_int_equal(mmio_rd(c, 0, 0x390), 0);

    mmio_wr(c, 0, 0x380, 5000);                        /* one-shot -> periodic: goes on */
    c->f.now_ns += 1000;
    mmio_wr(c, 0, 0x320, 0x30040);
    assert_int_equal(mmio_rd(c, 0, 0x390), 4000);
    mmio_wr(c, 0, 0x320, 0x50040);                     /* -> TSC-deadline: disarmed */
    assert_int_equal(mmio_rd(c, 0, 0x390), 0);
    assert_int_equal(vlapic_timer_deadline(l), 0);
    mmio_wr(c, 0, 0x380, 5000);
    assert_int_equal(mmio_rd(c, 0, 0x380), 0);
    assert_int_equal(wrmsr(c, 0, 0x6e0, c->f.now_ns + 100), OK);
    assert_true(vlapic_timer_deadline(l) != 0);
    mmio_wr(c, 0, 0x320, 0x10040);                     /* -> one-shot: disarmed */
    assert_int_equal(vlapic_timer_deadline(l), 0);
    assert_int_equal(rdmsr(c, 0, 0x6e0), 0);
    assert_int_equal(wrmsr(c, 0, 0x6e0, 12345), OK);   /* dropped outside deadline mode */
    assert_int_equal(rdmsr(c, 0, 0x6e0), 0);
}

/* ---- 82093AA I/O APIC ---------------------------------------------------------------- */

static uint32_t io_rd(struct ctx *c, uint8_t reg)
{
    uint64_t v = reg;
    assert_true(vdev_bus_mmio(&c->bus, 0xfec00000, 4, true, &v));
    assert_true(vdev_bus_mmio(&c->bus, 0xfec00010, 4, false, &v));
    return (uint32_t)v;
}

static void io_wr(struct ctx *c, uint8_t reg, uint32_t val)
{
    uint64_t v = reg;
    assert_true(vdev_bus_mmio(&c->bus, 0xfec00000, 4, true, &v));
    v = val;
    assert_true(vdev_bus_mmio(&c->bus, 0xfec00010, 4, true, &v));
}

/* Datasheet 3.0-3.2: IOREGSEL selects, IOWIN reads and writes; the version register holds
 * the version and the highest entry (23); the arbitration register is read-only. */
static void test_ioapic_registers(void **state)
{
    struct ctx *c = *state;
    uint64_t v = 0x12;
    assert_true(vdev_bus_mmio(&c->bus, 0xfec00000, 4, true, &v));
    v = 0;
    assert_true(vdev_bus_mmio(&c->bus, 0xfec00000, 4, false, &v));
    assert_int_equal(v, 0x12);
    assert_int_equal(io_rd(c, 0x01), (23u << 16) | VIOAPIC_VERSION);
    io_wr(c, 0x01, 0);
    assert_int_equal(io_rd(c, 0x01), (23u << 16) | VIOAPIC_VERSION);
    io_wr(c, 0x00, 0xffffffff);
    assert_int_equal(io_rd(c, 0x00), 0x0f000000);      /* ID in bits 27:24 only */
    io_wr(c, 0x02, 0);
    assert_int_equal(io_rd(c, 0x02), 0x0f000000);
}

/* Datasheet 3.2.4: delivery status (bit 12) and remote IRR (bit 14) are read-only, bits
 * 55:17 reserved; a level entry's remote IRR is set when the interrupt is sent and
 * cleared by an EOI of its vector, which resends a line still asserted; an edge on a
 * masked pin is lost. */
static void test_ioapic_redirection_rules(void **state)
{
    struct ctx *c = *state;
    const struct vdev_platform *p = platform_devices_platform(&c->pd);
    mmio_wr(c, 0, 0xf0, 0x1ff);
    io_wr(c, 0x10 + 2 * 17, 0xffffffff);               /* pin 17: every bit */
    assert_int_equal(io_rd(c, 0x10 + 2 * 17), 0x1afff);
    io_wr(c, 0x11 + 2 * 17, 0xffffffff);
    assert_int_equal(io_rd(c, 0x11 + 2 * 17), 0xff000000);
    io_wr(c, 0x11 + 2 * 17, 0);
    io_wr(c, 0x10 + 2 * 17, 0x8000 | 0x5050);           /* level, vector 0x50, remote IRR in */
    assert_int_equal(io_rd(c, 0x10 + 2 * 17) & 0x5000, 0);
    p->irq_set(p->ctx, 17, true);
    assert_int_equal(pending(c, 0), 0x50);
    assert_true(io_rd(c, 0x10 + 2 * 17) & 0x4000);
    io_wr(c, 0x10 + 2 * 17, 0x8050);                    /* rewrite: remote IRR stays */
    assert_true(io_rd(c, 0x10 + 2 * 17) & 0x4000);
    take(c, 0, 0x50);
    mmio_wr(c, 0, 0xb0, 0);                            /* EOI: cleared, resent */
    assert_int_equal(pending(c, 0), 0x50);
    take(c, 0, 0x50);
    p->irq_set(p->ctx, 17, false);
    mmio_wr(c, 0, 0xb0, 0);
    assert_false(io_rd(c, 0x10 + 2 * 17) & 0x4000);
    assert_int_equal(pending(c, 0), -1);
    io_wr(c, 0x10 + 2 * 18, 0x10051);                  /* edge, masked */
    p->irq_set(p->ctx, 18, true);
    p->irq_set(p->ctx, 18, false);
    io_wr(c, 0x10 + 2 * 18, 0x00051);
    assert_int_equal(pending(c, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_x2apic_register_map, setup),
        cmocka_unit_test_setup(test_x2apic_icr_reserved_bits, setup),
        cmocka_unit_test_setup(test_x2apic_register_reserved_bits, setup),
        cmocka_unit_test_setup(test_x2apic_icr_and_ldr, setup),
        cmocka_unit_test_setup(test_x2apic_availability, setup),
        cmocka_unit_test_setup(test_apic_base_transitions, setup),
        cmocka_unit_test_setup(test_apic_base_follows_maxphyaddr, setup),
        cmocka_unit_test_setup(test_transition_state, setup),
        cmocka_unit_test_setup(test_software_disable, setup),
        cmocka_unit_test_setup(test_esr_and_error_interrupt, setup),
        cmocka_unit_test_setup(test_timer_rules, setup),
        cmocka_unit_test_setup(test_ioapic_registers, setup),
        cmocka_unit_test_setup(test_ioapic_redirection_rules, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
