/* FAT32 namespace operations: stat, mkdir, unlink, rename, list. */
#include "hv/storage/fat32_internal.h"
#include "hv/storage/pool_write_observer.h"

#include <string.h>

static void stat_of(const uint8_t *ent, struct fat_stat *st)
{
    st->is_dir = ent[11] & ATTR_DIR;
    st->size = st->is_dir ? 0 : fat_le32(ent + 28);
    st->first_cluster = fat_ent_cluster(ent);
    st->mtime = fat_le16(ent + 22);
    st->mdate = fat_le16(ent + 24);
}

int fat_stat(struct fat_vol *v, const char *path, struct fat_stat *st)
{
    struct fat_found f;
    bool root;
    int rc = fat_resolve(v, path, &f, &root);
    if (rc)
        return rc;
    memset(st, 0, sizeof(*st));
    if (root) {
        st->is_dir = true;
        st->first_cluster = v->root_cluster;
        return FAT_OK;
    }
    stat_of(f.ent, st);
    return FAT_OK;
}

/* Writes "." and ".." into the fresh (zeroed) directory cluster c. */
static int write_dot_entries(struct fat_vol *v, uint32_t c, uint32_t parent)
{
    uint8_t *s = v->tmp;
    uint32_t now = fat_now(v);
    memset(s, 0, v->sector);
    for (int i = 0; i < 2; i++) {
        uint8_t *e = s + i * DIRENT_SIZE;
        memset(e, ' ', 11);
        e[0] = '.';
        if (i)
            e[1] = '.';
        e[11] = ATTR_DIR;
        fat_put16(e + 14, (uint16_t)now);
        fat_put16(e + 16, (uint16_t)(now >> 16));
        fat_put16(e + 18, (uint16_t)(now >> 16));
        fat_put16(e + 22, (uint16_t)now);
        fat_put16(e + 24, (uint16_t)(now >> 16));
        fat_ent_set_cluster(e, i ? (parent == v->root_cluster ? 0 : parent) : c);
    }
    return fat_write_sectors(v, fat_cluster_sector(v, c), 1, s);
}

int fat_mkdir(struct fat_vol *v, const char *path)
{
    uint32_t dir, c, last;
    const char *name;
    size_t len;
    struct fat_found f;
    int rc = fat_resolve_parent(v, path, &dir, &name, &len);
    if (rc)
        return rc;
    if (!len)
        return fat_fail(v, FAT_E_EXISTS, "fat32: the root directory exists");
    rc = fat_dir_lookup(v, dir, name, len, &f);
    if (rc == FAT_OK)
        return fat_fail(v, FAT_E_EXISTS, "fat32: '%s' already exists", path);
    if (rc != FAT_E_NOT_FOUND)
        return rc;
    rc = fat_alloc_chain(v, 1, true, &c, &last);
    if (rc)
        return rc;
    rc = write_dot_entries(v, c, dir);
    if (!rc)
        rc = fat_barrier(v);
    if (!rc)
        rc = fat_dir_add(v, dir, name, len, ATTR_DIR, c, 0, &f.shortent);
    if (rc) {
        fat_free_chain(v, c);
        fat_commit(v);
        return rc;
    }
    return fat_sync(v);
}

static bool any_entry(void *ctx, const char *name, const uint8_t *ent) { return *(bool *)ctx = true; }

static int dir_empty(struct fat_vol *v, uint32_t dir, bool *empty)
{
    bool found = false;
    int rc = fat_dir_walk(v, dir, any_entry, &found);
    *empty = !found;
    return rc;
}

