/* libFuzzer target: what a storage-migration target or source receives from its peer
 * (hv/storage/storage_mig_proto.c, storage_mig_chain.c): the header, then the payload as
 * every message type; accepted messages hold terminated, valid fields and DATA ranges
 * inside the disk; a HELLO's parent list gets the target's decision (what it finds under
 * each path taken from the input), PARENTS answers are in order, and PFILE chunks fed to
 * the target's order check never make a file longer than its limit; KEEPALIVE, the
 * resume identity, HELD and the target's resume record (storage_mig_resume.c) decode only
 * what they may. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/storage_mig_chain.h"
#include "hv/storage/storage_mig_handover.h"
#include "hv/storage/storage_mig_proto.h"
#include "hv/storage/storage_mig_resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_path(const char *a, const char *b)
{
    a += *a == '/';
    b += *b == '/';
    for (; *a && *b; a++, b++)
        if ((*a | 0x20) != (*b | 0x20))
            return false;
    return *a == *b;
}

/* The chain's messages; the answers and the target's order check from the HELLO when one
 * decoded. */
static void chain(const uint8_t *in, uint32_t len, const struct smig_hello *hello)
{
    char err[160];
    struct smig_parents p;
    uint32_t count = len ? in[0] % (SMIG_MAX_PARENTS + 2) : 0;
    if (smig_parents_decode(in, len, count, &p, err, sizeof(err)) == 0) {
        int held = smig_parents_held(&p);
        for (uint32_t i = 0; i < p.count; i++)
            if ((held < 0 || (int)i < held) != smig_parents_needed(&p, i))
                abort();        /* needed: exactly those nearer than the held one */
    }
    if (hello) {
        struct smig_parent_probe found[SMIG_MAX_PARENTS];
        memset(found, 0, sizeof(found));
        for (uint32_t i = 0; i < SMIG_MAX_PARENTS && i < len; i++)
            found[i].found = (enum smig_parent_found)(in[i] % 3);
        if (smig_parents_decide(hello, found, same_path, &p, err, sizeof(err)) == 0) {
            for (uint32_t i = 0; i < hello->parents; i++)
                if (found[i].found == SMIG_FOUND_OTHER && smig_parents_needed(&p, i))
                    abort();    /* another disk under a needed name: never overwritten */
            uint8_t buf[16];
            size_t n = smig_parents_encode(&p, buf, sizeof(buf));
            struct smig_parents q;
            if (!n || smig_parents_decode(buf, (uint32_t)n, hello->parents, &q, err,
                                          sizeof(err)) || memcmp(&p, &q, sizeof(p)))
                abort();
        }
    }
    struct smig_pfile f;
    if (smig_pfile_decode(in, len, &f, err, sizeof(err)) == 0 &&
        (f.index >= SMIG_MAX_PARENTS || !f.length || f.length > SMIG_PFILE_CHUNK ||
         f.bytes != in + SMIG_PFILE_HEADER || f.length + SMIG_PFILE_HEADER != len))
        abort();
    /* the payload as a run of chunk heads (offset low byte, index, flags, a length) */
    struct smig_parents all = { .count = 3, .answer = { 1, 1, 2 } };
    struct smig_pfile_rx rx;
    uint64_t disk = 1u << 20;
    smig_pfile_rx_init(&rx, &all, disk);
    for (uint32_t i = 0; i + 4 <= len && i < 4096; i += 4) {
        struct smig_pfile c = { .offset = rx.received + (in[i] & 1 ? in[i] : 0),
                                .index = in[i + 1] % 4, .flags = in[i + 2] & 1,
                                .length = 1 + (uint32_t)in[i + 3] * 65536u };
        int rc = smig_pfile_rx_take(&rx, &c, err, sizeof(err));
        if (rx.received > smig_parent_file_max(disk))
            abort();
        if (rc == 2)
            smig_pfile_rx_next(&rx);
    }
}

