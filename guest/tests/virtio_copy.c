/*
 * Atoll's virtio-blk copy extension (hv/offload/TOKEN.md, "The guest side"): with two
 * disks, the guest writes a pattern to disk 0 with normal writes, asks disk 1's device to
 * copy it there (request type 0x41540001, feature bit 23; the data never passes through
 * the guest), reads disk 1 back with normal reads and compares.  Then hostile copies:
 * each fails with IOERR, leaves disk 1 as it was, and the device carries on; without the
 * feature negotiated a copy is UNSUPP.  Then the token pair: an offload read on disk 0's
 * device (0x41540002) gives a token for the pattern, an offload write on disk 1's device
 * (0x41540003) copies it to sector 512; a damaged token, a misaligned token offset and a
 * token whose range disk 0 was written to since are refused with IOERR.  One device at a
 * time (the driver's rings are one); tokens outlive a device's reset (they belong to the
 * partition).
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("virtio_copy");

#define VD_F_ATOLL_COPY (1ull << 23)
#define VD_T_ATOLL_COPY 0x41540001u
#define BUF_BYTES       (32u << 10)
#define SRC_SECTOR      64u
#define DST_SECTOR      256u
#define COPY_SECTORS    128u                    /* 64 KiB: several pieces */

static uint8_t buf[BUF_BYTES] __attribute__((aligned(4096)));
static uint8_t want[BUF_BYTES] __attribute__((aligned(4096)));

struct copy_seg {
    uint32_t source_disk, reserved;
    uint64_t source_sector, sectors;
};
static struct copy_seg seg __attribute__((aligned(64)));

#define VD_T_OFFLOAD_READ  0x41540002u
#define VD_T_OFFLOAD_WRITE 0x41540003u
#define TOKEN_BYTES        512u
#define OFFLOAD_DST_SECTOR 512u
#define REVOKE_SECTOR      1024u

static uint64_t read_sectors __attribute__((aligned(64)));
static uint8_t read_out[TOKEN_BYTES + 8] __attribute__((aligned(64)));
static struct {
    uint8_t token[TOKEN_BYTES];
    uint64_t token_offset, length;
} write_in __attribute__((aligned(64)));
static uint64_t write_out __attribute__((aligned(64)));

/* One request: header, a device-readable buffer, a device-writable one, the status. */
static uint8_t request(struct vd *d, uint32_t type, uint64_t sector, void *in, uint32_t in_len,
                       void *out, uint32_t out_len)
{
    vd_hdr = (struct vd_req_hdr){ type, 0, sector };
    vd_status_byte = 0xAA;
    struct vd_seg s[4] = {
        { (uintptr_t)&vd_hdr, 16, 0 }, { (uintptr_t)in, in_len, 0 },
        { (uintptr_t)out, out_len, VD_DESC_WRITE },
        { (uintptr_t)&vd_status_byte, 1, VD_DESC_WRITE },
    };
    vd_put_chain(VD_DESC, s, 4);
    vd_kick(d, 0);
    int r = vd_wait(d, NULL, VD_TIMEOUT_US);
    return r > 0 ? vd_status_byte : r < 0 ? 0xFF : 0xEE;
}

/* An offload read of sectors [sector, +n) on d: the token into tok, *covered its bytes. */
static uint8_t offload_read(struct vd *d, uint64_t sector, uint64_t n, uint8_t *tok,
                            uint64_t *covered)
{
    read_sectors = n;
    memset(read_out, 0, sizeof(read_out));
    uint8_t st = request(d, VD_T_OFFLOAD_READ, sector, &read_sectors, 8, read_out,
                         sizeof(read_out));
    memcpy(tok, read_out, TOKEN_BYTES);
    memcpy(covered, read_out + TOKEN_BYTES, 8);
    return st;
}

static uint8_t offload_write(struct vd *d, uint64_t sector, const uint8_t *tok, uint64_t off,
                             uint64_t len, uint64_t *written)
{
    memcpy(write_in.token, tok, TOKEN_BYTES);
    write_in.token_offset = off;
    write_in.length = len;
    write_out = 0;
    uint8_t st = request(d, VD_T_OFFLOAD_WRITE, sector, &write_in, sizeof(write_in),
                         &write_out, 8);
    *written = write_out;
    return st;
}

static uint8_t pattern(unsigned i) { return (uint8_t)(i * 29 + (i >> 9) * 3 + 0x41); }

/* The slot of the n-th virtio-blk function on bus 0 (disk n: the manifest's order). */
static bool find_disk(struct vd *d, unsigned n)
{
    for (unsigned slot = 0; slot < 32; slot++) {
        if (vd_cfg_read(slot, 0, 4) == 0x10421af4u && n-- == 0) {
            memset(d, 0, sizeof(*d));
            d->slot = slot;
            return true;
        }
    }
    return false;
}

