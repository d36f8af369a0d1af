#include "hv/core/partition.h"

#include <stdarg.h>
#include <string.h>
#include "hv/arch/x86/tsc.h"
#include "hv/core/channel.h"
#include "hv/core/display.h"
#include "hv/arch/x86/console.h"
#include "hv/core/end_verdict.h"
#include "hv/core/loader/loader.h"
#include "hv/core/migrate.h"
#include "hv/core/partition_create.h"
#include "hv/core/partition_disks.h"
#include "hv/core/partition_writes.h"
#include "hv/core/platform_glue.h"
#include "hv/core/sched.h"
#include "hv/core/snapshot.h"
#include "hv/core/snapshot_lazy.h"
#include "hv/core/vgpu.h"
#include "hv/core/virt.h"
#include "hv/vdev/pci_host.h"
#include "hv/vdev/platform_devices.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

#define MAX_PARTITIONS 16

struct partition *partitions[MAX_PARTITIONS];
unsigned partition_count;

static const char *const exit_kind_names[EXIT_KIND_COUNT] = {
    [EXIT_CPUID] = "cpuid", [EXIT_IO] = "io", [EXIT_MSR] = "msr", [EXIT_EPT] = "ept",
    [EXIT_MMIO] = "mmio", [EXIT_HLT] = "hlt", [EXIT_HYPERCALL] = "vmcall", [EXIT_CR] = "cr",
    [EXIT_XSETBV] = "xsetbv", [EXIT_EXTINT] = "extint", [EXIT_INTR_WINDOW] = "irqwin",
    [EXIT_PREEMPT] = "preempt", [EXIT_EXCEPTION] = "exception", [EXIT_INIT_SIPI] = "init",
    [EXIT_TRIPLE_FAULT] = "triple", [EXIT_OTHER] = "other",
};

const char *exit_kind_name(enum exit_kind k)
{
    return k < EXIT_KIND_COUNT ? exit_kind_names[k] : "?";
}

static void print_exit_counts(struct partition *p)
{
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        struct vcpu *v = p->vcpus[i];
        char line[320];
        size_t n = (size_t)fmt_snprintf(line, sizeof(line), "atoll: %s vcpu%u exits: total=%lu",
                                        p->name, i, v->exits_total);
        for (unsigned k = 0; k < EXIT_KIND_COUNT && n < sizeof(line); k++)
            if (v->exits[k])
                n += (size_t)fmt_snprintf(line + n, sizeof(line) - n, " %s=%lu",
                                          exit_kind_names[k], v->exits[k]);
        kprintf("%s\n", line);
    }
    const struct vdev_bus_stats *s = &p->bus.stats;
    if (s->unclaimed_port_reads | s->unclaimed_port_writes | s->unclaimed_mmio_reads |
        s->unclaimed_mmio_writes)
        kprintf("atoll: %s unclaimed accesses: port reads=%lu writes=%lu, mmio reads=%lu writes=%lu\n",
                p->name, s->unclaimed_port_reads, s->unclaimed_port_writes,
                s->unclaimed_mmio_reads, s->unclaimed_mmio_writes);
}

/* Marks the partition dead once; returns false when it already was.  Lock-free: devices
 * call it with the partition's lock held. */
static bool end_once(struct partition *p)
{
    bool first = __atomic_exchange_n(&p->state, PART_DEAD, __ATOMIC_ACQ_REL) != PART_DEAD;
    if (first)
        for (unsigned i = 0; i < p->vcpu_count; i++)
            sched_wake(p->vcpus[i]);
    return first;
}

static void end_with_reason(struct partition *p, enum partition_end how, const char *fmt,
                            va_list ap)
{
    char reason[160];
    fmt_vsnprintf(reason, sizeof(reason), fmt, ap);
    if (!end_once(p))
        return;
    partition_console_end(p);
    p->ended = how;
    strlcpy(p->end_reason, reason, sizeof(p->end_reason));
    kprintf("atoll: partition %s %s: %s\n", p->name, how == PART_END_KILLED ? "killed" : "stopped",
            reason);
}

void partition_kill(struct partition *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end_with_reason(p, PART_END_KILLED, fmt, ap);
    va_end(ap);
}

