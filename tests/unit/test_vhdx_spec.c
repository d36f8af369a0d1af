/*
 * The VHDX module against the rules of [MS-VHDX], on images crafted here byte by byte
 * (headers, region table, metadata items, BAT states, parent locator strings, log entries
 * written from the specification's layout, not by the module's own writer), and the order
 * in which the module writes a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/lib/crc32c.h"
#include "hv/storage/vhdx.h"
#include "hv/storage/vhdx_internal.h"
#include "tests/unit/test_vhdx_disk.h"
#include "tests/unit/test_vhdx_mem_io.h"

#define MIB (1024u * 1024u)
#define KIB 1024u

/* ---- reading and patching an image --------------------------------------------------- */

static void fix_crc(struct mem_disk *m, uint64_t off, uint32_t len)
{
    put_le32(m->data + off + 4, vhdx_checksum(m->data + off, len, 4));
}

static void fix_all_crcs(struct mem_disk *m)
{
    fix_crc(m, VHDX_HEADER1_OFF, VHDX_HEADER_SIZE);
    fix_crc(m, VHDX_HEADER2_OFF, VHDX_HEADER_SIZE);
    fix_crc(m, VHDX_REGION1_OFF, VHDX_REGION_SIZE);
    fix_crc(m, VHDX_REGION2_OFF, VHDX_REGION_SIZE);
}

/* A region's offset, from region table 1. */
static uint64_t region(struct mem_disk *m, const struct guid *g)
{
    const uint8_t *t = m->data + VHDX_REGION1_OFF;
    for (uint32_t i = 0; i < le32(t + 8); i++)
        if (!memcmp(t + 16 + 32 * i, g->b, 16))
            return le64(t + 16 + 32 * i + 16);
    fail_msg("no such region");
    return 0;
}

/* Adds an entry to both region tables. */
static void add_region(struct mem_disk *m, const struct guid *g, uint64_t off, uint32_t len,
                       uint32_t required)
{
    for (uint64_t t = VHDX_REGION1_OFF; t <= VHDX_REGION2_OFF; t += VHDX_REGION2_OFF - VHDX_REGION1_OFF) {
        uint8_t *p = m->data + t;
        uint32_t n = le32(p + 8);
        uint8_t *e = p + 16 + 32 * n;
        memcpy(e, g->b, 16);
        put_le64(e + 16, off);
        put_le32(e + 24, len);
        put_le32(e + 28, required);
        put_le32(p + 8, n + 1);
    }
    fix_all_crcs(m);
}

/* The metadata entry of item g (IsUser clear); its data at *data. */
static uint8_t *meta_entry(struct mem_disk *m, const struct guid *g, uint8_t **data)
{
    uint8_t *tbl = m->data + region(m, &vhdx_guid_metadata_region);
    for (unsigned i = 0; i < le16(tbl + 10); i++) {
        uint8_t *e = tbl + 32 + 32 * i;
        if (!memcmp(e, g->b, 16)) {
            if (data)
                *data = tbl + le32(e + 16);
            return e;
        }
    }
    fail_msg("no such metadata item");
    return NULL;
}

/* Adds an item (its data at 128 KiB + 4 KiB * its index into the region). */
static void add_meta(struct mem_disk *m, const struct guid *g, uint32_t flags, const void *data,
                     uint32_t len)
{
    uint8_t *tbl = m->data + region(m, &vhdx_guid_metadata_region);
    unsigned n = le16(tbl + 10);
    uint32_t off = 128 * KIB + 4 * KIB * n;
    uint8_t *e = tbl + 32 + 32 * n;
    memcpy(e, g->b, 16);
    put_le32(e + 16, len ? off : 0);
    put_le32(e + 20, len);
    put_le32(e + 24, flags);
    memcpy(tbl + off, data, len);
    put_le16(tbl + 10, (uint16_t)(n + 1));
}

static uint64_t bat_get(struct mem_disk *m, uint32_t i)
{
    return le64(m->data + region(m, &vhdx_guid_bat_region) + 8ull * i);
}

static void bat_put(struct mem_disk *m, uint32_t i, uint64_t e)
{
    put_le64(m->data + region(m, &vhdx_guid_bat_region) + 8ull * i, e);
}

static void headers_put_guid(struct mem_disk *m, unsigned off, const struct guid *g)
{
    memcpy(m->data + VHDX_HEADER1_OFF + off, g->b, 16);
    memcpy(m->data + VHDX_HEADER2_OFF + off, g->b, 16);
    fix_all_crcs(m);
}

/* Opens m expecting code (and, for an error, words in the message). */
static struct vhdx *expect_open(struct mem_disk *m, unsigned flags, int code, const char *words)
{
    struct vhdx_io io = mem_disk_io(m);
    struct vhdx *d = NULL;
    struct vhdx_err err = { 0 };
    int rc = vhdx_open(&mem_env, &io, "t.vhdx", flags, &d, &err);
    if (rc != code)
        fail_msg("open: got %d (%s), want %d", rc, rc ? err.msg : "ok", code);
    if (code && !strstr(err.msg, words))
        fail_msg("expected \"%s\" in: %s", words, err.msg);
    return d;
}

static void expect_refused(struct mem_disk *m, int code, const char *words)
{
    expect_open(m, VHDX_OPEN_READ_ONLY, code, words);
}

static struct vhdx *expect_opens(struct mem_disk *m, unsigned flags)
{
    return expect_open(m, flags, VHDX_OK, "");
}

static const struct guid other_guid = { .b = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                               0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01 } };

/* A 16 MiB dynamic disk with 1 MiB blocks whose first MiB is 0x5a. */
static void base_image(struct mem_disk *m)
{
    make_disk(m, 16 * MIB, MIB, 512);
    struct vhdx *d = open_disk(m, "t.vhdx", 0);
    uint8_t *buf = malloc(MIB);
    memset(buf, 0x5a, MIB);
    assert_int_equal(vhdx_write(d, 0, buf, MIB, NULL), VHDX_OK);
    vhdx_close(d, NULL);
    free(buf);
}

/* ---- headers ------------------------------------------------------------------------- */

