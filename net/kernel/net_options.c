#include "net/kernel/net_options.h"

#include <stddef.h>
#include <string.h>

#include "hv/lib/cmdline.h"
#include "hv/lib/format.h"
#include "net/control/ctl_codec.h"
#include "net/tls/tls_identity.h"

static bool parse_ip(const char *s, size_t n, uint32_t *out)
{
    uint32_t ip = 0, part = 0;
    unsigned dots = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (!digits || ++dots > 3)
                return false;
            ip = ip << 8 | part;
            part = digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
            part = part * 10 + (uint32_t)(s[i] - '0');
            digits++;
            if (part > 255)
                return false;
        } else {
            return false;
        }
    }
    if (dots != 3 || !digits)
        return false;
    *out = ip << 8 | part;
    return true;
}

static bool parse_u32(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = (uint32_t)v;
    return true;
}

static void word(struct net_options *o, const struct cmdline_word *w, char *err, size_t cap)
{
    char hex[80];
    const char *v = w->value;
    size_t k = w->value_len;
    bool ok = true;
    if (!v && cmdline_key_is(w, "net.sink")) {
        o->sink = true;
    } else if (v && cmdline_key_is(w, "net.peer-key")) {
        ok = k < sizeof(hex);
        if (ok) {
            memcpy(hex, v, k);
            hex[k] = 0;
            ok = tls_fingerprint_parse(hex, o->peer_key) == 0;
        }
        o->peer_key_set = ok;
    } else if (v && cmdline_key_is(w, "net.peer-start")) {
        ok = k < sizeof(o->peer_start) && ctl_name_valid(v, k);
        if (ok) {
            memcpy(o->peer_start, v, k);
            o->peer_start[k] = 0;
        }
    } else if (v && cmdline_key_is(w, "net.peer")) {
        ok = o->peer = parse_ip(v, k, &o->peer_ip);
    } else if (v && cmdline_key_is(w, "net.bench")) {
        ok = parse_u32(v, k, &o->bench_mib) && o->bench_mib <= 1024;
    } else if (w->key_len > 4 && !memcmp(w->key, "net.", 4)) {
        ok = false;             /* net.* is this service's: an unknown one is a mistake */
    } else {
        return;
    }
    if (!ok && !err[0])
        fmt_snprintf(err, cap, "bad command-line option '%.*s'",
                     (int)(w->key_len + (v ? k + 1 : 0)), w->key);
}

void net_options_parse(struct net_options *o, const char *cmdline, char *err, size_t cap)
{
    memset(o, 0, sizeof(*o));
    err[0] = 0;
    struct cmdline_word w;
    while (cmdline_next(&cmdline, &w))
        word(o, &w, err, cap);
}
