/* The offload provider (hv/offload/offload.c) on a FAT32 pool in memory with files and VHDX
 * disks (hv/offload/offload_pool.c): read and write, what shortens them, every refusal,
 * and immutability when the source is written before and during an offload write. */
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
#include "hv/storage/pool_write_observer.h"
#include "tests/unit/offload_fixture.h"

#define MIB (1024u * 1024u)
#define IMG_MIB 96


static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }
static void env_guid(void *ctx, struct guid *out)
{
    static uint32_t n;
    (void)ctx;
    memset(out, 0, sizeof(*out));
    n++;
    memcpy(out->b, &n, sizeof(n));
    out->b[15] = 0x77;
}
static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid };

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

static int setup(void **state)
{
    *state = offload_fixture_new(&env, false, issuer);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    struct offload_fixture *f = *state;
    offload_pool_unobserve(&f->p);
    offload_fixture_free(f);
    return 0;
}

/* ---- helpers: pool files and disks, patterns ---------------------------------------- */

static uint8_t pat(uint64_t i, uint8_t seed) { return (uint8_t)(i * 7 + seed + (i >> 9)); }

static void fill(uint8_t *b, uint64_t base, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = pat(base + i, seed);
}

static void put_file(struct offload_fixture *f, const char *name, size_t size, uint8_t seed)
{
    struct fat_file ff;
    assert_int_equal(fat_open(&f->v, name, FAT_O_CREATE | FAT_O_TRUNC, &ff), FAT_OK);
    uint8_t *b = malloc(size);
    fill(b, 0, size, seed);
    assert_int_equal(fat_write(&ff, 0, b, size), (long)size);
    assert_int_equal(fat_close(&ff), FAT_OK);
    free(b);
}

static uint8_t *get_file(struct offload_fixture *f, const char *name, size_t *size)
{
    struct fat_file ff;
    assert_int_equal(fat_open(&f->v, name, 0, &ff), FAT_OK);
    *size = ff.size;
    uint8_t *b = malloc(ff.size + 1);
    assert_int_equal(fat_read(&ff, 0, b, ff.size), (long)ff.size);
    fat_close(&ff);
    return b;
}

struct disk { struct fat_file ff; struct vhdx_io io; struct vhdx *d; };


static void disk_open(struct offload_fixture *f, const char *name, bool create, struct disk *k)
{
    assert_int_equal(fat_open(&f->v, name, create ? FAT_O_CREATE | FAT_O_TRUNC : 0, &k->ff), FAT_OK);
    pool_vhdx_io(&k->ff, &k->io);
    struct vhdx_err err;
    if (create) {
        struct vhdx_create_params cp = { .disk_size = 32 * MIB, .block_size = MIB };
        assert_int_equal(vhdx_create(&env, &k->io, &cp, &err), VHDX_OK);
    }
    assert_int_equal(vhdx_open(&env, &k->io, name, 0, &k->d, &err), VHDX_OK);
}

static void disk_close(struct disk *k)
{
    assert_int_equal(vhdx_close(k->d, NULL), VHDX_OK);
    fat_close(&k->ff);
}

/* A 32 MiB disk with data in MiB 0, 1 and 3 (2 and 4.. absent). */
static void put_disk(struct offload_fixture *f, const char *name, uint8_t seed)
{
    struct disk k;
    disk_open(f, name, true, &k);
    uint8_t *b = malloc(MIB);
    for (uint64_t m = 0; m < 4; m++) {
        if (m == 2)
            continue;
        fill(b, m * MIB, MIB, seed);
        assert_int_equal(vhdx_write(k.d, m * MIB, b, MIB, NULL), VHDX_OK);
    }
    free(b);
    disk_close(&k);
}

static void read_disk(struct offload_fixture *f, const char *name, uint64_t off, uint8_t *b, size_t n)
{
    struct disk k;
    disk_open(f, name, false, &k);
    assert_int_equal(vhdx_read(k.d, off, b, n, NULL), VHDX_OK);
    disk_close(&k);
}

