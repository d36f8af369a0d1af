/* 8259A PIC pair: ICW/OCW programming, priorities, IRR/ISR, EOI, edge/level lines. */
#include "hv/vdev/pic8259.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

static void chip_reset(struct vpic_chip *c, uint8_t elcr_mask)
{
    uint8_t elcr = c->elcr;
    memset(c, 0, sizeof(*c));
    c->elcr = elcr;
    c->elcr_mask = elcr_mask;
    c->imr = 0xff;
}

void vpic_init(struct vpic *p, void (*intr_changed)(void *ctx, bool level), void *ctx)
{
    memset(p, 0, sizeof(*p));
    chip_reset(&p->chip[0], 0xf8);   /* IRQ 0-2 are always edge */
    chip_reset(&p->chip[1], 0xde);   /* IRQ 8 and 13 are always edge */
    p->intr_changed = intr_changed;
    p->ctx = ctx;
}

/* Priority (0 highest) of the best line in mask, 8 when none. */
static unsigned priority_of(const struct vpic_chip *c, uint8_t mask)
{
    if (!mask)
        return 8;
    unsigned pr = 0;
    while (!(mask & (1u << ((pr + c->priority_add) & 7))))
        pr++;
    return pr;
}

/* The line this chip would interrupt on, or -1. */
static int chip_pending(const struct vpic_chip *c, bool master)
{
    unsigned pr = priority_of(c, c->irr & ~c->imr);
    if (pr == 8)
        return -1;
    uint8_t in_service = c->isr;
    if (c->special_mask)
        in_service &= ~c->imr;
    if (c->special_fully_nested && master)
        in_service &= ~(1u << 2);
    if (pr < priority_of(c, in_service))
        return (int)((pr + c->priority_add) & 7);
    return -1;
}

static void chip_set_line(struct vpic_chip *c, unsigned line, bool level)
{
    uint8_t bit = (uint8_t)(1u << line);
    if (c->elcr & bit) {
        if (level) c->irr |= bit;
        else c->irr &= (uint8_t)~bit;
    } else if (level && !(c->last_level & bit)) {
        c->irr |= bit;
    }
    if (level) c->last_level |= bit;
    else c->last_level &= (uint8_t)~bit;
}

static void update(struct vpic *p)
{
    bool cascade = chip_pending(&p->chip[1], false) >= 0;
    chip_set_line(&p->chip[0], 2, cascade);
    if (!cascade)   /* the slave withdrew its request before INTA */
        p->chip[0].irr &= (uint8_t)~(1u << 2);
    bool out = chip_pending(&p->chip[0], true) >= 0;
    if (out != p->output) {
        p->output = out;
        if (p->intr_changed)
            p->intr_changed(p->ctx, out);
    }
}

void vpic_set_irq(struct vpic *p, unsigned irq, bool level)
{
    if (irq >= 16 || irq == 2)
        return;
    chip_set_line(&p->chip[irq >> 3], irq & 7, level);
    update(p);
}

bool vpic_output(const struct vpic *p)
{
    return p->output;
}

int vpic_peek(const struct vpic *p)
{
    int irq = chip_pending(&p->chip[0], true);
    if (irq < 0)
        return -1;
    if (irq != 2)
        return p->chip[0].vector_base + irq;
    int irq2 = chip_pending(&p->chip[1], false);
    return p->chip[1].vector_base + (irq2 < 0 ? 7 : irq2);
}

static void chip_intack(struct vpic_chip *c, unsigned line)
{
    uint8_t bit = (uint8_t)(1u << line);
    if (c->auto_eoi) {
        if (c->rotate_on_auto_eoi)
            c->priority_add = (uint8_t)((line + 1) & 7);
    } else {
        c->isr |= bit;
    }
    if (!(c->elcr & bit))
        c->irr &= (uint8_t)~bit;   /* a level line stays requested while high */
}

uint8_t vpic_ack(struct vpic *p)
{
    struct vpic_chip *m = &p->chip[0], *s = &p->chip[1];
    uint8_t vec;
    int irq = chip_pending(m, true);
    if (irq < 0) {
        p->spurious++;
        vec = (uint8_t)(m->vector_base + 7);
    } else if (irq != 2) {
        chip_intack(m, (unsigned)irq);
        vec = (uint8_t)(m->vector_base + irq);
    } else {
        chip_intack(m, 2);
        int irq2 = chip_pending(s, false);
        if (irq2 >= 0) {
            chip_intack(s, (unsigned)irq2);
        } else {
            p->spurious++;
            irq2 = 7;
        }
        vec = (uint8_t)(s->vector_base + irq2);
    }
    update(p);
    return vec;
}

