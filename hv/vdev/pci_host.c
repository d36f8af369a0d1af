/* PCI host bridge: mechanism #1 config space, BARs decoded in the host's windows, MSI-X. */
#include "hv/vdev/pci_host.h"
#include "hv/vdev/vdev_util.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

#include <string.h>

#define CFG_ADDR_ENABLE 0x80000000u
#define MSIX_ENTRY_SIZE 16u
#define HOST_BRIDGE_SLOT 0

static struct pci_host pool[PCI_HOST_POOL];

/* ---- small helpers ------------------------------------------------------------------- */

static uint32_t cfg_get(const struct pci_function *fn, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < 256; i++)
        v |= (uint32_t)fn->cfg[off + i] << (8 * i);
    return v;
}

static void cfg_put(struct pci_function *fn, unsigned off, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size && off + i < 256; i++)
        fn->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void wmask_put(struct pci_function *fn, unsigned off, unsigned size, uint32_t m)
{
    for (unsigned i = 0; i < size && off + i < 256; i++)
        fn->wmask[off + i] = (uint8_t)(m >> (8 * i));
}

static bool is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

static uint16_t command(const struct pci_function *fn)
{
    return (uint16_t)cfg_get(fn, PCI_COMMAND, 2);
}

/* ---- BARs ------------------------------------------------------------------------------ */

static uint64_t bar_raw(const struct pci_function *fn, unsigned n)
{
    uint64_t lo = cfg_get(fn, PCI_BAR0 + 4 * n, 4) & ~0xfu;
    if (!fn->desc.bars[n].is64)
        return lo;
    return lo | (uint64_t)cfg_get(fn, PCI_BAR0 + 4 * (n + 1), 4) << 32;
}

static bool in_window(uint64_t addr, uint64_t size)
{
    uint64_t end = addr + size;
    if (end < addr)
        return false;
    return (addr >= PCI_MMIO32_BASE && end <= PCI_MMIO32_BASE + PCI_MMIO32_SIZE) ||
           (addr >= PCI_MMIO64_BASE && end <= PCI_MMIO64_BASE + PCI_MMIO64_SIZE);
}

bool pci_function_bar_addr(const struct pci_function *fn, unsigned n, uint64_t *addr)
{
    if (n >= PCI_BARS || !fn->present || !fn->desc.bars[n].size)
        return false;
    if (!(command(fn) & PCI_CMD_MEMORY))
        return false;
    uint64_t a = bar_raw(fn, n);
    if (!in_window(a, fn->desc.bars[n].size))
        return false;
    *addr = a;
    return true;
}

static void bar_setup(struct pci_function *fn, unsigned n)
{
    const struct pci_bar_desc *b = &fn->desc.bars[n];
    unsigned off = PCI_BAR0 + 4 * n;
    uint32_t flags = (b->is64 ? PCI_BAR_MEM64 : 0) | (b->prefetchable ? PCI_BAR_PREFETCH : 0);
    uint64_t mask = ~(b->size - 1);
    struct pci_host *h = fn->host;
    uint64_t addr = (h->next_bar_addr + b->size - 1) & mask;
    if (addr + b->size > PCI_MMIO32_BASE + PCI_MMIO32_SIZE) {
        addr = 0;
    } else {
        h->next_bar_addr = addr + b->size;
    }
    cfg_put(fn, off, 4, (uint32_t)addr | flags);
    wmask_put(fn, off, 4, (uint32_t)mask & ~0xfu);
    if (b->is64) {
        cfg_put(fn, off + 4, 4, 0);
        wmask_put(fn, off + 4, 4, (uint32_t)(mask >> 32));
    }
}

/* ---- INTx and MSI-X ------------------------------------------------------------------ */

bool pci_function_msix_enabled(const struct pci_function *fn)
{
    return fn->msix_cap && (cfg_get(fn, fn->msix_cap + 2, 2) & PCI_MSIX_ENABLE);
}

static bool msix_masked(const struct pci_function *fn, unsigned vector)
{
    return (cfg_get(fn, fn->msix_cap + 2, 2) & PCI_MSIX_MASKALL) || (fn->msix[vector].ctrl & 1);
}

