/* The FAT32 pool on host images made by mkfs.fat: file and directory operations, long
 * names, truncation, fsck.fat on the result, and power cuts at every write of a workload;
 * all of it on 512-byte and again on 4096-byte sectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hv/storage/fat32_internal.h"
#include "tests/unit/test_block_mem.h"

#define IMG_MIB 40

static uint8_t *pristine;
static uint64_t img_bytes;
static char img_path[64];
static uint32_t sector;         /* of the image and its disk; clusters are 4 KiB either way */

static int make_image(void **state)
{
    char cmd[160];
    snprintf(img_path, sizeof(img_path), "/tmp/atoll-fat32-XXXXXX");
    int fd = mkstemp(img_path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(img_path);
    snprintf(cmd, sizeof(cmd), "mkfs.fat -F 32 -S %u -s %u -n POOL -C %s %d >/dev/null 2>&1",
             sector, 4096 / sector, img_path, IMG_MIB * 1024);
    if (system(cmd) != 0)
        return -1;
    pristine = mem_disk_load(img_path, &img_bytes);
    return pristine ? 0 : -1;
}

static int make_image_512(void **state)
{
    sector = 512;
    return make_image(state);
}

static int make_image_4096(void **state)
{
    sector = 4096;
    return make_image(state);
}

static int drop_image(void **state)
{
    unlink(img_path);
    free(pristine);
    return 0;
}

struct fixture {
    uint8_t *data;
    struct mem_disk m;
    struct block_io io;
    struct fat_vol v;
};

static struct fixture *fresh(void)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    fx->data = malloc(img_bytes);
    memcpy(fx->data, pristine, img_bytes);
    mem_disk_init(&fx->m, fx->data, img_bytes, sector, &fx->io);
    assert_int_equal(fat_mount(&fx->v, &fx->io), FAT_OK);
    assert_int_equal(fx->v.sector, sector);
    return fx;
}

static void done(struct fixture *fx)
{
    free(fx->data);
    free(fx);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

/* Runs fsck.fat -n on the image; returns its exit status. */
static int fsck(struct fixture *fx)
{
    char cmd[160];
    assert_int_equal(mem_disk_save(img_path, fx->data, img_bytes), 0);
    snprintf(cmd, sizeof(cmd), "fsck.fat -n %s >/tmp/atoll-fsck.log 2>&1", img_path);
    int rc = system(cmd);
    if (rc)
        system("cat /tmp/atoll-fsck.log");
    return rc;
}

static void test_mount(void **state)
{
    struct fixture *fx = fresh();
    assert_int_equal(fx->v.clus_bytes, 4096);
    assert_true(fat_total_bytes(&fx->v) > (IMG_MIB - 2) * 1048576ull);
    assert_int_equal(fat_free_bytes(&fx->v), fat_total_bytes(&fx->v) - 4096);
    struct fat_stat st;
    assert_int_equal(fat_stat(&fx->v, "/", &st), FAT_OK);
    assert_true(st.is_dir);
    done(fx);
}

static void test_write_read(void **state)
{
    struct fixture *fx = fresh();
    static uint8_t buf[300000], back[300000];
    pattern(buf, sizeof(buf), 3);
    struct fat_file f;
    assert_int_equal(fat_open(&fx->v, "/DATA.BIN", FAT_O_CREATE, &f), FAT_OK);
    assert_int_equal(fat_write(&f, 0, buf, 1000), 1000);
    assert_int_equal(fat_write(&f, 1000, buf + 1000, sizeof(buf) - 1000), sizeof(buf) - 1000);
    assert_int_equal(fat_write(&f, 5, buf + 5, 3), 3); /* overwrite inside */
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fat_open(&fx->v, "/data.bin", 0, &f), FAT_OK);
    assert_int_equal(f.size, sizeof(buf));
    assert_int_equal(fat_read(&f, 0, back, sizeof(back)), sizeof(back));
    assert_memory_equal(buf, back, sizeof(buf));
    assert_int_equal(fat_read(&f, 299990, back, 100), 10);
    assert_memory_equal(back, buf + 299990, 10);
    assert_int_equal(fat_read(&f, 777, back, 4097), 4097);
    assert_memory_equal(back, buf + 777, 4097);
    /* sparse write past the end reads zeros in the gap */
    assert_int_equal(fat_write(&f, 400000, "xyz", 3), 3);
    assert_int_equal(fat_read(&f, 300000, back, 100000), 100000);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fsck(fx), 0);
    done(fx);
}

