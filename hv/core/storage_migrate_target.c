/*
 * The target half of a storage migration (hv/core/storage_migrate.h): one source at a time.
 * HELLO creates NAME.tmp, a dynamic VHDX of the disk's size in the pool; DATA lands in it
 * (the pool's lock held per message); COMMIT flushes and closes it, renames it to NAME and
 * syncs the pool, then DONE tells the source.  Anything wrong before the rename (a
 * malformed message, ABORT, the link gone, the pool full) discards NAME.tmp.
 */
#include "hv/core/storage_migrate.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/partition_disks.h"
#include "hv/core/storage_migrate_chan.h"
#include "hv/core/storage_migrate_parents.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/peer_slots.h"
#include "hv/mm/kmem.h"
#include "hv/storage/fat32.h"
#include "hv/storage/pool.h"
#include "hv/storage/storage_mig_handover.h"
#include "hv/storage/storage_mig_remote.h"
#include "hv/storage/storage_mig_resume.h"
#include "hv/storage/vhdx.h"

#define MIB (1ull << 20)
#define TMP_SUFFIX ".tmp"

enum stage { T_IDLE, T_HELLO, T_DATA, T_REPLY, T_REMOTE, T_REMOTE_LOST };

#define OUT_MAX 4u          /* READs out at once (guest-needed units may use them all) */
#define PULL_WINDOW 2u      /* of which the background pull uses at most this many */
#define PARKED_MAX 128u     /* one per virtio-blk request slot (VIRTQ_MAX_SIZE) */
#define WANT_MAX (2u * PARKED_MAX)  /* a piece touches at most 2 units */
/* A guest piece waits and no byte has come for this long: the link counts as lost (its
 * pieces fail) before a guest's own request timeout (disk_live's: 30 s) runs out. */
#define GUEST_WAIT_NS 20000000000ull

/* The after mode's state: the map, the units to ask for, the pieces waiting. */
struct smig_remote_disk {
    volatile bool lock;                 /* everything here; innermost (no lock taken under it) */
    struct smig_remote map;
    uint8_t *map_mem;
    size_t map_pages;
    uint32_t want[WANT_MAX];            /* guest-needed units whose READ is still to go */
    unsigned want_n;
    uint32_t out[OUT_MAX];              /* READs sent, DATA awaited */
    unsigned out_n;
    struct { void *io; uint64_t off, len; enum smig_gate_op op; } parked[PARKED_MAX];
    unsigned parked_n;
    bool lost;                          /* the link failed: absent units never come */
    bool handed;                        /* the map is the disk's (after; around: HANDOVER) */
    bool guest_ran;                     /* a guest piece came: the machine runs here */
    bool said_wait;
    /* The pool's lock: */
    bool claimed, bound, released;
    const struct smig_remote_ops *ops;
    void *ctx;
    uint64_t fetched, zeroed, guest_waits;
};

static struct target {
    enum stage stage;
    struct smig_chan ch;
    char peer[24];
    struct smig_hello hello;
    char tmp[SMIG_NAME_LEN + sizeof(TMP_SUFFIX)];
    bool file_open;
    struct fat_file file;
    struct vhdx_io io;
    struct vhdx *disk;
    uint64_t written, zeroed;
    uint8_t *tx;                        /* the reply */
    size_t tx_len, tx_off;
    bool keep;                          /* the reply is DONE after a commit */
    char refusal[160];
    bool after;
    bool around;                        /* DATA until HANDOVER, then as after */
    struct smig_remote_disk rd;
    struct smig_tgt_chain chain;        /* a differencing disk's parents */
    /* liveness and resume (storage_mig_resume.h) */
    struct smig_resume_id id;
    bool has_id;
    bool recorded;                      /* NAME.tmp.smig written: a cut keeps NAME.tmp */
    bool scanning;                      /* resumed: HELD goes out before READY */
    uint32_t scan_next, scan_n, units;
    uint32_t scan_crc[SMIG_HELD_MAX];
    uint8_t *scan_buf, *held_tx;
    size_t held_len, held_off;
    uint32_t addr;                      /* the peer's IPv4 address, and since when it has */
    uint64_t turn_ms;                   /* waited for its HELLO (hv/lib/peer_slots.h) */
} tgt;

static bool on_identity(const uint8_t *pl, uint32_t len, char *err, size_t err_size);
static int resume_open(char *err, size_t err_size);
static bool record_write(char *err, size_t err_size);
static void record_remove(void);
static int scan_step(char *err, size_t err_size);
static bool keep_for_resume(const char *why);

static void line(const char *what, const char *detail)
{
    kprintf("storage-migrate: incoming %s%sfrom %s: %s%s\n", tgt.hello.name,
            tgt.hello.name[0] ? " " : "", tgt.peer, what, detail);
}

static void say(const char *what) { line("", what); }

/* The pool's lock held: NAME.tmp closed here (kept in the pool). */
static void close_file(void)
{
    if (tgt.disk)
        vhdx_close(tgt.disk, NULL);
    tgt.disk = NULL;
    if (tgt.file_open)
        fat_close(&tgt.file);
    tgt.file_open = false;
}

/* The pool's lock held: NAME.tmp goes. */
static void discard_file(void)
{
    close_file();
    record_remove();
    smig_tgt_chain_discard(&tgt.chain);
    struct fat_stat st;
    if (tgt.tmp[0] && pool_volume() && fat_stat(pool_volume(), tgt.tmp, &st) == 0) {
        fat_unlink(pool_volume(), tgt.tmp);
        fat_sync(pool_volume());
    }
    tgt.tmp[0] = '\0';
}

static void release(void)
{
    smig_chan_close(&tgt.ch);
    if (tgt.scan_buf)
        kmem_free_pages(tgt.scan_buf, SMIG_UNIT / 4096);
    if (tgt.held_tx)
        kmem_free_pages(tgt.held_tx, 2);
    tgt.scan_buf = tgt.held_tx = NULL;
    tgt.scanning = false;
    if (tgt.tx)
        kmem_free_pages(tgt.tx, 1);
    tgt.tx = NULL;
    if (tgt.rd.map_mem)
        kmem_free_pages(tgt.rd.map_mem, tgt.rd.map_pages);
    tgt.rd.map_mem = NULL;
    tgt.stage = T_IDLE;
}

static void discard(const char *why)
{
    partition_pool_lock();
    bool had = tgt.tmp[0] != '\0';
    discard_file();
    partition_pool_unlock();
    line(had ? "discarded: " : "refused: ", why);
    release();
}

