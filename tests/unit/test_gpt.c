/* GPT: a table built here, found by name and type; a damaged primary falls back to the
 * backup; damaged both, hostile counts and ranges are refused with one-line reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/storage/gpt.h"
#include "tests/unit/test_block_mem.h"

#define SECTORS 8192
static uint8_t img[SECTORS * 512];

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void entry(uint8_t *e, const struct guid *type, uint64_t first, uint64_t last,
                  const char *name)
{
    memcpy(e, type->b, 16);
    memset(e + 16, 0x11, 16);
    put64(e + 32, first);
    put64(e + 40, last);
    for (size_t i = 0; name[i]; i++)
        e[56 + 2 * i] = (uint8_t)name[i];
}

static void header(uint64_t my, uint64_t alt, uint64_t array, uint32_t array_crc)
{
    uint8_t *h = img + my * 512;
    memset(h, 0, 512);
    memcpy(h, "EFI PART", 8);
    put32(h + 8, 0x10000);
    put32(h + 12, 92);
    put64(h + 24, my);
    put64(h + 32, alt);
    put64(h + 40, 34);
    put64(h + 48, SECTORS - 34);
    put64(h + 72, array);
    put32(h + 80, 128);
    put32(h + 84, 128);
    put32(h + 88, array_crc);
    put32(h + 16, gpt_crc32(0, h, 92));
}

static const struct guid linux_fs = { { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
                                        0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 } };

static void build(void)
{
    memset(img, 0, sizeof(img));
    uint8_t *array = img + 2 * 512;
    entry(array, &linux_fs, 2048, 4095, "other");
    entry(array + 128, &gpt_type_basic_data, 4096, SECTORS - 2048, "atoll-pool");
    uint32_t crc = gpt_crc32(0, array, 128 * 128);
    memcpy(img + (SECTORS - 33) * 512, array, 128 * 128);
    header(1, SECTORS - 1, 2, crc);
    header(SECTORS - 1, 1, SECTORS - 33, crc);
}

static int find(struct gpt_part *p, char *err)
{
    struct mem_disk m;
    struct block_io io;
    mem_disk_init(&m, img, sizeof(img), 512, &io);
    return gpt_find(&io, "atoll-pool", &gpt_type_basic_data, p, err, 128);
}

static void test_crc(void **state)
{
    assert_int_equal(gpt_crc32(0, "123456789", 9), 0xcbf43926);
}

static void test_find(void **state)
{
    struct gpt_part p;
    char err[128];
    build();
    assert_int_equal(find(&p, err), GPT_OK);
    assert_int_equal(p.index, 1);
    assert_int_equal(p.first_lba, 4096);
    assert_int_equal(p.last_lba, SECTORS - 2048);
    assert_string_equal(p.name, "atoll-pool");
    struct mem_disk m;
    struct block_io io;
    mem_disk_init(&m, img, sizeof(img), 512, &io);
    assert_int_equal(gpt_find(&io, "other", NULL, &p, err, sizeof(err)), GPT_OK);
    assert_int_equal(p.first_lba, 2048);
    assert_int_equal(gpt_find(&io, "missing", NULL, &p, err, sizeof(err)), GPT_E_NOT_FOUND);
    assert_string_equal(err, "gpt: no partition named 'missing'");
    assert_int_equal(gpt_find(&io, "other", &gpt_type_basic_data, &p, err, sizeof(err)),
                     GPT_E_NOT_FOUND);
}

static void test_backup(void **state)
{
    struct gpt_part p;
    char err[128];
    build();
    img[512 + 40] ^= 1;          /* primary header CRC now wrong */
    assert_int_equal(find(&p, err), GPT_OK);
    build();
    img[2 * 512 + 200] ^= 1;     /* primary array CRC now wrong */
    assert_int_equal(find(&p, err), GPT_OK);
    img[(SECTORS - 33) * 512 + 200] ^= 1;
    assert_int_equal(find(&p, err), GPT_E_NONE);
    assert_string_equal(err, "gpt: partition entry array CRC mismatch");
}

static void test_hostile(void **state)
{
    struct gpt_part p;
    char err[128];
    build();
    memset(img + (SECTORS - 1) * 512, 0, 512);   /* no backup */
    put32(img + 512 + 80, 100000);               /* absurd entry count, CRC fixed up */
    put32(img + 512 + 16, 0);
    put32(img + 512 + 16, gpt_crc32(0, img + 512, 92));
    assert_int_equal(find(&p, err), GPT_E_NONE);
    assert_string_equal(err, "gpt: no GPT signature");
    build();
    memset(img + (SECTORS - 1) * 512, 0, 512);
    put64(img + 2 * 512 + 128 + 40, SECTORS + 5); /* partition beyond the usable area */
    uint32_t crc = gpt_crc32(0, img + 2 * 512, 128 * 128);
    header(1, SECTORS - 1, 2, crc);
    assert_int_equal(find(&p, err), GPT_E_NOT_FOUND);
    memset(img, 0, sizeof(img));
    assert_int_equal(find(&p, err), GPT_E_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_backup),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