void partition_stop(struct partition *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end_with_reason(p, PART_END_STOPPED, fmt, ap);
    va_end(ap);
}

bool partition_end_for_checkpoint(struct partition *p)
{
    p->checkpointing = true;
    if (end_once(p))
        return true;
    p->checkpointing = false;
    return false;
}

void partition_checkpoint_lost(struct partition *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(p->end_reason, sizeof(p->end_reason), fmt, ap);
    va_end(ap);
    p->ended = PART_END_KILLED;
    p->checkpointing = false;
    kprintf("atoll: partition %s killed: %s\n", p->name, p->end_reason);
}

void partition_exit(struct partition *p, int status)
{
    if (!end_once(p))
        return;
    partition_console_end(p);
    p->exit_status = status;
    p->ended = PART_END_EXIT;
    kprintf("[%s] EXIT: STATUS=%d\n", p->name, status);
}

/* The last vCPU to leave frees the partition's devices and memory.  The RAM is not
 * scrubbed here, where that vCPU's CPU and the other vCPUs queued on it would wait for it
 * (about 2 ms per MiB under QEMU's icount): guest_mem_free queues it dirty and a worker
 * item scrubs it in bounded runs (hv/core/mem_scrub.h); no one gets a page of it before. */
void partition_release_vcpu(struct vcpu *v)
{
    struct partition *p = v->part;
    virt_vcpu_destroy(v);
    v->state = VCPU_STOPPED;
    uint64_t f = spin_lock_irqsave(&p->lock);
    bool last = ++p->released == p->vcpu_count;
    spin_unlock_irqrestore(&p->lock, f);
    if (!last)
        return;
    partition_console_end(p);
    if (!p->checkpointing)
        print_exit_counts(p);
    partition_writes_end(p);
    snapshot_lazy_end(p);
    channel_partition_gone(p);
    vgpu_partition_gone(p);
    partition_disks_detach(p);
    virt_partition_destroy(p);
    partition_devices_destroy(p);
    guest_mem_free(&p->mem);
    p->finished = true;
}

bool partition_stuck(struct partition *p)
{
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        struct vcpu *v = p->vcpus[i];
        if (!(v->state == VCPU_STOPPED || v->state == VCPU_WAIT_SIPI ||
              (v->state == VCPU_HALTED && v->halted_irqs_off && !partition_nmi_pending(v))))
            return false;
    }
    uint64_t f = spin_lock_irqsave(&p->lock);
    bool nmi_source = platform_devices_nmi_source_armed(p->devices);
    spin_unlock_irqrestore(&p->lock, f);
    return !nmi_source;
}

/* Called by the reset ports with the partition's lock held.  A restart keeps the CMOS
 * bytes and lets the boot CPU create the partition anew once this one has finished. */
void partition_reset_by_guest(struct partition *p, const char *source)
{
    if (!p->restart_on_reset) {
        partition_stop(p, "reset by the guest (%s)", source);
        return;
    }
    platform_devices_get_nvram(p->devices, p->nvram);
    p->restart_requested = true;
    partition_stop(p, "reset by the guest (%s); restarting", source);
}

static void partition_free(struct partition *p)
{
    for (unsigned i = 0; i < p->vcpu_count; i++)
        kfree(p->vcpus[i]);
    kfree(p);
}

void partition_replace(struct partition *old, struct partition *fresh)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i] == old) {
            partitions[i] = fresh;
            partitions[--partition_count] = NULL;
            fresh->id = old->id;
            break;
        }
    partition_free(old);
}

/* An ended partition's verdict, kept when it leaves the table: the first that was not as
 * its manifest expects. */
static char left_not_as_expected[200];

struct partition *partition_oldest_ended(const char *keep, int min_manifest_index)
{
    for (unsigned i = 0; i < partition_count; i++) {
        struct partition *p = partitions[i];
        if (p->finished && !p->restart_requested && !p->checkpointing &&
            strcmp(p->name, keep) != 0 && (int)p->manifest_index >= min_manifest_index &&
            display_owner() != p && !snapshot_saving(p) && !migrate_sending(p))
            return p;
    }
    return NULL;
}

