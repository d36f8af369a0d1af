/*
 * A token-bucket limit on I/O: operations per second and bytes per second, each with a
 * burst of one second's worth (at least one request's worth of bytes, so a single large
 * request is never refused for ever).  Used for the manifest's per-disk `iops =` and
 * `mbps =`, and for background jobs.  The caller supplies the time; portable, no locks
 * (the disk's owner serialises).
 */
#ifndef ATOLL_HV_STORAGE_RATE_LIMIT_H
#define ATOLL_HV_STORAGE_RATE_LIMIT_H
#include <stdbool.h>
#include <stdint.h>

struct rate_limit {
    uint64_t iops;              /* 0: no limit on operations */
    uint64_t bytes_per_s;       /* 0: no limit on bytes */
    uint64_t op_tokens;         /* in millionths of an operation */
    uint64_t byte_tokens;       /* in bytes */
    uint64_t last_ns;
    uint64_t throttled;         /* times a request was told to wait */
    uint64_t delayed;           /* requests that waited at all: a refusal after a yes (the
                                 * caller asks about one request until it may start) */
    bool waiting;               /* the last answer was no */
};

/* A disk's end-line words for its limit. */
struct rate_limit_note {
    char text[64];
};

void rate_limit_init(struct rate_limit *rl, uint64_t iops, uint64_t bytes_per_s, uint64_t now_ns);
/* True, and the request's cost taken, when a request of `bytes` may start at now_ns. */
bool rate_limit_take(struct rate_limit *rl, uint64_t bytes, uint64_t now_ns);
/* Nanoseconds from now_ns until a request of `bytes` could start (0: now). */
uint64_t rate_limit_wait_ns(const struct rate_limit *rl, uint64_t bytes, uint64_t now_ns);
/* "" for no limit (rl NULL), ", never throttled", or ", throttled: N requests delayed". */
struct rate_limit_note rate_limit_note(const struct rate_limit *rl);

#endif
