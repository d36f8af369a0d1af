/*
 * snapshot: the host's view of Atoll RAM snapshot files (hv/snapshot/SNAPSHOT.md).
 *
 *   snapshot info FILE [--json]        the header, the level mix, the disks
 *   snapshot verify FILE               every structure and every block checked
 *   snapshot extract FILE RAW          the partition's RAM, decoded, to a raw file
 *   snapshot diff A B                  which blocks of RAM differ
 *   snapshot create RAW FILE [--name N] [--level LEVEL|adaptive]
 *                                      a snapshot of a raw RAM image (no vCPU state;
 *                                      for tests and for measuring the codec)
 *
 * Exit status: 0 clean (or no difference), 1 damaged (or different), 2 usage or I/O error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/lib/crc32c.h"
#include "hv/snapshot/snap_file.h"
#include "hv/snapshot/snap_pipeline.h"

#define TOOL_VERSION "0.1.0"

static const char usage[] =
    "usage: snapshot info FILE [--json]\n"
    "       snapshot verify FILE\n"
    "       snapshot extract FILE RAW\n"
    "       snapshot diff A B\n"
    "       snapshot create RAW FILE [--name NAME] [--level adaptive|store|lz4-fast|lz4|lz4hc-3|lz4hc-9]\n"
    "       snapshot --help | --version\n"
    "Atoll RAM snapshot files (format: hv/snapshot/SNAPSHOT.md).\n"
    "Exit status: 0 clean or same, 1 damaged or different, 2 usage or I/O error.\n";

struct file {
    FILE *f;
    const char *path;
};

static int file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct file *f = ctx;
    if (fseeko(f->f, (off_t)off, SEEK_SET) || fread(buf, 1, len, f->f) != len)
        return -1;
    return 0;
}

static int file_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct file *f = ctx;
    if (fseeko(f->f, (off_t)off, SEEK_SET) || fwrite(buf, 1, len, f->f) != len)
        return -1;
    return 0;
}

static bool open_file(struct file *f, struct snap_io *io, const char *path, const char *mode)
{
    f->path = path;
    f->f = fopen(path, mode);
    if (!f->f) {
        fprintf(stderr, "snapshot: %s: %s\n", path, strerror(errno));
        return false;
    }
    struct stat st;
    fstat(fileno(f->f), &st);
    *io = (struct snap_io){ f, (uint64_t)st.st_size, file_read, file_write };
    return true;
}

static void *codec_state(void)
{
    void *s = aligned_alloc(64, (snap_codec_state_size() + 63) / 64 * 64);
    if (!s) {
        fprintf(stderr, "snapshot: out of memory\n");
        exit(2);
    }
    return s;
}

static void progress(const char *what, uint64_t done, uint64_t total)
{
    if (!isatty(2) || !total || (done % 64 && done != total))
        return;
    unsigned pct = (unsigned)(done * 100 / total), bar = pct / 4;
    fprintf(stderr, "\r%s [%.*s%*s] %3u%%", what, bar, "#########################", 25 - bar,
            "", pct);
    if (done == total)
        fputc('\n', stderr);
}

/* Opens and checks the header; 2 on I/O trouble, 1 on a damaged header, 0 when good. */
static int open_snapshot(struct file *f, struct snap_io *io, struct snap_header *h,
                         const char *path)
{
    char err[SNAP_ERR_LEN];
    if (!open_file(f, io, path, "rb"))
        return 2;
    if (snap_read_header(io, h, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 1;
    }
    return 0;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* As the hypervisor prints GUIDs (hv/lib/guid.h): Data1-3 little-endian on disk. */
static void print_guid(FILE *out, const uint8_t *g)
{
    static const unsigned order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
    for (unsigned i = 0; i < 16; i++)
        fprintf(out, "%02x%s", g[order[i]], i == 3 || i == 5 || i == 7 || i == 9 ? "-" : "");
}

static int cmd_info(const char *path, bool json)
{
    struct file f;
    struct snap_io io;
    struct snap_header h;
    int rc = open_snapshot(&f, &io, &h, path);
    if (rc)
        return rc;
    uint64_t at[SNAP_LEVELS] = { 0 }, zero_blocks = 0, encoded = 0, zero_pages = 0;
    char err[SNAP_ERR_LEN];
    for (uint32_t i = 0; i < h.block_count; i++) {
        struct snap_index_entry e;
        if (snap_read_entry(&io, &h, i, &e, err, sizeof(err))) {
            fprintf(stderr, "%s: %s\n", path, err);
            fclose(f.f);
            return 1;
        }
        zero_pages += (unsigned)__builtin_popcount(e.zero_mask);
        encoded += e.len;
        if (e.raw_len)
            at[e.level]++;
        else
            zero_blocks++;
    }
    if (json) {
        printf("{\"file\": ");
        json_string(path);
        printf(", \"partition\": ");
        json_string(h.name);
        printf(", \"ram_bytes\": %llu, \"blocks\": %u, "
               "\"zero_blocks\": %llu, \"zero_pages\": %llu, \"encoded_bytes\": %llu, "
               "\"ram_crc32c\": \"%08x\", \"guest_tsc\": %llu, \"state_bytes\": %llu, "
               "\"version\": %u, \"live\": %s, \"live_passes\": %u, \"resaved_blocks\": %u, "
               "\"levels\": {", (unsigned long long)h.ram_size, h.block_count,
               (unsigned long long)zero_blocks, (unsigned long long)zero_pages,
               (unsigned long long)encoded, h.ram_crc, (unsigned long long)h.guest_tsc,
               (unsigned long long)h.state_len, h.version,
               h.flags & SNAP_FLAG_LIVE ? "true" : "false", h.live_passes, h.resaved_blocks);
        for (unsigned l = 0; l < SNAP_LEVELS; l++)
            printf("%s\"%s\": %llu", l ? ", " : "", snap_level_name((enum snap_level)l),
                   (unsigned long long)at[l]);
        printf("}, \"disks\": [");
    } else {
        printf("partition %s: %llu MiB of RAM in %u blocks (%llu of zero pages only); %llu "
               "bytes encoded (%.1f%%); RAM CRC-32C %08x; guest TSC %llu; state %llu bytes\n",
               h.name, (unsigned long long)(h.ram_size >> 20), h.block_count,
               (unsigned long long)zero_blocks, (unsigned long long)encoded,
               100.0 * (double)encoded / (double)h.ram_size, h.ram_crc,
               (unsigned long long)h.guest_tsc, (unsigned long long)h.state_len);
        if (h.flags & SNAP_FLAG_LIVE)
            printf("taken live: %u re-save passes, %u block copies superseded by later ones\n",
                   h.live_passes, h.resaved_blocks);
        printf("levels:");
        for (unsigned l = 0; l < SNAP_LEVELS; l++)
            printf(" %s %llu", snap_level_name((enum snap_level)l), (unsigned long long)at[l]);
        printf("\n");
    }
    for (unsigned i = 0; i < h.disk_count; i++) {
        struct snap_disk_id d;
        if (snap_read_disk(&io, &h, i, &d, err, sizeof(err))) {
            fprintf(stderr, "%s: %s\n", path, err);
            fclose(f.f);
            return 1;
        }
        if (json) {
            printf("%s{\"path\": ", i ? ", " : "");
            json_string(d.path);
            printf(", \"data_write_guid\": \"");
            print_guid(stdout, d.data_write_guid);
            printf("\"}");
        } else {
            printf("disk %s DataWriteGuid ", d.path);
            print_guid(stdout, d.data_write_guid);
            printf("\n");
        }
    }
    if (json)
        printf("]}\n");
    fclose(f.f);
    return 0;
}

/* Decodes every block in order, to out (may be NULL); 0 clean, 1 damaged, 2 I/O. */
static int decode_all(const char *path, FILE *out)
{
    struct file f;
    struct snap_io io;
    struct snap_header h;
    int rc = open_snapshot(&f, &io, &h, path);
    if (rc)
        return rc;
    void *state = codec_state();
    static uint8_t buf[SNAP_ENCODED_MAX], block[SNAP_BLOCK_SIZE];
    char err[SNAP_ERR_LEN];
    uint32_t crc = 0;
    unsigned bad = 0;
    if (snap_verify_regions(&io, &h, buf, sizeof(buf), err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", path, err);
        bad++;
    }
    for (uint32_t i = 0; i < h.block_count; i++) {
        if (snap_read_block(&io, &h, i, state, buf, block, err, sizeof(err))) {
            if (bad++ < 10)
                fprintf(stderr, "%s: %s\n", path, err);
            memset(block, 0, sizeof(block));
        }
        crc = crc32c(crc, block, sizeof(block));
        if (out && fwrite(block, 1, sizeof(block), out) != sizeof(block)) {
            fprintf(stderr, "snapshot: writing the RAM image: %s\n", strerror(errno));
            rc = 2;
            break;
        }
        progress(out ? "extract" : "verify", i + 1, h.block_count);
    }
    free(state);
    fclose(f.f);
    if (rc)
        return rc;
    if (!bad && crc != h.ram_crc) {
        fprintf(stderr, "%s: RAM CRC-32C %08x, the header says %08x\n", path, crc, h.ram_crc);
        bad++;
    }
    if (bad) {
        fprintf(stderr, "%s: damaged (%u problem%s)\n", path, bad, bad == 1 ? "" : "s");
        return 1;
    }
    if (!out)
        printf("%s: clean: %u blocks, RAM CRC-32C %08x\n", path, h.block_count, crc);
    return 0;
}

static int cmd_extract(const char *path, const char *raw)
{
    FILE *out = fopen(raw, "wb");
    if (!out) {
        fprintf(stderr, "snapshot: %s: %s\n", raw, strerror(errno));
        return 2;
    }
    int rc = decode_all(path, out);
    if (fclose(out) && !rc)
        rc = 2;
    if (rc)
        unlink(raw);
    return rc;
}

static int cmd_diff(const char *a, const char *b)
{
    struct file fa, fb;
    struct snap_io ia, ib;
    struct snap_header ha, hb;
    int rc = open_snapshot(&fa, &ia, &ha, a);
    if (rc)
        return rc == 1 ? 2 : rc;
    if ((rc = open_snapshot(&fb, &ib, &hb, b))) {
        fclose(fa.f);
        return rc == 1 ? 2 : rc;
    }
    if (ha.ram_size != hb.ram_size) {
        printf("RAM sizes differ: %llu and %llu bytes\n", (unsigned long long)ha.ram_size,
               (unsigned long long)hb.ram_size);
        fclose(fa.f);
        fclose(fb.f);
        return 1;
    }
    void *state = codec_state();
    static uint8_t buf[SNAP_ENCODED_MAX], x[SNAP_BLOCK_SIZE], y[SNAP_BLOCK_SIZE];
    char err[SNAP_ERR_LEN];
    uint64_t differ = 0, pages = 0;
    rc = 0;
    for (uint32_t i = 0; i < ha.block_count && !rc; i++) {
        if (snap_read_block(&ia, &ha, i, state, buf, x, err, sizeof(err)) ||
            snap_read_block(&ib, &hb, i, state, buf, y, err, sizeof(err))) {
            fprintf(stderr, "snapshot: %s\n", err);
            rc = 2;
            break;
        }
        if (memcmp(x, y, sizeof(x))) {
            differ++;
            for (unsigned p = 0; p < SNAP_BLOCK_PAGES; p++)
                pages += memcmp(x + p * SNAP_PAGE_SIZE, y + p * SNAP_PAGE_SIZE, SNAP_PAGE_SIZE) != 0;
            if (differ <= 20)
                printf("block %u (guest-physical %#llx) differs\n", i,
                       (unsigned long long)i * SNAP_BLOCK_SIZE);
        }
    }
    free(state);
    fclose(fa.f);
    fclose(fb.f);
    if (rc)
        return rc;
    printf("%llu of %u blocks differ (%llu pages)\n", (unsigned long long)differ, ha.block_count,
           (unsigned long long)pages);
    return differ ? 1 : 0;
}

static int cmd_create(const char *raw, const char *path, const char *name, const char *level)
{
    struct snap_policy policy;
    if (!strcmp(level, "adaptive")) {
        snap_policy_init(&policy, SNAP_LZ4);
    } else {
        int l = 0;
        while (l < SNAP_LEVELS && strcmp(level, snap_level_name((enum snap_level)l)))
            l++;
        if (l == SNAP_LEVELS) {
            fprintf(stderr, "snapshot: --level %s is not one of adaptive, store, lz4-fast, "
                    "lz4, lz4hc-3, lz4hc-9\n", level);
            return 2;
        }
        snap_policy_fixed(&policy, (enum snap_level)l);
    }
    FILE *in = fopen(raw, "rb");
    if (!in) {
        fprintf(stderr, "snapshot: %s: %s\n", raw, strerror(errno));
        return 2;
    }
    struct stat st;
    fstat(fileno(in), &st);
    uint64_t size = (uint64_t)st.st_size;
    if (!size || size % SNAP_BLOCK_SIZE || size > SNAP_MAX_RAM) {
        fprintf(stderr, "snapshot: %s: %llu bytes is not a multiple of %u up to 64 GiB\n", raw,
                (unsigned long long)size, SNAP_BLOCK_SIZE);
        fclose(in);
        return 2;
    }
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "snapshot: %s exists; not overwritten\n", path);
        fclose(in);
        return 2;
    }
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.partial", path);
    struct file f;
    struct snap_io io;
    if (!open_file(&f, &io, tmp, "w+b")) {
        fclose(in);
        return 2;
    }
    uint32_t blocks = (uint32_t)(size / SNAP_BLOCK_SIZE);
    struct snap_index_entry *index = calloc(blocks, sizeof(*index));
    void *state = codec_state();
    static uint8_t block[SNAP_BLOCK_SIZE], out[SNAP_ENCODED_MAX];
    struct snap_writer w;
    snap_writer_init(&w, &io, size, name, index);
    uint32_t crc = 0;
    for (uint32_t i = 0; i < blocks && !w.failed; i++) {
        if (fread(block, 1, sizeof(block), in) != sizeof(block)) {
            fprintf(stderr, "snapshot: %s: short read\n", raw);
            w.failed = true;
            break;
        }
        crc = crc32c(crc, block, sizeof(block));
        struct snap_encoded e;
        /* no write queue here: the policy sees it half full and keeps its level */
        enum snap_level pick = snap_policy_next(&policy, 1, 2);
        snap_encode(state, pick, block, out, &e);
        /* what the level paid (sizes only: the tool has no disk to race) */
        snap_policy_learn(&policy, pick, e.raw_len, e.len, 0);
        snap_writer_block(&w, i, &e, out);
        progress("create", i + 1, blocks);
    }
    fclose(in);
    bool ok = !w.failed && snap_writer_finish(&w, NULL, 0, NULL, 0, NULL, 0, 0, crc);
    if (!ok && w.err[0])
        fprintf(stderr, "%s\n", w.err);
    ok = ok && fflush(f.f) == 0 && fsync(fileno(f.f)) == 0;
    ok = fclose(f.f) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    free(index);
    free(state);
    return ok ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("snapshot %s (format version %u)\n", TOOL_VERSION, SNAP_FILE_VERSION);
        return 0;
    }
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "info") && (argc == 3 || (argc == 4 && !strcmp(argv[3], "--json"))))
        return cmd_info(argv[2], argc == 4);
    if (!strcmp(cmd, "verify") && argc == 3)
        return decode_all(argv[2], NULL);
    if (!strcmp(cmd, "extract") && argc == 4)
        return cmd_extract(argv[2], argv[3]);
    if (!strcmp(cmd, "diff") && argc == 4)
        return cmd_diff(argv[2], argv[3]);
    if (!strcmp(cmd, "create") && argc >= 4) {
        const char *name = "ram", *level = "adaptive";
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "--name") && i + 1 < argc)
                name = argv[++i];
            else if (!strcmp(argv[i], "--level") && i + 1 < argc)
                level = argv[++i];
            else {
                fprintf(stderr, "snapshot: create: unknown option %s (try --help)\n", argv[i]);
                return 2;
            }
        }
        return cmd_create(argv[2], argv[3], name, level);
    }
    fprintf(stderr, "snapshot: %s%s (try --help)\n", argc > 1 ? "cannot use: " : "no command",
            argc > 1 ? cmd : "");
    return 2;
}