static void test_header_choice(void **state)
{
    struct mem_disk m, c;
    base_image(&m);
    /* The header with the higher sequence number is current, whichever copy it is. */
    mem_disk_copy(&c, &m);
    uint64_t s1 = le64(c.data + VHDX_HEADER1_OFF + VHDX_H_SEQ);
    put_le64(c.data + VHDX_HEADER1_OFF + VHDX_H_SEQ, s1 + 100);
    memcpy(c.data + VHDX_HEADER1_OFF + VHDX_H_DATA_GUID, other_guid.b, 16);
    fix_all_crcs(&c);
    struct vhdx *d = expect_opens(&c, VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_true(guid_eq(&info.data_write_guid, &other_guid));
    vhdx_close(d, NULL);
    /* Equal sequence numbers: accepted when the headers are the same (Disk2VHD writes such
     * files), refused when they differ (no header is current). */
    memcpy(c.data + VHDX_HEADER2_OFF, c.data + VHDX_HEADER1_OFF, VHDX_HEADER_SIZE);
    vhdx_close(expect_opens(&c, VHDX_OPEN_READ_ONLY), NULL);
    memcpy(c.data + VHDX_HEADER2_OFF + VHDX_H_FILE_GUID, other_guid.b, 16);
    fix_all_crcs(&c);
    expect_refused(&c, VHDX_E_CORRUPT, "both headers have sequence number");
    mem_disk_free(&c);
    /* Version 1 and log version 0 only. */
    mem_disk_copy(&c, &m);
    put_le16(c.data + VHDX_HEADER1_OFF + VHDX_H_VERSION, 2);
    put_le16(c.data + VHDX_HEADER2_OFF + VHDX_H_VERSION, 2);
    fix_all_crcs(&c);
    expect_refused(&c, VHDX_E_UNSUPPORTED, "header version 2");
    mem_disk_free(&c);
    mem_disk_copy(&c, &m);
    put_le16(c.data + VHDX_HEADER1_OFF + VHDX_H_LOG_VER, 1);
    put_le16(c.data + VHDX_HEADER2_OFF + VHDX_H_LOG_VER, 1);
    fix_all_crcs(&c);
    expect_refused(&c, VHDX_E_UNSUPPORTED, "log version 1");
    mem_disk_free(&c);
    mem_disk_free(&m);
}

/* ---- region table ------------------------------------------------------------------------ */

static void test_region_table(void **state)
{
    struct mem_disk m, c;
    base_image(&m);
    /* An unknown optional region is ignored, an unknown required one refused. */
    mem_disk_copy(&c, &m);
    add_region(&c, &other_guid, 8 * MIB, MIB, 0);
    vhdx_close(expect_opens(&c, 0), NULL);
    mem_disk_free(&c);
    mem_disk_copy(&c, &m);
    add_region(&c, &other_guid, 8 * MIB, MIB, 1);
    expect_refused(&c, VHDX_E_UNSUPPORTED, "unknown required region {44332211-6655-8877-99aa-bbccddeeff01}");
    mem_disk_free(&c);
    /* Each region once. */
    mem_disk_copy(&c, &m);
    add_region(&c, &vhdx_guid_bat_region, 8 * MIB, MIB, 1);
    expect_refused(&c, VHDX_E_CORRUPT, "lists the BAT region twice");
    mem_disk_free(&c);
    mem_disk_free(&m);
}

/* ---- metadata -------------------------------------------------------------------------- */

static void patch_u32(struct mem_disk *m, const struct guid *item, uint32_t v)
{
    uint8_t *data;
    meta_entry(m, item, &data);
    put_le32(data, v);
}

static void test_metadata_items(void **state)
{
    struct mem_disk m, c;
    base_image(&m);
    static const uint8_t blob[16] = { 1, 2, 3 };
    /* Unknown optional items (system or user) are ignored; an unknown required one refused. */
    mem_disk_copy(&c, &m);
    add_meta(&c, &other_guid, 0, blob, sizeof(blob));
    add_meta(&c, &other_guid, VHDX_META_IS_USER, blob, sizeof(blob));
    add_meta(&c, &vhdx_guid_disk_size, VHDX_META_IS_USER, blob, 8); /* a user item, not ours */
    vhdx_close(expect_opens(&c, 0), NULL);
    mem_disk_free(&c);
    mem_disk_copy(&c, &m);
    add_meta(&c, &other_guid, VHDX_META_IS_REQUIRED, blob, sizeof(blob));
    expect_refused(&c, VHDX_E_UNSUPPORTED, "unknown required metadata item");
    mem_disk_free(&c);
    /* A known item twice, or missing. */
    mem_disk_copy(&c, &m);
    add_meta(&c, &vhdx_guid_logical_sector, VHDX_META_IS_REQUIRED | VHDX_META_IS_VDISK, blob, 4);
    expect_refused(&c, VHDX_E_CORRUPT, "appears twice");
    mem_disk_free(&c);
    mem_disk_copy(&c, &m);
    uint8_t *pe = meta_entry(&c, &vhdx_guid_physical_sector, NULL);
    pe[0] ^= 1;                   /* now an unknown, optional item */
    put_le32(pe + 24, 0);
    expect_refused(&c, VHDX_E_CORRUPT, "a required metadata item is missing");
    mem_disk_free(&c);
    /* Values: sector sizes 512 or 4096, block size a power of two 1-256 MiB, disk size a
     * multiple of the logical sector up to 64 TiB (zero included: an empty disk). */
    static const struct {
        const struct guid *item;
        uint32_t value;
        int code;
        const char *words;
    } cases[] = {
        { &vhdx_guid_logical_sector, 1024, VHDX_E_CORRUPT, "logical sector size 1024" },
        { &vhdx_guid_physical_sector, 2048, VHDX_E_CORRUPT, "physical sector size 2048" },
        { &vhdx_guid_physical_sector, 512, VHDX_OK, "" },
        { &vhdx_guid_file_parameters, 3 * MIB, VHDX_E_CORRUPT, "block size 3145728" },
        { &vhdx_guid_file_parameters, MIB / 2, VHDX_E_CORRUPT, "not a power of two from 1 MiB" },
        { &vhdx_guid_file_parameters, 512 * MIB, VHDX_E_CORRUPT, "block size 536870912" },
        { &vhdx_guid_file_parameters, 256 * MIB, VHDX_OK, "" },
        { &vhdx_guid_disk_size, 16 * MIB + 100, VHDX_E_CORRUPT, "virtual disk size 16777316" },
        { &vhdx_guid_disk_size, 0, VHDX_OK, "" },
    };
    struct mem_disk empty;      /* no block present: a 256 MiB block fits any file */
    make_disk(&empty, 16 * MIB, MIB, 512);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mem_disk_copy(&c, &empty);
        patch_u32(&c, cases[i].item, cases[i].value);
        struct vhdx *d = expect_open(&c, VHDX_OPEN_READ_ONLY, cases[i].code, cases[i].words);
        vhdx_close(d, NULL);
        mem_disk_free(&c);
    }
    mem_disk_free(&empty);
    /* Over 64 TiB. */
    mem_disk_copy(&c, &m);
    uint8_t *size;
    meta_entry(&c, &vhdx_guid_disk_size, &size);
    put_le64(size, (64ull << 40) + 512);
    expect_refused(&c, VHDX_E_CORRUPT, "virtual disk size");
    mem_disk_free(&c);
    mem_disk_free(&m);
}

