/*
 * Linked clones of a pool VHDX (hv/storage/pool_clone.h).  The steps, for source S,
 * destination D and a fresh base name B beside S:
 *   1. S~clone and D~clone are made as differencing disks of S as it is (parent_linkage:
 *      S's DataWriteGuid, locator: B's name), written and flushed;
 *   2. commit: fat_link(S, B), then fat_forget(S): S's file is now B, unchanged;
 *   3. for each work file T = NAME~clone: NAME's old file goes (D's), T takes NAME
 *      (fat_link, then fat_forget).
 * A cut before B exists leaves S as it was; recovery removes the work files.  A cut after
 * finds B, and recovery does step 3 for whatever work file is left, recognising each half
 * done link by the cluster its names share.
 */
#include "hv/storage/pool_clone.h"

#include <string.h>

#include "hv/lib/format.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/vhdx_parent_path.h"

#define PATH_MAX_LEN 256u

struct image {
    struct fat_file f;
    struct vhdx_io io;
    struct vhdx *d;
};

/* Opens path as a VHDX read-only; VHDX_E_* or FAT_E_NOT_FOUND's VHDX_E_IO. */
static int image_open(struct fat_vol *v, const struct vhdx_env *env, const char *path,
                      unsigned flags, struct image *im, struct vhdx_err *err)
{
    memset(im, 0, sizeof(*im));
    int rc = fat_open(v, path, 0, &im->f);
    if (rc) {
        fmt_snprintf(err->msg, sizeof err->msg, "%s: %s", path, fat_status_name(rc));
        return err->code = rc == FAT_E_NOT_FOUND || rc == FAT_E_IS_DIR ? VHDX_E_INVALID
                                                                        : VHDX_E_IO;
    }
    pool_vhdx_io(&im->f, &im->io);
    rc = vhdx_open(env, &im->io, path, flags | VHDX_OPEN_READ_ONLY, &im->d, err);
    if (rc)
        fat_close(&im->f);
    return rc;
}

static void image_close(struct image *im)
{
    if (im->d)
        vhdx_close(im->d, NULL);
    fat_close(&im->f);
    im->d = NULL;
}

/* ---- names ------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && fat_same_path(s + n - m, suffix);
}

/* Bytes of path before its last component (0 for the root's files). */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

/* The pool path of the parent an image's locator names: relative first. */
static bool parent_of(struct fat_vol *v, const char *child, const struct vhdx_info *info,
                      char *out, size_t size, struct fat_stat *st)
{
    for (int rel = 1; rel >= 0; rel--) {
        const char *loc = rel ? info->parent_relative_path : info->parent_absolute_path;
        if (loc[0] && vhdx_parent_pool_path(child, loc, rel, out, size) &&
            fat_stat(v, out, st) == FAT_OK && !st->is_dir)
            return true;
    }
    return false;
}

/* ---- the pool's images ------------------------------------------------------------- */

struct scan {
    struct fat_vol *v;
    char (*names)[PATH_MAX_LEN];
    uint32_t count, cap;
    const char *suffix;     /* the files to collect */
    const char *suffix2;
    char dir[PATH_MAX_LEN];
    bool full;
};

static bool collect(void *ctx, const char *name, const struct fat_stat *st)
{
    struct scan *s = ctx;
    if (s->count >= s->cap) {
        s->full = true;
        return true;
    }
    if (!st->is_dir && !ends_with(name, s->suffix) && !(s->suffix2 && ends_with(name, s->suffix2)))
        return false;
    int n = fmt_snprintf(s->names[s->count], PATH_MAX_LEN, "%s%s%s%s", s->dir,
                         s->dir[0] ? "/" : "", name, st->is_dir ? "/" : "");
    if (n > 0 && (size_t)n < PATH_MAX_LEN)
        s->count++;
    return false;
}

/* Every file under the root whose name ends in one of the suffixes, folders walked
 * breadth-first (their names, ending in '/', are dropped once walked). */