bool storage_migrate_target_accept(void *stream, const char *peer)
{
    /* One disk in at a time.  A connection that has sent nothing yet (its TLS handshake
     * unfinished, or a peer that says nothing) may make way for the newcomer rather than hold
     * the one slot until its idle timeout: its own address's newcomer replaces it at once,
     * another address's once its turn is over (hv/lib/peer_slots.h), so that neither a
     * silent peer nor one opening connection after connection keeps another source out.
     * It has no file here yet. */
    if (!migrate_transport)
        return false;
    uint32_t addr = peer_slots_ipv4(peer);
    bool waiting = tgt.stage == T_HELLO && tgt.ch.rx_len == 0 && !tgt.ch.keepalives_received;
    struct peer_slot held = { tgt.stage != T_IDLE, !waiting, tgt.addr, 0, tgt.turn_ms };
    struct peer_slots_choice choice = peer_slots_choose(&held, 1, addr, time_ns() / 1000000,
                                                        PEER_SLOTS_TURN_MS);
    if (choice.verdict == PEER_SLOT_REFUSE)
        return false;
    if (choice.verdict == PEER_SLOT_EVICT) {
        line("refused: ", "another connection came before this one's HELLO");
        release();
    }
    memset(&tgt, 0, sizeof(tgt));
    fmt_snprintf(tgt.peer, sizeof(tgt.peer), "%s", peer);
    tgt.addr = addr;
    tgt.turn_ms = choice.turn_ms;
    tgt.tx = kmem_alloc_pages(1);
    if (!tgt.tx || !smig_chan_open(&tgt.ch, migrate_transport, stream, SMIG_MAX_PAYLOAD)) {
        release();
        return false;
    }
    tgt.stage = T_HELLO;
    return true;
}

/* Queues READY or DONE; the link closes after it unless streaming goes on. */
static void reply(uint16_t type, uint32_t status, uint32_t crc, const char *text)
{
    struct smig_reply r = { .status = status, .crc = crc,
                            .parent_held = smig_parents_held(&tgt.chain.answers),
                            .bytes = tgt.written };
    fmt_snprintf(r.text, sizeof(r.text), "%s", text);
    size_t n = smig_reply_encode(&r, tgt.tx + SMIG_HEADER_SIZE, 4096 - SMIG_HEADER_SIZE);
    smig_header_encode(tgt.tx, type, tgt.tx + SMIG_HEADER_SIZE, (uint32_t)n);
    tgt.tx_len = SMIG_HEADER_SIZE + n;
    tgt.tx_off = 0;
}

/* PARENTS goes out right before the READY reply queued. */
static void answers_first(void)
{
    uint8_t m[SMIG_HEADER_SIZE + 16];
    size_t n = smig_parents_encode(&tgt.chain.answers, m + SMIG_HEADER_SIZE, 16);
    smig_header_encode(m, SMIG_MSG_PARENTS, m + SMIG_HEADER_SIZE, (uint32_t)n);
    memmove(tgt.tx + SMIG_HEADER_SIZE + n, tgt.tx, tgt.tx_len);
    memcpy(tgt.tx, m, SMIG_HEADER_SIZE + n);
    tgt.tx_len += SMIG_HEADER_SIZE + n;
}

static bool file_exists(const char *path)
{
    struct fat_stat st;
    return fat_stat(pool_volume(), path, &st) == 0;
}

/* The pool's lock held: NAME.tmp created and opened as a VHDX. */
static bool create_file(char *err, size_t err_size)
{
    struct fat_vol *v = pool_volume();
    const struct smig_hello *h = &tgt.hello;
    if (file_exists(h->name)) {
        fmt_snprintf(err, err_size, "%s exists in the pool here", h->name);
        return false;
    }
    fmt_snprintf(tgt.tmp, sizeof(tgt.tmp), "%s" TMP_SUFFIX, h->name);
    int resume = resume_open(err, err_size);
    if (resume)
        return resume > 0;
    if (file_exists(tgt.tmp))
        fat_unlink(v, tgt.tmp);     /* an earlier cut migration's leftover */
    if (fat_open(v, tgt.tmp, FAT_O_CREATE | FAT_O_TRUNC, &tgt.file) != 0) {
        fmt_snprintf(err, err_size, "cannot create %s: %s", tgt.tmp, v->err[0] ? v->err : "?");
        tgt.tmp[0] = '\0';
        return false;
    }
    tgt.file_open = true;
    pool_vhdx_io(&tgt.file, &tgt.io);
    struct vhdx_create_params cp = { 0 };
    cp.disk_size = h->disk_size;
    cp.logical_sector_size = h->sector_size;
    cp.physical_sector_size = 4096;
    cp.block_size = h->block_size;
    struct vhdx_err verr;
    if (h->parents) {   /* a child of the nearest parent, as held or just received here */
        if (!smig_tgt_chain_create_child(h, h->name, &tgt.io, err, err_size))
            return false;
    } else if (vhdx_create(pool_vhdx_env(), &tgt.io, &cp, &verr)) {
        fmt_snprintf(err, err_size, "%s: %s", tgt.tmp, verr.msg);
        return false;
    }
    if (vhdx_open(pool_vhdx_env(), &tgt.io, tgt.tmp, 0, &tgt.disk, &verr)) {
        fmt_snprintf(err, err_size, "%s: %s", tgt.tmp, verr.msg);
        return false;
    }
    return record_write(err, err_size);
}

/* After: the file (made, every parent here) is the partition's to open: closed here until
 * it has all units. */
static void after_ready(void)
{
    partition_pool_lock();
    close_file();
    partition_pool_unlock();
    tgt.stage = T_REMOTE;
}

