#include "hv/core/config/script.h"

#include <string.h>

#include "hv/lib/format.h"
#include "hv/storage/disk_op_request.h"

static const char *const action_names[] = { [SCRIPT_START] = "start", [SCRIPT_STOP] = "stop",
                                             [SCRIPT_CHECKPOINT] = "checkpoint",
                                             [SCRIPT_SNAPSHOT] = "snapshot",
                                             [SCRIPT_RESTORE] = "restore",
                                             [SCRIPT_MIGRATE] = "migrate",
                                             [SCRIPT_DISK] = "disk",
                                             [SCRIPT_CAPTURE] = "capture" };

/* The next blank-separated word of *s into out (size bytes); its length, 0 at the end or
 * when it does not fit. */
static size_t next_word(const char **s, char *out, size_t size)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t')
        n++;
    *s = p + n;
    if (!n || n >= size)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

static bool restores_as(const struct manifest *m, uint32_t before, const char *name)
{
    for (uint32_t i = 0; i < before; i++) {
        const char *a = m->rules[i].args;
        char w[MANIFEST_TEXT_LEN];
        if (strcmp(m->rules[i].action, "restore") || !next_word(&a, w, sizeof(w)))
            continue;
        if (next_word(&a, w, sizeof(w)) && !strcmp(w, "as") && next_word(&a, w, sizeof(w)) &&
            !strcmp(w, name))
            return true;
    }
    return false;
}

/* snapshot NAME FILE [live] [stop], restore FILE [as NEWNAME] [lazy] and migrate NAME HOST:
 * the words into s's rule i. */
static int file_args(struct script *s, const struct manifest *m, uint32_t i, const char *file,
                     char *err, size_t err_size)
{
    const struct manifest_rule *r = &m->rules[i];
    const char *a = r->args;
    char w[4][MANIFEST_TEXT_LEN];
    unsigned n = 0;
    while (n < 4 && next_word(&a, w[n], sizeof(w[n])))
        n++;
    char extra[2];
    bool more = next_word(&a, extra, sizeof(extra)) || *a;
    if (s->actions[i] == SCRIPT_MIGRATE) {
        if (n != 2 || more) {
            fmt_snprintf(err, err_size, "%s:%u: script: expected: migrate NAME HOST", file,
                         r->line);
            return -1;
        }
        if (strlen(w[0]) >= MANIFEST_NAME_LEN ||
            (!manifest_find_partition(m, w[0]) && !restores_as(m, i, w[0]))) {
            fmt_snprintf(err, err_size, "%s:%u: script: migrate: no partition is named '%s'",
                         file, r->line, w[0]);
            return -1;
        }
        memcpy(s->targets[i], w[0], strlen(w[0]) + 1);
        memcpy(s->files[i], w[1], strlen(w[1]) + 1);
        return 0;
    }
    if (s->actions[i] == SCRIPT_SNAPSHOT) {
        bool stop = false, live = false, bad = n < 2 || more;
        for (unsigned k = 2; k < n && !bad; k++) {
            bool *opt = !strcmp(w[k], "stop") ? &stop : !strcmp(w[k], "live") ? &live : NULL;
            bad = !opt || *opt;
            if (opt)
                *opt = true;
        }
        if (bad) {
            fmt_snprintf(err, err_size, "%s:%u: script: expected: snapshot NAME FILE [live] "
                         "[stop]", file, r->line);
            return -1;
        }
        if (strlen(w[0]) >= MANIFEST_NAME_LEN ||
            (!manifest_find_partition(m, w[0]) && !restores_as(m, i, w[0]))) {
            fmt_snprintf(err, err_size, "%s:%u: script: snapshot: no partition is named '%s'",
                         file, r->line, w[0]);
            return -1;
        }
        memcpy(s->targets[i], w[0], strlen(w[0]) + 1);
        memcpy(s->files[i], w[1], strlen(w[1]) + 1);
        s->stop[i] = stop;
        s->live[i] = live;
        return 0;
    }
    bool lazy = n >= 2 && !strcmp(w[n - 1], "lazy");
    unsigned words = lazy ? n - 1 : n;
    if (more || (words != 1 && (words != 3 || strcmp(w[1], "as") ||
                                strlen(w[2]) >= MANIFEST_NAME_LEN))) {
        fmt_snprintf(err, err_size, "%s:%u: script: expected: restore FILE [as NEWNAME] [lazy]",
                     file, r->line);
        return -1;
    }
    memcpy(s->files[i], w[0], strlen(w[0]) + 1);
    if (words == 3)
        memcpy(s->targets[i], w[2], strlen(w[2]) + 1);
    s->lazy[i] = lazy;
    return 0;
}

