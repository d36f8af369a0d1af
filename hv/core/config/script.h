/*
 * The manifest's [script]: rules "on PARTITION prints TEXT => ACTION ARGS" run in order.
 * Only the first rule not yet run is armed; when a console line of its partition contains
 * its text, it runs, and the next rule is armed at once (so it may match the same line:
 * several actions on one event are several rules with the same trigger).  Each rule runs
 * once.  Portable: the kernel feeds console lines in and carries the actions out
 * (hv/core/script_run.c).
 */
#ifndef ATOLL_HV_CORE_SCRIPT_H
#define ATOLL_HV_CORE_SCRIPT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/config/manifest.h"

enum script_action { SCRIPT_START, SCRIPT_STOP, SCRIPT_CHECKPOINT, SCRIPT_SNAPSHOT,
                     SCRIPT_RESTORE, SCRIPT_MIGRATE, SCRIPT_DISK, SCRIPT_CAPTURE };

struct script {
    const struct manifest_rule *rules;
    uint32_t count;
    uint32_t next;                      /* the armed rule; count when all have run */
    enum script_action actions[MANIFEST_MAX_RULES];
    char targets[MANIFEST_MAX_RULES][MANIFEST_NAME_LEN];   /* the partition each acts on;
                                                            * a restore's new name or "" */
    char files[MANIFEST_MAX_RULES][MANIFEST_TEXT_LEN];     /* snapshot and restore: the file;
                                                            * migrate: the host;
                                                            * disk: its words (checked);
                                                            * capture: the PNG file */
    bool stop[MANIFEST_MAX_RULES];                          /* snapshot NAME FILE stop */
    bool live[MANIFEST_MAX_RULES];                          /* snapshot NAME FILE live */
    bool lazy[MANIFEST_MAX_RULES];                          /* restore FILE ... lazy */
};

/* Checks every rule's action against what this build can do and resolves its target
 * partition (ARGS, or the rule's own partition when ARGS is empty for stop and checkpoint).
 * `snapshot NAME FILE [live] [stop]` names a partition of the manifest (or one an earlier
 * rule restores) and a pool file; `restore FILE [as NEWNAME] [lazy]` a pool file, the name
 * the restored partition takes (none: the name in the file) and whether it starts before
 * its RAM is loaded (hv/core/snapshot_lazy.h); `migrate NAME HOST` a partition and the
 * host to move it to (A.B.C.D[:PORT]); `disk PARTITION DISK VERB ...` a live disk
 * operation (hv/storage/disk_op_request.h) on a partition of the manifest (or `-` for
 * delete); `capture FILE` a pool file for a PNG of the display's framebuffer
 * (hv/core/display_capture.h).  0, or -1 with
 * "FILE:LINE: script: ..." in err. */
int script_init(struct script *s, const struct manifest *m, const char *file, char *err,
                size_t err_size);
/* A line (or part of one) that partition printed: the indices of the rules it runs, in
 * order, into ran (at most max); returns how many. */
unsigned script_feed(struct script *s, const char *partition, const char *text, size_t len,
                     uint32_t *ran, unsigned max);
/* Whether the armed rule waits for a line of that partition. */
bool script_watches(const struct script *s, const char *partition);

#endif