static void msix_send(struct pci_function *fn, unsigned vector)
{
    const struct pci_msix_entry *e = &fn->msix[vector];
    const struct vdev_platform *p = fn->host->plat;
    fn->host->stats.msix_sent++;
    if (p->msi_send)
        p->msi_send(p->ctx, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

bool pci_function_msix_notify(struct pci_function *fn, unsigned vector)
{
    if (vector >= fn->desc.msix_vectors || !pci_function_msix_enabled(fn))
        return false;
    if (msix_masked(fn, vector)) {
        fn->msix_pending |= 1ull << vector;
        fn->host->stats.msix_masked++;
        return true;
    }
    msix_send(fn, vector);
    return true;
}

static void msix_deliver_pending(struct pci_function *fn)
{
    if (!pci_function_msix_enabled(fn))
        return;
    for (unsigned v = 0; v < fn->desc.msix_vectors; v++) {
        if ((fn->msix_pending >> v & 1) && !msix_masked(fn, v)) {
            fn->msix_pending &= ~(1ull << v);
            msix_send(fn, v);
        }
    }
}

static bool intx_asserted(const struct pci_function *fn)
{
    return fn->present && fn->intx_level && !(command(fn) & PCI_CMD_INTX_DISABLE) &&
           !pci_function_msix_enabled(fn);
}

/* Functions whose pins share a GSI are wire-ORed onto it. */
static void intx_update(struct pci_function *fn)
{
    if (fn->slot == HOST_BRIDGE_SLOT)
        return;
    uint16_t status = (uint16_t)cfg_get(fn, PCI_STATUS, 2);
    status = fn->intx_level ? status | PCI_STATUS_INTX : status & ~PCI_STATUS_INTX;
    cfg_put(fn, PCI_STATUS, 2, status);
    bool asserted = false;
    for (unsigned s = 1; s < PCI_SLOTS; s++) {
        if (PCI_INTX_GSI(s) == PCI_INTX_GSI(fn->slot))
            asserted |= intx_asserted(&fn->host->fn[s]);
    }
    const struct vdev_platform *p = fn->host->plat;
    if (p->irq_set)
        p->irq_set(p->ctx, PCI_INTX_GSI(fn->slot), asserted);
}

void pci_function_set_intx(struct pci_function *fn, bool level)
{
    if (fn->intx_level == level)
        return;
    fn->intx_level = level;
    intx_update(fn);
}

bool pci_function_bus_master(const struct pci_function *fn)
{
    return command(fn) & PCI_CMD_MASTER;
}

static uint32_t *msix_word(struct pci_function *fn, uint64_t off)
{
    struct pci_msix_entry *e = &fn->msix[off / MSIX_ENTRY_SIZE];
    uint32_t *words[4] = { &e->addr_lo, &e->addr_hi, &e->data, &e->ctrl };
    return words[off % MSIX_ENTRY_SIZE / 4];
}

static void msix_table_write32(struct pci_function *fn, uint64_t off, uint32_t v)
{
    uint32_t *w = msix_word(fn, off);
    if (off % MSIX_ENTRY_SIZE == 12) {
        *w = v & 1;
        msix_deliver_pending(fn);
    } else {
        *w = v;
    }
}

/* MSI-X table/PBA access at off from the BAR start; false when off is elsewhere. */
static bool msix_access(struct pci_function *fn, uint64_t off, unsigned size, bool write,
                        uint64_t *value)
{
    const struct pci_function_desc *d = &fn->desc;
    uint64_t table_len = (uint64_t)d->msix_vectors * MSIX_ENTRY_SIZE;
    bool in_table = off >= d->msix_table_off && off - d->msix_table_off < table_len;
    bool in_pba = off >= d->msix_pba_off && off - d->msix_pba_off < 8;
    if (!in_table && !in_pba)
        return false;
    bool aligned = (size == 4 || size == 8) && off % size == 0;
    if (!write)
        *value = 0;
    if (!aligned)
        return true;
    if (in_pba) {
        if (!write)
            *value = fn->msix_pending >> (8 * (off - d->msix_pba_off));
        return true;
    }
    uint64_t t = off - d->msix_table_off;
    for (unsigned i = 0; i < size / 4; i++) {
        if (write)
            msix_table_write32(fn, t + 4 * i, (uint32_t)(*value >> (32 * i)));
        else
            *value |= (uint64_t)*msix_word(fn, t + 4 * i) << (32 * i);
    }
    return true;
}

/* ---- capabilities ------------------------------------------------------------------- */

uint8_t pci_function_add_cap(struct pci_function *fn, uint8_t id, const void *body,
                             unsigned len, const uint8_t *wmask)
{
    unsigned off = fn->cap_next;
    if (off < 0x40 || off + 2 + len > 256)
        return 0;
    fn->cfg[off] = id;
    fn->cfg[off + 1] = 0;
    memcpy(&fn->cfg[off + 2], body, len);
    if (wmask)
        memcpy(&fn->wmask[off + 2], wmask, len);
    if (fn->cap_last)
        fn->cfg[fn->cap_last + 1] = (uint8_t)off;
    else
        fn->cfg[PCI_CAP_PTR] = (uint8_t)off;
    fn->cap_last = (uint8_t)off;
    fn->cap_next = (uint8_t)((off + 2 + len + 3) & ~3u);
    if (off + 2 + len + 3 >= 256)
        fn->cap_next = 0;
    cfg_put(fn, PCI_STATUS, 2, cfg_get(fn, PCI_STATUS, 2) | PCI_STATUS_CAPS);
    memcpy(fn->cfg_poweron, fn->cfg, sizeof(fn->cfg));
    return (uint8_t)off;
}

static bool add_msix_cap(struct pci_function *fn)
{
    const struct pci_function_desc *d = &fn->desc;
    uint8_t body[10] = { 0 };
    uint8_t mask[10] = { 0 };
    uint16_t ctrl = (uint16_t)(d->msix_vectors - 1);
    uint32_t table = d->msix_table_off | d->msix_bar, pba = d->msix_pba_off | d->msix_bar;
    memcpy(body, &ctrl, 2);
    memcpy(body + 2, &table, 4);
    memcpy(body + 6, &pba, 4);
    mask[1] = (PCI_MSIX_ENABLE | PCI_MSIX_MASKALL) >> 8;
    fn->msix_cap = pci_function_add_cap(fn, PCI_CAP_ID_MSIX, body, sizeof(body), mask);
    return fn->msix_cap != 0;
}

/* ---- functions ----------------------------------------------------------------------- */

static bool bars_valid(const struct pci_function_desc *d)
{
    for (unsigned n = 0; n < PCI_BARS; n++) {
        const struct pci_bar_desc *b = &d->bars[n];
        if (!b->size)
            continue;
        if (!is_pow2(b->size) || b->size < 16 || (!b->is64 && b->size > 0x80000000ull))
            return false;
        if (b->is64 && (n == PCI_BARS - 1 || d->bars[n + 1].size))
            return false;
    }
    return true;
}

static bool msix_valid(const struct pci_function_desc *d)
{
    if (!d->msix_vectors)
        return true;
    if (d->msix_vectors > PCI_MSIX_MAX_VECTORS || d->msix_bar >= PCI_BARS)
        return false;
    uint64_t bar = d->bars[d->msix_bar].size;
    uint64_t table_end = d->msix_table_off + (uint64_t)d->msix_vectors * MSIX_ENTRY_SIZE;
    return bar && d->msix_table_off % 8 == 0 && d->msix_pba_off % 8 == 0 &&
           table_end <= bar && d->msix_pba_off + 8ull <= bar &&
           (d->msix_pba_off >= table_end || d->msix_pba_off + 8ull <= d->msix_table_off);
}

static void header_setup(struct pci_function *fn, const struct pci_function_desc *d)
{
    memset(fn->cfg, 0, sizeof(fn->cfg));
    memset(fn->wmask, 0, sizeof(fn->wmask));
    cfg_put(fn, PCI_VENDOR_ID, 2, d->vendor);
    cfg_put(fn, PCI_DEVICE_ID, 2, d->device);
    cfg_put(fn, PCI_REVISION, 1, d->revision);
    cfg_put(fn, PCI_CLASS_PROG, 1, d->prog_if);
    cfg_put(fn, PCI_CLASS_PROG + 1, 1, d->subclass);
    cfg_put(fn, PCI_CLASS_PROG + 2, 1, d->class_code);
    cfg_put(fn, PCI_SUBSYS_VENDOR, 2, d->subsys_vendor);
    cfg_put(fn, PCI_SUBSYS_ID, 2, d->subsys_id);
    wmask_put(fn, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    fn->cap_next = 0x40;
}

struct pci_function *pci_host_add_function(struct pci_host *host, unsigned slot,
                                           const struct pci_function_desc *desc)
{
    if (slot == HOST_BRIDGE_SLOT || slot >= PCI_SLOTS || host->fn[slot].present)
        return NULL;
    if (!bars_valid(desc) || !msix_valid(desc))
        return NULL;
    struct pci_function *fn = &host->fn[slot];
    memset(fn, 0, sizeof(*fn));
    fn->host = host;
    fn->slot = slot;
    fn->desc = *desc;
    header_setup(fn, desc);
    cfg_put(fn, PCI_INTR_LINE, 1, PCI_INTX_GSI(slot));
    cfg_put(fn, PCI_INTR_PIN, 1, 1);
    wmask_put(fn, PCI_INTR_LINE, 1, 0xff);
    for (unsigned n = 0; n < PCI_BARS; n++) {
        if (desc->bars[n].size)
            bar_setup(fn, n);
    }
    if (desc->msix_vectors && !add_msix_cap(fn))
        return NULL;
    for (unsigned v = 0; v < desc->msix_vectors; v++)
        fn->msix[v].ctrl = 1;
    memcpy(fn->cfg_poweron, fn->cfg, sizeof(fn->cfg));
    fn->present = true;
    return fn;
}

static void host_bridge_setup(struct pci_host *host)
{
    struct pci_function *fn = &host->fn[HOST_BRIDGE_SLOT];
    static const struct pci_function_desc bridge = {
        .vendor = 0x8086, .device = 0x1237, .revision = 0x02, .class_code = 0x06,
    };
    fn->host = host;
    fn->desc = bridge;
    header_setup(fn, &bridge);
    wmask_put(fn, PCI_COMMAND, 2, 0);
    cfg_put(fn, PCI_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
    memcpy(fn->cfg_poweron, fn->cfg, sizeof(fn->cfg));
    fn->present = true;
}

/* ---- configuration space access ------------------------------------------------------ */

uint32_t pci_host_cfg_read(struct pci_host *host, unsigned slot, unsigned fnum,
                           unsigned offset, unsigned size)
{
    uint32_t mask = (uint32_t)vdev_size_mask(size);
    host->stats.cfg_reads++;
    if (slot >= PCI_SLOTS || fnum != 0 || !host->fn[slot].present || offset + size > 256)
        return mask;
    struct pci_function *fn = &host->fn[slot];
    uint32_t v = cfg_get(fn, offset, size);
    if (fn->desc.cfg_read)
        fn->desc.cfg_read(fn->desc.dev, offset, size, &v);
    return v & mask;
}

static bool touches(unsigned offset, unsigned size, unsigned reg, unsigned reg_size)
{
    return offset < reg + reg_size && reg < offset + size;
}

void pci_host_cfg_write(struct pci_host *host, unsigned slot, unsigned fnum,
                        unsigned offset, unsigned size, uint32_t value)
{
    host->stats.cfg_writes++;
    if (slot >= PCI_SLOTS || fnum != 0 || !host->fn[slot].present || offset + size > 256)
        return;
    struct pci_function *fn = &host->fn[slot];
    for (unsigned i = 0; i < size; i++) {
        uint8_t m = fn->wmask[offset + i], b = (uint8_t)(value >> (8 * i));
        fn->cfg[offset + i] = (uint8_t)((fn->cfg[offset + i] & ~m) | (b & m));
    }
    if (touches(offset, size, PCI_COMMAND, 2) ||
        (fn->msix_cap && touches(offset, size, fn->msix_cap + 2, 2))) {
        intx_update(fn);
        msix_deliver_pending(fn);
    }
    if (fn->desc.cfg_write)
        fn->desc.cfg_write(fn->desc.dev, offset, size, value);
}

/* ---- mechanism #1 ports ---------------------------------------------------------------- */

static bool data_port_target(const struct pci_host *h, uint16_t port, unsigned size,
                             unsigned *slot, unsigned *fnum, unsigned *off)
{
    unsigned byte = port - PCI_CONFIG_DATA_PORT;
    uint32_t a = h->cfg_addr;
    if (!(a & CFG_ADDR_ENABLE) || ((a >> 16) & 0xff) != 0 || byte + size > 4)
        return false;
    *slot = (a >> 11) & 0x1f;
    *fnum = (a >> 8) & 7;
    *off = (a & 0xfc) + byte;
    return true;
}

static bool cfg_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    struct pci_host *h = dev;
    unsigned slot, fnum, off;
    if (port < PCI_CONFIG_DATA_PORT) {
        if (port != PCI_CONFIG_ADDR_PORT || size != 4)
            return false;
        *value = h->cfg_addr;
        return true;
    }
    if (!data_port_target(h, port, size, &slot, &fnum, &off)) {
        h->stats.bad_cfg_accesses++;
        return false;
    }
    *value = pci_host_cfg_read(h, slot, fnum, off, size);
    return true;
}

static bool cfg_port_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct pci_host *h = dev;
    unsigned slot, fnum, off;
    if (port < PCI_CONFIG_DATA_PORT) {
        if (port != PCI_CONFIG_ADDR_PORT || size != 4)
            return false;
        h->cfg_addr = value & 0x80fffffcu;
        return true;
    }
    if (!data_port_target(h, port, size, &slot, &fnum, &off)) {
        h->stats.bad_cfg_accesses++;
        return false;
    }
    pci_host_cfg_write(h, slot, fnum, off, size, value);
    return true;
}

/* ---- MMIO windows ----------------------------------------------------------------------- */

static bool bar_access(struct pci_function *fn, unsigned n, uint64_t off, unsigned size,
                       bool write, uint64_t *value)
{
    const struct pci_function_desc *d = &fn->desc;
    if (d->msix_vectors && d->msix_bar == n && msix_access(fn, off, size, write, value))
        return true;
    const struct pci_bar_desc *b = &d->bars[n];
    if (write)
        return b->write ? b->write(d->dev, off, size, *value) : true;
    if (!b->read) {
        *value = 0;
        return true;
    }
    return b->read(d->dev, off, size, value);
}

bool pci_host_mmio(struct pci_host *host, uint64_t gpa, unsigned size, bool write,
                   uint64_t *value)
{
    for (unsigned s = 1; s < PCI_SLOTS; s++) {
        struct pci_function *fn = &host->fn[s];
        for (unsigned n = 0; fn->present && n < PCI_BARS; n++) {
            uint64_t base, bsize = fn->desc.bars[n].size;
            if (!pci_function_bar_addr(fn, n, &base) || gpa < base || gpa - base >= bsize)
                continue;
            if (size > bsize - (gpa - base))
                return false;
            return bar_access(fn, n, gpa - base, size, write, value);
        }
    }
    return false;
}

static bool window32_read(void *dev, uint64_t off, unsigned size, uint64_t *value)
{
    return pci_host_mmio(dev, PCI_MMIO32_BASE + off, size, false, value);
}

static bool window32_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
    return pci_host_mmio(dev, PCI_MMIO32_BASE + off, size, true, &value);
}

static bool window64_read(void *dev, uint64_t off, unsigned size, uint64_t *value)
{
    return pci_host_mmio(dev, PCI_MMIO64_BASE + off, size, false, value);
}

static bool window64_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
    return pci_host_mmio(dev, PCI_MMIO64_BASE + off, size, true, &value);
}