static bool on_hello(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    if (smig_hello_decode(pl, len, &tgt.hello, err, err_size))
        return false;
    if (!pool_volume()) {
        fmt_snprintf(err, err_size, "no storage pool is mounted here");
        return false;
    }
    tgt.after = tgt.hello.flags & SMIG_HELLO_AFTER;
    tgt.around = tgt.hello.flags & SMIG_HELLO_AROUND;
    bool remote = tgt.after || tgt.around;
    if (remote && (tgt.hello.flags & SMIG_HELLO_VERIFY)) {
        fmt_snprintf(err, err_size, "verify with %s (the guest writes here meanwhile)",
                     tgt.after ? "after" : "around");
        return false;
    }
    size_t nl = strlen(tgt.hello.name);
    if (remote && (nl < 5 || strcmp(tgt.hello.name + nl - 5, ".vhdx"))) {
        /* NAME.tmp is a VHDX, and a partition opens NAME by its ending */
        fmt_snprintf(err, err_size, "%s mode needs a .vhdx name here",
                     tgt.after ? "after" : "around");
        return false;
    }
    /* After, a differencing disk: the map waits for the source's HANDOVER (the units its
     * own layer leaves to the parents, which read through them here). */
    tgt.rd.handed = tgt.after && !tgt.hello.parents;
    if (remote) {
        struct smig_remote_disk *r = &tgt.rd;
        r->map_pages = (smig_remote_map_bytes(tgt.hello.disk_size) + 4095) / 4096;
        r->map_mem = kmem_alloc_pages(r->map_pages);
        if (!r->map_mem || smig_remote_init(&r->map, tgt.hello.disk_size, r->map_mem,
                                            r->map_pages * 4096)) {
            fmt_snprintf(err, err_size, "out of memory for the unit map");
            return false;
        }
    }
    partition_pool_lock();
    bool ok = true;
    if (tgt.hello.parents) {
        /* The identity seed: parents held here with the same DataWriteGuid are not sent. */
        if (file_exists(tgt.hello.name)) {
            fmt_snprintf(err, err_size, "%s exists in the pool here", tgt.hello.name);
            ok = false;
        }
        ok = ok && smig_tgt_chain_decide(&tgt.hello, &tgt.chain, say, err, err_size) == 0;
    }
    /* With parents to come the child is made once they are here (on_pfile). */
    if (ok && smig_tgt_chain_ready(&tgt.chain))
        ok = create_file(err, err_size);
    if (!ok)
        discard_file();
    partition_pool_unlock();
    if (!ok)
        return false;
    char d[120];
    fmt_snprintf(d, sizeof(d), "%lu MiB, block %u MiB: accepted%s",
                 (unsigned long)(tgt.hello.disk_size / MIB), tgt.hello.block_size >> 20,
                 tgt.after ? " (after: a partition here attaches it; absent units come from "
                 "the source)" : tgt.around ? " (around: copied here until the machine moves, "
                 "then absent units come from the source)" : "");
    line("", d);
    reply(SMIG_MSG_READY, SMIG_OK, 0, "accepted");
    if (tgt.hello.parents)
        answers_first();
    tgt.stage = T_DATA;
    if (tgt.after && smig_tgt_chain_ready(&tgt.chain))
        after_ready();
    return true;
}

/* A parent file's chunk; with the last parent here, the child is made on it. */
static bool on_pfile(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    if (!tgt.hello.parents || smig_tgt_chain_ready(&tgt.chain)) {
        fmt_snprintf(err, err_size, "a parent file nobody asked for");
        return false;
    }
    if (!smig_tgt_chain_take(&tgt.chain, &tgt.hello, pl, len, say, err, err_size))
        return false;
    if (!smig_tgt_chain_ready(&tgt.chain))
        return true;
    partition_pool_lock();
    bool ok = create_file(err, err_size);
    partition_pool_unlock();
    if (ok)
        say("every parent here: the disk is made a child of its copy");
    if (ok && tgt.after)
        after_ready();
    return ok;
}

static bool on_data(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct smig_data d;
    if (!smig_tgt_chain_ready(&tgt.chain)) {
        fmt_snprintf(err, err_size, "DATA before the parents the disk needs");
        return false;
    }
    if (smig_data_decode(pl, len, tgt.hello.disk_size, tgt.hello.sector_size, &d, err, err_size))
        return false;
    struct vhdx_err verr;
    verr.msg[0] = '\0';
    struct smig_remote_disk *r = &tgt.rd;
    partition_pool_lock();
    int rc;
    if (tgt.disk)
        rc = d.bytes ? vhdx_write(tgt.disk, d.offset, d.bytes, d.length, &verr)
                     : vhdx_trim(tgt.disk, d.offset, d.length, &verr);
    else if (tgt.around && r->bound)    /* a partition here opened it: no piece runs yet */
        rc = d.bytes ? r->ops->write(r->ctx, d.offset, d.bytes, d.length)
                     : r->ops->trim(r->ctx, d.offset, d.length);
    else
        rc = -1;
    partition_pool_unlock();
    if (rc) {
        fmt_snprintf(err, err_size, "writing %s: %s", tgt.tmp, verr.msg[0] ? verr.msg : "failed");
        return false;
    }
    uint64_t before = tgt.written + tgt.zeroed;
    if (d.bytes)
        tgt.written += d.length;
    else
        tgt.zeroed += d.length;
    if ((before + d.length) / MIB != before / MIB) {
        char m[64];
        fmt_snprintf(m, sizeof(m), "%lu MiB received", (unsigned long)((before + d.length) / MIB));
        line("", m);
    }
    return true;
}

/* The pool's lock held: the CRC-32C of the whole disk, read unit by unit into scratch. */
static int disk_crc(uint8_t *scratch, uint32_t *crc, struct vhdx_err *verr)
{
    *crc = 0;
    for (uint64_t off = 0; off < tgt.hello.disk_size; off += SMIG_UNIT) {
        uint64_t n = tgt.hello.disk_size - off < SMIG_UNIT ? tgt.hello.disk_size - off
                                                            : SMIG_UNIT;
        int rc = vhdx_read(tgt.disk, off, scratch, (size_t)n, verr);
        if (rc)
            return rc;
        *crc = crc32c(*crc, scratch, (size_t)n);
    }
    return 0;
}