static int oread(struct offload_fixture *f, uint8_t kind, const char *name, uint64_t off, uint64_t len,
                 uint8_t *tok, uint64_t *covered)
{
    struct offload_src s = { kind, name, off, len };
    return offload_read(&f->p, &s, 1, 0, tok, covered, f->msg, sizeof(f->msg));
}

static int owrite(struct offload_fixture *f, const uint8_t *tok, uint64_t toff, uint64_t len, uint8_t kind,
                  const char *dst, uint64_t doff, uint64_t *written)
{
    return offload_write(&f->p, tok, TOKEN_SIZE, toff, len, kind, dst, doff, NULL, NULL,
                         written, f->msg, sizeof(f->msg));
}

/* ---- tests ------------------------------------------------------------------------- */

static void file_copy_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "src.bin", 3 * MIB + 100, 1);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    /* asked past the end: covered up to the end */
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "src.bin", 0, 10 * MIB, tok, &covered), OFFLOAD_OK);
    assert_int_equal(covered, 3 * MIB + 100);
    assert_int_equal(owrite(f, tok, 0, UINT64_MAX, TOKEN_RANGE_FILE, "dir-less-dst.bin", 0, &written),
                     OFFLOAD_OK);
    assert_int_equal(written, 3 * MIB + 100);
    size_t n;
    uint8_t *a = get_file(f, "src.bin", &n), *b = get_file(f, "DIR-LESS-DST.BIN", &n);
    assert_int_equal(n, 3 * MIB + 100);
    assert_memory_equal(a, b, n);
    free(a), free(b);
    /* part of it, at an offset of the destination */
    assert_int_equal(owrite(f, tok, 1000, 5000, TOKEN_RANGE_FILE, "part.bin", 77, &written),
                     OFFLOAD_OK);
    assert_int_equal(written, 5000);
    b = get_file(f, "part.bin", &n);
    assert_int_equal(n, 5077);
    for (size_t i = 0; i < 5000; i++)
        assert_int_equal(b[77 + i], pat(1000 + i, 1));
    free(b);
    assert_int_equal(f->p.stats.bytes_punched, 0);
}

static void disk_copy_shares_absent_blocks_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "a.vhdx", 3);
    put_disk(f, "b.vhdx", 9);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "a.vhdx", 0, 6 * MIB + 100, tok, &covered), OFFLOAD_OK);
    assert_int_equal(covered, 6 * MIB); /* whole sectors only */
    assert_int_equal(owrite(f, tok, 0, UINT64_MAX, TOKEN_RANGE_DISK, "b.vhdx", 8 * MIB, &written),
                     OFFLOAD_OK);
    assert_int_equal(written, 6 * MIB);
    /* absent blocks 2, 4, 5 were made zero in b by metadata, not copied */
    assert_int_equal(f->p.stats.bytes_copied, 3 * MIB);
    assert_int_equal(f->p.stats.bytes_punched, 3 * MIB);
    uint8_t *got = malloc(6 * MIB), *want = calloc(1, 6 * MIB);
    for (uint64_t m = 0; m < 4; m++)
        if (m != 2)
            fill(want + m * MIB, m * MIB, MIB, 3);
    read_disk(f, "b.vhdx", 8 * MIB, got, 6 * MIB);
    assert_memory_equal(got, want, 6 * MIB);
    /* b's own data before the copied range is untouched */
    read_disk(f, "b.vhdx", 0, got, MIB);
    fill(want, 0, MIB, 9);
    assert_memory_equal(got, want, MIB);
    free(got), free(want);
}

/* An allocated block that holds zeros is read, found zero and trimmed in the destination,
 * not written: a destination block that held data reads zero, a fresh one stays absent. */
