/* Block sharing: an offload write of a whole disk onto a whole disk becomes a linked clone
 * (hv/storage/pool_clone.c through hv/offload/offload.c) on a FAT32 pool in memory: what
 * each side reads, later writes of either side, when it declines and copies instead, and
 * a power cut after every write of the clone, recovered at "mount", checked by fsck.fat. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hv/offload/offload_pool.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/pool_clone.h"
#include "hv/storage/pool_write_observer.h"
#include "hv/storage/vhdx_parent_path.h"
#include "tests/unit/offload_fixture.h"
#include "tests/unit/pool_parent_env.h"

#define MIB (1024u * 1024u)
#define IMG_MIB 64
#define DISK (8 * MIB)

static struct fat_vol *cur_vol; /* the volume parents are opened on */


static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }
static void env_guid(void *ctx, struct guid *out)
{
    static uint32_t n;
    (void)ctx;
    memset(out, 0x5a, sizeof(*out));
    n++;
    memcpy(out->b, &n, sizeof(n));
}

static struct fat_vol *parent_volume(void) { return cur_vol; }
static const struct pool_parents parents = { parent_volume };

static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid,
                                     .ctx = (void *)&parents, .open_parent = pool_parent_open,
                                     .close_parent = pool_parent_close };

static const uint8_t issuer[TOKEN_ISSUER_LEN] = { 0x01, 0x02 };

static int make_image(void **state)
{
    (void)state;
    return offload_image_make(IMG_MIB);
}

static int drop_image(void **state)
{
    (void)state;
    offload_image_drop();
    return 0;
}

static void mount(struct offload_fixture *f, bool share)
{
    assert_int_equal(offload_fixture_mount(f, &env, share, issuer), 0);
    cur_vol = &f->v;
}

static int setup(void **state)
{
    struct offload_fixture *f = offload_fixture_new(&env, true, issuer);
    if (!f)
        return -1;
    cur_vol = &f->v;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    offload_fixture_free(*state);
    return 0;
}

/* ---- disks ------------------------------------------------------------------------- */

static uint8_t pat(uint64_t i, uint8_t seed) { return (uint8_t)(i * 7 + seed + (i >> 9)); }

struct disk { struct fat_file ff; struct vhdx_io io; struct vhdx *d; };

static int disk_open(struct offload_fixture *f, const char *name, bool create, struct disk *k)
{
    int rc = fat_open(&f->v, name, create ? FAT_O_CREATE | FAT_O_TRUNC : 0, &k->ff);
    if (rc)
        return rc;
    pool_vhdx_io(&k->ff, &k->io);
    struct vhdx_err err;
    if (create) {
        struct vhdx_create_params cp = { .disk_size = DISK, .block_size = MIB };
        assert_int_equal(vhdx_create(&env, &k->io, &cp, &err), VHDX_OK);
    }
    rc = vhdx_open(&env, &k->io, name, 0, &k->d, &err);
    if (rc)
        fat_close(&k->ff);
    return rc;
}

static void disk_close(struct disk *k)
{
    assert_int_equal(vhdx_close(k->d, NULL), VHDX_OK);
    fat_close(&k->ff);
}

/* A disk with data in MiB 0, 1 and 3 (2 and 4.. absent). */
static void put_disk(struct offload_fixture *f, const char *name, uint8_t seed)
{
    struct disk k;
    assert_int_equal(disk_open(f, name, true, &k), 0);
    uint8_t *b = malloc(MIB);
    for (uint64_t m = 0; m < 4; m++) {
        if (m == 2)
            continue;
        for (size_t i = 0; i < MIB; i++)
            b[i] = pat(m * MIB + i, seed);
        assert_int_equal(vhdx_write(k.d, m * MIB, b, MIB, NULL), VHDX_OK);
    }
    free(b);
    disk_close(&k);
}

/* Whether disk `name` holds put_disk(seed)'s data, changed at MiB 2 to `mark` if not 0. */
static bool disk_is(struct offload_fixture *f, const char *name, uint8_t seed, uint8_t mark)
{
    struct disk k;
    if (disk_open(f, name, false, &k))
        return false;
    uint8_t *b = malloc(DISK);
    bool ok = vhdx_read(k.d, 0, b, DISK, NULL) == VHDX_OK;
    for (uint64_t i = 0; ok && i < DISK; i++) {
        uint64_t m = i / MIB;
        uint8_t want = m == 2 ? mark : m < 4 ? pat(i, seed) : 0;
        ok = b[i] == want;
    }
    free(b);
    disk_close(&k);
    return ok;
}

static void write_mark(struct offload_fixture *f, const char *name, uint8_t mark)
{
    struct disk k;
    assert_int_equal(disk_open(f, name, false, &k), 0);
    uint8_t *b = malloc(MIB);
    memset(b, mark, MIB);
    assert_int_equal(vhdx_write(k.d, 2 * MIB, b, MIB, NULL), VHDX_OK);
    free(b);
    disk_close(&k);
}

static struct vhdx_info info_of(struct offload_fixture *f, const char *name)
{
    struct disk k;
    struct vhdx_info i;
    assert_int_equal(disk_open(f, name, false, &k), 0);
    vhdx_get_info(k.d, &i);
    disk_close(&k);
    return i;
}

