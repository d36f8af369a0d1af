/* Creating and starting partitions from what the manifest says. */
#ifndef ATOLL_HV_CORE_PARTITION_CREATE_H
#define ATOLL_HV_CORE_PARTITION_CREATE_H
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"

enum partition_boot { PARTITION_BOOT_FLAT, PARTITION_BOOT_MULTIBOOT, PARTITION_BOOT_ELF64,
                      PARTITION_BOOT_LINUX };

struct partition_spec {
    const char *name;
    uint64_t memory;
    unsigned vcpus;
    uint64_t cpu_mask;          /* 0: any CPU */
    enum partition_boot boot;
    const uint8_t *image;
    size_t image_len;
    const char *image_name;
    const uint8_t *initrd;
    size_t initrd_len;
    const char *cmdline;
    const char (*disks)[128];   /* pool paths of virtio-blk disks */
    unsigned disk_count;
    const uint32_t *disk_iops;  /* per disk: operations per second, 0 = no limit; or NULL */
    const uint32_t *disk_mbps;  /* per disk: MiB per second, 0 = no limit; or NULL */
    uint32_t track_writes;      /* pages per write-tracking group; 0: off */
    bool video_service;         /* manifest `role = video-service`: owns the display */
    bool vgpu_client;           /* manifest `vgpu = yes` */
    uint32_t vgpu_weight;       /* manifest `vgpu-weight` */
    enum partition_end expect_end;  /* how the test verdict expects it to end */
    int expect_status;
    bool unassigned_kill;       /* manifest `unassigned = kill` */
    bool restart_on_reset;      /* manifest `on-reset = restart` */
    bool no_debug_exit;         /* manifest `debug-exit = no` */
    unsigned vcpu_state_roundtrip;  /* manifest `vcpu-state-roundtrip` */
    unsigned manifest_index;
    const uint8_t *nvram;       /* 128 CMOS bytes to start with (a restart), or NULL */
    bool restoring;             /* a checkpoint restores RAM, devices and vCPUs into it:
                                 * no image is loaded */
};

/* NULL with one line in err when anything is wrong; nothing is left allocated then.
 * Called on the boot CPU before scheduling starts. */
struct partition *partition_create(const struct partition_spec *spec, char *err, size_t err_size);
void partition_start(struct partition *p);
/* For a checkpoint (hv/core/checkpoint.c), from the boot CPU: a partition as old's
 * manifest section makes it, with nothing loaded (spec.restoring), not started.  In run.c. */
struct partition *partition_create_restoring(const struct partition *old, char *err,
                                             size_t err_size);
/* old has finished; fresh (just created, the last in the table) takes its place and id. */
void partition_replace(struct partition *old, struct partition *fresh);
void partition_release_vcpu(struct vcpu *v);

#endif
