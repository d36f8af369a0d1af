#include "hv/core/platform_glue.h"

#include <string.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/lib/format.h"
#include "hv/core/partition_console.h"
#include "hv/core/partition_disks.h"
#include "hv/core/partition_writes.h"
#include "hv/core/sched.h"
#include "hv/core/virt.h"
#include "hv/mm/kmem.h"
#include "hv/vdev/acpi_pm.h"
#include "hv/vdev/platform_devices.h"

/* ---- callbacks the devices see ------------------------------------------------------ */

static uint64_t now(void *ctx)
{
    struct partition *p = ctx;
    return time_ns() - p->start_ns;
}

static void timer_arm(void *ctx, unsigned id, uint64_t deadline)
{
    struct partition *p = ctx;
    if (id < PARTITION_MAX_TIMERS)
        p->timer_deadline[id] = deadline;
}

static void exit_partition(void *ctx, int status)
{
    partition_exit(ctx, status);
}

static bool gpa_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return guest_mem_read(&((struct partition *)ctx)->mem, gpa, buf, len);
}

static bool gpa_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct partition *p = ctx;
    if (!guest_mem_write(&p->mem, gpa, buf, len))
        return false;
    partition_writes_note(p, gpa, len);
    return true;
}

static void kick(void *ctx, unsigned index)
{
    struct partition *p = ctx;
    if (index < p->vcpu_count)
        sched_wake(p->vcpus[index]);
}

static void startup(void *ctx, unsigned index, bool sipi, uint8_t vector)
{
    struct partition *p = ctx;
    if (index >= p->vcpu_count)
        return;
    struct vcpu *v = p->vcpus[index];
    if (!sipi) {
        if (v->state != VCPU_STOPPED && index != 0) {
            v->state = VCPU_WAIT_SIPI;
            sched_wake(v);      /* out of guest mode now, not at the end of its slice */
        }
        return;
    }
    if (v->state == VCPU_WAIT_SIPI) {
        virt_vcpu_sipi(v, vector);
        sched_wake(v);
    }
}

static void guest_reset(void *ctx, const char *source)
{
    partition_reset_by_guest(ctx, source);
}

static uint64_t guest_tsc(void *ctx, unsigned vcpu)
{
    struct partition *p = ctx;
    return rdtsc() + (vcpu < p->vcpu_count ? p->vcpus[vcpu]->msrs.tsc_offset : 0);
}

/* ---- set-up --------------------------------------------------------------------------- */

/* The guest's MAXPHYADDR: CPUID leaf 0x80000008 passes through (cpuid_policy.c). */
static unsigned phys_addr_bits(void)
{
    if (cpuid(0x80000000u, 0).eax < 0x80000008u)
        return 36;
    return cpuid(0x80000008u, 0).eax & 0xff;
}

bool partition_devices_init(struct partition *p)
{
    partition_console_init(p);
    vdev_bus_init(&p->bus);
    p->platform = (struct vdev_platform){
        .ctx = p, .console_write = partition_console_write, .now_ns = now, .timer_arm = timer_arm,
        .partition_exit = exit_partition, .gpa_read = gpa_read, .gpa_write = gpa_write,
        .vcpu_kick = kick, .vcpu_startup = startup, .guest_tsc = guest_tsc,
        .guest_reset = guest_reset,
        .vcpu_count = p->vcpu_count, .ram_bytes = p->mem.size, .tsc_hz = tsc_hz(),
        .phys_addr_bits = phys_addr_bits(),
    };
    p->devices = kmalloc(sizeof(struct platform_devices));
    p->acpi_pm = kmalloc(sizeof(struct acpi_pm));
    if (!p->devices || !p->acpi_pm || !platform_devices_init(p->devices, &p->bus, &p->platform))
        return false;
    acpi_pm_init(p->acpi_pm, &p->platform, ACPI_PM_BASE);
    return acpi_pm_register(p->acpi_pm, &p->bus);
}

void partition_devices_destroy(struct partition *p)
{
    kfree(p->devices);
    kfree(p->acpi_pm);
    p->devices = NULL;
    p->acpi_pm = NULL;
}

/* ---- what exits call ------------------------------------------------------------------ */

void partition_io(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    struct partition *p = v->part;
    uint64_t f = spin_lock_irqsave(&p->lock);
    platform_devices_io(p->devices, v->index, port, size, write, value);
    spin_unlock_irqrestore(&p->lock, f);
}

bool partition_mmio(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *value)
{
    struct partition *p = v->part;
    uint64_t f = spin_lock_irqsave(&p->lock);
    bool ok = platform_devices_mmio(p->devices, v->index, gpa, size, write, value);
    spin_unlock_irqrestore(&p->lock, f);
    return ok;
}

int partition_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t *value)
{
    struct partition *p = v->part;
    uint64_t f = spin_lock_irqsave(&p->lock);
    enum vdev_msr_result r = write ? platform_devices_msr_write(p->devices, v->index, msr, *value)
                                   : platform_devices_msr_read(p->devices, v->index, msr, value);
    spin_unlock_irqrestore(&p->lock, f);
    return r == VDEV_MSR_OK ? 0 : r == VDEV_MSR_GP ? 1 : 2;
}

