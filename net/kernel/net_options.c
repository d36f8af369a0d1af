#include "net/kernel/net_options.h"

#include <stddef.h>
#include <string.h>

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

static bool starts(const char *w, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && !strncmp(w, prefix, p);
}

static void word(struct net_options *o, const char *w, size_t n, char *err, size_t cap)
{
    char hex[80];
    bool ok = true;
    if (n == 8 && !strncmp(w, "net.sink", 8)) {
        o->sink = true;
    } else if (starts(w, n, "net.peer-key=")) {
        size_t k = n - 13;
        ok = k < sizeof(hex);
        if (ok) {
            memcpy(hex, w + 13, k);
            hex[k] = 0;
            ok = tls_fingerprint_parse(hex, o->peer_key) == 0;
        }
        o->peer_key_set = ok;
    } else if (starts(w, n, "net.peer-start=")) {
        size_t k = n - 15;
        ok = k < sizeof(o->peer_start) && ctl_name_valid(w + 15, k);
        if (ok) {
            memcpy(o->peer_start, w + 15, k);
            o->peer_start[k] = 0;
        }
    } else if (starts(w, n, "net.peer=")) {
        ok = o->peer = parse_ip(w + 9, n - 9, &o->peer_ip);
    } else if (starts(w, n, "net.bench=")) {
        ok = parse_u32(w + 10, n - 10, &o->bench_mib) && o->bench_mib <= 1024;
    } else {
        return;
    }
    if (!ok && !err[0])
        fmt_snprintf(err, cap, "bad command-line option '%.*s'", (int)n, w);
}

void net_options_parse(struct net_options *o, const char *cmdline, char *err, size_t cap)
{
    memset(o, 0, sizeof(*o));
    err[0] = 0;
    const char *p = cmdline;
    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (p > w)
            word(o, w, (size_t)(p - w), err, cap);
    }
}