/* A writer placing its own sectors (fat_place), as the snapshot writer does: chunks at
 * sector but not cluster boundaries, written straight to the disk at the sectors placed,
 * then a tail by fat_write; the file reads back as written and the volume is clean. */
static void test_place(void **state)
{
    struct fixture *fx = fresh();
    static uint8_t buf[3 * 65536 + 4096 + 100], back[65536 * 5];
    pattern(buf, sizeof(buf), 9);
    struct fat_file f;
    assert_int_equal(fat_open(&fx->v, "/SNAP.PART", FAT_O_CREATE, &f), FAT_OK);
    assert_int_equal(fat_write(&f, 0, buf, 4096), 4096);  /* a header, written first */
    uint64_t lba;
    uint32_t secs;
    assert_int_equal(fat_place(&f, 100, 4096, &lba, &secs), FAT_E_INVALID);
    for (uint64_t off = 4096; off < 4096 + 3 * 65536;) {
        size_t left = 4096 + 3 * 65536 - off;
        assert_int_equal(fat_place(&f, off, left, &lba, &secs), FAT_OK);
        assert_true(secs > 0 && (size_t)secs * sector <= left);
        assert_true(f.size >= off + left);
        memcpy(fx->data + lba * sector, buf + off, (size_t)secs * sector);
        off += (uint64_t)secs * sector;
    }
    assert_int_equal(fat_write(&f, 4096 + 3 * 65536, buf + 4096 + 3 * 65536, 100), 100);
    /* placing past the end zeroes the gap, as a write there would */
    assert_int_equal(fat_place(&f, 65536 * 5, 512 * 8, &lba, &secs), FAT_OK);
    assert_int_equal(f.size, 65536 * 5 + 512 * 8);
    assert_int_equal(fat_read(&f, sizeof(buf), back, 65536 * 5 - sizeof(buf)),
                     (long)(65536 * 5 - sizeof(buf)));
    for (size_t i = 0; i < 65536 * 5 - sizeof(buf); i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(fat_truncate(&f, sizeof(buf)), FAT_OK);
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fat_open(&fx->v, "/snap.part", 0, &f), FAT_OK);
    assert_int_equal(f.size, sizeof(buf));
    assert_int_equal(fat_read(&f, 0, back, sizeof(back)), sizeof(buf));
    assert_memory_equal(buf, back, sizeof(buf));
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fsck(fx), 0);
    done(fx);
}

/* A long file written forward, as the snapshot writer writes: chunks placed request by
 * request (64 KiB at most, as the ATA disk takes them), then fat_write's.  The second
 * quarter of the file costs no more disk reads than the first, nor the fourth than the
 * third: the chain is walked forward, not from its start at each write (which read every
 * FAT sector before the write position, each time). */
enum { FWD_FILE = 16 << 20, FWD_CHUNK = 256 << 10, FWD_REQUEST = 64 << 10 };

static void place_forward(struct fixture *fx, struct fat_file *f, uint64_t from, uint64_t to,
                          const uint8_t *buf)
{
    for (uint64_t off = from; off < to; off += FWD_CHUNK)
        for (uint64_t at = off; at < off + FWD_CHUNK;) {
            uint64_t lba;
            uint32_t secs;
            assert_int_equal(fat_place(f, at, off + FWD_CHUNK - at, &lba, &secs), FAT_OK);
            if (secs > FWD_REQUEST / sector)
                secs = FWD_REQUEST / sector;
            memcpy(fx->data + lba * sector, buf + (at - off), (size_t)secs * sector);
            at += (uint64_t)secs * sector;
        }
}

static void write_forward(struct fat_file *f, uint64_t from, uint64_t to, const uint8_t *buf)
{
    for (uint64_t off = from; off < to; off += FWD_REQUEST)
        assert_int_equal(fat_write(f, off, buf + off % FWD_CHUNK, FWD_REQUEST), FWD_REQUEST);
}