static void disk_copy_trims_zero_data_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "a.vhdx", 3);
    put_disk(f, "b.vhdx", 9);
    struct disk k;
    disk_open(f, "a.vhdx", false, &k);
    uint8_t *z = calloc(1, MIB);
    assert_int_equal(vhdx_write(k.d, MIB, z, MIB, NULL), VHDX_OK); /* allocated, all zero */
    disk_close(&k);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "a.vhdx", 0, 4 * MIB, tok, &covered), OFFLOAD_OK);
    assert_int_equal(owrite(f, tok, 0, UINT64_MAX, TOKEN_RANGE_DISK, "b.vhdx", 0, &written),
                     OFFLOAD_OK);
    assert_int_equal(written, 4 * MIB);
    assert_int_equal(f->p.stats.bytes_copied, 2 * MIB);   /* blocks 0 and 3 */
    assert_int_equal(f->p.stats.bytes_punched, MIB);      /* block 2: absent */
    assert_int_equal(f->p.stats.bytes_zero_read, MIB);    /* block 1: zero data */
    uint8_t *got = malloc(4 * MIB), *want = calloc(1, 4 * MIB);
    fill(want, 0, MIB, 3);
    fill(want + 3 * MIB, 3 * MIB, MIB, 3);
    read_disk(f, "b.vhdx", 0, got, 4 * MIB);
    assert_memory_equal(got, want, 4 * MIB); /* b's data at 1 MiB is gone */
    /* into a fresh disk: block 1 is not allocated there */
    assert_int_equal(owrite(f, tok, MIB, MIB, TOKEN_RANGE_DISK, "fresh.vhdx", 0, &written),
                     OFFLOAD_E_NOT_FOUND);
    disk_open(f, "fresh.vhdx", true, &k);
    disk_close(&k);
    assert_int_equal(owrite(f, tok, MIB, MIB, TOKEN_RANGE_DISK, "fresh.vhdx", 0, &written),
                     OFFLOAD_OK);
    disk_open(f, "fresh.vhdx", false, &k);
    bool present;
    uint64_t run;
    assert_int_equal(vhdx_layer_extent(k.d, 0, MIB, &present, &run, NULL), VHDX_OK);
    assert_false(present);
    disk_close(&k);
    free(z), free(got), free(want);
}

