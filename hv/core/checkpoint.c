#include "hv/core/checkpoint.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/checkpoint_stream.h"
#include "hv/core/partition_console.h"
#include "hv/core/partition_create.h"
#include "hv/core/partition_pause.h"
#include "hv/core/sched.h"
#include "hv/core/vcpu_state.h"
#include "hv/core/vcpu_state_desc.h"
#include "hv/core/virt.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/state/state_desc.h"

/* The old partition's vCPUs are released by their CPUs' next pass, within a time slice. */
#define RELEASE_TIMEOUT_NS 5000000000ull
#define STREAM_BASE_BYTES (64u << 10)          /* header and the devices of the partition */
#define STREAM_DEVICE_BYTES_PER_VCPU (4u << 10) /* a LAPIC's and such, per vCPU */

_Static_assert(CHECKPOINT_TIMERS == PARTITION_MAX_TIMERS, "the header carries the timer table");

/* What lies between the capture and the restore, all in the hypervisor's memory. */
struct capture {
    struct partition_pause at;
    uint8_t *stream;
    size_t stream_pages, stream_len;
    struct guest_mem ram;
    struct checkpoint_header h;
    struct checkpoint_reader reader;
    struct vcpu_state *vcpu[PARTITION_MAX_VCPUS];   /* the restore's, loaded from the stream */
    uint64_t exits[PARTITION_MAX_VCPUS][EXIT_KIND_COUNT];
    uint64_t exits_total[PARTITION_MAX_VCPUS];
    /* A snapshot's restore (checkpoint_restore_stream): RAM is loaded already, the
     * partition may have another name, and the TSCs go on from guest_tsc0 (vCPU 0's guest
     * TSC at the pause) whatever the host TSC did since. */
    bool from_snapshot;
    uint64_t guest_tsc0;
};

/* What the restored partition's clocks go on from, kept past the capture's freeing. */
struct resume_point {
    struct partition_pause at;
    uint64_t tsc_offset[PARTITION_MAX_VCPUS];   /* each vCPU's at the pause */
};

/* The guest's clocks go on from the pause: guest time by the time base, each TSC by its
 * offset, moved back by the host TSC that went by since.  Called again just before q
 * runs, so that nothing the hypervisor did meanwhile (freeing the capture, say) counts. */
static void set_clocks(struct partition *q, const struct resume_point *rp)
{
    uint64_t elapsed = partition_resume_clock(q, &rp->at);
    for (unsigned i = 0; i < q->vcpu_count; i++)
        q->vcpus[i]->msrs.tsc_offset = rp->tsc_offset[i] - elapsed;
}

static void capture_free(struct capture *c)
{
    if (c->stream)
        kmem_free_pages(c->stream, c->stream_pages);
    if (c->ram.chunks)
        guest_mem_free(&c->ram);
    for (unsigned i = 0; i < PARTITION_MAX_VCPUS; i++)
        kfree(c->vcpu[i]);
    kfree(c);
}

static uint32_t copy_ram(struct guest_mem *to, const struct guest_mem *from)
{
    uint32_t crc = 0;
    for (uint64_t gpa = 0; gpa < from->size; gpa += GUEST_PAGE_SIZE) {
        const void *src = guest_mem_ptr(from, gpa);
        crc = crc32c(crc, src, GUEST_PAGE_SIZE);
        memcpy(guest_mem_ptr(to, gpa), src, GUEST_PAGE_SIZE);
    }
    return crc;
}

static uint32_t ram_crc(const struct guest_mem *m)
{
    uint32_t crc = 0;
    for (uint64_t gpa = 0; gpa < m->size; gpa += GUEST_PAGE_SIZE)
        crc = crc32c(crc, guest_mem_ptr(m, gpa), GUEST_PAGE_SIZE);
    return crc;
}

static size_t stream_bytes(const struct partition *p)
{
    size_t vcpu = state_desc_bytes(&vcpu_state_desc, vcpu_state_desc.version) +
                  STATE_SECTION_HEADER_BYTES;
    return STREAM_BASE_BYTES + p->vcpu_count * (vcpu + STREAM_DEVICE_BYTES_PER_VCPU);
}

/* ---- capture --------------------------------------------------------------------------- */

