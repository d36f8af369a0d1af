/* atollctl: the operator's command-line client for an Atoll host's control server. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "net/control/ctl_codec.h"
#include "tools/atollctl/client.h"
#include "tools/atollctl/disk_cmd.h"
#include "tools/atollctl/host_io.h"
#include "tools/atollctl/offload.h"
#include "tools/atollctl/report.h"
#include "tools/atollctl/progress.h"
#include "tools/atollctl/render.h"

#define PROG "atollctl"

struct args {
    struct client_opts opts;
    bool json, help, version, force, no_wait, live, lazy;
    uint32_t bytes;
    const char *cmd;
    const char *pos[8];
    int npos;
};

struct command {
    const char *name;
    const char *synopsis;
    const char *help;
    int nargs;
    bool remote;
    int (*run)(struct args *a, struct client *c);
    int optional;               /* positional arguments it may take beyond nargs */
};

static const struct command *find_command(const char *name);

/* ---- local commands ------------------------------------------------------------------ */
static int cmd_keygen(struct args *a, struct client *c)
{
    static struct tls_identity id;
    char hex[TLS_FP_HEX_SIZE];
    int rc = tls_identity_generate(&id, host_entropy, NULL);
    if (rc != TLS_OK) {
        report_error("keygen: %s\n", tls_error_text(rc));
        return EXIT_LOCAL;
    }
    if (!host_write_key(PROG, a->pos[0], &id, a->force))
        return EXIT_LOCAL;
    tls_fingerprint_hex(id.fingerprint, hex);
    if (a->json)
        printf("{\"key\":\"%s\",\"fingerprint\":\"%s\"}\n", a->pos[0], hex);
    else
        printf("%s\n", hex);
    tls_identity_wipe(&id);
    return EXIT_OK;
}

static int cmd_fingerprint(struct args *a, struct client *c)
{
    static struct tls_identity id;
    char hex[TLS_FP_HEX_SIZE];
    if (!host_load_identity(PROG, a->pos[0], &id))
        return EXIT_LOCAL;
    tls_fingerprint_hex(id.fingerprint, hex);
    printf(a->json ? "{\"fingerprint\":\"%s\"}\n" : "%s\n", hex);
    tls_identity_wipe(&id);
    return EXIT_OK;
}

static int cmd_cert(struct args *a, struct client *c)
{
    static struct tls_identity id;
    char pem[2048];
    if (!host_load_identity(PROG, a->pos[0], &id))
        return EXIT_LOCAL;
    if (!tls_identity_cert_pem(&id, pem, sizeof pem))
        return EXIT_LOCAL;
    fputs(pem, stdout);
    tls_identity_wipe(&id);
    return EXIT_OK;
}

/* ---- remote commands ----------------------------------------------------------------- */
/* A partition name as the manifest allows it; says what is wrong when it is not. */
static bool name_ok(const char *name)
{
    if (ctl_name_valid(name, strlen(name)))
        return true;
    report_error("bad partition name '%s' (1-31 of a-z 0-9 _ -, as in the manifest)\n", name);
    return false;
}

static int call(struct client *c, uint16_t type, const void *p, size_t n, struct client_reply *r)
{
    int rc = client_call(c, type, p, n, r);
    return rc == EXIT_OK ? client_report_status(c, r) : rc;
}

/* A call whose reply the renderer prints as it is (text, or JSON with --json). */
static int call_and_render(struct args *a, struct client *c, uint16_t type, const void *p,
                           size_t n, void (*render)(FILE *, const uint8_t *, uint32_t, bool))
{
    struct client_reply r;
    int rc = call(c, type, p, n, &r);
    if (rc == EXIT_OK)
        render(stdout, r.payload, r.length, a->json);
    return rc;
}

static int cmd_status(struct args *a, struct client *c)
{
    return call_and_render(a, c, CTL_MSG_STATUS, NULL, 0, render_status);
}

static int cmd_list(struct args *a, struct client *c)
{
    return call_and_render(a, c, CTL_MSG_LIST, NULL, 0, render_list);
}

