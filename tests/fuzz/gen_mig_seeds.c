/* Writes well-formed seeds for fuzz_mig_receive and fuzz_storage_mig_proto: without them
 * the fuzzers seldom forge a page batch that decodes (LZ4 levels, zero masks) or a
 * storage-migration message of each type, and the deep paths stay unreached.
 *   cc -Iinclude-dirs... gen_mig_seeds.c <proto and codec sources> -llz4
 *   gen_mig_seeds MIG_DIR SMIG_DIR     (the make target fuzz-seeds-mig runs it) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/migrate/mig_proto.h"
#include "hv/snapshot/snap_codec.h"
#include "hv/storage/storage_mig_chain.h"
#include "hv/storage/storage_mig_proto.h"

static void save(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static uint8_t stream[1 << 20];
static size_t at;

static void mig_msg(uint16_t type, const uint8_t *payload, uint32_t len)
{
    mig_header_encode(stream + at, type, payload, len);
    memcpy(stream + at + MIG_HEADER_SIZE, payload, len);
    at += MIG_HEADER_SIZE + len;
}

static void mig_seeds(const char *dir)
{
    void *codec = malloc(snap_codec_state_size());
    static uint8_t src[MIG_BATCH_PAGES * MIG_PAGE_SIZE], out[MIG_BATCH_MAX];
    static uint8_t pay[8192];
    struct mig_hello h = { .version = 1, .ram_bytes = 64 * MIG_PAGE_SIZE, .vcpus = 1,
                           .manifest = "[partition web]\nmemory = 256K\n", .manifest_len = 30 };
    strcpy(h.name, "web");
    /* one page batch per level and page count, alone and after HELLO */
    for (unsigned level = 0; level < SNAP_LEVELS; level++)
        for (unsigned count = 1; count <= MIG_BATCH_PAGES; count += 5) {
            uint32_t pfn[MIG_BATCH_PAGES];
            for (unsigned i = 0; i < count; i++) {
                pfn[i] = (i * 7 + level) % 64;
                uint8_t *page = src + i * MIG_PAGE_SIZE;
                if (i % 3 == 1)
                    memset(page, 0, MIG_PAGE_SIZE);             /* a zero page */
                else
                    for (unsigned k = 0; k < MIG_PAGE_SIZE; k++)
                        page[k] = (uint8_t)(k % 64 < 48 ? i : k * 31 + level);
            }
            struct mig_batch b;
            size_t n = mig_batch_encode(codec, level, pfn, count, src, out, &b);
            at = 0;
            if (count == 1) {
                size_t hn = mig_hello_encode(&h, pay, sizeof(pay));
                mig_msg(MIG_MSG_HELLO, pay, (uint32_t)hn);
            }
            mig_msg(MIG_MSG_PAGES, out, (uint32_t)n);
            char name[64];
            snprintf(name, sizeof(name), "seed-pages-l%u-n%u", level, count);
            save(dir, name, stream, at);
        }
    /* a whole short migration: HELLO, READY, PAGES, ROUND, STATE, DONE */
    at = 0;
    size_t n = mig_hello_encode(&h, pay, sizeof(pay));
    mig_msg(MIG_MSG_HELLO, pay, (uint32_t)n);
    struct mig_reply r = { .status = 0 };
    strcpy(r.text, "accepted");
    n = mig_reply_encode(&r, pay, sizeof(pay));
    mig_msg(MIG_MSG_READY, pay, (uint32_t)n);
    uint32_t pfn[2] = { 3, 63 };
    memset(src, 0x11, 2 * MIG_PAGE_SIZE);
    struct mig_batch b;
    n = mig_batch_encode(codec, SNAP_LZ4, pfn, 2, src, out, &b);
    mig_msg(MIG_MSG_PAGES, out, (uint32_t)n);
    n = mig_round_encode(0, 2, pay, sizeof(pay));
    mig_msg(MIG_MSG_ROUND, pay, (uint32_t)n);
    static const uint8_t dev_stream[] = "STAT\1\0\0\0device state bytes";
    struct mig_state st = { .guest_tsc0 = 123456789, .ram_crc = 0xdeadbeef,
                            .stream = dev_stream, .stream_len = sizeof(dev_stream) };
    n = mig_state_encode(&st, pay, sizeof(pay));
    mig_msg(MIG_MSG_STATE, pay, (uint32_t)n);
    r.ram_crc = 0xdeadbeef;
    strcpy(r.text, "resumed");
    n = mig_reply_encode(&r, pay, sizeof(pay));
    mig_msg(MIG_MSG_DONE, pay, (uint32_t)n);
    save(dir, "seed-migration", stream, at);
    free(codec);
}

