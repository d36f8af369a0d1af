/*
 * `storage-selftest`: exercises the pool on real (emulated) hardware and leaves files the
 * host checks afterwards (tests/storage/pool-check):
 *   /Atoll Selftest/                                 a directory
 *   /Atoll Selftest/Renamed after the check.bin      300000 bytes of pattern(seed 1), written
 *                                                    under a long name, read back, renamed
 *   /Atoll Selftest/guest disk.vhdx                  dynamic VHDX, 16 MiB virtual, 1 MiB
 *                                                    blocks, holding the extents below
 * pattern(seed)[i] = (i * 31 + (i >> 8) * 7 + seed) & 0xff, i counted from the extent start.
 */
#include "hv/storage/pool.h"

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
    bool ok = file_roundtrip(v, buf, back) && vhdx_roundtrip(v, buf, back);
    kfree(buf);
    kfree(back);
    if (!ok)
        return false;
    if (fat_sync(v))
        return fail("sync", v->err);
    const struct block_device *d = block_find(pool_disk_name());
    kprintf("storage: selftest: %lu MiB free, %lu ms, %lu requests, %lu flushes\n",
            (unsigned long)(fat_free_bytes(v) >> 20), (unsigned long)((time_ns() - t0) / 1000000),
            (unsigned long)(d ? d->completed : 0), (unsigned long)(d ? d->flushes : 0));
    kprintf("storage: selftest PASS\n");
    return true;
}