int fat_unlink(struct fat_vol *v, const char *path)
{
    struct fat_found f;
    bool root, empty;
    uint32_t dir;
    const char *name;
    size_t len;
    pool_write_note(POOL_WRITE_FILE, path, 0, POOL_WRITE_ALL);     /* before it goes */
    int rc = fat_resolve_parent(v, path, &dir, &name, &len);
    if (!rc)
        rc = fat_resolve(v, path, &f, &root);
    if (rc)
        return rc;
    if (root)
        return fat_fail(v, FAT_E_INVALID, "fat32: cannot remove the root directory");
    uint32_t c = fat_ent_cluster(f.ent);
    if (f.ent[11] & ATTR_DIR) {
        if (!fat_cluster_valid(v, c))
            return fat_fail(v, FAT_E_CORRUPT, "fat32: directory '%s' at bad cluster", path);
        rc = dir_empty(v, c, &empty);
        if (rc)
            return rc;
        if (!empty)
            return fat_fail(v, FAT_E_NOT_EMPTY, "fat32: directory '%s' not empty", path);
    }
    rc = fat_dir_remove(v, dir, &f);
    if (!rc)
        rc = fat_barrier(v);
    if (!rc && c)
        rc = fat_free_chain(v, c);
    return rc ? rc : fat_sync(v);
}

/* Whether directory `inner` is `outer` or lies below it. */
static int dir_within(struct fat_vol *v, uint32_t inner, uint32_t outer, bool *within)
{
    *within = false;
    for (unsigned depth = 0; depth < 256; depth++) {
        struct fat_found up;
        if (inner == outer) {
            *within = true;
            return FAT_OK;
        }
        if (inner == v->root_cluster)
            return FAT_OK;
        int rc = fat_dir_lookup(v, inner, "..", 2, &up);
        if (rc)
            return rc == FAT_E_NOT_FOUND ? fat_fail(v, FAT_E_CORRUPT, "fat32: directory without '..'") : rc;
        inner = fat_ent_cluster(up.ent) ? fat_ent_cluster(up.ent) : v->root_cluster;
    }
    return fat_fail(v, FAT_E_CORRUPT, "fat32: directory tree loops");
}

static int set_dotdot(struct fat_vol *v, uint32_t dir, uint32_t parent)
{
    struct fat_found dd;
    int rc = fat_dir_lookup(v, dir, "..", 2, &dd);
    if (rc)
        return rc;
    uint8_t *e = fat_dir_load(v, &dd.shortent);
    if (!e)
        return FAT_E_IO;
    fat_ent_set_cluster(e, parent == v->root_cluster ? 0 : parent);
    return fat_dir_store(v, &dd.shortent);
}

/* Rewrites the new short entry with the old one's attributes, times, cluster and size. */
static int copy_entry_body(struct fat_vol *v, const struct fat_slot *slot, const uint8_t *old)
{
    uint8_t *e = fat_dir_load(v, slot);
    if (!e)
        return FAT_E_IO;
    memcpy(e + 11, old + 11, DIRENT_SIZE - 11);
    return fat_dir_store(v, slot);
}

int fat_rename(struct fat_vol *v, const char *from, const char *to)
{
    struct fat_found src, dst;
    struct fat_slot slot;
    bool root, within = false;
    uint32_t from_dir, to_dir;
    const char *name, *to_name;
    size_t len, to_len;
    pool_write_note(POOL_WRITE_FILE, from, 0, POOL_WRITE_ALL);     /* no longer at that name */
    pool_write_note(POOL_WRITE_FILE, to, 0, POOL_WRITE_ALL);
    int rc = fat_resolve_parent(v, from, &from_dir, &name, &len);
    if (!rc)
        rc = fat_resolve(v, from, &src, &root);
    if (!rc)
        rc = fat_resolve_parent(v, to, &to_dir, &to_name, &to_len);
    if (rc)
        return rc;
    if (root || !to_len)
        return fat_fail(v, FAT_E_INVALID, "fat32: cannot rename the root directory");
    rc = fat_dir_lookup(v, to_dir, to_name, to_len, &dst);
    bool same = rc == FAT_OK && to_dir == from_dir && dst.first_index == src.first_index;
    if (rc == FAT_OK && !same)
        return fat_fail(v, FAT_E_EXISTS, "fat32: '%s' already exists", to);
    if (rc && rc != FAT_E_NOT_FOUND)
        return rc;
    bool is_dir = src.ent[11] & ATTR_DIR;
    uint32_t c = fat_ent_cluster(src.ent);
    if (is_dir && (rc = dir_within(v, to_dir, c, &within)))
        return rc;
    if (within)
        return fat_fail(v, FAT_E_INVALID, "fat32: cannot move '%s' into itself", from);
    /* Old entry gone before the new one exists: a cut between loses a chain, never crosses. */
    rc = fat_dir_remove(v, from_dir, &src);
    if (!rc)
        rc = fat_barrier(v);
    if (!rc)
        rc = fat_dir_add(v, to_dir, to_name, to_len, src.ent[11], c, fat_le32(src.ent + 28), &slot);
    if (!rc)
        rc = copy_entry_body(v, &slot, src.ent);
    if (!rc && is_dir && to_dir != from_dir)
        rc = set_dotdot(v, c, to_dir);
    return rc ? rc : fat_sync(v);
}

