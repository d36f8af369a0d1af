/* `atollctl disk`: live disk operations (see disk_cmd.h). */
#include "tools/atollctl/disk_cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "net/control/ctl_disk.h"
#include "tools/atollctl/progress.h"
#include "tools/atollctl/render.h"
#include "tools/atollctl/report.h"

static int call(struct client *c, uint16_t type, const void *p, size_t n, struct client_reply *r)
{
    int rc = client_call(c, type, p, n, r);
    return rc == EXIT_OK ? client_report_status(c, r) : rc;
}

/* One DISK_JOB container's fields. */
static void job_of(const uint8_t *p, size_t n, struct ctl_disk_job *j)
{
    struct ctl_tlv t;
    memset(j, 0, sizeof *j);
    j->eta_ms = UINT64_MAX;
    if (ctl_tlv_find(p, n, CTL_TAG_OP_ID, &t)) ctl_tlv_u32(&t, &j->id);
    if (ctl_tlv_find(p, n, CTL_TAG_TEXT, &t)) ctl_tlv_text(&t, j->text, sizeof j->text);
    if (ctl_tlv_find(p, n, CTL_TAG_JOB_STATE, &t)) ctl_tlv_text(&t, j->state, sizeof j->state);
    if (ctl_tlv_find(p, n, CTL_TAG_DONE, &t)) ctl_tlv_u64(&t, &j->done);
    if (ctl_tlv_find(p, n, CTL_TAG_TOTAL, &t)) ctl_tlv_u64(&t, &j->total);
    if (ctl_tlv_find(p, n, CTL_TAG_ELAPSED_MS, &t)) ctl_tlv_u64(&t, &j->elapsed_ms);
    if (ctl_tlv_find(p, n, CTL_TAG_ETA_MS, &t)) ctl_tlv_u64(&t, &j->eta_ms);
    if (ctl_tlv_find(p, n, CTL_TAG_JOB_PASSES, &t)) ctl_tlv_u32(&t, &j->passes);
    if (ctl_tlv_find(p, n, CTL_TAG_RECOPIED, &t)) ctl_tlv_u32(&t, &j->recopied);
    if (ctl_tlv_find(p, n, CTL_TAG_MESSAGE, &t)) ctl_tlv_text(&t, j->message, sizeof j->message);
}

static void print_json(const struct ctl_disk_job *j)
{
    printf("{\"id\":%" PRIu32 ",\"job\":", j->id);
    render_json_string(stdout, j->text);
    printf(",\"state\":");
    render_json_string(stdout, j->state);
    printf(",\"done\":%" PRIu64 ",\"total\":%" PRIu64 ",\"elapsed_ms\":%" PRIu64, j->done,
           j->total, j->elapsed_ms);
    if (j->eta_ms != UINT64_MAX)
        printf(",\"eta_ms\":%" PRIu64, j->eta_ms);
    printf(",\"passes\":%" PRIu32 ",\"recopied_units\":%" PRIu32 ",\"message\":", j->passes,
           j->recopied);
    render_json_string(stdout, j->message);
    printf("}");
}

static void print_text(const struct ctl_disk_job *j)
{
    char bar[64], eta[32] = "?";
    progress_format(bar, sizeof bar, j->done, j->total, 20);
    if (j->eta_ms != UINT64_MAX)
        snprintf(eta, sizeof eta, "%" PRIu64 ".%01" PRIu64 " s", j->eta_ms / 1000,
                 j->eta_ms % 1000 / 100);
    printf("#%-3" PRIu32 " %-9s %s  %s  ETA %s  pass %" PRIu32 ", re-copied %" PRIu32
           "%s%s\n", j->id, j->state, j->text, bar, eta, j->passes, j->recopied,
           j->message[0] ? "  " : "", j->message);
}

/* The jobs (id 0: all) into *out (at most max); how many, or -1 with an exit status in *rc. */
static int fetch(struct client *c, uint32_t id, struct ctl_disk_job *out, int max, int *rc)
{
    uint8_t p[16];
    struct ctl_tlv_writer w;
    struct client_reply r;
    ctl_tlv_writer_init(&w, p, sizeof p);
    if (id)
        ctl_put_u32(&w, CTL_TAG_OP_ID, id);
    *rc = call(c, CTL_MSG_DISK_JOBS, p, w.len, &r);
    if (*rc != EXIT_OK)
        return -1;
    struct ctl_tlv_reader rd;
    struct ctl_tlv t;
    int n = 0;
    ctl_tlv_reader_init(&rd, r.payload, r.length);
    while (n < max && ctl_tlv_next(&rd, &t) > 0)
        if (t.tag == CTL_TAG_DISK_JOB)
            job_of(t.value, t.len, &out[n++]);
    return n;
}

