/*
 * FAT32 directories: slots, short (8.3) names and their ~N aliases, long-name (VFAT)
 * entries with checksums, lookup, adding and removing entries, and path resolution.
 * Names are ASCII; a long-name character outside ASCII reads as '?'.
 */
#include "hv/storage/fat32_internal.h"

#include <string.h>

#define LFN_CHARS 13
#define FAT_DIR_MAX_SLOTS 65536u
static const uint8_t lfn_pos[LFN_CHARS] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };

uint32_t fat_ent_cluster(const uint8_t *ent)
{
    return (uint32_t)fat_le16(ent + 20) << 16 | fat_le16(ent + 26);
}

void fat_ent_set_cluster(uint8_t *ent, uint32_t c)
{
    fat_put16(ent + 20, (uint16_t)(c >> 16));
    fat_put16(ent + 26, (uint16_t)c);
}

int fat_dir_slot(struct fat_vol *v, uint32_t dir, uint32_t index, struct fat_slot *slot)
{
    uint64_t byte = (uint64_t)index * DIRENT_SIZE;
    uint32_t c;
    if (index >= FAT_DIR_MAX_SLOTS || byte / v->clus_bytes > v->clusters)
        return FAT_E_NOT_FOUND;
    int rc = fat_chain_at(v, dir, (uint32_t)(byte / v->clus_bytes), &c);
    if (rc)
        return rc;
    uint32_t in = (uint32_t)(byte % v->clus_bytes);
    slot->sector = fat_cluster_sector(v, c) + in / v->sector;
    slot->off = in % v->sector;
    return FAT_OK;
}

uint8_t *fat_dir_load(struct fat_vol *v, const struct fat_slot *slot)
{
    if (v->dir_buf_sector != slot->sector) {
        v->dir_buf_sector = UINT64_MAX;
        if (fat_read_sectors(v, slot->sector, 1, v->dir_buf))
            return NULL;
        v->dir_buf_sector = slot->sector;
    }
    return v->dir_buf + slot->off;
}

int fat_dir_store(struct fat_vol *v, const struct fat_slot *slot)
{
    return fat_write_sectors(v, slot->sector, 1, v->dir_buf);
}

static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

static bool name_eq(const char *a, size_t alen, const char *b)
{
    size_t i;
    for (i = 0; i < alen && b[i]; i++)
        if (upper(a[i]) != upper(b[i]))
            return false;
    return i == alen && !b[i];
}

bool fat_same_path(const char *a, const char *b)
{
    a += *a == '/';
    b += *b == '/';
    for (; *a && *b; a++, b++)
        if (upper(*a) != upper(*b))
            return false;
    return *a == *b;
}

static uint8_t short_checksum(const uint8_t *sn)
{
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + sn[i]);
    return sum;
}

