/* Device state through the bus: registration rules, and for every platform device a round
 * trip (driven through its ports/MMIO, saved, restored into a fresh partition, compared
 * by what the guest sees) and refusals of hostile sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/state/state_desc.h"
#include "hv/vdev/acpi_pm.h"
#include "hv/vdev/platform_devices.h"
#include "tests/unit/test_bus_state.h"
#include "tests/unit/test_vdev_fake.h"

#define VCPUS 2
#define STREAM_CAP (64u << 10)

struct part {
    struct fake_platform f;
    struct vdev_bus bus;
    struct platform_devices pd;
    struct acpi_pm pm;
};

static struct part *part_new(uint64_t now)
{
    struct part *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    fake_platform_init(&p->f);
    p->f.plat.vcpu_count = VCPUS;
    p->f.now_ns = now;
    vdev_bus_init(&p->bus);
    assert_true(platform_devices_init(&p->pd, &p->bus, &p->f.plat));
    acpi_pm_init(&p->pm, &p->f.plat, ACPI_PM_BASE);
    assert_true(acpi_pm_register(&p->pm, &p->bus));
    return p;
}

static uint32_t in(struct part *p, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    platform_devices_io(&p->pd, 0, port, size, false, &v);
    return v;
}

static void out(struct part *p, uint16_t port, unsigned size, uint32_t v)
{
    platform_devices_io(&p->pd, 0, port, size, true, &v);
}

static uint64_t mmio_rd(struct part *p, unsigned vcpu, uint64_t gpa, unsigned size)
{
    uint64_t v = 0;
    assert_true(platform_devices_mmio(&p->pd, vcpu, gpa, size, false, &v));
    return v;
}

static void mmio_wr(struct part *p, unsigned vcpu, uint64_t gpa, unsigned size, uint64_t v)
{
    assert_true(platform_devices_mmio(&p->pd, vcpu, gpa, size, true, &v));
}

static size_t save(struct part *p, uint8_t *buf)
{
    struct state_writer w;
    state_writer_init(&w, buf, STREAM_CAP);
    assert_true(vdev_bus_save_state(&p->bus, &w));
    size_t len = state_writer_finish(&w);
    assert_true(len > 0);
    return len;
}

/* A checkpoint of `from` continued in a fresh partition at the same guest time. */
static struct part *move(struct part *from)
{
    static uint8_t buf[STREAM_CAP];
    size_t len = save(from, buf);
    struct part *to = part_new(from->f.now_ns);
    char err[STATE_ERR_LEN] = "";
    int rc = bus_restore_stream(&to->bus, buf, len, err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    /* A second save gives the same bytes: nothing was lost or invented. */
    static uint8_t again[STREAM_CAP];
    assert_int_equal(save(to, again), len);
    assert_memory_equal(again, buf, len);
    return to;
}

/* ---- the bus's registry ------------------------------------------------------------- */

struct toy { uint16_t instance; uint32_t value; unsigned resets; };

static const struct state_field toy_fields[] = { STATE_U32(struct toy, value, 1) };
static const struct state_desc toy_desc =
    STATE_DESC("toy", STATE_ID('T', 'O', 'Y', '0'), 2, 1, toy_fields);

static void toy_reset(void *dev) { ((struct toy *)dev)->resets++; }
static bool toy_save(void *dev, struct state_writer *w)
{
    struct toy *t = dev;
    return state_save(w, &toy_desc, t->instance, t);
}
static int toy_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    return state_load(s, &toy_desc, dev, err, n);
}

static struct vdev_state_ops toy_ops(struct toy *t, bool per_instance)
{
    return (struct vdev_state_ops){
        .name = "toy", .kind = state_desc_kind(&toy_desc), .dev = t, .reset = toy_reset,
        .save = toy_save, .restore = toy_restore, .per_instance = per_instance,
        .instance = t->instance,
    };
}

