/*
 * `storage-selftest`: exercises the pool on real (emulated) hardware and leaves files the
 * host checks afterwards (tests/storage/pool-check):
 *   /Atoll Selftest/                                 a directory
 *   /Atoll Selftest/Renamed after the check.bin      300000 bytes of pattern(seed 1), written
 *                                                    under a long name, read back, renamed
 *   /Atoll Selftest/guest disk.vhdx                  dynamic VHDX, 16 MiB virtual, 1 MiB
 *                                                    blocks, holding the extents below
 * pattern(seed)[i] = (i * 31 + (i >> 8) * 7 + seed) & 0xff, i counted from the extent start.
 * Queued transfers (pool_io.h, the path guests' disks take): a scratch file (removed
 * again) and a range of the VHDX are written and read back by many transfers queued at
 * once, then checked against the synchronous path; the pool disk's high-water mark of
 * commands outstanding is printed (above 1 on NVMe, 1 on ATA).
 */
#include "hv/storage/pool.h"
#include "hv/storage/pool_io.h"

#include <string.h>
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/mm/kmem.h"

#define DIR       "/Atoll Selftest"
#define LONGNAME  DIR "/A long selftest file name.bin"
#define RENAMED   DIR "/Renamed after the check.bin"
#define VHDX_PATH DIR "/guest disk.vhdx"
#define FILE_SIZE 300000u
#define VHDX_SIZE (16ull << 20)
#define QUEUED_PATH  DIR "/queue depth.bin"
#define QUEUED_PIECE 16384u
#define QUEUED_COUNT 16         /* transfers at once: 256 KiB */
#define QUEUED_BYTES (QUEUED_PIECE * QUEUED_COUNT)
#define VHDX_QUEUED_OFF 65536u  /* in the VHDX's first block, present since extent 0 */

static const struct { uint64_t off; uint32_t len; uint8_t seed; } extents[] = {
    { 0, 65536, 2 }, { 5ull << 20, 4096, 3 }, { VHDX_SIZE - 8192, 8192, 4 },
};

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 8) * 7 + seed);
}

static bool fail(const char *step, const char *why)
{
    kprintf("storage: selftest: %s: %s\n", step, why);
    kprintf("storage: selftest FAIL\n");
    return false;
}

static bool file_roundtrip(struct fat_vol *v, uint8_t *buf, uint8_t *back)
{
    struct fat_file f;
    struct fat_stat st;
    pattern(buf, FILE_SIZE, 1);
    if (fat_mkdir(v, DIR) && fat_stat(v, DIR, &st))
        return fail("mkdir", v->err);
    if (fat_open(v, LONGNAME, FAT_O_CREATE | FAT_O_TRUNC, &f))
        return fail("create", v->err);
    /* two writes, the second unaligned, then close */
    if (fat_write(&f, 0, buf, 1000) != 1000 ||
        fat_write(&f, 1000, buf + 1000, FILE_SIZE - 1000) != FILE_SIZE - 1000 || fat_close(&f))
        return fail("write", v->err);
    if (fat_open(v, LONGNAME, 0, &f) || f.size != FILE_SIZE ||
        fat_read(&f, 0, back, FILE_SIZE) != FILE_SIZE || memcmp(buf, back, FILE_SIZE))
        return fail("read back", "data differs");
    if (fat_rename(v, LONGNAME, RENAMED))
        return fail("rename", v->err);
    if (fat_stat(v, LONGNAME, &st) != FAT_E_NOT_FOUND || fat_stat(v, RENAMED, &st) ||
        st.size != FILE_SIZE)
        return fail("rename", "old name still there or new one missing");
    kprintf("storage: selftest: file of %u bytes written, read back, renamed\n", FILE_SIZE);
    return true;
}

static struct pool_io queued[QUEUED_COUNT];

static void queued_done(struct pool_io *x)
{
    __atomic_add_fetch((unsigned *)x->ctx, 1, __ATOMIC_RELEASE);
}

/* Moves len bytes (whole QUEUED_PIECEs) of f (or of vhdx on it) at off through queued
 * transfers, all mapped and started before the first is waited for. */
static bool queued_pass(struct fat_file *f, struct vhdx *vhdx, enum block_op op, uint64_t off,
                        uint8_t *buf, uint32_t len)
{
    const struct block_window *w = pool_disk_window();
    unsigned n = len / QUEUED_PIECE, done = 0;
    if (!w || n > QUEUED_COUNT)
        return fail("queued transfers", "no pool window");
    for (unsigned i = 0; i < n; i++)
        if (pool_io_map(&queued[i], w, f, vhdx, op, BLOCK_CLASS_GUEST, off + i * QUEUED_PIECE,
                        QUEUED_PIECE, buf + i * QUEUED_PIECE))
            return fail("queued transfers", "a range did not map to the pool disk");
    for (unsigned i = 0; i < n; i++)
        pool_io_start(&queued[i], queued_done, &done);
    while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < n)
        block_poll(w->dev);
    for (unsigned i = 0; i < n; i++)
        if (queued[i].status)
            return fail("queued transfers", block_status_name(queued[i].status));
    return true;
}

