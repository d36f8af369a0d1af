/*
 * The source half of a storage migration (hv/core/storage_migrate.h): a staging ring the
 * disk job writes units into (the disk's worker, the pool's lock held) and the network poll
 * sends from (the boot CPU).  One producer, one consumer: head and tail are atomics.
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
#include "hv/mm/kmem.h"
#include "hv/storage/fat32.h"
#include "hv/storage/pool.h"
#include "hv/storage/disk_job.h"
#include "hv/storage/rate_limit.h"
#include "hv/storage/storage_mig_handover.h"
#include "hv/storage/storage_mig_resume.h"
#include "hv/storage/vhdx.h"

#define MIB (1ull << 20)
#define CHUNK (16u * 1024u)    /* zero runs inside a unit go as ZERO, at this grain */
#define SLOT_BYTES (SMIG_UNIT + (SMIG_UNIT / CHUNK) * (SMIG_HEADER_SIZE + SMIG_DATA_HEADER))
#define SLOT_PAGES ((SLOT_BYTES + 4095) / 4096)
#define CTL_BYTES 4096u

static struct source {
    enum storage_migrate_state stage;
    struct smig_chan ch;
    struct storage_migrate_params p;
    char host[32], name[SMIG_NAME_LEN];
    uint8_t *ctl;                       /* HELLO, COMMIT or ABORT going out */
    size_t ctl_len, ctl_off;
    struct {
        uint8_t *buf;
        uint32_t len;
    } slot[STORAGE_MIGRATE_SLOTS];
    uint32_t head, tail;                /* atomics: the consumer's and the producer's */
    size_t slot_off;                    /* of the head slot, being sent */
    bool slot_paid;                     /* the link's bucket has let the head slot go */
    bool commit_wanted, commit_sent, commit_out;
    uint64_t said_ns;                   /* the last "waiting for DONE" line */
    struct smig_commit commit;
    struct rate_limit rl;
    struct storage_migrate_stats st;
    struct vhdx_io io;
    char msg[200];
    /* after mode: READs answered from the pool file, opened once no partition has it */
    char path[SMIG_NAME_LEN];
    struct fat_file file;
    struct vhdx_io file_io;
    struct vhdx *disk;
    bool waiting_said, held_said;
    uint32_t ans_len, ans_off;          /* the answer in slot 0 */
    bool ans_paid;
    /* a differencing disk: parent files go out from slot 0 before any unit is staged */
    struct smig_src_chain chain;
    uint32_t pf_len, pf_off;
    bool pf_paid;
    struct rate_limit rrl;              /* read_mbps: the reads READs cost this disk */
    bool read_held;                     /* the READ waiting now was held back by rrl */
    /* around mode: HANDOVER, queued by storage_migrate_handover, after the staged units */
    uint8_t *hov;
    size_t hov_pages, hov_len, hov_off;
    bool hov_wanted;                    /* atomic: the producer is the partition's end */
    /* after mode, a differencing disk: HANDOVER names the units the child's own layer does
     * not touch (read through the parents there), sent before any READ is answered */
    bool layer_sent;
    /* liveness and resume (storage_mig_resume.h) */
    struct smig_resume_id id;
    struct smig_hello hello;            /* sent again on a reconnect */
    struct disk_job *job;               /* the copy (storage_migrate_set_job) */
    uint32_t units;
    uint32_t *known, *theirs;           /* per unit: the CRC-32C the job last read; the
                                         * target's, as HELD says */
    size_t crc_pages;
    bool resuming;                      /* the link was cut: reconnecting, HELD and READY due */
    uint32_t attempts, resumes, held_next;
    uint64_t cut_ns, retry_ns, resume_wire, bytes_base;
} src;

static void identity_first(void);
static bool resumable(void);
static void note_staged(uint64_t off, const uint8_t *b, size_t len);
static bool cut_resume(const char *why);
static bool reconnect_poll(void);
static int on_held(const uint8_t *pl, uint32_t len, char *err, size_t err_size);
static int resumed(char *err, size_t err_size);
static void resume_done_line(void);

/* ---- the job's target: stages units ------------------------------------------------- */

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* One DATA message (bytes, or ZERO) at m; its framed size. */
static size_t stage_message(uint8_t *m, uint64_t off, const uint8_t *bytes, uint32_t len,
                            bool zero)
{
    uint32_t pl = smig_data_head_encode(m + SMIG_HEADER_SIZE, off, len, zero ? SMIG_DATA_ZERO : 0);
    if (!zero)
        memcpy(m + SMIG_HEADER_SIZE + SMIG_DATA_HEADER, bytes, len);
    smig_header_encode(m, SMIG_MSG_DATA, m + SMIG_HEADER_SIZE, pl);
    if (zero)
        src.st.zero_bytes += len;
    else
        src.st.data_bytes += len;
    return SMIG_HEADER_SIZE + pl;
}

/*
 * The job writes a unit (at most SMIG_UNIT bytes): it becomes one slot of DATA messages,
 * runs of all-zero 16 KiB chunks as ZERO, the rest as bytes (at most 64 messages).
 */
static int io_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    (void)ctx;
    uint32_t head = __atomic_load_n(&src.head, __ATOMIC_ACQUIRE);
    uint32_t tail = src.tail;
    if (src.resuming && len && len <= SMIG_UNIT && off < src.p.disk_size) {
        note_staged(off, buf, len);     /* not sent now: the resume compares it */
        return 0;
    }
    if (__atomic_load_n(&src.stage, __ATOMIC_ACQUIRE) != SMIG_SRC_STREAM ||
        smig_src_chain_pending(&src.chain) || tail - head >= STORAGE_MIGRATE_SLOTS || !len || len > SMIG_UNIT ||
        off % src.p.sector_size || len % src.p.sector_size || off > src.p.disk_size ||
        len > src.p.disk_size - off)
        return -1;
    const uint8_t *b = buf;
    uint8_t *m = src.slot[tail % STORAGE_MIGRATE_SLOTS].buf;
    size_t used = 0, at = 0;
    while (at < len) {
        size_t k = len - at < CHUNK ? len - at : CHUNK;
        bool zero = all_zero(b + at, k);
        size_t run = k;
        while (at + run < len) {            /* the run of chunks alike */
            size_t k2 = len - at - run < CHUNK ? len - at - run : CHUNK;
            if (all_zero(b + at + run, k2) != zero)
                break;
            run += k2;
        }
        used += stage_message(m + used, off + at, b + at, (uint32_t)run, zero);
        at += run;
    }
    src.slot[tail % STORAGE_MIGRATE_SLOTS].len = (uint32_t)used;
    note_staged(off, b, len);
    __atomic_store_n(&src.tail, tail + 1, __ATOMIC_RELEASE);
    return 0;
}

