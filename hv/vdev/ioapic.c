/* I/O APIC: redirection table, edge/level pins, Remote IRR, MSI out. */
#include "hv/vdev/ioapic.h"
#include "hv/vdev/vdev_util.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

#define REG_ID       0x00
#define REG_VERSION  0x01
#define REG_ARB      0x02
#define REG_RTE_BASE 0x10

#define OFF_REGSEL   0x00
#define OFF_WINDOW   0x10
#define OFF_EOI      0x40

/* Writable bits: vector, delivery mode, destination mode, polarity, trigger, mask, dest. */
#define RTE_WRITABLE 0xff0000000001afffull

void vioapic_init(struct vioapic *io, const struct vdev_platform *plat, uint64_t base)
{
    memset(io, 0, sizeof(*io));
    io->plat = plat;
    io->base = base;
    for (unsigned i = 0; i < VIOAPIC_PINS; i++)
        io->rte[i] = VIOAPIC_RTE_MASKED;
}

static void send(struct vioapic *io, unsigned pin)
{
    uint64_t e = io->rte[pin];
    uint64_t addr = 0xfee00000ull | ((e >> 56) << 12) | (((e >> 11) & 1) << 2);
    uint32_t data = (uint32_t)(e & 0x7ff) | (e & VIOAPIC_RTE_LEVEL ? 0xc000u : 0);
    io->sent++;
    if (io->plat->msi_send)
        io->plat->msi_send(io->plat->ctx, addr, data);
}

/* Sends what pin owes, if its entry lets it. */
static void service(struct vioapic *io, unsigned pin)
{
    uint64_t e = io->rte[pin];
    uint32_t bit = 1u << pin;
    if (e & VIOAPIC_RTE_MASKED)
        return;
    if (e & VIOAPIC_RTE_LEVEL) {
        if ((io->level & bit) && !(e & VIOAPIC_RTE_REMOTE_IRR)) {
            io->rte[pin] |= VIOAPIC_RTE_REMOTE_IRR;
            send(io, pin);
        }
    } else if (io->irr & bit) {
        io->irr &= ~bit;
        send(io, pin);
    }
}

void vioapic_set_irq(struct vioapic *io, unsigned pin, bool level)
{
    if (pin >= VIOAPIC_PINS)
        return;
    uint32_t bit = 1u << pin;
    bool was = io->level & bit;
    if (level) io->level |= bit;
    else io->level &= ~bit;
    /* An edge on a masked pin is lost, not kept for the unmask (82093AA datasheet:
     * "interrupts ... on a masked pin are ignored"); a level is sampled when unmasked. */
    if (level && !was && !(io->rte[pin] & (VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_MASKED)))
        io->irr |= bit;
    service(io, pin);
}

void vioapic_eoi(struct vioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
        uint64_t e = io->rte[pin];
        if (!(e & VIOAPIC_RTE_LEVEL) || (uint8_t)e != vector)
            continue;
        io->rte[pin] &= ~VIOAPIC_RTE_REMOTE_IRR;
        service(io, pin);
    }
}

static uint32_t read_reg(const struct vioapic *io, uint8_t reg)
{
    if (reg == REG_ID || reg == REG_ARB)
        return (io->id & 0xf) << 24;
    if (reg == REG_VERSION)
        return VIOAPIC_VERSION | ((VIOAPIC_PINS - 1) << 16);
    unsigned idx = (unsigned)(reg - REG_RTE_BASE) / 2;
    if (reg < REG_RTE_BASE || idx >= VIOAPIC_PINS)
        return 0xffffffffu;
    return (uint32_t)(reg & 1 ? io->rte[idx] >> 32 : io->rte[idx]);
}

static void write_rte(struct vioapic *io, unsigned idx, bool high, uint32_t v)
{
    uint64_t e = io->rte[idx];
    uint64_t ro = e & ~RTE_WRITABLE;
    uint64_t w = high ? ((uint64_t)v << 32) | (e & 0xffffffffull)
                      : (e & 0xffffffff00000000ull) | v;
    e = (w & RTE_WRITABLE) | (ro & VIOAPIC_RTE_REMOTE_IRR);
    if (!(e & VIOAPIC_RTE_LEVEL))
        e &= ~VIOAPIC_RTE_REMOTE_IRR;
    io->rte[idx] = e;
    service(io, idx);
}

