/* `atollctl offload`: offload read, write and copy through the control protocol. */
#include "tools/atollctl/offload.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "hv/offload/grant.h"
#include "net/tls/tls_grant.h"
#include "tools/atollctl/host_io.h"
#include "tools/atollctl/progress.h"
#include "tools/atollctl/render.h"
#include "tools/atollctl/report.h"

#define STEP (64ull << 20) /* bytes per write request: the progress bar's grain */
#define TOKEN_TOTAL_AT 72  /* the token's total length field (hv/offload/TOKEN.md) */

struct where {
    uint8_t kind;        /* 1 file, 2 disk */
    char path[CTL_OFFLOAD_FILE_MAX + 1];
    uint64_t offset, length; /* length UINT64_MAX: to the end */
    bool has_length;
};

static bool parse_size(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0, mul = 1;
    if (n && (s[n - 1] == 'K' || s[n - 1] == 'M' || s[n - 1] == 'G')) {
        mul = s[n - 1] == 'K' ? 1ull << 10 : s[n - 1] == 'M' ? 1ull << 20 : 1ull << 30;
        n--;
    }
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

/* "[disk:]PATH[@OFFSET[+LENGTH]]"; allow_length: whether +LENGTH may appear. */
static bool parse_where(const char *s, bool allow_length, struct where *w)
{
    memset(w, 0, sizeof *w);
    w->kind = 1;
    w->length = UINT64_MAX;
    if (!strncmp(s, "disk:", 5))
        w->kind = 2, s += 5;
    else if (!strncmp(s, "file:", 5))
        s += 5;
    const char *at = strchr(s, '@');
    size_t plen = at ? (size_t)(at - s) : strlen(s);
    if (!plen || plen > CTL_OFFLOAD_FILE_MAX)
        return false;
    for (size_t i = 0; i < plen; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    memcpy(w->path, s, plen);
    if (!at)
        return true;
    const char *plus = strchr(at + 1, '+');
    size_t olen = plus ? (size_t)(plus - at - 1) : strlen(at + 1);
    if (!parse_size(at + 1, olen, &w->offset))
        return false;
    if (!plus)
        return true;
    w->has_length = true;
    return allow_length && parse_size(plus + 1, strlen(plus + 1), &w->length) && w->length;
}

static int call(struct client *c, uint16_t type, const void *p, size_t n, struct client_reply *r)
{
    int rc = client_call(c, type, p, n, r);
    return rc == EXIT_OK ? client_report_status(c, r) : rc;
}

static const char *kind_name(uint8_t kind) { return kind == 2 ? "disk" : "file"; }

static int do_read(struct client *c, const struct where *src, uint8_t token[CTL_OFFLOAD_TOKEN_SIZE],
                   uint64_t *covered)
{
    uint8_t p[512];
    struct ctl_tlv_writer w;
    struct client_reply r;
    struct ctl_tlv t;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_FILE, src->path);
    ctl_put_u8(&w, CTL_TAG_OBJ_KIND, src->kind);
    ctl_put_u64(&w, CTL_TAG_OFFSET, src->offset);
    if (src->has_length)
        ctl_put_u64(&w, CTL_TAG_LENGTH, src->length);
    int rc = call(c, CTL_MSG_OFFLOAD_READ, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    if (!ctl_tlv_find(r.payload, r.length, CTL_TAG_TOKEN, &t) || t.len != CTL_OFFLOAD_TOKEN_SIZE ||
        (memcpy(token, t.value, t.len), !ctl_tlv_find(r.payload, r.length, CTL_TAG_COVERED, &t)) ||
        !ctl_tlv_u64(&t, covered)) {
        report_error("protocol: the offload read reply has no token or length\n");
        return EXIT_PROTOCOL;
    }
    return EXIT_OK;
}

static uint64_t token_total(const uint8_t *token)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | token[TOKEN_TOTAL_AT + i];
    return v;
}

/* Writes [toff, toff+len) of the token's data into dst, STEP bytes a request.  When that
 * is the whole token into the whole destination, the first request says so (WHOLE): the
 * provider may then write all of it at once (a linked clone, whatever its size). */
static int do_write(struct client *c, const uint8_t *token, uint64_t toff, uint64_t len,
                    const struct where *dst, bool json, uint64_t *written, char *why, size_t why_size)
{
    bool whole = toff == 0 && dst->offset == 0 && len == token_total(token);
    struct progress bar;
    char label[CTL_OFFLOAD_FILE_MAX + 16];
    snprintf(label, sizeof label, "offload -> %s", dst->path);
    if (!json)
        progress_begin(&bar, stderr, label);
    *written = 0;
    why[0] = '\0';
    int rc = EXIT_OK;
    while (*written < len) {
        uint8_t p[1024];
        struct ctl_tlv_writer w;
        struct client_reply r;
        struct ctl_tlv t;
        uint64_t ask = len - *written < STEP ? len - *written : STEP, got = 0;
        ctl_tlv_writer_init(&w, p, sizeof p);
        ctl_put_bytes(&w, CTL_TAG_TOKEN, token, CTL_OFFLOAD_TOKEN_SIZE);
        ctl_put_str(&w, CTL_TAG_FILE, dst->path);
        ctl_put_u8(&w, CTL_TAG_OBJ_KIND, dst->kind);
        ctl_put_u64(&w, CTL_TAG_OFFSET, dst->offset + *written);
        ctl_put_u64(&w, CTL_TAG_TOKEN_OFFSET, toff + *written);
        ctl_put_u64(&w, CTL_TAG_LENGTH, ask);
        bool hint = whole && *written == 0;
        if (hint)
            ctl_put_u8(&w, CTL_TAG_WHOLE, 1);
        rc = call(c, CTL_MSG_OFFLOAD_WRITE, p, w.len, &r);
        if (rc != EXIT_OK)
            break;
        /* more than asked only as the answer to WHOLE, and then all of it */
        if (!ctl_tlv_find(r.payload, r.length, CTL_TAG_WRITTEN, &t) || !ctl_tlv_u64(&t, &got) ||
            (got > ask && !(hint && got == len))) {
            report_error("protocol: the offload write reply has no written length\n");
            rc = EXIT_PROTOCOL;
            break;
        }
        *written += got;
        if (!json)
            progress_update(&bar, *written, len);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_TEXT, &t))
            ctl_tlv_text(&t, why, why_size);
        if (got < ask)
            break;
    }
    if (!json)
        progress_end(&bar, rc != EXIT_OK ? "failed" : *written < len ? "short" : "done");
    if (rc == EXIT_OK && *written < len) {
        report_error("wrote %" PRIu64 " of %" PRIu64 " bytes: %s\n", *written, len,
                     why[0] ? why : "the provider stopped short");
        rc = EXIT_COMMAND;
    }
    return rc;
}