static void test_bus_registry(void **state)
{
    (void)state;
    static struct vdev_bus bus;
    vdev_bus_init(&bus);
    struct toy a = { 5, 0x55, 0 }, b = { 2, 0x22, 0 }, c = { 2, 0x99, 0 };
    struct vdev_state_ops oa = toy_ops(&a, true), ob = toy_ops(&b, true), oc = toy_ops(&c, true);
    assert_true(vdev_bus_add_state(&bus, &oa));
    assert_true(vdev_bus_add_state(&bus, &ob));
    assert_false(vdev_bus_add_state(&bus, &oc));          /* instance 2 taken */
    oc.per_instance = false;
    assert_false(vdev_bus_add_state(&bus, &oc));          /* the id is shared */
    struct state_kind kinds[4];
    assert_int_equal(vdev_bus_state_kinds(&bus, kinds, 4), 1);
    assert_int_equal(kinds[0].id, STATE_ID('T', 'O', 'Y', '0'));

    /* Registered 5 then 2, saved 2 then 5: a reader takes it. */
    static uint8_t buf[4096];
    struct state_writer w;
    state_writer_init(&w, buf, sizeof(buf));
    assert_true(vdev_bus_save_state(&bus, &w));
    size_t len = state_writer_finish(&w);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, 1), 0);
    vdev_bus_reset_state(&bus);
    assert_int_equal(a.resets + b.resets, 2);
    a.value = b.value = 0;
    struct state_section s;
    assert_int_equal(state_reader_next(&r, &s), 1);
    assert_int_equal(s.instance, 2);
    char err[STATE_ERR_LEN];
    assert_int_equal(vdev_bus_restore_section(&bus, &s, err, sizeof(err)), 0);
    assert_int_equal(state_reader_next(&r, &s), 1);
    assert_int_equal(s.instance, 5);
    assert_int_equal(vdev_bus_restore_section(&bus, &s, err, sizeof(err)), 0);
    assert_int_equal(a.value, 0x55);
    assert_int_equal(b.value, 0x22);

    /* An instance nobody owns is refused; an id nobody owns is the caller's. */
    s.instance = 7;
    assert_int_equal(vdev_bus_restore_section(&bus, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no such device"));
    s.id = STATE_ID('N', 'O', 'N', 'E');
    assert_int_equal(vdev_bus_restore_section(&bus, &s, err, sizeof(err)), 1);
    s.id = STATE_ID('T', 'O', 'Y', '0');
    s.instance = 2;
    s.version = 3;
    assert_int_equal(vdev_bus_restore_section(&bus, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "version 3"));

    /* Every registration the platform makes fits the table with room for disks. */
    struct part *p = part_new(1);
    assert_true(p->bus.state_count + 2 + 2 * 4 <= VDEV_MAX_STATE_OPS);
    free(p);
}

/* ---- round trips ------------------------------------------------------------------- */

static void test_uart_round_trip(void **state)
{
    (void)state;
    struct part *a = part_new(1000);
    out(a, 0x3fb, 1, 0x80);                 /* DLAB */
    out(a, 0x3f8, 1, 0x03);
    out(a, 0x3f9, 1, 0x00);
    out(a, 0x3fb, 1, 0x1b);
    out(a, 0x3fc, 1, 0x1b);                 /* loopback, OUT2, RTS, DTR */
    out(a, 0x3fa, 1, 0x01);                 /* FIFO on */
    out(a, 0x3f9, 1, 0x05);                 /* RDI + RLSI */
    out(a, 0x3ff, 1, 0x5a);
    for (unsigned i = 0; i < 3; i++)
        out(a, 0x3f8, 1, 'x' + i);
    struct part *b = move(a);
    assert_true(b->pd.uart.irq_level);      /* the line is driven again */
    for (unsigned reg = 1; reg < 8; reg++)
        if (reg != 5 && reg != 2)
            assert_int_equal(in(b, (uint16_t)(0x3f8 + reg), 1), in(a, (uint16_t)(0x3f8 + reg), 1));
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(in(b, 0x3fa, 1), in(a, 0x3fa, 1));
        assert_int_equal(in(b, 0x3fd, 1), in(a, 0x3fd, 1));
        assert_int_equal(in(b, 0x3f8, 1), in(a, 0x3f8, 1));
    }
    free(a);
    free(b);
}

static void pic_init(struct part *p)
{
    out(p, 0x20, 1, 0x11); out(p, 0x21, 1, 0x20); out(p, 0x21, 1, 0x04); out(p, 0x21, 1, 0x01);
    out(p, 0xa0, 1, 0x11); out(p, 0xa1, 1, 0x28); out(p, 0xa1, 1, 0x02); out(p, 0xa1, 1, 0x01);
    out(p, 0x21, 1, 0xe8);                  /* 0, 1, 2, 4 open */
    out(p, 0xa1, 1, 0x00);
    out(p, 0x4d1, 1, 0x08);                 /* IRQ 11 level */
}

