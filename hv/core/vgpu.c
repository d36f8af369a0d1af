#include "hv/core/vgpu.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/core/channel.h"
#include "hv/core/display.h"
#include "hv/core/hypercall_abi.h"
#include "hv/core/partition_writes.h"
#include "hv/core/vgpu_surfaces.h"
#include "hv/core/virt.h"
#include "hv/core/vgpu_frame.h"
#include "hv/core/write_track.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

struct vgpu_client {
    struct partition *p;            /* NULL: free slot */
    uint32_t weight;
    unsigned group_shift;           /* of its write tracking */
    size_t words;
    uint64_t *written;              /* groups written, not yet handed to a surface */
    uint64_t *pass;                 /* one tracking pass */
    uint32_t ring;                  /* channel handle of its command ring (HC_VGPU_CONNECT) */
    uint64_t shares, damage_calls, pages_damaged, pages_asked;
};

/* Taken before the channels' lock (a tracking pass takes it), a write tracker's and the
 * EPT's.  A partition's end clears its entries under it, before its memory goes. */
static spinlock_t lock = SPINLOCK_INIT;
static const char VGPU_DAMAGE[] = "the video service's damage queries";
static struct vgpu_surfaces table;
static struct vgpu_client clients[VGPU_MAX_CLIENTS];
static struct vgpu_frame frame;             /* the service's composes against captures */

static struct vgpu_client *client_of(const struct partition *p)
{
    for (unsigned i = 0; i < VGPU_MAX_CLIENTS; i++)
        if (clients[i].p == p)
            return &clients[i];
    return NULL;
}

static struct vgpu_client *client_by_id(uint64_t id)
{
    for (unsigned i = 0; i < VGPU_MAX_CLIENTS; i++)
        if (clients[i].p && clients[i].p->id == id && clients[i].p->state != PART_DEAD)
            return &clients[i];
    return NULL;
}

static struct partition *live_service(void)
{
    struct partition *s = display_owner();
    return s && s->state != PART_DEAD ? s : NULL;
}

bool vgpu_partition_attach(struct partition *p, bool service, bool client, uint32_t weight,
                           char *err, size_t err_size)
{
    if (service)
        return display_claim(p, err, err_size);
    if (!client)
        return true;
    if (!partition_writes_group_pages(p) && !partition_writes_arm(p, 1, err, err_size))
        return false;
    /* The damage queries take the passes; none may be dropped by the periodic one. */
    if (!partition_writes_claim(p, VGPU_DAMAGE, err, err_size))
        return false;
    uint32_t group_pages = partition_writes_group_pages(p);
    size_t words = write_track_words(p->mem.size, group_pages);
    /* Allocated before the slot is chosen: two clients attaching at once must not both
     * take the slot found free while the lock was dropped. */
    uint64_t *bits = words ? kmalloc(2 * words * sizeof(uint64_t)) : NULL;
    uint64_t f = spin_lock_irqsave(&lock);
    struct vgpu_client *c = bits ? client_of(NULL) : NULL;
    if (c)
        *c = (struct vgpu_client){ .p = p, .weight = weight, .words = words, .written = bits,
                                   .pass = bits + words,
                                   .group_shift = 12 + (unsigned)__builtin_ctz(group_pages) };
    spin_unlock_irqrestore(&lock, f);
    if (!c) {
        kfree(bits);
        fmt_snprintf(err, err_size, "partition %s: no room for another vGPU client", p->name);
        return false;
    }
    return true;
}

static void unmap_surface(struct partition *service, const struct vgpu_surface *s)
{
    for (uint32_t i = 0; i < s->pages; i++)
        virt_unmap_foreign(service, s->vsp_gpa + VGPU_PAGE_SIZE * i);
    virt_flush_partition(service);
}

void vgpu_partition_gone(struct partition *p)
{
    uint64_t f = spin_lock_irqsave(&lock);
    struct vgpu_client *c = client_of(p);
    bool service = display_owner() == p;
    struct vgpu_frame frames = frame;
    if (service) {
        vgpu_surfaces_forget_mappings(&table);
        vgpu_frame_reset(&frame);
    }
    struct vgpu_client was = { 0 };
    if (c) {
        struct vgpu_surface s;
        struct partition *svc = display_owner();
        while (vgpu_surfaces_take_client(&table, p->id, &s))
            if (s.mapped && svc)
                unmap_surface(svc, &s);
        was = *c;
        memset(c, 0, sizeof(*c));
    }
    spin_unlock_irqrestore(&lock, f);
    if (service && frames.frames)
        kprintf("atoll: vgpu: the video service composed %lu frames between HC_DISPLAY_FRAME "
                "calls, %lu of them started late because a capture was reading\n", frames.frames,
                frames.refused);
    if (service)
        display_release(p);
    if (c)
        kprintf("atoll: vgpu: client %s (weight %u): %lu surfaces shared, %lu damage queries "
                "reported %lu of %lu pages written\n", p->name, was.weight, was.shares,
                was.damage_calls, was.pages_damaged, was.pages_asked);
    /* Every user of the bitmaps holds the lock, and the slot no longer leads to them. */
    kfree(was.written);
}