static void json_where(const char *key, const struct where *w)
{
    printf("\"%s\":{\"kind\":\"%s\",\"path\":", key, kind_name(w->kind));
    render_json_string(stdout, w->path);
    printf(",\"offset\":%" PRIu64 "}", w->offset);
}

static void print_write(bool json, const char *verb, const struct where *src,
                        const struct where *dst, uint64_t asked, uint64_t covered,
                        uint64_t written, const char *why)
{
    if (!json) {
        printf("%s: %" PRIu64 " bytes into %s %s at %" PRIu64 "%s%s%s\n", verb, written,
               kind_name(dst->kind), dst->path, dst->offset, why[0] ? " (" : "", why,
               why[0] ? ")" : "");
        return;
    }
    printf("{\"result\":\"%s\",", verb);
    if (src) {
        json_where("source", src);
        printf(",\"requested\":");
        if (asked == UINT64_MAX) printf("null,"); else printf("%" PRIu64 ",", asked);
        printf("\"covered\":%" PRIu64 ",", covered);
    }
    json_where("destination", dst);
    printf(",\"written\":%" PRIu64 ",\"complete\":%s,\"message\":", written,
           written == covered ? "true" : "false");
    render_json_string(stdout, why);
    printf("}\n");
}

static bool save_token(const char *path, const uint8_t *token)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && write(fd, token, CTL_OFFLOAD_TOKEN_SIZE) == CTL_OFFLOAD_TOKEN_SIZE;
    if (fd >= 0 && close(fd))
        ok = false;
    if (!ok)
        report_error("%s: cannot write the token: %s\n", path, strerror(errno));
    return ok;
}