int partition_pending_vector(struct vcpu *v)
{
    struct partition *p = v->part;
    struct platform_intr intr;
    uint64_t f = spin_lock_irqsave(&p->lock);
    bool any = platform_devices_pending(p->devices, v->index, &intr);
    spin_unlock_irqrestore(&p->lock, f);
    return any ? intr.vector : -1;
}

/* Without the lock (HLT, the scheduler): an NMI that arrives just after the look is not
 * lost, since its sender kicks or wakes the vCPU. */
bool partition_nmi_pending(struct vcpu *v)
{
    return platform_devices_nmi_pending(v->part->devices, v->index);
}

bool partition_apic_enabled(struct vcpu *v)
{
    struct vlapic *l = platform_devices_lapic(v->part->devices, v->index);
    return l && vlapic_hw_enabled(l);
}

/* ---- the event for the next entry (exit_event.h), under the lock ---------------------- */

struct locked_controllers {
    struct platform_devices *pd;
    unsigned vcpu;
    struct platform_intr intr;      /* what pending_vector last found */
};

static void src_nmi_unblocked(void *ctx)
{
    struct locked_controllers *c = ctx;
    platform_devices_nmi_unblocked(c->pd, c->vcpu);
}

static bool src_nmi_pending(void *ctx)
{
    struct locked_controllers *c = ctx;
    return platform_devices_nmi_pending(c->pd, c->vcpu);
}

static bool src_take_nmi(void *ctx)
{
    struct locked_controllers *c = ctx;
    return platform_devices_take_nmi(c->pd, c->vcpu);
}

static int src_pending_vector(void *ctx)
{
    struct locked_controllers *c = ctx;
    return platform_devices_pending(c->pd, c->vcpu, &c->intr) ? c->intr.vector : -1;
}

static void src_ack(void *ctx, uint8_t vector)
{
    struct locked_controllers *c = ctx;
    if (c->intr.vector == vector)
        platform_devices_ack(c->pd, c->vcpu, &c->intr);
}

bool vcpu_untake_interrupt(struct vcpu *v, uint8_t vector)
{
    struct partition *p = v->part;
    uint64_t f = spin_lock_irqsave(&p->lock);
    bool back = platform_devices_untake(p->devices, v->index, vector);
    spin_unlock_irqrestore(&p->lock, f);
    return back;
}

bool vcpu_next_event(struct vcpu *v, const struct event_windows *w, struct pending_event *out)
{
    struct partition *p = v->part;
    struct locked_controllers c = { .pd = p->devices, .vcpu = v->index };
    const struct event_source s = {
        .ctx = &c, .nmi_unblocked = src_nmi_unblocked, .nmi_pending = src_nmi_pending,
        .take_nmi = src_take_nmi, .pending_vector = src_pending_vector, .ack = src_ack,
    };
    uint64_t f = spin_lock_irqsave(&p->lock);
    bool any = event_next(&s, w, out);
    spin_unlock_irqrestore(&p->lock, f);
    return any;
}

void partition_set_tpr(struct vcpu *v, uint64_t cr8)
{
    struct partition *p = v->part;
    uint64_t f = spin_lock_irqsave(&p->lock);
    vlapic_set_cr8(platform_devices_lapic(p->devices, v->index), (uint8_t)cr8);
    spin_unlock_irqrestore(&p->lock, f);
}

uint64_t partition_get_tpr(struct vcpu *v)
{
    return vlapic_get_cr8(platform_devices_lapic(v->part->devices, v->index));
}

uint64_t partition_next_deadline(struct partition *p)
{
    uint64_t best = 0;
    for (unsigned i = 0; i < PARTITION_MAX_TIMERS; i++) {
        uint64_t d = p->timer_deadline[i];
        if (d && (!best || d < best))
            best = d;
    }
    if (!best)
        return 0;
    /* A partition restored from a guest older than this host's uptime (a live migration's
     * target) has its time base before host time 0: a deadline from before then is due now,
     * not at the wrapped-around end of time (the disks' "look at the rings" deadline of 1
     * was so, and a request cancelled on the source never started again). */
    int64_t base = (int64_t)p->start_ns;
    if (base < 0) {
        uint64_t back = (uint64_t)-base;
        return best > back ? best - back : 1;
    }
    /* A deadline at the end of time (a TSC deadline or comparator set centuries ahead: the
     * devices saturate) stays there.  Added to the time base it wrapped around to the
     * past: due at every entry, the vCPU ran no instruction again (found by devfuzz). */
    return best > UINT64_MAX - (uint64_t)base ? UINT64_MAX : best + (uint64_t)base;
}

void partition_run_timers(struct partition *p, uint64_t now_ns)
{
    uint64_t next = partition_next_deadline(p);
    if (!next || next > now_ns || p->state != PART_RUNNING)
        return;
    uint64_t f = spin_lock_irqsave(&p->lock);
    platform_devices_tick(p->devices);
    partition_disks_poll(p, now_ns - p->start_ns);
    spin_unlock_irqrestore(&p->lock, f);
}


_Static_assert(PARTITION_TIMER_DISKS >= PLATFORM_TIMER_COUNT &&
               PARTITION_TIMER_DISKS < PARTITION_MAX_TIMERS,
               "the disk poll timer needs a slot of its own after the platform's timers");
