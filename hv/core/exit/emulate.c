#include "hv/core/exit/emulate.h"

#include "hv/arch/x86/console.h"
#include "hv/core/guest_walk.h"
#include "hv/core/partition.h"
#include "hv/core/partition_writes.h"
#include "hv/core/platform_glue.h"
#include "hv/lib/x86_bits.h"

struct emulation {
    struct vcpu *v;
    const struct guest_paging *pg;
    uint64_t rip;
    bool ac;                        /* EFLAGS.AC, for SMAP */
    bool faulted;                   /* the guest's own page tables refused the last access */
    struct guest_fault fault;
    uint64_t fault_linear;          /* the byte they refused: CR2 */
};

/* The guest-physical address of an access the guest makes, checked as the CPU checks it;
 * false: the fault it raises is noted. */
static bool translate(struct emulation *em, uint64_t linear, bool write, bool fetch,
                      uint64_t *gpa)
{
    struct guest_access a = { .write = write, .user = em->pg->cpl == 3, .fetch = fetch,
                              .ac = em->ac };
    enum guest_walk_result r = guest_translate(&em->v->part->mem, em->pg, linear, &a, gpa);
    em->faulted = guest_walk_fault(r, em->pg, &a, &em->fault);
    if (em->faulted)
        em->fault_linear = linear;
    return !em->faulted;
}

/* Up to the first byte the guest may not fetch (or that is not in its RAM). */
static size_t fetch(void *ctx, uint64_t linear, uint8_t *buf, size_t len)
{
    struct emulation *em = ctx;
    size_t got = 0;
    while (got < len) {
        uint64_t at = linear + got, gpa;
        size_t n = 4096 - (at & 0xfff);
        if (n > len - got)
            n = len - got;
        if (!translate(em, at, false, true, &gpa) ||
            !guest_mem_read(&em->v->part->mem, gpa, buf + got, n))
            break;
        got += n;
    }
    return got;
}

static enum mmio_access_result unassigned(struct emulation *em, uint64_t gpa, bool write,
                                          uint64_t *value)
{
    struct vcpu *v = em->v;
    struct partition *p = v->part;
    if (p->unassigned_kill) {
        partition_kill(p, "vcpu%u: access outside its memory at gpa %#lx (rip %#lx)",
                       v->index, gpa, em->rip);
        return MMIO_ACCESS_STOP;
    }
    uint64_t f = spin_lock_irqsave(&p->lock);
    enum vdev_unassigned_report report = vdev_bus_unassigned(&p->bus, gpa, write);
    spin_unlock_irqrestore(&p->lock, f);
    if (report != VDEV_UNASSIGNED_QUIET)
        kprintf("atoll: %s: vcpu%u: unassigned guest-physical %#lx %s (rip %#lx): reads are "
                "all-ones, writes dropped%s\n", p->name, v->index, gpa, write ? "write" : "read",
                em->rip, report == VDEV_UNASSIGNED_LAST_REPORT ? "; further ranges not reported" : "");
    if (!write)
        *value = ~0ull;
    return MMIO_ACCESS_OK;
}

static enum mmio_access_result phys(void *ctx, uint64_t gpa, unsigned size, bool write,
                                    uint64_t *value)
{
    struct emulation *em = ctx;
    if (partition_mmio(em->v, gpa, size, write, value))
        return em->v->part->state == PART_DEAD ? MMIO_ACCESS_STOP : MMIO_ACCESS_OK;
    return unassigned(em, gpa, write, value);
}

/* size bytes at gpa, all in one guest page. */
static enum mmio_access_result phys_or_ram(struct emulation *em, uint64_t gpa, unsigned size,
                                           bool write, uint64_t *value)
{
    struct partition *p = em->v->part;
    if (!guest_mem_contains(&p->mem, gpa, size))
        return phys(em, gpa, size, write, value);
    if (!write) {
        *value = 0;
        guest_mem_read(&p->mem, gpa, value, size);
    } else if (guest_mem_write(&p->mem, gpa, value, size)) {
        partition_writes_note(p, gpa, size);
    }
    return MMIO_ACCESS_OK;
}

/* An element that straddles two guest pages goes a byte at a time, once both pages are
 * known to translate: a #PF on the second writes nothing on the first, and its CR2 is the
 * second page's first byte. */
static enum mmio_access_result linear(void *ctx, uint64_t linear, unsigned size, bool write,
                                      uint64_t *value)
{
    struct emulation *em = ctx;
    unsigned first = (linear & 0xfff) + size <= 4096 ? size : 4096 - (unsigned)(linear & 0xfff);
    uint64_t gpa, gpa2 = 0;
    if (!translate(em, linear, write, false, &gpa) ||
        (first < size && !translate(em, linear + first, write, false, &gpa2)))
        return MMIO_ACCESS_UNMAPPED;
    if (first == size)
        return phys_or_ram(em, gpa, size, write, value);
    uint64_t result = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t byte = write ? (*value >> (8 * i)) & 0xff : 0;
        enum mmio_access_result r = phys_or_ram(em, i < first ? gpa + i : gpa2 + (i - first), 1,
                                                write, &byte);
        if (r != MMIO_ACCESS_OK)
            return r;
        result |= (byte & 0xff) << (8 * i);
    }
    if (!write)
        *value = result;
    return MMIO_ACCESS_OK;
}

/* size bytes in one guest page (mmio.c splits). */
static enum mmio_access_result probe(void *ctx, uint64_t linear, unsigned size, bool write)
{
    struct emulation *em = ctx;
    uint64_t gpa;
    (void)size;
    return translate(em, linear, write, false, &gpa) ? MMIO_ACCESS_OK : MMIO_ACCESS_UNMAPPED;
}

static void io(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    struct emulation *em = ctx;
    partition_io(em->v, port, size, write, value);
}

enum mmio_result vcpu_emulate(struct vcpu *v, struct mmio_cpu *c, const struct guest_paging *pg,
                              const struct mmio_exit *e, struct mmio_outcome *out)
{
    struct emulation em = { .v = v, .pg = pg, .rip = c->rip, .ac = c->rflags & RFLAGS_AC };
    const struct mmio_ops ops = { .ctx = &em, .fetch = fetch, .linear = linear, .phys = phys, .io = io,
                                  .probe = probe };
    enum mmio_result r = mmio_emulate(c, &ops, e, out);
    if (r == MMIO_UNMAPPED && !em.faulted) {
        partition_kill(v->part, "vcpu%u: the instruction at rip %#lx runs into guest-physical "
                       "memory outside its RAM (linear %#lx)", v->index, c->rip, out->linear);
        return MMIO_STOP;
    }
    if (r == MMIO_UNMAPPED) {
        out->vector = em.fault.vector;
        out->error = em.fault.error;
        out->linear = em.fault_linear;
    }
    if (v->part->state != PART_DEAD &&
        (r == MMIO_AGAIN || r == MMIO_DONE || r == MMIO_UNMAPPED || r == MMIO_INVALID))
        return r;
    if (r == MMIO_UNSUPPORTED)
        partition_kill(v->part, "vcpu%u: cannot emulate the %s at %s %#lx (rip %#lx): %s: %s",
                       v->index, e->string_io ? "string I/O" : "MMIO access",
                       e->string_io ? "port" : "gpa", e->string_io ? c->gpr[RDX] & 0xffff : e->gpa,
                       c->rip, out->insn ? out->insn : "?",
                       out->refused ? out->refused : "not emulated");
    return r == MMIO_UNSUPPORTED ? r : MMIO_STOP;
}
