/*
 * Both kernel halves of a storage migration (hv/core/storage_migrate_source.c, _target.c,
 * _chan.c) in one process: the source's transport is an in-memory pipe whose far end the
 * target accepts, the target's pool a FAT32 image (mkfs.fat) in memory, the clock a counter.
 * The source is fed units as the disk job would; the target's file is read back through
 * the VHDX module.  Also: a refusal (the name exists), ABORT, a cut link, a stalled one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hv/core/storage_migrate.h"
#include "hv/core/storage_migrate_parents.h"
#include "hv/core/migrate.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/peer_slots.h"
#include "hv/storage/disk_job.h"
#include "hv/storage/fat32.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/vhdx.h"
#include "hv/storage/vhdx_parent_path.h"
#include "tests/unit/test_block_mem.h"
#include "tests/unit/pool_parent_env.h"

#define MIB (1u << 20)
#define DISK (4u * MIB)

/* ---- the kernel's services, faked --------------------------------------------------- */

static uint64_t now_ns = 1;
uint64_t time_ns(void) { return now_ns; }

static char console[16384];
int kprintf(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (strlen(console) + strlen(line) < sizeof(console))
        strcat(console, line);
    return n;
}

void *kmem_alloc_pages(size_t count)
{
    void *p = aligned_alloc(4096, count * 4096);
    if (p)
        memset(p, 0, count * 4096);
    return p;
}
void kmem_free_pages(void *va, size_t count) { (void)count; free(va); }
void *kmalloc(size_t size) { return calloc(1, size); }
void kfree(void *p) { free(p); }
void partition_pool_lock(void) {}
void partition_pool_unlock(void) {}
/* The after mode's source serves READs only once no partition here has the disk. */
static bool src_attached;
bool partition_disk_attached_anywhere(const char *path) { (void)path; return src_attached; }

static struct fat_vol vol;
static bool vol_mounted;
/* The chain tests give the source a pool of its own: the halves are polled apart, each
 * with its pool as the pool. */
static struct fat_vol *cur_vol;
struct fat_vol *pool_volume(void) { return cur_vol ? cur_vol : vol_mounted ? &vol : NULL; }

static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }
static void env_guid(void *ctx, struct guid *out)
{
    static uint8_t n;
    (void)ctx;
    memset(out->b, ++n, sizeof(out->b));
}
/* A parent as hv/storage/pool_vhdx.c opens it: the pool file its locator names. */
static struct fat_vol *parent_volume(void) { return pool_volume(); }
static const struct pool_parents parents = { parent_volume };

static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free,
                                     .random_guid = env_guid, .ctx = (void *)&parents, .open_parent = pool_parent_open,
                                     .close_parent = pool_parent_close };
const struct vhdx_env *pool_vhdx_env(void) { return &env; }

/* ---- the link: two byte queues, a window per write ----------------------------------- */

struct queue {
    uint8_t *buf;
    size_t len, cap;
};
struct end {
    struct queue *in, *out;
    bool closed;
};
static struct queue a2b, b2a;
static struct end end_a = { &b2a, &a2b, false }, end_b = { &a2b, &b2a, false };
static bool cut, flush_pending;
static size_t window = 48 * 1024;     /* what one write takes: partial writes happen */

static long p_read(void *s, void *buf, size_t len)
{
    struct end *e = s;
    if (cut)
        return -2;
    size_t n = e->in->len < len ? e->in->len : len;
    memcpy(buf, e->in->buf, n);
    memmove(e->in->buf, e->in->buf + n, e->in->len - n);
    e->in->len -= n;
    return (long)n;
}

static long p_write(void *s, const void *buf, size_t len)
{
    struct end *e = s;
    if (cut)
        return -2;
    size_t n = len < window ? len : window;
    if (e->out->len + n > e->out->cap)
        n = e->out->cap - e->out->len;
    memcpy(e->out->buf + e->out->len, buf, n);
    e->out->len += n;
    return (long)n;
}

/* Every other flush says "pending" (TLS buffering): the callers must flush again. */
static int p_flush(void *s)
{
    (void)s;
    if (cut)
        return -2;
    flush_pending = !flush_pending;
    return flush_pending ? 0 : 1;
}

static void p_why(void *s, char *out, size_t size)
{
    (void)s;
    snprintf(out, size, "%s", cut ? "reset" : "");
}

static void p_close(void *s) { ((struct end *)s)->closed = true; }

static void *p_connect(uint32_t ip, uint16_t port, char *err, size_t err_size)
{
    (void)err, (void)err_size;
    assert_int_equal(ip, 0x0a000302);
    assert_int_equal(port, 7405);
    end_a.closed = end_b.closed = false;
    a2b.len = b2a.len = 0;
    if (!storage_migrate_target_accept(&end_b, "10.0.3.1"))
        return NULL;
    return &end_a;
}

static const struct migrate_transport pipe_transport = {
    .connect = p_connect, .read = p_read, .write = p_write, .flush = p_flush, .why = p_why,
    .close = p_close,
};
const struct migrate_transport *migrate_transport = &pipe_transport;

/* ---- fixture -------------------------------------------------------------------------- */

static uint8_t *img;
static uint64_t img_bytes;
static struct mem_disk mdisk;
static struct block_io bio;
static uint8_t disk[DISK];            /* what the source's disk holds */

static int setup(void **state)
{
    (void)state;
    img = mem_disk_mkfs_fat(512, 8, "POOL", 64, &img_bytes);
    mem_disk_init(&mdisk, img, img_bytes, 512, &bio);
    if (!img || fat_mount(&vol, &bio) != FAT_OK)
        return -1;
    vol_mounted = true;
    a2b.cap = b2a.cap = 8 * MIB;
    a2b.buf = malloc(a2b.cap);
    b2a.buf = malloc(b2a.cap);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(img);
    free(a2b.buf);
    free(b2a.buf);
    return 0;
}

static bool exists(const char *path)
{
    struct fat_stat st;
    return fat_stat(&vol, path, &st) == 0;
}

static const struct storage_migrate_params params = {
    .host = "10.0.3.2", .name = "io.vhdx", .disk_size = DISK, .sector_size = 512,
    .block_size = MIB, .verify = true, .link_mbps = 1,
};

/* Polls until the source's state is `want` (or a bound). */
static enum storage_migrate_state poll_until(enum storage_migrate_state want, char *msg)
{
    enum storage_migrate_state st = SMIG_SRC_IDLE;
    for (int i = 0; i < 20000; i++) {
        storage_migrate_poll();
        st = storage_migrate_state(msg, 200);
        if (st == want || st == SMIG_SRC_FAILED || (want == SMIG_SRC_STREAM &&
                                                    st != SMIG_SRC_HELLO))
            break;
        now_ns += 1000000;
    }
    return st;
}

/* Polls, the clock moving 1 ms a turn, until the source is idle again: its migration ended. */
static void poll_until_idle(char *msg)
{
    for (int i = 0; i < 20000 && storage_migrate_state(msg, 200) != SMIG_SRC_IDLE; i++) {
        storage_migrate_poll();
        now_ns += 1000000;
    }
    assert_int_equal(storage_migrate_state(msg, 200), SMIG_SRC_IDLE);
}

/* d reads, whole, as what the source's disk holds. */
static void assert_reads_as_disk(struct vhdx *d)
{
    static uint8_t all[DISK];
    struct vhdx_err verr;
    assert_int_equal(vhdx_read(d, 0, all, DISK, &verr), 0);
    assert_memory_equal(all, disk, DISK);
}

/* The unit at u, as the job writes it: waits for room like disk_ops. */
static void stage_unit(unsigned u)
{
    for (int i = 0; i < 20000 && storage_migrate_room() < 2; i++) {
        storage_migrate_poll();
        now_ns += 1000000;
    }
    assert_true(storage_migrate_room() >= 2);
    assert_int_equal(storage_migrate_io()->write(NULL, (uint64_t)u * MIB, disk + u * MIB, MIB), 0);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char msg[200];
    memset(disk, 0, sizeof(disk));
    for (unsigned i = 0; i < 16384; i++)
        disk[i] = (uint8_t)(i * 7 + 1);                  /* unit 0: 16 KiB, then zeros */
    for (unsigned i = 0; i < MIB; i++)
        disk[2 * MIB + i] = (uint8_t)(i ^ (i >> 9));     /* unit 2: full */
    disk[3 * MIB + 700 * 1024] = 9;                      /* unit 3: one byte mid-way */
    assert_true(storage_migrate_open(&params, msg, sizeof(msg)));
    assert_int_equal(storage_migrate_room(), 0);        /* nothing before READY */
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    assert_non_null(strstr(console, "storage-migrate: incoming io.vhdx from 10.0.3.1: 4 MiB, "
                                    "block 1 MiB: accepted\n"));
    assert_true(exists("io.vhdx.tmp"));
    for (unsigned u = 0; u < 4; u++)
        stage_unit(u);
    disk[5] = 0xee;                                      /* a guest write: sent again */
    stage_unit(0);
    storage_migrate_commit(true, crc32c(0, disk, sizeof(disk)));
    assert_int_equal(storage_migrate_room(), 0);
    assert_int_equal(poll_until(SMIG_SRC_DONE, msg), SMIG_SRC_DONE);
    assert_string_equal(msg, "committed as io.vhdx");
    struct storage_migrate_stats st;
    storage_migrate_get_stats(&st);
    assert_int_equal(st.target_crc, crc32c(0, disk, sizeof(disk)));
    /* zero runs went as ZERO: units 0 (twice), 2 and 3 carry 16 + 16 + 1024 + 16 KiB */
    assert_int_equal(st.data_bytes, (16 + 16 + 1024 + 16) * 1024);
    /* 1 MiB/s on the link, a second's burst: the last units waited for the bucket */
    assert_true(st.link_throttled > 0);
    assert_int_equal(st.data_bytes + st.zero_bytes, 5u * MIB);
    assert_true(st.wire_bytes > st.data_bytes);
    storage_migrate_close("");
    for (int i = 0; i < 10; i++)
        storage_migrate_poll();
    assert_non_null(strstr(console, "committed: 1 MiB written, 3 MiB zero, crc32c 0x"));
    assert_non_null(strstr(console, "(equal to the source's)"));
    assert_false(exists("io.vhdx.tmp"));
    assert_true(end_a.closed && end_b.closed);

    struct fat_file f;
    struct vhdx_io io;
    struct vhdx *d;
    struct vhdx_err err;
    static uint8_t back[DISK];
    assert_int_equal(fat_open(&vol, "io.vhdx", 0, &f), 0);
    pool_vhdx_io(&f, &io);
    assert_int_equal(vhdx_open(&env, &io, "io.vhdx", 0, &d, &err), 0);
    assert_int_equal(vhdx_read(d, 0, back, DISK, &err), 0);
    assert_memory_equal(back, disk, DISK);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.blocks_present, 3);           /* unit 1 never allocated */
    vhdx_close(d, NULL);
    fat_close(&f);
}