static void write_icw1(struct vpic_chip *c, uint8_t v)
{
    chip_reset(c, c->elcr_mask);
    c->imr = 0;
    c->irr &= c->elcr;   /* edge requests are forgotten */
    c->init_state = 1;
    c->init4 = v & 1;
    c->single_mode = (v & 2) != 0;
    if (v & 0x08)
        c->elcr = c->elcr_mask;   /* LTIM: every maskable line level-triggered */
}

static void write_ocw3(struct vpic_chip *c, uint8_t v)
{
    if (v & 0x04)
        c->poll = true;
    if (v & 0x02)
        c->read_isr = v & 1;
    if (v & 0x40)
        c->special_mask = (v >> 5) & 1;
}

static void eoi_line(struct vpic_chip *c, unsigned line, bool rotate)
{
    c->isr &= (uint8_t)~(1u << line);
    if (rotate)
        c->priority_add = (uint8_t)((line + 1) & 7);
}

static void write_ocw2(struct vpic_chip *c, uint8_t v)
{
    unsigned cmd = v >> 5, pr;
    switch (cmd) {
    case 0: case 4:   /* rotate in automatic EOI mode: clear / set */
        c->rotate_on_auto_eoi = cmd >> 2;
        break;
    case 1: case 5:   /* non-specific EOI, optionally rotating */
        pr = priority_of(c, c->isr);
        if (pr != 8)
            eoi_line(c, (pr + c->priority_add) & 7, cmd == 5);
        break;
    case 3:           /* specific EOI */
        eoi_line(c, v & 7, false);
        break;
    case 6:           /* set priority */
        c->priority_add = (uint8_t)((v + 1) & 7);
        break;
    case 7:           /* rotate on specific EOI */
        eoi_line(c, v & 7, true);
        break;
    default:
        break;
    }
}

static void write_data(struct vpic_chip *c, uint8_t v)
{
    switch (c->init_state) {
    case 0:
        c->imr = v;
        break;
    case 1:
        c->vector_base = v & 0xf8;
        c->init_state = c->single_mode ? (c->init4 ? 3 : 0) : 2;
        break;
    case 2:
        c->init_state = c->init4 ? 3 : 0;
        break;
    default:
        c->special_fully_nested = (v >> 4) & 1;
        c->auto_eoi = (v >> 1) & 1;
        c->init_state = 0;
        break;
    }
}

/* Poll command: acknowledge the best request on this chip. */
static uint8_t poll_read(struct vpic *p, unsigned chip)
{
    struct vpic_chip *c = &p->chip[chip];
    c->poll = false;
    int line = chip_pending(c, chip == 0);
    if (line < 0)
        return 0;
    chip_intack(c, (unsigned)line);
    return (uint8_t)(0x80 | line);
}

static bool chip_of(uint16_t port, unsigned *chip, unsigned *reg)
{
    switch (port) {
    case 0x20: case 0x21: *chip = 0; *reg = port & 1; return true;
    case 0xa0: case 0xa1: *chip = 1; *reg = port & 1; return true;
    case 0x4d0: case 0x4d1: *chip = port & 1; *reg = 2; return true;
    default: return false;
    }
}

static uint8_t read_byte(struct vpic *p, uint16_t port)
{
    unsigned chip, reg;
    if (!chip_of(port, &chip, &reg))
        return 0xff;
    struct vpic_chip *c = &p->chip[chip];
    uint8_t v;
    if (reg == 2)
        v = c->elcr;
    else if (c->poll)
        v = poll_read(p, chip);
    else if (reg == 0)
        v = c->read_isr ? c->isr : c->irr;
    else
        v = c->imr;
    update(p);
    return v;
}

