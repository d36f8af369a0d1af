/* The VHDX module on an in-memory image: formats, identity GUIDs, differencing chains,
 * trim, merge, corruption and crash points at every write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/storage/vhdx.h"
#include "hv/storage/vhdx_format.h"
#include "hv/lib/crc32c.h"
#include "tests/unit/test_vhdx_disk.h"
#include "tests/unit/test_vhdx_mem_io.h"

#define MIB (1024u * 1024u)

static void test_create_open_geometry(void **state)
{
    static const uint32_t sectors[] = { 512, 4096 };
    for (int i = 0; i < 2; i++) {
        struct mem_disk m;
        make_disk(&m, 3 * 1024ull * MIB + 4096, 32 * MIB, sectors[i]);
        struct vhdx *d = open_disk(&m, "a.vhdx", VHDX_OPEN_READ_ONLY);
        struct vhdx_info info;
        vhdx_get_info(d, &info);
        assert_int_equal(info.logical_sector_size, sectors[i]);
        assert_int_equal(info.block_size, 32 * MIB);
        /* chunk ratio = 2^23 * sector size / block size */
        assert_int_equal(info.chunk_ratio, (8388608ull * sectors[i]) / (32 * MIB));
        assert_int_equal(info.payload_blocks, 97);
        assert_int_equal(info.blocks_present, 0);
        assert_false(info.has_parent);
        assert_true(guid_is_zero(&info.log_guid));
        check_clean(d);
        vhdx_close(d, NULL);
        mem_disk_free(&m);
    }
}

static void test_write_read_both_sector_sizes(void **state)
{
    static const uint32_t sectors[] = { 512, 4096 };
    for (int i = 0; i < 2; i++) {
        uint32_t s = sectors[i];
        struct mem_disk m;
        make_disk(&m, 64 * MIB, 1 * MIB, s);
        struct vhdx *d = open_disk(&m, "a.vhdx", 0);
        size_t n = 3 * MIB + 7 * s;
        uint8_t *w = malloc(n), *r = malloc(n);
        fill(w, n, 1 + i);
        assert_int_equal(vhdx_write(d, MIB - 3 * s, w, n, NULL), VHDX_OK);
        assert_int_equal(vhdx_read(d, MIB - 3 * s, r, n, NULL), VHDX_OK);
        assert_memory_equal(w, r, n);
        /* Untouched space reads as zeros. */
        assert_int_equal(vhdx_read(d, 40 * MIB, r, s, NULL), VHDX_OK);
        for (uint32_t k = 0; k < s; k++)
            assert_int_equal(r[k], 0);
        /* Unaligned or out-of-range requests are refused with a message. */
        struct vhdx_err err;
        assert_int_equal(vhdx_read(d, 1, r, s, &err), VHDX_E_INVALID);
        assert_non_null(strstr(err.msg, "sectors"));
        assert_int_equal(vhdx_write(d, 64 * MIB, w, s, &err), VHDX_E_INVALID);
        check_clean(d);
        assert_int_equal(vhdx_close(d, NULL), VHDX_OK);
        d = open_disk(&m, "a.vhdx", VHDX_OPEN_READ_ONLY);
        memset(r, 0, n);
        assert_int_equal(vhdx_read(d, MIB - 3 * s, r, n, NULL), VHDX_OK);
        assert_memory_equal(w, r, n);
        vhdx_close(d, NULL);
        free(w), free(r);
        mem_disk_free(&m);
    }
}

static void test_write_guids(void **state)
{
    struct mem_disk m;
    make_disk(&m, 16 * MIB, MIB, 512);
    struct vhdx_info before, after;
    struct vhdx *d = open_disk(&m, "a.vhdx", 0);
    vhdx_get_info(d, &before);
    uint8_t *copy = malloc(m.size);
    memcpy(copy, m.data, m.size);
    uint64_t size = m.size;
    vhdx_close(d, NULL);
    /* Open + read + close changes nothing in the file. */
    assert_int_equal(m.size, size);
    assert_memory_equal(copy, m.data, size);
    free(copy);
    d = open_disk(&m, "a.vhdx", 0);
    uint8_t buf[512] = { 1 };
    assert_int_equal(vhdx_write(d, 0, buf, sizeof(buf), NULL), VHDX_OK);
    vhdx_get_info(d, &after);
    assert_false(guid_eq(&before.file_write_guid, &after.file_write_guid));
    assert_false(guid_eq(&before.data_write_guid, &after.data_write_guid));
    assert_false(guid_is_zero(&after.log_guid));
    struct guid dwg = after.data_write_guid;
    /* Only the first visible change of a session changes DataWriteGuid. */
    assert_int_equal(vhdx_write(d, 4096, buf, sizeof(buf), NULL), VHDX_OK);
    vhdx_get_info(d, &after);
    assert_true(guid_eq(&dwg, &after.data_write_guid));
    vhdx_close(d, NULL);
    d = open_disk(&m, "a.vhdx", VHDX_OPEN_READ_ONLY);
    vhdx_get_info(d, &after);
    assert_true(guid_eq(&dwg, &after.data_write_guid));
    assert_true(guid_is_zero(&after.log_guid)); /* clean close empties the log */
    vhdx_close(d, NULL);
    mem_disk_free(&m);
}

