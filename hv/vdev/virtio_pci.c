/* virtio 1.x modern PCI transport: capabilities, common config, status, ISR, notify. */
#include "hv/vdev/virtio_pci.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

#define TRANSPORT_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX)
#define LOG_LINES_PER_S 10
#define NS_PER_S 1000000000ull
#define PCICFG_DATA 16u             /* pci_cfg_data, from the capability's start */

static uint64_t offered(const struct virtio_pci *vp)
{
    return vp->ops->features | TRANSPORT_FEATURES;
}

uint64_t virtio_pci_features(const struct virtio_pci *vp)
{
    return vp->driver_features & offered(vp);
}

bool virtio_pci_driver_ok(const struct virtio_pci *vp)
{
    return vp->status & VIRTIO_STATUS_DRIVER_OK;
}

bool virtio_pci_broken(const struct virtio_pci *vp)
{
    return vp->status & VIRTIO_STATUS_NEEDS_RESET;
}

struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned q)
{
    return q < vp->ops->num_queues ? &vp->queues[q] : NULL;
}

static struct virtq *selected(struct virtio_pci *vp)
{
    return virtio_pci_queue(vp, vp->queue_select);
}

/* ---- logging ----------------------------------------------------------------------- */

static void log_sink(void *ctx, const char *s, size_t n)
{
    const struct vdev_platform *p = ctx;
    if (p->console_write)
        p->console_write(p->ctx, s, n);
}

static bool log_allowed(struct virtio_pci *vp)
{
    const struct vdev_platform *p = vp->plat;
    uint64_t now = p->now_ns ? p->now_ns(p->ctx) : 0;
    if (now - vp->log_window_ns >= NS_PER_S || now < vp->log_window_ns) {
        vp->log_window_ns = now;
        vp->log_lines = 0;
    }
    if (vp->log_lines >= LOG_LINES_PER_S) {
        vp->stats.log_dropped++;
        return false;
    }
    vp->log_lines++;
    return true;
}

static void vlog(struct virtio_pci *vp, const char *fmt, va_list ap)
{
    if (!log_allowed(vp))
        return;
    char line[160];
    int n = fmt_snprintf(line, sizeof(line), "%s 00:%02x.0: ", vp->ops->name, vp->fn->slot);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    fmt_vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    log_sink((void *)vp->plat, line, len);
}

void virtio_pci_log(struct virtio_pci *vp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(vp, fmt, ap);
    va_end(ap);
}

/* ---- interrupts ---------------------------------------------------------------------- */

/* With MSI-X on, the vector (none for NO_VECTOR); else the ISR bit and INTx.  The
 * configuration bit is set in the ISR before either (virtio 1.2, 4.1.4.5.1).  Under MSI-X
 * the INTx level is left alone, as QEMU does: a driver that never reads the ISR there and
 * turns MSI-X off (a kexec'd kernel's PCI scan) must not find a level interrupt that no
 * handler clears. */
static void interrupt_driver(struct virtio_pci *vp, uint8_t isr_bit, uint16_t vector)
{
    if (isr_bit == VIRTIO_PCI_ISR_CONFIG)
        vp->isr |= isr_bit;
    if (pci_function_msix_enabled(vp->fn)) {
        pci_function_msix_notify(vp->fn, vector);
        return;
    }
    vp->isr |= isr_bit;
    pci_function_set_intx(vp->fn, true);
}

void virtio_pci_queue_interrupt(struct virtio_pci *vp, unsigned q)
{
    struct virtq *vq = virtio_pci_queue(vp, q);
    if (!vq || !virtq_should_interrupt(vq, vp->plat))
        return;
    vp->stats.queue_irqs++;
    interrupt_driver(vp, VIRTIO_PCI_ISR_QUEUE, vq->msix_vector);
}

static void config_interrupt(struct virtio_pci *vp)
{
    vp->stats.config_irqs++;
    interrupt_driver(vp, VIRTIO_PCI_ISR_CONFIG, vp->config_msix);
}

/* config_generation moves when the driver reads the device configuration after a change
 * (the spec's own scheme, 4.1.4.3.1): a counter bumped per change could wrap back to the
 * value the driver saw. */
void virtio_pci_config_changed(struct virtio_pci *vp)
{
    vp->config_unread = true;
    if (virtio_pci_driver_ok(vp))
        config_interrupt(vp);
}

