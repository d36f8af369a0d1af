/*
 * A small virtio-blk driver for the test guests (virtio_io, virtio_bad): finds the
 * modern virtio-blk PCI function (1AF4:1042) by scanning bus 0 through 0xcf8/0xcfc,
 * sizes and places its memory BARs at VD_BAR_BASE, walks its capabilities, negotiates
 * features and runs one split virtqueue with one request in flight at a time.
 * Header-only: each guest is one object file.
 */
#ifndef ATOLL_GUEST_TESTS_VIRTIO_DRV_H
#define ATOLL_GUEST_TESTS_VIRTIO_DRV_H

#include "guest/lib/guest.h"

#define VD_BAR_BASE   0xE0000000u     /* the window Atoll decodes; free in QEMU's PCI hole */
#define VD_QSIZE      16
#define VD_NO_VECTOR  0xffff
#define VD_TIMEOUT_US 30000000u     /* Linux's block request timeout; a VHDX block's first
                                       write takes 17 s under Bochs */

#define VD_F_INDIRECT  (1ull << 28)
#define VD_F_EVENT_IDX (1ull << 29)
#define VD_F_VERSION_1 (1ull << 32)
#define VD_F_BLK_SIZE  (1ull << 6)
#define VD_F_FLUSH     (1ull << 9)

#define VD_S_ACK 1
#define VD_S_DRIVER 2
#define VD_S_DRIVER_OK 4
#define VD_S_FEATURES_OK 8
#define VD_S_NEEDS_RESET 0x40

#define VD_DESC_NEXT 1
#define VD_DESC_WRITE 2
#define VD_DESC_INDIRECT 4

#define VD_T_IN 0
#define VD_T_OUT 1
#define VD_T_FLUSH 4
#define VD_T_GET_ID 8

struct vd_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct vd_seg {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
};

struct vd {
    unsigned slot;
    uintptr_t common, notify, isr, devcfg;
    uint32_t notify_mult;
    unsigned msix_cap;
    uintptr_t msix_table;
    uint16_t qsize, notify_off, avail_idx, last_used;
    uint64_t features;
};

/* Rings: descriptors, avail, used, each in its own page; indirect tables after them. */
static uint8_t vd_rings[4 * 4096] __attribute__((aligned(4096)));
#define VD_DESC     ((volatile struct vd_desc *)vd_rings)
#define VD_AVAIL    ((volatile uint16_t *)(vd_rings + 4096))
#define VD_USED     ((volatile uint8_t *)(vd_rings + 8192))
#define VD_INDIRECT ((volatile struct vd_desc *)(vd_rings + 12288))

static inline void vd_mb(void) { __asm__ volatile("mfence" : : : "memory"); }

/* ---- config space ----------------------------------------------------------------- */

static inline void vd_cfg_addr(unsigned slot, unsigned off)
{
    outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
}

static inline uint32_t vd_cfg_read(unsigned slot, unsigned off, unsigned size)
{
    vd_cfg_addr(slot, off);
    if (size == 1)
        return inb((uint16_t)(0xcfc + (off & 3)));
    if (size == 2)
        return inw((uint16_t)(0xcfc + (off & 2)));
    return inl(0xcfc);
}

static inline void vd_cfg_write(unsigned slot, unsigned off, unsigned size, uint32_t v)
{
    vd_cfg_addr(slot, off);
    if (size == 1)
        outb((uint16_t)(0xcfc + (off & 3)), (uint8_t)v);
    else if (size == 2)
        outw((uint16_t)(0xcfc + (off & 2)), (uint16_t)v);
    else
        outl(0xcfc, v);
}

/* ---- MMIO ------------------------------------------------------------------------- */

static inline uint8_t vd_r8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t vd_r16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t vd_r32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void vd_w8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void vd_w16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void vd_w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void vd_w64(uintptr_t a, uint64_t v)
{
    vd_w32(a, (uint32_t)v);
    vd_w32(a + 4, (uint32_t)(v >> 32));
}

/* ---- discovery ----------------------------------------------------------------------- */

static inline bool vd_find(struct vd *d)
{
    for (unsigned slot = 0; slot < 32; slot++) {
        if (vd_cfg_read(slot, 0, 4) == 0x10421af4u) {
            memset(d, 0, sizeof(*d));
            d->slot = slot;
            return true;
        }
    }
    return false;
}