static int cmd_log(struct args *a, struct client *c)
{
    uint8_t p[16];
    struct ctl_tlv_writer w;
    ctl_tlv_writer_init(&w, p, sizeof p);
    if (a->bytes)
        ctl_put_u32(&w, CTL_TAG_MAX_BYTES, a->bytes);
    return call_and_render(a, c, CTL_MSG_LOG, p, w.len, render_log);
}

static int wait_op(struct args *a, struct client *c, uint32_t op, const char *label)
{
    uint8_t p[16];
    struct ctl_tlv_writer w;
    struct client_reply r;
    struct progress bar;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_u32(&w, CTL_TAG_OP_ID, op);
    if (!a->json)
        progress_begin(&bar, stdout, label);
    for (;;) {
        int rc = call(c, CTL_MSG_OP_STATUS, p, w.len, &r);
        if (rc != EXIT_OK)
            return rc;
        struct ctl_tlv t;
        uint64_t done = 0, total = 0;
        uint8_t st = CTL_OP_RUNNING;
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_DONE, &t)) ctl_tlv_u64(&t, &done);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_TOTAL, &t)) ctl_tlv_u64(&t, &total);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_OP_STATE, &t)) ctl_tlv_u8(&t, &st);
        if (!a->json)
            progress_update(&bar, done, total);
        if (st != CTL_OP_RUNNING) {
            if (a->json)
                render_op(stdout, op, r.payload, r.length, true);
            else
                progress_end(&bar, st == CTL_OP_DONE ? "done" : "failed");
            return st == CTL_OP_DONE ? EXIT_OK : EXIT_COMMAND;
        }
        usleep(100 * 1000);
    }
}

static int lifecycle(struct args *a, struct client *c, uint16_t type, const char *verb)
{
    uint8_t p[64];
    struct ctl_tlv_writer w;
    struct client_reply r;
    struct ctl_tlv t;
    uint32_t op = 0;
    if (!name_ok(a->pos[0]))
        return EXIT_USAGE;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_NAME, a->pos[0]);
    int rc = call(c, type, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    if (ctl_tlv_find(r.payload, r.length, CTL_TAG_OP_ID, &t))
        ctl_tlv_u32(&t, &op);
    if (op && !a->no_wait) {
        char label[64];
        snprintf(label, sizeof label, "%s %s", verb, a->pos[0]);
        return wait_op(a, c, op, label);
    }
    if (a->json)
        printf("{\"partition\":\"%s\",\"result\":\"%s\",\"op\":%u}\n", a->pos[0], verb, op);
    else
        printf("%s %s%s\n", verb, a->pos[0], op ? " (in progress)" : "");
    return EXIT_OK;
}

static int cmd_start(struct args *a, struct client *c) { return lifecycle(a, c, CTL_MSG_START, "start"); }
static int cmd_stop(struct args *a, struct client *c) { return lifecycle(a, c, CTL_MSG_STOP, "stop"); }

/* The server replies once the round trip is over: the partition runs again, restored. */
static int cmd_checkpoint(struct args *a, struct client *c)
{
    uint8_t p[64];
    struct ctl_tlv_writer w;
    struct client_reply r;
    struct ctl_tlv t;
    char text[CTL_MAX_REPLY_PAYLOAD + 1] = "";
    if (!name_ok(a->pos[0]))
        return EXIT_USAGE;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_NAME, a->pos[0]);
    int rc = call(c, CTL_MSG_CHECKPOINT, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    if (ctl_tlv_find(r.payload, r.length, CTL_TAG_TEXT, &t)) {
        memcpy(text, t.value, t.len);
        text[t.len] = '\0';
    }
    if (a->json) {
        printf("{\"partition\":\"%s\",\"result\":\"checkpoint\",\"message\":", a->pos[0]);
        render_json_string(stdout, text);
        printf("}\n");
    } else {
        printf("checkpoint %s\n", text);
    }
    return EXIT_OK;
}

