/* Disk jobs (copy, convert, compact, defrag, merge) and the de-duplication index on
 * in-memory images: content, layout, guest writes during a job, pause/cancel, resume, and a
 * power cut at every write of a merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <bearssl.h>

#include "hv/storage/dedup_index.h"
#include "hv/storage/disk_job.h"
#include "hv/storage/vhdx_internal.h"
#include "tests/unit/test_vhdx_disk.h"
#include "tests/unit/test_vhdx_mem_io.h"

#define MIB (1024u * 1024u)
#define SIZE (16 * MIB)

static void sha256(void *ctx, const void *data, size_t len, uint8_t out[32])
{
    br_sha256_context c;
    br_sha256_init(&c);
    br_sha256_update(&c, data, len);
    br_sha256_out(&c, out);
}

static void put(struct vhdx *d, uint8_t *view, uint64_t off, size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    if (seed)
        fill(b, n, seed);
    else
        memset(b, 0, n);
    assert_int_equal(vhdx_write(d, off, b, n, NULL), VHDX_OK);
    if (view)
        memcpy(view + off, b, n);
    free(b);
}

static void expect_view(struct vhdx *d, const uint8_t *view)
{
    uint8_t *r = malloc(SIZE);
    assert_int_equal(vhdx_read(d, 0, r, SIZE, NULL), VHDX_OK);
    assert_memory_equal(r, view, SIZE);
    free(r);
}

/* A 16 MiB disk, 1 MiB blocks: data in units 1, 3-5 and 9 (partly), zeros written in 7,
 * unit 11 written then trimmed. */
static struct vhdx *make_source(struct mem_disk *m, uint8_t *view)
{
    make_disk(m, SIZE, MIB, 0);
    memset(view, 0, SIZE);
    struct vhdx *d = open_disk(m, "src.vhdx", 0);
    put(d, view, 1 * MIB, MIB, 1);
    put(d, view, 3 * MIB, 3 * MIB, 2);
    put(d, view, 9 * MIB + 4096, 8192, 3);
    put(d, view, 7 * MIB, MIB, 0);
    put(d, NULL, 11 * MIB, MIB, 4);
    assert_int_equal(vhdx_trim(d, 11 * MIB, MIB, NULL), VHDX_OK);
    return d;
}

static int run_job(struct disk_job *j, uint64_t budget)
{
    struct vhdx_err err;
    int st;
    for (int i = 0; i < 1000; i++) {
        st = disk_job_step(j, budget, &err);
        if (st < 0)
            fail_msg("step: %s", err.msg);
        if (st == DISK_JOB_READY)
            break;
    }
    st = disk_job_finish(j, &err);
    if (st < 0)
        fail_msg("finish: %s", err.msg);
    return st;
}

static struct disk_job *start(struct disk_job_params *p)
{
    struct disk_job *j;
    struct vhdx_err err;
    if (disk_job_start(p, &j, &err))
        fail_msg("start: %s", err.msg);
    return j;
}

/* A copy's two ends: the source make_source builds (its contents in view) and an empty
 * destination. */
struct copy_ends {
    struct mem_disk sm, dm;
    struct vhdx_io dio;
    uint8_t *view;
    struct vhdx *s;
};

static void copy_ends_init(struct copy_ends *e)
{
    e->view = malloc(SIZE);
    e->s = make_source(&e->sm, e->view);
    mem_disk_init(&e->dm);
    e->dio = mem_disk_io(&e->dm);
}

static void copy_ends_free(struct copy_ends *e)
{
    vhdx_close(e->s, NULL);
    mem_disk_free(&e->sm), mem_disk_free(&e->dm);
    free(e->view);
}

/* The destination, opened as name, reads as the view and checks clean. */
static void expect_copy(struct copy_ends *e, const char *name)
{
    struct vhdx *d = open_disk(&e->dm, name, 0);
    expect_view(d, e->view);
    check_clean(d);
    vhdx_close(d, NULL);
}

static void test_copy_skips_zero_units(void **state)
{
    struct copy_ends e;
    copy_ends_init(&e);
    struct disk_job_params p = { .op = DISK_JOB_COPY, .src = e.s, .dst = &e.dio,
                                 .dst_name = "dst" };
    struct disk_job *j = start(&p);
    assert_int_equal(run_job(j, 3 * MIB), DISK_JOB_DONE);
    struct disk_job_progress pr;
    disk_job_get_progress(j, &pr);
    assert_int_equal(pr.done, SIZE);
    assert_int_equal(pr.bytes_written, 5 * MIB); /* units 1, 3, 4, 5, 9 */
    assert_int_equal(pr.bytes_read, 6 * MIB);    /* and unit 7: allocated zeros */
    disk_job_free(j);
    expect_copy(&e, "dst");
    struct vhdx *d = open_disk(&e.dm, "dst", VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.blocks_present, 5);
    vhdx_close(d, NULL);
    copy_ends_free(&e);
}

