/* A differencing disk's parents in a storage migration (storage_migrate_parents.h). */
#include "hv/core/storage_migrate_parents.h"

#include <string.h>

#include "hv/core/partition_disks.h"
#include "hv/lib/format.h"
#include "hv/storage/pool.h"
#include "hv/storage/vhdx.h"
#include "hv/storage/vhdx_parent_path.h"

/* ---- source ------------------------------------------------------------------------- */

bool smig_src_chain_list(struct vhdx *disk, struct smig_hello *h, struct smig_src_chain *c,
                         char *err, size_t err_size)
{
    static struct vhdx_info info;   /* the pool's lock */
    memset(c, 0, sizeof(*c));
    c->cur = -1;
    h->parents = 0;
    for (struct vhdx *d = disk; d; d = vhdx_parent(d)) {
        vhdx_get_info(d, &info);
        struct vhdx *p = vhdx_parent(d);
        if (!info.has_parent || !p)
            break;
        if (c->count == SMIG_MAX_PARENTS) {
            fmt_snprintf(err, err_size, "a chain of more than %u parents", SMIG_MAX_PARENTS);
            return false;
        }
        if (strlen(info.parent_name) >= SMIG_NAME_LEN || !smig_path_ok(info.parent_name)) {
            fmt_snprintf(err, err_size, "parent %s: a path a HELLO cannot carry",
                         info.parent_name);
            return false;
        }
        uint32_t i = c->count++;
        fmt_snprintf(c->name[i], sizeof(c->name[i]), "%s", info.parent_name);
        fmt_snprintf(h->parent[i].name, sizeof(h->parent[i].name), "%s", info.parent_name);
        vhdx_get_info(p, &info);
        h->parent[i].data_write = info.data_write_guid;
        c->file_size[i] = info.file_size;
    }
    h->parents = c->count;
    return true;
}

void smig_src_chain_answered(struct smig_src_chain *c, const struct smig_parents *a,
                             void (*say)(const char *line))
{
    c->answers = *a;
    c->answered = true;
    char d[200];
    for (uint32_t i = 0; i < c->count; i++) {
        if (a->answer[i] == SMIG_PARENT_NEEDED) {
            fmt_snprintf(d, sizeof(d), "parent %s not there: sent whole first (%lu bytes)",
                         c->name[i], (unsigned long)c->file_size[i]);
        } else {
            c->held_bytes += c->file_size[i];
            fmt_snprintf(d, sizeof(d), "parent %s %s: not sent (%lu bytes)", c->name[i],
                         a->answer[i] == SMIG_PARENT_HELD
                         ? "held there (same DataWriteGuid)" : "below one held there",
                         (unsigned long)c->file_size[i]);
        }
        say(d);
    }
    c->cur = smig_parents_next_to_send(a, SMIG_MAX_PARENTS);
}

bool smig_src_chain_pending(const struct smig_src_chain *c)
{
    return c->count && (!c->answered || c->cur >= 0);
}

long smig_src_chain_next(struct smig_src_chain *c, uint8_t *m, void (*say)(const char *line),
                         char *err, size_t err_size)
{
    if (!c->answered || c->cur < 0)
        return 0;
    const char *name = c->name[c->cur];
    uint8_t *bytes = m + SMIG_HEADER_SIZE + SMIG_PFILE_HEADER;
    /* Opened for each chunk: nothing stays open between polls (a cancel closes the
     * migration with the pool's lock held). */
    struct fat_file f;
    partition_pool_lock();
    struct fat_vol *v = pool_volume();
    if (!v || fat_open(v, name, 0, &f) != 0) {
        partition_pool_unlock();
        fmt_snprintf(err, err_size, "cannot open parent %s here", name);
        return -1;
    }
    if (!c->off)
        c->file_size[c->cur] = f.size;
    uint64_t size = c->file_size[c->cur];
    uint64_t n = size - c->off < SMIG_PFILE_CHUNK ? size - c->off : SMIG_PFILE_CHUNK;
    long got = n && f.size == size ? fat_read(&f, c->off, bytes, (size_t)n) : -1;
    fat_close(&f);
    partition_pool_unlock();
    if (!n || got != (long)n) {
        fmt_snprintf(err, err_size, "reading parent %s failed (or it changed)", name);
        return -1;
    }
    bool last = c->off + n >= size;
    uint32_t pl = smig_pfile_head_encode(m + SMIG_HEADER_SIZE, c->off, (uint32_t)c->cur,
                                         last ? SMIG_PFILE_LAST : 0, (uint32_t)n);
    smig_header_encode(m, SMIG_MSG_PFILE, m + SMIG_HEADER_SIZE, pl);
    c->off += n;
    c->sent_bytes += n;
    if (last) {
        char d[160];
        fmt_snprintf(d, sizeof(d), "parent %s sent (%lu bytes)", name, (unsigned long)size);
        say(d);
        c->cur = smig_parents_next_to_send(&c->answers, c->cur);
        c->off = 0;
    }
    return (long)(SMIG_HEADER_SIZE + pl);
}