/* The reply's TEXT (the hypervisor's one line), printed as is or as JSON. */
static int line_result(struct args *a, const struct client_reply *r, const char *verb,
                       const char *name, const char *file)
{
    struct ctl_tlv t;
    char text[CTL_MAX_REPLY_PAYLOAD + 1] = "";
    if (ctl_tlv_find(r->payload, r->length, CTL_TAG_TEXT, &t)) {
        memcpy(text, t.value, t.len);
        text[t.len] = '\0';
    }
    if (a->json) {
        printf("{\"partition\":");
        render_json_string(stdout, name);
        printf(",\"file\":");
        render_json_string(stdout, file);
        printf(",\"result\":\"%s\",\"message\":", verb);
        render_json_string(stdout, text);
        printf("}\n");
    } else {
        printf("%s\n", text);
    }
    return EXIT_OK;
}

static bool file_valid(const char *f)
{
    size_t n = strlen(f);
    if (!n || n > 119)
        return false;
    for (size_t i = 0; i < n; i++)
        if (f[i] < 0x21 || f[i] > 0x7e)
            return false;
    return true;
}

static void tlv_text(const struct client_reply *r, uint16_t tag, char *out, size_t cap)
{
    struct ctl_tlv t;
    out[0] = '\0';
    if (ctl_tlv_find(r->payload, r->length, tag, &t)) {
        size_t n = t.len < cap - 1 ? t.len : cap - 1;
        memcpy(out, t.value, n);
        out[n] = '\0';
    }
}

/* Follows snapshot operation op to its end: a bar with the RAM done, the rate, the level
 * mix and the passes; then the hypervisor's line (or, under --json, one object). */
static int wait_snapshot(struct args *a, struct client *c, uint32_t op, const char *name,
                         const char *file)
{
    uint8_t p[16];
    struct ctl_tlv_writer w;
    struct client_reply r;
    struct progress bar;
    char label[256], levels[128], text[CTL_MAX_REPLY_PAYLOAD + 1];
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_u32(&w, CTL_TAG_OP_ID, op);
    label[0] = '\0';
    if (!a->json)
        progress_begin(&bar, stderr, label);
    for (;;) {
        int rc = call(c, CTL_MSG_OP_STATUS, p, w.len, &r);
        if (rc != EXIT_OK)
            return rc;
        struct ctl_tlv t;
        uint64_t done = 0, total = 0, rate = 0;
        uint32_t passes = 0;
        uint16_t result = CTL_OK;
        uint8_t st = CTL_OP_RUNNING;
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_DONE, &t)) ctl_tlv_u64(&t, &done);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_TOTAL, &t)) ctl_tlv_u64(&t, &total);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_OP_STATE, &t)) ctl_tlv_u8(&t, &st);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_RATE, &t)) ctl_tlv_u64(&t, &rate);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_PASSES, &t)) ctl_tlv_u32(&t, &passes);
        if (ctl_tlv_find(r.payload, r.length, CTL_TAG_RESULT, &t)) ctl_tlv_u16(&t, &result);
        tlv_text(&r, CTL_TAG_LEVEL_MIX, levels, sizeof levels);
        tlv_text(&r, CTL_TAG_TEXT, text, sizeof text);
        if (!a->json) {
            snprintf(label, sizeof label, "snapshot %s: %.1f of %.1f MiB, %.1f MB/s, {%s}%s%.0u",
                     name, done / 1048576.0, total / 1048576.0, rate / 1e6, levels,
                     passes ? ", re-save pass " : "", passes);
            progress_update(&bar, done, total);
        }
        if (st == CTL_OP_RUNNING) {
            usleep(100 * 1000);
            continue;
        }
        bool ok = st == CTL_OP_DONE && result == CTL_OK;
        if (!ok && a->json) {     /* one error object (report_exit), the line its message */
            report_error("%s", text[0] ? text : "snapshot failed");
        } else if (a->json) {
            printf("{\"partition\":");
            render_json_string(stdout, name);
            printf(",\"file\":");
            render_json_string(stdout, file);
            printf(",\"result\":\"snapshot\",\"op\":%u,\"state\":\"%s\",\"status\":%u,"
                   "\"done\":%" PRIu64 ",\"total\":%" PRIu64 ",\"bytes_per_s\":%" PRIu64
                   ",\"passes\":%u,\"levels\":", op, "done", result, done, total, rate,
                   passes);
            render_json_string(stdout, levels);
            printf(",\"message\":");
            render_json_string(stdout, text);
            printf("}\n");
        } else {
            progress_end(&bar, NULL);
            printf("%s\n", text[0] ? text : ok ? "snapshot done" : "snapshot failed");
            fflush(stdout);
        }
        return ok ? EXIT_OK : EXIT_COMMAND;
    }
}

