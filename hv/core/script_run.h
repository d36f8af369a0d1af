/*
 * The manifest's [script] at run time (the rules themselves: hv/core/config/script.h).  Console
 * lines from every partition's vCPUs are fed in under one lock; the actions they trigger
 * run later on the boot CPU, from the scheduler loop, where starting and stopping
 * partitions is safe (the control server does it from there too).
 */
#ifndef ATOLL_HV_CORE_SCRIPT_RUN_H
#define ATOLL_HV_CORE_SCRIPT_RUN_H
#include <stddef.h>
#include "hv/core/config/manifest.h"
#include "hv/core/partition.h"

/* Before any partition starts.  0, or -1 with "FILE:LINE: script: ..." in err. */
int script_run_init(const struct manifest *m, const char *file, char *err, size_t err_size);
/* What partition p printed (a line or part of one); any vCPU, holding p's lock. */
void script_run_line(struct partition *p, const char *text, size_t len);
/* Whether the armed rule waits for a line of p: its next line should reach the script
 * soon (partition_console.c asks the boot CPU to look at once). */
bool script_run_watches(const struct partition *p);
/* Boot CPU: carries out the actions triggered since the last call. */
void script_run_poll(void);
/* Whether an action was triggered and not carried out yet (it may wait for a snapshot). */
bool script_run_waiting(void);

#endif
