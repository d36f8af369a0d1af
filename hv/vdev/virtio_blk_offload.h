/*
 * Atoll's virtio-blk offload requests: token-based copy between a partition's disks
 * (issue 15, Deliver 4, as a token pair; the contract is in hv/offload/TOKEN.md, "The guest
 * side").  Offload read, sent to the source disk's queue, gives the guest a 512-byte token
 * (the hv/offload/token.h format) standing for a range of that disk as it is now; offload
 * write, sent to the destination disk's queue, hands a token back and the device copies its
 * data there inside the host, as a copy request (virtio_blk_copy.h) would, never through
 * guest memory.
 *
 * The guest tokens of one partition: issued under the partition's own secret and identity
 * (drawn when its disks are set up), so a token of another partition's disks, of the host's
 * offload provider, or a forged one, is refused; kept in a table of VBLK_TOKENS_LIVE, the
 * oldest replaced when it is full; revoked by any write, trim or copy that touches their
 * range on that disk (vblk_tokens_note_write, called by the device before the data
 * changes).  Tokens live in memory only: they die with the partition, and a checkpoint or
 * migration restores a partition with a new secret.
 *
 * Portable: the MAC, randomness and clock come from the caller.
 */
#ifndef ATOLL_HV_VDEV_VIRTIO_BLK_OFFLOAD_H
#define ATOLL_HV_VDEV_VIRTIO_BLK_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/offload/token.h"

#define VIRTIO_BLK_T_ATOLL_OFFLOAD_READ  0x41540002u /* "AT" 0002 */
#define VIRTIO_BLK_T_ATOLL_OFFLOAD_WRITE 0x41540003u /* "AT" 0003 */
/* Offload read: device-readable u64 sectors (after the header); device-writable the token
 * then u64 covered bytes (before the status byte). */
#define VBLK_OFFLOAD_READ_SEG   8u
#define VBLK_OFFLOAD_READ_OUT   (TOKEN_SIZE + 8u)
/* Offload write: device-readable the token, u64 token_offset, u64 length (bytes);
 * device-writable u64 written bytes (before the status byte). */
#define VBLK_OFFLOAD_WRITE_SEG  (TOKEN_SIZE + 16u)
#define VBLK_OFFLOAD_WRITE_OUT  8u
#define VBLK_OFFLOAD_READ_MAX_SECTORS (1ull << 32) /* 2 TiB a token */
#define VBLK_TOKENS_LIVE        16u
#define VBLK_TOKEN_LIFETIME_MS  (600u * 1000u)

struct vblk_tokens {
    uint8_t issuer[TOKEN_ISSUER_LEN];   /* the partition's token identity: random */
    token_mac_fn mac;                   /* HMAC-SHA256 under the partition's secret */
    void *mac_ctx;
    void (*random)(void *ctx, void *buf, size_t len);
    uint64_t (*now_ms)(void *ctx);
    void *ctx;                          /* of random and now_ms */
    struct {
        bool used, revoked;
        uint64_t issued_at;             /* order, for replacing the oldest */
        struct token t;
    } live[VBLK_TOKENS_LIVE];
    uint64_t serial;
    uint64_t issued, revoked, refused, replaced;
};

/* Zeroes the table and draws the partition's identity through random. */
void vblk_tokens_init(struct vblk_tokens *tk, token_mac_fn mac, void *mac_ctx,
                      void (*random)(void *ctx, void *buf, size_t len),
                      uint64_t (*now_ms)(void *ctx), void *ctx);

/* A token for bytes [off, off+len) of disk number `disk` (the caller checked the range
 * lies inside the disk, in whole sectors) into out; NULL, or why none was issued. */
const char *vblk_tokens_issue(struct vblk_tokens *tk, uint32_t disk, uint64_t off, uint64_t len,
                              uint8_t out[TOKEN_SIZE]);

/* Revokes the live tokens on disk `disk` whose range overlaps [off, off+len). */
void vblk_tokens_note_write(struct vblk_tokens *tk, uint32_t disk, uint64_t off, uint64_t len);

/* What an offload write of bytes [token_off, +len) of a token copies. */
struct vblk_offload_src {
    uint32_t disk;
    uint64_t offset, length;            /* bytes on that disk; length cut at the token's end */
    uint8_t id[TOKEN_ID_LEN];           /* for vblk_tokens_live while the copy runs */
};

/* Checks buf as a token of this partition, live, and [token_off, +len) inside it (in
 * whole 512-byte sectors); NULL and *src, or why it is refused. */
const char *vblk_tokens_redeem(struct vblk_tokens *tk, const uint8_t *buf, size_t buf_len,
                               uint64_t token_off, uint64_t len, struct vblk_offload_src *src);

/* Whether the token with this id is still live (issued, not revoked, not expired). */
bool vblk_tokens_live(struct vblk_tokens *tk, const uint8_t id[TOKEN_ID_LEN]);

#endif