static int scan_pool(struct scan *s)
{
    int rc = fat_list(s->v, "/", collect, s);
    for (uint32_t i = 0; !rc && i < s->count && !s->full; i++) {
        size_t n = strlen(s->names[i]);
        if (!n || s->names[i][n - 1] != '/')
            continue;
        memcpy(s->dir, s->names[i], n - 1);
        s->dir[n - 1] = '\0';
        s->names[i][0] = '\0';
        rc = fat_list(s->v, s->dir, collect, s);
    }
    return s->full ? FAT_E_NOSPC : rc;
}

/* Whether an image's name: the pool finds its images (a clone's children) by suffix. */
static bool image_name(const char *path)
{
    return ends_with(path, ".vhdx") || ends_with(path, ".avhdx");
}

/* Whether a file begins as a VHDX does ("vhdxfile"): damaged or not, it may be an image. */
static bool vhdx_signed(struct fat_vol *v, const char *path)
{
    struct fat_file f;
    char sig[8];
    if (fat_open(v, path, 0, &f) != FAT_OK)
        return true;    /* unreadable now: it may be */
    long n = fat_read(&f, 0, sig, sizeof sig);
    fat_close(&f);
    return n != (long)sizeof sig || !memcmp(sig, "vhdxfile", sizeof sig);
}

/*
 * Whether any image of the pool names src as its parent; -1 when that cannot be told.
 * strict (before removing a base): every file of the pool is looked at, whatever its name
 * (a child a clone of an older build made under another name), and one that begins as a
 * VHDX but cannot be opened may be a child too; else only images named so are, and only
 * one that cannot be read now (in use, a live log) counts as a maybe.
 */
static int has_children(struct fat_vol *v, const struct vhdx_env *env, const char *src,
                        bool strict, char *msg, size_t msg_size)
{
    struct scan s = { .v = v, .cap = POOL_CLONE_SCAN_MAX, .suffix = strict ? "" : ".vhdx",
                      .suffix2 = ".avhdx" };
    s.names = env->alloc(env->ctx, sizeof(*s.names) * s.cap);
    if (!s.names)
        return fmt_snprintf(msg, msg_size, "out of memory"), -1;
    int found = scan_pool(&s) ? -1 : 0;
    if (found)
        fmt_snprintf(msg, msg_size, "more %s in the pool than a clone checks (%u)",
                     strict ? "files" : "images", POOL_CLONE_SCAN_MAX);
    for (uint32_t i = 0; !found && i < s.count; i++) {
        const char *name = s.names[i];
        if (!name[0] || name[strlen(name) - 1] == '/' || fat_same_path(name, src))
            continue;
        struct image im;
        struct vhdx_err err;
        int rc = image_open(v, env, name, VHDX_OPEN_NO_PARENT, &im, &err);
        if (rc == VHDX_E_READ_ONLY || rc == VHDX_E_IO || rc == VHDX_E_NOMEM ||
            (rc && strict && vhdx_signed(v, name))) {
            found = -1;  /* in use (a live log) or unreadable now: it might be a child */
            fmt_snprintf(msg, msg_size, "cannot tell whether %s is a child of %s: %s", name,
                         src, err.msg);
            break;
        }
        if (rc)
            continue;   /* not an image at all: not a child anything can open either */
        struct vhdx_info info;
        vhdx_get_info(im.d, &info);
        char parent[PATH_MAX_LEN];
        struct fat_stat st;
        if (info.has_parent && parent_of(v, name, &info, parent, sizeof parent, &st) &&
            fat_same_path(parent, src)) {
            found = 1;
            fmt_snprintf(msg, msg_size, "%s is the parent of %s", src, name);
        }
        image_close(&im);
    }
    env->free(env->ctx, s.names);
    return found;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }
static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f');
}

