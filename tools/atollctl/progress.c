/* A progress bar for long operations. */
#include "tools/atollctl/progress.h"
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 30

void progress_format(char *buf, size_t cap, uint64_t done, uint64_t total, int width)
{
    unsigned pct = total ? (unsigned)((done > total ? total : done) * 100 / total) : 0;
    int fill = (int)(pct * (unsigned)width / 100);
    char bar[128];
    if (width > (int)sizeof bar - 1)
        width = (int)sizeof bar - 1;
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    snprintf(buf, cap, "[%s] %3u%%", bar, pct);
}

void progress_begin(struct progress *p, FILE *out, const char *label)
{
    p->out = out;
    p->label = label;
    p->tty = isatty(fileno(out));
    p->last_step = -1;
}

void progress_update(struct progress *p, uint64_t done, uint64_t total)
{
    char bar[160];
    progress_format(bar, sizeof bar, done, total, BAR_WIDTH);
    if (p->tty) {
        fprintf(p->out, "\r%s %s", bar, p->label);
    } else {
        int step = total ? (int)((done > total ? total : done) * 10 / total) : 0;
        if (step == p->last_step)
            return;
        p->last_step = step;
        fprintf(p->out, "%s %s\n", bar, p->label);
    }
    fflush(p->out);
}

void progress_end(struct progress *p, const char *result)
{
    if (p->tty)
        fputc('\n', p->out);
    if (result)
        fprintf(p->out, "%s\n", result);
    fflush(p->out);
}
