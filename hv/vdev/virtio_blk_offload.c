/* The guest tokens of one partition (hv/vdev/virtio_blk_offload.h). */
#include "hv/vdev/virtio_blk_offload.h"

#include <string.h>

void vblk_tokens_init(struct vblk_tokens *tk, token_mac_fn mac, void *mac_ctx,
                      void (*random)(void *ctx, void *buf, size_t len),
                      uint64_t (*now_ms)(void *ctx), void *ctx)
{
    memset(tk, 0, sizeof(*tk));
    tk->mac = mac, tk->mac_ctx = mac_ctx;
    tk->random = random, tk->now_ms = now_ms, tk->ctx = ctx;
    random(ctx, tk->issuer, sizeof tk->issuer);
}

static bool expired(struct vblk_tokens *tk, const struct token *t)
{
    return tk->now_ms(tk->ctx) >= t->expiry_ms;
}

const char *vblk_tokens_issue(struct vblk_tokens *tk, uint32_t disk, uint64_t off, uint64_t len,
                              uint8_t out[TOKEN_SIZE])
{
    if (len == 0 || off + len < off)
        return "offload read of no data";
    unsigned slot = 0;
    for (unsigned i = 0; i < VBLK_TOKENS_LIVE; i++) {
        bool dead = !tk->live[i].used || tk->live[i].revoked || expired(tk, &tk->live[i].t);
        if (dead) {
            slot = i;
            break;
        }
        if (tk->live[i].issued_at < tk->live[slot].issued_at)
            slot = i;               /* all live: the oldest is replaced */
    }
    if (tk->live[slot].used && !tk->live[slot].revoked && !expired(tk, &tk->live[slot].t))
        tk->replaced++;
    struct token t = { .count = 1, .total = len };
    memcpy(t.issuer, tk->issuer, sizeof t.issuer);
    tk->random(tk->ctx, t.id, sizeof t.id);
    t.expiry_ms = tk->now_ms(tk->ctx) + VBLK_TOKEN_LIFETIME_MS;
    t.range[0] = (struct token_range){ .kind = TOKEN_RANGE_DISK, .object = disk, .offset = off,
                                       .length = len };
    if (token_encode(&t, tk->mac, tk->mac_ctx, out) != TOKEN_OK)
        return "token could not be encoded";
    tk->live[slot].used = true;
    tk->live[slot].revoked = false;
    tk->live[slot].issued_at = ++tk->serial;
    tk->live[slot].t = t;
    tk->issued++;
    return NULL;
}

void vblk_tokens_note_write(struct vblk_tokens *tk, uint32_t disk, uint64_t off, uint64_t len)
{
    uint64_t end = off + len < off ? UINT64_MAX : off + len;
    for (unsigned i = 0; i < VBLK_TOKENS_LIVE; i++) {
        const struct token_range *r = &tk->live[i].t.range[0];
        if (!tk->live[i].used || tk->live[i].revoked || r->object != disk || !len)
            continue;
        if (off < r->offset + r->length && r->offset < end) {
            tk->live[i].revoked = true;
            tk->revoked++;
        }
    }
}

static int find(struct vblk_tokens *tk, const uint8_t id[TOKEN_ID_LEN])
{
    for (unsigned i = 0; i < VBLK_TOKENS_LIVE; i++)
        if (tk->live[i].used && !memcmp(tk->live[i].t.id, id, TOKEN_ID_LEN))
            return (int)i;
    return -1;
}

bool vblk_tokens_live(struct vblk_tokens *tk, const uint8_t id[TOKEN_ID_LEN])
{
    int i = find(tk, id);
    return i >= 0 && !tk->live[i].revoked && !expired(tk, &tk->live[i].t);
}

const char *vblk_tokens_redeem(struct vblk_tokens *tk, const uint8_t *buf, size_t buf_len,
                               uint64_t token_off, uint64_t len, struct vblk_offload_src *src)
{
    struct token t;
    int rc = token_decode(buf, buf_len, tk->issuer, tk->mac, tk->mac_ctx, tk->now_ms(tk->ctx), &t);
    if (rc == TOKEN_E_ISSUER) {
        tk->refused++;
        return "token not issued to this partition";
    }
    if (rc != TOKEN_OK) {
        tk->refused++;
        return token_status_text(rc);
    }
    /* decoded under our MAC: ours, so exactly one disk range */
    if (t.count != 1 || t.range[0].kind != TOKEN_RANGE_DISK)
        return "token not issued to this partition";
    if (!vblk_tokens_live(tk, t.id)) {
        tk->refused++;
        return "token no longer valid: its data changed since issue, or it was replaced";
    }
    if (token_off % 512 || len % 512 || len == 0)
        return "token offset and length must be whole 512-byte sectors, length > 0";
    if (token_off >= t.total)
        return "token offset past the token's data";
    src->disk = t.range[0].object;
    src->offset = t.range[0].offset + token_off;
    src->length = len < t.total - token_off ? len : t.total - token_off;
    memcpy(src->id, t.id, sizeof src->id);
    return NULL;
}