static void short_to_text(const uint8_t *ent, char *out)
{
    size_t n = 0;
    bool lower_base = ent[12] & 0x08, lower_ext = ent[12] & 0x10;
    for (int i = 0; i < 8 && ent[i] != ' '; i++) {
        char c = (char)(i == 0 && ent[0] == 0x05 ? 0xe5 : ent[i]);
        out[n++] = lower_base && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    if (ent[8] != ' ')
        out[n++] = '.';
    for (int i = 8; i < 11 && ent[i] != ' '; i++)
        out[n++] = lower_ext && ent[i] >= 'A' && ent[i] <= 'Z' ? (char)(ent[i] + 32) : (char)ent[i];
    out[n] = 0;
}

/* Long-name assembly while walking a directory. */
struct lfn_state {
    char name[FAT_NAME_MAX + 1];
    int expect;        /* next ordinal expected; 0: none in progress */
    uint8_t sum;
    uint32_t start;    /* slot index of the first LFN entry */
};

static void lfn_take(struct lfn_state *s, const uint8_t *ent, uint32_t index)
{
    int ord = ent[0] & 0x1f;
    if (ent[0] & 0x40) {
        if (ord < 1 || ord > 20) {
            s->expect = 0;
            s->name[0] = 0;
            return;
        }
        s->expect = ord;
        s->sum = ent[13];
        s->start = index;
        s->name[ord * LFN_CHARS < FAT_NAME_MAX ? ord * LFN_CHARS : FAT_NAME_MAX] = 0;
    } else if (ord != s->expect || ent[13] != s->sum) {
        s->expect = 0;
        s->name[0] = 0;
        return;
    }
    for (int i = 0; i < LFN_CHARS; i++) {
        uint16_t ch = fat_le16(ent + lfn_pos[i]);
        int at = (ord - 1) * LFN_CHARS + i;
        if (at >= FAT_NAME_MAX)
            break;
        if (ch == 0) {
            s->name[at] = 0;
            break;
        }
        s->name[at] = ch == 0xffff ? 0 : (ch >= 0x20 && ch < 0x7f ? (char)ch : '?');
    }
    s->expect = ord - 1;
}

/*
 * Walks dir's live entries; for each, fills the name and run and calls fn.  Returns
 * FAT_OK at the end, or 1 when fn stopped the walk.
 */
typedef bool (*walk_fn)(void *ctx, const char *name, const uint8_t *ent, uint32_t first,
                        uint32_t index);

static int walk(struct fat_vol *v, uint32_t dir, walk_fn fn, void *ctx)
{
    struct lfn_state s = { .expect = 0 };
    for (uint32_t index = 0;; index++) {
        struct fat_slot slot;
        int rc = fat_dir_slot(v, dir, index, &slot);
        if (rc == FAT_E_NOT_FOUND)
            return FAT_OK;
        if (rc)
            return rc;
        const uint8_t *ent = fat_dir_load(v, &slot);
        if (!ent)
            return FAT_E_IO;
        if (ent[0] == 0)
            return FAT_OK;
        if (ent[0] == SLOT_FREE) {
            s.expect = 0;
            s.name[0] = 0;
            continue;
        }
        if ((ent[11] & 0x3f) == ATTR_LFN) {
            lfn_take(&s, ent, index);
            continue;
        }
        bool have_lfn = s.expect == 0 && s.name[0] && s.sum == short_checksum(ent) &&
                        index > s.start;
        char shortname[13];
        uint8_t copy[DIRENT_SIZE];
        memcpy(copy, ent, DIRENT_SIZE);
        short_to_text(copy, shortname);
        uint32_t first = have_lfn ? s.start : index;
        bool stop = !(copy[11] & ATTR_VOLUME) && fn(ctx, have_lfn ? s.name : shortname, copy, first, index);
        s.name[0] = 0;
        s.expect = 0;
        if (stop)
            return 1;
    }
}

struct lookup_ctx {
    struct fat_vol *v;
    uint32_t dir;
    const char *name;
    size_t len;
    struct fat_found *out;
    char alt[13];
};

static bool lookup_visit(void *vctx, const char *name, const uint8_t *ent, uint32_t first,
                         uint32_t index)
{
    struct lookup_ctx *l = vctx;
    char shortname[13];
    short_to_text(ent, shortname);
    if (!name_eq(l->name, l->len, name) && !name_eq(l->name, l->len, shortname))
        return false;
    memcpy(l->out->ent, ent, DIRENT_SIZE);
    l->out->first_index = first;
    l->out->slots = index - first + 1;
    return true;
}

int fat_dir_lookup(struct fat_vol *v, uint32_t dir, const char *name, size_t len,
                   struct fat_found *out)
{
    struct lookup_ctx l = { v, dir, name, len, out, { 0 } };
    int rc = walk(v, dir, lookup_visit, &l);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return FAT_E_NOT_FOUND;
    rc = fat_dir_slot(v, dir, out->first_index, &out->first);
    if (!rc)
        rc = fat_dir_slot(v, dir, out->first_index + out->slots - 1, &out->shortent);
    return rc;
}

struct visit_adapter {
    fat_dir_visit_fn fn;
    void *ctx;
};

static bool adapter_visit(void *vctx, const char *name, const uint8_t *ent, uint32_t first,
                          uint32_t index)
{
    struct visit_adapter *a = vctx;
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    return a->fn(a->ctx, name, ent);
}

int fat_dir_walk(struct fat_vol *v, uint32_t dir, fat_dir_visit_fn fn, void *ctx)
{
    struct visit_adapter a = { fn, ctx };
    int rc = walk(v, dir, adapter_visit, &a);
    return rc < 0 ? rc : FAT_OK;
}

/* ---- new entries --------------------------------------------------------------------- */

static bool name_valid(const char *name, size_t len)
{
    if (!len || len > FAT_NAME_MAX || name[len - 1] == '.' || name[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c >= 0x7f || strchr("\"*/:<>?\\|", c))
            return false;
    }
    return true;
}

static bool short_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("$%'-_@~`!(){}^#&", c);
}

