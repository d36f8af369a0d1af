#include "net/kernel/kernel_partitions.h"

#include <string.h>

#include "hv/core/checkpoint.h"
#include "hv/lib/format.h"
#include "hv/core/migrate.h"
#include "hv/core/snapshot.h"
#include "hv/core/partition.h"
#include "hv/core/partition_create.h"

uint32_t kernel_partition_count(void)
{
    return partition_count;
}

static uint8_t state_of(const struct partition *p)
{
    switch (p->state) {
    case PART_CREATED: return CTL_PART_STOPPED;
    case PART_RUNNING:
    case PART_PAUSED:  return CTL_PART_RUNNING;
    default:           return p->finished ? CTL_PART_STOPPED : CTL_PART_STOPPING;
    }
}

bool kernel_partition_at(void *ctx, size_t index, struct ctl_partition_info *out)
{
    if (index >= partition_count || !partitions[index])
        return false;
    const struct partition *p = partitions[index];
    memset(out, 0, sizeof(*out));
    strlcpy(out->name, p->name, sizeof(out->name));
    out->state = state_of(p);
    out->vcpus = p->vcpu_count;
    out->memory = p->mem.size;
    return true;
}

/* A partition that has ended cannot start again: its memory is gone. */
uint16_t kernel_partition_start(void *ctx, const char *name, uint32_t *op)
{
    struct partition *p = partition_find(name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    if (p->state != PART_CREATED)
        return CTL_ERR_BAD_STATE;
    partition_start(p);
    *op = 0;
    return CTL_OK;
}

static uint16_t snapshot_status(enum snapshot_result r)
{
    switch (r) {
    case SNAPSHOT_STARTED:
    case SNAPSHOT_DONE:        return CTL_OK;
    case SNAPSHOT_NOT_RUNNING: return CTL_ERR_BAD_STATE;
    case SNAPSHOT_REFUSED:     return CTL_ERR_BUSY;
    default:                   return CTL_ERR_INTERNAL;
    }
}

uint16_t kernel_partition_snapshot(void *ctx, const char *name, const char *file, bool stop,
                                   bool live, uint32_t *op, char *msg, size_t msg_size)
{
    struct partition *p = partition_find(name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    return snapshot_status(snapshot_partition(p, file, stop, live, op, msg, msg_size));
}

uint16_t kernel_partition_op_progress(void *ctx, uint32_t op, struct ctl_op_progress *out)
{
    struct snapshot_progress s;
    if (!snapshot_progress(op, &s))
        return CTL_ERR_NOT_FOUND;
    out->done = s.done;
    out->total = s.total;
    out->state = s.state == SNAPSHOT_RUNNING ? CTL_OP_RUNNING
               : s.state == SNAPSHOT_ENDED_DONE ? CTL_OP_DONE : CTL_OP_FAILED;
    fmt_snprintf(out->message, sizeof(out->message), "%s", s.state != SNAPSHOT_RUNNING
                 ? "ended" : s.paused ? "paused, writing" : "live, writing");
    out->rate = s.bytes_per_s;
    out->passes = s.passes;
    fmt_snprintf(out->levels, sizeof(out->levels), "%s", s.levels);
    if (s.state != SNAPSHOT_RUNNING) {
        out->result = snapshot_status(s.result);
        fmt_snprintf(out->text, sizeof(out->text), "%s", s.line);
    }
    return CTL_OK;
}

uint16_t kernel_partition_restore(void *ctx, const char *file, const char *as_name, char *msg,
                                  size_t msg_size)
{
    enum snapshot_result r = snapshot_restore(file, as_name, msg, msg_size);
    return r == SNAPSHOT_NOT_RUNNING ? CTL_ERR_NOT_FOUND : snapshot_status(r);
}

uint16_t kernel_partition_restore_lazy(void *ctx, const char *file, const char *as_name,
                                       char *msg, size_t msg_size)
{
    enum snapshot_result r = snapshot_restore_lazy(file, as_name, msg, msg_size);
    return r == SNAPSHOT_NOT_RUNNING ? CTL_ERR_NOT_FOUND : snapshot_status(r);
}

uint16_t kernel_partition_stop(void *ctx, const char *name, uint32_t *op)
{
    struct partition *p = partition_find(name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    if (p->state != PART_RUNNING)
        return CTL_ERR_BAD_STATE;
    partition_stop(p, "by the control server");
    *op = 0;
    return CTL_OK;
}

uint16_t kernel_partition_checkpoint(void *ctx, const char *name, char *msg, size_t msg_size)
{
    struct partition *p = partition_find(name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    switch (checkpoint_partition(p, msg, msg_size)) {
    case CHECKPOINT_DONE:        return CTL_OK;
    case CHECKPOINT_NOT_RUNNING: return CTL_ERR_BAD_STATE;
    case CHECKPOINT_REFUSED:     return CTL_ERR_BUSY;
    default:                     return CTL_ERR_INTERNAL;
    }
}

uint16_t kernel_partition_migrate(void *ctx, const char *name, const char *host, char *msg,
                                  size_t msg_size)
{
    struct partition *p = partition_find(name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    if (p->state != PART_RUNNING)
        return CTL_ERR_BAD_STATE;
    return migrate_start(p, host, msg, msg_size) ? CTL_OK : CTL_ERR_BUSY;
}

uint16_t kernel_migrate_status(void *ctx, struct ctl_migrate_status *out)
{
    struct migrate_progress m;
    migrate_get_progress(&m);
    out->active = m.active;
    strlcpy(out->stage, m.stage, sizeof(out->stage));
    out->round = m.round;
    out->pages_sent = m.pages_sent;
    out->ram_pages = m.ram_pages;
    out->pages_left = m.pages_left;
    out->dirty_pages = m.dirty_pages;
    out->wire_bytes = m.wire_bytes;
    out->link_bps = m.link_bps;
    strlcpy(out->last, m.last, sizeof(out->last));
    return CTL_OK;
}