static void test_empty_disk(void **state)
{
    struct mem_disk m;
    base_image(&m);
    uint8_t *size;
    meta_entry(&m, &vhdx_guid_disk_size, &size);
    put_le64(size, 0);
    bat_put(&m, 0, 0);
    struct vhdx *d = expect_opens(&m, 0);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.disk_size, 0);
    assert_int_equal(info.payload_blocks, 0);
    uint8_t buf[512];
    assert_int_equal(vhdx_read(d, 0, buf, 0, NULL), VHDX_OK);
    assert_int_equal(vhdx_read(d, 0, buf, 512, NULL), VHDX_E_INVALID);
    check_clean(d);
    vhdx_close(d, NULL);
    mem_disk_free(&m);
}

static void test_bat_too_large_is_unsupported(void **state)
{
    struct mem_disk m;
    base_image(&m);
    uint8_t *size;
    meta_entry(&m, &vhdx_guid_disk_size, &size);
    put_le64(size, 64ull << 40); /* 64 TiB in 1 MiB blocks: a 512 MiB BAT */
    expect_refused(&m, VHDX_E_UNSUPPORTED, "larger than the 256 MiB");
    mem_disk_free(&m);
}

/* ---- BAT states ------------------------------------------------------------------------ */

static void test_bat_states(void **state)
{
    struct mem_disk m, c;
    base_image(&m);
    uint64_t present = bat_get(&m, 0);
    assert_int_equal(VHDX_BAT_STATE(present), VHDX_PB_FULLY_PRESENT);
    /* Blocks that are not present read as zeros in a disk without parent, whichever state
     * (and whatever their reserved FileOffsetMB holds); 5 is the 0.95 draft's UNMAPPED. */
    static const unsigned absent[] = { VHDX_PB_NOT_PRESENT, VHDX_PB_UNDEFINED, VHDX_PB_ZERO,
                                       VHDX_PB_UNMAPPED, VHDX_PB_UNMAPPED_V095 };
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        mem_disk_copy(&c, &m);
        bat_put(&c, 0, VHDX_BAT_OFFSET(present) | absent[i]);
        struct vhdx *d = expect_opens(&c, VHDX_OPEN_READ_ONLY);
        uint8_t buf[4096];
        assert_int_equal(vhdx_read(d, 0, buf, sizeof(buf), NULL), VHDX_OK);
        for (size_t k = 0; k < sizeof(buf); k++)
            assert_int_equal(buf[k], 0);
        vhdx_close(d, NULL);
        mem_disk_free(&c);
    }
    /* PARTIALLY_PRESENT only in a differencing disk; 4 is reserved. */
    mem_disk_copy(&c, &m);
    bat_put(&c, 0, VHDX_BAT_OFFSET(present) | VHDX_PB_PARTIALLY_PRESENT);
    expect_refused(&c, VHDX_E_CORRUPT, "BAT entry 0 has invalid state 7");
    bat_put(&c, 0, VHDX_BAT_OFFSET(present) | 4);
    expect_refused(&c, VHDX_E_CORRUPT, "BAT entry 0 has invalid state 4");
    mem_disk_free(&c);
    /* A sector bitmap block in a disk without parent (one of more than a chunk, 4 GiB). */
    make_disk(&c, 4096ull * MIB + MIB, MIB, 512);
    struct vhdx *d = expect_opens(&c, VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    vhdx_close(d, NULL);
    assert_int_equal(info.chunk_ratio, 4096);
    bat_put(&c, info.chunk_ratio, VHDX_SB_PRESENT);
    expect_refused(&c, VHDX_E_CORRUPT, "BAT entry 4096: sector bitmap in a disk without parent");
    mem_disk_free(&c);
    /* A block on the BAT, the metadata region or the log. */
    const uint64_t on[] = { region(&m, &vhdx_guid_bat_region), region(&m, &vhdx_guid_metadata_region),
                            VHDX_MIB /* the log */ };
    for (int i = 0; i < 3; i++) {
        mem_disk_copy(&c, &m);
        bat_put(&c, 1, on[i] | VHDX_PB_FULLY_PRESENT);
        expect_refused(&c, VHDX_E_CORRUPT, "on the log, the BAT or the metadata region");
        mem_disk_free(&c);
    }
    mem_disk_free(&m);
}