/* Plain reads and writes (the client-mediated path): a store revokes the tokens it touches. */
static void fetch_and_store_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "src.bin", 5000, 2);
    put_disk(f, "d.vhdx", 6);
    uint8_t buf[8192], tok[TOKEN_SIZE];
    size_t got;
    uint64_t covered, written;
    assert_int_equal(offload_fetch(&f->p, TOKEN_RANGE_FILE, "src.bin", 4000, buf, 4096, &got,
                                   f->msg, sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(got, 1000); /* cut at the end */
    for (size_t i = 0; i < got; i++)
        assert_int_equal(buf[i], pat(4000 + i, 2));
    assert_int_equal(offload_fetch(&f->p, TOKEN_RANGE_DISK, "d.vhdx", 3 * MIB, buf, 1000, &got,
                                   f->msg, sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(got, 512); /* whole sectors */
    assert_int_equal(offload_fetch(&f->p, TOKEN_RANGE_DISK, "d.vhdx", 100, buf, 512, &got,
                                   f->msg, sizeof f->msg), OFFLOAD_E_INVALID);
    assert_int_equal(offload_fetch(&f->p, TOKEN_RANGE_FILE, "none.bin", 0, buf, 1, &got,
                                   f->msg, sizeof f->msg), OFFLOAD_E_NOT_FOUND);
    /* a token on the disk, then a store into its range: the token dies */
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "d.vhdx", 0, 2 * MIB, tok, &covered), OFFLOAD_OK);
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(offload_store(&f->p, TOKEN_RANGE_DISK, "d.vhdx", MIB, buf, 1024, f->msg,
                                   sizeof f->msg), OFFLOAD_OK);
    assert_int_equal(owrite(f, tok, 0, UINT64_MAX, TOKEN_RANGE_FILE, "x.bin", 0, &written),
                     OFFLOAD_E_REVOKED);
    read_disk(f, "d.vhdx", MIB, buf, 2048);
    for (size_t i = 0; i < 1024; i++)
        assert_int_equal(buf[i], 0xee);
    for (size_t i = 1024; i < 2048; i++)
        assert_int_equal(buf[i], pat(MIB + i, 6));
    /* a disk takes whole sectors inside it; a file is created */
    assert_int_equal(offload_store(&f->p, TOKEN_RANGE_DISK, "d.vhdx", 0, buf, 100, f->msg,
                                   sizeof f->msg), OFFLOAD_E_INVALID);
    assert_int_equal(offload_store(&f->p, TOKEN_RANGE_DISK, "d.vhdx", 32 * MIB, buf, 512, f->msg,
                                   sizeof f->msg), OFFLOAD_E_INVALID);
    assert_int_equal(offload_store(&f->p, TOKEN_RANGE_FILE, "new.bin", 10, buf, 100, f->msg,
                                   sizeof f->msg), OFFLOAD_OK);
    size_t n;
    uint8_t *b = get_file(f, "NEW.BIN", &n);
    assert_int_equal(n, 110);
    assert_int_equal(b[10], 0xee);
    free(b);
}

static void file_to_disk_partial_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "d.vhdx", 5);
    put_file(f, "odd.bin", 1000, 4);
    uint8_t tok[TOKEN_SIZE], got[1024];
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "odd.bin", 0, 1000, tok, &covered), OFFLOAD_OK);
    /* a disk takes whole sectors: 512 of the 1000 bytes */
    assert_int_equal(owrite(f, tok, 0, 1000, TOKEN_RANGE_DISK, "d.vhdx", 0, &written), OFFLOAD_OK);
    assert_int_equal(written, 512);
    assert_string_equal(f->msg, "stopped after 512 of 1000 bytes: the rest does not fill whole sectors of d.vhdx");
    read_disk(f, "d.vhdx", 0, got, 1024);
    for (size_t i = 0; i < 512; i++)
        assert_int_equal(got[i], pat(i, 4));
    for (size_t i = 512; i < 1024; i++)
        assert_int_equal(got[i], pat(i, 5));
    /* from an unaligned place in the file: one whole sector */
    assert_int_equal(owrite(f, tok, 100, 900, TOKEN_RANGE_DISK, "d.vhdx", 1024, &written),
                     OFFLOAD_OK);
    assert_int_equal(written, 512);
    read_disk(f, "d.vhdx", 1024, got, 512);
    for (size_t i = 0; i < 512; i++)
        assert_int_equal(got[i], pat(100 + i, 4));
    /* nothing whole to write, or a destination off a sector boundary: refused */
    assert_int_equal(owrite(f, tok, 600, 400, TOKEN_RANGE_DISK, "d.vhdx", 0, &written),
                     OFFLOAD_E_INVALID);
    assert_int_equal(written, 0);
    assert_int_equal(owrite(f, tok, 0, 512, TOKEN_RANGE_DISK, "d.vhdx", 100, &written),
                     OFFLOAD_E_INVALID);
}

static void multi_range_read_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "x.bin", 4096, 1);
    put_file(f, "y.bin", 4096, 2);
    struct offload_src s[10];
    for (int i = 0; i < 10; i++)
        s[i] = (struct offload_src){ TOKEN_RANGE_FILE, i % 2 ? "y.bin" : "x.bin", 0, 100 };
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    /* ten ranges asked: the token holds eight */
    assert_int_equal(offload_read(&f->p, s, 10, 0, tok, &covered, f->msg, sizeof(f->msg)), OFFLOAD_OK);
    assert_int_equal(covered, 800);
    /* a range cut at the end of its file ends the token there */
    s[1].offset = 4000;
    assert_int_equal(offload_read(&f->p, s, 3, 0, tok, &covered, f->msg, sizeof(f->msg)), OFFLOAD_OK);
    assert_int_equal(covered, 196);
    assert_int_equal(owrite(f, tok, 0, UINT64_MAX, TOKEN_RANGE_FILE, "xy.bin", 0, &written), OFFLOAD_OK);
    size_t n;
    uint8_t *b = get_file(f, "xy.bin", &n);
    assert_int_equal(n, 196);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(b[i], pat(i, 1));
    for (size_t i = 0; i < 96; i++)
        assert_int_equal(b[100 + i], pat(4000 + i, 2));
    free(b);
}