static int io_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    (void)ctx, (void)off, (void)buf, (void)len;
    return -1;      /* the target is not read back (no resume over the link) */
}

static int io_flush(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&src.stage, __ATOMIC_ACQUIRE) == SMIG_SRC_FAILED ? -1 : 0;
}

static uint64_t io_size(void *ctx)
{
    (void)ctx;
    return src.p.disk_size;
}

static int io_resize(void *ctx, uint64_t size)
{
    (void)ctx;
    return size == 0 || size == src.p.disk_size ? 0 : -1;
}

const struct vhdx_io *storage_migrate_io(void)
{
    return &src.io;
}

unsigned storage_migrate_room(void)
{
    if (src.stage != SMIG_SRC_STREAM || src.commit_wanted || smig_src_chain_pending(&src.chain) ||
        src.pf_off < src.pf_len)
        return 0;
    uint32_t used = __atomic_load_n(&src.tail, __ATOMIC_ACQUIRE) -
                    __atomic_load_n(&src.head, __ATOMIC_ACQUIRE);
    return STORAGE_MIGRATE_SLOTS - used;
}

/* ---- opening and closing ------------------------------------------------------------- */

/* After mode: the pool file goes back (the pool's lock taken here). */
static void close_file(void)
{
    if (!src.disk && !src.file.v)
        return;
    partition_pool_lock();
    if (src.disk)
        vhdx_close(src.disk, NULL);
    else if (src.file.v)
        fat_close(&src.file);
    src.disk = NULL;
    src.file.v = NULL;
    partition_pool_unlock();
}

static void release(void)
{
    smig_chan_close(&src.ch);
    for (unsigned i = 0; i < STORAGE_MIGRATE_SLOTS; i++)
        if (src.slot[i].buf)
            kmem_free_pages(src.slot[i].buf, SLOT_PAGES);
    if (src.ctl)
        kmem_free_pages(src.ctl, 1);
    if (src.hov)
        kmem_free_pages(src.hov, src.hov_pages);
    if (src.known)
        kmem_free_pages(src.known, src.crc_pages);
    if (src.theirs)
        kmem_free_pages(src.theirs, src.crc_pages);
    src.known = src.theirs = NULL;
    src.resuming = false;
    memset(src.slot, 0, sizeof(src.slot));
    src.ctl = NULL;
    src.hov = NULL;
}

static void say(const char *what)
{
    kprintf("storage-migrate: outgoing %s to %s: %s\n", src.name, src.host, what);
}

static void fail(const char *fmt, const char *why)
{
    if (src.stage == SMIG_SRC_DONE || src.stage == SMIG_SRC_FAILED)
        return;
    fmt_snprintf(src.msg, sizeof(src.msg), fmt, why);
    say(src.msg);
    src.resuming = false;
    src.st.wire_bytes = src.ch.wire_bytes;
    __atomic_store_n(&src.stage, SMIG_SRC_FAILED, __ATOMIC_RELEASE);
    smig_chan_close(&src.ch);   /* the buffers stay until close: a step may be staging */
    if (src.p.after || __atomic_load_n(&src.hov_wanted, __ATOMIC_ACQUIRE)) {
        /* no job owns it (after; around once handed over): it ends here; the disk stays
         * here whole */
        close_file();
        release();
        src.stage = SMIG_SRC_IDLE;
    }
}

bool storage_migrate_open(const struct storage_migrate_params *p, char *err, size_t err_size)
{
    uint32_t ip;
    uint16_t port;
    if (src.stage != SMIG_SRC_IDLE) {
        fmt_snprintf(err, err_size, "a storage migration to %s is under way", src.host);
        return false;
    }
    if (!smig_parse_host(p->host, SMIG_DEFAULT_PORT, &ip, &port)) {
        fmt_snprintf(err, err_size, "the host is not A.B.C.D[:PORT]");
        return false;
    }
    if (!migrate_transport) {
        fmt_snprintf(err, err_size, "no network link to other hosts (control not started)");
        return false;
    }
    memset(&src, 0, sizeof(src));
    src.p = *p;
    fmt_snprintf(src.host, sizeof(src.host), "%s", p->host);
    fmt_snprintf(src.name, sizeof(src.name), "%s", p->name);
    src.p.host = src.host;
    src.p.name = src.name;
    src.io = (struct vhdx_io){ .read = io_read, .write = io_write, .flush = io_flush,
                               .size = io_size, .resize = io_resize };
    rate_limit_init(&src.rl, 0, (uint64_t)p->link_mbps * MIB, time_ns());
    rate_limit_init(&src.rrl, 0, (uint64_t)p->read_mbps * MIB, time_ns());
    src.ctl = kmem_alloc_pages(1);
    bool mem = src.ctl != NULL;
    if ((p->around || p->after) && mem) {
        uint32_t units = (uint32_t)((p->disk_size + SMIG_UNIT - 1) / SMIG_UNIT);
        /* and room for a differencing disk's layer map after it */
        src.hov_pages = (SMIG_HEADER_SIZE + 2 * smig_handover_size(units) + 4095) / 4096;
        mem = (src.hov = kmem_alloc_pages(src.hov_pages)) != NULL;
    }
    for (unsigned i = 0; i < STORAGE_MIGRATE_SLOTS && mem; i++)
        mem = (src.slot[i].buf = kmem_alloc_pages(SLOT_PAGES)) != NULL;
    void *s = mem ? migrate_transport->connect(ip, port, err, err_size) : NULL;
    if (!mem)
        fmt_snprintf(err, err_size, "out of memory for the staging buffers");
    if (!s || !smig_chan_open(&src.ch, migrate_transport, s, SMIG_REPLY_SIZE)) {
        if (s && mem)
            migrate_transport->close(s);
        release();
        if (s)
            fmt_snprintf(err, err_size, "out of memory for the link");
        return false;
    }
    if (p->after || p->around)
        fmt_snprintf(src.path, sizeof(src.path), "%s", p->path ? p->path : p->name);
    src.p.path = src.path;
    struct smig_hello h = { .version = SMIG_VERSION,
                            .flags = (p->verify ? SMIG_HELLO_VERIFY : 0) |
                                     (p->after ? SMIG_HELLO_AFTER : 0) |
                                     (p->around ? SMIG_HELLO_AROUND : 0),
                            .disk_size = p->disk_size, .sector_size = p->sector_size,
                            .block_size = p->block_size };
    fmt_snprintf(h.name, sizeof(h.name), "%s", p->name);
    if (p->disk && !smig_src_chain_list(p->disk, &h, &src.chain, err, err_size)) {
        release();      /* the link too */
        return false;
    }
    size_t n = smig_hello_encode(&h, src.ctl + SMIG_HEADER_SIZE, CTL_BYTES - SMIG_HEADER_SIZE);
    smig_header_encode(src.ctl, SMIG_MSG_HELLO, src.ctl + SMIG_HEADER_SIZE, (uint32_t)n);
    src.ctl_len = SMIG_HEADER_SIZE + n;
    src.stage = SMIG_SRC_HELLO;
    src.hello = h;
    identity_first();
    return true;
}