void partition_forget(struct partition *p)
{
    unsigned i = 0;
    while (i < partition_count && partitions[i] != p)
        i++;
    if (i == partition_count)
        return;
    for (; i + 1 < partition_count; i++)
        partitions[i] = partitions[i + 1];
    partitions[--partition_count] = NULL;
    struct end_record want = { (enum end_kind)p->expect_end, p->expect_status, NULL };
    struct end_record got = { (enum end_kind)p->ended, p->exit_status, p->end_reason };
    char line[200];
    if (!end_verdict(p->name, &want, &got, line, sizeof(line)) && !left_not_as_expected[0])
        strlcpy(left_not_as_expected, line, sizeof(left_not_as_expected));
    kprintf("atoll: partition %s (ended) leaves the partition table to make room\n", p->name);
    partition_free(p);
}

/* The lowest partition id no partition in the table has (ids 1..MAX_PARTITIONS: the
 * channel grants and the display keep a share per id). */
static uint64_t free_id(void)
{
    for (uint64_t id = 1;; id++) {
        unsigned i = 0;
        while (i < partition_count && partitions[i]->id != id)
            i++;
        if (i == partition_count)
            return id;
    }
}

struct partition *partition_find(const char *name)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (partitions[i] && !strcmp(partitions[i]->name, name))
            return partitions[i];
    return NULL;
}

bool all_partitions_ended(void)
{
    for (unsigned i = 0; i < partition_count; i++)
        if (!partitions[i]->finished || partitions[i]->restart_requested ||
            partitions[i]->checkpointing)
            return false;
    return true;
}

/* ---- creation ----------------------------------------------------------------------- */

static bool target_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    return guest_mem_write(ctx, gpa, buf, len);
}

static bool target_zero(void *ctx, uint64_t gpa, size_t len)
{
    struct guest_mem *m = ctx;
    if (!guest_mem_contains(m, gpa, len))
        return false;
    while (len) {
        size_t n = GUEST_PAGE_SIZE - (gpa & (GUEST_PAGE_SIZE - 1));
        if (n > len)
            n = len;
        memset(guest_mem_ptr(m, gpa), 0, n);
        gpa += n, len -= n;
    }
    return true;
}

static int load_image(struct partition *p, const struct partition_spec *spec,
                      struct vcpu_start *st, char *err, size_t err_size)
{
    struct guest_image_target t = { &p->mem, target_write, target_zero, p->mem.size,
                                    p->vcpu_count, p->pci != NULL };
    struct loader_input in = { spec->image, spec->image_len, spec->image_name,
                               spec->initrd, spec->initrd_len, spec->cmdline };
    switch (spec->boot) {
    case PARTITION_BOOT_FLAT: return load_flat(&t, &in, st, err, err_size);
    case PARTITION_BOOT_MULTIBOOT: return load_multiboot(&t, &in, st, err, err_size);
    case PARTITION_BOOT_ELF64: return load_elf64(&t, &in, st, err, err_size);
    case PARTITION_BOOT_LINUX: return load_linux(&t, &in, st, err, err_size);
    default:
        fmt_snprintf(err, err_size, "%s: this boot method is not supported yet", spec->image_name);
        return -1;
    }
}

static struct partition *fail(struct partition *p, char *err, size_t err_size, const char *what)
{
    if (what)
        fmt_snprintf(err, err_size, "partition %s: %s", p->name, what);
    for (unsigned i = 0; i < p->vcpu_count; i++)
        if (p->vcpus[i]) {
            virt_vcpu_destroy(p->vcpus[i]);
            kfree(p->vcpus[i]);
        }
    vgpu_partition_gone(p);
    virt_partition_destroy(p);
    partition_disks_detach(p);
    partition_devices_destroy(p);
    guest_mem_free(&p->mem);
    kfree(p->writes);
    kfree(p);
    return NULL;
}