bool pool_clone_is_base(const char *path)
{
    static const char tag[] = "-base-";
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    size_t n = strlen(name), tail = sizeof tag - 1 + 8 + 5;    /* -base-XXXXXXXX.vhdx */
    if (n <= tail || !ends_with(name, ".vhdx"))
        return false;
    const char *t = name + n - tail;
    for (size_t i = 0; i < sizeof tag - 1; i++)
        if (lower(t[i]) != tag[i])
            return false;
    for (size_t i = 0; i < 8; i++)
        if (!is_hex(t[sizeof tag - 1 + i]))
            return false;
    return true;
}

/* ---- step 3 and recovery ----------------------------------------------------------- */

/* Puts work file t (NAME~clone) in place, or removes it when its clone never committed. */
static int settle(struct fat_vol *v, const struct vhdx_env *env, const char *t)
{
    char name[PATH_MAX_LEN], parent[PATH_MAX_LEN];
    size_t n = strlen(t) - strlen(POOL_CLONE_SUFFIX);
    if (n == 0 || n >= sizeof name)
        return FAT_E_INVALID;
    memcpy(name, t, n);
    name[n] = '\0';
    struct image im;
    struct vhdx_err err;
    int rc = image_open(v, env, t, VHDX_OPEN_NO_PARENT, &im, &err);
    if (rc == VHDX_E_IO)
        return FAT_E_IO;
    bool committed = false;
    struct fat_stat pst, nst, tst;
    if (!rc) {
        struct vhdx_info info;
        vhdx_get_info(im.d, &info);
        committed = info.has_parent && parent_of(v, t, &info, parent, sizeof parent, &pst);
        image_close(&im);
    }
    if (!committed)     /* damaged (cut while it was made) or its base never came to be */
        return fat_unlink(v, t);
    if ((rc = fat_stat(v, t, &tst)))
        return rc;
    rc = fat_stat(v, name, &nst);
    if (rc == FAT_OK) {
        if (nst.first_cluster && nst.first_cluster == tst.first_cluster)
            return fat_forget(v, t);            /* cut after the link: only t's name goes */
        if (nst.first_cluster && nst.first_cluster == pst.first_cluster)
            rc = fat_forget(v, name);           /* cut inside the commit: S is B's file */
        else
            rc = fat_unlink(v, name);           /* the destination's old file */
    } else if (rc == FAT_E_NOT_FOUND) {
        rc = FAT_OK;
    }
    if (!rc)
        rc = fat_link(v, t, name);
    return rc ? rc : fat_forget(v, t);
}

/* Removes the clone bases no image names (their last child went, and a cut came before
 * they did); a base that might still have a child stays.  Returns how many went. */
static int collect_bases(struct fat_vol *v, const struct vhdx_env *env)
{
    struct scan s = { .v = v, .cap = POOL_CLONE_SCAN_MAX, .suffix = ".vhdx" };
    s.names = env->alloc(env->ctx, sizeof(*s.names) * s.cap);
    if (!s.names)
        return FAT_E_NOSPC;
    int rc = scan_pool(&s), done = 0;
    char why[200];
    for (uint32_t i = 0; !rc && i < s.count; i++) {
        const char *b = s.names[i];
        if (!b[0] || b[strlen(b) - 1] == '/' || !pool_clone_is_base(b) ||
            has_children(v, env, b, true, why, sizeof why) != 0)
            continue;
        rc = fat_unlink(v, b);
        done++;
    }
    env->free(env->ctx, s.names);
    return rc ? rc : done;
}

int pool_clone_recover(struct fat_vol *v, const struct vhdx_env *env)
{
    struct scan s = { .v = v, .cap = POOL_CLONE_SCAN_MAX, .suffix = POOL_CLONE_SUFFIX };
    s.names = env->alloc(env->ctx, sizeof(*s.names) * s.cap);
    if (!s.names)
        return FAT_E_NOSPC;
    int rc = scan_pool(&s), done = 0;
    for (uint32_t i = 0; !rc && i < s.count; i++) {
        const char *t = s.names[i];
        size_t n = strlen(t);
        if (!n || t[n - 1] == '/')
            continue;
        rc = settle(v, env, t);
        done++;
    }
    env->free(env->ctx, s.names);
    if (rc)
        return rc;
    /* after settling, every clone is whole; a base whose last child was a base that went
     * is seen in the next round */
    for (unsigned round = 0; round < POOL_CLONE_DEPTH_MAX; round++) {
        int bases = collect_bases(v, env);
        if (bases <= 0)
            return bases < 0 ? bases : done;
        done += bases;
    }
    return done;
}