static bool open_disk(struct vd *d, unsigned n, uint64_t want_features, uint64_t *capacity)
{
    uint64_t bars[6];
    if (!find_disk(d, n))
        return false;
    vd_place_bars(d, bars);
    if (!vd_caps(d, bars) || !vd_init(d, want_features, false))
        return false;
    *capacity = vd_r32(d->devcfg) | (uint64_t)vd_r32(d->devcfg + 4) << 32;
    return true;
}

/* Resets the device and turns its BARs off, so the next one can take the same window. */
static void close_disk(struct vd *d)
{
    vd_reset(d);
    vd_cfg_write(d->slot, 0x04, 2, 0);
}

/* A copy request to d; seg_len and seg_flags as given (hostile ones too).  The status. */
static uint8_t copy_raw(struct vd *d, uint64_t dst_sector, uint32_t seg_len, uint16_t seg_flags)
{
    vd_hdr = (struct vd_req_hdr){ VD_T_ATOLL_COPY, 0, dst_sector };
    vd_status_byte = 0xAA;
    struct vd_seg s[3] = {
        { (uintptr_t)&vd_hdr, 16, 0 }, { (uintptr_t)&seg, seg_len, seg_flags },
        { (uintptr_t)&vd_status_byte, 1, VD_DESC_WRITE },
    };
    vd_put_chain(VD_DESC, s, 3);
    vd_kick(d, 0);
    int r = vd_wait(d, NULL, VD_TIMEOUT_US);
    return r > 0 ? vd_status_byte : r < 0 ? 0xFF : 0xEE;
}

static uint8_t copy(struct vd *d, uint64_t dst_sector, uint32_t src_disk, uint32_t reserved,
                    uint64_t src_sector, uint64_t sectors)
{
    seg = (struct copy_seg){ src_disk, reserved, src_sector, sectors };
    return copy_raw(d, dst_sector, sizeof(seg), 0);
}

/* The first 512 bytes of the pattern: what disk 1 holds at sector 0 after the good copy. */
static const uint8_t *pattern_head(void)
{
    static uint8_t head[512];
    for (unsigned i = 0; i < 512; i++)
        head[i] = pattern(i);
    return head;
}

/* Disk d's sectors [sector, +COPY_SECTORS) read with normal reads hold the pattern. */
static bool holds_pattern(struct vd *d, uint64_t sector)
{
    for (unsigned part = 0; part < COPY_SECTORS * 512 / BUF_BYTES; part++) {
        memset(buf, 0, BUF_BYTES);
        if (vd_rw(d, VD_T_IN, sector + part * (BUF_BYTES / 512), buf, BUF_BYTES, false) != 0)
            return false;
        for (unsigned i = 0; i < BUF_BYTES; i++)
            want[i] = pattern(part * BUF_BYTES + i);
        if (memcmp(buf, want, BUF_BYTES) != 0)
            return false;
    }
    return true;
}