struct partition *partition_create(const struct partition_spec *spec, char *err, size_t err_size)
{
    if (partition_count >= MAX_PARTITIONS) {
        struct partition *gone = partition_oldest_ended(spec->name, 0);
        if (!gone) {
            fmt_snprintf(err, err_size, "partition %s: too many partitions (at most %d that "
                         "have not ended)", spec->name, MAX_PARTITIONS);
            return NULL;
        }
        partition_forget(gone);
    }
    struct partition *p = kmalloc(sizeof(*p));
    if (!p) {
        fmt_snprintf(err, err_size, "partition %s: out of memory", spec->name);
        return NULL;
    }
    strlcpy(p->name, spec->name, sizeof(p->name));
    p->unassigned_kill = spec->unassigned_kill;
    p->restart_on_reset = spec->restart_on_reset;
    p->vcpu_state_roundtrip = spec->vcpu_state_roundtrip;
    p->manifest_index = spec->manifest_index;
    p->id = free_id();
    p->vcpu_count = spec->vcpus;
    p->state = PART_CREATED;
    p->expect_end = spec->expect_end;
    p->expect_status = spec->expect_status;
    if (spec->memory > (3ull << 30))
        return fail(p, err, err_size, "memory above 3 GiB is not supported yet");
    if (!guest_mem_alloc(&p->mem, spec->memory))
        return fail(p, err, err_size, "not enough free memory");
    if (!virt_partition_init(p))
        return fail(p, err, err_size, "cannot set up its page tables");
    p->start_ns = time_ns();
    if (!partition_devices_init(p))
        return fail(p, err, err_size, "cannot create its devices");
    if (spec->nvram)
        platform_devices_set_nvram(p->devices, spec->nvram);
    if (spec->no_debug_exit)
        debug_exit_hide(&p->devices->debug_exit);
    char why[160];
    if (!partition_disks_attach(p, spec, why, sizeof(why)))
        return fail(p, err, err_size, why);
    /* Linux probes PCI through ACPI; give it a host bridge even with nothing behind it. */
    if (spec->boot == PARTITION_BOOT_LINUX && !p->pci &&
        !(p->pci = pci_host_create(&p->bus, platform_devices_platform(p->devices))))
        return fail(p, err, err_size, "no PCI host bridge left");
    struct vcpu_start st = { .mode = START_REAL_MODE };
    if (!spec->restoring && load_image(p, spec, &st, err, err_size) != 0)
        return fail(p, err, err_size, NULL);
    for (unsigned i = 0; i < p->vcpu_count; i++) {
        struct vcpu *v = kmalloc(sizeof(*v));
        if (!v)
            return fail(p, err, err_size, "out of memory for its vCPUs");
        p->vcpus[i] = v;
        v->part = p;
        v->index = i;
        v->state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
        if (!virt_vcpu_init(v, &st))
            return fail(p, err, err_size, "cannot set up its vCPUs");
    }
    if (spec->track_writes && !partition_writes_arm(p, spec->track_writes, err, err_size))
        return fail(p, err, err_size, NULL);
    if (!vgpu_partition_attach(p, spec->video_service, spec->vgpu_client, spec->vgpu_weight,
                               err, err_size))
        return fail(p, err, err_size, NULL);
    for (unsigned i = 0; i < p->vcpu_count; i++)
        if (!sched_add(p->vcpus[i], spec->cpu_mask))
            return fail(p, err, err_size, "no usable CPU in its affinity");
    partitions[partition_count++] = p;
    return p;
}

void partition_start(struct partition *p)
{
    p->start_ns = time_ns();
    p->state = PART_RUNNING;
    kprintf("atoll: partition %s started: %lu MiB, %u vcpu%s\n", p->name, p->mem.size >> 20,
            p->vcpu_count, p->vcpu_count == 1 ? "" : "s");
    sched_wake(p->vcpus[0]);
}

bool partition_verdict(char *why, size_t why_size)
{
    bool all = true;
    if (left_not_as_expected[0]) {
        kprintf("atoll: not as expected: %s\n", left_not_as_expected);
        strlcpy(why, left_not_as_expected, why_size);
        all = false;
    }
    for (unsigned i = 0; i < partition_count; i++) {
        const struct partition *p = partitions[i];
        struct end_record want = { (enum end_kind)p->expect_end, p->expect_status, NULL };
        struct end_record got = { (enum end_kind)p->ended, p->exit_status, p->end_reason };
        char line[200];
        if (end_verdict(p->name, &want, &got, line, sizeof(line)))
            continue;
        kprintf("atoll: not as expected: %s\n", line);
        if (all)
            strlcpy(why, line, why_size);
        all = false;
    }
    return all;
}