void storage_migrate_commit(bool has_crc, uint32_t crc)
{
    src.commit = (struct smig_commit){ .flags = has_crc ? SMIG_COMMIT_CRC : 0, .crc = crc,
                                       .bytes = src.st.data_bytes + src.st.zero_bytes -
                                                src.bytes_base };
    src.commit_wanted = true;
    src.job = NULL;     /* freed by the caller */
}

bool storage_migrate_handover(const uint8_t *current, uint32_t units)
{
    if (!src.p.around || !src.hov || __atomic_load_n(&src.hov_wanted, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&src.stage, __ATOMIC_ACQUIRE) != SMIG_SRC_STREAM ||
        (uint64_t)units * SMIG_UNIT < src.p.disk_size ||
        (uint64_t)(units - 1) * SMIG_UNIT >= src.p.disk_size)
        return false;
    size_t n = smig_handover_encode(units, current, src.hov + SMIG_HEADER_SIZE,
                                    src.hov_pages * 4096 - SMIG_HEADER_SIZE);
    smig_header_encode(src.hov, SMIG_MSG_HANDOVER, src.hov + SMIG_HEADER_SIZE, (uint32_t)n);
    src.hov_len = SMIG_HEADER_SIZE + n;
    src.hov_off = 0;
    __atomic_store_n(&src.hov_wanted, true, __ATOMIC_RELEASE);
    return true;
}

void storage_migrate_close(const char *why)
{
    /* A message half out (a staged unit, a parent's chunk, HELLO, an answer) cannot be
     * followed by ABORT's bytes: the target would read them as the rest of it. */
    bool mid = src.ch.tx_mid || src.slot_off || (src.ctl_off && src.ctl_off < src.ctl_len) ||
               (src.hov_off && src.hov_off < src.hov_len) || src.ans_off < src.ans_len;
    if (src.ch.s && src.stage != SMIG_SRC_DONE && src.stage != SMIG_SRC_FAILED && src.ctl &&
        !mid) {
        /* ABORT as far as the link takes it now; the target discards either way (on
         * ABORT, or when the link closes). */
        size_t n = smig_abort_encode(why, src.ctl + SMIG_HEADER_SIZE, CTL_BYTES - SMIG_HEADER_SIZE);
        smig_header_encode(src.ctl, SMIG_MSG_ABORT, src.ctl + SMIG_HEADER_SIZE, (uint32_t)n);
        size_t off = 0;
        char err[80];
        if (smig_chan_send(&src.ch, src.ctl, SMIG_HEADER_SIZE + n, &off, err, sizeof(err)) > 0)
            smig_chan_flush(&src.ch, err, sizeof(err));
    }
    release();
    src.job = NULL;
    src.stage = SMIG_SRC_IDLE;
}

enum storage_migrate_state storage_migrate_state(char *msg, size_t msg_size)
{
    if (msg && msg_size)
        fmt_snprintf(msg, msg_size, "%s", src.msg);
    return src.stage;
}

void storage_migrate_get_stats(struct storage_migrate_stats *out)
{
    *out = src.st;
    out->parent_bytes = src.chain.sent_bytes;
    out->parent_held_bytes = src.chain.held_bytes;
    if (src.ch.s)
        out->wire_bytes = src.ch.wire_bytes;
    out->link_throttled = src.rl.throttled;
    out->read_throttled = src.st.read_throttled;
}

/* ---- after mode: serving READs ---------------------------------------------------------- */

/* The pool's lock held: the pool file read-only (the partition that had it is gone). */
static bool open_file(char *err, size_t err_size)
{
    struct vhdx_err verr;
    if (!pool_volume() || fat_open(pool_volume(), src.path, 0, &src.file) != 0) {
        fmt_snprintf(err, err_size, "cannot open %s here", src.path);
        src.file.v = NULL;
        return false;
    }
    pool_vhdx_io(&src.file, &src.file_io);
    if (vhdx_open(pool_vhdx_env(), &src.file_io, src.path, VHDX_OPEN_READ_ONLY, &src.disk,
                  &verr)) {
        fmt_snprintf(err, err_size, "%s: %s", src.path, verr.msg);
        fat_close(&src.file);
        src.file.v = NULL;
        src.disk = NULL;
        return false;
    }
    struct vhdx_info info;
    vhdx_get_info(src.disk, &info);
    if (info.disk_size != src.p.disk_size) {
        fmt_snprintf(err, err_size, "%s changed size", src.path);
        return false;
    }
    return true;
}