static bool load_token(const char *path, uint8_t *token)
{
    uint8_t extra;
    int fd = open(path, O_RDONLY);
    bool ok = fd >= 0 && read(fd, token, CTL_OFFLOAD_TOKEN_SIZE) == CTL_OFFLOAD_TOKEN_SIZE &&
              read(fd, &extra, 1) == 0 && !memcmp(token, "ATOLLTOK", 8);
    if (fd >= 0)
        close(fd);
    if (!ok)
        report_error("%s: not a token file (512 bytes starting ATOLLTOK expected)\n", path);
    return ok;
}

static int cmd_read(const char *const *pos, bool json, struct client *c)
{
    struct where src;
    uint8_t token[CTL_OFFLOAD_TOKEN_SIZE];
    uint64_t covered;
    if (!parse_where(pos[1], true, &src)) {
        report_error("bad source '%s' ([disk:]PATH[@OFFSET[+LENGTH]])\n", pos[1]);
        return EXIT_USAGE;
    }
    int rc = do_read(c, &src, token, &covered);
    if (rc != EXIT_OK)
        return rc;
    if (!save_token(pos[2], token))
        return EXIT_LOCAL;
    if (json) {
        printf("{\"result\":\"read\",");
        json_where("source", &src);
        printf(",\"requested\":");
        if (src.has_length) printf("%" PRIu64, src.length); else printf("null");
        printf(",\"covered\":%" PRIu64 ",\"initiator_bytes\":%" PRIu64 ",\"token\":", covered,
               c->app_bytes);
        render_json_string(stdout, pos[2]);
        printf("}\n");
    } else {
        printf("token %s: %" PRIu64 " bytes of %s %s from %" PRIu64 "%s\n", pos[2], covered,
               kind_name(src.kind), src.path, src.offset,
               src.has_length && covered < src.length ? " (less than asked)" : "");
    }
    return EXIT_OK;
}

static int cmd_write(int npos, const char *const *pos, bool json, struct client *c)
{
    struct where dst;
    uint8_t token[CTL_OFFLOAD_TOKEN_SIZE];
    if (!parse_where(pos[2], false, &dst)) {
        report_error("usage: atollctl offload write TOKENFILE [disk:]PATH[@OFFSET] [TOKENOFF[+LEN]]\n");
        return EXIT_USAGE;
    }
    uint64_t toff = 0, len = UINT64_MAX;
    if (npos == 4) {
        const char *plus = strchr(pos[3], '+');
        size_t olen = plus ? (size_t)(plus - pos[3]) : strlen(pos[3]);
        if (!parse_size(pos[3], olen, &toff) ||
            (plus && (!parse_size(plus + 1, strlen(plus + 1), &len) || !len))) {
            report_error("bad token range '%s' (TOKENOFF[+LEN])\n", pos[3]);
            return EXIT_USAGE;
        }
    }
    if (!load_token(pos[1], token))
        return EXIT_LOCAL;
    uint64_t total = token_total(token);
    if (toff >= total) {
        report_error("offset %" PRIu64 " is past the token's %" PRIu64 " bytes\n", toff, total);
        return EXIT_USAGE;
    }
    if (len > total - toff)
        len = total - toff;
    uint64_t written;
    char why[256];
    int rc = do_write(c, token, toff, len, &dst, json, &written, why, sizeof why);
    if (rc == EXIT_OK)
        print_write(json, "write", NULL, &dst, len, len, written, why);
    return rc;
}

