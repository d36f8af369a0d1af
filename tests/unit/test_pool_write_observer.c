/* The pool's write observers (hv/storage/pool_write_observer.c) and the FAT32 operations
 * that tell them: replacing, truncating, renaming over and removing a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hv/storage/fat32.h"
#include "hv/storage/pool_write_observer.h"
#include "tests/unit/test_block_mem.h"

struct seen {
    int n;
    enum pool_write_what what[8];
    char path[8][64];
    uint64_t off[8], len[8];
};

static void observe(void *ctx, enum pool_write_what what, const char *path, uint64_t off,
                    uint64_t len)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        s->what[s->n] = what;
        snprintf(s->path[s->n], sizeof(s->path[0]), "%s", path);
        s->off[s->n] = off;
        s->len[s->n] = len;
    }
    s->n++;
}

static void registry_test(void **state)
{
    (void)state;
    struct seen a = { 0 }, b = { 0 };
    assert_int_equal(pool_write_observer_add(observe, &a), 0);
    assert_int_equal(pool_write_observer_add(observe, &b), 0);
    pool_write_note(POOL_WRITE_DISK, "d.vhdx", 4096, 512);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    assert_int_equal(a.what[0], POOL_WRITE_DISK);
    assert_string_equal(a.path[0], "d.vhdx");
    assert_int_equal(a.off[0], 4096);
    assert_int_equal(a.len[0], 512);
    pool_write_note(POOL_WRITE_FILE, "", 0, 1);     /* no path, no length: nothing */
    pool_write_note(POOL_WRITE_FILE, "x", 0, 0);
    assert_int_equal(a.n, 1);
    pool_write_observer_remove(observe, &b);
    pool_write_note(POOL_WRITE_FILE, "f.bin", 0, POOL_WRITE_ALL);
    assert_int_equal(a.n, 2);
    assert_int_equal(b.n, 1);
    struct seen c[3];
    assert_int_equal(pool_write_observer_add(observe, &c[0]), 0);
    assert_int_equal(pool_write_observer_add(observe, &c[1]), 0);
    assert_int_equal(pool_write_observer_add(observe, &c[2]), 0);
    assert_int_equal(pool_write_observer_add(observe, &b), -1);  /* full */
    for (int i = 0; i < 3; i++)
        pool_write_observer_remove(observe, &c[i]);
    pool_write_observer_remove(observe, &a);
    pool_write_note(POOL_WRITE_FILE, "f.bin", 0, 1);
    assert_int_equal(a.n, 2);
}

static void fat_ops_tell_observers_test(void **state)
{
    (void)state;
    uint64_t bytes;
    uint8_t *img = mem_disk_mkfs_fat(512, 1, "POOL", 40, &bytes);
    assert_non_null(img);
    struct mem_disk m;
    struct block_io io;
    struct fat_vol v;
    mem_disk_init(&m, img, bytes, 512, &io);
    assert_int_equal(fat_mount(&v, &io), FAT_OK);

    static struct seen s;
    assert_int_equal(pool_write_observer_add(observe, &s), 0);
    struct fat_file f;
    assert_int_equal(fat_open(&v, "a.bin", FAT_O_CREATE, &f), FAT_OK);
    assert_int_equal(fat_write(&f, 0, "hello", 5), 5);   /* the writer notes its own ranges */
    fat_close(&f);
    assert_int_equal(s.n, 0);
    assert_int_equal(fat_open(&v, "a.bin", FAT_O_CREATE | FAT_O_TRUNC, &f), FAT_OK);
    fat_close(&f);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.what[0], POOL_WRITE_FILE);
    assert_string_equal(s.path[0], "a.bin");
    assert_int_equal(s.off[0], 0);
    assert_true(s.len[0] == POOL_WRITE_ALL);
    assert_int_equal(fat_rename(&v, "a.bin", "b.bin"), FAT_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.path[1], "a.bin");
    assert_true(s.len[1] == POOL_WRITE_ALL);
    assert_string_equal(s.path[2], "b.bin");
    assert_int_equal(fat_unlink(&v, "b.bin"), FAT_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.path[3], "b.bin");
    pool_write_observer_remove(observe, &s);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_test),
        cmocka_unit_test(fat_ops_tell_observers_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
