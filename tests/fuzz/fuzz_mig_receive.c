/* A hostile migration source: the target's parser takes a stream of framed messages (any
 * bytes) and must refuse what is malformed, never read or write out of bounds.  Each
 * message goes through the header check, the CRC and its type's decoder, as the target
 * (hv/core/migrate_target.c) does; a page batch is decoded against a 64-page RAM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/migrate/mig_proto.h"
#include "hv/snapshot/snap_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *codec;
    static uint8_t dst[MIG_BATCH_PAGES * MIG_PAGE_SIZE];
    static uint8_t ram[64 * MIG_PAGE_SIZE];
    char err[200];
    if (!codec && !(codec = malloc(snap_codec_state_size())))
        return 0;
    size_t off = 0;
    while (size - off >= MIG_HEADER_SIZE) {
        struct mig_header h;
        if (mig_header_decode(data + off, &h, err, sizeof(err)))
            return 0;
        off += MIG_HEADER_SIZE;
        if (h.length > size - off)
            return 0;                                   /* truncated */
        uint8_t *p = malloc(h.length ? h.length : 1);   /* exactly: ASan sees overreads */
        memcpy(p, data + off, h.length);
        off += h.length;
        /* the fuzzer rarely forges a CRC: check it, but parse the payload either way */
        (void)mig_payload_ok(&h, p);
        struct mig_hello hello;
        struct mig_reply reply;
        struct mig_state st;
        struct mig_batch b;
        uint32_t round, pages;
        switch (h.type) {
        case MIG_MSG_HELLO:
            if (!mig_hello_decode(p, h.length, &hello, err, sizeof(err)) &&
                (strnlen(hello.name, MIG_NAME_LEN) == MIG_NAME_LEN || !hello.manifest_len))
                abort();
            break;
        case MIG_MSG_READY:
        case MIG_MSG_DONE:
            mig_reply_decode(p, h.length, &reply, err, sizeof(err));
            break;
        case MIG_MSG_ROUND:
            mig_round_decode(p, h.length, &round, &pages);
            break;
        case MIG_MSG_STATE:
            mig_state_decode(p, h.length, &st, err, sizeof(err));
            break;
        case MIG_MSG_PAGES:
            if (!mig_batch_decode(codec, p, h.length, 64, &b, dst, err, sizeof(err)))
                for (uint32_t i = 0; i < b.count; i++) {
                    if (b.pfn[i] >= 64)
                        abort();
                    memcpy(ram + (size_t)b.pfn[i] * MIG_PAGE_SIZE, dst + i * MIG_PAGE_SIZE,
                           MIG_PAGE_SIZE);
                }
            break;
        default:
            abort();                                    /* the header check lets none by */
        }
        free(p);
    }
    return 0;
}