/* The stream: header, vCPUs, devices.  p is paused; its RAM is already copied. */
static bool write_stream(struct partition *p, struct capture *c, uint32_t crc, char *err,
                         size_t err_size)
{
    struct state_writer w;
    state_writer_init(&w, c->stream, c->stream_pages * 4096);
    memset(&c->h, 0, sizeof(c->h));
    strlcpy(c->h.name, p->name, sizeof(c->h.name));
    c->h.vcpu_count = p->vcpu_count;
    c->h.ram_bytes = p->mem.size;
    c->h.guest_ns = c->at.guest_ns;
    c->h.ram_crc32c = crc;
    c->h.device_count = p->bus.state_count;
    memcpy(c->h.timer_deadline, p->timer_deadline, sizeof(c->h.timer_deadline));
    checkpoint_header_save(&w, &c->h);
    struct vcpu_state *s = kmalloc(sizeof(*s));
    if (!s) {
        fmt_snprintf(err, err_size, "out of memory for a vCPU's state");
        return false;
    }
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        memset(s, 0, sizeof(*s));
        if (!virt_vcpu_save(p->vcpus[i], s)) {
            kfree(s);
            fmt_snprintf(err, err_size, "vcpu%u could not be saved", i);
            return false;
        }
        vcpu_state_save(&w, i, s);
    }
    kfree(s);
    uint64_t f = spin_lock_irqsave(&p->lock);
    vdev_bus_save_state(&p->bus, &w);
    spin_unlock_irqrestore(&p->lock, f);
    c->stream_len = state_writer_finish(&w);
    if (!c->stream_len) {
        fmt_snprintf(err, err_size, "capture failed: %s", w.err);
        return false;
    }
    return true;
}

/* p paused: its RAM copied and its state written, or false (nothing kept) with err. */
static bool capture(struct partition *p, struct capture *c, char *err, size_t err_size)
{
    c->stream_pages = (stream_bytes(p) + 4095) / 4096;
    c->stream = kmem_alloc_pages(c->stream_pages);
    if (!c->stream || !guest_mem_alloc(&c->ram, p->mem.size)) {
        fmt_snprintf(err, err_size, "out of memory for a copy of its RAM (%lu MiB, %lu MiB free)",
                     p->mem.size >> 20, kmem_free_bytes() >> 20);
        return false;
    }
    uint32_t crc = copy_ram(&c->ram, &p->mem);
    return write_stream(p, c, crc, err, err_size);
}

/* ---- restore --------------------------------------------------------------------------- */

static void set_sched_state(struct vcpu *v, const struct vcpu_state *s)
{
    v->halted_irqs_off = s->run_state == VCPU_RS_HALTED && s->halted_irqs_off;
    v->sipi_vector = s->sipi_vector;
    v->sipi_pending = s->sipi_pending;
    v->state = s->run_state == VCPU_RS_HALTED ? VCPU_HALTED :
               s->run_state == VCPU_RS_WAIT_SIPI ? VCPU_WAIT_SIPI : VCPU_RUNNABLE;
}

/* Every 'VCPU' section loaded and checked, for vCPU i into c->vcpu[i]. */
static bool load_vcpus(struct state_reader r, struct capture *c, char *err, size_t err_size)
{
    struct state_section s;
    while (state_reader_next(&r, &s) == 1) {
        if (s.id != vcpu_state_desc.id)
            continue;
        c->vcpu[s.instance] = kmalloc(sizeof(struct vcpu_state));
        if (!c->vcpu[s.instance]) {
            fmt_snprintf(err, err_size, "out of memory for a vCPU's state");
            return false;
        }
        if (vcpu_state_load(&s, c->vcpu[s.instance], err, err_size) != 0)
            return false;
    }
    return true;
}

/* Resets q's devices and gives each its sections. */
static bool restore_devices(struct partition *q, struct state_reader r, char *err,
                            size_t err_size)
{
    struct state_section s;
    bool ok = true;
    uint64_t f = spin_lock_irqsave(&q->lock);
    vdev_bus_reset_state(&q->bus);
    while (ok && state_reader_next(&r, &s) == 1) {
        if (s.id == vcpu_state_desc.id)
            continue;
        int rc = vdev_bus_restore_section(&q->bus, &s, err, err_size);
        if (rc == 1) {
            char id[5];
            state_id_name(s.id, id);
            fmt_snprintf(err, err_size, "section '%s' instance %u: no such device here", id,
                         s.instance);
        }
        ok = rc == 0;
    }
    spin_unlock_irqrestore(&q->lock, f);
    return ok;
}

