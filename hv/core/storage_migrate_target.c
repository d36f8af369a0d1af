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
#include "hv/core/partition_disks.h"
#include "hv/core/storage_migrate_chan.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/storage/fat32.h"
#include "hv/storage/pool.h"
#include "hv/storage/vhdx.h"

#define MIB (1ull << 20)
#define TMP_SUFFIX ".tmp"

enum stage { T_IDLE, T_HELLO, T_DATA, T_REPLY };

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
} tgt;

static void line(const char *what, const char *detail)
{
    kprintf("storage-migrate: incoming %s%sfrom %s: %s%s\n", tgt.hello.name,
            tgt.hello.name[0] ? " " : "", tgt.peer, what, detail);
}

/* The pool's lock held: NAME.tmp goes. */
static void discard_file(void)
{
    if (tgt.disk)
        vhdx_close(tgt.disk, NULL);
    tgt.disk = NULL;
    if (tgt.file_open)
        fat_close(&tgt.file);
    tgt.file_open = false;
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
    if (tgt.tx)
        kmem_free_pages(tgt.tx, 1);
    tgt.tx = NULL;
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
    if (tgt.stage != T_IDLE || !migrate_transport)
        return false;
    memset(&tgt, 0, sizeof(tgt));
    fmt_snprintf(tgt.peer, sizeof(tgt.peer), "%s", peer);
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
    struct smig_reply r = { .status = status, .crc = crc, .parent_held = -1,
                            .bytes = tgt.written };
    fmt_snprintf(r.text, sizeof(r.text), "%s", text);
    size_t n = smig_reply_encode(&r, tgt.tx + SMIG_HEADER_SIZE, 4096 - SMIG_HEADER_SIZE);
    smig_header_encode(tgt.tx, type, tgt.tx + SMIG_HEADER_SIZE, (uint32_t)n);
    tgt.tx_len = SMIG_HEADER_SIZE + n;
    tgt.tx_off = 0;
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
    if (vhdx_create(pool_vhdx_env(), &tgt.io, &cp, &verr) ||
        vhdx_open(pool_vhdx_env(), &tgt.io, tgt.tmp, 0, &tgt.disk, &verr)) {
        fmt_snprintf(err, err_size, "%s: %s", tgt.tmp, verr.msg);
        return false;
    }
    return true;
}

static bool on_hello(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    if (smig_hello_decode(pl, len, &tgt.hello, err, err_size))
        return false;
    if (!pool_volume()) {
        fmt_snprintf(err, err_size, "no storage pool is mounted here");
        return false;
    }
    if (tgt.hello.parents) {
        /* The identity seed (smig_parent_held) needs a differencing disk on a parent here,
         * and the pool opens no parents yet. */
        fmt_snprintf(err, err_size, "a differencing disk (the pool here opens no parents)");
        return false;
    }
    partition_pool_lock();
    bool ok = create_file(err, err_size);
    if (!ok)
        discard_file();
    partition_pool_unlock();
    if (!ok)
        return false;
    char d[64];
    fmt_snprintf(d, sizeof(d), "%lu MiB, block %u MiB: accepted",
                 (unsigned long)(tgt.hello.disk_size / MIB), tgt.hello.block_size >> 20);
    line("", d);
    reply(SMIG_MSG_READY, SMIG_OK, 0, "accepted");
    tgt.stage = T_DATA;
    return true;
}

static bool on_data(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct smig_data d;
    if (smig_data_decode(pl, len, tgt.hello.disk_size, tgt.hello.sector_size, &d, err, err_size))
        return false;
    struct vhdx_err verr;
    partition_pool_lock();
    int rc = d.bytes ? vhdx_write(tgt.disk, d.offset, d.bytes, d.length, &verr)
                     : vhdx_trim(tgt.disk, d.offset, d.length, &verr);
    partition_pool_unlock();
    if (rc) {
        fmt_snprintf(err, err_size, "writing %s: %s", tgt.tmp, verr.msg);
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

/* One step: 1 go on, 0 wait, -1 failed (err). */
static int step(char *err, size_t err_size)
{
    if (tgt.tx_off < tgt.tx_len) {
        int s = smig_chan_send(&tgt.ch, tgt.tx, tgt.tx_len, &tgt.tx_off, err, err_size);
        if (s <= 0)
            return s;
    }
    int f = smig_chan_flush(&tgt.ch, err, err_size);
    if (f < 0 || (f == 0 && tgt.stage == T_REPLY))
        return f;
    if (tgt.stage == T_REPLY) {         /* DONE or the refusal is out: the link closes */
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
    if (tgt.stage == T_HELLO && h.type == SMIG_MSG_HELLO) {
        if (!on_hello(pl, h.length, err, err_size)) {   /* refused: say so, then close */
            fmt_snprintf(tgt.refusal, sizeof(tgt.refusal), "%s", err);
            reply(SMIG_MSG_READY, SMIG_REFUSED, 0, err);
            tgt.stage = T_REPLY;
        }
    } else if (tgt.stage == T_DATA && h.type == SMIG_MSG_DATA) {
        ok = on_data(pl, h.length, err, err_size);
    } else if (tgt.stage == T_DATA && h.type == SMIG_MSG_COMMIT) {
        ok = on_commit(pl, h.length, err, err_size);
    } else if (h.type == SMIG_MSG_ABORT) {
        char why[SMIG_TEXT_LEN], text[SMIG_TEXT_LEN + 24];
        smig_abort_decode(pl, h.length, why, sizeof(why));
        fmt_snprintf(text, sizeof(text), "the source aborted: %s", why);
        smig_chan_consume(&tgt.ch);
        discard(text);
        return 0;
    } else {
        fmt_snprintf(err, err_size, "message type %u out of turn", h.type);
        ok = false;
    }
    smig_chan_consume(&tgt.ch);
    if (!ok && tgt.stage == T_DATA) {   /* tell the source why, then discard */
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
    char err[160];
    err[0] = '\0';
    int rc = 0;
    /* A few messages per poll: the guest's CPUs run between polls. */
    for (int i = 0; i < 8 && (rc = step(err, sizeof(err))) > 0; i++)
        ;
    if (tgt.stage == T_IDLE)
        return false;
    if (rc < 0)
        discard(err);
    else if (smig_chan_stalled(&tgt.ch))
        discard("the link moved nothing for 60 s");
    return tgt.stage != T_IDLE;
}