static void test_pic_round_trip(void **state)
{
    (void)state;
    struct part *a = part_new(1000);
    pic_init(a);
    vpic_set_irq(&a->pd.pic, 1, true);
    vpic_set_irq(&a->pd.pic, 11, true);
    vpic_set_irq(&a->pd.pic, 3, true);      /* masked: requested, not delivered */
    assert_int_equal(vpic_ack(&a->pd.pic), 0x21);   /* IRQ 1 now in service */
    struct part *b = move(a);
    assert_int_equal(vpic_output(&b->pd.pic), vpic_output(&a->pd.pic));
    assert_int_equal(vpic_peek(&b->pd.pic), vpic_peek(&a->pd.pic));
    out(a, 0x20, 1, 0x0b); out(b, 0x20, 1, 0x0b);   /* read ISR */
    assert_int_equal(in(b, 0x20, 1), in(a, 0x20, 1));
    out(a, 0x20, 1, 0x0a); out(b, 0x20, 1, 0x0a);   /* read IRR */
    assert_int_equal(in(b, 0x20, 1), in(a, 0x20, 1));
    assert_int_equal(in(b, 0xa0, 1), in(a, 0xa0, 1));
    assert_int_equal(in(b, 0x4d1, 1), in(a, 0x4d1, 1));
    out(a, 0x20, 1, 0x20); out(b, 0x20, 1, 0x20);   /* EOI */
    assert_int_equal(vpic_ack(&b->pd.pic), vpic_ack(&a->pd.pic));
    /* IRQ 11 is level and still high: a lowered line drops it on both. */
    vpic_set_irq(&a->pd.pic, 11, false);
    vpic_set_irq(&b->pd.pic, 11, false);
    assert_int_equal(vpic_peek(&b->pd.pic), vpic_peek(&a->pd.pic));
    free(a);
    free(b);
}

static void test_pit_rtc_round_trip(void **state)
{
    (void)state;
    struct part *a = part_new(5000000);
    out(a, 0x43, 1, 0x34);                  /* channel 0, mode 2, word */
    out(a, 0x40, 1, 0x9c);
    out(a, 0x40, 1, 0x2e);
    out(a, 0x43, 1, 0xb0);                  /* channel 2, mode 0 */
    out(a, 0x42, 1, 0xff);
    out(a, 0x42, 1, 0x7f);
    out(a, 0x61, 1, 0x01);
    a->f.now_ns += 3333333;
    platform_devices_tick(&a->pd);
    out(a, 0x70, 1, 0x40);
    out(a, 0x71, 1, 0xa5);                  /* an NVRAM byte */
    out(a, 0x70, 1, 0x0b);                  /* index left at status B */
    struct part *b = move(a);
    assert_int_equal(b->f.timers[PLATFORM_TIMER_PIT], a->f.timers[PLATFORM_TIMER_PIT]);
    assert_true(a->f.timers[PLATFORM_TIMER_PIT] != 0);
    for (unsigned i = 0; i < 3; i++) {
        a->f.now_ns += 777777;
        b->f.now_ns = a->f.now_ns;
        out(a, 0x43, 1, 0x00); out(b, 0x43, 1, 0x00);   /* latch channel 0 */
        assert_int_equal(in(b, 0x40, 1), in(a, 0x40, 1));
        assert_int_equal(in(b, 0x40, 1), in(a, 0x40, 1));
        assert_int_equal(in(b, 0x42, 1), in(a, 0x42, 1));
        assert_int_equal(in(b, 0x61, 1) & 0x20, in(a, 0x61, 1) & 0x20);
        unsigned before = a->f.irq_rises[0];
        platform_devices_tick(&a->pd);
        platform_devices_tick(&b->pd);
        (void)before;
        assert_int_equal(b->pd.pit.irq_pulses, a->pd.pit.irq_pulses);
        assert_int_equal(b->f.timers[PLATFORM_TIMER_PIT], a->f.timers[PLATFORM_TIMER_PIT]);
    }
    assert_int_equal(in(b, 0x71, 1), in(a, 0x71, 1));
    out(a, 0x70, 1, 0x40); out(b, 0x70, 1, 0x40);
    assert_int_equal(in(b, 0x71, 1), 0xa5);
    free(a);
    free(b);
}

#define IOAPIC 0xfec00000ull