static int copy_disk(struct offload_fixture *f, const char *src, const char *dst, uint64_t toff,
                     uint64_t *written)
{
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered;
    struct offload_src s = { TOKEN_RANGE_DISK, src, 0, UINT64_MAX };
    int rc = offload_read(&f->p, &s, 1, 0, tok, &covered, f->msg, sizeof f->msg);
    if (rc)
        return rc;
    return offload_write(&f->p, tok, TOKEN_SIZE, toff, UINT64_MAX, TOKEN_RANGE_DISK, dst, toff,
                         NULL, NULL, written, f->msg, sizeof f->msg);
}


static void read_token(struct offload_fixture *f, uint8_t kind, const char *name, uint64_t off, uint64_t len,
                       uint8_t tok[TOKEN_SIZE])
{
    uint64_t covered;
    struct offload_src s = { kind, name, off, len };
    assert_int_equal(offload_read(&f->p, &s, 1, 0, tok, &covered, f->msg, sizeof f->msg),
                     OFFLOAD_OK);
}

static uint8_t *file_bytes(struct offload_fixture *f, const char *name, uint64_t off, size_t len)
{
    struct fat_file ff;
    uint8_t *b = malloc(len);
    assert_int_equal(fat_open(&f->v, name, 0, &ff), FAT_OK);
    assert_int_equal(fat_read(&ff, off, b, len), (long)len);
    fat_close(&ff);
    return b;
}

static char *base_of(struct offload_fixture *f, const char *child, char *out, size_t size)
{
    snprintf(out, size, "%s", info_of(f, child).parent_name);
    return out;
}

static bool exists(struct offload_fixture *f, const char *name)
{
    struct fat_stat st;
    return fat_stat(&f->v, name, &st) == FAT_OK;
}

/* As atollctl copies a disk: the first request of 1 MiB with the WHOLE hint. */
static int whole_copy(struct offload_fixture *f, const char *src, const char *dst, uint64_t *written)
{
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered;
    struct offload_src s = { TOKEN_RANGE_DISK, src, 0, UINT64_MAX };
    int rc = offload_read(&f->p, &s, 1, 0, tok, &covered, f->msg, sizeof f->msg);
    return rc ? rc : offload_write_whole(&f->p, tok, TOKEN_SIZE, MIB, TOKEN_RANGE_DISK, dst,
                                         NULL, NULL, written, f->msg, sizeof f->msg);
}

struct names { char list[16][64]; int n; };

static bool add_name(void *ctx, const char *name, const struct fat_stat *st)
{
    struct names *n = ctx;
    (void)st;
    if (n->n < 16)
        snprintf(n->list[n->n++], 64, "%s", name);
    return false;
}

static struct names root_names(struct offload_fixture *f)
{
    struct names n = { .n = 0 };
    assert_int_equal(fat_list(&f->v, "/", add_name, &n), FAT_OK);
    return n;
}

/* fsck.fat finds nothing at all to repair. */
static void fsck_clean(const uint8_t *data)
{
    char path[] = "/tmp/atoll-clone-fsck-XXXXXX", cmd[200];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(mem_disk_save(path, data, offload_image_bytes), 0);
    snprintf(cmd, sizeof cmd, "fsck.fat -n %s >/dev/null 2>&1", path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
}

/* ---- tests ------------------------------------------------------------------------- */

static void clone_shares_blocks_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    uint64_t written;
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(written, DISK);
    assert_int_equal(f->p.stats.bytes_shared, DISK);
    assert_int_equal(f->p.stats.bytes_copied + f->p.stats.bytes_punched + f->p.stats.bytes_zero_read, 0);
    assert_true(disk_is(f, "src.vhdx", 3, 0));
    assert_true(disk_is(f, "dst.vhdx", 3, 0));
    /* both are children of one base beside the source, which holds the data */
    struct vhdx_info s = info_of(f, "src.vhdx"), d = info_of(f, "dst.vhdx");
    assert_true(s.has_parent && d.has_parent);
    assert_string_equal(s.parent_name, d.parent_name);
    assert_int_equal(strncmp(s.parent_name, "src-base-", 9), 0);
    assert_int_equal(s.blocks_present + d.blocks_present, 0);
    char base[256];
    snprintf(base, sizeof base, "%s", s.parent_name);
    assert_true(disk_is(f, base, 3, 0));
    struct names n = root_names(f);
    assert_int_equal(n.n, 3);   /* src, dst, the base: no work file left */
    /* later writes of either side stay on its side */
    write_mark(f, "src.vhdx", 0xaa);
    assert_true(disk_is(f, "src.vhdx", 3, 0xaa));
    assert_true(disk_is(f, "dst.vhdx", 3, 0));
    write_mark(f, "dst.vhdx", 0xbb);
    assert_true(disk_is(f, "dst.vhdx", 3, 0xbb));
    assert_true(disk_is(f, "src.vhdx", 3, 0xaa));
    assert_true(disk_is(f, base, 3, 0));
    assert_int_equal(fat_sync(&f->v), FAT_OK);
    fsck_clean(f->data);    /* no lost cluster, no cross-link: the old destination freed */
}

