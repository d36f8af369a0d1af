/*
 * pool-tool: drives Atoll's FAT32 pool code on a host image, so that fsck.fat and mtools
 * can judge what it wrote.
 *
 *   pool-tool IMAGE [--offset BYTES | --gpt] CMD ARGS...
 *     put HOSTFILE PATH   copy a host file into the pool
 *     get PATH HOSTFILE   copy a pool file out
 *     mkdir PATH | rm PATH | mv FROM TO | truncate PATH BYTES | ls PATH | df
 *   --gpt finds the partition named atoll-pool.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/storage/fat32.h"
#include "hv/storage/gpt.h"

struct file_disk {
    int fd;
    uint64_t base; /* sectors */
};

static int fd_read(void *ctx, uint64_t lba, uint32_t n, void *buf)
{
    struct file_disk *d = ctx;
    ssize_t want = (ssize_t)n * 512;
    return pread(d->fd, buf, (size_t)want, (off_t)((d->base + lba) * 512)) == want ? 0 : -1;
}

static int fd_write(void *ctx, uint64_t lba, uint32_t n, const void *buf)
{
    struct file_disk *d = ctx;
    ssize_t want = (ssize_t)n * 512;
    return pwrite(d->fd, buf, (size_t)want, (off_t)((d->base + lba) * 512)) == want ? 0 : -1;
}

static int fd_flush(void *ctx) { return fdatasync(((struct file_disk *)ctx)->fd); }

static int die(const char *what, const struct fat_vol *v, int rc)
{
    fprintf(stderr, "pool-tool: %s: %s (%s)\n", what, fat_status_name(rc), v ? v->err : "");
    return 1;
}

static int put(struct fat_vol *v, const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    if (!in)
        return die(src, NULL, FAT_E_NOT_FOUND);
    struct fat_file f;
    int rc = fat_open(v, dst, FAT_O_CREATE | FAT_O_TRUNC, &f);
    if (rc)
        return die(dst, v, rc);
    static uint8_t buf[1 << 16];
    uint64_t off = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        long w = fat_write(&f, off, buf, n);
        if (w < 0)
            return die(dst, v, (int)w);
        off += n;
    }
    fclose(in);
    rc = fat_close(&f);
    return rc ? die(dst, v, rc) : 0;
}

static int get(struct fat_vol *v, const char *src, const char *dst)
{
    struct fat_file f;
    int rc = fat_open(v, src, 0, &f);
    if (rc)
        return die(src, v, rc);
    FILE *out = fopen(dst, "wb");
    static uint8_t buf[1 << 16];
    uint64_t off = 0;
    long n;
    while ((n = fat_read(&f, off, buf, sizeof(buf))) > 0) {
        fwrite(buf, 1, (size_t)n, out);
        off += (uint64_t)n;
    }
    fclose(out);
    return n < 0 ? die(src, v, (int)n) : 0;
}

static bool print_entry(void *ctx, const char *name, const struct fat_stat *st)
{
    printf("%s%s %u\n", name, st->is_dir ? "/" : "", st->size);
    return false;
}

static int run(struct fat_vol *v, int argc, char **argv)
{
    const char *cmd = argv[0];
    int rc = FAT_E_INVALID;
    if (!strcmp(cmd, "put") && argc == 3)
        return put(v, argv[1], argv[2]);
    if (!strcmp(cmd, "get") && argc == 3)
        return get(v, argv[1], argv[2]);
    if (!strcmp(cmd, "mkdir") && argc == 2)
        rc = fat_mkdir(v, argv[1]);
    else if (!strcmp(cmd, "rm") && argc == 2)
        rc = fat_unlink(v, argv[1]);
    else if (!strcmp(cmd, "mv") && argc == 3)
        rc = fat_rename(v, argv[1], argv[2]);
    else if (!strcmp(cmd, "ls") && argc == 2)
        rc = fat_list(v, argv[1], print_entry, NULL);
    else if (!strcmp(cmd, "df") && argc == 1) {
        printf("%llu %llu\n", (unsigned long long)fat_total_bytes(v),
               (unsigned long long)fat_free_bytes(v));
        rc = FAT_OK;
    } else if (!strcmp(cmd, "truncate") && argc == 3) {
        struct fat_file f;
        rc = fat_open(v, argv[1], FAT_O_CREATE, &f);
        if (!rc)
            rc = fat_truncate(&f, strtoull(argv[2], NULL, 0));
        if (!rc)
            rc = fat_close(&f);
    } else {
        fprintf(stderr, "pool-tool: unknown command or wrong arguments: %s\n", cmd);
        return 2;
    }
    return rc ? die(cmd, v, rc) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pool-tool IMAGE [--offset BYTES | --gpt] CMD ARGS...\n");
        return 2;
    }
    struct file_disk d = { open(argv[1], O_RDWR), 0 };
    struct stat st;
    if (d.fd < 0 || fstat(d.fd, &st)) {
        perror(argv[1]);
        return 1;
    }
    struct block_io io = { &d, 512, (uint64_t)st.st_size / 512, fd_read, fd_write, fd_flush };
    int arg = 2;
    if (!strcmp(argv[arg], "--offset") && argc > arg + 2) {
        d.base = strtoull(argv[arg + 1], NULL, 0) / 512;
        io.sectors = io.sectors > d.base ? io.sectors - d.base : 0;
        arg += 2;
    } else if (!strcmp(argv[arg], "--gpt")) {
        struct gpt_part p;
        char err[128];
        if (gpt_find(&io, "atoll-pool", NULL, &p, err, sizeof(err))) {
            fprintf(stderr, "pool-tool: %s\n", err);
            return 1;
        }
        d.base = p.first_lba;
        io.sectors = p.last_lba - p.first_lba + 1;
        arg++;
    }
    static struct fat_vol v;
    int rc = fat_mount(&v, &io);
    if (rc)
        return die("mount", &v, rc);
    rc = run(&v, argc - arg, argv + arg);
    int src = fat_sync(&v);
    return rc ? rc : src ? die("sync", &v, src) : 0;
}
