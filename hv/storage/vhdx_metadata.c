/* The metadata region: table, system items, the VHDX parent locator (UTF-16 key/values). */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

enum { M_PARAMS = 1, M_SIZE = 2, M_ID = 4, M_LSS = 8, M_PSS = 16, M_LOCATOR = 32 };

struct meta_item {
    const struct guid *id;
    unsigned bit;
    uint32_t min_len;
};

static const struct meta_item known_items[] = {
    { &vhdx_guid_file_parameters, M_PARAMS, 8 },
    { &vhdx_guid_disk_size, M_SIZE, 8 },
    { &vhdx_guid_disk_id, M_ID, 16 },
    { &vhdx_guid_logical_sector, M_LSS, 4 },
    { &vhdx_guid_physical_sector, M_PSS, 4 },
    { &vhdx_guid_parent_locator, M_LOCATOR, 20 },
};

/* A value as UTF-8 into out (VHDX_PATH_MAX bytes); an error names the key. */
static int value_utf8(struct vhdx *d, const char *key, const uint8_t *v, uint32_t vlen,
                      char *out, struct vhdx_err *err)
{
    int n = vhdx_utf16_to_utf8(v, vlen, out, VHDX_PATH_MAX);
    if (n == VHDX_UTF_TOO_LONG)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: parent locator %s is longer than %u "
                         "bytes of UTF-8", d->name, key, VHDX_PATH_MAX - 1);
    if (n < 0)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent locator %s is not valid UTF-16 "
                         "or holds a control character", d->name, key);
    return VHDX_OK;
}

static int parse_linkage(struct vhdx *d, const char *key, const uint8_t *v, uint32_t vlen,
                         struct guid *out, struct vhdx_err *err)
{
    char s[VHDX_PATH_MAX];
    int rc = value_utf8(d, key, v, vlen, s, err);
    if (rc)
        return rc;
    if (!guid_parse(s, strlen(s), out))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent locator %s '%s' is not a GUID",
                         d->name, key, s);
    return VHDX_OK;
}

enum { K_LINKAGE = 1, K_LINKAGE2 = 2, K_REL = 4, K_VOL = 8, K_ABS = 16 };

static const char *const locator_keys[] = { "parent_linkage", "parent_linkage2", "relative_path",
                                            "volume_path", "absolute_win32_path" };

static int parse_locator_entry(struct vhdx *d, const uint8_t *loc, uint32_t len,
                               const uint8_t *e, unsigned *seen, struct vhdx_err *err)
{
    uint32_t ko = le32(e), vo = le32(e + 4);
    uint16_t kl = le16(e + 8), vl = le16(e + 10);
    if (kl == 0 || vl == 0 || ko > len || kl > len - ko || vo > len || vl > len - vo)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent locator entry outside the item",
                         d->name);
    const uint8_t *k = loc + ko, *v = loc + vo;
    for (unsigned i = 0; i < sizeof(locator_keys) / sizeof(locator_keys[0]); i++) {
        const char *key = locator_keys[i];
        if (!vhdx_utf16_is(k, kl, key))
            continue;
        if (*seen & (1u << i))
            return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent locator has %s twice", d->name,
                             key);
        *seen |= 1u << i;
        switch (1u << i) {
        case K_LINKAGE: return parse_linkage(d, key, v, vl, &d->parent_linkage, err);
        case K_LINKAGE2:
            d->has_linkage2 = true;
            return parse_linkage(d, key, v, vl, &d->parent_linkage2, err);
        case K_REL: return value_utf8(d, key, v, vl, d->parent_rel, err);
        case K_VOL: return value_utf8(d, key, v, vl, d->parent_vol, err);
        default: return value_utf8(d, key, v, vl, d->parent_abs, err);
        }
    }
    return VHDX_OK; /* a key of no meaning here: ignored */
}