static bool queued_file(struct fat_vol *v, uint8_t *buf, uint8_t *back)
{
    struct fat_file f;
    pattern(buf, QUEUED_BYTES, 5);
    if (fat_open(v, QUEUED_PATH, FAT_O_CREATE | FAT_O_TRUNC, &f) ||
        fat_truncate(&f, QUEUED_BYTES) || fat_flush(&f))
        return fail("queued file", v->err);
    if (!queued_pass(&f, NULL, BLOCK_WRITE, 0, buf, QUEUED_BYTES))
        return false;
    memset(back, 0, QUEUED_BYTES);
    if (!queued_pass(&f, NULL, BLOCK_READ, 0, back, QUEUED_BYTES))
        return false;
    if (memcmp(buf, back, QUEUED_BYTES))
        return fail("queued file", "queued reads differ from queued writes");
    memset(back, 0, QUEUED_BYTES);
    if (fat_read(&f, 0, back, QUEUED_BYTES) != QUEUED_BYTES || memcmp(buf, back, QUEUED_BYTES))
        return fail("queued file", "the file differs from the queued writes");
    if (fat_close(&f) || fat_unlink(v, QUEUED_PATH))
        return fail("queued file", v->err);
    return true;
}

/* Writes a pattern over zeros in a present block, reads it back, writes the zeros back. */
static bool queued_vhdx(struct fat_file *f, struct vhdx *d, uint8_t *buf, uint8_t *back)
{
    struct vhdx_err err;
    const uint32_t len = 4 * QUEUED_PIECE;
    pattern(buf, len, 6);
    if (!queued_pass(f, d, BLOCK_WRITE, VHDX_QUEUED_OFF, buf, len))
        return false;
    memset(back, 0, len);
    if (!queued_pass(f, d, BLOCK_READ, VHDX_QUEUED_OFF, back, len) || memcmp(buf, back, len))
        return fail("queued vhdx", "queued reads differ from queued writes");
    if (vhdx_read(d, VHDX_QUEUED_OFF, back, len, &err) || memcmp(buf, back, len))
        return fail("queued vhdx", "the image differs from the queued writes");
    memset(buf, 0, len);
    if (!queued_pass(f, d, BLOCK_WRITE, VHDX_QUEUED_OFF, buf, len))
        return false;
    if (vhdx_read(d, VHDX_QUEUED_OFF, back, len, &err) || memcmp(buf, back, len))
        return fail("queued vhdx", "zeros did not come back");
    return true;
}

static bool vhdx_roundtrip(struct fat_vol *v, uint8_t *buf, uint8_t *back)
{
    struct fat_file f;
    struct vhdx_io io;
    struct vhdx_err err;
    struct vhdx *d;
    struct vhdx_create_params p = { .disk_size = VHDX_SIZE, .block_size = 1u << 20 };
    if (fat_open(v, VHDX_PATH, FAT_O_CREATE | FAT_O_TRUNC, &f))
        return fail("vhdx file", v->err);
    pool_vhdx_io(&f, &io);
    if (vhdx_create(pool_vhdx_env(), &io, &p, &err) ||
        vhdx_open(pool_vhdx_env(), &io, VHDX_PATH, 0, &d, &err))
        return fail("vhdx create", err.msg);
    for (unsigned i = 0; i < sizeof(extents) / sizeof(extents[0]); i++) {
        pattern(buf, extents[i].len, extents[i].seed);
        if (vhdx_write(d, extents[i].off, buf, extents[i].len, &err))
            return fail("vhdx write", err.msg);
    }
    for (unsigned i = 0; i < sizeof(extents) / sizeof(extents[0]); i++) {
        pattern(buf, extents[i].len, extents[i].seed);
        if (vhdx_read(d, extents[i].off, back, extents[i].len, &err) ||
            memcmp(buf, back, extents[i].len))
            return fail("vhdx read back", "data differs");
    }
    if (!queued_vhdx(&f, d, buf, back))
        return false;
    if (vhdx_close(d, &err))
        return fail("vhdx close", err.msg);
    uint32_t size = f.size;
    if (fat_close(&f))
        return fail("vhdx file", v->err);
    kprintf("storage: selftest: vhdx written (%lu MiB virtual, %u KiB file)\n",
            (unsigned long)(VHDX_SIZE >> 20), size >> 10);
    return true;
}

bool pool_selftest(struct fat_vol *v)
{
    uint64_t t0 = time_ns();
    uint8_t *buf = kmalloc(FILE_SIZE), *back = kmalloc(FILE_SIZE);
    if (!buf || !back)
        return fail("memory", "no room for the buffers");
    _Static_assert(QUEUED_BYTES <= FILE_SIZE, "the buffers hold a queued pass");
    bool ok = file_roundtrip(v, buf, back) && vhdx_roundtrip(v, buf, back) &&
              queued_file(v, buf, back);
    kfree(buf);
    kfree(back);
    if (!ok)
        return false;
    if (fat_sync(v))
        return fail("sync", v->err);
    const struct block_device *d = block_find(pool_disk_name());
    if (d)
        kprintf("storage: selftest: queued transfers checked, at most %u commands outstanding on %s\n",
                d->max_inflight, d->name);
    kprintf("storage: selftest: %lu MiB free, %lu ms, %lu requests, %lu flushes\n",
            (unsigned long)(fat_free_bytes(v) >> 20), (unsigned long)((time_ns() - t0) / 1000000),
            (unsigned long)(d ? d->completed : 0), (unsigned long)(d ? d->flushes : 0));
    kprintf("storage: selftest PASS\n");
    return true;
}
