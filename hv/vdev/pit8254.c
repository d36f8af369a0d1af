/* 8254 PIT: counters derived from platform time, IRQ 0 from channel 0. */
#include "hv/vdev/pit8254.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"
#include "hv/vdev/vdev_util.h"

#include <string.h>

enum { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD0 = 3, RW_WORD1 = 4 };

static uint64_t now(const struct vpit *p)
{
    return p->plat->now_ns ? p->plat->now_ns(p->plat->ctx) : 0;
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
    return vdev_muldiv_up(ticks, VDEV_NS_PER_S, VPIT_HZ);
}

void vpit_init(struct vpit *p, const struct vdev_platform *plat, unsigned timer_id,
                  unsigned irq)
{
    memset(p, 0, sizeof(*p));
    p->plat = plat;
    p->timer_id = timer_id;
    p->irq = irq;
    for (unsigned i = 0; i < 3; i++) {
        struct vpit_channel *c = &p->ch[i];
        c->count = 0x10000;
        c->gate = i != 2;
        c->rw_mode = c->read_state = c->write_state = RW_WORD0;
    }
}

static bool gate_pauses(const struct vpit_channel *c)
{
    return !c->gate && (c->mode == 0 || c->mode == 4);
}

static bool gate_holds(const struct vpit_channel *c)
{
    return !c->gate && (c->mode == 2 || c->mode == 3);
}

/* Input clocks counted since the count was loaded. */
static uint64_t elapsed_ticks(const struct vpit_channel *c, uint64_t t)
{
    if (!c->armed || gate_holds(c))
        return 0;
    if (gate_pauses(c))
        return c->paused_ticks;
    if (t <= c->load_ns)
        return 0;
    return vdev_muldiv(t - c->load_ns, VPIT_HZ, VDEV_NS_PER_S);
}

static uint16_t channel_count(const struct vpit_channel *c, uint64_t t)
{
    if (!c->armed)
        return (uint16_t)c->count;
    uint64_t d = elapsed_ticks(c, t);
    switch (c->mode) {
    case 2: return (uint16_t)(c->count - d % c->count);
    case 3: return (uint16_t)(c->count - (2 * (d % c->count)) % c->count);
    default: return (uint16_t)(c->count - (uint32_t)d);
    }
}

static bool channel_out(const struct vpit_channel *c, uint64_t t)
{
    if (!c->armed)
        return c->mode != 0;
    if (gate_holds(c))
        return true;
    uint64_t d = elapsed_ticks(c, t);
    switch (c->mode) {
    case 0: case 1: return d >= c->count;
    case 2: return d % c->count != c->count - 1;
    case 3: return d % c->count < (c->count + 1) / 2;
    default: return d != c->count;
    }
}

uint16_t vpit_count(struct vpit *p, unsigned ch)
{
    return ch < 3 ? channel_count(&p->ch[ch], now(p)) : 0;
}

bool vpit_out(struct vpit *p, unsigned ch)
{
    return ch < 3 && channel_out(&p->ch[ch], now(p));
}

/* When channel 0 next reaches a terminal count after time t (0: never). */
static uint64_t next_terminal_ns(const struct vpit_channel *c, uint64_t t)
{
    if (!c->armed || !c->gate)
        return 0;
    uint64_t d = elapsed_ticks(c, t), k;
    if (c->mode == 2 || c->mode == 3)
        k = d / c->count + 1;
    else if (d < c->count)
        k = 1;
    else
        return 0;
    uint64_t ticks = k > UINT64_MAX / c->count ? UINT64_MAX : k * c->count;
    return vdev_add_sat(c->load_ns, ticks_to_ns(ticks));
}

static void rearm(struct vpit *p, uint64_t t)
{
    p->irq_next_ns = next_terminal_ns(&p->ch[0], t);
    if (p->plat->timer_arm)
        p->plat->timer_arm(p->plat->ctx, p->timer_id, p->irq_next_ns);
}

