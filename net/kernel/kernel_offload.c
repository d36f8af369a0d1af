/*
 * The kernel's offload provider: pool files and VHDX images of the storage pool, each call
 * into the pool under the pool's lock (one 1 MiB piece at a time, so partitions' disk I/O
 * interleaves with a long copy).  It observes the pool's writes (pool_write_observer.h):
 * the partitions' guest writes and trims, and FAT32's replace, rename and remove, revoke
 * the tokens they touch.  A disk a partition has attached may be an offload source: it is
 * read through the partition's own open VHDX (a second open would refuse its live log),
 * and a guest write to the range revokes the token.  It may not be a destination: the
 * guest owns its disk's contents, and a second writable open would corrupt the image.
 */
#include "net/kernel/kernel_offload.h"

#include <string.h>


#include "hv/arch/x86/spinlock.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/partition.h"
#include "hv/arch/x86/console.h"
#include "hv/core/partition_disks.h"
#include "hv/core/partition_pause.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/offload/offload_ctl.h"
#include "hv/offload/offload_pool.h"
#include "hv/storage/pool.h"
#include "net/kernel/hw_entropy.h"
#include "net/kernel/kernel_partitions.h"
#include "net/tls/tls_grant.h"

static uint8_t issuer_id[TOKEN_ISSUER_LEN];
static uint8_t secret[32];
static struct offload_pool pool;
static struct offload_provider provider;
static struct offload_platform inner; /* offload_pool's, wrapped below */

static struct grant_checker checker; /* grants other hosts present (offload_link.c) */
static const uint8_t (*initiators)[TLS_FP_SIZE]; /* control-clients: who may sign grants */
static size_t initiator_count;

static spinlock_t table = SPINLOCK_INIT;     /* the live-token table: pool lock, then this */
static uint64_t table_flags;

struct locked_io {
    struct offload_io in;
    /* A disk attached to a partition, read through its open VHDX, found again by name at
     * each call (the partition may have detached or switched it meanwhile). */
    bool shared;
    char part[CTL_NAME_MAX + 1];
    char path[160];
    unsigned disk;
    struct vhdx *vhdx;
};

static void table_lock(void *ctx) { table_flags = spin_lock_irqsave(&table); }
static void table_unlock(void *ctx) { spin_unlock_irqrestore(&table, table_flags); }

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, secret, sizeof secret);
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}

static void random_bytes(void *ctx, void *buf, size_t len)
{
    if (hw_entropy_fill(NULL, buf, len) == 0)
        return;
    for (size_t i = 0; i < len; i += 4) { /* not a key: a token id must only not repeat */
        uint32_t r = hw_random_u32();
        memcpy((uint8_t *)buf + i, &r, len - i < 4 ? len - i : 4);
    }
}

