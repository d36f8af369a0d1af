/*
 * The offload provider of one host: issues tokens for byte ranges of pool files and virtual
 * disks (offload read) and writes the data a token stands for into a destination (offload
 * write), without the data passing through whoever asked.
 *
 * Immutability is by invalidation: the provider keeps a table of live tokens, and every
 * writer of a pool file or disk calls offload_note_write() *before* its data changes; a
 * live token with a range overlapping the write is revoked.  A linked clone is the one
 * change that moves data rather than changing it: the source's file, unchanged, becomes a
 * read-only base under a new name, and the tokens of the source follow it there.  An offload write checks the
 * token after reading each piece and before writing it, so every byte it reports written
 * is the data as it was at issue; when the token was revoked part way, it stops there and
 * says "token no longer valid" with the length written so far.  Design, and why not
 * copy-on-write yet: hv/offload/TOKEN.md.
 *
 * Portable and single-threaded (the caller serialises calls, as the storage service does).
 * Files and disks are reached through struct offload_platform (hv/offload/offload_pool.h
 * supplies one over the FAT32 pool), the MAC, randomness and clock through it too.
 */
#ifndef ATOLL_HV_OFFLOAD_OFFLOAD_H
#define ATOLL_HV_OFFLOAD_OFFLOAD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/offload/grant.h"
#include "hv/offload/token.h"

#define OFFLOAD_NAME_MAX     255u
#define OFFLOAD_OBJECTS_MAX  32u   /* files and disks named by live tokens */
#define OFFLOAD_LIVE_MAX     64u   /* tokens live at once */
#define OFFLOAD_CHUNK        (1024u * 1024u) /* bytes copied per step */
#define OFFLOAD_LIFETIME_MAX (3600u * 1000u) /* ms: the longest a token lives */

enum offload_status {
    OFFLOAD_OK = 0,
    OFFLOAD_E_INVALID = -1,   /* bad argument: range, alignment, name, overlap */
    OFFLOAD_E_NOT_FOUND = -2, /* no such file or disk */
    OFFLOAD_E_IO = -3,        /* the storage failed */
    OFFLOAD_E_TOKEN = -4,     /* not a token of ours, forged, expired (msg says which) */
    OFFLOAD_E_REVOKED = -5,   /* the data changed since issue: token no longer valid */
    OFFLOAD_E_BUSY = -6,      /* too many live tokens or objects */
    OFFLOAD_E_NOMEM = -7,
    OFFLOAD_E_GRANT = -8,     /* a grant refused (msg says which check) */
};

/* platform clone: not a case for sharing blocks (msg says why); copy instead */
#define OFFLOAD_CLONE_DECLINED 1

/* An offload write that covers a whole disk with a whole disk: the platform may share the
 * source's blocks instead of copying them (TOKEN.md, "Block sharing: linked clones"). */
struct offload_clone {
    const char *src, *dst;          /* pool names of the source and destination disks */
    uint64_t length;                /* the token's whole data: the source's disk size */
    struct guid src_data_write_guid;/* the source as at issue */
    bool (*still_valid)(void *ctx); /* whether the token still holds (ask before the commit) */
    /* The commit: the source's unchanged file now has the name base too, and src's name is
     * about to go to a new child.  The provider moves src's tokens to base. */
    void (*committed)(void *ctx, const char *base);
    void *ctx;
};

/* An open file or disk.  Offsets and lengths of a disk are multiples of granule. */
struct offload_io {
    void *h;
    uint64_t size;
    uint32_t granule;             /* 1 for a file; the logical sector size for a disk */
    struct guid data_write_guid;  /* a disk's; zero for a file */
    int (*read)(void *h, uint64_t off, void *buf, size_t len);        /* 0 or < 0 */
    int (*write)(void *h, uint64_t off, const void *buf, size_t len); /* may extend a file */
    int (*flush)(void *h);
    /* Optional: whether [off, off+len) reads as zeros by metadata alone, for *run bytes. */
    int (*zero_extent)(void *h, uint64_t off, uint64_t len, bool *zero, uint64_t *run);
    /* Optional: makes [off, off+len) read as zeros without writing payload. */
    int (*punch)(void *h, uint64_t off, uint64_t len);
};