void virtio_pci_needs_reset(struct virtio_pci *vp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(vp, fmt, ap);
    va_end(ap);
    if (virtio_pci_broken(vp))
        return;
    vp->stats.needs_reset++;
    vp->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (virtio_pci_driver_ok(vp))
        config_interrupt(vp);
}

/* ---- status ------------------------------------------------------------------------ */

static void device_reset(struct virtio_pci *vp)
{
    vp->stats.resets++;
    vp->reset_count++;
    vp->status = 0;
    vp->dfselect = vp->gfselect = 0;
    vp->driver_features = 0;
    vp->config_msix = PCI_MSIX_NO_VECTOR;
    vp->queue_select = 0;
    vp->isr = 0;
    pci_function_set_intx(vp->fn, false);
    for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
        virtq_reset(&vp->queues[q], vp->ops->queue_max);
    if (vp->ops->reset)
        vp->ops->reset(vp->dev);
}

static bool features_acceptable(const struct virtio_pci *vp)
{
    uint64_t f = vp->driver_features;
    return (f & VIRTIO_F_VERSION_1) && !(f & ~offered(vp));
}

static void driver_ok(struct virtio_pci *vp)
{
    uint64_t f = virtio_pci_features(vp);
    for (unsigned q = 0; q < vp->ops->num_queues; q++) {
        struct virtq *vq = &vp->queues[q];
        vq->event_idx = f & VIRTIO_F_EVENT_IDX;
        vq->indirect = f & VIRTIO_F_INDIRECT_DESC;
        if (vq->enabled && pci_function_bus_master(vp->fn))
            virtq_start(vq, vp->plat);
    }
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
    if (v == 0)
        return device_reset(vp);
    uint8_t old = vp->status, set = (uint8_t)(v & ~old & ~VIRTIO_STATUS_NEEDS_RESET);
    if (old & ~v & ~VIRTIO_STATUS_NEEDS_RESET)
        virtio_pci_log(vp, "driver cleared status bits %#x (ignored)", old & ~v);
    if ((set & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(vp)) {
        virtio_pci_log(vp, "features %#llx refused (VERSION_1 missing or not offered)",
                       (unsigned long long)vp->driver_features);
        set &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    }
    bool features_ok = (old | set) & VIRTIO_STATUS_FEATURES_OK;
    if ((set & VIRTIO_STATUS_DRIVER_OK) && !features_ok) {
        virtio_pci_log(vp, "DRIVER_OK before FEATURES_OK (ignored)");
        set &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    }
    vp->status = old | set;
    if (set & VIRTIO_STATUS_DRIVER_OK)
        driver_ok(vp);
}

/* ---- common configuration ------------------------------------------------------------ */

static void put(uint8_t *img, unsigned off, unsigned size, uint64_t v)
{
    for (unsigned i = 0; i < size; i++)
        img[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t device_features_word(const struct virtio_pci *vp)
{
    return vp->dfselect < 2 ? (uint32_t)(offered(vp) >> (32 * vp->dfselect)) : 0;
}

static void common_image(struct virtio_pci *vp, uint8_t *img)
{
    memset(img, 0, VIRTIO_PCI_COMMON_LEN);
    put(img, VIRTIO_COMMON_DFSELECT, 4, vp->dfselect);
    put(img, VIRTIO_COMMON_DF, 4, device_features_word(vp));
    put(img, VIRTIO_COMMON_GFSELECT, 4, vp->gfselect);
    put(img, VIRTIO_COMMON_GF, 4, vp->gfselect < 2 ? vp->driver_features >> (32 * vp->gfselect) : 0);
    put(img, VIRTIO_COMMON_MSIX, 2, vp->config_msix);
    put(img, VIRTIO_COMMON_NUMQ, 2, vp->ops->num_queues);
    put(img, VIRTIO_COMMON_STATUS, 1, vp->status);
    put(img, VIRTIO_COMMON_CFGGEN, 1, vp->config_generation);
    put(img, VIRTIO_COMMON_Q_SELECT, 2, vp->queue_select);
    struct virtq *q = selected(vp);
    if (!q)
        return;
    put(img, VIRTIO_COMMON_Q_SIZE, 2, q->size);
    put(img, VIRTIO_COMMON_Q_MSIX, 2, q->msix_vector);
    put(img, VIRTIO_COMMON_Q_ENABLE, 2, q->enabled);
    put(img, VIRTIO_COMMON_Q_NOFF, 2, vp->queue_select);
    put(img, VIRTIO_COMMON_Q_DESCLO, 8, q->desc);
    put(img, VIRTIO_COMMON_Q_AVAILLO, 8, q->avail);
    put(img, VIRTIO_COMMON_Q_USEDLO, 8, q->used);
}

static uint64_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
    uint8_t img[VIRTIO_PCI_COMMON_LEN];
    uint64_t v = 0;
    common_image(vp, img);
    for (unsigned i = 0; i < size && off + i < VIRTIO_PCI_COMMON_LEN; i++)
        v |= (uint64_t)img[off + i] << (8 * i);
    return v;
}

static uint16_t checked_vector(const struct virtio_pci *vp, uint64_t v)
{
    return v < vp->fn->desc.msix_vectors ? (uint16_t)v : PCI_MSIX_NO_VECTOR;
}

static void set_half(uint64_t *reg, unsigned off, unsigned size, uint64_t v)
{
    if (size == 8)
        *reg = v;
    else if (off % 8 == 0)
        *reg = (*reg & 0xffffffff00000000ull) | (uint32_t)v;
    else
        *reg = (*reg & 0xffffffffull) | v << 32;
}

static void enable_queue(struct virtio_pci *vp, struct virtq *q, uint64_t v)
{
    if (v != 1)
        return virtio_pci_log(vp, "queue_enable %llu ignored", (unsigned long long)v);
    const char *why = virtq_check_layout(q);
    if (why)
        return virtio_pci_log(vp, "queue %u not enabled: %s", vp->queue_select, why);
    q->enabled = true;
}

static void queue_write(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t v)
{
    struct virtq *q = selected(vp);
    if (!q || q->enabled || virtio_pci_driver_ok(vp))
        return;
    switch (off) {
    case VIRTIO_COMMON_Q_SIZE:
        if (v && !(v & (v - 1)) && v <= vp->ops->queue_max)
            q->size = (uint16_t)v;
        else
            virtio_pci_log(vp, "queue_size %llu refused", (unsigned long long)v);
        break;
    case VIRTIO_COMMON_Q_MSIX:
        q->msix_vector = checked_vector(vp, v);
        break;
    case VIRTIO_COMMON_Q_ENABLE:
        enable_queue(vp, q, v);
        break;
    case VIRTIO_COMMON_Q_DESCLO: case VIRTIO_COMMON_Q_DESCHI:
        set_half(&q->desc, off, size, v);
        break;
    case VIRTIO_COMMON_Q_AVAILLO: case VIRTIO_COMMON_Q_AVAILHI:
        set_half(&q->avail, off, size, v);
        break;
    case VIRTIO_COMMON_Q_USEDLO: case VIRTIO_COMMON_Q_USEDHI:
        set_half(&q->used, off, size, v);
        break;
    }
}

static void driver_features_write(struct virtio_pci *vp, uint32_t v)
{
    if (vp->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK) || vp->gfselect > 1)
        return;
    unsigned sh = 32 * vp->gfselect;
    vp->driver_features = (vp->driver_features & ~(0xffffffffull << sh)) | (uint64_t)v << sh;
}

/* The width each register takes (64-bit addresses also as two 32-bit halves). */
static bool width_ok(unsigned off, unsigned size)
{
    if (off >= VIRTIO_COMMON_Q_DESCLO)
        return size == 4 || (size == 8 && off % 8 == 0);
    if (off == VIRTIO_COMMON_STATUS)
        return size == 1;
    if (off < VIRTIO_COMMON_MSIX)
        return size == 4;
    return size == 2 && off % 2 == 0;
}

static void common_write(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t v)
{
    if (!width_ok(off, size))
        return virtio_pci_log(vp, "common config write of %u bytes at %#x ignored", size, off);
    switch (off) {
    case VIRTIO_COMMON_DFSELECT: vp->dfselect = (uint32_t)v; break;
    case VIRTIO_COMMON_GFSELECT: vp->gfselect = (uint32_t)v; break;
    case VIRTIO_COMMON_GF: driver_features_write(vp, (uint32_t)v); break;
    case VIRTIO_COMMON_MSIX: vp->config_msix = checked_vector(vp, v); break;
    case VIRTIO_COMMON_STATUS: write_status(vp, (uint8_t)v); break;
    case VIRTIO_COMMON_Q_SELECT: vp->queue_select = (uint16_t)v; break;
    default: queue_write(vp, off, size, v); break;
    }
}

/* ---- the register BAR -------------------------------------------------------------- */

static uint8_t isr_read(struct virtio_pci *vp)
{
    uint8_t v = vp->isr;
    vp->isr = 0;
    pci_function_set_intx(vp->fn, false);
    return v;
}

static void notify(struct virtio_pci *vp, uint64_t off)
{
    unsigned q = (unsigned)(off / VIRTIO_PCI_NOTIFY_MULT);
    struct virtq *vq = virtio_pci_queue(vp, q);
    vp->stats.notifies++;
    if (!vq || !vq->enabled || !virtio_pci_driver_ok(vp) || virtio_pci_broken(vp))
        return;
    if (!pci_function_bus_master(vp->fn))
        return virtio_pci_log(vp, "queue %u notified without bus mastering (ignored)", q);
    vp->ops->queue_notify(vp->dev, q);
}

bool virtio_pci_regs_read(void *dev, uint64_t off, unsigned size, uint64_t *value)
{
    struct virtio_pci *vp = dev;
    *value = 0;
    if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
        *value = common_read(vp, (unsigned)off, size);
    } else if (off == VIRTIO_PCI_ISR_OFF) {
        *value = isr_read(vp);
    } else if (off >= VIRTIO_PCI_DEVICE_OFF &&
               off - VIRTIO_PCI_DEVICE_OFF + size <= vp->ops->config_len && size <= 4) {
        if (vp->config_unread) {
            vp->config_unread = false;
            vp->config_generation++;
        }
        *value = vp->ops->config_read(vp->dev, (unsigned)(off - VIRTIO_PCI_DEVICE_OFF), size);
    }
    return true;
}

