/*
 * Background storage migration of an attached disk to another Atoll host (protocol:
 * hv/storage/storage_mig_proto.h, design: hv/storage/storage_migration.md), from the boot
 * CPU.  The source half is a live disk job (hv/core/disk_ops.c, verb `migrate`): a raw copy
 * job whose target is this module's staging ring (storage_migrate_io), so the job's steps
 * (BACKGROUND-class block requests, the job's own token bucket) read the disk and guest
 * writes to units already sent mark them to be sent again; the network poll sends the
 * staged units over a pinned TLS connection under a second token bucket (the link's).
 * At the end the partition is paused for the last dirty units, the target makes its copy
 * durable under its name and acknowledges; the disk stays here (the "before a live
 * migration" mode: the machine moves later, or not at all).  "After" (below) hands the disk
 * over with nothing copied; "around" copies as "before" until the partition leaves by a
 * live migration, then names the units the target holds current (storage_migrate_handover)
 * and serves the rest as "after".
 *
 * The target half takes one disk at a time on TCP port control-port + 5 (7405 by default;
 * net/kernel/storage_mig_link.c) and writes a new dynamic VHDX NAME.tmp in its pool,
 * renamed to NAME only once COMMIT has been applied and flushed.  An ABORT or a failed write
 * discards NAME.tmp; a link cut in the before mode keeps it for the same migration's
 * reconnect (storage_migration.md, "Liveness and resume"), any other migration discards it.
 *
 * Lines (target):
 *   storage-migrate: incoming NAME from PEER: S MiB, block B MiB: accepted
 *   storage-migrate: incoming NAME from PEER: committed: W MiB written, Z MiB zero[, crc32c 0x...]
 *   storage-migrate: incoming NAME from PEER: discarded: WHY
 */
#ifndef ATOLL_HV_CORE_STORAGE_MIGRATE_H
#define ATOLL_HV_CORE_STORAGE_MIGRATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vhdx_io;

#define STORAGE_MIGRATE_SLOTS 4u   /* staged units (1 MiB each) between the job and the link */

struct storage_migrate_params {
    const char *host;           /* "A.B.C.D[:PORT]" */
    const char *name;           /* the pool path on the target */
    uint64_t disk_size;
    uint32_t sector_size, block_size;
    bool verify;                /* the target reports its copy's CRC-32C */
    uint32_t link_mbps;         /* 0: the link is not throttled */
    bool after;                 /* "after" mode: no copy job; the target pulls with READ */
    const char *path;           /* after: the disk's pool path here (served read-only once
                                 * no partition here has it attached) */
    struct vhdx *disk;          /* before: the open disk, its parents listed in HELLO and
                                 * sent when the target lacks them (the pool's lock held) */
    bool around;                /* "around" mode: the copy job until the machine moves, then
                                 * storage_migrate_handover and READs served as after */
    uint32_t read_mbps;         /* READs served: the source's reads throttled (mbps=); 0 none */
    uint32_t idle_s;            /* idle=: the dead-peer timeout, both ends; 0: 30 s */
};

enum storage_migrate_state {
    SMIG_SRC_IDLE,
    SMIG_SRC_HELLO,             /* connecting, HELLO going out, READY awaited */
    SMIG_SRC_STREAM,            /* the target accepted: units go out as staged */
    SMIG_SRC_COMMIT,            /* COMMIT queued or sent, DONE awaited */
    SMIG_SRC_SERVE,             /* after mode: READs answered from the pool file, DONE awaited */
    SMIG_SRC_DONE,
    SMIG_SRC_FAILED,
};

struct storage_migrate_stats {
    uint64_t data_bytes;        /* DATA sent with bytes */
    uint64_t zero_bytes;        /* DATA sent as ZERO */
    uint64_t wire_bytes;        /* every byte written to the link */
    uint64_t link_throttled;    /* times the link's bucket held a unit back */
    uint32_t target_crc;        /* DONE's, with verify */
    uint64_t target_bytes;
    uint64_t reads_served;      /* after mode: READs answered */
    uint64_t parent_bytes;      /* parent files sent whole (the target lacked them) */
    uint64_t parent_held_bytes; /* parent files not sent: the target holds them */
    uint64_t read_throttled;    /* times read_mbps held a READ back */
};

/* Starts the one outgoing migration: connects and sends HELLO.  False with one line in err
 * (one already runs, no transport, a bad host). */