static void test_forward_writes_walk_once(void **state)
{
    struct fixture *fx = fresh();
    static uint8_t buf[FWD_CHUNK], back[FWD_CHUNK];
    pattern(buf, sizeof(buf), 5);
    struct fat_file f;
    assert_int_equal(fat_open(&fx->v, "/FORWARD.PART", FAT_O_CREATE, &f), FAT_OK);
    uint64_t reads[5] = { fx->m.reads };
    for (unsigned q = 0; q < 4; q++) {
        uint64_t from = (uint64_t)q * FWD_FILE / 4, to = from + FWD_FILE / 4;
        if (q < 2)
            place_forward(fx, &f, from, to, buf);
        else
            write_forward(&f, from, to, buf);
        reads[q + 1] = fx->m.reads;
    }
    print_message("%u-byte sectors: disk reads per quarter of a %u MiB file: placed %lu, %lu; "
                  "written %lu, %lu\n", sector, FWD_FILE >> 20,
                  (unsigned long)(reads[1] - reads[0]), (unsigned long)(reads[2] - reads[1]),
                  (unsigned long)(reads[3] - reads[2]), (unsigned long)(reads[4] - reads[3]));
    assert_true(reads[2] - reads[1] <= reads[1] - reads[0] + 4);
    assert_true(reads[4] - reads[3] <= reads[3] - reads[2] + 4);
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fat_open(&fx->v, "/forward.part", 0, &f), FAT_OK);
    assert_int_equal(f.size, FWD_FILE);
    for (uint64_t off = 0; off < FWD_FILE; off += FWD_CHUNK) {
        assert_int_equal(fat_read(&f, off, back, FWD_CHUNK), FWD_CHUNK);
        assert_memory_equal(back, buf, FWD_CHUNK);
    }
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fsck(fx), 0);
    done(fx);
}

struct names {
    char seen[16][64];
    int n;
};

static bool collect(void *ctx, const char *name, const struct fat_stat *st)
{
    struct names *ns = ctx;
    if (ns->n < 16)
        snprintf(ns->seen[ns->n++], 64, "%s%s", name, st->is_dir ? "/" : "");
    return false;
}

static bool has(const struct names *ns, const char *name)
{
    for (int i = 0; i < ns->n; i++)
        if (!strcmp(ns->seen[i], name))
            return true;
    return false;
}

static void test_long_names_and_dirs(void **state)
{
    struct fixture *fx = fresh();
    const char *longname = "/snapshots/A rather long file name, with spaces and more.vhdx";
    struct fat_file f;
    assert_int_equal(fat_mkdir(&fx->v, "/snapshots"), FAT_OK);
    assert_int_equal(fat_mkdir(&fx->v, "/snapshots"), FAT_E_EXISTS);
    assert_int_equal(fat_mkdir(&fx->v, "/snapshots/deeper"), FAT_OK);
    assert_int_equal(fat_open(&fx->v, longname, FAT_O_CREATE | FAT_O_EXCL, &f), FAT_OK);
    assert_int_equal(fat_write(&f, 0, "hello", 5), 5);
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fat_open(&fx->v, longname, FAT_O_CREATE | FAT_O_EXCL, &f), FAT_E_EXISTS);
    assert_int_equal(fat_open(&fx->v, "/SNAPSHOTS/a RATHER long file name, with spaces and more.VHDX", 0, &f), FAT_OK);
    assert_int_equal(f.size, 5);
    /* many files with the same alias basis force ~N tails and a second directory cluster */
    for (int i = 0; i < 150; i++) {
        char p[80];
        snprintf(p, sizeof(p), "/snapshots/deeper/snapshot-number-%03d.bin", i);
        assert_int_equal(fat_open(&fx->v, p, FAT_O_CREATE, &f), FAT_OK);
        assert_int_equal(fat_write(&f, 0, p, strlen(p)), (long)strlen(p));
        assert_int_equal(fat_close(&f), FAT_OK);
    }
    char back[80];
    assert_int_equal(fat_open(&fx->v, "/snapshots/deeper/snapshot-number-149.bin", 0, &f), FAT_OK);
    assert_int_equal(fat_read(&f, 0, back, sizeof(back)), 41);
    assert_memory_equal(back, "/snapshots/deeper/snapshot-number-149.bin", 41);
    struct names ns = { .n = 0 };
    assert_int_equal(fat_list(&fx->v, "/snapshots", collect, &ns), FAT_OK);
    assert_int_equal(ns.n, 2);
    assert_true(has(&ns, "deeper/"));
    assert_true(has(&ns, "A rather long file name, with spaces and more.vhdx"));
    assert_int_equal(fat_open(&fx->v, "/bad:name", FAT_O_CREATE, &f), FAT_E_INVALID);
    assert_int_equal(fat_open(&fx->v, "/nodir/x", FAT_O_CREATE, &f), FAT_E_NOT_FOUND);
    assert_int_equal(fsck(fx), 0);
    done(fx);
}