static void test_refused_when_it_exists(void **state)
{
    (void)state;
    char msg[200];
    assert_true(exists("io.vhdx"));                     /* from the round trip */
    assert_true(storage_migrate_open(&params, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_FAILED);
    assert_non_null(strstr(msg, "the target refused it: io.vhdx exists in the pool here"));
    assert_false(storage_migrate_open(&params, msg, sizeof(msg)));  /* until closed */
    storage_migrate_close("");
    for (int i = 0; i < 10; i++)
        storage_migrate_poll();
    assert_non_null(strstr(console, "storage-migrate: incoming io.vhdx from 10.0.3.1: refused: "
                                    "io.vhdx exists in the pool here\n"));
}

static void test_abort_and_cut(void **state)
{
    (void)state;
    char msg[200];
    struct storage_migrate_params p = params;
    p.name = "two.vhdx";
    /* ABORT: the source's job is cancelled */
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    stage_unit(2);
    storage_migrate_close("cancelled");
    for (int i = 0; i < 50; i++)
        storage_migrate_poll();
    assert_non_null(strstr(console, "storage-migrate: incoming two.vhdx from 10.0.3.1: "
                                    "discarded: the source aborted: cancelled\n"));
    assert_false(exists("two.vhdx.tmp") || exists("two.vhdx"));

    /* the link is cut mid-way and stays cut: the source tries again (the guest goes on
     * there) until three idle timeouts and 30 s have passed, then fails; the target
     * keeps two.vhdx.tmp and its record for a resume */
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    stage_unit(0);
    storage_migrate_poll();
    cut = true;
    enum storage_migrate_state st = SMIG_SRC_STREAM;
    for (int i = 0; i < 200 && st != SMIG_SRC_FAILED; i++) {
        storage_migrate_poll();
        st = storage_migrate_state(msg, sizeof(msg));
        if (i == 0) {
            assert_int_equal(st, SMIG_SRC_HELLO);       /* reconnecting, not failed */
            assert_int_equal(storage_migrate_room(), 0);
            /* a step under way when the link went: the unit is noted, not staged */
            assert_int_equal(storage_migrate_io()->write(NULL, 0, disk, MIB), 0);
        }
        now_ns += 1000000000ull;
    }
    assert_int_equal(st, SMIG_SRC_FAILED);
    assert_non_null(strstr(console, "storage-migrate: outgoing two.vhdx to 10.0.3.2: link lost: "
                                    "the link failed: reset; the guest goes on here, "
                                    "reconnecting in 1 s (attempt 1, until 120 s after the cut)\n"));
    assert_int_equal(storage_migrate_io()->write(NULL, 0, disk, MIB), -1);
    storage_migrate_close("failed");
    cut = false;
    assert_non_null(strstr(console, "storage-migrate: incoming two.vhdx from 10.0.3.1: link lost: "
                                    "the link failed: reset; two.vhdx.tmp kept for a resume"));
    assert_true(exists("two.vhdx.tmp") && exists("two.vhdx.tmp.smig"));
    assert_false(exists("two.vhdx"));

    /* another migration of the name discards the kept copy, saying why; a link that then
     * moves nothing: the source hears nothing for the idle timeout and reconnects; the
     * target, stalled, keeps its copy; cancelled meanwhile, the source says nothing more */
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    assert_non_null(strstr(console, "storage-migrate: incoming two.vhdx from 10.0.3.1: "
                                    "two.vhdx.tmp not resumed: a new migration, not a reconnect; "
                                    "discarded, starting over\n"));
    now_ns += MIGRATE_IDLE_NS + 1;
    storage_migrate_poll();
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_HELLO);
    assert_non_null(strstr(console, "outgoing two.vhdx to 10.0.3.2: link lost: nothing came "
                                    "from the peer for 30 s"));
    assert_non_null(strstr(console, "incoming two.vhdx from 10.0.3.1: link lost: the link moved "
                                    "nothing for 60 s; two.vhdx.tmp kept for a resume"));
    storage_migrate_close("cancelled");
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_IDLE);
    fat_unlink(&vol, "two.vhdx.tmp");
    fat_unlink(&vol, "two.vhdx.tmp.smig");
}

/* ---- the after mode ------------------------------------------------------------------- */

/* A VHDX in the pool holding `disk` (the source's file in the after mode). */
static void make_source_file(const char *name)
{
    struct fat_file f;
    struct vhdx_io io;
    struct vhdx *d;
    struct vhdx_err verr;
    assert_int_equal(fat_open(&vol, name, FAT_O_CREATE | FAT_O_TRUNC, &f), 0);
    pool_vhdx_io(&f, &io);
    struct vhdx_create_params cp = { .disk_size = DISK, .logical_sector_size = 512,
                                     .physical_sector_size = 4096, .block_size = MIB };
    assert_int_equal(vhdx_create(&env, &io, &cp, &verr), 0);
    assert_int_equal(vhdx_open(&env, &io, name, 0, &d, &verr), 0);
    for (unsigned u = 0; u < DISK / MIB; u++)
        assert_int_equal(vhdx_write(d, (uint64_t)u * MIB, disk + u * MIB, MIB, &verr), 0);
    assert_int_equal(vhdx_close(d, &verr), 0);
    assert_int_equal(fat_close(&f), 0);
}

/* The partition's disk on the target, as hv/core/partition_disks.c keeps it. */
static struct {
    struct fat_file f;
    struct vhdx_io io;
    struct vhdx *d;
    unsigned commits;
} pd;

static void pd_open(const char *name)
{
    struct vhdx_err verr;
    assert_int_equal(fat_open(&vol, name, 0, &pd.f), 0);
    pool_vhdx_io(&pd.f, &pd.io);
    assert_int_equal(vhdx_open(&env, &pd.io, name, 0, &pd.d, &verr), 0);
}

static void pd_close(void)
{
    struct vhdx_err verr;
    assert_int_equal(vhdx_close(pd.d, &verr), 0);
    fat_close(&pd.f);
    pd.d = NULL;
}

static int pd_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct vhdx_err verr;
    assert_ptr_equal(ctx, &pd);
    return vhdx_write(pd.d, off, buf, len, &verr);
}

static int pd_trim(void *ctx, uint64_t off, uint64_t len)
{
    struct vhdx_err verr;
    (void)ctx;
    return vhdx_trim(pd.d, off, len, &verr);
}

static bool pd_commit(void *ctx, const char *tmp, const char *name, char *err, size_t err_size)
{
    (void)ctx, (void)err, (void)err_size;
    struct vhdx_err verr;
    assert_int_equal(vhdx_close(pd.d, &verr), 0);   /* as the kernel's disk: no fat_close */
    pd.d = NULL;
    assert_int_equal(fat_rename(&vol, tmp, name), 0);
    pd_open(name);
    pd.commits++;
    return true;
}

static const struct smig_remote_ops pd_ops = { pd_write, pd_trim, pd_commit };

static const struct storage_migrate_params after_params = {
    .host = "10.0.3.2", .name = "aft.vhdx", .disk_size = DISK, .sector_size = 512,
    .block_size = MIB, .link_mbps = 8, .after = true, .path = "src.vhdx",
};

static void fill_after_disk(void)
{
    memset(disk, 0, sizeof(disk));
    for (unsigned i = 0; i < MIB; i++)
        disk[i] = (uint8_t)(i * 13 + 5);                 /* unit 0 full */
    for (unsigned i = 0; i < MIB; i++)
        disk[2 * MIB + i] = (uint8_t)(i ^ (i >> 7));     /* unit 2 full */
    disk[MIB + 4096] = 0x77;                             /* unit 1: one byte; unit 3 zero */
}

/* Polls both sides until the parked io comes back (or a bound). */
static void *poll_next(struct smig_remote_disk *h, enum smig_gate_op *op, bool *fail)
{
    for (int i = 0; i < 20000; i++) {
        void *io = storage_migrate_remote_next(h, op, fail);
        if (io)
            return io;
        storage_migrate_poll();
        now_ns += 1000000;
    }
    return NULL;
}