/* ---- reset, save and restore (sections 'PCIH' and 'PCIF') ---------------------------- */

static const struct state_field host_fields[] = {
    STATE_U32(struct pci_host, cfg_addr, 1),
};

static const struct state_desc host_desc =
    STATE_DESC("pci-host", STATE_ID('P', 'C', 'I', 'H'), 1, 1, host_fields);

static const struct state_field msix_entry_fields[] = {
    STATE_U32(struct pci_msix_entry, addr_lo, 1), STATE_U32(struct pci_msix_entry, addr_hi, 1),
    STATE_U32(struct pci_msix_entry, data, 1), STATE_U32(struct pci_msix_entry, ctrl, 1),
};

static const struct state_field function_fields[] = {
    STATE_BYTES(struct pci_function, cfg, 1),
    STATE_BOOL(struct pci_function, intx_level, 1),
    STATE_STRUCTS(struct pci_function, msix, struct pci_msix_entry, msix_entry_fields, 1),
    STATE_U64(struct pci_function, msix_pending, 1),
};

static const struct state_desc function_desc =
    STATE_DESC("pci-function", STATE_ID('P', 'C', 'I', 'F'), 1, 1, function_fields);

static void host_state_reset(void *dev)
{
    struct pci_host *h = dev;
    h->cfg_addr = 0;
}