static int parse_locator(struct vhdx *d, const uint8_t *loc, uint32_t len, struct vhdx_err *err)
{
    struct guid type;
    memcpy(type.b, loc, 16);
    if (!guid_eq(&type, &vhdx_guid_locator_type_vhdx)) {
        char s[GUID_STR_LEN + 1];
        guid_format(&type, s);
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: parent locator type %s is not the VHDX "
                         "one (the parent is not a VHDX file)", d->name, s);
    }
    uint32_t n = le16(loc + 18);
    if (20 + 12ull * n > len)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent locator has %u entries, too many",
                         d->name, n);
    unsigned seen = 0;
    for (uint32_t i = 0; i < n; i++) {
        int rc = parse_locator_entry(d, loc, len, loc + 20 + 12 * i, &seen, err);
        if (rc)
            return rc;
    }
    if (!(seen & K_LINKAGE))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent locator lacks parent_linkage", d->name);
    if (!d->parent_rel[0] && !d->parent_abs[0] && !d->parent_vol[0])
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: parent locator names no path (relative_path, "
                         "volume_path or absolute_win32_path)", d->name);
    return VHDX_OK;
}

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

static int parse_item(struct vhdx *d, unsigned bit, const uint8_t *p, uint32_t len,
                      struct vhdx_err *err)
{
    switch (bit) {
    case M_PARAMS: {
        d->block_size = le32(p);
        uint32_t flags = le32(p + 4);
        d->has_parent = flags & VHDX_FP_HAS_PARENT;
        /* "LeaveBlockAllocated is ignored when HasParent is set" */
        d->leave_allocated = (flags & VHDX_FP_LEAVE_ALLOCATED) && !d->has_parent;
        if (!is_pow2(d->block_size) || d->block_size < VHDX_MIN_BLOCK ||
            d->block_size > VHDX_MAX_BLOCK)
            return vhdx_fail(err, VHDX_E_CORRUPT, "%s: block size %u is not a power of two "
                             "from 1 MiB to 256 MiB", d->name, d->block_size);
        return VHDX_OK;
    }
    case M_SIZE: d->disk_size = le64(p); return VHDX_OK;
    case M_ID: memcpy(d->disk_id.b, p, 16); return VHDX_OK;
    case M_LSS: d->lss = le32(p); return VHDX_OK;
    case M_PSS: d->pss = le32(p); return VHDX_OK;
    default: return parse_locator(d, p, len, err);
    }
}

static int check_values(struct vhdx *d, unsigned seen, struct vhdx_err *err)
{
    const unsigned required = M_PARAMS | M_SIZE | M_ID | M_LSS | M_PSS;
    if ((seen & required) != required)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: a required metadata item is missing "
                         "(have mask 0x%x of 0x%x)", d->name, seen & required, required);
    if (d->lss != 512 && d->lss != 4096)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: logical sector size %u (512 or 4096)",
                         d->name, d->lss);
    if (d->pss != 512 && d->pss != 4096)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: physical sector size %u (512 or 4096)",
                         d->name, d->pss);
    /* Zero is a multiple of the sector size: such a disk (qemu-img makes them) is empty. */
    if (d->disk_size % d->lss || d->disk_size > VHDX_MAX_DISK_SIZE)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: virtual disk size %llu is invalid", d->name,
                         (unsigned long long)d->disk_size);
    if (d->has_parent && !(seen & M_LOCATOR))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: differencing disk without a parent locator",
                         d->name);
    return VHDX_OK;
}

