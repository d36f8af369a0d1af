/* The built-in control commands: each decodes its request, calls the hypervisor, encodes. */
#include "net/control/ctl_commands.h"
#include "net/control/ctl_offload.h"
#include <string.h>

static uint16_t cmd_status(void *ctx, const struct ctl_request *req,
                           struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_hv_status s;
    memset(&s, 0, sizeof s);
    uint16_t st = c->ops->status(c->hv, &s);
    if (st != CTL_OK)
        return st;
    s.version[sizeof s.version - 1] = '\0';
    s.hostname[sizeof s.hostname - 1] = '\0';
    ctl_put_str(w, CTL_TAG_VERSION, s.version);
    ctl_put_str(w, CTL_TAG_HOSTNAME, s.hostname);
    ctl_put_u64(w, CTL_TAG_UPTIME_MS, s.uptime_ms);
    ctl_put_u64(w, CTL_TAG_MEM_TOTAL, s.mem_total);
    ctl_put_u64(w, CTL_TAG_MEM_FREE, s.mem_free);
    ctl_put_u8(w, CTL_TAG_VMX, s.vmx ? 1 : 0);
    ctl_put_u32(w, CTL_TAG_PARTITIONS, s.partitions);
    ctl_put_u32(w, CTL_TAG_CONNECTIONS, c->srv->stats.active);
    ctl_put_u64(w, CTL_TAG_SERVED, c->srv->stats.accepted);
    return CTL_OK;
}

static uint16_t cmd_list(void *ctx, const struct ctl_request *req,
                         struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_partition_info p;
    for (size_t i = 0; memset(&p, 0, sizeof p), c->ops->partition_at(c->hv, i, &p); i++) {
        p.name[CTL_NAME_MAX] = '\0';
        size_t mark = ctl_put_open(w, CTL_TAG_PARTITION);
        ctl_put_str(w, CTL_TAG_NAME, p.name);
        ctl_put_u8(w, CTL_TAG_STATE, p.state);
        ctl_put_u32(w, CTL_TAG_VCPUS, p.vcpus);
        ctl_put_u64(w, CTL_TAG_MEMORY, p.memory);
        ctl_put_close(w, mark);
    }
    return CTL_OK;
}

static uint16_t name_arg(const struct ctl_request *req, char name[CTL_NAME_MAX + 1],
                         const char **msg)
{
    struct ctl_tlv t;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_NAME, &t)) {
        *msg = "missing partition name";
        return CTL_ERR_BAD_ARGUMENT;
    }
    if (!ctl_tlv_name(&t, name)) {
        *msg = "bad partition name (1-31 of a-z 0-9 _ -, as in the manifest)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    return CTL_OK;
}

/* msg = a + b + c, cut to fit. */
static const char *explain(struct ctl_commands *c, const char *a, const char *b, const char *d)
{
    size_t n = 0, cap = sizeof c->msg_buf - 1;
    const char *parts[3] = { a, b, d };
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && n < cap; p++)
            c->msg_buf[n++] = *p;
    c->msg_buf[n] = '\0';
    return c->msg_buf;
}

typedef uint16_t (*lifecycle_fn)(void *hv, const char *name, uint32_t *op);

static uint16_t lifecycle(struct ctl_commands *c, lifecycle_fn fn, const struct ctl_request *req,
                          struct ctl_tlv_writer *w, const char **msg)
{
    char name[CTL_NAME_MAX + 1];
    uint32_t op = 0;
    uint16_t st = name_arg(req, name, msg);
    if (st == CTL_OK)
        st = fn(c->hv, name, &op);
    if (st == CTL_OK && op)
        ctl_put_u32(w, CTL_TAG_OP_ID, op);
    if (st == CTL_ERR_NOT_FOUND)
        *msg = explain(c, "no partition named '", name, "'");
    else if (st == CTL_ERR_BAD_STATE)
        *msg = explain(c, "partition '", name, fn == c->ops->start ? "' is not stopped"
                                                                   : "' is not running");
    return st;
}

static uint16_t cmd_start(void *ctx, const struct ctl_request *req,
                          struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    return lifecycle(c, c->ops->start, req, w, msg);
}

static uint16_t cmd_stop(void *ctx, const struct ctl_request *req,
                         struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    return lifecycle(c, c->ops->stop, req, w, msg);
}

static uint16_t cmd_log(void *ctx, const struct ctl_request *req,
                        struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    uint32_t max = CTL_LOG_DEFAULT_BYTES;
    struct ctl_tlv t;
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_MAX_BYTES, &t) && !ctl_tlv_u32(&t, &max)) {
        *msg = "MAX_BYTES must be a u32";
        return CTL_ERR_BAD_ARGUMENT;
    }
    if (max > CTL_LOG_MAX_BYTES)
        max = CTL_LOG_MAX_BYTES;
    size_t n = c->ops->log_tail(c->hv, c->log_buf, max);
    ctl_put_bytes(w, CTL_TAG_TEXT, c->log_buf, n < max ? n : max);
    return CTL_OK;
}