/* DONE in the after mode. */
static int serve_done(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct smig_reply r;
    if (smig_reply_decode(pl, len, &r, err, err_size))
        return -1;
    if (r.status != SMIG_OK) {
        fmt_snprintf(err, err_size, "the target failed: %s", r.text);
        return -1;
    }
    src.st.target_bytes = r.bytes;
    src.st.wire_bytes = src.ch.wire_bytes;
    src.st.link_throttled = src.rl.throttled;
    char d[300];
    char reads[48] = "";
    if (src.p.read_mbps)
        fmt_snprintf(reads, sizeof(reads), ", reads throttled %lu times",
                     (unsigned long)src.st.read_throttled);
    fmt_snprintf(d, sizeof(d), "DONE received: %s; served %lu READs (%lu MiB of data, %lu MiB "
                 "as zero), wire %lu bytes, link throttled %lu times%s; %s stays here", r.text,
                 (unsigned long)src.st.reads_served, (unsigned long)(src.st.data_bytes >> 20),
                 (unsigned long)(src.st.zero_bytes >> 20), (unsigned long)src.ch.wire_bytes,
                 (unsigned long)src.rl.throttled, reads, src.path);
    say(d);
    fmt_snprintf(src.msg, sizeof(src.msg), "%s", r.text);
    close_file();
    release();
    src.stage = SMIG_SRC_IDLE;      /* no job owns it: the next migration may start */
    return 0;
}

/* One READ answered into slot 0 (or DONE taken): 1 go on, 0 wait, -1 failed. */
static int serve(char *err, size_t err_size)
{
    if (src.ans_off < src.ans_len)
        return 0;
    struct smig_header h;
    const uint8_t *pl;
    int got = smig_chan_recv(&src.ch, &h, &pl, err, err_size);
    if (got <= 0) {
        if (got == 0)
            src.ch.last_progress_ns = time_ns();    /* the target asks when it needs */
        return got;
    }
    if (h.type == SMIG_MSG_DONE) {
        int rc = serve_done(pl, h.length, err, err_size);
        if (src.ch.rx)
            smig_chan_consume(&src.ch);
        return rc;
    }
    struct smig_read rd;
    if (h.type != SMIG_MSG_READ) {
        fmt_snprintf(err, err_size, "the target sent message type %u out of turn", h.type);
        return -1;
    }
    if (smig_read_decode(pl, h.length, src.p.disk_size, src.p.sector_size, &rd, err, err_size))
        return -1;
    if (!src.st.reads_served && !src.waiting_said) {
        char d[80];
        fmt_snprintf(d, sizeof(d), "the first READ (unit %lu) received",
                     (unsigned long)(rd.offset / SMIG_UNIT));
        say(d);
        src.waiting_said = true;
    }
    if (!src.disk) {
        if (partition_disk_attached_anywhere(src.path)) {
            /* Its partition still runs here (the live migration has not moved it yet): the
             * READ waits, unread, so no unit leaves before the disk's last write. */
            src.ch.last_progress_ns = time_ns();
            if (!src.held_said)
                say("a READ waits: a partition here still has the disk");
            src.held_said = true;
            return 0;
        }
        partition_pool_lock();
        bool ok = open_file(err, err_size);
        partition_pool_unlock();
        if (!ok)
            return -1;
        char d[120];
        fmt_snprintf(d, sizeof(d), "serving READs from %s (read-only)", src.path);
        say(d);
    }
    if (src.p.read_mbps && !rate_limit_take(&src.rrl, rd.length, time_ns())) {
        /* mbps=: this disk's reads for the target are paced as the copy's were; the READ
         * stays unread meanwhile (the target waits, which is not a stall) */
        src.ch.last_progress_ns = time_ns();
        if (!src.read_held)
            src.st.read_throttled++;
        src.read_held = true;
        return 0;
    }
    src.read_held = false;
    uint8_t *m = src.slot[0].buf;
    uint8_t *bytes = m + SMIG_HEADER_SIZE + SMIG_DATA_HEADER;
    struct vhdx_err verr;
    partition_pool_lock();
    int rc = vhdx_read(src.disk, rd.offset, bytes, rd.length, &verr);
    partition_pool_unlock();
    smig_chan_consume(&src.ch);
    if (rc) {
        fmt_snprintf(err, err_size, "reading %s: %s", src.path, verr.msg);
        return -1;
    }
    bool zero = all_zero(bytes, rd.length);
    uint32_t pl_len = smig_data_head_encode(m + SMIG_HEADER_SIZE, rd.offset, rd.length,
                                            SMIG_DATA_FETCHED | (zero ? SMIG_DATA_ZERO : 0));
    smig_header_encode(m, SMIG_MSG_DATA, m + SMIG_HEADER_SIZE, pl_len);
    if (zero)
        src.st.zero_bytes += rd.length;
    else
        src.st.data_bytes += rd.length;
    src.st.reads_served++;
    src.ans_len = SMIG_HEADER_SIZE + pl_len;
    src.ans_off = 0;
    src.ans_paid = false;
    return 1;
}

/* The answer in slot 0 out, the link's bucket allowing: 1 out (or none), 0 pending. */
static int serve_send(char *err, size_t err_size)
{
    if (src.ans_off >= src.ans_len)
        return 1;
    if (!src.ans_paid && src.p.link_mbps && !rate_limit_take(&src.rl, src.ans_len, time_ns()))
        return 0;
    src.ans_paid = true;
    size_t off = src.ans_off;
    int s = smig_chan_send(&src.ch, src.slot[0].buf, src.ans_len, &off, err, err_size);
    src.ans_off = (uint32_t)off;
    if (s > 0)
        src.ans_off = src.ans_len = 0;
    return s;
}

static int send_parents(char *err, size_t err_size);

/*
 * The after mode with a differencing disk, before any READ: the parent files the target
 * lacks go whole, then (once no partition here has the disk: its last write is in) HANDOVER
 * names the units the child's own layer does not touch: the target reads those through its
 * copy of the parents and fetches only the others.  1 done, 0 pending, -1 failed.
 */