static uint64_t now_ms(void *ctx) { return time_ns() / 1000000; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static bool same_path(const char *a, const char *b)
{
    a += *a == '/', b += *b == '/';
    for (; *a && lower(*a) == lower(*b); a++, b++)
        ;
    return lower(*a) == lower(*b);
}

/* Whether a partition has `name` attached as a disk: which, its disk index and the path
 * as it spelled it (takes the pool's lock itself). */
static bool attached(const char *name, struct locked_io *l)
{
    struct ctl_partition_info info;
    for (size_t i = 0; kernel_partition_at(NULL, i, &info); i++) {
        struct partition *p = partition_find(info.name);
        for (unsigned d = 0; p && d < PARTITION_MAX_DISKS; d++) {
            uint8_t guid[16];
            if (partition_disk_identity(p, d, l->path, sizeof l->path, guid) &&
                same_path(l->path, name)) {
                strlcpy(l->part, info.name, sizeof l->part);
                l->disk = d;
                return true;
            }
        }
    }
    return false;
}

/* The pool's lock held: the attached disk's open VHDX, if it is still the one opened. */
static struct vhdx *shared_vhdx(struct locked_io *l)
{
    struct partition *p = partition_find(l->part);
    if (!p || partition_disk_find(p, l->path) != (int)l->disk)
        return NULL;
    struct vhdx *v = partition_disk_vhdx(p, l->disk);
    return l->vhdx && v != l->vhdx ? NULL : v;
}

static int s_read(void *h, uint64_t off, void *buf, size_t len)
{
    partition_pool_lock();
    struct vhdx *v = shared_vhdx(h);
    int rc = v && vhdx_read(v, off, buf, len, NULL) == VHDX_OK ? 0 : -1;
    partition_pool_unlock();
    return rc;
}

static int s_write(void *h, uint64_t off, const void *buf, size_t len) { return -1; }
static int s_flush(void *h) { return 0; }

static int s_zero_extent(void *h, uint64_t off, uint64_t len, bool *zero, uint64_t *run)
{
    partition_pool_lock();
    struct vhdx *v = shared_vhdx(h);
    bool present = true;
    int rc = v && vhdx_layer_extent(v, off, len, &present, run, NULL) == VHDX_OK ? 0 : -1;
    *zero = !rc && !present && !vhdx_parent(v);
    partition_pool_unlock();
    return rc;
}

/* The pool's lock held: io over the attached disk's own VHDX; false when it is raw. */
static bool open_shared(struct locked_io *l, struct offload_io *io)
{
    struct vhdx *v = shared_vhdx(l);
    if (!v)
        return false;
    struct vhdx_info info;
    vhdx_get_info(v, &info);
    l->vhdx = v;
    l->shared = true;
    memset(io, 0, sizeof(*io));
    io->h = l;
    io->size = info.disk_size;
    io->granule = info.logical_sector_size;
    io->data_write_guid = info.data_write_guid;
    io->read = s_read, io->write = s_write, io->flush = s_flush;
    io->zero_extent = s_zero_extent;
    return true;
}

static int l_read(void *h, uint64_t off, void *buf, size_t len)
{
    struct locked_io *l = h;
    partition_pool_lock();
    int rc = l->in.read(l->in.h, off, buf, len);
    partition_pool_unlock();
    return rc;
}

static int l_write(void *h, uint64_t off, const void *buf, size_t len)
{
    struct locked_io *l = h;
    partition_pool_lock();
    int rc = l->in.write(l->in.h, off, buf, len);
    partition_pool_unlock();
    return rc;
}

static int l_flush(void *h)
{
    struct locked_io *l = h;
    partition_pool_lock();
    int rc = l->in.flush(l->in.h);
    partition_pool_unlock();
    return rc;
}

static int l_zero_extent(void *h, uint64_t off, uint64_t len, bool *zero, uint64_t *run)
{
    struct locked_io *l = h;
    partition_pool_lock();
    int rc = l->in.zero_extent(l->in.h, off, len, zero, run);
    partition_pool_unlock();
    return rc;
}

static int l_punch(void *h, uint64_t off, uint64_t len)
{
    struct locked_io *l = h;
    partition_pool_lock();
    int rc = l->in.punch(l->in.h, off, len);
    partition_pool_unlock();
    return rc;
}

static int k_open(void *ctx, uint8_t kind, const char *name, bool writable,
                  struct offload_io *io, char *msg, size_t msg_size)
{
    struct locked_io *l = kmalloc(sizeof *l);
    if (!l)
        return fmt_snprintf(msg, msg_size, "out of memory"), OFFLOAD_E_NOMEM;
    memset(l, 0, sizeof(*l));
    bool in_use = attached(name, l);
    if (in_use && writable) {
        fmt_snprintf(msg, msg_size, "%s: attached to partition %s as a disk: its guest owns "
                     "its contents", name, l->part);
        kfree(l);
        return OFFLOAD_E_BUSY;
    }
    partition_pool_lock();
    if (in_use && kind == TOKEN_RANGE_DISK && open_shared(l, io)) {
        partition_pool_unlock();
        return OFFLOAD_OK;
    }
    int rc = inner.open(inner.io_ctx, kind, name, writable, &l->in, msg, msg_size);
    partition_pool_unlock();
    if (rc) {
        kfree(l);
        return rc;
    }
    *io = l->in;
    io->h = l;
    io->read = l_read, io->write = l_write, io->flush = l_flush;
    io->zero_extent = l->in.zero_extent ? l_zero_extent : NULL;
    io->punch = l->in.punch ? l_punch : NULL;
    return OFFLOAD_OK;
}

static void k_close(void *ctx, struct offload_io *io)
{
    struct locked_io *l = io->h;
    if (!l->shared) {
        partition_pool_lock();
        inner.close(inner.io_ctx, &l->in);
        partition_pool_unlock();
    }
    kfree(l);
}

/*
 * A source a partition has attached (boot CPU, as the control server runs): the partition
 * is paused (its disks finish what they took), the disk closes its file, the clone is made
 * (the file becomes the base), and the disk opens its name again: the new child, or the
 * old file where the clone did not happen.  A disk with a live job is copied instead.
 */
static int clone_attached(const struct offload_clone *c, const struct locked_io *l, char *msg,
                          size_t msg_size)
{
    struct partition *p = partition_find(l->part);
    struct partition_pause at;
    char err[160];
    if (!p || !partition_pause(p, &at, err, sizeof err))
        return OFFLOAD_CLONE_DECLINED;
    int rc = OFFLOAD_CLONE_DECLINED;
    partition_pool_lock();
    if (partition_disk_find(p, l->path) == (int)l->disk && partition_disk_vhdx(p, l->disk) &&
        !partition_disk_has_job(p, l->disk) &&
        partition_disk_switch_file(p, l->disk, NULL, 0, err, sizeof err)) {
        rc = inner.clone(inner.io_ctx, c, msg, msg_size);
        if (!partition_disk_switch_file(p, l->disk, l->path, 0, err, sizeof err)) {
            partition_disk_fail(p, l->disk);
            kprintf("offload: %s: disk %s could not be opened again after its clone: %s\n",
                    l->part, l->path, err);
        } else if (rc == OFFLOAD_OK) {
            kprintf("offload: %s: disk %s cloned while attached; it goes on on the new "
                    "child\n", l->part, l->path);
        }
    }
    partition_pool_unlock();
    partition_resume(p, &at);
    return rc;
}

/* A linked clone renames the source's file and replaces the destination's: the
 * destination may not be attached to a partition (the copy path then refuses it); an
 * attached source is switched to its new child in a pause. */
static int k_clone(void *ctx, const struct offload_clone *c, char *msg, size_t msg_size)
{
    struct locked_io l;
    memset(&l, 0, sizeof l);
    if (attached(c->dst, &l))
        return OFFLOAD_CLONE_DECLINED;
    memset(&l, 0, sizeof l);
    if (attached(c->src, &l))
        return clone_attached(c, &l, msg, msg_size);
    partition_pool_lock();
    int rc = inner.clone(inner.io_ctx, c, msg, msg_size);
    partition_pool_unlock();
    return rc;
}

static struct offload_provider *make_provider(void)
{
    static bool made;
    if (made)
        return &provider;
    struct fat_vol *v = pool_volume();
    if (!v || hw_entropy_fill(NULL, secret, sizeof secret) != 0)
        return NULL;
    pool = (struct offload_pool){ v, pool_vhdx_env(), .share_blocks = true };
    offload_pool_platform(&pool, &inner);
    struct offload_platform pf = inner;
    pf.open = k_open;
    pf.close = k_close;
    pf.clone = k_clone;
    pf.mac = hmac;
    pf.random = random_bytes;
    pf.now_ms = now_ms;
    pf.lock = table_lock;
    pf.unlock = table_unlock;
    offload_init(&provider, &pf, issuer_id);
    if (offload_pool_observe(&provider) != 0)
        return NULL;    /* unobserved, tokens could outlive their data: none at all */
    made = true;
    return &provider;
}

struct offload_provider *kernel_offload_provider(void)
{
    return make_provider();
}

/* ---- grants: BearSSL's crypto (net/tls/tls_grant.c), the manifest's control-clients ---- */


static bool g_trusted(void *ctx, const uint8_t fp[GRANT_FP_LEN])
{
    for (size_t i = 0; i < initiator_count; i++)
        if (!memcmp(initiators[i], fp, GRANT_FP_LEN))
            return true;
    return false;
}

struct grant_checker *kernel_offload_grants(void)
{
    return &checker;
}

void kernel_offload_start(const uint8_t issuer[32], const uint8_t (*trusted)[32], size_t count)
{
    memcpy(issuer_id, issuer, sizeof issuer_id);
    initiators = trusted;
    initiator_count = count;
    memset(&checker, 0, sizeof checker);
    memcpy(checker.self, issuer, GRANT_FP_LEN);
    checker.crypto = &tls_grant_verifier;
    checker.trusted = g_trusted;
    offload_ctl_attach_lazy(make_provider);
}