/* The server replies at once: begun (an operation to follow), or refused. */
static int cmd_snapshot(struct args *a, struct client *c)
{
    uint8_t p[256];
    struct ctl_tlv_writer w;
    struct client_reply r;
    const char *name = a->pos[0], *file = a->pos[1];
    bool stop = a->npos == 3;
    if (!name_ok(name))
        return EXIT_USAGE;
    if (!file_valid(file) || (stop && strcmp(a->pos[2], "stop"))) {
        report_error("usage: snapshot NAME FILE [stop] (FILE: a pool path, 1-119 bytes)\n");
        return EXIT_USAGE;
    }
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_NAME, name);
    ctl_put_str(&w, CTL_TAG_FILE, file);
    if (stop)
        ctl_put_u8(&w, CTL_TAG_STOP, 1);
    if (a->live)
        ctl_put_u8(&w, CTL_TAG_LIVE, 1);
    int rc = call(c, CTL_MSG_SNAPSHOT, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    struct ctl_tlv t;
    uint32_t op = 0;
    if (ctl_tlv_find(r.payload, r.length, CTL_TAG_OP_ID, &t))
        ctl_tlv_u32(&t, &op);
    if (!op)
        return line_result(a, &r, "snapshot", name, file);
    if (a->no_wait) {
        if (a->json)
            printf("{\"partition\":\"%s\",\"result\":\"snapshot\",\"op\":%u}\n", name, op);
        else
            printf("snapshot %s (in progress: operation %u)\n", name, op);
        return EXIT_OK;
    }
    return wait_snapshot(a, c, op, name, file);
}

/* The server replies once the partition runs, restored, or the file was refused. */
static int cmd_restore(struct args *a, struct client *c)
{
    uint8_t p[256];
    struct ctl_tlv_writer w;
    struct client_reply r;
    const char *file = a->pos[0], *name = a->npos == 3 ? a->pos[2] : "";
    if (!file_valid(file) || a->npos == 2 || (a->npos == 3 && strcmp(a->pos[1], "as"))) {
        report_error("usage: restore FILE [as NEWNAME] [--lazy] (FILE: a pool path, 1-119 "
                     "bytes)\n");
        return EXIT_USAGE;
    }
    if (name[0] && !name_ok(name))
        return EXIT_USAGE;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_FILE, file);
    if (name[0])
        ctl_put_str(&w, CTL_TAG_NAME, name);
    if (a->lazy)
        ctl_put_u8(&w, CTL_TAG_LAZY, 1);
    if (!a->json)
        fprintf(stderr, "restore %s%s%s: checking the file, %s...\n", file,
                name[0] ? " as " : "", name, a->lazy ? "starting it lazily" : "loading");
    int rc = call(c, CTL_MSG_RESTORE, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    return line_result(a, &r, "restore", name, file);
}

/* The server replies once the PNG is in the pool, or with why it is not. */
static int cmd_capture(struct args *a, struct client *c)
{
    uint8_t p[256];
    struct ctl_tlv_writer w;
    struct client_reply r;
    const char *file = a->pos[0];
    if (!file_valid(file)) {
        report_error("usage: capture FILE (FILE: a pool path, 1-119 bytes)\n");
        return EXIT_USAGE;
    }
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_FILE, file);
    int rc = call(c, CTL_MSG_CAPTURE, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    return line_result(a, &r, "capture", "", file);
}