static int cmd_copy(const char *const *pos, bool json, struct client *c)
{
    struct where src, dst;
    uint8_t token[CTL_OFFLOAD_TOKEN_SIZE];
    uint64_t covered, written;
    char why[256];
    if (!parse_where(pos[1], true, &src) || !parse_where(pos[2], false, &dst)) {
        report_error("usage: atollctl offload copy [disk:]PATH[@OFFSET[+LENGTH]] [disk:]PATH[@OFFSET]\n");
        return EXIT_USAGE;
    }
    int rc = do_read(c, &src, token, &covered);
    if (rc != EXIT_OK)
        return rc;
    rc = do_write(c, token, 0, covered, &dst, json, &written, why, sizeof why);
    if (rc == EXIT_OK && src.has_length && covered < src.length) {
        report_error("copied %" PRIu64 " of %" PRIu64 " bytes: the source holds no more\n",
                     written, src.length);
        rc = EXIT_COMMAND;
    }
    if (rc == EXIT_OK)
        print_write(json, "copy", &src, &dst, src.has_length ? src.length : UINT64_MAX, covered,
                    written, why);
    return rc;
}

/* ---- between two hosts: the grant (signed here) and the pull (done by B) ---------- */

static bool save_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0 && close(fd))
        ok = false;
    if (!ok)
        report_error("%s: cannot write: %s\n", path, strerror(errno));
    return ok;
}

/* The server's uptime (its clock: a grant's expiry is on the source provider's clock). */
static int server_clock(struct client *c, uint64_t *now_ms)
{
    struct client_reply r;
    struct ctl_tlv t;
    int rc = call(c, CTL_MSG_STATUS, NULL, 0, &r);
    if (rc != EXIT_OK)
        return rc;
    if (!ctl_tlv_find(r.payload, r.length, CTL_TAG_UPTIME_MS, &t) || !ctl_tlv_u64(&t, now_ms)) {
        report_error("protocol: the status reply has no uptime\n");
        return EXIT_PROTOCOL;
    }
    return EXIT_OK;
}

/* grant TOKENFILE DEST_KEY GRANTFILE [LIFETIME_MS]: the connected host is the source A. */
static int cmd_grant(int npos, const char *const *pos, bool json, struct client *c)
{
    struct grant g;
    unsigned long lifetime = 60000;
    char *end = NULL;
    memset(&g, 0, sizeof g);
    if (npos == 5 && ((lifetime = strtoul(pos[4], &end, 10)), !*pos[4] || *end)) {
        report_error("bad lifetime '%s' (milliseconds)\n", pos[4]);
        return EXIT_USAGE;
    }
    if (tls_fingerprint_parse(pos[2], g.destination) != 0) {
        report_error("bad destination key '%s' (64 hex digits: the fingerprint host B's "
                     "console prints)\n", pos[2]);
        return EXIT_USAGE;
    }
    if (!load_token(pos[1], g.token))
        return EXIT_LOCAL;
    uint64_t now;
    int rc = server_clock(c, &now);
    if (rc != EXIT_OK)
        return rc;
    const uint8_t *source = c->tls.pin.seen ? c->tls.pin.fingerprint : NULL;
    if (!source || host_entropy(NULL, g.nonce, sizeof g.nonce) != 0) {
        report_error("no source key or no entropy for the nonce\n");
        return EXIT_LOCAL;
    }
    memcpy(g.initiator, c->id.public, GRANT_KEY_LEN);
    memcpy(g.source, source, GRANT_FP_LEN);
    g.expiry_ms = now + lifetime;
    struct grant_crypto crypto = tls_grant_signer(&c->id);
    uint8_t out[GRANT_SIZE];
    if (grant_encode(&g, &crypto, out) != GRANT_OK) {
        report_error("the grant could not be signed\n");
        return EXIT_LOCAL;
    }
    if (!save_file(pos[3], out, sizeof out))
        return EXIT_LOCAL;
    char src_hex[TLS_FP_HEX_SIZE], dst_hex[TLS_FP_HEX_SIZE];
    tls_fingerprint_hex(g.source, src_hex);
    tls_fingerprint_hex(g.destination, dst_hex);
    if (json)
        printf("{\"result\":\"grant\",\"grant\":\"%s\",\"source\":\"%s\",\"destination\":"
               "\"%s\",\"expiry_ms\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"initiator_bytes\":%"
               PRIu64 "}\n", pos[3], src_hex, dst_hex, g.expiry_ms, token_total(g.token),
               c->app_bytes);
    else
        printf("grant %s: %" PRIu64 " bytes from %.16s... to %.16s..., valid %lu ms\n", pos[3],
               token_total(g.token), src_hex, dst_hex, lifetime);
    return EXIT_OK;
}

