/* A progress bar for long operations: redrawn in place on a terminal, as a line every
 * 10% otherwise (logs, pipes). */
#ifndef ATOLL_TOOLS_ATOLLCTL_PROGRESS_H
#define ATOLL_TOOLS_ATOLLCTL_PROGRESS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
    FILE *out;
    const char *label;
    bool tty;
    int last_step;     /* the last 10% step printed when not a terminal */
};

void progress_begin(struct progress *p, FILE *out, const char *label);
void progress_update(struct progress *p, uint64_t done, uint64_t total);
void progress_end(struct progress *p, const char *result);
/* The bar itself, for tests and other renderers: "[#####-----]  50%". */
void progress_format(char *buf, size_t cap, uint64_t done, uint64_t total, int width);

#endif
