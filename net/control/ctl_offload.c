/* The offload control commands (net/control/ctl_offload.h). */
#include "net/control/ctl_offload.h"
#include <string.h>

static bool opt_u64(const struct ctl_request *req, uint16_t tag, uint64_t *v)
{
    struct ctl_tlv t;
    return !ctl_tlv_find(req->payload, req->length, tag, &t) || ctl_tlv_u64(&t, v);
}

/* FILE [OBJ_KIND] [OFFSET] [LENGTH] into *r. */
static uint16_t range_arg(const struct ctl_request *req, struct ctl_offload_range *r,
                          const char **msg)
{
    struct ctl_tlv t;
    memset(r, 0, sizeof(*r));
    r->kind = 1;
    r->length = UINT64_MAX;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_FILE, &t) || !t.len ||
        !ctl_tlv_text(&t, r->file, sizeof r->file)) {
        *msg = "missing or bad FILE (a pool path of at most 255 bytes)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_OBJ_KIND, &t) &&
        (!ctl_tlv_u8(&t, &r->kind) || r->kind < 1 || r->kind > 2)) {
        *msg = "bad OBJ_KIND (1: pool file, 2: VHDX contents)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    if (!opt_u64(req, CTL_TAG_OFFSET, &r->offset) || !opt_u64(req, CTL_TAG_LENGTH, &r->length)) {
        *msg = "OFFSET and LENGTH must be u64";
        return CTL_ERR_BAD_ARGUMENT;
    }
    return CTL_OK;
}

static uint16_t failed(struct ctl_commands *c, uint16_t st, const char **msg)
{
    c->checkpoint_msg[sizeof c->checkpoint_msg - 1] = '\0';
    if (st != CTL_OK && c->checkpoint_msg[0])
        *msg = c->checkpoint_msg;
    return st;
}

static uint16_t cmd_offload_read(void *ctx, const struct ctl_request *req,
                                 struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_offload_range src;
    struct ctl_tlv t;
    uint32_t lifetime = 0;
    uint8_t token[CTL_OFFLOAD_TOKEN_SIZE];
    uint64_t covered = 0;
    if (!c->ops->offload_read)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = range_arg(req, &src, msg);
    if (st != CTL_OK)
        return st;
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_LIFETIME_MS, &t) &&
        !ctl_tlv_u32(&t, &lifetime)) {
        *msg = "LIFETIME_MS must be a u32";
        return CTL_ERR_BAD_ARGUMENT;
    }
    c->checkpoint_msg[0] = '\0';
    st = c->ops->offload_read(c->hv, &src, lifetime, token, &covered, c->checkpoint_msg,
                              sizeof c->checkpoint_msg);
    if (st != CTL_OK)
        return failed(c, st, msg);
    ctl_put_bytes(w, CTL_TAG_TOKEN, token, sizeof token);
    ctl_put_u64(w, CTL_TAG_COVERED, covered);
    return CTL_OK;
}

static uint16_t cmd_offload_write(void *ctx, const struct ctl_request *req,
                                  struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_offload_range dst;
    struct ctl_tlv t;
    uint64_t token_off = 0, len = UINT64_MAX, written = 0;
    if (!c->ops->offload_write)
        return CTL_ERR_UNSUPPORTED;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_TOKEN, &t) ||
        t.len != CTL_OFFLOAD_TOKEN_SIZE) {
        *msg = "missing TOKEN, or not 512 bytes";
        return CTL_ERR_BAD_ARGUMENT;
    }
    const uint8_t *token = t.value;
    uint16_t st = range_arg(req, &dst, msg);
    if (st != CTL_OK)
        return st;
    len = dst.length;
    if (!opt_u64(req, CTL_TAG_TOKEN_OFFSET, &token_off)) {
        *msg = "TOKEN_OFFSET must be a u64";
        return CTL_ERR_BAD_ARGUMENT;
    }
    uint8_t whole = 0;
    if (ctl_tlv_find(req->payload, req->length, CTL_TAG_WHOLE, &t) &&
        (!ctl_tlv_u8(&t, &whole) || whole > 1)) {
        *msg = "WHOLE must be a u8, 0 or 1";
        return CTL_ERR_BAD_ARGUMENT;
    }
    if (whole && (token_off || dst.offset)) {
        *msg = "WHOLE needs TOKEN_OFFSET and OFFSET 0";
        return CTL_ERR_BAD_ARGUMENT;
    }
    c->checkpoint_msg[0] = '\0';
    st = c->ops->offload_write(c->hv, token, token_off, len, whole, &dst, &written,
                               c->checkpoint_msg, sizeof c->checkpoint_msg);
    if (st != CTL_OK)
        return failed(c, st, msg);
    if (written > len && !whole)
        return CTL_ERR_INTERNAL;   /* more than asked is only ever a whole write's */
    ctl_put_u64(w, CTL_TAG_WRITTEN, written);
    c->checkpoint_msg[sizeof c->checkpoint_msg - 1] = '\0';
    if (c->checkpoint_msg[0])
        ctl_put_str(w, CTL_TAG_TEXT, c->checkpoint_msg);
    return CTL_OK;
}