static void pulse_irq(struct vpit *p)
{
    p->irq_pulses++;
    if (p->plat->irq_set) {
        p->plat->irq_set(p->plat->ctx, p->irq, true);
        p->plat->irq_set(p->plat->ctx, p->irq, false);
    }
}

void vpit_tick(struct vpit *p)
{
    uint64_t t = now(p);
    if (!p->irq_next_ns || t < p->irq_next_ns)
        return;   /* not due: the armed deadline still stands */
    pulse_irq(p);
    rearm(p, t);
    if (p->irq_next_ns && p->irq_next_ns - t < VPIT_MIN_PERIOD_NS) {
        p->irq_next_ns = vdev_add_sat(t, VPIT_MIN_PERIOD_NS);   /* tiny counts: no storm */
        if (p->plat->timer_arm)
            p->plat->timer_arm(p->plat->ctx, p->timer_id, p->irq_next_ns);
    }
}

static void load_count(struct vpit *p, unsigned ch, uint32_t v)
{
    struct vpit_channel *c = &p->ch[ch];
    uint64_t t = now(p);
    c->count = v ? v : 0x10000;
    c->load_ns = t;
    c->paused_ticks = 0;
    c->armed = true;
    c->null_count = false;
    if (ch == 0)
        rearm(p, t);
}

static void latch_count(struct vpit *p, unsigned ch)
{
    struct vpit_channel *c = &p->ch[ch];
    if (c->count_latched)
        return;
    c->latched_count = channel_count(c, now(p));
    c->count_latched = c->rw_mode;
}

static void latch_status(struct vpit *p, unsigned ch)
{
    struct vpit_channel *c = &p->ch[ch];
    if (c->status_latched)
        return;
    c->status = (uint8_t)((channel_out(c, now(p)) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
                          (c->rw_mode == RW_WORD0 ? 3 : c->rw_mode) << 4 |
                          c->mode_bits << 1 | (c->bcd ? 1 : 0));
    c->status_latched = true;
}

static void read_back(struct vpit *p, uint8_t v)
{
    for (unsigned ch = 0; ch < 3; ch++) {
        if (!(v & (2u << ch)))
            continue;
        if (!(v & 0x20))
            latch_count(p, ch);
        if (!(v & 0x10))
            latch_status(p, ch);
    }
}

static void write_control(struct vpit *p, uint8_t v)
{
    unsigned ch = v >> 6;
    if (ch == 3) {
        read_back(p, v);
        return;
    }
    unsigned access = (v >> 4) & 3;
    if (access == RW_LATCH) {
        latch_count(p, ch);
        return;
    }
    struct vpit_channel *c = &p->ch[ch];
    c->rw_mode = c->read_state = c->write_state = (uint8_t)(access == 3 ? RW_WORD0 : access);
    c->mode_bits = (v >> 1) & 7;
    c->mode = c->mode_bits > 5 ? c->mode_bits - 4 : c->mode_bits;
    c->bcd = v & 1;
    c->armed = false;
    c->null_count = true;
    c->count_latched = 0;
    c->status_latched = false;
    if (ch == 0)
        rearm(p, now(p));
}

static void write_counter(struct vpit *p, unsigned ch, uint8_t v)
{
    struct vpit_channel *c = &p->ch[ch];
    switch (c->write_state) {
    case RW_LSB: load_count(p, ch, v); break;
    case RW_MSB: load_count(p, ch, (uint32_t)v << 8); break;
    case RW_WORD0: c->write_latch = v; c->write_state = RW_WORD1; break;
    default:
        load_count(p, ch, c->write_latch | (uint32_t)v << 8);
        c->write_state = RW_WORD0;
        break;
    }
}

static uint8_t read_latched(struct vpit_channel *c)
{
    uint8_t v;
    switch (c->count_latched) {
    case RW_LSB: v = (uint8_t)c->latched_count; c->count_latched = 0; break;
    case RW_MSB: v = (uint8_t)(c->latched_count >> 8); c->count_latched = 0; break;
    case RW_WORD0: v = (uint8_t)c->latched_count; c->count_latched = RW_MSB; break;
    default: v = 0; c->count_latched = 0; break;
    }
    return v;
}

static uint8_t read_counter(struct vpit *p, unsigned ch)
{
    struct vpit_channel *c = &p->ch[ch];
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched)
        return read_latched(c);
    uint16_t count = channel_count(c, now(p));
    switch (c->read_state) {
    case RW_LSB: return (uint8_t)count;
    case RW_MSB: return (uint8_t)(count >> 8);
    case RW_WORD0: c->read_state = RW_WORD1; return (uint8_t)count;
    default: c->read_state = RW_WORD0; return (uint8_t)(count >> 8);
    }
}