static void test_convert_fixed_raw_dynamic(void **state)
{
    struct mem_disk sm, fm, rm, dm;
    uint8_t *view = malloc(SIZE);
    struct vhdx *s = make_source(&sm, view);
    mem_disk_init(&fm), mem_disk_init(&rm), mem_disk_init(&dm);
    struct vhdx_io fio = mem_disk_io(&fm), rio = mem_disk_io(&rm), dio = mem_disk_io(&dm);
    struct disk_job_params p = { .op = DISK_JOB_CONVERT, .src = s, .dst = &fio,
                                 .format = DISK_FORMAT_VHDX_FIXED };
    struct disk_job *j = start(&p);
    run_job(j, 4 * MIB);
    disk_job_free(j);
    struct vhdx *f = open_disk(&fm, "fixed", 0);
    struct vhdx_info info;
    vhdx_get_info(f, &info);
    assert_int_equal(info.blocks_present, 16);
    assert_true(f->leave_allocated);
    expect_view(f, view);
    check_clean(f);
    /* fixed -> raw -> dynamic */
    p = (struct disk_job_params){ .op = DISK_JOB_CONVERT, .src = f, .dst = &rio,
                                  .format = DISK_FORMAT_RAW };
    j = start(&p);
    run_job(j, 4 * MIB);
    disk_job_free(j);
    assert_int_equal(rm.size, SIZE);
    assert_memory_equal(rm.data, view, SIZE);
    p = (struct disk_job_params){ .op = DISK_JOB_CONVERT, .src_raw = &rio, .src_raw_size = SIZE,
                                  .env = &mem_env, .dst = &dio, .block_size = 2 * MIB };
    j = start(&p);
    run_job(j, 4 * MIB);
    disk_job_free(j);
    struct vhdx *d = open_disk(&dm, "dyn", 0);
    vhdx_get_info(d, &info);
    assert_int_equal(info.block_size, 2 * MIB);
    assert_int_equal(info.blocks_present, 4); /* 2 MiB blocks 0, 1, 2, 4 hold data */
    expect_view(d, view);
    vhdx_close(d, NULL), vhdx_close(f, NULL), vhdx_close(s, NULL);
    mem_disk_free(&sm), mem_disk_free(&fm), mem_disk_free(&rm), mem_disk_free(&dm);
    free(view);
}

static uint64_t block_off(struct vhdx *d, uint32_t b)
{
    return VHDX_BAT_OFFSET(vhdx_bat_get(d, vhdx_payload_index(d, b)));
}

static void test_defrag_orders_blocks_and_keeps_zero_blocks(void **state)
{
    struct mem_disk sm, dm;
    uint8_t *view = malloc(SIZE);
    make_disk(&sm, SIZE, MIB, 0);
    memset(view, 0, SIZE);
    struct vhdx *s = open_disk(&sm, "src", 0);
    for (int b = 15; b >= 8; b--)
        put(s, view, (uint64_t)b * MIB, MIB, b == 12 ? 0 : (unsigned)b);
    assert_true(block_off(s, 15) < block_off(s, 8));
    mem_disk_init(&dm);
    struct vhdx_io dio = mem_disk_io(&dm);
    struct disk_job_params p = { .op = DISK_JOB_DEFRAG, .src = s, .dst = &dio };
    struct disk_job *j = start(&p);
    run_job(j, MIB);
    disk_job_free(j);
    struct vhdx *d = open_disk(&dm, "dst", 0);
    for (uint32_t b = 8; b < 15; b++)
        assert_true(block_off(d, b) < block_off(d, b + 1));
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.blocks_present, 8); /* block 12 (zeros) stays allocated */
    expect_view(d, view);
    check_clean(d);
    vhdx_close(d, NULL), vhdx_close(s, NULL);
    mem_disk_free(&sm), mem_disk_free(&dm);
    free(view);
}

