/*
 * Restoring a partition from a snapshot file (hv/core/snapshot.h).  Everything is checked
 * before anything is created: the header, every region's CRC-32C, every block (read,
 * checked, decoded) and the RAM's CRC-32C, then each disk's DataWriteGuid against the one
 * at the snapshot.  Only then is the partition created from the stored manifest section,
 * its RAM loaded block by block, and its vCPUs and devices restored from the state stream
 * (checkpoint_restore_stream), after which it runs.
 */
#include "hv/core/snapshot.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/checkpoint.h"
#include "hv/core/partition_create.h"
#include "hv/core/partition_disks.h"
#include "hv/core/run.h"
#include "hv/core/sched.h"
#include "hv/core/snapshot_lazy.h"
#include "hv/core/snapshot_pool.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/guid.h"
#include "hv/mm/kmem.h"
#include "hv/snapshot/snap_codec.h"
#include "hv/snapshot/snap_file.h"
#include "hv/storage/pool.h"
#include "hv/storage/vhdx.h"

#define BLOCK_PAGES (SNAP_BLOCK_SIZE / 4096)
/* A partition that has ended lets its vCPUs go within a time slice; freeing its RAM takes
 * seconds under an emulator. */
#define ENDED_TIMEOUT_NS 10000000000ull

void restore_file_free(struct restore_file *r)
{
    if (r->codec)
        kmem_free_pages(r->codec, r->codec_pages);
    if (r->buf)
        kmem_free_pages(r->buf, BLOCK_PAGES);
    if (r->block)
        kmem_free_pages(r->block, BLOCK_PAGES);
    if (r->state)
        kmem_free_pages(r->state, r->state_pages);
    snapshot_pool_close(&r->pf);
    kfree(r);
}

