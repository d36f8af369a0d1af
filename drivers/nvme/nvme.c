/*
 * NVMe driver.  Rings live in ordinary memory the controller reads by DMA: submission
 * entries are written, then a store fence orders them before the doorbell write; a
 * completion entry is trusted only after its phase bit flips, and read through volatile
 * pointers after a fence, so neither the compiler nor the CPU uses stale ring contents.
 */
#include "drivers/nvme/nvme.h"

#include <string.h>
#include "drivers/pci/pci.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

#define REG_CAP   0x00
#define REG_CC    0x14
#define REG_CSTS  0x1c
#define REG_AQA   0x24
#define REG_ASQ   0x28
#define REG_ACQ   0x30

#define CC_EN       1u
#define CC_IOSQES   (6u << 16)
#define CC_IOCQES   (4u << 20)
#define CSTS_RDY    1u
#define CSTS_CFS    2u

#define OP_ADMIN_CREATE_SQ 0x01
#define OP_ADMIN_CREATE_CQ 0x05
#define OP_ADMIN_IDENTIFY  0x06
#define OP_FLUSH  0x00
#define OP_WRITE  0x01
#define OP_READ   0x02
#define OP_DSM    0x09

#define ADMIN_DEPTH 16
#define IO_DEPTH    16
#define SLOTS       8               /* requests in flight; each has a bounce buffer */
#define BOUNCE_PAGES 16             /* 64 KiB per request */
#define PAGE 4096
#define IO_TIMEOUT_NS 30000000000ull

struct nvme_sqe {
    uint8_t opcode, flags;
    uint16_t cid;
    uint32_t nsid;
    uint64_t rsvd;
    uint64_t mptr;
    uint64_t prp1, prp2;
    uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
    uint32_t dw0, dw1;
    uint16_t sq_head, sq_id;
    uint16_t cid, status;           /* status bit 0: phase */
};

struct nvme_queue {
    volatile struct nvme_sqe *sq;
    volatile struct nvme_cqe *cq;
    uint16_t depth, sq_tail, cq_head;
    uint8_t phase;
    volatile uint32_t *sq_db, *cq_db;
};

struct nvme_slot {
    struct block_request *r;
    uint8_t *bounce;
    uint64_t *prp_list;
    uint64_t deadline;
    bool dead;          /* timed out: the controller may still write its buffer */
};

struct nvme_ctrl {
    struct block_device dev;
    volatile uint8_t *regs;
    uint32_t dstrd;
    uint64_t timeout_ns;
    struct nvme_queue admin, io;
    struct nvme_slot slots[SLOTS];
    bool trim;
};

static struct nvme_ctrl ctrls[2];
static unsigned ctrl_count;

static inline void wmb(void) { __asm__ volatile("sfence" ::: "memory"); }
static inline void rmb(void) { __asm__ volatile("lfence" ::: "memory"); }

static uint32_t rd32(struct nvme_ctrl *c, uint32_t off) { return *(volatile uint32_t *)(c->regs + off); }
static uint64_t rd64(struct nvme_ctrl *c, uint32_t off)
{
    return rd32(c, off) | (uint64_t)rd32(c, off + 4) << 32;
}
static void wr32(struct nvme_ctrl *c, uint32_t off, uint32_t v) { *(volatile uint32_t *)(c->regs + off) = v; }
static void wr64(struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
    wr32(c, off, (uint32_t)v);
    wr32(c, off + 4, (uint32_t)(v >> 32));
}

static bool queue_init(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid, uint16_t depth)
{
    q->sq = kmem_alloc_pages(1);
    q->cq = kmem_alloc_pages(1);
    if (!q->sq || !q->cq)
        return false;
    q->depth = depth;
    q->sq_tail = q->cq_head = 0;
    q->phase = 1;
    q->sq_db = (volatile uint32_t *)(c->regs + 0x1000 + (2u * qid) * (4u << c->dstrd));
    q->cq_db = (volatile uint32_t *)(c->regs + 0x1000 + (2u * qid + 1) * (4u << c->dstrd));
    return true;
}

