/* A partition: isolated memory, vCPUs, and the devices it sees. */
#ifndef ATOLL_HV_CORE_PARTITION_H
#define ATOLL_HV_CORE_PARTITION_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "hv/core/end_verdict.h"
#include "hv/core/console_ring.h"
#include "hv/core/guest_mem.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/core/vcpu.h"
#include "hv/vdev/vdev.h"

#define PARTITION_MAX_VCPUS 64
#define PARTITION_NAME_LEN  32
#define PARTITION_MAX_TIMERS 67      /* PLATFORM_TIMER_COUNT, then PARTITION_TIMER_DISKS */
#define PARTITION_TIMER_DISKS 66     /* virtio-blk work left over by a notify */

/* PART_PAUSED: its vCPUs are on no CPU and not picked, its device timers do not fire
 * (hv/core/partition_pause.h). */
enum partition_state { PART_CREATED, PART_RUNNING, PART_PAUSED, PART_DEAD };
/* How a partition ended (or is expected to): its own exit, killed for what it did, or
 * stopped from outside (the script, the control server). */
enum partition_end { PART_END_NONE = END_KIND_NONE, PART_END_EXIT = END_KIND_EXIT,
                     PART_END_KILLED = END_KIND_KILLED, PART_END_STOPPED = END_KIND_STOPPED };

struct platform_devices;
struct pci_host;
struct partition_disk;
struct acpi_pm;
struct partition_writes;

struct partition {
    char name[PARTITION_NAME_LEN];
    unsigned id;
    volatile enum partition_state state;
    spinlock_t lock;                /* devices and partition state */
    struct guest_mem mem;
    void *arch;                     /* vendor state (EPT) */
    unsigned vcpu_count;
    struct vcpu *vcpus[PARTITION_MAX_VCPUS];
    struct vdev_bus bus;
    struct vdev_platform platform;
    struct platform_devices *devices;
    struct acpi_pm *acpi_pm;        /* PM1 registers the partition's FADT names */
    struct pci_host *pci;           /* NULL without PCI devices */
    struct partition_disk *disks[4];
    struct partition_writes *writes;    /* write tracking, when armed */
    unsigned disk_count;
    uint64_t timer_deadline[PARTITION_MAX_TIMERS];  /* ns, 0 = off */
    uint64_t start_ns;
    int exit_status;                /* with PART_END_EXIT */
    enum partition_end ended;
    enum partition_end expect_end;  /* what the manifest expects (the test verdict) */
    int expect_status;
    char end_reason[160];
    char console_line[160];         /* guest console output not yet ended by a newline */
    unsigned console_len;
    uint64_t console_last_ns;       /* when the guest last wrote to its console */
    bool console_continued;         /* part of the current line is already printed */
    spinlock_t console_lock;        /* the line above and the ring's consumer side */
    struct console_ring console_ring;   /* written, not yet printed (partition_console.h) */
    unsigned released;              /* vCPUs that have left their CPUs after the end */
    volatile bool finished;         /* everything released */
    bool restart_on_reset;          /* manifest on-reset = restart */
    bool restart_requested;         /* reset by the guest: create it anew once finished */
    unsigned manifest_index;        /* its [partition] section, for a restart */
    uint8_t nvram[128];             /* CMOS bytes kept across a restart */
    bool unassigned_kill;           /* an access outside RAM and devices ends it */
    unsigned vcpu_state_roundtrip;  /* debug: every Nth exit a vCPU's state is saved,
                                     * streamed, scrubbed and restored; 0: never */
    bool checkpointing;             /* ended quietly by a checkpoint: its successor takes
                                     * its place (hv/core/checkpoint.h); no verdict */
};

extern struct partition *partitions[];
extern unsigned partition_count;

/* Ends the partition: one line saying why, exit counters, memory freed (its RAM scrubbed
 * in the background, hv/core/mem_scrub.h).
 * Safe to call from any of its vCPUs; only the first call acts. */
void partition_kill(struct partition *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ended from outside (the script, the control server), not for anything it did. */
void partition_stop(struct partition *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ended by a checkpoint that restores it into a new partition: no line, no exit counts,
 * no verdict; all_partitions_ended waits for the successor.  False when p had ended. */
bool partition_end_for_checkpoint(struct partition *p);
/* A checkpoint could not put a successor in p's place: p ended quietly, now it counts as
 * killed for this reason (one line, as partition_kill prints). */
void partition_checkpoint_lost(struct partition *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Normal end with a status (debug-exit port, HC_EXIT). */
void partition_exit(struct partition *p, int status);
/* Every partition ended as its manifest expects; otherwise false with the first that did
 * not, and what happened, in why. */
bool partition_verdict(char *why, size_t why_size);
bool all_partitions_ended(void);
/* Ended partitions stay in the table (listed, with their verdict) until it is full; then
 * the oldest that ended, is not restarting or being checkpointed, is not named keep and was
 * made from a manifest section at min_manifest_index or later may leave it.  NULL: none. */
struct partition *partition_oldest_ended(const char *keep, int min_manifest_index);
/* p leaves the table and is freed; its verdict is kept for partition_verdict. */
void partition_forget(struct partition *p);
/* The partition with this name, or NULL. */
struct partition *partition_find(const char *name);
/* No vCPU can ever run again: each is halted with interrupts off, waiting for a SIPI that
 * no running vCPU can send, or stopped, and no device can send an NMI. */
bool partition_stuck(struct partition *p);
/* The guest reset its platform (port 0x92 or 0xCF9; source names it): with on-reset = end
 * the partition stops, saying why. */
void partition_reset_by_guest(struct partition *p, const char *source);

#endif
