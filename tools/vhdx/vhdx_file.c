#include "tools/vhdx/vhdx_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_ctx {
    int fd;
};

/* Power-cut trials (tests/storage/run-disk-jobs): with VHDX_CUT_AFTER=N in the environment
 * the process dies (as if killed) at the (N+1)th write, resize or switch of any file; with
 * VHDX_CUT_COUNT set it reports how many there were at exit. */
static unsigned long cut_events;
static long cut_after = -2;

static void cut_report(void)
{
    fprintf(stderr, "cut-points %lu\n", cut_events);
}

void vhdx_file_cut_point(void)
{
    if (cut_after == -2) {
        const char *s = getenv("VHDX_CUT_AFTER");
        cut_after = s ? strtol(s, NULL, 0) : -1;
        if (getenv("VHDX_CUT_COUNT"))
            atexit(cut_report);
    }
    if (cut_after >= 0 && cut_events >= (unsigned long)cut_after)
        _exit(86);
    cut_events++;
}

static int file_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    int fd = ((struct file_ctx *)ctx)->fd;
    char *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n, off += (uint64_t)n, len -= (size_t)n;
    }
    return 0;
}

static int file_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
    int fd = ((struct file_ctx *)ctx)->fd;
    const char *p = buf;
    vhdx_file_cut_point();
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n, off += (uint64_t)n, len -= (size_t)n;
    }
    return 0;
}

static int file_flush(void *ctx)
{
    return fdatasync(((struct file_ctx *)ctx)->fd) < 0 ? -errno : 0;
}

static uint64_t file_size(void *ctx)
{
    struct stat st;
    return fstat(((struct file_ctx *)ctx)->fd, &st) < 0 ? 0 : (uint64_t)st.st_size;
}

static int file_resize(void *ctx, uint64_t size)
{
    vhdx_file_cut_point();
    return ftruncate(((struct file_ctx *)ctx)->fd, (off_t)size) < 0 ? -errno : 0;
}

int vhdx_file_open(const char *path, bool writable, bool create, struct vhdx_io *io)
{
    int flags = writable ? O_RDWR : O_RDONLY;
    if (create)
        flags |= O_CREAT | O_TRUNC;
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct file_ctx *c = malloc(sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    *io = (struct vhdx_io){ c, file_read, file_write, file_flush, file_size, file_resize };
    return 0;
}

void vhdx_file_close(struct vhdx_io *io)
{
    struct file_ctx *c = io->ctx;
    if (c) {
        close(c->fd);
        free(c);
    }
    io->ctx = NULL;
}

static void *env_alloc(void *ctx, size_t size)
{
    return calloc(1, size);
}

static void env_free(void *ctx, void *p)
{
    free(p);
}

static void env_guid(void *ctx, struct guid *g)
{
    static int fd = -1;
    if (fd < 0)
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, g->b, 16) != 16) {
        fprintf(stderr, "vhdx: cannot read /dev/urandom\n");
        exit(2);
    }
    g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40); /* version 4 (data3's high nibble) */
    g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* relative_path is relative to the child's folder, with '\' separators. */
static void resolve_relative(const char *child, const char *rel, char *out, size_t size)
{
    const char *slash = strrchr(child, '/');
    int dir = slash ? (int)(slash - child + 1) : 0;
    snprintf(out, size, "%.*s%s", dir, child, rel);
    for (char *p = out + dir; *p; p++)
        if (*p == '\\')
            *p = '/';
}

static int env_open_parent(void *ctx, const char *child, const char *rel, const char *abs,
                           bool writable, struct vhdx_io *io, char *name, size_t name_size)
{
    char path[PATH_MAX];
    if (rel[0]) {
        resolve_relative(child, rel, path, sizeof(path));
        if (vhdx_file_open(path, writable, false, io) == 0) {
            snprintf(name, name_size, "%s", path);
            return 0;
        }
    }
    if (abs[0] && vhdx_file_open(abs, writable, false, io) == 0) {
        snprintf(name, name_size, "%s", abs);
        return 0;
    }
    return -ENOENT;
}

static void env_close_parent(void *ctx, struct vhdx_io *io)
{
    vhdx_file_close(io);
}

const struct vhdx_env vhdx_host_env = {
    NULL, env_alloc, env_free, env_guid, env_open_parent, env_close_parent,
};

int vhdx_host_open(const char *path, unsigned flags, struct vhdx **d, struct vhdx_io *io,
                   struct vhdx_err *err)
{
    int rc = vhdx_file_open(path, !(flags & VHDX_OPEN_READ_ONLY), false, io);
    if (rc < 0) {
        snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(-rc));
        return err->code = VHDX_E_IO;
    }
    rc = vhdx_open(&vhdx_host_env, io, path, flags, d, err);
    if (rc)
        vhdx_file_close(io);
    return rc;
}

int vhdx_host_close(struct vhdx *d, struct vhdx_io *io, struct vhdx_err *err)
{
    int rc = vhdx_close(d, err);
    vhdx_file_close(io);
    return rc;
}