static void ioapic_write(struct part *p, uint8_t reg, uint32_t v)
{
    mmio_wr(p, 0, IOAPIC, 4, reg);
    mmio_wr(p, 0, IOAPIC + 0x10, 4, v);
}

static uint32_t ioapic_read(struct part *p, uint8_t reg)
{
    mmio_wr(p, 0, IOAPIC, 4, reg);
    return (uint32_t)mmio_rd(p, 0, IOAPIC + 0x10, 4);
}

static void lapic_enable(struct part *p, unsigned vcpu)
{
    mmio_wr(p, vcpu, 0xfee000f0ull, 4, 0x1ff);
}

static void test_ioapic_round_trip(void **state)
{
    (void)state;
    struct part *a = part_new(1000);
    lapic_enable(a, 0);
    lapic_enable(a, 1);
    ioapic_write(a, 0x00, 0x05000000);
    ioapic_write(a, 0x10 + 2 * 9, 0x0000a041);      /* pin 9: level, vector 0x41 */
    ioapic_write(a, 0x10 + 2 * 9 + 1, 0x01000000);  /* to APIC 1 */
    ioapic_write(a, 0x10 + 2 * 5, 0x00000035);      /* pin 5: edge, 0x35 */
    vioapic_set_irq(&a->pd.ioapic, 9, true);        /* Remote IRR set, 0x41 at vCPU 1 */
    struct part *b = move(a);
    for (uint8_t reg = 0; reg < 0x40; reg++)
        assert_int_equal(ioapic_read(b, reg), ioapic_read(a, reg));
    /* The EOI for 0x41 with the line still high sends it again on both. */
    unsigned sent = (unsigned)a->pd.ioapic.sent;
    vioapic_eoi(&a->pd.ioapic, 0x41);
    vioapic_eoi(&b->pd.ioapic, 0x41);
    assert_int_equal(a->pd.ioapic.sent, sent + 1);
    assert_int_equal(b->pd.ioapic.sent, 1);
    assert_int_equal(ioapic_read(b, 0x10 + 2 * 9), ioapic_read(a, 0x10 + 2 * 9));
    free(a);
    free(b);
}

#define HPET 0xfed00000ull

static void test_hpet_round_trip(void **state)
{
    (void)state;
    struct part *a = part_new(1000000);
    mmio_wr(a, 0, HPET + 0x100, 8, (20ull << 9) | 0x4c);   /* T0: periodic, enable, set, GSI 20 */
    mmio_wr(a, 0, HPET + 0x108, 8, 5000);
    mmio_wr(a, 0, HPET + 0x108, 8, 5000);
    mmio_wr(a, 0, HPET + 0x120, 8, (21ull << 9) | 0x06);   /* T1: level, GSI 21 */
    mmio_wr(a, 0, HPET + 0x128, 8, 2000);
    mmio_wr(a, 0, HPET + 0x010, 8, 1);
    a->f.now_ns += 30000;
    platform_devices_tick(&a->pd);          /* T1 fired: line held, status bit set */
    assert_true(a->pd.hpet.t[1].line);
    struct part *b = move(a);
    assert_true(b->pd.hpet.t[1].line);
    assert_true(b->pd.ioapic.level & (1u << 21));
    assert_int_equal(b->f.timers[PLATFORM_TIMER_HPET], a->f.timers[PLATFORM_TIMER_HPET]);
    for (unsigned off = 0; off < 0x160; off += 8)
        assert_int_equal(mmio_rd(b, 0, HPET + off, 8), mmio_rd(a, 0, HPET + off, 8));
    a->f.now_ns += 123456;
    b->f.now_ns = a->f.now_ns;
    platform_devices_tick(&a->pd);
    platform_devices_tick(&b->pd);
    assert_int_equal(b->f.timers[PLATFORM_TIMER_HPET], a->f.timers[PLATFORM_TIMER_HPET]);
    assert_int_equal(mmio_rd(b, 0, HPET + 0x0f0, 8), mmio_rd(a, 0, HPET + 0x0f0, 8));
    free(a);
    free(b);
}

static int pending(struct part *p, unsigned vcpu)
{
    struct platform_intr i;
    if (!platform_devices_pending(&p->pd, vcpu, &i))
        return -1;
    return i.source == PLATFORM_INTR_LAPIC ? i.vector : 0x1000 + i.vector;
}