/* Sizes every memory BAR and places it, naturally aligned, from VD_BAR_BASE up. */
static inline void vd_place_bars(struct vd *d, uint64_t bar_addr[6])
{
    uint64_t next = VD_BAR_BASE;
    vd_cfg_write(d->slot, 0x04, 2, 0);
    for (unsigned n = 0; n < 6; n++) {
        unsigned off = 0x10 + 4 * n;
        uint32_t orig = vd_cfg_read(d->slot, off, 4);
        bar_addr[n] = 0;
        if (orig & 1)
            continue;
        bool is64 = ((orig >> 1) & 3) == 2;
        vd_cfg_write(d->slot, off, 4, 0xffffffffu);
        uint64_t mask = vd_cfg_read(d->slot, off, 4) & ~0xfull;
        if (is64) {
            vd_cfg_write(d->slot, off + 4, 4, 0xffffffffu);
            mask |= (uint64_t)vd_cfg_read(d->slot, off + 4, 4) << 32;
        } else {
            mask |= 0xffffffff00000000ull;
        }
        uint64_t size = (uint32_t)mask ? ~mask + 1 : 0;
        if (size) {
            next = (next + size - 1) & ~(size - 1);
            bar_addr[n] = next;
            next += size;
        }
        vd_cfg_write(d->slot, off, 4, (uint32_t)bar_addr[n]);
        if (is64) {
            vd_cfg_write(d->slot, off + 4, 4, 0);
            bar_addr[++n] = 0;
        }
    }
    vd_cfg_write(d->slot, 0x04, 2, 0x0002 | 0x0004 | 0x0400);   /* memory, master, no INTx */
}

/* Finds the common, notify, ISR and device regions and the MSI-X table. */
static inline bool vd_caps(struct vd *d, const uint64_t bar_addr[6])
{
    unsigned off = vd_cfg_read(d->slot, 0x34, 1) & 0xfc;
    for (unsigned guard = 0; off && guard < 48; guard++) {
        unsigned id = vd_cfg_read(d->slot, off, 1);
        if (id == 0x11) {
            uint32_t t = vd_cfg_read(d->slot, off + 4, 4);
            d->msix_cap = off;
            d->msix_table = (uintptr_t)(bar_addr[t & 7] + (t & ~7u));
        } else if (id == 0x09) {
            unsigned type = vd_cfg_read(d->slot, off + 3, 1), bar = vd_cfg_read(d->slot, off + 4, 1);
            uintptr_t a = bar < 6 ? (uintptr_t)(bar_addr[bar] + vd_cfg_read(d->slot, off + 8, 4)) : 0;
            if (type == 1 && !d->common)
                d->common = a;
            else if (type == 2 && !d->notify) {
                d->notify = a;
                d->notify_mult = vd_cfg_read(d->slot, off + 16, 4);
            } else if (type == 3 && !d->isr)
                d->isr = a;
            else if (type == 4 && !d->devcfg)
                d->devcfg = a;
        }
        off = vd_cfg_read(d->slot, off + 1, 1) & 0xfc;
    }
    return d->common && d->notify && d->isr && d->devcfg;
}

/* MSI-X entry n: fixed delivery of vector to APIC ID 0. */
static inline void vd_msix_entry(struct vd *d, unsigned n, uint8_t vector)
{
    uintptr_t e = d->msix_table + 16 * n;
    vd_w32(e, 0xfee00000u);
    vd_w32(e + 4, 0);
    vd_w32(e + 8, vector);
    vd_w32(e + 12, 0);
}

static inline void vd_msix_enable(struct vd *d, bool on)
{
    uint16_t ctl = (uint16_t)vd_cfg_read(d->slot, d->msix_cap + 2, 2);
    ctl = on ? (uint16_t)(ctl | 0x8000) : (uint16_t)(ctl & ~0x8000);
    vd_cfg_write(d->slot, d->msix_cap + 2, 2, ctl & ~0x4000);
}

/* ---- device set-up --------------------------------------------------------------------- */

static inline uint8_t vd_status(struct vd *d) { return vd_r8(d->common + 0x14); }

static inline void vd_reset(struct vd *d)
{
    vd_w8(d->common + 0x14, 0);
    for (unsigned i = 0; i < 1000000 && vd_status(d); i++)
        pause();
}

/* Reset, negotiate (VERSION_1 | want & offered), queue 0 of VD_QSIZE, DRIVER_OK.
 * msix: config vector 0, queue vector 1; else no vectors.  False when refused. */