static bool on_commit(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct smig_commit c;
    if (smig_commit_decode(pl, len, &c, err, err_size))
        return false;
    if (!smig_tgt_chain_ready(&tgt.chain)) {
        fmt_snprintf(err, err_size, "COMMIT before the parents the disk needs");
        return false;
    }
    if (c.bytes != tgt.written + tgt.zeroed) {
        fmt_snprintf(err, err_size, "the source sent %lu bytes, %lu arrived",
                     (unsigned long)c.bytes, (unsigned long)(tgt.written + tgt.zeroed));
        return false;
    }
    struct vhdx_err verr;
    verr.msg[0] = '\0';
    uint32_t crc = 0;
    bool verify = tgt.hello.flags & SMIG_HELLO_VERIFY;
    line("", "COMMIT received");
    partition_pool_lock();
    /* The message is decoded: its buffer is the scratch for the CRC. */
    int rc = verify ? disk_crc(tgt.ch.rx, &crc, &verr) : 0;
    partition_pool_unlock();
    line("", rc ? "commit: the CRC failed" : "commit: CRC taken");
    partition_pool_lock();
    if (!rc)
        rc = vhdx_close(tgt.disk, &verr);
    tgt.disk = NULL;
    bool ok = !rc && fat_close(&tgt.file) == 0;
    tgt.file_open = false;
    partition_pool_unlock();
    line("", ok ? "commit: closed" : "commit: closing failed");
    partition_pool_lock();
    if (ok && fat_rename(pool_volume(), tgt.tmp, tgt.hello.name))
        ok = false;
    partition_pool_unlock();
    line("", ok ? "commit: renamed" : "commit: renaming failed");
    partition_pool_lock();
    if (ok && fat_sync(pool_volume()))
        ok = false;
    else if (ok)
        record_remove();    /* NAME is whole: nothing to resume */
    if (ok)
        tgt.tmp[0] = '\0';
    partition_pool_unlock();
    line("", ok ? "commit: synced" : "commit: syncing failed");
    if (!ok) {
        fmt_snprintf(err, err_size, "committing %s: %s", tgt.hello.name,
                     verr.msg[0] ? verr.msg : "the pool refused");
        return false;
    }
    char d[160], crcs[48] = "";
    if (verify)
        fmt_snprintf(crcs, sizeof(crcs), ", crc32c 0x%08x%s", crc,
                     c.flags & SMIG_COMMIT_CRC ? crc == c.crc ? " (equal to the source's)"
                     : " (DIFFERENT from the source's)" : "");
    fmt_snprintf(d, sizeof(d), "%lu MiB written, %lu MiB zero%s",
                 (unsigned long)(tgt.written / MIB), (unsigned long)(tgt.zeroed / MIB), crcs);
    line("committed: ", d);
    fmt_snprintf(d, sizeof(d), "committed as %s", tgt.hello.name);
    reply(SMIG_MSG_DONE, SMIG_OK, crc, d);
    tgt.keep = true;
    tgt.stage = T_REPLY;
    return true;
}


/* ---- the after mode ------------------------------------------------------------------ */

static void rlock(struct smig_remote_disk *r)
{
    while (__atomic_exchange_n(&r->lock, true, __ATOMIC_ACQUIRE))
        __builtin_ia32_pause();
}

static void runlock(struct smig_remote_disk *r)
{
    __atomic_store_n(&r->lock, false, __ATOMIC_RELEASE);
}

static uint64_t unit_bytes(uint32_t u)
{
    uint64_t off = (uint64_t)u * SMIG_UNIT;
    return tgt.hello.disk_size - off < SMIG_UNIT ? tgt.hello.disk_size - off : SMIG_UNIT;
}

struct smig_remote_disk *storage_migrate_remote_claim(const char *path, char *open_path,
                                                      size_t size)
{
    bool around_copy = tgt.stage == T_DATA && tgt.around;
    if (((tgt.stage != T_REMOTE || tgt.disk) && !around_copy) || tgt.rd.claimed ||
        !fat_same_path(path, tgt.hello.name) || !smig_tgt_chain_ready(&tgt.chain))
        return NULL;        /* (a differencing disk: not before its parents are here) */
    if (tgt.disk) {
        /* Around: the copy came in through this module's handle; the partition's disk
         * takes the file (the copy's DATA goes through it until the hand-over). */
        close_file();
    }
    tgt.rd.claimed = true;
    fmt_snprintf(open_path, size, "%s", tgt.tmp);
    return &tgt.rd;
}

void storage_migrate_remote_bind(struct smig_remote_disk *h, const struct smig_remote_ops *ops,
                                 void *ctx)
{
    h->ops = ops;
    h->ctx = ctx;
    h->bound = true;
    line("", "a partition here attached it: absent units are pulled from the source");
}

void storage_migrate_remote_release(struct smig_remote_disk *h)
{
    rlock(h);
    h->parked_n = 0;
    runlock(h);
    if (!h->bound) {
        h->claimed = false;         /* its open failed: the next partition may claim it */
    } else if (tgt.after && tgt.stage == T_REMOTE && !h->guest_ran && !h->lost) {
        /* After: no guest piece ever came, so the partition never ran here (its live
         * migration failed after it opened NAME.tmp): nothing of the guest's is in the file;
         * it waits for the next partition (or the source's cancel, which discards it). */
        h->claimed = false;
        line("", "the partition let it go before its guest ran here (its live migration "
             "failed?): waiting for a partition again");
    } else {
        h->released = true;
    }
    h->bound = false;
    h->ops = NULL;
    h->ctx = NULL;
}

/* Every unit [off, off+len) touches: present. */
static bool all_present(struct smig_remote_disk *r, uint64_t off, uint64_t len)
{
    return r->handed && (smig_remote_complete(&r->map) ||
                         smig_remote_read_needs(&r->map, off, len) < 0);
}

/* rlock held: the units [off, off+len) touches go on the want list. */
static void want_units(struct smig_remote_disk *h, uint64_t off, uint64_t len)
{
    for (uint64_t u = off / SMIG_UNIT; u <= (off + len - 1) / SMIG_UNIT; u++)
        if (smig_remote_request(&h->map, (uint32_t)u) && h->want_n < WANT_MAX)
            h->want[h->want_n++] = (uint32_t)u;
}

enum smig_gate storage_migrate_remote_gate(struct smig_remote_disk *h, void *io, uint64_t off,
                                           uint64_t len, enum smig_gate_op op)
{
    rlock(h);
    h->guest_ran = true;
    enum smig_gate g = SMIG_GATE_WAIT;
    if (all_present(h, off, len)) {
        g = SMIG_GATE_GO;
    } else if (h->lost || h->parked_n >= PARKED_MAX) {
        g = SMIG_GATE_FAIL;
    } else {
        /* A write or trim waits too: the unit's other bytes come first, and a fetch that
         * lands after it would undo it (a piece never covers a whole unit).  Around, before
         * the hand-over, every piece waits and nothing is asked for: the machine may still
         * be writing on the source. */
        if (h->handed)
            want_units(h, off, len);
        h->parked[h->parked_n].io = io;
        h->parked[h->parked_n].off = off;
        h->parked[h->parked_n].len = len;
        h->parked[h->parked_n].op = op;
        h->parked_n++;
        h->guest_waits++;
    }
    runlock(h);
    return g;
}

void *storage_migrate_remote_next(struct smig_remote_disk *h, enum smig_gate_op *op, bool *fail)
{
    void *io = NULL;
    rlock(h);
    for (unsigned i = 0; i < h->parked_n && !io; i++) {
        bool go = all_present(h, h->parked[i].off, h->parked[i].len);
        if (!go && !h->lost)
            continue;
        io = h->parked[i].io;
        *op = h->parked[i].op;
        *fail = !go;
        h->parked[i] = h->parked[--h->parked_n];
    }
    runlock(h);
    return io;
}

void *storage_migrate_remote_take(struct smig_remote_disk *h)
{
    rlock(h);
    void *io = h->parked_n ? h->parked[--h->parked_n].io : NULL;
    runlock(h);
    return io;
}

