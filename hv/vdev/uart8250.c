/* 8250/16550A UART model: registers, loopback, interrupt identification. */
#include "hv/vdev/uart8250.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

enum {
    REG_DATA = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
    REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};

#define IER_RDI   0x01
#define IER_THRI  0x02
#define IER_RLSI  0x04
#define IER_MSI   0x08

#define IIR_NONE  0x01
#define IIR_MSI   0x00
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_RLSI  0x06
#define IIR_FIFO  0xc0

#define LCR_DLAB  0x80
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10

#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_ERRS  0x1e
#define LSR_THRE  0x20
#define LSR_TEMT  0x40

#define MSR_DELTAS 0x0f
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

void vuart_init(struct vuart *u, const struct vdev_platform *plat, uint16_t base,
                   unsigned irq)
{
    memset(u, 0, sizeof(*u));
    u->plat = plat;
    u->base = base;
    u->irq = irq;
    u->divisor = 12;   /* 9600 baud, as after a PC BIOS */
    u->msr = MSR_CTS | MSR_DSR | MSR_DCD;
}

bool vuart_register(struct vuart *u, struct vdev_bus *bus)
{
    struct vdev_port_range r = {
        .base = u->base, .count = 8, .read = vuart_port_read,
        .write = vuart_port_write, .dev = u,
    };
    return vdev_bus_add_ports(bus, &r);
}

uint16_t vuart_divisor(const struct vuart *u)
{
    return u->divisor;
}

static uint8_t modem_lines(const struct vuart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD;
    uint8_t m = 0;
    if (u->mcr & MCR_RTS)  m |= MSR_CTS;
    if (u->mcr & MCR_DTR)  m |= MSR_DSR;
    if (u->mcr & MCR_OUT1) m |= MSR_RI;
    if (u->mcr & MCR_OUT2) m |= MSR_DCD;
    return m;
}

/* Recomputes the modem status and its delta bits after MCR changes. */
static void update_msr(struct vuart *u)
{
    uint8_t now = modem_lines(u), old = u->msr & 0xf0;
    uint8_t d = u->msr & MSR_DELTAS;
    if ((now ^ old) & MSR_CTS) d |= 0x01;
    if ((now ^ old) & MSR_DSR) d |= 0x02;
    if ((old & MSR_RI) && !(now & MSR_RI)) d |= 0x04;   /* trailing edge of RI */
    if ((now ^ old) & MSR_DCD) d |= 0x08;
    u->msr = now | d;
}

static uint8_t interrupt_id(const struct vuart *u)
{
    if ((u->ier & IER_RLSI) && (u->lsr_err & LSR_ERRS))
        return IIR_RLSI;
    if ((u->ier & IER_RDI) && u->rx_count)
        return IIR_RDI;
    if ((u->ier & IER_THRI) && u->thr_pending)
        return IIR_THRI;
    if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NONE;
}

static void update_irq(struct vuart *u)
{
    bool level = interrupt_id(u) != IIR_NONE;
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (u->plat->irq_set)
        u->plat->irq_set(u->plat->ctx, u->irq, level);
}

static bool rx_push(struct vuart *u, uint8_t b)
{
    if (u->rx_count == VUART_RX_QUEUE)
        return false;
    u->rx[(u->rx_head + u->rx_count) % VUART_RX_QUEUE] = b;
    u->rx_count++;
    return true;
}

static uint8_t rx_pop(struct vuart *u)
{
    if (!u->rx_count)
        return 0;
    uint8_t b = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % VUART_RX_QUEUE;
    u->rx_count--;
    return b;
}

size_t vuart_input(struct vuart *u, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t n = 0;
    while (n < len && rx_push(u, p[n]))
        n++;
    update_irq(u);
    return n;
}

static void transmit(struct vuart *u, uint8_t b)
{
    if (u->mcr & MCR_LOOP) {
        if (!rx_push(u, b)) {
            u->lsr_err |= LSR_OE;
            u->rx_overruns++;
        }
    } else if (u->plat->console_write) {
        char c = (char)b;
        u->plat->console_write(u->plat->ctx, &c, 1);
    }
    u->tx_bytes++;
    u->thr_pending = true;
}

static void write_ier(struct vuart *u, uint8_t v)
{
    uint8_t changed = (u->ier ^ v) & 0x0f;
    u->ier = v & 0x0f;
    /* Enabling THRI with the transmitter empty raises it at once (Linux tests this). */
    if (changed & IER_THRI)
        u->thr_pending = (u->ier & IER_THRI) != 0;
}

static void write_fcr(struct vuart *u, uint8_t v)
{
    if (v & 0x02) {
        u->rx_head = 0;
        u->rx_count = 0;
    }
    u->fcr = v & 0xc9;   /* enable, DMA mode, trigger level; reset bits self-clear */
}

