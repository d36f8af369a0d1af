/* The stand-in live disk operations (fake_disk.h). */
#include "tests/net/fake_disk.h"

#include <stdio.h>
#include <string.h>

#define MIB (1ull << 20)
#define MAX_JOBS 8

static struct ctl_disk_job jobs[MAX_JOBS];
static unsigned njobs;

static uint16_t fake_request(void *ctx, const char *words, uint32_t *id, char *msg,
                             size_t msg_size)
{
    (void)ctx;
    if (strncmp(words, "linux ", 6)) {
        snprintf(msg, msg_size, "disk: %s: refused: no running partition is named that", words);
        return CTL_ERR_BUSY;
    }
    if (strstr(words, " pause") || strstr(words, " resume") || strstr(words, " cancel")) {
        snprintf(msg, msg_size, "disk: %s: no job runs on that disk", words);
        return CTL_ERR_BUSY;
    }
    if (njobs == MAX_JOBS)
        njobs = 0;
    struct ctl_disk_job *j = &jobs[njobs++];
    memset(j, 0, sizeof *j);
    j->id = njobs;
    snprintf(j->text, sizeof j->text, "%s", words);
    snprintf(j->state, sizeof j->state, "running");
    j->total = 4 * MIB;
    j->eta_ms = UINT64_MAX;
    j->passes = 1;
    *id = j->id;
    snprintf(msg, msg_size, "disk: %s #%u: started", words, j->id);
    return CTL_OK;
}

static bool fake_job_at(void *ctx, uint32_t id, size_t index, struct ctl_disk_job *out)
{
    (void)ctx;
    size_t n = 0;
    for (unsigned i = njobs; i-- > 0;) {
        struct ctl_disk_job *j = &jobs[i];
        if ((id && j->id != id) || n++ != index)
            continue;
        if (!strcmp(j->state, "running")) {
            j->done += MIB;
            j->elapsed_ms += 100;
            j->eta_ms = (j->total - j->done) / MIB * 100;
            if (j->done >= j->total) {
                j->done = j->total = 5 * MIB;
                j->passes = 2;
                j->recopied = 1;
                snprintf(j->state, sizeof j->state, "done");
                snprintf(j->message, sizeof j->message, "done: 5 MiB in 400 ms, 2 passes, "
                         "re-copied 1 dirty units");
            }
        }
        *out = *j;
        return true;
    }
    return false;
}

const struct ctl_disk_ops fake_disk_ops = { fake_request, fake_job_at };
