/* `atollctl disk`: live disk operations on a host (net/control/ctl_disk.h). */
#ifndef ATOLL_TOOLS_ATOLLCTL_DISK_CMD_H
#define ATOLL_TOOLS_ATOLLCTL_DISK_CMD_H
#include <stdbool.h>
#include "tools/atollctl/client.h"

/* pos: `jobs [ID]`, or PARTITION DISK VERB [ARGS...]; a job is followed with a progress
 * bar (ETA, re-copied units) until it ends, unless no_wait.  An exit status. */
int disk_command(struct client *c, const char *const *pos, int npos, bool json, bool no_wait);

#endif