static bool host_state_save(void *dev, struct state_writer *w)
{
    return state_save(w, &host_desc, 0, dev);
}

static int host_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct pci_host *h = dev;
    struct pci_host *t = h;
    uint32_t old = h->cfg_addr;
    if (state_load(s, &host_desc, t, err, n)) {
        h->cfg_addr = old;
        return -1;
    }
    if (h->cfg_addr & ~0x80fffffcu) {
        fmt_snprintf(err, n, "state: 'pci-host' instance %u: CONFIG_ADDRESS 0x%x has bits no "
                     "write leaves", s->instance, h->cfg_addr);
        h->cfg_addr = old;
        return -1;
    }
    return 0;
}

static void functions_state_reset(void *dev)
{
    struct pci_host *h = dev;
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
        struct pci_function *fn = &h->fn[slot];
        if (!fn->present)
            continue;
        memcpy(fn->cfg, fn->cfg_poweron, sizeof(fn->cfg));
        memset(fn->msix, 0, sizeof(fn->msix));
        for (unsigned v = 0; v < fn->desc.msix_vectors; v++)
            fn->msix[v].ctrl = 1;
        fn->msix_pending = 0;
        fn->intx_level = false;
        intx_update(fn);
    }
}

static bool functions_state_save(void *dev, struct state_writer *w)
{
    struct pci_host *h = dev;
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
        if (h->fn[slot].present && !state_save(w, &function_desc, (uint16_t)slot, &h->fn[slot]))
            return false;
    return true;
}