static int after_chain_turn(char *err, size_t err_size)
{
    if (src.p.around || !src.chain.count || src.layer_sent)
        return 1;
    int s = send_parents(err, err_size);
    if (s <= 0)
        return s;
    if (!src.hov_len) {
        if (partition_disk_attached_anywhere(src.path)) {
            src.ch.last_progress_ns = time_ns();    /* waiting for the machine to leave */
            return 0;
        }
        uint32_t units = (uint32_t)((src.p.disk_size + SMIG_UNIT - 1) / SMIG_UNIT);
        uint8_t *map = src.slot[0].buf;    /* free: the parents are out, no answer yet */
        partition_pool_lock();
        bool ok = src.disk || open_file(err, err_size);
        long here = ok ? smig_src_chain_layer_map(src.disk, src.p.disk_size, map, err,
                                                  err_size) : -1;
        partition_pool_unlock();
        if (here < 0)
            return -1;
        size_t n = smig_handover_encode(units, map, src.hov + SMIG_HEADER_SIZE,
                                        src.hov_pages * 4096 - SMIG_HEADER_SIZE);
        smig_header_encode(src.hov, SMIG_MSG_HANDOVER, src.hov + SMIG_HEADER_SIZE, (uint32_t)n);
        src.hov_len = SMIG_HEADER_SIZE + n;
        src.hov_off = 0;
        char d[200];
        fmt_snprintf(d, sizeof(d), "serving READs from %s (read-only); its own layer leaves "
                     "%ld of %u units to the parents there (not fetched)", src.path, here,
                     units);
        say(d);
    }
    s = smig_chan_send(&src.ch, src.hov, src.hov_len, &src.hov_off, err, err_size);
    if (s > 0)
        src.layer_sent = true;
    return s;
}

/* The after mode's poll: answers go out, READs come in, until DONE. */
static bool serve_poll(void)
{
    char err[160];
    err[0] = '\0';
    int rc = after_chain_turn(err, sizeof(err));
    for (int i = 0; i < 4 && rc > 0 && src.stage == SMIG_SRC_SERVE; i++) {
        rc = serve_send(err, sizeof(err));
        if (rc > 0)
            rc = serve(err, sizeof(err));
    }
    if (rc >= 0 && src.stage == SMIG_SRC_SERVE)
        rc = smig_chan_flush(&src.ch, err, sizeof(err));
    if (rc < 0)
        fail("%s", err);
    else if (src.stage == SMIG_SRC_SERVE && smig_chan_stalled(&src.ch))
        fail("%s", "the link moved nothing for 60 s");
    return src.stage == SMIG_SRC_SERVE;
}

/* ---- the network poll ----------------------------------------------------------------- */

/* The target's READY or DONE, or its failure in the middle. 1 go on, 0 wait, -1 failed. */
static int receive(char *err, size_t err_size)
{
    struct smig_header h;
    const uint8_t *pl;
    int got = smig_chan_recv(&src.ch, &h, &pl, err, err_size);
    if (got <= 0)
        return got;
    if (h.type == SMIG_MSG_RESUME && src.stage == SMIG_SRC_HELLO && src.resuming) {
        int rc = on_held(pl, h.length, err, err_size);
        smig_chan_consume(&src.ch);
        return rc;
    }
    if (h.type == SMIG_MSG_PARENTS && src.stage == SMIG_SRC_HELLO && src.chain.count &&
        !src.chain.answered) {
        struct smig_parents a;
        int rc = smig_parents_decode(pl, h.length, src.chain.count, &a, err, err_size);
        smig_chan_consume(&src.ch);
        if (rc)
            return -1;
        smig_src_chain_answered(&src.chain, &a, say);
        return 1;
    }
    struct smig_reply r;
    int rc = smig_reply_decode(pl, h.length, &r, err, err_size);
    smig_chan_consume(&src.ch);
    if (rc)
        return -1;
    bool ready = h.type == SMIG_MSG_READY && src.stage == SMIG_SRC_HELLO;
    bool done = h.type == SMIG_MSG_DONE && src.stage != SMIG_SRC_HELLO;
    if (!ready && !done) {
        fmt_snprintf(err, err_size, "the target sent message type %u out of turn", h.type);
        return -1;
    }
    if (r.status != SMIG_OK) {
        fmt_snprintf(err, err_size, "the target %s: %s",
                     r.status == SMIG_REFUSED ? "refused it" : "failed", r.text);
        return -1;
    }
    if (ready && src.chain.count &&
        (!src.chain.answered || r.parent_held != smig_parents_held(&src.chain.answers))) {
        fmt_snprintf(err, err_size, "the target accepted a differencing disk without answering "
                     "for its parents (or READY names another parent held)");
        return -1;
    }
    if (ready && src.resuming && resumed(err, err_size) < 0)
        return -1;
    if (ready) {
        src.stage = src.p.after ? SMIG_SRC_SERVE : SMIG_SRC_STREAM;
        if (src.p.after) {
            char d[160];
            fmt_snprintf(d, sizeof(d), "READY: the target pulls it; READs are served from %s "
                         "once no partition here has it", src.path);
            say(d);
        }
        return 1;
    }
    if (src.stage != SMIG_SRC_COMMIT || !src.commit_sent) {
        fmt_snprintf(err, err_size, "the target said done before the commit");
        return -1;
    }
    src.st.target_crc = r.crc;
    src.st.target_bytes = r.bytes;
    src.st.wire_bytes = src.ch.wire_bytes;
    fmt_snprintf(src.msg, sizeof(src.msg), "%s", r.text);
    char d[SMIG_TEXT_LEN + 32];
    fmt_snprintf(d, sizeof(d), "DONE received: %s", r.text);
    say(d);
    resume_done_line();
    src.stage = SMIG_SRC_DONE;
    smig_chan_close(&src.ch);
    return 0;
}

/* A differencing disk's parent files the target lacks, whole, from slot 0 (no unit is staged
 * meanwhile), the link's bucket allowing: 1 all out, 0 pending, -1 failed. */
static int send_parents(char *err, size_t err_size)
{
    for (;;) {
        if (src.pf_off >= src.pf_len) {
            long n = smig_src_chain_next(&src.chain, src.slot[0].buf, say, err, err_size);
            if (n <= 0)
                return (int)n < 0 ? -1 : 1;
            src.pf_len = (uint32_t)n;
            src.pf_off = 0;
            src.pf_paid = false;
            src.st.parent_bytes = src.chain.sent_bytes;
        }
        if (!src.pf_paid && src.p.link_mbps &&
            !rate_limit_take(&src.rl, src.pf_len, time_ns()))
            return 0;
        src.pf_paid = true;
        size_t off = src.pf_off;
        int s = smig_chan_send(&src.ch, src.slot[0].buf, src.pf_len, &off, err, err_size);
        src.pf_off = (uint32_t)off;
        if (s <= 0)
            return s;
        src.pf_off = src.pf_len = 0;
    }
}