/* ---- the pool's delete ------------------------------------------------------------- */

/* Opens path as an image: base gets its parent's pool path where that is a clone's base
 * ("" otherwise).  A VHDX_E_* status (not an image, or not readable now). */
static int base_of_image(struct fat_vol *v, const struct vhdx_env *env, const char *path,
                         char *base, size_t size, struct vhdx_err *err)
{
    struct image im;
    base[0] = '\0';
    int rc = image_open(v, env, path, VHDX_OPEN_NO_PARENT, &im, err);
    if (rc)
        return rc;
    struct vhdx_info info;
    struct fat_stat st;
    vhdx_get_info(im.d, &info);
    if (!info.has_parent || !parent_of(v, path, &info, base, size, &st) ||
        !pool_clone_is_base(base))
        base[0] = '\0';
    image_close(&im);
    return VHDX_OK;
}

int pool_clone_delete(struct fat_vol *v, const struct vhdx_env *env, const char *path,
                      bool (*in_use)(const char *path), char *msg, size_t msg_size)
{
    struct fat_stat st;
    int rc = fat_stat(v, path, &st);
    if (rc == FAT_E_NOT_FOUND || (!rc && st.is_dir))
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED, "%s",
                        rc ? "no such file in the pool" : "a folder, not a file");
    if (rc)
        return fmt_fail(msg, msg_size, POOL_CLONE_FAILED, "%s: %s", path, fat_status_name(rc));
    char base[PATH_MAX_LEN], next[PATH_MAX_LEN], why[200], gone[2 * PATH_MAX_LEN] = "";
    struct vhdx_err err;
    rc = base_of_image(v, env, path, base, sizeof base, &err);
    if (rc == VHDX_E_IO || rc == VHDX_E_READ_ONLY || rc == VHDX_E_NOMEM)
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED,
                        "cannot tell whether %s is some image's parent: %s", path, err.msg);
    /* an image: not while some image names it as its parent */
    if (!rc && has_children(v, env, path, false, why, sizeof why) != 0)
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED, "%s", why);
    if ((rc = fat_unlink(v, path)))     /* synced: gone before its base goes */
        return fmt_fail(msg, msg_size, POOL_CLONE_FAILED, "%s: %s", path, v->err);
    /* then each base up the chain that no image names any more, child before parent */
    for (unsigned depth = 0; base[0] && depth < POOL_CLONE_DEPTH_MAX; depth++) {
        int kids = has_children(v, env, base, true, why, sizeof why);
        if (!kids && in_use && in_use(base))
            kids = 1, fmt_snprintf(why, sizeof why, "a partition has it attached");
        if (kids)
            return fmt_fail(msg, msg_size, POOL_CLONE_OK, "removed%s%s; its base %s stays (%s%s)",
                            gone[0] ? ", with " : "", gone, base, why,
                            kids < 0 ? "; the next mount removes it if it has no child" : "");
        if (base_of_image(v, env, base, next, sizeof next, &err))
            next[0] = '\0';
        if ((rc = fat_unlink(v, base)))
            return fmt_fail(msg, msg_size, POOL_CLONE_FAILED, "removed%s%s, but not the base %s, "
                            "which no image names: %s (the next mount removes it)",
                            gone[0] ? ", with " : "", gone, base, v->err);
        size_t n = strlen(gone);
        fmt_snprintf(gone + n, sizeof gone - n, "%s%s", n ? ", " : "its base ", base);
        memcpy(base, next, sizeof base);
    }
    return fmt_fail(msg, msg_size, POOL_CLONE_OK, "removed%s%s%s", gone[0] ? ", with " : "", gone,
                    gone[0] ? " (no child left)" : "");
}