bool storage_migrate_remote_waiting(struct smig_remote_disk *h)
{
    return __atomic_load_n(&h->parked_n, __ATOMIC_ACQUIRE) != 0;
}

/* The link is gone with units still absent: they never come; the file stays (the guest's
 * writes here are in it), pieces that need those units fail. */
static void remote_lost(const char *why)
{
    struct smig_remote_disk *r = &tgt.rd;
    rlock(r);
    smig_remote_link_lost(&r->map);
    r->lost = true;
    r->out_n = r->want_n = 0;
    runlock(r);
    smig_chan_close(&tgt.ch);
    partition_pool_lock();
    close_file();
    partition_pool_unlock();
    char d[240];
    fmt_snprintf(d, sizeof(d), "%s; %u of %u units here, the rest stays on the source "
                 "(the guest's reads of them fail); %s kept", why, r->map.present,
                 r->map.units, tgt.tmp);
    line("link lost: ", d);
    tgt.stage = T_REMOTE_LOST;
}

/* The pool's lock held, no partition has the file: this module pulls into it. */
static bool open_own(char *err, size_t err_size)
{
    struct vhdx_err verr;
    if (fat_open(pool_volume(), tgt.tmp, 0, &tgt.file) != 0) {
        fmt_snprintf(err, err_size, "cannot reopen %s", tgt.tmp);
        return false;
    }
    tgt.file_open = true;
    pool_vhdx_io(&tgt.file, &tgt.io);
    if (vhdx_open(pool_vhdx_env(), &tgt.io, tgt.tmp, 0, &tgt.disk, &verr)) {
        fmt_snprintf(err, err_size, "%s: %s", tgt.tmp, verr.msg);
        return false;
    }
    return true;
}

/* Queues one READ in tx: a unit a guest piece waits for first, else the background pull's
 * next (only once someone can write what comes). */
static void queue_read(void)
{
    struct smig_remote_disk *r = &tgt.rd;
    int64_t u = -1;
    rlock(r);
    bool wanted = false;
    if (r->want_n && r->out_n < OUT_MAX) {
        wanted = true;
        u = r->want[0];
        memmove(r->want, r->want + 1, --r->want_n * sizeof(r->want[0]));
    } else if (r->out_n < PULL_WINDOW && r->handed && ((r->bound && r->guest_ran) || tgt.disk)) {
        /* Not before the guest runs here: until then its partition may still be writing
         * the disk on the source (a live migration's pre-copy), which serves nothing. */
        u = smig_remote_next_pull(&r->map);
    }
    if (u >= 0)
        r->out[r->out_n++] = (uint32_t)u;
    runlock(r);
    if (u < 0)
        return;
    struct smig_read rd = { .offset = (uint64_t)u * SMIG_UNIT, .length = (uint32_t)unit_bytes((uint32_t)u) };
    size_t n = smig_read_encode(&rd, tgt.tx + SMIG_HEADER_SIZE, 4096 - SMIG_HEADER_SIZE);
    smig_header_encode(tgt.tx, SMIG_MSG_READ, tgt.tx + SMIG_HEADER_SIZE, (uint32_t)n);
    tgt.tx_len = SMIG_HEADER_SIZE + n;
    tgt.tx_off = 0;
    if (wanted && !r->said_wait) {
        char d[80];
        fmt_snprintf(d, sizeof(d), "a guest piece waits for unit %lu: READ sent", (unsigned long)u);
        line("", d);
        r->said_wait = true;
    }
}

/* Every unit is here: NAME.tmp becomes NAME (the partition's disk switched to it, or this
 * module's own handle closed), then DONE. */
static bool remote_commit(char *err, size_t err_size)
{
    struct smig_remote_disk *r = &tgt.rd;
    partition_pool_lock();
    bool bound = r->bound;
    const struct smig_remote_ops *ops = r->ops;
    void *ctx = r->ctx;
    partition_pool_unlock();
    bool ok;
    if (bound) {
        /* The partition's pause waits for its pieces: none waits on us any more. */
        ok = ops->commit(ctx, tgt.tmp, tgt.hello.name, err, err_size);
        partition_pool_lock();
        if (ok)
            r->bound = false;
        partition_pool_unlock();
    } else {
        struct vhdx_err verr;
        verr.msg[0] = '\0';
        partition_pool_lock();
        ok = tgt.disk && vhdx_close(tgt.disk, &verr) == 0;
        tgt.disk = NULL;
        ok = ok && fat_close(&tgt.file) == 0;
        tgt.file_open = false;
        ok = ok && fat_rename(pool_volume(), tgt.tmp, tgt.hello.name) == 0 &&
             fat_sync(pool_volume()) == 0;
        partition_pool_unlock();
        if (!ok)
            fmt_snprintf(err, err_size, "committing %s: %s", tgt.hello.name,
                         verr.msg[0] ? verr.msg : "the pool refused");
    }
    if (!ok)
        return false;
    tgt.tmp[0] = '\0';
    char d[200];
    fmt_snprintf(d, sizeof(d), "%lu MiB fetched, %lu MiB zero, %lu guest pieces waited, %s; "
                 "committed as %s", (unsigned long)(r->fetched / MIB),
                 (unsigned long)(r->zeroed / MIB), (unsigned long)r->guest_waits,
                 bound ? "the partition's disk switched to it" : "no partition had it",
                 tgt.hello.name);
    line("every unit here: ", d);
    fmt_snprintf(d, sizeof(d), "committed as %s", tgt.hello.name);
    tgt.written = r->fetched;
    reply(SMIG_MSG_DONE, SMIG_OK, 0, d);
    tgt.keep = true;
    tgt.stage = T_REPLY;
    return true;
}

/* The after mode's turn before a message is read: 1 go on, -1 failed (err). */
static int remote_turn(char *err, size_t err_size)
{
    struct smig_remote_disk *r = &tgt.rd;
    partition_pool_lock();
    bool own = r->released && !tgt.disk && !smig_remote_complete(&r->map);
    bool ok = !own || open_own(err, err_size);
    if (own && ok)
        line("", "the partition let it go: the rest is pulled into it here");
    partition_pool_unlock();
    if (!ok)
        return -1;
    rlock(r);
    bool complete = smig_remote_complete(&r->map) && !r->out_n;
    bool idle = !r->out_n;
    runlock(r);
    if (idle)
        tgt.ch.last_progress_ns = time_ns();   /* waiting for a partition is not a stall */
    if (complete && (r->bound || tgt.disk))
        return remote_commit(err, err_size) ? 1 : -1;
    if (tgt.tx_off >= tgt.tx_len)
        queue_read();
    return 1;
}