bool virtio_pci_regs_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
    struct virtio_pci *vp = dev;
    if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
        common_write(vp, (unsigned)off, size, value);
    } else if (off >= VIRTIO_PCI_NOTIFY_OFF &&
               off < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * vp->ops->num_queues) {
        notify(vp, off - VIRTIO_PCI_NOTIFY_OFF);
    } else if (off >= VIRTIO_PCI_DEVICE_OFF &&
               off - VIRTIO_PCI_DEVICE_OFF + size <= vp->ops->config_len && size <= 4) {
        if (vp->ops->config_write)
            vp->ops->config_write(vp->dev, (unsigned)(off - VIRTIO_PCI_DEVICE_OFF), size,
                                  (uint32_t)value);
    }
    return true;
}

/* ---- PCI configuration access capability (VIRTIO_PCI_CAP_PCI_CFG) -------------------- */

static bool pcicfg_target(const struct virtio_pci *vp, uint64_t *off, unsigned *len)
{
    const uint8_t *c = &vp->fn->cfg[vp->pcicfg_cap];
    uint32_t o = (uint32_t)(c[8] | c[9] << 8 | c[10] << 16 | (uint32_t)c[11] << 24);
    uint32_t l = (uint32_t)(c[12] | c[13] << 8 | c[14] << 16 | (uint32_t)c[15] << 24);
    if (c[4] != VIRTIO_PCI_REGS_BAR || (l != 1 && l != 2 && l != 4) || o % l ||
        (uint64_t)o + l > VIRTIO_PCI_REGS_SIZE)
        return false;
    *off = o;
    *len = l;
    return true;
}