static void write_before_use_revokes_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "s.bin", 8192, 1);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "s.bin", 1024, 2048, tok, &covered), OFFLOAD_OK);
    /* a write outside the range leaves the token valid */
    offload_note_write(&f->p, TOKEN_RANGE_FILE, "S.BIN", 4096, 10);
    offload_note_write(&f->p, TOKEN_RANGE_FILE, "other.bin", 0, UINT64_MAX);
    assert_int_equal(owrite(f, tok, 0, 10, TOKEN_RANGE_FILE, "t.bin", 0, &written), OFFLOAD_OK);
    /* one byte inside it revokes it */
    offload_note_write(&f->p, TOKEN_RANGE_FILE, "/s.bin", 3071, 1);
    assert_int_equal(owrite(f, tok, 0, 10, TOKEN_RANGE_FILE, "t.bin", 0, &written), OFFLOAD_E_REVOKED);
    assert_int_equal(written, 0);
    assert_string_equal(f->msg, "token no longer valid: its data changed since issue");
    assert_int_equal(f->p.stats.revoked, 1);
}

static void image_file_write_revokes_disk_token_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "i.vhdx", 1);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "i.vhdx", 0, MIB, tok, &covered), OFFLOAD_OK);
    offload_note_write(&f->p, TOKEN_RANGE_FILE, "i.vhdx", 0, 1);
    assert_int_equal(owrite(f, tok, 0, MIB, TOKEN_RANGE_FILE, "o.bin", 0, &written), OFFLOAD_E_REVOKED);
}

/* A writer that opened the disk itself and never called the hook still changes its
 * DataWriteGuid: the token is refused. */
static void unhooked_disk_write_detected_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "u.vhdx", 1);
    uint8_t tok[TOKEN_SIZE], b[512] = { 0 };
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "u.vhdx", 0, MIB, tok, &covered), OFFLOAD_OK);
    struct disk k;
    disk_open(f, "u.vhdx", false, &k);
    assert_int_equal(vhdx_write(k.d, 20 * MIB, b, sizeof(b), NULL), VHDX_OK);
    disk_close(&k);
    assert_int_equal(owrite(f, tok, 0, MIB, TOKEN_RANGE_FILE, "o.bin", 0, &written), OFFLOAD_E_REVOKED);
    assert_string_equal(f->msg, "token no longer valid: u.vhdx changed since issue");
}

struct racer { struct offload_fixture *f; int calls; };

/* After the first piece lands, someone writes the source's last MiB (hook, then write). */
static void write_source_midway(void *ctx, uint64_t done, uint64_t total)
{
    struct racer *r = ctx;
    (void)total;
    if (r->calls++ != 0)
        return;
    assert_int_equal(done, MIB);
    offload_note_write(&r->f->p, TOKEN_RANGE_FILE, "big.bin", 3 * MIB, MIB);
    struct fat_file ff;
    uint8_t *b = calloc(1, MIB);
    assert_int_equal(fat_open(&r->f->v, "big.bin", 0, &ff), FAT_OK);
    assert_int_equal(fat_write(&ff, 3 * MIB, b, MIB), (long)MIB);
    fat_close(&ff);
    free(b);
}

static void write_during_copy_never_mixes_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "big.bin", 4 * MIB, 6);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "big.bin", 0, 4 * MIB, tok, &covered), OFFLOAD_OK);
    struct racer r = { f, 0 };
    int rc = offload_write(&f->p, tok, TOKEN_SIZE, 0, 4 * MIB, TOKEN_RANGE_FILE, "copy.bin", 0,
                           write_source_midway, &r, &written, f->msg, sizeof(f->msg));
    assert_int_equal(rc, OFFLOAD_E_REVOKED);
    assert_int_equal(written, MIB); /* what was written is the data as at issue */
    size_t n;
    uint8_t *b = get_file(f, "copy.bin", &n);
    assert_int_equal(n, MIB);
    for (size_t i = 0; i < MIB; i++)
        if (b[i] != pat(i, 6))
            fail_msg("byte %zu differs", i);
    free(b);
    /* and the token stays refused */
    assert_int_equal(owrite(f, tok, 0, MIB, TOKEN_RANGE_FILE, "copy2.bin", 0, &written),
                     OFFLOAD_E_REVOKED);
}