bool storage_migrate_open(const struct storage_migrate_params *p, char *err, size_t err_size);
/* The job's target: writes stage DATA messages (the caller keeps room, see _room). */
const struct vhdx_io *storage_migrate_io(void);
/* Free staging slots while streaming; 0 before READY and after a failure. */
unsigned storage_migrate_room(void);
/* The state; for DONE and FAILED a line in msg. */
enum storage_migrate_state storage_migrate_state(char *msg, size_t msg_size);
/* Every staged unit sent: send COMMIT (crc: the source disk's, when has_crc). */
void storage_migrate_commit(bool has_crc, uint32_t crc);
void storage_migrate_get_stats(struct storage_migrate_stats *out);
/* Around mode, guest I/O over (the partition has left this host): current has bit u set
 * for each unit the target's copy holds as it is here (disk_job_current_units); it goes
 * after the staged units as HANDOVER and the migration serves READs on its own until the
 * target's DONE (no job owns it any more).  False: not an around migration that streams. */
bool storage_migrate_handover(const uint8_t *current, uint32_t units);
/* The before mode's copy job: units it has passed are marked to be copied again when a cut
 * link resumes (storage_migration.md, "Liveness and resume").  NULL: none. */
struct disk_job;
void storage_migrate_set_job(struct disk_job *j);
/* Ends the outgoing migration (ABORT first when the target has not committed). */
void storage_migrate_close(const char *why);

/*
 * The target's "after" mode (storage_migration.md): an incoming HELLO with SMIG_HELLO_AFTER
 * makes NAME.tmp (empty) and waits for a partition here to attach NAME; that partition's
 * disk (hv/core/partition_disks.c) opens NAME.tmp instead and asks the gate before each
 * piece: a piece whose units are all present goes on locally; one that needs units the
 * source still holds waits (parked; the disk's poll timer looks again) while READs fetch
 * them; once the link has failed, a piece that needs an absent unit fails (an I/O error
 * to the guest, never other data).  Units are pulled in order in the background; the
 * fetched bytes are written through the partition's own disk (ops), under the pool's lock,
 * before the unit counts as present.  When every unit is present the partition's disk is
 * switched to NAME (ops->commit: paused, NAME.tmp closed, renamed, reopened) and DONE goes
 * to the source.  A partition that ends first leaves NAME.tmp to this module, which pulls
 * the rest into it and commits it alone.
 */
struct smig_remote_disk;
enum smig_gate { SMIG_GATE_GO, SMIG_GATE_WAIT, SMIG_GATE_FAIL };
enum smig_gate_op { SMIG_OP_READ, SMIG_OP_WRITE, SMIG_OP_TRIM };
struct smig_remote_ops {
    /* The pool's lock held: the partition's disk writes or trims fetched bytes. */
    int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
    int (*trim)(void *ctx, uint64_t off, uint64_t len);
    /* Boot CPU, no lock held: every unit is present; the disk moves from tmp to name (the
     * partition paused meanwhile) and asks the gate no more.  False with err. */
    bool (*commit)(void *ctx, const char *tmp, const char *name, char *err, size_t err_size);
};
/* The pool's lock held: path is the name an after-mode migration is pulling and no disk has
 * claimed it: the handle, with the file to open (NAME.tmp) in open_path.  Else NULL. */
struct smig_remote_disk *storage_migrate_remote_claim(const char *path, char *open_path,
                                                      size_t size);
/* The pool's lock held: the claimed file is open as the partition's disk (ctx for ops). */
void storage_migrate_remote_bind(struct smig_remote_disk *h, const struct smig_remote_ops *ops,
                                 void *ctx);
/* The pool's lock held: the disk closes (its partition ends, or its open failed): no more
 * gate calls; the module pulls the rest into NAME.tmp itself (or keeps it, the link gone). */
void storage_migrate_remote_release(struct smig_remote_disk *h);
/* Any lock but this module's: may a piece of [off, off+len) go on now?  WAIT: it is parked
 * under io (one per io) until storage_migrate_remote_next hands it back. */
enum smig_gate storage_migrate_remote_gate(struct smig_remote_disk *h, void *io, uint64_t off,
                                           uint64_t len, enum smig_gate_op op);
/* The next parked io that may go on (*fail false) or must fail (*fail true), or NULL. */
void *storage_migrate_remote_next(struct smig_remote_disk *h, enum smig_gate_op *op, bool *fail);
/* Pieces are parked. */
bool storage_migrate_remote_waiting(struct smig_remote_disk *h);
/* Takes any parked io (NULL: none): a pause cannot wait for the link (the network poll runs
 * on the CPU that pauses), so its caller ends it (an I/O error; cancelled: started again). */
void *storage_migrate_remote_take(struct smig_remote_disk *h);

/* A connection from a source (its key pinned here); false when one runs already. */
bool storage_migrate_target_accept(void *stream, const char *peer);
/* The network poll (boot CPU): moves both halves on.  True while one is active. */
bool storage_migrate_poll(void);
bool storage_migrate_source_poll(void);
bool storage_migrate_target_poll(void);

#endif