static int list_jobs(struct client *c, uint32_t id, bool json)
{
    static struct ctl_disk_job jobs[64];
    int rc, n = fetch(c, id, jobs, 64, &rc);
    if (n < 0)
        return rc;
    if (json) {
        printf("[");
        for (int i = 0; i < n; i++) {
            printf(i ? "," : "");
            print_json(&jobs[i]);
        }
        printf("]\n");
    } else if (!n) {
        printf("no disk jobs\n");
    }
    for (int i = 0; !json && i < n; i++)
        print_text(&jobs[i]);
    return EXIT_OK;
}

static bool over(const char *state)
{
    return strcmp(state, "queued") && strcmp(state, "running") && strcmp(state, "paused");
}

static int follow(struct client *c, uint32_t id, const char *label, bool json)
{
    struct progress bar;
    struct ctl_disk_job j;
    if (!json)
        progress_begin(&bar, stdout, label);
    for (;;) {
        int rc, n = fetch(c, id, &j, 1, &rc);
        if (n < 0)
            return rc;
        if (n == 0) {
            report_error("disk job #%" PRIu32 " is gone from the host's list\n", id);
            return EXIT_COMMAND;
        }
        if (!json)
            progress_update(&bar, j.done, j.total);
        if (over(j.state)) {
            bool ok = !strcmp(j.state, "done");
            if (json) {
                print_json(&j);
                printf("\n");
            } else {
                progress_end(&bar, ok ? "done" : j.state);
                printf("%s\n", j.message);
            }
            return ok ? EXIT_OK : EXIT_COMMAND;
        }
        usleep(200 * 1000);
    }
}

int disk_command(struct client *c, const char *const *pos, int npos, bool json, bool no_wait)
{
    if (npos >= 1 && !strcmp(pos[0], "jobs")) {
        char *end;
        unsigned long id = npos > 1 ? strtoul(pos[1], &end, 10) : 0;
        if (npos > 2 || (npos == 2 && (*end || !id || id > UINT32_MAX))) {
            report_error("usage: disk jobs [ID]\n");
            return EXIT_USAGE;
        }
        return list_jobs(c, (uint32_t)id, json);
    }
    if (npos < 3) {
        report_error("usage: disk PARTITION DISK VERB [ARGS...] | disk jobs [ID]\n");
        return EXIT_USAGE;
    }
    char words[CTL_DISK_WORDS_MAX + 1] = "";
    size_t len = 0;
    for (int i = 0; i < npos; i++) {
        size_t k = strlen(pos[i]);
        if (len + k + 2 > sizeof words) {
            report_error("disk: the request is longer than %u bytes\n", CTL_DISK_WORDS_MAX);
            return EXIT_USAGE;
        }
        if (i)
            words[len++] = ' ';
        memcpy(words + len, pos[i], k + 1);
        len += k;
    }
    uint8_t p[CTL_DISK_WORDS_MAX + 16];
    struct ctl_tlv_writer w;
    struct client_reply r;
    struct ctl_tlv t;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_TEXT, words);
    int rc = call(c, CTL_MSG_DISK, p, w.len, &r);
    if (rc != EXIT_OK)
        return rc;
    char line[320] = "";
    uint32_t id = 0;
    if (ctl_tlv_find(r.payload, r.length, CTL_TAG_TEXT, &t))
        ctl_tlv_text(&t, line, sizeof line);
    if (ctl_tlv_find(r.payload, r.length, CTL_TAG_OP_ID, &t))
        ctl_tlv_u32(&t, &id);
    if (id && !no_wait) {
        if (!json)
            printf("%s\n", line);
        return follow(c, id, words, json);
    }
    if (json) {
        printf("{\"id\":%" PRIu32 ",\"result\":", id);
        render_json_string(stdout, line);
        printf("}\n");
    } else {
        printf("%s\n", line);
    }
    return EXIT_OK;
}