static void test_differencing_read_through_and_bitmap(void **state)
{
    struct mem_disk pm, cm;
    make_disk(&pm, 32 * MIB, MIB, 512);
    size_t n = 32 * MIB;
    uint8_t *base = malloc(n), *expect = malloc(n), *r = malloc(n);
    fill(base, n, 3);
    struct vhdx *p = open_disk(&pm, "base.vhdx", 0);
    assert_int_equal(vhdx_write(p, 0, base, n, NULL), VHDX_OK);
    vhdx_close(p, NULL);
    make_child(&pm, "base.vhdx", &cm, 2 * MIB);
    struct vhdx *c = open_disk(&cm, "child.vhdx", 0);
    memcpy(expect, base, n);
    /* Sector-granular writes inside one block, across blocks, and a whole block. */
    uint8_t w[3 * 4096];
    fill(w, sizeof(w), 9);
    static const uint64_t offs[] = { 512, 4096 * 5, 2 * MIB - 1024, 7 * MIB + 512 * 3 };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(vhdx_write(c, offs[i], w, sizeof(w), NULL), VHDX_OK);
        memcpy(expect + offs[i], w, sizeof(w));
    }
    uint8_t *blk = malloc(2 * MIB);
    fill(blk, 2 * MIB, 11);
    assert_int_equal(vhdx_write(c, 10 * MIB, blk, 2 * MIB, NULL), VHDX_OK);
    memcpy(expect + 10 * MIB, blk, 2 * MIB);
    assert_int_equal(vhdx_read(c, 0, r, n, NULL), VHDX_OK);
    assert_memory_equal(expect, r, n);
    check_clean(c);
    vhdx_close(c, NULL);
    /* Reopen: the chain is found and still consistent. */
    c = open_disk(&cm, "child.vhdx", VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(c, &info);
    assert_true(info.has_parent);
    assert_string_equal(info.parent_name, "base.vhdx");
    assert_true(info.bitmap_blocks_present >= 1);
    assert_int_equal(vhdx_read(c, 0, r, n, NULL), VHDX_OK);
    assert_memory_equal(expect, r, n);
    vhdx_close(c, NULL);
    free(base), free(expect), free(r), free(blk);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

static void test_stale_parent_refused(void **state)
{
    struct mem_disk pm, cm;
    make_disk(&pm, 8 * MIB, MIB, 512);
    make_child(&pm, "parent.vhdx", &cm, MIB);
    struct vhdx *p = open_disk(&pm, "parent.vhdx", 0);
    struct vhdx_info pi;
    vhdx_get_info(p, &pi);
    struct guid old = pi.data_write_guid;
    uint8_t buf[512] = { 5 };
    assert_int_equal(vhdx_write(p, 0, buf, sizeof(buf), NULL), VHDX_OK);
    vhdx_get_info(p, &pi);
    vhdx_close(p, NULL);
    struct vhdx_io io = mem_disk_io(&cm);
    struct vhdx *c;
    struct vhdx_err err;
    assert_int_equal(vhdx_open(&mem_env, &io, "child.vhdx", 0, &c, &err), VHDX_E_STALE_PARENT);
    char g1[GUID_STR_LEN + 1], g2[GUID_STR_LEN + 1];
    guid_format(&old, g1);
    guid_format(&pi.data_write_guid, g2);
    assert_non_null(strstr(err.msg, "child.vhdx"));
    assert_non_null(strstr(err.msg, "parent.vhdx"));
    assert_non_null(strstr(err.msg, g1));
    assert_non_null(strstr(err.msg, g2));
    assert_null(strchr(err.msg, '\n'));
    /* Without the chain (info) it still opens. */
    assert_int_equal(vhdx_open(&mem_env, &io, "child.vhdx", VHDX_OPEN_NO_PARENT, &c, &err), 0);
    vhdx_close(c, NULL);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

static void test_trim(void **state)
{
    struct mem_disk pm, cm;
    make_disk(&pm, 8 * MIB, MIB, 512);
    struct vhdx *p = open_disk(&pm, "p.vhdx", 0);
    uint8_t *data = malloc(8 * MIB), *r = malloc(8 * MIB);
    memset(data, 0x5a, 8 * MIB);
    assert_int_equal(vhdx_write(p, 0, data, 8 * MIB, NULL), VHDX_OK);
    assert_int_equal(vhdx_trim(p, MIB, MIB, NULL), VHDX_OK);           /* whole block */
    assert_int_equal(vhdx_trim(p, 3 * MIB + 512, 1024, NULL), VHDX_OK); /* partial */
    memset(data + MIB, 0, MIB);
    memset(data + 3 * MIB + 512, 0, 1024);
    assert_int_equal(vhdx_read(p, 0, r, 8 * MIB, NULL), VHDX_OK);
    assert_memory_equal(data, r, 8 * MIB);
    struct vhdx_info info;
    vhdx_get_info(p, &info);
    assert_int_equal(info.blocks_zero, 1);
    check_clean(p);
    vhdx_close(p, NULL);
    /* In a child, trimmed space reads zero, not the parent's data. */
    make_child(&pm, "p.vhdx", &cm, MIB);
    struct vhdx *c = open_disk(&cm, "c.vhdx", 0);
    assert_int_equal(vhdx_trim(c, 4 * MIB, 2 * MIB, NULL), VHDX_OK);
    assert_int_equal(vhdx_trim(c, 0, 4096, NULL), VHDX_OK);
    memset(data + 4 * MIB, 0, 2 * MIB);
    memset(data, 0, 4096);
    assert_int_equal(vhdx_read(c, 0, r, 8 * MIB, NULL), VHDX_OK);
    assert_memory_equal(data, r, 8 * MIB);
    check_clean(c);
    vhdx_close(c, NULL);
    free(data), free(r);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

static void test_merge(void **state)
{
    struct mem_disk pm, cm;
    make_disk(&pm, 16 * MIB, MIB, 512);
    uint8_t *view = malloc(16 * MIB), *r = malloc(16 * MIB);
    struct vhdx *p = open_disk(&pm, "p.vhdx", 0);
    fill(view, 16 * MIB, 21);
    assert_int_equal(vhdx_write(p, 0, view, 8 * MIB, NULL), VHDX_OK);
    vhdx_close(p, NULL);
    make_child(&pm, "p.vhdx", &cm, MIB);
    struct vhdx *c = open_disk(&cm, "c.vhdx", 0);
    uint8_t w[8192];
    fill(w, sizeof(w), 33);
    assert_int_equal(vhdx_write(c, 3 * MIB + 512, w, sizeof(w), NULL), VHDX_OK);
    assert_int_equal(vhdx_write(c, 12 * MIB, w, sizeof(w), NULL), VHDX_OK);
    assert_int_equal(vhdx_trim(c, 5 * MIB, MIB, NULL), VHDX_OK);
    assert_int_equal(vhdx_read(c, 0, view, 16 * MIB, NULL), VHDX_OK);
    vhdx_close(c, NULL);
    c = open_disk(&cm, "c.vhdx", VHDX_OPEN_PARENT_RW);
    assert_int_equal(vhdx_merge_into_parent(c, NULL, NULL, NULL), VHDX_OK);
    vhdx_close(c, NULL);
    p = open_disk(&pm, "p.vhdx", VHDX_OPEN_READ_ONLY);
    assert_int_equal(vhdx_read(p, 0, r, 16 * MIB, NULL), VHDX_OK);
    assert_memory_equal(view, r, 16 * MIB);
    check_clean(p);
    vhdx_close(p, NULL);
    /* The child follows its parent through parent_linkage2 (same view) until the parent's
     * visible data changes again: then it is stale. */
    c = open_disk(&cm, "c.vhdx", VHDX_OPEN_READ_ONLY);
    assert_int_equal(vhdx_read(c, 0, r, 16 * MIB, NULL), VHDX_OK);
    assert_memory_equal(view, r, 16 * MIB);
    vhdx_close(c, NULL);
    p = open_disk(&pm, "p.vhdx", 0);
    assert_int_equal(vhdx_write(p, 0, w, 512, NULL), VHDX_OK);
    vhdx_close(p, NULL);
    struct vhdx_io io = mem_disk_io(&cm);
    struct vhdx_err err;
    assert_int_equal(vhdx_open(&mem_env, &io, "c.vhdx", 0, &c, &err), VHDX_E_STALE_PARENT);
    free(view), free(r);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

static void corrupt_and_expect(struct mem_disk *m, uint64_t off, int code, const char *words)
{
    struct mem_disk c;
    mem_disk_copy(&c, m);
    c.data[off] ^= 0x40;
    struct vhdx_io io = mem_disk_io(&c);
    struct vhdx *d = NULL;
    struct vhdx_err err;
    int rc = vhdx_open(&mem_env, &io, "bad.vhdx", VHDX_OPEN_READ_ONLY, &d, &err);
    if (code == VHDX_OK) {
        assert_int_equal(rc, VHDX_OK);
        vhdx_close(d, NULL);
    } else {
        assert_int_equal(rc, code);
        if (!strstr(err.msg, words))
            fail_msg("expected \"%s\" in: %s", words, err.msg);
    }
    mem_disk_free(&c);
}

static void test_corruption_detected(void **state)
{
    struct mem_disk m;
    make_disk(&m, 16 * MIB, MIB, 512);
    corrupt_and_expect(&m, 0, VHDX_E_CORRUPT, "signature");
    corrupt_and_expect(&m, VHDX_HEADER1_OFF + 100, VHDX_OK, "");  /* header 2 still good */
    corrupt_and_expect(&m, VHDX_HEADER2_OFF + 8, VHDX_OK, "");
    corrupt_and_expect(&m, VHDX_REGION1_OFF + 20, VHDX_OK, "");   /* copy 2 used */
    struct mem_disk c;
    mem_disk_copy(&c, &m);
    c.data[VHDX_HEADER1_OFF + 100] ^= 1;
    c.data[VHDX_HEADER2_OFF + 100] ^= 1;
    corrupt_and_expect(&c, 4000, VHDX_E_CORRUPT, "neither header");
    mem_disk_free(&c);
    corrupt_and_expect(&m, 2 * MIB + 0, VHDX_E_CORRUPT, "metadata");
    mem_disk_free(&m);
}

/* A workload of allocating and overwriting writes; returns how many completed. */
static int workload(struct mem_disk *m, const char *name, int steps, uint8_t *model)
{
    struct vhdx_io io = mem_disk_io(m);
    struct vhdx *d;
    if (vhdx_open(&mem_env, &io, name, 0, &d, NULL))
        return -1;
    int done = 0;
    uint8_t buf[8192];
    for (int i = 0; i < steps; i++) {
        uint64_t off = (uint64_t)((i * 7919) % 60) * MIB / 2 + (uint64_t)(i % 5) * 4096;
        fill(buf, sizeof(buf), (unsigned)i + 1);
        if (vhdx_write(d, off, buf, sizeof(buf), NULL))
            break;
        memcpy(model + off, buf, sizeof(buf));
        done++;
    }
    vhdx_close(d, NULL);
    return done;
}

static void test_crash_at_every_write(void **state)
{
    struct mem_disk base;
    make_disk(&base, 32 * MIB, MIB, 512);
    const int steps = 24;
    uint8_t *full = calloc(1, 32 * MIB), *model = malloc(32 * MIB), *r = malloc(32 * MIB);
    struct mem_disk probe;
    mem_disk_copy(&probe, &base);
    workload(&probe, "probe.vhdx", steps, full);
    unsigned total_writes = probe.writes;
    mem_disk_free(&probe);
    unsigned replays = 0;
    for (unsigned cut = 0; cut <= total_writes; cut++) {
        struct mem_disk m;
        mem_disk_copy(&m, &base);
        m.writes_left = cut;
        memset(model, 0, 32 * MIB);
        /* Acknowledged writes are those finished before the crash point. */
        unsigned before = 0, prev_writes = 0;
        bool inflight_set = false;
        uint64_t inflight_off = 0;
        uint8_t inflight[8192];
        struct vhdx_io io = mem_disk_io(&m);
        struct vhdx *d;
        assert_int_equal(vhdx_open(&mem_env, &io, "c.vhdx", 0, &d, NULL), VHDX_OK);
        uint8_t buf[8192];
        for (int i = 0; i < steps; i++) {
            uint64_t off = (uint64_t)((i * 7919) % 60) * MIB / 2 + (uint64_t)(i % 5) * 4096;
            fill(buf, sizeof(buf), (unsigned)i + 1);
            prev_writes = m.writes;
            assert_int_equal(vhdx_write(d, off, buf, sizeof(buf), NULL), VHDX_OK);
            unsigned start = m.writes;
            if (m.writes_left != 0 || m.writes <= cut) {
                memcpy(model + off, buf, sizeof(buf)), before++;
            } else if (prev_writes < cut + 1 && start > cut && !inflight_set) {
                inflight_set = true; /* the write the cut fell into: old or new, per sector */
                inflight_off = off;
                memcpy(inflight, buf, sizeof(buf));
            }
        }
        /* Power cut: drop the handle without closing (leak its memory on purpose? no: */
        m.writes_left = 0;
        vhdx_close(d, NULL); /* nothing of the close reaches the disk */
        m.writes_left = -1;
        struct vhdx *e = open_disk(&m, "c.vhdx", 0);
        struct vhdx_info info;
        vhdx_get_info(e, &info);
        replays += info.log_entries_replayed > 0;
        check_clean(e);
        assert_int_equal(vhdx_read(e, 0, r, 32 * MIB, NULL), VHDX_OK);
        /* Every write that completed before the cut reads back. */
        if (inflight_set)
            for (uint64_t s = 0; s < sizeof(inflight); s += 512)
                if (!memcmp(r + inflight_off + s, inflight + s, 512))
                    memcpy(model + inflight_off + s, inflight + s, 512);
        if (memcmp(model, r, 32 * MIB) != 0)
            fail_msg("cut at write %u of %u: data lost (%u writes acknowledged)", cut,
                     total_writes, before);
        vhdx_close(e, NULL);
        mem_disk_free(&m);
    }
    assert_true(replays > 0);
    print_message("crash points: %u, reopens that replayed the log: %u\n", total_writes + 1,
                  replays);
    free(full), free(model), free(r);
    mem_disk_free(&base);
}

static void test_log_wraps(void **state)
{
    struct mem_disk m;
    make_disk(&m, 512 * MIB, MIB, 512);
    struct vhdx *d = open_disk(&m, "w.vhdx", 0);
    uint8_t buf[512];
    /* 400 allocations: far more log entries than the 1 MiB log holds. */
    for (int i = 0; i < 400; i++) {
        memset(buf, i & 0xff, sizeof(buf));
        assert_int_equal(vhdx_write(d, (uint64_t)i * MIB + 512, buf, sizeof(buf), NULL), 0);
    }
    /* Simulate a crash now: the header still carries the LogGuid. */
    struct mem_disk snap;
    mem_disk_copy(&snap, &m);
    vhdx_close(d, NULL);
    struct vhdx *e = open_disk(&snap, "w.vhdx", 0);
    struct vhdx_info info;
    vhdx_get_info(e, &info);
    assert_int_equal(info.log_entries_replayed, 1);
    assert_int_equal(info.blocks_present, 400);
    for (int i = 0; i < 400; i += 37) {
        assert_int_equal(vhdx_read(e, (uint64_t)i * MIB + 512, buf, sizeof(buf), NULL), 0);
        assert_int_equal(buf[100], i & 0xff);
    }
    check_clean(e);
    vhdx_close(e, NULL);
    mem_disk_free(&snap), mem_disk_free(&m);
}

static void test_io_errors_reported(void **state)
{
    struct mem_disk m;
    make_disk(&m, 8 * MIB, MIB, 512);
    struct vhdx *d = open_disk(&m, "e.vhdx", 0);
    m.fail_io = true;
    uint8_t buf[512] = { 0 };
    struct vhdx_err err;
    assert_int_not_equal(vhdx_write(d, 0, buf, sizeof(buf), &err), VHDX_OK);
    assert_non_null(strstr(err.msg, "e.vhdx"));
    assert_int_not_equal(vhdx_read(d, 0, buf, sizeof(buf), &err), 1);
    vhdx_close(d, NULL);
    mem_disk_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_open_geometry),
        cmocka_unit_test(test_write_read_both_sector_sizes),
        cmocka_unit_test(test_write_guids),
        cmocka_unit_test(test_differencing_read_through_and_bitmap),
        cmocka_unit_test(test_stale_parent_refused),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_corruption_detected),
        cmocka_unit_test(test_crash_at_every_write),
        cmocka_unit_test(test_log_wraps),
        cmocka_unit_test(test_io_errors_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
