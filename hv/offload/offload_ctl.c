/* The offload provider behind the control server (hv/offload/offload_ctl.h). */
#include "hv/offload/offload_ctl.h"

#include "hv/lib/format.h"

_Static_assert(CTL_OFFLOAD_TOKEN_SIZE == TOKEN_SIZE, "the control protocol's token size");

static struct offload_provider *provider;
static struct offload_provider *(*provider_hook)(void);

void offload_ctl_attach(struct offload_provider *p) { provider = p; }
void offload_ctl_attach_lazy(struct offload_provider *(*get)(void)) { provider_hook = get; }

/* The provider, made on first use where the platform makes it late (the pool mounts after
 * the control server starts). */
static struct offload_provider *the_provider(void)
{
    if (!provider && provider_hook)
        provider = provider_hook();
    return provider;
}

uint16_t offload_ctl_status(int st)
{
    switch (st) {
    case OFFLOAD_OK:          return CTL_OK;
    case OFFLOAD_E_INVALID:   return CTL_ERR_BAD_ARGUMENT;
    case OFFLOAD_E_NOT_FOUND: return CTL_ERR_NOT_FOUND;
    case OFFLOAD_E_TOKEN:     return CTL_ERR_BAD_ARGUMENT;
    case OFFLOAD_E_REVOKED:   return CTL_ERR_BAD_STATE;
    case OFFLOAD_E_BUSY:      return CTL_ERR_BUSY;
    case OFFLOAD_E_GRANT:     return CTL_ERR_BAD_ARGUMENT;
    default:                  return CTL_ERR_INTERNAL;
    }
}

uint16_t offload_ctl_read(void *ctx, const struct ctl_offload_range *src, uint32_t lifetime_ms,
                         uint8_t token[CTL_OFFLOAD_TOKEN_SIZE], uint64_t *covered, char *msg,
                         size_t msg_size)
{
    (void)ctx;
    struct offload_provider *prov = the_provider();
    if (!prov) {
        fmt_snprintf(msg, msg_size, "offload: no storage pool on this host (or no entropy)");
        return CTL_ERR_UNSUPPORTED;
    }
    struct offload_src s = { src->kind, src->file, src->offset, src->length };
    char why[200] = "";
    int rc = offload_read(prov, &s, 1, lifetime_ms, token, covered, why, sizeof why);
    if (rc)
        fmt_snprintf(msg, msg_size, "offload read: %s", why);
    return offload_ctl_status(rc);
}

uint16_t offload_ctl_write(void *ctx, const uint8_t token[CTL_OFFLOAD_TOKEN_SIZE],
                          uint64_t token_offset, uint64_t length, bool whole,
                          const struct ctl_offload_range *dst, uint64_t *written, char *msg,
                          size_t msg_size)
{
    (void)ctx;
    struct offload_provider *prov = the_provider();
    if (!prov) {
        fmt_snprintf(msg, msg_size, "offload: no storage pool on this host (or no entropy)");
        return CTL_ERR_UNSUPPORTED;
    }
    char why[200] = "";
    int rc = whole && !token_offset && !dst->offset
           ? offload_write_whole(prov, token, CTL_OFFLOAD_TOKEN_SIZE, length, dst->kind,
                                 dst->file, NULL, NULL, written, why, sizeof why)
           : offload_write(prov, token, CTL_OFFLOAD_TOKEN_SIZE, token_offset, length,
                           dst->kind, dst->file, dst->offset, NULL, NULL, written, why,
                           sizeof why);
    if (rc)
        fmt_snprintf(msg, msg_size, "offload write: %s (%llu bytes written)", why,
                     (unsigned long long)*written);
    else if (why[0]) /* not an error, but a reason it stopped short */
        fmt_snprintf(msg, msg_size, "%s", why);
    return offload_ctl_status(rc);
}

uint16_t offload_ctl_fetch(void *ctx, const struct ctl_offload_range *r, uint8_t *buf,
                           size_t len, size_t *got, char *msg, size_t msg_size)
{
    (void)ctx;
    *got = 0;
    struct offload_provider *prov = the_provider();
    if (!prov) {
        fmt_snprintf(msg, msg_size, "offload: no storage pool on this host (or no entropy)");
        return CTL_ERR_UNSUPPORTED;
    }
    char why[200] = "";
    int rc = offload_fetch(prov, r->kind, r->file, r->offset, buf, len, got, why, sizeof why);
    if (rc)
        fmt_snprintf(msg, msg_size, "fetch: %s", why);
    return offload_ctl_status(rc);
}

uint16_t offload_ctl_store(void *ctx, const struct ctl_offload_range *r, const uint8_t *buf,
                           size_t len, char *msg, size_t msg_size)
{
    (void)ctx;
    struct offload_provider *prov = the_provider();
    if (!prov) {
        fmt_snprintf(msg, msg_size, "offload: no storage pool on this host (or no entropy)");
        return CTL_ERR_UNSUPPORTED;
    }
    char why[200] = "";
    int rc = offload_store(prov, r->kind, r->file, r->offset, buf, len, why, sizeof why);
    if (rc)
        fmt_snprintf(msg, msg_size, "store: %s", why);
    return offload_ctl_status(rc);
}

void offload_ctl_ops(struct ctl_hv_ops *ops)
{
    ops->offload_read = offload_ctl_read;
    ops->offload_write = offload_ctl_write;
    ops->offload_fetch = offload_ctl_fetch;
    ops->offload_store = offload_ctl_store;
}