void test_main(void)
{
    struct vd d = { 0 };
    uint64_t cap0 = 0, cap1 = 0;
    /* disk 0: the pattern, written with normal writes */
    bool up = open_disk(&d, 0, 0, &cap0);
    if (!report(up, "disk 0 at 00:%02x.0, %lu sectors", d.slot,
                (unsigned long)cap0))
        return;
    bool ok = true;
    for (unsigned part = 0; part < COPY_SECTORS * 512 / BUF_BYTES && ok; part++) {
        for (unsigned i = 0; i < BUF_BYTES; i++)
            buf[i] = pattern(part * BUF_BYTES + i);
        ok = vd_rw(&d, VD_T_OUT, SRC_SECTOR + part * (BUF_BYTES / 512), buf, BUF_BYTES,
                   false) == 0;
    }
    report(ok, "disk 0: %u KiB pattern written at sector %u", COPY_SECTORS / 2, SRC_SECTOR);
    close_disk(&d);

    /* disk 1: the copy, asked of its device, then read back */
    up = open_disk(&d, 1, VD_F_ATOLL_COPY, &cap1);
    if (!report(up, "disk 1 at 00:%02x.0, %lu sectors",
                d.slot, (unsigned long)cap1))
        return;
    if (!report(d.features & VD_F_ATOLL_COPY, "copy feature (bit 23) offered and negotiated"))
        return;
    uint8_t st = copy(&d, DST_SECTOR, 0, 0, SRC_SECTOR, COPY_SECTORS);
    report(st == 0, "copy of %u sectors from disk 0 sector %u to disk 1 sector %u: status %u",
           COPY_SECTORS, SRC_SECTOR, DST_SECTOR, st);
    report(holds_pattern(&d, DST_SECTOR), "disk 1 read back with normal reads: the pattern");

    /* hostile copies: IOERR each, disk 1 untouched at sector 0 */
    memset(buf, 0x5c, 512);
    vd_rw(&d, VD_T_OUT, 0, buf, 512, false);
    struct { const char *what; uint8_t st; } bad[] = {
        { "no such source disk (7)", copy(&d, 0, 7, 0, SRC_SECTOR, 8) },
        { "source past the end of disk 0", copy(&d, 0, 0, 0, cap0 - 4, 8) },
        { "destination past the end of disk 1", copy(&d, cap1 - 4, 0, 0, SRC_SECTOR, 8) },
        { "source sector 2^63", copy(&d, 0, 0, 0, 1ull << 63, 8) },
        { "no sectors", copy(&d, 0, 0, 0, SRC_SECTOR, 0) },
        { "more than 64 MiB", copy(&d, 0, 0, 0, 0, (64u << 20) / 512 + 1) },
        { "reserved field set", copy(&d, 0, 0, 1, SRC_SECTOR, 8) },
        { "overlap on disk 1 itself", copy(&d, 4, 1, 0, 0, 8) },
        { "segment of 16 bytes", copy_raw(&d, 0, 16, 0) },
        { "segment device-writable", copy_raw(&d, 0, sizeof(seg), VD_DESC_WRITE) },
    };
    unsigned refused = 0;
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        report(bad[i].st == 1, "hostile copy refused (%s): status %u", bad[i].what, bad[i].st);
        refused += bad[i].st == 1;
    }
    memset(want, 0x5c, 512);
    memset(buf, 0, 512);
    report(vd_rw(&d, VD_T_IN, 0, buf, 512, false) == 0 && memcmp(buf, want, 512) == 0 &&
           !(vd_status(&d) & VD_S_NEEDS_RESET),
           "%u hostile copies refused with IOERR; disk 1 unchanged, device running", refused);
    report(copy(&d, 0, 0, 0, SRC_SECTOR, 8) == 0, "a good copy after them still works");
    close_disk(&d);

    /* without the feature: UNSUPP */
    if (!open_disk(&d, 1, 0, &cap1))
        return;
    st = copy(&d, 0, 0, 0, SRC_SECTOR, 8);
    report(st == 2, "copy without the feature negotiated: status %u (UNSUPP)", st);
    close_disk(&d);

    /* the token pair: tokens from disk 0's device, written by disk 1's */
    static uint8_t tok[TOKEN_BYTES], tok2[TOKEN_BYTES], bad_tok[TOKEN_BYTES];
    uint64_t covered = 0, covered2 = 0, written = 0;
    if (!open_disk(&d, 0, VD_F_ATOLL_COPY, &cap0))
        return;
    st = offload_read(&d, SRC_SECTOR, COPY_SECTORS, tok, &covered);
    report(st == 0 && covered == COPY_SECTORS * 512 && !memcmp(tok, "ATOLLTOK", 8),
           "offload read of disk 0 sectors %u..%u: status %u, a token for %lu bytes",
           SRC_SECTOR, SRC_SECTOR + COPY_SECTORS - 1, st, (unsigned long)covered);
    st = offload_read(&d, REVOKE_SECTOR, 8, tok2, &covered2);
    report(st == 0 && covered2 == 4096, "offload read of disk 0 sectors %u..%u: status %u",
           REVOKE_SECTOR, REVOKE_SECTOR + 7, st);
    uint64_t dummy;
    st = offload_read(&d, cap0, 8, bad_tok, &dummy);
    report(st == 1, "hostile offload read past the end of disk 0: status %u", st);
    /* disk 0 written inside the second token's range: that token dies */
    memset(buf, 0x3c, 512);
    report(vd_rw(&d, VD_T_OUT, REVOKE_SECTOR + 4, buf, 512, false) == 0,
           "disk 0 sector %u written (inside the second token's range)", REVOKE_SECTOR + 4);
    close_disk(&d);

    if (!open_disk(&d, 1, VD_F_ATOLL_COPY, &cap1))
        return;
    st = offload_write(&d, OFFLOAD_DST_SECTOR, tok, 0, ~0ull, &written);
    report(st == 0 && written == covered,
           "offload write of the token to disk 1 sector %u: status %u, %lu bytes written",
           OFFLOAD_DST_SECTOR, st, (unsigned long)written);
    report(holds_pattern(&d, OFFLOAD_DST_SECTOR), "disk 1 sector %u read back: the pattern",
           OFFLOAD_DST_SECTOR);
    memcpy(bad_tok, tok, TOKEN_BYTES);
    bad_tok[100] ^= 1;
    st = offload_write(&d, 0, bad_tok, 0, 4096, &written);
    report(st == 1, "hostile offload write of a damaged token: status %u", st);
    st = offload_write(&d, 0, tok, 100, 4096, &written);
    report(st == 1, "hostile offload write at a misaligned token offset: status %u", st);
    st = offload_write(&d, 0, tok2, 0, 4096, &written);
    report(st == 1, "offload write of a token whose data changed since issue: status %u", st);
    memset(want, 0x5c, 512);
    memset(buf, 0, 512);
    report(vd_rw(&d, VD_T_IN, 0, buf, 512, false) == 0 && memcmp(buf, pattern_head(), 512) == 0 &&
           !(vd_status(&d) & VD_S_NEEDS_RESET),
           "3 refused offload writes changed nothing; device running");
    close_disk(&d);
}