struct offload_platform {
    void *io_ctx;
    /* Opens file or disk `name` (enum token_range_kind); writable: a file is created when
     * missing.  msg: one line when it fails.  Returns an enum offload_status. */
    int (*open)(void *io_ctx, uint8_t kind, const char *name, bool writable,
                struct offload_io *io, char *msg, size_t msg_size);
    void (*close)(void *io_ctx, struct offload_io *io);
    void *(*alloc)(void *io_ctx, size_t size);
    void (*free)(void *io_ctx, void *p);
    /* Optional: makes disk c->dst hold disk c->src's data by sharing its blocks.  OK: done;
     * OFFLOAD_CLONE_DECLINED: not a case for it (the write copies); else a status. */
    int (*clone)(void *io_ctx, const struct offload_clone *c, char *msg, size_t msg_size);
    void *sec_ctx;
    token_mac_fn mac;                            /* HMAC-SHA256 under the host secret */
    void (*random)(void *sec_ctx, void *buf, size_t len);
    uint64_t (*now_ms)(void *sec_ctx);
    /* Optional (NULL: single-threaded): a lock around the live-token table, for writers
     * that call offload_note_write from other CPUs; never held across a call to open,
     * close or an offload_io (they take the pool's lock, which writers hold when they
     * note: pool lock, then this). */
    void (*lock)(void *sec_ctx);
    void (*unlock)(void *sec_ctx);
};

/* One range of an offload read. */
struct offload_src {
    uint8_t kind; /* enum token_range_kind */
    const char *name;
    uint64_t offset, length;
};

struct offload_stats {
    uint64_t issued, revoked, writes;
    uint64_t bytes_copied;   /* payload read and written */
    uint64_t bytes_punched;  /* made zero by metadata, no payload moved */
    uint64_t bytes_zero_read;/* read, found all zero, trimmed in the destination: not written */
    uint64_t bytes_shared;   /* whole disks cloned: the source's blocks shared, none moved */
};

struct offload_object {
    bool used;
    uint8_t kind;
    uint32_t epoch; /* bumped when the slot is reused: stale object numbers do not match */
    char name[OFFLOAD_NAME_MAX + 1];
};

struct offload_live {
    bool used, revoked;
    bool pending; /* offload_read is issuing it: writes revoke it, expiry does not free it */
    struct token t;
};

struct offload_provider {
    struct offload_platform pf;
    uint8_t issuer[TOKEN_ISSUER_LEN];
    struct offload_object obj[OFFLOAD_OBJECTS_MAX];
    struct offload_live live[OFFLOAD_LIVE_MAX];
    struct offload_stats stats;
};

/* Called after each piece of an offload write: bytes written so far of the total asked. */
typedef void (*offload_progress_fn)(void *ctx, uint64_t done, uint64_t total);

void offload_init(struct offload_provider *p, const struct offload_platform *pf,
                  const uint8_t issuer[TOKEN_ISSUER_LEN]);
/*
 * Issues a token for srcs[0..n) in order, living lifetime_ms (capped at
 * OFFLOAD_LIFETIME_MAX; 0: the cap).  *covered may be shorter than asked: a range reaching
 * past the end of its file or disk is cut there and later ranges are dropped; a disk range
 * is cut to whole logical sectors; ranges past TOKEN_RANGES_MAX are dropped.  Nothing
 * covered (the first range starts at or past the end) is OFFLOAD_E_INVALID.
 */
int offload_read(struct offload_provider *p, const struct offload_src *srcs, uint32_t n,
                 uint64_t lifetime_ms, uint8_t token[TOKEN_SIZE], uint64_t *covered,
                 char *msg, size_t msg_size);
/*
 * Writes bytes [token_off, token_off + len) of what the token stands for (its ranges laid
 * end to end; len is cut at the token's end) into `dst` (a file, created when missing, or
 * a disk) at dst_off.  *written may be shorter than asked: the token was revoked part way
 * (OFFLOAD_E_REVOKED), the storage failed (OFFLOAD_E_IO), or a file range's end is not a
 * whole sector of a disk destination (OFFLOAD_OK, stops there).  The destination may be
 * the same object as a source range only where they do not overlap.
 */
int offload_write(struct offload_provider *p, const uint8_t *token, size_t token_len,
                  uint64_t token_off, uint64_t len, uint8_t dst_kind, const char *dst,
                  uint64_t dst_off, offload_progress_fn progress, void *progress_ctx,
                  uint64_t *written, char *msg, size_t msg_size);