static void submit(struct nvme_queue *q, const struct nvme_sqe *e)
{
    volatile struct nvme_sqe *slot = &q->sq[q->sq_tail];
    const uint32_t *src = (const uint32_t *)e;
    volatile uint32_t *dst = (volatile uint32_t *)slot;
    for (unsigned i = 0; i < sizeof(*e) / 4; i++)
        dst[i] = src[i];
    q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->depth);
    wmb();                              /* the entry is in memory before the doorbell */
    *q->sq_db = q->sq_tail;
}

/* Takes the next completion if its phase says it is new. */
static bool reap(struct nvme_queue *q, struct nvme_cqe *out)
{
    volatile struct nvme_cqe *e = &q->cq[q->cq_head];
    if ((e->status & 1) != q->phase)
        return false;
    rmb();                              /* the rest of the entry after its phase bit */
    out->dw0 = e->dw0;
    out->sq_head = e->sq_head;
    out->cid = e->cid;
    out->status = e->status;
    if (++q->cq_head == q->depth) {
        q->cq_head = 0;
        q->phase ^= 1;
    }
    *q->cq_db = q->cq_head;
    return true;
}

/* Runs one admin command to completion; returns its status field (0: success) or -1. */
static int admin(struct nvme_ctrl *c, struct nvme_sqe *e)
{
    static uint16_t cid;
    struct nvme_cqe done;
    e->cid = ++cid;
    submit(&c->admin, e);
    uint64_t end = time_ns() + c->timeout_ns;
    while (!reap(&c->admin, &done))
        if (time_ns() > end)
            return -1;
    return done.cid == e->cid ? done.status >> 1 : -1;
}

static bool wait_ready(struct nvme_ctrl *c, bool ready)
{
    uint64_t end = time_ns() + c->timeout_ns;
    while (!!(rd32(c, REG_CSTS) & CSTS_RDY) != ready) {
        if (rd32(c, REG_CSTS) & CSTS_CFS || time_ns() > end)
            return false;
        cpu_relax();
    }
    return true;
}

static bool enable(struct nvme_ctrl *c)
{
    uint64_t cap = rd64(c, REG_CAP);
    c->dstrd = (uint32_t)(cap >> 32) & 0xf;
    c->timeout_ns = ((cap >> 24) & 0xff) * 500000000ull + 500000000ull;
    if (!(cap & (1ull << 37)) || ((cap >> 48) & 0xf) > 0)  /* NVM command set, 4 KiB pages */
        return false;
    wr32(c, REG_CC, 0);
    if (!wait_ready(c, false) || !queue_init(c, &c->admin, 0, ADMIN_DEPTH))
        return false;
    wr32(c, REG_AQA, (ADMIN_DEPTH - 1) << 16 | (ADMIN_DEPTH - 1));
    wr64(c, REG_ASQ, virt_to_phys((const void *)c->admin.sq));
    wr64(c, REG_ACQ, virt_to_phys((const void *)c->admin.cq));
    wr32(c, REG_CC, CC_EN | CC_IOSQES | CC_IOCQES);
    return wait_ready(c, true);
}

static bool identify(struct nvme_ctrl *c, uint32_t cns, uint32_t nsid, void *page)
{
    struct nvme_sqe e = { .opcode = OP_ADMIN_IDENTIFY, .nsid = nsid,
                          .prp1 = virt_to_phys(page), .cdw10 = cns };
    return admin(c, &e) == 0;
}

static bool create_io_queues(struct nvme_ctrl *c)
{
    if (!queue_init(c, &c->io, 1, IO_DEPTH))
        return false;
    struct nvme_sqe cq = { .opcode = OP_ADMIN_CREATE_CQ, .prp1 = virt_to_phys((const void *)c->io.cq),
                           .cdw10 = (IO_DEPTH - 1) << 16 | 1, .cdw11 = 1 };
    struct nvme_sqe sq = { .opcode = OP_ADMIN_CREATE_SQ, .prp1 = virt_to_phys((const void *)c->io.sq),
                           .cdw10 = (IO_DEPTH - 1) << 16 | 1, .cdw11 = 1u << 16 | 1 };
    return admin(c, &cq) == 0 && admin(c, &sq) == 0;
}