/* The 8.3 form of name; true when it is exactly that (no long name needed). */
static bool make_short(const char *name, size_t len, uint8_t sn[11])
{
    memset(sn, ' ', 11);
    size_t dot = len;
    for (size_t i = len; i > 0; i--)
        if (name[i - 1] == '.') {
            dot = i - 1;
            break;
        }
    bool exact = dot <= 8 && (dot == len || len - dot - 1 <= 3) && dot > 0;
    size_t n = 0;
    for (size_t i = 0; i < dot && n < 8; i++) {
        char c = upper(name[i]);
        if (c == ' ' || c == '.')
            continue;
        exact &= c == name[i] && short_char_ok(c);
        sn[n++] = short_char_ok(c) ? (uint8_t)c : '_';
    }
    if (n == 0)
        sn[n++] = '_';
    for (size_t i = dot + 1, k = 8; i < len && k < 11; i++) {
        char c = upper(name[i]);
        if (c == ' ')
            continue;
        exact &= c == name[i] && short_char_ok(c);
        sn[k++] = short_char_ok(c) ? (uint8_t)c : '_';
    }
    for (size_t i = 0; i < dot; i++)
        exact &= name[i] != ' ' && name[i] != '.';
    return exact;
}

struct short_ctx {
    const uint8_t *sn;
};

static bool short_visit(void *vctx, const char *name, const uint8_t *ent, uint32_t first,
                        uint32_t index)
{
    return !memcmp(((struct short_ctx *)vctx)->sn, ent, 11);
}

static int short_taken(struct fat_vol *v, uint32_t dir, const uint8_t *sn, bool *taken)
{
    struct short_ctx s = { sn };
    int rc = walk(v, dir, short_visit, &s);
    *taken = rc == 1;
    return rc < 0 ? rc : FAT_OK;
}

/* Gives sn a unique ~N tail. */
static int make_alias(struct fat_vol *v, uint32_t dir, uint8_t sn[11])
{
    uint8_t base[8];
    memcpy(base, sn, 8);
    for (uint32_t n = 1; n < 1000000; n++) {
        char tail[8];
        int tl = 0;
        for (uint32_t k = n; k; k /= 10)
            tail[tl++] = (char)('0' + k % 10);
        size_t keep = 0;
        while (keep < 8 - (size_t)tl - 1 && base[keep] != ' ')
            keep++;
        memcpy(sn, base, keep);
        sn[keep] = '~';
        for (int i = 0; i < tl; i++)
            sn[keep + 1 + i] = (uint8_t)tail[tl - 1 - i];
        for (size_t i = keep + 1 + tl; i < 8; i++)
            sn[i] = ' ';
        bool taken;
        int rc = short_taken(v, dir, sn, &taken);
        if (rc || !taken)
            return rc;
    }
    return fat_fail(v, FAT_E_EXISTS, "fat32: no free short-name alias");
}

