/*
 * Live migration of a running partition to another Atoll host (protocol:
 * hv/migrate/MIGRATE.md), from the boot CPU.  The [script]'s `migrate NAME HOST` and the
 * control server's migrate command start one; the network poll moves it on
 * (migrate_poll), so the partition keeps running during pre-copy:
 *
 *   round 0 sends all of RAM (zero pages as a bit), each later round the groups its
 *   writes opened (write tracking, hv/core/partition_writes.h), its vCPUs throttled more
 *   each round it dirties pages as fast as the link sends them (hv/migrate/mig_converge.h,
 *   sched_throttle); when a round's dirty set
 *   is at most MIGRATE_STOP_PAGES or MIGRATE_MAX_ROUNDS have run: stop-and-copy (pause,
 *   the last pages, vCPU and device state with the disk requests in flight cancelled
 *   (hv/migrate/MIGRATE.md), its manifest section); the target creates the
 *   partition, restores it, resumes it and acknowledges; only then does the source stop
 *   its copy.  Any failure before that acknowledgement resumes the source as it was, and
 *   the target ends what it had created.
 *
 * Lines (source):
 *   migrate: NAME: to HOST: round 0: learning pass after T ms: W pages written, group sizes fitted by region 1:a .. 64:g
 *   migrate: NAME: to HOST: round R: sent P pages (Z zero; L written again, left to the next round), dirty D pages, faults F, groups of G pages, wire B bytes, batches raw R, lz4-accel A, lz4 L of N
 *   migrate: NAME: to HOST: round R: faults F, pages sent P, sent unchanged U, throttle T% (next N%), group sizes decided by region 1:a 2:b 4:c 8:d 16:e 32:f 64:g
 *   migrate: NAME: to HOST: converged after round R: dirty D pages, at most 48
 *   migrate: NAME: to HOST: did not converge: round limit (8 rounds), dirty D pages, above 48
 *   migrate: NAME: to HOST: stop-and-copy: paused, RAM crc32c 0x..., last P pages, state S bytes
 *   migrate: NAME: to HOST: stop-and-copy: N disk requests in flight cancelled here, for the target to start again
 *   migrate: NAME: to HOST: done: the target resumed it, RAM crc32c 0x... (equal); stopped here
 *   migrate: NAME: to HOST: downtime: T guest TSC ticks (M ms) from the pause to the acknowledgement, I of them not halted (emulated instructions under Bochs); stop-and-copy P pages after R pre-copy rounds
 *   migrate: NAME: to HOST: after round 0: S pages sent, U of them unchanged (X%); K pages left to a later round, written again before their turn; F write faults in all
 *   migrate: NAME: to HOST: codecs chosen: raw R, lz4-accel A, lz4 L of N batches; wire W bytes for G bytes of guest pages (W/G), T KiB/s of guest pages in all
 *   migrate: NAME: to HOST: refused: WHY; still running here[ (its N cancelled disk requests start again)]
 * Lines (target):
 *   migrate: incoming NAME from PEER: R MiB, V vCPUs: accepted
 *   migrate: incoming NAME from PEER: restored after R rounds, P pages, RAM crc32c 0x... (equal to the source's), resumed
 *   migrate: incoming NAME from PEER: N disk requests cancelled on the source, started again here
 *   migrate: incoming from PEER: refused: WHY; nothing kept
 */
#ifndef ATOLL_HV_CORE_MIGRATE_H
#define ATOLL_HV_CORE_MIGRATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/partition.h"

#define MIGRATE_STOP_PAGES   48u     /* dirty pages small enough to stop and copy (goal:
                                      * at most 50 in stop-and-copy, as Xen) */
#define MIGRATE_MAX_ROUNDS   8u
#define MIGRATE_LEARN_NS     100000000ull   /* round 0's learning passes: this often (a
                                      * region's faults open the tracking's own groups
                                      * until one fits it or lends it a size: per page when
                                      * the manifest arms no tracking; mig_learn.h) */
#define MIGRATE_IDLE_NS      60000000000ull  /* no progress for this long: the link is dead */

/* A byte stream to or from another host (a pinned TLS connection: net/kernel/migrate_link.c).
 * read/write: >0 bytes moved, 0 would block, <0 the stream ended or failed. */
struct migrate_transport {
    /* Starts a connection to ip (host byte order) at port; the server must show a key this
     * host pins.  NULL with one line in err. */
    void *(*connect)(uint32_t ip, uint16_t port, char *err, size_t err_size);
    long (*read)(void *s, void *buf, size_t len);
    long (*write)(void *s, const void *buf, size_t len);
    int (*flush)(void *s);                  /* 1 all sent, 0 pending, <0 failed */
    /* Why the stream failed, in a few words (a TLS alert, a reset). */
    void (*why)(void *s, char *out, size_t size);
    void (*close)(void *s);
};

/* The network service, once it can make connections. */
void migrate_set_transport(const struct migrate_transport *t);

struct migrate_progress {
    bool active;
    uint32_t round;
    uint64_t pages_left, pages_sent, dirty_pages, wire_bytes, ram_pages;
    uint64_t link_bps;
    char stage[16];
    char last[160];                 /* the last line printed */
};

/* Starts migrating p to host ("A.B.C.D" or "A.B.C.D:PORT"); false with one line in msg
 * (not running, a migration already under way, no transport, a bad host).  The rest is
 * printed as it happens. */
bool migrate_start(struct partition *p, const char *host, char *msg, size_t msg_size);
/* A connection from a source (authenticated: its key is pinned here).  False when this
 * host takes no migration now (the caller closes it). */
bool migrate_target_accept(void *stream, const char *peer);
/* Boot CPU, from the network poll: moves migrations on.  True while one is active (the
 * caller polls again soon). */
bool migrate_poll(void);
/* p is the source of the migration under way (it may have ended meanwhile). */
bool migrate_sending(const struct partition *p);
void migrate_get_progress(struct migrate_progress *out);

/* The two halves, for migrate_poll (hv/core/migrate_source.c, migrate_target.c). */
bool migrate_source_poll(void);
bool migrate_target_poll(void);
extern const struct migrate_transport *migrate_transport;

#endif