struct migrate_view {
    uint8_t active;
    char stage[16], last[161];
    uint32_t round;
    uint64_t sent, total, left, dirty, wire, link_bps;
};

static void get_text(const struct client_reply *r, uint16_t tag, char *out, size_t cap)
{
    struct ctl_tlv t;
    out[0] = '\0';
    if (ctl_tlv_find(r->payload, r->length, tag, &t))
        ctl_tlv_text(&t, out, cap);
}

static void get_u64(const struct client_reply *r, uint16_t tag, uint64_t *v)
{
    struct ctl_tlv t;
    *v = 0;
    if (ctl_tlv_find(r->payload, r->length, tag, &t))
        ctl_tlv_u64(&t, v);
}

static void migrate_view_of(const struct client_reply *r, struct migrate_view *m)
{
    struct ctl_tlv t;
    memset(m, 0, sizeof *m);
    if (ctl_tlv_find(r->payload, r->length, CTL_TAG_ACTIVE, &t))
        ctl_tlv_u8(&t, &m->active);
    if (ctl_tlv_find(r->payload, r->length, CTL_TAG_ROUND, &t))
        ctl_tlv_u32(&t, &m->round);
    get_text(r, CTL_TAG_STAGE, m->stage, sizeof m->stage);
    get_text(r, CTL_TAG_TEXT, m->last, sizeof m->last);
    get_u64(r, CTL_TAG_DONE, &m->sent);
    get_u64(r, CTL_TAG_TOTAL, &m->total);
    get_u64(r, CTL_TAG_PAGES_LEFT, &m->left);
    get_u64(r, CTL_TAG_DIRTY, &m->dirty);
    get_u64(r, CTL_TAG_WIRE_BYTES, &m->wire);
    get_u64(r, CTL_TAG_LINK_BPS, &m->link_bps);
}

/* Starts the migration, then follows it (migrate-status) until it ends: a progress line
 * on stderr (round, pages left, dirty pages, link rate), the hypervisor's last line on
 * stdout (or one JSON object).  Exit 0 when the target resumed the partition. */
static int cmd_migrate(struct args *a, struct client *c)
{
    uint8_t p[128];
    struct ctl_tlv_writer w;
    struct client_reply r;
    const char *name = a->pos[0], *host = a->pos[1];
    if (!name_ok(name))
        return EXIT_USAGE;
    if (!*host || strlen(host) > 23) {
        report_error("usage: migrate NAME HOST (HOST: A.B.C.D[:PORT] of the target host)\n");
        return EXIT_USAGE;
    }
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_NAME, name);
    ctl_put_str(&w, CTL_TAG_HOST, host);
    int rc = call(c, CTL_MSG_MIGRATE, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    if (a->no_wait)
        return line_result(a, &r, "migrate", name, host);
    bool tty = !a->json && isatty(fileno(stderr));
    uint32_t shown_round = UINT32_MAX;
    struct migrate_view m;
    for (;;) {
        rc = call(c, CTL_MSG_MIGRATE_STATUS, NULL, 0, &r);
        if (rc != EXIT_OK)
            return rc;
        migrate_view_of(&r, &m);
        if (!m.active)
            break;
        if (!a->json && (tty || m.round != shown_round)) {
            char bar[64];
            progress_format(bar, sizeof bar, m.total - m.left, m.total, 20);
            fprintf(stderr, "%smigrate %s -> %s: %-13s round %u %s pages left %" PRIu64
                    ", dirty %" PRIu64 ", link %" PRIu64 " KB/s%s", tty ? "\r" : "", name, host,
                    m.stage, m.round, bar, m.left, m.dirty, m.link_bps / 1000, tty ? "" : "\n");
            fflush(stderr);
            shown_round = m.round;
        }
        usleep(200 * 1000);
    }
    if (tty)
        fputc('\n', stderr);
    if (!strstr(m.last, ": done: ")) {       /* refused: the partition runs on at the source */
        report_error("%s\n", m.last);
        return EXIT_COMMAND;
    }
    if (a->json) {
        printf("{\"partition\":");
        render_json_string(stdout, name);
        printf(",\"host\":");
        render_json_string(stdout, host);
        printf(",\"result\":\"done\",\"message\":");
        render_json_string(stdout, m.last);
        printf("}\n");
    } else {
        printf("%s\n", m.last);
    }
    return EXIT_OK;
}

