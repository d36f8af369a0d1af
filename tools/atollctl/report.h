/* atollctl's errors: one line on stderr (`atollctl: what went wrong`), or under --json one
 * object on stdout when the command ends, {"error":"…","exit":N,"kind":"…"}, so a script
 * reads every outcome from one stream. */
#ifndef ATOLL_TOOLS_ATOLLCTL_REPORT_H
#define ATOLL_TOOLS_ATOLLCTL_REPORT_H
#include <stdbool.h>

void report_json(bool on);
void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The exit status rc, after printing the JSON error object when --json is on and rc != 0. */
int report_exit(int rc);
/* The name of an exit status in the JSON object ("cannot-connect", "refused-by-server", …). */
const char *report_kind(int rc);

#endif
