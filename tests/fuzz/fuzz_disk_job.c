/*
 * Fuzzes the disk jobs on hostile source images: copy, fixed and raw convert, compact,
 * defrag and merge run in small steps over a patched VHDX (a dynamic disk, or a child over
 * a parent), with guest writes noted between steps.  Input: byte 0 picks the image (bit 7),
 * checksum repair after patching (bit 6) and the job (bits 0-2); then patches (u32 offset,
 * u8 length, bytes) as in fuzz_vhdx_open (tests/fuzz/vhdx_patch.h).  Nothing a job reads
 * from the image may make it crash, loop or overrun; errors are fine.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/disk_job.h"
#include "hv/storage/vhdx_internal.h"
#include "tests/fuzz/vhdx_patch.h"
#include "tests/unit/test_vhdx_mem_io.h"

#define MIB (1024u * 1024u)

static struct mem_disk parent_img, child_img;

static void build_templates(void)
{
    struct vhdx_io io = mem_disk_io(&parent_img);
    struct vhdx_create_params p = { .disk_size = 6 * MIB, .block_size = MIB };
    struct vhdx *d, *c;
    static uint8_t buf[8192];
    mem_disk_init(&parent_img);
    vhdx_create(&mem_env, &io, &p, NULL);
    vhdx_open(&mem_env, &io, "parent.vhdx", 0, &d, NULL);
    memset(buf, 0x11, sizeof(buf));
    vhdx_write(d, 0, buf, sizeof(buf), NULL);
    vhdx_write(d, 3 * MIB, buf, sizeof(buf), NULL);
    memset(buf, 0, sizeof(buf));
    vhdx_write(d, 4 * MIB, buf, sizeof(buf), NULL);
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
    vhdx_trim(c, 2 * MIB, MIB, NULL);
    vhdx_close(c, NULL);
}

static void run(struct mem_disk *m, unsigned pick)
{
    static const struct { enum disk_job_op op; enum disk_job_format f; } jobs[] = {
        { DISK_JOB_COPY, DISK_FORMAT_VHDX }, { DISK_JOB_CONVERT, DISK_FORMAT_VHDX_FIXED },
        { DISK_JOB_CONVERT, DISK_FORMAT_RAW }, { DISK_JOB_COMPACT, DISK_FORMAT_VHDX },
        { DISK_JOB_DEFRAG, DISK_FORMAT_VHDX }, { DISK_JOB_MERGE, DISK_FORMAT_VHDX },
    };
    unsigned k = pick % (sizeof(jobs) / sizeof(jobs[0]));
    struct vhdx_io io = mem_disk_io(m);
    struct vhdx *d;
    if (vhdx_open(&mem_env, &io, "fuzz.vhdx", jobs[k].op == DISK_JOB_MERGE ? VHDX_OPEN_PARENT_RW : 0,
                  &d, NULL) != VHDX_OK)
        return;
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    if (info.disk_size > 64 * MIB) { /* keep each run short */
        vhdx_close(d, NULL);
        return;
    }
    struct mem_disk out;
    mem_disk_init(&out);
    struct vhdx_io oio = mem_disk_io(&out);
    struct disk_job_params p = { .op = jobs[k].op, .format = jobs[k].f, .src = d, .dst = &oio,
                                 .dst_name = "out" };
    struct disk_job *j;
    if (disk_job_start(&p, &j, NULL) == VHDX_OK) {
        static uint8_t buf[4096];
        memset(buf, 0x44, sizeof(buf));
        int st;
        for (int i = 0; i < 200; i++) {
            st = disk_job_step(j, MIB, NULL);
            if (st != DISK_JOB_RUNNING)
                break;
            if (i == 1 && vhdx_write(d, 0, buf, sizeof(buf), NULL) == VHDX_OK)
                disk_job_note_write(j, 0, sizeof(buf));
        }
        if (st == DISK_JOB_READY)
            disk_job_finish(j, NULL);
        disk_job_free(j);
    }
    vhdx_close(d, NULL);
    mem_disk_free(&out);
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
        vhdx_patch_fix_header_crcs(&m);
    struct mem_disk parent_copy;
    mem_disk_copy(&parent_copy, &parent_img);
    mem_env_register_parent("parent.vhdx", &parent_copy);
    run(&m, data[0] & 7);
    mem_disk_free(&parent_copy);
    mem_disk_free(&m);
    return 0;
}