static void test_compact_plain_and_child(void **state)
{
    struct mem_disk sm, dm, pm, cm, em;
    uint8_t *view = malloc(SIZE);
    struct vhdx *s = make_source(&sm, view);
    mem_disk_init(&dm);
    struct vhdx_io dio = mem_disk_io(&dm);
    struct disk_job_params p = { .op = DISK_JOB_COMPACT, .src = s, .dst = &dio };
    struct disk_job *j = start(&p);
    run_job(j, 2 * MIB);
    disk_job_free(j);
    struct vhdx *d = open_disk(&dm, "dst", 0);
    struct vhdx_info si, di;
    vhdx_get_info(s, &si);
    vhdx_get_info(d, &di);
    assert_int_equal(si.blocks_present, 6);
    assert_int_equal(di.blocks_present, 5);
    assert_true(di.file_size < si.file_size);
    expect_view(d, view);
    vhdx_close(d, NULL), vhdx_close(s, NULL);

    /* A child: the result is a child of the same parent holding only the child's sectors;
     * a zero run the child wrote still masks the parent. */
    make_disk(&pm, SIZE, MIB, 0);
    struct vhdx *pp = open_disk(&pm, "p.vhdx", 0);
    put(pp, NULL, 0, SIZE, 9);
    vhdx_close(pp, NULL);
    make_child(&pm, "p.vhdx", &cm, MIB);
    struct vhdx *c = open_disk(&cm, "c.vhdx", 0);
    put(c, NULL, 2 * MIB, MIB, 0);
    put(c, NULL, 5 * MIB + 512, 1024, 5);
    assert_int_equal(vhdx_read(c, 0, view, SIZE, NULL), VHDX_OK);
    mem_disk_init(&em);
    struct vhdx_io eio = mem_disk_io(&em);
    p = (struct disk_job_params){ .op = DISK_JOB_COMPACT, .src = c, .dst = &eio, .dst_name = "e" };
    j = start(&p);
    run_job(j, 4 * MIB);
    disk_job_free(j);
    struct vhdx *e = open_disk(&em, "e", 0);
    assert_non_null(vhdx_parent(e));
    vhdx_get_info(e, &di);
    assert_int_equal(di.blocks_present, 1); /* block 5; block 2 is ZERO */
    assert_int_equal(di.blocks_zero, 1);
    expect_view(e, view);
    check_clean(e);
    vhdx_close(e, NULL), vhdx_close(c, NULL);
    mem_disk_free(&sm), mem_disk_free(&dm), mem_disk_free(&pm), mem_disk_free(&cm);
    mem_disk_free(&em);
    mem_env_clear_parents();
    free(view);
}

static void test_guest_writes_during_copy(void **state)
{
    struct copy_ends e;
    copy_ends_init(&e);
    struct vhdx *s = e.s;
    uint8_t *view = e.view;
    struct disk_job_params p = { .op = DISK_JOB_COPY, .src = s, .dst = &e.dio, .dst_name = "dst",
                                 .ready_dirty_units = 1 };
    struct disk_job *j = start(&p);
    struct vhdx_err err;
    assert_int_equal(disk_job_step(j, 6 * MIB, &err), DISK_JOB_RUNNING);
    /* Passed units: 1 (rewritten), 3 (zeroed: must not keep the old data), 0 (new). */
    put(s, view, 1 * MIB + 512, 4096, 77);
    disk_job_note_write(j, 1 * MIB + 512, 4096);
    put(s, view, 3 * MIB, MIB, 0);
    disk_job_note_write(j, 3 * MIB, MIB);
    put(s, view, 0, 512, 78);
    disk_job_note_write(j, 0, 512);
    /* Not passed yet: the first pass reads the new data anyway. */
    put(s, view, 14 * MIB, MIB, 79);
    disk_job_note_write(j, 14 * MIB, MIB);
    struct disk_job_progress pr;
    disk_job_get_progress(j, &pr);
    assert_int_equal(pr.dirty_units, 3);
    assert_int_equal(pr.dirty_marked, 3);
    assert_int_equal(pr.total, SIZE + 3 * MIB);
    /* What the around mode hands over: passed (0..5) and not written since (2, 4, 5). */
    uint8_t cur[SIZE / MIB / 8 + 1];
    memset(cur, 0xff, sizeof(cur));
    assert_int_equal(disk_job_current_units(j, cur), 3);
    assert_int_equal(cur[0], 0x34);
    for (unsigned k = 1; k < (SIZE / MIB + 7) / 8; k++)
        assert_int_equal(cur[k], 0);
    int st;
    while ((st = disk_job_step(j, 4 * MIB, &err)) == DISK_JOB_RUNNING)
        ;
    assert_int_equal(st, DISK_JOB_READY);
    /* After READY, before finish (the disk lock is taken): still not lost. */
    put(s, view, 2 * MIB, 4096, 80);
    disk_job_note_write(j, 2 * MIB, 4096);
    assert_int_equal(disk_job_finish(j, &err), DISK_JOB_DONE);
    disk_job_get_progress(j, &pr);
    assert_int_equal(pr.dirty_units, 0);
    assert_int_equal(pr.dirty_marked, 4);      /* every re-copy counted, the last one too */
    assert_true(pr.passes >= 2);
    assert_int_equal(pr.done, pr.total);
    disk_job_free(j);
    expect_copy(&e, "dst");
    copy_ends_free(&e);
}