static void test_after_mode(void **state)
{
    (void)state;
    char msg[200], tmp[128];
    console[0] = '\0';
    fill_after_disk();
    make_source_file("src.vhdx");
    src_attached = true;        /* the partition still runs on the source */
    assert_true(storage_migrate_open(&after_params, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    assert_true(exists("aft.vhdx.tmp"));
    assert_null(storage_migrate_remote_claim("other.vhdx", tmp, sizeof(tmp)));
    struct smig_remote_disk *h = storage_migrate_remote_claim("AFT.vhdx", tmp, sizeof(tmp));
    assert_non_null(h);
    assert_string_equal(tmp, "aft.vhdx.tmp");
    assert_null(storage_migrate_remote_claim("aft.vhdx", tmp, sizeof(tmp)));   /* once */
    pd_open(tmp);
    storage_migrate_remote_bind(h, &pd_ops, &pd);

    /* A guest read of unit 2 waits (parked), the vCPU is not held. */
    int io_read = 1, io_write = 2;
    assert_int_equal(storage_migrate_remote_gate(h, &io_read, 2 * MIB + 8192, 16384,
                                                 SMIG_OP_READ), SMIG_GATE_WAIT);
    assert_true(storage_migrate_remote_waiting(h));
    /* The source holds the READ back while its partition has the disk, without a stall. */
    for (int i = 0; i < 10; i++) {
        storage_migrate_poll();
        now_ns += 1000000000ull;    /* 10 s: the READ waits, nothing fails */
    }
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_SERVE);
    assert_non_null(strstr(console, "a READ waits: a partition here still has the disk"));
    enum smig_gate_op op;
    bool fail;
    assert_null(storage_migrate_remote_next(h, &op, &fail));
    src_attached = false;       /* the partition has left the source */

    void *io = poll_next(h, &op, &fail);
    assert_ptr_equal(io, &io_read);
    assert_int_equal(op, SMIG_OP_READ);
    assert_false(fail);
    uint8_t got[16384];
    struct vhdx_err verr;
    assert_int_equal(vhdx_read(pd.d, 2 * MIB + 8192, got, sizeof(got), &verr), 0);
    assert_memory_equal(got, disk + 2 * MIB + 8192, sizeof(got));   /* only the source had it */

    /* A write into a unit still on the source waits for its other bytes, then lands. */
    int64_t wgate = storage_migrate_remote_gate(h, &io_write, MIB, 4096, SMIG_OP_WRITE);
    if (wgate == SMIG_GATE_WAIT) {
        io = poll_next(h, &op, &fail);
        assert_ptr_equal(io, &io_write);
        assert_int_equal(op, SMIG_OP_WRITE);
        assert_false(fail);
    } else {
        assert_int_equal(wgate, SMIG_GATE_GO);  /* the background pull got there first */
    }
    uint8_t w[4096];
    memset(w, 0xab, sizeof(w));
    assert_int_equal(vhdx_write(pd.d, MIB, w, sizeof(w), &verr), 0);
    memcpy(disk + MIB, w, sizeof(w));       /* what the guest's disk holds now */

    /* The background pull brings the rest; the disk becomes aft.vhdx; DONE. */
    poll_until_idle(msg);
    assert_int_equal(pd.commits, 1);
    assert_false(exists("aft.vhdx.tmp"));
    assert_true(exists("aft.vhdx"));
    assert_true(exists("src.vhdx"));        /* the source keeps its copy */
    assert_reads_as_disk(pd.d);
    assert_non_null(strstr(console, "every unit here: "));
    assert_non_null(strstr(console, "committed as aft.vhdx"));
    assert_non_null(strstr(console, "DONE received: committed as aft.vhdx; served "));
    /* The commit's disk asks the gate no more; a new migration may start. */
    assert_int_equal(storage_migrate_remote_gate(h, &io_read, 0, 512, SMIG_OP_READ),
                     SMIG_GATE_GO);
    pd_close();
    fat_unlink(&vol, "aft.vhdx");
    fat_unlink(&vol, "src.vhdx");
}

static void test_after_mode_link_cut(void **state)
{
    (void)state;
    char msg[200], tmp[128];
    console[0] = '\0';
    fill_after_disk();
    make_source_file("src.vhdx");
    src_attached = false;
    struct storage_migrate_params p = after_params;
    p.link_mbps = 0;
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    struct smig_remote_disk *h = storage_migrate_remote_claim("aft.vhdx", tmp, sizeof(tmp));
    assert_non_null(h);
    pd_open(tmp);
    storage_migrate_remote_bind(h, &pd_ops, &pd);
    int io0 = 0, io3 = 3;
    assert_int_equal(storage_migrate_remote_gate(h, &io0, 0, 16384, SMIG_OP_READ),
                     SMIG_GATE_WAIT);
    enum smig_gate_op op;
    bool fail;
    assert_ptr_equal(poll_next(h, &op, &fail), &io0);
    assert_false(fail);
    /* Unit 3 waits; the link goes before it comes. */
    assert_int_equal(storage_migrate_remote_gate(h, &io3, 3 * MIB, 16384, SMIG_OP_READ),
                     SMIG_GATE_WAIT);
    cut = true;
    storage_migrate_poll();
    cut = false;
    assert_non_null(strstr(console, "link lost: "));
    assert_ptr_equal(storage_migrate_remote_next(h, &op, &fail), &io3);
    assert_true(fail);                       /* an I/O error, never other bytes */
    assert_int_equal(storage_migrate_remote_gate(h, &io3, 3 * MIB, 512, SMIG_OP_READ),
                     SMIG_GATE_FAIL);
    assert_int_equal(storage_migrate_remote_gate(h, &io0, 0, 512, SMIG_OP_READ),
                     SMIG_GATE_GO);          /* units here go on */
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_IDLE);
    assert_true(exists("src.vhdx"));         /* the source's copy is whole */
    /* A second piece on an absent unit fails at once; one on unit 1 is parked no more. */
    assert_int_equal(storage_migrate_remote_gate(h, &io3, MIB, 512, SMIG_OP_WRITE),
                     SMIG_GATE_FAIL);
    /* No second migration while the partition holds the partial file. */
    assert_false(storage_migrate_target_accept(&end_b, "10.0.3.1"));
    pd_close();
    storage_migrate_remote_release(h);
    storage_migrate_poll();
    assert_true(exists("aft.vhdx.tmp"));     /* kept: the guest's writes here are in it */
    assert_true(storage_migrate_target_accept(&end_b, "10.0.3.1"));
    cut = true;                              /* that one goes again */
    storage_migrate_poll();
    cut = false;
    fat_unlink(&vol, "aft.vhdx.tmp");
    fat_unlink(&vol, "src.vhdx");
}

/* The partition ends on the target before every unit is there: the migration opens NAME.tmp
 * itself, pulls the rest into it and commits it alone; the guest's write there survives. */