/*
 * Around, a differencing disk, before HANDOVER goes (the machine has left): the units the
 * child's own layer does not touch now never had anything of its own (a layer only gains
 * sectors), so the copy never sent them and the target reads them through its copy of the
 * same parents: current there whether or not the copy's pass had reached them.  They join
 * HANDOVER's bitmap.  1 done, 0 wait (a partition here still has the file), -1 failed.
 */
static int around_layer(char *err, size_t err_size)
{
    if (!src.chain.count || src.layer_sent)
        return 1;
    if (partition_disk_attached_anywhere(src.path)) {
        src.ch.last_progress_ns = time_ns();
        return 0;
    }
    uint32_t units = (uint32_t)((src.p.disk_size + SMIG_UNIT - 1) / SMIG_UNIT);
    size_t n = src.hov_len - SMIG_HEADER_SIZE;
    uint8_t *bits = src.hov + SMIG_HEADER_SIZE + SMIG_HANDOVER_HEAD;
    uint8_t *map = src.hov + SMIG_HEADER_SIZE + n;     /* the room after the message */
    partition_pool_lock();
    bool ok = src.disk || open_file(err, err_size);
    long here = ok ? smig_src_chain_layer_map(src.disk, src.p.disk_size, map, err, err_size)
                   : -1;
    partition_pool_unlock();
    if (here < 0)
        return -1;
    uint32_t before = 0, after = 0;
    for (uint32_t u = 0; u < units; u++) {
        before += smig_handover_bit(bits, u);
        bits[u >> 3] |= map[u >> 3] & (uint8_t)(1u << (u & 7));
        after += smig_handover_bit(bits, u);
    }
    smig_header_encode(src.hov, SMIG_MSG_HANDOVER, src.hov + SMIG_HEADER_SIZE, (uint32_t)n);
    src.layer_sent = true;
    char d[200];
    fmt_snprintf(d, sizeof(d), "the child's own layer leaves %ld of %u units to the parents "
                 "there: %u units current there, %u of them by the copy", here, units, after,
                 before);
    say(d);
    return 1;
}

/* Sends what is due: HELLO, staged units (the link's bucket allowing), then COMMIT. */
static int send_due(char *err, size_t err_size)
{
    if (src.ctl_off < src.ctl_len)
        return smig_chan_send(&src.ch, src.ctl, src.ctl_len, &src.ctl_off, err, err_size);
    if (src.stage == SMIG_SRC_STREAM) {
        int s = send_parents(err, err_size);
        if (s <= 0)
            return s;
    }
    if (src.stage == SMIG_SRC_STREAM || src.stage == SMIG_SRC_COMMIT) {
        uint32_t head = src.head;
        while (head != __atomic_load_n(&src.tail, __ATOMIC_ACQUIRE)) {
            unsigned i = head % STORAGE_MIGRATE_SLOTS;
            if (!src.slot_paid && src.p.link_mbps &&
                !rate_limit_take(&src.rl, src.slot[i].len, time_ns()))
                return 0;
            src.slot_paid = true;
            int s = smig_chan_send(&src.ch, src.slot[i].buf, src.slot[i].len, &src.slot_off,
                                   err, err_size);
            if (s <= 0)
                return s;
            src.slot_off = 0;
            src.slot_paid = false;
            __atomic_store_n(&src.head, ++head, __ATOMIC_RELEASE);
        }
        if (src.stage == SMIG_SRC_STREAM && __atomic_load_n(&src.hov_wanted, __ATOMIC_ACQUIRE)) {
            /* Around: every staged unit is out; the machine has left: the target serves
             * from its copy and asks for the rest. */
            int l = around_layer(err, err_size);
            if (l <= 0)
                return l;
            int s = smig_chan_send(&src.ch, src.hov, src.hov_len, &src.hov_off, err, err_size);
            if (s <= 0)
                return s;
            src.stage = SMIG_SRC_SERVE;
            src.p.after = true;         /* no job owns it from here: as the after mode */
            char d[160];
            fmt_snprintf(d, sizeof(d), "HANDOVER sent (%lu KiB of data and %lu MiB as zero "
                         "copied before); READs are served from %s once no partition here has "
                         "it", (unsigned long)(src.st.data_bytes >> 10),
                         (unsigned long)(src.st.zero_bytes / MIB), src.path);
            say(d);
            src.st.data_bytes = src.st.zero_bytes = 0;  /* from here: what READs served */
            return 1;
        }
        if (src.commit_wanted && !src.commit_sent) {
            size_t n = smig_commit_encode(&src.commit, src.ctl + SMIG_HEADER_SIZE,
                                          CTL_BYTES - SMIG_HEADER_SIZE);
            smig_header_encode(src.ctl, SMIG_MSG_COMMIT, src.ctl + SMIG_HEADER_SIZE,
                               (uint32_t)n);
            src.ctl_len = SMIG_HEADER_SIZE + n;
            src.ctl_off = 0;
            src.commit_sent = true;
            src.stage = SMIG_SRC_COMMIT;
            src.ch.keepalive_ns = 0;    /* the target closes after DONE: nothing after COMMIT */
            return smig_chan_send(&src.ch, src.ctl, src.ctl_len, &src.ctl_off, err, err_size);
        }
    }
    return 1;
}