/* What the guest's configuration writes, the device's INTx and the MSI-X table writes can
 * leave in fn (the one in this slot here): its read-only bytes are this device's. */
static const char *function_invalid(const struct pci_function *t, const struct pci_function *fn,
                                    unsigned *at)
{
    for (*at = 0; *at < 256; (*at)++) {
        bool status = *at == PCI_STATUS || *at == PCI_STATUS + 1u;
        if (!fn->wmask[*at] && !status && t->cfg[*at] != fn->cfg[*at])
            return "read-only configuration byte differs (another device in this slot?)";
    }
    *at = PCI_STATUS;
    uint16_t st = (uint16_t)cfg_get(t, PCI_STATUS, 2), now = (uint16_t)cfg_get(fn, PCI_STATUS, 2);
    if ((st & ~PCI_STATUS_INTX) != (now & ~PCI_STATUS_INTX))
        return "status register differs";
    if (fn->slot == HOST_BRIDGE_SLOT ? t->intx_level || (st & PCI_STATUS_INTX)
                                     : !(st & PCI_STATUS_INTX) != !t->intx_level)
        return "INTx status does not follow the INTx level";
    for (unsigned v = 0; v < PCI_MSIX_MAX_VECTORS; v++) {
        *at = v;
        const struct pci_msix_entry *e = &t->msix[v];
        if (v >= fn->desc.msix_vectors && (e->addr_lo | e->addr_hi | e->data | e->ctrl))
            return "MSI-X entry beyond the table";
        if (e->ctrl & ~1u)
            return "MSI-X vector control has reserved bits set";
    }
    *at = 0;
    if (fn->desc.msix_vectors < 64 && (t->msix_pending >> fn->desc.msix_vectors))
        return "MSI-X pending bit beyond the table";
    return NULL;
}