/* DATA with FETCHED: the answer to one of our READs, a whole unit. */
static bool on_fetched(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct smig_remote_disk *r = &tgt.rd;
    struct smig_data d;
    if (smig_data_decode(pl, len, tgt.hello.disk_size, tgt.hello.sector_size, &d, err, err_size))
        return false;
    uint32_t u = (uint32_t)(d.offset / SMIG_UNIT);
    unsigned k = 0;
    rlock(r);
    while (k < r->out_n && r->out[k] != u)
        k++;
    bool asked = k < r->out_n;
    runlock(r);
    if (!(d.flags & SMIG_DATA_FETCHED) || d.offset % SMIG_UNIT || d.length != unit_bytes(u) ||
        !asked) {
        fmt_snprintf(err, err_size, "a DATA the target did not ask for (offset %lu)",
                     (unsigned long)d.offset);
        return false;
    }
    struct vhdx_err verr;
    verr.msg[0] = '\0';
    partition_pool_lock();
    int rc;
    if (r->bound)
        rc = d.bytes ? r->ops->write(r->ctx, d.offset, d.bytes, d.length)
                     : r->ops->trim(r->ctx, d.offset, d.length);
    else if (tgt.disk)
        rc = d.bytes ? vhdx_write(tgt.disk, d.offset, d.bytes, d.length, &verr)
                     : vhdx_trim(tgt.disk, d.offset, d.length, &verr);
    else
        rc = -1;
    if (!rc) {
        /* Present only now that the bytes are in the file: a piece let through reads them. */
        rlock(r);
        r->out[k] = r->out[--r->out_n];
        smig_remote_arrived(&r->map, u);
        runlock(r);
    }
    partition_pool_unlock();
    if (rc) {
        fmt_snprintf(err, err_size, "writing %s: %s", tgt.tmp, verr.msg[0] ? verr.msg : "failed");
        return false;
    }
    uint64_t before = r->fetched + r->zeroed;
    if (d.bytes)
        r->fetched += d.length;
    else
        r->zeroed += d.length;
    if ((before + d.length) / MIB != before / MIB) {
        char m[64];
        fmt_snprintf(m, sizeof(m), "%lu MiB fetched", (unsigned long)((before + d.length) / MIB));
        line("", m);
    }
    return true;
}

/* ---- the around mode ------------------------------------------------------------------ */

/* Around, before the hand-over, ahead of each message: a partition that let the file go
 * (its live migration failed here) gives it back to the copy; DATA waits while a partition
 * has claimed the file but not opened it yet.  1 go on, 0 wait, -1 failed (err). */
static int around_turn(char *err, size_t err_size)
{
    struct smig_remote_disk *r = &tgt.rd;
    if (!smig_tgt_chain_ready(&tgt.chain))
        return 1;           /* parent files still coming: no NAME.tmp yet */
    partition_pool_lock();
    int rc = 1;
    if (!tgt.disk && (r->released || !r->claimed)) {
        rc = open_own(err, err_size) ? 1 : -1;
        if (rc > 0) {
            r->claimed = r->released = r->bound = false;
            line("", "the partition let it go before the hand-over: the copy goes on here");
        }
    } else if (r->claimed && !r->bound && !tgt.disk) {
        rc = 0;
    }
    partition_pool_unlock();
    if (!storage_migrate_remote_waiting(r))
        tgt.ch.last_progress_ns = time_ns();   /* waiting for the machine is not a stall */
    return rc;
}

/* HANDOVER: the machine has left the source; the units it names are current here, every
 * other one comes by READ as in the after mode. */
static bool on_handover(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct smig_remote_disk *r = &tgt.rd;
    const uint8_t *current;
    if (smig_handover_decode(pl, len, r->map.units, &current, err, err_size))
        return false;
    rlock(r);
    uint32_t here = smig_remote_preset(&r->map, current);
    r->handed = true;
    for (unsigned i = 0; i < r->parked_n; i++)
        want_units(r, r->parked[i].off, r->parked[i].len);
    unsigned parked = r->parked_n;
    runlock(r);
    tgt.stage = T_REMOTE;
    char d[200];
    if (tgt.after)
        fmt_snprintf(d, sizeof(d), "HANDOVER: %u of %u units read through the parents here "
                     "(the source's child has nothing of its own there: not fetched), the rest "
                     "comes from the source; %u guest pieces waited for it", here,
                     r->map.units, parked);
    else
        fmt_snprintf(d, sizeof(d), "HANDOVER: %u of %u units here are current (%lu KiB "
                     "received, %lu MiB as zero), the rest comes from the source; %u guest "
                     "pieces waited for it", here, r->map.units,
                     (unsigned long)(tgt.written >> 10), (unsigned long)(tgt.zeroed / MIB),
                     parked);
    line("", d);
    return true;
}