static void test_pause_resume_cancel(void **state)
{
    struct copy_ends e;
    copy_ends_init(&e);
    struct disk_job_params p = { .op = DISK_JOB_COPY, .src = e.s, .dst = &e.dio };
    struct disk_job *j = start(&p);
    struct disk_job_progress pr;
    assert_int_equal(disk_job_step(j, MIB, NULL), DISK_JOB_RUNNING);
    disk_job_pause(j);
    unsigned writes = e.dm.writes;
    assert_int_equal(disk_job_step(j, MIB, NULL), DISK_JOB_PAUSED);
    disk_job_get_progress(j, &pr);
    assert_int_equal(pr.state, DISK_JOB_PAUSED);
    assert_int_equal(pr.done, MIB);
    assert_int_equal(e.dm.writes, writes);
    disk_job_resume(j);
    assert_int_equal(disk_job_step(j, MIB, NULL), DISK_JOB_RUNNING);
    disk_job_get_progress(j, &pr);
    assert_int_equal(pr.done, 2 * MIB);
    disk_job_cancel(j);
    assert_int_equal(disk_job_step(j, MIB, NULL), DISK_JOB_CANCELLED);
    struct vhdx_err err;
    assert_true(disk_job_finish(j, &err) < 0);
    disk_job_free(j);
    copy_ends_free(&e);
}

static void test_resume_after_cut(void **state)
{
    struct copy_ends e;
    copy_ends_init(&e);
    e.dm.writes_left = 40; /* the power goes after 40 writes of the copy */
    struct disk_job_params p = { .op = DISK_JOB_COPY, .src = e.s, .dst = &e.dio,
                                 .dst_name = "dst" };
    struct disk_job *j = start(&p);
    run_job(j, MIB);
    disk_job_free(j);
    struct disk_job_progress pr;
    e.dm.writes_left = -1;
    p.resume = true;
    j = start(&p);
    run_job(j, MIB);
    disk_job_get_progress(j, &pr);
    assert_true(pr.bytes_dedup > 0);          /* what the cut copy holds is not rewritten */
    assert_true(pr.bytes_written < 5 * MIB);
    disk_job_free(j);
    expect_copy(&e, "dst");
    copy_ends_free(&e);
}

static void test_io_error_fails_the_job(void **state)
{
    struct copy_ends e;
    copy_ends_init(&e);
    struct disk_job_params p = { .op = DISK_JOB_COPY, .src = e.s, .dst = &e.dio,
                                 .dst_name = "dst" };
    struct disk_job *j = start(&p);
    e.dm.fail_io = true;
    struct vhdx_err err;
    assert_int_equal(disk_job_step(j, 4 * MIB, &err), VHDX_E_IO);
    assert_non_null(strstr(err.msg, "dst"));
    assert_int_equal(disk_job_step(j, 4 * MIB, &err), DISK_JOB_CANCELLED);
    disk_job_free(j);
    copy_ends_free(&e);
}

/* ---- merge -------------------------------------------------------------------------- */

static void make_chain(struct mem_disk *pm, struct mem_disk *cm, uint8_t *view)
{
    make_disk(pm, SIZE, MIB, 0);
    struct vhdx *p = open_disk(pm, "p.vhdx", 0);
    put(p, NULL, 0, 8 * MIB, 21);
    vhdx_close(p, NULL);
    make_child(pm, "p.vhdx", cm, MIB);
    struct vhdx *c = open_disk(cm, "c.vhdx", 0);
    put(c, NULL, 3 * MIB + 512, 8192, 33);
    put(c, NULL, 12 * MIB, 2 * MIB, 34);
    assert_int_equal(vhdx_trim(c, 5 * MIB, MIB, NULL), VHDX_OK);
    assert_int_equal(vhdx_read(c, 0, view, SIZE, NULL), VHDX_OK);
    vhdx_close(c, NULL);
}