static uint16_t cmd_offload_pull(void *ctx, const struct ctl_request *req,
                                 struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_offload_range dst;
    struct ctl_tlv t;
    char host[32];
    uint64_t token_off = 0;
    if (!c->ops->offload_pull)
        return CTL_ERR_UNSUPPORTED;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_GRANT, &t) ||
        t.len != CTL_OFFLOAD_GRANT_SIZE) {
        *msg = "missing GRANT, or not 768 bytes";
        return CTL_ERR_BAD_ARGUMENT;
    }
    const uint8_t *grant = t.value;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_HOST, &t) || !t.len ||
        !ctl_tlv_text(&t, host, sizeof host)) {
        *msg = "missing or bad HOST (A.B.C.D[:PORT] of the source's offload link)";
        return CTL_ERR_BAD_ARGUMENT;
    }
    uint16_t st = range_arg(req, &dst, msg);
    if (st != CTL_OK)
        return st;
    if (!opt_u64(req, CTL_TAG_TOKEN_OFFSET, &token_off)) {
        *msg = "TOKEN_OFFSET must be a u64";
        return CTL_ERR_BAD_ARGUMENT;
    }
    c->checkpoint_msg[0] = '\0';
    st = c->ops->offload_pull(c->hv, grant, host, token_off, dst.length, &dst, c->checkpoint_msg,
                              sizeof c->checkpoint_msg);
    if (st != CTL_OK)
        return failed(c, st, msg);
    c->checkpoint_msg[sizeof c->checkpoint_msg - 1] = '\0';
    ctl_put_str(w, CTL_TAG_TEXT, c->checkpoint_msg);
    return CTL_OK;
}

static uint16_t cmd_offload_pull_status(void *ctx, const struct ctl_request *req,
                                        struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_offload_pull_status s;
    if (!c->ops->offload_pull_status)
        return CTL_ERR_UNSUPPORTED;
    memset(&s, 0, sizeof s);
    uint16_t st = c->ops->offload_pull_status(c->hv, &s);
    if (st != CTL_OK)
        return st;
    s.last[sizeof s.last - 1] = '\0';
    ctl_put_u8(w, CTL_TAG_ACTIVE, s.active);
    ctl_put_u64(w, CTL_TAG_DONE, s.received);
    ctl_put_u64(w, CTL_TAG_TOTAL, s.total);
    ctl_put_u16(w, CTL_TAG_RESULT, s.result);
    ctl_put_str(w, CTL_TAG_TEXT, s.last);
    return CTL_OK;
}

static uint16_t cmd_offload_fetch(void *ctx, const struct ctl_request *req,
                                  struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_offload_range src;
    static uint8_t buf[CTL_OFFLOAD_FETCH_MAX]; /* the server runs one command at a time */
    size_t got = 0;
    if (!c->ops->offload_fetch)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = range_arg(req, &src, msg);
    if (st != CTL_OK)
        return st;
    if (src.length == UINT64_MAX || src.length > CTL_OFFLOAD_FETCH_MAX) {
        *msg = "LENGTH must be given, at most 12288";
        return CTL_ERR_BAD_ARGUMENT;
    }
    c->checkpoint_msg[0] = '\0';
    st = c->ops->offload_fetch(c->hv, &src, buf, (size_t)src.length, &got, c->checkpoint_msg,
                               sizeof c->checkpoint_msg);
    if (st != CTL_OK)
        return failed(c, st, msg);
    if (got > src.length)
        return CTL_ERR_INTERNAL;
    ctl_put_bytes(w, CTL_TAG_DATA, buf, got);
    return CTL_OK;
}

static uint16_t cmd_offload_store(void *ctx, const struct ctl_request *req,
                                  struct ctl_tlv_writer *w, const char **msg)
{
    struct ctl_commands *c = ctx;
    struct ctl_offload_range dst;
    struct ctl_tlv t;
    if (!c->ops->offload_store)
        return CTL_ERR_UNSUPPORTED;
    uint16_t st = range_arg(req, &dst, msg);
    if (st != CTL_OK)
        return st;
    if (!ctl_tlv_find(req->payload, req->length, CTL_TAG_DATA, &t) ||
        t.len > CTL_OFFLOAD_STORE_MAX) {
        *msg = "missing DATA, or over 3584 bytes";
        return CTL_ERR_BAD_ARGUMENT;
    }
    c->checkpoint_msg[0] = '\0';
    st = c->ops->offload_store(c->hv, &dst, t.value, t.len, c->checkpoint_msg,
                               sizeof c->checkpoint_msg);
    if (st != CTL_OK)
        return failed(c, st, msg);
    ctl_put_u64(w, CTL_TAG_WRITTEN, t.len);
    return CTL_OK;
}

int ctl_offload_register(struct ctl_server *srv, struct ctl_commands *cmds)
{
    int rc = ctl_server_register(srv, CTL_MSG_OFFLOAD_READ, cmd_offload_read, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_OFFLOAD_WRITE, cmd_offload_write, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_OFFLOAD_PULL, cmd_offload_pull, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_OFFLOAD_PULL_STATUS, cmd_offload_pull_status, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_OFFLOAD_FETCH, cmd_offload_fetch, cmds);
    rc |= ctl_server_register(srv, CTL_MSG_OFFLOAD_STORE, cmd_offload_store, cmds);
    return rc;
}