long smig_src_chain_layer_map(struct vhdx *disk, uint64_t disk_size, uint8_t *bitmap,
                              char *err, size_t err_size)
{
    uint32_t units = (uint32_t)((disk_size + SMIG_UNIT - 1) / SMIG_UNIT);
    memset(bitmap, 0, (units + 7) / 8);
    long n = 0;
    for (uint32_t u = 0; u < units; u++) {
        uint64_t off = (uint64_t)u * SMIG_UNIT;
        uint64_t left = disk_size - off < SMIG_UNIT ? disk_size - off : SMIG_UNIT;
        bool own = false;
        while (left && !own) {
            bool present;
            uint64_t run;
            struct vhdx_err verr;
            if (vhdx_layer_extent(disk, off, left, &present, &run, &verr)) {
                fmt_snprintf(err, err_size, "the disk's layer map: %s", verr.msg);
                return -1;
            }
            own = present;
            if (!run)
                run = left;     /* never loops forever on a hostile bitmap */
            off += run, left -= run < left ? run : left;
        }
        if (!own) {
            bitmap[u >> 3] |= (uint8_t)(1u << (u & 7));
            n++;
        }
    }
    return n;
}

/* ---- target ------------------------------------------------------------------------- */

/* The pool's lock held: path's DataWriteGuid (its header alone); false: no VHDX there. */
static bool guid_of(const char *path, struct guid *g)
{
    struct fat_file f;
    struct vhdx_io io;
    struct vhdx *d;
    struct vhdx_err verr;
    if (fat_open(pool_volume(), path, 0, &f) != 0)
        return false;
    pool_vhdx_io(&f, &io);
    bool ok = vhdx_open(pool_vhdx_env(), &io, path, VHDX_OPEN_READ_ONLY | VHDX_OPEN_NO_PARENT,
                        &d, &verr) == 0;
    if (ok) {
        static struct vhdx_info info;   /* the pool's lock */
        vhdx_get_info(d, &info);
        *g = info.data_write_guid;
        vhdx_close(d, NULL);
    }
    fat_close(&f);
    return ok;
}

int smig_tgt_chain_decide(const struct smig_hello *h, struct smig_tgt_chain *c,
                          void (*say)(const char *line), char *err, size_t err_size)
{
    memset(c, 0, sizeof(*c));
    struct smig_parent_probe found[SMIG_MAX_PARENTS];
    memset(found, 0, sizeof(found));
    for (uint32_t i = 0; i < h->parents; i++) {
        struct fat_stat st;
        if (fat_stat(pool_volume(), h->parent[i].name, &st) != 0)
            continue;
        if (st.is_dir || !guid_of(h->parent[i].name, &found[i].here)) {
            /* something else under that name: another DataWriteGuid, say none */
            found[i].found = SMIG_FOUND_OTHER;
            memset(&found[i].here, 0, sizeof(found[i].here));
            continue;
        }
        found[i].found = guid_eq(&found[i].here, &h->parent[i].data_write) ? SMIG_FOUND_SAME
                                                                            : SMIG_FOUND_OTHER;
    }
    if (smig_parents_decide(h, found, fat_same_path, &c->answers, err, err_size))
        return -1;
    char d[200];
    for (uint32_t i = 0; i < h->parents; i++) {
        uint8_t a = c->answers.answer[i];
        fmt_snprintf(d, sizeof(d), "parent %s %s", h->parent[i].name,
                     a == SMIG_PARENT_HELD ? "held here (same DataWriteGuid): not sent"
                     : a == SMIG_PARENT_NEEDED ? "not here: the source sends it whole"
                     : "below the one held here: not sent");
        say(d);
    }
    smig_pfile_rx_init(&c->rx, &c->answers, h->disk_size);
    return 0;
}

bool smig_tgt_chain_ready(const struct smig_tgt_chain *c)
{
    return !c->answers.count || smig_pfile_rx_done(&c->rx);
}