/* ---- the clone --------------------------------------------------------------------- */

/* Makes work file t a differencing disk of the open source, its locator naming base. */
static int make_child(struct fat_vol *v, const struct vhdx_env *env, struct vhdx *src,
                      const struct vhdx_info *si, const char *t, const char *base,
                      char *msg, size_t msg_size)
{
    char rel[PATH_MAX_LEN], abs[PATH_MAX_LEN];
    if (!vhdx_parent_locator(t, base, rel, sizeof rel, abs, sizeof abs))
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED, "%s: path too long", t);
    struct image im;
    memset(&im, 0, sizeof im);
    int rc = fat_open(v, t, FAT_O_CREATE | FAT_O_EXCL, &im.f);
    if (rc)
        return fmt_fail(msg, msg_size, rc == FAT_E_EXISTS ? POOL_CLONE_DECLINED : POOL_CLONE_FAILED,
                        "%s: %s", t, fat_status_name(rc));
    pool_vhdx_io(&im.f, &im.io);
    struct vhdx_create_params p = { .physical_sector_size = si->physical_sector_size,
                                    .parent = src, .parent_relative_path = rel,
                                    .parent_absolute_path = abs };
    struct vhdx_err err;
    rc = vhdx_create(env, &im.io, &p, &err);
    if (!rc && fat_flush(&im.f)) {
        rc = VHDX_E_IO;
        fmt_snprintf(err.msg, sizeof err.msg, "flushing failed");
    }
    fat_close(&im.f);
    if (rc) {
        fat_unlink(v, t);   /* not left for the next clone to trip on (or the next mount) */
        return fmt_fail(msg, msg_size, POOL_CLONE_FAILED, "%s: %s", t, err.msg);
    }
    return POOL_CLONE_OK;
}

static unsigned depth_of(struct vhdx *d)
{
    unsigned n = 0;
    for (; d; d = vhdx_parent(d))
        n++;
    return n;
}

/* The checks that decide whether the clone may go ahead; src and dst open. */
static int eligible(struct fat_vol *v, const struct vhdx_env *env, const struct pool_clone_req *r,
                    struct image *src, struct image *dst, char *msg, size_t msg_size)
{
    struct vhdx_info si, di;
    vhdx_get_info(src->d, &si);
    vhdx_get_info(dst->d, &di);
    if (r->src_data_write_guid && !guid_eq(r->src_data_write_guid, &si.data_write_guid))
        return fmt_fail(msg, msg_size, POOL_CLONE_CHANGED, "%s changed since issue", r->src);
    if (r->length != si.disk_size || di.disk_size != si.disk_size ||
        di.logical_sector_size != si.logical_sector_size)
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED,
                        "not a whole disk onto a disk of the same size and sector size");
    if (depth_of(src->d) >= POOL_CLONE_DEPTH_MAX)
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED, "%s: its chain is %u deep already",
                        r->src, POOL_CLONE_DEPTH_MAX);
    int kids = has_children(v, env, r->src, false, msg, msg_size);
    if (kids)
        return POOL_CLONE_DECLINED;  /* renaming it would cut its children off */
    return POOL_CLONE_OK;
}

/* A fresh base name beside src: "STEM-base-XXXXXXXX.vhdx". */
static bool base_name(struct fat_vol *v, const struct vhdx_env *env, const char *src, char *out,
                      size_t size)
{
    size_t d = dir_len(src), n = strlen(src);
    const char *dot = strrchr(src + d, '.');
    size_t stem = dot ? (size_t)(dot - src) : n;
    for (int tries = 0; tries < 4; tries++) {
        struct guid g;
        env->random_guid(env->ctx, &g);
        int k = fmt_snprintf(out, size, "%.*s-base-%02x%02x%02x%02x.vhdx", (int)stem, src,
                             g.b[0], g.b[1], g.b[2], g.b[3]);
        struct fat_stat st;
        if (k > 0 && (size_t)k < size && fat_stat(v, out, &st) == FAT_E_NOT_FOUND)
            return true;
    }
    return false;
}