static void pcicfg_read(void *dev, unsigned offset, unsigned size, uint32_t *value)
{
    struct virtio_pci *vp = dev;
    uint64_t off, v;
    unsigned len;
    if (offset != vp->pcicfg_cap + PCICFG_DATA || !pcicfg_target(vp, &off, &len))
        return;
    virtio_pci_regs_read(vp, off, len, &v);
    *value = (uint32_t)v;
}

static void pcicfg_write(void *dev, unsigned offset, unsigned size, uint32_t value)
{
    struct virtio_pci *vp = dev;
    uint64_t off;
    unsigned len;
    if (offset != vp->pcicfg_cap + PCICFG_DATA || !pcicfg_target(vp, &off, &len))
        return;
    virtio_pci_regs_write(vp, off, len, value & (uint32_t)((1ull << (8 * len)) - 1));
}

/* ---- set-up ---------------------------------------------------------------------------- */

static bool add_virtio_cap(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len)
{
    uint8_t body[18] = { 0 };
    uint8_t mask[18] = { 0 };
    unsigned blen = 14;
    body[1] = type;
    body[2] = VIRTIO_PCI_REGS_BAR;
    if (type == VIRTIO_PCI_CAP_PCI_CFG) {
        body[2] = 0;
        off = len = 0;
        memset(mask + 2, 0xff, 1);
        memset(mask + 6, 0xff, 12);
        blen = 18;
    } else if (type == VIRTIO_PCI_CAP_NOTIFY) {
        uint32_t mult = VIRTIO_PCI_NOTIFY_MULT;
        memcpy(body + 14, &mult, 4);
        blen = 18;
    }
    body[0] = (uint8_t)(blen + 2);
    memcpy(body + 6, &off, 4);
    memcpy(body + 10, &len, 4);
    uint8_t at = pci_function_add_cap(vp->fn, PCI_CAP_ID_VENDOR, body, blen, mask);
    if (type == VIRTIO_PCI_CAP_PCI_CFG)
        vp->pcicfg_cap = at;
    return at != 0;
}