static void test_lapic_round_trip(void **state)
{
    (void)state;
    struct part *a = part_new(2000000);
    lapic_enable(a, 0);
    lapic_enable(a, 1);
    mmio_wr(a, 1, 0xfee00080ull, 4, 0x20);          /* TPR */
    mmio_wr(a, 1, 0xfee003e0ull, 4, 0x3);           /* divide by 16 */
    mmio_wr(a, 1, 0xfee00320ull, 4, 0x20040);       /* timer: periodic, vector 0x40 */
    mmio_wr(a, 1, 0xfee00380ull, 4, 100000);        /* initial count */
    mmio_wr(a, 0, 0xfee00310ull, 4, 0x01000000);    /* ICR to APIC 1 */
    mmio_wr(a, 0, 0xfee00300ull, 4, 0x00000051);    /* fixed 0x51 */
    mmio_wr(a, 0, 0xfee00300ull, 4, 0x00000062);
    mmio_wr(a, 0, 0xfee00300ull, 4, 0x00000400);    /* NMI */
    struct platform_intr in51 = { PLATFORM_INTR_LAPIC, 0x62 };
    platform_devices_ack(&a->pd, 1, &in51);         /* 0x62 in service, 0x51 pending */
    /* vCPU 0 in TSC-deadline mode. */
    mmio_wr(a, 0, 0xfee00320ull, 4, 0x40045);
    assert_int_equal(platform_devices_msr_write(&a->pd, 0, 0x6e0, 9000000), VDEV_MSR_OK);
    a->f.now_ns += 500000;
    struct part *b = move(a);
    for (unsigned v = 0; v < VCPUS; v++) {
        assert_int_equal(b->f.timers[PLATFORM_TIMER_LAPIC(v)], a->f.timers[PLATFORM_TIMER_LAPIC(v)]);
        for (unsigned off = 0x20; off < 0x400; off += 0x10)
            assert_int_equal(mmio_rd(b, v, 0xfee00000ull + off, 4),
                             mmio_rd(a, v, 0xfee00000ull + off, 4));
        uint64_t da, db;
        platform_devices_msr_read(&a->pd, v, 0x6e0, &da);
        platform_devices_msr_read(&b->pd, v, 0x6e0, &db);
        assert_int_equal(db, da);
        assert_int_equal(pending(b, v), pending(a, v));
        assert_int_equal(platform_devices_nmi_pending(&b->pd, v),
                         platform_devices_nmi_pending(&a->pd, v));
    }
    assert_true(b->f.kicks[1] > 0);                 /* something pending: woken */
    assert_true(platform_devices_take_nmi(&b->pd, 1));
    assert_false(platform_devices_take_nmi(&b->pd, 1));
    /* The timers fire at the same moment on both. */
    a->f.now_ns = b->f.now_ns = a->f.timers[PLATFORM_TIMER_LAPIC(1)];
    platform_devices_tick(&a->pd);
    platform_devices_tick(&b->pd);
    assert_int_equal(b->pd.lapic[1].stats.timer_fires, 1);
    assert_int_equal(b->f.timers[PLATFORM_TIMER_LAPIC(1)], a->f.timers[PLATFORM_TIMER_LAPIC(1)]);
    mmio_wr(a, 1, 0xfee000b0ull, 4, 0);
    mmio_wr(b, 1, 0xfee000b0ull, 4, 0);
    assert_int_equal(pending(b, 1), pending(a, 1));
    free(a);
    free(b);
}

static void test_small_devices_round_trip(void **state)
{
    (void)state;
    struct part *a = part_new(3000000000ull);
    out(a, 0x510, 2, 0x0019);               /* fw_cfg: file directory... */
    out(a, 0x510, 2, 0x0003);               /* ...then RAM size */
    (void)in(a, 0x511, 1);
    (void)in(a, 0x511, 1);
    out(a, 0x92, 1, 0x04);
    out(a, 0xcf9, 1, 0x02);
    out(a, ACPI_PM_BASE + 2, 2, 0x0121);    /* PM1_EN */
    out(a, ACPI_PM_BASE + 4, 2, 0x1c00);    /* PM1_CNT: SLP_TYP, no SLP_EN */
    struct part *b = move(a);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(in(b, 0x511, 1), in(a, 0x511, 1));
    assert_int_equal(in(b, 0x92, 1), in(a, 0x92, 1));
    assert_int_equal(in(b, 0xcf9, 1), in(a, 0xcf9, 1));
    for (unsigned off = 0; off < 6; off += 2)
        assert_int_equal(in(b, (uint16_t)(ACPI_PM_BASE + off), 2),
                         in(a, (uint16_t)(ACPI_PM_BASE + off), 2));
    assert_int_equal(in(b, ACPI_PM_BASE + 8, 4), in(a, ACPI_PM_BASE + 8, 4));
    free(a);
    free(b);
}