/* q: created for the restore, not started.  RAM, then clocks, devices, vCPUs. */
static bool restore(struct partition *q, struct capture *c, struct resume_point *rp,
                    uint32_t *crc_after, char *err, size_t err_size)
{
    struct state_kind kinds[CHECKPOINT_MAX_DEVICE_KINDS];
    unsigned nk = vdev_bus_state_kinds(&q->bus, kinds, CHECKPOINT_MAX_DEVICE_KINDS);
    struct checkpoint_header h;
    if (checkpoint_stream_open(&c->reader, c->stream, c->stream_len, kinds, nk, &h, err,
                               err_size))
        return false;
    struct state_reader r = c->reader.r;
    if ((!c->from_snapshot && strcmp(h.name, q->name)) || h.vcpu_count != q->vcpu_count ||
        h.ram_bytes != q->mem.size ||
        h.device_count != q->bus.state_count) {
        fmt_snprintf(err, err_size, "the capture is of %s (%u vCPUs, %lu MiB, %u devices), the "
                     "new partition is %s (%u, %lu MiB, %u)", h.name, h.vcpu_count,
                     h.ram_bytes >> 20, h.device_count, q->name, q->vcpu_count,
                     q->mem.size >> 20, q->bus.state_count);
        return false;
    }
    if (!load_vcpus(r, c, err, err_size))
        return false;
    if (c->from_snapshot) {
        /* Each vCPU's guest TSC at the pause is guest_tsc0 - offset0 + its offset; from
         * c->at.host_tsc (now) it goes on from there. */
        uint64_t host_at_pause = c->guest_tsc0 - c->vcpu[0]->tsc_offset;
        for (unsigned i = 0; i < q->vcpu_count; i++)
            c->vcpu[i]->tsc_offset += host_at_pause - c->at.host_tsc;
    } else {
        copy_ram(&q->mem, &c->ram);
    }
    /* A lazy restore's RAM is not there yet: its loader checks the CRC once it is. */
    if (crc_after && (*crc_after = ram_crc(&q->mem)) != h.ram_crc32c) {
        fmt_snprintf(err, err_size, "its RAM's CRC-32C is %#x after the copy, %#x in the capture",
                     *crc_after, h.ram_crc32c);
        return false;
    }
    /* The devices and vCPUs are restored with the clocks as they will go on. */
    rp->at = (struct partition_pause){ h.guest_ns, c->at.host_tsc };
    for (unsigned i = 0; i < q->vcpu_count; i++)
        rp->tsc_offset[i] = c->vcpu[i]->tsc_offset;
    set_clocks(q, rp);
    for (unsigned i = 0; i < q->vcpu_count; i++)
        c->vcpu[i]->tsc_offset = q->vcpus[i]->msrs.tsc_offset;
    if (!restore_devices(q, r, err, err_size))
        return false;
    /* What the devices had asked for, as they stood; the disks look at their rings again. */
    memcpy(q->timer_deadline, h.timer_deadline, sizeof(q->timer_deadline));
    if (q->disk_count)
        q->timer_deadline[PARTITION_TIMER_DISKS] = 1;
    for (unsigned i = 0; i < q->vcpu_count; i++) {
        struct vcpu *v = q->vcpus[i];
        char why[STATE_ERR_LEN];
        if (!virt_vcpu_restore(v, c->vcpu[i], why, sizeof(why))) {
            fmt_snprintf(err, err_size, "vcpu%u: %s", i, why);
            return false;
        }
        v->msrs.tsc_offset = c->vcpu[i]->tsc_offset;
        set_sched_state(v, c->vcpu[i]);
        memcpy(v->exits, c->exits[i], sizeof(v->exits));
        v->exits_total = c->exits_total[i];
    }
    return true;
}

/* ---- the round trip -------------------------------------------------------------------- */

/* p paused and captured: it ends quietly, and once every CPU has let its vCPUs go, a new
 * partition takes its place in the table.  NULL when it could not (p has ended then). */