static bool ops_valid(const struct virtio_device_ops *ops)
{
    uint16_t m = ops->queue_max;
    return ops->num_queues >= 1 && ops->num_queues <= VIRTIO_PCI_MAX_QUEUES && m &&
           !(m & (m - 1)) && m <= VIRTQ_MAX_SIZE && ops->config_len <= 0x1000 &&
           ops->config_read && ops->queue_notify && ops->name;
}

static void describe(struct pci_function_desc *d, const struct virtio_device_ops *ops,
                     struct virtio_pci *vp)
{
    *d = (struct pci_function_desc){
        .vendor = VIRTIO_PCI_VENDOR, .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_type),
        .subsys_vendor = VIRTIO_PCI_VENDOR, .subsys_id = 0x1100, .revision = 1,
        .class_code = 0x01, .subclass = 0x00,
        .msix_vectors = ops->num_queues + 1, .msix_bar = VIRTIO_PCI_MSIX_BAR,
        .msix_table_off = 0, .msix_pba_off = 0x800,
        .dev = vp, .cfg_read = pcicfg_read, .cfg_write = pcicfg_write,
    };
    d->bars[VIRTIO_PCI_MSIX_BAR] = (struct pci_bar_desc){ .size = 0x1000 };
    d->bars[VIRTIO_PCI_REGS_BAR] = (struct pci_bar_desc){
        .size = VIRTIO_PCI_REGS_SIZE, .is64 = true,
        .read = virtio_pci_regs_read, .write = virtio_pci_regs_write,
    };
}

bool virtio_pci_init(struct virtio_pci *vp, struct pci_host *host, unsigned slot,
                     const struct vdev_platform *plat, const struct virtio_device_ops *ops,
                     void *dev)
{
    if (!ops_valid(ops))
        return false;
    memset(vp, 0, sizeof(*vp));
    vp->plat = plat;
    vp->ops = ops;
    vp->dev = dev;
    struct pci_function_desc d;
    describe(&d, ops, vp);
    vp->fn = pci_host_add_function(host, slot, &d);
    if (!vp->fn)
        return false;
    bool ok = add_virtio_cap(vp, VIRTIO_PCI_CAP_COMMON, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN) &&
              add_virtio_cap(vp, VIRTIO_PCI_CAP_NOTIFY, VIRTIO_PCI_NOTIFY_OFF,
                             VIRTIO_PCI_NOTIFY_MULT * ops->num_queues) &&
              add_virtio_cap(vp, VIRTIO_PCI_CAP_ISR, VIRTIO_PCI_ISR_OFF, 1) &&
              (!ops->config_len ||
               add_virtio_cap(vp, VIRTIO_PCI_CAP_DEVICE, VIRTIO_PCI_DEVICE_OFF, ops->config_len)) &&
              add_virtio_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
    if (!ok) {
        vp->fn->present = false;
        return false;
    }
    device_reset(vp);
    vp->stats.resets = 0;
    return true;
}

/* ---- reset, save and restore (section 'VPCI', one per device) ------------------------- */

static const struct state_field virtq_fields[] = {
    STATE_U16(struct virtq, size, 1), STATE_U16(struct virtq, msix_vector, 1),
    STATE_BOOL(struct virtq, enabled, 1),
    STATE_BOOL(struct virtq, event_idx, 1), STATE_BOOL(struct virtq, indirect, 1),
    STATE_U64(struct virtq, desc, 1), STATE_U64(struct virtq, avail, 1),
    STATE_U64(struct virtq, used, 1),
    STATE_U16(struct virtq, last_avail, 1), STATE_U16(struct virtq, used_idx, 1),
    STATE_U16(struct virtq, signalled_used, 1),
};