static void test_leave_block_allocated(void **state)
{
    /* LeaveBlockAllocated: a trimmed block keeps its space (and reads zero) ... */
    struct mem_disk m, pm, cm;
    base_image(&m);
    uint8_t *fp;
    meta_entry(&m, &vhdx_guid_file_parameters, &fp);
    put_le32(fp + 4, VHDX_FP_LEAVE_ALLOCATED);
    struct vhdx *d = expect_opens(&m, 0);
    assert_int_equal(vhdx_trim(d, 0, MIB, NULL), VHDX_OK);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.blocks_present, 1);
    assert_int_equal(info.blocks_zero, 0);
    vhdx_close(d, NULL);
    mem_disk_free(&m);
    /* ... but is ignored in a differencing disk. */
    base_image(&pm);
    make_child(&pm, "p.vhdx", &cm, MIB);
    struct vhdx *c = open_disk(&cm, "c.vhdx", 0);
    uint8_t buf[MIB / 4];
    memset(buf, 1, sizeof(buf));
    assert_int_equal(vhdx_write(c, 2 * MIB, buf, sizeof(buf), NULL), VHDX_OK);
    vhdx_close(c, NULL);
    meta_entry(&cm, &vhdx_guid_file_parameters, &fp);
    put_le32(fp + 4, VHDX_FP_HAS_PARENT | VHDX_FP_LEAVE_ALLOCATED);
    c = open_disk(&cm, "c.vhdx", 0);
    assert_int_equal(vhdx_trim(c, 2 * MIB, MIB, NULL), VHDX_OK);
    vhdx_get_info(c, &info);
    assert_int_equal(info.blocks_zero, 1);
    assert_int_equal(info.blocks_present, 0);
    vhdx_close(c, NULL);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

/* ---- the parent locator ------------------------------------------------------------------ */

/* Rewrites cm's locator item with these key/value pairs (values as UTF-16 code units). */
struct kv {
    const char *key;
    const uint16_t *val; /* NUL-terminated */
};

static void put_locator(struct mem_disk *cm, const struct kv *kv, unsigned n)
{
    uint8_t *loc;
    uint8_t *e = meta_entry(cm, &vhdx_guid_parent_locator, &loc);
    memset(loc, 0, 8 * KIB);
    memcpy(loc, vhdx_guid_locator_type_vhdx.b, 16);
    put_le16(loc + 18, (uint16_t)n);
    uint32_t pos = 20 + 12 * n;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ent = loc + 20 + 12 * i;
        uint32_t kl = 0, vl = 0;
        put_le32(ent, pos);
        for (; kv[i].key[kl]; kl++)
            put_le16(loc + pos + 2 * kl, (uint8_t)kv[i].key[kl]);
        pos += 2 * kl;
        put_le32(ent + 4, pos);
        for (; kv[i].val[vl]; vl++)
            put_le16(loc + pos + 2 * vl, kv[i].val[vl]);
        pos += 2 * vl;
        put_le16(ent + 8, (uint16_t)(2 * kl));
        put_le16(ent + 10, (uint16_t)(2 * vl));
    }
    put_le32(e + 20, pos);
}

static void utf16_of(uint16_t *out, const char *ascii)
{
    size_t i = 0;
    for (; ascii[i]; i++)
        out[i] = (uint8_t)ascii[i];
    out[i] = 0;
}