static uint16_t cmd_op_status(void *ctx, const struct ctl_request *req,
                              struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_tlv t;
    uint32_t op;
    if (!c->ops->op_progress)
        return CTL_ERR_UNSUPPORTED;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_OP_ID, &t) || !ctl_tlv_u32(&t, &op)) {
        *msg = "missing or bad OP_ID";
        return CTL_ERR_BAD_ARGUMENT;
    }
    struct ctl_op_progress p;
    memset(&p, 0, sizeof p);
    uint16_t st = c->ops->op_progress(c->hv, op, &p);
    if (st != CTL_OK)
        return st;
    p.message[sizeof p.message - 1] = '\0';
    ctl_put_u64(w, CTL_TAG_DONE, p.done);
    ctl_put_u64(w, CTL_TAG_TOTAL, p.total);
    ctl_put_u8(w, CTL_TAG_OP_STATE, p.state);
    if (p.message[0])
        ctl_put_str(w, CTL_TAG_MESSAGE, p.message);
    p.levels[sizeof p.levels - 1] = '\0';
    p.text[sizeof p.text - 1] = '\0';
    if (p.rate)
        ctl_put_u64(w, CTL_TAG_RATE, p.rate);
    if (p.passes)
        ctl_put_u32(w, CTL_TAG_PASSES, p.passes);
    if (p.levels[0])
        ctl_put_str(w, CTL_TAG_LEVEL_MIX, p.levels);
    if (p.state != CTL_OP_RUNNING && p.text[0]) {
        ctl_put_u16(w, CTL_TAG_RESULT, p.result);
        ctl_put_str(w, CTL_TAG_TEXT, p.text);
    }
    return CTL_OK;
}

static uint16_t cmd_checkpoint(void *ctx, const struct ctl_request *req,
                               struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    char name[CTL_NAME_MAX + 1];
    if (!c->ops->checkpoint)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = name_arg(req, name, msg);
    if (st != CTL_OK)
        return st;
    c->checkpoint_msg[0] = '\0';
    st = c->ops->checkpoint(c->hv, name, c->checkpoint_msg, sizeof c->checkpoint_msg);
    c->checkpoint_msg[sizeof c->checkpoint_msg - 1] = '\0';
    if (st == CTL_OK)
        ctl_put_str(w, CTL_TAG_TEXT, c->checkpoint_msg);
    else if (st == CTL_ERR_NOT_FOUND)
        *msg = explain(c, "no partition named '", name, "'");
    else if (c->checkpoint_msg[0])
        *msg = c->checkpoint_msg;
    return st;
}

#define CTL_FILE_MAX 119u          /* a pool path, as the hypervisor takes it */

static uint16_t file_arg(const struct ctl_request *req, char file[CTL_FILE_MAX + 1],
                         const char **msg)
{
    struct ctl_tlv t;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_FILE, &t) || !t.len ||
        !ctl_tlv_text(&t, file, CTL_FILE_MAX + 1)) {
        *msg = "missing or bad FILE (a pool path of at most 119 bytes)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    return CTL_OK;
}

/* The reply of a command that answers in one line: TEXT when it worked, else MESSAGE. */
static uint16_t line_reply(struct ctl_commands *c, uint16_t st, struct ctl_tlv_writer *w,
                           const char **msg)
{
    c->checkpoint_msg[sizeof c->checkpoint_msg - 1] = '\0';
    if (st == CTL_OK)
        ctl_put_str(w, CTL_TAG_TEXT, c->checkpoint_msg);
    else if (c->checkpoint_msg[0])
        *msg = c->checkpoint_msg;
    return st;
}

static uint16_t cmd_snapshot(void *ctx, const struct ctl_request *req,
                             struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    char name[CTL_NAME_MAX + 1], file[CTL_FILE_MAX + 1];
    struct ctl_tlv t;
    uint8_t stop = 0, live = 0;
    uint32_t op = 0;
    if (!c->ops->snapshot)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = name_arg(req, name, msg);
    if (st == CTL_OK)
        st = file_arg(req, file, msg);
    if (st != CTL_OK)
        return st;
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_STOP, &t) &&
        (!ctl_tlv_u8(&t, &stop) || stop > 1)) {
        *msg = "bad STOP (0 or 1)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_LIVE, &t) &&
        (!ctl_tlv_u8(&t, &live) || live > 1)) {
        *msg = "bad LIVE (0 or 1)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    c->checkpoint_msg[0] = '\0';
    st = c->ops->snapshot(c->hv, name, file, stop == 1, live == 1, &op, c->checkpoint_msg,
                          sizeof c->checkpoint_msg);
    if (st == CTL_OK && op)
        ctl_put_u32(w, CTL_TAG_OP_ID, op);
    if (st == CTL_ERR_NOT_FOUND && !c->checkpoint_msg[0]) {
        *msg = explain(c, "no partition named '", name, "'");
        return st;
    }
    return line_reply(c, st, w, msg);
}