static bool slots_init(struct nvme_ctrl *c)
{
    for (unsigned i = 0; i < SLOTS; i++) {
        struct nvme_slot *s = &c->slots[i];
        s->bounce = kmem_alloc_pages(BOUNCE_PAGES);
        s->prp_list = kmem_alloc_pages(1);
        if (!s->bounce || !s->prp_list)
            return false;
        for (unsigned p = 1; p < BOUNCE_PAGES; p++)
            s->prp_list[p - 1] = virt_to_phys(s->bounce + p * PAGE);
    }
    return true;
}

static void fill_rw(struct nvme_ctrl *c, struct nvme_slot *s, struct block_request *r,
                    struct nvme_sqe *e)
{
    size_t bytes = (size_t)r->count * c->dev.sector_size;
    e->opcode = r->op == BLOCK_READ ? OP_READ : OP_WRITE;
    e->prp1 = virt_to_phys(s->bounce);
    e->prp2 = bytes <= PAGE ? 0 : bytes <= 2 * PAGE ? virt_to_phys(s->bounce + PAGE)
                                                     : virt_to_phys(s->prp_list);
    e->cdw10 = (uint32_t)r->lba;
    e->cdw11 = (uint32_t)(r->lba >> 32);
    e->cdw12 = r->count - 1;
    if (r->op == BLOCK_WRITE)
        block_req_copy_out(r, 0, s->bounce, bytes);
}

static bool nvme_start(struct block_device *bd, struct block_request *r)
{
    struct nvme_ctrl *c = bd->driver;
    unsigned i;
    for (i = 0; i < SLOTS && (c->slots[i].r || c->slots[i].dead); i++)
        ;
    if (i == SLOTS)
        return false;
    if (r->op == BLOCK_TRIM && !c->trim) {
        block_complete(bd, r, BLOCK_OK);    /* a hint the device cannot take */
        return true;
    }
    struct nvme_slot *s = &c->slots[i];
    struct nvme_sqe e = { .cid = (uint16_t)i, .nsid = 1 };
    if (r->op == BLOCK_READ || r->op == BLOCK_WRITE) {
        fill_rw(c, s, r, &e);
    } else if (r->op == BLOCK_FLUSH) {
        e.opcode = OP_FLUSH;
    } else {
        uint32_t *range = (uint32_t *)s->bounce;   /* one DSM range: attributes, length, LBA */
        range[0] = 0;
        range[1] = r->count;
        range[2] = (uint32_t)r->lba;
        range[3] = (uint32_t)(r->lba >> 32);
        e.opcode = OP_DSM;
        e.prp1 = virt_to_phys(s->bounce);
        e.cdw11 = 1u << 2;                           /* deallocate */
    }
    s->r = r;
    s->deadline = time_ns() + IO_TIMEOUT_NS;
    submit(&c->io, &e);
    return true;
}

/* A command the controller never answers fails; its slot is retired, never reused. */
static void expire(struct nvme_ctrl *c)
{
    uint64_t now = time_ns();
    for (unsigned i = 0; i < SLOTS; i++) {
        struct nvme_slot *s = &c->slots[i];
        if (!s->r || now < s->deadline)
            continue;
        struct block_request *r = s->r;
        s->r = NULL;
        s->dead = true;
        kprintf("storage: %s: command %u timed out at LBA %lu\n", c->dev.name, i,
                (unsigned long)r->lba);
        block_complete(&c->dev, r, BLOCK_E_TIMEOUT);
    }
}

