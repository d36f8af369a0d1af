/* A lazy restore's reading of a real snapshot file (snap_file + snap_lazy, as
 * hv/core/snapshot_lazy.c drives them): blocks loaded in fault-then-RAM order decode to the
 * snapshot's RAM and give the header's RAM CRC-32C; a damaged block is met only when it is
 * loaded, and everything loaded before it is good. */
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
#include "hv/snapshot/snap_lazy.h"

#define BLOCKS 12
#define SNAP_MEM_FILE_CAP \
    (SNAP_HEADER_BYTES + BLOCKS * (SNAP_RECORD_BYTES + SNAP_BLOCK_SIZE) + 65536)
#include "tests/unit/snap_mem_file.h"

static uint8_t ram[BLOCKS * SNAP_BLOCK_SIZE], loaded[BLOCKS * SNAP_BLOCK_SIZE];
static uint8_t out[SNAP_ENCODED_MAX], buf[SNAP_ENCODED_MAX];
static uint32_t map_mem[1024];
static char err[SNAP_ERR_LEN];

/* RAM with text, zero blocks (2, 7, 8) and a half-zero block, written out of order. */
static void write_snapshot(void)
{
    for (size_t i = 0; i < sizeof(ram); i++)
        ram[i] = (uint8_t)("a lazily restored guest "[i % 24] ^ (i >> 13));
    memset(ram + 2 * SNAP_BLOCK_SIZE, 0, SNAP_BLOCK_SIZE);
    memset(ram + 7 * SNAP_BLOCK_SIZE, 0, 2 * SNAP_BLOCK_SIZE);
    memset(ram + 4 * SNAP_BLOCK_SIZE, 0, SNAP_BLOCK_SIZE / 2);
    memset(file, 0, sizeof(file));
    file_size = 0;
    struct snap_io io = { NULL, 0, mem_read, mem_write };
    static struct snap_index_entry index[BLOCKS];
    struct snap_writer w;
    snap_writer_init(&w, &io, sizeof(ram), "lazy", index);
    static const int order[BLOCKS] = { 5, 0, 11, 3, 1, 2, 10, 4, 9, 6, 8, 7 };
    for (int k = 0; k < BLOCKS; k++) {
        int i = order[k];
        struct snap_encoded e;
        snap_encode(codec_state, (enum snap_level)(k % SNAP_LEVELS), ram + i * SNAP_BLOCK_SIZE,
                    out, &e);
        assert_true(snap_writer_block(&w, (uint32_t)i, &e, out));
    }
    static const char manifest[] = "[partition lazy]\nmemory = 768K\n";
    assert_true(snap_writer_finish(&w, "STATE", 5, manifest, sizeof(manifest) - 1, NULL, 0, 1,
                                   crc32c(0, ram, sizeof(ram))));
}

/* Loads every block the way the loader does: faults on `faults` first (as vCPUs would
 * take them, some twice), the rest in RAM order.  Returns the block that failed, or -1. */
static int lazy_load(struct snap_lazy_map *m, const struct snap_header *h,
                     const uint32_t *faults, unsigned nfaults)
{
    struct snap_io io = { NULL, file_size, mem_read, NULL };
    assert_true(snap_lazy_map_init(m, h->block_count, map_mem));
    for (unsigned i = 0; i < nfaults; i++)
        snap_lazy_want(m, faults[i]);
    uint32_t b;
    bool wanted;
    while (snap_lazy_next(m, &b, &wanted)) {
        uint8_t *dst = loaded + (size_t)b * SNAP_BLOCK_SIZE;
        if (snap_read_block(&io, h, b, codec_state, buf, dst, err, sizeof(err)))
            return (int)b;
        assert_true(snap_lazy_done(m, b, wanted ? SNAP_LAZY_BY_FAULT : SNAP_LAZY_BY_WORKER,
                                   crc32c(0, dst, SNAP_BLOCK_SIZE)));
    }
    return -1;
}

static void loads_bit_exact_test(void **s)
{
    (void)s;
    write_snapshot();
    struct snap_io io = { NULL, file_size, mem_read, NULL };
    struct snap_header h;
    assert_int_equal(snap_read_header(&io, &h, err, sizeof(err)), 0);
    assert_int_equal(snap_verify_regions(&io, &h, buf, sizeof(buf), err, sizeof(err)), 0);
    static const uint32_t faults[] = { 9, 4, 9, 0, 11 };
    struct snap_lazy_map m;
    memset(loaded, 0xa5, sizeof(loaded));
    assert_int_equal(lazy_load(&m, &h, faults, 5), -1);
    assert_true(snap_lazy_complete(&m));
    assert_int_equal(m.by[SNAP_LAZY_BY_FAULT], 4);
    assert_int_equal(m.by[SNAP_LAZY_BY_WORKER], BLOCKS - 4);
    assert_memory_equal(loaded, ram, sizeof(ram));
    assert_int_equal(snap_lazy_ram_crc(&m, SNAP_BLOCK_SIZE), h.ram_crc);
}

static void damaged_block_met_when_loaded_test(void **s)
{
    (void)s;
    write_snapshot();
    struct snap_io io = { NULL, file_size, mem_read, NULL };
    struct snap_header h;
    assert_int_equal(snap_read_header(&io, &h, err, sizeof(err)), 0);
    struct snap_index_entry e;
    assert_int_equal(snap_read_entry(&io, &h, 6, &e, err, sizeof(err)), 0);
    assert_true(e.len > 0);
    file[e.offset + SNAP_RECORD_BYTES + e.len / 2] ^= 0x40;    /* block 6's data */
    /* The header and regions still check out: a lazy restore starts. */
    assert_int_equal(snap_read_header(&io, &h, err, sizeof(err)), 0);
    assert_int_equal(snap_verify_regions(&io, &h, buf, sizeof(buf), err, sizeof(err)), 0);
    static const uint32_t faults[] = { 10, 1 };
    struct snap_lazy_map m;
    assert_int_equal(lazy_load(&m, &h, faults, 2), 6);
    assert_non_null(strstr(err, "block 6 fails its checksum"));
    assert_false(snap_lazy_complete(&m));
    assert_int_equal(m.loaded, 7);              /* 10, 1, then 0, 2, 3, 4, 5 */
    for (uint32_t b = 0; b < BLOCKS; b++)
        if (snap_lazy_loaded(&m, b))
            assert_memory_equal(loaded + b * SNAP_BLOCK_SIZE, ram + b * SNAP_BLOCK_SIZE,
                                SNAP_BLOCK_SIZE);
    assert_int_equal(snap_lazy_ram_crc(&m, SNAP_BLOCK_SIZE), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_bit_exact_test),
        cmocka_unit_test(damaged_block_met_when_loaded_test),
    };
    return cmocka_run_group_tests(tests, codec_state_setup, codec_state_teardown);
}
