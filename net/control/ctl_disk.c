/* Control commands for live disk operations (ctl_disk.h). */
#include "net/control/ctl_disk.h"

#include <string.h>
#include "net/control/ctl_codec.h"

static uint16_t cmd_disk(void *ctx, const struct ctl_request *req, struct ctl_tlv_writer *w,
                         const char **msg)
{
    struct ctl_disk_commands *c = ctx;
    char words[CTL_DISK_WORDS_MAX + 1];
    struct ctl_tlv t;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_TEXT, &t) || !t.len ||
        !ctl_tlv_text(&t, words, sizeof words)) {
        *msg = "missing or bad TEXT (PARTITION DISK VERB ..., at most 255 bytes)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    uint32_t id = 0;
    c->msg[0] = '\0';
    uint16_t st = c->ops->request(c->ctx, words, &id, c->msg, sizeof c->msg);
    c->msg[sizeof c->msg - 1] = '\0';
    if (st != CTL_OK) {
        *msg = c->msg[0] ? c->msg : "refused";
        return st;
    }
    ctl_put_str(w, CTL_TAG_TEXT, c->msg);
    if (id)
        ctl_put_u32(w, CTL_TAG_OP_ID, id);
    return CTL_OK;
}

static uint16_t cmd_disk_jobs(void *ctx, const struct ctl_request *req,
                              struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_disk_commands *c = ctx;
    struct ctl_tlv t;
    uint32_t id = 0;
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_OP_ID, &t) && !ctl_tlv_u32(&t, &id)) {
        *msg = "bad OP_ID (u32)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    struct ctl_disk_job j;
    size_t i = 0;
    for (; memset(&j, 0, sizeof j), c->ops->job_at(c->ctx, id, i, &j); i++) {
        j.text[sizeof j.text - 1] = '\0';
        j.state[sizeof j.state - 1] = '\0';
        j.message[sizeof j.message - 1] = '\0';
        size_t mark = ctl_put_open(w, CTL_TAG_DISK_JOB);
        ctl_put_u32(w, CTL_TAG_OP_ID, j.id);
        ctl_put_str(w, CTL_TAG_TEXT, j.text);
        ctl_put_str(w, CTL_TAG_JOB_STATE, j.state);
        ctl_put_u64(w, CTL_TAG_DONE, j.done);
        ctl_put_u64(w, CTL_TAG_TOTAL, j.total);
        ctl_put_u64(w, CTL_TAG_ELAPSED_MS, j.elapsed_ms);
        if (j.eta_ms != UINT64_MAX)
            ctl_put_u64(w, CTL_TAG_ETA_MS, j.eta_ms);
        ctl_put_u32(w, CTL_TAG_JOB_PASSES, j.passes);
        ctl_put_u32(w, CTL_TAG_RECOPIED, j.recopied);
        if (j.message[0])
            ctl_put_str(w, CTL_TAG_MESSAGE, j.message);
        if (!ctl_put_close(w, mark))
            break;      /* the reply is full: the newest jobs are in it */
    }
    if (id && i == 0) {
        *msg = "no such disk job";
        return CTL_ERR_NOT_FOUND;
    }
    return CTL_OK;
}

int ctl_disk_register(struct ctl_server *srv, struct ctl_disk_commands *c,
                      const struct ctl_disk_ops *ops, void *ctx)
{
    c->ops = ops;
    c->ctx = ctx;
    int rc = ctl_server_register(srv, CTL_MSG_DISK, cmd_disk, c);
    rc |= ctl_server_register(srv, CTL_MSG_DISK_JOBS, cmd_disk_jobs, c);
    return rc ? -1 : 0;
}