static inline bool vd_init(struct vd *d, uint64_t want, bool msix)
{
    vd_reset(d);
    vd_w8(d->common + 0x14, VD_S_ACK);
    vd_w8(d->common + 0x14, VD_S_ACK | VD_S_DRIVER);
    uint64_t offered = 0;
    for (unsigned sel = 0; sel < 2; sel++) {
        vd_w32(d->common + 0x00, sel);
        offered |= (uint64_t)vd_r32(d->common + 0x04) << (32 * sel);
    }
    d->features = (want & offered) | VD_F_VERSION_1;
    for (unsigned sel = 0; sel < 2; sel++) {
        vd_w32(d->common + 0x08, sel);
        vd_w32(d->common + 0x0c, (uint32_t)(d->features >> (32 * sel)));
    }
    vd_w8(d->common + 0x14, VD_S_ACK | VD_S_DRIVER | VD_S_FEATURES_OK);
    if (!(vd_status(d) & VD_S_FEATURES_OK))
        return false;
    vd_w16(d->common + 0x10, msix ? 0 : VD_NO_VECTOR);
    vd_w16(d->common + 0x16, 0);
    uint16_t max = vd_r16(d->common + 0x18);
    if (max == 0)
        return false;
    d->qsize = max < VD_QSIZE ? max : VD_QSIZE;
    vd_w16(d->common + 0x18, d->qsize);
    vd_w16(d->common + 0x1a, msix ? 1 : VD_NO_VECTOR);
    memset(vd_rings, 0, sizeof(vd_rings));
    d->avail_idx = d->last_used = 0;
    vd_w64(d->common + 0x20, (uintptr_t)VD_DESC);
    vd_w64(d->common + 0x28, (uintptr_t)VD_AVAIL);
    vd_w64(d->common + 0x30, (uintptr_t)VD_USED);
    d->notify_off = vd_r16(d->common + 0x1e);
    vd_w16(d->common + 0x1c, 1);
    vd_w8(d->common + 0x14, VD_S_ACK | VD_S_DRIVER | VD_S_FEATURES_OK | VD_S_DRIVER_OK);
    return (vd_status(d) & (VD_S_DRIVER_OK | VD_S_NEEDS_RESET)) == VD_S_DRIVER_OK;
}

/* ---- requests ---------------------------------------------------------------------------- */

static inline void vd_put_desc(volatile struct vd_desc *t, unsigned i, uint64_t addr,
                               uint32_t len, uint16_t flags, uint16_t next)
{
    t[i].addr = addr;
    t[i].len = len;
    t[i].flags = flags;
    t[i].next = next;
}

/* Writes segs as a chain in table t from index 0 (NEXT added between them). */
static inline void vd_put_chain(volatile struct vd_desc *t, const struct vd_seg *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        vd_put_desc(t, i, s[i].addr, s[i].len,
                    (uint16_t)(s[i].flags | (i + 1 < n ? VD_DESC_NEXT : 0)), (uint16_t)(i + 1));
}

static inline void vd_kick(struct vd *d, uint16_t head)
{
    VD_AVAIL[2 + d->avail_idx % d->qsize] = head;
    vd_mb();
    d->avail_idx++;
    VD_AVAIL[1] = d->avail_idx;
    vd_mb();
    vd_w16(d->notify + (uintptr_t)d->notify_off * d->notify_mult, 0);
}

/* 1: a used entry came back (*len set); -1: the device set NEEDS_RESET; 0: timeout.
 * The ring is looked at once more after the time is up: the vCPU may not have run while
 * the device worked. */
static inline int vd_wait(struct vd *d, uint32_t *len, uint64_t timeout_us)
{
    uint64_t start = rdtsc(), limit = timeout_us * (tsc_hz() / 1000000);
    for (bool last = false; !last; ) {
        last = rdtsc() - start >= limit;
        vd_mb();
        uint16_t idx = *(volatile uint16_t *)(VD_USED + 2);
        if (idx != d->last_used) {
            vd_mb();
            volatile uint8_t *e = VD_USED + 4 + 8 * (d->last_used % d->qsize);
            if (len)
                *len = *(volatile uint32_t *)(e + 4);
            d->last_used++;
            return 1;
        }
        if (vd_status(d) & VD_S_NEEDS_RESET)
            return -1;
        pause();
    }
    return 0;
}

struct vd_req_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

static struct vd_req_hdr vd_hdr __attribute__((aligned(16)));
static volatile uint8_t vd_status_byte;

/* One request with one data buffer (or none); returns the status byte, 0xEE on timeout,
 * 0xFF when the device entered NEEDS_RESET. */
static inline uint8_t vd_rw(struct vd *d, uint32_t type, uint64_t sector, void *buf,
                            uint32_t len, bool indirect)
{
    vd_hdr = (struct vd_req_hdr){ type, 0, sector };
    vd_status_byte = 0xAA;
    struct vd_seg s[3] = { { (uintptr_t)&vd_hdr, 16, 0 } };
    unsigned n = 1;
    bool dev_writes = type == VD_T_IN || type == VD_T_GET_ID;
    if (len)
        s[n++] = (struct vd_seg){ (uintptr_t)buf, len, dev_writes ? VD_DESC_WRITE : 0 };
    s[n++] = (struct vd_seg){ (uintptr_t)&vd_status_byte, 1, VD_DESC_WRITE };
    if (indirect) {
        vd_put_chain(VD_INDIRECT, s, n);
        vd_put_desc(VD_DESC, 0, (uintptr_t)VD_INDIRECT, 16 * n, VD_DESC_INDIRECT, 0);
    } else {
        vd_put_chain(VD_DESC, s, n);
    }
    vd_kick(d, 0);
    int r = vd_wait(d, NULL, VD_TIMEOUT_US);
    return r > 0 ? vd_status_byte : r < 0 ? 0xFF : 0xEE;
}

#endif