static int cmd_wait(struct args *a, struct client *c)
{
    char *end;
    unsigned long op = strtoul(a->pos[0], &end, 10);
    if (*end || op == 0 || op > UINT32_MAX) {
        report_error("bad operation id '%s'\n", a->pos[0]);
        return EXIT_USAGE;
    }
    return wait_op(a, c, (uint32_t)op, a->pos[0]);
}

static int cmd_offload(struct args *a, struct client *c)
{
    return offload_command(a->npos, a->pos, a->json, c);
}

static int cmd_disk(struct args *a, struct client *c)
{
    return disk_command(c, a->pos, a->npos, a->json, a->no_wait);
}

static const struct command commands[] = {
    { "keygen", "keygen FILE [--force]",
      "Creates a new ECDSA P-256 identity key in FILE (PEM, mode 0600) from the OS entropy\n"
      "source and prints its fingerprint: give that to the hosts that must allow you.", 1, false,
      cmd_keygen, 0 },
    { "fingerprint", "fingerprint FILE", "Prints the fingerprint of the key in FILE.", 1, false,
      cmd_fingerprint, 0 },
    { "cert", "cert FILE",
      "Prints the self-signed certificate (PEM) that carries FILE's key in TLS.", 1, false, cmd_cert, 0 },
    { "status", "status", "Shows the host: version, uptime, memory, VT-x, partitions.", 0, true,
      cmd_status, 0 },
    { "list", "list", "Lists partitions: name, state, vCPUs, memory.", 0, true, cmd_list, 0 },
    { "start", "start NAME [--no-wait]",
      "Starts partition NAME; follows the operation with a progress bar unless --no-wait.", 1,
      true, cmd_start, 0 },
    { "stop", "stop NAME [--no-wait]", "Stops partition NAME.", 1, true, cmd_stop, 0 },
    { "log", "log [--bytes N]", "Prints the newest N bytes (default 4096) of the host log.", 0,
      true, cmd_log, 0 },
    { "checkpoint", "checkpoint NAME",
      "Pauses partition NAME, captures its RAM, vCPUs and devices into the host's memory,\n"
      "destroys it, restores it into a new partition and resumes it; prints the RAM's\n"
      "CRC-32C before and after.  Slow for large partitions: raise --timeout.", 1, true,
      cmd_checkpoint, 0 },
    { "snapshot", "snapshot NAME FILE [stop] [--live] [--no-wait]",
      "Pauses partition NAME and writes a snapshot of it (RAM compressed, vCPUs, devices,\n"
      "its manifest section, its disks' identity) to FILE in the host's storage pool, then\n"
      "resumes it (or stops it: `stop`).  --live: it keeps running while its RAM is written\n"
      "and pauses only for the pages written meanwhile.  Shows a progress bar (RAM done,\n"
      "MB/s, level mix, re-save passes) on stderr unless --no-wait, then prints the\n"
      "hypervisor's line (RAM CRC-32C, zero pages, bytes written, levels, pause); exit 1\n"
      "when it was refused or failed.",
      2, true, cmd_snapshot, 1 },
    { "restore", "restore FILE [as NEWNAME] [--lazy]",
      "Checks snapshot FILE in the pool (every checksum, its disks unchanged) and restores it\n"
      "into a new partition (named NEWNAME, or as in the file), which runs on from the\n"
      "snapshot; prints the RAM's CRC-32C.  --lazy: the partition runs before its RAM is\n"
      "loaded (blocks load as it touches them, a worker loads the rest; each block is checked\n"
      "as it loads); the hypervisor logs the RAM's CRC-32C and the timings once all are in.",
      1, true, cmd_restore, 2 },
    { "migrate", "migrate NAME HOST [--no-wait]",
      "Migrates running partition NAME live to the Atoll host HOST (A.B.C.D[:PORT], the\n"
      "target's migration port, default 7403) over a pinned TLS connection: pre-copy rounds,\n"
      "then stop-and-copy; the source stops its copy only when the target has resumed it.\n"
      "Shows round, pages left, dirty pages and link rate; prints the hypervisor's last line.\n"
      "Exit 0 when the target resumed it; 1 when refused (the partition runs on here; under\n"
      "--json the error object carries the hypervisor's line).", 2,
      true, cmd_migrate, 0 },
    { "disk", "disk PARTITION DISK VERB [ARGS...] [--no-wait] | disk jobs [ID]",
      "A live operation on a disk a running partition has attached, while its guest keeps\n"
      "doing I/O: copy DST [dynamic|fixed|raw], move DST [FORMAT], convert DST FORMAT,\n"
      "compact, defrag, merge (a differencing disk into its parent; the disk becomes the\n"
      "parent) (each may end in mbps=N iops=N: the job's throttle), migrate HOST\n"
      "[DST] [verify|after|around] [link-mbps=N] [wait=S] (to another host's pool; the disk\n"
      "stays, or moves with its partition's live migration: after, around), pause, resume,\n"
      "cancel; `- FILE delete` removes a pool file no partition has attached.  A job is\n"
      "followed with a progress bar (ETA, units re-copied after guest writes) until it ends,\n"
      "unless --no-wait.  `disk jobs [ID]` lists the jobs and their progress.", 1, true,
      cmd_disk, 7 },
    { "capture", "capture FILE",
      "Writes the display's framebuffer (the video-service partition's screen) to FILE in\n"
      "the host's storage pool as PNG; prints the hypervisor's line (size, bytes).", 1, true,
      cmd_capture, 0 },
    { "wait", "wait OPID", "Follows a long operation with a progress bar until it ends.", 1, true,
      cmd_wait, 0 },
    { "offload", OFFLOAD_SYNOPSIS, OFFLOAD_HELP, 3, true, cmd_offload, 2 },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: atollctl [OPTIONS] COMMAND [ARGS]\n\n"
            "options:\n"
            "  --host HOST:PORT        control server (default $ATOLL_HOST or 127.0.0.1:%u)\n"
            "  --key FILE              this client's identity key (default $ATOLL_KEY)\n"
            "  --server-key SHA256     pin the server's key fingerprint ($ATOLL_SERVER_KEY)\n"
            "  --json                  machine-readable output\n"
            "  --timeout SECONDS       network timeout (default 10)\n"
            "  --help                  this text; 'atollctl COMMAND --help' for one command\n"
            "  --version               the Atoll version\n\n"
            "commands:\n", CTL_DEFAULT_PORT);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-24s\n", commands[i].synopsis);
    fprintf(out,
            "\nexit status (under --json also the \"exit\" and \"kind\" of the error object,\n"
            "printed on stdout as {\"error\":MESSAGE,\"exit\":N,\"kind\":KIND}):\n"
            "  0  ok\n"
            "  1  refused by the server (no such partition, wrong state, ...) or the operation failed\n"
            "     (refused-by-server)\n"
            "  2  usage error (usage)\n"
            "  3  cannot connect: connection refused, unreachable or unknown host (cannot-connect)\n"
            "  4  timed out (timeout)\n"
            "  5  unauthenticated: a key not allowed, or the server's key not the pinned one\n"
            "     (unauthenticated)\n"
            "  6  control protocol version mismatch (version-mismatch)\n"
            "  7  protocol error: a malformed reply or a connection lost (protocol)\n"
            "  8  local failure: a key file that cannot be read or written (local)\n");
}

