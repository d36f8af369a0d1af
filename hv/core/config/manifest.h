/*
 * The manifest (atoll.cfg): parsed and validated into fixed-size structures, no allocation.
 * The format is specified in hv/core/config/manifest.md.  Every error is one line,
 * "FILE:LINE: KEY: what is wrong", and parsing stops at the first one.  Portable.
 */
#ifndef ATOLL_HV_CORE_MANIFEST_H
#define ATOLL_HV_CORE_MANIFEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bootinfo.h"

#define MANIFEST_MAX_BYTES       65536
#define MANIFEST_MAX_PARTITIONS  16
#define MANIFEST_MAX_DISKS       8
#define MANIFEST_MAX_CLIENTS     8
#define MANIFEST_MAX_RULES       32
#define MANIFEST_MAX_CPUS        256    /* pCPU numbers in a `cpus` list are below this */
#define MANIFEST_MAX_VCPUS       64
#define MANIFEST_NAME_LEN        32     /* partition names: 1..31 bytes + NUL */
#define MANIFEST_FILE_LEN        64     /* module file names: 1..63 bytes + NUL */
#define MANIFEST_PATH_LEN        128    /* disk pool paths */
#define MANIFEST_CMDLINE_LEN     256
#define MANIFEST_TEXT_LEN        128    /* script match text and action arguments */
#define MANIFEST_MAX_IOPS        1000000    /* disk `iops`: operations per second */
#define MANIFEST_MAX_MBPS        100000     /* disk `mbps`: MiB per second */
#define MANIFEST_MAX_TRACK_PAGES 512    /* track-writes: pages per group, up to 2 MiB */
#define MANIFEST_MAX_ROUNDTRIP_EVERY 1000000
#define MANIFEST_MAX_VGPU_WEIGHT 1000   /* vgpu-weight: a client's share of engine time */
#define MANIFEST_MIN_MEMORY      (1ull << 20)
#define MANIFEST_MAX_MEMORY      (64ull << 30)
#define MANIFEST_ERR_LEN         192    /* enough for any message the parser writes */

enum manifest_log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum manifest_net_mode { NET_MODE_NONE, NET_MODE_DHCP, NET_MODE_STATIC };
enum manifest_boot { BOOT_NONE, BOOT_FLAT, BOOT_MULTIBOOT, BOOT_ELF64, BOOT_LINUX };
enum manifest_console { CONSOLE_SERIAL, CONSOLE_NONE };
enum manifest_role { ROLE_GUEST, ROLE_VIDEO_SERVICE };
/* What a guest's reset (port 0x92 or 0xCF9) does (`on-reset`): end the partition. */
enum manifest_on_reset { ON_RESET_END, ON_RESET_RESTART };

/* How a partition is expected to end (`expect`): the test verdict compares. */
enum manifest_end { END_EXIT, END_KILLED, END_STOPPED };
#define MANIFEST_MAX_EXIT_STATUS 0x1ff     /* (v << 1) | 1 of a byte written to port 0xf4 */
enum manifest_unassigned { UNASSIGNED_IGNORE, UNASSIGNED_KILL };   /* accesses outside RAM and devices */

struct manifest_hypervisor {
    bool exit_when_done;
    enum manifest_log_level log_level;
    enum manifest_net_mode net;
    uint32_t ip, netmask, gateway;      /* host byte order: 10.0.2.15 is 0x0a00020f */
    uint16_t control_port;
    uint32_t client_count;
    uint8_t clients[MANIFEST_MAX_CLIENTS][32];   /* SHA-256 fingerprints */
    char identity_key[MANIFEST_FILE_LEN];        /* empty: generated */
    uint32_t identity_key_line;
    uint64_t service_cpus[MANIFEST_MAX_CPUS / 64];   /* CPUs for worker tasks; none: any */
};

struct manifest_partition {
    char name[MANIFEST_NAME_LEN];
    uint32_t line;                      /* of the section header */
    uint64_t memory;                    /* bytes */
    uint32_t memory_line;
    uint32_t vcpus;
    bool cpus_any;
    uint64_t cpus[MANIFEST_MAX_CPUS / 64];      /* affinity bitmap when !cpus_any */
    char image[MANIFEST_FILE_LEN];
    uint32_t image_line;
    enum manifest_boot boot;
    char initrd[MANIFEST_FILE_LEN];     /* empty: none */
    uint32_t initrd_line;
    char cmdline[MANIFEST_CMDLINE_LEN];
    enum manifest_console console;
    uint32_t disk_count;
    char disks[MANIFEST_MAX_DISKS][MANIFEST_PATH_LEN];   /* pool paths of virtio-blk disks */
    uint32_t disk_iops[MANIFEST_MAX_DISKS];     /* `iops` after the disk's line; 0: no limit */
    uint32_t disk_mbps[MANIFEST_MAX_DISKS];     /* `mbps` (MiB/s) after it; 0: no limit */
    enum manifest_role role;
    bool vgpu;
    uint32_t vgpu_weight;               /* with vgpu: 1..MANIFEST_MAX_VGPU_WEIGHT, default 1 */
    bool autostart;
    uint32_t track_writes;              /* pages per write-tracking group; 0: off */
    enum manifest_end expect_end;       /* default END_EXIT with status 1 */
    uint32_t expect_status;             /* with END_EXIT */
    enum manifest_unassigned unassigned;
    enum manifest_on_reset on_reset;    /* default ON_RESET_END */
    bool debug_exit;                    /* `debug-exit`: port 0xf4 ends it; default yes */
    uint32_t vcpu_state_roundtrip;      /* debug: every Nth VM exit; 0: off */
};

struct manifest_rule {
    uint32_t line;
    char partition[MANIFEST_NAME_LEN];
    char text[MANIFEST_TEXT_LEN];       /* printed text that triggers the action */
    char action[16];
    char args[MANIFEST_TEXT_LEN];
};

struct manifest {
    struct manifest_hypervisor hv;
    uint32_t partition_count;
    struct manifest_partition partitions[MANIFEST_MAX_PARTITIONS];
    uint32_t rule_count;
    struct manifest_rule rules[MANIFEST_MAX_RULES];
};

/*
 * Parses text[0..len) (need not be NUL-terminated).  file names the manifest in messages.
 * Returns 0, or -1 with the message in err (at most err_size bytes, NUL-terminated).
 */
int manifest_parse(struct manifest *m, const char *text, size_t len, const char *file,
                   char *err, size_t err_size);

/* Every image, initrd and identity-key names a loaded module ("FILE:LINE: image: module
 * 'NAME' was not loaded" otherwise). */
int manifest_check_modules(const struct manifest *m, const struct boot_module *mods,
                           size_t mod_count, const char *file, char *err, size_t err_size);

/* The partitions' memory fits in free_bytes ("FILE:LINE: memory: partitions need N MiB,
 * only M MiB free", at the memory key of the first partition that does not fit). */
int manifest_check_memory(const struct manifest *m, uint64_t free_bytes, const char *file,
                          char *err, size_t err_size);

const struct manifest_partition *manifest_find_partition(const struct manifest *m,
                                                         const char *name);

#endif