static bool load_grant(const char *path, uint8_t *grant)
{
    uint8_t extra;
    int fd = open(path, O_RDONLY);
    bool ok = fd >= 0 && read(fd, grant, GRANT_SIZE) == GRANT_SIZE && read(fd, &extra, 1) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok)
        report_error("%s: not a grant file (768 bytes expected)\n", path);
    return ok;
}

static int pull_status(struct client *c, bool *active, uint64_t *done, uint64_t *total,
                       uint16_t *result, char *text, size_t text_size)
{
    struct client_reply r;
    struct ctl_tlv t;
    uint8_t a = 0;
    int rc = call(c, CTL_MSG_OFFLOAD_PULL_STATUS, NULL, 0, &r);
    if (rc != EXIT_OK)
        return rc;
    if (!ctl_tlv_find(r.payload, r.length, CTL_TAG_ACTIVE, &t) || !ctl_tlv_u8(&t, &a) ||
        !ctl_tlv_find(r.payload, r.length, CTL_TAG_DONE, &t) || !ctl_tlv_u64(&t, done) ||
        !ctl_tlv_find(r.payload, r.length, CTL_TAG_TOTAL, &t) || !ctl_tlv_u64(&t, total) ||
        !ctl_tlv_find(r.payload, r.length, CTL_TAG_RESULT, &t) || !ctl_tlv_u16(&t, result) ||
        !ctl_tlv_find(r.payload, r.length, CTL_TAG_TEXT, &t) || !ctl_tlv_text(&t, text, text_size)) {
        report_error("protocol: the pull status reply is incomplete\n");
        return EXIT_PROTOCOL;
    }
    *active = a;
    return EXIT_OK;
}