static void nvme_poll(struct block_device *bd)
{
    struct nvme_ctrl *c = bd->driver;
    struct nvme_cqe done;
    while (reap(&c->io, &done)) {
        if (done.cid >= SLOTS || !c->slots[done.cid].r) {
            if (done.cid < SLOTS)
                c->slots[done.cid].dead = false;    /* a late answer frees the slot */
            kprintf("storage: %s: completion for unknown command %u\n", bd->name, done.cid);
            continue;
        }
        struct nvme_slot *s = &c->slots[done.cid];
        struct block_request *r = s->r;
        s->r = NULL;
        uint16_t status = done.status >> 1;
        if (!status && r->op == BLOCK_READ)
            block_req_copy_in(r, 0, s->bounce, (size_t)r->count * bd->sector_size);
        if (status)
            kprintf("storage: %s: command failed at LBA %lu, status %#x\n", bd->name,
                    (unsigned long)r->lba, status);
        block_complete(bd, r, status ? BLOCK_E_IO : BLOCK_OK);
    }
    expire(c);
}

static const struct block_driver_ops nvme_ops = { nvme_start, nvme_poll };

static bool namespace_info(struct nvme_ctrl *c, uint8_t *page, char *model)
{
    if (!identify(c, 1, 0, page))
        return false;
    memcpy(model, page + 24, 40);
    model[40] = 0;
    for (int n = 39; n >= 0 && model[n] == ' '; n--)
        model[n] = 0;
    uint8_t mdts = page[77];
    c->trim = page[520] & (1u << 2);
    if (!identify(c, 0, 1, page))
        return false;
    uint64_t nsze;
    memcpy(&nsze, page, 8);
    uint32_t lbaf;
    memcpy(&lbaf, page + 128 + 4 * (page[26] & 0xf), 4);
    uint32_t lbads = (lbaf >> 16) & 0xff;
    if (!nsze || lbads < 9 || lbads > 12)
        return false;
    c->dev.sector_size = 1u << lbads;
    c->dev.sectors = nsze;
    uint32_t max_bytes = BOUNCE_PAGES * PAGE;
    if (mdts && mdts < 5 && ((uint32_t)PAGE << mdts) < max_bytes)   /* MPSMIN: 4 KiB */
        max_bytes = (uint32_t)PAGE << mdts;
    c->dev.max_sectors = max_bytes / c->dev.sector_size;
    return true;
}

static bool setup(struct nvme_ctrl *c, const struct pci_device *pd)
{
    struct pci_bar bar;
    char model[41];
    if (!pci_bar_read(pd, 0, &bar) || bar.io || bar.size < 0x2000)
        return false;
    c->regs = (volatile uint8_t *)pci_bar_map(&bar);
    if (!c->regs)
        return false;
    pci_enable(pd, PCI_CMD_MEMORY | PCI_CMD_BUS_MASTER);
    uint8_t *page = kmem_alloc_pages(1);
    bool ok = page && enable(c) && namespace_info(c, page, model) && create_io_queues(c) &&
              slots_init(c);
    if (page)
        kmem_free_pages(page, 1);
    if (!ok)
        return false;
    fmt_snprintf(c->dev.name, sizeof(c->dev.name), "nvme%u", ctrl_count);
    c->dev.ops = &nvme_ops;
    c->dev.driver = c;
    block_device_init(&c->dev);
    block_register(&c->dev);
    kprintf("storage: %s: %s, %lu MiB, %u-byte sectors, polled\n", c->dev.name, model,
            (unsigned long)((c->dev.sectors * c->dev.sector_size) >> 20), c->dev.sector_size);
    return true;
}

static bool visit(const struct pci_device *pd, void *ctx)
{
    if (pd->class_code != 0x01 || pd->subclass != 0x08 || pd->prog_if != 0x02)
        return false;
    if (ctrl_count >= sizeof(ctrls) / sizeof(ctrls[0]))
        return true;
    struct nvme_ctrl *c = &ctrls[ctrl_count];
    if (setup(c, pd))
        ctrl_count++;
    else
        kprintf("storage: NVMe controller %02x:%02x.%u did not start\n", pd->bus, pd->dev, pd->fn);
    return false;
}

unsigned nvme_probe(void)
{
    pci_scan(visit, NULL);
    return ctrl_count;
}
