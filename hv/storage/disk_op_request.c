/* Live disk operation requests: parsing and progress arithmetic (disk_op_request.h). */
#include "hv/storage/disk_op_request.h"

#include <string.h>

#include "hv/lib/format.h"

static const char *const verb_names[DISK_VERBS] = {
    [DISK_VERB_COPY] = "copy", [DISK_VERB_MOVE] = "move", [DISK_VERB_CONVERT] = "convert",
    [DISK_VERB_COMPACT] = "compact", [DISK_VERB_DEFRAG] = "defrag", [DISK_VERB_MERGE] = "merge",
    [DISK_VERB_MIGRATE] = "migrate",    [DISK_VERB_PAUSE] = "pause", [DISK_VERB_RESUME] = "resume", [DISK_VERB_CANCEL] = "cancel",
    [DISK_VERB_DELETE] = "delete",
};

const char *disk_op_verb_name(enum disk_op_verb v)
{
    return (unsigned)v < DISK_VERBS ? verb_names[v] : "?";
}

bool disk_op_verb_is_job(enum disk_op_verb v)
{
    return v <= DISK_VERB_MIGRATE;
}

enum disk_job_op disk_op_job_op(enum disk_op_verb v)
{
    switch (v) {
    case DISK_VERB_CONVERT: return DISK_JOB_CONVERT;
    case DISK_VERB_COMPACT: return DISK_JOB_COMPACT;
    case DISK_VERB_DEFRAG: return DISK_JOB_DEFRAG;
    case DISK_VERB_MERGE: return DISK_JOB_MERGE;
    default: return DISK_JOB_COPY;
    }
}

bool disk_op_verb_switches(enum disk_op_verb v)
{
    return disk_op_verb_is_job(v) && v != DISK_VERB_COPY && v != DISK_VERB_MIGRATE;
}

/* The next blank-separated word into out; its length, 0 at the end, -1 when too long. */
static int word(const char **s, char *out, size_t size)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t')
        n++;
    *s = p + n;
    if (n >= size)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return (int)n;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Pool paths: printable, no blanks, no "..", not a directory. */
static bool path_ok(const char *s)
{
    if (!s[0] || ends_with(s, "/") || strstr(s, ".."))
        return false;
    for (const char *c = s; *c; c++)
        if (*c <= ' ' || *c > '~')
            return false;
    return true;
}

static bool name_ok(const char *s)
{
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return s[0] != '\0';
}

/* A.B.C.D[:PORT] in shape (the kernel parses it for real). */
static bool host_ok(const char *s)
{
    unsigned dots = 0;
    for (const char *c = s; *c; c++) {
        if (*c == '.')
            dots++;
        else if (!((*c >= '0' && *c <= '9') || *c == ':'))
            return false;
    }
    return dots == 3 && s[0] >= '0' && s[0] <= '9';
}

static bool parse_u32(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > 1000000)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static int fail(char *err, size_t err_size, const char *what, const char *arg)
{
    fmt_snprintf(err, err_size, "disk: %s%s%s%s", what, arg ? " '" : "", arg ? arg : "",
                 arg ? "'" : "");
    return -1;
}