/* pull GRANTFILE SOURCE_LINK DST [TOKENOFF[+LEN]]: the connected host is the destination B. */
static int cmd_pull(int npos, const char *const *pos, bool json, struct client *c)
{
    struct where dst;
    uint8_t grant[GRANT_SIZE];
    uint64_t toff = 0, len = UINT64_MAX;
    if (!parse_where(pos[3], false, &dst)) {
        report_error("usage: atollctl offload pull GRANTFILE A.B.C.D[:PORT] [disk:]PATH[@OFFSET] "
                     "[TOKENOFF[+LEN]]\n");
        return EXIT_USAGE;
    }
    if (npos == 5) {
        const char *plus = strchr(pos[4], '+');
        size_t olen = plus ? (size_t)(plus - pos[4]) : strlen(pos[4]);
        if (!parse_size(pos[4], olen, &toff) ||
            (plus && (!parse_size(plus + 1, strlen(plus + 1), &len) || !len))) {
            report_error("bad token range '%s' (TOKENOFF[+LEN])\n", pos[4]);
            return EXIT_USAGE;
        }
    }
    if (!load_grant(pos[1], grant))
        return EXIT_LOCAL;
    uint8_t p[2048];
    struct ctl_tlv_writer w;
    struct client_reply r;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_bytes(&w, CTL_TAG_GRANT, grant, GRANT_SIZE);
    ctl_put_str(&w, CTL_TAG_HOST, pos[2]);
    ctl_put_str(&w, CTL_TAG_FILE, dst.path);
    ctl_put_u8(&w, CTL_TAG_OBJ_KIND, dst.kind);
    ctl_put_u64(&w, CTL_TAG_OFFSET, dst.offset);
    ctl_put_u64(&w, CTL_TAG_TOKEN_OFFSET, toff);
    if (len != UINT64_MAX)
        ctl_put_u64(&w, CTL_TAG_LENGTH, len);
    int rc = call(c, CTL_MSG_OFFLOAD_PULL, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    struct progress bar;
    char label[CTL_OFFLOAD_FILE_MAX + 16], text[256] = "";
    snprintf(label, sizeof label, "pull -> %s", dst.path);
    if (!json)
        progress_begin(&bar, stderr, label);
    bool active = true;
    uint64_t done = 0, total = 0;
    uint16_t result = CTL_OK;
    while (rc == EXIT_OK && active) {
        rc = pull_status(c, &active, &done, &total, &result, text, sizeof text);
        if (rc == EXIT_OK && !json)
            progress_update(&bar, done, total);
        if (rc == EXIT_OK && active)
            usleep(100000);
    }
    bool complete = rc == EXIT_OK && result == CTL_OK && done == total;
    if (!json)
        progress_end(&bar, rc != EXIT_OK || result != CTL_OK ? "failed" : complete ? "done" : "short");
    if (rc != EXIT_OK)
        return rc;
    if (json) {
        printf("{\"result\":\"pull\",");
        json_where("destination", &dst);
        printf(",\"written\":%" PRIu64 ",\"total\":%" PRIu64 ",\"complete\":%s,"
               "\"initiator_bytes\":%" PRIu64 ",\"message\":", done, total,
               complete ? "true" : "false", c->app_bytes);
        render_json_string(stdout, text);
        printf("}\n");
    } else {
        printf("%s\ninitiator: %" PRIu64 " bytes of control messages, no payload\n", text,
               c->app_bytes);
    }
    if (!complete) {
        report_error("%s\n", text);
        return EXIT_COMMAND;
    }
    return EXIT_OK;
}

static void print_relay(bool json, const char *verb, const struct where *w, uint64_t bytes,
                        const struct client *c)
{
    if (json) {
        printf("{\"result\":\"%s\",", verb);
        json_where(verb[0] == 'f' ? "source" : "destination", w);
        printf(",\"bytes\":%" PRIu64 ",\"initiator_bytes\":%" PRIu64 "}\n", bytes,
               c->app_bytes);
    } else {
        printf("%s: %" PRIu64 " bytes %s %s %s\ninitiator: %" PRIu64 " bytes of control "
               "messages, the payload among them\n", verb, bytes, verb[0] == 'f' ? "of" : "into",
               kind_name(w->kind), w->path, c->app_bytes);
    }
}

/* fetch SRC LOCALFILE: SRC's bytes through atollctl, CTL_OFFLOAD_FETCH_MAX a request. */
static int cmd_fetch(const char *const *pos, bool json, struct client *c)
{
    struct where src;
    if (!parse_where(pos[1], true, &src)) {
        report_error("bad source '%s' ([disk:]PATH[@OFFSET[+LENGTH]])\n", pos[1]);
        return EXIT_USAGE;
    }
    FILE *out = fopen(pos[2], "wb");
    if (!out) {
        report_error("%s: %s\n", pos[2], strerror(errno));
        return EXIT_LOCAL;
    }
    uint64_t done = 0;
    int rc = EXIT_OK;
    while (rc == EXIT_OK && done < src.length) {
        uint64_t ask = src.length - done < CTL_OFFLOAD_FETCH_MAX ? src.length - done
                                                                 : CTL_OFFLOAD_FETCH_MAX;
        uint8_t p[512];
        struct ctl_tlv_writer w;
        struct client_reply r;
        struct ctl_tlv t;
        ctl_tlv_writer_init(&w, p, sizeof p);
        ctl_put_str(&w, CTL_TAG_FILE, src.path);
        ctl_put_u8(&w, CTL_TAG_OBJ_KIND, src.kind);
        ctl_put_u64(&w, CTL_TAG_OFFSET, src.offset + done);
        ctl_put_u64(&w, CTL_TAG_LENGTH, ask);
        rc = call(c, CTL_MSG_OFFLOAD_FETCH, p, w.len, &r);
        if (rc != EXIT_OK)
            break;
        if (!ctl_tlv_find(r.payload, r.length, CTL_TAG_DATA, &t) || t.len > ask) {
            report_error("protocol: the fetch reply has no data\n");
            rc = EXIT_PROTOCOL;
            break;
        }
        if (t.len && fwrite(t.value, 1, t.len, out) != t.len) {
            report_error("%s: %s\n", pos[2], strerror(errno));
            rc = EXIT_LOCAL;
        }
        done += t.len;
        if (t.len < ask)
            break; /* the end */
    }
    if (fclose(out) && rc == EXIT_OK) {
        report_error("%s: %s\n", pos[2], strerror(errno));
        rc = EXIT_LOCAL;
    }
    if (rc == EXIT_OK)
        print_relay(json, "fetch", &src, done, c);
    return rc;
}

/* store LOCALFILE DST: a local file through atollctl, CTL_OFFLOAD_STORE_MAX a request. */
static int cmd_store(const char *const *pos, bool json, struct client *c)
{
    struct where dst;
    if (!parse_where(pos[2], false, &dst)) {
        report_error("bad destination '%s' ([disk:]PATH[@OFFSET])\n", pos[2]);
        return EXIT_USAGE;
    }
    FILE *in = fopen(pos[1], "rb");
    if (!in) {
        report_error("%s: %s\n", pos[1], strerror(errno));
        return EXIT_LOCAL;
    }
    uint64_t done = 0;
    int rc = EXIT_OK;
    uint8_t data[CTL_OFFLOAD_STORE_MAX];
    size_t n;
    while (rc == EXIT_OK && (n = fread(data, 1, sizeof data, in)) > 0) {
        uint8_t p[CTL_MAX_REQUEST_PAYLOAD];
        struct ctl_tlv_writer w;
        struct client_reply r;
        ctl_tlv_writer_init(&w, p, sizeof p);
        ctl_put_str(&w, CTL_TAG_FILE, dst.path);
        ctl_put_u8(&w, CTL_TAG_OBJ_KIND, dst.kind);
        ctl_put_u64(&w, CTL_TAG_OFFSET, dst.offset + done);
        ctl_put_bytes(&w, CTL_TAG_DATA, data, n);
        rc = call(c, CTL_MSG_OFFLOAD_STORE, p, w.len, &r);
        done += rc == EXIT_OK ? n : 0;
    }
    if (ferror(in) && rc == EXIT_OK) {
        report_error("%s: %s\n", pos[1], strerror(errno));
        rc = EXIT_LOCAL;
    }
    fclose(in);
    if (rc == EXIT_OK)
        print_relay(json, "store", &dst, done, c);
    return rc;
}

int offload_command(int npos, const char *const *pos, bool json, struct client *c)
{
    if (!strcmp(pos[0], "fetch") && npos == 3)
        return cmd_fetch(pos, json, c);
    if (!strcmp(pos[0], "store") && npos == 3)
        return cmd_store(pos, json, c);
    if (!strcmp(pos[0], "grant") && (npos == 4 || npos == 5))
        return cmd_grant(npos, pos, json, c);
    if (!strcmp(pos[0], "pull") && (npos == 4 || npos == 5))
        return cmd_pull(npos, pos, json, c);
    if (!strcmp(pos[0], "read") && npos == 3)
        return cmd_read(pos, json, c);
    if (!strcmp(pos[0], "write") && (npos == 3 || npos == 4))
        return cmd_write(npos, pos, json, c);
    if (!strcmp(pos[0], "copy") && npos == 3)
        return cmd_copy(pos, json, c);
    report_error("usage: atollctl offload read SRC TOKENFILE | write TOKENFILE DST [TOKENOFF[+LEN]]"
                 " | copy SRC DST | grant TOKENFILE DEST_KEY GRANTFILE [LIFETIME_MS]"
                 " | pull GRANTFILE A.B.C.D[:PORT] DST [TOKENOFF[+LEN]]"
                 " | fetch SRC LOCALFILE | store LOCALFILE DST\n");
    return EXIT_USAGE;
}