/* Index of the first run of `need` free slots, growing the directory when it has none. */
static int find_run(struct fat_vol *v, uint32_t dir, uint32_t need, uint32_t *start)
{
    uint32_t run = 0;
    for (uint32_t index = 0;; index++) {
        struct fat_slot slot;
        int rc = fat_dir_slot(v, dir, index, &slot);
        if (rc == FAT_E_NOT_FOUND) {
            uint32_t last, c, c2;
            uint32_t clusters = (uint32_t)((uint64_t)index * DIRENT_SIZE / v->clus_bytes);
            if (index >= FAT_DIR_MAX_SLOTS)
                return fat_fail(v, FAT_E_NOSPC, "fat32: directory full");
            rc = fat_chain_at(v, dir, clusters - 1, &last);
            if (!rc)
                rc = fat_alloc_chain(v, 1, true, &c, &c2);
            if (!rc)
                rc = fat_set(v, last, c);
            if (!rc)
                rc = fat_commit(v);
            if (rc)
                return rc;
            index--;
            continue;
        }
        if (rc)
            return rc;
        const uint8_t *ent = fat_dir_load(v, &slot);
        if (!ent)
            return FAT_E_IO;
        run = (ent[0] == 0 || ent[0] == SLOT_FREE) ? run + 1 : 0;
        if (run == need) {
            *start = index + 1 - need;
            return FAT_OK;
        }
    }
}

static void fill_lfn(uint8_t *e, const char *name, size_t len, int ord, bool last, uint8_t sum)
{
    memset(e, 0, DIRENT_SIZE);
    e[0] = (uint8_t)(ord | (last ? 0x40 : 0));
    e[11] = ATTR_LFN;
    e[13] = sum;
    for (int i = 0; i < LFN_CHARS; i++) {
        size_t at = (size_t)(ord - 1) * LFN_CHARS + i;
        uint16_t ch = at < len ? (uint8_t)name[at] : at == len ? 0 : 0xffff;
        fat_put16(e + lfn_pos[i], ch);
    }
}

static void fill_short(struct fat_vol *v, uint8_t *e, const uint8_t *sn, uint8_t attr,
                       uint32_t cluster, uint32_t size)
{
    uint32_t now = fat_now(v);
    memset(e, 0, DIRENT_SIZE);
    memcpy(e, sn, 11);
    e[11] = attr;
    fat_put16(e + 14, (uint16_t)now);
    fat_put16(e + 16, (uint16_t)(now >> 16));
    fat_put16(e + 18, (uint16_t)(now >> 16));
    fat_put16(e + 22, (uint16_t)now);
    fat_put16(e + 24, (uint16_t)(now >> 16));
    fat_ent_set_cluster(e, cluster);
    fat_put32(e + 28, size);
}

/* Writes `count` prepared entries into consecutive slots from start. */
static int write_slots(struct fat_vol *v, uint32_t dir, uint32_t start, const uint8_t *ents,
                       uint32_t count, struct fat_slot *last)
{
    for (uint32_t i = 0; i < count; i++) {
        struct fat_slot slot;
        int rc = fat_dir_slot(v, dir, start + i, &slot);
        if (rc)
            return rc;
        uint8_t *e = fat_dir_load(v, &slot);
        if (!e)
            return FAT_E_IO;
        memcpy(e, ents + (size_t)i * DIRENT_SIZE, DIRENT_SIZE);
        if (i + 1 == count || slot.off + DIRENT_SIZE == v->sector) {
            rc = fat_dir_store(v, &slot);
            if (rc)
                return rc;
        }
        *last = slot;
    }
    return FAT_OK;
}