/* Reset gives the power-on state: the same bytes as a partition just created. */
static void test_reset_is_power_on(void **state)
{
    (void)state;
    static uint8_t fresh[STREAM_CAP], used[STREAM_CAP];
    struct part *a = part_new(1000);
    size_t n = save(a, fresh);
    pic_init(a);
    out(a, 0x43, 1, 0x34); out(a, 0x40, 1, 0x10); out(a, 0x40, 1, 0x10);
    lapic_enable(a, 1);
    mmio_wr(a, 1, 0xfee00380ull, 4, 1000);
    mmio_wr(a, 0, HPET + 0x010, 8, 1);
    out(a, 0x3fc, 1, 0x10);
    out(a, 0x3f8, 1, 'z');
    assert_true(save(a, used) != n || memcmp(used, fresh, n));
    vdev_bus_reset_state(&a->bus);
    assert_int_equal(save(a, used), n);
    assert_memory_equal(used, fresh, n);
    assert_int_equal(a->f.timers[PLATFORM_TIMER_LAPIC(1)], 0);
    assert_int_equal(a->f.timers[PLATFORM_TIMER_PIT], 0);
    free(a);
}

/* ---- refusals ---------------------------------------------------------------------- */

/* Saves p's bus (one device made hostile), then hands section id/instance to a fresh
 * partition's bus: expects it refused with `why` in one line and the device left as it
 * was (the fresh partition saves the same bytes after as before). */
static void expect_refused_at(struct part *p, uint32_t id, uint16_t instance, const char *why)
{
    static uint8_t buf[STREAM_CAP], before[STREAM_CAP], after[STREAM_CAP];
    size_t len = save(p, buf);
    struct part *to = part_new(p->f.now_ns);
    size_t n0 = save(to, before);
    char err[STATE_ERR_LEN];
    bus_expect_refused(&to->bus, buf, len, id, instance, why, err);
    assert_null(strchr(err, '\n'));
    assert_int_equal(save(to, after), n0);
    assert_memory_equal(after, before, n0);
    free(to);
}

static void expect_refused(struct part *p, uint32_t id, const char *why)
{
    expect_refused_at(p, id, 0, why);
}

static void test_hostile_values_refused(void **state)
{
    (void)state;
    struct part *p = part_new(1000);
    p->pd.uart.rx_head = 300;
    expect_refused(p, STATE_ID('U', 'A', 'R', 'T'), "receive queue");
    p->pd.uart.rx_head = 0;
    p->pd.uart.mcr = 0x10;
    expect_refused(p, STATE_ID('U', 'A', 'R', 'T'), "modem status");
    p->pd.uart.mcr = 0;

    p->pd.pic.chip[1].vector_base = 0x29;
    expect_refused(p, STATE_ID('P', 'I', 'C', '8'), "slave: vector base");
    p->pd.pic.chip[1].vector_base = 0;
    p->pd.pic.chip[0].elcr = 0x01;
    expect_refused(p, STATE_ID('P', 'I', 'C', '8'), "always edge");
    p->pd.pic.chip[0].elcr = 0;

    p->pd.pit.ch[1].count = 0;
    expect_refused(p, STATE_ID('P', 'I', 'T', 'C'), "count outside");
    p->pd.pit.ch[1].count = 0x10000;

    p->pd.ioapic.rte[3] = 1ull << 20;
    expect_refused(p, STATE_ID('I', 'O', 'A', 'P'), "pin 3: reserved");
    p->pd.ioapic.rte[3] = VIOAPIC_RTE_REMOTE_IRR;
    expect_refused(p, STATE_ID('I', 'O', 'A', 'P'), "Remote IRR on an edge");
    p->pd.ioapic.rte[3] = VIOAPIC_RTE_MASKED;

    p->pd.hpet.t[2].armed = true;
    expect_refused(p, STATE_ID('H', 'P', 'E', 'T'), "timer 2: armed while");
    p->pd.hpet.t[2].armed = false;
    p->pd.hpet.config = 4;
    expect_refused(p, STATE_ID('H', 'P', 'E', 'T'), "GEN_CONF");
    p->pd.hpet.config = 0;

    p->pd.reset.rcr = 0x04;
    expect_refused(p, STATE_ID('R', 'S', 'T', 'C'), "0xcf9");
    p->pd.reset.rcr = 0;

    p->pm.control = 0;
    expect_refused(p, STATE_ID('A', 'C', 'P', 'M'), "control");
    p->pm.control = 1;

    p->pd.lapic[1].nmi_pending = 3;
    expect_refused_at(p, STATE_ID('L', 'A', 'P', 'C'), 1, "instance 1: more than two NMIs");
    p->pd.lapic[1].nmi_pending = 0;
    p->pd.lapic[0].id = 7;
    expect_refused(p, STATE_ID('L', 'A', 'P', 'C'), "APIC ID differs");
    p->pd.lapic[0].id = 0;
    p->pd.lapic[1].irr[0] = 1u << 3;
    expect_refused_at(p, STATE_ID('L', 'A', 'P', 'C'), 1, "below 16");
    p->pd.lapic[1].irr[0] = 0;
    p->pd.lapic[1].svr = 0xff;              /* software-disabled ... */
    p->pd.lapic[1].lvt[VLAPIC_LVT_TIMER] = 0x40;   /* ... with an unmasked LVT */
    expect_refused_at(p, STATE_ID('L', 'A', 'P', 'C'), 1, "unmasked while software-disabled");
    free(p);
}