static void refusals_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "r.bin", 4096, 1);
    uint8_t tok[TOKEN_SIZE], bad[TOKEN_SIZE];
    uint64_t covered, written;
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "missing.bin", 0, 1, tok, &covered), OFFLOAD_E_NOT_FOUND);
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "r.bin", 4096, 1, tok, &covered), OFFLOAD_E_INVALID);
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "r.bin", 1, 0, tok, &covered), OFFLOAD_E_INVALID);
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "r.bin", 10, UINT64_MAX, tok, &covered), OFFLOAD_E_INVALID);
    assert_int_equal(oread(f, 3, "r.bin", 0, 1, tok, &covered), OFFLOAD_E_INVALID);
    put_disk(f, "al.vhdx", 1);
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "al.vhdx", 100, 512, tok, &covered), OFFLOAD_E_INVALID);
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "r.bin", 0, 512, tok, &covered), OFFLOAD_E_INVALID);

    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "r.bin", 0, 4096, tok, &covered), OFFLOAD_OK);
    /* forged */
    memcpy(bad, tok, TOKEN_SIZE);
    bad[100] ^= 1;
    assert_int_equal(owrite(f, bad, 0, 1, TOKEN_RANGE_FILE, "o.bin", 0, &written), OFFLOAD_E_TOKEN);
    assert_string_equal(f->msg, "token authenticator does not match (forged or damaged)");
    /* truncated */
    assert_int_equal(offload_write(&f->p, tok, TOKEN_SIZE - 1, 0, 1, TOKEN_RANGE_FILE, "o.bin", 0,
                                   NULL, NULL, &written, f->msg, sizeof(f->msg)), OFFLOAD_E_TOKEN);
    /* another provider's */
    struct offload_provider other;
    struct offload_platform pf = f->p.pf;
    const uint8_t other_id[TOKEN_ISSUER_LEN] = { 0x99 };
    offload_init(&other, &pf, other_id);
    assert_int_equal(offload_write(&other, tok, TOKEN_SIZE, 0, 1, TOKEN_RANGE_FILE, "o.bin", 0,
                                   NULL, NULL, &written, f->msg, sizeof(f->msg)), OFFLOAD_E_TOKEN);
    assert_string_equal(f->msg, "token issued by another provider");
    /* same issuer id and secret, but the token is not live there (e.g. after a restart) */
    offload_init(&other, &pf, issuer);
    assert_int_equal(offload_write(&other, tok, TOKEN_SIZE, 0, 1, TOKEN_RANGE_FILE, "o.bin", 0,
                                   NULL, NULL, &written, f->msg, sizeof(f->msg)), OFFLOAD_E_REVOKED);
    /* past its end; onto itself */
    assert_int_equal(owrite(f, tok, 4096, 1, TOKEN_RANGE_FILE, "o.bin", 0, &written), OFFLOAD_E_INVALID);
    assert_int_equal(owrite(f, tok, 0, 10, TOKEN_RANGE_FILE, "R.bin", 4000, &written), OFFLOAD_E_INVALID);
    assert_string_equal(f->msg, "R.bin: the destination overlaps the token's data");
    /* the same file past the range is fine */
    assert_int_equal(owrite(f, tok, 0, 10, TOKEN_RANGE_FILE, "r.bin", 4096, &written), OFFLOAD_OK);
    /* a disk destination too small */
    assert_int_equal(owrite(f, tok, 0, 4096, TOKEN_RANGE_DISK, "al.vhdx", 32 * MIB - 512, &written),
                     OFFLOAD_E_INVALID);
    /* expired */
    f->sec.now += OFFLOAD_LIFETIME_MAX;
    assert_int_equal(owrite(f, tok, 0, 1, TOKEN_RANGE_FILE, "o.bin", 0, &written), OFFLOAD_E_TOKEN);
    assert_string_equal(f->msg, "token expired");
    assert_int_equal(offload_live_count(&f->p), 0);
}