/* disk PARTITION DISK VERB ...: checked now, carried out by the kernel (disk_ops.c). */
static int disk_args(struct script *s, const struct manifest *m, uint32_t i, const char *file,
                     char *err, size_t err_size)
{
    const struct manifest_rule *r = &m->rules[i];
    struct disk_op_request req;
    char why[160];
    if (disk_op_parse(r->args, &req, why, sizeof(why))) {
        fmt_snprintf(err, err_size, "%s:%u: script: %s", file, r->line, why);
        return -1;
    }
    if (req.partition[0] && !manifest_find_partition(m, req.partition) &&
        !restores_as(m, i, req.partition)) {
        fmt_snprintf(err, err_size, "%s:%u: script: disk: no partition is named '%s'", file,
                     r->line, req.partition);
        return -1;
    }
    memcpy(s->targets[i], req.partition, strlen(req.partition) + 1);
    memcpy(s->files[i], r->args, strlen(r->args) + 1);
    return 0;
}

/* capture FILE: one word, the pool file (the kernel checks its characters). */
static int capture_args(struct script *s, const struct manifest *m, uint32_t i, const char *file,
                        char *err, size_t err_size)
{
    const struct manifest_rule *r = &m->rules[i];
    const char *a = r->args;
    char w[MANIFEST_TEXT_LEN], extra[MANIFEST_TEXT_LEN];
    if (!next_word(&a, w, sizeof(w)) || next_word(&a, extra, sizeof(extra))) {
        fmt_snprintf(err, err_size, "%s:%u: script: expected: capture FILE", file, r->line);
        return -1;
    }
    memcpy(s->files[i], w, strlen(w) + 1);
    return 0;
}

int script_init(struct script *s, const struct manifest *m, const char *file, char *err,
                size_t err_size)
{
    memset(s, 0, sizeof(*s));
    s->rules = m->rules;
    s->count = m->rule_count;
    for (uint32_t i = 0; i < m->rule_count; i++) {
        const struct manifest_rule *r = &m->rules[i];
        int a = -1;
        for (int k = 0; k < (int)(sizeof(action_names) / sizeof(action_names[0])); k++)
            if (!strcmp(r->action, action_names[k]))
                a = k;
        if (a < 0) {
            fmt_snprintf(err, err_size, "%s:%u: script: '%s' is not available in this build "
                     "(start, stop, checkpoint, snapshot, restore, migrate, disk and capture are)", file, r->line,
                     r->action);
            return -1;
        }
        if (a == SCRIPT_SNAPSHOT || a == SCRIPT_RESTORE || a == SCRIPT_MIGRATE) {
            s->actions[i] = (enum script_action)a;
            if (file_args(s, m, i, file, err, err_size))
                return -1;
            continue;
        }
        if (a == SCRIPT_CAPTURE) {
            s->actions[i] = SCRIPT_CAPTURE;
            if (capture_args(s, m, i, file, err, err_size))
                return -1;
            continue;
        }
        if (a == SCRIPT_DISK) {
            s->actions[i] = SCRIPT_DISK;
            if (disk_args(s, m, i, file, err, err_size))
                return -1;
            continue;
        }
        const char *target = r->args[0] ? r->args : a != SCRIPT_START ? r->partition : NULL;
        if (!target) {
            fmt_snprintf(err, err_size, "%s:%u: script: start needs the name of the partition "
                     "to start", file, r->line);
            return -1;
        }
        if (!manifest_find_partition(m, target)) {
            fmt_snprintf(err, err_size, "%s:%u: script: %s: no partition is named '%s'", file,
                     r->line, r->action, target);
            return -1;
        }
        s->actions[i] = (enum script_action)a;
        memcpy(s->targets[i], target, strlen(target) + 1);
    }
    return 0;
}

static bool contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > n)
        return false;
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(hay + i, needle, k))
            return true;
    return false;
}

unsigned script_feed(struct script *s, const char *partition, const char *text, size_t len,
                     uint32_t *ran, unsigned max)
{
    unsigned n = 0;
    while (s->next < s->count && n < max) {
        const struct manifest_rule *r = &s->rules[s->next];
        if (strcmp(r->partition, partition) || !contains(text, len, r->text))
            break;
        ran[n++] = s->next++;
    }
    return n;
}

bool script_watches(const struct script *s, const char *partition)
{
    return s->next < s->count && !strcmp(s->rules[s->next].partition, partition);
}