static void set_gate2(struct vpit *p, bool gate)
{
    struct vpit_channel *c = &p->ch[2];
    uint64_t t = now(p);
    if (gate == c->gate)
        return;
    if (!gate) {
        c->paused_ticks = elapsed_ticks(c, t);
        c->gate = false;
        return;
    }
    bool was_paused = gate_pauses(c);
    c->gate = true;
    if (was_paused) {   /* resume a mode 0/4 count where it stopped */
        uint64_t done = ticks_to_ns(c->paused_ticks);
        c->load_ns = t > done ? t - done : 0;
    } else {            /* a rising edge retriggers modes 1, 2, 3, 5 */
        c->load_ns = t;
    }
}

static uint8_t read_port61(struct vpit *p)
{
    uint64_t t = now(p);
    uint8_t v = p->port61 & 3;
    if ((t / 15085) & 1)            /* DRAM refresh toggle, every ~15 us */
        v |= 0x10;
    if (channel_out(&p->ch[2], t))
        v |= 0x20;
    return v;
}

static uint8_t read_byte(struct vpit *p, uint16_t port)
{
    if (port >= 0x40 && port <= 0x42)
        return read_counter(p, port - 0x40);
    if (port == 0x61)
        return read_port61(p);
    return 0xff;   /* the control word is write-only */
}

static void write_byte(struct vpit *p, uint16_t port, uint8_t v)
{
    if (port >= 0x40 && port <= 0x42) {
        write_counter(p, port - 0x40, v);
    } else if (port == 0x43) {
        write_control(p, v);
    } else if (port == 0x61) {
        p->port61 = v & 3;
        set_gate2(p, v & 1);
    }
}

/* Ports are byte-wide; a wider access touches consecutive ports of the same range. */
bool vpit_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    uint16_t last = port == 0x61 ? 0x61 : 0x43;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
        uint32_t b = port + i <= last ? read_byte(dev, (uint16_t)(port + i)) : 0xff;
        v |= b << (8 * i);
    }
    *value = v;
    return true;
}

bool vpit_port_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    uint16_t last = port == 0x61 ? 0x61 : 0x43;
    for (unsigned i = 0; i < size && i < 4 && port + i <= last; i++)
        write_byte(dev, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
    return true;
}

bool vpit_register(struct vpit *p, struct vdev_bus *bus)
{
    struct vdev_port_range timer = {
        .base = 0x40, .count = 4, .read = vpit_port_read,
        .write = vpit_port_write, .dev = p,
    };
    struct vdev_port_range speaker = timer;
    speaker.base = 0x61;
    speaker.count = 1;
    return vdev_bus_add_ports(bus, &timer) && vdev_bus_add_ports(bus, &speaker);
}

/* ---- save and restore --------------------------------------------------------------- */

static const struct state_field vpit_channel_fields[] = {
    STATE_U32(struct vpit_channel, count, 1),
    STATE_U64(struct vpit_channel, load_ns, 1),
    STATE_U64(struct vpit_channel, paused_ticks, 1),
    STATE_U16(struct vpit_channel, latched_count, 1),
    STATE_U8(struct vpit_channel, count_latched, 1),
    STATE_BOOL(struct vpit_channel, status_latched, 1),
    STATE_U8(struct vpit_channel, status, 1),
    STATE_U8(struct vpit_channel, rw_mode, 1),
    STATE_U8(struct vpit_channel, read_state, 1),
    STATE_U8(struct vpit_channel, write_state, 1),
    STATE_U8(struct vpit_channel, write_latch, 1),
    STATE_U8(struct vpit_channel, mode_bits, 1),
    STATE_U8(struct vpit_channel, mode, 1),
    STATE_BOOL(struct vpit_channel, bcd, 1),
    STATE_BOOL(struct vpit_channel, gate, 1),
    STATE_BOOL(struct vpit_channel, armed, 1),
    STATE_BOOL(struct vpit_channel, null_count, 1),
};

