/* The snapshot file: a written file reads back block for block, and every damaged
 * structure is refused with its own line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/snap_codec_state.h"
#include "hv/lib/crc32c.h"
#include "hv/snapshot/snap_file.h"

#define BLOCKS 8
#define SNAP_MEM_FILE_CAP \
    (SNAP_HEADER_BYTES + BLOCKS * (SNAP_RECORD_BYTES + SNAP_BLOCK_SIZE) + 65536)
#include "tests/unit/snap_mem_file.h"

static uint8_t ram[BLOCKS * SNAP_BLOCK_SIZE], out[SNAP_ENCODED_MAX];
static uint8_t buf[SNAP_ENCODED_MAX], back[SNAP_BLOCK_SIZE];
static char err[SNAP_ERR_LEN];

static struct snap_io io(void)
{
    return (struct snap_io){ NULL, file_size, mem_read, mem_write };
}

static void fix_header_crc(void)
{
    uint32_t crc = crc32c(0, file, SNAP_HEADER_BYTES - 4);
    memcpy(file + SNAP_HEADER_BYTES - 4, &crc, 4);
}

/* A snapshot of ram: blocks written in reverse order, levels varied, block 3 zero. */
static void write_snapshot(void)
{
    for (size_t i = 0; i < sizeof(ram); i++)
        ram[i] = (uint8_t)("snapshot of some guest memory "[i % 30] + (i / 5000) % 3);
    memset(ram + 3 * SNAP_BLOCK_SIZE, 0, SNAP_BLOCK_SIZE);
    memset(ram + 5 * SNAP_BLOCK_SIZE + 4096, 0, 8192);
    memset(file, 0, sizeof(file));
    file_size = 0;
    struct snap_io w_io = io();
    static struct snap_index_entry index[BLOCKS];
    struct snap_writer w;
    snap_writer_init(&w, &w_io, sizeof(ram), "demo", index);
    for (int i = BLOCKS - 1; i >= 0; i--) {
        struct snap_encoded e;
        snap_encode(codec_state, (enum snap_level)(i % SNAP_LEVELS), ram + i * SNAP_BLOCK_SIZE, out,
                    &e);
        assert_true(snap_writer_block(&w, (uint32_t)i, &e, out));
    }
    struct snap_disk_id disk = { "disks/root.vhdx", { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };
    static const char manifest[] = "[partition demo]\nmemory = 512K\n";
    assert_true(snap_writer_finish(&w, "STATE", 5, manifest, sizeof(manifest) - 1, &disk, 1,
                                   1234, crc32c(0, ram, sizeof(ram))));
}

static void round_trip_test(void **s)
{
    (void)s;
    write_snapshot();
    struct snap_io r = io();
    struct snap_header h;
    assert_int_equal(snap_read_header(&r, &h, err, sizeof(err)), 0);
    assert_int_equal(h.block_count, BLOCKS);
    assert_string_equal(h.name, "demo");
    assert_int_equal(h.guest_tsc, 1234);
    assert_int_equal(h.state_len, 5);
    assert_memory_equal(file + h.state_offset, "STATE", 5);
    uint32_t crc = 0;
    for (uint32_t i = 0; i < BLOCKS; i++) {
        assert_int_equal(snap_read_block(&r, &h, i, codec_state, buf, back, err, sizeof(err)), 0);
        assert_memory_equal(back, ram + i * SNAP_BLOCK_SIZE, SNAP_BLOCK_SIZE);
        crc = crc32c(crc, back, SNAP_BLOCK_SIZE);
    }
    assert_int_equal(crc, h.ram_crc);
    struct snap_index_entry e;
    assert_int_equal(snap_read_entry(&r, &h, 3, &e, err, sizeof(err)), 0);
    assert_int_equal(e.zero_mask, 0xffff);
    assert_int_equal(e.len, 0);
    struct snap_disk_id d;
    assert_int_equal(snap_read_disk(&r, &h, 0, &d, err, sizeof(err)), 0);
    assert_string_equal(d.path, "disks/root.vhdx");
    assert_int_equal(d.data_write_guid[15], 16);
    assert_int_equal(snap_read_disk(&r, &h, 1, &d, err, sizeof(err)), -1);
}

static void expect_header_refused(const char *why)
{
    struct snap_io r = io();
    struct snap_header h;
    assert_int_equal(snap_read_header(&r, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, why));
}

/* A live snapshot: blocks 2 and 5 saved, changed, saved again (5 as zero pages); the reader
 * gets the latest copy of each, and the header says how many copies were superseded. */
static void resaved_blocks_test(void **s)
{
    (void)s;
    for (size_t i = 0; i < sizeof(ram); i++)
        ram[i] = (uint8_t)(i * 7 + i / 4096);
    memset(file, 0, sizeof(file));
    file_size = 0;
    struct snap_io w_io = io();
    static struct snap_index_entry index[BLOCKS];
    struct snap_writer w;
    struct snap_encoded e;
    snap_writer_init(&w, &w_io, sizeof(ram), "live", index);
    for (uint32_t i = 0; i < BLOCKS; i++) {
        snap_encode(codec_state, SNAP_LZ4, ram + i * SNAP_BLOCK_SIZE, out, &e);
        assert_true(snap_writer_block(&w, i, &e, out));
    }
    memset(ram + 2 * SNAP_BLOCK_SIZE + 100, 0x5a, 3000);        /* written during the save */
    memset(ram + 5 * SNAP_BLOCK_SIZE, 0, SNAP_BLOCK_SIZE);
    snap_encode(codec_state, SNAP_STORE, ram + 2 * SNAP_BLOCK_SIZE, out, &e);
    assert_true(snap_writer_block(&w, 2, &e, out));
    snap_encode(codec_state, SNAP_LZ4, ram + 5 * SNAP_BLOCK_SIZE, out, &e);
    assert_true(snap_writer_block(&w, 5, &e, out));
    w.h.flags = SNAP_FLAG_LIVE;
    w.h.live_passes = 1;
    w.h.resaved_blocks = 2;
    assert_true(snap_writer_finish(&w, "S", 1, "[partition live]\n", 17, NULL, 0, 1,
                                   crc32c(0, ram, sizeof(ram))));
    struct snap_io r = io();
    struct snap_header h;
    assert_int_equal(snap_read_header(&r, &h, err, sizeof(err)), 0);
    assert_int_equal(h.version, SNAP_FILE_VERSION);
    assert_int_equal(h.flags, SNAP_FLAG_LIVE);
    assert_int_equal(h.live_passes, 1);
    assert_int_equal(h.resaved_blocks, 2);
    uint32_t crc = 0;
    for (uint32_t i = 0; i < BLOCKS; i++) {
        assert_int_equal(snap_read_block(&r, &h, i, codec_state, buf, back, err, sizeof(err)), 0);
        assert_memory_equal(back, ram + i * SNAP_BLOCK_SIZE, SNAP_BLOCK_SIZE);
        crc = crc32c(crc, back, SNAP_BLOCK_SIZE);
    }
    assert_int_equal(crc, h.ram_crc);
    /* Re-save counts in a file that does not say it was taken live: refused. */
    file[12] = 0;
    fix_header_crc();
    expect_header_refused("not taken live");
}

static void header_refusals_test(void **s)
{
    (void)s;
    write_snapshot();
    file[0] ^= 1;
    expect_header_refused("bad magic");
    write_snapshot();
    file[200] ^= 1;                                 /* never completed, or damaged */
    expect_header_refused("header checksum");
    write_snapshot();
    file[8] = 3;
    fix_header_crc();
    expect_header_refused("format version 3");
    write_snapshot();
    file[12] = 2;                                   /* an unknown flag */
    fix_header_crc();
    expect_header_refused("flags 0x2");
    write_snapshot();
    file[300] = 1;
    fix_header_crc();
    expect_header_refused("reserved header bytes");
    write_snapshot();
    file[28] += 1;                                  /* block count */
    fix_header_crc();
    expect_header_refused("disagree");
    write_snapshot();
    uint64_t far = 1ull << 40;
    memcpy(file + 48, &far, 8);                     /* state offset past the end */
    fix_header_crc();
    expect_header_refused("state");
    write_snapshot();
    uint64_t idx;
    memcpy(&idx, file + 32, 8);
    memcpy(file + 64, &idx, 8);                     /* manifest on top of the index */
    fix_header_crc();
    expect_header_refused("manifest");
    write_snapshot();
    file_size = SNAP_HEADER_BYTES + 100;            /* truncated */
    expect_header_refused("outside the file");
    file_size = 100;
    expect_header_refused("shorter than its header");
}

static void block_refusals_test(void **s)
{
    (void)s;
    write_snapshot();
    struct snap_io r = io();
    struct snap_header h;
    struct snap_index_entry e;
    assert_int_equal(snap_read_header(&r, &h, err, sizeof(err)), 0);
    assert_int_equal(snap_read_entry(&r, &h, 1, &e, err, sizeof(err)), 0);
    file[e.offset + SNAP_RECORD_BYTES + 10] ^= 0x40;        /* data damaged */
    assert_int_equal(snap_read_block(&r, &h, 1, codec_state, buf, back, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "checksum"));
    file[e.offset + 4] ^= 1;                                /* record names another block */
    assert_int_equal(snap_read_block(&r, &h, 1, codec_state, buf, back, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "record does not match"));
    uint8_t *entry = file + h.index_offset + 2 * SNAP_INDEX_ENTRY_BYTES;
    entry[18] = SNAP_LEVELS;                                /* an unknown level */
    assert_int_equal(snap_read_entry(&r, &h, 2, &e, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "inconsistent"));
    write_snapshot();
    entry = file + h.index_offset + 2 * SNAP_INDEX_ENTRY_BYTES;
    uint64_t beyond = h.index_offset;                       /* record inside the index */
    memcpy(entry, &beyond, 8);
    assert_int_equal(snap_read_entry(&r, &h, 2, &e, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "outside the block area"));
    assert_int_equal(snap_read_entry(&r, &h, BLOCKS, &e, err, sizeof(err)), -1);
}

/* Every region's CRC-32C is in the header: a damaged byte in any is named. */
static void region_refusals_test(void **s)
{
    (void)s;
    static const char *const what[] = { "block index", "state", "manifest section",
                                        "disk list" };
    for (unsigned k = 0; k < 4; k++) {
        write_snapshot();
        struct snap_io r = io();
        struct snap_header h;
        assert_int_equal(snap_read_header(&r, &h, err, sizeof(err)), 0);
        assert_int_equal(snap_verify_regions(&r, &h, buf, 7, err, sizeof(err)), 0);
        uint64_t at[] = { h.index_offset + 3 * SNAP_INDEX_ENTRY_BYTES + 27, h.state_offset + 2,
                          h.manifest_offset + 5, h.disks_offset + 130 };
        file[at[k]] ^= 0x10;
        assert_int_equal(snap_verify_regions(&r, &h, buf, sizeof(buf), err, sizeof(err)), -1);
        assert_non_null(strstr(err, what[k]));
        assert_non_null(strstr(err, "checksum"));
    }
}

static void writer_refusals_test(void **s)
{
    (void)s;
    static struct snap_index_entry index[BLOCKS];
    struct snap_io w_io = io();
    struct snap_writer w;
    snap_writer_init(&w, &w_io, SNAP_BLOCK_SIZE + 1, "odd", index);
    assert_true(w.failed);
    snap_writer_init(&w, &w_io, sizeof(ram), "demo", index);
    struct snap_encoded e = { 0xffff, SNAP_STORE, 0, 0 };
    assert_false(snap_writer_block(&w, BLOCKS, &e, out));
    assert_true(w.failed);
    assert_false(snap_writer_finish(&w, NULL, 0, NULL, 0, NULL, 0, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_test),
        cmocka_unit_test(header_refusals_test),
        cmocka_unit_test(resaved_blocks_test),
        cmocka_unit_test(block_refusals_test),
        cmocka_unit_test(region_refusals_test),
        cmocka_unit_test(writer_refusals_test),
    };
    return cmocka_run_group_tests(tests, codec_state_setup, codec_state_teardown);
}