static void test_merge_with_guest_writes(void **state)
{
    struct mem_disk pm, cm;
    uint8_t *view = malloc(SIZE);
    make_chain(&pm, &cm, view);
    struct vhdx *c = open_disk(&cm, "c.vhdx", VHDX_OPEN_PARENT_RW);
    struct disk_job_params p = { .op = DISK_JOB_MERGE, .src = c };
    struct disk_job *j = start(&p);
    struct vhdx_err err;
    assert_int_equal(disk_job_step(j, 8 * MIB, &err), DISK_JOB_RUNNING);
    assert_true(vhdx_merge_in_progress(c));
    put(c, view, 3 * MIB, 4096, 90); /* merged already */
    disk_job_note_write(j, 3 * MIB, 4096);
    put(c, view, 13 * MIB, 4096, 91); /* not yet */
    disk_job_note_write(j, 13 * MIB, 4096);
    assert_int_equal(run_job(j, 8 * MIB), DISK_JOB_DONE);
    disk_job_free(j);
    vhdx_close(c, NULL);
    struct vhdx *pp = open_disk(&pm, "p.vhdx", VHDX_OPEN_READ_ONLY);
    expect_view(pp, view);
    check_clean(pp);
    vhdx_close(pp, NULL);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
    free(view);
}

/*
 * A merge on an attached disk, as hv/core/disk_ops.c runs it: the child attached with its
 * parent read-only while the guest writes; the job's start reopens it with the parent
 * writable (the partition paused); guest writes land in the child during the steps, those
 * behind the job mark units dirty; finish, then the disk switches to the parent, which
 * reads as the chain did and keeps taking writes (after which the child is stale).  A cut
 * mid-way (the files as a step's last flush left them) leaves the chain reading as before
 * when attached again (parent read-only, or writable when its log is to be replayed), and
 * merging again finishes the job.
 */
static void test_live_merge_attached_chain(void **state)
{
    struct mem_disk pm, cm, pcut, ccut;
    uint8_t *view = malloc(SIZE), *cut_view = malloc(SIZE);
    make_chain(&pm, &cm, view);
    struct vhdx *c = open_disk(&cm, "c.vhdx", 0);       /* attached: parent read-only */
    struct vhdx_info info;
    vhdx_get_info(c, &info);
    assert_string_equal(info.parent_name, "p.vhdx");
    put(c, view, 6 * MIB, 4096, 40);
    expect_view(c, view);
    assert_int_equal(vhdx_close(c, NULL), VHDX_OK);     /* the switch at the job's start */
    c = open_disk(&cm, "c.vhdx", VHDX_OPEN_PARENT_RW);
    struct disk_job_params p = { .op = DISK_JOB_MERGE, .src = c, .ready_dirty_units = 2 };
    struct disk_job *j = start(&p);
    struct vhdx_err err;
    unsigned steps = 0;
    int st;
    while ((st = disk_job_step(j, MIB, &err)) == DISK_JOB_RUNNING) {
        uint64_t off = (uint64_t)(steps * 5 % 16) * MIB + 512 * (steps % 7);
        if (steps < 20 || steps % 3 == 0) {             /* the guest, slower than the job */
            put(c, view, off, 4096, 50 + steps);
            disk_job_note_write(j, off, 4096);
        }
        if (++steps == 6) {                             /* power cut here, in a copy */
            mem_disk_copy(&pcut, &pm), mem_disk_copy(&ccut, &cm);
            memcpy(cut_view, view, SIZE);
        }
        assert_true(steps < 200);
    }
    assert_int_equal(st, DISK_JOB_READY);
    struct disk_job_progress pr;
    disk_job_get_progress(j, &pr);
    assert_true(pr.dirty_marked > 0);                   /* writes behind the job re-merged */
    assert_int_equal(disk_job_finish(j, &err), DISK_JOB_DONE);
    disk_job_free(j);
    assert_int_equal(vhdx_close(c, NULL), VHDX_OK);     /* the switch: the disk is p.vhdx */
    struct vhdx *pp = open_disk(&pm, "p.vhdx", 0);
    expect_view(pp, view);
    check_clean(pp);
    put(pp, view, 2 * MIB, 4096, 77);                   /* the partition goes on, on p */
    expect_view(pp, view);
    vhdx_close(pp, NULL);
    struct vhdx_io cio = mem_disk_io(&cm);
    assert_int_equal(vhdx_open(&mem_env, &cio, "c.vhdx", 0, &c, &err), VHDX_E_STALE_PARENT);

    /* The cut copy: attach as the pool does (parent read-only, then writable). */
    mem_env_register_parent("p.vhdx", &pcut);
    cio = mem_disk_io(&ccut);
    int rc = vhdx_open(&mem_env, &cio, "c.vhdx", 0, &c, &err);
    if (rc == VHDX_E_READ_ONLY)                         /* the parent's log to replay */
        rc = vhdx_open(&mem_env, &cio, "c.vhdx", VHDX_OPEN_PARENT_RW, &c, &err);
    assert_int_equal(rc, VHDX_OK);
    assert_true(vhdx_merge_in_progress(c));
    expect_view(c, cut_view);
    check_clean(c);
    vhdx_close(c, NULL);                                /* a merge again: parent writable */
    c = open_disk(&ccut, "c.vhdx", VHDX_OPEN_PARENT_RW);
    struct disk_job_params p2 = { .op = DISK_JOB_MERGE, .src = c };
    j = start(&p2);
    assert_int_equal(run_job(j, 4 * MIB), DISK_JOB_DONE);
    disk_job_free(j);
    vhdx_close(c, NULL);
    pp = open_disk(&pcut, "p.vhdx", VHDX_OPEN_READ_ONLY);
    expect_view(pp, cut_view);
    check_clean(pp);
    vhdx_close(pp, NULL);
    mem_disk_free(&pm), mem_disk_free(&cm), mem_disk_free(&pcut), mem_disk_free(&ccut);
    mem_env_clear_parents();
    free(view), free(cut_view);
}