static const struct state_field vpit_fields[] = {
    STATE_STRUCTS(struct vpit, ch, struct vpit_channel, vpit_channel_fields, 1),
    STATE_U8(struct vpit, port61, 1),
    STATE_U64(struct vpit, irq_next_ns, 1),
    STATE_U64(struct vpit, irq_pulses, 1),
};

static const struct state_desc vpit_desc =
    STATE_DESC("pit", STATE_ID('P', 'I', 'T', 'C'), 1, 1, vpit_fields);

struct state_kind vpit_state_kind(void)
{
    return state_desc_kind(&vpit_desc);
}

bool vpit_save(const struct vpit *p, struct state_writer *w, uint16_t instance)
{
    return state_save(w, &vpit_desc, instance, p);
}

static bool access_state_ok(uint8_t rw_mode, uint8_t state)
{
    return rw_mode == RW_WORD0 ? state == RW_WORD0 || state == RW_WORD1 : state == rw_mode;
}

/* What write_control, write_counter and the latches can leave in a channel. */
static const char *channel_invalid(const struct vpit_channel *c, unsigned ch)
{
    if (c->count < 1 || c->count > 0x10000)
        return "count outside 1-0x10000";
    if (c->mode_bits > 7 || c->mode != (c->mode_bits > 5 ? c->mode_bits - 4 : c->mode_bits))
        return "mode does not follow the programmed mode bits";
    if (c->rw_mode < RW_LSB || c->rw_mode > RW_WORD0 ||
        !access_state_ok(c->rw_mode, c->read_state) ||
        !access_state_ok(c->rw_mode, c->write_state))
        return "access mode or byte state out of range";
    if (c->count_latched > RW_WORD0)
        return "latched count state out of range";
    if (ch < 2 && !c->gate)
        return "gate of channel 0 or 1 low";
    return NULL;
}

int vpit_restore(struct vpit *p, const struct state_section *s, char *err, size_t err_size)
{
    struct vpit t = *p;
    if (state_load(s, &vpit_desc, &t, err, err_size))
        return -1;
    const char *why = NULL;
    unsigned bad = 0;
    for (unsigned ch = 0; ch < 3 && !why; ch++)
        if ((why = channel_invalid(&t.ch[ch], ch)))
            bad = ch;
    if (!why && (t.port61 > 3 || t.ch[2].gate != (t.port61 & 1))) {
        why = "port 0x61 does not match channel 2's gate";
        bad = 2;
    }
    if (why) {
        fmt_snprintf(err, err_size, "state: 'pit' instance %u: channel %u: %s", s->instance,
                     bad, why);
        return -1;
    }
    *p = t;
    if (p->plat->timer_arm)
        p->plat->timer_arm(p->plat->ctx, p->timer_id, p->irq_next_ns);
    return 0;
}

static void vpit_state_reset(void *dev)
{
    struct vpit *p = dev;
    vpit_init(p, p->plat, p->timer_id, p->irq);
    if (p->plat->timer_arm)
        p->plat->timer_arm(p->plat->ctx, p->timer_id, 0);
}

static bool vpit_state_save(void *dev, struct state_writer *w)
{
    return vpit_save(dev, w, 0);
}

static int vpit_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    return vpit_restore(dev, s, err, n);
}

bool vpit_register_state(struct vpit *p, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "pit", .kind = vpit_state_kind(), .dev = p,
        .reset = vpit_state_reset, .save = vpit_state_save, .restore = vpit_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
