/* libFuzzer target: what a storage-migration target or source receives from its peer
 * (hv/storage/storage_mig_proto.c): the header, then the payload as every message type;
 * accepted messages hold terminated, valid fields and DATA ranges inside the disk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/storage_mig_handover.h"
#include "hv/storage/storage_mig_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool any(void *ctx, const char *name, const struct guid *g)
{
    (void)g;
    return name[0] == (char)(uintptr_t)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160], text[SMIG_TEXT_LEN];
    if (size < SMIG_HEADER_SIZE)
        return 0;
    struct smig_header h;
    if (smig_header_decode(data, &h, err, sizeof(err)) == 0) {
        if (h.type == 0 || h.type > SMIG_MSG_MAX || h.length > SMIG_MAX_PAYLOAD)
            abort();
        if (h.length <= size - SMIG_HEADER_SIZE)
            smig_payload_ok(&h, data + SMIG_HEADER_SIZE);
    }
    const uint8_t *pl = data + SMIG_HEADER_SIZE;
    uint32_t len = (uint32_t)(size - SMIG_HEADER_SIZE);
    uint8_t *copy = malloc(len ? len : 1);  /* exact size: ASan sees a read past the end */
    memcpy(copy, pl, len);
    struct smig_hello hello;
    if (smig_hello_decode(copy, len, &hello, err, sizeof(err)) == 0) {
        if (!memchr(hello.name, 0, sizeof(hello.name)) || !smig_path_ok(hello.name) ||
            hello.parents > SMIG_MAX_PARENTS || hello.disk_size % hello.sector_size)
            abort();
        smig_parent_held(&hello, any, (void *)(uintptr_t)'a');
    }
    struct smig_reply r;
    if (smig_reply_decode(copy, len, &r, err, sizeof(err)) == 0 &&
        (!memchr(r.text, 0, sizeof(r.text)) || r.parent_held < -1))
        abort();
    struct smig_data d;
    uint64_t disk = 16u << 20;
    if (smig_data_decode(copy, len, disk, 512, &d, err, sizeof(err)) == 0) {
        if (d.offset + d.length > disk || d.length > SMIG_UNIT || d.offset % 512)
            abort();
        if (d.bytes) {
            volatile uint8_t x = d.bytes[0] ^ d.bytes[d.length - 1];
            (void)x;
        }
    }
    struct smig_read rd;
    if (smig_read_decode(copy, len, disk, 512, &rd, err, sizeof(err)) == 0 &&
        (rd.offset + rd.length > disk || !rd.length || rd.length > SMIG_UNIT || rd.offset % 512))
        abort();
    struct smig_commit c;
    smig_commit_decode(copy, len, &c, err, sizeof(err));
    const uint8_t *bm;
    uint32_t units = len >= 4 ? (uint32_t)(copy[0] | copy[1] << 8) : 1;   /* what it claims */
    if (smig_handover_decode(copy, len, units, &bm, err, sizeof(err)) == 0) {
        if (len != smig_handover_size(units) || bm != copy + SMIG_HANDOVER_HEAD)
            abort();
        for (uint32_t u = 0; u < units; u++)    /* reads every bit: ASan sees the end */
            (void)smig_handover_bit(bm, u);
    }
    smig_abort_decode(copy, len, text, sizeof(text));
    if (!memchr(text, 0, sizeof(text)))
        abort();
    free(copy);
    return 0;
}