static void live_table_full_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "l.bin", 100, 1);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered;
    struct offload_src s = { TOKEN_RANGE_FILE, "l.bin", 0, 100 };
    for (uint32_t i = 0; i < OFFLOAD_LIVE_MAX; i++)
        assert_int_equal(offload_read(&f->p, &s, 1, 500, tok, &covered, f->msg, sizeof(f->msg)),
                         OFFLOAD_OK);
    assert_int_equal(offload_read(&f->p, &s, 1, 500, tok, &covered, f->msg, sizeof(f->msg)),
                     OFFLOAD_E_BUSY);
    f->sec.now += 500; /* all expire */
    assert_int_equal(offload_read(&f->p, &s, 1, 500, tok, &covered, f->msg, sizeof(f->msg)),
                     OFFLOAD_OK);
    assert_int_equal(offload_live_count(&f->p), 1);
}

/* ---- the pool's write observers (hv/storage/pool_write_observer.h) ------------------- */

static bool usable(struct offload_fixture *f, const uint8_t *tok)
{
    uint64_t written;
    return owrite(f, tok, 0, 512, TOKEN_RANGE_FILE, "probe.bin", 0, &written) == OFFLOAD_OK;
}

/* Replacing, truncating or removing a file through FAT32 revokes its tokens. */
static void observer_fat_replace_revokes_test(void **state)
{
    struct offload_fixture *f = *state;
    assert_int_equal(offload_pool_observe(&f->p), 0);
    put_file(f, "t.bin", 8192, 1);
    put_file(f, "r.bin", 8192, 2);
    put_file(f, "u.bin", 8192, 3);
    uint8_t t1[TOKEN_SIZE], t2[TOKEN_SIZE], t3[TOKEN_SIZE];
    uint64_t covered;
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "t.bin", 0, 4096, t1, &covered), OFFLOAD_OK);
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "r.bin", 0, 4096, t2, &covered), OFFLOAD_OK);
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "u.bin", 0, 4096, t3, &covered), OFFLOAD_OK);
    struct fat_file ff;
    assert_int_equal(fat_open(&f->v, "t.bin", 0, &ff), FAT_OK); /* opened, not changed */
    fat_close(&ff);
    assert_true(usable(f, t1));
    assert_int_equal(fat_open(&f->v, "/T.BIN", FAT_O_TRUNC, &ff), FAT_OK);
    fat_close(&ff);
    assert_false(usable(f, t1));
    assert_true(usable(f, t2));
    assert_int_equal(fat_rename(&f->v, "r.bin", "moved.bin"), FAT_OK); /* r.bin is gone */
    assert_false(usable(f, t2));
    assert_true(usable(f, t3));
    assert_int_equal(fat_unlink(&f->v, "u.bin"), FAT_OK);
    assert_false(usable(f, t3));
    assert_int_equal(f->p.stats.revoked, 3);
}

/* A guest write or trim of an attached disk, as the partitions' disk path notes it:
 * only tokens over the range it touches go, and a plain-file token on the image too. */