static void test_parent_locator(void **state)
{
    struct mem_disk pm, cm, c;
    base_image(&pm);
    make_child(&pm, "p.vhdx", &cm, MIB);
    struct vhdx *p = open_disk(&pm, "p.vhdx", VHDX_OPEN_READ_ONLY);
    struct vhdx_info pi;
    vhdx_get_info(p, &pi);
    vhdx_close(p, NULL);
    char link[GUID_STR_LEN + 1];
    guid_format(&pi.data_write_guid, link);
    for (char *s = link; *s; s++) /* Hyper-V writes the GUID in capitals */
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 'a' + 'A');
    uint16_t wlink[64], wvol[128], wrel[64], wbad[8];
    utf16_of(wlink, link);
    /* Only volume_path (the pool takes its part after the volume): the parent is found. */
    static const char vol[] = "\\\\?\\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\\p.vhdx";
    utf16_of(wvol, vol);
    mem_env_register_parent(vol, &pm);
    mem_disk_copy(&c, &cm);
    struct kv only_vol[] = { { "parent_linkage", wlink }, { "volume_path", wvol } };
    put_locator(&c, only_vol, 2);
    struct vhdx *d = expect_opens(&c, VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_string_equal(info.parent_volume_path, vol);
    assert_string_equal(info.parent_name, vol);
    vhdx_close(d, NULL);
    /* Non-ASCII paths come out as UTF-8: "dîr/b€se.vhdx" with U+1F600 in it. */
    static const uint16_t rel[] = { 'd', 0xee, 'r', '\\', 'b', 0x20ac, 's', 'e', 0xd83d, 0xde00,
                                    '.', 'v', 'h', 'd', 'x', 0 };
    memcpy(wrel, rel, sizeof(rel));
    struct kv with_rel[] = { { "parent_linkage", wlink }, { "relative_path", wrel },
                             { "some_future_key", wlink } };
    put_locator(&c, with_rel, 3);
    d = expect_opens(&c, VHDX_OPEN_READ_ONLY | VHDX_OPEN_NO_PARENT);
    vhdx_get_info(d, &info);
    assert_string_equal(info.parent_relative_path, "d\xc3\xaer\\b\xe2\x82\xacse\xf0\x9f\x98\x80.vhdx");
    vhdx_close(d, NULL);
    /* A lone surrogate, a key twice, no linkage, no path. */
    static const uint16_t lone[] = { 'a', 0xd800, 'b', 0 };
    memcpy(wbad, lone, sizeof(lone));
    struct kv bad_utf16[] = { { "parent_linkage", wlink }, { "relative_path", wbad } };
    put_locator(&c, bad_utf16, 2);
    expect_refused(&c, VHDX_E_CORRUPT, "relative_path is not valid UTF-16");
    static const uint16_t esc[] = { 'a', 0x1b, '[', '2', 'J', 0 }; /* a terminal escape */
    memcpy(wbad, esc, sizeof(esc));
    put_locator(&c, bad_utf16, 2);
    expect_refused(&c, VHDX_E_CORRUPT, "holds a control character");
    struct kv twice[] = { { "parent_linkage", wlink }, { "relative_path", wrel },
                          { "parent_linkage", wlink } };
    put_locator(&c, twice, 3);
    expect_refused(&c, VHDX_E_CORRUPT, "parent_linkage twice");
    struct kv no_link[] = { { "relative_path", wrel } };
    put_locator(&c, no_link, 1);
    expect_refused(&c, VHDX_E_CORRUPT, "lacks parent_linkage");
    struct kv no_path[] = { { "parent_linkage", wlink } };
    put_locator(&c, no_path, 1);
    expect_refused(&c, VHDX_E_CORRUPT, "names no path");
    /* Longer than the module keeps: refused as unsupported, never cut short. */
    uint16_t *lng = calloc(600, 2);
    for (int i = 0; i < 599; i++)
        lng[i] = 'a';
    struct kv too_long[] = { { "parent_linkage", wlink }, { "absolute_win32_path", lng } };
    put_locator(&c, too_long, 2);
    expect_refused(&c, VHDX_E_UNSUPPORTED, "absolute_win32_path is longer than 255 bytes");
    free(lng);
    mem_disk_free(&c);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

static void test_create_utf8_locator(void **state)
{
    struct mem_disk pm, cm;
    base_image(&pm);
    static const char name[] = "g\xc3\xb6ld/b\xe2\x82\xac" "se.vhdx";
    struct vhdx *p = open_disk(&pm, name, VHDX_OPEN_READ_ONLY);
    struct vhdx_create_params cp = { .parent = p, .parent_relative_path = name };
    create_disk(&cm, &cp, "child");
    struct vhdx_create_params bad = { .parent = p, .parent_relative_path = "\xc3(" };
    struct mem_disk bm;
    mem_disk_init(&bm);
    struct vhdx_io bio = mem_disk_io(&bm);
    struct vhdx_err err;
    assert_int_equal(vhdx_create(&mem_env, &bio, &bad, &err), VHDX_E_INVALID);
    assert_non_null(strstr(err.msg, "UTF-8"));
    mem_disk_free(&bm);
    vhdx_close(p, NULL);
    /* The locator holds UTF-16: o-umlaut is one code unit, the euro sign too. */
    uint8_t *loc;
    meta_entry(&cm, &vhdx_guid_parent_locator, &loc);
    bool found = false;
    for (unsigned i = 0; i < le16(loc + 18); i++) {
        const uint8_t *e = loc + 20 + 12 * i;
        if (le16(e + 10) == 2 * 14 && le16(loc + le32(e + 4) + 2) == 0xf6 &&
            le16(loc + le32(e + 4) + 12) == 0x20ac)
            found = true;
    }
    assert_true(found);
    mem_env_register_parent(name, &pm);
    struct vhdx *c = open_disk(&cm, "c.vhdx", VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(c, &info);
    assert_string_equal(info.parent_relative_path, name);
    vhdx_close(c, NULL);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

static bool has_meta(struct mem_disk *m, const struct guid *g)
{
    uint8_t *tbl = m->data + region(m, &vhdx_guid_metadata_region);
    for (unsigned i = 0; i < le16(tbl + 10); i++)
        if (!memcmp(tbl + 32 + 32 * i, g->b, 16))
            return true;
    return false;
}

static void test_child_carries_virtual_disk_metadata(void **state)
{
    /* A parent's user item marked IsVirtualDisk belongs to the virtual disk: a child made
     * from it carries it; an item about the file does not. */
    struct mem_disk pm, cm;
    base_image(&pm);
    static const uint8_t about_disk[24] = { 'd', 'i', 's', 'k' }, about_file[8] = { 'f' };
    struct guid file_item = other_guid;
    file_item.b[0] ^= 0xff;
    add_meta(&pm, &other_guid, VHDX_META_IS_USER | VHDX_META_IS_VDISK, about_disk,
             sizeof(about_disk));
    add_meta(&pm, &file_item, VHDX_META_IS_USER, about_file, sizeof(about_file));
    make_child(&pm, "p.vhdx", &cm, MIB);
    assert_true(has_meta(&cm, &other_guid));
    assert_false(has_meta(&cm, &file_item));
    uint8_t *data;
    uint8_t *e = meta_entry(&cm, &other_guid, &data);
    assert_int_equal(le32(e + 24), VHDX_META_IS_USER | VHDX_META_IS_VDISK);
    assert_memory_equal(data, about_disk, sizeof(about_disk));
    struct vhdx *c = open_disk(&cm, "c.vhdx", VHDX_OPEN_READ_ONLY);
    check_clean(c);
    vhdx_close(c, NULL);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

static bool locator_has(struct mem_disk *cm, const char *key)
{
    uint8_t *loc;
    meta_entry(cm, &vhdx_guid_parent_locator, &loc);
    for (unsigned i = 0; i < le16(loc + 18); i++) {
        const uint8_t *e = loc + 20 + 12 * i;
        if (vhdx_utf16_is(loc + le32(e), le16(e + 8), key))
            return true;
    }
    return false;
}

static void test_merge_keeps_foreign_metadata(void **state)
{
    /* A child with a user metadata item and a locator key this module does not know (as
     * another tool may write): the merge adds parent_linkage2 and keeps both. */
    struct mem_disk pm, cm;
    base_image(&pm);
    make_child(&pm, "p.vhdx", &cm, MIB);
    struct vhdx *c = open_disk(&cm, "c.vhdx", 0);
    uint8_t w[8192];
    memset(w, 0x3c, sizeof(w));
    assert_int_equal(vhdx_write(c, 3 * MIB, w, sizeof(w), NULL), VHDX_OK);
    struct vhdx_info ci;
    vhdx_get_info(c, &ci);
    vhdx_close(c, NULL);
    char link[GUID_STR_LEN + 1];
    guid_format(&ci.parent_linkage, link);
    uint16_t wlink[64], wrel[16], wfut[16];
    utf16_of(wlink, link);
    utf16_of(wrel, "p.vhdx");
    utf16_of(wfut, "kept");
    struct kv kv[] = { { "parent_linkage", wlink }, { "future_key", wfut },
                       { "relative_path", wrel } };
    put_locator(&cm, kv, 3);
    static const uint8_t user[32] = { 0xde, 0xad, 0xbe, 0xef };
    add_meta(&cm, &other_guid, VHDX_META_IS_USER | VHDX_META_IS_VDISK, user, sizeof(user));
    /* The user item right after the locator: the longer locator must move past it. */
    uint8_t *le = meta_entry(&cm, &vhdx_guid_parent_locator, NULL), *ue, *data;
    uint32_t after = le32(le + 16) + le32(le + 20);
    ue = meta_entry(&cm, &other_guid, &data);
    uint8_t *tbl = cm.data + region(&cm, &vhdx_guid_metadata_region);
    memmove(tbl + after, data, sizeof(user));
    put_le32(ue + 16, after);
    c = open_disk(&cm, "c.vhdx", VHDX_OPEN_PARENT_RW);
    assert_int_equal(vhdx_merge_into_parent(c, NULL, NULL, NULL), VHDX_OK);
    vhdx_close(c, NULL);
    assert_true(locator_has(&cm, "parent_linkage2"));
    assert_true(locator_has(&cm, "future_key"));
    assert_true(locator_has(&cm, "relative_path"));
    assert_true(le32(meta_entry(&cm, &vhdx_guid_parent_locator, NULL) + 16) >= after + 32);
    meta_entry(&cm, &other_guid, &data);
    assert_memory_equal(data, user, sizeof(user));
    c = open_disk(&cm, "c.vhdx", VHDX_OPEN_READ_ONLY);
    uint8_t r[8192];
    assert_int_equal(vhdx_read(c, 3 * MIB, r, sizeof(r), NULL), VHDX_OK);
    assert_memory_equal(r, w, sizeof(r));
    vhdx_close(c, NULL);
    struct vhdx *p = open_disk(&pm, "p.vhdx", VHDX_OPEN_READ_ONLY);
    assert_int_equal(vhdx_read(p, 3 * MIB, r, sizeof(r), NULL), VHDX_OK);
    assert_memory_equal(r, w, sizeof(r));
    vhdx_close(p, NULL);
    mem_disk_free(&pm), mem_disk_free(&cm);
    mem_env_clear_parents();
}

/* ---- the log, written here from the specification's layout ------------------------------ */

struct desc {
    bool zero;
    uint64_t off, zero_len;
    const uint8_t *data; /* 4096 bytes */
};

/* One log entry at pos of the log (a whole number of 4 KiB sectors, no wrap). */
static uint32_t put_entry(struct mem_disk *m, uint32_t pos, uint64_t seq, uint32_t tail,
                          const struct guid *g, uint64_t flushed, uint64_t last,
                          const struct desc *ds, unsigned n)
{
    uint64_t log = le64(m->data + VHDX_HEADER1_OFF + VHDX_H_LOG_OFF);
    unsigned ndata = 0;
    for (unsigned i = 0; i < n; i++)
        ndata += !ds[i].zero;
    uint32_t dsec = (64 + 32 * n + 4095) / 4096, len = (dsec + ndata) * 4096;
    uint8_t *e = calloc(1, len);
    memcpy(e, "loge", 4);
    put_le32(e + 8, len);
    put_le32(e + 12, tail);
    put_le64(e + 16, seq);
    put_le32(e + 24, n);
    memcpy(e + 32, g->b, 16);
    put_le64(e + 48, flushed);
    put_le64(e + 56, last);
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *de = e + 64 + 32 * i;
        if (ds[i].zero) {
            memcpy(de, "zero", 4);
            put_le64(de + 8, ds[i].zero_len);
        } else {
            uint8_t *s = e + 4096 * (dsec + k++);
            memcpy(de, "desc", 4);
            memcpy(de + 4, ds[i].data + 4092, 4);
            memcpy(de + 8, ds[i].data, 8);
            memcpy(s, "data", 4);
            put_le32(s + 4, (uint32_t)(seq >> 32));
            memcpy(s + 8, ds[i].data + 8, 4084);
            put_le32(s + 4092, (uint32_t)seq);
        }
        put_le64(de + 16, ds[i].off);
        put_le64(de + 24, seq);
    }
    put_le32(e + 4, crc32c(0, e, len));
    memcpy(m->data + log + pos, e, len);
    free(e);
    headers_put_guid(m, VHDX_H_LOG_GUID, g);
    return len;
}

static const struct guid log_guid = { .b = { 0x4c, 0x4f, 0x47, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                             11, 12, 13 } };

static void test_log_two_entries_and_zero_descriptor(void **state)
{
    struct mem_disk m, c;
    base_image(&m);
    uint64_t bat = region(&m, &vhdx_guid_bat_region), size = m.size;
    /* Entry 1 zeroes the BAT's first sector (block 0 becomes NOT_PRESENT), entry 2 puts
     * block 1 on block 0's old data: after replay block 1 reads 0x5a, block 0 zeros. */
    uint8_t sector[4096] = { 0 };
    put_le64(sector + 8, bat_get(&m, 0));
    struct desc d1 = { .zero = true, .off = bat, .zero_len = 4096 };
    struct desc d2 = { .off = bat, .data = sector };
    mem_disk_copy(&c, &m);
    uint32_t len1 = put_entry(&c, 0, 7, 0, &log_guid, size, size, &d1, 1);
    put_entry(&c, len1, 8, 0, &log_guid, size, size, &d2, 1);
    /* A stale entry of another log with a higher sequence number is ignored. */
    uint8_t other[4096];
    memset(other, 0xee, sizeof(other));
    struct desc d3 = { .off = bat, .data = other };
    put_entry(&c, 64 * KIB, 99, 64 * KIB, &other_guid, size, size, &d3, 1);
    headers_put_guid(&c, VHDX_H_LOG_GUID, &log_guid);
    /* Read-only: replayed in memory, the file untouched. */
    uint8_t *before = malloc(c.size);
    memcpy(before, c.data, c.size);
    struct vhdx *d = expect_opens(&c, VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.log_entries_replayed, 2);
    uint8_t buf[512];
    assert_int_equal(vhdx_read(d, MIB, buf, sizeof(buf), NULL), VHDX_OK);
    assert_int_equal(buf[0], 0x5a);
    assert_int_equal(vhdx_read(d, 0, buf, sizeof(buf), NULL), VHDX_OK);
    assert_int_equal(buf[0], 0);
    vhdx_close(d, NULL);
    assert_memory_equal(before, c.data, c.size);
    free(before);
    /* Writable: replayed in place, the LogGuid cleared, the same view. */
    d = expect_opens(&c, 0);
    vhdx_get_info(d, &info);
    assert_int_equal(info.log_entries_replayed, 2);
    assert_true(guid_is_zero(&info.log_guid));
    assert_int_equal(vhdx_read(d, MIB, buf, sizeof(buf), NULL), VHDX_OK);
    assert_int_equal(buf[0], 0x5a);
    check_clean(d);
    vhdx_close(d, NULL);
    assert_int_equal(VHDX_BAT_STATE(bat_get(&c, 0)), VHDX_PB_NOT_PRESENT);
    mem_disk_free(&c);
    mem_disk_free(&m);
}

static void test_log_zeroes_what_it_wrote_past_the_old_end(void **state)
{
    /* Entry 1 grows the file (LastFileOffset), puts block 1 there and writes 0x77 into it;
     * entry 2 zeroes that sector again: block 1 reads zeros, read-only or not. */
    struct mem_disk m, c;
    base_image(&m);
    uint64_t bat = region(&m, &vhdx_guid_bat_region), end = m.size;
    uint8_t bat_sector[4096], data[4096];
    memcpy(bat_sector, m.data + bat, sizeof(bat_sector));
    put_le64(bat_sector + 8, end | VHDX_PB_FULLY_PRESENT);
    memset(data, 0x77, sizeof(data));
    struct desc e1[2] = { { .off = end, .data = data }, { .off = bat, .data = bat_sector } };
    struct desc e2 = { .zero = true, .off = end, .zero_len = 4096 };
    uint32_t len1 = put_entry(&m, 0, 1, 0, &log_guid, end, end + MIB, e1, 2);
    put_entry(&m, len1, 2, 0, &log_guid, end, end + MIB, &e2, 1);
    for (int rw = 0; rw < 2; rw++) {
        mem_disk_copy(&c, &m);
        struct vhdx *d = expect_opens(&c, rw ? 0 : VHDX_OPEN_READ_ONLY);
        uint8_t buf[4096];
        assert_int_equal(vhdx_read(d, MIB, buf, sizeof(buf), NULL), VHDX_OK);
        for (size_t k = 0; k < sizeof(buf); k++)
            assert_int_equal(buf[k], 0);
        vhdx_close(d, NULL);
        mem_disk_free(&c);
    }
    mem_disk_free(&m);
}

static void test_log_other_guid_ignored(void **state)
{
    struct mem_disk m;
    base_image(&m);
    uint8_t sector[4096] = { 0 };
    struct desc dz = { .off = region(&m, &vhdx_guid_bat_region), .data = sector };
    put_entry(&m, 0, 3, 0, &other_guid, m.size, m.size, &dz, 1);
    headers_put_guid(&m, VHDX_H_LOG_GUID, &log_guid); /* the header names another log */
    struct vhdx *d = expect_opens(&m, 0);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.log_entries_replayed, 0);
    assert_int_equal(info.blocks_present, 1);
    vhdx_close(d, NULL);
    mem_disk_free(&m);
}

static void test_log_updates_region_table(void **state)
{
    /* The log may rewrite the region tables: they are read after replay.  Both copies are
     * damaged on disk; the log holds table 1's good content. */
    struct mem_disk m;
    base_image(&m);
    uint8_t table[VHDX_REGION_SIZE];
    memcpy(table, m.data + VHDX_REGION1_OFF, sizeof(table));
    struct desc ds[16];
    for (int i = 0; i < 16; i++)
        ds[i] = (struct desc){ .off = VHDX_REGION1_OFF + 4096u * i, .data = table + 4096 * i };
    put_entry(&m, 0, 1, 0, &log_guid, m.size, m.size, ds, 16);
    m.data[VHDX_REGION1_OFF + 100] ^= 1;
    m.data[VHDX_REGION2_OFF + 100] ^= 1;
    struct vhdx *d = expect_opens(&m, VHDX_OPEN_READ_ONLY);
    uint8_t buf[512];
    assert_int_equal(vhdx_read(d, 0, buf, sizeof(buf), NULL), VHDX_OK);
    assert_int_equal(buf[0], 0x5a);
    vhdx_close(d, NULL);
    mem_disk_free(&m);
}

static void test_log_refusals(void **state)
{
    struct mem_disk m, c;
    base_image(&m);
    uint64_t size = m.size;
    uint8_t sector[4096] = { 0 };
    /* A write onto a header (which finds the log: never through it). */
    mem_disk_copy(&c, &m);
    struct desc on_header = { .off = VHDX_HEADER2_OFF, .data = sector };
    put_entry(&c, 0, 1, 0, &log_guid, size, size, &on_header, 1);
    expect_open(&c, 0, VHDX_E_CORRUPT, "the headers or the log");
    mem_disk_free(&c);
    /* A zero descriptor past LastFileOffset. */
    mem_disk_copy(&c, &m);
    struct desc far = { .zero = true, .off = size, .zero_len = 1ull << 30 };
    put_entry(&c, 0, 1, 0, &log_guid, size, size, &far, 1);
    expect_open(&c, 0, VHDX_E_CORRUPT, "past the file's LastFileOffset");
    mem_disk_free(&c);
    /* FlushedFileOffset beyond the file: it was truncated. */
    mem_disk_copy(&c, &m);
    struct desc ok = { .off = region(&m, &vhdx_guid_bat_region) + 4096, .data = sector };
    put_entry(&c, 0, 1, 0, &log_guid, size + MIB, size + MIB, &ok, 1);
    expect_open(&c, 0, VHDX_E_CORRUPT, "truncated");
    mem_disk_free(&c);
    /* LastFileOffset beyond the file: it grows (writable), or looks grown (read-only). */
    mem_disk_copy(&c, &m);
    put_entry(&c, 0, 1, 0, &log_guid, size, size + 3 * MIB, &ok, 1);
    struct vhdx *d = expect_opens(&c, VHDX_OPEN_READ_ONLY);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.file_size, size + 3 * MIB);
    vhdx_close(d, NULL);
    assert_int_equal(c.size, size);
    vhdx_close(expect_opens(&c, 0), NULL);
    assert_int_equal(c.size, size + 3 * MIB);
    mem_disk_free(&c);
    mem_disk_free(&m);
}

/* ---- what the module writes, in which order ------------------------------------------ */

#define MAX_TRACE 64
static struct mem_disk *traced;
static uint64_t trace[MAX_TRACE];
static unsigned ntrace;

static int trace_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    if (ntrace < MAX_TRACE)
        trace[ntrace++] = off;
    struct vhdx_io io = mem_disk_io(traced);
    return io.write(ctx, off, buf, len);
}