static void write_byte(struct vpic *p, uint16_t port, uint8_t v)
{
    unsigned chip, reg;
    if (!chip_of(port, &chip, &reg))
        return;
    struct vpic_chip *c = &p->chip[chip];
    if (reg == 2)
        c->elcr = v & c->elcr_mask;
    else if (reg == 1)
        write_data(c, v);
    else if (v & 0x10)
        write_icw1(c, v);
    else if (v & 0x08)
        write_ocw3(c, v);
    else
        write_ocw2(c, v);
    update(p);
}

/* Wider accesses reach consecutive ports of the same pair (0x20/0x21, ...). */
bool vpic_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint32_t b = i < 2 ? read_byte(dev, (uint16_t)(port + i)) : 0xff;
        v |= b << (8 * i);
    }
    *value = v;
    return true;
}

bool vpic_port_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    for (unsigned i = 0; i < size && i < 2; i++)
        write_byte(dev, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
    return true;
}

bool vpic_register(struct vpic *p, struct vdev_bus *bus)
{
    static const uint16_t bases[3] = { 0x20, 0xa0, 0x4d0 };
    for (unsigned i = 0; i < 3; i++) {
        struct vdev_port_range r = {
            .base = bases[i], .count = 2, .read = vpic_port_read,
            .write = vpic_port_write, .dev = p,
        };
        if (!vdev_bus_add_ports(bus, &r))
            return false;
    }
    return true;
}

/* ---- reset, save and restore (section 'PIC8') ---------------------------------------- */

static const struct state_field vpic_chip_fields[] = {
    STATE_U8(struct vpic_chip, irr, 1), STATE_U8(struct vpic_chip, isr, 1),
    STATE_U8(struct vpic_chip, imr, 1), STATE_U8(struct vpic_chip, last_level, 1),
    STATE_U8(struct vpic_chip, elcr, 1), STATE_U8(struct vpic_chip, elcr_mask, 1),
    STATE_U8(struct vpic_chip, vector_base, 1), STATE_U8(struct vpic_chip, priority_add, 1),
    STATE_U8(struct vpic_chip, init_state, 1),
    STATE_BOOL(struct vpic_chip, init4, 1), STATE_BOOL(struct vpic_chip, single_mode, 1),
    STATE_BOOL(struct vpic_chip, auto_eoi, 1), STATE_BOOL(struct vpic_chip, rotate_on_auto_eoi, 1),
    STATE_BOOL(struct vpic_chip, special_mask, 1),
    STATE_BOOL(struct vpic_chip, special_fully_nested, 1),
    STATE_BOOL(struct vpic_chip, poll, 1), STATE_BOOL(struct vpic_chip, read_isr, 1),
};

static const struct state_field vpic_fields[] = {
    STATE_STRUCTS(struct vpic, chip, struct vpic_chip, vpic_chip_fields, 1),
};

static const struct state_desc vpic_desc =
    STATE_DESC("pic", STATE_ID('P', 'I', 'C', '8'), 1, 1, vpic_fields);

static void vpic_state_reset(void *dev)
{
    struct vpic *p = dev;
    vpic_init(p, p->intr_changed, p->ctx);
}

static bool vpic_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &vpic_desc, 0, dev);
}

static const char *chip_invalid(const struct vpic_chip *c, const struct vpic_chip *now)
{
    if (c->elcr_mask != now->elcr_mask || (c->elcr & ~c->elcr_mask))
        return "edge/level control names a line that is always edge-triggered";
    if (c->vector_base & 7)
        return "vector base not a multiple of 8";
    if (c->priority_add > 7 || c->init_state > 3)
        return "priority rotation or initialisation step out of range";
    return NULL;
}

static int vpic_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct vpic *p = dev;
    struct vpic t = *p;
    if (state_load(s, &vpic_desc, &t, err, n))
        return -1;
    for (unsigned i = 0; i < 2; i++) {
        const char *why = chip_invalid(&t.chip[i], &p->chip[i]);
        if (why) {
            fmt_snprintf(err, n, "state: 'pic' instance %u: %s: %s", s->instance,
                         i ? "slave" : "master", why);
            return -1;
        }
    }
    t.output = p->output;
    *p = t;
    update(p);          /* the INTR output as the restored requests say */
    return 0;
}

bool vpic_register_state(struct vpic *p, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "pic", .kind = state_desc_kind(&vpic_desc), .dev = p,
        .reset = vpic_state_reset, .save = vpic_state_save, .restore = vpic_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