bool storage_migrate_source_poll(void)
{
    if (src.stage == SMIG_SRC_IDLE || src.stage == SMIG_SRC_DONE ||
        src.stage == SMIG_SRC_FAILED)
        return false;
    if (src.stage == SMIG_SRC_SERVE)
        return serve_poll();
    if (src.resuming && !src.ch.s)
        return reconnect_poll();
    char err[160];
    err[0] = '\0';
    int rc = send_due(err, sizeof(err));
    if (src.stage == SMIG_SRC_SERVE)
        return serve_poll();
    if (src.p.around && src.stage == SMIG_SRC_STREAM &&
        src.head == __atomic_load_n(&src.tail, __ATOMIC_ACQUIRE))
        src.ch.last_progress_ns = time_ns();    /* waiting for the machine is not a stall */
    if (rc >= 0)
        rc = smig_chan_flush(&src.ch, err, sizeof(err));
    if (rc > 0 && src.commit_sent && !src.commit_out && src.ctl_off >= src.ctl_len) {
        src.commit_out = true;      /* the COMMIT's last record has left TLS */
        src.said_ns = time_ns();
        char d[96];
        fmt_snprintf(d, sizeof(d), "COMMIT sent (%lu bytes staged, wire %lu bytes)",
                     (unsigned long)src.commit.bytes, (unsigned long)src.ch.wire_bytes);
        say(d);
    } else if (time_ns() - src.ch.last_progress_ns > 10000000000ull &&
               time_ns() - src.said_ns > 10000000000ull) {
        src.said_ns = time_ns();
        char d[120];
        fmt_snprintf(d, sizeof(d), "nothing moved for %lu s (%s, %u units staged)",
                     (unsigned long)((time_ns() - src.ch.last_progress_ns) / 1000000000ull),
                     src.commit_out ? "waiting for DONE" : src.stage == SMIG_SRC_HELLO
                     ? "waiting for READY" : "sending",
                     __atomic_load_n(&src.tail, __ATOMIC_ACQUIRE) - src.head);
        say(d);
    }
    if (rc >= 0)
        rc = receive(err, sizeof(err));
    if (rc < 0 && !(src.ch.link_down && cut_resume(err)))
        fail("%s", err);
    else if (rc >= 0 && src.stage != SMIG_SRC_DONE && smig_chan_stalled(&src.ch) &&
             !cut_resume("the link moved nothing for 60 s"))
        fail("%s", "the link moved nothing for 60 s");
    return src.stage != SMIG_SRC_DONE && src.stage != SMIG_SRC_FAILED;
}

/* ---- liveness and resume ---------------------------------------------------------------- */

/* The migration's identity (its session, the disk's DataWriteGuid, the idle timeout) goes
 * out before HELLO, which is in ctl. */
static void identity_first(void)
{
    if (guid_is_zero(&src.id.session)) {
        const struct vhdx_env *env = pool_vhdx_env();
        if (env && env->random_guid)
            env->random_guid(env->ctx, &src.id.session);
        if (guid_is_zero(&src.id.session)) {    /* no generator: the clock and the disk */
            uint64_t t = time_ns();
            memcpy(src.id.session.b, &t, sizeof(t));
            src.id.session.b[15] = 1;
        }
        if (src.p.disk) {
            struct vhdx_info info;
            vhdx_get_info(src.p.disk, &info);
            src.id.data_write = info.data_write_guid;
        }
    }
    src.id.idle_s = src.p.idle_s ? src.p.idle_s : SMIG_IDLE_DEFAULT_S;
    smig_chan_set_idle(&src.ch, src.id.idle_s);
    if (!src.known && resumable()) {
        src.units = (uint32_t)((src.p.disk_size + SMIG_UNIT - 1) / SMIG_UNIT);
        src.crc_pages = ((size_t)src.units * 4 + 4095) / 4096;
        src.known = kmem_alloc_pages(src.crc_pages);
        src.theirs = kmem_alloc_pages(src.crc_pages);
        uint32_t zero = smig_zero_crc(SMIG_UNIT);
        for (uint32_t u = 0; src.known && u < src.units; u++)     /* a new VHDX reads zero */
            src.known[u] = u + 1 < src.units ? zero
                                             : smig_zero_crc(smig_unit_len(src.p.disk_size, u));
    }
    uint8_t m[SMIG_HEADER_SIZE + SMIG_RESUME_ID_SIZE];
    size_t n = smig_resume_id_encode(&src.id, m + SMIG_HEADER_SIZE, SMIG_RESUME_ID_SIZE);
    smig_header_encode(m, SMIG_MSG_RESUME, m + SMIG_HEADER_SIZE, (uint32_t)n);
    memmove(src.ctl + sizeof(m), src.ctl, src.ctl_len);
    memcpy(src.ctl, m, sizeof(m));
    src.ctl_len += sizeof(m);
}

bool storage_migrate_poll(void)
{
    bool a = storage_migrate_source_poll();
    bool b = storage_migrate_target_poll();
    return a || b;
}

/* A cut link is resumed in the before mode (not after or around: the machine's writes may
 * be on the target; not a chain: its parents' files go first). */
static bool resumable(void)
{
    return !src.p.after && !src.p.around && !src.chain.count;
}

void storage_migrate_set_job(struct disk_job *j)
{
    src.job = j;
}

/* The pool's lock held (the job's step): what the job read for the unit at off. */
static void note_staged(uint64_t off, const uint8_t *b, size_t len)
{
    if (!src.known)
        return;
    uint32_t u = (uint32_t)(off / SMIG_UNIT);
    if (u >= src.units)
        return;
    if (off % SMIG_UNIT || len != smig_unit_len(src.p.disk_size, u))
        src.known[u] = ~smig_zero_crc((uint32_t)len);  /* a piece of a unit: sent again */
    else
        src.known[u] = crc32c(0, b, len);
}

#define SMIG_RESUMES_MAX 16u     /* cuts resumed per migration; the next one fails it */

/* Backoff between reconnects: 1, 2, 4, 8, then 16 s; tried until three idle timeouts and
 * 30 s more have passed since the cut (the target needs an idle timeout to notice, and an
 * attempt whose connection never comes up takes one). */
static uint64_t backoff_ns(uint32_t attempt)
{
    uint32_t s = attempt < 5 ? 1u << attempt : 16u;
    return (uint64_t)s * 1000000000ull;
}

static uint64_t resume_window_ns(void)
{
    return ((uint64_t)src.id.idle_s * 3 + 30) * 1000000000ull;
}

/* The link failed (or the peer went silent) while streaming: the guest goes on here, the
 * staged units are dropped (the resume compares them), the link is tried again.  False:
 * not a migration that resumes (the caller fails it). */