static bool name_valid(const char *s)
{
    size_t n = strnlen(s, PARTITION_NAME_LEN);
    if (!n || n >= PARTITION_NAME_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* Every block read, checked and decoded; the RAM they make has the header's CRC-32C. */
static bool check_blocks(struct restore_file *r, char *err, size_t err_size)
{
    uint32_t crc = 0;
    for (uint32_t i = 0; i < r->h.block_count; i++) {
        if (snap_read_block(&r->io, &r->h, i, r->codec, r->buf, r->block, err, err_size))
            return false;
        crc = crc32c(crc, r->block, SNAP_BLOCK_SIZE);
    }
    if (crc != r->h.ram_crc) {
        fmt_snprintf(err, err_size, "its blocks decode to RAM with CRC-32C 0x%08x, the header "
                     "says 0x%08x", crc, r->h.ram_crc);
        return false;
    }
    return true;
}

/* The DataWriteGuid of a pool disk now: from the partition that has it attached, or read
 * from the file.  0 and *user (NULL when no partition has it), or -1 with err. */
static int disk_guid_now(const char *path, uint8_t guid[16], struct partition **user,
                         char *err, size_t err_size)
{
    *user = NULL;
    for (unsigned i = 0; i < partition_count; i++) {
        struct partition *p = partitions[i];
        if (!p || p->finished || p->state == PART_DEAD)
            continue;
        for (unsigned d = 0; d < p->disk_count; d++) {
            char have[128];
            if (partition_disk_identity(p, d, have, sizeof(have), guid) && !strcmp(have, path)) {
                *user = p;
                return 0;
            }
        }
    }
    memset(guid, 0, 16);
    struct fat_vol *v = pool_volume();
    struct fat_file f;
    partition_pool_lock();
    int rc = v ? fat_open(v, path, 0, &f) : FAT_E_NOT_FOUND;
    size_t n = strlen(path);
    if (!rc && n > 5 && !strcmp(path + n - 5, ".vhdx")) {
        struct vhdx_io io;
        struct vhdx *d;
        struct vhdx_err verr;
        pool_vhdx_io(&f, &io);
        rc = vhdx_open(pool_vhdx_env(), &io, path, VHDX_OPEN_READ_ONLY | VHDX_OPEN_NO_PARENT,
                       &d, &verr);
        if (!rc) {
            struct vhdx_info info;
            vhdx_get_info(d, &info);
            memcpy(guid, info.data_write_guid.b, 16);
            vhdx_close(d, &verr);
        } else {
            fmt_snprintf(err, err_size, "disk %s: %s", path, verr.msg);
        }
        fat_close(&f);
    } else if (!rc) {
        fat_close(&f);
    } else {
        fmt_snprintf(err, err_size, "disk %s: no such file in the pool", path);
    }
    partition_pool_unlock();
    return rc ? -1 : 0;
}

static bool check_disks(struct restore_file *r, char *err, size_t err_size)
{
    for (unsigned i = 0; i < r->h.disk_count; i++) {
        struct snap_disk_id d;
        uint8_t now[16];
        struct partition *user;
        if (snap_read_disk(&r->io, &r->h, i, &d, err, err_size) ||
            disk_guid_now(d.path, now, &user, err, err_size))
            return false;
        if (memcmp(now, d.data_write_guid, 16)) {
            char then_s[GUID_STR_LEN + 1], now_s[GUID_STR_LEN + 1];
            struct guid a, b;
            memcpy(a.b, d.data_write_guid, 16);
            memcpy(b.b, now, 16);
            guid_format(&a, then_s);
            guid_format(&b, now_s);
            fmt_snprintf(err, err_size, "disk %s changed since the snapshot: DataWriteGuid %s "
                         "then, %s now", d.path, then_s, now_s);
            return false;
        }
        if (user) {
            fmt_snprintf(err, err_size, "disk %s is attached to partition %s", d.path,
                         user->name);
            return false;
        }
    }
    return true;
}

/* The file read and checked as a whole (lazily: all but its blocks, which are checked as
 * they are loaded), and its manifest section and state in memory. */
static bool check_file(struct restore_file *r, const char *file, bool lazy, char *err,
                       size_t err_size)
{
    if (!snapshot_pool_open(&r->pf, file, &r->io, err, err_size) ||
        snap_read_header(&r->io, &r->h, err, err_size) ||
        snap_verify_regions(&r->io, &r->h, r->buf, SNAP_ENCODED_MAX, err, err_size) ||
        (!lazy && !check_blocks(r, err, err_size)) || !check_disks(r, err, err_size))
        return false;
    if (!r->h.state_len || !r->h.manifest_len) {
        fmt_snprintf(err, err_size, "it holds no %s (a RAM image only?)",
                     r->h.state_len ? "manifest section" : "vCPU and device state");
        return false;
    }
    r->state_pages = (r->h.state_len + 4095) / 4096;
    r->state = kmem_alloc_pages(r->state_pages);
    if (!r->state) {
        fmt_snprintf(err, err_size, "out of memory for its state (%lu bytes)", r->h.state_len);
        return false;
    }
    if (r->io.read(r->io.ctx, r->h.state_offset, r->state, r->h.state_len) ||
        r->io.read(r->io.ctx, r->h.manifest_offset, r->manifest, r->h.manifest_len)) {
        fmt_snprintf(err, err_size, "cannot read its state or manifest section");
        return false;
    }
    r->manifest[r->h.manifest_len] = '\0';
    return true;
}

/* The blocks decoded into q's RAM (checked already; checked again as they are read). */
static bool load_ram(struct restore_file *r, struct partition *q, char *err, size_t err_size)
{
    for (uint32_t i = 0; i < r->h.block_count; i++) {
        if (snap_read_block(&r->io, &r->h, i, r->codec, r->buf, r->block, err, err_size))
            return false;
        if (!guest_mem_write(&q->mem, (uint64_t)i * SNAP_BLOCK_SIZE, r->block, SNAP_BLOCK_SIZE)) {
            fmt_snprintf(err, err_size, "block %u lies outside its RAM", i);
            return false;
        }
    }
    return true;
}

/* Partitions that have ended (a `snapshot ... stop` just before, say) are let go: their
 * disks are closed, their names free.  False when one is not let go in time. */
static bool wait_for_ended(char *err, size_t err_size)
{
    uint64_t give_up = time_ns() + ENDED_TIMEOUT_NS;
    for (;;) {
        struct partition *busy = NULL;
        for (unsigned i = 0; i < partition_count && !busy; i++) {
            struct partition *p = partitions[i];
            if (p && p->state == PART_DEAD && !p->finished && !p->checkpointing)
                busy = p;
        }
        if (!busy)
            return true;
        if (time_ns() > give_up) {
            fmt_snprintf(err, err_size, "partition %s has ended but is not let go yet",
                         busy->name);
            return false;
        }
        sched_reap_here();
        udelay(100);
    }
}

static enum snapshot_result refused(char *msg, size_t msg_size, const char *file,
                                    const char *err)
{
    fmt_snprintf(msg, msg_size, "restore: %s: refused: %s; nothing restored", file, err);
    kprintf("%s\n", msg);
    return SNAPSHOT_REFUSED;
}

static enum snapshot_result lost(struct partition *q, const char *file, const char *err,
                                 char *msg, size_t msg_size)
{
    partition_kill(q, "restore from %s refused: %s", file, err);
    fmt_snprintf(msg, msg_size, "restore: %s: %s: refused: %s; the new partition has ended",
                 q->name, file, err);
    kprintf("%s\n", msg);
    return SNAPSHOT_LOST;
}

/* q's RAM absent, its vCPUs and devices restored: it runs while its RAM comes in. */
static enum snapshot_result start_lazily(struct partition *q, struct restore_file *r,
                                         const char *file, const struct restore_times *times,
                                         char *msg,
                                         size_t msg_size)
{
    char err[240];
    uint32_t blocks = r->h.block_count;
    if (!snapshot_lazy_arm(q, r, file, times, err, sizeof(err)))     /* takes r */
        return lost(q, file, err, msg, msg_size);
    bool ok = checkpoint_restore_stream(q, r->state, r->h.state_len, r->h.guest_tsc, NULL,
                                        err, sizeof(err));
    kmem_free_pages(r->state, r->state_pages);
    r->state = NULL;
    if (!ok || !snapshot_lazy_start(q, err, sizeof(err)))     /* r may be gone after */
        return lost(q, file, err, msg, msg_size);
    fmt_snprintf(msg, msg_size, "restore: %s: %s: lazy: running, RAM loading (%u blocks)",
                 q->name, file, blocks);
    kprintf("%s\n", msg);
    return SNAPSHOT_DONE;
}

static enum snapshot_result restore(const char *file, const char *as_name, bool lazy,
                                    char *msg, size_t msg_size)
{
    char err[240];
    if (!snapshot_path_valid(file))
        return refused(msg, msg_size, file, "not a file name the pool takes");
    if (as_name && as_name[0] && !name_valid(as_name))
        return refused(msg, msg_size, file, "the new name is not a partition name ([a-z0-9_-], "
                       "1 to 31 bytes)");
    struct restore_file *r = kmalloc(sizeof(*r));
    if (r) {
        r->codec_pages = (snap_codec_state_size() + 4095) / 4096;
        r->codec = kmem_alloc_pages(r->codec_pages);
        r->buf = kmem_alloc_pages(BLOCK_PAGES);
        r->block = kmem_alloc_pages(BLOCK_PAGES);
    }
    if (!r || !r->codec || !r->buf || !r->block) {
        if (r)
            restore_file_free(r);
        return refused(msg, msg_size, file, "out of memory");
    }
    if (!wait_for_ended(err, sizeof(err))) {
        restore_file_free(r);
        return refused(msg, msg_size, file, err);
    }
    uint64_t began = time_ns(), checked, created;
    if (!check_file(r, file, lazy, err, sizeof(err))) {
        bool missing = !r->pf.open;
        restore_file_free(r);
        refused(msg, msg_size, file, err);
        return missing ? SNAPSHOT_NOT_RUNNING : SNAPSHOT_REFUSED;
    }
    checked = time_ns();
    char name[PARTITION_NAME_LEN];
    strlcpy(name, as_name && as_name[0] ? as_name : r->h.name, sizeof(name));
    struct partition *old = partition_find(name);
    if (old && !old->finished) {
        restore_file_free(r);
        fmt_snprintf(err, sizeof(err), "partition %s exists and has not ended", name);
        return refused(msg, msg_size, file, err);
    }
    struct partition *q = partition_create_from_section(r->manifest, r->h.manifest_len, name,
                                                        err, sizeof(err));
    if (!q) {
        restore_file_free(r);
        return refused(msg, msg_size, file, err);
    }
    if (old)
        partition_replace(old, q);
    created = time_ns();
    const struct restore_times times = { began, checked, created };
    if (lazy && !q->disk_count && !q->writes)
        return start_lazily(q, r, file, &times, msg, msg_size);
    if (lazy)
        kprintf("atoll: restore %s: lazy: %s: its RAM is loaded before it runs\n", name,
                q->disk_count ? "it has disks, whose DMA may reach any page"
                              : "its writes are tracked, which needs every page there");
    uint32_t crc = 0;
    if (!load_ram(r, q, err, sizeof(err)) ||
        !checkpoint_restore_stream(q, r->state, r->h.state_len, r->h.guest_tsc, &crc, err,
                                   sizeof(err))) {
        restore_file_free(r);
        return lost(q, file, err, msg, msg_size);
    }
    uint64_t running = time_ns();
    uint32_t want = r->h.ram_crc;
    restore_file_free(r);
    fmt_snprintf(msg, msg_size, "restore: %s: %s: RAM crc32c 0x%08x (%s)", name, file, crc,
                 crc == want ? "equal to the snapshot's" : "DIFFERENT from the snapshot's");
    kprintf("%s\n", msg);
    kprintf("atoll: restore %s: full: first guest instruction after %lu us (the file checked, "
            "every block read and decoded, in %lu us; the partition created in %lu us; its RAM "
            "loaded and checked and its state restored in %lu us; host time from the restore "
            "command)\n", name, (running - began) / 1000, (checked - began) / 1000,
            (created - checked) / 1000, (running - created) / 1000);
    return SNAPSHOT_DONE;
}

enum snapshot_result snapshot_restore(const char *file, const char *as_name, char *msg,
                                      size_t msg_size)
{
    return restore(file, as_name, false, msg, msg_size);
}

enum snapshot_result snapshot_restore_lazy(const char *file, const char *as_name, char *msg,
                                           size_t msg_size)
{
    return restore(file, as_name, true, msg, msg_size);
}
