#include "tests/unit/test_block_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int mem_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
    struct mem_disk *m = ctx;
    if (lba >= m->sectors || count > m->sectors - lba)
        return BLOCK_E_RANGE;
    memcpy(buf, m->data + lba * m->sector_size, (size_t)count * m->sector_size);
    m->reads++;
    return 0;
}

static int mem_write(void *ctx, uint64_t lba, uint32_t count, const void *buf)
{
    struct mem_disk *m = ctx;
    if (lba >= m->sectors || count > m->sectors - lba)
        return BLOCK_E_RANGE;
    m->writes++;
    if (m->cut_after >= 0 && (int64_t)m->writes > m->cut_after)
        m->cut = true;
    if (!m->cut)
        memcpy(m->data + lba * m->sector_size, buf, (size_t)count * m->sector_size);
    return 0;
}

static int mem_flush(void *ctx)
{
    ((struct mem_disk *)ctx)->flushes++;
    return 0;
}

void mem_disk_init(struct mem_disk *m, void *data, uint64_t bytes, uint32_t sector_size,
                   struct block_io *io)
{
    memset(m, 0, sizeof(*m));
    m->data = data;
    m->sector_size = sector_size;
    m->sectors = bytes / sector_size;
    m->cut_after = -1;
    io->ctx = m;
    io->sector_size = sector_size;
    io->sectors = m->sectors;
    io->read = mem_read;
    io->write = mem_write;
    io->flush = mem_flush;
}

uint8_t *mem_disk_load(const char *path, uint64_t *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = n > 0 ? malloc((size_t)n) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *bytes = p ? (uint64_t)n : 0;
    return p;
}

uint8_t *mem_disk_mkfs_fat(uint32_t sector_size, uint32_t cluster_sectors, const char *label,
                           unsigned mib, uint64_t *bytes)
{
    char path[64], cmd[200];
    snprintf(path, sizeof(path), "/tmp/atoll-fat-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    unlink(path);
    snprintf(cmd, sizeof(cmd), "mkfs.fat -F 32 -S %u -s %u -n %s -C %s %u >/dev/null 2>&1",
             sector_size, cluster_sectors, label, path, mib * 1024);
    uint8_t *img = system(cmd) == 0 ? mem_disk_load(path, bytes) : NULL;
    unlink(path);
    return img;
}

int mem_disk_save(const char *path, const uint8_t *data, uint64_t bytes)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, (size_t)bytes, f) == bytes ? 0 : -1;
    return fclose(f) || rc ? -1 : 0;
}