static void test_rename_unlink(void **state)
{
    struct fixture *fx = fresh();
    struct fat_file f;
    struct fat_stat st;
    uint64_t free0 = fat_free_bytes(&fx->v);
    assert_int_equal(fat_mkdir(&fx->v, "/a"), FAT_OK);
    assert_int_equal(fat_mkdir(&fx->v, "/b"), FAT_OK);
    assert_int_equal(fat_mkdir(&fx->v, "/a/sub"), FAT_OK);
    assert_int_equal(fat_open(&fx->v, "/a/sub/file one.txt", FAT_O_CREATE, &f), FAT_OK);
    assert_int_equal(fat_write(&f, 0, "content", 7), 7);
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fat_rename(&fx->v, "/a/sub/file one.txt", "/a/sub/File Two.txt"), FAT_OK);
    assert_int_equal(fat_stat(&fx->v, "/a/sub/file one.txt", &st), FAT_E_NOT_FOUND);
    assert_int_equal(fat_stat(&fx->v, "/a/sub/file two.txt", &st), FAT_OK);
    assert_int_equal(st.size, 7);
    assert_int_equal(fat_rename(&fx->v, "/a", "/a/sub/inside"), FAT_E_INVALID);
    assert_int_equal(fat_rename(&fx->v, "/a/sub", "/b/moved"), FAT_OK);
    assert_int_equal(fat_stat(&fx->v, "/b/moved/File Two.txt", &st), FAT_OK);
    assert_int_equal(fat_stat(&fx->v, "/b/moved/..", &st), FAT_OK);
    assert_int_equal(fat_rename(&fx->v, "/b", "/a"), FAT_E_EXISTS);
    assert_int_equal(fat_unlink(&fx->v, "/b/moved"), FAT_E_NOT_EMPTY);
    assert_int_equal(fsck(fx), 0);
    assert_int_equal(fat_unlink(&fx->v, "/b/moved/file two.txt"), FAT_OK);
    assert_int_equal(fat_unlink(&fx->v, "/b/moved"), FAT_OK);
    assert_int_equal(fat_unlink(&fx->v, "/b"), FAT_OK);
    assert_int_equal(fat_unlink(&fx->v, "/a"), FAT_OK);
    assert_int_equal(fat_free_bytes(&fx->v), free0);
    assert_int_equal(fsck(fx), 0);
    done(fx);
}

static void test_truncate(void **state)
{
    struct fixture *fx = fresh();
    static uint8_t buf[50000], back[50000];
    struct fat_file f;
    uint64_t free0 = fat_free_bytes(&fx->v);
    pattern(buf, sizeof(buf), 9);
    assert_int_equal(fat_open(&fx->v, "/t.bin", FAT_O_CREATE, &f), FAT_OK);
    assert_int_equal(fat_write(&f, 0, buf, sizeof(buf)), sizeof(buf));
    assert_int_equal(fat_truncate(&f, 10000), FAT_OK);
    assert_int_equal(fat_free_bytes(&fx->v), free0 - 12288);
    assert_int_equal(fat_truncate(&f, 30000), FAT_OK);
    assert_int_equal(fat_read(&f, 0, back, sizeof(back)), 30000);
    assert_memory_equal(back, buf, 10000);
    for (int i = 10000; i < 30000; i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fsck(fx), 0);
    assert_int_equal(fat_open(&fx->v, "/t.bin", FAT_O_TRUNC, &f), FAT_OK);
    assert_int_equal(f.size, 0);
    assert_int_equal(fat_close(&f), FAT_OK);
    assert_int_equal(fat_free_bytes(&fx->v), free0);
    assert_int_equal(fsck(fx), 0);
    done(fx);
}

/* Marks every chain reachable from dir; false when a cluster is reached twice. */
static bool mark_tree(struct fat_vol *v, uint32_t dir, uint8_t *owner, int depth);

struct mark_ctx {
    struct fat_vol *v;
    uint8_t *owner;
    bool ok;
    int depth;
};

static bool mark_chain(struct fat_vol *v, uint32_t c, uint8_t *owner)
{
    for (uint32_t steps = 0; fat_cluster_valid(v, c); steps++) {
        if (owner[c] || steps > v->clusters)
            return false;
        owner[c] = 1;
        uint32_t n;
        if (fat_get(v, c, &n))
            return false;
        c = n;
    }
    return true;
}