static bool take_value(int argc, char **argv, int *i, const char **v)
{
    if (*i + 1 >= argc) {
        report_error("%s needs a value\n", argv[*i]);
        return false;
    }
    *v = argv[++*i];
    return true;
}

static bool parse_number(const char *opt, const char *v, unsigned long max, unsigned long *out)
{
    char *end;
    *out = strtoul(v, &end, 10);
    if (*end || !*v || *out > max) {
        report_error("%s: bad number '%s'\n", opt, v);
        return false;
    }
    return true;
}

static bool parse_option(struct args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i], *v;
    unsigned long n;
    if (!strcmp(o, "--json")) a->json = true;
    else if (!strcmp(o, "--help") || !strcmp(o, "-h")) a->help = true;
    else if (!strcmp(o, "--version")) a->version = true;
    else if (!strcmp(o, "--force")) a->force = true;
    else if (!strcmp(o, "--no-wait")) a->no_wait = true;
    else if (!strcmp(o, "--live")) a->live = true;
    else if (!strcmp(o, "--lazy")) a->lazy = true;
    else if (!strcmp(o, "--host")) return take_value(argc, argv, i, &a->opts.host);
    else if (!strcmp(o, "--key")) return take_value(argc, argv, i, &a->opts.key_path);
    else if (!strcmp(o, "--server-key")) return take_value(argc, argv, i, &a->opts.server_key);
    else if (!strcmp(o, "--timeout")) {
        if (!take_value(argc, argv, i, &v) || !parse_number(o, v, 3600, &n) || !n)
            return false;
        a->opts.timeout_s = (unsigned)n;
    } else if (!strcmp(o, "--bytes")) {
        if (!take_value(argc, argv, i, &v) || !parse_number(o, v, UINT32_MAX, &n))
            return false;
        a->bytes = (uint32_t)n;
    } else if (!strcmp(o, "--protocol-version")) {   /* for tests of version mismatch */
        if (!take_value(argc, argv, i, &v) || !parse_number(o, v, 0xffff, &n))
            return false;
        a->opts.protocol_version = (uint16_t)n;
    } else {
        report_error("unknown option %s (see atollctl --help)\n", o);
        return false;
    }
    return true;
}