static int parse_entry(struct vhdx *d, const uint8_t *tbl, const uint8_t *e, unsigned *seen,
                       struct vhdx_err *err)
{
    struct guid id;
    memcpy(id.b, e, 16);
    uint32_t off = le32(e + 16), len = le32(e + 20), flags = le32(e + 24);
    char s[GUID_STR_LEN + 1];
    guid_format(&id, s);
    if ((len == 0) != (off == 0) || (off && off < VHDX_META_TABLE_SIZE) ||
        len > VHDX_META_ITEM_MAX || off > d->meta_len || len > d->meta_len - off)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: metadata item %s at %u length %u lies "
                         "outside the metadata region", d->name, s, off, len);
    for (size_t i = 0; i < sizeof(known_items) / sizeof(known_items[0]); i++) {
        const struct meta_item *k = &known_items[i];
        if (!guid_eq(&id, k->id) || (flags & VHDX_META_IS_USER))
            continue;
        if (*seen & k->bit)
            return vhdx_fail(err, VHDX_E_CORRUPT, "%s: metadata item %s appears twice",
                             d->name, s);
        if (len < k->min_len)
            return vhdx_fail(err, VHDX_E_CORRUPT, "%s: metadata item %s is %u bytes, "
                             "too short", d->name, s, len);
        *seen |= k->bit;
        return parse_item(d, k->bit, tbl + off, len, err);
    }
    if (flags & VHDX_META_IS_REQUIRED)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: unknown required metadata item %s",
                         d->name, s);
    return VHDX_OK;
}

/* Items lie anywhere in the region: it is read whole (at most a few MiB in practice) into
 * *tbl, which the caller frees when it is not NULL. */
static int read_metadata_region(struct vhdx *d, uint8_t **tbl, struct vhdx_err *err)
{
    *tbl = NULL;
    if (d->meta_len > 32 * VHDX_MIB)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: metadata region of %u bytes is too large",
                         d->name, d->meta_len);
    *tbl = vhdx_alloc(&d->env, d->meta_len);
    if (!*tbl)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
    return vhdx_pread(d, d->meta_off, *tbl, d->meta_len, err);
}

int vhdx_read_metadata(struct vhdx *d, struct vhdx_err *err)
{
    uint8_t *tbl;
    int rc = read_metadata_region(d, &tbl, err);
    if (!tbl)
        return rc;
    unsigned seen = 0;
    if (!rc && le64(tbl) != VHDX_SIG_META)
        rc = vhdx_fail(err, VHDX_E_CORRUPT, "%s: metadata table has no 'metadata' signature",
                       d->name);
    uint32_t n = rc ? 0 : le16(tbl + 10);
    if (!rc && n > VHDX_META_MAX)
        rc = vhdx_fail(err, VHDX_E_CORRUPT, "%s: metadata table claims %u entries", d->name, n);
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = parse_entry(d, tbl, tbl + 32 + 32 * i, &seen, err);
    if (!rc)
        rc = check_values(d, seen, err);
    vhdx_free(&d->env, tbl);
    return rc;
}

/* ---- building a metadata region (create) ------------------------------------------- */

static void put_entry(uint8_t *tbl, unsigned i, const struct guid *id, uint32_t off,
                      uint32_t len, uint32_t flags)
{
    uint8_t *e = tbl + 32 + 32 * i;
    memcpy(e, id->b, 16);
    put_le32(e + 16, off);
    put_le32(e + 20, len);
    put_le32(e + 24, flags);
}

uint32_t vhdx_put_locator(uint8_t *loc, const char *const *keys, const char *const *vals,
                          unsigned n)
{
    memcpy(loc, vhdx_guid_locator_type_vhdx.b, 16);
    uint16_t count = 0;
    uint32_t pos = 20 + 12 * n;
    for (unsigned i = 0; i < n; i++) {
        if (!vals[i] || !vals[i][0])
            continue;
        uint8_t *e = loc + 20 + 12 * count++;
        put_le32(e, pos);
        uint32_t kl = vhdx_utf8_to_utf16(loc + pos, keys[i]);
        pos += kl;
        put_le32(e + 4, pos);
        uint32_t vl = vhdx_utf8_to_utf16(loc + pos, vals[i]);
        pos += vl;
        put_le16(e + 8, (uint16_t)kl);
        put_le16(e + 10, (uint16_t)vl);
    }
    put_le16(loc + 18, count);
    return pos;
}