static void test_after_mode_partition_ends_first(void **state)
{
    (void)state;
    char msg[200], tmp[128];
    console[0] = '\0';
    fill_after_disk();
    make_source_file("src.vhdx");
    src_attached = false;
    assert_true(storage_migrate_open(&after_params, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    struct smig_remote_disk *h = storage_migrate_remote_claim("aft.vhdx", tmp, sizeof(tmp));
    assert_non_null(h);
    pd_open(tmp);
    storage_migrate_remote_bind(h, &pd_ops, &pd);
    int io = 0;
    enum smig_gate_op op;
    bool fail;
    assert_int_equal(storage_migrate_remote_gate(h, &io, 3 * MIB, 4096, SMIG_OP_WRITE),
                     SMIG_GATE_WAIT);
    assert_ptr_equal(poll_next(h, &op, &fail), &io);
    assert_false(fail);
    uint8_t w[4096];
    struct vhdx_err verr;
    memset(w, 0x5a, sizeof(w));
    assert_int_equal(vhdx_write(pd.d, 3 * MIB, w, sizeof(w), &verr), 0);
    memcpy(disk + 3 * MIB, w, sizeof(w));
    pd_close();                              /* the partition ends: its disk closes */
    storage_migrate_remote_release(h);
    poll_until_idle(msg);
    assert_non_null(strstr(console, "the partition let it go: the rest is pulled into it here"));
    assert_non_null(strstr(console, "no partition had it; committed as aft.vhdx"));
    assert_false(exists("aft.vhdx.tmp"));
    pd_open("aft.vhdx");
    assert_reads_as_disk(pd.d);
    pd_close();
    fat_unlink(&vol, "aft.vhdx");
    fat_unlink(&vol, "src.vhdx");
}

/* A guest piece waits and nothing comes for 20 s (the source host gone silent): the link
 * counts as lost before a guest's own timeout; the piece fails. */
static void test_after_mode_guest_deadline(void **state)
{
    (void)state;
    char msg[200], tmp[128];
    console[0] = '\0';
    fill_after_disk();
    make_source_file("src.vhdx");
    src_attached = true;            /* the source never answers */
    assert_true(storage_migrate_open(&after_params, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    struct smig_remote_disk *h = storage_migrate_remote_claim("aft.vhdx", tmp, sizeof(tmp));
    assert_non_null(h);
    pd_open(tmp);
    storage_migrate_remote_bind(h, &pd_ops, &pd);
    int io = 0;
    assert_int_equal(storage_migrate_remote_gate(h, &io, 0, 4096, SMIG_OP_READ), SMIG_GATE_WAIT);
    enum smig_gate_op op;
    bool fail = false;
    void *got = NULL;
    for (int i = 0; i < 25 && !got; i++) {
        storage_migrate_poll();
        now_ns += 1000000000ull;
        got = storage_migrate_remote_next(h, &op, &fail);
    }
    assert_ptr_equal(got, &io);
    assert_true(fail);
    assert_non_null(strstr(console, "nothing came for 20 s while a guest piece waited"));
    pd_close();
    storage_migrate_remote_release(h);
    storage_migrate_poll();
    storage_migrate_close("");
    src_attached = false;
    for (int i = 0; i < 10; i++)
        storage_migrate_poll();
    fat_unlink(&vol, "aft.vhdx.tmp");
    fat_unlink(&vol, "src.vhdx");
}

/* Liveness: an after-mode migration waiting for its live migration moves nothing, yet
 * KEEPALIVEs hold it up past the idle timeout (idle=6: one a second); the source host
 * dies (no more polls there): the target gives up within the timeout and discards its
 * empty copy; the source, polled again alone, gives up on its target. */
static void test_dead_peer_after_mode(void **state)
{
    (void)state;
    char msg[200];
    console[0] = '\0';
    fill_after_disk();
    make_source_file("src.vhdx");
    src_attached = true;            /* the partition has not left yet */
    struct storage_migrate_params p = after_params;
    p.idle_s = 6;
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    for (int i = 0; i < 600; i++) {             /* a minute, nothing but KEEPALIVEs */
        storage_migrate_poll();
        now_ns += 100000000ull;
    }
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_SERVE);
    assert_null(strstr(console, "discarded"));
    assert_true(exists("aft.vhdx.tmp"));
    int polls = 0;
    while (polls < 20 && exists("aft.vhdx.tmp")) {   /* the source host is gone */
        storage_migrate_target_poll();
        now_ns += 1000000000ull;
        polls++;
    }
    assert_true(polls <= 7);
    assert_non_null(strstr(console, "storage-migrate: incoming aft.vhdx from 10.0.3.1: "
                                    "discarded: nothing came from the peer for 6 s (its host or "
                                    "the link is gone)\n"));
    for (int i = 0; i < 8 && !strstr(console, "outgoing aft.vhdx to 10.0.3.2: nothing"); i++) {
        storage_migrate_source_poll();          /* the target's last KEEPALIVE, then silence */
        now_ns += 1000000000ull;
    }
    assert_non_null(strstr(console, "storage-migrate: outgoing aft.vhdx to 10.0.3.2: "
                                    "nothing came from the peer for 6 s"));
    storage_migrate_close("");
    src_attached = false;
    fat_unlink(&vol, "src.vhdx");
}

/* ---- a differencing chain: parents held, sent, or another disk under the name ------------ */

static struct fat_vol vol_a;            /* the source's pool */
static uint8_t *img_a;
static struct mem_disk mdisk_a;
static struct block_io bio_a;

static void mount_source_pool(void)
{
    uint64_t bytes;
    free(img_a);
    img_a = mem_disk_mkfs_fat(512, 8, "POOLA", 64, &bytes);
    assert_non_null(img_a);
    mem_disk_init(&mdisk_a, img_a, bytes, 512, &bio_a);
    assert_int_equal(fat_mount(&vol_a, &bio_a), FAT_OK);
}

/* A pool file as an open VHDX (its chain opened through env). */
struct img {
    struct fat_file f;
    struct vhdx_io io;
    struct vhdx *d;
};

static void img_open(struct fat_vol *v, const char *name, struct img *im)
{
    struct vhdx_err verr;
    cur_vol = v;
    assert_int_equal(fat_open(v, name, 0, &im->f), 0);
    pool_vhdx_io(&im->f, &im->io);
    int rc = vhdx_open(&env, &im->io, name, 0, &im->d, &verr);
    if (rc)
        fprintf(stderr, "%s: %s\n", name, verr.msg);
    assert_int_equal(rc, 0);
}

static void img_close(struct img *im)
{
    assert_int_equal(vhdx_close(im->d, NULL), 0);
    fat_close(&im->f);
}

/* name: a new dynamic VHDX on v. */
static void img_create(struct fat_vol *v, const char *name, struct img *im)
{
    struct vhdx_err verr;
    struct fat_file f;
    struct vhdx_io io;
    cur_vol = v;
    assert_int_equal(fat_open(v, name, FAT_O_CREATE | FAT_O_TRUNC, &f), 0);
    pool_vhdx_io(&f, &io);
    struct vhdx_create_params cp = { .disk_size = DISK, .logical_sector_size = 512,
                                     .physical_sector_size = 4096, .block_size = MIB };
    assert_int_equal(vhdx_create(&env, &io, &cp, &verr), 0);
    fat_close(&f);
    img_open(v, name, im);
}

/* A differencing child on its parent's pool path. */
static void img_create_child(struct fat_vol *v, const char *name, const char *pname,
                             struct img *im)
{
    struct img parent;
    struct vhdx_err verr;
    char rel[128], abs[128];
    struct fat_file f;
    struct vhdx_io io;
    img_open(v, pname, &parent);
    assert_true(vhdx_parent_locator(name, pname, rel, sizeof(rel), abs, sizeof(abs)));
    assert_int_equal(fat_open(v, name, FAT_O_CREATE | FAT_O_TRUNC, &f), 0);
    pool_vhdx_io(&f, &io);
    struct vhdx_create_params cp = { .physical_sector_size = 4096, .block_size = MIB,
                                     .parent = parent.d, .parent_relative_path = rel,
                                     .parent_absolute_path = abs };
    assert_int_equal(vhdx_create(&env, &io, &cp, &verr), 0);
    fat_close(&f);
    img_close(&parent);
    img_open(v, name, im);
}

/* A file's bytes from one pool to another (the target holding the very same parent). */
static void copy_file(const char *name, struct fat_vol *from, struct fat_vol *to)
{
    struct fat_file a, b;
    static uint8_t buf[64 * 1024];
    assert_int_equal(fat_open(from, name, 0, &a), 0);
    assert_int_equal(fat_open(to, name, FAT_O_CREATE | FAT_O_TRUNC, &b), 0);
    for (uint64_t off = 0; off < a.size; off += sizeof(buf)) {
        long n = fat_read(&a, off, buf, sizeof(buf));
        assert_true(n > 0);
        assert_int_equal(fat_write(&b, off, buf, (size_t)n), n);
    }
    fat_close(&a);
    assert_int_equal(fat_close(&b), 0);
}

static uint64_t file_size(struct fat_vol *v, const char *name)
{
    struct fat_stat st;
    assert_int_equal(fat_stat(v, name, &st), 0);
    return st.size;
}

/* Each half with its own pool. */
static void poll_apart(void)
{
    cur_vol = &vol_a;
    storage_migrate_source_poll();
    cur_vol = &vol;
    storage_migrate_target_poll();
    cur_vol = &vol_a;
}

static enum storage_migrate_state poll_apart_until(enum storage_migrate_state want, char *msg)
{
    enum storage_migrate_state st = SMIG_SRC_IDLE;
    for (int i = 0; i < 20000; i++) {
        poll_apart();
        st = storage_migrate_state(msg, 200);
        if (st == want || st == SMIG_SRC_FAILED || (want == SMIG_SRC_STREAM &&
                                                    st != SMIG_SRC_HELLO &&
                                                    storage_migrate_room() > 0))
            break;
        now_ns += 1000000;
    }
    return st;
}

/* The source's chain on vol_a: base.vhdx (every unit full), child.vhdx over it with a
 * partial write in unit 1 and unit 2 made zero; units 0 and 3 read through to base. */
static uint8_t chain_view[DISK];
static void make_chain(void)
{
    struct img base, child;
    struct vhdx_err verr;
    mount_source_pool();
    img_create(&vol_a, "base.vhdx", &base);
    for (unsigned i = 0; i < DISK; i++)
        chain_view[i] = (uint8_t)(i * 31 + (i >> 12) + 1);
    assert_int_equal(vhdx_write(base.d, 0, chain_view, DISK, &verr), 0);
    img_close(&base);
    img_create_child(&vol_a, "child.vhdx", "base.vhdx", &child);
    memset(chain_view + MIB + 128 * 1024, 0xc5, 64 * 1024);
    assert_int_equal(vhdx_write(child.d, MIB + 128 * 1024, chain_view + MIB + 128 * 1024,
                                64 * 1024, &verr), 0);
    memset(chain_view + 2 * MIB, 0, MIB);
    assert_int_equal(vhdx_trim(child.d, 2 * MIB, MIB, &verr), 0);
    img_close(&child);
}

/* make_chain, the target's pool holding neither child.vhdx nor base.vhdx. */
static void make_chain_target_empty(void)
{
    make_chain();
    if (exists("child.vhdx"))
        assert_int_equal(fat_unlink(&vol, "child.vhdx"), 0);
    if (exists("base.vhdx"))
        assert_int_equal(fat_unlink(&vol, "base.vhdx"), 0);
}

/* Moves child.vhdx from vol_a to vol as disk_ops does (a copy job into the staging ring,
 * units over the parents skipped), to its end or the source's failure. */
static enum storage_migrate_state migrate_disk(const char *name, char *msg,
                                               struct storage_migrate_stats *st,
                                               struct disk_job_progress *pr, bool chain)
{
    struct img child;
    struct vhdx_err verr;
    img_open(&vol_a, name, &child);
    struct storage_migrate_params p = params;
    p.name = name;
    p.link_mbps = 0;
    p.disk = chain ? child.d : NULL;   /* !chain: the flat copy, as before parents were sent */
    assert_true(storage_migrate_open(&p, msg, 200));
    enum storage_migrate_state s = poll_apart_until(SMIG_SRC_STREAM, msg);
    if (s == SMIG_SRC_STREAM) {
        struct disk_job_params jp = { .op = DISK_JOB_COPY, .src = child.d,
                                      .dst = storage_migrate_io(), .dst_name = "10.0.3.2",
                                      .format = DISK_FORMAT_RAW, .ready_dirty_units = 2,
                                      .parents_at_dst = chain };
        struct disk_job *j;
        cur_vol = &vol_a;
        assert_int_equal(disk_job_start(&jp, &j, &verr), 0);
        int rc = DISK_JOB_RUNNING;
        while (rc == DISK_JOB_RUNNING) {
            for (int i = 0; i < 20000 && storage_migrate_room() < 2; i++) {
                poll_apart();
                now_ns += 1000000;
            }
            assert_true(storage_migrate_room() >= 2);
            cur_vol = &vol_a;
            rc = disk_job_step(j, DISK_JOB_UNIT, &verr);
        }
        assert_int_equal(rc, DISK_JOB_READY);
        assert_int_equal(disk_job_finish(j, &verr), DISK_JOB_DONE);
        disk_job_get_progress(j, pr);
        disk_job_free(j);
        storage_migrate_commit(true, crc32c(0, chain_view, DISK));
        s = poll_apart_until(SMIG_SRC_DONE, msg);
    }
    storage_migrate_get_stats(st);
    storage_migrate_close("");
    for (int i = 0; i < 10; i++)
        poll_apart();
    cur_vol = &vol_a;
    img_close(&child);
    cur_vol = NULL;
    return s;
}

static enum storage_migrate_state migrate_child(char *msg, struct storage_migrate_stats *st,
                                                struct disk_job_progress *pr, bool chain)
{
    return migrate_disk("child.vhdx", msg, st, pr, chain);
}

/* The target's child.vhdx: a child of its base.vhdx, reading the source's whole view. */
static void check_target_child(void)
{
    static uint8_t back[DISK];
    struct img c;
    struct vhdx_err verr;
    img_open(&vol, "child.vhdx", &c);
    static struct vhdx_info info;
    vhdx_get_info(c.d, &info);
    assert_true(info.has_parent);
    assert_string_equal(info.parent_name, "base.vhdx");
    assert_string_equal(info.parent_relative_path, "base.vhdx");
    assert_int_equal(vhdx_read(c.d, 0, back, DISK, &verr), 0);
    assert_memory_equal(back, chain_view, DISK);
    img_close(&c);
    cur_vol = NULL;
    assert_false(exists("child.vhdx.tmp") || exists("base.vhdx.tmp"));
}

static uint64_t chain_wire_held, chain_wire_sent, chain_flat_bytes;

static void test_chain_parent_held(void **state)
{
    (void)state;
    char msg[200];
    struct storage_migrate_stats st;
    struct disk_job_progress pr;
    make_chain();
    copy_file("base.vhdx", &vol_a, &vol);            /* the target holds the same parent */
    console[0] = '\0';
    assert_int_equal(migrate_child(msg, &st, &pr, true), SMIG_SRC_DONE);
    assert_string_equal(msg, "committed as child.vhdx");
    uint64_t base_size = file_size(&vol_a, "base.vhdx");
    char want[200];
    snprintf(want, sizeof(want), "storage-migrate: outgoing child.vhdx to 10.0.3.2: parent "
             "base.vhdx held there (same DataWriteGuid): not sent (%lu bytes)\n",
             (unsigned long)base_size);
    assert_non_null(strstr(console, want));
    assert_non_null(strstr(console, "storage-migrate: incoming child.vhdx from 10.0.3.1: parent "
                                    "base.vhdx held here (same DataWriteGuid): not sent\n"));
    assert_null(strstr(console, "received whole"));
    assert_int_equal(st.parent_bytes, 0);
    assert_int_equal(st.parent_held_bytes, base_size);
    /* only the child's layer: unit 1 whole (bytes), unit 2 (zero); 0 and 3 read through */
    assert_int_equal(st.data_bytes, MIB);
    assert_int_equal(st.zero_bytes, MIB);
    assert_int_equal(pr.bytes_dedup, 2 * MIB);
    assert_int_equal(st.target_crc, crc32c(0, chain_view, DISK));
    check_target_child();
    chain_wire_held = st.wire_bytes;
}

static void test_chain_parent_sent(void **state)
{
    (void)state;
    char msg[200];
    struct storage_migrate_stats st;
    struct disk_job_progress pr;
    assert_int_equal(fat_unlink(&vol, "child.vhdx"), 0);
    assert_int_equal(fat_unlink(&vol, "base.vhdx"), 0);
    console[0] = '\0';
    assert_int_equal(migrate_child(msg, &st, &pr, true), SMIG_SRC_DONE);
    uint64_t base_size = file_size(&vol_a, "base.vhdx");
    char want[200];
    snprintf(want, sizeof(want), "storage-migrate: outgoing child.vhdx to 10.0.3.2: parent "
             "base.vhdx not there: sent whole first (%lu bytes)\n", (unsigned long)base_size);
    assert_non_null(strstr(console, want));
    snprintf(want, sizeof(want), "storage-migrate: incoming child.vhdx from 10.0.3.1: parent "
             "base.vhdx received whole (%lu bytes), DataWriteGuid checked; kept as a parent\n",
             (unsigned long)base_size);
    assert_non_null(strstr(console, want));
    assert_non_null(strstr(console, "every parent here: the disk is made a child of its copy"));
    /* the parent before the child's first unit */
    assert_true(strstr(console, "received whole") < strstr(console, "1 MiB received"));
    assert_int_equal(st.parent_bytes, base_size);
    assert_int_equal(st.parent_held_bytes, 0);
    assert_int_equal(st.data_bytes, MIB);
    assert_int_equal(file_size(&vol, "base.vhdx"), base_size);
    check_target_child();
    chain_wire_sent = st.wire_bytes;
    assert_true(chain_wire_sent > chain_wire_held + base_size - 4096);
}

/* The flat copy (no parents listed): what a differencing disk's move sent before. */
static void test_chain_flat(void **state)
{
    (void)state;
    char msg[200];
    struct storage_migrate_stats st;
    struct disk_job_progress pr;
    assert_int_equal(fat_unlink(&vol, "child.vhdx"), 0);
    console[0] = '\0';
    assert_int_equal(migrate_child(msg, &st, &pr, false), SMIG_SRC_DONE);
    assert_null(strstr(console, "parent"));
    assert_int_equal(st.data_bytes, 3 * MIB);            /* units 0, 1 and 3 */
    struct img c;
    img_open(&vol, "child.vhdx", &c);
    static struct vhdx_info info;
    vhdx_get_info(c.d, &info);
    assert_false(info.has_parent);
    img_close(&c);
    cur_vol = NULL;
    chain_flat_bytes = st.wire_bytes;
}

static void test_chain_parent_differs(void **state)
{
    (void)state;
    char msg[200];
    struct storage_migrate_stats st;
    struct disk_job_progress pr;
    struct img other;
    assert_int_equal(fat_unlink(&vol, "child.vhdx"), 0);
    assert_int_equal(fat_unlink(&vol, "base.vhdx"), 0);
    img_create(&vol, "base.vhdx", &other);     /* same name, another disk */
    static struct vhdx_info before;
    vhdx_get_info(other.d, &before);
    img_close(&other);
    uint64_t size_before = file_size(&vol, "base.vhdx");
    console[0] = '\0';
    assert_int_equal(migrate_child(msg, &st, &pr, true), SMIG_SRC_FAILED);
    assert_non_null(strstr(msg, "the target refused it: parent base.vhdx differs here "
                                "(DataWriteGuid "));
    assert_non_null(strstr(console, "storage-migrate: incoming child.vhdx from 10.0.3.1: "
                                    "refused: parent base.vhdx differs here (DataWriteGuid "));
    assert_non_null(strstr(console, "): not overwritten\n"));
    /* nothing moved: the target's base.vhdx is its own still, no child */
    assert_int_equal(st.parent_bytes, 0);
    assert_int_equal(st.data_bytes, 0);
    assert_int_equal(file_size(&vol, "base.vhdx"), size_before);
    img_open(&vol, "base.vhdx", &other);
    static struct vhdx_info after;
    vhdx_get_info(other.d, &after);
    assert_memory_equal(&after.data_write_guid, &before.data_write_guid, 16);
    img_close(&other);
    cur_vol = NULL;
    assert_false(exists("child.vhdx") || exists("child.vhdx.tmp") || exists("base.vhdx.tmp"));
    if (getenv("SMIG_CHAIN_BENCH")) {
        printf("%-44s %10.1f KiB %10.1f KiB %8.3f\n", "smig child, parent held: KiB sent cost",
               chain_wire_held / 1024.0, chain_wire_sent / 1024.0,
               (double)chain_wire_held / (double)chain_wire_sent);
        printf(" smig chain: a 4 MiB child (2 MiB its own layer, 2 MiB read through) on a "
               "%lu KiB parent file: wire bytes with the parent held on the target vs the "
               "chain sent (parent file whole, then the child's layer), same run; a flat "
               "copy (no parents listed, the parent's data inside the child) took %lu KiB\n",
               (unsigned long)(file_size(&vol_a, "base.vhdx") >> 10),
               (unsigned long)(chain_flat_bytes >> 10));
    }
}

/* Two parents: top.vhdx over child.vhdx over base.vhdx; the target holds base only: child.vhdx
 * is sent (its own chain resolving to the base held there), base is not. */
static void test_chain_two_levels(void **state)
{
    (void)state;
    char msg[200];
    struct storage_migrate_stats st;
    struct disk_job_progress pr;
    struct img top;
    struct vhdx_err verr;
    make_chain();
    img_create_child(&vol_a, "top.vhdx", "child.vhdx", &top);
    memset(chain_view + 3 * MIB + 4096, 0x3c, 8192);
    assert_int_equal(vhdx_write(top.d, 3 * MIB + 4096, chain_view + 3 * MIB + 4096, 8192,
                                &verr), 0);
    img_close(&top);
    cur_vol = NULL;
    if (exists("base.vhdx"))
        assert_int_equal(fat_unlink(&vol, "base.vhdx"), 0);
    copy_file("base.vhdx", &vol_a, &vol);
    console[0] = '\0';
    assert_int_equal(migrate_disk("top.vhdx", msg, &st, &pr, true), SMIG_SRC_DONE);
    assert_non_null(strstr(console, "storage-migrate: incoming top.vhdx from 10.0.3.1: parent "
                                    "child.vhdx not here: the source sends it whole\n"));
    assert_non_null(strstr(console, "storage-migrate: incoming top.vhdx from 10.0.3.1: parent "
                                    "base.vhdx held here (same DataWriteGuid): not sent\n"));
    /* the sent parent came before the child was made on it */
    assert_true(strstr(console, "parent child.vhdx received whole") <
                strstr(console, "every parent here"));
    assert_int_equal(st.parent_bytes, file_size(&vol_a, "child.vhdx"));
    assert_int_equal(st.parent_held_bytes, file_size(&vol_a, "base.vhdx"));
    assert_int_equal(st.data_bytes, MIB);               /* unit 3, top's own, as the chain reads */
    assert_int_equal(pr.bytes_dedup, 3 * MIB);
    static uint8_t back[DISK];
    struct img c;
    img_open(&vol, "top.vhdx", &c);
    assert_int_equal(vhdx_read(c.d, 0, back, DISK, &verr), 0);
    assert_memory_equal(back, chain_view, DISK);
    static struct vhdx_info info;
    vhdx_get_info(c.d, &info);
    assert_string_equal(info.parent_name, "child.vhdx");
    img_close(&c);
    cur_vol = NULL;
}

/*
 * Around mode: units copied before the machine moves land in NAME.tmp (through the
 * partition's disk once it has opened it), every guest piece waits for the hand-over, which
 * names the units still current; the rest is fetched (paced by read_mbps) and pulled.
 */
static void test_around_mode(void **state)
{
    (void)state;
    char msg[200], tmp[128];
    console[0] = '\0';
    fill_after_disk();
    make_source_file("src2.vhdx");
    src_attached = true;
    struct storage_migrate_params p = after_params;
    p.name = "aro.vhdx";
    p.path = "src2.vhdx";
    p.after = false;
    p.around = true;
    p.read_mbps = 1;
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    assert_non_null(strstr(console, "accepted (around: "));
    assert_false(storage_migrate_handover((const uint8_t *)"\x0f", 5));  /* another size */
    stage_unit(0);
    stage_unit(1);
    for (int i = 0; i < 200; i++, now_ns += 1000000)
        storage_migrate_poll();
    /* the live migration's target opens the disk: the copy goes on through it */
    struct smig_remote_disk *h = storage_migrate_remote_claim("aro.vhdx", tmp, sizeof(tmp));
    assert_non_null(h);
    assert_string_equal(tmp, "aro.vhdx.tmp");
    pd_open(tmp);
    storage_migrate_remote_bind(h, &pd_ops, &pd);
    stage_unit(2);
    int io0 = 1, io1 = 2;
    assert_int_equal(storage_migrate_remote_gate(h, &io0, 4096, 16384, SMIG_OP_READ),
                     SMIG_GATE_WAIT);      /* present, but not before the hand-over */
    assert_int_equal(storage_migrate_remote_gate(h, &io1, MIB, 4096, SMIG_OP_WRITE),
                     SMIG_GATE_WAIT);
    for (int i = 0; i < 200; i++, now_ns += 1000000)
        storage_migrate_poll();
    enum smig_gate_op op;
    bool fail;
    assert_null(storage_migrate_remote_next(h, &op, &fail));
    /* the guest rewrote unit 1 on the source after it was sent (dirty), then the machine
     * moved: units 0 and 2 are current on the target */
    for (unsigned i = 0; i < 4096; i++)
        disk[MIB + 100 * 1024 + i] = (uint8_t)(i + 3);
    make_source_file("src2.vhdx");
    uint8_t cur = 0x05;
    assert_true(storage_migrate_handover(&cur, 4));
    src_attached = false;
    void *a = poll_next(h, &op, &fail), *b = poll_next(h, &op, &fail);
    assert_true((a == &io0 && b == &io1) || (a == &io1 && b == &io0));
    assert_false(fail);
    assert_non_null(strstr(console, "HANDOVER: 2 of 4 units here are current"));
    assert_non_null(strstr(console, "HANDOVER sent ("));
    struct vhdx_err verr;
    static uint8_t all[DISK];
    assert_int_equal(vhdx_read(pd.d, MIB, all, MIB, &verr), 0);
    assert_memory_equal(all, disk + MIB, MIB);      /* the rewrite came from the source */
    poll_until_idle(msg);
    assert_false(exists("aro.vhdx.tmp"));
    assert_true(exists("aro.vhdx"));
    assert_int_equal(vhdx_read(pd.d, 0, all, DISK, &verr), 0);
    assert_memory_equal(all, disk, DISK);
    /* units 1 and 3 were fetched, 0 and 2 not again; 1 MiB/s held the second READ back */
    assert_non_null(strstr(console, "DONE received: committed as aro.vhdx; served 2 READs"));
    const char *t = strstr(console, "reads throttled ");
    assert_non_null(t);
    assert_true(t[16] >= '1' && t[16] <= '9');
    pd_close();
    fat_unlink(&vol, "aro.vhdx");
    fat_unlink(&vol, "src2.vhdx");
}

/* ---- chains after and around a live migration; mbps= on READs ---------------------------- */

/* The source's layer map (make_chain): units 0 and 3 have nothing of the child's own (read
 * through base), unit 1 is partly the child's (PARTIALLY_PRESENT), unit 2 is ZERO. */
static void test_chain_layer_map(void **state)
{
    (void)state;
    struct img child;
    struct vhdx_err verr;
    char err[120];
    uint8_t map[1];
    make_chain();
    img_open(&vol_a, "child.vhdx", &child);
    assert_int_equal(smig_src_chain_layer_map(child.d, DISK, map, err, sizeof(err)), 2);
    assert_int_equal(map[0], 0x09);
    /* one sector of the child's own in unit 3: unit 3 is no longer the parents' */
    uint8_t sec[512];
    memset(sec, 0x5a, sizeof(sec));
    assert_int_equal(vhdx_write(child.d, 3 * MIB + 1024 * 1023, sec, sizeof(sec), &verr), 0);
    assert_int_equal(smig_src_chain_layer_map(child.d, DISK, map, err, sizeof(err)), 1);
    assert_int_equal(map[0], 0x01);
    /* a disk whose last unit is short: no bit past it */
    assert_int_equal(smig_src_chain_layer_map(child.d, DISK - 3 * MIB - 512, map, err,
                                              sizeof(err)), 1);
    assert_int_equal(map[0], 0x01);
    img_close(&child);

    /* One 4 MiB block over the four units: one sector in unit 2 makes the block
     * PARTIALLY_PRESENT; its sector bitmap, not the block's state, says which units are the
     * child's.  Trimmed whole, the block is ZERO: every unit the child's (reads zero). */
    struct img wide, base;
    char rel[128], abs[128];
    struct fat_file f;
    struct vhdx_io io;
    img_open(&vol_a, "base.vhdx", &base);
    assert_true(vhdx_parent_locator("wide.vhdx", "base.vhdx", rel, sizeof(rel), abs, sizeof(abs)));
    assert_int_equal(fat_open(&vol_a, "wide.vhdx", FAT_O_CREATE | FAT_O_TRUNC, &f), 0);
    pool_vhdx_io(&f, &io);
    struct vhdx_create_params cp = { .physical_sector_size = 4096, .block_size = 4 * MIB,
                                     .parent = base.d, .parent_relative_path = rel,
                                     .parent_absolute_path = abs };
    assert_int_equal(vhdx_create(&env, &io, &cp, &verr), 0);
    fat_close(&f);
    img_close(&base);
    img_open(&vol_a, "wide.vhdx", &wide);
    assert_int_equal(smig_src_chain_layer_map(wide.d, DISK, map, err, sizeof(err)), 4);
    assert_int_equal(map[0], 0x0f);                     /* NOT_PRESENT */
    assert_int_equal(vhdx_write(wide.d, 2 * MIB + 512, sec, sizeof(sec), &verr), 0);
    assert_int_equal(smig_src_chain_layer_map(wide.d, DISK, map, err, sizeof(err)), 3);
    assert_int_equal(map[0], 0x0b);
    assert_int_equal(vhdx_trim(wide.d, 0, DISK, &verr), 0);
    assert_int_equal(smig_src_chain_layer_map(wide.d, DISK, map, err, sizeof(err)), 0);
    assert_int_equal(map[0], 0x00);
    img_close(&wide);
    cur_vol = NULL;
}

/* Polls both halves apart until the parked io comes back (or a bound). */
static void *poll_apart_next(struct smig_remote_disk *h, enum smig_gate_op *op, bool *fail)
{
    for (int i = 0; i < 20000; i++) {
        void *io = storage_migrate_remote_next(h, op, fail);
        if (io)
            return io;
        poll_apart();
        now_ns += 1000000;
    }
    return NULL;
}

static void poll_apart_idle(char *msg)
{
    for (int i = 0; i < 20000 && storage_migrate_state(msg, 200) != SMIG_SRC_IDLE; i++) {
        poll_apart();
        now_ns += 1000000;
    }
}

/* The partition's disk on the target (vol): NAME.tmp, a child of the target's base. */
static struct smig_remote_disk *claim_on_target(const char *name)
{
    char tmp[128];
    cur_vol = &vol;
    struct smig_remote_disk *h = storage_migrate_remote_claim(name, tmp, sizeof(tmp));
    assert_non_null(h);
    pd_open(tmp);
    storage_migrate_remote_bind(h, &pd_ops, &pd);
    cur_vol = &vol_a;
    return h;
}

/*
 * After, the parent held: base.vhdx is not sent; once the partition has left the source,
 * HANDOVER names units 0 and 3 (nothing of the child's own: read through the target's base,
 * never fetched); units 1 (partly the child's) and 2 (ZERO in the child) are fetched whole.
 * Before HANDOVER even a piece on unit 0 waits: the source's child may still get sectors
 * there.
 */
static void after_chain(bool held)
{
    char msg[200];
    struct img child;
    struct vhdx_err verr;
    make_chain_target_empty();
    if (held)
        copy_file("base.vhdx", &vol_a, &vol);
    console[0] = '\0';
    img_open(&vol_a, "child.vhdx", &child);
    struct storage_migrate_params p = after_params;
    p.name = "child.vhdx";
    p.path = "child.vhdx";
    p.link_mbps = 0;
    p.disk = child.d;
    src_attached = true;
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    img_close(&child);
    assert_int_equal(poll_apart_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    if (held) {
        assert_non_null(strstr(console, "storage-migrate: incoming child.vhdx from 10.0.3.1: "
                                        "parent base.vhdx held here (same DataWriteGuid): not "
                                        "sent\n"));
    } else {
        /* the partition may not claim the disk before its parent is here */
        char tmp[128];
        cur_vol = &vol;
        assert_null(storage_migrate_remote_claim("child.vhdx", tmp, sizeof(tmp)));
        for (int i = 0; i < 20000 && !strstr(console, "every parent here"); i++, now_ns += 1000000)
            poll_apart();
        assert_non_null(strstr(console, "parent base.vhdx received whole"));
        assert_int_equal(file_size(&vol, "base.vhdx"), file_size(&vol_a, "base.vhdx"));
    }
    struct smig_remote_disk *h = claim_on_target("child.vhdx");
    int io0 = 1, io1 = 2, io3 = 3;
    assert_int_equal(storage_migrate_remote_gate(h, &io0, 4096, 16384, SMIG_OP_READ),
                     SMIG_GATE_WAIT);
    for (int i = 0; i < 20; i++, now_ns += 1000000000ull)
        poll_apart();                       /* 20 s: the source's partition still runs */
    enum smig_gate_op op;
    bool fail;
    assert_null(storage_migrate_remote_next(h, &op, &fail));
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_SERVE);
    src_attached = false;
    assert_ptr_equal(poll_apart_next(h, &op, &fail), &io0);
    assert_false(fail);
    assert_non_null(strstr(console, "HANDOVER: 2 of 4 units read through the parents here"));
    assert_non_null(strstr(console, "its own layer leaves 2 of 4 units to the parents there"));
    static uint8_t all[DISK];
    assert_int_equal(vhdx_read(pd.d, 0, all, MIB, &verr), 0);
    assert_memory_equal(all, chain_view, MIB);      /* from the target's base */
    /* unit 1 is partly the child's: it waits for the source's bytes */
    assert_int_equal(storage_migrate_remote_gate(h, &io1, MIB + 120 * 1024, 16384,
                                                 SMIG_OP_READ), SMIG_GATE_WAIT);
    assert_ptr_equal(poll_apart_next(h, &op, &fail), &io1);
    assert_false(fail);
    assert_int_equal(vhdx_read(pd.d, MIB, all, MIB, &verr), 0);
    assert_memory_equal(all, chain_view + MIB, MIB);
    /* unit 3 is the parents': a write goes on at once and stays the target's */
    assert_int_equal(storage_migrate_remote_gate(h, &io3, 3 * MIB, 4096, SMIG_OP_WRITE),
                     SMIG_GATE_GO);
    memset(chain_view + 3 * MIB, 0x99, 4096);
    assert_int_equal(vhdx_write(pd.d, 3 * MIB, chain_view + 3 * MIB, 4096, &verr), 0);
    poll_apart_idle(msg);
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_IDLE);
    assert_non_null(strstr(console, "DONE received: committed as child.vhdx; served 2 READs"));
    assert_true(held == !strstr(console, "received whole"));
    assert_int_equal(vhdx_read(pd.d, 0, all, DISK, &verr), 0);
    assert_memory_equal(all, chain_view, DISK);
    pd_close();
    check_target_child();
    cur_vol = NULL;
}

static void test_after_chain_parent_held(void **state)
{
    (void)state;
    after_chain(true);
}

/* After, the parent absent: it goes whole (from the serving side, before HANDOVER). */
static void test_after_chain_parent_sent(void **state)
{
    (void)state;
    after_chain(false);
}

/*
 * Around, the parent absent: base.vhdx goes whole before the copy; the copy's pass skips
 * unit 0 (the child's layer leaves it to base) and sends unit 1, the guest writes unit 0 on
 * the source meanwhile (dirty), and the partition moves before the pass reaches units 2 and
 * 3: the job names unit 1 current, the source adds unit 3 (nothing of the child's own: read
 * through the target's base), so only units 0 and 2 are fetched.
 */
static void test_around_chain_parent_sent(void **state)
{
    (void)state;
    char msg[200];
    struct img child;
    struct vhdx_err verr;
    make_chain();
    assert_int_equal(fat_unlink(&vol, "child.vhdx"), 0);
    assert_int_equal(fat_unlink(&vol, "base.vhdx"), 0);
    console[0] = '\0';
    img_open(&vol_a, "child.vhdx", &child);
    struct storage_migrate_params p = after_params;
    p.name = "child.vhdx";
    p.path = "child.vhdx";
    p.link_mbps = 0;
    p.after = false;
    p.around = true;
    p.disk = child.d;
    src_attached = true;
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_apart_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    struct disk_job_params jp = { .op = DISK_JOB_COPY, .src = child.d,
                                  .dst = storage_migrate_io(), .dst_name = "10.0.3.2",
                                  .format = DISK_FORMAT_RAW, .ready_dirty_units = 2,
                                  .parents_at_dst = true };
    struct disk_job *j;
    cur_vol = &vol_a;
    assert_int_equal(disk_job_start(&jp, &j, &verr), 0);
    for (int step = 0; step < 2; step++) {      /* units 0 and 1 */
        for (int i = 0; i < 20000 && storage_migrate_room() < 2; i++) {
            poll_apart();
            now_ns += 1000000;
        }
        assert_true(storage_migrate_room() >= 2);
        cur_vol = &vol_a;
        assert_int_equal(disk_job_step(j, DISK_JOB_UNIT, &verr), DISK_JOB_RUNNING);
    }
    for (int i = 0; i < 200; i++, now_ns += 1000000)
        poll_apart();
    assert_true(strstr(console, "received whole") < strstr(console, "1 MiB received"));
    struct smig_remote_disk *h = claim_on_target("child.vhdx");
    int io0 = 1, io3 = 2;
    assert_int_equal(storage_migrate_remote_gate(h, &io3, 3 * MIB, 16384, SMIG_OP_READ),
                     SMIG_GATE_WAIT);      /* the parents', but not before the hand-over */
    assert_int_equal(storage_migrate_remote_gate(h, &io0, 8192, 4096, SMIG_OP_READ),
                     SMIG_GATE_WAIT);
    /* the guest writes unit 0 on the source before it leaves: the child's own from now */
    memset(chain_view + 8192, 0x4e, 4096);
    cur_vol = &vol_a;
    assert_int_equal(vhdx_write(child.d, 8192, chain_view + 8192, 4096, &verr), 0);
    disk_job_note_write(j, 8192, 4096);
    uint8_t cur;
    assert_int_equal(disk_job_current_units(j, &cur), 1);
    assert_int_equal(cur, 0x02);
    disk_job_free(j);
    img_close(&child);
    assert_true(storage_migrate_handover(&cur, 4));
    src_attached = false;
    enum smig_gate_op op;
    bool fail;
    void *a = poll_apart_next(h, &op, &fail), *b = poll_apart_next(h, &op, &fail);
    assert_true((a == &io0 && b == &io3) || (a == &io3 && b == &io0));
    assert_false(fail);
    assert_non_null(strstr(console, "the child's own layer leaves 1 of 4 units to the parents "
                                    "there: 2 units current there, 1 of them by the copy"));
    assert_non_null(strstr(console, "HANDOVER: 2 of 4 units here are current"));
    poll_apart_idle(msg);
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_IDLE);
    assert_non_null(strstr(console, "DONE received: committed as child.vhdx; served 2 READs"));
    static uint8_t all[DISK];
    assert_int_equal(vhdx_read(pd.d, 0, all, DISK, &verr), 0);
    assert_memory_equal(all, chain_view, DISK);
    pd_close();
    check_target_child();
    cur_vol = NULL;
}

/*
 * mbps= on READs with a link that never limits (no link-mbps, the pipe takes everything):
 * 4 units of 1 MiB at 1 MiB/s with a second's burst: the first READ goes, each later one is
 * held back once by the read bucket, never by the link's; the bytes arrive whole.
 */
static void test_after_mode_read_throttle(void **state)
{
    (void)state;
    char msg[200], tmp[128];
    console[0] = '\0';
    cur_vol = NULL;
    fill_after_disk();
    make_source_file("src3.vhdx");
    src_attached = false;
    struct storage_migrate_params p = after_params;
    p.name = "thr.vhdx";
    p.path = "src3.vhdx";
    p.link_mbps = 0;
    p.read_mbps = 1;
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    struct smig_remote_disk *h = storage_migrate_remote_claim("thr.vhdx", tmp, sizeof(tmp));
    assert_non_null(h);
    pd_open(tmp);
    storage_migrate_remote_bind(h, &pd_ops, &pd);
    int io = 1;
    assert_int_equal(storage_migrate_remote_gate(h, &io, 2 * MIB, 4096, SMIG_OP_READ),
                     SMIG_GATE_WAIT);       /* the guest runs here: the pull starts */
    enum smig_gate_op op;
    bool fail;
    assert_ptr_equal(poll_next(h, &op, &fail), &io);
    poll_until_idle(msg);
    assert_non_null(strstr(console, "served 4 READs (3 MiB of data, 1 MiB as zero), wire "));
    assert_non_null(strstr(console, "link throttled 0 times, reads throttled 3 times; "));
    assert_reads_as_disk(pd.d);
    pd_close();
    fat_unlink(&vol, "thr.vhdx");
    fat_unlink(&vol, "src3.vhdx");
}

/*
 * After: the live migration fails once the target's partition has opened NAME.tmp (its
 * guest never ran there): the partition lets it go, a later live migration may claim it
 * again; the source calls the hand-over off (cancel, wait=): the target discards NAME.tmp,
 * the source's file is as it was, no READ was ever answered.
 */
static void test_after_mode_live_migration_fails(void **state)
{
    (void)state;
    char msg[200], tmp[128];
    console[0] = '\0';
    cur_vol = NULL;
    fill_after_disk();
    make_source_file("src4.vhdx");
    src_attached = true;
    struct storage_migrate_params p = after_params;
    p.name = "lmf.vhdx";
    p.path = "src4.vhdx";
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_SERVE, msg), SMIG_SRC_SERVE);
    for (int round = 0; round < 2; round++) {
        struct smig_remote_disk *h = storage_migrate_remote_claim("lmf.vhdx", tmp, sizeof(tmp));
        assert_non_null(h);
        pd_open(tmp);
        storage_migrate_remote_bind(h, &pd_ops, &pd);
        for (int i = 0; i < 50; i++, now_ns += 1000000)
            storage_migrate_poll();
        /* the live migration fails: the restored partition is destroyed here */
        pd_close();
        storage_migrate_remote_release(h);
        for (int i = 0; i < 50; i++, now_ns += 1000000)
            storage_migrate_poll();
        assert_non_null(strstr(console, "storage-migrate: incoming lmf.vhdx from 10.0.3.1: the "
                                        "partition let it go before its guest ran here"));
        assert_null(strstr(console, "pulled into it here"));
        assert_true(exists("lmf.vhdx.tmp"));
    }
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_SERVE);
    struct storage_migrate_stats st;
    storage_migrate_get_stats(&st);
    assert_int_equal(st.reads_served, 0);
    storage_migrate_close("no live migration of live came in 600 s: called off");
    for (int i = 0; i < 50; i++, now_ns += 1000000)
        storage_migrate_poll();
    assert_non_null(strstr(console, "storage-migrate: incoming lmf.vhdx from 10.0.3.1: "
                                    "discarded: the source aborted: no live migration"));
    assert_false(exists("lmf.vhdx.tmp") || exists("lmf.vhdx"));
    assert_null(strstr(console, "a READ waits"));
    assert_null(strstr(console, "serving READs from"));
    struct img src;
    static uint8_t all[DISK];
    struct vhdx_err verr;
    img_open(&vol, "src4.vhdx", &src);
    assert_int_equal(vhdx_read(src.d, 0, all, DISK, &verr), 0);
    assert_memory_equal(all, disk, DISK);
    img_close(&src);
    cur_vol = NULL;
    fat_unlink(&vol, "src4.vhdx");
    src_attached = false;
}