static void smig_save(const char *dir, const char *name, uint16_t type, const uint8_t *payload,
                      size_t len)
{
    static uint8_t msg[SMIG_HEADER_SIZE + SMIG_MAX_PAYLOAD];
    smig_header_encode(msg, type, payload, (uint32_t)len);
    memcpy(msg + SMIG_HEADER_SIZE, payload, len);
    save(dir, name, msg, SMIG_HEADER_SIZE + len);
}

static void smig_seeds(const char *dir)
{
    static uint8_t pay[SMIG_MAX_PAYLOAD];
    struct smig_hello h = { .version = SMIG_VERSION, .flags = SMIG_HELLO_VERIFY,
                            .disk_size = 16u << 20, .sector_size = 512, .block_size = 1u << 20 };
    strcpy(h.name, "disks/web.vhdx");
    save(dir, "seed-empty-hello", pay, 0);
    for (unsigned parents = 0; parents <= SMIG_MAX_PARENTS; parents += 2) {
        h.parents = parents;
        for (unsigned i = 0; i < parents; i++) {
            snprintf(h.parent[i].name, sizeof(h.parent[i].name), "%s/base%u.vhdx",
                     i ? "b" : "a", i);
            memset(&h.parent[i].data_write, 0x40 + (int)i, sizeof(h.parent[i].data_write));
        }
        char name[64];
        snprintf(name, sizeof(name), "seed-hello-p%u", parents);
        smig_save(dir, name, SMIG_MSG_HELLO, pay, smig_hello_encode(&h, pay, sizeof(pay)));
    }
    struct smig_reply r = { .status = 0, .crc = 0x1234, .parent_held = 0, .bytes = 4096 };
    strcpy(r.text, "ready");
    smig_save(dir, "seed-ready", SMIG_MSG_READY, pay, smig_reply_encode(&r, pay, sizeof(pay)));
    r.parent_held = -1;
    smig_save(dir, "seed-done", SMIG_MSG_DONE, pay, smig_reply_encode(&r, pay, sizeof(pay)));
    static const uint32_t flags[] = { 0, SMIG_DATA_ZERO, SMIG_DATA_FETCHED };
    for (unsigned f = 0; f < 3; f++) {
        uint32_t len = f == 1 ? 65536 : 4096;
        uint32_t n = smig_data_head_encode(pay, 8192, len, flags[f]);
        if (flags[f] != SMIG_DATA_ZERO)
            memset(pay + SMIG_DATA_HEADER, 0xa5, len);
        char name[64];
        snprintf(name, sizeof(name), "seed-data-f%u", flags[f]);
        smig_save(dir, name, SMIG_MSG_DATA, pay, n);
    }
    struct smig_read rd = { .offset = 1u << 20, .length = SMIG_UNIT };
    smig_save(dir, "seed-read", SMIG_MSG_READ, pay, smig_read_encode(&rd, pay, sizeof(pay)));
    struct smig_commit c = { .flags = SMIG_COMMIT_CRC, .crc = 0xabcd, .bytes = 16u << 20 };
    smig_save(dir, "seed-commit", SMIG_MSG_COMMIT, pay, smig_commit_encode(&c, pay, sizeof(pay)));
    smig_save(dir, "seed-abort", SMIG_MSG_ABORT, pay,
              smig_abort_encode("the target's pool is full", pay, sizeof(pay)));
    struct smig_parents ps = { .count = 3, .answer = { SMIG_PARENT_NEEDED, SMIG_PARENT_HELD,
                                                       SMIG_PARENT_BELOW } };
    smig_save(dir, "seed-parents", SMIG_MSG_PARENTS, pay,
              smig_parents_encode(&ps, pay, sizeof(pay)));
    uint32_t pn = smig_pfile_head_encode(pay, 0, 1, SMIG_PFILE_LAST, 512);
    memset(pay + SMIG_PFILE_HEADER, 0x5a, 512);
    smig_save(dir, "seed-pfile", SMIG_MSG_PFILE, pay, pn);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_mig_seeds MIG_DIR SMIG_DIR\n");
        return 2;
    }
    mig_seeds(argv[1]);
    smig_seeds(argv[2]);
    return 0;
}