static bool any(void *ctx, const char *name, const struct guid *g)
{
    (void)g;
    return name[0] == (char)(uintptr_t)ctx;
}

/* Liveness and resume: KEEPALIVE, the identity, HELD in order, the target's record. */
static void resume(const uint8_t *in, uint32_t len, const struct smig_hello *hello)
{
    char err[160];
    if (smig_keepalive_decode(len, err, sizeof(err)) == 0 && len)
        abort();
    struct smig_resume_id id;
    if (smig_resume_id_decode(in, len, &id, err, sizeof(err)) == 0) {
        if (!id.idle_s || id.idle_s > SMIG_IDLE_MAX_S || id.flags & ~SMIG_RESUME_RETRY)
            abort();
        uint8_t b[SMIG_RESUME_ID_SIZE];
        if (smig_resume_id_encode(&id, b, sizeof(b)) != len || memcmp(b, in, len))
            abort();
    }
    uint32_t units = len >= 12 ? (uint32_t)(in[8] | in[9] << 8 | in[10] << 16) : 1;
    uint32_t next = len >= 4 ? (uint32_t)(in[0] | in[1] << 8 | in[2] << 16) : 0;
    uint32_t count;
    const uint8_t *crcs;
    if (smig_held_decode(in, len, units, next, &count, &crcs, err, sizeof(err)) == 0) {
        if (!count || count > SMIG_HELD_MAX || (uint64_t)next + count > units ||
            len != SMIG_HELD_SIZE(count) || crcs != in + SMIG_HELD_HEAD)
            abort();
        (void)smig_held_crc(crcs, count - 1);   /* the last CRC: ASan sees the end */
    }
    struct smig_record rec;
    if (smig_record_decode(in, len, &rec, err, sizeof(err)) == 0) {
        if (!memchr(rec.name, 0, sizeof(rec.name)))
            abort();
        if (hello) {
            struct smig_resume_id any = { .flags = SMIG_RESUME_RETRY, .session = rec.session,
                                          .data_write = rec.data_write, .idle_s = 1 };
            char why[80];
            bool same = rec.disk_size == hello->disk_size && !strcmp(rec.name, hello->name) &&
                        rec.sector_size == hello->sector_size &&
                        rec.block_size == hello->block_size;
            if (smig_record_matches(&rec, hello, &any, why, sizeof(why)) != same)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160], text[SMIG_TEXT_LEN];
    if (size < SMIG_HEADER_SIZE)
        return 0;
    struct smig_header h;
    if (smig_header_decode(data, &h, err, sizeof(err)) == 0) {
        bool liveness = h.type == SMIG_MSG_KEEPALIVE || h.type == SMIG_MSG_RESUME;
        if (h.type == 0 || (h.type > SMIG_MSG_MAX && !liveness) || h.length > SMIG_MAX_PAYLOAD)
            abort();
        if (h.length <= size - SMIG_HEADER_SIZE)
            smig_payload_ok(&h, data + SMIG_HEADER_SIZE);
    }
    const uint8_t *pl = data + SMIG_HEADER_SIZE;
    uint32_t len = (uint32_t)(size - SMIG_HEADER_SIZE);
    uint8_t *copy = malloc(len ? len : 1);  /* exact size: ASan sees a read past the end */
    memcpy(copy, pl, len);
    struct smig_hello hello;
    bool hello_ok = smig_hello_decode(copy, len, &hello, err, sizeof(err)) == 0;
    if (hello_ok) {
        if (!memchr(hello.name, 0, sizeof(hello.name)) || !smig_path_ok(hello.name) ||
            hello.parents > SMIG_MAX_PARENTS || hello.disk_size % hello.sector_size)
            abort();
        smig_parent_held(&hello, any, (void *)(uintptr_t)'a');
    }
    chain(copy, len, hello_ok ? &hello : NULL);
    resume(copy, len, hello_ok ? &hello : NULL);
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