static void write_reg(struct vuart *u, unsigned reg, uint8_t v)
{
    bool dlab = (u->lcr & LCR_DLAB) != 0;
    switch (reg) {
    case REG_DATA:
        if (dlab) u->divisor = (uint16_t)((u->divisor & 0xff00) | v);
        else transmit(u, v);
        break;
    case REG_IER:
        if (dlab) u->divisor = (uint16_t)((u->divisor & 0x00ff) | (v << 8));
        else write_ier(u, v);
        break;
    case REG_IIR_FCR: write_fcr(u, v); break;
    case REG_LCR: u->lcr = v; break;
    case REG_MCR: u->mcr = v & 0x1f; update_msr(u); break;
    case REG_LSR: break;   /* factory test only */
    case REG_MSR: break;
    case REG_SCR: u->scr = v; break;
    }
    update_irq(u);
}

static uint8_t read_iir(struct vuart *u)
{
    uint8_t id = interrupt_id(u);
    if (id == IIR_THRI)
        u->thr_pending = false;
    return (uint8_t)(id | ((u->fcr & 0x01) ? IIR_FIFO : 0));
}

static uint8_t read_lsr(struct vuart *u)
{
    uint8_t v = (uint8_t)(LSR_THRE | LSR_TEMT | u->lsr_err);
    if (u->rx_count)
        v |= LSR_DR;
    u->lsr_err = 0;
    return v;
}

static uint8_t read_reg(struct vuart *u, unsigned reg)
{
    bool dlab = (u->lcr & LCR_DLAB) != 0;
    uint8_t v = 0;
    switch (reg) {
    case REG_DATA: v = dlab ? (uint8_t)u->divisor : rx_pop(u); break;
    case REG_IER:  v = dlab ? (uint8_t)(u->divisor >> 8) : u->ier; break;
    case REG_IIR_FCR: v = read_iir(u); break;
    case REG_LCR: v = u->lcr; break;
    case REG_MCR: v = u->mcr; break;
    case REG_LSR: v = read_lsr(u); break;
    case REG_MSR: v = u->msr; u->msr &= (uint8_t)~MSR_DELTAS; break;
    case REG_SCR: v = u->scr; break;
    }
    update_irq(u);
    return v;
}

/* Wider accesses touch consecutive registers, low byte first; bytes past the UART read
 * as 0xff and are not written. */
bool vuart_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    struct vuart *u = dev;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++) {
        unsigned reg = (unsigned)(port - u->base) + i;
        uint32_t b = reg < 8 ? read_reg(u, reg) : 0xff;
        v |= b << (8 * i);
    }
    *value = v;
    return true;
}

bool vuart_port_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct vuart *u = dev;
    for (unsigned i = 0; i < size && i < 4; i++) {
        unsigned reg = (unsigned)(port - u->base) + i;
        if (reg < 8)
            write_reg(u, reg, (uint8_t)(value >> (8 * i)));
    }
    return true;
}

/* ---- reset, save and restore (section 'UART') ---------------------------------------- */

static const struct state_field vuart_fields[] = {
    STATE_U8(struct vuart, ier, 1), STATE_U8(struct vuart, lcr, 1),
    STATE_U8(struct vuart, mcr, 1), STATE_U8(struct vuart, lsr_err, 1),
    STATE_U8(struct vuart, msr, 1), STATE_U8(struct vuart, scr, 1),
    STATE_U8(struct vuart, fcr, 1), STATE_U16(struct vuart, divisor, 1),
    STATE_BOOL(struct vuart, thr_pending, 1),
    STATE_BYTES(struct vuart, rx, 1),
    STATE_U32(struct vuart, rx_head, 1), STATE_U32(struct vuart, rx_count, 1),
};

static const struct state_desc vuart_desc =
    STATE_DESC("uart", STATE_ID('U', 'A', 'R', 'T'), 1, 1, vuart_fields);

/* Drives the line to what the registers say, from what it held before. */
static void redrive(struct vuart *u, bool held)
{
    u->irq_level = held;
    update_irq(u);
}

static void vuart_state_reset(void *dev)
{
    struct vuart *u = dev;
    bool held = u->irq_level;
    vuart_init(u, u->plat, u->base, u->irq);
    redrive(u, held);
}

static bool vuart_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &vuart_desc, 0, dev);
}

static const char *vuart_invalid(const struct vuart *t)
{
    if ((t->ier & ~0x0fu) || (t->mcr & ~0x1fu) || (t->fcr & ~0xc9u) || (t->lsr_err & ~LSR_ERRS))
        return "reserved register bits set";
    if ((t->msr & 0xf0u) != modem_lines(t))
        return "modem status does not follow the modem control register";
    if (t->rx_head >= VUART_RX_QUEUE || t->rx_count > VUART_RX_QUEUE)
        return "receive queue position out of range";
    return NULL;
}

static int vuart_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct vuart *u = dev;
    struct vuart t = *u;
    if (state_load(s, &vuart_desc, &t, err, n))
        return -1;
    const char *why = vuart_invalid(&t);
    if (why) {
        fmt_snprintf(err, n, "state: 'uart' instance %u: %s", s->instance, why);
        return -1;
    }
    bool held = u->irq_level;
    *u = t;
    redrive(u, held);
    return 0;
}

bool vuart_register_state(struct vuart *u, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "uart", .kind = state_desc_kind(&vuart_desc), .dev = u,
        .reset = vuart_state_reset, .save = vuart_state_save, .restore = vuart_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