static struct partition *replace(struct partition *p, struct capture *c, char *err,
                                 size_t err_size)
{
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        memcpy(c->exits[i], p->vcpus[i]->exits, sizeof(c->exits[i]));
        c->exits_total[i] = p->vcpus[i]->exits_total;
    }
    if (!partition_end_for_checkpoint(p)) {
        fmt_snprintf(err, err_size, "it ended while it was captured");
        return NULL;
    }
    /* A CPU that never lets its vCPU go is given up on; once all are let go, the last one
     * frees the partition (its RAM queued for the background scrub, hv/core/mem_scrub.h;
     * the new partition's allocation scrubs what it needs of it first) and that always
     * ends. */
    unsigned released = p->released;
    uint64_t give_up = time_ns() + RELEASE_TIMEOUT_NS;
    for (;;) {
        sched_reap_here();
        if (p->finished)
            break;
        if (p->released != released) {
            released = p->released;
            give_up = time_ns() + RELEASE_TIMEOUT_NS;
        } else if (released < p->vcpu_count && time_ns() > give_up) {
            fmt_snprintf(err, err_size, "its vCPUs were not released");
            partition_checkpoint_lost(p, "checkpoint: its vCPUs were not released");
            return NULL;
        }
        udelay(100);
    }
    struct partition *fresh = partition_create_restoring(p, err, err_size);
    if (!fresh) {
        char why[160];
        fmt_snprintf(why, sizeof(why), "checkpoint: no new partition: %s", err);
        partition_checkpoint_lost(p, "%s", why);
        return NULL;
    }
    partition_replace(p, fresh);
    return fresh;
}

/* "2 running", "1 running, 1 halted": where the vCPUs were at the pause. */
static void vcpu_states(const struct partition *p, char *out, size_t size)
{
    static const char *const names[] = { [VCPU_RUNNABLE] = "running", [VCPU_HALTED] = "halted",
                                         [VCPU_WAIT_SIPI] = "waiting for SIPI" };
    static const enum vcpu_sched_state order[] = { VCPU_RUNNABLE, VCPU_HALTED, VCPU_WAIT_SIPI };
    size_t n = 0;
    out[0] = '\0';
    for (unsigned k = 0; k < 3; k++) {
        unsigned count = 0;
        for (unsigned i = 0; i < p->vcpu_count; i++)
            count += p->vcpus[i]->state == order[k];
        if (count && n < size)
            n += (size_t)fmt_snprintf(out + n, size - n, "%s%u %s", n ? ", " : "", count,
                                      names[order[k]]);
    }
}

static enum checkpoint_result lost(char *msg, size_t msg_size, const char *name, const char *err)
{
    kprintf("checkpoint: %s: restore refused: %s; the partition has ended\n", name, err);
    fmt_snprintf(msg, msg_size, "checkpoint: %s: restore refused: %s; the partition has ended",
                 name, err);
    return CHECKPOINT_LOST;
}