/* A LAPIC section for a vCPU this partition lacks. */
static void test_lapic_instance_out_of_range(void **state)
{
    (void)state;
    struct part *p = part_new(1000);
    static uint8_t buf[4096];
    struct state_writer w;
    state_writer_init(&w, buf, sizeof(buf));
    assert_true(vlapic_save(&p->pd.lapic[0], &w, 9));
    size_t len = state_writer_finish(&w);
    struct state_kind k = vlapic_state_kind();
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, &k, 1), 0);
    struct state_section s;
    assert_int_equal(state_reader_next(&r, &s), 1);
    char err[STATE_ERR_LEN];
    assert_int_equal(vdev_bus_restore_section(&p->bus, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "has 2 vCPUs"));
    free(p);
}

/* Every section of a busy partition, cut short by one byte or grown by one, is refused
 * and leaves its device as it was. */
static void test_wrong_lengths_refused(void **state)
{
    (void)state;
    static uint8_t buf[STREAM_CAP], payload[STREAM_CAP], before[STREAM_CAP], after[STREAM_CAP];
    struct part *a = part_new(1000);
    pic_init(a);
    lapic_enable(a, 0);
    out(a, 0x3fc, 1, 0x10);
    out(a, 0x3f8, 1, 'q');
    size_t len = save(a, buf);
    struct part *to = part_new(1000);
    size_t n0 = save(to, before);
    struct state_kind kinds[STATE_MAX_KINDS];
    unsigned nk = vdev_bus_state_kinds(&to->bus, kinds, STATE_MAX_KINDS);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, nk), 0);
    struct state_section s;
    unsigned sections = 0;
    while (state_reader_next(&r, &s) == 1) {
        char err[STATE_ERR_LEN];
        memcpy(payload, s.payload, s.len);
        payload[s.len] = 0;
        struct state_section cut = s, grown = s;
        cut.payload = grown.payload = payload;
        cut.len = s.len - 1;
        grown.len = s.len + 1;
        assert_int_equal(vdev_bus_restore_section(&to->bus, &cut, err, sizeof(err)), -1);
        assert_int_equal(vdev_bus_restore_section(&to->bus, &grown, err, sizeof(err)), -1);
        sections++;
    }
    assert_int_equal(sections, 9 + VCPUS);
    assert_int_equal(save(to, after), n0);
    assert_memory_equal(after, before, n0);
    free(a);
    free(to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_registry),
        cmocka_unit_test(test_uart_round_trip),
        cmocka_unit_test(test_pic_round_trip),
        cmocka_unit_test(test_pit_rtc_round_trip),
        cmocka_unit_test(test_ioapic_round_trip),
        cmocka_unit_test(test_hpet_round_trip),
        cmocka_unit_test(test_lapic_round_trip),
        cmocka_unit_test(test_small_devices_round_trip),
        cmocka_unit_test(test_reset_is_power_on),
        cmocka_unit_test(test_hostile_values_refused),
        cmocka_unit_test(test_lapic_instance_out_of_range),
        cmocka_unit_test(test_wrong_lengths_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