static bool mark_visit(void *vctx, const char *name, const uint8_t *ent)
{
    struct mark_ctx *m = vctx;
    uint32_t c = fat_ent_cluster(ent);
    if (ent[11] & ATTR_DIR)
        m->ok &= mark_tree(m->v, c, m->owner, m->depth + 1);
    else if (c)
        m->ok &= mark_chain(m->v, c, m->owner);
    return !m->ok;
}

static bool mark_tree(struct fat_vol *v, uint32_t dir, uint8_t *owner, int depth)
{
    struct mark_ctx m = { v, owner, mark_chain(v, dir, owner), depth };
    if (m.ok && depth < 16)
        m.ok = fat_dir_walk(v, dir, mark_visit, &m) == FAT_OK && m.ok;
    return m.ok;
}

static void workload(struct fat_vol *v)
{
    static uint8_t buf[20000];
    struct fat_file f;
    pattern(buf, sizeof(buf), 1);
    if (fat_mkdir(v, "/dir with long name") || fat_open(v, "/dir with long name/f1.dat", FAT_O_CREATE, &f))
        return;
    if (fat_write(&f, 0, buf, sizeof(buf)) < 0 || fat_close(&f))
        return;
    if (fat_open(v, "/second file.bin", FAT_O_CREATE, &f) || fat_write(&f, 0, buf, 9000) < 0 ||
        fat_truncate(&f, 3000) || fat_close(&f))
        return;
    if (fat_rename(v, "/dir with long name/f1.dat", "/renamed file.dat"))
        return;
    if (fat_open(v, "/renamed file.dat", 0, &f) || fat_write(&f, 20000, buf, 5000) < 0 || fat_close(&f))
        return;
    fat_unlink(v, "/second file.bin");
    fat_unlink(v, "/dir with long name");
}

static void test_power_cut(void **state)
{
    struct fixture *ref = fresh();
    workload(&ref->v);
    uint64_t total = ref->m.writes;
    done(ref);
    assert_true(total > 20);
    for (uint64_t cut = 0; cut <= total; cut++) {
        struct fixture *fx = fresh();
        fx->m.cut_after = (int64_t)cut;
        workload(&fx->v);
        fx->m.cut = false;
        fx->m.cut_after = -1;
        struct fat_vol v2;
        assert_int_equal(fat_mount(&v2, &fx->io), FAT_OK);
        uint8_t *owner = calloc(v2.clusters + 2, 1);
        if (!mark_tree(&v2, v2.root_cluster, owner, 0))
            fail_msg("power cut after %lu writes: a cluster in two chains", (unsigned long)cut);
        free(owner);
        done(fx);
    }
}

static void test_hostile(void **state)
{
    static uint8_t junk[4096 * 64];
    struct mem_disk m;
    struct block_io io;
    struct fat_vol v;
    memset(junk, 0, sizeof(junk));
    mem_disk_init(&m, junk, 512 * 64, sector, &io);
    assert_int_equal(fat_mount(&v, &io), FAT_E_NOT_FAT32);
    memcpy(junk, pristine, sector); /* a boot sector that claims far more than the disk */
    assert_int_equal(fat_mount(&v, &io), FAT_E_CORRUPT);
    assert_non_null(strstr(v.err, "larger than its disk"));
    /* The volume's sector size must be the disk's. */
    mem_disk_init(&m, pristine, img_bytes, sector == 512 ? 4096 : 512, &io);
    assert_int_equal(fat_mount(&v, &io), FAT_E_NOT_FAT32);
    assert_non_null(strstr(v.err, "are not the disk's"));
    mem_disk_init(&m, junk, sizeof(junk), 2048 + 1024, &io);
    assert_int_equal(fat_mount(&v, &io), FAT_E_NOT_FAT32);
    assert_non_null(strstr(v.err, "3072-byte disk sectors unsupported"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mount),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_place),
        cmocka_unit_test(test_forward_writes_walk_once),
        cmocka_unit_test(test_long_names_and_dirs),
        cmocka_unit_test(test_rename_unlink),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_power_cut),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests_name("512-byte sectors", tests, make_image_512, drop_image) |
           cmocka_run_group_tests_name("4096-byte sectors", tests, make_image_4096, drop_image);
}