static bool cut_resume(const char *why)
{
    bool streaming = src.stage == SMIG_SRC_STREAM && !src.commit_wanted && !src.commit_sent;
    if (!src.known || !src.theirs || !resumable() || !(streaming || src.resuming) ||
        src.resumes >= SMIG_RESUMES_MAX)
        return false;
    if (!src.resuming && src.job) {
        struct disk_job_progress pr;
        disk_job_get_progress(src.job, &pr);
        if (pr.state == DISK_JOB_READY)
            return false;   /* the final pause may hold the guest: not for a reconnect */
    }
    uint64_t now = time_ns();
    if (!src.resuming)
        src.cut_ns = now;
    if (now - src.cut_ns > resume_window_ns())
        return false;
    partition_pool_lock();          /* no step stages meanwhile */
    __atomic_store_n(&src.stage, SMIG_SRC_HELLO, __ATOMIC_RELEASE);
    src.resuming = true;
    __atomic_store_n(&src.head, __atomic_load_n(&src.tail, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
    src.slot_off = 0;
    src.slot_paid = false;
    partition_pool_unlock();
    src.resume_wire = src.ch.wire_bytes;
    smig_chan_close(&src.ch);
    src.ctl_len = src.ctl_off = 0;
    src.retry_ns = now + backoff_ns(src.attempts);
    char d[300];
    fmt_snprintf(d, sizeof(d), "link lost: %s; the guest goes on here, reconnecting in %lu s "
                 "(attempt %u, until %lu s after the cut)", why,
                 (unsigned long)(backoff_ns(src.attempts) / 1000000000ull), src.attempts + 1,
                 (unsigned long)(resume_window_ns() / 1000000000ull));
    say(d);
    src.attempts++;
    return true;
}

/* Reconnecting: the next attempt when due; HELLO (and the identity, RETRY) queued again. */
static bool reconnect_poll(void)
{
    uint64_t now = time_ns();
    if (now < src.retry_ns)
        return true;
    uint32_t ip;
    uint16_t port;
    char err[160];
    err[0] = '\0';
    void *s = NULL;
    if (smig_parse_host(src.host, SMIG_DEFAULT_PORT, &ip, &port))
        s = migrate_transport->connect(ip, port, err, sizeof(err));
    uint64_t wire = src.resume_wire;
    if (!s || !smig_chan_open(&src.ch, migrate_transport, s, SMIG_REPLY_SIZE +
                              SMIG_HELD_SIZE(SMIG_HELD_MAX))) {
        if (s)
            migrate_transport->close(s);
        src.ch.s = NULL;
        if (now - src.cut_ns > resume_window_ns()) {
            src.resuming = false;
            fail("the link is gone and did not come back (%s)", err[0] ? err : "no connection");
            return false;
        }
        src.retry_ns = now + backoff_ns(src.attempts++);
        return true;
    }
    src.ch.wire_bytes = wire;       /* counted across connections */
    src.resume_wire = wire;
    size_t n = smig_hello_encode(&src.hello, src.ctl + SMIG_HEADER_SIZE,
                                 CTL_BYTES - SMIG_HEADER_SIZE);
    smig_header_encode(src.ctl, SMIG_MSG_HELLO, src.ctl + SMIG_HEADER_SIZE, (uint32_t)n);
    src.ctl_len = SMIG_HEADER_SIZE + n;
    src.ctl_off = 0;
    src.id.flags |= SMIG_RESUME_RETRY;
    src.id.attempt = src.attempts;
    src.held_next = 0;
    identity_first();
    return true;
}

/* HELD: the target's CRC of each unit it holds, in order. */
static int on_held(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    uint32_t count;
    const uint8_t *crcs;
    if (smig_held_decode(pl, len, src.units, src.held_next, &count, &crcs, err, err_size))
        return -1;
    for (uint32_t i = 0; i < count; i++)
        src.theirs[src.held_next + i] = smig_held_crc(crcs, i);
    src.held_next += count;
    return 1;
}

/* READY after a reconnect: every unit the job has passed whose CRC differs on the target is
 * marked to be copied again; the rest stays.  -1: the target answered for part of it. */
static int resumed(char *err, size_t err_size)
{
    if (src.held_next && src.held_next != src.units) {
        fmt_snprintf(err, err_size, "the target answered for %u of %u units", src.held_next,
                     src.units);
        return -1;
    }
    bool fresh = !src.held_next;        /* it started over: a new file reads zero */
    uint32_t zero = smig_zero_crc(SMIG_UNIT);
    for (uint32_t u = 0; fresh && u < src.units; u++)
        src.theirs[u] = u + 1 < src.units ? zero
                                          : smig_zero_crc(smig_unit_len(src.p.disk_size, u));
    size_t bm_pages = ((size_t)src.units / 8 + 1 + 4095) / 4096;
    uint8_t *resend = kmem_alloc_pages(bm_pages);
    if (!resend) {
        fmt_snprintf(err, err_size, "out of memory for the resume");
        return -1;
    }
    partition_pool_lock();
    /* units the job has not passed yet go with the first pass (note_write skips them) */
    uint32_t again = smig_resume_plan(src.units, src.units, src.known, src.theirs, resend);
    uint32_t same = src.units - again;
    for (uint32_t u = 0; u < src.units; u++)
        if (resend[u >> 3] >> (u & 7) & 1)
            disk_job_note_write(src.job, (uint64_t)u * SMIG_UNIT,
                                smig_unit_len(src.p.disk_size, u));
    src.bytes_base = src.st.data_bytes + src.st.zero_bytes;
    src.resuming = false;
    partition_pool_unlock();
    kmem_free_pages(resend, bm_pages);
    src.resumes++;
    src.attempts = 0;
    src.resume_wire = src.ch.wire_bytes;
    char d[240];
    fmt_snprintf(d, sizeof(d), "resumed: the target %s; %u of %u units there are as read "
                 "here, %u differ (those passed are copied again, the rest as the pass goes)",
                 fresh ? "started over (nothing kept)" : "kept its copy", same, src.units,
                 again);
    say(d);
    return 1;
}

static void resume_done_line(void)
{
    if (!src.resumes)
        return;
    char d[200];
    fmt_snprintf(d, sizeof(d), "after the last resume: wire %lu bytes for a disk of %lu bytes "
                 "(%u resumes)", (unsigned long)(src.ch.wire_bytes - src.resume_wire),
                 (unsigned long)src.p.disk_size, src.resumes);
    say(d);
}