/* Two images behind one power switch: after `left` writes in all, nothing more lands. */
static long cut_left;
static struct mem_disk *cut_disks[2];
static struct vhdx_io cut_inner[2];
static int cut_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    int i = (int)(intptr_t)ctx;
    if (cut_left == 0)
        return 0;
    if (cut_left > 0)
        cut_left--;
    return cut_inner[i].write(cut_inner[i].ctx, off, buf, len);
}
static int cut_resize(void *ctx, uint64_t size)
{
    int i = (int)(intptr_t)ctx;
    if (cut_left == 0)
        return 0;
    if (cut_left > 0)
        cut_left--;
    return cut_inner[i].resize(cut_inner[i].ctx, size);
}
static int cut_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    int i = (int)(intptr_t)ctx;
    return cut_inner[i].read(cut_inner[i].ctx, off, buf, len);
}
static int cut_flush(void *ctx) { return 0; }
static uint64_t cut_size(void *ctx)
{
    int i = (int)(intptr_t)ctx;
    return cut_inner[i].size(cut_inner[i].ctx);
}
static struct vhdx_io cut_io(int i)
{
    cut_inner[i] = mem_disk_io(cut_disks[i]);
    return (struct vhdx_io){ (void *)(intptr_t)i, cut_read, cut_write, cut_flush, cut_size,
                             cut_resize };
}
static int cut_open_parent(void *ctx, const char *child, const char *rel, const char *abs,
                           bool writable, struct vhdx_io *io, char *name, size_t name_size)
{
    *io = cut_io(1);
    snprintf(name, name_size, "%s", rel);
    return 0;
}
static void cut_close_parent(void *ctx, struct vhdx_io *io) { }