static int64_t clients_hc(struct partition *p, uint64_t gpa, uint64_t max)
{
    if (display_owner() != p)
        return -HC_EPERM;
    int64_t n = 0;
    for (unsigned i = 0; i < VGPU_MAX_CLIENTS; i++) {
        const struct vgpu_client *c = &clients[i];
        if (!c->p || c->p->state == PART_DEAD)
            continue;
        if ((uint64_t)n < max) {
            struct vgpu_client_info info = { .id = c->p->id, .weight = c->weight,
                                             .ring = c->ring };
            strlcpy(info.name, c->p->name, sizeof(info.name));
            uint64_t at = gpa + (uint64_t)n * sizeof(info);
            if (!guest_mem_write(&p->mem, at, &info, sizeof(info)))
                return -HC_EFAULT;
            partition_writes_note(p, at, sizeof(info));
        }
        n++;
    }
    return n;
}

static int64_t map_hc(struct partition *p, uint64_t id, uint64_t handle, uint64_t gpa)
{
    if (display_owner() != p)
        return -HC_EPERM;
    struct vgpu_client *c = client_by_id(id);
    struct vgpu_surface *s = NULL;
    int64_t r = c ? vgpu_surfaces_check_map(&table, (unsigned)id, handle, gpa, &s) : -HC_ENOENT;
    if (r)
        return r;
    for (uint32_t i = 0; i < s->pages; i++) {
        uint64_t hpa = guest_mem_hpa(&c->p->mem, s->gpa + VGPU_PAGE_SIZE * i);
        if (!hpa || !virt_map_foreign(p, gpa + VGPU_PAGE_SIZE * i, hpa, true, VIRT_MEMTYPE_WB)) {
            for (uint32_t k = 0; k < i; k++)
                virt_unmap_foreign(p, gpa + VGPU_PAGE_SIZE * k);
            virt_flush_partition(p);
            return -HC_EFAULT;
        }
    }
    s->mapped = true;
    s->vsp_gpa = gpa;
    return 0;
}

static int64_t damage_hc(struct partition *p, uint64_t id, uint64_t handle, uint64_t gpa)
{
    if (display_owner() != p)
        return -HC_EPERM;
    struct vgpu_client *c = client_by_id(id);
    struct vgpu_surface *s = c ? vgpu_surfaces_get(&table, (unsigned)id, handle) : NULL;
    if (!s)
        return -HC_ENOENT;
    uint32_t len = (s->pages + 7) / 8;
    if (!guest_mem_contains(&p->mem, gpa, len))
        return -HC_EFAULT;
    /* Everything the client wrote since the last pass, kept for its other surfaces too;
     * when the pass returns, its next write to any of them faults again. */
    partition_writes_pass(c->p, c->pass);
    for (size_t i = 0; i < c->words; i++)
        c->written[i] |= c->pass[i];
    uint8_t bitmap[VGPU_SURFACE_MAX_PAGES / 8];
    uint32_t n = vgpu_damage_take(s, c->written, c->group_shift, bitmap);
    guest_mem_write(&p->mem, gpa, bitmap, len);
    partition_writes_note(p, gpa, len);
    c->damage_calls++;
    c->pages_damaged += n;
    c->pages_asked += s->pages;
    return n;
}

bool vgpu_display_hold(uint64_t wait_ns)
{
    uint64_t give_up = time_ns() + wait_ns;
    while (!vgpu_frame_hold(&frame)) {
        if (time_ns() > give_up)
            return false;
        cpu_relax();
    }
    return true;
}

void vgpu_display_release(void)
{
    vgpu_frame_release(&frame);
}

int64_t vgpu_hypercall(struct partition *p, uint64_t nr, const uint64_t arg[4])
{
    if (nr == HC_DISPLAY_INFO)
        return display_info_hc(p, arg[0]);
    if (nr == HC_DISPLAY_FRAME) {
        if (display_owner() != p)
            return -HC_EPERM;
        return arg[0] == 1 ? vgpu_frame_begin(&frame) : vgpu_frame_end(&frame);
    }
    uint64_t f = spin_lock_irqsave(&lock);
    struct vgpu_client *me = client_of(p);
    int64_t r;
    switch (nr) {
    case HC_VGPU_SERVICE: {
        struct partition *s = live_service();
        r = !me ? -HC_EPERM : !s ? -HC_ENOENT : (int64_t)((uint64_t)me->weight << 32 | s->id);
        break;
    }
    case HC_VGPU_CONNECT: {
        struct partition *s = live_service();
        r = !me ? -HC_EPERM : !s ? -HC_ENOENT :
            !channel_grant_is(arg[0], p->id, s->id) ? -HC_EINVAL : 0;
        if (r == 0)
            me->ring = (uint32_t)arg[0];
        break;
    }
    case HC_VGPU_CLIENTS:
        r = clients_hc(p, arg[0], arg[1]);
        break;
    case HC_VGPU_SURFACE_SHARE:
        r = !me ? -HC_EPERM : vgpu_surfaces_share(&table, p->id, p->mem.size, arg[0], arg[1]);
        if (r > 0)
            me->shares++;
        break;
    case HC_VGPU_SURFACE_UNSHARE: {
        struct vgpu_surface was;
        r = !me ? -HC_EPERM : vgpu_surfaces_unshare(&table, p->id, arg[0], &was);
        struct partition *s = display_owner();
        if (r == 0 && was.mapped && s)
            unmap_surface(s, &was);
        break;
    }
    case HC_VGPU_SURFACE_MAP:
        r = map_hc(p, arg[0], arg[1], arg[2]);
        break;
    case HC_VGPU_DAMAGE:
        r = damage_hc(p, arg[0], arg[1], arg[2]);
        break;
    default:
        r = -HC_ENOSYS;
        break;
    }
    spin_unlock_irqrestore(&lock, f);
    return r;
}
