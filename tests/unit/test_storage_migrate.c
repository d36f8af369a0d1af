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
#include "hv/core/migrate.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/storage/fat32.h"
#include "hv/storage/vhdx.h"
#include "tests/unit/test_block_mem.h"

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

static struct fat_vol vol;
static bool vol_mounted;
struct fat_vol *pool_volume(void) { return vol_mounted ? &vol : NULL; }

static int file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    return fat_read(ctx, off, buf, len) == (long)len ? 0 : -1;
}
static int file_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    return fat_write(ctx, off, buf, len) == (long)len ? 0 : -1;
}
static int file_flush(void *ctx) { return fat_flush(ctx) ? -1 : 0; }
static uint64_t file_size(void *ctx) { return ((struct fat_file *)ctx)->size; }
static int file_resize(void *ctx, uint64_t size) { return fat_truncate(ctx, size) ? -1 : 0; }
void pool_vhdx_io(struct fat_file *f, struct vhdx_io *io)
{
    *io = (struct vhdx_io){ f, file_read, file_write, file_flush, file_size, file_resize };
}
static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }
static void env_guid(void *ctx, struct guid *out)
{
    static uint8_t n;
    (void)ctx;
    memset(out->b, ++n, sizeof(out->b));
}
static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free,
                                     .random_guid = env_guid };
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
    char path[64], cmd[160];
    snprintf(path, sizeof(path), "/tmp/atoll-smig-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path);
    snprintf(cmd, sizeof(cmd), "mkfs.fat -F 32 -S 512 -s 8 -n POOL -C %s %d >/dev/null 2>&1",
             path, 64 * 1024);
    if (system(cmd) != 0)
        return -1;
    img = mem_disk_load(path, &img_bytes);
    unlink(path);
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

    /* the link is cut mid-way: the source fails, the target discards */
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    stage_unit(0);
    storage_migrate_poll();
    cut = true;
    assert_int_equal(poll_until(SMIG_SRC_DONE, msg), SMIG_SRC_FAILED);
    assert_non_null(strstr(msg, "the link failed: reset"));
    assert_int_equal(storage_migrate_room(), 0);
    assert_int_equal(storage_migrate_io()->write(NULL, 0, disk, MIB), -1);
    storage_migrate_close("failed");
    cut = false;
    assert_non_null(strstr(console, "storage-migrate: incoming two.vhdx from 10.0.3.1: "
                                    "discarded: the link failed: reset\n"));
    assert_false(exists("two.vhdx.tmp") || exists("two.vhdx"));

    /* a link that moves nothing: both ends give up after MIGRATE_IDLE_NS */
    assert_true(storage_migrate_open(&p, msg, sizeof(msg)));
    assert_int_equal(poll_until(SMIG_SRC_STREAM, msg), SMIG_SRC_STREAM);
    now_ns += MIGRATE_IDLE_NS + 1;
    storage_migrate_poll();
    assert_int_equal(storage_migrate_state(msg, sizeof(msg)), SMIG_SRC_FAILED);
    assert_non_null(strstr(msg, "moved nothing for 60 s"));
    storage_migrate_close("failed");
    assert_false(exists("two.vhdx.tmp"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_refused_when_it_exists),
        cmocka_unit_test(test_abort_and_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