static uint32_t build_locator(uint8_t *loc, const struct guid *linkage, const char *rel,
                              const char *abs)
{
    static const char *const keys[3] = { "parent_linkage", "relative_path",
                                         "absolute_win32_path" };
    char link[GUID_STR_LEN + 1];
    guid_format(linkage, link);
    const char *vals[3] = { link, rel, abs };
    return vhdx_put_locator(loc, keys, vals, 3);
}

/* Lays out the table and items in region (zeroed, region_len bytes); returns bytes used. */
size_t vhdx_build_metadata(uint8_t *region, uint32_t region_len, uint32_t block_size,
                           bool has_parent, uint64_t disk_size, const struct guid *disk_id,
                           uint32_t lss, uint32_t pss, const struct guid *linkage,
                           const char *rel_path, const char *abs_path)
{
    const uint32_t vd = VHDX_META_IS_VDISK | VHDX_META_IS_REQUIRED, req = VHDX_META_IS_REQUIRED;
    uint32_t off = VHDX_META_TABLE_SIZE;
    unsigned n = 0;
    put_le64(region, VHDX_SIG_META);
    put_le32(region + off, block_size);
    put_le32(region + off + 4, has_parent ? VHDX_FP_HAS_PARENT : 0);
    put_entry(region, n++, &vhdx_guid_file_parameters, off, 8, req);
    off += 8;
    put_le64(region + off, disk_size);
    put_entry(region, n++, &vhdx_guid_disk_size, off, 8, vd);
    off += 8;
    memcpy(region + off, disk_id->b, 16);
    put_entry(region, n++, &vhdx_guid_disk_id, off, 16, vd);
    off += 16;
    put_le32(region + off, lss);
    put_entry(region, n++, &vhdx_guid_logical_sector, off, 4, vd);
    off += 4;
    put_le32(region + off, pss);
    put_entry(region, n++, &vhdx_guid_physical_sector, off, 4, vd);
    off += 4;
    if (has_parent) {
        uint32_t len = build_locator(region + off, linkage, rel_path, abs_path);
        put_entry(region, n++, &vhdx_guid_parent_locator, off, len, req);
        off += len;
    }
    put_le16(region + 10, (uint16_t)n);
    (void)region_len;
    return off;
}

static bool known_system_item(const uint8_t *e)
{
    if (le32(e + 24) & VHDX_META_IS_USER)
        return false;
    for (size_t i = 0; i < sizeof(known_items) / sizeof(known_items[0]); i++)
        if (!memcmp(e, known_items[i].id->b, 16))
            return true;
    return false;
}

int vhdx_copy_vdisk_items(struct vhdx *parent, uint8_t *region, uint32_t region_len,
                          size_t *used, struct vhdx_err *err)
{
    uint8_t *tbl;
    int rc = read_metadata_region(parent, &tbl, err);
    if (!tbl)
        return rc;
    uint32_t count = rc ? 0 : le16(tbl + 10);
    for (uint32_t i = 0; !rc && i < count && i < VHDX_META_MAX; i++) {
        const uint8_t *e = tbl + 32 + 32 * i;
        uint32_t off = le32(e + 16), len = le32(e + 20), flags = le32(e + 24);
        if (!(flags & VHDX_META_IS_VDISK) || known_system_item(e))
            continue;
        unsigned n = le16(region + 10);
        if (n >= VHDX_META_MAX || len > region_len - *used) {
            rc = vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: its virtual-disk metadata items do "
                           "not fit in a child's metadata region", parent->name);
            break;
        }
        memcpy(region + *used, tbl + off, len); /* inside the region: checked at open */
        put_entry(region, n, (const struct guid *)e, len ? (uint32_t)*used : 0, len, flags);
        put_le16(region + 10, (uint16_t)(n + 1));
        *used += len;
    }
    vhdx_free(&parent->env, tbl);
    return rc;
}