/* A file's second name: a new entry sharing its chain (see fat32.h). */
int fat_link(struct fat_vol *v, const char *from, const char *to)
{
    struct fat_found src, dst;
    struct fat_slot slot;
    bool root;
    uint32_t from_dir, to_dir;
    const char *name, *to_name;
    size_t len, to_len;
    pool_write_note(POOL_WRITE_FILE, to, 0, POOL_WRITE_ALL);
    int rc = fat_resolve_parent(v, from, &from_dir, &name, &len);
    if (!rc)
        rc = fat_resolve(v, from, &src, &root);
    if (!rc)
        rc = fat_resolve_parent(v, to, &to_dir, &to_name, &to_len);
    if (rc)
        return rc;
    if (root || (src.ent[11] & ATTR_DIR) || !to_len)
        return fat_fail(v, FAT_E_INVALID, "fat32: only a file can have a second name");
    rc = fat_dir_lookup(v, to_dir, to_name, to_len, &dst);
    if (rc == FAT_OK)
        return fat_fail(v, FAT_E_EXISTS, "fat32: '%s' already exists", to);
    if (rc != FAT_E_NOT_FOUND)
        return rc;
    rc = fat_dir_add(v, to_dir, to_name, to_len, src.ent[11], fat_ent_cluster(src.ent),
                     fat_le32(src.ent + 28), &slot);
    if (!rc)
        rc = copy_entry_body(v, &slot, src.ent);
    return rc ? rc : fat_sync(v);
}

/* Drops a file's name, keeping its chain (see fat32.h). */
int fat_forget(struct fat_vol *v, const char *path)
{
    struct fat_found f;
    bool root;
    uint32_t dir;
    const char *name;
    size_t len;
    pool_write_note(POOL_WRITE_FILE, path, 0, POOL_WRITE_ALL);
    int rc = fat_resolve_parent(v, path, &dir, &name, &len);
    if (!rc)
        rc = fat_resolve(v, path, &f, &root);
    if (rc)
        return rc;
    if (root || (f.ent[11] & ATTR_DIR))
        return fat_fail(v, FAT_E_INVALID, "fat32: '%s' is not a file", path);
    rc = fat_dir_remove(v, dir, &f);
    return rc ? rc : fat_sync(v);
}

struct list_ctx {
    fat_list_fn fn;
    void *ctx;
};

static bool list_visit(void *vctx, const char *name, const uint8_t *ent)
{
    struct list_ctx *l = vctx;
    struct fat_stat st;
    stat_of(ent, &st);
    return l->fn(l->ctx, name, &st);
}

int fat_list(struct fat_vol *v, const char *path, fat_list_fn fn, void *ctx)
{
    struct fat_stat st;
    int rc = fat_stat(v, path, &st);
    if (rc)
        return rc;
    if (!st.is_dir)
        return fat_fail(v, FAT_E_NOT_DIR, "fat32: '%s' is not a directory", path);
    uint32_t dir = st.first_cluster ? st.first_cluster : v->root_cluster;
    if (!fat_cluster_valid(v, dir))
        return fat_fail(v, FAT_E_CORRUPT, "fat32: directory '%s' at bad cluster", path);
    struct list_ctx l = { fn, ctx };
    return fat_dir_walk(v, dir, list_visit, &l);
}
