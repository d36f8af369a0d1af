/*
 * Fuzzes opening, log replay, reading and checking of hostile VHDX images.  A valid image
 * (dynamic parent plus a child whose log still needs replay) is built once; each input is a
 * list of patches (u32 offset, u8 length, bytes) applied to a copy of it.  The first byte
 * picks the image (bit 7), whether checksums are recomputed after patching (bit 6), so
 * that the parsers behind the CRC checks are reached too, and a read-only open (bit 5:
 * the log replayed in memory, every read through that overlay).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/lib/crc32c.h"
#include "hv/storage/vhdx.h"
#include "hv/storage/vhdx_internal.h"
#include "tests/fuzz/vhdx_patch.h"
#include "tests/unit/test_vhdx_mem_io.h"

#define MIB (1024u * 1024u)

static struct mem_disk parent_img, child_img;

static void build_templates(void)
{
    struct vhdx_io io = mem_disk_io(&parent_img);
    struct vhdx_create_params p = { .disk_size = 8 * MIB, .block_size = MIB };
    struct vhdx *d, *c;
    mem_disk_init(&parent_img);
    vhdx_create(&mem_env, &io, &p, NULL);
    vhdx_open(&mem_env, &io, "parent.vhdx", 0, &d, NULL);
    uint8_t buf[4096];
    memset(buf, 0x11, sizeof(buf));
    vhdx_write(d, 0, buf, sizeof(buf), NULL);
    vhdx_write(d, 3 * MIB, buf, sizeof(buf), NULL);
    vhdx_close(d, NULL);
    vhdx_open(&mem_env, &io, "parent.vhdx", VHDX_OPEN_READ_ONLY, &d, NULL);
    mem_disk_init(&child_img);
    struct vhdx_io cio = mem_disk_io(&child_img);
    struct vhdx_create_params cp = { .parent = d, .block_size = MIB,
                                     .parent_relative_path = "parent.vhdx" };
    vhdx_create(&mem_env, &cio, &cp, NULL);
    vhdx_close(d, NULL);
    mem_env_register_parent("parent.vhdx", &parent_img);
    vhdx_open(&mem_env, &cio, "child.vhdx", 0, &c, NULL);
    memset(buf, 0x22, sizeof(buf));
    vhdx_write(c, 512, buf, 1024, NULL);
    vhdx_write(c, 5 * MIB, buf, sizeof(buf), NULL);
    /* Leave the child as a crash would: the log still holds its last entry. */
    struct mem_disk snap;
    mem_disk_copy(&snap, &child_img);
    vhdx_close(c, NULL);
    mem_disk_free(&child_img);
    child_img = snap;
}

static void fix_checksums(struct mem_disk *m)
{
    vhdx_patch_fix_header_crcs(m);
    for (uint64_t pos = MIB; pos < 2 * MIB && pos + 4096 <= m->size; pos += 4096) {
        uint32_t len = le32(m->data + pos + 8);
        if (le32(m->data + pos) == VHDX_SIG_LOGE && len && len % 4096 == 0 &&
            pos + len <= 2 * MIB)
            vhdx_patch_fix_crc(m, pos, len);
    }
}

static void exercise(struct mem_disk *m, bool read_only)
{
    struct vhdx_io io = mem_disk_io(m);
    struct vhdx *d;
    struct vhdx_err err;
    if (vhdx_open(&mem_env, &io, "fuzz.vhdx", read_only ? VHDX_OPEN_READ_ONLY : 0, &d,
                  &err) != VHDX_OK)
        return;
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    static uint8_t buf[MIB];
    uint64_t step = info.disk_size / 8;
    step -= step % info.logical_sector_size;
    for (uint64_t off = 0; step && off + 4096 <= info.disk_size; off += step)
        vhdx_read(d, off, buf, 4096, NULL);
    struct vhdx_check_report r;
    vhdx_check(d, &r, NULL);
    memset(buf, 0x33, 4096);
    vhdx_write(d, 0, buf, 4096, NULL);
    vhdx_trim(d, 0, info.logical_sector_size, NULL);
    vhdx_close(d, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        build_templates();
        ready = 1;
    }
    if (size < 1)
        return 0;
    struct mem_disk m;
    mem_disk_copy(&m, (data[0] & 0x80) ? &child_img : &parent_img);
    vhdx_patch_apply(&m, data + 1, size - 1);
    if (data[0] & 0x40)
        fix_checksums(&m);
    /* Patches may break the parent too: keep the registered parent pristine per run. */
    struct mem_disk parent_copy;
    mem_disk_copy(&parent_copy, &parent_img);
    mem_env_register_parent("parent.vhdx", &parent_copy);
    exercise(&m, data[0] & 0x20);
    mem_disk_free(&parent_copy);
    mem_disk_free(&m);
    return 0;
}