static void test_replay_changes_file_write_guid_first(void **state)
{
    struct mem_disk m;
    base_image(&m);
    uint8_t sector[4096] = { 0 };
    struct desc ok = { .off = region(&m, &vhdx_guid_bat_region) + 4096, .data = sector };
    put_entry(&m, 0, 1, 0, &log_guid, m.size, m.size, &ok, 1);
    struct guid fw;
    memcpy(fw.b, m.data + VHDX_HEADER1_OFF + VHDX_H_FILE_GUID, 16);
    traced = &m;
    ntrace = 0;
    struct vhdx_io io = mem_disk_io(&m);
    io.write = trace_write;
    struct vhdx *d;
    assert_int_equal(vhdx_open(&mem_env, &io, "t.vhdx", 0, &d, NULL), VHDX_OK);
    vhdx_close(d, NULL);
    /* Header, header (the new FileWriteGuid, the same LogGuid), the replayed sector, then
     * the headers with the log marked empty. */
    assert_true(ntrace >= 5);
    assert_true(trace[0] == VHDX_HEADER1_OFF || trace[0] == VHDX_HEADER2_OFF);
    assert_true(trace[1] == VHDX_HEADER1_OFF || trace[1] == VHDX_HEADER2_OFF);
    assert_int_equal(trace[2], ok.off);
    /* A cut right after the first header write: the FileWriteGuid changed, the log stays. */
    struct mem_disk c;
    base_image(&c);
    put_entry(&c, 0, 1, 0, &log_guid, c.size, c.size, &ok, 1);
    c.writes_left = 1;
    io = mem_disk_io(&c);
    assert_int_equal(vhdx_open(&mem_env, &io, "t.vhdx", 0, &d, NULL), VHDX_OK);
    vhdx_close(d, NULL);
    c.writes_left = -1;
    struct guid g1, g2, l1;
    memcpy(g1.b, c.data + VHDX_HEADER1_OFF + VHDX_H_FILE_GUID, 16);
    memcpy(g2.b, c.data + VHDX_HEADER2_OFF + VHDX_H_FILE_GUID, 16);
    memcpy(l1.b, c.data + VHDX_HEADER1_OFF + VHDX_H_LOG_GUID, 16);
    assert_true(!guid_eq(&g1, &g2));
    assert_true(guid_eq(&l1, &log_guid));
    d = expect_opens(&c, 0);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_int_equal(info.log_entries_replayed, 1);
    vhdx_close(d, NULL);
    mem_disk_free(&c);
    mem_disk_free(&m);
}