static void observer_guest_disk_write_revokes_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "g.vhdx", 1);
    assert_int_equal(offload_pool_observe(&f->p), 0);
    uint8_t lo[TOKEN_SIZE], hi[TOKEN_SIZE], raw[TOKEN_SIZE];
    uint64_t covered;
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "g.vhdx", 0, MIB, lo, &covered), OFFLOAD_OK);
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "g.vhdx", 3 * MIB, MIB, hi, &covered), OFFLOAD_OK);
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "g.vhdx", 0, 4096, raw, &covered), OFFLOAD_OK);
    pool_write_note(POOL_WRITE_DISK, "G.VHDX", 3 * MIB + 512, 4096);
    assert_true(usable(f, lo));
    assert_false(usable(f, hi));
    assert_false(usable(f, raw)); /* the image's bytes change with its contents */
    pool_write_note(POOL_WRITE_DISK, "other.vhdx", 0, MIB);
    assert_true(usable(f, lo));
    pool_write_note(POOL_WRITE_DISK, "/g.vhdx", MIB - 512, 512);
    assert_false(usable(f, lo));
}

/* A guest write to the range after the first piece of an offload write: it stops there. */
static void guest_write_midway(void *ctx, uint64_t done, uint64_t total)
{
    struct racer *r = ctx;
    (void)total, (void)done;
    if (r->calls++ == 0)
        pool_write_note(POOL_WRITE_DISK, "m.vhdx", 3 * MIB, 4096);
}

static void observer_guest_write_during_copy_test(void **state)
{
    struct offload_fixture *f = *state;
    put_disk(f, "m.vhdx", 7);
    assert_int_equal(offload_pool_observe(&f->p), 0);
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered, written = 0;
    assert_int_equal(oread(f, TOKEN_RANGE_DISK, "m.vhdx", 0, 4 * MIB, tok, &covered), OFFLOAD_OK);
    struct racer r = { f, 0 };
    int rc = offload_write(&f->p, tok, TOKEN_SIZE, 0, 4 * MIB, TOKEN_RANGE_FILE, "mcopy.bin", 0,
                           guest_write_midway, &r, &written, f->msg, sizeof(f->msg));
    assert_int_equal(rc, OFFLOAD_E_REVOKED);
    assert_int_equal(written, MIB);
    assert_string_equal(f->msg, "token no longer valid: its data changed since issue");
}

/* A write noted while offload_read measures its ranges: no token is issued. */
static int (*inner_open)(void *, uint8_t, const char *, bool, struct offload_io *, char *, size_t);

static int open_then_write(void *ctx, uint8_t kind, const char *name, bool writable,
                           struct offload_io *io, char *msg, size_t msg_size)
{
    int rc = inner_open(ctx, kind, name, writable, io, msg, msg_size);
    pool_write_note(POOL_WRITE_FILE, name, 0, 1);
    return rc;
}

static void observer_write_during_issue_test(void **state)
{
    struct offload_fixture *f = *state;
    put_file(f, "i.bin", 8192, 1);
    assert_int_equal(offload_pool_observe(&f->p), 0);
    inner_open = f->p.pf.open;
    f->p.pf.open = open_then_write;
    uint8_t tok[TOKEN_SIZE];
    uint64_t covered = 1;
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "i.bin", 0, 4096, tok, &covered),
                     OFFLOAD_E_REVOKED);
    assert_int_equal(covered, 0);
    assert_string_equal(f->msg, "the data changed while the token was issued: ask again");
    assert_int_equal(offload_live_count(&f->p), 0);
    f->p.pf.open = inner_open;
    assert_int_equal(oread(f, TOKEN_RANGE_FILE, "i.bin", 0, 4096, tok, &covered), OFFLOAD_OK);
    assert_int_equal(offload_live_count(&f->p), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(file_copy_test),
        T(disk_copy_shares_absent_blocks_test),
        T(disk_copy_trims_zero_data_test),
        T(fetch_and_store_test),
        T(file_to_disk_partial_test),
        T(multi_range_read_test),
        T(write_before_use_revokes_test),
        T(image_file_write_revokes_disk_token_test),
        T(unhooked_disk_write_detected_test),
        T(write_during_copy_never_mixes_test),
        T(refusals_test),
        T(live_table_full_test),
        T(observer_fat_replace_revokes_test),
        T(observer_guest_disk_write_revokes_test),
        T(observer_guest_write_during_copy_test),
        T(observer_write_during_issue_test),
    };
    return cmocka_run_group_tests(tests, make_image, drop_image);
}