int fat_dir_add(struct fat_vol *v, uint32_t dir, const char *name, size_t len, uint8_t attr,
                uint32_t cluster, uint32_t size, struct fat_slot *shortent)
{
    uint8_t sn[11], ents[21 * DIRENT_SIZE];
    struct fat_found found;
    if (!name_valid(name, len) || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return fat_fail(v, FAT_E_INVALID, "fat32: invalid name '%.*s'", (int)len, name);
    int rc = fat_dir_lookup(v, dir, name, len, &found);
    if (rc == FAT_OK)
        return fat_fail(v, FAT_E_EXISTS, "fat32: '%.*s' already exists", (int)len, name);
    if (rc != FAT_E_NOT_FOUND)
        return rc;
    bool exact = make_short(name, len, sn);
    if (!exact && (rc = make_alias(v, dir, sn)))
        return rc;
    uint32_t lfn = exact ? 0 : (uint32_t)((len + LFN_CHARS - 1) / LFN_CHARS), start = 0;
    uint8_t sum = short_checksum(sn);
    for (uint32_t i = 0; i < lfn; i++)
        fill_lfn(ents + i * DIRENT_SIZE, name, len, (int)(lfn - i), i == 0, sum);
    fill_short(v, ents + lfn * DIRENT_SIZE, sn, attr, cluster, size);
    rc = find_run(v, dir, lfn + 1, &start);
    if (!rc)
        rc = write_slots(v, dir, start, ents, lfn + 1, shortent);
    return rc;
}

int fat_dir_remove(struct fat_vol *v, uint32_t dir, const struct fat_found *f)
{
    for (uint32_t i = 0; i < f->slots; i++) {
        struct fat_slot slot;
        int rc = fat_dir_slot(v, dir, f->first_index + i, &slot);
        if (rc)
            return rc;
        uint8_t *e = fat_dir_load(v, &slot);
        if (!e)
            return FAT_E_IO;
        e[0] = SLOT_FREE;
        if (i + 1 == f->slots || slot.off + DIRENT_SIZE == v->sector) {
            rc = fat_dir_store(v, &slot);
            if (rc)
                return rc;
        }
    }
    return FAT_OK;
}

/* ---- paths ----------------------------------------------------------------------------- */

static const char *component(const char *p, size_t *len)
{
    while (*p == '/')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != '/')
        n++;
    *len = n;
    return p;
}

static uint32_t dir_cluster_of(const struct fat_vol *v, const uint8_t *ent)
{
    uint32_t c = fat_ent_cluster(ent);
    return c ? c : v->root_cluster;
}

int fat_resolve_parent(struct fat_vol *v, const char *path, uint32_t *dir, const char **name,
                       size_t *len)
{
    uint32_t cur = v->root_cluster;
    const char *p = path;
    for (unsigned depth = 0;; depth++) {
        size_t n, n2;
        const char *c = component(p, &n);
        component(c + n, &n2);
        if (n2 == 0) {
            *dir = cur;
            *name = c;
            *len = n;
            return FAT_OK;
        }
        if (depth > 64)
            return fat_fail(v, FAT_E_INVALID, "fat32: path too deep");
        struct fat_found f;
        int rc = fat_dir_lookup(v, cur, c, n, &f);
        if (rc == FAT_E_NOT_FOUND)
            return fat_fail(v, rc, "fat32: '%.*s' not found", (int)n, c);
        if (rc)
            return rc;
        if (!(f.ent[11] & ATTR_DIR))
            return fat_fail(v, FAT_E_NOT_DIR, "fat32: '%.*s' is not a directory", (int)n, c);
        cur = dir_cluster_of(v, f.ent);
        if (!fat_cluster_valid(v, cur))
            return fat_fail(v, FAT_E_CORRUPT, "fat32: directory '%.*s' at bad cluster", (int)n, c);
        p = c + n;
    }
}

int fat_resolve(struct fat_vol *v, const char *path, struct fat_found *f, bool *is_root)
{
    uint32_t dir;
    const char *name;
    size_t len;
    int rc = fat_resolve_parent(v, path, &dir, &name, &len);
    if (rc)
        return rc;
    *is_root = len == 0;
    if (*is_root)
        return FAT_OK;
    rc = fat_dir_lookup(v, dir, name, len, f);
    if (rc == FAT_E_NOT_FOUND)
        return fat_fail(v, rc, "fat32: '%s' not found", path);
    return rc;
}