static void test_first_write_updates_headers_first(void **state)
{
    struct mem_disk m;
    base_image(&m);
    struct guid dw_before;
    memcpy(dw_before.b, m.data + VHDX_HEADER1_OFF + VHDX_H_DATA_GUID, 16);
    /* A file whose size is not a whole MiB (another writer's): the log entry's
     * FlushedFileOffset and LastFileOffset must be, so the file is rounded up first. */
    struct vhdx_io io = mem_disk_io(&m);
    io.resize(io.ctx, m.size + 4096);
    traced = &m;
    ntrace = 0;
    io.write = trace_write;
    struct vhdx *d;
    assert_int_equal(vhdx_open(&mem_env, &io, "t.vhdx", 0, &d, NULL), VHDX_OK);
    assert_int_equal(ntrace, 0); /* opening changes nothing */
    assert_int_equal(vhdx_trim(d, 0, MIB, NULL), VHDX_OK); /* a log entry, no allocation */
    assert_true(ntrace >= 4);
    for (int i = 0; i < 2; i++)
        assert_true(trace[i] == VHDX_HEADER1_OFF || trace[i] == VHDX_HEADER2_OFF);
    uint64_t log = le64(m.data + VHDX_HEADER1_OFF + VHDX_H_LOG_OFF);
    assert_int_equal(le32(m.data + log), VHDX_SIG_LOGE);
    assert_int_equal(le64(m.data + log + VHDX_L_FLUSHED) % MIB, 0);
    assert_int_equal(le64(m.data + log + VHDX_L_LAST) % MIB, 0);
    assert_true(le64(m.data + log + VHDX_L_FLUSHED) <= m.size);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    assert_false(guid_eq(&info.data_write_guid, &dw_before));
    assert_true(guid_eq(&info.log_guid, (const struct guid *)(m.data + log + VHDX_L_GUID)));
    vhdx_close(d, NULL);
    mem_disk_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_choice),
        cmocka_unit_test(test_region_table),
        cmocka_unit_test(test_metadata_items),
        cmocka_unit_test(test_empty_disk),
        cmocka_unit_test(test_bat_too_large_is_unsupported),
        cmocka_unit_test(test_bat_states),
        cmocka_unit_test(test_leave_block_allocated),
        cmocka_unit_test(test_parent_locator),
        cmocka_unit_test(test_create_utf8_locator),
        cmocka_unit_test(test_merge_keeps_foreign_metadata),
        cmocka_unit_test(test_child_carries_virtual_disk_metadata),
        cmocka_unit_test(test_log_two_entries_and_zero_descriptor),
        cmocka_unit_test(test_log_zeroes_what_it_wrote_past_the_old_end),
        cmocka_unit_test(test_log_other_guid_ignored),
        cmocka_unit_test(test_log_updates_region_table),
        cmocka_unit_test(test_log_refusals),
        cmocka_unit_test(test_replay_changes_file_write_guid_first),
        cmocka_unit_test(test_first_write_updates_headers_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