int pool_clone(struct fat_vol *v, const struct vhdx_env *env, const struct pool_clone_req *r,
               char *msg, size_t msg_size)
{
    char base[PATH_MAX_LEN], ts[PATH_MAX_LEN], td[PATH_MAX_LEN];
    if (fat_same_path(r->src, r->dst) || ends_with(r->src, POOL_CLONE_SUFFIX) ||
        ends_with(r->dst, POOL_CLONE_SUFFIX))
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED, "not two distinct disks");
    if (!image_name(r->src) || !image_name(r->dst))
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED,
                        "a clone's disks are named *.vhdx or *.avhdx "
                        "(the pool finds its children so)");
    int a = fmt_snprintf(ts, sizeof ts, "%s%s", r->src, POOL_CLONE_SUFFIX);
    int b = fmt_snprintf(td, sizeof td, "%s%s", r->dst, POOL_CLONE_SUFFIX);
    if (a <= 0 || (size_t)a >= sizeof ts || b <= 0 || (size_t)b >= sizeof td)
        return fmt_fail(msg, msg_size, POOL_CLONE_DECLINED, "name too long for a clone");
    struct image src, dst;
    struct vhdx_err err;
    int rc = image_open(v, env, r->src, 0, &src, &err);
    if (rc)
        return fmt_fail(msg, msg_size, rc == VHDX_E_IO ? POOL_CLONE_FAILED : POOL_CLONE_DECLINED,
                        "%s", err.msg);
    rc = image_open(v, env, r->dst, VHDX_OPEN_NO_PARENT, &dst, &err);
    if (rc) {
        image_close(&src);
        return fmt_fail(msg, msg_size, rc == VHDX_E_IO ? POOL_CLONE_FAILED : POOL_CLONE_DECLINED,
                        "%s", err.msg);
    }
    rc = eligible(v, env, r, &src, &dst, msg, msg_size);
    image_close(&dst);
    if (!rc && !base_name(v, env, r->src, base, sizeof base))
        rc = fmt_fail(msg, msg_size, POOL_CLONE_DECLINED, "no free name for the base of %s",
                      r->src);
    struct vhdx_info si;
    vhdx_get_info(src.d, &si);
    bool made_s = false, made_d = false;
    if (!rc) {
        rc = make_child(v, env, src.d, &si, ts, base, msg, msg_size);
        made_s = rc == POOL_CLONE_OK;
    }
    if (!rc) {
        rc = make_child(v, env, src.d, &si, td, base, msg, msg_size);
        made_d = rc == POOL_CLONE_OK;
    }
    if (!rc && r->still_valid && !r->still_valid(r->ctx))
        rc = fmt_fail(msg, msg_size, POOL_CLONE_CHANGED, "%s changed since issue", r->src);
    image_close(&src);   /* a name of an open file must not move */
    if (!rc) {
        /* the commit: once B names S's file, the clone happened */
        rc = fat_link(v, r->src, base);
        if (rc)
            rc = fmt_fail(msg, msg_size, POOL_CLONE_FAILED, "%s: %s", base, v->err);
        else if (r->committed)
            r->committed(r->ctx, base);
    }
    if (rc) {
        if (made_s)
            fat_unlink(v, ts);
        if (made_d)
            fat_unlink(v, td);
        return rc;
    }
    if (fat_forget(v, r->src) || settle(v, env, ts) || settle(v, env, td))
        return fmt_fail(msg, msg_size, POOL_CLONE_FAILED,
                        "%s: %s (the clone happened; the pool's next mount finishes it)", r->src,
                        v->err);
    return POOL_CLONE_OK;
}