static void clone_of_a_clone_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "d1.vhdx", 9);
    put_disk(f, "d2.vhdx", 10);
    assert_int_equal(fat_mkdir(&f->v, "sub"), FAT_OK);
    put_disk(f, "sub/d3.vhdx", 11);
    uint64_t written;
    assert_int_equal(copy_disk(f, "src.vhdx", "d1.vhdx", 0, &written), OFFLOAD_OK);
    write_mark(f, "src.vhdx", 0x11);
    /* the source is a child now: its file becomes a second base, a child of the first */
    assert_int_equal(copy_disk(f, "src.vhdx", "d2.vhdx", 0, &written), OFFLOAD_OK);
    /* from a child as source, into another folder (a relative locator with ..) */
    assert_int_equal(copy_disk(f, "d1.vhdx", "sub/d3.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(f->p.stats.bytes_shared, 3 * DISK);
    assert_int_equal(f->p.stats.bytes_copied, 0);
    assert_true(disk_is(f, "d1.vhdx", 3, 0));
    assert_true(disk_is(f, "d2.vhdx", 3, 0x11));
    assert_true(disk_is(f, "src.vhdx", 3, 0x11));
    assert_true(disk_is(f, "sub/d3.vhdx", 3, 0));
    struct vhdx_info i = info_of(f, "sub/d3.vhdx");
    assert_int_equal(strncmp(i.parent_relative_path, "..\\d1-base-", 11), 0);
}

static void declines_and_copies_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    uint64_t written;
    /* not from offset 0: a plain copy of the rest */
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", MIB, &written), OFFLOAD_OK);
    assert_int_equal(written, DISK - MIB);
    assert_int_equal(f->p.stats.bytes_shared, 0);
    assert_false(info_of(f, "dst.vhdx").has_parent);
    /* a destination of another size */
    struct disk k;
    assert_int_equal(fat_open(&f->v, "big.vhdx", FAT_O_CREATE, &k.ff), FAT_OK);
    pool_vhdx_io(&k.ff, &k.io);
    struct vhdx_create_params cp = { .disk_size = 2 * DISK, .block_size = MIB };
    struct vhdx_err err;
    assert_int_equal(vhdx_create(&env, &k.io, &cp, &err), VHDX_OK);
    fat_close(&k.ff);
    assert_int_equal(copy_disk(f, "src.vhdx", "big.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(f->p.stats.bytes_shared, 0);
    assert_false(info_of(f, "big.vhdx").has_parent);
    /* a source that is already some image's parent: renaming it would orphan the child */
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(f->p.stats.bytes_shared, DISK);
    char base[256];
    snprintf(base, sizeof base, "%s", info_of(f, "src.vhdx").parent_name);
    put_disk(f, "other.vhdx", 4);
    assert_int_equal(copy_disk(f, base, "other.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(f->p.stats.bytes_shared, DISK);
    assert_true(disk_is(f, "other.vhdx", 3, 0));
    assert_false(info_of(f, "other.vhdx").has_parent);
    /* and nothing when the pool does not share blocks */
    mount(f, false);
    put_disk(f, "x.vhdx", 5);
    assert_int_equal(copy_disk(f, "x.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(f->p.stats.bytes_shared, 0);
    assert_true(disk_is(f, "dst.vhdx", 5, 0));
}

static void revoked_token_is_not_cloned_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    struct offload_src s = { TOKEN_RANGE_DISK, "src.vhdx", 0, UINT64_MAX };
    assert_int_equal(offload_read(&f->p, &s, 1, 0, tok, &covered, f->msg, sizeof f->msg), OFFLOAD_OK);
    offload_note_write(&f->p, TOKEN_RANGE_DISK, "src.vhdx", 5 * MIB, 512);
    assert_int_equal(offload_write(&f->p, tok, TOKEN_SIZE, 0, covered, TOKEN_RANGE_DISK,
                                   "dst.vhdx", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_E_REVOKED);
    assert_int_equal(written, 0);
    assert_true(disk_is(f, "dst.vhdx", 9, 0));
    assert_false(info_of(f, "src.vhdx").has_parent);
    assert_int_equal(root_names(f).n, 2);
}

/* fsck.fat's verdict on the image: no cross-linked chains (lost ones are a cut's leak). */
static void fsck_no_crosslinks(const uint8_t *data)
{
    char path[] = "/tmp/atoll-clone-fsck-XXXXXX", cmd[200], line[512];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(mem_disk_save(path, data, offload_image_bytes), 0);
    snprintf(cmd, sizeof cmd, "fsck.fat -n %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    bool crossed = false;
    while (fgets(line, sizeof line, p))
        if (strstr(line, "share") || strstr(line, "cross"))
            crossed = true, fprintf(stderr, "fsck.fat: %s", line);
    pclose(p);
    unlink(path);
    assert_false(crossed);
}

/* The device's write count when the commit (the base's name) began. */
static int64_t commit_at = -1;

static void see_commit(void *ctx, enum pool_write_what what, const char *path, uint64_t off,
                       uint64_t len)
{
    struct offload_fixture *f = ctx;
    (void)what, (void)off, (void)len;
    if (strstr(path, "-base-") && commit_at < 0)
        commit_at = (int64_t)f->m.writes;
}

/* A power cut after every write of the clone from a little before its commit to its end,
 * every 8th before (making the two children: a cut there only leaves work files); then the mount's recovery: each side holds
 * either its data before or the source's, the pool has no work file and no cross-link. */
static void cut_anywhere_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    assert_int_equal(fat_sync(&f->v), FAT_OK);
    uint8_t *before = malloc(offload_image_bytes);
    memcpy(before, f->data, offload_image_bytes);
    uint64_t written;
    mount(f, true);
    assert_int_equal(pool_write_observer_add(see_commit, f), 0);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered;
    struct offload_src s = { TOKEN_RANGE_DISK, "src.vhdx", 0, UINT64_MAX };
    assert_int_equal(offload_read(&f->p, &s, 1, 0, tok, &covered, f->msg, sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(offload_write(&f->p, tok, TOKEN_SIZE, 0, covered, TOKEN_RANGE_DISK,
                                   "dst.vhdx", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_OK);
    pool_write_observer_remove(see_commit, f);
    assert_true(commit_at >= 0);
    uint64_t total = f->m.writes, commit = (uint64_t)commit_at;
    assert_true(commit > 8 && commit < total);
    unsigned before_n = 0, after_n = 0;
    for (uint64_t cut = 0; cut <= total; cut++) {
        if (cut + 8 < commit && cut % 8)
            continue;
        memcpy(f->data, before, offload_image_bytes);
        mount(f, true);
        f->m.cut_after = (int64_t)(f->m.writes + cut);
        whole_copy(f, "src.vhdx", "dst.vhdx", &written);
        mount(f, true);     /* the reboot: what landed */
        int settled = pool_clone_recover(&f->v, &env);
        assert_true(settled >= 0);
        assert_true(disk_is(f, "src.vhdx", 3, 0));
        bool cloned = disk_is(f, "dst.vhdx", 3, 0);
        assert_true(cloned || disk_is(f, "dst.vhdx", 9, 0));
        assert_int_equal(info_of(f, "src.vhdx").has_parent, cloned);
        struct names n = root_names(f);
        for (int i = 0; i < n.n; i++)
            assert_null(strstr(n.list[i], POOL_CLONE_SUFFIX));
        assert_int_equal(n.n, cloned ? 3 : 2);
        cloned ? after_n++ : before_n++;
        if (cut + 8 >= commit)
            fsck_no_crosslinks(f->data);
        /* writable after either outcome, each side on its own */
        write_mark(f, "src.vhdx", 0x77);
        assert_true(disk_is(f, "dst.vhdx", cloned ? 3 : 9, 0));
    }
    assert_true(before_n > 0 && after_n > 0);
    free(before);
}


/* WHOLE: the first request of a write of the whole token into the whole destination may be
 * shorter than the disk (atollctl asks 64 MiB at a time); the clone does all of it. */
static void whole_write_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    put_disk(f, "d2.vhdx", 10);
    uint8_t tok[TOKEN_SIZE];
    uint64_t written;
    read_token(f, TOKEN_RANGE_DISK, "src.vhdx", 0, UINT64_MAX, tok);
    /* a plain request of the first MiB copies that MiB, nothing more */
    assert_int_equal(offload_write(&f->p, tok, TOKEN_SIZE, 0, MIB, TOKEN_RANGE_DISK, "d2.vhdx",
                                   0, NULL, NULL, &written, f->msg, sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(written, MIB);
    assert_int_equal(f->p.stats.bytes_shared, 0);
    assert_false(info_of(f, "d2.vhdx").has_parent);
    /* the same with WHOLE: all of it, shared */
    assert_int_equal(offload_write_whole(&f->p, tok, TOKEN_SIZE, MIB, TOKEN_RANGE_DISK,
                                         "dst.vhdx", NULL, NULL, &written, f->msg,
                                         sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(written, DISK);
    assert_int_equal(f->p.stats.bytes_shared, DISK);
    assert_non_null(strstr(f->msg, "blocks shared"));
    assert_true(disk_is(f, "dst.vhdx", 3, 0));
    assert_true(info_of(f, "dst.vhdx").has_parent);
    /* WHOLE where no clone is possible (a file; a disk of another size): LENGTH copied */
    assert_int_equal(offload_write_whole(&f->p, tok, TOKEN_SIZE, MIB, TOKEN_RANGE_FILE, "f.bin",
                                         NULL, NULL, &written, f->msg, sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(written, MIB);
    struct disk k;
    assert_int_equal(fat_open(&f->v, "big.vhdx", FAT_O_CREATE, &k.ff), FAT_OK);
    pool_vhdx_io(&k.ff, &k.io);
    struct vhdx_create_params cp = { .disk_size = 2 * DISK, .block_size = MIB };
    struct vhdx_err err;
    assert_int_equal(vhdx_create(&env, &k.io, &cp, &err), VHDX_OK);
    fat_close(&k.ff);
    assert_int_equal(offload_write_whole(&f->p, tok, TOKEN_SIZE, MIB, TOKEN_RANGE_DISK,
                                         "big.vhdx", NULL, NULL, &written, f->msg,
                                         sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(written, MIB);
    assert_int_equal(f->p.stats.bytes_shared, DISK);
    /* a token of part of the disk is no whole disk, WHOLE or not */
    read_token(f, TOKEN_RANGE_DISK, "d2.vhdx", 0, DISK - MIB, tok);
    put_disk(f, "d3.vhdx", 11);
    assert_int_equal(offload_write_whole(&f->p, tok, TOKEN_SIZE, MIB, TOKEN_RANGE_DISK,
                                         "d3.vhdx", NULL, NULL, &written, f->msg,
                                         sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(written, MIB);
    assert_false(info_of(f, "d3.vhdx").has_parent);
    /* a clone wants names the pool finds its images by */
    put_disk(f, "raw.img", 12);
    put_disk(f, "d4.vhdx", 13);
    read_token(f, TOKEN_RANGE_DISK, "raw.img", 0, UINT64_MAX, tok);
    assert_int_equal(offload_write_whole(&f->p, tok, TOKEN_SIZE, DISK, TOKEN_RANGE_DISK,
                                         "d4.vhdx", NULL, NULL, &written, f->msg,
                                         sizeof f->msg), OFFLOAD_OK);
    assert_false(info_of(f, "d4.vhdx").has_parent);
    assert_true(disk_is(f, "d4.vhdx", 12, 0));
}

/* The clone moves the source's data, unchanged, into the base: the source's tokens (disk
 * and file kind, the one the clone used included) follow it there and read it as at issue,
 * whatever is written to the source's new child; a write to the base itself revokes. */
static void tokens_follow_the_base_test(void **state)
{
    struct offload_fixture *f = *state;
    assert_int_equal(offload_pool_observe(&f->p), 0);
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    put_disk(f, "e.vhdx", 10);
    uint8_t whole[TOKEN_SIZE], part[TOKEN_SIZE], file[TOKEN_SIZE], late[TOKEN_SIZE];
    read_token(f, TOKEN_RANGE_DISK, "src.vhdx", 0, UINT64_MAX, whole);
    read_token(f, TOKEN_RANGE_DISK, "src.vhdx", MIB, 3 * MIB, part);
    read_token(f, TOKEN_RANGE_FILE, "src.vhdx", 0, 256 * 1024, file);
    uint8_t *file_before = file_bytes(f, "src.vhdx", 0, 256 * 1024);
    uint64_t written;
    assert_int_equal(offload_write_whole(&f->p, whole, TOKEN_SIZE, MIB, TOKEN_RANGE_DISK,
                                         "dst.vhdx", NULL, NULL, &written, f->msg,
                                         sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(written, DISK);
    assert_int_equal(f->p.stats.revoked, 0);
    assert_int_equal(offload_live_count(&f->p), 3);
    char base[256];
    base_of(f, "src.vhdx", base, sizeof base);
    /* the source's child is written through the provider (its hook noted) and directly */
    uint8_t *b = malloc(MIB);
    memset(b, 0xcd, MIB);
    assert_int_equal(offload_store(&f->p, TOKEN_RANGE_DISK, "src.vhdx", 2 * MIB, b, 2048,
                                   f->msg, sizeof f->msg), OFFLOAD_OK);
    write_mark(f, "src.vhdx", 0xee);
    assert_int_equal(f->p.stats.revoked, 0);
    /* each token reads the data as at issue */
    assert_int_equal(offload_write(&f->p, part, TOKEN_SIZE, 0, UINT64_MAX, TOKEN_RANGE_FILE,
                                   "part.bin", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_OK);
    assert_int_equal(written, 3 * MIB);
    uint8_t *got = file_bytes(f, "part.bin", 0, 3 * MIB);
    for (uint64_t i = 0; i < 3 * MIB; i++) {
        uint64_t at = MIB + i;
        assert_int_equal(got[i], at / MIB == 2 ? 0 : pat(at, 3));
    }
    free(got);
    assert_int_equal(offload_write(&f->p, file, TOKEN_SIZE, 0, UINT64_MAX, TOKEN_RANGE_FILE,
                                   "file.bin", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_OK);
    got = file_bytes(f, "file.bin", 0, 256 * 1024);
    assert_memory_equal(got, file_before, 256 * 1024);
    free(got);
    /* the whole-disk token again: the base has children, so it is copied, not cloned */
    assert_int_equal(offload_write_whole(&f->p, whole, TOKEN_SIZE, MIB, TOKEN_RANGE_DISK,
                                         "e.vhdx", NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_OK);
    assert_int_equal(written, MIB);
    assert_int_equal(offload_write(&f->p, whole, TOKEN_SIZE, MIB, UINT64_MAX, TOKEN_RANGE_DISK,
                                   "e.vhdx", MIB, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_OK);
    assert_true(disk_is(f, "e.vhdx", 3, 0));
    assert_false(info_of(f, "e.vhdx").has_parent);
    /* a token issued after the clone is the child's; a write to it revokes only that one */
    read_token(f, TOKEN_RANGE_DISK, "src.vhdx", 0, MIB, late);
    assert_int_equal(offload_store(&f->p, TOKEN_RANGE_DISK, "src.vhdx", 0, b, 512, f->msg,
                                   sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(offload_write(&f->p, late, TOKEN_SIZE, 0, UINT64_MAX, TOKEN_RANGE_FILE,
                                   "late.bin", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_E_REVOKED);
    assert_int_equal(offload_write(&f->p, part, TOKEN_SIZE, 0, MIB, TOKEN_RANGE_FILE,
                                   "part2.bin", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_OK);
    /* a write to the base itself (by hand: nothing in the pool writes it) revokes its tokens */
    assert_int_equal(offload_store(&f->p, TOKEN_RANGE_DISK, base, 2 * MIB, b, 512, f->msg,
                                   sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(offload_write(&f->p, part, TOKEN_SIZE, 0, MIB, TOKEN_RANGE_FILE,
                                   "part3.bin", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_E_REVOKED);
    assert_int_equal(offload_write(&f->p, file, TOKEN_SIZE, 0, MIB, TOKEN_RANGE_FILE,
                                   "file3.bin", 0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_E_REVOKED);
    free(b);
    free(file_before);
    offload_pool_unobserve(&f->p);
}

/* Tokens of the source outlive its clone until the base goes with the last child. */
static void base_removed_revokes_test(void **state)
{
    struct offload_fixture *f = *state;
    assert_int_equal(offload_pool_observe(&f->p), 0);
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    uint8_t part[TOKEN_SIZE];
    uint64_t written;
    read_token(f, TOKEN_RANGE_DISK, "src.vhdx", 0, MIB, part);
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(pool_clone_delete(&f->v, &env, "src.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_int_equal(offload_write(&f->p, part, TOKEN_SIZE, 0, MIB, TOKEN_RANGE_FILE, "a.bin",
                                   0, NULL, NULL, &written, f->msg, sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(pool_clone_delete(&f->v, &env, "dst.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_non_null(strstr(f->msg, "no child left"));
    assert_int_equal(offload_write(&f->p, part, TOKEN_SIZE, 0, MIB, TOKEN_RANGE_FILE, "b.bin",
                                   0, NULL, NULL, &written, f->msg, sizeof f->msg),
                     OFFLOAD_E_REVOKED);
    offload_pool_unobserve(&f->p);
}

static bool base_attached(const char *path) { return pool_clone_is_base(path); }

/* The pool's delete: a parent refused, a child removed, the base with the last child. */
static void delete_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    uint64_t written;
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    char base[256];
    base_of(f, "src.vhdx", base, sizeof base);
    assert_true(pool_clone_is_base(base));
    assert_false(pool_clone_is_base("src.vhdx"));
    assert_false(pool_clone_is_base("a-base-1234567.vhdx"));
    assert_false(pool_clone_is_base("a-base-1234567g.vhdx"));
    assert_false(pool_clone_is_base("-base-12345678.vhdx"));
    assert_true(pool_clone_is_base("d/A-BASE-0123ABCD.VHDX"));
    /* refused: the base while a child names it; nothing that is not there */
    assert_int_equal(pool_clone_delete(&f->v, &env, base, NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_DECLINED);
    assert_non_null(strstr(f->msg, "is the parent of"));
    assert_true(exists(f, base));
    assert_int_equal(pool_clone_delete(&f->v, &env, "none.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_DECLINED);
    assert_string_equal(f->msg, "no such file in the pool");
    assert_int_equal(fat_mkdir(&f->v, "dir"), FAT_OK);
    assert_int_equal(pool_clone_delete(&f->v, &env, "dir", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_DECLINED);
    /* a child: the base stays for the other */
    assert_int_equal(pool_clone_delete(&f->v, &env, "dst.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_non_null(strstr(f->msg, "stays"));
    assert_false(exists(f, "dst.vhdx"));
    assert_true(exists(f, base));
    assert_true(disk_is(f, "src.vhdx", 3, 0));
    /* the last child: the base goes with it */
    assert_int_equal(pool_clone_delete(&f->v, &env, "src.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_non_null(strstr(f->msg, "no child left"));
    assert_false(exists(f, base));
    /* a plain file, a plain image */
    struct fat_file ff;
    assert_int_equal(fat_open(&f->v, "plain.bin", FAT_O_CREATE, &ff), FAT_OK);
    assert_int_equal(fat_write(&ff, 0, "x", 1), 1);
    fat_close(&ff);
    assert_int_equal(pool_clone_delete(&f->v, &env, "plain.bin", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    put_disk(f, "one.vhdx", 4);
    assert_int_equal(pool_clone_delete(&f->v, &env, "one.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_string_equal(f->msg, "removed");
    struct names n = root_names(f);
    assert_int_equal(n.n, 1);   /* dir */
    assert_int_equal(fat_sync(&f->v), FAT_OK);
    fsck_clean(f->data);
    /* a chain of clones: deleting the top child of the second base removes only that
     * base when the first one still has a child */
    put_disk(f, "s.vhdx", 3);
    put_disk(f, "d1.vhdx", 9);
    put_disk(f, "d2.vhdx", 9);
    assert_int_equal(copy_disk(f, "s.vhdx", "d1.vhdx", 0, &written), OFFLOAD_OK);
    char b1[256], b2[256];
    base_of(f, "s.vhdx", b1, sizeof b1);
    write_mark(f, "s.vhdx", 0x21);
    assert_int_equal(copy_disk(f, "s.vhdx", "d2.vhdx", 0, &written), OFFLOAD_OK);
    base_of(f, "s.vhdx", b2, sizeof b2);
    assert_string_equal(base_of(f, b2, base, sizeof base), b1);
    assert_int_equal(pool_clone_delete(&f->v, &env, "s.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_int_equal(pool_clone_delete(&f->v, &env, "d1.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_true(exists(f, b1));     /* b2 names it */
    assert_true(exists(f, b2));     /* d2 names it */
    assert_true(disk_is(f, "d2.vhdx", 3, 0x21));
    /* the last child: both bases up the chain go, child before parent */
    assert_int_equal(pool_clone_delete(&f->v, &env, "d2.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_false(exists(f, b2));
    assert_false(exists(f, b1));
    assert_non_null(strstr(f->msg, b1));
    /* a base a partition has attached (by hand) stays */
    put_disk(f, "p.vhdx", 3);
    put_disk(f, "q.vhdx", 9);
    assert_int_equal(copy_disk(f, "p.vhdx", "q.vhdx", 0, &written), OFFLOAD_OK);
    base_of(f, "p.vhdx", b1, sizeof b1);
    assert_int_equal(pool_clone_delete(&f->v, &env, "p.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_int_equal(pool_clone_delete(&f->v, &env, "q.vhdx", base_attached, f->msg,
                                       sizeof f->msg), POOL_CLONE_OK);
    assert_non_null(strstr(f->msg, "a partition has it attached"));
    assert_true(exists(f, b1));
    assert_int_equal(pool_clone_delete(&f->v, &env, b1, NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_false(exists(f, b1));
    assert_int_equal(fat_sync(&f->v), FAT_OK);
    fsck_clean(f->data);
}

/* At mount: a base no image names goes; one that is named, or might be (an image that
 * cannot be read), stays; so does any other image without children. */
static void recover_collects_bases_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    put_disk(f, "lone.vhdx", 5);
    uint64_t written;
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    char base[256];
    base_of(f, "src.vhdx", base, sizeof base);
    assert_int_equal(pool_clone_recover(&f->v, &env), 0);
    assert_true(exists(f, base));
    /* both children gone by hand (as after a cut between a delete's two removals) */
    assert_int_equal(fat_unlink(&f->v, "dst.vhdx"), FAT_OK);
    assert_int_equal(pool_clone_recover(&f->v, &env), 0);
    assert_true(exists(f, base));
    assert_int_equal(fat_unlink(&f->v, "src.vhdx"), FAT_OK);
    /* a file that begins as a VHDX but cannot be opened might name it: kept; files that
     * are no VHDX at all, whatever their names, do not count */
    struct fat_file ff;
    assert_int_equal(fat_open(&f->v, "junk.bin", FAT_O_CREATE, &ff), FAT_OK);
    assert_int_equal(fat_write(&ff, 0, "vhdxfile, damaged", 17), 17);
    fat_close(&ff);
    assert_int_equal(fat_open(&f->v, "plain.vhdx", FAT_O_CREATE, &ff), FAT_OK);
    assert_int_equal(fat_write(&ff, 0, "not a vhdx", 10), 10);
    fat_close(&ff);
    assert_int_equal(pool_clone_recover(&f->v, &env), 0);
    assert_true(exists(f, base));
    assert_int_equal(fat_unlink(&f->v, "junk.bin"), FAT_OK);
    assert_int_equal(pool_clone_recover(&f->v, &env), 1);
    assert_false(exists(f, base));
    assert_true(disk_is(f, "lone.vhdx", 5, 0));
}

/* A child under a name the pool's images are not found by (a clone of an older build could
 * make one): its base stays when its sibling is deleted, and at mount. */
static void child_of_any_name_keeps_base_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    uint64_t written;
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    char base[256];
    base_of(f, "src.vhdx", base, sizeof base);
    assert_int_equal(fat_rename(&f->v, "dst.vhdx", "dst.img"), FAT_OK);
    assert_int_equal(pool_clone_delete(&f->v, &env, "src.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    assert_non_null(strstr(f->msg, "is the parent of dst.img"));
    assert_true(exists(f, base));
    assert_int_equal(pool_clone_recover(&f->v, &env), 0);
    assert_true(exists(f, base));
    assert_true(disk_is(f, "dst.img", 3, 0));
}

/* A power cut after every write of the delete of a clone's last child, then the mount's
 * recovery: the child and its base are both there (the child whole) or both gone. */
static void delete_cut_anywhere_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "src.vhdx", 3);
    put_disk(f, "dst.vhdx", 9);
    uint64_t written;
    assert_int_equal(copy_disk(f, "src.vhdx", "dst.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(pool_clone_delete(&f->v, &env, "dst.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    char base[256];
    base_of(f, "src.vhdx", base, sizeof base);
    assert_int_equal(fat_sync(&f->v), FAT_OK);
    uint8_t *before = malloc(offload_image_bytes);
    memcpy(before, f->data, offload_image_bytes);
    mount(f, true);
    uint64_t w0 = f->m.writes;
    assert_int_equal(pool_clone_delete(&f->v, &env, "src.vhdx", NULL, f->msg, sizeof f->msg),
                     POOL_CLONE_OK);
    uint64_t total = f->m.writes - w0;
    assert_true(total > 2);
    unsigned kept = 0, gone = 0;
    for (uint64_t cut = 0; cut <= total; cut++) {
        memcpy(f->data, before, offload_image_bytes);
        mount(f, true);
        f->m.cut_after = (int64_t)(f->m.writes + cut);
        pool_clone_delete(&f->v, &env, "src.vhdx", NULL, f->msg, sizeof f->msg);
        mount(f, true);
        assert_true(pool_clone_recover(&f->v, &env) >= 0);
        bool child = exists(f, "src.vhdx");
        assert_int_equal(exists(f, base), child);
        if (child)
            assert_true(disk_is(f, "src.vhdx", 3, 0));
        child ? kept++ : gone++;
        fsck_no_crosslinks(f->data);
    }
    assert_true(kept > 0 && gone > 0);
    free(before);
}

static void relative_locators_test(void **state)
{
    struct offload_fixture *f = *state;
    assert_int_equal(fat_mkdir(&f->v, "a"), FAT_OK);
    assert_int_equal(fat_mkdir(&f->v, "a/b"), FAT_OK);
    assert_int_equal(fat_mkdir(&f->v, "c"), FAT_OK);
    put_disk(f, "a/b/src.vhdx", 3);
    put_disk(f, "c/dst.vhdx", 9);
    put_disk(f, "top.vhdx", 9);
    uint64_t written;
    assert_int_equal(copy_disk(f, "a/b/src.vhdx", "c/dst.vhdx", 0, &written), OFFLOAD_OK);
    struct vhdx_info i = info_of(f, "c/dst.vhdx");
    assert_int_equal(strncmp(i.parent_relative_path, "..\\a\\b\\src-base-", 16), 0);
    assert_int_equal(strncmp(i.parent_absolute_path, "\\a\\b\\src-base-", 14), 0);
    i = info_of(f, "a/b/src.vhdx");
    assert_int_equal(strncmp(i.parent_relative_path, "src-base-", 9), 0);
    assert_int_equal(copy_disk(f, "c/dst.vhdx", "top.vhdx", 0, &written), OFFLOAD_OK);
    i = info_of(f, "top.vhdx");
    assert_int_equal(strncmp(i.parent_relative_path, "c\\dst-base-", 11), 0);
    assert_true(disk_is(f, "top.vhdx", 3, 0));
    assert_true(disk_is(f, "a/b/src.vhdx", 3, 0));
}

/* The FAT32 primitives of the commit: a second name on one chain, a name dropped alone. */
static void fat_link_forget_test(void **state)
{
    struct offload_fixture *f = *state;
    struct fat_file ff;
    uint8_t b[5000], r[5000];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = pat(i, 5);
    assert_int_equal(fat_open(&f->v, "one.bin", FAT_O_CREATE, &ff), FAT_OK);
    assert_int_equal(fat_write(&ff, 0, b, sizeof b), (long)sizeof b);
    assert_int_equal(fat_close(&ff), FAT_OK);
    assert_int_equal(fat_mkdir(&f->v, "d"), FAT_OK);
    assert_int_equal(fat_link(&f->v, "one.bin", "d/two.bin"), FAT_OK);
    struct fat_stat a, c;
    assert_int_equal(fat_stat(&f->v, "one.bin", &a), FAT_OK);
    assert_int_equal(fat_stat(&f->v, "d/two.bin", &c), FAT_OK);
    assert_int_equal(a.first_cluster, c.first_cluster);
    assert_int_equal(a.size, c.size);
    /* refused: an existing name, a folder, a missing file */
    assert_int_equal(fat_link(&f->v, "one.bin", "d/two.bin"), FAT_E_EXISTS);
    assert_int_equal(fat_link(&f->v, "d", "e"), FAT_E_INVALID);
    assert_int_equal(fat_link(&f->v, "none.bin", "e"), FAT_E_NOT_FOUND);
    assert_int_equal(fat_forget(&f->v, "d"), FAT_E_INVALID);
    uint32_t free_before = f->v.free_count;
    assert_int_equal(fat_forget(&f->v, "one.bin"), FAT_OK);
    assert_int_equal(f->v.free_count, free_before);     /* the chain stays */
    assert_int_equal(fat_stat(&f->v, "one.bin", &a), FAT_E_NOT_FOUND);
    assert_int_equal(fat_open(&f->v, "d/two.bin", 0, &ff), FAT_OK);
    assert_int_equal(fat_read(&ff, 0, r, sizeof r), (long)sizeof r);
    assert_memory_equal(b, r, sizeof b);
    fat_close(&ff);
    assert_int_equal(fat_sync(&f->v), FAT_OK);
    fsck_clean(f->data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fat_link_forget_test, setup, teardown),
        cmocka_unit_test_setup_teardown(clone_shares_blocks_test, setup, teardown),
        cmocka_unit_test_setup_teardown(clone_of_a_clone_test, setup, teardown),
        cmocka_unit_test_setup_teardown(declines_and_copies_test, setup, teardown),
        cmocka_unit_test_setup_teardown(revoked_token_is_not_cloned_test, setup, teardown),
        cmocka_unit_test_setup_teardown(relative_locators_test, setup, teardown),
        cmocka_unit_test_setup_teardown(cut_anywhere_test, setup, teardown),
        cmocka_unit_test_setup_teardown(whole_write_test, setup, teardown),
        cmocka_unit_test_setup_teardown(tokens_follow_the_base_test, setup, teardown),
        cmocka_unit_test_setup_teardown(base_removed_revokes_test, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_test, setup, teardown),
        cmocka_unit_test_setup_teardown(recover_collects_bases_test, setup, teardown),
        cmocka_unit_test_setup_teardown(child_of_any_name_keeps_base_test, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_cut_anywhere_test, setup, teardown),
    };
    return cmocka_run_group_tests(tests, make_image, drop_image);
}
