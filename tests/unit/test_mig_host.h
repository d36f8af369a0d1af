/* A host around both halves of a live migration (hv/core/migrate_source.c, migrate_target.c)
 * for host tests: fake partitions (RAM in host memory, pause/resume, write tracking,
 * checkpoint stream), a fake clock, a counting page allocator, kprintf into a log, and a
 * migration transport of two in-memory pipes whose faults the test sets (cut, TLS error,
 * corrupted byte, stall).  One source and one target in one process. */
#ifndef ATOLL_TESTS_UNIT_TEST_MIG_HOST_H
#define ATOLL_TESTS_UNIT_TEST_MIG_HOST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/migrate.h"

struct fake_part {
    struct partition p;
    struct vcpu vcpu;
    uint8_t *ram;
    int pauses, resumes, stops, kills;
    bool paused, held, armed;
    uint32_t group_pages;
    uint64_t dirty[64];             /* written groups since the last pass */
    uint32_t region_pages[16];      /* what a fault opens, per 2 MiB region (0: a group) */
    uint64_t faults;
    uint32_t throttle_seen_max;
    unsigned disk_inflight;         /* requests its disks have in flight (the test sets it) */
    unsigned disk_cancelled;        /* cancelled, not yet started again */
    unsigned disk_reissued;         /* started again here */
    unsigned disk_to_reissue;       /* the target: listed in the restored state */
};

enum { FAKE_SOURCE, FAKE_TARGET, FAKE_CLASH, FAKE_PARTS };

struct fake_host {
    struct fake_part part[FAKE_PARTS];
    uint64_t now_ns;
    uint32_t throttle;              /* the last sched_throttle permille (0: off) */
    const struct partition *throttled;
    /* knobs */
    const char *create_fails;       /* partition_create_from_section's refusal */
    bool clash;                     /* a running partition of the same name on the target */
    bool restore_fails;
    bool save_fails;
    bool cut_at_pause;              /* the source's link fails 4 KiB after its pause */
    bool stream_checked;            /* set by the fake restore when it saw the saved stream */
    char log[1 << 16];
    size_t log_len;
};
extern struct fake_host fh;

/* The link: side 0 is the source's end, side 1 the target's. */
struct fake_link {
    uint8_t *buf[2];
    size_t cap, head[2], tail[2];
    size_t chunk;                   /* bytes the link still takes (the test refills it; 0: stalled) */
    uint64_t moved[2];              /* bytes written, per side */
    int64_t fail_after[2];          /* the side's writes fail once this many bytes went (-1: never) */
    long fail_code;                 /* what they return then: -1 closed, -2 a TLS error */
    bool failed;                    /* both ends see the failure */
    int64_t corrupt_at[2];          /* flip this byte of the side's stream (-1: none) */
    bool closed[2];
    bool refuse_connect;
    unsigned strangers_taken, strangers_closed;    /* fake_accept_stranger's connections */
};
extern struct fake_link fl;
extern const struct migrate_transport fake_transport;

void fake_host_reset(uint64_t ram_pages, uint32_t group_pages);
/* The guest of the source writes `value` at the start of page pfn (a write fault). */
void fake_guest_write(uint64_t pfn, uint32_t value);
bool fake_log_has(const char *needle);
size_t fake_kmem_live(void);        /* pages allocated and not freed */
/* The listener's part: the target takes the connection the source opened. */
bool fake_accept(void);
/* A connection from peer that never sends anything (a stranger stalling its handshake). */
bool fake_accept_stranger(const char *peer);

#endif