static const struct state_field virtio_pci_fields[] = {
    STATE_U32(struct virtio_pci, dfselect, 1), STATE_U32(struct virtio_pci, gfselect, 1),
    STATE_U64(struct virtio_pci, driver_features, 1),
    STATE_U8(struct virtio_pci, status, 1), STATE_U8(struct virtio_pci, config_generation, 1),
    STATE_U8(struct virtio_pci, isr, 1), STATE_U16(struct virtio_pci, config_msix, 1),
    STATE_U16(struct virtio_pci, queue_select, 1),
    STATE_STRUCTS(struct virtio_pci, queues, struct virtq, virtq_fields, 1),
};

static const struct state_desc virtio_pci_desc =
    STATE_DESC("virtio-pci", STATE_ID('V', 'P', 'C', 'I'), 1, 1, virtio_pci_fields);

#define STATUS_KNOWN (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
                      VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | \
                      VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

static bool vector_ok(const struct virtio_pci *vp, uint16_t v)
{
    return v == PCI_MSIX_NO_VECTOR || v < vp->fn->desc.msix_vectors;
}

static const char *queue_invalid(const struct virtio_pci *t, unsigned q)
{
    const struct virtq *vq = &t->queues[q];
    if (q >= t->ops->num_queues) {
        struct virtq fresh;
        virtq_reset(&fresh, t->ops->queue_max);
        return memcmp(vq, &fresh, sizeof(fresh)) ? "a queue the device does not have is set"
                                                 : NULL;
    }
    if (!vq->size || (vq->size & (vq->size - 1)) || vq->size > t->ops->queue_max)
        return "queue size not a power of two up to the device's maximum";
    if (!vector_ok(t, vq->msix_vector))
        return "queue MSI-X vector beyond the table";
    if (vq->enabled && virtq_check_layout(vq))
        return virtq_check_layout(vq);
    bool ok = virtio_pci_driver_ok(t);
    uint64_t f = virtio_pci_features(t);
    if (vq->event_idx != (ok && (f & VIRTIO_F_EVENT_IDX)) ||
        vq->indirect != (ok && (f & VIRTIO_F_INDIRECT_DESC)))
        return "queue features differ from those negotiated";
    return NULL;
}

/* What the driver's writes and the device can leave in the transport. */
static const char *transport_invalid(const struct virtio_pci *t, unsigned *q)
{
    *q = 0;
    if (t->status & ~STATUS_KNOWN)
        return "unknown device status bits";
    if ((t->status & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(t))
        return "FEATURES_OK with features the device does not offer or without VERSION_1";
    if ((t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_FEATURES_OK))
        return "DRIVER_OK without FEATURES_OK";
    if (t->isr & ~3u)
        return "unknown ISR bits";
    if (!vector_ok(t, t->config_msix))
        return "configuration MSI-X vector beyond the table";
    for (*q = 0; *q < VIRTIO_PCI_MAX_QUEUES; (*q)++) {
        const char *why = queue_invalid(t, *q);
        if (why)
            return why;
    }
    *q = 0;
    return NULL;
}

static void virtio_pci_state_reset(void *dev)
{
    device_reset(dev);
}

static bool virtio_pci_state_save(void *dev, struct state_writer *w)
{
    struct virtio_pci *vp = dev;
    return state_save(w, &virtio_pci_desc, vp->state_instance, vp);
}

static int virtio_pci_state_restore(void *dev, const struct state_section *s, char *err,
                                    size_t n)
{
    struct virtio_pci *vp = dev;
    struct virtio_pci t = *vp;
    if (state_load(s, &virtio_pci_desc, &t, err, n))
        return -1;
    unsigned q;
    const char *why = transport_invalid(&t, &q);
    if (why) {
        fmt_snprintf(err, n, "state: 'virtio-pci' instance %u: queue %u: %s", s->instance, q,
                     why);
        return -1;
    }
    *vp = t;
    return 0;
}

bool virtio_pci_register_state(struct virtio_pci *vp, struct vdev_bus *bus, uint16_t instance)
{
    vp->state_instance = instance;
    struct vdev_state_ops ops = {
        .name = "virtio-pci", .kind = state_desc_kind(&virtio_pci_desc), .dev = vp, .reset = virtio_pci_state_reset,
        .save = virtio_pci_state_save, .restore = virtio_pci_state_restore,
        .per_instance = true, .instance = instance,
    };
    return vdev_bus_add_state(bus, &ops);
}