/* One step: 1 go on, 0 wait, -1 failed (err). */
static int step(char *err, size_t err_size)
{
    if (tgt.scanning)
        return scan_step(err, err_size);
    if (tgt.tx_off < tgt.tx_len) {
        int s = smig_chan_send(&tgt.ch, tgt.tx, tgt.tx_len, &tgt.tx_off, err, err_size);
        if (s <= 0)
            return s;
    }
    int f = smig_chan_flush(&tgt.ch, err, err_size);
    if (f < 0 || (f == 0 && tgt.stage == T_REPLY))
        return f;
    if (tgt.stage == T_REMOTE) {
        int t = remote_turn(err, err_size);
        if (t <= 0 || tgt.stage != T_REMOTE)
            return t;
        if (tgt.tx_off < tgt.tx_len) {
            int s = smig_chan_send(&tgt.ch, tgt.tx, tgt.tx_len, &tgt.tx_off, err, err_size);
            if (s < 0)
                return s;
        }
    }
    if (tgt.stage == T_DATA && tgt.around) {
        int t = around_turn(err, err_size);
        if (t <= 0)
            return t;
    }
    if (tgt.stage == T_REPLY) {         /* DONE or the refusal is out: the link closes */
        smig_chan_drain(&tgt.ch);       /* the source's KEEPALIVEs: a clean close */
        if (tgt.keep)
            line("", "DONE sent");
        if (tgt.keep)
            release();
        else
            discard(tgt.refusal);
        return 0;
    }
    struct smig_header h;
    const uint8_t *pl;
    int got = smig_chan_recv(&tgt.ch, &h, &pl, err, err_size);
    if (got <= 0)
        return got;
    bool ok = true;
    if (tgt.stage == T_HELLO && h.type == SMIG_MSG_RESUME && !tgt.has_id) {
        ok = on_identity(pl, h.length, err, err_size);
    } else if (tgt.stage == T_HELLO && h.type == SMIG_MSG_HELLO) {
        if (!on_hello(pl, h.length, err, err_size)) {   /* refused: say so, then close */
            fmt_snprintf(tgt.refusal, sizeof(tgt.refusal), "%s", err);
            reply(SMIG_MSG_READY, SMIG_REFUSED, 0, err);
            tgt.stage = T_REPLY;
        }
    } else if (tgt.stage == T_REMOTE && h.type == SMIG_MSG_DATA) {
        ok = on_fetched(pl, h.length, err, err_size);
    } else if (tgt.stage == T_DATA && h.type == SMIG_MSG_DATA) {
        ok = on_data(pl, h.length, err, err_size);
    } else if (tgt.stage == T_DATA && h.type == SMIG_MSG_PFILE) {
        ok = on_pfile(pl, h.length, err, err_size);
    } else if (tgt.stage == T_DATA && tgt.around && h.type == SMIG_MSG_HANDOVER) {
        ok = on_handover(pl, h.length, err, err_size);
    } else if (tgt.stage == T_REMOTE && tgt.after && tgt.hello.parents && !tgt.rd.handed &&
               h.type == SMIG_MSG_HANDOVER) {
        ok = on_handover(pl, h.length, err, err_size);
    } else if (tgt.stage == T_DATA && !tgt.around && h.type == SMIG_MSG_COMMIT) {
        ok = on_commit(pl, h.length, err, err_size);
    } else if (h.type == SMIG_MSG_ABORT) {
        char why[SMIG_TEXT_LEN], text[SMIG_TEXT_LEN + 24];
        smig_abort_decode(pl, h.length, why, sizeof(why));
        fmt_snprintf(text, sizeof(text), "the source aborted: %s", why);
        smig_chan_consume(&tgt.ch);
        if ((tgt.stage == T_REMOTE || tgt.around) && tgt.rd.claimed)
            remote_lost(text);
        else
            discard(text);
        return 0;
    } else {
        fmt_snprintf(err, err_size, "message type %u out of turn", h.type);
        ok = false;
    }
    smig_chan_consume(&tgt.ch);
    if (!ok && tgt.stage == T_DATA && !tgt.rd.claimed) {   /* tell the source why, then discard */
        fmt_snprintf(tgt.refusal, sizeof(tgt.refusal), "%s", err);
        reply(SMIG_MSG_DONE, SMIG_FAILED, 0, err);
        tgt.stage = T_REPLY;
        return 1;
    }
    return ok ? 1 : -1;
}

bool storage_migrate_target_poll(void)
{
    if (tgt.stage == T_IDLE)
        return false;
    if (tgt.stage == T_REMOTE_LOST) {
        partition_pool_lock();
        bool gone = tgt.rd.released || !tgt.rd.claimed;
        partition_pool_unlock();
        if (gone)
            release();      /* NAME.tmp stays: the guest's writes are in it */
        return false;       /* nothing to move: no close polling */
    }
    char err[160];
    err[0] = '\0';
    int rc = 0;
    /* A few messages per poll: the guest's CPUs run between polls. */
    for (int i = 0; i < 8 && (rc = step(err, sizeof(err))) > 0; i++)
        ;
    if (tgt.stage == T_IDLE)
        return false;
    bool claimed = (tgt.stage == T_REMOTE || (tgt.stage == T_DATA && tgt.around)) &&
                   tgt.rd.claimed;
    if (rc >= 0 && claimed && storage_migrate_remote_waiting(&tgt.rd) &&
        time_ns() - tgt.ch.last_progress_ns > GUEST_WAIT_NS)
        remote_lost("nothing came for 20 s while a guest piece waited");
    else if (rc < 0 && claimed)
        remote_lost(err);
    else if (rc < 0 && !(tgt.ch.link_down && keep_for_resume(err)))
        discard(err);
    else if (rc >= 0 && smig_chan_stalled(&tgt.ch) && claimed)
        remote_lost("the link moved nothing for 60 s");
    else if (rc >= 0 && smig_chan_stalled(&tgt.ch) &&
             !keep_for_resume("the link moved nothing for 60 s"))
        discard("the link moved nothing for 60 s");
    return tgt.stage != T_IDLE;
}

/* ---- liveness and resume ---------------------------------------------------------------- */

/* The source's identity, before HELLO: its idle timeout is this end's too. */
static bool on_identity(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    if (smig_resume_id_decode(pl, len, &tgt.id, err, err_size))
        return false;
    tgt.has_id = true;
    smig_chan_set_idle(&tgt.ch, tgt.id.idle_s);
    return true;
}

/* The record's path: NAME.tmp.smig. */
static void record_path(char *out, size_t size)
{
    fmt_snprintf(out, size, "%s" SMIG_RECORD_SUFFIX, tgt.tmp);
}

/* A before-mode copy of a plain disk from a source that named itself can be resumed. */
static bool resumable(void)
{
    return tgt.has_id && !tgt.after && !tgt.around && !tgt.hello.parents;
}

/* The pool's lock held, NAME.tmp just made: its record, synced before READY. */
static bool record_write(char *err, size_t err_size)
{
    if (!resumable())
        return true;
    struct smig_record r = { .session = tgt.id.session, .data_write = tgt.id.data_write,
                             .disk_size = tgt.hello.disk_size,
                             .sector_size = tgt.hello.sector_size,
                             .block_size = tgt.hello.block_size };
    fmt_snprintf(r.name, sizeof(r.name), "%s", tgt.hello.name);
    uint8_t b[SMIG_RECORD_SIZE];
    size_t n = smig_record_encode(&r, b, sizeof(b));
    char path[sizeof(tgt.tmp) + 8];
    record_path(path, sizeof(path));
    struct fat_file f;
    bool ok = fat_open(pool_volume(), path, FAT_O_CREATE | FAT_O_TRUNC, &f) == 0;
    if (ok) {
        ok = fat_write(&f, 0, b, n) == (long)n;
        ok = fat_close(&f) == 0 && ok;
    }
    /* NAME.tmp's header and the record on the disk before READY */
    struct vhdx_err verr;
    ok = ok && vhdx_flush(tgt.disk, &verr) == 0 && fat_sync(pool_volume()) == 0;
    if (!ok) {
        fmt_snprintf(err, err_size, "cannot write %s", path);
        return false;
    }
    tgt.recorded = true;
    return true;
}

/* The pool's lock held: the record goes (NAME.tmp committed or discarded). */
static void record_remove(void)
{
    char path[sizeof(tgt.tmp) + 8];
    if (!tgt.tmp[0] || !pool_volume())
        return;
    record_path(path, sizeof(path));
    if (file_exists(path)) {
        fat_unlink(pool_volume(), path);
        fat_sync(pool_volume());
    }
    tgt.recorded = false;
}