static void test_merge_cut_at_every_write(void **state)
{
    struct mem_disk pm0, cm0;
    uint8_t *view = malloc(SIZE), *r = malloc(SIZE);
    make_chain(&pm0, &cm0, view);
    struct vhdx_env env = mem_env;
    env.open_parent = cut_open_parent;
    env.close_parent = cut_close_parent;
    long total = -1;
    unsigned trials = 0, whole_parent = 0;
    for (long n = 0; total < 0 || n <= total; n += total > 200 ? 3 : 1) {
        struct mem_disk pm, cm;
        mem_disk_copy(&pm, &pm0), mem_disk_copy(&cm, &cm0);
        cut_disks[0] = &cm, cut_disks[1] = &pm;
        cut_left = total < 0 ? -1 : n;
        struct vhdx_io cio = cut_io(0);
        struct vhdx *c;
        struct vhdx_err err;
        if (vhdx_open(&env, &cio, "c.vhdx", VHDX_OPEN_PARENT_RW, &c, &err))
            fail_msg("open: %s", err.msg);
        struct disk_job_params p = { .op = DISK_JOB_MERGE, .src = c };
        struct disk_job *j = start(&p);
        int st;
        while ((st = disk_job_step(j, 2 * MIB, &err)) == DISK_JOB_RUNNING)
            ;
        if (st == DISK_JOB_READY)
            st = disk_job_finish(j, &err);
        assert_int_equal(st, DISK_JOB_DONE);
        disk_job_free(j);
        vhdx_close(c, NULL);
        if (total < 0) {
            total = (long)(pm.writes + cm.writes); /* the uninterrupted run's writes */
            n = -1;
        } else {
            trials++;
            /* Power back: the chain reads as before (the parent's log replayed: opened
             * writable); merging again completes it. */
            cut_left = -1;
            cio = cut_io(0);
            if (vhdx_open(&env, &cio, "c.vhdx", VHDX_OPEN_PARENT_RW, &c, &err))
                fail_msg("cut after %ld writes: reopen: %s", n, err.msg);
            expect_view(c, view);
            check_clean(c);
            vhdx_close(c, NULL);
            struct vhdx_io pio = cut_io(1);
            struct vhdx *pp;
            assert_int_equal(vhdx_open(&env, &pio, "p", VHDX_OPEN_READ_ONLY, &pp, &err), 0);
            assert_int_equal(vhdx_read(pp, 0, r, SIZE, NULL), VHDX_OK);
            whole_parent += memcmp(r, view, SIZE) == 0;
            vhdx_close(pp, NULL);
            cio = cut_io(0);
            if (vhdx_open(&env, &cio, "c.vhdx", VHDX_OPEN_PARENT_RW, &c, &err))
                fail_msg("reopen for merge: %s", err.msg);
            assert_int_equal(vhdx_merge_into_parent(c, NULL, NULL, &err), VHDX_OK);
            vhdx_close(c, NULL);
            pio = cut_io(1);
            assert_int_equal(vhdx_open(&env, &pio, "p", 0, &pp, &err), 0);
            expect_view(pp, view);
            check_clean(pp);
            vhdx_close(pp, NULL);
        }
        mem_disk_free(&pm), mem_disk_free(&cm);
    }
    assert_true(trials > 20);
    assert_true(whole_parent > 0 && whole_parent < trials);
    mem_disk_free(&pm0), mem_disk_free(&cm0);
    mem_env_clear_parents();
    free(view), free(r);
}

/* ---- de-duplication ------------------------------------------------------------------ */

static void test_dedup_index(void **state)
{
    struct dedup_index *x = dedup_create(&mem_env, 4, sha256, NULL);
    assert_non_null(x);
    uint8_t a[4096], b[4096], ha[32], hb[32];
    fill(a, sizeof(a), 1), fill(b, sizeof(b), 2);
    dedup_hash(x, a, sizeof(a), ha);
    dedup_hash(x, b, sizeof(b), hb);
    assert_memory_not_equal(ha, hb, 32);
    assert_true(dedup_insert(x, ha, 1, 0));
    assert_true(dedup_insert(x, ha, 2, 7));
    assert_true(dedup_insert(x, hb, 1, 1));
    assert_true(dedup_holds(x, ha, 1, 0));
    assert_false(dedup_holds(x, hb, 1, 0));
    assert_false(dedup_holds(x, ha, 1, 1));
    struct dedup_loc l;
    assert_true(dedup_find(x, hb, &l));
    assert_int_equal(l.obj, 1), assert_int_equal(l.unit, 1);
    /* A write to unit 0 of obj 1 (its last byte) drops what was known of it, not more. */
    dedup_forget(x, 1, DEDUP_UNIT - 1, 1);
    assert_false(dedup_holds(x, ha, 1, 0));
    assert_true(dedup_holds(x, ha, 2, 7));
    assert_true(dedup_holds(x, hb, 1, 1));
    /* Re-inserting a location replaces it. */
    assert_true(dedup_insert(x, hb, 2, 7));
    assert_false(dedup_holds(x, ha, 2, 7));
    assert_false(dedup_find(x, ha, &l));
    assert_int_equal(dedup_count(x), 2);
    assert_true(dedup_insert(x, ha, 3, 0));
    assert_true(dedup_insert(x, ha, 3, 1));
    assert_false(dedup_insert(x, ha, 3, 2)); /* full */
    dedup_forget_obj(x, 3);
    assert_int_equal(dedup_count(x), 2);
    assert_true(dedup_memory(x) >= 4 * 48);
    dedup_destroy(x);
}

