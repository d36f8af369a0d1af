/*
 * Control commands for live disk operations (hv/core/disk_ops.h): CTL_MSG_DISK carries the
 * same words as the manifest's `[script]` verb (`PARTITION DISK VERB ...`, parsed by the
 * hypervisor) and answers with its one line and the job's id; CTL_MSG_DISK_JOBS lists the
 * jobs (or one) with their progress.  Portable: the hypervisor supplies ctl_disk_ops.
 */
#ifndef ATOLL_NET_CONTROL_CTL_DISK_H
#define ATOLL_NET_CONTROL_CTL_DISK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/control/ctl_server.h"

#define CTL_DISK_WORDS_MAX 255u     /* the request's text */

struct ctl_disk_job {
    uint32_t id;
    char text[160];         /* "PARTITION DISK VERB [DST]" */
    char state[16];         /* queued running paused done failed cancelled */
    uint64_t done, total, elapsed_ms;
    uint64_t eta_ms;        /* UINT64_MAX: unknown */
    uint32_t passes, recopied;
    char message[160];
};

struct ctl_disk_ops {
    /* Acts on the words; one line in msg either way, *id the job's (0: none).  CTL_OK,
     * CTL_ERR_BAD_ARGUMENT (the words), CTL_ERR_NOT_FOUND, CTL_ERR_BUSY (refused). */
    uint16_t (*request)(void *ctx, const char *words, uint32_t *id, char *msg, size_t msg_size);
    /* Job number `index` (newest first) among those with id (0: all); false past the last. */
    bool (*job_at)(void *ctx, uint32_t id, size_t index, struct ctl_disk_job *out);
};

struct ctl_disk_commands {
    const struct ctl_disk_ops *ops;
    void *ctx;
    char msg[320];
};

/* Registers CTL_MSG_DISK and CTL_MSG_DISK_JOBS on srv; c must outlive it.  0 or -1. */
int ctl_disk_register(struct ctl_server *srv, struct ctl_disk_commands *c,
                      const struct ctl_disk_ops *ops, void *ctx);

#endif