static int functions_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct pci_host *h = dev;
    if (s->instance >= PCI_SLOTS || !h->fn[s->instance].present) {
        fmt_snprintf(err, n, "state: 'pci-function' instance %u: no function in slot %u here",
                     s->instance, s->instance);
        return -1;
    }
    struct pci_function *fn = &h->fn[s->instance];
    struct pci_function t;
    memcpy(&t, fn, sizeof(t));
    if (state_load(s, &function_desc, &t, err, n))
        return -1;
    unsigned at;
    const char *why = function_invalid(&t, fn, &at);
    if (why) {
        fmt_snprintf(err, n, "state: 'pci-function' instance %u: %s (0x%x)", s->instance, why, at);
        return -1;
    }
    memcpy(fn->cfg, t.cfg, sizeof(fn->cfg));
    memcpy(fn->msix, t.msix, sizeof(fn->msix));
    fn->msix_pending = t.msix_pending;
    fn->intx_level = t.intx_level;
    intx_update(fn);
    return 0;
}

static bool register_state(struct pci_host *host, struct vdev_bus *bus)
{
    struct vdev_state_ops h = {
        .name = "pci-host", .kind = state_desc_kind(&host_desc), .dev = host,
        .reset = host_state_reset, .save = host_state_save, .restore = host_state_restore,
    };
    struct vdev_state_ops f = {
        .name = "pci-function", .kind = state_desc_kind(&function_desc), .dev = host,
        .reset = functions_state_reset, .save = functions_state_save,
        .restore = functions_state_restore,
    };
    return vdev_bus_add_state(bus, &h) && vdev_bus_add_state(bus, &f);
}