/*
 * As offload_write from token offset 0 to destination offset 0, where the caller means to
 * write the whole token into the whole destination in requests of len bytes (the control
 * protocol's WHOLE hint): when the provider can write all of it at once without moving
 * payload (a linked clone), it does, and *written is the token's whole length, more than
 * len; otherwise it writes [0, len) as offload_write does.
 */
int offload_write_whole(struct offload_provider *p, const uint8_t *token, size_t token_len,
                        uint64_t len, uint8_t dst_kind, const char *dst,
                        offload_progress_fn progress, void *progress_ctx, uint64_t *written,
                        char *msg, size_t msg_size);
/*
 * Between two providers (hv/offload/grant.h), the source provider A's side: checks the
 * grant that peer (authenticated as `peer` over TLS) presents, then the token inside as
 * offload_write does, and hands bytes [token_off, token_off + len) of the token's data to
 * sink->write(sink->h, pos, ...) (pos from 0) piece by piece, with the same immutability
 * checks.  *sent may be short as *written is.  It is offload_serve_begin, then
 * offload_serve_range once.
 */
int offload_serve(struct offload_provider *p, struct grant_checker *k, const uint8_t *grant,
                  size_t grant_len, const uint8_t peer[GRANT_FP_LEN], uint64_t token_off,
                  uint64_t len, const struct offload_io *sink, uint64_t *sent, char *msg,
                  size_t msg_size);

/* The same in steps, for a transport that sends a piece before it asks for the next
 * (net/kernel/offload_link.c): begin checks the grant (once: it remembers the nonce) and
 * the token inside, filling *t; each range call then checks the token's liveness again
 * and hands bytes [token_off, +len) of its data to the sink. */
int offload_serve_begin(struct offload_provider *p, struct grant_checker *k,
                        const uint8_t *grant, size_t grant_len, const uint8_t peer[GRANT_FP_LEN],
                        struct token *t, char *msg, size_t msg_size);
int offload_serve_range(struct offload_provider *p, const struct token *t, uint64_t token_off,
                        uint64_t len, const struct offload_io *sink, uint64_t *sent, char *msg,
                        size_t msg_size);

/*
 * Plain reads and writes of a pool file or disk, the path a client that copies through
 * itself takes (CTL_MSG_OFFLOAD_FETCH / _STORE; the two-host bench's anchor).  A fetch
 * reads up to len bytes at off (cut at the end; a disk's in whole sectors) into buf,
 * *got saying how many; a store writes len bytes at off (a file is created when missing
 * and extended; a disk's range must lie inside it, in whole sectors), revoking the live
 * tokens it touches first, then flushes.
 */
int offload_fetch(struct offload_provider *p, uint8_t kind, const char *name, uint64_t off,
                  void *buf, size_t len, size_t *got, char *msg, size_t msg_size);
int offload_store(struct offload_provider *p, uint8_t kind, const char *name, uint64_t off,
                  const void *buf, size_t len, char *msg, size_t msg_size);

/* The destination provider B's side: a file or disk opened for pieces arriving from A,
 * written at off + pos through the write hook; sink is what A's offload_serve writes to. */
struct offload_receiver {
    struct offload_provider *p;
    struct offload_io io;
    uint8_t kind;
    char name[OFFLOAD_NAME_MAX + 1];
    uint64_t off, received;
};
int offload_receive_open(struct offload_receiver *r, struct offload_provider *p, uint8_t kind,
                         const char *name, uint64_t off, struct offload_io *sink, char *msg,
                         size_t msg_size);
int offload_receive_close(struct offload_receiver *r);

/*
 * The write hook: every writer of a pool file or disk calls it before changing
 * [off, off+len) of it (len UINT64_MAX: all of it, e.g. truncated or removed).  A write to
 * a disk's contents also changes its image file and the other way round, so either revokes
 * the tokens of both kinds on that name that it may touch.
 */
void offload_note_write(struct offload_provider *p, uint8_t kind, const char *name,
                        uint64_t off, uint64_t len);
/* Live tokens now (expired ones are dropped first). */
uint32_t offload_live_count(struct offload_provider *p);

const char *offload_status_name(int status);

#endif
