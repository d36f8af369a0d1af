/* A parent locator's path as a pool path (see vhdx_parent_path.h). */
#include "hv/storage/vhdx_parent_path.h"

#include <string.h>

/* Appends one segment of `len` bytes to out (length *n): "." stays, ".." climbs. */
static bool add_segment(char *out, size_t size, size_t *n, const char *seg, size_t len)
{
    if (!len || (len == 1 && seg[0] == '.'))
        return true;
    if (len == 2 && seg[0] == '.' && seg[1] == '.') {
        if (!*n)
            return false;                   /* above the pool's root */
        while (*n && out[*n - 1] != '/')
            (*n)--;
        if (*n)
            (*n)--;                         /* the slash before the dropped segment */
        out[*n] = '\0';
        return true;
    }
    size_t need = *n + (*n ? 1 : 0) + len;
    if (need >= size)
        return false;
    if (*n)
        out[(*n)++] = '/';
    memcpy(out + *n, seg, len);
    *n += len;
    out[*n] = '\0';
    return true;
}

static bool add_path(char *out, size_t size, size_t *n, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && p[j] != '\\' && p[j] != '/')
            j++;
        if (!add_segment(out, size, n, p + i, j - i))
            return false;
        i = j + 1;
    }
    return true;
}

static bool starts_with(const char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(p, prefix, n) == 0;
}

/*
 * Drops what names the volume from an absolute path ("\\?\" or "\\.\", then "C:" or
 * "Volume{GUID}"): the pool is one volume.  False for a network (UNC) path.
 */
static bool strip_volume(const char **p, size_t *len)
{
    if (starts_with(*p, *len, "\\\\?\\") || starts_with(*p, *len, "\\\\.\\"))
        *p += 4, *len -= 4;
    else if (starts_with(*p, *len, "\\\\"))
        return false;                       /* \\server\share */
    if (starts_with(*p, *len, "UNC\\"))
        return false;
    if (*len >= 2 && (*p)[1] == ':') {
        *p += 2, *len -= 2;
    } else if (starts_with(*p, *len, "Volume{")) {
        const char *end = memchr(*p, '}', *len);
        if (!end)
            return false;
        *len -= (size_t)(end + 1 - *p);
        *p = end + 1;
    }
    return true;
}

bool vhdx_parent_pool_path(const char *child, const char *locator, bool relative, char *out,
                           size_t size)
{
    if (!size)
        return false;
    out[0] = '\0';
    size_t n = 0, len = strlen(locator);
    if (!len)
        return false;
    if (relative) {
        const char *slash = strrchr(child, '/');
        if (slash && !add_path(out, size, &n, child, (size_t)(slash - child)))
            return false;
    } else if (!strip_volume(&locator, &len)) {
        return false;
    }
    if (!add_path(out, size, &n, locator, len))
        return false;
    return n > 0;
}

/* ---- the other way: a locator's paths for a parent at a pool path ---------------------- */

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Bytes of path before its last component (0 for the root's files). */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

/* Length of the component of p at i (up to '/' or the end). */
static size_t component(const char *p, size_t i, size_t end)
{
    size_t j = i;
    while (j < end && p[j] != '/')
        j++;
    return j - i;
}

/* The locator's relative path from the child's folder to parent, '\\'-separated. */
static bool relative_path(const char *child, const char *parent, char *out, size_t size)
{
    child += *child == '/', parent += *parent == '/';
    size_t cd = dir_len(child), pd = dir_len(parent), ci = 0, pi = 0;
    /* skip the folders both share */
    while (ci < cd && pi < pd) {
        size_t a = component(child, ci, cd), b = component(parent, pi, pd);
        bool same = a == b;
        for (size_t k = 0; same && k < a; k++)
            same = lower(child[ci + k]) == lower(parent[pi + k]);
        if (!same)
            break;
        ci += a + 1, pi += b + 1;
    }
    size_t n = 0;
    for (; ci < cd; ci += component(child, ci, cd) + 1) {     /* one ".." per folder left */
        if (n + 3 >= size)
            return false;
        memcpy(out + n, "..\\", 3);
        n += 3;
    }
    const char *rest = parent + pi;
    size_t len = strlen(rest);
    if (n + len >= size)
        return false;
    for (size_t i = 0; i < len; i++)
        out[n + i] = rest[i] == '/' ? '\\' : rest[i];
    out[n + len] = '\0';
    return true;
}

static bool absolute_path(const char *path, char *out, size_t size)
{
    path += *path == '/';
    size_t len = strlen(path);
    if (len + 2 > size)
        return false;
    out[0] = '\\';
    for (size_t i = 0; i <= len; i++)
        out[1 + i] = path[i] == '/' ? '\\' : path[i];
    return true;
}

bool vhdx_parent_locator(const char *child, const char *parent, char *rel, size_t rel_size,
                         char *abs, size_t abs_size)
{
    return relative_path(child, parent, rel, rel_size) && absolute_path(parent, abs, abs_size);
}