/* ---- creation ------------------------------------------------------------------------- */

bool pci_host_init(struct pci_host *host, struct vdev_bus *bus, const struct vdev_platform *plat)
{
    bool in_use = host->in_use;
    memset(host, 0, sizeof(*host));
    host->in_use = in_use;
    host->bus = bus;
    host->plat = plat;
    host->next_bar_addr = PCI_MMIO32_BASE;
    host_bridge_setup(host);
    /* CONFIG_ADDRESS is a dword at 0xcf8 (a byte at 0xcf9 is the platform's reset
     * control register), CONFIG_DATA 0xcfc-0xcff. */
    struct vdev_port_range addr_port = {
        .base = PCI_CONFIG_ADDR_PORT, .count = 1, .read = cfg_port_read,
        .write = cfg_port_write, .dev = host,
    };
    struct vdev_port_range ports = {
        .base = PCI_CONFIG_DATA_PORT, .count = 4, .read = cfg_port_read,
        .write = cfg_port_write, .dev = host,
    };
    struct vdev_mmio_range w32 = {
        .base = PCI_MMIO32_BASE, .size = PCI_MMIO32_SIZE, .read = window32_read,
        .write = window32_write, .dev = host,
    };
    struct vdev_mmio_range w64 = {
        .base = PCI_MMIO64_BASE, .size = PCI_MMIO64_SIZE, .read = window64_read,
        .write = window64_write, .dev = host,
    };
    return vdev_bus_add_ports(bus, &addr_port) && vdev_bus_add_ports(bus, &ports) &&
           vdev_bus_add_mmio(bus, &w32) &&
           vdev_bus_add_mmio(bus, &w64) &&
           register_state(host, bus);
}

struct pci_host *pci_host_create(struct vdev_bus *bus, const struct vdev_platform *plat)
{
    for (unsigned i = 0; i < PCI_HOST_POOL; i++) {
        if (__atomic_exchange_n(&pool[i].in_use, true, __ATOMIC_ACQUIRE))
            continue;
        if (pci_host_init(&pool[i], bus, plat))
            return &pool[i];
        pci_host_destroy(&pool[i]);
        return NULL;
    }
    return NULL;
}

void pci_host_destroy(struct pci_host *host)
{
    if (host >= pool && host < pool + PCI_HOST_POOL)
        __atomic_store_n(&host->in_use, false, __ATOMIC_RELEASE);
}