enum checkpoint_result checkpoint_partition(struct partition *p, char *msg, size_t msg_size)
{
    char name[PARTITION_NAME_LEN], err[160];
    strlcpy(name, p->name, sizeof(name));
    if (p->state != PART_RUNNING) {
        fmt_snprintf(msg, msg_size, "checkpoint: %s: not running", name);
        kprintf("%s\n", msg);
        return CHECKPOINT_NOT_RUNNING;
    }
    struct capture *c = kmalloc(sizeof(*c));
    if (!c) {
        fmt_snprintf(msg, msg_size, "checkpoint: %s: out of memory; not paused", name);
        kprintf("%s\n", msg);
        return CHECKPOINT_REFUSED;
    }
    if (!partition_pause(p, &c->at, err, sizeof(err))) {
        kfree(c);
        fmt_snprintf(msg, msg_size, "checkpoint: %s", err);
        kprintf("%s\n", msg);
        return p->state == PART_DEAD ? CHECKPOINT_LOST : CHECKPOINT_NOT_RUNNING;
    }
    struct partition_console_carry line;
    partition_console_take_partial(p, &line);
    if (!capture(p, c, err, sizeof(err))) {
        struct partition_pause at = c->at;
        capture_free(c);        /* first: the guest's clocks stand still meanwhile */
        partition_console_give_partial(p, &line);
        fmt_snprintf(msg, msg_size, "checkpoint: %s: %s; resumed", name, err);
        kprintf("%s\n", msg);
        partition_resume(p, &at);
        return CHECKPOINT_REFUSED;
    }
    char paused[200], states[64];
    vcpu_states(p, states, sizeof(states));
    fmt_snprintf(paused, sizeof(paused), "paused at guest time %lu.%06lu s, RAM %lu MiB crc32c "
                 "0x%08x, %u vCPU%s (%s), %u devices, stream %zu bytes",
                 c->h.guest_ns / 1000000000, c->h.guest_ns / 1000 % 1000000,
                 c->h.ram_bytes >> 20, c->h.ram_crc32c, c->h.vcpu_count,
                 c->h.vcpu_count == 1 ? "" : "s", states, c->h.device_count, c->stream_len);
    kprintf("checkpoint: %s: %s\n", name, paused);
    struct partition *fresh = replace(p, c, err, sizeof(err));
    if (!fresh) {
        capture_free(c);
        return lost(msg, msg_size, name, err);
    }
    uint32_t crc = 0;
    struct resume_point *rp = kmalloc(sizeof(*rp));
    if (!rp)
        fmt_snprintf(err, sizeof(err), "out of memory");
    if (!rp || !restore(fresh, c, rp, &crc, err, sizeof(err))) {
        kfree(rp);
        capture_free(c);
        partition_kill(fresh, "checkpoint: restore refused: %s", err);
        return lost(msg, msg_size, name, err);
    }
    partition_console_give_partial(fresh, &line);
    uint32_t before = c->h.ram_crc32c;
    capture_free(c);
    kprintf("checkpoint: %s: restored, RAM crc32c 0x%08x (%s), resumed\n", name, crc,
            crc == before ? "equal" : "DIFFERENT");
    set_clocks(fresh, rp);
    kfree(rp);
    __atomic_store_n(&fresh->state, PART_RUNNING, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < fresh->vcpu_count; i++)
        sched_nudge(fresh->vcpus[i]);
    fmt_snprintf(msg, msg_size, "%s: %s; restored, RAM crc32c 0x%08x (equal), resumed", name,
                 paused, crc);
    return CHECKPOINT_DONE;
}

/* ---- for snapshots ----------------------------------------------------------------------- */

bool checkpoint_save_stream(struct partition *p, const struct partition_pause *at,
                            uint32_t ram_crc, struct checkpoint_saved *out, char *err,
                            size_t err_size)
{
    struct capture *c = kmalloc(sizeof(*c));
    if (!c) {
        fmt_snprintf(err, err_size, "out of memory");
        return false;
    }
    c->at = *at;
    c->stream_pages = (stream_bytes(p) + 4095) / 4096;
    c->stream = kmem_alloc_pages(c->stream_pages);
    bool ok = c->stream != NULL;
    if (!ok)
        fmt_snprintf(err, err_size, "out of memory for its state stream");
    ok = ok && write_stream(p, c, ram_crc, err, err_size);
    if (ok) {
        out->stream = c->stream;
        out->pages = c->stream_pages;
        out->len = c->stream_len;
        out->guest_ns = c->h.guest_ns;
        out->device_count = c->h.device_count;
        c->stream = NULL;
    }
    capture_free(c);
    return ok;
}

void checkpoint_saved_free(struct checkpoint_saved *s)
{
    if (s->stream)
        kmem_free_pages(s->stream, s->pages);
    s->stream = NULL;
}

bool checkpoint_restore_stream(struct partition *q, const void *stream, size_t len,
                               uint64_t guest_tsc0, uint32_t *ram_crc, char *err,
                               size_t err_size)
{
    struct capture *c = kmalloc(sizeof(*c));
    struct resume_point *rp = kmalloc(sizeof(*rp));
    if (!c || !rp) {
        kfree(c);
        kfree(rp);
        fmt_snprintf(err, err_size, "out of memory");
        return false;
    }
    c->from_snapshot = true;
    c->guest_tsc0 = guest_tsc0;
    c->at.host_tsc = rdtsc();
    c->stream = (uint8_t *)stream;      /* the caller's: not freed here */
    c->stream_len = len;
    bool ok = restore(q, c, rp, ram_crc, err, err_size);
    c->stream = NULL;
    capture_free(c);
    if (ok) {
        set_clocks(q, rp);
        __atomic_store_n(&q->state, PART_RUNNING, __ATOMIC_SEQ_CST);
        for (unsigned i = 0; i < q->vcpu_count; i++)
            sched_nudge(q->vcpus[i]);
    }
    kfree(rp);
    return ok;
}