static bool parse_args(struct args *a, int argc, char **argv)
{
    static char default_host[32];
    snprintf(default_host, sizeof default_host, "127.0.0.1:%u", CTL_DEFAULT_PORT);
    a->opts = (struct client_opts){ getenv("ATOLL_HOST"), getenv("ATOLL_KEY"),
                                    getenv("ATOLL_SERVER_KEY"), 10, CTL_VERSION };
    if (!a->opts.host)
        a->opts.host = default_host;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!parse_option(a, argc, argv, &i))
                return false;
        } else if (!a->cmd) {
            a->cmd = argv[i];
        } else if (a->npos < 8) {
            a->pos[a->npos++] = argv[i];
        } else {
            report_error("too many arguments\n");
            return false;
        }
    }
    return true;
}

static void host_io_error(const char *line) { report_error("%s", line); }

static int run(int argc, char **argv)
{
    static struct args a;
    static struct client c;
    if (!parse_args(&a, argc, argv))
        return EXIT_USAGE;
    if (a.version) {
        printf(a.json ? "{\"version\":\"%s\"}\n" : "atollctl (Atoll) %s\n", ATOLL_VERSION);
        return EXIT_OK;
    }
    if (!a.cmd) {
        usage(a.help ? stdout : stderr);
        return a.help ? EXIT_OK : EXIT_USAGE;
    }
    const struct command *cmd = find_command(a.cmd);
    if (!cmd) {
        report_error("unknown command '%s' (see atollctl --help)\n", a.cmd);
        return EXIT_USAGE;
    }
    if (a.help) {
        printf("usage: atollctl [OPTIONS] %s\n\n%s\n", cmd->synopsis, cmd->help);
        return EXIT_OK;
    }
    if (a.npos < cmd->nargs || a.npos > cmd->nargs + cmd->optional) {
        report_error("usage: atollctl %s\n", cmd->synopsis);
        return EXIT_USAGE;
    }
    if (!cmd->remote)
        return cmd->run(&a, NULL);
    int rc = client_open(&c, &a.opts);
    if (rc == EXIT_OK)
        rc = cmd->run(&a, &c);
    client_close(&c);
    return rc;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json"))
            report_json(true);
    host_io_set_error_sink(host_io_error);
    return report_exit(run(argc, argv));
}
