#include "tests/unit/test_vhdx_mem_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mem_disk_init(struct mem_disk *m)
{
    memset(m, 0, sizeof(*m));
    m->writes_left = -1;
}

void mem_disk_free(struct mem_disk *m)
{
    free(m->data);
    memset(m, 0, sizeof(*m));
}

void mem_disk_copy(struct mem_disk *dst, const struct mem_disk *src)
{
    mem_disk_init(dst);
    dst->data = malloc(src->size ? src->size : 1);
    memcpy(dst->data, src->data, src->size);
    dst->size = dst->cap = src->size;
}

static bool crashed(struct mem_disk *m)
{
    m->writes++;
    if (m->writes_left < 0)
        return false;
    if (m->writes_left == 0)
        return true;
    m->writes_left--;
    return false;
}

static int grow(struct mem_disk *m, uint64_t size)
{
    if (size > (1ull << 34))
        return -1;
    if (size > m->cap) {
        uint64_t cap = m->cap ? m->cap : 1 << 20;
        while (cap < size)
            cap *= 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p)
            return -1;
        memset(p + m->cap, 0, cap - m->cap);
        m->data = p;
        m->cap = cap;
    }
    return 0;
}

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct mem_disk *m = ctx;
    if (m->fail_io || off > m->size || len > m->size - off)
        return -1;
    memcpy(buf, m->data + off, len);
    return 0;
}

static int mem_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    struct mem_disk *m = ctx;
    if (m->fail_io)
        return -1;
    if (crashed(m))
        return 0;
    if (off + len > m->size) {
        if (grow(m, off + len))
            return -1;
        m->size = off + len;
    }
    memcpy(m->data + off, buf, len);
    return 0;
}

static int mem_flush(void *ctx)
{
    struct mem_disk *m = ctx;
    m->flushes++;
    return m->fail_io ? -1 : 0;
}

static uint64_t mem_size(void *ctx)
{
    return ((struct mem_disk *)ctx)->size;
}

static int mem_resize(void *ctx, uint64_t size)
{
    struct mem_disk *m = ctx;
    if (m->fail_io)
        return -1;
    if (crashed(m))
        return 0;
    if (grow(m, size))
        return -1;
    if (size < m->size)
        memset(m->data + size, 0, m->size - size);
    m->size = size;
    return 0;
}

struct vhdx_io mem_disk_io(struct mem_disk *m)
{
    return (struct vhdx_io){ m, mem_read, mem_write, mem_flush, mem_size, mem_resize };
}

static void *env_alloc(void *ctx, size_t n)
{
    return calloc(1, n);
}

static void env_free(void *ctx, void *p)
{
    free(p);
}

static void env_guid(void *ctx, struct guid *g)
{
    static uint64_t counter = 0x1000;
    counter++;
    memset(g, 0, sizeof(*g));
    memcpy(g->b, &counter, sizeof(counter));
    g->b[15] = 0xa5;
}

#define MAX_PARENTS 8
static struct {
    char name[64];
    struct mem_disk *m;
} parents[MAX_PARENTS];

void mem_env_register_parent(const char *name, struct mem_disk *m)
{
    for (int i = 0; i < MAX_PARENTS; i++)
        if (!parents[i].m || !strcmp(parents[i].name, name)) {
            snprintf(parents[i].name, sizeof(parents[i].name), "%s", name);
            parents[i].m = m;
            return;
        }
}

void mem_env_clear_parents(void)
{
    memset(parents, 0, sizeof(parents));
}

static int env_open_parent(void *ctx, const char *child, const char *rel, const char *abs,
                           bool writable, struct vhdx_io *io, char *name, size_t name_size)
{
    for (int i = 0; i < MAX_PARENTS; i++)
        if (parents[i].m && (!strcmp(parents[i].name, rel) || !strcmp(parents[i].name, abs))) {
            *io = mem_disk_io(parents[i].m);
            snprintf(name, name_size, "%s", parents[i].name);
            return 0;
        }
    return -1;
}

static void env_close_parent(void *ctx, struct vhdx_io *io)
{
}

const struct vhdx_env mem_env = {
    NULL, env_alloc, env_free, env_guid, env_open_parent, env_close_parent,
};