/* The pool's lock held, NAME absent: NAME.tmp reopened when its record names this
 * migration (1); 0: start over (a leftover and its record removed, said why); -1 err. */
static int resume_open(char *err, size_t err_size)
{
    if (!resumable())
        return 0;
    char path[sizeof(tgt.tmp) + 8], why[96] = "";
    record_path(path, sizeof(path));
    bool tmp = file_exists(tgt.tmp), rec = file_exists(path);
    if (!tmp && !rec)
        return 0;
    struct smig_record r;
    uint8_t b[SMIG_RECORD_SIZE];
    struct fat_file f;
    if (!tmp) {
        fmt_snprintf(why, sizeof(why), "%s is gone", tgt.tmp);
    } else if (!rec) {
        fmt_snprintf(why, sizeof(why), "it has no record");
    } else if (fat_open(pool_volume(), path, 0, &f) != 0) {
        fmt_snprintf(why, sizeof(why), "its record cannot be opened");
    } else {
        long n = fat_read(&f, 0, b, sizeof(b));
        fat_close(&f);
        if (n < 0)
            fmt_snprintf(why, sizeof(why), "its record cannot be read");
        else if (smig_record_decode(b, (size_t)n, &r, why, sizeof(why)) == 0)
            smig_record_matches(&r, &tgt.hello, &tgt.id, why, sizeof(why));
    }
    if (!why[0]) {
        struct vhdx_err verr;
        if (fat_open(pool_volume(), tgt.tmp, 0, &tgt.file) != 0) {
            fmt_snprintf(why, sizeof(why), "it cannot be opened");
        } else {
            tgt.file_open = true;
            pool_vhdx_io(&tgt.file, &tgt.io);
            if (vhdx_open(pool_vhdx_env(), &tgt.io, tgt.tmp, 0, &tgt.disk, &verr)) {
                fmt_snprintf(why, sizeof(why), "%s", verr.msg);
                fat_close(&tgt.file);
                tgt.file_open = false;
                tgt.disk = NULL;
            }
        }
    }
    if (why[0]) {
        char d[200];
        fmt_snprintf(d, sizeof(d), "%s not resumed: %s; discarded, starting over", tgt.tmp, why);
        say(d);
        if (tmp)
            fat_unlink(pool_volume(), tgt.tmp);
        if (rec)
            fat_unlink(pool_volume(), path);
        fat_sync(pool_volume());
        return 0;
    }
    tgt.units = (uint32_t)((tgt.hello.disk_size + SMIG_UNIT - 1) / SMIG_UNIT);
    tgt.scan_buf = kmem_alloc_pages(SMIG_UNIT / 4096);
    tgt.held_tx = kmem_alloc_pages(2);
    if (!tgt.scan_buf || !tgt.held_tx) {
        fmt_snprintf(err, err_size, "out of memory for the resume");
        return -1;
    }
    tgt.recorded = true;
    tgt.scanning = true;
    tgt.scan_next = tgt.scan_n = 0;
    tgt.held_len = tgt.held_off = 0;
    char d[160];
    fmt_snprintf(d, sizeof(d), "resuming %s (attempt %u of the same migration): reading what "
                 "it holds", tgt.tmp, tgt.id.attempt);
    say(d);
    return 1;
}

/* Resumed, before READY: one unit of NAME.tmp read for its CRC, or HELD going out.  The
 * step's result. */
static int scan_step(char *err, size_t err_size)
{
    if (tgt.held_off < tgt.held_len) {
        int s = smig_chan_send(&tgt.ch, tgt.held_tx, tgt.held_len, &tgt.held_off, err, err_size);
        if (s <= 0)
            return s;
        tgt.held_off = tgt.held_len = 0;
    }
    if (smig_chan_flush(&tgt.ch, err, err_size) < 0)
        return -1;
    if (tgt.scan_next + tgt.scan_n >= tgt.units && !tgt.scan_n) {
        tgt.scanning = false;       /* every HELD is out: READY follows */
        char d[96];
        fmt_snprintf(d, sizeof(d), "resume: the CRC of each of its %u units sent", tgt.units);
        say(d);
        return 1;
    }
    uint32_t u = tgt.scan_next + tgt.scan_n;
    if (u < tgt.units) {
        uint32_t n = smig_unit_len(tgt.hello.disk_size, u);
        struct vhdx_err verr;
        partition_pool_lock();
        int rc = vhdx_read(tgt.disk, (uint64_t)u * SMIG_UNIT, tgt.scan_buf, n, &verr);
        partition_pool_unlock();
        if (rc) {
            fmt_snprintf(err, err_size, "reading %s: %s", tgt.tmp, verr.msg);
            return -1;
        }
        tgt.scan_crc[tgt.scan_n++] = crc32c(0, tgt.scan_buf, n);
    }
    if (tgt.scan_n == SMIG_HELD_MAX || tgt.scan_next + tgt.scan_n >= tgt.units) {
        size_t n = smig_held_encode(tgt.scan_next, tgt.scan_n, tgt.units, tgt.scan_crc,
                                    tgt.held_tx + SMIG_HEADER_SIZE, 2 * 4096 - SMIG_HEADER_SIZE);
        smig_header_encode(tgt.held_tx, SMIG_MSG_RESUME, tgt.held_tx + SMIG_HEADER_SIZE,
                           (uint32_t)n);
        tgt.held_len = SMIG_HEADER_SIZE + n;
        tgt.held_off = 0;
        tgt.scan_next += tgt.scan_n;
        tgt.scan_n = 0;
    }
    return 1;
}

/* The link is gone mid-way (before mode, recorded): NAME.tmp and its record stay for the
 * same migration's reconnect; any other migration of NAME discards them.  False: not one
 * that resumes (the caller discards). */
static bool keep_for_resume(const char *why)
{
    if (!resumable() || !tgt.recorded || tgt.stage != T_DATA || !tgt.tmp[0])
        return false;
    struct vhdx_err verr;
    partition_pool_lock();
    bool ok = !tgt.disk || vhdx_flush(tgt.disk, &verr) == 0;
    close_file();
    ok = ok && fat_sync(pool_volume()) == 0;
    partition_pool_unlock();
    if (!ok)
        return false;
    char d[240];
    fmt_snprintf(d, sizeof(d), "%s; %s kept for a resume (%lu KiB received this time): the "
                 "same migration reconnecting resumes it, any other discards it", why, tgt.tmp,
                 (unsigned long)((tgt.written + tgt.zeroed) >> 10));
    line("link lost: ", d);
    release();
    return true;
}