int disk_op_parse(const char *words, struct disk_op_request *r, char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    char verb[16], w[DISK_OP_PATH_LEN];
    const char *s = words;
    if (word(&s, w, sizeof(w)) <= 0 || (strcmp(w, "-") && (strlen(w) >= DISK_OP_NAME_LEN ||
                                                           !name_ok(w))))
        return fail(err, err_size, "expected: PARTITION DISK VERB ...; bad partition", w[0] ? w : NULL);
    if (strcmp(w, "-"))
        memcpy(r->partition, w, strlen(w) + 1);
    if (word(&s, r->disk, sizeof(r->disk)) <= 0 || !path_ok(r->disk))
        return fail(err, err_size, "expected a pool file after the partition", NULL);
    if (word(&s, verb, sizeof(verb)) <= 0)
        return fail(err, err_size, "expected copy, move, convert, compact, defrag, merge, "
                    "migrate, pause, resume, cancel or delete", NULL);
    r->verb = DISK_VERBS;
    for (unsigned v = 0; v < DISK_VERBS; v++)
        if (!strcmp(verb, verb_names[v]))
            r->verb = (enum disk_op_verb)v;
    if (r->verb == DISK_VERBS)
        return fail(err, err_size, "unknown verb", verb);
    if ((r->verb == DISK_VERB_DELETE) != !r->partition[0])
        return fail(err, err_size, r->partition[0] ? "delete takes '-' for the partition (the "
                    "disk must be detached)" : "'-' is for delete only", NULL);
    bool needs_dst = r->verb == DISK_VERB_COPY || r->verb == DISK_VERB_MOVE ||
                     r->verb == DISK_VERB_CONVERT;
    bool has_format = false;
    if (needs_dst) {
        int n = word(&s, r->dst, sizeof(r->dst));
        if (n <= 0 || !path_ok(r->dst) || strchr(r->dst, '='))
            return fail(err, err_size, "expected a destination file after", verb);
        if (!strcmp(r->dst, r->disk))
            return fail(err, err_size, "the destination is the disk itself:", r->dst);
        r->format = ends_with(r->dst, ".vhdx") ? DISK_FORMAT_VHDX : DISK_FORMAT_RAW;
    }
    int n;
    if (r->verb == DISK_VERB_MIGRATE) {
        if (word(&s, r->host, sizeof(r->host)) <= 0 || !host_ok(r->host))
            return fail(err, err_size, "expected a host A.B.C.D[:PORT] after migrate", NULL);
        const char *save = s;
        n = word(&s, r->dst, sizeof(r->dst));
        if (n < 0 || (n > 0 && (strchr(r->dst, '=') || !strcmp(r->dst, "verify") ||
                       !strcmp(r->dst, "after") || !strcmp(r->dst, "around")))) {
            r->dst[0] = '\0';
            s = save;
        } else if (n > 0 && !path_ok(r->dst)) {
            return fail(err, err_size, "a bad destination file", r->dst);
        }
        if (!r->dst[0])
            memcpy(r->dst, r->disk, sizeof(r->dst));
    }
    while ((n = word(&s, w, sizeof(w))) != 0) {
        if (n < 0)
            return fail(err, err_size, "argument too long", NULL);
        bool fmt_word = !strcmp(w, "dynamic") || !strcmp(w, "fixed") || !strcmp(w, "raw");
        if (fmt_word && needs_dst && !has_format) {
            has_format = true;
            r->format = !strcmp(w, "raw") ? DISK_FORMAT_RAW : !strcmp(w, "fixed")
                        ? DISK_FORMAT_VHDX_FIXED : DISK_FORMAT_VHDX;
            continue;
        }
        bool job = disk_op_verb_is_job(r->verb);
        if (job && !strncmp(w, "mbps=", 5) && parse_u32(w + 5, &r->mbps))
            continue;
        if (job && !strncmp(w, "iops=", 5) && parse_u32(w + 5, &r->iops))
            continue;
        bool mig = r->verb == DISK_VERB_MIGRATE;
        if (mig && !strncmp(w, "link-mbps=", 10) && parse_u32(w + 10, &r->link_mbps))
            continue;
        if (mig && !strcmp(w, "verify") && !r->verify) {
            r->verify = true;
            continue;
        }
        if (mig && !strcmp(w, "after") && !r->after && !r->around) {
            r->after = true;
            continue;
        }
        if (mig && !strcmp(w, "around") && !r->after && !r->around) {
            r->around = true;
            continue;
        }
        if (mig && !strncmp(w, "wait=", 5) && parse_u32(w + 5, &r->wait_s) && r->wait_s)
            continue;
        if (mig && !strncmp(w, "idle=", 5) && parse_u32(w + 5, &r->idle_s) && r->idle_s &&
            r->idle_s <= 3600)
            continue;
        return fail(err, err_size, "unexpected argument", w);
    }
    if (r->verb == DISK_VERB_CONVERT && !has_format)
        return fail(err, err_size, "convert needs a format: dynamic, fixed or raw", NULL);
    if (needs_dst && (r->format == DISK_FORMAT_RAW) == ends_with(r->dst, ".vhdx"))
        return fail(err, err_size, "a VHDX destination ends in .vhdx, a raw one does not:",
                    r->dst);
    if (r->verify && (r->after || r->around))
        return fail(err, err_size, "verify goes with neither after nor around (the guest "
                    "writes on the target meanwhile)", NULL);
    if (r->wait_s && !r->after && !r->around)
        return fail(err, err_size, "wait= is for after and around (the live migration's wait)",
                    NULL);
    if (r->verb == DISK_VERB_MIGRATE && !ends_with(r->dst, ".vhdx"))
        return fail(err, err_size, "a migrated disk lands as a VHDX; its name ends in .vhdx:",
                    r->dst);
    if (disk_op_verb_is_job(r->verb) && !ends_with(r->disk, ".vhdx"))
        return fail(err, err_size, "live jobs run on VHDX disks; not on", r->disk);
    return 0;
}

uint32_t disk_op_permille(uint64_t done, uint64_t total)
{
    if (!total || done >= total)
        return total ? 1000 : 0;
    return (uint32_t)(done * 1000 / total);     /* below 1000: done < total */
}

uint64_t disk_op_eta_ms(uint64_t done, uint64_t total, uint64_t elapsed_ms)
{
    if (done >= total)
        return 0;
    if (!done || !elapsed_ms)
        return UINT64_MAX;
    uint64_t left = total - done;
    /* left * elapsed / done without overflow for any disk below 2^44 bytes and a day */
    uint64_t kib_left = (left + 1023) / 1024, kib_done = done / 1024 ? done / 1024 : 1;
    return kib_left * elapsed_ms / kib_done;
}