/* Resume (before mode): the real copy job from the source's pool; units 0 and 1 reach the
 * target, the guest rewrites unit 0, unit 2 is staged when the link is cut.  The source
 * reconnects, the target reopens res.vhdx.tmp and sends the CRC of each unit; unit 2 (staged,
 * never arrived) is copied again, unit 0 as the guest's write, unit 3 by the first pass;
 * unit 1 is not sent again.  The target's res.vhdx equals the source's disk. */
static void test_resume_before_mode(void **state)
{
    (void)state;
    char msg[200];
    struct img im;
    struct vhdx_err verr;
    console[0] = '\0';
    mount_source_pool();
    img_create(&vol_a, "res.vhdx", &im);
    for (unsigned i = 0; i < DISK; i++)
        chain_view[i] = (uint8_t)(i * 13 + (i >> 14) + 3);
    assert_int_equal(vhdx_write(im.d, 0, chain_view, DISK, &verr), 0);
    struct storage_migrate_params p = params;
    p.name = "res.vhdx";
    p.link_mbps = 0;
    p.verify = true;
    cur_vol = NULL;
    assert_true(storage_migrate_open(&p, msg, 200));
    assert_int_equal(poll_apart_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    struct disk_job_params jp = { .op = DISK_JOB_COPY, .src = im.d, .dst = storage_migrate_io(),
                                  .dst_name = "10.0.3.2", .format = DISK_FORMAT_RAW,
                                  .ready_dirty_units = 0 };
    struct disk_job *j;
    cur_vol = &vol_a;
    assert_int_equal(disk_job_start(&jp, &j, &verr), 0);
    storage_migrate_set_job(j);
    for (int k = 0; k < 2; k++) {       /* units 0 and 1, delivered */
        cur_vol = &vol_a;
        assert_int_equal(disk_job_step(j, DISK_JOB_UNIT, &verr), DISK_JOB_RUNNING);
        for (int i = 0; i < 200; i++) {
            poll_apart();
            now_ns += 1000000;
        }
    }
    assert_non_null(strstr(console, "incoming res.vhdx from 10.0.3.1: 2 MiB received"));
    memset(chain_view + 4096, 0x77, 4096);      /* the guest rewrites unit 0 */
    cur_vol = &vol_a;
    assert_int_equal(vhdx_write(im.d, 4096, chain_view + 4096, 4096, &verr), 0);
    disk_job_note_write(j, 4096, 4096);
    assert_int_equal(disk_job_step(j, DISK_JOB_UNIT, &verr), DISK_JOB_RUNNING);  /* unit 2 */
    cut = true;
    for (int i = 0; i < 3; i++)
        poll_apart();
    cut = false;
    assert_non_null(strstr(console, "outgoing res.vhdx to 10.0.3.2: link lost: the link failed: "
                                    "reset; the guest goes on here, reconnecting in 1 s"));
    assert_non_null(strstr(console, "incoming res.vhdx from 10.0.3.1: link lost: the link failed: "
                                    "reset; res.vhdx.tmp kept for a resume (2048 KiB received "
                                    "this time)"));
    assert_int_equal(storage_migrate_room(), 0);
    for (int i = 0; i < 400 && !strstr(console, "resumed:"); i++) {
        poll_apart();
        now_ns += 10000000;
    }
    assert_non_null(strstr(console, "incoming res.vhdx from 10.0.3.1: resuming res.vhdx.tmp "
                                    "(attempt 1 of the same migration): reading what it holds\n"));
    assert_non_null(strstr(console, "outgoing res.vhdx to 10.0.3.2: resumed: the target kept its "
                                    "copy; 3 of 4 units there are as read here, 1 differ"));
    int rc = DISK_JOB_RUNNING;
    while (rc == DISK_JOB_RUNNING) {
        for (int i = 0; i < 20000 && storage_migrate_room() < 2; i++) {
            poll_apart();
            now_ns += 1000000;
        }
        assert_true(storage_migrate_room() >= 2);
        cur_vol = &vol_a;
        rc = disk_job_step(j, DISK_JOB_UNIT, &verr);
    }
    assert_int_equal(rc, DISK_JOB_READY);
    cur_vol = &vol_a;
    assert_int_equal(disk_job_finish(j, &verr), DISK_JOB_DONE);
    struct disk_job_progress pr;
    disk_job_get_progress(j, &pr);
    disk_job_free(j);
    storage_migrate_commit(true, crc32c(0, chain_view, DISK));
    assert_int_equal(poll_apart_until(SMIG_SRC_DONE, msg), SMIG_SRC_DONE);
    struct storage_migrate_stats st;
    storage_migrate_get_stats(&st);
    assert_int_equal(st.target_crc, crc32c(0, chain_view, DISK));
    const char *after = strstr(console, "after the last resume: wire ");
    assert_non_null(after);
    unsigned long wire = strtoul(after + strlen("after the last resume: wire "), NULL, 10);
    printf(" smig resume: %lu bytes on the wire after the resume, disk %u bytes\n", wire, DISK);
    assert_true(wire > 3ul * MIB && wire < DISK);   /* units 0, 2 and 3: not unit 1 */
    storage_migrate_close("");
    for (int i = 0; i < 10; i++)
        poll_apart();
    cur_vol = &vol_a;
    img_close(&im);
    cur_vol = NULL;
    assert_true(exists("res.vhdx"));
    assert_false(exists("res.vhdx.tmp") || exists("res.vhdx.tmp.smig"));
    struct img got;
    static uint8_t back[DISK];
    img_open(&vol, "res.vhdx", &got);
    assert_int_equal(vhdx_read(got.d, 0, back, DISK, &verr), 0);
    assert_memory_equal(back, chain_view, DISK);
    img_close(&got);
    cur_vol = NULL;
}

/* A cancel while a parent's PFILE is half out on the link: ABORT's bytes cannot follow it
 * (the target would read them as the rest of the parent), so the source only closes. */
static void test_cancel_mid_parent_file(void **state)
{
    (void)state;
    char msg[200];
    struct img child;
    make_chain_target_empty();
    console[0] = '\0';
    img_open(&vol_a, "child.vhdx", &child);
    struct storage_migrate_params p = params;
    p.name = "child.vhdx";
    p.link_mbps = 0;
    p.disk = child.d;
    /* the link takes 256 KiB at a time: a parent's 1 MiB chunks go out in parts */
    size_t cap = a2b.cap;
    a2b.cap = 256 * 1024;
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    for (int i = 0; i < 2000 && !strstr(console, "sent whole first"); i++) {
        poll_apart();
        now_ns += 1000000;
    }
    assert_non_null(strstr(console, "parent base.vhdx not there: sent whole first"));
    cur_vol = &vol_a;
    for (int i = 0; i < 10 && a2b.len < a2b.cap; i++)
        storage_migrate_source_poll();
    assert_int_equal(a2b.len, a2b.cap);         /* the link full in the middle of a PFILE */
    cur_vol = &vol;
    storage_migrate_target_poll();              /* the target reads that part */
    cur_vol = &vol_a;
    a2b.cap = cap;
    size_t before = a2b.len;
    storage_migrate_close("cancelled");
    assert_int_equal(a2b.len, before);          /* nothing after the half message */
    for (int i = 0; i < 100; i++) {
        cur_vol = &vol;
        storage_migrate_target_poll();
        now_ns += 1000000000;
    }
    cur_vol = &vol_a;
    img_close(&child);
    cur_vol = NULL;
    /* the target hears nothing more and gives up; nothing of it is kept */
    assert_non_null(strstr(console, "storage-migrate: incoming child.vhdx from 10.0.3.1: "
                                    "refused: nothing came from the peer for 30 s"));
    assert_false(exists("child.vhdx") || exists("base.vhdx") || exists("child.vhdx.tmp") ||
                 exists("base.vhdx.tmp"));
}

/* A connection that sends nothing (a handshake never finished) holds the one incoming slot
 * until another comes from its own address, or from another once its turn is over; one that
 * has begun its HELLO keeps it. */
static void test_silent_connection_makes_way(void **state)
{
    (void)state;
    static uint8_t nothing[1];
    static struct queue none = { nothing, 0, sizeof(nothing) }, sink;
    struct end silent = { &none, &sink, false }, other = { &none, &sink, false };
    sink.cap = 4096;
    sink.buf = malloc(sink.cap);
    console[0] = '\0';
    a2b.len = b2a.len = 0;
    end_b.closed = false;
    assert_true(storage_migrate_target_accept(&silent, "10.0.3.9"));
    storage_migrate_target_poll();                      /* it says nothing */
    assert_false(storage_migrate_target_accept(&end_b, "10.0.3.1"));   /* its turn goes on */
    assert_false(silent.closed);
    now_ns += PEER_SLOTS_TURN_MS * 1000000ull;
    assert_true(storage_migrate_target_accept(&end_b, "10.0.3.1"));
    assert_true(silent.closed);
    assert_non_null(strstr(console, "storage-migrate: incoming from 10.0.3.9: refused: another "
                                    "connection came before this one's HELLO\n"));
    static const uint8_t half[4] = { 'A', 'T', 'S', 'M' };
    memcpy(a2b.buf, half, sizeof(half));                /* part of a header: it has begun */
    a2b.len = sizeof(half);
    storage_migrate_target_poll();
    now_ns += 100 * PEER_SLOTS_TURN_MS * 1000000ull;
    assert_false(storage_migrate_target_accept(&other, "10.0.3.9"));
    assert_false(storage_migrate_target_accept(&other, "10.0.3.1"));
    assert_false(end_b.closed);
    cut = true;                                         /* that one goes */
    storage_migrate_target_poll();
    cut = false;
    assert_true(end_b.closed);
    free(sink.buf);
}

/* Another address opens connection after connection and never says anything while the
 * source's connection is in its handshake: none of them takes the slot, the disk goes
 * through with the flood running until the commit. */
static void test_flood_from_another_address(void **state)
{
    (void)state;
    static uint8_t nothing[1];
    static struct queue none = { nothing, 0, sizeof(nothing) }, sink;
    struct end stranger = { &none, &sink, false };
    sink.cap = 4096;
    sink.buf = malloc(sink.cap);
    console[0] = '\0';
    char msg[200];
    if (exists("io.vhdx"))
        fat_unlink(&vol, "io.vhdx");
    for (unsigned i = 0; i < DISK; i++)
        disk[i] = (uint8_t)(i * 13 + 5);
    assert_true(storage_migrate_open(&params, msg, sizeof(msg)));   /* accepted, no HELLO yet */
    unsigned taken = 0;
    for (int i = 0; i < 100; i++)
        taken += storage_migrate_target_accept(&stranger, "10.0.3.9");
    enum storage_migrate_state st = SMIG_SRC_HELLO;
    for (int i = 0; i < 20000 && st == SMIG_SRC_HELLO; i++) {
        storage_migrate_poll();
        taken += storage_migrate_target_accept(&stranger, "10.0.3.9");
        st = storage_migrate_state(msg, 200);
        now_ns += 1000000;
    }
    assert_int_equal(st, SMIG_SRC_STREAM);
    for (unsigned u = 0; u < 4; u++) {
        stage_unit(u);
        taken += storage_migrate_target_accept(&stranger, "10.0.3.9");
    }
    storage_migrate_commit(true, crc32c(0, disk, sizeof(disk)));
    assert_int_equal(poll_until(SMIG_SRC_DONE, msg), SMIG_SRC_DONE);
    assert_string_equal(msg, "committed as io.vhdx");
    assert_int_equal(taken, 0);
    assert_false(stranger.closed);
    storage_migrate_close("");
    for (int i = 0; i < 10; i++)
        storage_migrate_poll();
    assert_non_null(strstr(console, "(equal to the source's)"));
    assert_true(exists("io.vhdx"));
    fat_unlink(&vol, "io.vhdx");
    free(sink.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_refused_when_it_exists),
        cmocka_unit_test(test_abort_and_cut), cmocka_unit_test(test_after_mode),
        cmocka_unit_test(test_after_mode_link_cut),
        cmocka_unit_test(test_after_mode_guest_deadline),
        cmocka_unit_test(test_dead_peer_after_mode),
        cmocka_unit_test(test_after_mode_partition_ends_first),
        cmocka_unit_test(test_chain_parent_held), cmocka_unit_test(test_chain_parent_sent),
        cmocka_unit_test(test_chain_flat), cmocka_unit_test(test_chain_parent_differs),
        cmocka_unit_test(test_chain_two_levels),
        cmocka_unit_test(test_around_mode),
        cmocka_unit_test(test_resume_before_mode),
        cmocka_unit_test(test_chain_layer_map), cmocka_unit_test(test_after_chain_parent_held),
        cmocka_unit_test(test_after_chain_parent_sent),
        cmocka_unit_test(test_around_chain_parent_sent),
        cmocka_unit_test(test_after_mode_read_throttle),
        cmocka_unit_test(test_after_mode_live_migration_fails),
        cmocka_unit_test(test_cancel_mid_parent_file),
        cmocka_unit_test(test_silent_connection_makes_way),
        cmocka_unit_test(test_flood_from_another_address),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
