/*
 * The kernel's offload provider: pool files and VHDX images of the storage pool, each call
 * into the pool under the pool's lock (one 1 MiB piece at a time, so partitions' disk I/O
 * interleaves with a long copy).  Files a partition has attached as disks are refused as
 * source and destination: their writes do not go through offload_note_write yet, and a
 * second writable open of a VHDX behind a running partition would corrupt it.
 */
#include "net/kernel/kernel_offload.h"

#include <string.h>

#include <bearssl.h>

#include "hv/arch/x86/tsc.h"
#include "hv/core/partition.h"
#include "hv/core/partition_disks.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/offload/offload_ctl.h"
#include "hv/offload/offload_pool.h"
#include "hv/storage/pool.h"
#include "net/kernel/hw_entropy.h"
#include "net/kernel/kernel_partitions.h"

static uint8_t issuer_id[TOKEN_ISSUER_LEN];
static uint8_t secret[32];
static struct offload_pool pool;
static struct offload_provider provider;
static struct offload_platform inner; /* offload_pool's, wrapped below */

struct locked_io {
    struct offload_io in;
};

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

/* Whether a partition has `name` attached as a disk (takes the pool's lock itself). */
static bool attached(const char *name, char *who, size_t who_size)
{
    struct ctl_partition_info info;
    for (size_t i = 0; kernel_partition_at(NULL, i, &info); i++) {
        struct partition *p = partition_find(info.name);
        for (unsigned d = 0; p && d < PARTITION_MAX_DISKS; d++) {
            char path[160];
            uint8_t guid[16];
            if (partition_disk_identity(p, d, path, sizeof path, guid) && same_path(path, name)) {
                strlcpy(who, info.name, who_size);
                return true;
            }
        }
    }
    return false;
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
    char who[CTL_NAME_MAX + 1];
    if (attached(name, who, sizeof who)) {
        fmt_snprintf(msg, msg_size, "%s: attached to partition %s as a disk", name, who);
        return OFFLOAD_E_BUSY;
    }
    struct locked_io *l = kmalloc(sizeof *l);
    if (!l)
        return fmt_snprintf(msg, msg_size, "out of memory"), OFFLOAD_E_NOMEM;
    partition_pool_lock();
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
    partition_pool_lock();
    inner.close(inner.io_ctx, &l->in);
    partition_pool_unlock();
    kfree(l);
}

static struct offload_provider *make_provider(void)
{
    struct fat_vol *v = pool_volume();
    if (!v || hw_entropy_fill(NULL, secret, sizeof secret) != 0)
        return NULL;
    pool = (struct offload_pool){ v, pool_vhdx_env() };
    offload_pool_platform(&pool, &inner);
    struct offload_platform pf = inner;
    pf.open = k_open;
    pf.close = k_close;
    pf.mac = hmac;
    pf.random = random_bytes;
    pf.now_ms = now_ms;
    offload_init(&provider, &pf, issuer_id);
    return &provider;
}

void kernel_offload_start(const uint8_t issuer[32])
{
    memcpy(issuer_id, issuer, sizeof issuer_id);
    offload_ctl_attach_lazy(make_provider);
}