static void test_copy_child_onto_base(void **state)
{
    struct mem_disk pm, cm, bm, dm, d2m;
    uint8_t *view = malloc(SIZE);
    make_chain(&pm, &cm, view);
    /* The child rewrites unit 1 with what its parent already has there. */
    struct vhdx *c = open_disk(&cm, "c.vhdx", 0);
    uint8_t *u1 = malloc(MIB);
    assert_int_equal(vhdx_read(c, MIB, u1, MIB, NULL), VHDX_OK);
    assert_int_equal(vhdx_write(c, MIB, u1, MIB, NULL), VHDX_OK);
    free(u1);
    /* The destination already holds the parent (same DataWriteGuid): the identity seed. */
    mem_disk_copy(&bm, &pm);
    mem_env_register_parent("base.vhdx", &bm);
    struct vhdx *b = open_disk(&bm, "base.vhdx", VHDX_OPEN_READ_ONLY);
    struct dedup_index *x = dedup_create(&mem_env, 64, sha256, NULL);
    uint8_t *buf = malloc(DEDUP_UNIT);
    assert_int_equal(dedup_index_disk(x, 5, b, buf, NULL), VHDX_OK);
    assert_int_equal(dedup_count(x), 8);
    mem_disk_init(&dm);
    struct vhdx_io dio = mem_disk_io(&dm);
    struct disk_job_params p = { .op = DISK_JOB_COPY, .src = c, .dst = &dio, .dst_name = "d",
                                 .base = b, .base_rel = "base.vhdx", .dedup = x, .base_obj = 5 };
    struct disk_job *j = start(&p);
    run_job(j, 4 * MIB);
    struct disk_job_progress pr;
    disk_job_get_progress(j, &pr);
    /* Written: units 3, 12, 13 (the child's data) and the trimmed unit 5 (masks the base);
     * unit 1 the base holds (hash match), the rest the child never wrote. */
    assert_int_equal(pr.bytes_dedup, 12 * MIB);
    assert_true(pr.bytes_written <= 3 * MIB);
    assert_int_equal(pr.bytes_read, 5 * MIB);
    disk_job_free(j);
    struct vhdx *d = open_disk(&dm, "d", 0);
    expect_view(d, view);
    check_clean(d);
    vhdx_close(d, NULL);
    /* A base with the same content but another DataWriteGuid: every unit is compared. */
    vhdx_close(b, NULL);
    b = open_disk(&bm, "base.vhdx", 0);
    put(b, NULL, 15 * MIB, 512, 0); /* zeros where zeros were: content same, GUID new */
    assert_int_equal(dedup_index_disk(x, 5, b, buf, NULL), VHDX_OK);
    mem_disk_init(&d2m);
    dio = mem_disk_io(&d2m);
    p.base = b;
    j = start(&p);
    run_job(j, 4 * MIB);
    disk_job_get_progress(j, &pr);
    assert_int_equal(pr.bytes_read, SIZE);
    assert_int_equal(pr.bytes_dedup, 12 * MIB);
    disk_job_free(j);
    vhdx_close(b, NULL);
    d = open_disk(&d2m, "d", 0);
    expect_view(d, view);
    vhdx_close(d, NULL), vhdx_close(c, NULL);
    dedup_destroy(x);
    free(buf), free(view);
    mem_disk_free(&pm), mem_disk_free(&cm), mem_disk_free(&bm), mem_disk_free(&dm);
    mem_disk_free(&d2m);
    mem_env_clear_parents();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_skips_zero_units),
        cmocka_unit_test(test_convert_fixed_raw_dynamic),
        cmocka_unit_test(test_defrag_orders_blocks_and_keeps_zero_blocks),
        cmocka_unit_test(test_compact_plain_and_child),
        cmocka_unit_test(test_guest_writes_during_copy),
        cmocka_unit_test(test_pause_resume_cancel),
        cmocka_unit_test(test_resume_after_cut),
        cmocka_unit_test(test_io_error_fails_the_job),
        cmocka_unit_test(test_merge_with_guest_writes),
        cmocka_unit_test(test_merge_cut_at_every_write),
        cmocka_unit_test(test_live_merge_attached_chain),
        cmocka_unit_test(test_dedup_index),
        cmocka_unit_test(test_copy_child_onto_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
