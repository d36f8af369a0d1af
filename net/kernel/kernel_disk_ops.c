/* The control server's live disk operations on the kernel's disk_ops (boot CPU). */
#include "net/kernel/kernel_disk_ops.h"

#include <string.h>

#include "hv/core/disk_ops.h"
#include "hv/lib/format.h"

static uint16_t request(void *ctx, const char *words, uint32_t *id, char *msg, size_t msg_size)
{
    struct disk_op_request r;
    (void)ctx;
    if (disk_op_parse(words, &r, msg, msg_size))
        return CTL_ERR_BAD_ARGUMENT;
    return disk_ops_request(&r, id, msg, msg_size) ? CTL_OK : CTL_ERR_BUSY;
}

static bool job_at(void *ctx, uint32_t id, size_t index, struct ctl_disk_job *out)
{
    static struct disk_op_status all[DISK_OPS_MAX];
    (void)ctx;
    unsigned n = disk_ops_list(id, all, DISK_OPS_MAX);
    if (index >= n)
        return false;
    const struct disk_op_status *s = &all[index];
    out->id = s->id;
    fmt_snprintf(out->text, sizeof(out->text), "%s %s %s%s%s", s->req.partition[0]
                 ? s->req.partition : "-", s->req.disk, disk_op_verb_name(s->req.verb),
                 s->req.dst[0] ? " " : "", s->req.dst);
    strlcpy(out->state, disk_op_state_name(s->state), sizeof(out->state));
    out->done = s->pr.done;
    out->total = s->pr.total;
    out->elapsed_ms = s->elapsed_ms;
    out->eta_ms = s->eta_ms;
    out->passes = s->pr.passes;
    out->recopied = s->pr.dirty_marked;
    strlcpy(out->message, s->msg, sizeof(out->message));
    return true;
}

const struct ctl_disk_ops kernel_disk_ops = { request, job_at };