/* The pool's lock held: the whole file at c->tmp checked and renamed to the parent's name. */
static bool commit_parent(struct smig_tgt_chain *c, const struct smig_hello *h, uint32_t i,
                          char *err, size_t err_size)
{
    const char *name = h->parent[i].name;
    struct fat_vol *v = pool_volume();
    bool ok = fat_close(&c->f) == 0;
    c->open = false;
    struct guid g;
    if (!ok || !guid_of(c->tmp, &g)) {
        fmt_snprintf(err, err_size, "parent %s: not a VHDX as received", name);
        return false;
    }
    if (!guid_eq(&g, &h->parent[i].data_write)) {
        fmt_snprintf(err, err_size, "parent %s: its DataWriteGuid is not the HELLO's", name);
        return false;
    }
    if (fat_stat(v, name, &(struct fat_stat){ 0 }) == 0) {
        fmt_snprintf(err, err_size, "parent %s appeared here meanwhile", name);
        return false;
    }
    if (fat_rename(v, c->tmp, name) != 0 || fat_sync(v) != 0) {
        fmt_snprintf(err, err_size, "parent %s: renaming failed", name);
        return false;
    }
    c->tmp[0] = '\0';
    return true;
}

bool smig_tgt_chain_take(struct smig_tgt_chain *c, const struct smig_hello *h,
                         const uint8_t *pl, uint32_t len, void (*say)(const char *line),
                         char *err, size_t err_size)
{
    struct smig_pfile f;
    if (smig_pfile_decode(pl, len, &f, err, err_size))
        return false;
    int rc = smig_pfile_rx_take(&c->rx, &f, err, err_size);
    if (rc < 0)
        return false;
    const char *name = h->parent[f.index].name;
    struct fat_vol *v = pool_volume();
    partition_pool_lock();
    bool ok = true;
    if (!c->open) {
        fmt_snprintf(c->tmp, sizeof(c->tmp), "%s.tmp", name);
        ok = fat_open(v, c->tmp, FAT_O_CREATE | FAT_O_TRUNC, &c->f) == 0;
        c->open = ok;
        if (!ok) {
            fmt_snprintf(err, err_size, "cannot create %s here", c->tmp);
            c->tmp[0] = '\0';
        }
    }
    if (ok && fat_write(&c->f, f.offset, f.bytes, f.length) != (long)f.length) {
        fmt_snprintf(err, err_size, "writing %s: %s", c->tmp, v->err[0] ? v->err : "failed");
        ok = false;
    }
    uint64_t size = c->rx.received;
    if (ok && rc == 2)
        ok = commit_parent(c, h, f.index, err, err_size);
    partition_pool_unlock();
    if (ok && rc == 2) {
        char d[200];
        fmt_snprintf(d, sizeof(d), "parent %s received whole (%lu bytes), DataWriteGuid "
                     "checked; kept as a parent", name, (unsigned long)size);
        say(d);
        smig_pfile_rx_next(&c->rx);
    }
    return ok;
}

void smig_tgt_chain_discard(struct smig_tgt_chain *c)
{
    if (c->open)
        fat_close(&c->f);
    c->open = false;
    if (c->tmp[0] && pool_volume())
        fat_unlink(pool_volume(), c->tmp);
    c->tmp[0] = '\0';
}

bool smig_tgt_chain_create_child(const struct smig_hello *h, const char *name,
                                 const struct vhdx_io *io, char *err, size_t err_size)
{
    const char *pname = h->parent[0].name;
    char rel[256], abs[256];
    if (!vhdx_parent_locator(name, pname, rel, sizeof(rel), abs, sizeof(abs))) {
        fmt_snprintf(err, err_size, "%s: a locator path too long", name);
        return false;
    }
    struct fat_file f;
    struct vhdx_io pio;
    struct vhdx *parent;
    struct vhdx_err verr;
    if (fat_open(pool_volume(), pname, 0, &f) != 0) {
        fmt_snprintf(err, err_size, "parent %s is not here", pname);
        return false;
    }
    pool_vhdx_io(&f, &pio);
    /* With its own chain: a held parent must open here as it is, linkage checked. */
    if (vhdx_open(pool_vhdx_env(), &pio, pname, VHDX_OPEN_READ_ONLY, &parent, &verr)) {
        fmt_snprintf(err, err_size, "parent %s: %s", pname, verr.msg);
        fat_close(&f);
        return false;
    }
    static struct vhdx_info info;   /* the pool's lock */
    vhdx_get_info(parent, &info);
    bool ok = info.disk_size == h->disk_size && info.logical_sector_size == h->sector_size;
    if (!ok)
        fmt_snprintf(err, err_size, "parent %s: another disk size or sector size than the "
                     "disk's", pname);
    struct vhdx_create_params cp = { .block_size = h->block_size, .physical_sector_size = 4096,
                                     .parent = parent, .parent_relative_path = rel,
                                     .parent_absolute_path = abs };
    if (ok && vhdx_create(pool_vhdx_env(), io, &cp, &verr)) {
        fmt_snprintf(err, err_size, "%s: %s", name, verr.msg);
        ok = false;
    }
    vhdx_close(parent, NULL);
    fat_close(&f);
    return ok;
}