static uint16_t cmd_restore(void *ctx, const struct ctl_request *req,
                            struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    char name[CTL_NAME_MAX + 1] = "", file[CTL_FILE_MAX + 1];
    struct ctl_tlv t;
    if (!c->ops->restore)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = file_arg(req, file, msg);
    if (st != CTL_OK)
        return st;
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_NAME, &t) && !ctl_tlv_name(&t, name)) {
        *msg = "bad partition name (1-31 of a-z 0-9 _ -, as in the manifest)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    uint8_t lazy = 0;
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_LAZY, &t) &&
        (!ctl_tlv_u8(&t, &lazy) || lazy > 1)) {
        *msg = "bad LAZY (0 or 1)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    if (lazy && !c->ops->restore_lazy)
        return CTL_ERR_UNSUPPORTED;
    c->checkpoint_msg[0] = '\0';
    st = (lazy ? c->ops->restore_lazy : c->ops->restore)(c->hv, file, name, c->checkpoint_msg,
                                                         sizeof c->checkpoint_msg);
    return line_reply(c, st, w, msg);
}

static uint16_t cmd_capture(void *ctx, const struct ctl_request *req,
                            struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    char file[CTL_FILE_MAX + 1];
    if (!c->ops->capture)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = file_arg(req, file, msg);
    if (st != CTL_OK)
        return st;
    c->checkpoint_msg[0] = '\0';
    st = c->ops->capture(c->hv, file, c->checkpoint_msg, sizeof c->checkpoint_msg);
    return line_reply(c, st, w, msg);
}

#define CTL_HOST_MAX 23u           /* A.B.C.D:PORT */

static uint16_t cmd_migrate(void *ctx, const struct ctl_request *req,
                            struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    char name[CTL_NAME_MAX + 1], host[CTL_HOST_MAX + 1];
    struct ctl_tlv t;
    if (!c->ops->migrate)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = name_arg(req, name, msg);
    if (st != CTL_OK)
        return st;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_HOST, &t) || !t.len ||
        !ctl_tlv_text(&t, host, sizeof host)) {
        *msg = "missing or bad HOST (A.B.C.D[:PORT])";
        return CTL_ERR_BAD_ARGUMENT;
    }
    c->checkpoint_msg[0] = '\0';
    st = c->ops->migrate(c->hv, name, host, c->checkpoint_msg, sizeof c->checkpoint_msg);
    if (st == CTL_ERR_NOT_FOUND && !c->checkpoint_msg[0]) {
        *msg = explain(c, "no partition named '", name, "'");
        return st;
    }
    return line_reply(c, st, w, msg);
}

static uint16_t cmd_migrate_status(void *ctx, const struct ctl_request *req,
                                   struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_migrate_status m;
    if (!c->ops->migrate_status)
        return CTL_ERR_UNSUPPORTED;
    memset(&m, 0, sizeof m);
    uint16_t st = c->ops->migrate_status(c->hv, &m);
    if (st != CTL_OK)
        return st;
    m.stage[sizeof m.stage - 1] = '\0';
    m.last[sizeof m.last - 1] = '\0';
    ctl_put_u8(w, CTL_TAG_ACTIVE, m.active ? 1 : 0);
    ctl_put_str(w, CTL_TAG_STAGE, m.stage);
    ctl_put_u32(w, CTL_TAG_ROUND, m.round);
    ctl_put_u64(w, CTL_TAG_DONE, m.pages_sent);
    ctl_put_u64(w, CTL_TAG_TOTAL, m.ram_pages);
    ctl_put_u64(w, CTL_TAG_PAGES_LEFT, m.pages_left);
    ctl_put_u64(w, CTL_TAG_DIRTY, m.dirty_pages);
    ctl_put_u64(w, CTL_TAG_WIRE_BYTES, m.wire_bytes);
    ctl_put_u64(w, CTL_TAG_LINK_BPS, m.link_bps);
    ctl_put_str(w, CTL_TAG_TEXT, m.last);
    return CTL_OK;
}

int ctl_commands_register(struct ctl_server *srv, struct ctl_commands *cmds,
                          const struct ctl_hv_ops *ops, void *hv)
{
    cmds->ops = ops;
    cmds->hv = hv;
    cmds->srv = srv;
    int rc = 0;
    rc |= ctl_server_register(srv, CTL_MSG_STATUS, cmd_status, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_LIST, cmd_list, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_START, cmd_start, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_STOP, cmd_stop, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_LOG, cmd_log, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_OP_STATUS, cmd_op_status, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_CHECKPOINT, cmd_checkpoint, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_SNAPSHOT, cmd_snapshot, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_RESTORE, cmd_restore, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_MIGRATE, cmd_migrate, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_CAPTURE, cmd_capture, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_MIGRATE_STATUS, cmd_migrate_status, cmds);
    rc |= ctl_offload_register(srv, cmds);
    return rc ? -1 : 0;
}