static void write_reg(struct vioapic *io, uint8_t reg, uint32_t v)
{
    if (reg == REG_ID) {
        io->id = (v >> 24) & 0xf;
        return;
    }
    unsigned idx = (unsigned)(reg - REG_RTE_BASE) / 2;
    if (reg >= REG_RTE_BASE && idx < VIOAPIC_PINS)
        write_rte(io, idx, reg & 1, v);
}

/* Registers are 32 bits at offsets 0x00, 0x10, 0x40; narrower reads see their bytes,
 * other offsets read 0; writes narrower than 32 bits only reach IOREGSEL. */
bool vioapic_mmio_read(void *dev, uint64_t offset, unsigned size, uint64_t *value)
{
    struct vioapic *io = dev;
    uint64_t slot = offset & ~0xfull, byte = offset & 0xf;
    uint32_t r = 0;
    if (slot == OFF_REGSEL)
        r = io->regsel;
    else if (slot == OFF_WINDOW)
        r = read_reg(io, io->regsel);
    *value = byte < 4 ? ((uint64_t)r >> (8 * byte)) & vdev_size_mask(size) : 0;
    return true;
}

bool vioapic_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    struct vioapic *io = dev;
    if (offset == OFF_REGSEL)
        io->regsel = (uint8_t)value;
    else if (offset == OFF_WINDOW && size >= 4)
        write_reg(io, io->regsel, (uint32_t)value);
    else if (offset == OFF_EOI && size >= 4)
        vioapic_eoi(io, (uint8_t)value);
    return true;
}

bool vioapic_register(struct vioapic *io, struct vdev_bus *bus)
{
    struct vdev_mmio_range r = {
        .base = io->base, .size = 0x1000, .read = vioapic_mmio_read,
        .write = vioapic_mmio_write, .dev = io,
    };
    return vdev_bus_add_mmio(bus, &r);
}

/* ---- reset, save and restore (section 'IOAP') ---------------------------------------- */

static const struct state_field vioapic_fields[] = {
    STATE_U32(struct vioapic, id, 1), STATE_U8(struct vioapic, regsel, 1),
    STATE_BYTES(struct vioapic, rte, 1),
    STATE_U32(struct vioapic, level, 1), STATE_U32(struct vioapic, irr, 1),
};

static const struct state_desc vioapic_desc =
    STATE_DESC("ioapic", STATE_ID('I', 'O', 'A', 'P'), 1, 1, vioapic_fields);

static void vioapic_state_reset(void *dev)
{
    struct vioapic *io = dev;
    vioapic_init(io, io->plat, io->base);
}

static bool vioapic_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &vioapic_desc, 0, dev);
}

static const char *vioapic_invalid(const struct vioapic *t, unsigned *pin)
{
    uint32_t pins = (1u << VIOAPIC_PINS) - 1;
    if (t->id > 0xf)
        return "ID above 15";
    if ((t->level | t->irr) & ~pins)
        return "line state beyond pin 23";
    for (*pin = 0; *pin < VIOAPIC_PINS; (*pin)++) {
        uint64_t e = t->rte[*pin];
        if (e & ~(RTE_WRITABLE | VIOAPIC_RTE_REMOTE_IRR))
            return "reserved redirection bits set";
        if ((e & VIOAPIC_RTE_REMOTE_IRR) && !(e & VIOAPIC_RTE_LEVEL))
            return "Remote IRR on an edge-triggered entry";
    }
    *pin = 0;
    return NULL;
}

static int vioapic_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct vioapic *io = dev;
    struct vioapic t = *io;
    if (state_load(s, &vioapic_desc, &t, err, n))
        return -1;
    /* The byte image of the table is host order: the stream is little-endian and so is
     * every host Atoll runs on (x86-64). */
    unsigned pin = 0;
    const char *why = vioapic_invalid(&t, &pin);
    if (why) {
        fmt_snprintf(err, n, "state: 'ioapic' instance %u: pin %u: %s", s->instance, pin, why);
        return -1;
    }
    *io = t;
    for (unsigned i = 0; i < VIOAPIC_PINS; i++)
        service(io, i);     /* what an unmasked pin still owes goes out now */
    return 0;
}

bool vioapic_register_state(struct vioapic *io, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "ioapic", .kind = state_desc_kind(&vioapic_desc), .dev = io,
        .reset = vioapic_state_reset, .save = vioapic_state_save,
        .restore = vioapic_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
